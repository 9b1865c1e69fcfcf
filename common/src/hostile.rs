//! Hostile inputs for the adversarial-load runs (`scripts/hostile`,
//! `examples/hostile.rs`) and their small e2e versions (tests/e2e/hostile.rs).
//!
//! Every generator writes one capture (or NDJSON stream) whose hostile part is
//! followed by an ordinary connection from [`MARKER_IP`] asking for
//! [`MARKER_PATH`]: when that connection comes out of a stage, the stage
//! survived the hostile part and went on reading. Sizes are parameters, so the
//! same case runs at 1 GB in the script and at a few KB in a test. Writers
//! stream: nothing is built whole in memory, not even a 1 GB header line.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use crate::io::PcapWriter;
use crate::record::{LinkType, Ts};
use crate::synth::{Frame, ACK, EPOCH_2024_05_01, FIN, PSH, SYN};

/// Client address of the trailing ordinary connection.
pub const MARKER_IP: &str = "10.99.99.99";
/// Path prefix requested by the trailing ordinary connection (and by the
/// ordinary request sent on a hostile connection after its hostile part).
pub const MARKER_PATH: &str = "/after-hostile";

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 9);

/// A pcap being written: a packet clock (1 µs per packet unless told) and
/// the writer.
pub struct Gen<W: Write> {
    out: PcapWriter<W>,
    /// Nanoseconds since 2024-05-01T12:00:00Z.
    now: u64,
}

impl<W: Write> Gen<W> {
    /// Starts an Ethernet pcap (nanosecond timestamps) on `out`.
    pub fn new(out: W) -> io::Result<Self> {
        Ok(Gen {
            out: PcapWriter::new(out, LinkType::Ethernet, true)?,
            now: 0,
        })
    }

    /// Moves the packet clock on.
    pub fn advance(&mut self, nanos: u64) {
        self.now += nanos;
    }

    fn ts(&self) -> Ts {
        let secs = EPOCH_2024_05_01 + (self.now / 1_000_000_000) as i64;
        Ts::new(secs, (self.now % 1_000_000_000) as u32, 9)
    }

    /// Writes one frame at the current time, then moves the clock 1 µs.
    pub fn frame(&mut self, data: &[u8]) -> io::Result<()> {
        let ts = self.ts();
        self.out.write(ts, data.len() as u32, data)?;
        self.now += 1_000;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Which way a segment goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    C2s,
    S2c,
}

/// One TCP connection written segment by segment (plain Ethernet/IPv4).
pub struct Flow {
    ends: [(Ipv4Addr, u16); 2],
    next: [u32; 2],
    ip_id: [u32; 2],
    /// Payload bytes per segment.
    pub mss: usize,
}

impl Flow {
    pub fn new(client: Ipv4Addr, sport: u16, server: Ipv4Addr, dport: u16) -> Flow {
        Flow {
            ends: [(client, sport), (server, dport)],
            next: [1000, 5000],
            ip_id: [1, 1],
            mss: 1460,
        }
    }

    /// One segment; sequence numbers advance by the payload (and SYN/FIN).
    pub fn segment<W: Write>(
        &mut self,
        g: &mut Gen<W>,
        dir: Dir,
        flags: u8,
        payload: &[u8],
    ) -> io::Result<()> {
        let (me, peer) = match dir {
            Dir::C2s => (0, 1),
            Dir::S2c => (1, 0),
        };
        let ((src, sport), (dst, dport)) = (self.ends[me], self.ends[peer]);
        let ack = if flags & ACK != 0 { self.next[peer] } else { 0 };
        let frame = Frame::new()
            .ethernet()
            .ipv4(src, dst)
            .ip_id(self.ip_id[me])
            .tcp(sport, dport, self.next[me], ack, flags)
            .payload(payload)
            .build();
        g.frame(&frame)?;
        self.ip_id[me] = (self.ip_id[me] + 1) & 0xffff;
        let adv = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        self.next[me] = self.next[me].wrapping_add(adv);
        Ok(())
    }

    /// SYN, SYN-ACK, ACK.
    pub fn open<W: Write>(&mut self, g: &mut Gen<W>) -> io::Result<()> {
        self.segment(g, Dir::C2s, SYN, &[])?;
        self.segment(g, Dir::S2c, SYN | ACK, &[])?;
        self.segment(g, Dir::C2s, ACK, &[])
    }

