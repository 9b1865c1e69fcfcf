//! One connection: two byte streams (one state machine each) and the queue of
//! transactions they fill.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};

use memchr::memmem;

use super::body::{parse_codings, Body};
use super::h2::H2Conn;
use super::pool;
use super::realip::{self, Proxy};
use super::{Ctx, MAX_HEADERS_LIMIT};
use crate::record::{Conn, Data, Dir, Header, Http, HttpRequest, HttpResponse, Ts, Tunnel};

/// Longest chunk-size line (extensions included).
const MAX_CHUNK_LINE: usize = 4096;
/// While resynchronising, a partial line longer than this is not kept whole.
const MAX_RESYNC_LINE: usize = 16 << 10;

/// Methods that mark a request line when looking for one mid-stream.
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"PATCH",
    b"CONNECT",
    b"TRACE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
];

/// What the connection is, as far as this parser goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Http1,
    /// Not HTTP (TLS, SSH, binary): ignored.
    NotHttp,
    /// CONNECT or a protocol upgrade took over: ignored.
    Tunnel,
    /// HTTP/2 (prior knowledge or h2c upgrade): not parsed yet, ignored.
    Http2,
}

/// Where a direction's state machine is.
enum State {
    /// Start of the stream: PROXY header, protocol recognition.
    Detect,
    /// In sync, a message head is due.
    Head,
    /// Looking for a plausible message start; `line_start` says whether the
    /// first byte of the buffer starts a line.
    Resync { line_start: bool },
    /// Inside a body.
    Body(Box<BodyState>),
    /// After an Upgrade or CONNECT request, until its response says whether
    /// the protocol switched.
    Paused,
}

enum Framing {
    Length(u64),
    Chunked(Chunk),
    Close,
}

enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

struct BodyState {
    framing: Framing,
    body: Body,
    /// The transaction the message belongs to.
    seq: u64,
    trailers: Vec<Header>,
    /// After the request body: pause the client stream (Upgrade/CONNECT).
    pause_after: bool,
}

/// One direction of the connection.
struct Half {
    dir: Dir,
    /// Unconsumed bytes (a partial head, chunk line, or resync tail).
    buf: Vec<u8>,
    /// Time of the record holding `buf[0]`.
    pending_ts: Ts,
    /// Time of the latest record of this direction.
    last_ts: Ts,
    /// Stream offset expected next.
    next_off: Option<u64>,
    state: State,
    /// The head being parsed follows a resynchronisation: a parse failure is
    /// expected, not an anomaly.
    after_resync: bool,
}

impl Half {
    fn new(dir: Dir) -> Half {
        Half {
            dir,
            buf: Vec::new(),
            pending_ts: Ts::default(),
            last_ts: Ts::default(),
            next_off: None,
            state: State::Detect,
            after_resync: false,
        }
    }

    fn is_request(&self) -> bool {
        self.dir == Dir::C2s
    }
}

/// What a server must answer next (see [`Flow::next_unanswered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unanswered {
    /// A CONNECT request.
    pub connect: bool,
    /// The request asks to upgrade to h2c.
    pub h2c: bool,
}

/// Why a served connection's requests stopped parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// The client does not speak HTTP (TLS, binary).
    NotHttp,
    /// CONNECT or an upgrade took the connection over.
    Tunnel,
    /// HTTP/2 framing or HPACK failed.
    Http2,
    /// A request head that does not parse (or is too large).
    BadRequest,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Broken::NotHttp => "not HTTP",
            Broken::Tunnel => "tunnel",
            Broken::Http2 => "bad HTTP/2",
            Broken::BadRequest => "bad request",
        })
    }
}

/// One transaction in the queue.
///
/// Its request and response are built straight into the record it will
/// travel up in (`rec.request`, `rec.response`; the rest of the record is
/// filled at emit): a message built aside and moved into a transaction,
/// the transaction moved through the queue and the message moved again
/// into the record was a few hundred bytes copied three or four times per
/// transaction.
pub(crate) struct Tx {
    pub seq: u64,
    pub ts: Ts,
    pub ts_end: Ts,
    /// A record shell (see `pool`): only `request` and `response` are
    /// meaningful until emit.
    pub rec: Box<Http>,
    pub req_done: bool,
    pub is_head: bool,
    pub is_connect: bool,
    /// Lower-cased `Upgrade` value of the request.
    pub upgrade: Option<String>,
    pub real_ip: Option<IpAddr>,
    pub resp_claimed: bool,
    pub resp_done: bool,
    pub interim: Vec<u16>,
    pub anomalies: Vec<&'static str>,
    /// An HTTP/0.9 simple request: its response is raw bytes until close.
    pub http09: bool,
}

impl Tx {
    /// A transaction filled into `rec`, a record shell (its request and
    /// response are dropped).
    pub fn new(seq: u64, ts: Ts, mut rec: Box<Http>) -> Tx {
        rec.request = None;
        rec.response = None;
        Tx {
            seq,
            ts,
            ts_end: ts,
            rec,
            req_done: true,
            is_head: false,
            is_connect: false,
            upgrade: None,
            real_ip: None,
            resp_claimed: false,
            resp_done: false,
            interim: Vec::new(),
            anomalies: Vec::new(),
            http09: false,
        }
    }

    pub fn anomaly(&mut self, name: &'static str) {
        if !self.anomalies.contains(&name) {
            self.anomalies.push(name);
        }
    }
}

/// What a `conn open` told us.
struct Info {
    flow: String,
    community_id: String,
    client: String,
    server: String,
    client_ip: Option<IpAddr>,
    tunnel: Vec<Tunnel>,
    midstream: bool,
}

/// Everything of a connection but its two streams.
struct Conv {
    info: Info,
    mode: Mode,
    proxy: Option<SocketAddr>,
    proxy_checked: bool,
    txs: VecDeque<Tx>,
    next_seq: u64,
    /// Anomalies seen outside any transaction, for the next one.
    pending: Vec<&'static str>,
    /// The client stream was paused and may go on.
    resume_c2s: bool,
    /// The roles of the `conn` record were found reversed...
    swapped: bool,
    /// ... just now: swap the halves.
    swap_now: bool,
    /// `real_ip` when no header applies, formatted once.
    base_ip: Option<(IpAddr, String)>,
    /// HTTP/2 state, once the connection switched to it.
    h2: Option<Box<H2Conn>>,
    /// We are the server of this connection (tw-ingest): roles are known,
    /// never swapped.
    server_side: bool,
}

pub(crate) struct Flow {
    order: u64,
    halves: [Half; 2],
    conv: Conv,
}

fn ix(dir: Dir) -> usize {
    match dir {
        Dir::C2s => 0,
        Dir::S2c => 1,
    }
}

fn ip_of(endpoint: &str) -> Option<IpAddr> {
    endpoint
        .parse::<SocketAddr>()
        .map(|s| s.ip())
        .ok()
        .or_else(|| endpoint.parse().ok())
}

impl Flow {
    pub fn open(c: &Conn, order: u64) -> Flow {
        let client = c.client.clone().unwrap_or_default();
        let info = Info {
            flow: c.flow.clone(),
            community_id: c.community_id.clone().unwrap_or_default(),
            client_ip: ip_of(&client),
            client,
            server: c.server.clone().unwrap_or_default(),
            tunnel: c.tunnel.clone().unwrap_or_default(),
            midstream: c.midstream.unwrap_or(false),
        };
        Flow::with_info(info, order)
    }

