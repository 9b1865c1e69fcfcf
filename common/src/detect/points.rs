//! Splits a request into named inspection points, as the application will see it.
//!
//! Point names: `path`, `path.N` (segment N, from 0), `query.NAME` (value),
//! `query_key.NAME`, `body.form.NAME`, `body.form_key.NAME`,
//! `body.json.a.b.0.c` (leaf value), `body.json_key.a.b` (key),
//! `body.multipart.NAME`, `body.multipart.NAME.filename`, `body.xml`,
//! `body.xml.ELEM` (text), `body.xml.ELEM@ATTR`, `body.graphql`, `body.raw`,
//! `cookie.NAME`, `header.NAME` (as sent). Every list is bounded
//! ([`MAX_POINTS`], [`MAX_BODY`], JSON depth [`MAX_JSON_DEPTH`]).

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::LazyLock;

use super::decode;
use crate::discover::json::{Doc, Shape, Val};
use crate::record::HttpRequest;

/// Most points taken from one request; the rest are counted as cut.
pub const MAX_POINTS: usize = 512;
/// Most body bytes decomposed.
pub const MAX_BODY: usize = 256 * 1024;
/// Deepest JSON nesting walked.
pub const MAX_JSON_DEPTH: usize = 32;

/// What part of the request a point is: detectors choose what to look at by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The whole decoded path.
    Path,
    /// One path segment.
    Segment,
    /// A parameter name (query, form, JSON key, multipart name).
    Key,
    /// A parameter value (query, form, JSON leaf, multipart field, XML text).
    Value,
    /// A multipart file name.
    Filename,
    /// The content of an uploaded file that is not text ([`binary`]): an
    /// image, an archive, a capture. Only what processing a file runs is
    /// looked for in it (`Detector::judge_file`).
    FileData,
    /// A cookie value.
    Cookie,
    /// A header value.
    Header,
    /// A whole body of a structured type (XML) or of an unknown type.
    Body,
    /// The whole path URL-decoded with `+` as space, when it has any byte
    /// but letters, digits and `/._~-`: a payload split by `/` into
    /// segments (`/x/<svg/onload=alert()>`) is whole here. Only SQLi and XSS
    /// judge it.
    PathText,
}

/// One named piece of a request.
#[derive(Debug, Clone)]
pub struct Point<'a> {
    pub name: Cow<'a, str>,
    pub value: Cow<'a, str>,
    pub kind: Kind,
    /// Whether the value came from a URL (so `+`, `%` are URL syntax).
    pub in_url: bool,
}

/// All points of a request, and whether limits cut some.
#[derive(Debug, Default)]
pub struct Points<'a> {
    pub list: Vec<Point<'a>>,
    pub cut: bool,
}

impl<'a> Points<'a> {
    fn push(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>, kind: Kind) {
        self.add(name.into(), value.into(), kind, false);
    }

    fn add(&mut self, name: Cow<'a, str>, value: Cow<'a, str>, kind: Kind, in_url: bool) {
        if self.list.len() >= MAX_POINTS {
            self.cut = true;
            return;
        }
        self.list.push(Point {
            name,
            value,
            kind,
            in_url,
        });
    }
}

/// The first value of header `name` (case-insensitive).
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A parameter name that carries no payload and needs no point of its own:
/// letters, digits, `_` and `-`, and not a long mixed-case token (which may
/// be base64).
pub fn plain_key(k: &str) -> bool {
    let mut upper = 0;
    for b in k.bytes() {
        if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return false;
        }
        upper += usize::from(b.is_ascii_uppercase());
    }
    k.len() < 10 || upper < 2 || k.contains(['_', '-'])
}

/// Header names whose value is a file name (upload APIs).
const FILENAME_HEADERS: &[&str] = &["x-filename", "x-file-name", "x_filename", "slug"];

/// Point names of the first path segments, made once.
static SEGMENT_NAMES: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..64).map(|i| format!("path.{i}")).collect());

/// Point names of headers most requests carry, as most clients spell them
/// (any other name or spelling gets its point name built).
const COMMON_HEADERS: &[&str] = &[
    "header.Host",
    "header.User-Agent",
    "header.Accept",
    "header.Accept-Encoding",
    "header.Accept-Language",
    "header.Connection",
    "header.Content-Type",
    "header.Content-Length",
    "header.Authorization",
    "header.Referer",
    "header.Origin",
    "header.Cache-Control",
    "header.X-Forwarded-For",
    "header.X-Requested-With",
    "header.host",
    "header.user-agent",
    "header.accept",
    "header.accept-encoding",
    "header.accept-language",
    "header.content-type",
    "header.content-length",
    "header.authorization",
];

/// Splits a request into points.
pub fn decompose(req: &HttpRequest) -> Points<'_> {
    // Room for a typical request's points at once (no growth by doubling).
    decompose_into(req, Vec::with_capacity(32))
}

