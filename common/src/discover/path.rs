//! Path templates: which segments of a concrete path are parameters, why, and
//! what they are called.
//!
//! A segment becomes a parameter when it looks like an identifier (an
//! integer, a UUID, a hex id or hash, a Mongo ObjectId, a date, an e-mail, a
//! token), when a user override says so, or when so many different literal
//! siblings were seen at its position that they must be values, not routes
//! ([`SiblingTree`]). Words an API is built from (`api`, `v2`, `static`,
//! `en-US`) always stay literal. Each parameter keeps its reason, so the
//! inventory says why it templated what it did.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::values;

/// Why a segment is a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SegKind {
    Integer,
    Uuid,
    ObjectId,
    Hash,
    Hex,
    Date,
    Email,
    Token,
    /// Too many different literal siblings at this position.
    Siblings,
    /// A user override template.
    Override,
}

impl SegKind {
    /// The reason recorded in the inventory.
    pub fn reason(self) -> &'static str {
        match self {
            SegKind::Integer => "integer",
            SegKind::Uuid => "uuid",
            SegKind::ObjectId => "objectid",
            SegKind::Hash => "hash",
            SegKind::Hex => "hex",
            SegKind::Date => "date",
            SegKind::Email => "email",
            SegKind::Token => "token",
            SegKind::Siblings => "siblings",
            SegKind::Override => "override",
        }
    }
}

/// One segment of a template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Lit(String),
    /// A parameter, with the name an override gave it.
    Param(SegKind, Option<String>),
}

/// `make_ascii_lowercase` of eight bytes at once: a byte of 'A'..='Z' gets
/// its 0x20 bit, found per byte without carries (its low seven bits plus
/// a constant stay below 0x100), the others are left as they are (tests:
/// `lower8_is_make_ascii_lowercase`).
fn lower8(b: [u8; 8]) -> [u8; 8] {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let x = u64::from_le_bytes(b);
    let h = x & LOW7;
    // High bit set where the low seven bits are at least 'A', and at least
    // one past 'Z'.
    let from_a = h + 0x3f3f_3f3f_3f3f_3f3f;
    let past_z = h + 0x2525_2525_2525_2525;
    let upper = from_a & !past_z & !x & HIGH;
    (x | (upper >> 2)).to_le_bytes()
}

/// Words that are routes, never values: they stay literal and are never
/// collapsed with their siblings.
pub fn always_literal(seg: &str) -> bool {
    // The words, compared ASCII-case-insensitively: the segment lower-cased
    // on the stack (every word is ASCII and at most 8 bytes), then one match.
    if seg.len() <= 8 {
        let mut buf = [0u8; 8];
        if let Some(to) = buf.get_mut(..seg.len()) {
            to.copy_from_slice(seg.as_bytes());
        }
        let buf = lower8(buf);
        let low = buf.get(..seg.len()).unwrap_or_default();
        if matches!(
            low,
            b"api"
                | b"apis"
                | b"rest"
                | b"graphql"
                | b"rpc"
                | b"static"
                | b"assets"
                | b"public"
                | b"private"
                | b"admin"
                | b"auth"
                | b"oauth"
                | b"oauth2"
                | b"login"
                | b"logout"
                | b"me"
                | b"self"
                | b"health"
                | b"healthz"
                | b"status"
                | b"metrics"
                | b"search"
                | b"internal"
                | b"external"
                | b"latest"
                | b"current"
                | b"new"
                | b"edit"
        ) {
            return true;
        }
    }
    // Versions: v1, v2, v1.2, V3.
    if let Some(rest) = seg.strip_prefix(['v', 'V']) {
        if !rest.is_empty()
            && rest.bytes().next().is_some_and(|b| b.is_ascii_digit())
            && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            return true;
        }
    }
    // Locales: en, en-US, pt_BR, zh-Hant.
    let b = seg.as_bytes();
    let lang = |p: &[u8]| p.len() == 2 && p.iter().all(u8::is_ascii_lowercase);
    match b.len() {
        5 => {
            lang(&b[..2])
                && matches!(b[2], b'-' | b'_')
                && b[3..].iter().all(u8::is_ascii_uppercase)
        }
        7 => {
            lang(&b[..2])
                && b[2] == b'-'
                && b[3].is_ascii_uppercase()
                && b[4..].iter().all(u8::is_ascii_lowercase)
        }
        _ => false,
    }
}

