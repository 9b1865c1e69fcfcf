//! Repeated attacks folded into one record per window of packet time.
//!
//! Attacks with the same real client, endpoint (method, host, path without
//! query) and set of `(class, point)` hits are one group. A group opens at its
//! first attack and covers `window` of packet time from it; it is emitted when
//! a record at or past its end arrives (packet time only moves forward with the
//! input), when the group table is full (oldest first), and at end of input.
//! The emitted record is the group's first attack with `count`, `first_seen`
//! and `last_seen` added. Emission order is by window end, then by arrival:
//! deterministic for a given input. No wall clock is involved.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::record::Attack;
use crate::time::Ts;

/// An attack as the exporter holds it: a value, or the typed record.
#[derive(Debug)]
pub enum Held {
    Value(Value),
    Attack(Box<Attack>),
}

/// What an emitted aggregate adds to its first attack.
#[derive(Debug, Clone, Copy)]
pub struct Folded {
    pub count: u64,
    pub first_seen: Ts,
    pub last_seen: Ts,
}

/// An emitted aggregate: a value with `count`, `first_seen` and
/// `last_seen` inserted, or a typed attack with what to add to it.
#[derive(Debug)]
pub enum Ready {
    Value(Value),
    Attack(Box<Attack>, Folded),
}

struct Group {
    first: Held,
    first_ts: Ts,
    last_ts: Ts,
    count: u64,
    seq: u64,
}

/// Folds repeated attacks (see the module documentation).
pub struct Aggregator {
    window_ns: i128,
    max_groups: usize,
    groups: HashMap<String, Group>,
    /// Open groups by (first time, arrival): what expires first comes first.
    order: BTreeMap<(i128, u64), String>,
    seq: u64,
    /// Attacks folded into an earlier one.
    pub folded: u64,
    /// Groups emitted early because the table was full.
    pub evicted: u64,
}

/// The grouping key of an attack record.
fn key(v: &Value) -> String {
    key_of(
        |k| v.get(k).and_then(Value::as_str).unwrap_or(""),
        |each| {
            if let Some(hits) = v.get("hits").and_then(Value::as_array) {
                for h in hits {
                    let f = |k: &str| h.get(k).and_then(Value::as_str).unwrap_or("");
                    each(f("class"), f("point"));
                }
            }
        },
    )
}

/// [`key`] of a typed attack.
fn attack_key(a: &Attack) -> String {
    let s = |k: &str| match k {
        "real_ip" => a.real_ip.as_str(),
        "client" => &a.client,
        "uri" => &a.uri,
        "method" => &a.method,
        "host" => &a.host,
        _ => "",
    };
    key_of(s, |each| {
        a.hits.iter().for_each(|h| each(&h.class, &h.point))
    })
}

/// The key from a record's string fields (`s`) and its hits' `(class, point)`.
fn key_of<'v>(
    s: impl Fn(&str) -> &'v str,
    hits_of: impl FnOnce(&mut dyn FnMut(&str, &str)),
) -> String {
    let client = match s("real_ip") {
        "" => s("client")
            .rsplit_once(':')
            .map_or(s("client"), |(ip, _)| ip),
        ip => ip,
    };
    let path = s("uri").split('?').next().unwrap_or("");
    let mut hits: Vec<String> = vec![];
    hits_of(&mut |class, point| hits.push(format!("{class}@{point}")));
    hits.sort();
    hits.dedup();
    format!(
        "{client}\0{}\0{}\0{path}\0{}",
        s("method"),
        s("host"),
        hits.join("\0")
    )
}

impl Aggregator {
    pub fn new(window: std::time::Duration, max_groups: usize) -> Aggregator {
        Aggregator {
            window_ns: i128::try_from(window.as_nanos()).unwrap_or(i128::MAX),
            max_groups: max_groups.max(1),
            groups: HashMap::new(),
            order: BTreeMap::new(),
            seq: 0,
            folded: 0,
            evicted: 0,
        }
    }

    /// Groups open now.
    pub fn open(&self) -> usize {
        self.groups.len()
    }

    /// Takes one attack at packet time `ts`; what is complete goes to `out`.
    pub fn push(&mut self, attack: Value, ts: Ts, out: &mut Vec<Ready>) {
        let key = key(&attack);
        self.push_keyed(key, Held::Value(attack), ts, out)
    }

    /// [`Aggregator::push`] for a typed attack.
    pub fn push_attack(&mut self, attack: Box<Attack>, ts: Ts, out: &mut Vec<Ready>) {
        let key = attack_key(&attack);
        self.push_keyed(key, Held::Attack(attack), ts, out)
    }

