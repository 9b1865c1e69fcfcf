//! Spent `http` records, kept to be filled again instead of allocated anew.
//!
//! A transaction's record is a dozen small strings and a header vector per
//! message; allocating them (and freeing them once the later stages are
//! done) was a good part of the HTTP stage's cost. A caller that is done
//! with a record hands it back ([`super::HttpParser::recycle`]); the parser
//! takes it apart (shell, request, response) and refills the parts in place
//! (`clear` + `push_str` keeps a string's capacity) for the next
//! transactions. What a refilled record holds is exactly what a fresh one
//! would (tests: `recycled_records_equal_fresh_ones`).
//!
//! A sharded run's worker gets its records back a batch at a time (the
//! reading thread returns them once the inventory is done with them), so
//! the pool must hold about what a worker has in flight: with room for
//! only a few dozen, most of a returned batch was freed and the next
//! batch allocated anew (13 header strings per transaction on a worker
//! against one on a single thread).
//!
//! Bounded: at most [`POOL_CAP`] parts of each kind; a message part is
//! kept only while its header strings hold at most [`KEEP_BYTES`], and
//! the kept messages' strings together at most [`POOL_BYTES`] (bodies
//! are never kept). So the pool holds at most [`POOL_BYTES`] of message
//! strings beside [`POOL_CAP`] shells.

use std::fmt::Write as _;

use crate::record::{Header, Http, HttpRequest, HttpResponse};

/// Parts of each kind (shells, requests, responses) kept, at most.
pub const POOL_CAP: usize = 4096;
/// A request or response is kept only while its header names and values
/// (trailers included) have at most this much room.
pub const KEEP_BYTES: usize = 16 << 10;
/// Room the kept requests' and responses' header strings have together,
/// at most.
pub const POOL_BYTES: usize = 4 << 20;

/// Record parts to refill.
#[derive(Default)]
pub(crate) struct Pool {
    /// Records without request and response, in the boxes they travel up
    /// in (a record is filled in its box and never moved whole).
    #[allow(clippy::vec_box)]
    shells: Vec<Box<Http>>,
    /// Kept messages with the room their strings have ([`footprint`]).
    requests: Vec<(HttpRequest, usize)>,
    responses: Vec<(HttpResponse, usize)>,
    /// The sum of the kept messages' footprints.
    bytes: usize,
}

/// Room the header strings of a message hold.
fn footprint(headers: &[Header], trailers: &[Header]) -> usize {
    headers
        .iter()
        .chain(trailers)
        .map(|(n, v)| n.capacity() + v.capacity())
        .sum()
}

impl Pool {
    /// Takes a spent record apart and keeps what fits.
    pub fn put(&mut self, mut h: Box<Http>) {
        if let Some(mut r) = h.request.take() {
            if let Some(n) = self.room(self.requests.len(), &r.headers, &r.trailers) {
                r.body = Vec::new();
                self.bytes += n;
                self.requests.push((r, n));
            }
        }
        if let Some(mut r) = h.response.take() {
            if let Some(n) = self.room(self.responses.len(), &r.headers, &r.trailers) {
                r.body = Vec::new();
                self.bytes += n;
                self.responses.push((r, n));
            }
        }
        if self.shells.len() < POOL_CAP {
            self.shells.push(h);
        }
    }

    /// The footprint of a message to keep beside `kept` of its kind, or
    /// `None` when it does not fit.
    fn room(&self, kept: usize, headers: &[Header], trailers: &[Header]) -> Option<usize> {
        if kept >= POOL_CAP {
            return None;
        }
        let n = footprint(headers, trailers);
        (n <= KEEP_BYTES && self.bytes + n <= POOL_BYTES).then_some(n)
    }

    /// Room the kept messages' strings have.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many parts are kept (shells, requests, responses).
    #[cfg(test)]
    pub fn len(&self) -> (usize, usize, usize) {
        (self.shells.len(), self.requests.len(), self.responses.len())
    }

