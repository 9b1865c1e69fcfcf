//! Masking: secrets are replaced before a record leaves the host.
//!
//! What is masked (on by default, `--no-mask` turns it off):
//! - header values of `Authorization`, `Proxy-Authorization`, `Cookie`,
//!   `Set-Cookie`, API-key and token headers, and every `--mask-header`
//!   (the auth scheme and cookie names are kept: `Bearer [masked]`, `sid=[masked]`);
//! - values of password-like fields (`password`, `secret`, `token`, `api_key`,
//!   `session`, card fields, ... and every `--mask-field`) wherever they appear:
//!   JSON keys, `key=value` pairs in query strings and form bodies, `"key": "value"`
//!   and `key: value` lines inside text;
//! - card numbers (13 to 19 digits, Luhn-valid), JWTs, bearer/basic credentials
//!   and well-known API key prefixes (`sk_live_`, `ghp_`, `AKIA`, `xoxb-`, ...) in any text;
//! - bodies in `_b64` fields: decoded, masked as JSON when they parse as JSON
//!   and as text otherwise (which covers form bodies), re-encoded; or emptied
//!   with `--drop-bodies`.
//! - an attack hit's `payload` when its `point` names a masked header or field.
//!
//! The scanners work on bytes and replace only ASCII-delimited spans, so
//! binary payloads stay byte-identical outside what they mask.

use base64::Engine;
use serde_json::Value;

use crate::record::{Attack, Hit};

/// What replaces a secret.
pub const MASK: &str = "[masked]";

/// Masking rules.
#[derive(Debug, Clone)]
pub struct MaskConfig {
    /// Extra header names, lower case.
    pub headers: Vec<String>,
    /// Extra field names, normalised (lower case, no `-`, `_`, `.`).
    pub fields: Vec<String>,
    /// Empty every `_b64` field instead of masking inside it.
    pub drop_bodies: bool,
    /// Whether secrets are masked at all (off: only `drop_bodies` applies).
    pub enabled: bool,
}

impl MaskConfig {
    pub fn new(headers: &[String], fields: &[String], drop_bodies: bool) -> MaskConfig {
        MaskConfig {
            headers: headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
            fields: fields.iter().map(|f| normalise(f.as_bytes())).collect(),
            drop_bodies,
            enabled: true,
        }
    }

    /// Masks nothing, only empties `_b64` fields (`--no-mask --drop-bodies`).
    pub fn drop_only() -> MaskConfig {
        MaskConfig {
            headers: vec![],
            fields: vec![],
            drop_bodies: true,
            enabled: false,
        }
    }
}

const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-access-token",
    "x-csrf-token",
    "x-xsrf-token",
    "x-amz-security-token",
];

const SECRET_FIELDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "auth",
    "authorization",
    "session",
    "sessionid",
    "sid",
    "jsessionid",
    "phpsessid",
    "cookie",
    "creditcard",
    "cardnumber",
    "ccnumber",
    "ccnum",
    "cvv",
    "cvc",
    "ssn",
    "privatekey",
    "otp",
    "pin",
];

/// Lower case without `-`, `_`, `.`, `[`, `]`: `X-Api_Key` and `user[apiKey]` compare alike.
fn normalise(name: &[u8]) -> String {
    name.iter()
        .filter(|b| !matches!(b, b'-' | b'_' | b'.' | b'[' | b']'))
        .map(|b| b.to_ascii_lowercase() as char)
        .collect()
}

/// [`normalise`] into a stack buffer; `None` when longer than it (never secret).
fn normalise_into<'b>(name: &[u8], buf: &'b mut [u8; 64]) -> Option<&'b [u8]> {
    let mut n = 0;
    for &c in name {
        if matches!(c, b'-' | b'_' | b'.' | b'[' | b']') {
            continue;
        }
        *buf.get_mut(n)? = c.to_ascii_lowercase();
        n += 1;
    }
    buf.get(..n)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

impl MaskConfig {
    fn secret_field(&self, name: &[u8]) -> bool {
        let mut buf = [0u8; 64];
        let Some(n) = normalise_into(name, &mut buf) else {
            return false;
        };
        if n.len() < 3 {
            return false;
        }
        SECRET_FIELDS.iter().any(|f| f.as_bytes() == n)
            || [
                &b"password"[..],
                b"passwd",
                b"secret",
                b"token",
                b"apikey",
                b"credential",
            ]
            .iter()
            .any(|p| contains(n, p))
            || self.fields.iter().any(|f| f.as_bytes() == n)
    }

    fn secret_header(&self, name: &[u8]) -> bool {
        let name = name.trim_ascii();
        SECRET_HEADERS
            .iter()
            .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
            || self
                .headers
                .iter()
                .any(|h| h.as_bytes().eq_ignore_ascii_case(name))
    }
}

