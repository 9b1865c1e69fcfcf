//! tw-discover's core: an API inventory learned from `http` records.
//!
//! [`Discoverer`] takes `http` transactions (and `attack` records, to leave
//! attacked or scanner traffic out), keys them by host, method and path
//! template ([`path`]), and aggregates per endpoint: parameters by location
//! with types, formats, presence and sensitive data ([`values`]), request and
//! response JSON schemas ([`schema`]), statuses, content types, authentication
//! and first/last packet time. It is an aggregator: nothing comes out until
//! [`Discoverer::finish`], which builds the [`inventory::Inventory`] and emits
//! one `endpoint` record per entry. [`openapi`] renders the inventory as
//! OpenAPI 3.1; [`diff`] compares inventories and checks one against a spec.
//!
//! Memory is bounded: endpoints, parameters per endpoint, prefixes tracked
//! for sibling variation, schema nodes, transactions held back waiting for
//! their `attack` record, and remembered attack keys all have caps; what is
//! dropped is counted in [`Stats`].

pub mod diff;
pub mod driver;
pub mod inventory;
pub mod openapi;
pub mod path;
pub mod schema;
pub mod values;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::Value;

use crate::record::{Attack, Http, HttpRequest, Record, Ts};
use path::{Override, OverrideSeg, Seg, SegKind, SiblingTree};
use schema::{Limits, SchemaRoot};
use values::JType;

/// Exit status of `tw-discover diff` and `--against` when differences were found.
pub const EXIT_DIFFERENCES: u8 = 4;

/// How the inventory is learned and bounded.
#[derive(Debug, Clone)]
pub struct DiscoverConfig {
    /// Learn from every response status, not only 2xx.
    pub all_statuses: bool,
    /// A path position collapses into a parameter when more distinct literal
    /// values than this were seen there (0: never). The first segment never collapses.
    pub sibling_threshold: usize,
    /// Endpoints held at most (learned ones, and as many seen only with other statuses).
    pub max_endpoints: usize,
    /// Parameters per endpoint at most (all locations together).
    pub max_params: usize,
    /// Path prefixes tracked for sibling variation at most.
    pub max_prefixes: usize,
    /// Nesting depth kept in schemas and JSON body parameters.
    pub max_schema_depth: usize,
    /// Nodes per schema at most.
    pub max_schema_nodes: usize,
    /// User templates that win over classification.
    pub overrides: Vec<Override>,
    /// Run the detector on every transaction and leave attacked ones out
    /// (besides those named by `attack` records in the input).
    pub detect: bool,
}

impl Default for DiscoverConfig {
    fn default() -> Self {
        DiscoverConfig {
            all_statuses: false,
            sibling_threshold: 50,
            max_endpoints: 10_000,
            max_params: 200,
            max_prefixes: 100_000,
            max_schema_depth: 8,
            max_schema_nodes: 500,
            overrides: vec![],
            detect: true,
        }
    }
}

/// What the discoverer saw, learned, left out and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub transactions: u64,
    pub learned: u64,
    pub attack_records: u64,
    pub excluded_attacks: u64,
    /// Not learned from: the status was not 2xx (or there was no response).
    pub excluded_status: u64,
    pub no_request: u64,
    /// Request targets that are not a path (`*`, authority form), too deep, or bad methods.
    pub bad_targets: u64,
    /// Endpoints in the inventory.
    pub endpoints: u64,
    pub hosts: u64,
    /// Templates seen only with statuses not learned from, left out.
    pub unlearned_endpoints: u64,
    pub dropped_endpoints: u64,
    pub dropped_params: u64,
    pub dropped_schema_nodes: u64,
    pub dropped_prefixes: u64,
    pub dropped_attack_keys: u64,
}

impl Stats {
    /// The counters by name, as the inventory's `summary` holds them.
    pub fn named(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("transactions", self.transactions),
            ("learned", self.learned),
            ("endpoints", self.endpoints),
            ("hosts", self.hosts),
            ("attack_records", self.attack_records),
            ("excluded_attacks", self.excluded_attacks),
            ("excluded_status", self.excluded_status),
            ("no_request", self.no_request),
            ("bad_targets", self.bad_targets),
            ("unlearned_endpoints", self.unlearned_endpoints),
            ("dropped_endpoints", self.dropped_endpoints),
            ("dropped_params", self.dropped_params),
            ("dropped_schema_nodes", self.dropped_schema_nodes),
            ("dropped_prefixes", self.dropped_prefixes),
            ("dropped_attack_keys", self.dropped_attack_keys),
        ]
    }
}

