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
    counters: HashMap<(String, &'static str, String), Counter>,
    /// Keys not tracked because the table was full.
    pub untracked: u64,
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

impl Behaviour {
    pub fn new(cfg: BehaviourConfig) -> Behaviour {
        Behaviour {
            cfg,
            counters: HashMap::new(),
            untracked: 0,
        }
    }

    /// Counts one event; `distinct` adds a value to the distinct set instead
    /// of counting. True the first time the threshold is reached in a window.
    fn bump(
        &mut self,
        key: (String, &'static str, String),
        ts: Ts,
        threshold: u32,
        distinct: Option<&str>,
    ) -> bool {
        if threshold == 0 {
            return false;
        }
        let window = self.cfg.window_secs;
        if !self.counters.contains_key(&key) && self.counters.len() >= self.cfg.max_keys {
            self.counters
                .retain(|_, c| ts.secs_since(c.start) <= window);
            if self.counters.len() >= self.cfg.max_keys {
                self.untracked += 1;
                return false;
            }
        }
        let c = self.counters.entry(key).or_insert_with(|| Counter {
            start: ts,
            count: 0,
            distinct: HashSet::new(),
            reported: false,
        });
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
        let ip = &tx.real_ip;
        let path = req.uri.split('?').next().unwrap_or("");
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
                    (ip.clone(), "brute", format!("{host}{path}")),
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
                p.kind == Kind::Value
                    && matches!(
                        p.name
                            .rsplit('.')
                            .next()
                            .unwrap_or("")
                            .to_ascii_lowercase()
                            .as_str(),
                        "user" | "username" | "email" | "login" | "user_name" | "userid"
                    )
            });
            if let Some(u) = user {
                if self.bump(
                    (ip.clone(), "stuffing", format!("{host}{path}")),
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
                (ip.clone(), "404", host.to_string()),
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
        if template.contains("{id}") && resp.status < 500 {
            let ids: String = path
                .split('/')
                .zip(template.split('/'))
                .filter(|(_, t)| *t == "{id}")
                .map(|(s, _)| s)
                .collect::<Vec<_>>()
                .join("/");
            if self.bump(
                (
                    ip.clone(),
                    "enum",
                    format!("{} {host}{template}", req.method),
                ),
                ts,
                self.cfg.enumeration,
                Some(&ids),
            ) {
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