/// The masked form of a secret header's value: the auth scheme and cookie names stay.
fn mask_header_value(name: &str, value: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    let mask_pairs = |s: &str, sep: &str| -> String {
        s.split(sep)
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) => format!("{k}={MASK}"),
                None => MASK.to_string(),
            })
            .collect::<Vec<_>>()
            .join(sep)
    };
    match lower.as_str() {
        "cookie" => mask_pairs(value, ";"),
        "set-cookie" => match value.split_once(';') {
            Some((first, attrs)) => format!("{};{attrs}", mask_pairs(first, ";")),
            None => mask_pairs(value, ";"),
        },
        "authorization" | "proxy-authorization" => match value.trim().split_once(' ') {
            Some((scheme, _)) if !scheme.is_empty() => format!("{scheme} {MASK}"),
            _ => MASK.to_string(),
        },
        _ => MASK.to_string(),
    }
}

/// Every field name of an `attack` record, of its hits and of an aggregate.
const ATTACK_KEYS: &[&str] = &[
    "type",
    "event_id",
    "ts",
    "flow",
    "http_seq",
    "client",
    "real_ip",
    "server",
    "method",
    "host",
    "uri",
    "status",
    "hits",
    "outcome",
    "severity",
    "count",
    "first_seen",
    "last_seen",
    "class",
    "point",
    "payload",
    "rule",
    "confidence",
    "message",
];

impl MaskConfig {
    /// Whether [`mask_attack`] masks an attack as [`mask_value`] masks its
    /// value: true unless a configured field name is a field of the attack
    /// (its value, a number even, would become `[masked]`).
    pub fn masks_attacks_typed(&self) -> bool {
        !self.enabled || !ATTACK_KEYS.iter().any(|k| self.secret_field(k.as_bytes()))
    }
}

fn scrub_in_place(s: &mut String, cfg: &MaskConfig, n: &mut u64) {
    if let Some(masked) = scrub_str(s, cfg, n) {
        *s = masked;
    }
}

/// Whether scrubbing `ts`'s text surely finds nothing, without writing it.
/// The text (`2024-05-01T12:00:00.123456Z`) has no `=`, `"`, letter of a
/// credential, JWT or key prefix, and no run of more than nine digits;
/// only its `Name:` line scanner sees a name, `YYYY-MM-DDTHH`, and that
/// has digits, which no built-in secret name has: so only a configured
/// header or field name with a digit could match it.
pub fn time_unmasked(ts: crate::time::Ts, cfg: &MaskConfig) -> bool {
    !cfg.enabled
        || (ts.prints_plainly()
            && !cfg
                .headers
                .iter()
                .chain(&cfg.fields)
                .any(|n| n.bytes().any(|c| c.is_ascii_digit())))
}

/// Masks an `attack` record in place as [`mask_value`] masks its value
/// (which [`MaskConfig::masks_attacks_typed`] must allow): every string
/// scrubbed, a hit's payload masked when its point names a secret. `ts` is
/// the record's time as written, `None` when [`time_unmasked`] holds;
/// the result is `None` when masking would change the time (the value
/// must be masked instead).
pub fn mask_attack(a: &mut Attack, ts: Option<&str>, cfg: &MaskConfig) -> Option<u64> {
    let mut n = 0;
    if !cfg.enabled {
        return Some(0);
    }
    if ts.is_some_and(|ts| scrub_bytes(ts.as_bytes(), cfg, &mut n).is_some()) {
        return None;
    }
    // Named field by field, without `..`: a field added to the record
    // breaks the build here until it is masked (or said to need none).
    let Attack {
        ts: _,
        flow,
        http_seq: _,
        client,
        real_ip,
        server,
        method,
        host,
        uri,
        status: _,
        hits,
        outcome,
        severity,
    } = a;
    for s in [flow, client, real_ip, server, method, host, uri] {
        scrub_in_place(s, cfg, &mut n);
    }
    for s in [outcome, severity].into_iter().flatten() {
        scrub_in_place(s, cfg, &mut n);
    }
    for h in hits {
        let Hit {
            class,
            point,
            payload,
            rule,
            confidence: _,
            message,
        } = h;
        let last = point.rsplit('.').next().unwrap_or(point);
        let point_secret = (point.starts_with("header.") && cfg.secret_header(last.as_bytes()))
            || cfg.secret_field(last.as_bytes());
        if point_secret {
            *payload = MASK.into();
            n += 1;
        } else {
            scrub_in_place(payload, cfg, &mut n);
        }
        for s in [class, point, rule] {
            scrub_in_place(s, cfg, &mut n);
        }
        if let Some(m) = message {
            scrub_in_place(m, cfg, &mut n);
        }
    }
    Some(n)
}

/// Masks a record (or any JSON) in place; returns how many secrets were masked.
pub fn mask_value(v: &mut Value, cfg: &MaskConfig) -> u64 {
    let mut n = 0;
    walk(v, cfg, &mut n);
    n
}