/// Where a parameter was found; the order is the inventory's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Loc {
    Query,
    Header,
    Cookie,
    Body,
    Form,
    Multipart,
}

impl Loc {
    fn name(self) -> &'static str {
        match self {
            Loc::Query => "query",
            Loc::Header => "header",
            Loc::Cookie => "cookie",
            Loc::Body => "body",
            Loc::Form => "form",
            Loc::Multipart => "multipart",
        }
    }
}

/// Counters of one parameter.
#[derive(Debug, Clone, Default)]
struct ParamStats {
    count: u64,
    types: BTreeMap<JType, u64>,
    formats: BTreeMap<&'static str, u64>,
    sensitive: BTreeSet<&'static str>,
}

impl ParamStats {
    fn observe_text(&mut self, name: &str, value: &str, first: bool, n: u64) {
        if first {
            self.count += n;
        }
        let (t, f) = values::infer_text(value);
        *self.types.entry(t).or_default() += n;
        if let Some(f) = f {
            *self.formats.entry(f).or_default() += n;
        }
        self.sensitive_of(name, value);
    }

    fn observe_json(&mut self, name: &str, v: &Value, first: bool) {
        if first {
            self.count += 1;
        }
        *self.types.entry(JType::of(v)).or_default() += 1;
        match v {
            Value::String(s) => {
                if let Some(f) = values::string_format(s) {
                    *self.formats.entry(f).or_default() += 1;
                }
                self.sensitive_of(name, s);
            }
            Value::Number(n) if n.is_u64() && values::is_card(&n.to_string()) => {
                self.sensitive.insert("card_number");
            }
            _ => {}
        }
    }

    fn sensitive_of(&mut self, name: &str, value: &str) {
        if let Some(k) = values::sensitive_value(value) {
            self.sensitive.insert(k);
        }
        if !value.is_empty() {
            if let Some(k) = values::sensitive_name(name) {
                self.sensitive.insert(k);
            }
        }
    }

    fn merge(&mut self, o: &ParamStats) {
        self.count += o.count;
        for (t, n) in &o.types {
            *self.types.entry(*t).or_default() += n;
        }
        for (f, n) in &o.formats {
            *self.formats.entry(f).or_default() += n;
        }
        self.sensitive.extend(o.sensitive.iter().copied());
    }

