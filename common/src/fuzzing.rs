//! Fuzz entry points: one function per target of `fuzz/fuzz_targets/`, each
//! driving a real parser entry point with arbitrary bytes and asserting the
//! invariants that are cheap to check. Not an API: the fuzz targets are one
//! call each, and [`tests`] replays every committed crash input under
//! `fuzz/regressions/<target>/` so `cargo test` guards the fixes without
//! cargo-fuzz.
//!
//! Input formats (every field is read with [`Cursor`], which yields zeros
//! past the end, so any byte string is a valid input):
//!
//! | target        | bytes                                                                 |
//! |---------------|-----------------------------------------------------------------------|
//! | `decap`       | `source u8` (link type or tunnel listener, bit 7: verify checksums), frame |
//! | `defrag`      | frames: `link u8, ts_step u8 (x100 ms), len u16, bytes` repeated      |
//! | `reassemble`  | `opts u8`, segments: `sel u8, flags u8, seq u32, ack u32, dt u16 (ms), len u16, payload` |
//! | `http1`       | `opts u8`, ops: `op u8, len u16, bytes` (data c2s / s2c, gap, reopen) |
//! | `http2`       | as `http1`, with the HTTP/2 preface sent first                        |
//! | `body`        | `codings u16 (3 bits per layer), flags u8, body`                      |
//! | `detect`      | `NUL`-separated: method, uri, headers, body, status, response headers, response body |
//! | `ndjson`      | `level u8`, then an input as a stage reads it (NDJSON, pcap or pcapng) |
//! | `pcap`        | a pcap or pcapng file                                                 |
//! | `mask`        | `opts u8`, then a JSON record (or any text)                           |
//! | `config`      | `parser u8`, then the text                                            |
//!
//! [`seeds`] writes the same formats from `testdata/`, so the corpora start
//! from real frames, segments, streams and records.

#![doc(hidden)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Cursor as IoCursor;
use std::path::{Path, PathBuf};

use crate::capture::tunnel;
use crate::decap::{DecapConfig, Decapper, FragConfig, FrameIn};
use crate::detect::{decode, DetectConfig, Detector, CLASSES};
use crate::http::{HttpConfig, HttpParser};
use crate::io::{self, CaptureReader, Magic, OpenedInput};
use crate::pipeline::{self, Chain, ChainConfig, Control, Level};
use crate::reassemble::{OverlapPolicy, Reassembler, ReassemblyConfig};
use crate::record::{
    Conn, ConnEvent, Data, Dir, Frame, Gap, Http, HttpRequest, HttpResponse, IpInfo, LinkType,
    Packet, Record, TcpFlags, TcpInfo,
};
use crate::time::Ts;

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target, by name, as the fuzz targets and the regression test call them.
pub const TARGETS: &[(&str, Target)] = &[
    ("decap", decap),
    ("defrag", defrag),
    ("reassemble", reassemble),
    ("http1", http1),
    ("http2", http2),
    ("body", body),
    ("detect", detect),
    ("ndjson", ndjson),
    ("pcap", pcap),
    ("mask", mask),
    ("config", config),
];

/// Reads fields off the front of a byte string; zeros (and empty slices) past the end.
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    pub fn rest(&mut self) -> &'a [u8] {
        self.take(self.data.len())
    }

    pub fn u8(&mut self) -> u8 {
        self.take(1).first().copied().unwrap_or(0)
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        let b = self.take(N);
        a[..b.len()].copy_from_slice(b);
        a
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.array())
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.array())
    }
}

fn base_ts() -> Ts {
    Ts::from_micros(1_714_564_800, 0)
}

/// `ts` plus `nanos`, at microsecond precision.
fn later(ts: Ts, nanos: u64) -> Ts {
    let total = u64::from(ts.nanos) + nanos;
    Ts::new(
        ts.secs.saturating_add((total / 1_000_000_000) as i64),
        (total % 1_000_000_000) as u32,
        ts.digits,
    )
}

/// The HTTP/2 client connection preface.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Every record a stage emits must serialise, and parse back as JSON.
fn check_serialises(rec: &Record<'_>) {
    let line = serde_json::to_vec(rec).expect("record serialises");
    assert!(!line.contains(&b'\n'), "record line contains a newline");
    serde_json::from_slice::<serde_json::Value>(&line).expect("record line is JSON");
}

// ---------------------------------------------------------------- decap

/// Link types the `decap` source byte selects, then the two tunnel listeners.
const LINKS: [LinkType; 9] = [
    LinkType::Null,
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::Loop,
    LinkType::LinuxSll,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::LinuxSll2,
    LinkType::Other(147),
];
/// Source codes past [`LINKS`]: a VXLAN and a Geneve listener's UDP payload.
const SRC_VXLAN: usize = LINKS.len();
const SRC_GENEVE: usize = LINKS.len() + 1;

fn link_code(link: LinkType) -> u8 {
    LINKS.iter().position(|l| *l == link).unwrap_or(8) as u8
}

fn link_of(code: u8) -> LinkType {
    LINKS
        .get(usize::from(code) % LINKS.len())
        .copied()
        .unwrap_or(LinkType::Ethernet)
}

/// A packet the decapper emitted: serialises and reads back equal.
fn check_packet(p: &Packet<'_>) {
    let line = serde_json::to_vec(&Record::Packet(p.clone())).expect("packet serialises");
    let back: Packet<'_> = serde_json::from_slice(&line).expect("packet reads back");
    assert_eq!(&back, p, "packet changed through JSON");
    assert!(p.payload.len() <= crate::decap::frag::MAX_PAYLOAD);
}

