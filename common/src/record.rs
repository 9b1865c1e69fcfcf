//! The records that cross a pipe: this module's documentation is the wire spec.
//!
//! Every line a stage writes is one JSON object with a `type` field naming the
//! record. Field names here are the contract of `DESIGN.md`: stages may add
//! fields, never rename or remove them. Byte payloads are base64 (standard
//! alphabet, padded) in fields ending in `_b64`. Times are RFC 3339 UTC strings
//! from the packet, with the capture's precision (see [`Ts`]).
//!
//! Serialisation goes through [`Record`], which adds the `type` tag. To read a
//! line, [`record_type`] finds its type cheaply and the caller deserialises the
//! one struct it consumes; anything else passes through untouched.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use crate::time::Ts;

/// One record of any type, tagged with `"type"` when serialised.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record<'a> {
    Frame(Frame<'a>),
    Packet(Packet<'a>),
    Conn(Conn),
    Data(Data<'a>),
    Gap(Gap),
    Http(Box<Http>),
    Attack(Attack),
    Vuln(Vuln),
    Endpoint(Endpoint),
}

/// Finds the `type` of an NDJSON line without deserialising the rest.
///
/// Our own writers always put `"type"` first, which the fast path reads
/// directly; any other JSON object falls back to a full parse. `None` means the
/// line is not a JSON object with a string `type`.
pub fn record_type(line: &[u8]) -> Option<Cow<'_, str>> {
    const PREFIX: &[u8] = br#"{"type":""#;
    if let Some(rest) = line.strip_prefix(PREFIX) {
        // The stage records, whole with their closing quote: no scan, no
        // UTF-8 check (what the scan below reads from them too; tests).
        for kind in ["packet", "data", "http", "conn", "gap"] {
            if rest.get(..kind.len()) == Some(kind.as_bytes())
                && rest.get(kind.len()) == Some(&b'"')
            {
                return Some(Cow::Borrowed(kind));
            }
        }
        if let Some(end) = rest.iter().position(|&b| b == b'"' || b == b'\\') {
            if rest[end] == b'"' {
                return std::str::from_utf8(&rest[..end]).ok().map(Cow::Borrowed);
            }
        }
    }
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow, rename = "type")]
        kind: Cow<'a, str>,
    }
    serde_json::from_slice::<Probe<'_>>(line)
        .ok()
        .map(|p| p.kind)
}

/// The link-layer type of a captured frame, as named in records.
///
/// Serialised as a short name (`"ethernet"`, `"linux_sll"`, ...); a link type
/// tapwatch does not decode is kept as `"dlt_<number>"` so nothing is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkType {
    /// BSD loopback: a 4-byte address family in host byte order (DLT 0).
    Null,
    /// Ethernet II, with or without 802.1Q tags (DLT 1).
    Ethernet,
    /// Raw IPv4 or IPv6, version from the first nibble (DLT 101, 12, 14).
    Raw,
    /// OpenBSD loopback: a 4-byte address family in network byte order (DLT 108).
    Loop,
    /// Linux "cooked" capture v1, 16-byte header (DLT 113).
    LinuxSll,
    /// Raw IPv4 only (DLT 228).
    Ipv4,
    /// Raw IPv6 only (DLT 229).
    Ipv6,
    /// Linux "cooked" capture v2, 20-byte header (DLT 276).
    LinuxSll2,
    /// Any other DLT/LINKTYPE number.
    Other(u32),
}

impl LinkType {
    /// The link type of a pcap/pcapng LINKTYPE number.
    pub fn from_dlt(dlt: u32) -> LinkType {
        match dlt {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            101 | 12 | 14 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// The LINKTYPE number written to pcap files.
    pub fn dlt(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(n) => n,
        }
    }

    /// Parses the record name of a link type.
    pub fn from_name(name: &str) -> Option<LinkType> {
        Some(match name {
            "null" => LinkType::Null,
            "ethernet" => LinkType::Ethernet,
            "raw" => LinkType::Raw,
            "loop" => LinkType::Loop,
            "linux_sll" => LinkType::LinuxSll,
            "ipv4" => LinkType::Ipv4,
            "ipv6" => LinkType::Ipv6,
            "linux_sll2" => LinkType::LinuxSll2,
            other => LinkType::Other(other.strip_prefix("dlt_")?.parse().ok()?),
        })
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            LinkType::Null => "null",
            LinkType::Ethernet => "ethernet",
            LinkType::Raw => "raw",
            LinkType::Loop => "loop",
            LinkType::LinuxSll => "linux_sll",
            LinkType::Ipv4 => "ipv4",
            LinkType::Ipv6 => "ipv6",
            LinkType::LinuxSll2 => "linux_sll2",
            LinkType::Other(n) => return write!(f, "dlt_{n}"),
        };
        f.write_str(name)
    }
}

impl Serialize for LinkType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LinkType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LinkType, D::Error> {
        let name = Cow::<'de, str>::deserialize(d)?;
        LinkType::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown link type {name:?} (want ethernet, raw, linux_sll, ... or dlt_N)"
            ))
        })
    }
}

/// `frame`: one captured link-layer frame, as `tw-capture` read it.
///
/// ```json
/// {"type":"frame","ts":"2024-05-01T12:00:00.123456Z","src":"eth0","index":0,
///  "link":"ethernet","len":1514,"data_b64":"..."}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame<'a> {
    /// Capture time of the frame.
    pub ts: Ts,
    /// Where the frame came from: interface name, file path, or listener address.
    pub src: Cow<'a, str>,
    /// Zero-based index of the frame within its source, for error messages.
    #[serde(default)]
    pub index: u64,
    /// Link-layer type of `data`.
    pub link: LinkType,
    /// Original length on the wire (may exceed the captured bytes).
    pub len: u32,
    /// Encapsulation already removed before the frame was captured, outermost
    /// first (e.g. the VXLAN header a `--vxlan-listen` socket stripped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tunnel: Vec<Tunnel>,
    /// The captured bytes, base64.
    #[serde(rename = "data_b64", with = "b64")]
    pub data: Cow<'a, [u8]>,
}