    /// `bytes` cut at the MSS, PSH on the last segment.
    pub fn send<W: Write>(&mut self, g: &mut Gen<W>, dir: Dir, bytes: &[u8]) -> io::Result<()> {
        let chunks = bytes.chunks(self.mss.max(1));
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.enumerate() {
            let flags = if i == last { PSH | ACK } else { ACK };
            self.segment(g, dir, flags, chunk)?;
        }
        Ok(())
    }

    /// FIN both ways and the last ACK.
    pub fn close<W: Write>(&mut self, g: &mut Gen<W>) -> io::Result<()> {
        self.segment(g, Dir::C2s, FIN | ACK, &[])?;
        self.segment(g, Dir::S2c, FIN | ACK, &[])?;
        self.segment(g, Dir::C2s, ACK, &[])
    }
}

/// The ordinary request sent on a hostile connection after its hostile part.
pub fn same_conn_request() -> Vec<u8> {
    format!("GET {MARKER_PATH}/same-conn HTTP/1.1\r\nHost: app\r\n\r\n").into_bytes()
}

const OK_EMPTY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

/// The trailing ordinary connection: a benign GET and a path-traversal GET
/// (so `tw-detect` has an `attack` to report), both answered.
pub fn marker<W: Write>(g: &mut Gen<W>) -> io::Result<()> {
    let ip: Ipv4Addr = MARKER_IP.parse().expect("constant");
    let mut f = Flow::new(ip, 40000, SERVER, 80);
    f.open(g)?;
    let get = format!("GET {MARKER_PATH}?q=1 HTTP/1.1\r\nHost: app\r\n\r\n");
    f.send(g, Dir::C2s, get.as_bytes())?;
    f.send(
        g,
        Dir::S2c,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
    )?;
    let attack =
        format!("GET {MARKER_PATH}/x?file=../../../../etc/passwd HTTP/1.1\r\nHost: app\r\n\r\n");
    f.send(g, Dir::C2s, attack.as_bytes())?;
    f.send(
        g,
        Dir::S2c,
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    )?;
    f.close(g)
}

/// Client address number `i` in 172.16.0.0/12, and a port.
fn client(i: u32) -> (Ipv4Addr, u16) {
    let host = 0xac10_0000u32 | ((i / 50_000) & 0x000f_ffff);
    (Ipv4Addr::from(host), 10_000 + (i % 50_000) as u16)
}

/// `flows` SYNs from distinct clients that never go further, then the marker.
pub fn halfopen<W: Write>(out: W, flows: u32) -> io::Result<()> {
    let mut g = Gen::new(out)?;
    for i in 0..flows {
        let (ip, port) = client(i);
        Flow::new(ip, port, SERVER, 80).segment(&mut g, Dir::C2s, SYN, &[])?;
    }
    marker(&mut g)?;
    g.finish()
}

/// `conns` connections that each send a request one byte per segment, every
/// connection one byte per round, rounds `gap_secs` of packet time apart;
/// then every request is answered, and the marker follows.
pub fn slow<W: Write>(out: W, conns: u32, gap_secs: u64) -> io::Result<()> {
    let mut g = Gen::new(out)?;
    let mut flows: Vec<Flow> = (0..conns)
        .map(|i| {
            let (ip, port) = client(i);
            Flow::new(ip, port, SERVER, 80)
        })
        .collect();
    for f in &mut flows {
        f.open(&mut g)?;
    }
    let requests: Vec<Vec<u8>> = (0..conns)
        .map(|i| {
            format!("GET /slow/{i} HTTP/1.1\r\nHost: app\r\nUser-Agent: slowloris\r\n\r\n")
                .into_bytes()
        })
        .collect();
    let longest = requests.iter().map(Vec::len).max().unwrap_or(0);
    for round in 0..longest {
        g.advance(gap_secs * 1_000_000_000);
        for (f, req) in flows.iter_mut().zip(&requests) {
            if let Some(&b) = req.get(round) {
                f.segment(&mut g, Dir::C2s, PSH | ACK, &[b])?;
            }
        }
    }
    for f in &mut flows {
        f.send(&mut g, Dir::S2c, OK_EMPTY)?;
        f.close(&mut g)?;
    }
    marker(&mut g)?;
    g.finish()
}

/// Body encodings for [`bomb`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bomb {
    Gzip,
    Brotli,
}