/// What a single decoded segment is, by its shape alone (`None`: a literal).
pub fn classify(seg: &str) -> Option<SegKind> {
    let b = seg.as_bytes();
    // Every kind below needs a digit, an `@` or 24 characters at least
    // (all-letter hex ids and UUIDs): a short word is none of them.
    if b.len() < 24 && !b.iter().any(|c| c.is_ascii_digit() || *c == b'@') {
        return None;
    }
    classify_every_kind(seg)
}

/// [`classify`] without its shortcut.
fn classify_every_kind(seg: &str) -> Option<SegKind> {
    let b = seg.as_bytes();
    if seg.is_empty() || always_literal(seg) {
        return None;
    }
    if b.len() <= 20 && b.iter().all(u8::is_ascii_digit) {
        return Some(SegKind::Integer);
    }
    if values::is_uuid(seg) {
        return Some(SegKind::Uuid);
    }
    let hex = b.iter().all(u8::is_ascii_hexdigit);
    if hex && b.len() == 24 {
        return Some(SegKind::ObjectId);
    }
    if hex && matches!(b.len(), 32 | 40 | 56 | 64 | 96 | 128) {
        return Some(SegKind::Hash);
    }
    if hex && b.len() >= 8 && b.iter().any(u8::is_ascii_digit) {
        return Some(SegKind::Hex);
    }
    if values::is_date(seg) || values::is_date_time(seg) {
        return Some(SegKind::Date);
    }
    if values::is_email(seg) {
        return Some(SegKind::Email);
    }
    if is_token(seg) {
        return Some(SegKind::Token);
    }
    None
}

/// A random-looking identifier: long, URL-safe characters, letters and at
/// least two digits, and no word-like part (`2024-annual-report` is a slug).
fn is_token(seg: &str) -> bool {
    let b = seg.as_bytes();
    if b.len() < 16 || b.len() > 512 {
        return false;
    }
    if !b
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || b"-_.~=+".contains(c))
    {
        return false;
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let wordy = seg
        .split(['-', '_', '.', '~'])
        .any(|p| p.len() >= 5 && p.bytes().all(|c| c.is_ascii_alphabetic()));
    digits >= 2 && letters >= 2 && !wordy
}

/// Percent-decodes a URL component (`+` as a space when `plus` is set).
pub fn percent_decode(s: &str, plus: bool) -> Cow<'_, str> {
    if !needs_decoding(s, plus) {
        return Cow::Borrowed(s);
    }
    let mut out = Vec::with_capacity(s.len());
    decode_into(s.as_bytes(), plus, &mut out);
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// [`percent_decode`] into a buffer kept by the caller: no allocation once
/// the buffer has grown.
pub fn percent_decode_in<'a>(s: &'a str, plus: bool, buf: &'a mut Vec<u8>) -> Cow<'a, str> {
    if !needs_decoding(s, plus) {
        return Cow::Borrowed(s);
    }
    buf.clear();
    decode_into(s.as_bytes(), plus, buf);
    String::from_utf8_lossy(buf)
}

fn needs_decoding(s: &str, plus: bool) -> bool {
    s.bytes().any(|b| b == b'%' || (plus && b == b'+'))
}

fn decode_into(b: &[u8], plus: bool, out: &mut Vec<u8>) {
    let hex = |x: u8| (x as char).to_digit(16);
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => match (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(c),
            },
            b'+' if plus => out.push(b' '),
            _ => out.push(c),
        }
        i += 1;
    }
}