/// [`decompose`] into `list` (emptied first), so a caller can keep one
/// list's buffer from request to request ([`recycle`]).
pub fn decompose_into<'a>(req: &'a HttpRequest, mut list: Vec<Point<'a>>) -> Points<'a> {
    list.clear();
    let mut p = Points { list, cut: false };
    let (path, query) = uri_parts(&req.uri);
    target(&mut p, path, query);
    for (name, value) in &req.headers {
        if name.eq_ignore_ascii_case("cookie") {
            for c in value.split(';') {
                let c = c.trim();
                if c.is_empty() {
                    continue;
                }
                let (k, v) = c.split_once('=').unwrap_or((c, ""));
                p.add(
                    Cow::Owned(joined("cookie.", k)),
                    Cow::Borrowed(v),
                    Kind::Cookie,
                    true,
                );
                if !plain_key(k) {
                    p.add(
                        Cow::Owned(joined("cookie_key.", k)),
                        Cow::Borrowed(k),
                        Kind::Key,
                        true,
                    );
                }
            }
        } else {
            let point = COMMON_HEADERS
                .iter()
                .find(|h| {
                    // Length and first byte first: most entries differ there.
                    h.len() == name.len() + 7
                        && h.as_bytes().get(7) == name.as_bytes().first()
                        && h.get(7..) == Some(name.as_str())
                })
                .map_or_else(
                    || Cow::Owned(joined("header.", name)),
                    |h| Cow::Borrowed(*h),
                );
            p.push(point, value.as_str(), Kind::Header);
            if FILENAME_HEADERS
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
            {
                p.push(
                    format!("header.{name}.filename"),
                    value.as_str(),
                    Kind::Filename,
                );
            }
        }
    }
    let ctype = header(&req.headers, "content-type").unwrap_or("");
    body(&mut p, &req.body, ctype, true);
    p
}

/// The points of a request target: the path, its segments, its decoded
/// text ([`Kind::PathText`]) and the query's parameters.
fn target<'a>(p: &mut Points<'a>, path: &'a str, query: Option<&'a str>) {
    p.add("path".into(), Cow::Borrowed(path), Kind::Path, true);
    // `url_decode` changes nothing without a `%` (nor, with `plus`, a `+`),
    // and most paths are plain (letters, digits, `/._~-`, so neither):
    // one walk of the path spares a decoder call per segment, and a plain
    // path is its own text, which adds no point.
    let plain = path.bytes().all(path_plain);
    let percent = !plain && memchr::memchr(b'%', path.as_bytes()).is_some();
    for (i, seg) in path.split('/').filter(|s| !s.is_empty()).enumerate() {
        if p.list.len() >= 64 {
            break;
        }
        let seg = match percent.then(|| decode::url_decode(seg, false)).flatten() {
            Some(d) => Cow::Owned(d),
            None => Cow::Borrowed(seg),
        };
        let name = SEGMENT_NAMES.get(i).map_or_else(
            || Cow::Owned(format!("path.{i}")),
            |n| Cow::Borrowed(n.as_str()),
        );
        p.add(name, seg, Kind::Segment, true);
    }
    if !plain {
        let coded = percent || memchr::memchr(b'+', path.as_bytes()).is_some();
        let text = match coded.then(|| decode::url_decode(path, true)).flatten() {
            Some(d) => Cow::Owned(d),
            None => Cow::Borrowed(path),
        };
        if !text.bytes().all(path_plain) {
            p.add("path".into(), text, Kind::PathText, true);
        }
    }
    if let Some(q) = query {
        pairs(p, q, "query", true);
    }
}

/// The path and the query of a request target, split at the first `?`
/// (as `split_once('?')`, with one `memchr` instead of a char searcher:
/// it runs several times per request).
pub fn uri_parts(uri: &str) -> (&str, Option<&str>) {
    match memchr::memchr(b'?', uri.as_bytes()) {
        Some(at) => (
            uri.get(..at).unwrap_or(""),
            Some(uri.get(at + 1..).unwrap_or("")),
        ),
        None => (uri, None),
    }
}

/// The path of a request target: what comes before the first `?`.
pub fn uri_path(uri: &str) -> &str {
    uri_parts(uri).0
}

/// `list` emptied, as a list of any lifetime: the buffer is kept (the
/// element types have the same layout, so the collect reuses it).
pub fn recycle<'b>(mut list: Vec<Point<'_>>) -> Vec<Point<'b>> {
    list.clear();
    list.into_iter()
        .map(|p| Point {
            name: Cow::Borrowed(""),
            value: Cow::Borrowed(""),
            kind: p.kind,
            in_url: p.in_url,
        })
        .collect()
}

/// A byte of a plain path: one that gives the path no
/// [`Kind::PathText`] point.
fn path_plain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b'_' | b'~' | b'-')
}

/// `a` then `b` in one allocation (a point name).
fn joined(a: &str, b: &str) -> String {
    joined3(a, "", b)
}

/// `a`, `b` then `c` in one allocation (a point name).
fn joined3(a: &str, b: &str, c: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len() + c.len());
    s.push_str(a);
    s.push_str(b);
    s.push_str(c);
    s
}

/// `a=1&b=2` pairs (query strings and urlencoded forms).
fn pairs<'a>(p: &mut Points<'a>, s: &'a str, prefix: &str, in_url: bool) {
    for pair in s.split('&') {
        if pair.is_empty() {
            continue;
        }
        // One walk finds the `=` and whether anything is URL-encoded (most
        // pairs are not: no decoder runs, nothing is copied).
        let (mut eq, mut coded) = (None, false);
        for (i, c) in pair.bytes().enumerate() {
            match c {
                b'=' if eq.is_none() => eq = Some(i),
                b'%' | b'+' => coded = true,
                _ => {}
            }
        }
        let (k, v) = match eq {
            Some(i) => (pair.get(..i).unwrap_or(""), pair.get(i + 1..).unwrap_or("")),
            None => (pair, ""),
        };
        let decoded = |x: &'a str| -> Cow<'a, str> {
            if coded {
                decode::url_decode(x, true).map_or(Cow::Borrowed(x), Cow::Owned)
            } else {
                Cow::Borrowed(x)
            }
        };
        let (k, v) = (decoded(k), decoded(v));
        if !plain_key(&k) {
            p.add(
                Cow::Owned(joined3(prefix, "_key.", &k)),
                k.clone(),
                Kind::Key,
                in_url,
            );
        }
        p.add(Cow::Owned(joined3(prefix, ".", &k)), v, Kind::Value, in_url);
        if p.cut {
            return;
        }
    }
}