/// `size` zero bytes, compressed.
fn compressed_zeros(kind: Bomb, size: u64) -> io::Result<Vec<u8>> {
    let zeros = vec![0u8; 1 << 20];
    let mut left = size;
    match kind {
        Bomb::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                enc.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            enc.finish()
        }
        Bomb::Brotli => {
            let mut out = Vec::new();
            {
                let mut enc = brotli::CompressorWriter::new(&mut out, 1 << 16, 9, 24);
                while left > 0 {
                    let n = left.min(zeros.len() as u64) as usize;
                    enc.write_all(&zeros[..n])?;
                    left -= n as u64;
                }
            }
            Ok(out)
        }
    }
}

/// A request body and a response body that each decompress to `size` bytes,
/// an ordinary request on the same connection, then the marker.
pub fn bomb<W: Write>(out: W, kind: Bomb, size: u64) -> io::Result<()> {
    let body = compressed_zeros(kind, size)?;
    let enc = match kind {
        Bomb::Gzip => "gzip",
        Bomb::Brotli => "br",
    };
    let mut g = Gen::new(out)?;
    let mut f = Flow::new(Ipv4Addr::new(10, 1, 0, 7), 51000, SERVER, 80);
    f.open(&mut g)?;
    let mut req = format!(
        "POST /upload HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\nContent-Encoding: {enc}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    f.send(&mut g, Dir::C2s, &req)?;
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {enc}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    resp.extend_from_slice(&body);
    f.send(&mut g, Dir::S2c, &resp)?;
    f.send(&mut g, Dir::C2s, &same_conn_request())?;
    f.send(&mut g, Dir::S2c, OK_EMPTY)?;
    f.close(&mut g)?;
    marker(&mut g)?;
    g.finish()
}

/// A request whose one header line is `size` bytes long (sent in 32 000-byte
/// segments), an ordinary request on the same connection, then the marker.
pub fn header_line<W: Write>(out: W, size: u64) -> io::Result<()> {
    let mut g = Gen::new(out)?;
    let mut f = Flow::new(Ipv4Addr::new(10, 1, 0, 7), 51001, SERVER, 80);
    f.mss = 32_000;
    f.open(&mut g)?;
    f.send(
        &mut g,
        Dir::C2s,
        b"GET /big HTTP/1.1\r\nHost: app\r\nX-Big: ",
    )?;
    let block = vec![b'A'; 32_000];
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        f.send(&mut g, Dir::C2s, &block[..n])?;
        left -= n as u64;
    }
    f.send(&mut g, Dir::C2s, b"\r\n\r\n")?;
    f.send(
        &mut g,
        Dir::S2c,
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n",
    )?;
    f.mss = 1460;
    f.send(&mut g, Dir::C2s, &same_conn_request())?;
    f.send(&mut g, Dir::S2c, OK_EMPTY)?;
    f.close(&mut g)?;
    marker(&mut g)?;
    g.finish()
}