/// One layer of encapsulation that `tw-decap` removed, outermost first.
///
/// Serialised with a `kind` tag: `{"kind":"vxlan","vni":7,"outer_src":"10.0.0.5","outer_dst":"10.0.0.9"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Tunnel {
    /// An 802.1Q, 802.1ad or 0x9100 VLAN tag.
    Vlan {
        /// VLAN identifier (12 bits).
        vid: u16,
    },
    /// One MPLS label of a label stack.
    Mpls {
        /// Label value (20 bits).
        label: u32,
    },
    /// VXLAN (RFC 7348) over UDP.
    Vxlan {
        /// VXLAN network identifier (24 bits).
        vni: u32,
        outer_src: IpAddr,
        outer_dst: IpAddr,
    },
    /// Geneve (RFC 8926) over UDP.
    Geneve {
        /// Virtual network identifier (24 bits).
        vni: u32,
        outer_src: IpAddr,
        outer_dst: IpAddr,
    },
    /// GRE (RFC 2784/2890) without ERSPAN.
    Gre {
        /// The GRE key, when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<u32>,
        outer_src: IpAddr,
        outer_dst: IpAddr,
    },
    /// ERSPAN type I, II or III carried in GRE.
    Erspan {
        /// ERSPAN type: 1, 2 or 3.
        version: u8,
        /// Session id (10 bits; 0 for type I, which has none).
        session: u16,
        outer_src: IpAddr,
        outer_dst: IpAddr,
    },
    /// IPv4 or IPv6 carried directly in IPv4 or IPv6 (protocol 4 or 41).
    Ipip {
        outer_src: IpAddr,
        outer_dst: IpAddr,
    },
}

/// The IP header of a `packet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpInfo {
    /// IP version: 4 or 6.
    pub v: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
}

/// The TCP header of a `packet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpInfo {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// Flags as letters: F S R P A U E C, in that order (`"PA"`, `"SA"`).
    pub flags: TcpFlags,
    pub win: u16,
}

/// TCP flags, serialised as letters (`"SA"` for SYN+ACK).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
    pub(crate) const LETTERS: [(u8, char); 8] = [
        (Self::FIN, 'F'),
        (Self::SYN, 'S'),
        (Self::RST, 'R'),
        (Self::PSH, 'P'),
        (Self::ACK, 'A'),
        (Self::URG, 'U'),
        (Self::ECE, 'E'),
        (Self::CWR, 'C'),
    ];

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// The flags as letters (`SA`), written into `buf`.
    pub fn letters(self, buf: &mut [u8; 8]) -> &[u8] {
        let mut n = 0;
        for (bit, letter) in Self::LETTERS {
            if self.0 & bit != 0 {
                if let Some(slot) = buf.get_mut(n) {
                    *slot = letter as u8;
                }
                n += 1;
            }
        }
        buf.get(..n).unwrap_or_default()
    }

    /// Parses flags from letters in any order, as a record writes them
    /// (`None` on any other character).
    pub fn from_letters(s: &str) -> Option<TcpFlags> {
        Self::from_letter_bytes(s.as_bytes())
    }

    /// [`TcpFlags::from_letters`] of raw bytes: the letters are ASCII, so a
    /// byte of a wider character matches none, as the character would not.
    pub fn from_letter_bytes(b: &[u8]) -> Option<TcpFlags> {
        let mut bits = 0;
        for &c in b {
            bits |= Self::LETTERS.iter().find(|(_, l)| *l == char::from(c))?.0;
        }
        Some(TcpFlags(bits))
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for (bit, letter) in Self::LETTERS {
            if self.0 & bit != 0 {
                f.write_char(letter)?;
            }
        }
        Ok(())
    }
}

impl Serialize for TcpFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Only ASCII letters are written.
        s.serialize_str(std::str::from_utf8(self.letters(&mut [0; 8])).unwrap_or(""))
    }
}

impl<'de> Deserialize<'de> for TcpFlags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TcpFlags, D::Error> {
        let s = Cow::<'de, str>::deserialize(d)?;
        let mut bits = 0;
        for c in s.chars() {
            match Self::LETTERS.iter().find(|(_, l)| *l == c) {
                Some((bit, _)) => bits |= bit,
                None => {
                    return Err(serde::de::Error::custom(format!(
                        "unknown TCP flag {c:?} in {s:?}"
                    )))
                }
            }
        }
        Ok(TcpFlags(bits))
    }
}

/// `packet`: one TCP segment with the encapsulation it came through.
///
/// ```json
/// {"type":"packet","ts":"...","src":"eth0","index":0,
///  "tunnel":[{"kind":"vxlan","vni":7,"outer_src":"10.0.0.5","outer_dst":"10.0.0.9"},{"kind":"vlan","vid":42}],
///  "ip":{"v":4,"src":"10.1.0.7","dst":"10.1.0.9","ttl":64},
///  "tcp":{"sport":51234,"dport":80,"seq":1,"ack":1,"flags":"PA","win":502},
///  "payload_b64":"..."}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Packet<'a> {
    pub ts: Ts,
    /// The `src` of the frame this segment came from.
    pub src: Cow<'a, str>,
    /// The `index` of that frame (the last fragment's, for a reassembled datagram).
    #[serde(default)]
    pub index: u64,
    /// Encapsulation layers removed, outermost first (empty when none).
    #[serde(default)]
    pub tunnel: Cow<'a, [Tunnel]>,
    pub ip: IpInfo,
    pub tcp: TcpInfo,
    /// TCP payload bytes, base64.
    #[serde(rename = "payload_b64", with = "b64")]
    pub payload: Cow<'a, [u8]>,
}

/// Direction of a byte stream within a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// Client to server.
    C2s,
    /// Server to client.
    S2c,
}

impl Dir {
    pub fn reverse(self) -> Dir {
        match self {
            Dir::C2s => Dir::S2c,
            Dir::S2c => Dir::C2s,
        }
    }
}

/// Whether a `conn` record opens or closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnEvent {
    Open,
    Close,
}

/// `conn`: a TCP connection opened or closed by the reassembler.
///
/// `open` carries `community_id`, `client`, `server`, `tunnel` and `midstream`;
/// `close` carries `reason` and the byte counts of each direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conn {
    pub event: ConnEvent,
    pub ts: Ts,
    /// Deterministic flow id: 5-tuple, tracked tunnel identity and first packet time.
    pub flow: String,
    /// Community ID v1 of the 5-tuple (`1:<base64>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_id: Option<String>,
    /// `ip:port` (IPv6 in brackets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Vec<Tunnel>>,
    /// True when the handshake was not seen and roles were inferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub midstream: Option<bool>,
    /// Why the connection closed: `fin`, `rst`, `timeout`, `evicted`, `eof`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_c2s: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_s2c: Option<u64>,
}