    /// A flow whose `conn open` was never seen: roles as the records say,
    /// treated as mid-stream.
    pub fn unknown(id: &str, order: u64) -> Flow {
        let info = Info {
            flow: id.to_string(),
            community_id: String::new(),
            client: String::new(),
            server: String::new(),
            client_ip: None,
            tunnel: Vec::new(),
            midstream: true,
        };
        Flow::with_info(info, order)
    }

    fn with_info(info: Info, order: u64) -> Flow {
        Flow {
            order,
            halves: [Half::new(Dir::C2s), Half::new(Dir::S2c)],
            conv: Conv {
                info,
                mode: Mode::Http1,
                proxy: None,
                proxy_checked: false,
                txs: VecDeque::new(),
                next_seq: 0,
                pending: Vec::new(),
                resume_c2s: false,
                swapped: false,
                swap_now: false,
                base_ip: None,
                h2: None,
                server_side: false,
            },
        }
    }

    /// A connection we serve ourselves (tw-ingest): the client is `client`,
    /// roles are never swapped, and a PROXY protocol header is looked for
    /// only when `proxy_protocol` says so.
    pub fn server(
        flow: String,
        community_id: String,
        client: SocketAddr,
        server: SocketAddr,
        proxy_protocol: bool,
    ) -> Flow {
        let info = Info {
            flow,
            community_id,
            client: client.to_string(),
            server: server.to_string(),
            client_ip: Some(client.ip()),
            tunnel: Vec::new(),
            midstream: false,
        };
        let mut f = Flow::with_info(info, 0);
        f.conv.server_side = true;
        f.conv.proxy_checked = !proxy_protocol;
        f
    }

    /// The oldest HTTP/1 request read whole and not answered yet (server side).
    pub fn next_unanswered(&self) -> Option<Unanswered> {
        if self.conv.mode != Mode::Http1 {
            return None;
        }
        self.conv
            .txs
            .iter()
            .find(|t| !t.resp_claimed)
            .filter(|t| t.req_done && t.rec.request.is_some())
            .map(|t| Unanswered {
                connect: t.is_connect,
                h2c: t
                    .upgrade
                    .as_deref()
                    .is_some_and(|u| u.split(',').any(|p| p.trim() == "h2c")),
            })
    }

    /// Why the client stream can no longer be parsed as requests, if it
    /// cannot (server side: answer 400 and close).
    pub fn broken(&self) -> Option<Broken> {
        match self.conv.mode {
            Mode::NotHttp => Some(Broken::NotHttp),
            Mode::Tunnel => Some(Broken::Tunnel),
            Mode::Http2 => self
                .conv
                .h2
                .as_ref()
                .is_some_and(|h| h.is_broken())
                .then_some(Broken::Http2),
            Mode::Http1 => match self.halves[0].state {
                State::Resync { .. } => Some(Broken::BadRequest),
                _ => None,
            },
        }
    }

    /// Whether the connection speaks HTTP/2 now.
    pub fn is_http2(&self) -> bool {
        self.conv.mode == Mode::Http2
    }

    pub fn order(&self) -> u64 {
        self.order
    }

    /// The half that carries a wire direction (roles may have been swapped).
    fn slot(&self, dir: Dir) -> usize {
        ix(dir) ^ usize::from(self.conv.swapped)
    }

    pub fn data(&mut self, d: &Data<'_>, x: &mut Ctx<'_>) {
        let slot = self.slot(d.dir);
        let h = &mut self.halves[slot];
        h.last_ts = d.ts;
        let mut bytes: &[u8] = &d.data;
        let len = bytes.len() as u64;
        match h.next_off {
            None => {
                if d.off != 0 {
                    // First bytes seen are not the stream's first: mid-stream.
                    // They start a segment, as likely a message start as any
                    // line start.
                    if matches!(h.state, State::Detect) {
                        h.state = State::Resync { line_start: true };
                        detect_non_http(h.dir, bytes, &mut self.conv, x);
                    }
                }
            }
            Some(next) if d.off > next => {
                self.gap(d.dir, next, d.off - next, d.ts, x);
            }
            Some(next) if d.off < next => {
                // Overlap: only the bytes past what we have.
                let skip = next - d.off;
                if skip >= len {
                    return;
                }
                bytes = bytes.get(skip as usize..).unwrap_or_default();
            }
            Some(_) => {}
        }
        let h = &mut self.halves[slot];
        h.next_off = Some(d.off.saturating_add(len).max(h.next_off.unwrap_or(0)));
        feed(h, &mut self.conv, bytes, d.ts, x);
        if self.conv.swap_now {
            self.swap_roles(x);
        }
        // A response said an Upgrade/CONNECT did not switch: the client
        // stream goes on first, then the rest of the server stream.
        while self.conv.resume_c2s {
            self.conv.resume_c2s = false;
            let c2s = &mut self.halves[0];
            if matches!(c2s.state, State::Paused) {
                c2s.state = State::Head;
            }
            let pending = c2s.pending_ts;
            feed(c2s, &mut self.conv, &[], pending, x);
            let s2c = &mut self.halves[1];
            let pending = s2c.pending_ts;
            feed(s2c, &mut self.conv, &[], pending, x);
        }
        self.conv.emit_ready(x);
    }

    /// The "client" sent a response or the "server" a request before
    /// anything else: the reassembler guessed the roles wrong. Swap them.
    fn swap_roles(&mut self, x: &mut Ctx<'_>) {
        self.conv.swap_now = false;
        self.conv.swapped = true;
        self.halves.swap(0, 1);
        self.halves[0].dir = Dir::C2s;
        self.halves[1].dir = Dir::S2c;
        let info = &mut self.conv.info;
        std::mem::swap(&mut info.client, &mut info.server);
        info.client_ip = ip_of(&info.client);
        for h in &mut self.halves {
            let pending = h.pending_ts;
            feed(h, &mut self.conv, &[], pending, x);
        }
    }

    pub fn gap(&mut self, dir: Dir, off: u64, len: u64, ts: Ts, x: &mut Ctx<'_>) {
        let slot = self.slot(dir);
        let h = &mut self.halves[slot];
        h.last_ts = h.last_ts.max(ts);
        let end = off.saturating_add(len);
        // Only the part of the gap past what this direction already has.
        let len = match h.next_off {
            Some(next) if end <= next => return,
            Some(next) => end - off.max(next),
            None => len,
        };
        x.stats.bytes_skipped += len;
        h.next_off = Some(end);
        if let Some(h2) = &mut self.conv.h2 {
            h2.gap(x);
        }
        if self.conv.mode != Mode::Http1 {
            return;
        }
        let req = h.is_request();
        let in_headers = if req {
            "gap_in_request_headers"
        } else {
            "gap_in_response_headers"
        };
        let in_body = if req {
            "gap_in_request_body"
        } else {
            "gap_in_response_body"
        };
        let state = std::mem::replace(&mut h.state, State::Resync { line_start: true });
        let buffered = !h.buf.is_empty();
        match state {
            State::Body(mut bs) => {
                let keep = match &mut bs.framing {
                    Framing::Length(rem) if len <= *rem && h.buf.is_empty() => {
                        *rem -= len;
                        true
                    }
                    Framing::Chunked(Chunk::Data(rem)) if len <= *rem && h.buf.is_empty() => {
                        *rem -= len;
                        true
                    }
                    Framing::Close => true,
                    _ => false,
                };
                bs.body.gap();
                self.conv.tx_anomaly(bs.seq, in_body, x);
                if keep {
                    let done = matches!(bs.framing, Framing::Length(0));
                    h.state = State::Body(bs);
                    if done {
                        finish_body(h, &mut self.conv, true, ts, x);
                    }
                } else {
                    h.buf.clear();
                    h.state = State::Body(bs);
                    finish_body(h, &mut self.conv, false, ts, x);
                    h.state = State::Resync { line_start: true };
                }
            }
            State::Head | State::Detect | State::Resync { .. } => {
                if buffered && matches!(state, State::Head) {
                    self.conv.note(in_headers, x);
                }
                h.buf.clear();
            }
            State::Paused => {
                h.buf.clear();
                h.state = State::Paused;
            }
        }
        self.conv.emit_ready(x);
    }

