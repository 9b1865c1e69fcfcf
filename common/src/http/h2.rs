//! HTTP/2 in clear text (h2c): prior-knowledge connections and `Upgrade: h2c`.
//!
//! Each direction is cut into frames; header blocks (HEADERS, CONTINUATION,
//! PUSH_PROMISE) are HPACK-decoded with one decoder per direction, DATA is
//! streamed into the same body decoder HTTP/1 uses. A stream is one
//! transaction: request headers (pseudo-headers included, as sent), request
//! body, response headers and body; it is emitted once both sides ended
//! (END_STREAM or RST_STREAM), the rest at the end of the connection in
//! stream order. HPACK state cannot survive lost bytes, so a gap or a
//! decoding error ends HTTP/2 parsing of the connection (streams seen so far
//! are still emitted).

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::body::{parse_codings, Body};
use super::flow::Tx;
use super::realip;
use super::Ctx;
use crate::record::{Header, HttpRequest, HttpResponse, Ts};

/// The client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: usize = 9;
/// Largest non-DATA frame buffered whole.
const MAX_FRAME: usize = 1 << 20;
/// Largest HPACK dynamic table a peer may ask for.
const MAX_TABLE: usize = 64 << 10;

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const PUSH_PROMISE: u8 = 5;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// A header block being collected over CONTINUATION frames.
struct Block {
    stream: u32,
    /// For PUSH_PROMISE: the promised stream.
    promised: Option<u32>,
    end_stream: bool,
    bytes: Vec<u8>,
}

/// Streaming through a DATA frame.
struct InData {
    stream: u32,
    data_left: usize,
    pad_left: usize,
    end_stream: bool,
}

struct Dir2 {
    request_side: bool,
    buf: Vec<u8>,
    preface_left: usize,
    hpack: loona_hpack::Decoder<'static>,
    block: Option<Block>,
    data: Option<InData>,
}

impl Dir2 {
    fn new(request_side: bool, preface: bool) -> Dir2 {
        let mut hpack = loona_hpack::Decoder::new();
        hpack.set_max_allowed_table_size(MAX_TABLE);
        Dir2 {
            request_side,
            buf: Vec::new(),
            preface_left: if preface { PREFACE.len() } else { 0 },
            hpack,
            block: None,
            data: None,
        }
    }
}

struct Stream {
    tx: Tx,
    req_body: Option<Body>,
    resp_body: Option<Body>,
    req_trailers: Vec<Header>,
    resp_trailers: Vec<Header>,
    req_ended: bool,
    resp_ended: bool,
}

/// The HTTP/2 state of a connection.
pub(crate) struct H2Conn {
    dirs: [Dir2; 2],
    streams: BTreeMap<u32, Stream>,
    /// Highest stream id opened so far: frames for a lower id that is no
    /// longer tracked belong to a finished (or reset) stream.
    max_stream: u32,
    broken: bool,
    /// Transactions ready to emit, in completion order.
    pub finished: Vec<Tx>,
}

fn new_stream(tx: Tx) -> Stream {
    Stream {
        tx,
        req_body: None,
        resp_body: None,
        req_trailers: Vec::new(),
        resp_trailers: Vec::new(),
        req_ended: false,
        resp_ended: false,
    }
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?) & 0x7fff_ffff)
}