/// The path of a request target without query or fragment; an absolute-form
/// target (`http://host/path`) gives its path. `None` for `*` and authority
/// targets.
pub fn split_target(uri: &str) -> Option<(&str, &str)> {
    let mut path = uri;
    if let Some(rest) = uri
        .strip_prefix("http://")
        .or_else(|| uri.strip_prefix("https://"))
    {
        path = rest.find('/').map_or("/", |i| &rest[i..]);
    }
    if !path.starts_with('/') {
        return None;
    }
    // Byte scans: `#` and `?` are ASCII, so they sit on char boundaries.
    // One scan for the first of them; the query (if `?` came first) is
    // scanned again for its `#` only.
    let bytes = path.as_bytes();
    Some(match memchr::memchr2(b'?', b'#', bytes) {
        Some(q) if bytes.get(q) == Some(&b'?') => {
            let query = path.get(q + 1..).unwrap_or("");
            let end = memchr::memchr(b'#', query.as_bytes()).unwrap_or(query.len());
            (
                path.get(..q).unwrap_or(path),
                query.get(..end).unwrap_or(query),
            )
        }
        Some(h) => (path.get(..h).unwrap_or(path), ""),
        None => (path, ""),
    })
}

/// `s.split(sep)` for an ASCII `sep`, by a plain byte loop: the pieces
/// (path segments, query pairs, cookies) are short, and `str::split` sets a
/// searcher up for each one. ASCII bytes sit on char boundaries.
pub fn split_ascii(s: &str, sep: u8) -> SplitAscii<'_> {
    debug_assert!(sep.is_ascii());
    SplitAscii { rest: Some(s), sep }
}

/// The iterator of [`split_ascii`].
#[derive(Debug, Clone)]
pub struct SplitAscii<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for SplitAscii<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match rest.bytes().position(|b| b == self.sep) {
            Some(i) => {
                self.rest = rest.get(i + 1..);
                Some(rest.get(..i).unwrap_or(rest))
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// `s.split_once(sep)` for an ASCII `sep`, by a plain byte loop.
pub fn split_once_ascii(s: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    let i = s.bytes().position(|b| b == sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// A user override: a template that wins over classification, for one host
/// (or all) and one method (or all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub host: Option<String>,
    pub method: Option<String>,
    pub segs: Vec<OverrideSeg>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideSeg {
    Lit(String),
    Param(String),
}

/// Parses an overrides file: a JSON or YAML list whose items are templates
/// (`"/users/{userId}"`) or objects `{"path": "...", "host": "...", "method": "..."}`.
pub fn parse_overrides(text: &str) -> Result<Vec<Override>, String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        Path(String),
        Full {
            path: String,
            #[serde(default)]
            host: Option<String>,
            #[serde(default)]
            method: Option<String>,
        },
    }
    let items: Vec<Item> = match serde_json::from_str(text) {
        Ok(items) => items,
        Err(_) => serde_yaml_ng::from_str(text)
            .map_err(|e| format!("not a JSON or YAML list of templates: {e}"))?,
    };
    items
        .into_iter()
        .map(|item| {
            let (path, host, method) = match item {
                Item::Path(p) => (p, None, None),
                Item::Full { path, host, method } => (path, host, method),
            };
            let segs = parse_template(&path)?;
            Ok(Override {
                host: host.map(|h| h.to_ascii_lowercase()),
                method: method.map(|m| m.to_ascii_uppercase()),
                segs,
            })
        })
        .collect()
}

/// Splits `/users/{userId}/files` into literal and parameter segments.
pub fn parse_template(path: &str) -> Result<Vec<OverrideSeg>, String> {
    if !path.starts_with('/') {
        return Err(format!("template {path:?} does not start with '/'"));
    }
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if !name.is_empty() && !name.contains(['{', '}']) => {
                    Ok(OverrideSeg::Param(name.to_string()))
                }
                Some(_) => Err(format!("template {path:?}: empty or nested parameter")),
                None if s.contains(['{', '}']) => Err(format!(
                    "template {path:?}: a parameter must be a whole segment"
                )),
                None => Ok(OverrideSeg::Lit(s.to_string())),
            },
        )
        .collect()
}