/// One frame through the decapper, with any link type or as a tunnel listener's datagram.
pub fn decap(data: &[u8]) {
    let mut c = Cursor::new(data);
    let src = c.u8();
    let frame = c.rest();
    let mut d = Decapper::new(DecapConfig {
        verify_checksums: src & 0x80 != 0,
        ..DecapConfig::default()
    });
    let code = usize::from(src & 0x7f) % (LINKS.len() + 2);
    let (link, bytes, tunnel) = match code {
        SRC_VXLAN | SRC_GENEVE => {
            let decoded = if code == SRC_VXLAN {
                tunnel::vxlan(frame)
            } else {
                tunnel::geneve(frame)
            };
            let Ok(t) = decoded else { return };
            assert!(t.inner.len() <= frame.len());
            let layer = crate::record::Tunnel::Vxlan {
                vni: t.vni,
                outer_src: [192, 0, 2, 1].into(),
                outer_dst: [192, 0, 2, 2].into(),
            };
            (t.link, t.inner, vec![layer])
        }
        _ => (link_of(code as u8), frame, vec![]),
    };
    let f = FrameIn {
        ts: base_ts(),
        src: "fuzz",
        index: 0,
        link,
        data: bytes,
        tunnel: &tunnel,
    };
    let mut n = 0u64;
    d.push(&f, &mut |p| {
        check_packet(p);
        n += 1;
    });
    d.finish();
    assert_eq!(d.stats().packets, n);
    assert_eq!(d.stats().frames, 1);
}

// ---------------------------------------------------------------- defrag

/// A run of frames through one decapper with a small fragment table.
pub fn defrag(data: &[u8]) {
    let mut c = Cursor::new(data);
    let mut d = Decapper::new(DecapConfig {
        frag: FragConfig {
            max_datagrams: 4,
            max_bytes: 96 << 10,
            timeout_secs: 2,
        },
        ..DecapConfig::default()
    });
    let mut ts = base_ts();
    let mut frames = 0u64;
    while !c.is_empty() {
        let link = link_of(c.u8());
        let step = u64::from(c.u8()) * 100_000_000;
        ts = later(ts, step);
        let len = usize::from(c.u16());
        let bytes = c.take(len);
        let f = FrameIn {
            ts,
            src: "fuzz",
            index: frames,
            link,
            data: bytes,
            tunnel: &[],
        };
        d.push(&f, &mut check_packet);
        frames += 1;
    }
    d.finish();
    assert_eq!(d.stats().frames, frames);
}