/// `data`: in-order stream bytes of one direction at stream offset `off`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Data<'a> {
    pub ts: Ts,
    /// Borrowed from the reassembler's flow (no string per record).
    pub flow: Cow<'a, str>,
    pub dir: Dir,
    /// Offset of the first byte in the direction's stream (0 = first byte seen).
    pub off: u64,
    #[serde(rename = "data_b64", with = "b64")]
    pub data: Cow<'a, [u8]>,
}

/// `gap`: `len` stream bytes at `off` that were never seen; the stream goes on after them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub ts: Ts,
    pub flow: String,
    pub dir: Dir,
    pub off: u64,
    pub len: u64,
}

/// One HTTP header as sent: `[name, value]`.
pub type Header = (String, String);

/// The request half of an `http` transaction (`Default`: empty, for a
/// reader or a pool to fill in place).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    pub uri: String,
    pub version: String,
    /// Ordered `[name, value]` pairs, duplicates kept, names as sent.
    pub headers: Vec<Header>,
    /// Full decoded body length (after transfer and content decoding) when
    /// the body could be decoded to its end, even past the body cap;
    /// otherwise (decompression cap or ratio hit, bad coded data, a gap, an
    /// unknown coding, bodies off) the body bytes seen after transfer
    /// decoding, and `truncated` is true.
    pub body_len: u64,
    /// Decoded body, up to the body cap.
    #[serde(rename = "body_b64", with = "b64")]
    pub body: Vec<u8>,
    /// Whether `body` is not the whole decoded body (cap, gap, cut short).
    pub truncated: bool,
    /// Trailer fields of a chunked body, as sent (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trailers: Vec<Header>,
}

/// The response half of an `http` transaction (`Default`: empty, status 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    pub reason: String,
    pub version: String,
    pub headers: Vec<Header>,
    /// As [`HttpRequest::body_len`].
    pub body_len: u64,
    #[serde(rename = "body_b64", with = "b64")]
    pub body: Vec<u8>,
    pub truncated: bool,
    /// Trailer fields of a chunked body, as sent (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trailers: Vec<Header>,
}

/// `http`: one request paired with its response (either may be missing).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Http {
    pub ts: Ts,
    pub ts_end: Ts,
    pub flow: String,
    pub community_id: String,
    /// Index of the transaction within its connection, from 0.
    pub seq: u64,
    pub client: String,
    pub server: String,
    /// Client address as the application sees it (PROXY protocol or trusted header).
    pub real_ip: String,
    #[serde(default)]
    pub tunnel: Vec<Tunnel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<HttpResponse>,
    #[serde(default)]
    pub anomalies: Vec<String>,
    /// Client `ip:port` named by a PROXY protocol header at the start of the
    /// connection (absent when there was none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Status codes of interim (1xx) responses that came before the final
    /// one, e.g. `[100]` after `Expect: 100-continue` (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interim: Vec<u16>,
}

/// One detector hit inside an `attack`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Attack class: `sqli`, `xss`, `rce`, `ptrav`, `ssrf`, ...
    pub class: String,
    /// Where in the request: `path`, `query.id`, `body.json.user.name`, `header.User-Agent`, ...
    pub point: String,
    /// Decoded payload excerpt.
    pub payload: String,
    /// Rule id.
    pub rule: String,
    /// How sure the detector is, from 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// What the rule says about the hit (user rules carry a message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `attack`: an HTTP transaction that carried an attack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attack {
    pub ts: Ts,
    pub flow: String,
    pub http_seq: u64,
    pub client: String,
    pub real_ip: String,
    pub server: String,
    pub method: String,
    pub host: String,
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub hits: Vec<Hit>,
    /// What the response says: `likely_succeeded`, `blocked` or `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// `low`, `medium`, `high` or `critical`, from the classes and the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
}

/// `vuln`: a weakness an HTTP response revealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vuln {
    pub ts: Ts,
    pub flow: String,
    /// Dotted class, e.g. `info_leak.stack_trace`.
    pub class: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub method: String,
    pub host: String,
    pub path: String,
    pub evidence: String,
    /// The endpoint template the finding is deduplicated on (`/users/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Index of the transaction that showed it within its connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_seq: Option<u64>,
}

/// `endpoint`: one entry of the API inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub method: String,
    pub host: String,
    /// Path template, e.g. `/users/{id}`.
    pub path: String,
    #[serde(default)]
    pub params: Vec<serde_json::Value>,
    /// Count of responses by status code.
    #[serde(default)]
    pub statuses: BTreeMap<String, u64>,
    #[serde(default)]
    pub sensitive: Vec<String>,
    pub count: u64,
    pub first_seen: Ts,
    pub last_seen: Ts,
    /// Whether requests carried credentials: `always`, `sometimes` or `never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// Transactions the inventory learned parameters and schemas from
    /// (2xx responses unless `--all-statuses`); `count` holds every status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learned: Option<u64>,
}

/// Serde helpers for `_b64` fields: standard alphabet, padded.
///
/// Payloads are most of every NDJSON line between stages, so encoding and
/// decoding use base64-simd (AVX2/SSE4.1/NEON, several GB/s); the `base64`
/// crate only words the error when a field does not decode.
pub mod b64 {
    use std::cell::RefCell;

    use base64::Engine;
    use serde::{Deserializer, Serializer};

    const SIMD: base64_simd::Base64 = base64_simd::STANDARD;

    thread_local! {
        /// Reused encode buffer, so serialising a payload does not allocate per record.
        static BUF: RefCell<String> = const { RefCell::new(String::new()) };
    }

