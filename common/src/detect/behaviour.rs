//! Behaviour over time, per real client IP, in packet time: brute force and
//! credential stuffing on authentication endpoints, forced browsing (many
//! 404s), enumeration of object ids (BOLA). Fixed windows; one hit when a
//! counter reaches its threshold in a window. State is bounded: past
//! `max_keys` counters, expired ones are dropped and new keys are counted
//! as untracked.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};

use super::points::{self, Kind};
use crate::record::{Hit, Http, Ts};

/// Thresholds and windows.
#[derive(Debug, Clone)]
pub struct BehaviourConfig {
    /// Window length, in seconds of packet time.
    pub window_secs: u64,
    /// Failed logins (401/403 on an auth endpoint) per client, host and path.
    pub brute_force: u32,
    /// Distinct user names tried per client, host and auth path.
    pub credential_stuffing: u32,
    /// 404 responses per client and host.
    pub forced_browsing: u32,
    /// Distinct ids fetched per client and endpoint template.
    pub enumeration: u32,
    /// Most counters held.
    pub max_keys: usize,
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        BehaviourConfig {
            window_secs: 60,
            brute_force: 10,
            credential_stuffing: 8,
            forced_browsing: 30,
            enumeration: 50,
            max_keys: 100_000,
        }
    }
}

struct Counter {
    start: Ts,
    count: u32,
    distinct: HashSet<u64>,
    reported: bool,
}

/// The behaviour tracker.
pub struct Behaviour {
    cfg: BehaviourConfig,
    /// Counters by key ([`Key`], written as one string so a counter that
    /// exists is found without an allocation). The keys hold client
    /// addresses, hosts and paths, all attacker-chosen: the hasher is keyed
    /// with a seed drawn at random per process, and the map is only looked
    /// up and pruned, never iterated into output.
    counters: HashMap<String, Counter, foldhash::fast::RandomState>,
    /// Scratch: the key being bumped.
    key: String,
    /// Scratch: the id segments of a path.
    ids: String,
    /// Keys not tracked because the table was full.
    pub untracked: u64,
}

/// What a counter counts: the kind of event, the client, and what the
/// event is about, given in parts that are written one after the other.
struct Key<'a> {
    kind: &'static str,
    ip: &'a str,
    about: &'a [&'a str],
}

impl Key<'_> {
    /// `kind`, NUL, the client's length, `:`, the client, then the parts
    /// of `about`: the kind has no NUL and the client is length-prefixed,
    /// so two keys write the same string exactly when their kind, client
    /// and joined `about` are the same (what the tuple key it replaced,
    /// `(ip, kind, about.concat())`, compared).
    fn write(&self, out: &mut String) {
        out.clear();
        out.push_str(self.kind);
        out.push('\0');
        super::push_decimal(out, self.ip.len());
        out.push(':');
        out.push_str(self.ip);
        for part in self.about {
            out.push_str(part);
        }
    }
}

fn hash(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Whether a path names an authentication endpoint (ASCII case-insensitive).
fn auth_path(path: &str) -> bool {
    static WORDS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build([
                "login", "signin", "sign-in", "logon", "auth", "session", "token", "password",
                "wp-login",
            ])
            .ok()
    });
    WORDS.as_ref().is_some_and(|ac| ac.is_match(path))
}

/// The last `.`-separated part of a point name (`rsplit('.').next()`,
/// with one `memrchr` instead of a char searcher).
fn last_part(name: &str) -> &str {
    memchr::memrchr(b'.', name.as_bytes())
        .map_or(Some(name), |at| name.get(at + 1..))
        .unwrap_or("")
}

impl Behaviour {
    pub fn new(cfg: BehaviourConfig) -> Behaviour {
        Behaviour {
            cfg,
            counters: HashMap::default(),
            key: String::new(),
            ids: String::new(),
            untracked: 0,
        }
    }

    /// Counts one event; `distinct` adds a value to the distinct set instead
    /// of counting. True the first time the threshold is reached in a window.
    fn bump(&mut self, key: Key<'_>, ts: Ts, threshold: u32, distinct: Option<&str>) -> bool {
        if threshold == 0 {
            return false;
        }
        let window = self.cfg.window_secs;
        key.write(&mut self.key);
        let known = self.counters.contains_key(self.key.as_str());
        if !known && self.counters.len() >= self.cfg.max_keys {
            self.counters
                .retain(|_, c| ts.secs_since(c.start) <= window);
            if self.counters.len() >= self.cfg.max_keys {
                self.untracked += 1;
                return false;
            }
        }
        if !known {
            self.counters.insert(
                self.key.clone(),
                Counter {
                    start: ts,
                    count: 0,
                    distinct: HashSet::new(),
                    reported: false,
                },
            );
        }
        let Some(c) = self.counters.get_mut(self.key.as_str()) else {
            return false;
        };
        if ts.secs_since(c.start) > window {
            *c = Counter {
                start: ts,
                count: 0,
                distinct: HashSet::new(),
                reported: false,
            };
        }
        let n = match distinct {
            Some(v) => {
                if c.distinct.len() < threshold as usize {
                    c.distinct.insert(hash(v));
                }
                c.distinct.len() as u32
            }
            None => {
                c.count = c.count.saturating_add(1);
                c.count
            }
        };
        if n >= threshold && !c.reported {
            c.reported = true;
            return true;
        }
        false
    }