    fn render(&self, location: &str, name: &str, required: bool) -> inventory::Param {
        let types = values::unify(self.types.keys());
        let strings = self.types.get(&JType::String).copied().unwrap_or(0);
        let stringy = types
            .iter()
            .all(|t| matches!(t, JType::String | JType::Null));
        inventory::Param {
            location: location.to_string(),
            name: name.to_string(),
            required,
            count: self.count,
            types: types.iter().map(|t| t.name().to_string()).collect(),
            format: stringy
                .then(|| schema::agreed_format(&self.formats, strings))
                .flatten()
                .map(str::to_string),
            sensitive: self.sensitive.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// Bodies of one direction.
#[derive(Debug, Clone, Default)]
struct BodyStats {
    count: u64,
    content_types: BTreeMap<String, u64>,
    schema: Option<SchemaRoot>,
}

impl BodyStats {
    fn merge(&mut self, o: &BodyStats, limits: Limits) {
        self.count += o.count;
        for (k, n) in &o.content_types {
            *self.content_types.entry(k.clone()).or_default() += n;
        }
        match (&mut self.schema, &o.schema) {
            (Some(a), Some(b)) => a.merge(b, limits),
            (None, Some(b)) => self.schema = Some(b.clone()),
            _ => {}
        }
    }

    fn render(&self) -> inventory::Body {
        inventory::Body {
            count: self.count,
            content_types: self.content_types.clone(),
            schema: self.schema.as_ref().map(SchemaRoot::render),
        }
    }
}

/// Everything known about one endpoint.
#[derive(Debug, Clone)]
struct Agg {
    count: u64,
    learned: u64,
    first: Ts,
    last: Ts,
    statuses: BTreeMap<String, u64>,
    /// Path parameters by segment position.
    path_params: BTreeMap<usize, ParamStats>,
    params: BTreeMap<(Loc, String), ParamStats>,
    auth: BTreeMap<String, u64>,
    authed: u64,
    request: BodyStats,
    responses: BTreeMap<u16, BodyStats>,
}

impl Agg {
    fn new(ts: Ts) -> Agg {
        Agg {
            count: 0,
            learned: 0,
            first: ts,
            last: ts,
            statuses: BTreeMap::new(),
            path_params: BTreeMap::new(),
            params: BTreeMap::new(),
            auth: BTreeMap::new(),
            authed: 0,
            request: BodyStats::default(),
            responses: BTreeMap::new(),
        }
    }

    /// Counts one transaction of any status.
    fn seen(&mut self, ts: Ts, status: Option<u16>) {
        self.count += 1;
        self.first = self.first.min(ts);
        self.last = self.last.max(ts);
        let key = status.map_or_else(|| "none".to_string(), |s| s.to_string());
        *self.statuses.entry(key).or_default() += 1;
    }

    fn merge_counts(&mut self, o: &Agg) {
        self.count += o.count;
        self.first = self.first.min(o.first);
        self.last = self.last.max(o.last);
        for (k, n) in &o.statuses {
            *self.statuses.entry(k.clone()).or_default() += n;
        }
    }

    fn merge(&mut self, o: &Agg, cfg: &DiscoverConfig, dropped_params: &mut u64) {
        self.merge_counts(o);
        self.learned += o.learned;
        self.authed += o.authed;
        for (i, p) in &o.path_params {
            self.path_params.entry(*i).or_default().merge(p);
        }
        for (k, p) in &o.params {
            let room = self.params.len() < cfg.max_params;
            match self.params.get_mut(k) {
                Some(mine) => mine.merge(p),
                None if room => {
                    self.params.insert(k.clone(), p.clone());
                }
                None => *dropped_params += 1,
            }
        }
        for (k, n) in &o.auth {
            *self.auth.entry(k.clone()).or_default() += n;
        }
        let limits = limits(cfg);
        self.request.merge(&o.request, limits);
        for (s, b) in &o.responses {
            self.responses.entry(*s).or_default().merge(b, limits);
        }
    }

    /// The parameter slot for `(loc, name)`, unless the endpoint is full.
    fn param(
        &mut self,
        loc: Loc,
        name: &str,
        max: usize,
        dropped: &mut u64,
    ) -> Option<&mut ParamStats> {
        let key = (loc, name.to_string());
        if !self.params.contains_key(&key) && self.params.len() >= max {
            *dropped += 1;
            return None;
        }
        Some(self.params.entry(key).or_default())
    }
}

fn limits(cfg: &DiscoverConfig) -> Limits {
    Limits {
        max_depth: cfg.max_schema_depth,
        max_nodes: cfg.max_schema_nodes,
    }
}

type Key = (String, String, Vec<Seg>);

/// Transactions held back briefly so an `attack` record that follows its
/// `http` record can still exclude it.
const MAX_PENDING: usize = 64;
const MAX_PENDING_BYTES: usize = 16 << 20;
/// Attack keys remembered for `http` records still to come.
const MAX_ATTACK_KEYS: usize = 65_536;

/// The API inventory builder.
pub struct Discoverer {
    cfg: DiscoverConfig,
    tree: SiblingTree,
    endpoints: BTreeMap<Key, Agg>,
    /// Templates seen only with statuses not learned from (yet).
    unlearned: BTreeMap<Key, Agg>,
    pending: VecDeque<(Box<Http>, bool)>,
    pending_bytes: usize,
    attacked: BTreeSet<(String, u64)>,
    attacked_order: VecDeque<(String, u64)>,
    stats: Stats,
    inventory: Option<inventory::Inventory>,
}

impl Discoverer {
    pub fn new(cfg: DiscoverConfig) -> Discoverer {
        Discoverer {
            tree: SiblingTree::new(cfg.sibling_threshold, cfg.max_prefixes),
            cfg,
            endpoints: BTreeMap::new(),
            unlearned: BTreeMap::new(),
            pending: VecDeque::new(),
            pending_bytes: 0,
            attacked: BTreeSet::new(),
            attacked_order: VecDeque::new(),
            stats: Stats::default(),
            inventory: None,
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The inventory, once [`Discoverer::finish`] has run.
    pub fn inventory(&self) -> Option<&inventory::Inventory> {
        self.inventory.as_ref()
    }

    /// Takes one transaction.
    pub fn push_http(&mut self, h: Box<Http>) {
        let key = (h.flow.clone(), h.seq);
        if self.attacked.remove(&key) {
            self.learn(&h, true);
            return;
        }
        self.pending_bytes += body_bytes(&h);
        self.pending.push_back((h, false));
        while self.pending.len() > MAX_PENDING
            || (self.pending_bytes > MAX_PENDING_BYTES && self.pending.len() > 1)
        {
            self.learn_oldest();
        }
    }

    /// Takes one `attack` record: its transaction (flow + http_seq) is left out.
    pub fn push_attack(&mut self, a: &Attack) {
        self.stats.attack_records += 1;
        if let Some(p) = self
            .pending
            .iter_mut()
            .find(|(h, _)| h.flow == a.flow && h.seq == a.http_seq)
        {
            p.1 = true;
            return;
        }
        let key = (a.flow.clone(), a.http_seq);
        if self.attacked.insert(key.clone()) {
            self.attacked_order.push_back(key);
            if self.attacked_order.len() > MAX_ATTACK_KEYS {
                if let Some(old) = self.attacked_order.pop_front() {
                    if self.attacked.remove(&old) {
                        self.stats.dropped_attack_keys += 1;
                    }
                }
            }
        }
    }

    fn learn_oldest(&mut self) {
        if let Some((h, attacked)) = self.pending.pop_front() {
            self.pending_bytes = self.pending_bytes.saturating_sub(body_bytes(&h));
            self.learn(&h, attacked);
        }
    }

    /// Path template of a request: an override, else classification and sibling collapse.
    fn template(
        &mut self,
        host: &str,
        method: &str,
        decoded: &[Cow<'_, str>],
        observe: bool,
    ) -> Vec<Seg> {
        let strs: Vec<&str> = decoded.iter().map(|c| c.as_ref()).collect();
        if let Some(o) = path::match_override(&self.cfg.overrides, host, method, &strs) {
            return o
                .segs
                .iter()
                .map(|s| match s {
                    OverrideSeg::Lit(l) => Seg::Lit(l.clone()),
                    OverrideSeg::Param(n) => Seg::Param(SegKind::Override, Some(n.clone())),
                })
                .collect();
        }
        let mut prefix = String::new();
        let mut out = Vec::with_capacity(decoded.len());
        for d in &strs {
            let seg = match path::classify(d) {
                Some(kind) => Seg::Param(kind, None),
                None => {
                    let collapsible = !prefix.is_empty() && !path::always_literal(d);
                    let collapsed = collapsible
                        && if observe {
                            self.tree.observe(host, &prefix, d)
                        } else {
                            self.tree.is_collapsed(host, &prefix)
                        };
                    if collapsed {
                        Seg::Param(SegKind::Siblings, None)
                    } else {
                        Seg::Lit(literal_text(d))
                    }
                }
            };
            path::push_prefix(&mut prefix, &seg);
            out.push(seg);
        }
        out
    }

    fn learn(&mut self, h: &Http, attacked: bool) {
        self.stats.transactions += 1;
        if attacked {
            self.stats.excluded_attacks += 1;
            return;
        }
        let Some(req) = &h.request else {
            self.stats.no_request += 1;
            return;
        };
        let status = h.response.as_ref().map(|r| r.status);
        let learn = self.cfg.all_statuses || status.is_some_and(|s| (200..300).contains(&s));
        let (Some(method), Some((path, query))) =
            (method_of(&req.method), path::split_target(&req.uri))
        else {
            self.stats.bad_targets += 1;
            return;
        };
        let raw: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if raw.len() > 32 {
            self.stats.bad_targets += 1;
            return;
        }
        let host = host_of(req, &h.server);
        let decoded: Vec<Cow<'_, str>> =
            raw.iter().map(|s| path::percent_decode(s, false)).collect();
        let segs = self.template(&host, &method, &decoded, learn);
        let key: Key = (host, method, segs);
        if !learn {
            self.stats.excluded_status += 1;
            let map = if self.endpoints.contains_key(&key) {
                &mut self.endpoints
            } else {
                &mut self.unlearned
            };
            let room = map.len() < self.cfg.max_endpoints;
            match map.get_mut(&key) {
                Some(agg) => agg.seen(h.ts, status),
                None if room => map
                    .entry(key)
                    .or_insert_with(|| Agg::new(h.ts))
                    .seen(h.ts, status),
                None => self.stats.dropped_endpoints += 1,
            }
            return;
        }
        if !self.endpoints.contains_key(&key) && self.endpoints.len() >= self.cfg.max_endpoints {
            self.stats.dropped_endpoints += 1;
            return;
        }
        self.stats.learned += 1;
        let cfg = &self.cfg;
        let dropped = &mut self.stats.dropped_params;
        let mut schema_dropped = 0;
        let agg = self
            .endpoints
            .entry(key.clone())
            .or_insert_with(|| Agg::new(h.ts));
        agg.seen(h.ts, status);
        agg.learned += 1;
        let mut seen: BTreeSet<(Loc, String)> = BTreeSet::new();
        let mut first = |loc: Loc, name: &str| seen.insert((loc, name.to_string()));

        for (i, seg) in key.2.iter().enumerate() {
            if let (Seg::Param(..), Some(value)) = (seg, decoded.get(i)) {
                agg.path_params
                    .entry(i)
                    .or_default()
                    .observe_text("", value, true, 1);
            }
        }
        let mut schemes: BTreeSet<String> = BTreeSet::new();
        for (name, value) in form_pairs(query) {
            if API_KEY_QUERY.contains(&name.to_ascii_lowercase().as_str()) && !value.is_empty() {
                schemes.insert(format!("api_key_query:{name}"));
            }
            let f = first(Loc::Query, &name);
            if let Some(p) = agg.param(Loc::Query, &name, cfg.max_params, dropped) {
                p.observe_text(&name, &value, f, 1);
            }
        }
        let mut content_type = String::new();
        for (name, value) in &req.headers {
            let lname = name.to_ascii_lowercase();
            match lname.as_str() {
                "authorization" => {
                    let scheme = value.split(' ').next().unwrap_or("").to_ascii_lowercase();
                    schemes.insert(
                        match scheme.as_str() {
                            "bearer" => "http_bearer",
                            "basic" => "http_basic",
                            _ => "http_other",
                        }
                        .to_string(),
                    );
                }
                "content-type" => content_type = media_type(value),
                "cookie" => {
                    for pair in value.split(';') {
                        let (cname, cvalue) =
                            pair.trim().split_once('=').unwrap_or((pair.trim(), ""));
                        if cname.is_empty() || cname.len() > 128 {
                            continue;
                        }
                        if is_session_cookie(cname) && !cvalue.is_empty() {
                            schemes.insert(format!("session_cookie:{cname}"));
                        }
                        let f = first(Loc::Cookie, cname);
                        if let Some(p) = agg.param(Loc::Cookie, cname, cfg.max_params, dropped) {
                            p.observe_text(cname, cvalue, f, 1);
                        }
                    }
                }
                l if API_KEY_HEADERS.contains(&l) => {
                    schemes.insert(format!("api_key_header:{l}"));
                }
                l if l.starts_with(':')
                    || l.starts_with("sec-")
                    || SKIP_HEADERS.contains(&l)
                    || l.len() > 128 => {}
                _ => {
                    let f = first(Loc::Header, &lname);
                    if let Some(p) = agg.param(Loc::Header, &lname, cfg.max_params, dropped) {
                        p.observe_text(&lname, value, f, 1);
                    }
                }
            }
        }
        if !schemes.is_empty() {
            agg.authed += 1;
        }
        for s in schemes {
            *agg.auth.entry(s).or_default() += 1;
        }

        // Request body.
        let limits = limits(cfg);
        if !req.body.is_empty() || !content_type.is_empty() {
            agg.request.count += 1;
            if !content_type.is_empty() {
                *agg.request
                    .content_types
                    .entry(content_type.clone())
                    .or_default() += 1;
            }
        }
        if !req.body.is_empty() {
            if is_json(&content_type) {
                if let Ok(v) = serde_json::from_slice::<Value>(&req.body) {
                    let schema = agg.request.schema.get_or_insert_with(SchemaRoot::default);
                    let before = schema.dropped;
                    schema.observe(&v, limits);
                    schema_dropped += schema.dropped - before;
                    let mut pointer = String::new();
                    json_params(
                        &v,
                        &mut pointer,
                        0,
                        cfg.max_schema_depth,
                        &mut |name, leaf| {
                            let f = first(Loc::Body, name);
                            if let Some(p) = agg.param(Loc::Body, name, cfg.max_params, dropped) {
                                p.observe_json(name, leaf, f);
                            }
                        },
                    );
                }
            } else if content_type == "application/x-www-form-urlencoded" {
                let text = String::from_utf8_lossy(&req.body);
                for (name, value) in form_pairs(&text) {
                    let f = first(Loc::Form, &name);
                    if let Some(p) = agg.param(Loc::Form, &name, cfg.max_params, dropped) {
                        p.observe_text(&name, &value, f, 1);
                    }
                }
            } else if content_type == "multipart/form-data" {
                let boundary = header(req, "content-type")
                    .and_then(boundary_of)
                    .unwrap_or_default();
                multipart_fields(&req.body, &boundary, &mut |name, file, value| {
                    let f = first(Loc::Multipart, name);
                    if let Some(p) = agg.param(Loc::Multipart, name, cfg.max_params, dropped) {
                        if file {
                            // A file: its bytes are not a value to type.
                            if f {
                                p.count += 1;
                            }
                            *p.types.entry(JType::String).or_default() += 1;
                            *p.formats.entry("binary").or_default() += 1;
                        } else {
                            let text = String::from_utf8_lossy(value.get(..1024).unwrap_or(value));
                            p.observe_text(name, &text, f, 1);
                        }
                    }
                });
            }
        }

        // Response.
        if let (Some(resp), Some(status)) = (&h.response, status) {
            let body = agg.responses.entry(status).or_default();
            body.count += 1;
            let ct = resp
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| media_type(v))
                .unwrap_or_default();
            if !ct.is_empty() {
                *body.content_types.entry(ct.clone()).or_default() += 1;
            }
            if !resp.body.is_empty() && is_json(&ct) {
                if let Ok(v) = serde_json::from_slice::<Value>(&resp.body) {
                    let schema = body.schema.get_or_insert_with(SchemaRoot::default);
                    let before = schema.dropped;
                    schema.observe(&v, limits);
                    schema_dropped += schema.dropped - before;
                }
            }
        }
        self.stats.dropped_schema_nodes += schema_dropped;
    }

    /// Re-templates a key with the final sibling decisions; returns the
    /// positions that became parameters, with their literal values.
    fn retemplate(&self, host: &str, segs: &[Seg]) -> (Vec<Seg>, Vec<(usize, String)>) {
        let mut prefix = String::new();
        let mut out = Vec::with_capacity(segs.len());
        let mut newly = vec![];
        for (i, seg) in segs.iter().enumerate() {
            let seg = match seg {
                Seg::Lit(l)
                    if !prefix.is_empty()
                        && !path::always_literal(l)
                        && self.tree.is_collapsed(host, &prefix) =>
                {
                    newly.push((i, l.clone()));
                    Seg::Param(SegKind::Siblings, None)
                }
                other => other.clone(),
            };
            path::push_prefix(&mut prefix, &seg);
            out.push(seg);
        }
        (out, newly)
    }

    /// End of input: learns what is held back, settles templates, builds the
    /// inventory and emits one `endpoint` record per endpoint.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Record<'_>)) {
        while !self.pending.is_empty() {
            self.learn_oldest();
        }
        let mut merged: BTreeMap<Key, Agg> = BTreeMap::new();
        let mut dropped_params = 0;
        for ((host, method, segs), mut agg) in std::mem::take(&mut self.endpoints) {
            let (segs, newly) = self.retemplate(&host, &segs);
            for (i, lit) in newly {
                agg.path_params
                    .entry(i)
                    .or_default()
                    .observe_text("", &lit, true, agg.learned);
            }
            match merged.get_mut(&(host.clone(), method.clone(), segs.clone())) {
                Some(existing) => existing.merge(&agg, &self.cfg, &mut dropped_params),
                None => {
                    merged.insert((host, method, segs), agg);
                }
            }
        }
        for ((host, method, segs), agg) in std::mem::take(&mut self.unlearned) {
            let (segs, _) = self.retemplate(&host, &segs);
            match merged.get_mut(&(host, method, segs)) {
                Some(existing) => existing.merge_counts(&agg),
                None => self.stats.unlearned_endpoints += 1,
            }
        }
        self.stats.dropped_params += dropped_params;
        self.stats.dropped_prefixes = self.tree.nodes_dropped;
        let mut endpoints: Vec<inventory::Endpoint> = merged
            .iter()
            .map(|((host, method, segs), agg)| render_endpoint(host, method, segs, agg))
            .collect();
        endpoints.sort_by(|a, b| (&a.host, &a.path, &a.method).cmp(&(&b.host, &b.path, &b.method)));
        self.stats.endpoints = endpoints.len() as u64;
        self.stats.hosts = endpoints
            .iter()
            .map(|e| &e.host)
            .collect::<BTreeSet<_>>()
            .len() as u64;
        for e in &endpoints {
            emit(Record::Endpoint(e.record()));
        }
        self.inventory = Some(inventory::Inventory {
            tapwatch_inventory: inventory::FORMAT,
            endpoints,
            summary: self
                .stats
                .named()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        });
    }
}

fn render_endpoint(host: &str, method: &str, segs: &[Seg], agg: &Agg) -> inventory::Endpoint {
    let names = path::param_names(segs);
    let mut params = vec![];
    for (i, name, _) in &names {
        if let Some(p) = agg.path_params.get(i) {
            params.push(p.render("path", name, true));
        }
    }
    for ((loc, name), p) in &agg.params {
        params.push(p.render(loc.name(), name, agg.learned > 0 && p.count >= agg.learned));
    }
    let mut sensitive: BTreeSet<&'static str> = BTreeSet::new();
    for p in agg.path_params.values().chain(agg.params.values()) {
        sensitive.extend(p.sensitive.iter().copied());
    }
    if let Some(s) = &agg.request.schema {
        s.sensitive(&mut sensitive);
    }
    for b in agg.responses.values() {
        if let Some(s) = &b.schema {
            s.sensitive(&mut sensitive);
        }
    }
    let presence = match (agg.authed, agg.learned) {
        (0, _) => "never",
        (a, l) if a >= l => "always",
        _ => "sometimes",
    };
    inventory::Endpoint {
        host: host.to_string(),
        method: method.to_string(),
        path: path::render(segs),
        segments: names
            .iter()
            .map(|(i, name, kind)| inventory::Segment {
                index: *i,
                name: name.clone(),
                reason: kind.reason().to_string(),
            })
            .collect(),
        count: agg.count,
        learned: agg.learned,
        first_seen: agg.first,
        last_seen: agg.last,
        statuses: agg.statuses.clone(),
        auth: inventory::Auth {
            presence: presence.to_string(),
            schemes: agg.auth.clone(),
        },
        params,
        request: (agg.request.count > 0).then(|| agg.request.render()),
        responses: agg
            .responses
            .iter()
            .map(|(s, b)| (s.to_string(), b.render()))
            .collect(),
        sensitive: sensitive.iter().map(|s| s.to_string()).collect(),
    }
}

fn body_bytes(h: &Http) -> usize {
    h.request.as_ref().map_or(0, |r| r.body.len())
        + h.response.as_ref().map_or(0, |r| r.body.len())
        + 512
}

/// A literal segment as the template shows it: decoded, unless decoding
/// made it ambiguous (a `/`, a brace, a control character).
fn literal_text(decoded: &str) -> String {
    if decoded
        .chars()
        .any(|c| matches!(c, '/' | '{' | '}' | '?' | '#') || c.is_control())
    {
        decoded
            .chars()
            .map(|c| match c {
                '/' | '{' | '}' | '?' | '#' => format!("%{:02X}", c as u32),
                c if c.is_control() => "%3F".to_string(),
                c => c.to_string(),
            })
            .collect()
    } else {
        decoded.to_string()
    }
}

/// A method as a token (letters, `-`, `_`), upper-cased.
fn method_of(m: &str) -> Option<String> {
    (!m.is_empty()
        && m.len() <= 20
        && m.bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_'))
    .then(|| m.to_ascii_uppercase())
}

fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The host an endpoint belongs to: `Host` (or `:authority`), lower case,
/// default ports dropped; the server address when absent or malformed.
fn host_of(req: &HttpRequest, server: &str) -> String {
    let given = header(req, "host")
        .or_else(|| header(req, ":authority"))
        .unwrap_or("");
    let mut h = given.trim().trim_end_matches('.').to_ascii_lowercase();
    for port in [":80", ":443"] {
        if let Some(stripped) = h.strip_suffix(port) {
            h = stripped.to_string();
        }
    }
    let ok = !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
    if ok {
        h
    } else {
        server.to_string()
    }
}

/// `application/json; charset=utf-8` → `application/json`.
fn media_type(v: &str) -> String {
    let t = v.split(';').next().unwrap_or("").trim();
    if t.len() > 100 {
        return String::new();
    }
    t.to_ascii_lowercase()
}

fn is_json(ct: &str) -> bool {
    ct == "application/json" || ct.ends_with("+json") || ct == "text/json"
}

/// `name=value` pairs of a query string or form body, percent-decoded.
fn form_pairs(q: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .take(256)
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = path::percent_decode(k, true);
            (!k.is_empty() && k.len() <= 128).then(|| (k, path::percent_decode(v, true)))
        })
}

/// Calls `f(pointer, leaf)` for every scalar of a JSON value, arrays written
/// as `*` (`/items/*/sku`), down to `max_depth`.
fn json_params(
    v: &Value,
    pointer: &mut String,
    depth: usize,
    max_depth: usize,
    f: &mut dyn FnMut(&str, &Value),
) {
    match v {
        Value::Object(map) if depth < max_depth => {
            for (k, child) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&k.replace('~', "~0").replace('/', "~1"));
                json_params(child, pointer, depth + 1, max_depth, f);
                pointer.truncate(len);
            }
        }
        Value::Array(items) if depth < max_depth => {
            let len = pointer.len();
            pointer.push_str("/*");
            for child in items {
                json_params(child, pointer, depth + 1, max_depth, f);
            }
            pointer.truncate(len);
        }
        Value::Object(_) | Value::Array(_) => {}
        leaf if !pointer.is_empty() => f(pointer, leaf),
        _ => {}
    }
}

/// The `boundary` parameter of a multipart content type.
fn boundary_of(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

/// Calls `f(name, is_file, value)` for each part of a multipart body (at most 256).
fn multipart_fields(body: &[u8], boundary: &str, f: &mut dyn FnMut(&str, bool, &[u8])) {
    if boundary.is_empty() {
        return;
    }
    let delim = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delim.as_bytes());
    let starts: Vec<usize> = finder.find_iter(body).take(257).collect();
    for w in starts.windows(2) {
        let part = body.get(w[0] + delim.len()..w[1]).unwrap_or_default();
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let Some(split) = memchr::memmem::find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]);
        let value = &part[split + 4..];
        let value = value.strip_suffix(b"\r\n").unwrap_or(value);
        let Some(disp) = head.split("\r\n").find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.trim().eq_ignore_ascii_case("content-disposition"))
        }) else {
            continue;
        };
        let mut name = None;
        let mut file = false;
        for p in disp.1.split(';').skip(1) {
            if let Some((k, v)) = p.trim().split_once('=') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "name" => name = Some(v.trim().trim_matches('"').to_string()),
                    "filename" => file = true,
                    _ => {}
                }
            }
        }
        if let Some(name) = name.filter(|n| !n.is_empty() && n.len() <= 128) {
            f(&name, file, value);
        }
    }
}