    pub fn serialize<T: AsRef<[u8]> + ?Sized, S: Serializer>(
        data: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        BUF.with(|buf| match buf.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                SIMD.encode_append(data.as_ref(), &mut *buf);
                s.serialize_str(&buf)
            }
            // Re-entered (a serializer that serialises inside a serializer): no reuse.
            Err(_) => s.serialize_str(&encode(data.as_ref())),
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: From<Vec<u8>>>(d: D) -> Result<T, D::Error> {
        // Asked for as bytes: serde_json then hands over the string's bytes
        // without validating them as UTF-8 (the decoder checks every byte).
        d.deserialize_bytes(Text).map(T::from)
    }

    /// Accepts a base64 string however the format hands it over.
    struct Text;

    impl serde::de::Visitor<'_> for Text {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a base64 string")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            decode_bytes(v).map_err(|e| E::custom(format!("bad base64: {e}")))
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            self.visit_bytes(v.as_bytes())
        }
    }

    /// Appends the base64 text of `data` to `out`.
    pub fn encode_append(data: &[u8], out: &mut Vec<u8>) {
        SIMD.encode_append(data, out);
    }

    /// Encodes bytes as a base64 string.
    pub fn encode(data: &[u8]) -> String {
        SIMD.encode_to_string(data)
    }

    /// Decodes a base64 string; the error says what and where.
    pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
        decode_bytes(text.as_bytes())
    }

    /// [`decode_bytes`] into `out` (cleared first), in the room it has: the
    /// same bytes, or the same error (`out` then holds nothing useful).
    pub fn decode_into(text: &[u8], out: &mut Vec<u8>) -> Result<(), base64::DecodeError> {
        out.clear();
        match SIMD.decode_append(text, out) {
            Ok(()) => Ok(()),
            Err(_) => {
                *out = decode_bytes(text)?;
                Ok(())
            }
        }
    }

    /// Decodes base64 bytes (a string's raw bytes); the error says what and where.
    pub fn decode_bytes(text: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
        match SIMD.decode_to_vec(text) {
            Ok(v) => Ok(v),
            // The `base64` crate names the offending symbol and offset (both
            // accept exactly the canonical padded encodings; tests check it).
            Err(_) => base64::engine::general_purpose::STANDARD.decode(text),
        }
    }
}

/// JSON for the record types that carry bodies, written without serde's
/// per-byte escape scan over base64 text.
///
/// `serde_json` checks every byte of every string it writes for characters
/// that need escaping; for an `http` record most bytes are base64, which
/// never does (its alphabet is `A-Z a-z 0-9 + / =`). [`write_record`] writes
/// `http` and `data` records field by field — every value through
/// `serde_json` except the base64 text, which goes out as encoded — and any
/// other record through serde. The output is byte for byte serde's (the
/// tests compare both on records with every optional field set), and the
/// destructuring below fails to compile when a field is added to one of
/// these types and not here.
pub mod fast_json {
    use std::cell::RefCell;
    use std::io::{self, Write};

    use serde::Serialize;

    use std::net::IpAddr;

    use super::{
        b64, Data, Dir, Header, Http, HttpRequest, HttpResponse, IpInfo, Packet, Record, TcpInfo,
        Ts, Tunnel,
    };