    /// A record shell to fill: every field is overwritten by
    /// [`super::flow`]'s emit.
    pub fn shell(&mut self) -> Box<Http> {
        self.shells.pop().unwrap_or_default()
    }

    /// A request with the start line and headers given, no body.
    #[cfg(test)]
    pub fn request(
        &mut self,
        method: &str,
        uri: &str,
        ver: Option<u8>,
        headers: &[httparse::Header<'_>],
        head: Option<&str>,
    ) -> HttpRequest {
        let mut slot = None;
        self.request_into(&mut slot, method, uri, ver, headers, head);
        slot.unwrap_or_default()
    }

    /// `slot` becomes a request with the start line and headers given, no
    /// body, filled in place (a request it held is refilled, else a kept
    /// one or a fresh one is put there): nothing is built aside and moved.
    pub fn request_into<'s>(
        &mut self,
        slot: &'s mut Option<HttpRequest>,
        method: &str,
        uri: &str,
        ver: Option<u8>,
        headers: &[httparse::Header<'_>],
        head: Option<&str>,
    ) -> &'s mut HttpRequest {
        let r = occupy(slot, &mut self.requests, &mut self.bytes);
        set(&mut r.method, method);
        set(&mut r.uri, uri);
        set(&mut r.version, version(ver));
        fill_headers(&mut r.headers, headers, head);
        r.body_len = 0;
        r.body.clear();
        r.truncated = false;
        r.trailers.clear();
        r
    }

    /// A response with the status line and headers given, no body.
    #[cfg(test)]
    pub fn response(
        &mut self,
        status: u16,
        reason: &str,
        ver: Option<u8>,
        headers: &[httparse::Header<'_>],
        head: Option<&str>,
    ) -> HttpResponse {
        let mut slot = None;
        self.response_into(&mut slot, status, reason, ver, headers, head);
        slot.unwrap_or_default()
    }

    /// [`Pool::request_into`] for a response.
    pub fn response_into<'s>(
        &mut self,
        slot: &'s mut Option<HttpResponse>,
        status: u16,
        reason: &str,
        ver: Option<u8>,
        headers: &[httparse::Header<'_>],
        head: Option<&str>,
    ) -> &'s mut HttpResponse {
        let r = occupy(slot, &mut self.responses, &mut self.bytes);
        r.status = status;
        set(&mut r.reason, reason);
        set(&mut r.version, version(ver));
        fill_headers(&mut r.headers, headers, head);
        r.body_len = 0;
        r.body.clear();
        r.truncated = false;
        r.trailers.clear();
        r
    }
}

/// What `slot` holds, else a kept message (its bytes taken off the pool's
/// count) or an empty one put there.
fn occupy<'s, T: Default>(
    slot: &'s mut Option<T>,
    kept: &mut Vec<(T, usize)>,
    bytes: &mut usize,
) -> &'s mut T {
    slot.get_or_insert_with(|| match kept.pop() {
        Some((m, n)) => {
            *bytes = bytes.saturating_sub(n);
            m
        }
        None => T::default(),
    })
}

/// The version text of a parsed start line.
pub(crate) fn version(v: Option<u8>) -> &'static str {
    match v {
        Some(0) => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
}

/// `s` becomes `v`, in the room it has.
pub(crate) fn set(s: &mut String, v: &str) {
    s.clear();
    s.push_str(v);
}

/// A header value as the record carries it: as sent when it is UTF-8
/// (borrowed from a checked `head`, see [`value_str`]), else with invalid
/// sequences replaced (U+FFFD).
fn value_text<'a>(head: Option<&'a str>, v: &'a [u8]) -> std::borrow::Cow<'a, str> {
    match value_str(head, v) {
        Some(t) => t.into(),
        None => String::from_utf8_lossy(v),
    }
}