/// The points of a body of Content-Type `ctype_orig` (as sent), split by
/// its type. `outer` is whether it is the request's own body, not that of
/// a request inside a batch ([`batch_request`]): only the outer body's
/// `multipart/mixed` parts are read as batched requests, so a batch in a
/// batch is not walked again.
fn body<'a>(p: &mut Points<'a>, body: &'a [u8], ctype_orig: &str, outer: bool) {
    if body.is_empty() {
        return;
    }
    let raw = body.get(..MAX_BODY).unwrap_or(body);
    // What `from_utf8_lossy` gives, with the faster check first: most
    // bodies are valid UTF-8, which it then borrows as this does.
    let text = match std::str::from_utf8(raw) {
        Ok(t) => Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(raw),
    };
    let ctype = ctype_orig.to_ascii_lowercase();
    let trimmed = text.trim_start();
    if has(&ctype, "multipart/") {
        if let Some(b) = boundary(&ctype, ctype_orig) {
            // OData and Google API batches: `multipart/mixed` parts of
            // whole requests.
            let mut batch = (outer && has(&ctype, "multipart/mixed")).then_some(Batch {
                next: 0,
                nested: false,
            });
            multipart(p, &text, &b, batch.as_mut());
            return;
        }
    }
    if (has(&ctype, "json") || (ctype.is_empty() && trimmed.starts_with(['{', '['])))
        && json_body(p, &text)
    {
        return;
    }
    if has(&ctype, "xml") || trimmed.starts_with("<?xml") || trimmed.starts_with("<!DOCTYPE") {
        p.push("body.xml", text.clone().into_owned(), Kind::Body);
        if let Some(d) = doctype(&text) {
            p.push("body.xml.doctype", d.to_string(), Kind::Body);
        }
        xml(p, &text);
        return;
    }
    if has(&ctype, "graphql") {
        p.push("body.graphql", text.into_owned(), Kind::Value);
        return;
    }
    if has(&ctype, "x-www-form-urlencoded") {
        if let Cow::Borrowed(t) = text {
            let before = p.list.len();
            pairs(p, t, "body.form", true);
            bare_word(p, before);
            return;
        }
    }
    // Unknown type that is not text (msgpack, protobuf, an octet stream):
    // judged as an uploaded file is, for what processing a file runs
    // (random bytes spell SQL or shell fragments now and then; an
    // application reads no query or command out of them).
    if binary_body(&text, &ctype) {
        p.push(
            "body.raw",
            decode::cap(&text, decode::MAX_VALUE).to_string(),
            Kind::FileData,
        );
        return;
    }
    // Unknown type: the raw body, and its form fields when it reads as a
    // form. A form has no raw line break (an encoder writes `%0A`): a
    // vCard, a calendar entry or a mail message of `KEY;PARAM=...` lines
    // is none.
    p.push("body.raw", text.clone().into_owned(), Kind::Body);
    if let Cow::Borrowed(t) = text {
        let t = t.trim_end_matches(['\r', '\n']);
        if t.contains('=') && !t.starts_with(['{', '[', '<']) && !t.contains(['\r', '\n']) {
            pairs(p, t, "body.form", true);
        }
    }
}

/// A form body that is one plain word with no `=` (`INFORMATION_SCHEMA`)
/// made one point with an empty value at `from`: the word is what the
/// application reads, so it becomes the value judged. (A word that is not
/// plain already has its own key point.)
fn bare_word(p: &mut Points<'_>, from: usize) {
    if p.list.len() != from + 1 {
        return;
    }
    if let Some(pt) = p.list.get_mut(from) {
        let word = pt.name.strip_prefix("body.form.").unwrap_or("");
        if pt.kind == Kind::Value && pt.value.is_empty() && !word.is_empty() && plain_key(word) {
            pt.value = Cow::Owned(word.to_string());
        }
    }
}

/// Whether `hay` contains `needle` (as `str::contains` says): a plain walk,
/// for a Content-Type, where setting up a substring searcher costs more
/// than the search.
fn has(hay: &str, needle: &str) -> bool {
    hay.as_bytes()
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The multipart boundary from a Content-Type (case kept from the original).
fn boundary(lower: &str, orig: &str) -> Option<String> {
    let at = lower.find("boundary=")?;
    let b = orig.get(at + 9..)?;
    let b = b.split(';').next()?.trim().trim_matches('"');
    (!b.is_empty()).then(|| b.to_string())
}

/// Most requests taken from one batch body; the rest are counted as cut.
pub const MAX_BATCH: usize = 64;

/// Where a `multipart/mixed` batch body is in its walk.
struct Batch {
    /// The number of the next request found (`body.batch.N.`).
    next: usize,
    /// Whether the walk is inside a changeset (a `multipart/mixed` part of
    /// the batch, as OData nests them): one level is walked, no deeper.
    nested: bool,
}

/// The points of a multipart body. In a batch (`batch` given: an outer
/// `multipart/mixed` body), a part of type `application/http` is one
/// whole request, the protocol's content and no smuggled one: its target
/// and body become points under `body.batch.N.` ([`batch_request`]) and
/// its text none. A `multipart/mixed` part (an OData changeset) is walked
/// the same way, one level deep.
fn multipart(p: &mut Points<'_>, text: &str, bound: &str, mut batch: Option<&mut Batch>) {
    let delim = format!("--{bound}");
    for part in text.split(delim.as_str()).skip(1).take(128) {
        if part.starts_with("--") {
            break;
        }
        let part = part
            .strip_prefix("\r\n")
            .or(part.strip_prefix('\n'))
            .unwrap_or(part);
        let (head, content) = part
            .split_once("\r\n\r\n")
            .or_else(|| part.split_once("\n\n"))
            .unwrap_or((part, ""));
        let content = content
            .strip_suffix("\r\n")
            .or(content.strip_suffix('\n'))
            .unwrap_or(content);
        let mut name = String::new();
        let mut filename = None;
        let mut part_type = "";
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition") {
                name = disposition_param(line, "name").unwrap_or_default();
                filename = disposition_param(line, "filename");
            } else if let Some((hn, hv)) = line.split_once(':') {
                if hn.trim().eq_ignore_ascii_case("content-type") {
                    part_type = hv.trim();
                }
                p.push(
                    format!("body.multipart.{name}.header.{}", hn.trim()),
                    hv.trim().to_string(),
                    Kind::Header,
                );
            }
        }
        if let Some(b) = batch.as_deref_mut() {
            let lower = part_type.to_ascii_lowercase();
            if lower.starts_with("application/http") {
                if b.next >= MAX_BATCH {
                    p.cut = true;
                    continue;
                }
                if batch_request(p, content, b.next) {
                    b.next += 1;
                    continue;
                }
            } else if lower.starts_with("multipart/mixed") && !b.nested {
                if let Some(inner) = boundary(&lower, part_type) {
                    b.nested = true;
                    multipart(p, content, &inner, Some(&mut *b));
                    b.nested = false;
                    continue;
                }
            }
        }
        if !plain_key(&name) {
            p.push(
                format!("body.multipart_key.{name}"),
                name.clone(),
                Kind::Key,
            );
        }
        let kind = if filename.is_some() && binary(content) {
            Kind::FileData
        } else {
            Kind::Value
        };
        if let Some(f) = filename {
            p.push(format!("body.multipart.{name}.filename"), f, Kind::Filename);
        }
        p.push(
            format!("body.multipart.{name}"),
            decode::cap(content, decode::MAX_VALUE).to_string(),
            kind,
        );
    }
}