/// A request with `n` header fields, an ordinary request on the same
/// connection, then the marker.
pub fn many_headers<W: Write>(out: W, n: u32) -> io::Result<()> {
    let mut g = Gen::new(out)?;
    let mut f = Flow::new(Ipv4Addr::new(10, 1, 0, 7), 51002, SERVER, 80);
    f.open(&mut g)?;
    let mut req = b"GET /many HTTP/1.1\r\nHost: app\r\n".to_vec();
    for i in 0..n {
        req.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    f.send(&mut g, Dir::C2s, &req)?;
    f.send(
        &mut g,
        Dir::S2c,
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n",
    )?;
    f.send(&mut g, Dir::C2s, &same_conn_request())?;
    f.send(&mut g, Dir::S2c, OK_EMPTY)?;
    f.close(&mut g)?;
    marker(&mut g)?;
    g.finish()
}

/// JSON nested `depth` deep: `{"a":{"a":...1...}}` when `object`, else `[[...]]`.
pub fn nested_json(depth: usize, object: bool) -> Vec<u8> {
    let (open, close): (&[u8], &[u8]) = if object {
        (b"{\"a\":", b"}")
    } else {
        (b"[", b"]")
    };
    let mut v = Vec::with_capacity(depth * (open.len() + close.len()) + 1);
    for _ in 0..depth {
        v.extend_from_slice(open);
    }
    v.push(b'1');
    for _ in 0..depth {
        v.extend_from_slice(close);
    }
    v
}

/// A JSON request body and a JSON response body nested `depth` deep, a second
/// request with an unclosed nest, an ordinary request on the same connection,
/// then the marker.
pub fn json_deep<W: Write>(out: W, depth: usize) -> io::Result<()> {
    let mut g = Gen::new(out)?;
    let mut f = Flow::new(Ipv4Addr::new(10, 1, 0, 7), 51003, SERVER, 80);
    f.open(&mut g)?;
    let post = |path: &str, body: &[u8]| {
        let mut v = format!(
            "POST {path} HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        v.extend_from_slice(body);
        v
    };
    let ok = |body: &[u8]| {
        let mut v = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        v.extend_from_slice(body);
        v
    };
    f.send(
        &mut g,
        Dir::C2s,
        &post("/api/deep", &nested_json(depth, true)),
    )?;
    f.send(&mut g, Dir::S2c, &ok(&nested_json(depth, false)))?;
    let unclosed = vec![b'['; depth];
    f.send(&mut g, Dir::C2s, &post("/api/deep", &unclosed))?;
    f.send(&mut g, Dir::S2c, &ok(&unclosed))?;
    f.send(&mut g, Dir::C2s, &same_conn_request())?;
    f.send(&mut g, Dir::S2c, OK_EMPTY)?;
    f.close(&mut g)?;
    marker(&mut g)?;
    g.finish()
}

/// Chunked bodies with sizes near and past 2^64 and garbage size lines, each
/// on its own connection (requests and responses), then the marker.
pub fn chunked<W: Write>(out: W) -> io::Result<()> {
    let long_line = format!("{}\r\n", "7".repeat(100_000));
    let lines: Vec<&[u8]> = vec![
        b"ffffffffffffffff\r\n",
        b"10000000000000000\r\n",
        b"fffffffffffffff0;ext=1\r\n",
        b"zz\x00\xff;\r\n",
        b"-1\r\n",
        long_line.as_bytes(),
    ];
    let mut g = Gen::new(out)?;
    for (i, line) in lines.iter().enumerate() {
        let mut f = Flow::new(Ipv4Addr::new(10, 1, 0, 7), 52000 + i as u16, SERVER, 80);
        f.open(&mut g)?;
        let mut req =
            b"POST /chunked HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        req.extend_from_slice(line);
        req.extend_from_slice(&[b'x'; 3000]);
        f.send(&mut g, Dir::C2s, &req)?;
        let mut resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        resp.extend_from_slice(line);
        resp.extend_from_slice(&[b'y'; 3000]);
        f.send(&mut g, Dir::S2c, &resp)?;
        f.close(&mut g)?;
    }
    marker(&mut g)?;
    g.finish()
}

/// A short ordinary conversation (used as filler around damaged records).
fn filler<W: Write>(g: &mut Gen<W>, port: u16) -> io::Result<()> {
    let mut f = Flow::new(Ipv4Addr::new(10, 1, 0, 8), port, SERVER, 80);
    f.open(g)?;
    f.send(g, Dir::C2s, b"GET /filler HTTP/1.1\r\nHost: app\r\n\r\n")?;
    f.send(g, Dir::S2c, OK_EMPTY)?;
    f.close(g)
}

/// Damaged classic pcap files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcapDamage {
    /// A record cut short in the middle of the file (its header promises 1500
    /// bytes, 30 follow), and the last record cut in half.
    Truncated,
    /// The file's magic number is garbage.
    BadMagic,
    /// A record claiming 0xfffffff0 captured bytes, and a real 9000-byte
    /// record in a file whose snaplen is 1500.
    CaplenOverSnaplen,
}

/// A pcap damaged as told, with the marker after the damage (before the cut
/// last record for [`PcapDamage::Truncated`]).
pub fn damaged_pcap(damage: PcapDamage) -> io::Result<Vec<u8>> {
    let mut file = vec![];
    {
        let mut g = Gen::new(&mut file)?;
        filler(&mut g, 53000)?;
        g.finish()?;
    }
    let mut rest = vec![];
    {
        let mut g = Gen::new(&mut rest)?;
        g.advance(1_000_000_000);
        filler(&mut g, 53001)?;
        if damage == PcapDamage::CaplenOverSnaplen {
            let mut f = Flow::new(Ipv4Addr::new(10, 1, 0, 8), 53002, SERVER, 80);
            f.mss = 9000;
            f.open(&mut g)?;
            f.send(&mut g, Dir::C2s, &[b'j'; 9000])?;
            f.close(&mut g)?;
        }
        marker(&mut g)?;
        filler(&mut g, 53003)?;
        g.finish()?;
    }
    let after = rest.get(24..).unwrap_or_default();
    match damage {
        PcapDamage::Truncated => {
            record_header(&mut file, 1500);
            file.extend_from_slice(&[0x45; 30]);
            file.extend_from_slice(after);
            // The last record (an ACK of the filler) loses its second half.
            let cut = file.len() - 30;
            file.truncate(cut);
        }
        PcapDamage::BadMagic => {
            file.extend_from_slice(after);
            file[..4].copy_from_slice(&0xdead_beefu32.to_le_bytes());
        }
        PcapDamage::CaplenOverSnaplen => {
            file[16..20].copy_from_slice(&1500u32.to_ne_bytes());
            record_header(&mut file, 0xffff_fff0);
            file.extend_from_slice(&[0x45; 64]);
            file.extend_from_slice(after);
        }
    }
    Ok(file)
}

fn record_header(v: &mut Vec<u8>, caplen: u32) {
    let secs = EPOCH_2024_05_01 as u32;
    for x in [secs, 500_000_000, caplen, caplen] {
        v.extend_from_slice(&x.to_ne_bytes());
    }
}

/// An NDJSON stream of garbage — binary junk, broken JSON, wrong types, JSON
/// nested `depth` deep, a `long_line`-byte line that starts like a record —
/// followed by the `valid` lines unchanged.
pub fn ndjson_garbage<W: Write>(
    mut out: W,
    valid: &[u8],
    long_line: u64,
    depth: usize,
) -> io::Result<()> {
    out.write_all(b"{\"type\":\"http\",\"ts\":\n")?;
    out.write_all(b"\x00\x01\x02\xff\xfe garbage \x7f\n")?;
    out.write_all(b"{\"type\":42}\n")?;
    out.write_all(b"[1,2,3]\n")?;
    out.write_all(b"{\"type\":\"http\",\"ts\":\"not a time\",\"flow\":1}\n")?;
    out.write_all(b"{\"type\":\"packet\",\"payload_b64\":\"!!!not base64!!!\"}\n")?;
    out.write_all(b"{\"type\":\"http\",\"deep\":")?;
    out.write_all(&nested_json(depth, false))?;
    out.write_all(b"}\n")?;
    out.write_all(&nested_json(depth, true))?;
    out.write_all(b"\n")?;
    out.write_all(b"{\"type\":\"http\",\"x\":\"")?;
    let block = vec![b'a'; 1 << 20];
    let mut left = long_line;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.write_all(b"\"}\n")?;
    out.write_all(valid)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{CaptureReader, Magic};

    fn frames(bytes: &[u8]) -> usize {
        let magic = Magic::detect(bytes).expect("pcap magic");
        let mut r = CaptureReader::open(magic, io::Cursor::new(bytes.to_vec())).unwrap();
        let mut n = 0;
        while let Some(f) = r.next_frame() {
            if f.is_ok() {
                n += 1;
            }
        }
        n
    }

    /// A generator under test, writing into a buffer.
    type Writes = Box<dyn Fn(&mut Vec<u8>) -> io::Result<()>>;

    #[test]
    fn generators_write_readable_captures() {
        let cases: Vec<(&str, Writes, usize)> = vec![
            ("halfopen", Box::new(|w| halfopen(w, 10)), 10 + 10),
            ("slow", Box::new(|w| slow(w, 2, 1)), 0),
            ("gzip", Box::new(|w| bomb(w, Bomb::Gzip, 1 << 16)), 0),
            ("br", Box::new(|w| bomb(w, Bomb::Brotli, 1 << 16)), 0),
            ("line", Box::new(|w| header_line(w, 100_000)), 0),
            ("headers", Box::new(|w| many_headers(w, 100)), 0),
            ("json", Box::new(|w| json_deep(w, 100)), 0),
            ("chunked", Box::new(|w| chunked(w)), 0),
        ];
        for (name, gen, want) in cases {
            let mut v = vec![];
            gen(&mut v).unwrap();
            let n = frames(&v);
            assert!(n > 11, "{name}: {n} frames");
            if want > 0 {
                assert_eq!(n, want, "{name}");
            }
        }
    }

    #[test]
    fn nested_json_is_balanced() {
        assert_eq!(nested_json(2, true), b"{\"a\":{\"a\":1}}");
        assert_eq!(nested_json(3, false), b"[[[1]]]");
    }
}