    /// Ends both streams and emits every transaction left.
    pub fn end(&mut self, x: &mut Ctx<'_>) {
        for i in 0..2 {
            let h = &mut self.halves[i];
            let ts = h.last_ts;
            if self.conv.mode == Mode::Http1 {
                let state = std::mem::replace(&mut h.state, State::Head);
                match state {
                    State::Body(bs) => {
                        let close = matches!(bs.framing, Framing::Close);
                        let seq = bs.seq;
                        h.state = State::Body(bs);
                        if !close {
                            let name = if h.is_request() {
                                "incomplete_request_body"
                            } else {
                                "incomplete_response_body"
                            };
                            self.conv.tx_anomaly(seq, name, x);
                        }
                        finish_body(h, &mut self.conv, close, ts, x);
                    }
                    State::Head if h.buf.iter().any(|b| !b.is_ascii_whitespace()) => {
                        self.conv.note("incomplete_headers", x);
                    }
                    _ => {}
                }
            }
            h.buf = Vec::new();
        }
        if let Some(mut h2) = self.conv.h2.take() {
            h2.end(x);
            for tx in std::mem::take(&mut h2.finished) {
                self.conv.emit(tx, x);
            }
        }
        self.conv.emit_all(x);
    }
}

/// Appends `data` to the direction and runs its state machine.
fn feed(h: &mut Half, c: &mut Conv, data: &[u8], ts: Ts, x: &mut Ctx<'_>) {
    if h.buf.is_empty() {
        let n = run(h, c, data, 0, ts, x);
        if let Some(rest) = data.get(n..) {
            if !rest.is_empty() {
                h.buf.extend_from_slice(rest);
                h.pending_ts = ts;
            }
        }
    } else {
        let old_len = h.buf.len();
        let mut buf = std::mem::take(&mut h.buf);
        buf.extend_from_slice(data);
        let n = run(h, c, &buf, old_len, ts, x).min(buf.len());
        if n >= old_len {
            h.pending_ts = ts;
        }
        buf.drain(..n);
        h.buf = buf;
    }
}

/// Runs a direction's state machine over `data` (the first `old_len` bytes
/// came with earlier records); returns how many bytes were consumed.
fn run(h: &mut Half, c: &mut Conv, data: &[u8], old_len: usize, ts: Ts, x: &mut Ctx<'_>) -> usize {
    let mut pos = 0usize;
    let ts_at = |p: usize, pending: Ts| if p < old_len { pending } else { ts };
    loop {
        let rest = data.get(pos..).unwrap_or_default();
        if c.mode == Mode::Http2 {
            c.h2_feed(h.is_request(), rest, ts_at(pos, h.pending_ts), x);
            return data.len();
        }
        if c.mode != Mode::Http1 {
            x.stats.bytes_skipped += rest.len() as u64;
            return data.len();
        }
        if rest.is_empty() && !matches!(h.state, State::Body(_)) {
            return pos;
        }
        match &mut h.state {
            State::Paused => {
                if rest.len() > x.cfg.max_header_bytes {
                    c.note("upgrade_not_answered", x);
                    h.state = State::Head;
                    continue;
                }
                return pos;
            }
            State::Detect => match detect(h.dir, c, rest, x) {
                Detected::NeedMore => return pos,
                Detected::Skip(n) => pos += n,
                Detected::Http => h.state = State::Head,
                // The first byte seen of a mid-stream connection starts a
                // segment: a message may well start there.
                Detected::Resync => h.state = State::Resync { line_start: true },
                Detected::Not(mode) => {
                    c.set_mode(mode, x);
                }
            },
            State::Resync { line_start } => match scan(h.dir, rest, *line_start) {
                Scan::Found(i) => {
                    x.stats.bytes_skipped += i as u64;
                    x.stats.resyncs += 1;
                    pos += i;
                    h.state = State::Head;
                    h.after_resync = true;
                }
                Scan::Keep(i, line_start) => {
                    x.stats.bytes_skipped += i as u64;
                    h.state = State::Resync { line_start };
                    return pos + i;
                }
            },
            State::Head => {
                if !h.is_request() && c.answers_http09() && !rest.starts_with(b"HTTP/") {
                    if rest.len() < 5 && b"HTTP/".starts_with(rest) {
                        return pos;
                    }
                    h.state = http09_response(c, ts_at(pos, h.pending_ts), x);
                    continue;
                }
                let blank = rest
                    .iter()
                    .take_while(|&&b| b == b'\r' || b == b'\n')
                    .count();
                if blank > 0 {
                    pos += blank;
                    continue;
                }
                let start_ts = ts_at(pos, h.pending_ts);
                let res = if rest.len() > x.cfg.max_header_bytes
                    && head_len(rest).is_none_or(|n| n > x.cfg.max_header_bytes)
                {
                    Head::Partial
                } else if h.is_request() {
                    parse_request(rest, c, start_ts, x)
                } else {
                    parse_response(rest, c, start_ts, x)
                };
                match res {
                    Head::Partial => {
                        if rest.len() > x.cfg.max_header_bytes {
                            c.note("header_too_large", x);
                            h.state = State::Resync { line_start: false };
                            pos += 1;
                            continue;
                        }
                        return pos;
                    }
                    Head::Bad(why) => {
                        if !h.after_resync {
                            c.note(why, x);
                        }
                        h.after_resync = false;
                        h.state = State::Resync { line_start: false };
                        x.stats.bytes_skipped += 1;
                        pos += 1;
                    }
                    Head::Done(n, next) => {
                        h.after_resync = false;
                        pos += n;
                        h.state = next;
                        if c.resume_c2s {
                            // Let the client stream catch up first.
                            return pos;
                        }
                    }
                }
            }
            State::Body(bs) => {
                let (n, done) = body_step(bs, rest, c, x);
                pos += n;
                match done {
                    Step::More => return pos,
                    Step::Continue => {}
                    Step::Done => {
                        finish_body(h, c, true, ts_at(pos.saturating_sub(1), h.pending_ts), x);
                    }
                    Step::Lost => {
                        finish_body(h, c, false, ts_at(pos.saturating_sub(1), h.pending_ts), x);
                        h.state = State::Resync { line_start: false };
                    }
                }
            }
        }
    }
}

enum Detected {
    NeedMore,
    Skip(usize),
    Http,
    Resync,
    Not(Mode),
}