/// The override that matches a path best (most literal segments; the first
/// in the file on a tie).
pub fn match_override<'o>(
    overrides: &'o [Override],
    host: &str,
    method: &str,
    raw: &[&str],
) -> Option<&'o Override> {
    let mut best: Option<(&Override, usize)> = None;
    for o in overrides {
        if o.segs.len() != raw.len()
            || o.host.as_deref().is_some_and(|h| h != host)
            || o.method.as_deref().is_some_and(|m| m != method)
        {
            continue;
        }
        let fits = o.segs.iter().zip(raw).all(|(t, s)| match t {
            OverrideSeg::Lit(l) => l == s,
            OverrideSeg::Param(_) => true,
        });
        if fits {
            let lits = o
                .segs
                .iter()
                .filter(|s| matches!(s, OverrideSeg::Lit(_)))
                .count();
            let better = match best {
                None => true,
                Some((_, n)) => lits > n,
            };
            if better {
                best = Some((o, lits));
            }
        }
    }
    best.map(|(o, _)| o)
}

/// Distinct literal children seen under each template prefix of a host, to
/// collapse a position whose siblings vary too much.
#[derive(Debug, Default)]
pub struct SiblingTree {
    /// Host, then prefix (two levels so both look up by `&str`).
    nodes: BTreeMap<String, BTreeMap<String, Node>>,
    len: usize,
    threshold: usize,
    max_values: usize,
    max_nodes: usize,
    /// Prefixes not tracked because the tree was full.
    pub nodes_dropped: u64,
}

#[derive(Debug, Default)]
struct Node {
    values: BTreeSet<String>,
    collapsed: bool,
}

impl SiblingTree {
    /// `threshold`: a position with more distinct literal values than this
    /// collapses. At most `max_nodes` prefixes are tracked.
    pub fn new(threshold: usize, max_nodes: usize) -> SiblingTree {
        SiblingTree {
            nodes: BTreeMap::new(),
            len: 0,
            threshold,
            max_values: threshold.saturating_add(1),
            max_nodes,
            nodes_dropped: 0,
        }
    }

    /// Records literal `value` under `prefix`; true when the position is collapsed.
    /// Allocates only for a prefix or value not seen before.
    pub fn observe(&mut self, host: &str, prefix: &str, value: &str) -> bool {
        if self.threshold == 0 {
            return false;
        }
        let node = match self.nodes.get_mut(host).and_then(|h| h.get_mut(prefix)) {
            Some(n) => n,
            None if self.len < self.max_nodes => {
                self.len += 1;
                self.nodes
                    .entry(host.to_string())
                    .or_default()
                    .entry(prefix.to_string())
                    .or_default()
            }
            None => {
                self.nodes_dropped += 1;
                return false;
            }
        };
        if node.collapsed {
            return true;
        }
        if node.values.len() < self.max_values && !node.values.contains(value) {
            node.values.insert(value.to_string());
        }
        if node.values.len() > self.threshold {
            node.collapsed = true;
            // Only the decision is needed from now on.
            node.values = BTreeSet::new();
        }
        node.collapsed
    }

    pub fn is_collapsed(&self, host: &str, prefix: &str) -> bool {
        self.nodes
            .get(host)
            .and_then(|h| h.get(prefix))
            .is_some_and(|n| n.collapsed)
    }
}

/// Appends one template segment to a prefix string (`/api` + `{}`), as the tree keys positions.
pub fn push_prefix(prefix: &mut String, seg: &Seg) {
    prefix.push('/');
    match seg {
        Seg::Lit(l) => prefix.push_str(l),
        Seg::Param(..) => prefix.push_str("{}"),
    }
}

/// English singular of a resource name: `users` → `user`, `categories` → `category`.
pub fn singular(word: &str) -> String {
    let w = word;
    let lower = w.to_ascii_lowercase();
    const SAME: &[&str] = &[
        "news", "series", "species", "data", "status", "metadata", "info", "media", "analysis",
        "address",
    ];
    if SAME.contains(&lower.as_str())
        || lower.ends_with("ss")
        || lower.ends_with("us")
        || lower.ends_with("is")
    {
        return w.to_string();
    }
    match lower.as_str() {
        "people" => return "person".into(),
        "children" => return "child".into(),
        "men" => return "man".into(),
        "women" => return "woman".into(),
        _ => {}
    }
    let cut = |n: usize| w[..w.len() - n].to_string();
    if lower.ends_with("ies") && w.len() > 4 {
        format!("{}y", cut(3))
    } else if ["sses", "xes", "ches", "shes", "zzes"]
        .iter()
        .any(|s| lower.ends_with(s))
        || lower.ends_with("statuses")
        || lower.ends_with("addresses")
    {
        cut(2)
    } else if lower.ends_with('s') && w.len() > 2 {
        cut(1)
    } else {
        w.to_string()
    }
}