fn walk(v: &mut Value, cfg: &MaskConfig, n: &mut u64) {
    match v {
        Value::String(s) if cfg.enabled => {
            if let Some(masked) = scrub_str(s, cfg, n) {
                *s = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk(i, cfg, n)),
        Value::Object(map) => {
            // An attack hit: its payload is the value at `point`.
            let point_secret = match map.get("point") {
                Some(Value::String(p)) if cfg.enabled && map.contains_key("payload") => {
                    let last = p.rsplit('.').next().unwrap_or(p);
                    (p.starts_with("header.") && cfg.secret_header(last.as_bytes()))
                        || cfg.secret_field(last.as_bytes())
                }
                _ => false,
            };
            for (key, val) in map.iter_mut() {
                if (point_secret && key == "payload")
                    || (cfg.enabled
                        && cfg.secret_field(key.as_bytes())
                        && !val.is_null()
                        && val.as_str() != Some(MASK))
                {
                    *val = Value::from(MASK);
                    *n += 1;
                } else if cfg.enabled && (key == "headers" || key == "trailers") {
                    mask_headers(val, cfg, n);
                } else if let Some(Value::String(text)) = key.ends_with("_b64").then_some(&mut *val)
                {
                    if cfg.drop_bodies {
                        if !text.is_empty() {
                            text.clear();
                            *n += 1;
                        }
                    } else if !cfg.enabled {
                    } else if let Some(masked) = mask_b64(text, cfg, n) {
                        *text = masked;
                    }
                } else {
                    walk(val, cfg, n);
                }
            }
        }
        _ => {}
    }
}

/// `[[name, value], ...]`: secret headers masked, the rest scrubbed as text.
fn mask_headers(v: &mut Value, cfg: &MaskConfig, n: &mut u64) {
    let Value::Array(pairs) = v else {
        return walk(v, cfg, n);
    };
    for pair in pairs {
        match pair {
            Value::Array(kv) if kv.len() == 2 => {
                let name = kv.first().and_then(Value::as_str).unwrap_or("").to_string();
                match kv.get_mut(1) {
                    Some(Value::String(value)) if cfg.secret_header(name.as_bytes()) => {
                        *value = mask_header_value(&name, value);
                        *n += 1;
                    }
                    Some(value) => walk(value, cfg, n),
                    None => {}
                }
            }
            other => walk(other, cfg, n),
        }
    }
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Decodes a `_b64` field, masks inside it, re-encodes it when something changed.
fn mask_b64(text: &str, cfg: &MaskConfig, n: &mut u64) -> Option<String> {
    let bytes = B64.decode(text).ok()?;
    if let Ok(mut json) = serde_json::from_slice::<Value>(&bytes) {
        if json.is_object() || json.is_array() {
            let before = *n;
            walk(&mut json, cfg, n);
            return (*n > before)
                .then(|| serde_json::to_vec(&json).ok().map(|b| B64.encode(b)))
                .flatten();
        }
    }
    scrub_bytes(&bytes, cfg, n).map(|b| B64.encode(b))
}

fn scrub_str(s: &str, cfg: &MaskConfig, n: &mut u64) -> Option<String> {
    scrub_bytes(s.as_bytes(), cfg, n).map(|b| {
        String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    })
}

/// A span to replace: `[start, end)` and its replacement.
type Span = (usize, usize, String);

/// Masks secrets in text or bytes; `None` when nothing was found.
pub fn scrub_bytes(b: &[u8], cfg: &MaskConfig, n: &mut u64) -> Option<Vec<u8>> {
    let t = Triggers::of(b);
    if t == Triggers::default() {
        return None;
    }
    scrub_spans(b, cfg, n, t)
}

/// [`scrub_bytes`] with the scanners `t` names.
fn scrub_spans(b: &[u8], cfg: &MaskConfig, n: &mut u64, t: Triggers) -> Option<Vec<u8>> {
    let mut spans: Vec<Span> = vec![];
    if t.colon {
        header_lines(b, cfg, &mut spans);
        json_pairs(b, cfg, &mut spans);
    }
    if t.equals {
        key_values(b, cfg, &mut spans);
    }
    if t.credential {
        credentials(b, &mut spans);
    }
    if t.jwt {
        jwts(b, &mut spans);
    }
    if t.key {
        api_keys(b, &mut spans);
    }
    if t.card {
        cards(b, &mut spans);
    }
    if spans.is_empty() {
        return None;
    }
    spans.sort_by_key(|s| (s.0, std::cmp::Reverse(s.1)));
    let mut out = Vec::with_capacity(b.len());
    let mut at = 0;
    for (start, end, with) in spans {
        if start < at {
            continue; // inside a span already masked
        }
        out.extend_from_slice(b.get(at..start)?);
        out.extend_from_slice(with.as_bytes());
        at = end;
        *n += 1;
    }
    out.extend_from_slice(b.get(at..)?);
    Some(out)
}

/// The scanners that can find something in a text, found in one pass
/// over its trigger literals (and `memchr` for `:` and `=`, a count of
/// digits): each flag is a condition without which its scanner finds
/// nothing, so skipping the others changes no output.
#[derive(Debug, Default, PartialEq, Eq)]
struct Triggers {
    /// A `:`: `Name: value` lines ([`header_lines`]), `"key": value` ([`json_pairs`]).
    colon: bool,
    /// A `=`: `key=value` ([`key_values`]).
    equals: bool,
    /// `bearer` or `basic` in any case ([`credentials`]).
    credential: bool,
    /// `eyJ` ([`jwts`]).
    jwt: bool,
    /// A [`KEY_PREFIXES`] prefix ([`api_keys`]).
    key: bool,
    /// At least 13 digits ([`cards`]).
    card: bool,
}

/// Patterns of [`TRIGGER_SET`]: `bearer` and `basic` first, `eyJ`, then
/// the key prefixes (matched ASCII-case-insensitively: a superset).
const CREDENTIAL_LITERALS: usize = 2;

/// The trigger literals in [`TRIGGER_SET`]'s pattern order.
fn trigger_literals() -> impl Iterator<Item = &'static [u8]> {
    [&b"bearer"[..], b"basic", b"eyJ"]
        .into_iter()
        .chain(KEY_PREFIXES.iter().map(|(p, _)| *p))
}

/// Texts up to this long are scanned for triggers byte by byte
/// ([`Triggers::of_short`]): an attack's fields (a method, a class, a
/// rule, an address) are mostly a few bytes, where setting up the
/// automaton's search cost more than the search.
const SHORT_TEXT: usize = 48;

/// The trigger literals ([`trigger_literals`], in order) and, for each
/// byte, which of them start with it in either case (a bit each).
struct TriggerStarts {
    lits: Vec<&'static [u8]>,
    starts: [u32; 256],
}

static TRIGGER_STARTS: std::sync::LazyLock<TriggerStarts> = std::sync::LazyLock::new(|| {
    let lits: Vec<_> = trigger_literals().collect();
    let mut starts = [0u32; 256];
    for (p, lit) in lits.iter().enumerate().take(32) {
        if let Some(&c) = lit.first() {
            starts[usize::from(c.to_ascii_lowercase())] |= 1 << p;
            starts[usize::from(c.to_ascii_uppercase())] |= 1 << p;
        }
    }
    TriggerStarts { lits, starts }
});

static TRIGGER_SET: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
    std::sync::LazyLock::new(|| {
        let lits = trigger_literals();
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(lits)
            .ok()
    });

impl Triggers {
    fn of(b: &[u8]) -> Triggers {
        if b.len() <= SHORT_TEXT {
            if let Some(t) = Triggers::of_short(b) {
                return t;
            }
        }
        Triggers::of_long(b)
    }

    /// [`Triggers::of`] in one pass over a short text: the same flags
    /// (each literal compared where a byte could start it, in any case, as
    /// the automaton matches it); `None` if there were too many literals
    /// to keep a bit each.
    fn of_short(b: &[u8]) -> Option<Triggers> {
        let TriggerStarts { lits, starts } = &*TRIGGER_STARTS;
        if lits.len() > 32 {
            return None;
        }
        let mut t = Triggers::default();
        let mut digits = 0;
        for (i, &c) in b.iter().enumerate() {
            match c {
                b':' => t.colon = true,
                b'=' => t.equals = true,
                b'0'..=b'9' => digits += 1,
                _ => {
                    let mut may = starts[usize::from(c)];
                    while may != 0 {
                        let p = may.trailing_zeros() as usize;
                        may &= may - 1;
                        let lit = lits.get(p).copied().unwrap_or_default();
                        let at = b.get(i..i + lit.len());
                        if at.is_some_and(|w| w.eq_ignore_ascii_case(lit)) {
                            match p {
                                p if p < CREDENTIAL_LITERALS => t.credential = true,
                                CREDENTIAL_LITERALS => t.jwt = true,
                                _ => t.key = true,
                            }
                        }
                    }
                }
            }
        }
        t.card = digits >= 13;
        Some(t)
    }

    /// [`Triggers::of`] with `memchr` and the automaton.
    fn of_long(b: &[u8]) -> Triggers {
        let mut t = Triggers {
            colon: memchr::memchr(b':', b).is_some(),
            equals: memchr::memchr(b'=', b).is_some(),
            card: b.iter().filter(|c| c.is_ascii_digit()).count() >= 13,
            ..Triggers::default()
        };
        let Some(ac) = TRIGGER_SET.as_ref() else {
            // Not built (it always is): every literal scanner runs.
            t.credential = true;
            t.jwt = true;
            t.key = true;
            return t;
        };
        for m in ac.find_overlapping_iter(b) {
            match m.pattern().as_usize() {
                i if i < CREDENTIAL_LITERALS => t.credential = true,
                CREDENTIAL_LITERALS => t.jwt = true,
                _ => t.key = true,
            }
            if t.credential && t.jwt && t.key {
                break;
            }
        }
        t
    }
}

fn is_token(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'[' | b']')
}