/// Marks a mid-stream direction that is plainly TLS or SSH.
fn detect_non_http(_dir: Dir, bytes: &[u8], c: &mut Conv, x: &mut Ctx<'_>) {
    let tls = matches!(bytes, [t, 3, ..] if (0x14..=0x17).contains(t));
    if tls || bytes.starts_with(b"SSH-") {
        c.set_mode(Mode::NotHttp, x);
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Recognises what a stream starts with.
fn detect(dir: Dir, c: &mut Conv, rest: &[u8], x: &mut Ctx<'_>) -> Detected {
    if dir == Dir::C2s && !c.proxy_checked {
        match realip::parse_proxy(rest) {
            Proxy::Incomplete => return Detected::NeedMore,
            Proxy::Header { len, src } => {
                c.proxy_checked = true;
                c.proxy = src;
                return Detected::Skip(len);
            }
            Proxy::Bad { len, why } => {
                c.proxy_checked = true;
                c.note(why, x);
                return Detected::Skip(len);
            }
            Proxy::Absent => c.proxy_checked = true,
        }
    }
    let Some(&first) = rest.first() else {
        return Detected::NeedMore;
    };
    if (0x14..=0x17).contains(&first) {
        // A TLS record (or some other binary protocol): not HTTP either way.
        return Detected::Not(Mode::NotHttp);
    }
    for (sig, mode) in [
        (&b"SSH-"[..], Mode::NotHttp),
        (&b"PRI * HTTP/2.0\r\n"[..], Mode::Http2),
    ] {
        if rest.starts_with(sig) {
            return Detected::Not(mode);
        }
        if rest.len() < sig.len() && sig.starts_with(rest) {
            return Detected::NeedMore;
        }
    }
    if !c.swapped && !c.server_side && c.next_seq == 0 {
        // Roles reversed? A response from the "client", a request from the "server".
        let (theirs, ours): (&[&[u8]], &[&[u8]]) = match dir {
            Dir::C2s => (&[b"HTTP/1."], METHODS),
            Dir::S2c => (METHODS, &[b"HTTP/1."]),
        };
        let full = |m: &&[u8]| {
            rest.starts_with(m) && (dir == Dir::C2s || rest.get(m.len()) == Some(&b' '))
        };
        if theirs.iter().any(full) {
            c.swap_now = true;
            return Detected::NeedMore;
        }
        let prefix = |m: &&[u8]| rest.len() <= m.len() && m.starts_with(rest);
        if theirs.iter().any(prefix) && !ours.iter().any(prefix) && rest.len() < 8 {
            return Detected::NeedMore;
        }
    }
    if dir == Dir::S2c && !c.info.midstream {
        // An HTTP/2 server may send its SETTINGS before we see the client preface.
        if let Some(h) = rest.get(..9) {
            let len = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
            if h[3] == 4 && h[4] == 0 && h[5..9] == [0, 0, 0, 0] && len % 6 == 0 {
                return Detected::Not(Mode::Http2);
            }
        } else if rest.first() == Some(&0) {
            return Detected::NeedMore;
        }
    }
    if c.info.midstream {
        return Detected::Resync;
    }
    if dir == Dir::C2s {
        let body = rest
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .and_then(|i| rest.get(i..))
            .unwrap_or_default();
        for (i, &b) in body.iter().take(32).enumerate() {
            if b == b' ' && i > 0 {
                return Detected::Http;
            }
            if !is_tchar(b) {
                return Detected::Not(Mode::NotHttp);
            }
        }
        if body.len() >= 32 {
            Detected::Not(Mode::NotHttp)
        } else {
            Detected::NeedMore
        }
    } else if rest.starts_with(b"HTTP/") || c.answers_http09() {
        Detected::Http
    } else if rest.len() < 5 && b"HTTP/".starts_with(rest) {
        Detected::NeedMore
    } else {
        Detected::Not(Mode::NotHttp)
    }
}

enum Scan {
    /// A message starts at this index.
    Found(usize),
    /// Nothing yet: drop the bytes before this index; the flag says whether
    /// the kept bytes start a line.
    Keep(usize, bool),
}

/// Looks for a plausible start line: `METHOD target HTTP/1.x` with a known
/// method (at the start of a line, or right after other bytes when the
/// target is an origin-form path), or `HTTP/1.x NNN `.
fn scan(dir: Dir, rest: &[u8], line_start: bool) -> Scan {
    let at_line = |i: usize| {
        if i == 0 {
            line_start
        } else {
            rest.get(i - 1) == Some(&b'\n')
        }
    };
    if dir == Dir::C2s {
        for j in memmem::find_iter(rest, b" HTTP/1.") {
            let head = rest.get(..j).unwrap_or_default();
            let ls = memchr::memrchr(b'\n', head).map_or(0, |i| i + 1);
            let line = rest.get(ls..j).unwrap_or_default();
            let Some(sp) = memchr::memrchr(b' ', line) else {
                continue;
            };
            let before = line.get(..sp).unwrap_or_default();
            let target = line.get(sp + 1..).unwrap_or_default();
            if target.is_empty() {
                continue;
            }
            for m in METHODS {
                if !before.ends_with(m) {
                    continue;
                }
                let k = before.len() - m.len();
                if k == 0 && at_line(ls) || k > 0 && target.first() == Some(&b'/') {
                    return Scan::Found(ls + k);
                }
            }
        }
        let last = memchr::memrchr(b'\n', rest).map_or(0, |i| i + 1);
        if rest.len() - last <= MAX_RESYNC_LINE {
            Scan::Keep(last, at_line(last))
        } else {
            let k = rest.len().saturating_sub(MAX_RESYNC_LINE / 2);
            Scan::Keep(k, at_line(k))
        }
    } else {
        for j in memmem::find_iter(rest, b"HTTP/1.") {
            let tail = rest.get(j + 7..).unwrap_or_default();
            if tail.len() < 6 {
                return Scan::Keep(j, at_line(j));
            }
            if tail[0].is_ascii_digit()
                && tail[1] == b' '
                && tail[2..5].iter().all(u8::is_ascii_digit)
                && matches!(tail[5], b' ' | b'\r' | b'\n')
            {
                return Scan::Found(j);
            }
        }
        let k = rest.len().saturating_sub(7);
        Scan::Keep(k, at_line(k))
    }
}

enum Head {
    Partial,
    Bad(&'static str),
    /// Head of `n` bytes parsed; the state to go to.
    Done(usize, State),
}

fn header_pairs(headers: &[httparse::Header<'_>]) -> Vec<Header> {
    let mut out = Vec::new();
    pool::fill_headers(&mut out, headers, None);
    out
}

fn version(v: Option<u8>) -> String {
    pool::version(v).to_owned()
}

fn values<'a>(headers: &'a [Header], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// How a message's body is delimited, from its headers.
enum Delim {
    None,
    Length(u64),
    Chunked,
    Close,
}

/// Framing per RFC 9112 section 6.3, as common servers apply it; smuggling
/// indicators noted.
fn delimit(headers: &[Header], is_request: bool, anomalies: &mut Vec<&'static str>) -> Delim {
    // One pass, no allocation: what Transfer-Encoding and Content-Length say.
    let (mut has_te, mut chunked_count, mut last_chunked) = (false, 0usize, false);
    let (mut has_cl, mut cl_count, mut bad_cl, mut differ) = (false, 0usize, false, false);
    let mut first_cl: Option<u64> = None;
    for (name, value) in headers {
        if super::name_is(name, super::TRANSFER_ENCODING) {
            has_te = true;
            for t in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                last_chunked = t.eq_ignore_ascii_case("chunked");
                chunked_count += usize::from(last_chunked);
            }
        } else if super::name_is(name, super::CONTENT_LENGTH) {
            has_cl = true;
            let mut token = |t: &str| {
                cl_count += 1;
                let n = (!t.is_empty() && t.len() <= 19 && t.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| t.parse::<u64>().ok())
                    .flatten();
                match (n, first_cl) {
                    (None, _) => bad_cl = true,
                    (Some(n), None) => first_cl = Some(n),
                    (Some(n), Some(f)) => differ |= n != f,
                }
            };
            if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                // The usual value: one token, nothing to split or trim.
                token(value);
            } else {
                value.split(',').map(str::trim).for_each(token);
            }
        }
    }
    let unframed = if is_request {
        Delim::None
    } else {
        Delim::Close
    };
    if has_te {
        if has_cl {
            anomalies.push("cl_te_conflict");
        }
        if chunked_count > 1 || !last_chunked {
            anomalies.push("bad_transfer_encoding");
        }
        return if last_chunked {
            Delim::Chunked
        } else {
            unframed
        };
    }
    if !has_cl {
        return unframed;
    }
    if cl_count > 1 {
        anomalies.push("duplicate_content_length");
    }
    if bad_cl {
        anomalies.push("bad_content_length");
    }
    if differ {
        anomalies.push("conflicting_content_length");
    }
    match first_cl {
        Some(0) => Delim::None,
        Some(n) => Delim::Length(n),
        None => unframed,
    }
}

/// Builds the body state of a message that has one.
fn body_state(
    delim: Delim,
    headers: &[Header],
    seq: u64,
    pause_after: bool,
    anomalies: &mut Vec<&'static str>,
    x: &mut Ctx<'_>,
) -> Option<Box<BodyState>> {
    let framing = match delim {
        Delim::None => return None,
        Delim::Length(n) => Framing::Length(n),
        Delim::Chunked => Framing::Chunked(Chunk::Size),
        Delim::Close => Framing::Close,
    };
    let limits = x.cfg.limits();
    let codings = headers
        .iter()
        .filter(|(n, _)| super::name_is(n, super::CONTENT_ENCODING))
        .map(|(_, v)| v.as_str());
    let mut body = match parse_codings(codings) {
        Ok(codings) => Body::new(&codings, limits),
        Err(why) => {
            anomalies.push(why);
            Body::undecoded(limits)
        }
    };
    if let Framing::Length(n) = framing {
        body.expect(n);
    }
    Some(Box::new(BodyState {
        framing,
        body,
        seq,
        trailers: Vec::new(),
        pause_after,
    }))
}

/// The header lines of a parsed head (`buf[..n]`, from the first header
/// name on) as text when they are UTF-8: one check for all the values
/// instead of one per value (see [`pool::fill_headers`]). The start line is
/// left out: httparse hands its parts over as text already, and a request
/// target can be most of a head. `None` (each value then checked on its
/// own) when they are not UTF-8 or the first name is not in `buf[..n]`.
pub(super) fn header_text<'a>(
    buf: &'a [u8],
    n: usize,
    headers: &[httparse::Header<'_>],
) -> Option<&'a str> {
    let start = headers.first().map_or(n, |h| {
        (h.name.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize)
    });
    buf.get(start..n).and_then(|b| std::str::from_utf8(b).ok())
}

fn parse_request(buf: &[u8], c: &mut Conv, ts: Ts, x: &mut Ctx<'_>) -> Head {
    let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS_LIMIT];
    let slots = slots.get_mut(..x.cfg.max_headers).unwrap_or_default();
    let mut req = httparse::Request::new(&mut []);
    let mut anomalies = Vec::new();
    let (n, seq) = match httparse::ParserConfig::default()
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .parse_request_with_uninit_headers(&mut req, buf, slots)
    {
        Ok(httparse::Status::Complete(n)) => {
            let (Some(method), Some(uri)) = (req.method, req.path) else {
                return Head::Bad("bad_request_line");
            };
            let head = header_text(buf, n, req.headers);
            // Filled where the record will carry it.
            let seq = c.open_request(ts, x, |slot, pool| {
                pool.request_into(slot, method, uri, req.version, req.headers, head);
            });
            (n, seq)
        }
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(httparse::Error::TooManyHeaders) => return skip_head(buf, "too_many_headers"),
        // A raw space in the target ends it early for httparse, which then
        // finds no version (Mirai-style `GET /x?a+ http://h/y HTTP/1.1`).
        Err(httparse::Error::Token | httparse::Error::Version) => {
            match lenient_request(buf, x.cfg.max_headers) {
                Lenient::Done(n, request) => {
                    anomalies.push("invalid_uri_bytes");
                    (n, c.new_request(request, ts, x))
                }
                Lenient::Partial => return Head::Partial,
                Lenient::Bad => match simple_request(buf) {
                    Some((n, request)) => return http09_request(n, request, c, ts, x),
                    None => return Head::Bad("bad_request_line"),
                },
            }
        }
        Err(_) => return Head::Bad("bad_request_line"),
    };
    let Some(tx) = c.tx_mut(seq) else {
        return Head::Done(n, State::Head);
    };
    let Some(request) = &tx.rec.request else {
        return Head::Done(n, State::Head);
    };
    let headers = &request.headers;
    tx.is_head = request.method.eq_ignore_ascii_case("HEAD");
    tx.is_connect = request.method.eq_ignore_ascii_case("CONNECT");
    tx.upgrade = values(headers, "upgrade")
        .next()
        .map(|v| v.trim().to_ascii_lowercase());
    let pause = tx.is_connect || tx.upgrade.is_some();
    let delim = if tx.is_connect {
        Delim::None
    } else {
        delimit(headers, true, &mut anomalies)
    };
    let bs = body_state(delim, headers, seq, pause, &mut anomalies, x);
    for a in anomalies {
        c.tx_anomaly(seq, a, x);
    }
    match bs {
        Some(bs) => {
            if let Some(tx) = c.tx_mut(seq) {
                tx.req_done = false;
            }
            Head::Done(n, State::Body(bs))
        }
        None => Head::Done(n, if pause { State::Paused } else { State::Head }),
    }
}