/// One request of a batch part (`GET /v1/users/1 HTTP/1.1`, header
/// lines, a blank line, a body): its target and body become points named
/// `body.batch.N.` and what [`target`] and [`body`] name them, the body
/// split by its own Content-Type. False, and no point, when `text` does
/// not open with a request line (a method, a target, and `HTTP/x` or
/// nothing: Google's batches leave the version out).
fn batch_request(p: &mut Points<'_>, text: &str, n: usize) -> bool {
    let text = text.trim_start_matches(['\r', '\n']);
    let (line, rest) = text.split_once('\n').unwrap_or((text, ""));
    let mut words = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(uri), version, None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return false;
    };
    let method_ok =
        (1..=16).contains(&method.len()) && method.bytes().all(|b| b.is_ascii_uppercase());
    if !method_ok || uri.is_empty() || version.is_some_and(|v| !v.starts_with("HTTP/")) {
        return false;
    }
    // Header lines up to the first blank line, then the body.
    let mut ctype = "";
    let mut at = 0;
    for l in rest.split_inclusive('\n') {
        at += l.len();
        let l = l.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((hn, hv)) = l.split_once(':') {
            if hn.trim().eq_ignore_ascii_case("content-type") {
                ctype = hv.trim();
            }
        }
    }
    let content = rest.get(at..).unwrap_or("").trim_end_matches(['\r', '\n']);
    // An absolute target (`https://host/v1/x`) is read for its path.
    let uri = match uri.split_once("://") {
        Some((scheme, after))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            after
                .find(['/', '?'])
                .and_then(|i| after.get(i..))
                .unwrap_or("/")
        }
        _ => uri,
    };
    let mut sub = Points {
        list: Vec::new(),
        cut: false,
    };
    let (path, query) = uri_parts(uri);
    target(&mut sub, path, query);
    body(&mut sub, content.as_bytes(), ctype, false);
    let mut prefix = String::from("body.batch.");
    push_index(&mut prefix, n);
    prefix.push('.');
    for pt in sub.list {
        p.add(
            Cow::Owned(joined(&prefix, &pt.name)),
            Cow::Owned(pt.value.into_owned()),
            pt.kind,
            pt.in_url,
        );
    }
    p.cut |= sub.cut;
    true
}

/// Whether a file's content is not text: a NUL, or more than one in eight
/// of its first 1024 characters a control character (but tab and line
/// ends) or a byte sequence that was not UTF-8 (U+FFFD after the lossy
/// reading of the body).
pub(super) fn binary(content: &str) -> bool {
    odd_share(content, true)
}

/// Content types that declare a binary body (lower-cased `ctype` holds one).
const BINARY_TYPES: [&str; 9] = [
    "octet-stream",
    "msgpack",
    "protobuf",
    "grpc",
    "cbor",
    "bson",
    "avro",
    "thrift",
    "x-binary",
];

/// Whether a request body of unknown type `ctype` (lower-cased) is not
/// text, as [`binary`] says for files, except that a NUL decides only for
/// a declared binary type: a text payload with one NUL in it, sent as
/// `text/plain` or with no type (an evasion), is still judged as text.
fn binary_body(content: &str, ctype: &str) -> bool {
    odd_share(content, BINARY_TYPES.iter().any(|t| has(ctype, t)))
}

/// Whether more than one in eight of `content`'s first 1024 characters is
/// a control character (but tab and line ends) or U+FFFD; with
/// `nul_decides`, any NUL among them makes it so at once.
fn odd_share(content: &str, nul_decides: bool) -> bool {
    let (mut n, mut odd) = (0usize, 0usize);
    for c in content.chars().take(1024) {
        if nul_decides && c == '\0' {
            return true;
        }
        n += 1;
        odd += usize::from(
            c == char::REPLACEMENT_CHARACTER || c.is_control() && !matches!(c, '\t' | '\n' | '\r'),
        );
    }
    odd * 8 > n
}