/// `Name: value` lines whose name is a secret header or field.
fn header_lines(b: &[u8], cfg: &MaskConfig, spans: &mut Vec<Span>) {
    let mut start = 0;
    while start < b.len() {
        let end =
            memchr::memchr(b'\n', b.get(start..).unwrap_or(&[])).map_or(b.len(), |i| start + i);
        let line = b.get(start..end).unwrap_or(&[]);
        if let Some(colon) = memchr::memchr(b':', line) {
            let name = line.get(..colon).unwrap_or(&[]);
            if !name.is_empty()
                && name.len() <= 64
                && name.iter().all(|&c| is_token(c))
                && (cfg.secret_header(name) || cfg.secret_field(name))
            {
                let mut v = colon + 1;
                while line.get(v).is_some_and(|c| *c == b' ' || *c == b'\t') {
                    v += 1;
                }
                let mut e = line.len();
                while e > v && line.get(e - 1) == Some(&b'\r') {
                    e -= 1;
                }
                if e > v {
                    let value = String::from_utf8_lossy(line.get(v..e).unwrap_or(&[]));
                    let name = String::from_utf8_lossy(name);
                    spans.push((start + v, start + e, mask_header_value(&name, &value)));
                }
            }
        }
        start = end + 1;
    }
}

/// `key=value` (query strings, form bodies, cookies) with a secret key.
fn key_values(b: &[u8], cfg: &MaskConfig, spans: &mut Vec<Span>) {
    for eq in memchr::memchr_iter(b'=', b) {
        let mut k = eq;
        while k > 0 && eq - k < 64 && b.get(k - 1).is_some_and(|&c| is_token(c)) {
            k -= 1;
        }
        if k == eq || !cfg.secret_field(b.get(k..eq).unwrap_or(&[])) {
            continue;
        }
        let mut e = eq + 1;
        while b.get(e).is_some_and(|&c| {
            !matches!(c, b'&' | b';' | b',' | b'"' | b'\'' | b'<' | b'>' | b')')
                && !c.is_ascii_whitespace()
        }) {
            e += 1;
        }
        if e > eq + 1 {
            spans.push((eq + 1, e, MASK.into()));
        }
    }
}