/// An HTTP/0.9 simple request (RFC 1945 section 4.1): `GET target` and a line
/// end, no version, no headers. Servers still answer it (Apache's default
/// `Allow0.9`), so a scanner can send its payload that way to slip past a
/// sensor that only knows HTTP/1.x. The target is kept as `lenient_request`
/// keeps one; only `GET` and an origin- or absolute-form target qualify.
fn simple_request(buf: &[u8]) -> Option<(usize, HttpRequest)> {
    let nl = memchr::memchr(b'\n', buf)?;
    let line = buf.get(..nl)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let target = line.strip_prefix(b"GET ")?.trim_ascii();
    let origin = target.first() == Some(&b'/');
    let absolute = memmem::find(target, b"://").is_some_and(|i| i > 0);
    if !(origin || absolute) || target.contains(&b' ') {
        return None;
    }
    let uri = escaped_target(target);
    let request = HttpRequest {
        method: "GET".to_owned(),
        uri,
        version: "HTTP/0.9".to_owned(),
        headers: Vec::new(),
        body_len: 0,
        body: Vec::new(),
        truncated: false,
        trailers: Vec::new(),
    };
    Some((nl + 1, request))
}

/// Queues an HTTP/0.9 request; the server's answer is read by
/// [`http09_response`].
fn http09_request(n: usize, request: HttpRequest, c: &mut Conv, ts: Ts, x: &mut Ctx<'_>) -> Head {
    let seq = c.new_request(request, ts, x);
    c.tx_anomaly(seq, "http09_request", x);
    if let Some(tx) = c.tx_mut(seq) {
        tx.http09 = true;
    }
    Head::Done(n, State::Head)
}