    /// The behaviour hits one transaction completes; `template` is the
    /// request path's [`endpoint_template`](super::endpoint_template).
    pub fn push(&mut self, tx: &Http, host: &str, template: &str) -> Vec<Hit> {
        let mut hits = vec![];
        let (Some(req), Some(resp)) = (&tx.request, &tx.response) else {
            return hits;
        };
        let ip = tx.real_ip.as_str();
        // What `split('?').next()` gives, with one `memchr` (the char
        // searcher cost more than the rest of a request's behaviour).
        let path = points::uri_path(&req.uri);
        let ts = tx.ts;
        let window = self.cfg.window_secs;
        let hit = |class: &str, rule: &str, payload: String| Hit {
            class: class.into(),
            point: "behaviour".into(),
            payload,
            rule: rule.into(),
            confidence: Some(0.8),
            message: None,
        };
        // The method first: most requests are not POSTs, and the path
        // check walks an automaton.
        if req.method.eq_ignore_ascii_case("POST") && auth_path(path) {
            let failed = matches!(resp.status, 401 | 403);
            if failed
                && self.bump(
                    Key {
                        kind: "brute",
                        ip,
                        about: &[host, path],
                    },
                    ts,
                    self.cfg.brute_force,
                    None,
                )
            {
                hits.push(hit(
                    "bruteforce",
                    "bruteforce.failed_logins",
                    format!(
                        "{} failed logins on {path} within {window}s",
                        self.cfg.brute_force
                    ),
                ));
            }
            let pts = points::decompose(req);
            let user = pts.list.iter().find(|p| {
                let last = last_part(&p.name);
                p.kind == Kind::Value
                    && ["user", "username", "email", "login", "user_name", "userid"]
                        .iter()
                        .any(|u| last.eq_ignore_ascii_case(u))
            });
            if let Some(u) = user {
                if self.bump(
                    Key {
                        kind: "stuffing",
                        ip,
                        about: &[host, path],
                    },
                    ts,
                    self.cfg.credential_stuffing,
                    Some(&u.value),
                ) {
                    hits.push(hit(
                        "bruteforce",
                        "bruteforce.credential_stuffing",
                        format!(
                            "{} user names tried on {path} within {window}s",
                            self.cfg.credential_stuffing
                        ),
                    ));
                }
            }
        }
        if resp.status == 404
            && self.bump(
                Key {
                    kind: "404",
                    ip,
                    about: &[host],
                },
                ts,
                self.cfg.forced_browsing,
                None,
            )
        {
            hits.push(hit(
                "forced_browsing",
                "forced_browsing.many_404",
                format!(
                    "{} not-found responses within {window}s",
                    self.cfg.forced_browsing
                ),
            ));
        }
        if super::gate::has(template, "{id}") && resp.status < 500 {
            // The id segments joined by `/`, into a reused buffer.
            let mut ids = std::mem::take(&mut self.ids);
            ids.clear();
            for (i, (seg, _)) in path
                .split('/')
                .zip(template.split('/'))
                .filter(|(_, t)| *t == "{id}")
                .enumerate()
            {
                if i > 0 {
                    ids.push('/');
                }
                ids.push_str(seg);
            }
            let reached = self.bump(
                Key {
                    kind: "enum",
                    ip,
                    about: &[&req.method, " ", host, template],
                },
                ts,
                self.cfg.enumeration,
                Some(&ids),
            );
            self.ids = ids;
            if reached {
                hits.push(hit(
                    "enumeration",
                    "enumeration.object_ids",
                    format!(
                        "{} distinct ids on {template} within {window}s",
                        self.cfg.enumeration
                    ),
                ));
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::{last_part, Key};

    #[test]
    fn last_part_is_rsplit() {
        for n in [
            "",
            ".",
            "..",
            "user",
            "body.json.user",
            "body.json.user.",
            "body.form.é.email",
            ".email",
        ] {
            assert_eq!(last_part(n), n.rsplit('.').next().unwrap_or(""), "{n:?}");
        }
    }

    /// Two keys write the same string exactly when the tuple key they
    /// replaced, `(ip, kind, about.concat())`, is the same.
    #[test]
    fn key_is_the_old_tuple() {
        let ips = ["", "10.0.0.1", "10.0.0.11", "1:", "a\u{0}404"];
        let abouts: [&[&str]; 6] = [
            &[],
            &["h", "/p"],
            &["h/", "p"],
            &["GET", " ", "h", "/{id}"],
            &["1", ":h"],
            &["\u{0}404"],
        ];
        let mut all = vec![];
        for kind in ["brute", "stuffing", "404", "enum"] {
            for ip in ips {
                for about in abouts {
                    let mut s = String::new();
                    Key { kind, ip, about }.write(&mut s);
                    all.push(((ip, kind, about.concat()), s));
                }
            }
        }
        for (o1, k1) in &all {
            for (o2, k2) in &all {
                assert_eq!(o1 == o2, k1 == k2, "{o1:?} {o2:?}");
            }
        }
    }
}