/// camelCase of a literal segment (`user-groups` → `userGroups`); `None`
/// when it is not a name (`v1`, `api`, symbols).
fn camel(seg: &str) -> Option<String> {
    if always_literal(seg) || seg.len() > 64 {
        return None;
    }
    let parts: Vec<&str> = seg
        .split(['-', '_', '.'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty()
        || !parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return None;
    }
    if !parts[0]
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
    {
        return None;
    }
    let mut out = String::new();
    let n = parts.len();
    for (i, p) in parts.iter().enumerate() {
        let p = if i + 1 == n {
            singular(p)
        } else {
            p.to_string()
        };
        let mut chars = p.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                out.push(first.to_ascii_lowercase());
            } else {
                out.push(first.to_ascii_uppercase());
            }
            out.extend(chars);
        }
    }
    Some(out)
}

/// The names of a template's parameters, in order: an override's own name,
/// else the preceding literal singularised + `Id` (`/users/{userId}`), `email`
/// or `date` for those kinds, `id` when nothing precedes; repeated names get
/// a number (`id2`).
pub fn param_names(segs: &[Seg]) -> Vec<(usize, String, SegKind)> {
    let mut out: Vec<(usize, String, SegKind)> = vec![];
    for (i, seg) in segs.iter().enumerate() {
        let Seg::Param(kind, given) = seg else {
            continue;
        };
        let base = match (given, kind) {
            (Some(name), _) => name.clone(),
            (None, SegKind::Email) => "email".into(),
            (None, SegKind::Date) => "date".into(),
            (None, _) => match i.checked_sub(1).and_then(|p| segs.get(p)) {
                Some(Seg::Lit(prev)) => {
                    camel(prev).map_or_else(|| "id".into(), |c| format!("{c}Id"))
                }
                _ => "id".into(),
            },
        };
        let mut name = base.clone();
        let mut n = 2;
        while out.iter().any(|(_, existing, _)| *existing == name) {
            name = format!("{base}{n}");
            n += 1;
        }
        out.push((i, name, *kind));
    }
    out
}