/// The answer to an HTTP/0.9 request: no status line and no headers, the
/// body runs to the end of the connection. Kept as status 0, version
/// `HTTP/0.9`, so the response checks and the attack outcome see it.
fn http09_response(c: &mut Conv, ts: Ts, x: &mut Ctx<'_>) -> State {
    let response = HttpResponse {
        status: 0,
        reason: String::new(),
        version: "HTTP/0.9".to_owned(),
        headers: Vec::new(),
        body_len: 0,
        body: Vec::new(),
        truncated: false,
        trailers: Vec::new(),
    };
    let seq = c.claim_response(response, ts, x);
    // No headers, so no content-coding anomalies to pass on.
    let mut anomalies = Vec::new();
    match body_state(Delim::Close, &[], seq, false, &mut anomalies, x) {
        Some(bs) => {
            if let Some(tx) = c.tx_mut(seq) {
                tx.resp_done = false;
            }
            State::Body(bs)
        }
        None => State::Head,
    }
}

/// A request target as text: printable ASCII kept, any other byte
/// percent-encoded (`%0A`, `%FF`).
fn escaped_target(target: &[u8]) -> String {
    let mut uri = String::with_capacity(target.len() + 8);
    for &b in target {
        if (0x21..=0x7e).contains(&b) {
            uri.push(char::from(b));
        } else {
            let _ = write!(uri, "%{b:02X}");
        }
    }
    uri
}

/// The outcome of a lenient parse, after `httparse` refused a head.
enum Lenient<T> {
    Partial,
    Bad,
    Done(usize, T),
}

/// A request line `httparse` refuses only for its target (raw bytes that are
/// not UTF-8, control characters, spaces): attack traffic does that on
/// purpose, and servers often accept it. The target runs from the first space
/// to the last, and is kept with such bytes percent-encoded.
fn lenient_request(buf: &[u8], max_headers: usize) -> Lenient<HttpRequest> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        return Lenient::Partial;
    };
    let line = buf.get(..nl).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (Some(sp1), Some(sp2)) = (memchr::memchr(b' ', line), memchr::memrchr(b' ', line)) else {
        return Lenient::Bad;
    };
    let method = line.get(..sp1).unwrap_or_default();
    let target = line.get(sp1 + 1..sp2).unwrap_or_default().trim_ascii();
    let ver = match line.get(sp2 + 1..) {
        Some(b"HTTP/1.1") => Some(1),
        Some(b"HTTP/1.0") => Some(0),
        _ => return Lenient::Bad,
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) || target.is_empty() {
        return Lenient::Bad;
    }
    let uri = escaped_target(target);
    let mut slots = vec![httparse::EMPTY_HEADER; max_headers];
    let rest = buf.get(nl + 1..).unwrap_or_default();
    match httparse::parse_headers(rest, &mut slots) {
        Ok(httparse::Status::Complete((n, hs))) => Lenient::Done(
            nl + 1 + n,
            HttpRequest {
                method: String::from_utf8_lossy(method).into_owned(),
                uri,
                version: version(ver),
                headers: header_pairs(hs),
                body_len: 0,
                body: Vec::new(),
                truncated: false,
                trailers: Vec::new(),
            },
        ),
        Ok(httparse::Status::Partial) => Lenient::Partial,
        Err(_) => Lenient::Bad,
    }
}

/// A status line whose code is not three digits (`HTTP/1.0 2XX OK`): kept
/// with status 0, the code text in front of the reason.
fn lenient_response(buf: &[u8], max_headers: usize) -> Lenient<HttpResponse> {
    let Some(nl) = memchr::memchr(b'\n', buf) else {
        return Lenient::Partial;
    };
    let line = buf.get(..nl).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let ver = match line.get(..8) {
        Some(b"HTTP/1.1") => Some(1),
        Some(b"HTTP/1.0") => Some(0),
        _ => return Lenient::Bad,
    };
    let rest = String::from_utf8_lossy(line.get(8..).unwrap_or_default());
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Lenient::Bad;
    }
    let mut slots = vec![httparse::EMPTY_HEADER; max_headers];
    match httparse::parse_headers(buf.get(nl + 1..).unwrap_or_default(), &mut slots) {
        Ok(httparse::Status::Complete((n, hs))) => Lenient::Done(
            nl + 1 + n,
            HttpResponse {
                status: 0,
                reason: rest.to_string(),
                version: version(ver),
                headers: header_pairs(hs),
                body_len: 0,
                body: Vec::new(),
                truncated: false,
                trailers: Vec::new(),
            },
        ),
        Ok(httparse::Status::Partial) => Lenient::Partial,
        Err(_) => Lenient::Bad,
    }
}

/// Length of the header block at the start of `buf`, when its end is in view.
fn head_len(buf: &[u8]) -> Option<usize> {
    let crlf = memmem::find(buf, b"\r\n\r\n").map(|i| i + 4);
    let lf = memmem::find(buf, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A head over `max_headers`: skip it whole when its end is in view.
fn skip_head(buf: &[u8], why: &'static str) -> Head {
    match memmem::find(buf, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| memmem::find(buf, b"\n\n").map(|i| i + 2))
    {
        Some(_) => Head::Bad(why),
        None => Head::Partial,
    }
}

fn parse_response(buf: &[u8], c: &mut Conv, ts: Ts, x: &mut Ctx<'_>) -> Head {
    let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); MAX_HEADERS_LIMIT];
    let slots = slots.get_mut(..x.cfg.max_headers).unwrap_or_default();
    let mut resp = httparse::Response::new(&mut []);
    let mut lenient = None;
    let (n, seq, status) = match httparse::ParserConfig::default()
        .allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_responses(true)
        .parse_response_with_uninit_headers(&mut resp, buf, slots)
    {
        Ok(httparse::Status::Complete(n)) => {
            let Some(status) = resp.code else {
                return Head::Bad("bad_status_line");
            };
            if is_interim(status) {
                interim(c, status, x);
                return Head::Done(n, State::Head);
            }
            let reason = resp.reason.unwrap_or_default();
            let head = header_text(buf, n, resp.headers);
            // Filled where the record will carry it.
            let seq = c.claim(ts, x, |slot, pool| {
                pool.response_into(slot, status, reason, resp.version, resp.headers, head);
            });
            (n, seq, status)
        }
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(httparse::Error::TooManyHeaders) => return skip_head(buf, "too_many_headers"),
        Err(httparse::Error::Status) => match lenient_response(buf, x.cfg.max_headers) {
            Lenient::Done(n, r) => {
                let status = r.status;
                if is_interim(status) {
                    interim(c, status, x);
                    return Head::Done(n, State::Head);
                }
                lenient = Some("invalid_status_code");
                (n, c.claim_response(r, ts, x), status)
            }
            Lenient::Partial => return Head::Partial,
            Lenient::Bad => return Head::Bad("bad_status_line"),
        },
        Err(_) => return Head::Bad("bad_status_line"),
    };
    if let Some(a) = lenient {
        c.tx_anomaly(seq, a, x);
    }
    let Some(tx) = c.tx_mut(seq) else {
        return Head::Done(n, State::Head);
    };
    let success = (200..300).contains(&status);
    let switched = status == 101 && tx.upgrade.is_some() || tx.is_connect && success;
    let pausing = tx.is_connect || tx.upgrade.is_some();
    let no_body =
        tx.is_head || status == 204 || status == 304 || status == 101 || tx.is_connect && success;
    let h2 = tx.upgrade.as_deref().is_some_and(|u| u.contains("h2c"));
    if switched && h2 && status == 101 {
        // The upgrade request becomes HTTP/2 stream 1; its response comes there.
        let front = c.txs.front().map_or(0, |t| t.seq);
        let upgraded = seq
            .checked_sub(front)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| c.txs.remove(i))
            .map(|mut tx| {
                tx.interim.push(101);
                tx.rec.response = None;
                tx.resp_claimed = false;
                tx.resp_done = false;
                tx
            });
        c.set_mode(Mode::Http2, x);
        c.h2 = Some(Box::new(H2Conn::new(upgraded)));
        c.resume_c2s = true;
        return Head::Done(n, State::Head);
    }
    if switched {
        tx.resp_done = true;
        tx.ts_end = tx.ts_end.max(ts);
        c.set_mode(Mode::Tunnel, x);
        return Head::Done(n, State::Head);
    }
    let Some(headers) = tx.rec.response.as_ref().map(|r| &r.headers) else {
        return Head::Done(n, State::Head);
    };
    let mut anomalies = Vec::new();
    let delim = if no_body {
        Delim::None
    } else {
        delimit(headers, false, &mut anomalies)
    };
    let bs = body_state(delim, headers, seq, false, &mut anomalies, x);
    if pausing {
        c.resume_c2s = true;
    }
    for a in anomalies {
        c.tx_anomaly(seq, a, x);
    }
    match bs {
        Some(bs) => Head::Done(n, State::Body(bs)),
        None => {
            if let Some(tx) = c.tx_mut(seq) {
                tx.resp_done = true;
                tx.ts_end = tx.ts_end.max(ts);
            }
            c.emit_ready(x);
            Head::Done(n, State::Head)
        }
    }
}

