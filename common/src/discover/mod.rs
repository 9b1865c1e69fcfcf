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
pub mod json;
pub mod openapi;
pub mod path;
pub mod schema;
pub mod values;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::http::{name_is, CONTENT_TYPE};
use crate::record::{Attack, Http, HttpRequest, Record, Ts};
use json::{Doc, Shape, Val};
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
    /// Transactions that came with a [`Prepared`] part (made ahead, in a
    /// sharded run on a worker thread). Not in [`Stats::named`]: where the
    /// work ran does not change the inventory.
    pub prepared_ahead: u64,
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
    const ALL: [Loc; 6] = [
        Loc::Query,
        Loc::Header,
        Loc::Cookie,
        Loc::Body,
        Loc::Form,
        Loc::Multipart,
    ];

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
    types: values::TypeCounts,
    formats: BTreeMap<&'static str, u64>,
    sensitive: BTreeSet<&'static str>,
    /// The last transaction (its `learned` number) that had this parameter.
    stamp: u64,
    /// Whether the name was checked for sensitive data (a parameter is
    /// always observed under its own name, so once is enough).
    name_checked: bool,
}

impl ParamStats {
    /// Whether this is the parameter's first occurrence in transaction `tx`.
    fn first_in(&mut self, tx: u64) -> bool {
        let first = self.stamp != tx;
        self.stamp = tx;
        first
    }

    fn observe_text(&mut self, name: &str, value: &str, first: bool, n: u64) {
        if first {
            self.count += n;
        }
        let (t, f) = values::infer_text(value);
        self.types.add(t, n);
        if let Some(f) = f {
            *self.formats.entry(f).or_default() += n;
        }
        self.sensitive_of(name, value);
    }

    fn observe_json(&mut self, name: &str, v: Val<'_>, first: bool) {
        if first {
            self.count += 1;
        }
        self.types.add(v.jtype(), 1);
        match v.shape() {
            Shape::Str(s) => {
                let (format, sensitive) = v.string_facts(s);
                if let Some(f) = format {
                    *self.formats.entry(f).or_default() += 1;
                }
                if let Some(k) = sensitive {
                    self.sensitive.insert(k);
                }
                self.sensitive_name(name, s);
            }
            Shape::UInt(n) if values::is_card_number(n) => {
                self.sensitive.insert("card_number");
            }
            _ => {}
        }
    }

    fn sensitive_of(&mut self, name: &str, value: &str) {
        if let Some(k) = values::sensitive_value(value) {
            self.sensitive.insert(k);
        }
        self.sensitive_name(name, value);
    }

    fn sensitive_name(&mut self, name: &str, value: &str) {
        if !value.is_empty() && !self.name_checked {
            self.name_checked = true;
            if let Some(k) = values::sensitive_name(name) {
                self.sensitive.insert(k);
            }
        }
    }

    fn merge(&mut self, o: &ParamStats) {
        self.count += o.count;
        self.types.merge(&o.types);
        for (f, n) in &o.formats {
            *self.formats.entry(f).or_default() += n;
        }
        self.sensitive.extend(o.sensitive.iter().copied());
        self.name_checked |= o.name_checked;
    }