/// The OpenAPI path of a template: `/api/v1/users/{userId}`.
pub fn render(segs: &[Seg]) -> String {
    if segs.is_empty() {
        return "/".into();
    }
    let names = param_names(segs);
    let mut out = String::new();
    for (i, seg) in segs.iter().enumerate() {
        out.push('/');
        match seg {
            Seg::Lit(l) => out.push_str(l),
            Seg::Param(..) => {
                let name = names
                    .iter()
                    .find(|(j, ..)| *j == i)
                    .map_or("id", |(_, n, _)| n.as_str());
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_classification() {
        use SegKind::*;
        let cases: &[(&str, Option<SegKind>)] = &[
            ("107", Some(Integer)),
            ("0", Some(Integer)),
            ("6f1c7c2e-8f4b-4c1a-9d2e-3b4a5c6d7e8f", Some(Uuid)),
            ("507f1f77bcf86cd799439011", Some(ObjectId)),
            ("d41d8cd98f00b204e9800998ecf8427e", Some(Hash)),
            ("da39a3ee5e6b4b0d3255bfef95601890afd80709", Some(Hash)),
            ("deadbeef42", Some(Hex)),
            ("2024-05-01", Some(Date)),
            ("2024-05-01T12:00:00Z", Some(Date)),
            ("bob@example.com", Some(Email)),
            ("dGhpcyBpcyBhIHRva2Vu1234", Some(Token)),
            ("a1b2c3d4e5f6g7h8i9j0", Some(Token)),
            // Words and shapes that stay literal.
            ("api", None),
            ("v2", None),
            ("v1.2", None),
            ("static", None),
            ("en-US", None),
            ("pt_BR", None),
            ("zh-Hant", None),
            ("users", None),
            ("getUserById", None),
            ("index.html", None),
            ("SKU-110", None),
            ("2024-annual-report", None),
            ("deadbeef", None),
            ("cafe", None),
            ("user_profile_settings", None),
            ("..", None),
            ("", None),
        ];
        for (seg, want) in cases {
            assert_eq!(classify(seg), *want, "{seg}");
        }
    }

    /// [`split_target`] as it was: two byte scans, `#` first.
    fn split_target_two_scans(uri: &str) -> Option<(&str, &str)> {
        let mut path = uri;
        if let Some(rest) = uri
            .strip_prefix("http://")
            .or_else(|| uri.strip_prefix("https://"))
        {
            path = rest.find('/').map_or("/", |i| &rest[i..]);
        }
        if !path.starts_with('/') {
            return None;
        }
        let path = path.split('#').next().unwrap_or(path);
        Some(path.split_once('?').unwrap_or((path, "")))
    }

    #[test]
    fn split_target_table() {
        for uri in [
            "/",
            "/a",
            "/a?b",
            "/a#b",
            "/a?b#c",
            "/a#b?c",
            "/a?b?c#d#e",
            "/?",
            "/#",
            "/?#",
            "/#?",
            "http://h/x?y#z",
            "https://h",
            "http://h?q",
            "*",
            "",
            "h/x",
            "/é?ü#ß",
        ] {
            assert_eq!(split_target(uri), split_target_two_scans(uri), "{uri:?}");
        }
    }

    #[test]
    fn lower8_is_make_ascii_lowercase() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for at in 0..8 {
            for b in 0..=255u8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let mut buf = x.to_le_bytes();
                buf[at] = b;
                let mut want = buf;
                want.make_ascii_lowercase();
                assert_eq!(lower8(buf), want, "{buf:?}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn split_target_as_two_scans(uri in "(/|http://h/|https://)?[a/?#é=&]{0,24}") {
            proptest::prop_assert_eq!(split_target(&uri), split_target_two_scans(&uri));
        }

        #[test]
        fn split_ascii_as_str_split(s in "[a/&;=é ]{0,24}", sep in proptest::sample::select(vec![b'/', b'&', b';', b'=', b' '])) {
            let ours: Vec<&str> = split_ascii(&s, sep).collect();
            let std: Vec<&str> = s.split(sep as char).collect();
            proptest::prop_assert_eq!(ours, std);
            proptest::prop_assert_eq!(split_once_ascii(&s, sep), s.split_once(sep as char));
        }

        #[test]
        fn the_shortcut_classifies_as_every_check_does(seg in "[a-fA-Fgxz0-9@._~+=-]{0,40}") {
            proptest::prop_assert_eq!(classify(&seg), classify_every_kind(&seg));
        }

        #[test]
        fn words_without_digits_classify_as_every_check_does(seg in "[a-fA-Fgxz._~+=-]{0,40}") {
            proptest::prop_assert_eq!(classify(&seg), classify_every_kind(&seg));
        }
    }

    #[test]
    fn singular_and_names() {
        let cases = [
            ("users", "user"),
            ("categories", "category"),
            ("addresses", "address"),
            ("statuses", "status"),
            ("boxes", "box"),
            ("matches", "match"),
            ("people", "person"),
            ("status", "status"),
            ("news", "news"),
            ("order", "order"),
        ];
        for (w, want) in cases {
            assert_eq!(singular(w), want, "{w}");
        }
        let lit = |s: &str| Seg::Lit(s.into());
        let p = |k| Seg::Param(k, None);
        let cases: Vec<(Vec<Seg>, &str)> = vec![
            (
                vec![lit("api"), lit("v1"), lit("users"), p(SegKind::Integer)],
                "/api/v1/users/{userId}",
            ),
            (
                vec![lit("user-groups"), p(SegKind::Uuid)],
                "/user-groups/{userGroupId}",
            ),
            (vec![lit("v1"), p(SegKind::Integer)], "/v1/{id}"),
            (vec![p(SegKind::Integer), p(SegKind::Hex)], "/{id}/{id2}"),
            (
                vec![
                    lit("users"),
                    p(SegKind::Email),
                    lit("days"),
                    p(SegKind::Date),
                ],
                "/users/{email}/days/{date}",
            ),
            (
                vec![
                    lit("orders"),
                    p(SegKind::Integer),
                    lit("items"),
                    p(SegKind::Integer),
                ],
                "/orders/{orderId}/items/{itemId}",
            ),
            (
                vec![
                    lit("files"),
                    Seg::Param(SegKind::Override, Some("path".into())),
                ],
                "/files/{path}",
            ),
            (vec![], "/"),
        ];
        for (segs, want) in cases {
            assert_eq!(render(&segs), want);
        }
    }

    #[test]
    fn sibling_collapse_after_threshold() {
        let mut t = SiblingTree::new(3, 100);
        for v in ["a", "b", "c"] {
            assert!(!t.observe("h", "/files", v), "{v}");
        }
        assert!(
            !t.observe("h", "/files", "a"),
            "a repeat is not a new sibling"
        );
        assert!(
            t.observe("h", "/files", "d"),
            "the fourth distinct value collapses"
        );
        assert!(t.is_collapsed("h", "/files"));
        assert!(!t.is_collapsed("other", "/files"), "per host");
        assert!(!t.is_collapsed("h", "/"));
        // Threshold 0 disables collapsing; a full tree stops tracking and counts it.
        let mut off = SiblingTree::new(0, 100);
        assert!((0..100).all(|i| !off.observe("h", "/", &i.to_string())));
        let mut full = SiblingTree::new(3, 1);
        full.observe("h", "/a", "x");
        full.observe("h", "/b", "x");
        assert_eq!(full.nodes_dropped, 1);
    }

    #[test]
    fn overrides_parse_and_match() {
        let o = parse_overrides(r#"["/files/{path}", {"path": "/users/{login}", "host": "App.Example"}, {"path": "/users/me"}]"#).unwrap();
        assert_eq!(o.len(), 3);
        assert_eq!(o[1].host.as_deref(), Some("app.example"));
        let yaml = parse_overrides("- /files/{path}\n- path: /a/{b}\n  method: get\n").unwrap();
        assert_eq!(yaml[1].method.as_deref(), Some("GET"));
        assert!(parse_overrides("[\"nope\"]").is_err());
        assert!(parse_overrides("[\"/a/x{b}\"]").is_err());
        assert!(parse_overrides("{}").is_err());
        let m = |host, raw: &[&str]| match_override(&o, host, "GET", raw).map(|o| o.segs.clone());
        assert_eq!(
            m("app.example", &["users", "me"]),
            Some(vec![
                OverrideSeg::Lit("users".into()),
                OverrideSeg::Lit("me".into())
            ])
        );
        assert_eq!(
            m("app.example", &["users", "bob"]),
            Some(vec![
                OverrideSeg::Lit("users".into()),
                OverrideSeg::Param("login".into())
            ])
        );
        assert_eq!(m("other", &["users", "bob"]), None);
        assert!(m("other", &["files", "x"]).is_some());
        assert_eq!(m("other", &["files", "x", "y"]), None);
    }

    #[test]
    fn targets_and_decoding() {
        assert_eq!(split_target("/a/b?x=1#f"), Some(("/a/b", "x=1")));
        assert_eq!(split_target("http://h:80/a?q"), Some(("/a", "q")));
        assert_eq!(split_target("http://h"), Some(("/", "")));
        assert_eq!(split_target("*"), None);
        assert_eq!(split_target("h:443"), None);
        assert_eq!(percent_decode("a%40b.com", false), "a@b.com");
        assert_eq!(percent_decode("a+b%2", true), "a b%2");
        assert_eq!(percent_decode("%ff", false), "\u{fffd}");
        let mut buf = vec![];
        for (s, plus) in [
            ("a%40b+c", true),
            ("a+b", false),
            ("%e2%82%ac%", true),
            ("x", true),
        ] {
            assert_eq!(
                percent_decode_in(s, plus, &mut buf),
                percent_decode(s, plus),
                "{s}"
            );
        }
    }
}
