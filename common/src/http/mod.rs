//! HTTP/1.x parsing: `conn`, `data` and `gap` records in, one `http` record per
//! transaction out.
//!
//! Each connection keeps a queue of transactions. A request opens one; a final
//! response answers the oldest one not yet answered (so keep-alive and
//! pipelining both pair correctly); interim `1xx` responses are noted on it. A
//! transaction is emitted once its response is complete and its request too;
//! those left at close or end of input are emitted then, in request order,
//! connections in the order they were opened.
//!
//! Start lines and headers are parsed by `httparse`, borrowing from the
//! direction's buffer; framing (Content-Length, chunked, close-delimited, no
//! body for HEAD/1xx/204/304), body decoding ([`body`]) and resynchronisation
//! are ours. The parser starts at the first plausible message in either
//! direction, keeps going after a `gap` (within a body of known length it
//! simply skips the lost bytes, else it looks for the next message start), and
//! notes what looks like request smuggling as anomalies. Non-HTTP streams (TLS,
//! SSH, binary) are recognised by their first bytes and skipped; CONNECT and
//! `Upgrade: websocket` (or any other protocol) end parsing of the connection
//! after the transaction that switched it. HTTP/2 in clear text (a
//! prior-knowledge preface, a server SETTINGS frame, or an accepted
//! `Upgrade: h2c`) goes to the HTTP/2 parser: one transaction per stream,
//! the h2c upgrade request becoming stream 1 (with `interim: [101]`).
//!
//! Every buffer is bounded: header blocks by `max_header_bytes`, bodies by
//! `body_cap`, decompression by `decompress_cap` and `max_ratio`, queued
//! transactions per connection by `max_queue`, connections by `max_flows`.
//! What is cut is counted in [`HttpStats`] and marked on the record.
//!
//! Anomaly names (stable, snake_case) are listed in [`ANOMALIES`].

mod body;
pub mod driver;
mod flow;
mod h2;
pub mod pool;
pub mod realip;
pub mod server;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use crate::record::{ConnEvent, Http, Record};

pub use body::{BodyLimits, Coding};
pub use flow::{Broken, Unanswered};
pub use realip::{RealIpConfig, DEFAULT_REAL_IP_HEADERS};
pub use server::ServerConn;

use flow::Flow;

/// A header name to look for: as it is usually written, and lower-case.
pub(crate) type Name<const N: usize> = (&'static [u8; N], &'static [u8; N]);

pub(crate) const CONTENT_TYPE: Name<12> = (b"Content-Type", b"content-type");
pub(crate) const CONTENT_LENGTH: Name<14> = (b"Content-Length", b"content-length");
pub(crate) const TRANSFER_ENCODING: Name<17> = (b"Transfer-Encoding", b"transfer-encoding");
pub(crate) const CONTENT_ENCODING: Name<16> = (b"Content-Encoding", b"content-encoding");

/// `name.eq_ignore_ascii_case(want.1)`, answered by a comparison of whole
/// words when `name` is spelled either way `want` gives (most are), else
/// byte by byte as before (tests: `name_is_eq_ignore_ascii_case`).
#[inline]
pub(crate) fn name_is<const N: usize>(name: &str, want: Name<N>) -> bool {
    <&[u8; N]>::try_from(name.as_bytes())
        .is_ok_and(|b| b == want.0 || b == want.1 || b.eq_ignore_ascii_case(want.1))
}