/// An interim (1xx) status other than 101: no final response.
fn is_interim(status: u16) -> bool {
    (100..200).contains(&status) && status != 101
}

/// An interim response: noted on the oldest unanswered request.
fn interim(c: &mut Conv, status: u16, x: &mut Ctx<'_>) {
    match c.txs.iter_mut().find(|t| !t.resp_claimed) {
        Some(tx) => {
            if tx.interim.len() < 8 {
                tx.interim.push(status);
            }
            if status == 100 {
                tx.anomaly("expect_100_interim");
                *x.stats.anomalies.entry("expect_100_interim").or_default() += 1;
            }
        }
        None => c.note("interim_without_request", x),
    }
}

enum Step {
    /// Need more bytes.
    More,
    /// Progress made; run again.
    Continue,
    /// The body ended.
    Done,
    /// Framing broke; the message ends here and the stream must resync.
    Lost,
}

/// Parses a hex chunk size from a chunk-size line (extensions ignored).
fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let end = line.iter().position(|&b| b == b';').unwrap_or(line.len());
    let hex = line.get(..end)?.trim_ascii();
    if hex.is_empty() || hex.len() > 15 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in hex {
        let d = (b as char).to_digit(16)?;
        n = n * 16 + u64::from(d);
    }
    Some(n)
}

fn body_step(bs: &mut BodyState, rest: &[u8], c: &mut Conv, x: &mut Ctx<'_>) -> (usize, Step) {
    match &mut bs.framing {
        Framing::Length(rem) => {
            let take = (*rem).min(rest.len() as u64) as usize;
            bs.body.push(rest.get(..take).unwrap_or_default());
            *rem -= take as u64;
            (take, if *rem == 0 { Step::Done } else { Step::More })
        }
        Framing::Close => {
            bs.body.push(rest);
            (rest.len(), Step::More)
        }
        Framing::Chunked(st) => match st {
            Chunk::Size => {
                let window = rest
                    .get(..rest.len().min(MAX_CHUNK_LINE))
                    .unwrap_or_default();
                let Some(nl) = memchr::memchr(b'\n', window) else {
                    if rest.len() >= MAX_CHUNK_LINE {
                        c.tx_anomaly(bs.seq, "bad_chunk_size", x);
                        return (0, Step::Lost);
                    }
                    return (0, Step::More);
                };
                match chunk_size(window.get(..nl).unwrap_or_default()) {
                    Some(0) => *st = Chunk::Trailers,
                    Some(n) => *st = Chunk::Data(n),
                    None => {
                        c.tx_anomaly(bs.seq, "bad_chunk_size", x);
                        return (0, Step::Lost);
                    }
                }
                (nl + 1, Step::Continue)
            }
            Chunk::Data(rem) => {
                let take = (*rem).min(rest.len() as u64) as usize;
                bs.body.push(rest.get(..take).unwrap_or_default());
                *rem -= take as u64;
                if *rem == 0 {
                    *st = Chunk::DataEnd;
                    (take, Step::Continue)
                } else {
                    (take, Step::More)
                }
            }
            Chunk::DataEnd => {
                if rest.starts_with(b"\r\n") {
                    *st = Chunk::Size;
                    (2, Step::Continue)
                } else if rest.starts_with(b"\n") {
                    *st = Chunk::Size;
                    (1, Step::Continue)
                } else if rest.is_empty() || rest == b"\r" {
                    (0, Step::More)
                } else {
                    c.tx_anomaly(bs.seq, "bad_chunk_terminator", x);
                    *st = Chunk::Size;
                    (0, Step::Continue)
                }
            }
            Chunk::Trailers => {
                if rest.starts_with(b"\r\n") {
                    return (2, Step::Done);
                }
                if rest.starts_with(b"\n") {
                    return (1, Step::Done);
                }
                if rest.is_empty() || rest == b"\r" {
                    return (0, Step::More);
                }
                let mut slots = [httparse::EMPTY_HEADER; 64];
                match httparse::parse_headers(rest, &mut slots) {
                    Ok(httparse::Status::Complete((n, hs))) => {
                        bs.trailers = header_pairs(hs);
                        (n, Step::Done)
                    }
                    Ok(httparse::Status::Partial) if rest.len() <= x.cfg.max_header_bytes => {
                        (0, Step::More)
                    }
                    _ => {
                        c.tx_anomaly(bs.seq, "bad_trailer", x);
                        (0, Step::Lost)
                    }
                }
            }
        },
    }
}

/// Ends the body of the direction's current message and files it.
fn finish_body(h: &mut Half, c: &mut Conv, complete: bool, ts: Ts, x: &mut Ctx<'_>) {
    let State::Body(mut bs) = std::mem::replace(&mut h.state, State::Head) else {
        return;
    };
    // Read where it lies: moving the state out of its box copied it whole.
    let (seq, pause_after) = (bs.seq, bs.pause_after);
    let trailers = std::mem::take(&mut bs.trailers);
    let decoded = bs.body.finish_in_place(complete);
    drop(bs);
    if let Some(a) = decoded.anomaly {
        c.tx_anomaly(seq, a, x);
    }
    if let Some(tx) = c.tx_mut(seq) {
        tx.ts_end = tx.ts_end.max(ts);
        if h.is_request() {
            if let Some(r) = &mut tx.rec.request {
                r.body = decoded.body;
                r.body_len = decoded.body_len;
                r.truncated = decoded.truncated;
                r.trailers = trailers;
            }
            tx.req_done = true;
        } else {
            if let Some(r) = &mut tx.rec.response {
                r.body = decoded.body;
                r.body_len = decoded.body_len;
                r.truncated = decoded.truncated;
                r.trailers = trailers;
            }
            tx.resp_done = true;
        }
    }
    if pause_after && complete {
        h.state = State::Paused;
    }
    c.emit_ready(x);
}