    thread_local! {
        /// The last whole second written and its text (`Ts`'s own
        /// formatting, without the `Z`): records in a row mostly share it.
        static SECOND: RefCell<(i64, Vec<u8>)> = const { RefCell::new((0, Vec::new())) };
        /// The last tunnel stack written and its JSON: a flow's transactions
        /// share it, and addresses are costly to format.
        static TUNNEL: RefCell<(Vec<Tunnel>, Vec<u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    }

    /// `,"tunnel":[...]`, from the last one written when it is the same.
    fn field_tunnel(out: &mut Vec<u8>, tunnel: &[Tunnel]) -> io::Result<()> {
        if tunnel.is_empty() {
            return out.write_all(b",\"tunnel\":[]");
        }
        TUNNEL.with(|cell| {
            let Ok(mut cell) = cell.try_borrow_mut() else {
                return field(out, "tunnel", tunnel);
            };
            let (last, text) = &mut *cell;
            if last.as_slice() != tunnel || text.is_empty() {
                text.clear();
                field(text, "tunnel", tunnel)?;
                last.clear();
                last.extend_from_slice(tunnel);
            }
            out.write_all(text)
        })
    }

    /// Writes `rec` as serde_json would (no newline).
    pub fn write_record(out: &mut Vec<u8>, rec: &Record<'_>) -> io::Result<()> {
        match rec {
            Record::Http(h) => write_http(out, h),
            Record::Data(d) => write_data(out, d),
            Record::Packet(p) => write_packet(out, p),
            other => serde_json::to_writer(out, other).map_err(io::Error::from),
        }
    }

    /// One value through serde_json.
    fn val<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> io::Result<()> {
        serde_json::to_writer(out, v).map_err(io::Error::from)
    }

    /// `,"key":` then the value through serde_json.
    fn field<T: Serialize + ?Sized>(out: &mut Vec<u8>, key: &str, v: &T) -> io::Result<()> {
        out.write_all(b",\"")?;
        out.write_all(key.as_bytes())?;
        out.write_all(b"\":")?;
        val(out, v)
    }

    /// `,"key":"<time>"`, as `Ts` serialises: the date and time of day come
    /// from `Ts`'s `Display` once per second, the fraction is written here.
    fn field_ts(out: &mut Vec<u8>, key: &str, ts: &Ts) -> io::Result<()> {
        if ts.nanos >= 1_000_000_000 {
            // Not normalised: its fraction has more digits than it says.
            return field(out, key, ts);
        }
        out.write_all(b",\"")?;
        out.write_all(key.as_bytes())?;
        out.write_all(b"\":\"")?;
        SECOND.with(|cell| {
            let Ok(mut cell) = cell.try_borrow_mut() else {
                return write!(out, "{ts}");
            };
            let (secs, text) = &mut *cell;
            if *secs != ts.secs || text.is_empty() {
                text.clear();
                write!(text, "{}", Ts::new(ts.secs, 0, 0))?;
                text.pop(); // the `Z`
                *secs = ts.secs;
            }
            out.write_all(text)?;
            if ts.digits > 0 {
                let digits = usize::from(ts.digits.min(9));
                let mut frac = ts.nanos / 10u32.pow(9 - digits as u32);
                let mut buf = [b'.'; 10];
                for slot in buf.get_mut(1..=digits).unwrap_or_default().iter_mut().rev() {
                    *slot = b'0' + (frac % 10) as u8;
                    frac /= 10;
                }
                out.write_all(buf.get(..=digits).unwrap_or_default())?;
            }
            out.write_all(b"Z")
        })?;
        out.write_all(b"\"")
    }

    /// `,"key":"<base64>"`: the alphabet needs no escaping.
    #[inline(always)]
    fn field_b64(out: &mut Vec<u8>, key: &str, data: &[u8]) -> io::Result<()> {
        out.write_all(b",\"")?;
        out.write_all(key.as_bytes())?;
        out.write_all(b"\":\"")?;
        // Encoded straight into the line.
        b64::encode_append(data, out);
        out.write_all(b"\"")
    }

    /// Whether `s` has a byte serde_json escapes: `"`, `\\` or a control
    /// character below 0x20.
    pub(crate) fn needs_escape(s: &[u8]) -> bool {
        first_special(s).is_some()
    }

    /// Where the first `"`, `\\` or control character below 0x20 is in `s`,
    /// eight bytes at a time.
    pub(crate) fn first_special(s: &[u8]) -> Option<usize> {
        const LO: u64 = 0x0101_0101_0101_0101;
        const HI: u64 = 0x8080_8080_8080_8080;
        // Marks the bytes of `x` below `n` (n <= 0x80). A borrow can mark a
        // byte above a marked one falsely, never one below: the lowest mark
        // is always true.
        let below = |x: u64, n: u64| x.wrapping_sub(LO * n) & !x & HI;
        let mut at = 0;
        let mut chunks = s.chunks_exact(8);
        for chunk in &mut chunks {
            let Ok(word) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            let x = u64::from_le_bytes(word);
            let marks = below(x, 0x20)
                | below(x ^ (LO * u64::from(b'"')), 1)
                | below(x ^ (LO * u64::from(b'\\')), 1);
            if marks != 0 {
                // Little-endian: the lowest mark is the first byte.
                return Some(at + (marks.trailing_zeros() / 8) as usize);
            }
            at += 8;
        }
        chunks
            .remainder()
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
            .map(|i| at + i)
    }

    /// A string value as serde_json writes it: as it is when nothing in it
    /// needs escaping, else through serde_json.
    #[inline(always)]
    fn str_val(out: &mut Vec<u8>, s: &str) -> io::Result<()> {
        if needs_escape(s.as_bytes()) {
            return val(out, s);
        }
        out.write_all(b"\"")?;
        out.write_all(s.as_bytes())?;
        out.write_all(b"\"")
    }

    /// `,"key":"<text>"`.
    #[inline(always)]
    fn field_str(out: &mut Vec<u8>, key: &str, s: &str) -> io::Result<()> {
        out.write_all(b",\"")?;
        out.write_all(key.as_bytes())?;
        out.write_all(b"\":")?;
        str_val(out, s)
    }

    /// `,"key":true` or `false`.
    #[inline(always)]
    fn field_bool(out: &mut Vec<u8>, key: &str, b: bool) -> io::Result<()> {
        out.write_all(b",\"")?;
        out.write_all(key.as_bytes())?;
        out.write_all(if b { &b"\":true"[..] } else { b"\":false" })
    }

    /// `,"key":[["name","value"],...]`.
    fn field_headers(out: &mut Vec<u8>, key: &str, headers: &[Header]) -> io::Result<()> {
        out.write_all(b",\"")?;
        out.write_all(key.as_bytes())?;
        out.write_all(b"\":[")?;
        for (i, (name, value)) in headers.iter().enumerate() {
            out.write_all(if i == 0 { &b"["[..] } else { b",[" })?;
            str_val(out, name)?;
            out.write_all(b",")?;
            str_val(out, value)?;
            out.write_all(b"]")?;
        }
        out.write_all(b"]")
    }

    /// `,"key":["text",...]`.
    fn field_strs(out: &mut Vec<u8>, key: &str, items: &[String]) -> io::Result<()> {
        out.write_all(b",\"")?;
        out.write_all(key.as_bytes())?;
        out.write_all(b"\":[")?;
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            str_val(out, s)?;
        }
        out.write_all(b"]")
    }

    fn write_http(out: &mut Vec<u8>, h: &Http) -> io::Result<()> {
        let Http {
            ts,
            ts_end,
            flow,
            community_id,
            seq,
            client,
            server,
            real_ip,
            tunnel,
            request,
            response,
            anomalies,
            proxy,
            interim,
        } = h;
        out.write_all(b"{\"type\":\"http\"")?;
        field_ts(out, "ts", ts)?;
        field_ts(out, "ts_end", ts_end)?;
        field_str(out, "flow", flow)?;
        field_str(out, "community_id", community_id)?;
        field_uint(out, "seq", *seq)?;
        field_str(out, "client", client)?;
        field_str(out, "server", server)?;
        field_str(out, "real_ip", real_ip)?;
        field_tunnel(out, tunnel)?;
        if let Some(r) = request {
            out.write_all(b",\"request\":")?;
            write_request(out, r)?;
        }
        if let Some(r) = response {
            out.write_all(b",\"response\":")?;
            write_response(out, r)?;
        }
        field_strs(out, "anomalies", anomalies)?;
        if let Some(p) = proxy {
            field_str(out, "proxy", p)?;
        }
        if !interim.is_empty() {
            field(out, "interim", interim)?;
        }
        out.write_all(b"}")
    }

    fn write_request(out: &mut Vec<u8>, r: &HttpRequest) -> io::Result<()> {
        let HttpRequest {
            method,
            uri,
            version,
            headers,
            body_len,
            body,
            truncated,
            trailers,
        } = r;
        out.write_all(b"{\"method\":")?;
        str_val(out, method)?;
        field_str(out, "uri", uri)?;
        field_str(out, "version", version)?;
        field_headers(out, "headers", headers)?;
        field_uint(out, "body_len", *body_len)?;
        field_b64(out, "body_b64", body)?;
        field_bool(out, "truncated", *truncated)?;
        if !trailers.is_empty() {
            field_headers(out, "trailers", trailers)?;
        }
        out.write_all(b"}")
    }

    fn write_response(out: &mut Vec<u8>, r: &HttpResponse) -> io::Result<()> {
        let HttpResponse {
            status,
            reason,
            version,
            headers,
            body_len,
            body,
            truncated,
            trailers,
        } = r;
        out.write_all(b"{\"status\":")?;
        out.write_all(itoa::Buffer::new().format(*status).as_bytes())?;
        field_str(out, "reason", reason)?;
        field_str(out, "version", version)?;
        field_headers(out, "headers", headers)?;
        field_uint(out, "body_len", *body_len)?;
        field_b64(out, "body_b64", body)?;
        field_bool(out, "truncated", *truncated)?;
        if !trailers.is_empty() {
            field_headers(out, "trailers", trailers)?;
        }
        out.write_all(b"}")
    }