/// `v` as text: borrowed from `head` (the message head the values were
/// parsed from, when it is all UTF-8) without checking the bytes again, else
/// checked on its own; `None` when it is not UTF-8.
fn value_str<'a>(head: Option<&'a str>, v: &'a [u8]) -> Option<&'a str> {
    if v.is_empty() {
        return Some("");
    }
    if let Some(head) = head {
        // httparse's values are slices of the head: find it by address. A
        // value starts and ends next to ASCII bytes, so on char boundaries
        // (`get` checks anyway); the same bytes, so the same text.
        let off = (v.as_ptr() as usize).wrapping_sub(head.as_ptr() as usize);
        if let Some(t) = off
            .checked_add(v.len())
            .and_then(|end| head.get(off..end))
            .filter(|t| t.as_bytes().as_ptr() == v.as_ptr())
        {
            return Some(t);
        }
    }
    std::str::from_utf8(v).ok()
}

/// `dst` becomes the `[name, value]` pairs of `src`, in order, reusing the
/// strings it has. `head`: the bytes the headers were parsed from, when the
/// caller checked they are UTF-8 (one check for the whole head instead of
/// one per value).
pub(crate) fn fill_headers(
    dst: &mut Vec<Header>,
    src: &[httparse::Header<'_>],
    head: Option<&str>,
) {
    dst.truncate(src.len());
    let kept = dst.len();
    for ((n, v), h) in dst.iter_mut().zip(src) {
        set(n, h.name);
        set(v, &value_text(head, h.value));
    }
    dst.reserve(src.len() - kept);
    for h in src.get(kept..).unwrap_or_default() {
        dst.push((h.name.to_owned(), value_text(head, h.value).into_owned()));
    }
}

/// `dst` becomes `src`'s anomaly names, reusing the strings it has.
pub(crate) fn fill_names(dst: &mut Vec<String>, src: &[&str]) {
    dst.truncate(src.len());
    let kept = dst.len();
    for (d, s) in dst.iter_mut().zip(src) {
        set(d, s);
    }
    for s in src.get(kept..).unwrap_or_default() {
        dst.push((*s).to_owned());
    }
}

/// `dst` becomes the text of `v` (absent when `v` is), reusing its room.
pub(crate) fn fill_display(dst: &mut Option<String>, v: Option<impl std::fmt::Display>) {
    match v {
        Some(v) => {
            let s = dst.get_or_insert_with(String::new);
            s.clear();
            let _ = write!(s, "{v}");
        }
        None => *dst = None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values taken from a head checked whole are the values checked one by
    /// one: ASCII, multi-byte UTF-8, obs-folded, empty, and (head not
    /// UTF-8) lossy.
    /// A response head and the header pairs it must give.
    type Case = (&'static [u8], &'static [(&'static str, &'static str)]);

    #[test]
    fn values_from_a_checked_head_match_values_checked_alone() {
        let cases: &[Case] = &[
            (
                b"HTTP/1.1 200 OK\r\nA: x\r\nB:\r\nC: caf\xc3\xa9 \xe2\x98\x83\r\nD: a\r\n b\r\n\r\n",
                &[("A", "x"), ("B", ""), ("C", "caf\u{e9} \u{2603}"), ("D", "a\r\n b")],
            ),
            (
                b"HTTP/1.1 200 OK\r\nA: caf\xe9\r\nB: ok\r\n\r\n",
                &[("A", "caf\u{fffd}"), ("B", "ok")],
            ),
        ];
        for (buf, want) in cases {
            let mut hs = [httparse::EMPTY_HEADER; 8];
            let mut r = httparse::Response::new(&mut hs);
            let n = match httparse::ParserConfig::default()
                .allow_obsolete_multiline_headers_in_responses(true)
                .parse_response(&mut r, buf)
            {
                Ok(httparse::Status::Complete(n)) => n,
                other => panic!("{other:?}"),
            };
            let head = std::str::from_utf8(&buf[..n]).ok();
            let mut whole = vec![("old".to_string(), "stale value".to_string()); 6];
            fill_headers(&mut whole, r.headers, head);
            let mut alone = vec![];
            fill_headers(&mut alone, r.headers, None);
            let want: Vec<Header> = want
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            assert_eq!(whole, want);
            assert_eq!(alone, want);
        }
    }
}