const API_KEY_HEADERS: &[&str] = &[
    "x-api-key",
    "api-key",
    "apikey",
    "x-apikey",
    "x-auth-token",
    "x-access-token",
    "x-api-token",
    "x-token",
    "ocp-apim-subscription-key",
    "x-goog-api-key",
];

const API_KEY_QUERY: &[&str] = &["api_key", "apikey", "api-key", "access_token", "auth_token"];

/// Headers that are transport or client plumbing, not API parameters.
const SKIP_HEADERS: &[&str] = &[
    "host",
    "user-agent",
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-charset",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "cache-control",
    "pragma",
    "referer",
    "origin",
    "via",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-real-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "dnt",
    "priority",
    "http2-settings",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "range",
    "proxy-authorization",
    "upgrade-insecure-requests",
    "x-requested-with",
];

fn is_session_cookie(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    const NAMES: &[&str] = &[
        "session",
        "sessionid",
        "session_id",
        "sid",
        "jsessionid",
        "phpsessid",
        "asp.net_sessionid",
        "connect.sid",
        "laravel_session",
        "ci_session",
        "_session_id",
    ];
    NAMES.contains(&n.as_str())
        || n.ends_with("_session")
        || n.ends_with("sessid")
        || n.ends_with("-session")
}

#[cfg(test)]
mod tests;