    /// `,"key":N`, digits as serde_json writes them (itoa).
    #[inline(always)]
    fn field_uint(out: &mut Vec<u8>, key: &str, n: impl itoa::Integer) -> io::Result<()> {
        out.write_all(b",\"")?;
        out.write_all(key.as_bytes())?;
        out.write_all(b"\":")?;
        out.write_all(itoa::Buffer::new().format(n).as_bytes())
    }

    /// `,"key":"<address>"`: IPv4 digits written here, IPv6 through its
    /// `Display` (which serde uses too).
    #[inline(always)]
    fn field_ip(out: &mut Vec<u8>, key: &str, ip: &IpAddr) -> io::Result<()> {
        out.write_all(b",\"")?;
        out.write_all(key.as_bytes())?;
        out.write_all(b"\":\"")?;
        match ip {
            IpAddr::V4(v4) => {
                let mut text = [0u8; 15];
                let mut n = 0;
                let mut put = |c: u8| {
                    if let Some(slot) = text.get_mut(n) {
                        *slot = c;
                    }
                    n += 1;
                };
                for (k, octet) in v4.octets().into_iter().enumerate() {
                    if k > 0 {
                        put(b'.');
                    }
                    if octet >= 100 {
                        put(b'0' + octet / 100);
                    }
                    if octet >= 10 {
                        put(b'0' + octet / 10 % 10);
                    }
                    put(b'0' + octet % 10);
                }
                out.write_all(text.get(..n).unwrap_or_default())?;
            }
            IpAddr::V6(_) => write!(out, "{ip}")?,
        }
        out.write_all(b"\"")
    }

    fn write_packet(out: &mut Vec<u8>, p: &Packet<'_>) -> io::Result<()> {
        let Packet {
            ts,
            src,
            index,
            tunnel,
            ip,
            tcp,
            payload,
        } = p;
        let IpInfo {
            v,
            src: ip_src,
            dst: ip_dst,
            ttl,
        } = ip;
        let TcpInfo {
            sport,
            dport,
            seq,
            ack,
            flags,
            win,
        } = tcp;
        out.write_all(b"{\"type\":\"packet\"")?;
        field_ts(out, "ts", ts)?;
        field_str(out, "src", src)?;
        field_uint(out, "index", *index)?;
        field_tunnel(out, tunnel)?;
        out.write_all(b",\"ip\":{\"v\":")?;
        out.write_all(itoa::Buffer::new().format(*v).as_bytes())?;
        field_ip(out, "src", ip_src)?;
        field_ip(out, "dst", ip_dst)?;
        field_uint(out, "ttl", *ttl)?;
        out.write_all(b"},\"tcp\":{\"sport\":")?;
        out.write_all(itoa::Buffer::new().format(*sport).as_bytes())?;
        field_uint(out, "dport", *dport)?;
        field_uint(out, "seq", *seq)?;
        field_uint(out, "ack", *ack)?;
        out.write_all(b",\"flags\":\"")?;
        out.write_all(flags.letters(&mut [0; 8]))?;
        out.write_all(b"\"")?;
        field_uint(out, "win", *win)?;
        out.write_all(b"}")?;
        field_b64(out, "payload_b64", payload)?;
        out.write_all(b"}")
    }

    fn write_data(out: &mut Vec<u8>, d: &Data<'_>) -> io::Result<()> {
        let Data {
            ts,
            flow,
            dir,
            off,
            data,
        } = d;
        out.write_all(b"{\"type\":\"data\"")?;
        field_ts(out, "ts", ts)?;
        field_str(out, "flow", flow)?;
        out.write_all(match dir {
            Dir::C2s => b",\"dir\":\"c2s\"",
            Dir::S2c => b",\"dir\":\"s2c\"",
        })?;
        field_uint(out, "off", *off)?;
        field_b64(out, "data_b64", data)?;
        out.write_all(b"}")
    }
}