/// `name="x"` (or unquoted) from a Content-Disposition line.
fn disposition_param(line: &str, key: &str) -> Option<String> {
    for piece in line.split(';').skip(1) {
        let (k, v) = piece.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(key) {
            return Some(v.trim().trim_matches('"').to_string());
        }
    }
    None
}

thread_local! {
    /// The JSON document of the body being decomposed, its buffers kept
    /// between bodies (a warm document parses without allocating).
    static DOC: RefCell<Doc> = RefCell::new(Doc::default());
}

/// The points of a JSON body, false (and none) when it is not one JSON
/// value. The document is read by the inventory's parser, which accepts
/// exactly what `serde_json::Value` does and gives object members as
/// `Value`'s map does: sorted by key, the last of duplicate keys winning.
fn json_body(p: &mut Points<'_>, text: &str) -> bool {
    DOC.with(|cell| match cell.try_borrow_mut() {
        Ok(mut doc) => json_doc(p, &mut doc, text),
        Err(_) => json_doc(p, &mut Doc::default(), text),
    })
}

fn json_doc(p: &mut Points<'_>, doc: &mut Doc, text: &str) -> bool {
    if !doc.parse(text.as_bytes()) {
        return false;
    }
    if let Some(root) = doc.root() {
        // Room for a few levels of names: no growth on the first pushes.
        let mut path = String::with_capacity(64);
        path.push_str("body.json");
        json(p, root, &mut path, 0);
    }
    true
}

/// Points of a JSON document: keys that may carry a payload, and string leaves.
fn json(p: &mut Points<'_>, v: Val<'_>, path: &mut String, depth: usize) {
    if depth > MAX_JSON_DEPTH || p.cut {
        p.cut |= depth > MAX_JSON_DEPTH;
        return;
    }
    match v.shape() {
        Shape::Object(members) => {
            for (k, child) in members {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                let plain =
                    plain_key(k) && !k.starts_with("__") && k != "constructor" && k != "prototype";
                if !plain {
                    let key_point = path.replacen("body.json", "body.json_key", 1);
                    p.push(key_point, k.to_string(), Kind::Key);
                }
                json(p, child, path, depth + 1);
                path.truncate(len);
            }
        }
        Shape::Array(items) => {
            for (i, child) in items.enumerate().take(256) {
                let len = path.len();
                path.push('.');
                push_index(path, i);
                json(p, child, path, depth + 1);
                path.truncate(len);
            }
        }
        Shape::Str(s) => p.push(path.clone(), s.to_string(), Kind::Value),
        // Numbers, booleans and null carry no payload.
        _ => {}
    }
}