/// Every anomaly name the parser can put on a record, with its meaning.
pub const ANOMALIES: &[(&str, &str)] = &[
    (
        "cl_te_conflict",
        "Content-Length and Transfer-Encoding both present (chunked wins)",
    ),
    (
        "duplicate_content_length",
        "more than one Content-Length value",
    ),
    (
        "conflicting_content_length",
        "Content-Length values differ (the first is used)",
    ),
    ("bad_content_length", "Content-Length is not a number"),
    (
        "bad_transfer_encoding",
        "Transfer-Encoding whose last coding is not chunked, or chunked twice",
    ),
    ("bad_chunk_size", "a chunk-size line that is not hex"),
    ("bad_chunk_terminator", "chunk data not followed by CRLF"),
    ("bad_trailer", "malformed trailer section"),
    (
        "unsupported_content_encoding",
        "a content coding we do not decode; body kept as sent",
    ),
    (
        "too_many_content_encodings",
        "more content codings than we decode",
    ),
    (
        "content_decoding_failed",
        "the body does not decode as its Content-Encoding says",
    ),
    (
        "decompression_capped",
        "decoding stopped at the decompression cap or ratio",
    ),
    (
        "response_without_request",
        "a response with no request to answer",
    ),
    (
        "gap_in_request_headers",
        "bytes lost inside a request header block",
    ),
    (
        "gap_in_response_headers",
        "bytes lost inside a response header block",
    ),
    ("gap_in_request_body", "bytes lost inside a request body"),
    ("gap_in_response_body", "bytes lost inside a response body"),
    (
        "incomplete_request_body",
        "the connection ended inside a request body",
    ),
    (
        "incomplete_response_body",
        "the connection ended inside a response body",
    ),
    (
        "incomplete_headers",
        "the connection ended inside a header block",
    ),
    (
        "header_too_large",
        "a header block over max_header_bytes; skipped",
    ),
    (
        "too_many_headers",
        "more header fields than max_headers; skipped",
    ),
    (
        "invalid_uri_bytes",
        "a request target with raw bytes httparse refuses (kept, percent-encoded)",
    ),
    (
        "invalid_status_code",
        "a status code that is not three digits (status 0, the code kept in reason)",
    ),
    (
        "http09_request",
        "an HTTP/0.9 simple request (`GET target`, no version, no headers); its answer runs to close",
    ),
    (
        "bad_request_line",
        "bytes where a request was due that do not parse; skipped",
    ),
    (
        "bad_status_line",
        "bytes where a response was due that do not parse; skipped",
    ),
    (
        "expect_100_interim",
        "a 100 Continue came before the final response",
    ),
    (
        "interim_without_request",
        "a 1xx response with no request to answer",
    ),
    (
        "request_queue_overflow",
        "more than max_queue unanswered requests; the oldest was emitted early",
    ),
    (
        "bad_proxy_header",
        "the stream starts like a PROXY protocol header but is not one",
    ),
    (
        "upgrade_not_answered",
        "data after an Upgrade/CONNECT request before its response",
    ),
    (
        "h2_gap",
        "bytes lost in an HTTP/2 connection: parsing it stopped",
    ),
    (
        "h2_bad_preface",
        "the HTTP/2 client preface is wrong: parsing stopped",
    ),
    ("h2_bad_frame", "a malformed HTTP/2 frame: parsing stopped"),
    (
        "h2_frame_too_large",
        "an HTTP/2 control frame over 1 MiB: parsing stopped",
    ),
    (
        "h2_hpack_error",
        "an HPACK block that does not decode: parsing stopped",
    ),
    ("h2_stream_reset", "the stream ended with RST_STREAM"),
    (
        "h2_stream_incomplete",
        "the connection ended with the stream still open",
    ),
];

/// Parser settings.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Decoded body bytes kept per message (0: no bodies, nothing decompressed).
    pub body_cap: usize,
    /// Decoded bytes produced per body before decompression stops.
    pub decompress_cap: u64,
    /// Largest decoded/encoded ratio allowed (past the first 64 KiB).
    pub max_ratio: u64,
    /// Largest header block (start line included).
    pub max_header_bytes: usize,
    /// Most header fields per message (at most [`MAX_HEADERS_LIMIT`]).
    pub max_headers: usize,
    /// Most transactions queued per connection (HTTP/2: open streams).
    pub max_queue: usize,
    /// Most connections tracked at once; the oldest is flushed to make room.
    pub max_flows: usize,
    /// How `real_ip` is found.
    pub real_ip: RealIpConfig,
}

/// Upper bound for [`HttpConfig::max_headers`].
pub const MAX_HEADERS_LIMIT: usize = 1024;

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_cap: 1 << 20,
            decompress_cap: 16 << 20,
            max_ratio: 250,
            max_header_bytes: 64 << 10,
            max_headers: 256,
            max_queue: 64,
            max_flows: 100_000,
            real_ip: RealIpConfig {
                headers: DEFAULT_REAL_IP_HEADERS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                trusted: Vec::new(),
            },
        }
    }
}