/// Formats `ip:port`, IPv6 in brackets, as records write endpoints.
pub fn endpoint(ip: IpAddr, port: u16) -> String {
    std::net::SocketAddr::new(ip, port).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame<'static> {
        Frame {
            ts: Ts::from_micros(1_714_564_800, 123_456),
            src: "eth0".into(),
            index: 3,
            link: LinkType::Ethernet,
            len: 60,
            tunnel: vec![],
            data: Cow::Owned(b"\x00\x01hello".to_vec()),
        }
    }

    #[test]
    fn frame_wire_format() {
        let line = serde_json::to_string(&Record::Frame(frame())).unwrap();
        assert_eq!(
            line,
            r#"{"type":"frame","ts":"2024-05-01T12:00:00.123456Z","src":"eth0","index":3,"link":"ethernet","len":60,"data_b64":"AAFoZWxsbw=="}"#
        );
        assert_eq!(record_type(line.as_bytes()).as_deref(), Some("frame"));
        let back: Frame<'_> = serde_json::from_str(&line).unwrap();
        assert_eq!(back, frame());
    }

    #[test]
    fn packet_wire_format_matches_design() {
        let p = Packet {
            ts: Ts::from_micros(0, 0),
            src: "eth0".into(),
            index: 0,
            tunnel: Cow::Owned(vec![
                Tunnel::Vxlan {
                    vni: 7,
                    outer_src: "10.0.0.5".parse().unwrap(),
                    outer_dst: "10.0.0.9".parse().unwrap(),
                },
                Tunnel::Vlan { vid: 42 },
            ]),
            ip: IpInfo {
                v: 4,
                src: "10.1.0.7".parse().unwrap(),
                dst: "10.1.0.9".parse().unwrap(),
                ttl: 64,
            },
            tcp: TcpInfo {
                sport: 51234,
                dport: 80,
                seq: 1,
                ack: 1,
                flags: TcpFlags(TcpFlags::PSH | TcpFlags::ACK),
                win: 502,
            },
            payload: Cow::Borrowed(b""),
        };
        let line = serde_json::to_string(&Record::Packet(p.clone())).unwrap();
        assert_eq!(
            line,
            concat!(
                r#"{"type":"packet","ts":"1970-01-01T00:00:00.000000Z","src":"eth0","index":0,"#,
                r#""tunnel":[{"kind":"vxlan","vni":7,"outer_src":"10.0.0.5","outer_dst":"10.0.0.9"},{"kind":"vlan","vid":42}],"#,
                r#""ip":{"v":4,"src":"10.1.0.7","dst":"10.1.0.9","ttl":64},"#,
                r#""tcp":{"sport":51234,"dport":80,"seq":1,"ack":1,"flags":"PA","win":502},"payload_b64":""}"#
            )
        );
        let back: Packet<'_> = serde_json::from_str(&line).unwrap();
        assert_eq!(back, p);
    }

    /// The fast writer and serde agree on records with every optional field
    /// set, with none, and with text that needs escaping.
    #[test]
    fn fast_json_matches_serde() {
        let headers = vec![
            ("Host".to_string(), "app".to_string()),
            ("X-Odd".to_string(), "q\"uote\\ \u{1} tab\t é ✓".to_string()),
        ];
        let full = Http {
            ts: Ts::from_micros(1_714_564_800, 123_456),
            ts_end: Ts::from_micros(1_714_564_801, 7),
            flow: "f\"1".into(),
            community_id: "1:abc+/=".into(),
            seq: 3,
            client: "10.1.0.7:51234".into(),
            server: "[::1]:80".into(),
            real_ip: "203.0.113.9".into(),
            tunnel: vec![
                Tunnel::Vxlan {
                    vni: 7,
                    outer_src: "10.0.0.5".parse().unwrap(),
                    outer_dst: "fe80::1".parse().unwrap(),
                },
                Tunnel::Vlan { vid: 42 },
            ],
            request: Some(HttpRequest {
                method: "POST".into(),
                uri: "/a?b=1&c=\u{7f}".into(),
                version: "HTTP/1.1".into(),
                headers: headers.clone(),
                body_len: 300,
                body: (0..=255u8).chain(0..44).collect(),
                truncated: true,
                trailers: headers.clone(),
            }),
            response: Some(HttpResponse {
                status: 200,
                reason: "OK \"fine\"".into(),
                version: "HTTP/1.1".into(),
                headers: headers.clone(),
                body_len: 1,
                body: b"x".to_vec(),
                truncated: false,
                trailers: headers,
            }),
            anomalies: vec!["dup_length".into()],
            proxy: Some("198.51.100.1:4000".into()),
            interim: vec![100, 103],
        };
        let mut bare = full.clone();
        bare.request = None;
        bare.response = None;
        bare.proxy = None;
        bare.interim = vec![];
        bare.tunnel = vec![];
        bare.anomalies = vec![];
        let mut empty_bodies = full.clone();
        if let (Some(q), Some(r)) = (&mut empty_bodies.request, &mut empty_bodies.response) {
            q.body.clear();
            q.trailers.clear();
            r.body.clear();
            r.trailers.clear();
        }
        let data = Data {
            ts: Ts::from_micros(0, 0),
            flow: "f".into(),
            dir: Dir::S2c,
            off: 17,
            data: Cow::Borrowed(b"\x00\xffbytes"),
        };
        let mut other_tunnel = full.clone();
        other_tunnel.tunnel.pop();
        let records = [
            Record::Http(Box::new(full.clone())),
            Record::Http(Box::new(full)),
            Record::Http(Box::new(other_tunnel)),
            Record::Http(Box::new(bare)),
            Record::Http(Box::new(empty_bodies)),
            Record::Data(data),
            Record::Frame(frame()),
        ];
        let mut times = vec![];
        for secs in [
            0,
            -1,
            -86_401,
            1_714_564_800,
            253_402_300_799,
            253_402_300_800,
        ] {
            for (nanos, digits) in [
                (0, 0),
                (5, 9),
                (123_456_789, 9),
                (120_000_000, 3),
                (999_999_000, 6),
                (7, 6),
            ] {
                times.push(Ts::new(secs, nanos, digits));
            }
        }
        times.push(Ts {
            secs: 5,
            nanos: 1_500_000_000,
            digits: 6,
        });
        times.push(Ts {
            secs: 5,
            nanos: 1,
            digits: 12,
        });
        let timed = times.iter().map(|&ts| {
            Record::Data(Data {
                ts,
                flow: "f".into(),
                dir: Dir::C2s,
                off: 0,
                data: Cow::Borrowed(b""),
            })
        });
        let ips = [
            "0.0.0.0",
            "9.10.99.100",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "2001:db8::8:800:200c:417a",
            "fe80::1:2:3:4",
        ];
        let packets = ips.iter().enumerate().map(|(i, ip)| {
            let ip: IpAddr = ip.parse().unwrap();
            Record::Packet(Packet {
                ts: Ts::from_micros(1_714_564_800, 123_456),
                src: if i % 2 == 0 { "eth0" } else { "a\"b\u{1}é" }.into(),
                index: u64::MAX - i as u64,
                tunnel: Cow::Owned(if i % 3 == 0 {
                    vec![]
                } else {
                    vec![Tunnel::Vlan { vid: 42 }]
                }),
                ip: IpInfo {
                    v: 4,
                    src: ip,
                    dst: ips[(i + 3) % ips.len()].parse().unwrap(),
                    ttl: (i as u8).wrapping_mul(60),
                },
                tcp: TcpInfo {
                    sport: i as u16,
                    dport: u16::MAX,
                    seq: u32::MAX - i as u32,
                    ack: i as u32 * 1000,
                    flags: TcpFlags((i as u8).wrapping_mul(37)),
                    win: 10u16.pow(i as u32 % 5),
                },
                payload: Cow::Owned(vec![i as u8; i * 3]),
            })
        });
        for rec in records.iter().cloned().chain(timed).chain(packets) {
            let rec = &rec;
            let mut fast = vec![];
            fast_json::write_record(&mut fast, rec).unwrap();
            let slow = serde_json::to_vec(rec).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(slow).unwrap()
            );
        }
    }

    proptest::proptest! {
        /// The escape gate finds every byte serde_json escapes, wherever
        /// it sits in the 8-byte words, and the string writer equals serde's.
        #[test]
        fn escape_gate_matches_serde(
            s in proptest::prelude::any::<String>(),
            pad in 0usize..9,
            odd in proptest::sample::select(vec!['"', '\\', '\u{0}', '\u{1f}', ' ', '\u{7f}', 'é', 'a']),
            at in 0usize..40,
        ) {
            let mut s = "x".repeat(pad) + &s;
            let at = s.char_indices().map(|(i, _)| i).nth(at).unwrap_or(s.len());
            s.insert(at, odd);
            let naive = s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
            proptest::prop_assert_eq!(fast_json::needs_escape(s.as_bytes()), naive);
            proptest::prop_assert_eq!(
                fast_json::first_special(s.as_bytes()),
                s.bytes().position(|b| b < 0x20 || b == b'"' || b == b'\\')
            );
            let mut fast = vec![];
            fast_json::write_record(&mut fast, &Record::Data(Data {
                ts: Ts::from_micros(0, 0),
                flow: s.clone().into(),
                dir: Dir::C2s,
                off: 0,
                data: Cow::Borrowed(b""),
            })).unwrap();
            let slow = serde_json::to_vec(&Record::Data(Data {
                ts: Ts::from_micros(0, 0),
                flow: s.into(),
                dir: Dir::C2s,
                off: 0,
                data: Cow::Borrowed(b""),
            })).unwrap();
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn escape_gate_every_byte_at_every_position() {
        for b in 0..=255u8 {
            for at in 0..17 {
                let mut v = vec![b'a'; 17];
                v[at] = b;
                let naive = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(fast_json::needs_escape(&v[..=at]), naive, "{b} at {at}");
                assert_eq!(fast_json::needs_escape(&v), naive, "{b} at {at}");
                // A second special byte after it does not move the first.
                v[16] = b'"';
                let first = if naive { at } else { 16 };
                assert_eq!(fast_json::first_special(&v), Some(first), "{b} at {at}");
            }
        }
    }

    #[test]
    fn record_type_stage_kinds_read_as_the_scan_reads_them() {
        // The scan the stage kinds skip, as it was.
        let scan = |line: &[u8]| -> Option<String> {
            let rest = line.strip_prefix(br#"{"type":""#)?;
            let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
            (rest.get(end) == Some(&b'"'))
                .then(|| String::from_utf8(rest.get(..end)?.to_vec()).ok())?
        };
        for kind in ["packet", "data", "http", "conn", "gap", "attack", "frame"] {
            for tail in [
                "\"}",
                "\",\"x\":1}",
                "s\"}",
                "\\\"}",
                "",
                r#"\u0022"}"#,
                "\u{e9}\"}",
            ] {
                let line = format!("{{\"type\":\"{kind}{tail}");
                let got = record_type(line.as_bytes());
                if let Some(want) = scan(line.as_bytes()) {
                    assert_eq!(got.as_deref(), Some(want.as_str()), "{line}");
                }
                let cut = format!("{{\"type\":\"{}", &kind[..kind.len() - 1]);
                assert_eq!(record_type(cut.as_bytes()), None, "{cut}");
            }
        }
    }

    #[test]
    fn record_type_fast_and_slow_paths() {
        assert_eq!(
            record_type(br#"{"type":"http","x":1}"#).as_deref(),
            Some("http")
        );
        assert_eq!(
            record_type(br#"{ "x":1, "type" : "gap" }"#).as_deref(),
            Some("gap")
        );
        assert_eq!(record_type(br#"{"type":"a\"b"}"#).as_deref(), Some("a\"b"));
        assert_eq!(record_type(br#"{"x":1}"#), None);
        assert_eq!(record_type(b"not json"), None);
        assert_eq!(record_type(br#"{"type":5}"#), None);
    }

    #[test]
    fn link_type_names_round_trip() {
        for dlt in [0, 1, 101, 108, 113, 228, 229, 276, 147] {
            let lt = LinkType::from_dlt(dlt);
            assert_eq!(LinkType::from_name(&lt.to_string()), Some(lt));
            assert_eq!(lt.dlt(), dlt);
        }
        assert_eq!(LinkType::from_name("token_ring"), None);
    }

    #[test]
    fn tcp_flags_letters() {
        let f = TcpFlags(TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(serde_json::to_string(&f).unwrap(), r#""SA""#);
        assert_eq!(
            serde_json::from_str::<TcpFlags>(r#""FSRPAUEC""#).unwrap(),
            TcpFlags(0xff)
        );
        assert!(serde_json::from_str::<TcpFlags>(r#""X""#).is_err());
    }

    #[test]
    fn bad_base64_is_an_error() {
        let line =
            r#"{"ts":"1970-01-01T00:00:00Z","src":"x","link":"raw","len":1,"data_b64":"!!"}"#;
        let err = serde_json::from_str::<Frame<'_>>(line)
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad base64"), "{err}");
        assert!(err.contains("Invalid symbol 33, offset 0"), "{err}");
    }

    /// The fast decoder accepts exactly what the `base64` crate accepts
    /// (canonical, padded) and yields the same bytes.
    #[test]
    fn fast_base64_agrees_with_the_base64_crate() {
        use base64::Engine;
        let long = b64::encode(&(0..=255u8).cycle().take(5000).collect::<Vec<_>>());
        for t in [
            "",
            "QQ==",
            "QR==",
            "QQ",
            "QQ=",
            "Q",
            "QUJD",
            "QU JD",
            "QUJD\n",
            "QUJD=",
            "QUJD====",
            "-_-_",
            "QQ==QQ==",
            "=QUJ",
            "QUJD\0",
            "é",
            long.as_str(),
        ] {
            let slow = base64::engine::general_purpose::STANDARD.decode(t);
            assert_eq!(b64::decode(t).ok(), slow.ok(), "{t:?}");
        }
        for n in 0..70 {
            let data: Vec<u8> = (0..n as u8).map(|b| b.wrapping_mul(37)).collect();
            let text = b64::encode(&data);
            assert_eq!(
                text,
                base64::engine::general_purpose::STANDARD.encode(&data)
            );
            assert_eq!(b64::decode(&text).unwrap(), data);
        }
    }

    /// A `_b64` field with JSON escapes in it (legal, if odd) still decodes.
    #[test]
    fn escaped_base64_field_decodes() {
        let line = r#"{"ts":"1970-01-01T00:00:00Z","src":"x","link":"raw","len":1,"data_b64":"QUJ\u0044"}"#;
        let f: Frame<'_> = serde_json::from_str(line).unwrap();
        assert_eq!(&f.data[..], b"ABC");
    }
}