    fn render(&self, location: &str, name: &str, required: bool) -> inventory::Param {
        let types = values::unify(self.types.keys());
        let strings = self.types.get(JType::String);
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
    fn count_type(&mut self, content_type: &str) {
        bump(&mut self.content_types, content_type);
    }

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
    params: Params,
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
            params: Params::default(),
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
        let mut buf = [0u8; 5];
        bump(&mut self.statuses, status_key(status, &mut buf));
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
        for (loc, name, p) in o.params.iter() {
            match self.params.slot(loc, name, cfg.max_params) {
                Some(mine) => mine.merge(p),
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

    /// The parameter slot for `(loc, name)` and whether this is its first
    /// occurrence in transaction `tx`, unless the endpoint is full.
    fn param(
        &mut self,
        loc: Loc,
        name: &str,
        max: usize,
        dropped: &mut u64,
        tx: u64,
    ) -> Option<(&mut ParamStats, bool)> {
        match self.params.slot(loc, name, max) {
            Some(p) => {
                let first = p.first_in(tx);
                Some((p, first))
            }
            None => {
                *dropped += 1;
                None
            }
        }
    }
}

/// Parameters by location (in [`Loc`] order), then name, with their total
/// count (the cap is over all locations together). The maps hold each
/// parameter's place in `stats`, so a known one is found by one lookup.
#[derive(Debug, Clone, Default)]
struct Params {
    by_loc: [BTreeMap<String, usize>; Loc::ALL.len()],
    stats: Vec<ParamStats>,
    /// How the body parameters of the last JSON request of one layout
    /// were found ([`Params::observe_json_body`]).
    body_plan: BodyPlan,
}

/// The body parameters of the last JSON request document of one layout
/// ([`Val::layout`]), in the order [`json_params`] finds them: for each
/// leaf its place in the tape, its slot in `stats` (`None`: dropped, the
/// endpoint was full) and its name (a range of `names`). A document of the
/// same layout has the same leaves at the same places under the same
/// names, and a name's slot never changes (slots are only added, and a
/// name dropped for a full endpoint stays dropped: it never empties), so
/// the plan makes the calls the walk would make without building a
/// pointer or looking a name up.
#[derive(Debug, Clone, Default)]
struct BodyPlan {
    /// 0: no plan.
    layout: u64,
    tape: usize,
    max_depth: usize,
    max_params: usize,
    steps: Vec<(u32, Option<usize>, usize, usize)>,
    names: String,
}

impl Params {
    /// The slot for `(loc, name)`, created when there is room (fewer than
    /// `max`); allocates only for a new parameter.
    fn slot(&mut self, loc: Loc, name: &str, max: usize) -> Option<&mut ParamStats> {
        let at = self.slot_index(loc, name, max)?;
        self.stats.get_mut(at)
    }

    /// The body parameters of JSON request document `v`
    /// ([`json_params`]): each found (or counted as dropped) and
    /// observed. A document of the layout of the last one is done by the
    /// plan made from that one ([`BodyPlan`]).
    #[allow(clippy::too_many_arguments)]
    fn observe_json_body(
        &mut self,
        v: Val<'_>,
        pointer: &mut String,
        max_depth: usize,
        max_params: usize,
        dropped: &mut u64,
        tx: u64,
    ) {
        let layout = v.layout();
        let plan = &self.body_plan;
        if layout.is_some_and(|l| l == plan.layout)
            && plan.tape == v.tape_len()
            && plan.max_depth == max_depth
            && plan.max_params == max_params
        {
            for &(at, slot, start, end) in &plan.steps {
                match slot.and_then(|i| self.stats.get_mut(i)) {
                    Some(p) => {
                        let first = p.first_in(tx);
                        let name = plan.names.get(start..end);
                        p.observe_json(name.unwrap_or_default(), v.at(at), first);
                    }
                    None => *dropped += 1,
                }
            }
            return;
        }
        let mut plan = std::mem::take(&mut self.body_plan);
        plan.steps.clear();
        plan.names.clear();
        pointer.clear();
        json_params(v, pointer, 0, max_depth, &mut |name, leaf| {
            let slot = self.slot_index(Loc::Body, name, max_params);
            match slot.and_then(|i| self.stats.get_mut(i)) {
                Some(p) => {
                    let first = p.first_in(tx);
                    p.observe_json(name, leaf, first);
                }
                None => *dropped += 1,
            }
            if layout.is_some() {
                let start = plan.names.len();
                plan.names.push_str(name);
                plan.steps
                    .push((leaf.index(), slot, start, plan.names.len()));
            }
        });
        plan.layout = layout.unwrap_or(0);
        plan.tape = v.tape_len();
        plan.max_depth = max_depth;
        plan.max_params = max_params;
        self.body_plan = plan;
    }

    /// [`Params::slot`]'s place in `stats`.
    fn slot_index(&mut self, loc: Loc, name: &str, max: usize) -> Option<usize> {
        let map = self.by_loc.get_mut(loc as usize)?;
        match map.get(name) {
            Some(&at) => Some(at),
            None => {
                if self.stats.len() >= max {
                    return None;
                }
                let at = self.stats.len();
                map.insert(name.to_string(), at);
                self.stats.push(ParamStats::default());
                Some(at)
            }
        }
    }

    /// Every parameter in `(location, name)` order.
    fn iter(&self) -> impl Iterator<Item = (Loc, &str, &ParamStats)> {
        Loc::ALL.iter().zip(&self.by_loc).flat_map(move |(loc, m)| {
            m.iter()
                .filter_map(move |(k, &at)| Some((*loc, k.as_str(), self.stats.get(at)?)))
        })
    }

    /// Every parameter's stats, in `(location, name)` order.
    fn values(&self) -> impl Iterator<Item = &ParamStats> {
        self.by_loc
            .iter()
            .flat_map(BTreeMap::values)
            .filter_map(|&at| self.stats.get(at))
    }
}

/// Adds one to the counter `key`, allocating the key only when it is new.
fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// The `statuses` key of a status: its number, or `none`.
fn status_key(status: Option<u16>, buf: &mut [u8; 5]) -> &str {
    // The common ones without formatting (a table checks every status).
    let mut s = match status {
        None => return "none",
        Some(200) => return "200",
        Some(201) => return "201",
        Some(202) => return "202",
        Some(204) => return "204",
        Some(206) => return "206",
        Some(301) => return "301",
        Some(302) => return "302",
        Some(303) => return "303",
        Some(304) => return "304",
        Some(307) => return "307",
        Some(308) => return "308",
        Some(400) => return "400",
        Some(401) => return "401",
        Some(403) => return "403",
        Some(404) => return "404",
        Some(405) => return "405",
        Some(409) => return "409",
        Some(422) => return "422",
        Some(429) => return "429",
        Some(500) => return "500",
        Some(502) => return "502",
        Some(503) => return "503",
        Some(504) => return "504",
        Some(s) => s,
    };
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (s % 10) as u8;
        s /= 10;
        if s == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("none")
}

fn limits(cfg: &DiscoverConfig) -> Limits {
    Limits {
        max_depth: cfg.max_schema_depth,
        max_nodes: cfg.max_schema_nodes,
    }
}

type Key = (String, String, Vec<Seg>);

/// Path segments per request at most (deeper targets are bad targets).
const MAX_SEGS: usize = 32;
/// Segments of a path short enough for [`Discoverer::learn`]'s short
/// template array (longer ones take a [`MAX_SEGS`] one).
const SHORT_SEGS: usize = 8;

/// Endpoints by template. Looked up by an encoded key ([`encode_key`])
/// built in a reused buffer, so a known endpoint costs no allocation; the
/// template itself is built once, when the endpoint is new.
///
/// The endpoints are kept in arrival order, found by a hash of the code
/// (seeded per process; nothing is iterated in hash order: the output
/// comes from [`Table::into_sorted`]).
#[derive(Debug, Default)]
struct Table {
    index: foldhash::HashMap<Box<[u8]>, usize>,
    all: Vec<(Key, Agg)>,
}

impl Table {
    fn contains(&self, code: &[u8]) -> bool {
        self.index.contains_key(code)
    }

    /// The endpoint `code`, created (its key built by `key`) when there is
    /// room for one more than `max`; `None` when full.
    fn slot(
        &mut self,
        code: &[u8],
        max: usize,
        key: impl FnOnce() -> Key,
        ts: Ts,
    ) -> Option<&mut Agg> {
        let at = match self.index.get(code) {
            Some(&at) => at,
            None => {
                if self.all.len() >= max {
                    return None;
                }
                let at = self.all.len();
                self.index.insert(code.into(), at);
                self.all.push((key(), Agg::new(ts)));
                at
            }
        };
        self.all.get_mut(at).map(|(_, agg)| agg)
    }

    /// The endpoints in key order, as a `BTreeMap<Key, Agg>` holds them
    /// (no two endpoints have the same key: the code spells the key out).
    fn into_sorted(self) -> Vec<(Key, Agg)> {
        let mut all = self.all;
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// One segment of a request's template, borrowed from the request (or the
/// override that matched).
#[derive(Debug, Clone)]
enum SegRef<'a> {
    /// Literal text as the template shows it.
    Lit(Cow<'a, str>),
    Param(SegKind, Option<&'a str>),
}

impl Default for SegRef<'_> {
    fn default() -> Self {
        SegRef::Param(SegKind::Integer, None)
    }
}

impl SegRef<'_> {
    fn to_seg(&self) -> Seg {
        match self {
            SegRef::Lit(l) => Seg::Lit(l.to_string()),
            SegRef::Param(kind, name) => Seg::Param(*kind, name.map(str::to_string)),
        }
    }
}

/// Writes a template's lookup key: each part length-prefixed, so two
/// templates have the same key only when they are equal.
fn encode_key(buf: &mut Vec<u8>, host: &str, method: &str, segs: &[SegRef<'_>]) {
    fn put(buf: &mut Vec<u8>, s: &str) {
        buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
        buf.extend_from_slice(s.as_bytes());
    }
    buf.clear();
    put(buf, host);
    put(buf, method);
    for seg in segs {
        match seg {
            SegRef::Lit(l) => {
                buf.push(0);
                put(buf, l);
            }
            SegRef::Param(kind, name) => {
                buf.push(1);
                buf.push(*kind as u8);
                match name {
                    None => buf.push(0),
                    Some(n) => {
                        buf.push(1);
                        put(buf, n);
                    }
                }
            }
        }
    }
}

/// `attack`-named transactions not seen yet: flow, then `http_seq`s (two
/// levels so a transaction looks up by `&str` without a copy of its flow).
#[derive(Debug, Default)]
struct AttackKeys(BTreeMap<String, BTreeSet<u64>>);

impl AttackKeys {
    fn insert(&mut self, flow: &str, seq: u64) -> bool {
        match self.0.get_mut(flow) {
            Some(seqs) => seqs.insert(seq),
            None => {
                self.0.insert(flow.to_string(), BTreeSet::from([seq]));
                true
            }
        }
    }

    fn remove(&mut self, flow: &str, seq: u64) -> bool {
        let Some(seqs) = self.0.get_mut(flow) else {
            return false;
        };
        let removed = seqs.remove(&seq);
        if seqs.is_empty() {
            self.0.remove(flow);
        }
        removed
    }
}

/// Buffers reused from one transaction to the next.
#[derive(Debug, Default)]
struct Scratch {
    key: Vec<u8>,
    prefix: String,
    header: String,
    content_type: String,
    /// The last request's header names, by position, lower-cased and
    /// classified ([`header_class`]).
    headers: Vec<HeaderMemo>,
    /// The last response `Content-Type` value and its media type.
    response_ct: (String, String),
    pointer: String,
    name: Vec<u8>,
    value: Vec<u8>,
    schemes: Schemes,
    doc: Doc,
}

/// The authentication schemes of one request, each counted once, in
/// strings kept from one request to the next.
#[derive(Debug, Default)]
struct Schemes {
    items: Vec<String>,
    len: usize,
}

impl Schemes {
    fn clear(&mut self) {
        self.len = 0;
        // A request with a flood of session cookies should not pin them.
        self.items.truncate(64);
    }

    fn add(&mut self, parts: &[&str]) {
        if self.len == self.items.len() {
            self.items.push(String::new());
        }
        if let Some(s) = self.items.get_mut(self.len) {
            s.clear();
            parts.iter().for_each(|p| s.push_str(p));
            self.len += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Each distinct scheme once.
    fn distinct(&mut self) -> impl Iterator<Item = &str> {
        let used = self.items.get_mut(..self.len).unwrap_or_default();
        used.sort_unstable();
        let used = &*used;
        used.iter()
            .enumerate()
            .filter(move |(i, s)| i.checked_sub(1).and_then(|p| used.get(p)) != Some(*s))
            .map(|(_, s)| s.as_str())
    }
}

/// Transactions held back briefly so an `attack` record that follows its
/// `http` record can still exclude it.
const MAX_PENDING: usize = 64;
const MAX_PENDING_BYTES: usize = 16 << 20;
/// Attack keys remembered for `http` records still to come.
const MAX_ATTACK_KEYS: usize = 65_536;
/// Learned transactions held for [`Discoverer::take_spent`], at most.
const MAX_SPENT: usize = 1024;

/// The part of learning one transaction that needs no inventory state:
/// its JSON bodies, parsed, with the facts of every string worked out. [`prepare`] makes it ahead of
/// [`Discoverer::push_prepared`] — in a sharded run on the worker thread
/// that parsed the transaction, so the reading thread only merges.
///
/// Once learned from, a prepared part can be prepared again with
/// [`prepare_into`], its documents' buffers reused (a sharded run sends it
/// back to the worker that made it, the home given to
/// [`Discoverer::push_from`]).
#[derive(Debug, Default)]
pub struct Prepared {
    /// The request body, when it is JSON that learning reads and it parsed
    /// (else no root).
    request: Doc,
    /// The response body, likewise.
    response: Doc,
    /// The last `Content-Type` values looked at and whether each is JSON
    /// ([`is_json_media`]): a recycled part mostly sees the same ones again.
    json_media: [(String, bool); 2],
}

impl Prepared {
    /// Buffers above this size are not worth keeping for the next transaction.
    const KEEP_BYTES: usize = 64 << 10;

    /// Whether its buffers are small enough to keep for reuse.
    pub fn reusable(&self) -> bool {
        self.request.footprint() + self.response.footprint() <= Self::KEEP_BYTES
    }
}

/// Parses what [`Discoverer::learn`] would parse of `h`: the request body when
/// its (last) content type is JSON, the response body when its (first) one is
/// and the status is learned from. Pure; the same decisions as `learn` makes.
pub fn prepare(cfg: &DiscoverConfig, h: &Http) -> Prepared {
    let mut out = Prepared::default();
    prepare_into(cfg, h, &mut out);
    out
}

/// [`prepare`] into `out`, reusing its buffers (what it held is forgotten).
pub fn prepare_into(cfg: &DiscoverConfig, h: &Http, out: &mut Prepared) {
    out.request.clear();
    out.response.clear();
    let Some(req) = &h.request else {
        return;
    };
    let status = h.response.as_ref().map(|r| r.status);
    if !(cfg.all_statuses || status.is_some_and(|s| (200..300).contains(&s))) {
        return;
    }
    if !req.body.is_empty() {
        let last = req
            .headers
            .iter()
            .rev()
            .find(|(n, _)| name_is(n, CONTENT_TYPE));
        if last.is_some_and(|(_, v)| is_json_media_memo(&mut out.json_media[0], v)) {
            parse_into(&mut out.request, &req.body);
        }
    }
    if let Some(resp) = &h.response {
        if !resp.body.is_empty() {
            let first = resp.headers.iter().find(|(n, _)| name_is(n, CONTENT_TYPE));
            if first.is_some_and(|(_, v)| is_json_media_memo(&mut out.json_media[1], v)) {
                parse_into(&mut out.response, &resp.body);
            }
        }
    }
}

/// [`is_json_media`] of `v`, remembered in `memo` for the next value
/// (the answer for the last value, when `v` is the same text).
fn is_json_media_memo(memo: &mut (String, bool), v: &str) -> bool {
    if memo.0 == v {
        return memo.1;
    }
    let json = is_json_media(v);
    memo.0.clear();
    if v.len() <= 256 {
        memo.0.push_str(v);
        memo.1 = json;
    } else {
        // Too long to keep: the memo holds "" (not JSON) instead.
        memo.1 = false;
    }
    json
}

/// `is_json` of what [`media_type`] makes of a header value, without
/// building it.
fn is_json_media(v: &str) -> bool {
    let t = v.split(';').next().unwrap_or("").trim();
    let b = t.as_bytes();
    t.len() <= 100
        && (t.eq_ignore_ascii_case("application/json")
            || t.eq_ignore_ascii_case("text/json")
            || b.len()
                .checked_sub(5)
                .and_then(|at| b.get(at..))
                .is_some_and(|tail| tail.eq_ignore_ascii_case(b"+json")))
}

/// Parses `body` into `doc` with its string facts (no root unless it is JSON).
fn parse_into(doc: &mut Doc, body: &[u8]) {
    doc.parse_with_facts(body);
}

/// The media type of a response's first `Content-Type` header, into `out`;
/// `memo` holds the last header value and its media type, reused when the
/// value is the same text.
fn response_media_type(
    resp: &crate::record::HttpResponse,
    memo: &mut (String, String),
    out: &mut String,
) {
    out.clear();
    if let Some((_, v)) = resp.headers.iter().find(|(n, _)| name_is(n, CONTENT_TYPE)) {
        if memo.0 != *v {
            memo.0.clear();
            media_type(v, &mut memo.1);
            if v.len() <= 256 {
                memo.0.push_str(v);
            } else {
                // Too long to keep: the memo holds "" and its media type.
                out.push_str(&memo.1);
                memo.1.clear();
                return;
            }
        }
        out.push_str(&memo.1);
    }
}

/// A transaction held back: whether an attack names it, and what was prepared.
/// A transaction held back: whether an attack excludes it, its prepared
/// part, and the home it goes back to when spent.
type Pending = (Box<Http>, bool, Option<Box<Prepared>>, Option<usize>);

/// A transaction the inventory is done with ([`Discoverer::take_spent`]):
/// the record, its prepared part if it came with one, and its home (the
/// sharded run's worker that parsed it, to be freed and refilled there).
pub type Spent = (Box<Http>, Option<Box<Prepared>>, usize);

/// The API inventory builder.
pub struct Discoverer {
    cfg: DiscoverConfig,
    tree: SiblingTree,
    endpoints: Table,
    /// Templates seen only with statuses not learned from (yet).
    unlearned: Table,
    pending: VecDeque<Pending>,
    pending_bytes: usize,
    attacked: AttackKeys,
    attacked_order: VecDeque<(String, u64)>,
    stats: Stats,
    scratch: Scratch,
    inventory: Option<inventory::Inventory>,
    /// Transactions learned from with their prepared parts, for the caller
    /// to recycle ([`Discoverer::take_spent`]).
    spent: Vec<Spent>,
}

impl Discoverer {
    pub fn new(cfg: DiscoverConfig) -> Discoverer {
        Discoverer {
            tree: SiblingTree::new(cfg.sibling_threshold, cfg.max_prefixes),
            cfg,
            endpoints: Table::default(),
            unlearned: Table::default(),
            pending: VecDeque::new(),
            pending_bytes: 0,
            attacked: AttackKeys::default(),
            attacked_order: VecDeque::new(),
            stats: Stats::default(),
            scratch: Scratch::default(),
            inventory: None,
            spent: vec![],
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
        self.push_prepared(h, None);
    }

    /// Takes one transaction with its [`prepare`]d part (made with this
    /// discoverer's configuration); the inventory is the same as without it.
    pub fn push_prepared(&mut self, h: Box<Http>, prep: Option<Box<Prepared>>) {
        self.push_from(h, prep, None);
    }

    /// [`Discoverer::push_prepared`] for a transaction whose record (and
    /// prepared part) should go back to where it was made: with a `home`
    /// (a sharded run's worker, or 0 for a chain that parses and learns on
    /// one thread), [`Discoverer::take_spent`] hands it back once learned
    /// from, to be refilled there (a record is cheapest freed, or refilled,
    /// on the thread that allocated it). Without one it is dropped.
    pub fn push_from(&mut self, h: Box<Http>, prep: Option<Box<Prepared>>, home: Option<usize>) {
        self.stats.prepared_ahead += u64::from(prep.is_some());
        if self.attacked.remove(&h.flow, h.seq) {
            self.learn(&h, true, None);
            self.spend(h, prep, home);
            return;
        }
        self.pending_bytes += body_bytes(&h);
        self.pending.push_back((h, false, prep, home));
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
            .find(|(h, _, _, _)| h.flow == a.flow && h.seq == a.http_seq)
        {
            p.1 = true;
            return;
        }
        if self.attacked.insert(&a.flow, a.http_seq) {
            self.attacked_order.push_back((a.flow.clone(), a.http_seq));
            if self.attacked_order.len() > MAX_ATTACK_KEYS {
                if let Some((flow, seq)) = self.attacked_order.pop_front() {
                    if self.attacked.remove(&flow, seq) {
                        self.stats.dropped_attack_keys += 1;
                    }
                }
            }
        }
    }

    fn learn_oldest(&mut self) {
        if let Some((h, attacked, prep, home)) = self.pending.pop_front() {
            self.pending_bytes = self.pending_bytes.saturating_sub(body_bytes(&h));
            self.learn(&h, attacked, prep.as_deref());
            self.spend(h, prep, home);
        }
    }

    /// Keeps a learned transaction that has a home for
    /// [`Discoverer::take_spent`] (a bounded number; the rest are dropped).
    fn spend(&mut self, h: Box<Http>, prep: Option<Box<Prepared>>, home: Option<usize>) {
        if let Some(home) = home {
            if self.spent.len() < MAX_SPENT {
                self.spent.push((h, prep, home));
            }
        }
    }

    /// Hands out the transactions learned from since the last call that
    /// have a home (pushed with a prepared part or by
    /// [`Discoverer::push_from`] with one): a sharded run sends them back to
    /// the worker that made them, to be freed there, the records refilled
    /// and the documents reused.
    pub fn take_spent(&mut self, f: &mut dyn FnMut(Spent)) {
        for spent in self.spent.drain(..) {
            f(spent);
        }
    }

    fn learn(&mut self, h: &Http, attacked: bool, prep: Option<&Prepared>) {
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
        // The path's segments, decoded, on the stack: borrowed from the
        // target, or (when some segment has a `%`) from `owned`.
        // A short path (most) in a short array, which costs less to make;
        // a longer one is split again into a full one.
        let mut short = [""; SHORT_SEGS];
        let mut full: [&str; MAX_SEGS];
        let (decoded, n, escaped): (&mut [&str], _, _) = match split_segments(path, &mut short) {
            Some((n, escaped)) => (&mut short, n, escaped),
            None => {
                full = [""; MAX_SEGS];
                match split_segments(path, &mut full) {
                    Some((n, escaped)) => (&mut full, n, escaped),
                    None => {
                        self.stats.bad_targets += 1;
                        return;
                    }
                }
            }
        };
        let owned: Vec<Cow<'_, str>>;
        if escaped {
            owned = decoded
                .iter()
                .take(n)
                .map(|raw| path::percent_decode(raw, false))
                .collect();
            for (slot, d) in decoded.iter_mut().zip(&owned) {
                *slot = d;
            }
        }
        let decoded = decoded.get(..n).unwrap_or_default();
        let host = host_of(req, &h.server);
        let Discoverer {
            cfg,
            tree,
            endpoints,
            unlearned,
            stats,
            scratch,
            ..
        } = self;
        // The template's segments on the stack: a short path (most) in a
        // short array, which costs less to make and to drop. [`template`]
        // fills one per decoded segment (an override that matches has as
        // many as the path).
        let mut short: [SegRef<'_>; SHORT_SEGS] = Default::default();
        let mut full: [SegRef<'_>; MAX_SEGS];
        let out: &mut [SegRef<'_>] = if n <= SHORT_SEGS {
            &mut short
        } else {
            full = Default::default();
            &mut full
        };
        let segs = template(
            cfg,
            tree,
            &mut scratch.prefix,
            &host,
            &method,
            decoded,
            learn,
            out,
        );
        encode_key(&mut scratch.key, &host, &method, segs);
        let code = scratch.key.as_slice();
        let new_key = || {
            (
                host.to_string(),
                method.to_string(),
                segs.iter().map(SegRef::to_seg).collect(),
            )
        };
        if !learn {
            stats.excluded_status += 1;
            let map = if endpoints.contains(code) {
                endpoints
            } else {
                unlearned
            };
            match map.slot(code, cfg.max_endpoints, new_key, h.ts) {
                Some(agg) => agg.seen(h.ts, status),
                None => stats.dropped_endpoints += 1,
            }
            return;
        }
        let Some(agg) = endpoints.slot(code, cfg.max_endpoints, new_key, h.ts) else {
            stats.dropped_endpoints += 1;
            return;
        };
        stats.learned += 1;
        let tx = stats.learned;
        let dropped = &mut stats.dropped_params;
        let mut schema_dropped = 0;
        agg.seen(h.ts, status);
        agg.learned += 1;

        for (i, seg) in segs.iter().enumerate() {
            if let (SegRef::Param(..), Some(value)) = (seg, decoded.get(i)) {
                agg.path_params
                    .entry(i)
                    .or_default()
                    .observe_text("", value, true, 1);
            }
        }
        let schemes = &mut scratch.schemes;
        schemes.clear();
        for_each_pair(
            query,
            &mut scratch.name,
            &mut scratch.value,
            &mut |name, value| {
                if !value.is_empty() && API_KEY_QUERY.iter().any(|k| k.eq_ignore_ascii_case(name)) {
                    schemes.add(&["api_key_query:", name]);
                }
                if let Some((p, f)) = agg.param(Loc::Query, name, cfg.max_params, dropped, tx) {
                    p.observe_text(name, value, f, 1);
                }
            },
        );
        let content_type = &mut scratch.content_type;
        content_type.clear();
        for (i, (name, value)) in req.headers.iter().enumerate() {
            let (l, class) = header_class(&mut scratch.headers, &mut scratch.header, i, name);
            match class {
                HeaderClass::Authorization => {
                    let scheme = path::split_ascii(value, b' ').next().unwrap_or("");
                    schemes.add(&[if scheme.eq_ignore_ascii_case("bearer") {
                        "http_bearer"
                    } else if scheme.eq_ignore_ascii_case("basic") {
                        "http_basic"
                    } else {
                        "http_other"
                    }]);
                }
                HeaderClass::ContentType => media_type(value, content_type),
                HeaderClass::Cookie => {
                    for pair in path::split_ascii(value, b';') {
                        let pair = pair.trim();
                        let (cname, cvalue) =
                            path::split_once_ascii(pair, b'=').unwrap_or((pair, ""));
                        if cname.is_empty() || cname.len() > 128 {
                            continue;
                        }
                        if is_session_cookie(cname) && !cvalue.is_empty() {
                            schemes.add(&["session_cookie:", cname]);
                        }
                        if let Some((p, f)) =
                            agg.param(Loc::Cookie, cname, cfg.max_params, dropped, tx)
                        {
                            p.observe_text(cname, cvalue, f, 1);
                        }
                    }
                }
                HeaderClass::ApiKey => {
                    schemes.add(&["api_key_header:", l]);
                }
                HeaderClass::Skip => {}
                HeaderClass::Param => {
                    if let Some((p, f)) = agg.param(Loc::Header, l, cfg.max_params, dropped, tx) {
                        p.observe_text(l, value, f, 1);
                    }
                }
            }
        }
        if !schemes.is_empty() {
            agg.authed += 1;
        }
        for s in schemes.distinct() {
            bump(&mut agg.auth, s);
        }

        // Request body.
        let limits = limits(cfg);
        let content_type = content_type.as_str();
        if !req.body.is_empty() || !content_type.is_empty() {
            agg.request.count += 1;
            if !content_type.is_empty() {
                agg.request.count_type(content_type);
            }
        }
        let doc = &mut scratch.doc;
        if !req.body.is_empty() {
            if is_json(content_type) {
                let v = match prep {
                    Some(p) => p.request.root(),
                    None => {
                        // Schema and parameters both read its strings' facts:
                        // work them out once.
                        parse_into(doc, &req.body);
                        doc.root()
                    }
                };
                if let Some(v) = v {
                    let schema = agg.request.schema.get_or_insert_with(SchemaRoot::default);
                    let before = schema.dropped;
                    schema.observe(v, limits);
                    schema_dropped += schema.dropped - before;
                    agg.params.observe_json_body(
                        v,
                        &mut scratch.pointer,
                        cfg.max_schema_depth,
                        cfg.max_params,
                        dropped,
                        tx,
                    );
                }
            } else if content_type == "application/x-www-form-urlencoded" {
                let text = String::from_utf8_lossy(&req.body);
                for_each_pair(
                    &text,
                    &mut scratch.name,
                    &mut scratch.value,
                    &mut |name, value| {
                        if let Some((p, f)) =
                            agg.param(Loc::Form, name, cfg.max_params, dropped, tx)
                        {
                            p.observe_text(name, value, f, 1);
                        }
                    },
                );
            } else if content_type == "multipart/form-data" {
                let boundary = header(req, "content-type")
                    .and_then(boundary_of)
                    .unwrap_or_default();
                multipart_fields(&req.body, &boundary, &mut |name, file, value| {
                    if let Some((p, f)) =
                        agg.param(Loc::Multipart, name, cfg.max_params, dropped, tx)
                    {
                        if file {
                            // A file: its bytes are not a value to type.
                            if f {
                                p.count += 1;
                            }
                            p.types.add(JType::String, 1);
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
            let ct = &mut scratch.content_type;
            response_media_type(resp, &mut scratch.response_ct, ct);
            if !ct.is_empty() {
                body.count_type(ct);
            }
            if !resp.body.is_empty() && is_json(ct) {
                let v = match prep {
                    Some(p) => p.response.root(),
                    None => doc.parse(&resp.body).then(|| doc.root()).flatten(),
                };
                if let Some(v) = v {
                    let schema = body.schema.get_or_insert_with(SchemaRoot::default);
                    let before = schema.dropped;
                    schema.observe(v, limits);
                    schema_dropped += schema.dropped - before;
                }
            }
        }
        stats.dropped_schema_nodes += schema_dropped;
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
        for ((host, method, segs), mut agg) in std::mem::take(&mut self.endpoints).into_sorted() {
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
        for ((host, method, segs), agg) in std::mem::take(&mut self.unlearned).into_sorted() {
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

/// Path template of a request: an override, else classification and sibling
/// collapse (recorded in `tree` when `observe`). Fills `out`, returns the
/// filled part.
#[allow(clippy::too_many_arguments)]
fn template<'a, 'o>(
    cfg: &'a DiscoverConfig,
    tree: &mut SiblingTree,
    prefix: &mut String,
    host: &str,
    method: &str,
    decoded: &[&'a str],
    observe: bool,
    out: &'o mut [SegRef<'a>],
) -> &'o [SegRef<'a>] {
    if !cfg.overrides.is_empty() {
        if let Some(o) = path::match_override(&cfg.overrides, host, method, decoded) {
            for (slot, s) in out.iter_mut().zip(&o.segs) {
                *slot = match s {
                    OverrideSeg::Lit(l) => SegRef::Lit(Cow::Borrowed(l)),
                    OverrideSeg::Param(n) => SegRef::Param(SegKind::Override, Some(n)),
                };
            }
            return out.get(..o.segs.len()).unwrap_or_default();
        }
    }
    prefix.clear();
    for (slot, &d) in out.iter_mut().zip(decoded) {
        *slot = match path::classify(d) {
            Some(kind) => SegRef::Param(kind, None),
            None => {
                let collapsible = !prefix.is_empty() && !path::always_literal(d);
                let collapsed = collapsible
                    && if observe {
                        tree.observe(host, prefix, d)
                    } else {
                        tree.is_collapsed(host, prefix)
                    };
                if collapsed {
                    SegRef::Param(SegKind::Siblings, None)
                } else {
                    SegRef::Lit(literal_text(d))
                }
            }
        };
        prefix.push('/');
        match slot {
            SegRef::Lit(l) => prefix.push_str(l),
            SegRef::Param(..) => prefix.push_str("{}"),
        }
    }
    out.get(..decoded.len()).unwrap_or_default()
}

fn render_endpoint(host: &str, method: &str, segs: &[Seg], agg: &Agg) -> inventory::Endpoint {
    let names = path::param_names(segs);
    let mut params = vec![];
    for (i, name, _) in &names {
        if let Some(p) = agg.path_params.get(i) {
            params.push(p.render("path", name, true));
        }
    }
    for (loc, name, p) in agg.params.iter() {
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

/// The non-empty segments of `path` into `out`: how many, and whether
/// one has a `%`; `None` when there are more than `out` holds.
fn split_segments<'p>(path: &'p str, out: &mut [&'p str]) -> Option<(usize, bool)> {
    let mut n = 0;
    let mut escaped = false;
    for raw in path::split_ascii(path, b'/').filter(|s| !s.is_empty()) {
        *out.get_mut(n)? = raw;
        escaped |= raw.as_bytes().contains(&b'%');
        n += 1;
    }
    Some((n, escaped))
}

/// A literal segment as the template shows it: decoded, unless decoding
/// made it ambiguous (a `/`, a brace, a control character).
fn literal_text(decoded: &str) -> Cow<'_, str> {
    // Printable ASCII but for the five: nothing to escape (the check
    // below, on chars, is for the rest).
    if decoded.bytes().all(|b| LITERAL_PLAIN[usize::from(b)]) {
        return Cow::Borrowed(decoded);
    }
    escape_literal(decoded)
}

/// [`literal_text`] without its byte gate: the checks on chars.
fn escape_literal(decoded: &str) -> Cow<'_, str> {
    if decoded
        .chars()
        .any(|c| matches!(c, '/' | '{' | '}' | '?' | '#') || c.is_control())
    {
        Cow::Owned(
            decoded
                .chars()
                .map(|c| match c {
                    '/' | '{' | '}' | '?' | '#' => format!("%{:02X}", c as u32),
                    c if c.is_control() => "%3F".to_string(),
                    c => c.to_string(),
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(decoded)
    }
}

/// The bytes [`literal_text`] keeps as they are without looking at the
/// chars: printable ASCII other than `/`, `{`, `}`, `?` and `#`.
const LITERAL_PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = !matches!(b as u8, b'/' | b'{' | b'}' | b'?' | b'#');
        b += 1;
    }
    t
};

/// What [`host_of`] needs of a byte of a host: [`HOST_OK`] when it may be
/// in one (ASCII letters and digits, `-.:[]_`), [`HOST_UPPER`] too when it
/// is an upper-case letter.
const HOST_BYTE: [u8; 256] = {
    let mut t = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b':' | b'[' | b']' | b'_') {
            t[b] = HOST_OK;
        }
        if c.is_ascii_uppercase() {
            t[b] |= HOST_UPPER;
        }
        b += 1;
    }
    t
};
const HOST_OK: u8 = 1;
const HOST_UPPER: u8 = 2;

/// A method as a token (letters, `-`, `_`), upper-cased.
fn method_of(m: &str) -> Option<Cow<'_, str>> {
    (!m.is_empty()
        && m.len() <= 20
        && m.bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_'))
    .then(|| {
        if m.bytes().any(|b| b.is_ascii_lowercase()) {
            Cow::Owned(m.to_ascii_uppercase())
        } else {
            Cow::Borrowed(m)
        }
    })
}

fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The host an endpoint belongs to: `Host` (or `:authority`), lower case,
/// default ports dropped; the server address when absent or malformed.
fn host_of<'r>(req: &'r HttpRequest, server: &'r str) -> Cow<'r, str> {
    let given = header(req, "host")
        .or_else(|| header(req, ":authority"))
        .unwrap_or("");
    // Lower-casing commutes with stripping the ports, so it comes last (and
    // only when needed).
    let mut h = given.trim().trim_end_matches('.');
    for port in [":80", ":443"] {
        if let Some(stripped) = h.strip_suffix(port) {
            h = stripped;
        }
    }
    // One pass for both questions: are all its bytes allowed, is any
    // upper case.
    let (mut all, mut any) = (0, 0);
    if !h.is_empty() && h.len() <= 255 {
        all = HOST_OK;
        for b in h.bytes() {
            let c = HOST_BYTE[usize::from(b)];
            all &= c;
            any |= c;
        }
    }
    let ok = all == HOST_OK;
    if !ok {
        Cow::Borrowed(server)
    } else if any & HOST_UPPER != 0 {
        Cow::Owned(h.to_ascii_lowercase())
    } else {
        Cow::Borrowed(h)
    }
}

/// `application/json; charset=utf-8` → `application/json`, into `out`
/// (empty when over 100 bytes).
fn media_type(v: &str, out: &mut String) {
    out.clear();
    let t = v.split(';').next().unwrap_or("").trim();
    if t.len() <= 100 {
        out.push_str(t);
        out.make_ascii_lowercase();
    }
}

fn is_json(ct: &str) -> bool {
    ct == "application/json" || ct.ends_with("+json") || ct == "text/json"
}

/// Calls `f(name, value)` for the `name=value` pairs of a query string or
/// form body, percent-decoded (into `name_buf` and `value_buf` when there is
/// something to decode): at most 256 pairs, names of 1 to 128 bytes.
fn for_each_pair(
    q: &str,
    name_buf: &mut Vec<u8>,
    value_buf: &mut Vec<u8>,
    f: &mut dyn FnMut(&str, &str),
) {
    for pair in path::split_ascii(q, b'&')
        .filter(|p| !p.is_empty())
        .take(256)
    {
        let (k, v) = path::split_once_ascii(pair, b'=').unwrap_or((pair, ""));
        let k = path::percent_decode_in(k, true, name_buf);
        if k.is_empty() || k.len() > 128 {
            continue;
        }
        let v = path::percent_decode_in(v, true, value_buf);
        f(&k, &v);
    }
}

/// Calls `f(pointer, leaf)` for every scalar of a JSON value, arrays written
/// as `*` (`/items/*/sku`), down to `max_depth`.
fn json_params(
    v: Val<'_>,
    pointer: &mut String,
    depth: usize,
    max_depth: usize,
    f: &mut dyn FnMut(&str, Val<'_>),
) {
    match v.shape() {
        Shape::Object(members) if depth < max_depth => {
            for (k, child) in members {
                let len = pointer.len();
                pointer.push('/');
                if k.bytes().any(|b| b == b'~' || b == b'/') {
                    for c in k.chars() {
                        match c {
                            '~' => pointer.push_str("~0"),
                            '/' => pointer.push_str("~1"),
                            c => pointer.push(c),
                        }
                    }
                } else {
                    pointer.push_str(k);
                }
                json_params(child, pointer, depth + 1, max_depth, f);
                pointer.truncate(len);
            }
        }
        Shape::Array(items) if depth < max_depth => {
            let len = pointer.len();
            pointer.push_str("/*");
            for child in items {
                json_params(child, pointer, depth + 1, max_depth, f);
            }
            pointer.truncate(len);
        }
        Shape::Object(_) | Shape::Array(_) => {}
        _ if !pointer.is_empty() => f(pointer, v),
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

/// What learning does with a request header, by its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderClass {
    Authorization,
    ContentType,
    Cookie,
    /// An API key header (a scheme, not a parameter).
    ApiKey,
    /// Plumbing, pseudo-headers and overlong names.
    Skip,
    /// A header parameter.
    Param,
}

impl HeaderClass {
    fn of(l: &str) -> HeaderClass {
        match l {
            "authorization" => HeaderClass::Authorization,
            "content-type" => HeaderClass::ContentType,
            "cookie" => HeaderClass::Cookie,
            l if API_KEY_HEADERS.contains(&l) => HeaderClass::ApiKey,
            l if l.starts_with(':')
                || l.starts_with("sec-")
                || SKIP_HEADERS.contains(&l)
                || l.len() > 128 =>
            {
                HeaderClass::Skip
            }
            _ => HeaderClass::Param,
        }
    }
}

/// A header name as it came, lower-cased, and its class.
#[derive(Debug)]
struct HeaderMemo {
    raw: String,
    lower: String,
    class: HeaderClass,
}

/// Header positions remembered ([`header_class`]), at most.
const MAX_HEADER_MEMO: usize = 64;

/// The lower-case name and class of header `name`, at position `i` of a
/// request: remembered by position in `memo` (requests of one client send
/// the same headers in the same order), else worked out into `spare`.
fn header_class<'m>(
    memo: &'m mut Vec<HeaderMemo>,
    spare: &'m mut String,
    i: usize,
    name: &str,
) -> (&'m str, HeaderClass) {
    if name.len() > 128 {
        // Overlong: skipped whatever it says (and not remembered).
        return ("", HeaderClass::Skip);
    }
    if i == memo.len() && i < MAX_HEADER_MEMO {
        memo.push(HeaderMemo {
            raw: String::new(),
            lower: String::new(),
            class: HeaderClass::Skip,
        });
        if let Some(m) = memo.get_mut(i) {
            m.raw.push_str(name);
            m.lower.push_str(name);
            m.lower.make_ascii_lowercase();
            m.class = HeaderClass::of(&m.lower);
        }
    }
    match memo.get_mut(i) {
        Some(m) => {
            if m.raw != name {
                m.raw.clear();
                m.raw.push_str(name);
                m.lower.clear();
                m.lower.push_str(name);
                m.lower.make_ascii_lowercase();
                m.class = HeaderClass::of(&m.lower);
            }
            (m.lower.as_str(), m.class)
        }
        None => {
            spare.clear();
            spare.push_str(name);
            spare.make_ascii_lowercase();
            (spare.as_str(), HeaderClass::of(spare))
        }
    }
}

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

fn is_session_cookie(n: &str) -> bool {
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
    let ends_with = |suffix: &str| {
        n.len()
            .checked_sub(suffix.len())
            .and_then(|at| n.as_bytes().get(at..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix.as_bytes()))
    };
    NAMES.iter().any(|k| k.eq_ignore_ascii_case(n))
        || ends_with("_session")
        || ends_with("sessid")
        || ends_with("-session")
}

#[cfg(test)]
mod tests;