fn header_value<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl H2Conn {
    /// A connection that starts (or switches to) HTTP/2. `upgraded` is the
    /// HTTP/1.1 request that asked for h2c: it becomes stream 1.
    pub fn new(upgraded: Option<Tx>) -> H2Conn {
        let mut conn = H2Conn {
            dirs: [Dir2::new(true, true), Dir2::new(false, false)],
            streams: BTreeMap::new(),
            max_stream: 0,
            broken: false,
            finished: Vec::new(),
        };
        if let Some(tx) = upgraded {
            let mut s = new_stream(tx);
            s.req_ended = true;
            conn.streams.insert(1, s);
            conn.max_stream = 1;
        }
        conn
    }

    /// Whether parsing stopped (bad frame, HPACK error, gap).
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    fn note(&mut self, stream: u32, name: &'static str, x: &mut Ctx<'_>) {
        *x.stats.anomalies.entry(name).or_default() += 1;
        if let Some(s) = self.streams.get_mut(&stream) {
            s.tx.anomaly(name);
        }
    }

    fn fail(&mut self, name: &'static str, x: &mut Ctx<'_>) {
        *x.stats.anomalies.entry(name).or_default() += 1;
        for s in self.streams.values_mut() {
            s.tx.anomaly(name);
        }
        self.broken = true;
    }

    /// Bytes were lost: HPACK state is gone, stop here.
    pub fn gap(&mut self, x: &mut Ctx<'_>) {
        if !self.broken {
            self.fail("h2_gap", x);
        }
    }

    /// Feeds bytes of one direction (`request_side`: client to server).
    #[allow(clippy::too_many_arguments)]
    pub fn feed(
        &mut self,
        request_side: bool,
        data: &[u8],
        ts: Ts,
        peer: Option<IpAddr>,
        next_seq: &mut u64,
        x: &mut Ctx<'_>,
    ) {
        if self.broken {
            x.stats.bytes_skipped += data.len() as u64;
            return;
        }
        let d = usize::from(!request_side);
        let mut buf = std::mem::take(&mut self.dirs[d].buf);
        buf.extend_from_slice(data);
        let n = self.run(d, &buf, ts, peer, next_seq, x);
        if self.broken {
            x.stats.bytes_skipped += buf.len().saturating_sub(n) as u64;
            buf.clear();
        } else {
            buf.drain(..n.min(buf.len()));
        }
        self.dirs[d].buf = buf;
    }

    fn run(
        &mut self,
        d: usize,
        buf: &[u8],
        ts: Ts,
        peer: Option<IpAddr>,
        next_seq: &mut u64,
        x: &mut Ctx<'_>,
    ) -> usize {
        let mut pos = 0;
        loop {
            if self.broken {
                return pos;
            }
            let rest = buf.get(pos..).unwrap_or_default();
            let dir = &mut self.dirs[d];
            if dir.preface_left > 0 {
                let off = PREFACE.len() - dir.preface_left;
                let take = dir.preface_left.min(rest.len());
                if PREFACE.get(off..off + take) != rest.get(..take) {
                    self.fail("h2_bad_preface", x);
                    return pos;
                }
                dir.preface_left -= take;
                pos += take;
                if dir.preface_left > 0 {
                    return pos;
                }
                continue;
            }
            if let Some(inflight) = &mut dir.data {
                if rest.is_empty() {
                    return pos;
                }
                let take = inflight.data_left.min(rest.len());
                let stream = inflight.stream;
                inflight.data_left -= take;
                let chunk = rest.get(..take).unwrap_or_default();
                pos += take;
                let skip = inflight.pad_left.min(rest.len() - take);
                inflight.pad_left -= skip;
                pos += skip;
                let done = inflight.data_left == 0 && inflight.pad_left == 0;
                let end = inflight.end_stream;
                if done {
                    dir.data = None;
                }
                let request_side = dir.request_side;
                if let Some(s) = self.streams.get_mut(&stream) {
                    let body = if request_side {
                        &mut s.req_body
                    } else {
                        &mut s.resp_body
                    };
                    if let Some(b) = body {
                        b.push(chunk);
                    }
                }
                if done && end {
                    self.end_side(stream, request_side, ts, x);
                }
                continue;
            }
            let Some(head) = rest.get(..FRAME_HEADER) else {
                return pos;
            };
            let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
            let (kind, flags) = (head[3], head[4]);
            let stream = be32(&head[5..9]).unwrap_or(0);
            if kind == DATA {
                // Streamed, not buffered.
                let body = rest.get(FRAME_HEADER..).unwrap_or_default();
                let (pad, hdr) = if flags & PADDED != 0 {
                    match body.first() {
                        Some(&p) => (usize::from(p), 1),
                        None => return pos,
                    }
                } else {
                    (0, 0)
                };
                if pad + hdr > len {
                    self.fail("h2_bad_frame", x);
                    return pos;
                }
                dir.data = Some(InData {
                    stream,
                    data_left: len - pad - hdr,
                    pad_left: pad,
                    end_stream: flags & END_STREAM != 0,
                });
                pos += FRAME_HEADER + hdr;
                if len == hdr {
                    // Empty DATA frame (often just END_STREAM).
                    dir.data = None;
                    let request_side = dir.request_side;
                    if flags & END_STREAM != 0 {
                        self.end_side(stream, request_side, ts, x);
                    }
                }
                continue;
            }
            if len > MAX_FRAME {
                self.fail("h2_frame_too_large", x);
                return pos;
            }
            let Some(payload) = rest.get(FRAME_HEADER..FRAME_HEADER + len) else {
                return pos;
            };
            pos += FRAME_HEADER + len;
            self.frame(d, kind, flags, stream, payload, ts, peer, next_seq, x);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn frame(
        &mut self,
        d: usize,
        kind: u8,
        flags: u8,
        stream: u32,
        payload: &[u8],
        ts: Ts,
        peer: Option<IpAddr>,
        next_seq: &mut u64,
        x: &mut Ctx<'_>,
    ) {
        let request_side = self.dirs[d].request_side;
        match kind {
            HEADERS | PUSH_PROMISE => {
                let mut p = payload;
                let mut pad = 0;
                if flags & PADDED != 0 {
                    let Some((&n, rest)) = p.split_first() else {
                        return self.fail("h2_bad_frame", x);
                    };
                    pad = usize::from(n);
                    p = rest;
                }
                let mut promised = None;
                if kind == PUSH_PROMISE {
                    promised = be32(p);
                    p = p.get(4..).unwrap_or_default();
                } else if flags & PRIORITY != 0 {
                    p = p.get(5..).unwrap_or_default();
                }
                let Some(fragment) = p.get(..p.len().saturating_sub(pad)) else {
                    return self.fail("h2_bad_frame", x);
                };
                if p.len() < pad {
                    return self.fail("h2_bad_frame", x);
                }
                self.dirs[d].block = Some(Block {
                    stream,
                    promised,
                    end_stream: flags & END_STREAM != 0,
                    bytes: fragment.to_vec(),
                });
                if flags & END_HEADERS != 0 {
                    self.header_block(d, ts, peer, next_seq, x);
                }
            }
            CONTINUATION => {
                let cap = x.cfg.max_header_bytes;
                let Some(block) = &mut self.dirs[d].block else {
                    return self.fail("h2_bad_frame", x);
                };
                if block.bytes.len() + payload.len() > cap {
                    return self.fail("header_too_large", x);
                }
                block.bytes.extend_from_slice(payload);
                if flags & END_HEADERS != 0 {
                    self.header_block(d, ts, peer, next_seq, x);
                }
            }
            RST_STREAM => {
                if self.streams.contains_key(&stream) {
                    self.note(stream, "h2_stream_reset", x);
                    self.end_side(stream, true, ts, x);
                    self.end_side(stream, false, ts, x);
                }
            }
            _ => {
                // SETTINGS, PING, WINDOW_UPDATE, PRIORITY, GOAWAY: nothing to record.
                let _ = request_side;
            }
        }
    }

    fn header_block(
        &mut self,
        d: usize,
        ts: Ts,
        peer: Option<IpAddr>,
        next_seq: &mut u64,
        x: &mut Ctx<'_>,
    ) {
        let Some(block) = self.dirs[d].block.take() else {
            return;
        };
        if block.bytes.len() > x.cfg.max_header_bytes {
            return self.fail("header_too_large", x);
        }
        let request_side = self.dirs[d].request_side;
        let mut headers: Vec<Header> = Vec::new();
        let max = x.cfg.max_headers;
        let mut too_many = false;
        let res = self.dirs[d].hpack.decode_with_cb(&block.bytes, |n, v| {
            if headers.len() < max {
                headers.push((
                    String::from_utf8_lossy(&n).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                ));
            } else {
                too_many = true;
            }
        });
        if res.is_err() {
            return self.fail("h2_hpack_error", x);
        }
        let target = block.promised.unwrap_or(block.stream);
        if block.promised.is_some() || request_side {
            self.request_headers(
                target,
                headers,
                block.end_stream || block.promised.is_some(),
                ts,
                peer,
                next_seq,
                x,
            );
        } else {
            self.response_headers(target, headers, block.end_stream, ts, next_seq, x);
        }
        if too_many {
            self.note(target, "too_many_headers", x);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn request_headers(
        &mut self,
        id: u32,
        headers: Vec<Header>,
        end: bool,
        ts: Ts,
        peer: Option<IpAddr>,
        next_seq: &mut u64,
        x: &mut Ctx<'_>,
    ) {
        if let Some(s) = self.streams.get_mut(&id) {
            if s.tx.rec.request.is_some() {
                // Trailers.
                s.req_trailers = headers;
                if end {
                    self.end_side(id, true, ts, x);
                }
                return;
            }
        }
        if !self.streams.contains_key(&id) {
            if id <= self.max_stream {
                // A stream already finished: nothing to open.
                return;
            }
            if self.streams.len() >= x.cfg.max_queue {
                x.stats.queue_overflows += 1;
                return self.note(id, "request_queue_overflow", x);
            }
            self.max_stream = id;
        }
        let method = header_value(&headers, ":method")
            .unwrap_or_default()
            .to_string();
        let uri = header_value(&headers, ":path")
            .or_else(|| header_value(&headers, ":authority"))
            .unwrap_or_default()
            .to_string();
        let real_ip = peer.map(|p| realip::resolve(&x.cfg.real_ip, p, &headers));
        let body = body_for(&headers, x);
        let stream = self.streams.entry(id).or_insert_with(|| {
            let seq = *next_seq;
            *next_seq += 1;
            new_stream(Tx::new(seq, ts, x.pool.shell()))
        });
        stream.tx.is_head = method.eq_ignore_ascii_case("HEAD");
        stream.tx.real_ip = real_ip;
        stream.tx.rec.request = Some(HttpRequest {
            method,
            uri,
            version: "HTTP/2".into(),
            headers,
            body_len: 0,
            body: Vec::new(),
            truncated: false,
            trailers: Vec::new(),
        });
        let (body, anomaly) = body;
        stream.req_body = Some(body);
        if let Some(a) = anomaly {
            stream.tx.anomaly(a);
            *x.stats.anomalies.entry(a).or_default() += 1;
        }
        if end {
            self.end_side(id, true, ts, x);
        }
    }

    fn response_headers(
        &mut self,
        id: u32,
        headers: Vec<Header>,
        end: bool,
        ts: Ts,
        next_seq: &mut u64,
        x: &mut Ctx<'_>,
    ) {
        let status = header_value(&headers, ":status")
            .and_then(|s| s.trim().parse::<u16>().ok())
            .unwrap_or(0);
        if !self.streams.contains_key(&id) {
            if id <= self.max_stream {
                // The answer to a stream already finished (reset): dropped.
                return;
            }
            if self.streams.len() >= x.cfg.max_queue {
                x.stats.queue_overflows += 1;
                return;
            }
            self.max_stream = id;
            let seq = *next_seq;
            *next_seq += 1;
            let mut s = new_stream(Tx::new(seq, ts, x.pool.shell()));
            s.req_ended = true;
            s.tx.anomaly("response_without_request");
            *x.stats
                .anomalies
                .entry("response_without_request")
                .or_default() += 1;
            self.streams.insert(id, s);
        }
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.tx.rec.response.is_some() {
            s.resp_trailers = headers;
        } else if (100..200).contains(&status) {
            if s.tx.interim.len() < 8 {
                s.tx.interim.push(status);
            }
            return;
        } else {
            let (body, anomaly) = body_for(&headers, x);
            s.resp_body = Some(body);
            if let Some(a) = anomaly {
                s.tx.anomaly(a);
                *x.stats.anomalies.entry(a).or_default() += 1;
            }
            s.tx.resp_claimed = true;
            s.tx.ts_end = s.tx.ts_end.max(ts);
            s.tx.rec.response = Some(HttpResponse {
                status,
                reason: String::new(),
                version: "HTTP/2".into(),
                headers,
                body_len: 0,
                body: Vec::new(),
                truncated: false,
                trailers: Vec::new(),
            });
        }
        if end {
            self.end_side(id, false, ts, x);
        }
    }

    /// One side of a stream ended; a stream ended both ways is finished.
    fn end_side(&mut self, id: u32, request_side: bool, ts: Ts, x: &mut Ctx<'_>) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if request_side {
            s.req_ended = true;
        } else {
            s.resp_ended = true;
        }
        s.tx.ts_end = s.tx.ts_end.max(ts);
        if s.req_ended && s.resp_ended {
            if let Some(s) = self.streams.remove(&id) {
                let tx = finish(s, true, x);
                self.finished.push(tx);
            }
        }
    }

    /// End of the connection: every stream left, in stream order.
    pub fn end(&mut self, x: &mut Ctx<'_>) {
        let streams = std::mem::take(&mut self.streams);
        for (_, s) in streams {
            let complete = s.req_ended && s.resp_ended;
            let mut tx = finish(s, complete, x);
            if !complete && !self.broken {
                tx.anomaly("h2_stream_incomplete");
                *x.stats.anomalies.entry("h2_stream_incomplete").or_default() += 1;
            }
            self.finished.push(tx);
        }
    }
}

fn body_for(headers: &[Header], x: &mut Ctx<'_>) -> (Body, Option<&'static str>) {
    let limits = x.cfg.limits();
    let codings = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
        .map(|(_, v)| v.as_str());
    match parse_codings(codings) {
        Ok(c) => (Body::new(&c, limits), None),
        Err(why) => (Body::undecoded(limits), Some(why)),
    }
}

/// Files a stream's bodies into its transaction.
fn finish(mut s: Stream, complete: bool, x: &mut Ctx<'_>) -> Tx {
    let mut anomalies = Vec::new();
    if let (Some(body), Some(req)) = (s.req_body.take(), s.tx.rec.request.as_mut()) {
        let d = body.finish(complete || s.req_ended);
        req.body = d.body;
        req.body_len = d.body_len;
        req.truncated = d.truncated;
        req.trailers = std::mem::take(&mut s.req_trailers);
        anomalies.extend(d.anomaly);
    }
    if let (Some(body), Some(resp)) = (s.resp_body.take(), s.tx.rec.response.as_mut()) {
        let d = body.finish(complete || s.resp_ended);
        resp.body = d.body;
        resp.body_len = d.body_len;
        resp.truncated = d.truncated;
        resp.trailers = std::mem::take(&mut s.resp_trailers);
        anomalies.extend(d.anomaly);
    }
    for a in anomalies {
        *x.stats.anomalies.entry(a).or_default() += 1;
        s.tx.anomaly(a);
    }
    s.tx.req_done = true;
    s.tx.resp_done = true;
    s.tx
}