/// Appends the decimal digits of `i` (no formatting machinery).
fn push_index(path: &mut String, i: usize) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = i;
    loop {
        at -= 1;
        if let Some(b) = buf.get_mut(at) {
            *b = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    path.push_str(std::str::from_utf8(buf.get(at..).unwrap_or(&[])).unwrap_or(""));
}

/// The DOCTYPE declaration of an XML document with its internal subset
/// (`<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>`), where XXE lives.
fn doctype(text: &str) -> Option<&str> {
    let head = decode::cap(text, 64 * 1024);
    let at = head
        .as_bytes()
        .windows(9)
        .position(|w| w.eq_ignore_ascii_case(b"<!doctype"))?;
    let rest = head.get(at..)?;
    let gt = rest.find('>').unwrap_or(rest.len());
    let end = match rest.find('[') {
        Some(open) if open < gt => rest.find("]>").map_or(rest.len(), |e| e + 2),
        _ => (gt + 1).min(rest.len()),
    };
    rest.get(..end)
}

/// Text nodes and attribute values of an XML body (a tolerant scanner, not a parser).
fn xml(p: &mut Points<'_>, text: &str) {
    let mut rest = text;
    let mut elem = String::new();
    let mut n = 0;
    while let Some(lt) = rest.find('<') {
        n += 1;
        if n > 1024 || p.cut {
            return;
        }
        let body = rest.get(..lt).unwrap_or("").trim();
        if !body.is_empty() && !elem.is_empty() {
            p.push(format!("body.xml.{elem}"), body.to_string(), Kind::Value);
        }
        let after = rest.get(lt + 1..).unwrap_or("");
        let gt = after.find('>').unwrap_or(after.len());
        let tag = after.get(..gt).unwrap_or("");
        rest = after.get(gt + 1..).unwrap_or("");
        if tag.starts_with(['/', '?', '!']) {
            continue;
        }
        let name_end = tag
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(tag.len());
        elem = tag.get(..name_end).unwrap_or("").to_string();
        let mut attrs = tag.get(name_end..).unwrap_or("");
        while let Some(eq) = attrs.find('=') {
            let an = attrs.get(..eq).unwrap_or("").trim();
            let v = attrs.get(eq + 1..).unwrap_or("").trim_start();
            let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                break;
            };
            let inner = v.get(1..).unwrap_or("");
            let end = inner.find(q).unwrap_or(inner.len());
            p.push(
                format!("body.xml.{elem}@{an}"),
                inner.get(..end).unwrap_or("").to_string(),
                Kind::Value,
            );
            attrs = inner.get(end + 1..).unwrap_or("");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parts_is_split_once() {
        for uri in ["", "?", "/", "/a?b", "/a?b?c", "?x", "/é?é", "/a??", "a"] {
            assert_eq!(
                uri_parts(uri),
                match uri.split_once('?') {
                    Some((a, b)) => (a, Some(b)),
                    None => (uri, None),
                }
            );
            assert_eq!(uri_path(uri), uri.split('?').next().unwrap_or(""));
        }
    }

    /// `decompose` calls `url_decode` only on text with a `%` (or, with
    /// `plus`, a `+`): on any other text it changes nothing.
    #[test]
    fn url_decode_needs_percent_or_plus() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = ['a', '/', '.', '\0', 'é', ' ', '%', '+', 'u', '2', 'F', ';'];
        for _ in 0..20_000 {
            let mut s = String::new();
            for _ in 0..x % 12 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            if !s.contains('%') {
                assert_eq!(decode::url_decode(&s, false), None, "{s:?}");
                if !s.contains('+') {
                    assert_eq!(decode::url_decode(&s, true), None, "{s:?}");
                }
            }
        }
    }

    #[test]
    fn has_is_contains() {
        for hay in [
            "",
            "json",
            "application/json",
            "application/jso",
            "multipart/form-data; boundary=x",
            "multipart",
            "application/x-www-form-urlencoded",
            "application/graphql",
            "text/xml; charset=é",
        ] {
            for needle in [
                "multipart/",
                "json",
                "xml",
                "graphql",
                "x-www-form-urlencoded",
            ] {
                assert_eq!(has(hay, needle), hay.contains(needle), "{hay:?} {needle:?}");
            }
        }
    }

    fn req(uri: &str, headers: &[(&str, &str)], body: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            uri: uri.into(),
            version: "HTTP/1.1".into(),
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body_len: body.len() as u64,
            body: body.as_bytes().to_vec(),
            truncated: false,
            trailers: vec![],
        }
    }

    fn names(r: &HttpRequest) -> Vec<(String, String)> {
        decompose(r)
            .list
            .into_iter()
            .map(|p| (p.name.into_owned(), p.value.into_owned()))
            .collect()
    }

    /// The path's points (segments and the whole text) are what decoding
    /// every segment and the whole path always made, on paths plain and
    /// coded, random ones included.
    #[test]
    fn path_points_as_decoding_everything_made_them() {
        fn oracle(path: &str) -> Vec<(String, String)> {
            let mut out = vec![("path".to_string(), path.to_string())];
            for (i, seg) in path
                .split('/')
                .filter(|s| !s.is_empty())
                .take(63)
                .enumerate()
            {
                let seg = decode::url_decode(seg, false).unwrap_or_else(|| seg.to_string());
                out.push((format!("path.{i}"), seg));
            }
            let text = decode::url_decode(path, true).unwrap_or_else(|| path.to_string());
            if text.bytes().any(|c| {
                !(c.is_ascii_alphanumeric() || matches!(c, b'/' | b'.' | b'_' | b'~' | b'-'))
            }) {
                out.push(("path".to_string(), text));
            }
            out
        }
        let mut paths: Vec<String> = [
            "",
            "/",
            "/api/v1/users/107",
            "/a%20b/c",
            "/a+b",
            "/%2B",
            "/x/<svg/onload=1>",
            "/%",
            "/%zz",
            "/a~b_c.d-e",
            "/é",
            "/%00",
            "/a%2fb",
            "/+",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect();
        let alphabet = [
            'a', '/', '.', '%', '2', 'F', '+', ' ', 'é', '~', '-', '_', '3', 'C', '<',
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..5000 {
            let mut p = String::from("/");
            for _ in 0..x % 16 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                p.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            paths.push(p);
        }
        for path in &paths {
            let got: Vec<(String, String)> = decompose(&req(path, &[], ""))
                .list
                .into_iter()
                .filter(|p| matches!(p.kind, Kind::Path | Kind::Segment | Kind::PathText))
                .map(|p| (p.name.into_owned(), p.value.into_owned()))
                .collect();
            assert_eq!(got, oracle(path), "{path:?}");
        }
    }

    #[test]
    fn splits_every_part() {
        let r = req(
            "/api/v1/us%20ers?id=1%27&a[$ne]=x",
            &[
                ("Host", "app"),
                ("Cookie", "sid=abc; theme=dark"),
                ("Content-Type", "application/json"),
                ("X-Custom", "v"),
            ],
            r#"{"user":{"name":"O'Brien","tags":["a","b"],"$where":"1"},"n":5}"#,
        );
        let got = names(&r);
        for want in [
            ("path", "/api/v1/us%20ers"),
            ("path.2", "us ers"),
            ("query.id", "1'"),
            ("query_key.a[$ne]", "a[$ne]"),
            ("query.a[$ne]", "x"),
            ("header.Host", "app"),
            ("header.X-Custom", "v"),
            ("cookie.sid", "abc"),
            ("body.json.user.name", "O'Brien"),
            ("body.json.user.tags.1", "b"),
            ("body.json_key.user.$where", "$where"),
            ("body.json.user.$where", "1"),
        ] {
            assert!(
                got.iter().any(|(n, v)| n == want.0 && v == want.1),
                "{want:?} not in {got:?}"
            );
        }
    }

    #[test]
    fn binary_is_what_text_files_do_not_hold() {
        for t in [
            "",
            "plain text\r\nline two\ttab",
            "naïve café 日本",
            "{\"a\": 1}",
        ] {
            assert!(!binary(t), "{t:?}");
        }
        let mostly_text = format!("{}\u{1}", "x".repeat(20));
        assert!(!binary(&mostly_text));
        for b in [
            "GIF89a\0",
            "\u{FFFD}\u{FFFD}ab",
            "\u{1}\u{2}\u{3}abcdefghijklmn",
        ] {
            assert!(binary(b), "{b:?}");
        }
    }

    /// A body of an unknown type is read as a form too (an application may
    /// parse one whatever its type says), unless it has raw line breaks: a
    /// vCard or a calendar entry of `KEY;PARAM=...` lines is no form.
    #[test]
    fn line_records_are_no_form() {
        let vcard = req(
            "/carddav/c1.vcf",
            &[("Content-Type", "text/vcard")],
            "BEGIN:VCARD\r\nFN:Sean O'Brien\r\nTEL;TYPE=cell:+1 555 010\r\nEND:VCARD\r\n",
        );
        let got = names(&vcard);
        assert!(
            got.iter().all(|(n, _)| !n.starts_with("body.form")),
            "{got:?}"
        );
        assert!(got.iter().any(|(n, _)| n == "body.raw"));
        let odd = req(
            "/q",
            &[("Content-Type", "text/plain")],
            "id=1' or '1'='1\r\n",
        );
        assert!(names(&odd).contains(&("body.form.id".into(), "1' or '1'='1".into())));
    }

    #[test]
    fn forms_multipart_xml() {
        let f = req(
            "/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "user=bob+smith&pw=a%26b",
        );
        let got = names(&f);
        let bare = req(
            "/q",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "INFORMATION_SCHEMA",
        );
        assert!(names(&bare).contains(&(
            "body.form.INFORMATION_SCHEMA".into(),
            "INFORMATION_SCHEMA".into()
        )));
        assert!(got.contains(&("body.form.user".into(), "bob smith".into())));
        assert!(got.contains(&("body.form.pw".into(), "a&b".into())));

        let m = req(
            "/up",
            &[("Content-Type", "multipart/form-data; boundary=XyZ")],
            "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.php\"\r\nContent-Type: text/plain\r\n\r\n<?php x\r\n--XyZ--\r\n",
        );
        let got = names(&m);
        assert!(got.contains(&("body.multipart.f.filename".into(), "a.php".into())));
        assert!(got.contains(&("body.multipart.f".into(), "<?php x".into())));

        let x = req(
            "/x",
            &[("Content-Type", "text/xml")],
            r#"<?xml version="1.0"?><a><b id="7">hi</b></a>"#,
        );
        let got = names(&x);
        assert!(got.contains(&("body.xml.b".into(), "hi".into())));
        let d = req(
            "/x",
            &[("Content-Type", "application/xml")],
            "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><r>&e;</r>",
        );
        let got_d = names(&d);
        assert!(got_d.contains(&(
            "body.xml.doctype".into(),
            "<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>".into()
        )));
        assert!(got.contains(&("body.xml.b@id".into(), "7".into())));
    }

    /// The borrowed JSON walker against the `serde_json::Value` walk it
    /// replaced: the same points in the same order, and the same documents
    /// refused (which then fall through to the other body readers).
    #[test]
    fn json_points_as_value_walk_made_them() {
        fn oracle(
            out: &mut Vec<(String, String)>,
            v: &serde_json::Value,
            path: &mut String,
            depth: usize,
        ) {
            use serde_json::Value;
            if depth > MAX_JSON_DEPTH {
                return;
            }
            match v {
                Value::Object(map) => {
                    for (k, child) in map {
                        let len = path.len();
                        path.push('.');
                        path.push_str(k);
                        let plain = plain_key(k)
                            && !k.starts_with("__")
                            && k != "constructor"
                            && k != "prototype";
                        if !plain {
                            out.push((path.replacen("body.json", "body.json_key", 1), k.clone()));
                        }
                        oracle(out, child, path, depth + 1);
                        path.truncate(len);
                    }
                }
                Value::Array(items) => {
                    for (i, child) in items.iter().enumerate().take(256) {
                        let len = path.len();
                        path.push('.');
                        path.push_str(&i.to_string());
                        oracle(out, child, path, depth + 1);
                        path.truncate(len);
                    }
                }
                Value::String(s) => out.push((path.clone(), s.clone())),
                _ => {}
            }
        }
        let many: Vec<String> = (0..300).map(|i| format!("\"v{i}\"")).collect();
        let docs = [
            r#"{"b":"1","a":"2","a":"3","$ne":{"x":"y"},"__proto__":{"p":"q"}}"#.to_string(),
            r#"{"k\u0041":"esc\n\"aped","n":1.5e3,"t":true,"z":null,"arr":[1,"two",[3,"four"]]}"#
                .to_string(),
            r#"[{"a":"x"},{"a":"y","a":"z"}]"#.to_string(),
            format!("[{}]", many.join(",")),
            r#"{"a":"1"} trailing"#.to_string(),
            r#"{"a":1e400}"#.to_string(),
            r#"{"a":"\ud800"}"#.to_string(),
            r#"{"é":"ü","constructor":"c","prototype":"p","weird key!":"w"}"#.to_string(),
            "[".repeat(40) + &"]".repeat(40),
            "[".repeat(200) + &"]".repeat(200),
            r#""just a string""#.to_string(),
            "{}".to_string(),
            "{\"a\":".to_string(),
        ];
        for doc in &docs {
            let r = req("/", &[("Content-Type", "application/json")], doc);
            let mut want = vec![];
            let parsed = serde_json::from_str::<serde_json::Value>(doc);
            if let Ok(v) = &parsed {
                oracle(&mut want, v, &mut String::from("body.json"), 0);
            }
            let got: Vec<(String, String)> = names(&r)
                .into_iter()
                .filter(|(n, _)| n.starts_with("body.json"))
                .collect();
            assert_eq!(got, want, "{doc}");
            let raw = names(&r).iter().any(|(n, _)| n == "body.raw");
            assert_eq!(raw, parsed.is_err(), "{doc}");
        }
    }

    #[test]
    fn bounded() {
        let uri = format!("/?{}", "a=1&".repeat(10_000));
        let r = req(&uri, &[], "");
        let p = decompose(&r);
        assert!(p.cut && p.list.len() == MAX_POINTS);
        let deep = "[".repeat(200) + &"]".repeat(200);
        let r = req("/", &[("Content-Type", "application/json")], &deep);
        let _ = decompose(&r);
    }

    /// A batch's requests become points under `body.batch.N.` (target,
    /// segments, query, body by its own type), one changeset level deep,
    /// at most [`MAX_BATCH`] of them; a part that opens with no request
    /// line, a part of another type, and a batch in a form upload are
    /// multipart values as before.
    #[test]
    fn batch_parts_are_requests() {
        let http = "Content-Type: application/http\r\n\r\n";
        let body = format!(
            "--b\r\n{http}GET https://api.example.com/v1/users/7?fields=name HTTP/1.1\r\nHost: x\r\n\r\n\r\n\
--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n\
--c\r\n{http}POST /v1/notes\r\nContent-Type: application/json\r\n\r\n{{\"t\":\"hi\"}}\r\n\
--c\r\nContent-Type: multipart/mixed; boundary=d\r\n\r\n--d\r\n{http}GET /deeper HTTP/1.1\r\n\r\n--d--\r\n\
--c--\r\n\
--b\r\n{http}not a request line\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n\
--b--\r\n"
        );
        let r = req(
            "/batch",
            &[("Content-Type", "multipart/mixed; boundary=b")],
            &body,
        );
        let got = names(&r);
        let batch: Vec<_> = got
            .iter()
            .filter(|(n, _)| n.starts_with("body.batch."))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            batch,
            [
                ("body.batch.0.path", "/v1/users/7"),
                ("body.batch.0.path.0", "v1"),
                ("body.batch.0.path.1", "users"),
                ("body.batch.0.path.2", "7"),
                ("body.batch.0.query.fields", "name"),
                ("body.batch.1.path", "/v1/notes"),
                ("body.batch.1.path.0", "v1"),
                ("body.batch.1.path.1", "notes"),
                ("body.batch.1.body.json.t", "hi"),
            ]
        );
        // Two levels down is a value; so are a part with no request line
        // and a part of another type.
        let values: Vec<_> = got
            .iter()
            .filter(|(n, _)| n == "body.multipart.")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(
            values,
            [
                "--d\r\nContent-Type: application/http\r\n\r\nGET /deeper HTTP/1.1\r\n\r\n--d--",
                "not a request line",
                "plain"
            ]
        );
        // A form upload holds no batch.
        let r = req(
            "/up",
            &[("Content-Type", "multipart/form-data; boundary=b")],
            &body,
        );
        assert!(!names(&r).iter().any(|(n, _)| n.starts_with("body.batch.")));
        // Bounded: 100 requests give 64, and the cut is counted.
        let many = format!(
            "{}--b--\r\n",
            format!("--b\r\n{http}GET /a?x=1 HTTP/1.1\r\n\r\n\r\n").repeat(100)
        );
        let r = req(
            "/batch",
            &[("Content-Type", "multipart/mixed; boundary=b")],
            &many,
        );
        let p = decompose(&r);
        let queries = p
            .list
            .iter()
            .filter(|p| p.name.ends_with(".query.x"))
            .count();
        assert!(p.cut && queries == MAX_BATCH, "{queries}");
        assert!(!p.list.iter().any(|p| p.name.starts_with("body.batch.64.")));
    }

    /// A body of unknown type that is not text is one [`Kind::FileData`]
    /// point (no form fields); a text one is a body and its form fields.
    #[test]
    fn binary_body_of_unknown_type_is_file_data() {
        for ctype in ["application/x-msgpack", "application/octet-stream", ""] {
            let headers: &[(&str, &str)] = if ctype.is_empty() {
                &[]
            } else {
                &[("Content-Type", ctype)]
            };
            let body_points = |body: &str| -> Vec<(String, Kind)> {
                let r = req("/s", headers, body);
                decompose(&r)
                    .list
                    .iter()
                    .filter(|p| p.name.starts_with("body."))
                    .map(|p| (p.name.to_string(), p.kind))
                    .collect()
            };
            assert_eq!(
                body_points("a=1&b=\u{0}\u{1}\u{2}"),
                [("body.raw".to_string(), Kind::FileData)],
                "{ctype}"
            );
            // One NUL in text decides only for a declared binary type.
            let nul_kind = if ctype.is_empty() {
                Kind::Body
            } else {
                Kind::FileData
            };
            assert_eq!(
                body_points("plain text with one NUL\u{0} in it"),
                [("body.raw".to_string(), nul_kind)],
                "{ctype}"
            );
            assert_eq!(
                body_points("a=1&b=2"),
                [
                    ("body.raw".to_string(), Kind::Body),
                    ("body.form.a".to_string(), Kind::Value),
                    ("body.form.b".to_string(), Kind::Value)
                ],
                "{ctype}"
            );
        }
    }

    /// The pairs as they were split before the one-walk split: `=` by
    /// `split_once`, every key and value through the URL decoder.
    fn pairs_oracle(s: &str) -> Vec<(String, String, Kind)> {
        let mut out = vec![];
        for pair in s.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode::url_decode(k, true).unwrap_or_else(|| k.to_string());
            let v = decode::url_decode(v, true).unwrap_or_else(|| v.to_string());
            if !plain_key(&k) {
                out.push((format!("query_key.{k}"), k.clone(), Kind::Key));
            }
            out.push((format!("query.{k}"), v, Kind::Value));
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn pairs_agree_with_split_and_decode(
            picks in proptest::collection::vec(0..12usize, 0..16),
        ) {
            const PIECES: [&str; 12] =
                ["a", "=", "&", "%41", "%", "%zz", "+", "b_c", "%u0041", "==", "x y", "é"];
            let q: String = picks.iter().filter_map(|&i| PIECES.get(i).copied()).collect();
            let mut p = Points::default();
            pairs(&mut p, &q, "query", true);
            let got: Vec<(String, String, Kind)> = p
                .list
                .iter()
                .map(|pt| (pt.name.to_string(), pt.value.to_string(), pt.kind))
                .collect();
            proptest::prop_assert_eq!(got, pairs_oracle(&q), "{:?}", q);
        }
    }
}