/// `"key": "value"` or `"key": 123` inside text, with a secret key.
fn json_pairs(b: &[u8], cfg: &MaskConfig, spans: &mut Vec<Span>) {
    for colon in memchr::memchr_iter(b':', b) {
        let mut q = colon;
        while q > 0 && b.get(q - 1).is_some_and(|c| c.is_ascii_whitespace()) {
            q -= 1;
        }
        if q == 0 || b.get(q - 1) != Some(&b'"') {
            continue;
        }
        let close = q - 1;
        let mut open = close;
        while open > 0 && close - open < 64 && b.get(open - 1).is_some_and(|&c| c != b'"') {
            open -= 1;
        }
        if open == 0
            || b.get(open - 1) != Some(&b'"')
            || !cfg.secret_field(b.get(open..close).unwrap_or(&[]))
        {
            continue;
        }
        let mut v = colon + 1;
        while b.get(v).is_some_and(|c| c.is_ascii_whitespace()) {
            v += 1;
        }
        let (s, mut e) = if b.get(v) == Some(&b'"') {
            (v + 1, v + 1)
        } else {
            (v, v)
        };
        let quoted = s > v;
        while let Some(&c) = b.get(e) {
            if quoted && c == b'\\' {
                e += 2;
                continue;
            }
            let ends = if quoted {
                c == b'"'
            } else {
                matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace()
            };
            if ends {
                break;
            }
            e += 1;
        }
        let e = e.min(b.len());
        if e > s {
            spans.push((s, e, MASK.into()));
        }
    }
}

fn is_token68(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// `Bearer <token>` and `Basic <credentials>` anywhere.
fn credentials(b: &[u8], spans: &mut Vec<Span>) {
    let mut skip_to = 0;
    for i in memchr::memchr2_iter(b'b', b'B', b) {
        if i < skip_to || (i > 0 && b.get(i - 1).is_some_and(|c| c.is_ascii_alphanumeric())) {
            continue;
        }
        let rest = b.get(i..).unwrap_or(&[]);
        let Some(scheme) = [&b"bearer"[..], b"basic"].into_iter().find(|s| {
            rest.get(..s.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(s))
        }) else {
            continue;
        };
        let mut s = i + scheme.len();
        let spaced = s;
        while b.get(s) == Some(&b' ') {
            s += 1;
        }
        let mut e = s;
        while b.get(e).is_some_and(|&c| is_token68(c)) {
            e += 1;
        }
        if s > spaced && e - s >= 8 && b.get(s..e) != Some(MASK.as_bytes()) {
            spans.push((s, e, MASK.into()));
            skip_to = e;
        }
    }
}

fn is_b64url(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// JSON Web Tokens: `eyJ...` header, `.`, payload, `.`, signature.
fn jwts(b: &[u8], spans: &mut Vec<Span>) {
    let mut from = 0;
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"eyJ"));
    while let Some(i) = FINDER.find(b.get(from..).unwrap_or(&[])).map(|i| from + i) {
        from = i + 3;
        if i > 0 && b.get(i - 1).is_some_and(|&c| is_b64url(c)) {
            continue;
        }
        let run = |mut p: usize| {
            while b.get(p).is_some_and(|&c| is_b64url(c)) {
                p += 1;
            }
            p
        };
        let h = run(i);
        if h - i < 10 || b.get(h) != Some(&b'.') {
            continue;
        }
        let p = run(h + 1);
        if p == h + 1 || b.get(p) != Some(&b'.') {
            continue;
        }
        let s = run(p + 1);
        spans.push((i, s, MASK.into()));
        from = s;
    }
}

/// Well-known API key shapes: a prefix and enough key characters after it.
const KEY_PREFIXES: &[(&[u8], usize)] = &[
    (b"sk_live_", 16),
    (b"sk_test_", 16),
    (b"rk_live_", 16),
    (b"ghp_", 30),
    (b"gho_", 30),
    (b"ghs_", 30),
    (b"github_pat_", 30),
    (b"glpat-", 20),
    (b"xoxb-", 20),
    (b"xoxp-", 20),
    (b"AKIA", 16),
    (b"ASIA", 16),
    (b"AIza", 30),
];