impl HttpConfig {
    pub(crate) fn limits(&self) -> BodyLimits {
        BodyLimits {
            body_cap: self.body_cap,
            decompress_cap: self.decompress_cap,
            max_ratio: self.max_ratio,
        }
    }
}

/// Counters for the end-of-run summary.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct HttpStats {
    /// `http` records emitted.
    pub transactions: u64,
    /// ... with both request and response.
    pub paired: u64,
    /// ... with a request only.
    pub unpaired_requests: u64,
    /// ... with a response only.
    pub unpaired_responses: u64,
    /// Connections seen.
    pub flows: u64,
    /// Connections recognised as not HTTP (TLS, SSH, other) and skipped.
    pub non_http: u64,
    /// Connections parsed as HTTP/2 (prior knowledge or h2c upgrade).
    pub http2: u64,
    /// Connections that became tunnels (CONNECT, WebSocket and other upgrades).
    pub tunnels: u64,
    /// Times the parser found a message start again after losing its place.
    pub resyncs: u64,
    /// Stream bytes not parsed: skipped while resynchronising, after a
    /// connection stopped being HTTP/1, or lost in gaps.
    pub bytes_skipped: u64,
    /// Connections flushed early because `max_flows` was reached.
    pub flows_evicted: u64,
    /// Transactions emitted early because `max_queue` was reached.
    pub queue_overflows: u64,
    /// `data`/`gap` records of a connection with no `conn` open record.
    pub data_without_open: u64,
    /// Anomalies by name.
    pub anomalies: BTreeMap<&'static str, u64>,
}

/// The HTTP stage core: push records, receive transactions.
pub struct HttpParser {
    cfg: HttpConfig,
    /// Open connections by flow id. Ids come from the input (a reassembler
    /// derives them from attacker-chosen tuples; an NDJSON line names them
    /// outright), so the hasher is keyed with a seed drawn at random per
    /// process (foldhash: a few instructions per record where SipHash took
    /// ~200). The map is never iterated in output order (`order` is), so
    /// the seed cannot reach the output.
    flows: HashMap<String, Flow, foldhash::fast::RandomState>,
    /// Open order -> flow id, so eviction and the final flush go oldest first.
    order: BTreeMap<u64, String>,
    next_order: u64,
    stats: HttpStats,
    /// Records handed back, to refill ([`HttpParser::recycle`]).
    pool: pool::Pool,
}

/// What the per-flow code needs besides the flow.
pub(crate) struct Ctx<'a> {
    pub cfg: &'a HttpConfig,
    pub stats: &'a mut HttpStats,
    pub out: &'a mut dyn FnMut(Box<Http>),
    /// Record parts to refill instead of allocating.
    pub pool: &'a mut pool::Pool,
}

impl HttpParser {
    pub fn new(mut cfg: HttpConfig) -> HttpParser {
        cfg.max_headers = cfg.max_headers.clamp(1, MAX_HEADERS_LIMIT);
        cfg.max_queue = cfg.max_queue.max(1);
        cfg.max_flows = cfg.max_flows.max(1);
        cfg.max_header_bytes = cfg.max_header_bytes.max(64);
        HttpParser {
            cfg,
            flows: HashMap::default(),
            order: BTreeMap::new(),
            next_order: 0,
            stats: HttpStats::default(),
            pool: pool::Pool::default(),
        }
    }

    pub fn config(&self) -> &HttpConfig {
        &self.cfg
    }

    pub fn stats(&self) -> &HttpStats {
        &self.stats
    }

    /// Hands back a record this parser emitted (or any `http` record) that
    /// the caller is done with: its strings and header vectors are refilled
    /// for later transactions instead of allocated anew. Bounded (see
    /// [`pool`]); what does not fit is dropped. The records emitted are the
    /// same with or without recycling.
    pub fn recycle(&mut self, h: Http) {
        self.pool.put(Box::new(h));
    }

    /// [`Self::recycle`] for a record in the box [`Self::push_boxed`] gave
    /// it in: the box is kept too.
    pub fn recycle_boxed(&mut self, h: Box<Http>) {
        self.pool.put(h);
    }