impl Conv {
    /// Hands bytes of a connection that speaks HTTP/2 to its parser and
    /// emits the streams that finished.
    fn h2_feed(&mut self, request_side: bool, data: &[u8], ts: Ts, x: &mut Ctx<'_>) {
        let Some(mut h2) = self.h2.take() else {
            x.stats.bytes_skipped += data.len() as u64;
            return;
        };
        let peer = self.proxy.map(|p| p.ip()).or(self.info.client_ip);
        h2.feed(request_side, data, ts, peer, &mut self.next_seq, x);
        for tx in std::mem::take(&mut h2.finished) {
            self.emit(tx, x);
        }
        self.h2 = Some(h2);
    }

    fn set_mode(&mut self, mode: Mode, x: &mut Ctx<'_>) {
        if self.mode != Mode::Http1 {
            return;
        }
        self.mode = mode;
        if mode == Mode::Http2 && self.h2.is_none() {
            self.h2 = Some(Box::new(H2Conn::new(None)));
        }
        match mode {
            Mode::NotHttp => x.stats.non_http += 1,
            Mode::Tunnel => x.stats.tunnels += 1,
            Mode::Http2 => x.stats.http2 += 1,
            Mode::Http1 => {}
        }
    }

    /// An anomaly outside any transaction: counted, and put on the next one.
    fn note(&mut self, name: &'static str, x: &mut Ctx<'_>) {
        *x.stats.anomalies.entry(name).or_default() += 1;
        if !self.pending.contains(&name) {
            self.pending.push(name);
        }
    }

    fn tx_anomaly(&mut self, seq: u64, name: &'static str, x: &mut Ctx<'_>) {
        *x.stats.anomalies.entry(name).or_default() += 1;
        match self.tx_mut(seq) {
            Some(tx) => tx.anomaly(name),
            None => {
                if !self.pending.contains(&name) {
                    self.pending.push(name);
                }
            }
        }
    }

    /// The next response due answers an HTTP/0.9 request.
    fn answers_http09(&self) -> bool {
        self.txs
            .iter()
            .find(|t| !t.resp_claimed)
            .is_some_and(|t| t.http09)
    }

    fn tx_mut(&mut self, seq: u64) -> Option<&mut Tx> {
        let front = self.txs.front()?.seq;
        let i = usize::try_from(seq.checked_sub(front)?).ok()?;
        self.txs.get_mut(i).filter(|t| t.seq == seq)
    }

    fn new_tx(&mut self, ts: Ts, x: &mut Ctx<'_>) -> u64 {
        if self.txs.len() >= x.cfg.max_queue {
            x.stats.queue_overflows += 1;
            if let Some(mut tx) = self.txs.pop_front() {
                tx.anomaly("request_queue_overflow");
                *x.stats
                    .anomalies
                    .entry("request_queue_overflow")
                    .or_default() += 1;
                self.emit(tx, x);
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        // Pushed as built: building it aside first (to add the pending
        // anomalies) cost a second copy of its few hundred bytes.
        self.txs.push_back(Tx::new(seq, ts, x.pool.shell()));
        if let Some(tx) = self.txs.back_mut() {
            for a in self.pending.drain(..) {
                tx.anomaly(a);
            }
        }
        seq
    }

    fn new_request(&mut self, req: HttpRequest, ts: Ts, x: &mut Ctx<'_>) -> u64 {
        self.open_request(ts, x, |slot, _| *slot = Some(req))
    }

    /// Opens a transaction for a request that `fill` puts in its slot (in
    /// place, from the pool), and resolves the client's address from it.
    fn open_request(
        &mut self,
        ts: Ts,
        x: &mut Ctx<'_>,
        fill: impl FnOnce(&mut Option<HttpRequest>, &mut pool::Pool),
    ) -> u64 {
        let peer = self.proxy.map(|p| p.ip()).or(self.info.client_ip);
        let seq = self.new_tx(ts, x);
        if let Some(tx) = self.tx_mut(seq) {
            fill(&mut tx.rec.request, x.pool);
            tx.real_ip = peer
                .zip(tx.rec.request.as_ref())
                .map(|(p, req)| realip::resolve(&x.cfg.real_ip, p, &req.headers));
        }
        seq
    }

    /// Pairs a final response with the oldest unanswered request, or opens a
    /// transaction of its own.
    fn claim_response(&mut self, resp: HttpResponse, ts: Ts, x: &mut Ctx<'_>) -> u64 {
        self.claim(ts, x, |slot, _| *slot = Some(resp))
    }

    /// [`Conv::claim_response`] with the response `fill` puts in the
    /// transaction's slot (in place, from the pool).
    fn claim(
        &mut self,
        ts: Ts,
        x: &mut Ctx<'_>,
        fill: impl FnOnce(&mut Option<HttpResponse>, &mut pool::Pool),
    ) -> u64 {
        if let Some(tx) = self.txs.iter_mut().find(|t| !t.resp_claimed) {
            tx.resp_claimed = true;
            fill(&mut tx.rec.response, x.pool);
            tx.ts_end = tx.ts_end.max(ts);
            return tx.seq;
        }
        let seq = self.new_tx(ts, x);
        self.tx_anomaly(seq, "response_without_request", x);
        if let Some(tx) = self.tx_mut(seq) {
            tx.resp_claimed = true;
            fill(&mut tx.rec.response, x.pool);
        }
        seq
    }

    /// Emits the transactions at the front of the queue that are complete.
    fn emit_ready(&mut self, x: &mut Ctx<'_>) {
        while self.txs.front().is_some_and(|t| t.req_done && t.resp_done) {
            if let Some(tx) = self.txs.pop_front() {
                self.emit(tx, x);
            }
        }
    }

    fn emit_all(&mut self, x: &mut Ctx<'_>) {
        while let Some(tx) = self.txs.pop_front() {
            self.emit(tx, x);
        }
    }

    fn emit(&mut self, tx: Tx, x: &mut Ctx<'_>) {
        let st = &mut *x.stats;
        st.transactions += 1;
        match (&tx.rec.request, &tx.rec.response) {
            (Some(_), Some(_)) => st.paired += 1,
            (Some(_), None) => st.unpaired_requests += 1,
            (None, _) => st.unpaired_responses += 1,
        }
        let base = self.proxy.map(|p| p.ip()).or(self.info.client_ip);
        // A record the caller handed back, refilled in place (see `pool`),
        // its request and response already in it.
        let mut rec = tx.rec;
        rec.real_ip.clear();
        match tx.real_ip.or(base) {
            Some(ip) => match &self.base_ip {
                Some((b, text)) if *b == ip => rec.real_ip.push_str(text),
                _ => {
                    let _ = write!(rec.real_ip, "{ip}");
                    if Some(ip) == base {
                        self.base_ip = Some((ip, rec.real_ip.clone()));
                    }
                }
            },
            None => rec.real_ip.push_str(&self.info.client),
        }
        rec.ts = tx.ts;
        rec.ts_end = tx.ts_end.max(tx.ts);
        pool::set(&mut rec.flow, &self.info.flow);
        pool::set(&mut rec.community_id, &self.info.community_id);
        rec.seq = tx.seq;
        pool::set(&mut rec.client, &self.info.client);
        pool::set(&mut rec.server, &self.info.server);
        rec.tunnel.clone_from(&self.info.tunnel);
        pool::fill_names(&mut rec.anomalies, &tx.anomalies);
        pool::fill_display(&mut rec.proxy, self.proxy);
        rec.interim = tx.interim;
        (x.out)(rec);
    }
}