fn api_keys(b: &[u8], spans: &mut Vec<Span>) {
    for i in
        memchr::memchr3_iter(b's', b'r', b'g', b).chain(memchr::memchr3_iter(b'x', b'A', b'A', b))
    {
        if i > 0 && b.get(i - 1).is_some_and(|&c| c.is_ascii_alphanumeric()) {
            continue;
        }
        let rest = b.get(i..).unwrap_or(&[]);
        for (prefix, min) in KEY_PREFIXES.iter().filter(|(p, _)| rest.starts_with(p)) {
            let s = i + prefix.len();
            let mut e = s;
            while b.get(e).is_some_and(|&c| is_b64url(c)) {
                e += 1;
            }
            if e - s >= *min {
                spans.push((i, e, MASK.into()));
            }
        }
    }
}

/// Whether a digit string passes the Luhn check.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d.wrapping_sub(b'0'));
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    matches!(sum % 10, 0)
}

/// Card numbers: 13 to 19 digits, single spaces, dashes or `+` between groups allowed, Luhn-valid.
fn cards(b: &[u8], spans: &mut Vec<Span>) {
    let mut i = 0;
    let mut digits = Vec::with_capacity(19);
    while i < b.len() {
        let starts = b.get(i).is_some_and(u8::is_ascii_digit)
            && (i == 0 || b.get(i - 1).is_some_and(|c| !c.is_ascii_alphanumeric()));
        if !starts {
            i += 1;
            continue;
        }
        digits.clear();
        let mut e = i;
        let mut end = i;
        while let Some(&c) = b.get(e) {
            if c.is_ascii_digit() {
                digits.push(c);
                e += 1;
                end = e;
            } else if matches!(c, b' ' | b'-' | b'+')
                && b.get(e + 1).is_some_and(u8::is_ascii_digit)
                && digits.len() < 19
            {
                e += 1;
            } else {
                break;
            }
            if digits.len() > 19 {
                break;
            }
        }
        let after_ok = !b.get(end).is_some_and(|c| c.is_ascii_alphanumeric());
        if (13..=19).contains(&digits.len()) && after_ok && luhn(&digits) {
            spans.push((i, end, MASK.into()));
        }
        i = end.max(i + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg() -> MaskConfig {
        MaskConfig::new(
            &["X-Custom-Secret".into()],
            &["mySecretField".into()],
            false,
        )
    }

    /// Every key a fully populated attack record and an aggregate carry is
    /// in [`ATTACK_KEYS`], so a configured field name that would mask one
    /// sends attacks the Value way.
    #[test]
    fn attack_keys_cover_the_record() {
        let a = Attack {
            ts: crate::time::Ts::parse("2024-01-01T00:00:00Z").unwrap(),
            flow: "f".into(),
            http_seq: 1,
            client: "c".into(),
            real_ip: "r".into(),
            server: "s".into(),
            method: "GET".into(),
            host: "h".into(),
            uri: "/".into(),
            status: Some(200),
            hits: vec![Hit {
                class: "sqli".into(),
                point: "query.id".into(),
                payload: "p".into(),
                rule: "r".into(),
                confidence: Some(0.5),
                message: Some("m".into()),
            }],
            outcome: Some("unknown".into()),
            severity: Some("high".into()),
        };
        let mut v = serde_json::to_value(crate::record::Record::Attack(a)).unwrap();
        let o = v.as_object_mut().unwrap();
        for k in ["event_id", "count", "first_seen", "last_seen"] {
            o.insert(k.into(), json!(1));
        }
        fn keys(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, v) in m {
                        out.push(k.clone());
                        keys(v, out);
                    }
                }
                Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
                _ => {}
            }
        }
        let mut all = vec![];
        keys(&v, &mut all);
        for k in all {
            assert!(ATTACK_KEYS.contains(&k.as_str()), "{k} missing");
        }
    }

    fn scrub(s: &str) -> String {
        let mut n = 0;
        scrub_str(s, &cfg(), &mut n).unwrap_or_else(|| s.to_string())
    }

    #[test]
    fn text_scrubbing_table() {
        let table = [
            (
                "/login?user=bob&password=hunter2&x=1",
                "/login?user=bob&password=[masked]&x=1",
            ),
            ("a=1&api_key=abcdef", "a=1&api_key=[masked]"),
            (
                "Authorization: Bearer abcdefghijkl\r\nHost: x",
                "Authorization: Bearer [masked]\r\nHost: x",
            ),
            (
                "cookie: sid=abc; theme=dark",
                "cookie: sid=[masked]; theme=[masked]",
            ),
            (
                "token is Bearer abcdefghij12 ok",
                "token is Bearer [masked] ok",
            ),
            ("pay 4111 1111 1111 1111 now", "pay [masked] now"),
            ("pay 4111-1111-1111-1112 now", "pay 4111-1111-1111-1112 now"),
            ("order 1234567890123", "order 1234567890123"),
            (
                "{\"password\": \"x\\\"y\", \"u\": 1}",
                "{\"password\": \"[masked]\", \"u\": 1}",
            ),
            ("{\"pin\":1234}", "{\"pin\":[masked]}"),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_xx-1 end",
                "jwt [masked] end",
            ),
            ("key AKIAIOSFODNN7EXAMPLE here", "key [masked] here"),
            ("X-Custom-Secret: abc", "X-Custom-Secret: [masked]"),
            ("mySecretField=1", "mySecretField=[masked]"),
            ("nothing to see", "nothing to see"),
        ];
        for (input, want) in table {
            assert_eq!(scrub(input), want, "{input}");
        }
    }

    const ALL: Triggers = Triggers {
        colon: true,
        equals: true,
        credential: true,
        jwt: true,
        key: true,
        card: true,
    };

    /// Every scanner, none skipped: what the triggers must agree with.
    fn scrub_every_way(b: &[u8]) -> (Option<Vec<u8>>, u64) {
        let mut n = 0;
        (scrub_spans(b, &cfg(), &mut n, ALL), n)
    }

    proptest::proptest! {
        /// The byte-by-byte scan of a short text finds the automaton's flags.
        #[test]
        fn short_triggers_are_the_automatons(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..6),
            lits in proptest::collection::vec(
                proptest::sample::select(trigger_literals().collect::<Vec<_>>()), 0..3),
            cases in proptest::prelude::any::<u64>(),
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..SHORT_TEXT + 1),
        ) {
            let mut text = pieces.concat().into_bytes();
            for (i, lit) in lits.iter().enumerate() {
                // Cut short now and then, cases mixed.
                let lit = lit.get(..lit.len() - (i % 2)).unwrap_or_default();
                text.extend(lit.iter().enumerate().map(|(j, c)| {
                    if cases >> (j % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }
                }));
                text.extend_from_slice(b"9");
            }
            for t in [&text[..], &data[..]] {
                proptest::prop_assert_eq!(Triggers::of_short(t), Some(Triggers::of_long(t)), "{:?}", String::from_utf8_lossy(t));
            }
        }
    }

    #[test]
    fn triggers_skip_only_scanners_that_find_nothing() {
        let table: &[&[u8]] = &[
            b"",
            b"GET",
            b"2024-05-01T12:00:00.123456789Z",
            b"Authorization: Bearer abcdefghijkl",
            b"x BEARER abcdefghijkl and bAsIc dXNlcjpwYXNzd29yZA==",
            b"a=1&api_key=abcdef",
            b"{\"password\": \"x\"}",
            b"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_xx-1 end",
            b"key AKIAIOSFODNN7EXAMPLE sk_live_abcdefghijklmnopqrst ghp_0123456789012345678901234567890",
            b"xoxb-01234567890123456789 glpat-01234567890123456789 AIza012345678901234567890123456789",
            b"pay 4111 1111 1111 1111 now",
            b"4111111111111111",
            b"/search?q=1' OR '1'='1&token=zz",
        ];
        for input in table {
            let mut n = 0;
            let fast = scrub_bytes(input, &cfg(), &mut n);
            assert_eq!(
                (fast, n),
                scrub_every_way(input),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        // Each scanner's trigger fires on its own literal, whatever the case.
        let t = Triggers::of(b"xBeArEr");
        assert!(t.credential && !t.jwt && !t.key && !t.colon && !t.card);
        assert!(Triggers::of(b"..eyJ..").jwt);
        assert!(Triggers::of(b"github_pat_").key);
        assert!(Triggers::of(b"1234567890123").card && !Triggers::of(b"123456789012").card);
        assert_eq!(Triggers::of(b"nothing to see here"), Triggers::default());
    }

    #[test]
    fn a_time_text_is_never_scrubbed_unless_a_name_has_a_digit() {
        use crate::time::Ts;
        let plain = cfg();
        let digit = MaskConfig::new(&[], &["2024-05-01T12".into()], false);
        let header = MaskConfig::new(&["2024-05-01t12".into()], &[], false);
        for (secs, nanos, digits) in [
            (1_714_564_800, 123_456_789, 9),
            (1_714_564_800, 123_456_000, 6),
            (0, 0, 0),
            (crate::time::FIRST_PLAIN, 0, 3),
            (crate::time::END_PLAIN - 1, 999_999_999, 9),
            (-1, 5, 9),
        ] {
            let ts = Ts::new(secs, nanos, digits);
            let text = ts.to_string();
            for c in [&plain, &digit, &header] {
                let mut n = 0;
                let scrubbed = scrub_bytes(text.as_bytes(), c, &mut n).is_some();
                assert!(!(time_unmasked(ts, c) && scrubbed), "{text}");
            }
            assert!(time_unmasked(ts, &plain), "{text}");
            assert!(!time_unmasked(ts, &digit));
        }
        let ts = Ts::new(1_714_564_800, 0, 0);
        let mut n = 0;
        assert!(scrub_bytes(b"2024-05-01T12:00:00Z", &digit, &mut n).is_some());
        assert!(scrub_bytes(b"2024-05-01T12:00:00Z", &header, &mut n).is_some());
        assert!(!time_unmasked(ts, &header));
        assert!(!time_unmasked(
            Ts::new(crate::time::END_PLAIN, 0, 0),
            &plain
        ));
        assert!(!time_unmasked(
            Ts::new(crate::time::FIRST_PLAIN - 1, 0, 0),
            &plain
        ));
    }

    #[test]
    fn luhn_checks() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"5500005555555559"));
        assert!(!luhn(b"4111111111111112"));
    }

    #[test]
    fn records_are_masked_everywhere() {
        let body = B64.encode(br#"{"user":"bob","password":"hunter2","card":"4111111111111111"}"#);
        let form = B64.encode(b"user=bob&passwd=s3cret&cc=4111111111111111");
        let mut rec = json!({
            "type": "http",
            "request": {
                "uri": "/a?token=abc123",
                "headers": [["Authorization", "Basic dXNlcjpwYXNz"], ["Cookie", "sid=1; a=2"], ["Host", "app"]],
                "body_b64": body,
            },
            "response": {"headers": [["Set-Cookie", "sid=xyz; Path=/; HttpOnly"]], "body_b64": form},
            "hits": [{"class": "sqli", "point": "header.Authorization", "payload": "Bearer zzz", "rule": "r"}],
        });
        let n = mask_value(&mut rec, &cfg());
        assert!(n >= 7, "{n}");
        let text = rec.to_string();
        for secret in ["abc123", "dXNlcjpwYXNz", "sid=1", "xyz", "zzz"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(rec["request"]["headers"][0][1], "Basic [masked]");
        assert_eq!(
            rec["response"]["headers"][0][1],
            "sid=[masked]; Path=/; HttpOnly"
        );
        let body = B64
            .decode(rec["request"]["body_b64"].as_str().unwrap())
            .unwrap();
        let body = String::from_utf8(body).unwrap();
        assert!(
            !body.contains("hunter2") && !body.contains("4111"),
            "{body}"
        );
        assert!(body.contains("bob"));
        let form = B64
            .decode(rec["response"]["body_b64"].as_str().unwrap())
            .unwrap();
        assert_eq!(form, b"user=bob&passwd=[masked]&cc=[masked]");
    }

    #[test]
    fn drop_bodies_empties_b64_fields() {
        let mut rec = json!({"request": {"body_b64": "aGVsbG8="}});
        mask_value(&mut rec, &MaskConfig::new(&[], &[], true));
        assert_eq!(rec["request"]["body_b64"], "");
    }

    #[test]
    fn binary_bytes_survive_outside_masks() {
        let mut data = vec![0xff, 0xfe, 0x00];
        data.extend_from_slice(b"\r\nCookie: a=b\r\n");
        data.push(0xc3);
        let mut n = 0;
        let out = scrub_bytes(&data, &cfg(), &mut n).unwrap();
        assert_eq!(&out[..3], &[0xff, 0xfe, 0x00]);
        assert_eq!(out.last(), Some(&0xc3));
        assert!(memchr::memmem::find(&out, b"a=[masked]").is_some());
    }

    /// Pieces that make every scanner fire, for texts made of them.
    const PIECES: &[&str] = &[
        "Bearer ",
        "basic ",
        "BASIC",
        "eyJ",
        "eyJhbGciOiJIUzI1NiJ9",
        ".",
        "sk_live_",
        "ghp_",
        "AKIA",
        "xoxb-",
        "AIza",
        "glpat-",
        "4111",
        " ",
        "-",
        "1111",
        "0123456789",
        ":",
        "=",
        "\"",
        "password",
        "Cookie",
        "token",
        "\r\n",
        "\n",
        "&",
        ";",
        "abcdefghijklmnop",
        "é",
        "%",
        "{",
        "}",
    ];

    proptest::proptest! {
        #[test]
        fn triggered_scanners_agree_with_every_scanner(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..24),
        ) {
            let text = pieces.concat();
            let mut n = 0;
            let fast = scrub_bytes(text.as_bytes(), &cfg(), &mut n);
            proptest::prop_assert_eq!((fast, n), scrub_every_way(text.as_bytes()), "{}", text);
        }

        #[test]
        fn random_input_never_panics_and_seeded_secrets_are_masked(
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            text in "[ -~\r\n]{0,200}",
        ) {
            let mut n = 0;
            let fast = scrub_bytes(&data, &cfg(), &mut n);
            proptest::prop_assert_eq!((fast, n), scrub_every_way(&data));
            let mut n = 0;
            let fast = scrub_bytes(text.as_bytes(), &cfg(), &mut n);
            proptest::prop_assert_eq!((fast, n), scrub_every_way(text.as_bytes()));
            // Seeded with secrets: the result never contains them.
            let seeded = format!("{text}&password=zzsecretzz\nCookie: a=zzcookiezz {text}");
            let out = scrub_bytes(seeded.as_bytes(), &cfg(), &mut n).unwrap();
            let out = String::from_utf8(out).unwrap();
            proptest::prop_assert!(!out.contains("zzsecretzz") && !out.contains("zzcookiezz"), "{}", out);
            let mut v = serde_json::json!({"type": "http", "x_b64": B64.encode(&data), "s": text});
            mask_value(&mut v, &cfg());
        }
    }
}