/// Encodes frames in the `defrag` format.
pub fn encode_frames<'a>(frames: impl IntoIterator<Item = (LinkType, u8, &'a [u8])>) -> Vec<u8> {
    let mut out = vec![];
    for (link, step, bytes) in frames {
        let bytes = bytes.get(..usize::from(u16::MAX)).unwrap_or(bytes);
        out.push(link_code(link));
        out.push(step);
        out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

// ---------------------------------------------------------------- reassemble

/// The 4 connections the `reassemble` selector byte picks from (client, server).
fn tuple(sel: u8) -> ((IpInfo, u16), (IpInfo, u16)) {
    let i = sel & 3;
    let v6 = i == 3;
    let (a, b): (std::net::IpAddr, std::net::IpAddr) = if v6 {
        (
            "2001:db8::1".parse().unwrap_or([0u8; 4].into()),
            "2001:db8::2".parse().unwrap_or([0u8; 4].into()),
        )
    } else {
        ([10, 0, 0, 1 + i].into(), [10, 0, 1, 1].into())
    };
    let ip = |src, dst| IpInfo {
        v: if v6 { 6 } else { 4 },
        src,
        dst,
        ttl: 64,
    };
    let sport = 40_000 + u16::from(i);
    let dport = if i == 2 { 8080 } else { 80 };
    ((ip(a, b), sport), (ip(b, a), dport))
}

/// A random segment sequence over four connections into a reassembler with small caps.
pub fn reassemble(data: &[u8]) {
    let mut c = Cursor::new(data);
    let opts = c.u8();
    let mut r = Reassembler::new(ReassemblyConfig {
        overlap: if opts & 1 != 0 {
            OverlapPolicy::Last
        } else {
            OverlapPolicy::First
        },
        window: 1 << 16,
        max_ooo: 4096,
        max_buffered: 12 << 10,
        max_flows: 3,
        dedup_slots: 64,
        start_segments: u32::from(opts >> 4),
        ..ReassemblyConfig::default()
    });
    let mut check = StreamCheck::default();
    let mut fed = 0u64;
    let mut ts = base_ts();
    while !c.is_empty() {
        let sel = c.u8();
        let flags = c.u8();
        let seq = c.u32();
        let ack = c.u32();
        ts = later(ts, u64::from(c.u16()) * 1_000_000);
        let len = usize::from(c.u16());
        let payload = c.take(len);
        fed += payload.len() as u64;
        let ((ci, cp), (si, sp)) = tuple(sel);
        let (ip, sport, dport) = if sel & 4 == 0 {
            (ci, cp, sp)
        } else {
            (si, sp, cp)
        };
        let p = Packet {
            ts,
            src: Cow::Borrowed("fuzz"),
            index: 0,
            tunnel: Cow::Borrowed(&[]),
            ip,
            tcp: TcpInfo {
                sport,
                dport,
                seq,
                ack,
                flags: TcpFlags(flags),
                win: 65_535,
            },
            payload: Cow::Borrowed(payload),
        };
        r.push(&p, &mut |rec| check.record(&rec));
        assert!(r.buffered() <= 12 << 10, "buffered past the cap");
        assert!(r.flows() <= 3, "flows past the cap");
    }
    r.finish(&mut |rec| check.record(&rec));
    check.end();
    assert!(check.data_bytes <= fed, "emitted more bytes than were fed");
}

/// Invariants of reassembler output: per flow one open first and one close
/// last; per direction, data and gap records tile the stream from offset 0.
#[derive(Default)]
struct StreamCheck {
    state: BTreeMap<String, u8>,
    pos: BTreeMap<(String, Dir), u64>,
    data_bytes: u64,
}

impl StreamCheck {
    fn record(&mut self, rec: &Record<'_>) {
        check_serialises(rec);
        match rec {
            Record::Conn(c) => {
                let st = self.state.entry(c.flow.clone()).or_insert(0);
                match c.event {
                    ConnEvent::Open => {
                        // A closed id may open again: the id hashes the tuple
                        // and the first packet's time, so a tuple reused
                        // within the same timestamp repeats it (found by this
                        // target; the HTTP parser handles a repeated open).
                        assert_ne!(*st, 1, "flow {} opened while open", c.flow);
                        *st = 1;
                        for dir in [Dir::C2s, Dir::S2c] {
                            self.pos.remove(&(c.flow.clone(), dir));
                        }
                    }
                    ConnEvent::Close => {
                        assert_eq!(*st, 1, "flow {} closed while not open", c.flow);
                        *st = 2;
                    }
                }
            }
            Record::Data(d) => {
                self.advance(&d.flow, d.dir, d.off, d.data.len() as u64);
                self.data_bytes += d.data.len() as u64;
            }
            Record::Gap(g) => self.advance(&g.flow, g.dir, g.off, g.len),
            other => panic!("reassembler emitted {other:?}"),
        }
    }

    fn advance(&mut self, flow: &str, dir: Dir, off: u64, len: u64) {
        assert_eq!(
            self.state.get(flow),
            Some(&1),
            "data or gap outside open/close of {flow}"
        );
        assert!(len > 0, "empty data or gap record");
        let p = self.pos.entry((flow.to_string(), dir)).or_insert(0);
        assert_eq!(off, *p, "stream of {flow} {dir:?} not contiguous");
        *p += len;
    }

    fn end(&self) {
        for (flow, st) in &self.state {
            assert_eq!(*st, 2, "flow {flow} not closed at the end");
        }
    }
}

/// Encodes packets in the `reassemble` format (the first four distinct
/// connections; others are left out).
pub fn encode_packets(packets: &[Packet<'_>]) -> Vec<u8> {
    type End = (std::net::IpAddr, u16);
    let mut conns: Vec<(End, End)> = vec![];
    let mut out = vec![0u8];
    let mut last: Option<Ts> = None;
    for p in packets {
        let a = (p.ip.src, p.tcp.sport);
        let b = (p.ip.dst, p.tcp.dport);
        let (idx, rev) = match conns.iter().position(|c| *c == (a, b) || *c == (b, a)) {
            Some(i) => (i, conns.get(i).is_some_and(|c| c.0 != a)),
            None if conns.len() < 4 => {
                conns.push((a, b));
                (conns.len() - 1, false)
            }
            None => continue,
        };
        let dt = last.map_or(0, |l| p.ts.nanos_since(l) / 1_000_000);
        last = Some(p.ts);
        let payload = p.payload.get(..usize::from(u16::MAX)).unwrap_or(&p.payload);
        out.push(idx as u8 | if rev { 4 } else { 0 });
        out.push(p.tcp.flags.0);
        out.extend_from_slice(&p.tcp.seq.to_be_bytes());
        out.extend_from_slice(&p.tcp.ack.to_be_bytes());
        out.extend_from_slice(&(dt.min(u64::from(u16::MAX)) as u16).to_be_bytes());
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out
}

// ---------------------------------------------------------------- http

fn http_config() -> HttpConfig {
    HttpConfig {
        body_cap: 4096,
        decompress_cap: 256 << 10,
        max_ratio: 100,
        max_header_bytes: 8 << 10,
        max_headers: 64,
        max_queue: 8,
        max_flows: 4,
        ..HttpConfig::default()
    }
}

/// Invariants of an `http` record: it serialises, bodies within the cap,
/// an untruncated body is whole, no body longer than the decompression cap
/// or the bytes fed.
fn check_http(t: &Http, cfg: &HttpConfig, fed: u64) {
    check_serialises(&Record::Http(Box::new(t.clone())));
    let bodies = [
        t.request
            .as_ref()
            .map(|r| (&r.body, r.body_len, r.truncated)),
        t.response
            .as_ref()
            .map(|r| (&r.body, r.body_len, r.truncated)),
    ];
    for (body, len, truncated) in bodies.into_iter().flatten() {
        assert!(body.len() <= cfg.body_cap, "body past the cap");
        if !truncated {
            assert_eq!(body.len() as u64, len, "untruncated body is not whole");
        }
        assert!(
            len <= cfg.decompress_cap.max(fed),
            "body_len {len} past the decompression cap and the input"
        );
    }
}

/// Stream bytes through the HTTP parser: `op & 3` is 0 data c2s, 1 data s2c,
/// 2 a gap (`op & 4`: in s2c; the length is the gap's), 3 close the
/// connection and open the next.
fn http_stream(data: &[u8], preface: bool) {
    let cfg = http_config();
    let mut c = Cursor::new(data);
    let opts = c.u8();
    let mut parser = HttpParser::new(cfg.clone());
    let mut out: Vec<Http> = vec![];
    let mut fed = 0u64;
    let mut conn = 0u32;
    let mut off = [0u64; 2];
    let mut ts = base_ts();
    let flow = |n: u32| format!("fuzz-{n}");
    let open = |n: u32, ts: Ts| {
        Record::Conn(Conn {
            event: ConnEvent::Open,
            ts,
            flow: flow(n),
            community_id: Some("1:fuzz".into()),
            client: Some("192.0.2.1:40000".into()),
            server: Some("192.0.2.2:80".into()),
            tunnel: Some(vec![]),
            midstream: Some(opts & 2 != 0),
            reason: None,
            bytes_c2s: None,
            bytes_s2c: None,
        })
    };
    // Bit 0: data arrives with no `conn` open record first.
    if opts & 1 == 0 {
        parser.push(&open(conn, ts), &mut |t| out.push(t));
    }
    if preface {
        let d = Record::Data(Data {
            ts,
            flow: flow(conn).into(),
            dir: Dir::C2s,
            off: 0,
            data: Cow::Borrowed(H2_PREFACE),
        });
        parser.push(&d, &mut |t| out.push(t));
        off[0] = H2_PREFACE.len() as u64;
        fed += off[0];
    }
    while !c.is_empty() {
        let op = c.u8();
        let len = c.u16();
        ts = later(ts, 1_000_000);
        let rec = match op & 3 {
            0 | 1 => {
                let dir = if op & 3 == 0 { Dir::C2s } else { Dir::S2c };
                let bytes = c.take(usize::from(len));
                if bytes.is_empty() {
                    continue;
                }
                let o = &mut off[usize::from(op & 1)];
                let rec = Record::Data(Data {
                    ts,
                    flow: flow(conn).into(),
                    dir,
                    off: *o,
                    data: Cow::Borrowed(bytes),
                });
                *o += bytes.len() as u64;
                fed += bytes.len() as u64;
                rec
            }
            2 => {
                let (dir, i) = if op & 4 == 0 {
                    (Dir::C2s, 0)
                } else {
                    (Dir::S2c, 1)
                };
                let len = u64::from(len.max(1));
                let o = &mut off[i];
                let rec = Record::Gap(Gap {
                    ts,
                    flow: flow(conn),
                    dir,
                    off: *o,
                    len,
                });
                *o += len;
                rec
            }
            _ => {
                let close = Record::Conn(Conn {
                    event: ConnEvent::Close,
                    ts,
                    flow: flow(conn),
                    community_id: None,
                    client: None,
                    server: None,
                    tunnel: None,
                    midstream: None,
                    reason: Some("fin".into()),
                    bytes_c2s: Some(off[0]),
                    bytes_s2c: Some(off[1]),
                });
                parser.push(&close, &mut |t| out.push(t));
                conn += 1;
                off = [0, 0];
                open(conn, ts)
            }
        };
        parser.push(&rec, &mut |t| out.push(t));
        for t in out.drain(..) {
            check_http(&t, &cfg, fed);
        }
    }
    parser.finish(&mut |t| out.push(t));
    for t in out.drain(..) {
        check_http(&t, &cfg, fed);
    }
    let s = parser.stats();
    assert_eq!(
        s.transactions,
        s.paired + s.unpaired_requests + s.unpaired_responses,
        "transaction counts disagree"
    );
}

/// HTTP/1 (and whatever the streams turn into) from both directions.
pub fn http1(data: &[u8]) {
    http_stream(data, false);
}

/// HTTP/2 frames and HPACK: the client preface, then the streams.
pub fn http2(data: &[u8]) {
    http_stream(data, true);
}

/// Encodes one connection's `data` and `gap` records in the `http1` format.
pub fn encode_stream(recs: &[Record<'_>], strip_preface: bool) -> Vec<u8> {
    let mut out = vec![0u8];
    let mut first = strip_preface;
    for rec in recs {
        match rec {
            Record::Data(d) => {
                let mut bytes: &[u8] = &d.data;
                if first && d.dir == Dir::C2s {
                    first = false;
                    bytes = bytes.strip_prefix(H2_PREFACE).unwrap_or(bytes);
                }
                for chunk in bytes.chunks(usize::from(u16::MAX)) {
                    out.push(if d.dir == Dir::C2s { 0 } else { 1 });
                    out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
                    out.extend_from_slice(chunk);
                }
            }
            Record::Gap(g) => {
                out.push(if g.dir == Dir::C2s { 2 } else { 6 });
                out.extend_from_slice(&(g.len.min(u64::from(u16::MAX)) as u16).to_be_bytes());
            }
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------- body

/// `Content-Encoding` tokens the `body` coding bits select (0: no layer).
const CODINGS: [&str; 8] = [
    "", "gzip", "x-gzip", "deflate", "br", "zstd", "identity", "compress",
];

/// One message whose body goes through the content decoders (layered as the
/// coding bits say, chunked or not), fed in pieces.
pub fn body(data: &[u8]) {
    let mut c = Cursor::new(data);
    let codings = c.u16();
    let flags = c.u8();
    let body = c.rest();
    let list: Vec<&str> = (0..4)
        .map(|i| CODINGS[usize::from((codings >> (3 * i)) & 7)])
        .filter(|s| !s.is_empty())
        .collect();
    let chunked = flags & 1 != 0;
    let request = flags & 2 != 0;
    let mut msg: Vec<u8> = if request {
        b"POST /upload HTTP/1.1\r\nHost: fuzz\r\n".to_vec()
    } else {
        b"HTTP/1.1 200 OK\r\n".to_vec()
    };
    if !list.is_empty() {
        msg.extend_from_slice(format!("Content-Encoding: {}\r\n", list.join(", ")).as_bytes());
    }
    if chunked {
        msg.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    } else if request || flags & 4 == 0 {
        msg.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    msg.extend_from_slice(b"\r\n");
    let head = msg.len();
    msg.extend_from_slice(body);
    // Split the message into pieces of a data-derived size.
    let piece = (usize::from(flags >> 3) * 61).max(1);
    let mut script = vec![0u8];
    if !request {
        let req = b"GET / HTTP/1.1\r\n\r\n";
        script.push(0);
        script.extend_from_slice(&(req.len() as u16).to_be_bytes());
        script.extend_from_slice(req);
    }
    let dir = if request { 0 } else { 1 };
    let (h, b) = msg.split_at(head);
    for part in std::iter::once(h).chain(b.chunks(piece)) {
        script.push(dir);
        script.extend_from_slice(&(part.len() as u16).to_be_bytes());
        script.extend_from_slice(part);
    }
    http_stream(&script, false);
}

/// Encodes a body in the `body` format: `codings` in the order applied.
pub fn encode_body(codings: &[&str], flags: u8, body: &[u8]) -> Vec<u8> {
    let mut bits = 0u16;
    for (i, name) in codings.iter().take(4).enumerate() {
        let code = CODINGS.iter().position(|c| c == name).unwrap_or(0) as u16;
        bits |= code << (3 * i);
    }
    let mut out = bits.to_be_bytes().to_vec();
    out.push(flags);
    out.extend_from_slice(body);
    out
}

// ---------------------------------------------------------------- detect

/// Splits the `detect` input into its `NUL`-separated text fields.
fn fields(data: &[u8]) -> Vec<String> {
    data.splitn(7, |&b| b == 0)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect()
}

fn headers(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once(':') {
            Some((k, v)) => (k.to_string(), v.trim_start().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

/// The detection decoders on every field, then the detector on a transaction
/// built from them.
pub fn detect(data: &[u8]) {
    let f = fields(data);
    let get = |i: usize| f.get(i).map(String::as_str).unwrap_or("");
    let mut variants = vec![];
    for field in &f {
        decode::variants(field, true, &mut variants);
        assert!(!variants.is_empty() && variants.len() <= decode::MAX_VARIANTS);
        for v in &variants {
            assert!(v.len() <= decode::MAX_VALUE, "variant past MAX_VALUE");
        }
        let _ = decode::url_decode(field, false);
        let _ = decode::html_decode(field);
        let _ = decode::js_unescape(field);
        let _ = decode::base64_text(field);
    }
    let ts = base_ts();
    let status = get(4).trim().parse::<u16>().ok();
    let tx = Http {
        ts,
        ts_end: ts,
        flow: "fuzz".into(),
        community_id: "1:fuzz".into(),
        seq: 0,
        client: "192.0.2.1:40000".into(),
        server: "192.0.2.2:80".into(),
        real_ip: "192.0.2.1".into(),
        tunnel: vec![],
        request: Some(HttpRequest {
            method: get(0).into(),
            uri: get(1).into(),
            version: "HTTP/1.1".into(),
            headers: headers(get(2)),
            body_len: get(3).len() as u64,
            body: get(3).as_bytes().to_vec(),
            truncated: false,
            trailers: vec![],
        }),
        response: status.map(|status| HttpResponse {
            status,
            reason: String::new(),
            version: "HTTP/1.1".into(),
            headers: headers(get(5)),
            body_len: get(6).len() as u64,
            body: get(6).as_bytes().to_vec(),
            truncated: false,
            trailers: vec![],
        }),
        anomalies: vec![],
        proxy: None,
        interim: vec![],
    };
    let mut d = Detector::new(DetectConfig::default());
    // Twice: the second time through the behaviour and dedup state.
    for _ in 0..2 {
        d.push(&tx, &mut |rec| {
            check_serialises(&rec);
            if let Record::Attack(a) = &rec {
                assert!(!a.hits.is_empty(), "attack without hits");
                for h in &a.hits {
                    assert!(
                        CLASSES.contains(&h.class.as_str()),
                        "unknown class {}",
                        h.class
                    );
                }
            }
        });
    }
}

/// Encodes a transaction in the `detect` format.
pub fn encode_http(t: &Http) -> Option<Vec<u8>> {
    let req = t.request.as_ref()?;
    let hdrs = |h: &[(String, String)]| {
        h.iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut parts: Vec<Vec<u8>> = vec![
        req.method.clone().into_bytes(),
        req.uri.clone().into_bytes(),
        hdrs(&req.headers).into_bytes(),
        req.body.clone(),
    ];
    if let Some(resp) = &t.response {
        parts.push(resp.status.to_string().into_bytes());
        parts.push(hdrs(&resp.headers).into_bytes());
        parts.push(resp.body.clone());
    }
    Some(parts.join(&0u8))
}

// ---------------------------------------------------------------- ndjson

/// A sink that checks what a run writes.
struct CheckOut {
    records: u64,
}

impl pipeline::Output for CheckOut {
    fn record(&mut self, rec: &Record<'_>) -> std::io::Result<()> {
        check_serialises(rec);
        self.records += 1;
        Ok(())
    }

    fn raw(&mut self, line: &[u8]) -> std::io::Result<()> {
        assert!(
            !line.contains(&b'\n'),
            "pass-through line contains a newline"
        );
        Ok(())
    }
}

/// Levels the `ndjson` level byte selects.
const LEVELS: [Level; 5] = [
    Level::Packets,
    Level::Streams,
    Level::Http,
    Level::Detect,
    Level::Inventory,
];

/// `pipeline::run` on an input (NDJSON records of any type, or a capture)
/// with a chain up to the level the first byte selects.
pub fn ndjson(data: &[u8]) {
    let mut c = Cursor::new(data);
    let level = LEVELS[usize::from(c.u8()) % LEVELS.len()];
    let rest = c.rest().to_vec();
    let Ok(input) = io::sniff(Box::new(IoCursor::new(rest))) else {
        return;
    };
    let opened = OpenedInput {
        input,
        name: "fuzz".into(),
        size: None,
    };
    let mut chain = Chain::new(level, ChainConfig::default());
    let mut out = CheckOut { records: 0 };
    let _ = pipeline::run(&mut chain, opened, &mut out, &Control::default());
}

/// Encodes an input in the `ndjson` format for a chain up to `level`.
pub fn encode_ndjson(level: Level, input: &[u8]) -> Vec<u8> {
    let mut out = vec![LEVELS.iter().position(|l| *l == level).unwrap_or(0) as u8];
    out.extend_from_slice(input);
    out
}

// ---------------------------------------------------------------- pcap

/// Reads a pcap or pcapng file to its end.
pub fn pcap(data: &[u8]) {
    let Some(magic) = Magic::detect(data) else {
        return;
    };
    let Ok(mut reader) = CaptureReader::open(magic, IoCursor::new(data)) else {
        return;
    };
    let mut frames = 0u64;
    while let Some(next) = reader.next_frame() {
        match next {
            Ok(f) => {
                assert!(f.data.len() <= data.len(), "frame longer than the file");
                assert!(f.data.len() <= crate::io::pcap::MAX_FRAME as usize);
                frames += 1;
            }
            Err(e) if e.is_fatal() => break,
            Err(_) => {}
        }
        assert!(
            reader.bytes_read() <= data.len() as u64,
            "read past the end"
        );
        assert!(frames <= data.len() as u64, "more frames than bytes");
    }
    let _ = reader.anomalies();
}

// ---------------------------------------------------------------- mask

/// The export masker on a record (`opts` bit 0: drop bodies; bit 1: extra
/// header and field names) and the text scrubber on the raw bytes.
pub fn mask(data: &[u8]) {
    use crate::export::mask::{mask_value, scrub_bytes, MaskConfig};
    let mut c = Cursor::new(data);
    let opts = c.u8();
    let text = c.rest();
    let (h, f) = if opts & 2 != 0 {
        (vec!["x-secret".to_string()], vec!["pin".to_string()])
    } else {
        (vec![], vec![])
    };
    let cfg = MaskConfig::new(&h, &f, opts & 1 != 0);
    let mut n = 0;
    // (A text already holding "[masked]" may be "masked" to itself.)
    if scrub_bytes(text, &cfg, &mut n).is_some() {
        assert!(n > 0, "scrubbed with nothing counted");
    }
    if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(text) {
        mask_value(&mut v, &cfg);
        let once = serde_json::to_string(&v).expect("masked value serialises");
        mask_value(&mut v, &cfg);
        let twice = serde_json::to_string(&v).expect("masked value serialises");
        assert_eq!(once, twice, "masking is not idempotent");
    }
}

// ---------------------------------------------------------------- config

/// The text configuration readers: `--sink` specs, capture filter specs,
/// path override files, OpenAPI specs, inventory files, the node's YAML
/// config (checked against `tapwatch run`'s flags) and custom detection rules.
pub fn config(data: &[u8]) {
    let mut c = Cursor::new(data);
    let which = c.u8();
    let text = String::from_utf8_lossy(c.rest());
    match which % 7 {
        5 => {
            use clap::Args as _;
            let cmd = clap::Command::new("tapwatch").subcommand(
                crate::args::RunArgs::augment_args(clap::Command::new("run")),
            );
            let _ = crate::node::config::text_flags("fuzz.yaml", &text, &cmd);
        }
        6 => {
            let _ = crate::detect::custom::RuleSet::parse(&text, "fuzz.yaml");
        }
        0 => {
            let _ = crate::export::spec::SinkSpec::parse(&text);
        }
        1 => {
            let _ = text.parse::<crate::capture::filter_spec::FilterSpec>();
        }
        2 => {
            let _ = crate::discover::path::parse_overrides(&text);
        }
        3 => {
            if let Ok(spec) = crate::discover::diff::parse_spec(&text) {
                let inv = crate::discover::inventory::Inventory {
                    tapwatch_inventory: crate::discover::inventory::FORMAT,
                    endpoints: vec![],
                    summary: BTreeMap::new(),
                };
                let _ = crate::discover::diff::against(&inv, &spec);
            }
        }
        _ => {
            let _ = crate::discover::inventory::Inventory::parse(&text);
        }
    }
}

// ---------------------------------------------------------------- seeds

/// One seed: its target, a file name, the bytes.
pub type Seed = (&'static str, String, Vec<u8>);

/// Records of one NDJSON file (unreadable lines left out).
fn read_records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read(path)
        .map(|b| {
            b.split(|&c| c == b'\n')
                .filter_map(|l| serde_json::from_slice(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The first lines of a file, at most `max` bytes.
fn head_lines(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let cut = bytes.get(..max).unwrap_or(bytes);
    match cut.iter().rposition(|&b| b == b'\n') {
        Some(i) => cut.get(..=i).unwrap_or(cut),
        None => cut,
    }
}

/// Seed corpora in every target's format, from `testdata/` (captures, stage
/// goldens, the benign request set) and, when `corpora` holds it, the CRS
/// regression requests; plus generated bodies and configuration texts.
pub fn seeds(testdata: &Path, corpora: Option<&Path>) -> Vec<Seed> {
    let mut out: Vec<Seed> = vec![];
    let mut cases: Vec<PathBuf> = std::fs::read_dir(testdata)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    cases.sort();
    for case in &cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Frames: one seed each for decap, all of them in one for defrag.
        let frames: Vec<Frame<'static>> = read_records(&case.join("capture.ndjson"))
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
        for (i, f) in frames.iter().take(12).enumerate() {
            let mut seed = vec![link_code(f.link)];
            seed.extend_from_slice(&f.data);
            out.push(("decap", format!("{name}-{i}"), seed));
        }
        if !frames.is_empty() {
            let mut prev: Option<Ts> = None;
            let seed = encode_frames(frames.iter().take(48).map(|f| {
                let step = prev.map_or(0, |p| f.ts.nanos_since(p) / 100_000_000);
                prev = Some(f.ts);
                (f.link, step.min(255) as u8, &f.data[..])
            }));
            out.push(("defrag", name.clone(), seed));
        }
        // Packets for the reassembler.
        let packets: Vec<Packet<'static>> = read_records(&case.join("decap.ndjson"))
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
        if !packets.is_empty() {
            let take = packets.len().min(64);
            out.push((
                "reassemble",
                name.clone(),
                encode_packets(packets.get(..take).unwrap_or_default()),
            ));
        }
        // Streams, one connection per seed, for the HTTP parsers.
        let mut flows: Vec<(String, Vec<Record<'static>>)> = vec![];
        for v in read_records(&case.join("reassemble.ndjson")) {
            let rec: Option<Record<'static>> = match v.get("type").and_then(|t| t.as_str()) {
                Some("data") => serde_json::from_value::<Data<'static>>(v.clone())
                    .ok()
                    .map(Record::Data),
                Some("gap") => serde_json::from_value::<Gap>(v.clone())
                    .ok()
                    .map(Record::Gap),
                _ => None,
            };
            let (Some(rec), Some(flow)) = (rec, v.get("flow").and_then(|f| f.as_str())) else {
                continue;
            };
            match flows.iter_mut().find(|(f, _)| f == flow) {
                Some((_, recs)) => recs.push(rec),
                None => flows.push((flow.to_string(), vec![rec])),
            }
        }
        for (i, (_, recs)) in flows.iter().take(6).enumerate() {
            out.push(("http1", format!("{name}-{i}"), encode_stream(recs, false)));
            if name.contains("h2c") {
                out.push(("http2", format!("{name}-{i}"), encode_stream(recs, true)));
            }
        }
        // Transactions for the detector and the masker.
        let txs: Vec<Http> = read_records(&case.join("http.ndjson"))
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
        for (i, t) in txs.iter().take(16).enumerate() {
            if let Some(seed) = encode_http(t) {
                out.push(("detect", format!("{name}-{i}"), seed));
            }
        }
        for file in ["http.ndjson", "detect.ndjson", "discover.ndjson"] {
            let bytes = std::fs::read(case.join(file)).unwrap_or_default();
            for (i, line) in bytes
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .take(6)
                .enumerate()
            {
                let mut seed = vec![0u8];
                seed.extend_from_slice(line);
                out.push(("mask", format!("{name}-{file}-{i}"), seed));
            }
        }
        // Whole inputs for the stage loop: each golden into the stage after it.
        for (file, level) in [
            ("capture.ndjson", Level::Packets),
            ("decap.ndjson", Level::Streams),
            ("reassemble.ndjson", Level::Http),
            ("http.ndjson", Level::Detect),
            ("detect.ndjson", Level::Inventory),
            ("input.pcap", Level::Http),
        ] {
            if let Ok(bytes) = std::fs::read(case.join(file)) {
                let input = if file.ends_with(".pcap") {
                    bytes.get(..64 << 10).unwrap_or(&bytes)
                } else {
                    head_lines(&bytes, 64 << 10)
                };
                out.push((
                    "ndjson",
                    format!("{name}-{file}"),
                    encode_ndjson(level, input),
                ));
            }
        }
        for file in ["input.pcap", "input.pcapng"] {
            if let Ok(bytes) = std::fs::read(case.join(file)) {
                let bytes = bytes.get(..128 << 10).unwrap_or(&bytes).to_vec();
                out.push(("pcap", format!("{name}-{file}"), bytes));
            }
        }
        // OpenAPI documents for the config readers.
        if let Ok(dir) = std::fs::read_dir(case.join("openapi")) {
            for (i, e) in dir.flatten().enumerate() {
                if let Ok(text) = std::fs::read(e.path()) {
                    let mut seed = vec![3u8];
                    seed.extend_from_slice(&text);
                    out.push(("config", format!("{name}-openapi-{i}"), seed));
                }
            }
        }
    }
    // Raw requests: the benign set and the CRS regression corpus.
    let mut raw: Vec<Vec<u8>> = vec![];
    if let Ok(text) = std::fs::read_to_string(testdata.join("benign/requests.txt")) {
        for block in text.split("### ").skip(1).step_by(4) {
            let req = block.split_once('\n').map_or("", |(_, r)| r);
            raw.push(req.replace('\n', "\r\n").into_bytes());
        }
    }
    if let Some(corpora) = corpora {
        let crs = read_records(&corpora.join("crs-regression.jsonl"));
        for v in crs.iter().step_by(10) {
            if let Some(b) = v
                .get("raw_b64")
                .and_then(|b| b.as_str())
                .and_then(|b| crate::record::b64::decode(b).ok())
            {
                raw.push(b);
            }
        }
    }
    for (i, req) in raw.iter().enumerate() {
        for t in crate::detect::raw::transactions(req, crate::detect::raw::NEUTRAL_RESPONSE) {
            if let Some(seed) = encode_http(&t) {
                out.push(("detect", format!("raw-{i}"), seed));
            }
        }
    }
    body_seeds(&mut out);
    config_seeds(&mut out);
    out
}

/// Bodies in every coding, layered, chunked and not.
fn body_seeds(out: &mut Vec<Seed>) {
    use std::io::Write;
    let text: &[u8] = br#"{"user":"alice","items":[1,2,3],"note":"<script>alert(1)</script>"}"#;
    let gzip = |d: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(vec![], flate2::Compression::default());
        let _ = e.write_all(d);
        e.finish().unwrap_or_default()
    };
    let zlib = |d: &[u8]| {
        let mut e = flate2::write::ZlibEncoder::new(vec![], flate2::Compression::default());
        let _ = e.write_all(d);
        e.finish().unwrap_or_default()
    };
    let raw_deflate = |d: &[u8]| {
        let mut e = flate2::write::DeflateEncoder::new(vec![], flate2::Compression::default());
        let _ = e.write_all(d);
        e.finish().unwrap_or_default()
    };
    let br = |d: &[u8]| {
        let mut o = vec![];
        {
            let mut w = brotli::CompressorWriter::new(&mut o, 4096, 5, 22);
            let _ = w.write_all(d);
        }
        o
    };
    let zstd = |d: &[u8]| zstd::encode_all(d, 3).unwrap_or_default();
    let chunked = |d: &[u8]| {
        let mut o = vec![];
        for c in d.chunks(17) {
            o.extend_from_slice(format!("{:x};ext=1\r\n", c.len()).as_bytes());
            o.extend_from_slice(c);
            o.extend_from_slice(b"\r\n");
        }
        o.extend_from_slice(b"0\r\nX-Trailer: 1\r\n\r\n");
        o
    };
    let bodies: Vec<(&str, Vec<&str>, Vec<u8>)> = vec![
        ("identity", vec![], text.to_vec()),
        ("gzip", vec!["gzip"], gzip(text)),
        ("x-gzip", vec!["x-gzip"], gzip(text)),
        ("deflate-zlib", vec!["deflate"], zlib(text)),
        ("deflate-raw", vec!["deflate"], raw_deflate(text)),
        ("br", vec!["br"], br(text)),
        ("zstd", vec!["zstd"], zstd(text)),
        ("gzip-br", vec!["gzip", "br"], br(&gzip(text))),
        ("zstd-gzip", vec!["zstd", "gzip"], gzip(&zstd(text))),
        ("bomb-gzip", vec!["gzip"], gzip(&vec![b'a'; 1 << 20])),
    ];
    for (name, codings, bytes) in bodies {
        out.push((
            "body",
            name.to_string(),
            encode_body(&codings, 0x18, &bytes),
        ));
        out.push((
            "body",
            format!("{name}-chunked"),
            encode_body(&codings, 0x09, &chunked(&bytes)),
        ));
        out.push((
            "body",
            format!("{name}-request"),
            encode_body(&codings, 0x22, &bytes),
        ));
    }
}

/// Configuration texts of each kind the `config` target reads.
fn config_seeds(out: &mut Vec<Seed>) {
    let texts: &[(u8, &str)] = &[
        (0, "stdout?format=ecs"),
        (0, "file:/tmp/out.ndjson?rotate=10M,1h&gzip&format=eve"),
        (0, "webhook:https://siem.example/in?k=1#batch=50&timeout=5s&spool_bytes=1G"),
        (0, "syslog+udp://127.0.0.1:514?facility=local3&hostname=s1"),
        (0, "syslog+tcp://[::1]:6514"),
        (1, "eth0:80"),
        (1, ":8080"),
        (1, "mirror0:"),
        (2, "- /users/{userId}\n- path: /orders/{id}/items\n  host: shop\n  method: get\n"),
        (2, r#"["/a/{b}", {"path": "/c/{d}", "host": "x"}]"#),
        (3, "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: 'https://app/v1'}]\npaths:\n  /users/{id}:\n    get:\n      parameters: [{name: id, in: path}]\n      responses: {'200': {description: ok}}\n"),
        (4, r#"{"tapwatch_inventory":1,"endpoints":[],"summary":{"http":3}}"#),
    ];
    for (i, (which, text)) in texts.iter().enumerate() {
        let mut seed = vec![*which];
        seed.extend_from_slice(text.as_bytes());
        out.push(("config", format!("text-{i}"), seed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Every committed crash input under `fuzz/regressions/<target>/` runs
    /// through its target without panicking.
    #[test]
    fn regressions_replay() {
        let mut ran = 0;
        for (name, run) in TARGETS {
            let dir = repo().join("fuzz/regressions").join(name);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            files.sort();
            for f in files {
                let data = std::fs::read(&f).expect("read regression input");
                eprintln!("{name}: {}", f.display());
                run(&data);
                ran += 1;
            }
        }
        eprintln!("{ran} regression inputs replayed");
    }

    /// Short and odd inputs never trip a target's own harness.
    #[test]
    fn targets_take_any_bytes() {
        let inputs: &[&[u8]] = &[b"", b"\0", b"\xff\xff\xff", &[7; 40], b"\x01\0\x05hello"];
        for (_, run) in TARGETS {
            for input in inputs {
                run(input);
            }
        }
    }

    /// Every target gets seeds from testdata, and they all run clean.
    #[test]
    fn seeds_cover_every_target_and_run() {
        let seeds = seeds(&repo().join("testdata"), None);
        for (name, run) in TARGETS {
            let mine: Vec<&Seed> = seeds.iter().filter(|s| s.0 == *name).collect();
            assert!(!mine.is_empty(), "no seeds for {name}");
            for (_, _, bytes) in mine.iter().take(8) {
                run(bytes);
            }
        }
    }

    /// The cursor reads big-endian fields and zeros past the end.
    #[test]
    fn cursor_fields() {
        let mut c = Cursor::new(&[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(c.u8(), 1);
        assert_eq!(c.u16(), 0x0203);
        assert_eq!(c.u32(), 0x0405_0607);
        assert_eq!(c.u8(), 0);
        let mut c = Cursor::new(&[0xab]);
        assert_eq!(c.u16(), 0xab00);
        assert!(c.is_empty());
    }

    /// Writes the seed corpora: `FUZZ_CORPUS=DIR cargo test -p tapwatch-common
    /// fuzzing::tests::write_seeds -- --ignored` (what `scripts/fuzz` runs).
    #[test]
    #[ignore]
    fn write_seeds() {
        let dir = PathBuf::from(std::env::var("FUZZ_CORPUS").expect("FUZZ_CORPUS is set"));
        let corpora = repo().join("../shared/corpora");
        let seeds = seeds(&repo().join("testdata"), Some(&corpora));
        let mut n: BTreeMap<&str, usize> = BTreeMap::new();
        for (target, name, bytes) in &seeds {
            let d = dir.join(target);
            std::fs::create_dir_all(&d).expect("create corpus dir");
            std::fs::write(d.join(format!("seed-{name}")), bytes).expect("write seed");
            *n.entry(target).or_insert(0) += 1;
        }
        eprintln!("seeds: {n:?}");
    }
}