    /// Takes one record; `conn`, `data` and `gap` are consumed, others ignored.
    pub fn push(&mut self, rec: &Record<'_>, out: &mut dyn FnMut(Http)) {
        self.push_boxed(rec, &mut |h| out(*h));
    }

    /// [`Self::push`] with each record in a box (filled in place, handed up
    /// without moving it; give it back with [`Self::recycle_boxed`]).
    pub fn push_boxed(&mut self, rec: &Record<'_>, out: &mut dyn FnMut(Box<Http>)) {
        match rec {
            Record::Conn(c) => match c.event {
                ConnEvent::Open => {
                    if self.flows.contains_key(&c.flow) {
                        self.close_flow(&c.flow, out);
                    }
                    self.make_room(out);
                    let order = self.next_order;
                    self.next_order += 1;
                    self.stats.flows += 1;
                    self.order.insert(order, c.flow.clone());
                    self.flows.insert(c.flow.clone(), Flow::open(c, order));
                }
                ConnEvent::Close => self.close_flow(&c.flow, out),
            },
            Record::Data(d) => {
                let mut x = Ctx {
                    cfg: &self.cfg,
                    stats: &mut self.stats,
                    out,
                    pool: &mut self.pool,
                };
                if let Some(flow) = self.flows.get_mut(&*d.flow) {
                    flow.data(d, &mut x);
                    return;
                }
                self.stats.data_without_open += 1;
                self.make_room(out);
                let mut flow = self.unknown_flow(&d.flow);
                let mut x = Ctx {
                    cfg: &self.cfg,
                    stats: &mut self.stats,
                    out,
                    pool: &mut self.pool,
                };
                flow.data(d, &mut x);
                self.flows.insert(d.flow.to_string(), flow);
            }
            Record::Gap(g) => {
                let mut x = Ctx {
                    cfg: &self.cfg,
                    stats: &mut self.stats,
                    out,
                    pool: &mut self.pool,
                };
                match self.flows.get_mut(&g.flow) {
                    Some(flow) => flow.gap(g.dir, g.off, g.len, g.ts, &mut x),
                    None => {
                        self.stats.data_without_open += 1;
                        self.stats.bytes_skipped += g.len;
                    }
                }
            }
            _ => {}
        }
    }

    /// Ends every connection (end of input): emits what is left, oldest
    /// connection first.
    pub fn finish(&mut self, out: &mut dyn FnMut(Http)) {
        self.finish_boxed(&mut |h| out(*h));
    }

    /// [`Self::finish`] with each record in a box, as [`Self::push_boxed`].
    pub fn finish_boxed(&mut self, out: &mut dyn FnMut(Box<Http>)) {
        let ids: Vec<String> = std::mem::take(&mut self.order).into_values().collect();
        for id in ids {
            if let Some(mut flow) = self.flows.remove(&id) {
                let mut x = Ctx {
                    cfg: &self.cfg,
                    stats: &mut self.stats,
                    out,
                    pool: &mut self.pool,
                };
                flow.end(&mut x);
            }
        }
        self.flows.clear();
    }

    fn unknown_flow(&mut self, id: &str) -> Flow {
        let order = self.next_order;
        self.next_order += 1;
        self.stats.flows += 1;
        self.order.insert(order, id.to_string());
        Flow::unknown(id, order)
    }

    fn make_room(&mut self, out: &mut dyn FnMut(Box<Http>)) {
        while self.flows.len() >= self.cfg.max_flows {
            let Some((_, id)) = self.order.pop_first() else {
                break;
            };
            if let Some(mut flow) = self.flows.remove(&id) {
                self.stats.flows_evicted += 1;
                let mut x = Ctx {
                    cfg: &self.cfg,
                    stats: &mut self.stats,
                    out,
                    pool: &mut self.pool,
                };
                flow.end(&mut x);
            }
        }
    }

    fn close_flow(&mut self, id: &str, out: &mut dyn FnMut(Box<Http>)) {
        if let Some(mut flow) = self.flows.remove(id) {
            self.order.remove(&flow.order());
            let mut x = Ctx {
                cfg: &self.cfg,
                stats: &mut self.stats,
                out,
                pool: &mut self.pool,
            };
            flow.end(&mut x);
        }
    }
}