    fn push_keyed(&mut self, key: String, attack: Held, ts: Ts, out: &mut Vec<Ready>) {
        self.advance(ts, out);
        if let Some(g) = self.groups.get_mut(&key) {
            g.count += 1;
            g.last_ts = g.last_ts.max(ts);
            self.folded += 1;
            return;
        }
        while self.groups.len() >= self.max_groups {
            match self.order.pop_first() {
                Some((_, oldest)) => {
                    self.evicted += 1;
                    self.emit(&oldest, out)
                }
                None => break,
            }
        }
        self.seq += 1;
        self.order.insert((ts.as_nanos(), self.seq), key.clone());
        self.groups.insert(
            key,
            Group {
                first: attack,
                first_ts: ts,
                last_ts: ts,
                count: 1,
                seq: self.seq,
            },
        );
    }

    /// Packet time reached `now`: emits every group whose window ended.
    pub fn advance(&mut self, now: Ts, out: &mut Vec<Ready>) {
        let now = now.as_nanos();
        while let Some(entry) = self.order.first_entry() {
            if entry.key().0.saturating_add(self.window_ns) > now {
                break;
            }
            let key = entry.remove();
            self.emit(&key, out);
        }
    }

    /// End of input: emits every open group, oldest first.
    pub fn finish(&mut self, out: &mut Vec<Ready>) {
        while let Some((_, key)) = self.order.pop_first() {
            self.emit(&key, out);
        }
    }

    fn emit(&mut self, key: &str, out: &mut Vec<Ready>) {
        if let Some(g) = self.groups.remove(key) {
            debug_assert!(g.seq > 0);
            let folded = Folded {
                count: g.count,
                first_seen: g.first_ts,
                last_seen: g.last_ts,
            };
            out.push(match g.first {
                Held::Value(mut v) => {
                    if let Value::Object(map) = &mut v {
                        map.insert("count".into(), folded.count.into());
                        map.insert("first_seen".into(), folded.first_seen.to_string().into());
                        map.insert("last_seen".into(), folded.last_seen.to_string().into());
                    }
                    Ready::Value(v)
                }
                Held::Attack(a) => Ready::Attack(a, folded),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attack(ip: &str, uri: &str, class: &str) -> Value {
        json!({"type":"attack","real_ip":ip,"client":format!("{ip}:1000"),"method":"GET","host":"app",
               "uri":uri,"hits":[{"class":class,"point":"query.q","payload":"x","rule":"r"}]})
    }

    fn values(out: &[Ready]) -> Vec<&Value> {
        out.iter()
            .map(|r| match r {
                Ready::Value(v) => v,
                Ready::Attack(..) => panic!("a typed attack from values"),
            })
            .collect()
    }

    #[test]
    fn folds_within_window_and_splits_after() {
        let mut agg = Aggregator::new(std::time::Duration::from_secs(60), 100);
        let mut out = vec![];
        let t = |s: i64| Ts::from_micros(1_700_000_000 + s, 0);
        agg.push(attack("1.1.1.1", "/a?q=1", "sqli"), t(0), &mut out);
        agg.push(attack("1.1.1.1", "/a?q=2", "sqli"), t(10), &mut out);
        agg.push(attack("2.2.2.2", "/a?q=2", "sqli"), t(20), &mut out);
        agg.push(attack("1.1.1.1", "/a?q=3", "xss"), t(30), &mut out);
        agg.push(attack("1.1.1.1", "/a", "sqli"), t(59), &mut out);
        assert!(out.is_empty());
        // Past the first group's window: it is emitted, the new hit opens a new group.
        agg.push(attack("1.1.1.1", "/a", "sqli"), t(61), &mut out);
        assert_eq!(out.len(), 1);
        let o = values(&out);
        assert_eq!(o[0]["count"], 3);
        assert_eq!(o[0]["first_seen"], t(0).to_string());
        assert_eq!(o[0]["last_seen"], t(59).to_string());
        assert_eq!(o[0]["uri"], "/a?q=1");
        agg.finish(&mut out);
        let o = values(&out);
        let counts: Vec<_> = o.iter().map(|v| v["count"].as_u64().unwrap()).collect();
        assert_eq!(counts, vec![3, 1, 1, 1]);
        assert_eq!(o[3]["first_seen"], t(61).to_string());
        assert_eq!(agg.folded, 2);
    }

    #[test]
    fn full_table_emits_oldest() {
        let mut agg = Aggregator::new(std::time::Duration::from_secs(60), 2);
        let mut out = vec![];
        for (i, ip) in ["1.1.1.1", "2.2.2.2", "3.3.3.3"].iter().enumerate() {
            agg.push(
                attack(ip, "/", "sqli"),
                Ts::from_micros(i as i64, 0),
                &mut out,
            );
        }
        assert_eq!(out.len(), 1);
        assert_eq!(values(&out)[0]["real_ip"], "1.1.1.1");
        assert_eq!(agg.evicted, 1);
    }
}
