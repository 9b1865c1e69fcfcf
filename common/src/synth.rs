//! Deterministic packet synthesis for tests, benchmarks and the testdata generator.
//!
//! [`Frame`] is a builder that stacks layers outermost first and computes every
//! length, next-protocol field and checksum when [`Frame::build`] runs:
//!
//! ```
//! use common::synth::{Frame, ACK, PSH};
//! let frame: Vec<u8> = Frame::new().ethernet()
//!     .vlan(42)
//!     .ipv4("10.0.0.5", "10.0.0.9")
//!     .udp(49152, 4789)
//!     .vxlan(7)
//!     .ethernet()
//!     .ipv4("10.1.0.7", "10.1.0.9")
//!     .tcp(51234, 80, 1, 1, PSH | ACK)
//!     .payload(b"GET / HTTP/1.1\r\nHost: app\r\n\r\n")
//!     .build();
//! assert_eq!(&frame[12..14], &[0x81, 0x00]);
//! ```
//!
//! Next-protocol fields (EtherType, IP protocol, GRE/Geneve protocol type) come
//! from the layer that follows; ports are whatever the caller chose, so VXLAN on
//! 8472 is `.udp(x, 8472).vxlan(vni)`. An outermost Ethernet frame shorter than
//! 60 bytes is zero-padded like a real NIC does ([`Frame::no_pad`] turns it off).
//!
//! [`TcpConversation`] produces the segments of a whole connection, and
//! [`write_pcap`] / [`PcapNg`] put frames in capture files. Nothing here reads
//! the network: builder methods panic on programmer errors such as a malformed
//! address literal.

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use crate::io::PcapWriter;
use crate::record::{LinkType, Ts};

/// TCP flag bits, to combine with `|`.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;

/// MAC address used as source by [`Frame::ethernet`] (and by the client side).
pub const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/// MAC address used as destination by [`Frame::ethernet`] (and by the server side).
pub const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

const ETH_IPV4: u16 = 0x0800;
const ETH_ARP: u16 = 0x0806;
const ETH_IPV6: u16 = 0x86dd;
const ETH_MPLS: u16 = 0x8847;
const ETH_TEB: u16 = 0x6558;
const ETH_ERSPAN_I_II: u16 = 0x88be;
const ETH_ERSPAN_III: u16 = 0x22eb;
/// IEEE local experimental EtherType, used when nothing recognisable follows.
const ETH_EXPERIMENTAL: u16 = 0x88b5;

const AF_INET: u32 = 2;
/// BSD's AF_INET6 (Wireshark also accepts FreeBSD's 28 and Darwin's 30).
const AF_INET6_BSD: u32 = 24;

/// Anything that names an IPv4 address: `"10.0.0.1"`, `Ipv4Addr`, `[u8; 4]`.
pub trait ToV4 {
    fn to_v4(&self) -> Ipv4Addr;
}
impl ToV4 for &str {
    fn to_v4(&self) -> Ipv4Addr {
        self.parse()
            .unwrap_or_else(|_| panic!("synth: bad IPv4 address {self:?}"))
    }
}
impl ToV4 for Ipv4Addr {
    fn to_v4(&self) -> Ipv4Addr {
        *self
    }
}
impl ToV4 for [u8; 4] {
    fn to_v4(&self) -> Ipv4Addr {
        Ipv4Addr::from(*self)
    }
}

/// Anything that names an IPv6 address: `"fd00::1"`, `Ipv6Addr`.
pub trait ToV6 {
    fn to_v6(&self) -> Ipv6Addr;
}
impl ToV6 for &str {
    fn to_v6(&self) -> Ipv6Addr {
        self.parse()
            .unwrap_or_else(|_| panic!("synth: bad IPv6 address {self:?}"))
    }
}
impl ToV6 for Ipv6Addr {
    fn to_v6(&self) -> Ipv6Addr {
        *self
    }
}

/// An IPv6 extension header kept in the unfragmentable part of the packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv6Ext {
    /// Hop-by-hop options (next header 0); the option bytes are padded with PadN.
    HopByHop(Vec<u8>),
    /// Destination options (next header 60); padded with PadN.
    DestOpts(Vec<u8>),
    /// Segment Routing header (routing type 4) with `segments_left` 0, so the
    /// IPv6 destination stays the final one. Lists the segments given.
    Routing(Vec<Ipv6Addr>),
}

/// A Geneve option TLV (RFC 8926 §3.5). `data` is padded to 4 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneveOpt {
    pub class: u16,
    pub kind: u8,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone)]
struct Ipv4 {
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    id: u16,
    df: bool,
}

#[derive(Debug, Clone)]
struct Ipv6 {
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    flow_label: u32,
    ext: Vec<Ipv6Ext>,
    /// Identification used by the fragment header when fragmented.
    frag_id: u32,
}

#[derive(Debug, Clone)]
struct Tcp {
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    mss: Option<u16>,
}

#[derive(Debug, Clone)]
struct Erspan {
    version: u8,
    session: u16,
    vlan: u16,
    seq: u32,
    /// ERSPAN III: append the 8-byte platform-specific subheader.
    platform: bool,
    /// ERSPAN III timestamp field (opaque here).
    timestamp: u32,
}

#[derive(Debug, Clone)]
enum Layer {
    Ethernet {
        src: [u8; 6],
        dst: [u8; 6],
    },
    Sll,
    Sll2 {
        ifindex: u32,
    },
    /// BSD loopback; `big_endian` for OpenBSD `loop` (DLT 108), else host order (little endian).
    Null {
        big_endian: bool,
    },
    Vlan {
        tpid: u16,
        vid: u16,
        pcp: u8,
        /// Added by `vlan()`: may become 0x88a8 when another tag follows.
        auto: bool,
    },
    Mpls {
        label: u32,
        tc: u8,
        ttl: u8,
    },
    Ipv4(Ipv4),
    Ipv6(Ipv6),
    Tcp(Tcp),
    Udp {
        sport: u16,
        dport: u16,
        checksum: bool,
    },
    Vxlan {
        vni: u32,
    },
    Geneve {
        vni: u32,
        options: Vec<GeneveOpt>,
    },
    Gre {
        checksum: bool,
        key: Option<u32>,
        seq: Option<u32>,
    },
    Erspan(Erspan),
    IcmpEcho {
        reply: bool,
        id: u16,
        seq: u16,
    },
    Icmpv6Echo {
        reply: bool,
        id: u16,
        seq: u16,
    },
    Arp {
        op: u16,
        sha: [u8; 6],
        spa: Ipv4Addr,
        tha: [u8; 6],
        tpa: Ipv4Addr,
    },
}

impl Layer {
    /// The EtherType announcing this layer.
    fn ethertype(&self) -> u16 {
        match self {
            Layer::Ethernet { .. } => ETH_TEB,
            Layer::Vlan { tpid, .. } => *tpid,
            Layer::Mpls { .. } => ETH_MPLS,
            Layer::Ipv4(_) => ETH_IPV4,
            Layer::Ipv6(_) => ETH_IPV6,
            Layer::Arp { .. } => ETH_ARP,
            _ => ETH_EXPERIMENTAL,
        }
    }

    /// The IP protocol number announcing this layer.
    fn ip_proto(&self) -> u8 {
        match self {
            Layer::Tcp(_) => 6,
            Layer::Udp { .. } => 17,
            Layer::Gre { .. } | Layer::Erspan(_) => 47,
            Layer::Ipv4(_) => 4,
            Layer::Ipv6(_) => 41,
            Layer::IcmpEcho { .. } => 1,
            Layer::Icmpv6Echo { .. } => 58,
            _ => 59, // IPv6 "no next header"; also fine as an opaque IPv4 protocol.
        }
    }

    fn is_ip(&self) -> bool {
        matches!(self, Layer::Ipv4(_) | Layer::Ipv6(_))
    }
}

/// A frame under construction: layers outermost first, then a payload.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    layers: Vec<Layer>,
    payload: Vec<u8>,
    no_pad: bool,
}

impl Frame {
    /// An empty frame: whatever is pushed first is outermost. Starting with an
    /// IP layer gives a raw-IP frame ([`LinkType::Raw`]).
    pub fn new() -> Frame {
        Frame::default()
    }

    /// A raw IP frame (no link header); same as [`Frame::new`].
    pub fn raw() -> Frame {
        Frame::default()
    }

    /// Adds a Linux cooked (SLL v1) header; only as the outermost layer.
    pub fn sll(self) -> Frame {
        self.push(Layer::Sll)
    }

    /// Adds a Linux cooked v2 (SLL2) header on interface index 2; only as the outermost layer.
    pub fn sll2(self) -> Frame {
        self.push(Layer::Sll2 { ifindex: 2 })
    }

    /// Adds a BSD null/loopback header (address family in little-endian host
    /// order, DLT 0); only as the outermost layer.
    pub fn null(self) -> Frame {
        self.push(Layer::Null { big_endian: false })
    }

    /// Adds an OpenBSD loop header (address family in network order, DLT 108);
    /// only as the outermost layer.
    pub fn bsd_loop(self) -> Frame {
        self.push(Layer::Null { big_endian: true })
    }

    fn push(mut self, layer: Layer) -> Frame {
        self.layers.push(layer);
        self
    }

    /// Appends the layers and payload of `inner` (an encapsulation template
    /// followed by the packet to carry).
    pub fn append(mut self, inner: Frame) -> Frame {
        self.layers.extend(inner.layers);
        self.payload = inner.payload;
        self
    }

    /// The link type of the frame, from its outermost layer.
    pub fn link(&self) -> LinkType {
        match self.layers.first() {
            Some(Layer::Ethernet { .. }) => LinkType::Ethernet,
            Some(Layer::Sll) => LinkType::LinuxSll,
            Some(Layer::Sll2 { .. }) => LinkType::LinuxSll2,
            Some(Layer::Null { big_endian: false }) => LinkType::Null,
            Some(Layer::Null { big_endian: true }) => LinkType::Loop,
            _ => LinkType::Raw,
        }
    }

    /// Adds an Ethernet II header ([`CLIENT_MAC`] to [`SERVER_MAC`]; see [`Frame::macs`]).
    pub fn ethernet(self) -> Frame {
        self.push(Layer::Ethernet {
            src: CLIENT_MAC,
            dst: SERVER_MAC,
        })
    }

    /// Sets the addresses of the last Ethernet header (or ARP sender/target hardware).
    pub fn macs(mut self, src: [u8; 6], dst: [u8; 6]) -> Frame {
        if let Some(Layer::Ethernet { src: s, dst: d }) = self
            .layers
            .iter_mut()
            .rev()
            .find(|l| matches!(l, Layer::Ethernet { .. }))
        {
            *s = src;
            *d = dst;
        }
        self
    }

    /// Disables padding an outer Ethernet frame to 60 bytes.
    pub fn no_pad(mut self) -> Frame {
        self.no_pad = true;
        self
    }

    /// Adds a VLAN tag. The first tag right after Ethernet is 802.1ad (0x88a8)
    /// when another tag follows it directly (QinQ); use [`Frame::vlan_tpid`] to choose.
    pub fn vlan(self, vid: u16) -> Frame {
        let mut f = self.push(Layer::Vlan {
            tpid: 0x8100,
            vid: vid & 0xfff,
            pcp: 0,
            auto: true,
        });
        // Two stacked tags: the outer becomes a service tag, as 802.1ad says.
        let n = f.layers.len();
        if n >= 2 {
            if let Layer::Vlan {
                tpid: outer,
                auto: true,
                ..
            } = &mut f.layers[n - 2]
            {
                *outer = 0x88a8;
            }
        }
        f
    }

    /// Adds a VLAN tag with an explicit TPID (0x8100, 0x88a8, 0x9100, ...),
    /// never rewritten by later tags.
    pub fn vlan_tpid(self, tpid: u16, vid: u16) -> Frame {
        self.push(Layer::Vlan {
            tpid,
            vid: vid & 0xfff,
            pcp: 0,
            auto: false,
        })
    }

    /// Adds an MPLS label (TTL 64); the bottom-of-stack bit is set on the last
    /// label of a run at build time.
    pub fn mpls(self, label: u32) -> Frame {
        self.push(Layer::Mpls {
            label: label & 0xf_ffff,
            tc: 0,
            ttl: 64,
        })
    }

    /// Adds an IPv4 header: TTL 64, DF set, id 0 (see [`Frame::ttl`], [`Frame::ip_id`], [`Frame::df`]).
    pub fn ipv4(self, src: impl ToV4, dst: impl ToV4) -> Frame {
        self.push(Layer::Ipv4(Ipv4 {
            src: src.to_v4(),
            dst: dst.to_v4(),
            ttl: 64,
            id: 0,
            df: true,
        }))
    }

    /// Adds an IPv6 header: hop limit 64, flow label 0, no extension headers.
    pub fn ipv6(self, src: impl ToV6, dst: impl ToV6) -> Frame {
        self.push(Layer::Ipv6(Ipv6 {
            src: src.to_v6(),
            dst: dst.to_v6(),
            hop_limit: 64,
            flow_label: 0,
            ext: vec![],
            frag_id: 0,
        }))
    }

    /// Adds an IP header of the family of `src` (both must be the same family).
    pub fn ip(self, src: IpAddr, dst: IpAddr) -> Frame {
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => self.ipv4(s, d),
            (IpAddr::V6(s), IpAddr::V6(d)) => self.ipv6(s, d),
            _ => panic!("synth: mixed address families {src} -> {dst}"),
        }
    }

    fn last_ip(&mut self) -> Option<&mut Layer> {
        self.layers.iter_mut().rev().find(|l| l.is_ip())
    }

    /// Sets the TTL / hop limit of the last IP header.
    pub fn ttl(mut self, ttl: u8) -> Frame {
        match self.last_ip() {
            Some(Layer::Ipv4(ip)) => ip.ttl = ttl,
            Some(Layer::Ipv6(ip)) => ip.hop_limit = ttl,
            _ => {}
        }
        self
    }

    /// Sets the identification of the last IP header (IPv4 id, or the IPv6
    /// fragment-header id used by [`Frame::fragments`]).
    pub fn ip_id(mut self, id: u32) -> Frame {
        match self.last_ip() {
            Some(Layer::Ipv4(ip)) => ip.id = id as u16,
            Some(Layer::Ipv6(ip)) => ip.frag_id = id,
            _ => {}
        }
        self
    }

    /// Sets or clears Don't Fragment on the last IPv4 header.
    pub fn df(mut self, df: bool) -> Frame {
        if let Some(Layer::Ipv4(ip)) = self.last_ip() {
            ip.df = df;
        }
        self
    }

    /// Sets the flow label of the last IPv6 header.
    pub fn flow_label(mut self, label: u32) -> Frame {
        if let Some(Layer::Ipv6(ip)) = self.last_ip() {
            ip.flow_label = label & 0xf_ffff;
        }
        self
    }

    /// Adds an extension header to the last IPv6 header (in call order).
    pub fn ipv6_ext(mut self, ext: Ipv6Ext) -> Frame {
        if let Some(Layer::Ipv6(ip)) = self.last_ip() {
            ip.ext.push(ext);
        }
        self
    }

    /// Adds a hop-by-hop header carrying a Router Alert option (RFC 2711).
    pub fn hop_by_hop(self) -> Frame {
        self.ipv6_ext(Ipv6Ext::HopByHop(vec![0x05, 0x02, 0x00, 0x00]))
    }

    /// Adds a destination options header carrying only padding.
    pub fn dest_opts(self) -> Frame {
        self.ipv6_ext(Ipv6Ext::DestOpts(vec![]))
    }

    /// Adds a segment routing header listing `segments` (segments left 0).
    pub fn routing(self, segments: &[&str]) -> Frame {
        let segs = segments.iter().map(|s| s.to_v6()).collect();
        self.ipv6_ext(Ipv6Ext::Routing(segs))
    }

    /// Adds a TCP header (window 64240, no options; see [`Frame::mss`], [`Frame::window`]).
    pub fn tcp(self, sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Frame {
        self.push(Layer::Tcp(Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
            window: 64240,
            mss: None,
        }))
    }

    fn last_tcp(&mut self) -> Option<&mut Tcp> {
        self.layers.iter_mut().rev().find_map(|l| match l {
            Layer::Tcp(t) => Some(t),
            _ => None,
        })
    }

    /// Adds an MSS option to the last TCP header.
    pub fn mss(mut self, mss: u16) -> Frame {
        if let Some(t) = self.last_tcp() {
            t.mss = Some(mss);
        }
        self
    }

    /// Sets the window of the last TCP header.
    pub fn window(mut self, window: u16) -> Frame {
        if let Some(t) = self.last_tcp() {
            t.window = window;
        }
        self
    }

    /// Adds a UDP header; its checksum is computed (see [`Frame::udp_zero_checksum`]).
    pub fn udp(self, sport: u16, dport: u16) -> Frame {
        self.push(Layer::Udp {
            sport,
            dport,
            checksum: true,
        })
    }

    /// Leaves the checksum of the last UDP header zero (common for VXLAN over IPv4).
    pub fn udp_zero_checksum(mut self) -> Frame {
        if let Some(Layer::Udp { checksum, .. }) = self
            .layers
            .iter_mut()
            .rev()
            .find(|l| matches!(l, Layer::Udp { .. }))
        {
            *checksum = false;
        }
        self
    }

    /// Adds a VXLAN header (I flag set); an Ethernet layer should follow.
    pub fn vxlan(self, vni: u32) -> Frame {
        self.push(Layer::Vxlan {
            vni: vni & 0xff_ffff,
        })
    }

    /// Adds a Geneve header; its protocol type follows the next layer
    /// (Ethernet 0x6558, IPv4, IPv6).
    pub fn geneve(self, vni: u32, options: Vec<GeneveOpt>) -> Frame {
        self.push(Layer::Geneve {
            vni: vni & 0xff_ffff,
            options,
        })
    }

    /// Adds a GRE header with no optional fields; protocol from the next layer
    /// (IPv4, IPv6, 0x6558 for Ethernet).
    pub fn gre(self) -> Frame {
        self.push(Layer::Gre {
            checksum: false,
            key: None,
            seq: None,
        })
    }

    /// Adds a GRE header with the optional fields chosen.
    pub fn gre_with(self, checksum: bool, key: Option<u32>, seq: Option<u32>) -> Frame {
        self.push(Layer::Gre { checksum, key, seq })
    }

    /// ERSPAN type I: a GRE header (protocol 0x88be, no sequence bit) right
    /// before the mirrored Ethernet frame.
    pub fn erspan1(self) -> Frame {
        self.push(Layer::Erspan(Erspan {
            version: 0,
            session: 0,
            vlan: 0,
            seq: 0,
            platform: false,
            timestamp: 0,
        }))
    }

    /// ERSPAN type II: GRE (0x88be, sequence bit) + the 8-byte ERSPAN II header.
    pub fn erspan2(self, session: u16, vlan: u16, seq: u32) -> Frame {
        self.push(Layer::Erspan(Erspan {
            version: 1,
            session: session & 0x3ff,
            vlan: vlan & 0xfff,
            seq,
            platform: false,
            timestamp: 0,
        }))
    }

    /// ERSPAN type III: GRE (0x22eb, sequence bit) + the 12-byte header, and
    /// the 8-byte platform subheader when `platform`.
    pub fn erspan3(self, session: u16, vlan: u16, seq: u32, platform: bool) -> Frame {
        self.push(Layer::Erspan(Erspan {
            version: 2,
            session: session & 0x3ff,
            vlan: vlan & 0xfff,
            seq,
            platform,
            timestamp: seq.wrapping_mul(1000),
        }))
    }

    /// Adds an ICMP echo request (or reply); the payload is the echo data.
    pub fn icmp_echo(self, reply: bool, id: u16, seq: u16) -> Frame {
        self.push(Layer::IcmpEcho { reply, id, seq })
    }

    /// Adds an ICMPv6 echo request (or reply); the payload is the echo data.
    pub fn icmpv6_echo(self, reply: bool, id: u16, seq: u16) -> Frame {
        self.push(Layer::Icmpv6Echo { reply, id, seq })
    }

    /// Adds an ARP request (`reply` false) or reply for IPv4 over Ethernet.
    pub fn arp(self, reply: bool, spa: impl ToV4, tpa: impl ToV4) -> Frame {
        let (sha, tha) = if reply {
            (SERVER_MAC, CLIENT_MAC)
        } else {
            (CLIENT_MAC, [0; 6])
        };
        self.push(Layer::Arp {
            op: if reply { 2 } else { 1 },
            sha,
            spa: spa.to_v4(),
            tha,
            tpa: tpa.to_v4(),
        })
    }

    /// Sets the innermost payload.
    pub fn payload(mut self, bytes: &[u8]) -> Frame {
        self.payload = bytes.to_vec();
        self
    }

    /// Encodes the frame: lengths, next-protocol fields and checksums computed.
    pub fn build(&self) -> Vec<u8> {
        let bytes = encode_span(&self.layers, 0, self.layers.len(), self.payload.clone());
        self.pad(bytes)
    }

    fn pad(&self, mut bytes: Vec<u8>) -> Vec<u8> {
        if !self.no_pad
            && matches!(self.layers.first(), Some(Layer::Ethernet { .. }))
            && bytes.len() < 60
        {
            bytes.resize(60, 0);
        }
        bytes
    }

    /// Encodes the frame with its outermost IP packet split into fragments
    /// carrying at most `size` bytes of IP payload each (rounded down to a
    /// multiple of 8, at least 8). Returns the frames in offset order; one
    /// frame when the payload fits. IPv6 fragments get a fragment header after
    /// the extension headers, which stay in every fragment.
    pub fn fragments(&self, size: usize) -> Vec<Vec<u8>> {
        let Some(k) = self.layers.iter().position(Layer::is_ip) else {
            return vec![self.build()];
        };
        let size = (size / 8 * 8).max(8);
        let end = self.layers.len();
        let inner = encode_span(&self.layers, k + 1, end, self.payload.clone());
        if inner.len() <= size {
            return vec![self.build()];
        }
        let proto = self.layers.get(k + 1).map_or(59, |l: &Layer| l.ip_proto());
        let chunks: Vec<&[u8]> = inner.chunks(size).collect();
        let last = chunks.len() - 1;
        chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let frag = FragInfo {
                    offset: (i * size / 8) as u16,
                    more: i < last,
                };
                let ip = match &self.layers[k] {
                    Layer::Ipv4(ip) => ipv4_packet(ip, proto, chunk, Some(frag)),
                    Layer::Ipv6(ip) => ipv6_packet(ip, proto, chunk, Some(frag)),
                    _ => unreachable!("position() found an IP layer"),
                };
                self.pad(encode_span(&self.layers, 0, k, ip))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
struct FragInfo {
    /// In units of 8 bytes.
    offset: u16,
    more: bool,
}

/// Encodes `layers[from..to]` around `inner` (the encoding of `layers[to..]`).
fn encode_span(layers: &[Layer], from: usize, to: usize, mut inner: Vec<u8>) -> Vec<u8> {
    for i in (from..to).rev() {
        let next = layers.get(i + 1);
        let outer_ip = layers[..i].iter().rev().find(|l| l.is_ip());
        inner = encode_layer(&layers[i], next, outer_ip, &inner);
    }
    inner
}

fn encode_layer(
    layer: &Layer,
    next: Option<&Layer>,
    outer_ip: Option<&Layer>,
    inner: &[u8],
) -> Vec<u8> {
    let ethertype = next.map_or(ETH_EXPERIMENTAL, Layer::ethertype);
    let proto = next.map_or(59, Layer::ip_proto);
    let mut h: Vec<u8> = Vec::with_capacity(64 + inner.len());
    match layer {
        Layer::Ethernet { src, dst } => {
            h.extend_from_slice(dst);
            h.extend_from_slice(src);
            h.extend_from_slice(&ethertype.to_be_bytes());
        }
        Layer::Sll => {
            h.extend_from_slice(&0u16.to_be_bytes()); // packet type: to us
            h.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
            h.extend_from_slice(&6u16.to_be_bytes());
            h.extend_from_slice(&CLIENT_MAC);
            h.extend_from_slice(&[0, 0]);
            h.extend_from_slice(&ethertype.to_be_bytes());
        }
        Layer::Sll2 { ifindex } => {
            h.extend_from_slice(&ethertype.to_be_bytes());
            h.extend_from_slice(&[0, 0]);
            h.extend_from_slice(&ifindex.to_be_bytes());
            h.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
            h.push(0); // packet type: to us
            h.push(6);
            h.extend_from_slice(&CLIENT_MAC);
            h.extend_from_slice(&[0, 0]);
        }
        Layer::Null { big_endian } => {
            let af = match next {
                Some(Layer::Ipv6(_)) => AF_INET6_BSD,
                _ => AF_INET,
            };
            if *big_endian {
                h.extend_from_slice(&af.to_be_bytes());
            } else {
                h.extend_from_slice(&af.to_le_bytes());
            }
        }
        Layer::Vlan { vid, pcp, .. } => {
            // The TPID was written by the header before, as this layer's EtherType.
            let tci = (u16::from(*pcp & 7) << 13) | (vid & 0xfff);
            h.extend_from_slice(&tci.to_be_bytes());
            h.extend_from_slice(&ethertype.to_be_bytes());
        }
        Layer::Mpls { label, tc, ttl } => {
            let bos = u32::from(!matches!(next, Some(Layer::Mpls { .. })));
            let word = (label << 12) | (u32::from(*tc & 7) << 9) | (bos << 8) | u32::from(*ttl);
            h.extend_from_slice(&word.to_be_bytes());
        }
        Layer::Ipv4(ip) => return ipv4_packet(ip, proto, inner, None),
        Layer::Ipv6(ip) => return ipv6_packet(ip, proto, inner, None),
        Layer::Tcp(t) => {
            let opt_len = if t.mss.is_some() { 4 } else { 0 };
            let data_off = ((20 + opt_len) / 4) as u8;
            h.extend_from_slice(&t.sport.to_be_bytes());
            h.extend_from_slice(&t.dport.to_be_bytes());
            h.extend_from_slice(&t.seq.to_be_bytes());
            h.extend_from_slice(&t.ack.to_be_bytes());
            h.push(data_off << 4);
            h.push(t.flags);
            h.extend_from_slice(&t.window.to_be_bytes());
            h.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
            if let Some(mss) = t.mss {
                h.extend_from_slice(&[2, 4]);
                h.extend_from_slice(&mss.to_be_bytes());
            }
            h.extend_from_slice(inner);
            let sum = l4_checksum(outer_ip, 6, &h);
            h[16..18].copy_from_slice(&sum.to_be_bytes());
            return h;
        }
        Layer::Udp {
            sport,
            dport,
            checksum,
        } => {
            let len = (8 + inner.len()) as u16;
            h.extend_from_slice(&sport.to_be_bytes());
            h.extend_from_slice(&dport.to_be_bytes());
            h.extend_from_slice(&len.to_be_bytes());
            h.extend_from_slice(&[0, 0]);
            h.extend_from_slice(inner);
            if *checksum {
                let mut sum = l4_checksum(outer_ip, 17, &h);
                if sum == 0 {
                    sum = 0xffff;
                }
                h[6..8].copy_from_slice(&sum.to_be_bytes());
            }
            return h;
        }
        Layer::Vxlan { vni } => {
            h.extend_from_slice(&[0x08, 0, 0, 0]);
            h.extend_from_slice(&(vni << 8).to_be_bytes());
        }
        Layer::Geneve { vni, options } => {
            let mut opts = vec![];
            for o in options {
                let words = o.data.len().div_ceil(4);
                opts.extend_from_slice(&o.class.to_be_bytes());
                opts.push(o.kind);
                opts.push((words as u8) & 0x1f);
                opts.extend_from_slice(&o.data);
                opts.resize(opts.len() + words * 4 - o.data.len(), 0);
            }
            let ptype = match next {
                Some(Layer::Ethernet { .. }) => ETH_TEB,
                Some(l) => l.ethertype(),
                None => ETH_EXPERIMENTAL,
            };
            h.push(((opts.len() / 4) as u8) & 0x3f);
            h.push(0);
            h.extend_from_slice(&ptype.to_be_bytes());
            h.extend_from_slice(&(vni << 8).to_be_bytes());
            h.extend_from_slice(&opts);
        }
        Layer::Gre { checksum, key, seq } => {
            let mut flags = 0u16;
            if *checksum {
                flags |= 0x8000;
            }
            if key.is_some() {
                flags |= 0x2000;
            }
            if seq.is_some() {
                flags |= 0x1000;
            }
            h.extend_from_slice(&flags.to_be_bytes());
            h.extend_from_slice(&ethertype.to_be_bytes());
            if *checksum {
                h.extend_from_slice(&[0, 0, 0, 0]);
            }
            if let Some(k) = key {
                h.extend_from_slice(&k.to_be_bytes());
            }
            if let Some(s) = seq {
                h.extend_from_slice(&s.to_be_bytes());
            }
            h.extend_from_slice(inner);
            if *checksum {
                let sum = finish(sum_bytes(0, &h));
                h[4..6].copy_from_slice(&sum.to_be_bytes());
            }
            return h;
        }
        Layer::Erspan(e) => {
            let (flags, ptype) = match e.version {
                0 => (0u16, ETH_ERSPAN_I_II),
                1 => (0x1000, ETH_ERSPAN_I_II),
                _ => (0x1000, ETH_ERSPAN_III),
            };
            h.extend_from_slice(&flags.to_be_bytes());
            h.extend_from_slice(&ptype.to_be_bytes());
            if e.version >= 1 {
                h.extend_from_slice(&e.seq.to_be_bytes());
                let ver_vlan = (u16::from(e.version) << 12) | e.vlan;
                h.extend_from_slice(&ver_vlan.to_be_bytes());
            }
            if e.version == 1 {
                // COS 0, En 0 (untagged original), T 0, session id.
                h.extend_from_slice(&e.session.to_be_bytes());
                // Reserved (12 bits) + index (20 bits): the port index.
                h.extend_from_slice(&1u32.to_be_bytes());
            } else if e.version >= 2 {
                // COS 0, BSO 0, T 0, session id.
                h.extend_from_slice(&e.session.to_be_bytes());
                h.extend_from_slice(&e.timestamp.to_be_bytes());
                h.extend_from_slice(&0u16.to_be_bytes()); // SGT
                                                          // P=1 (Ethernet frame), FT=0, HW ID=1, D=0, Gra=0b11 (IEEE 1588), O.
                let o = u16::from(e.platform);
                let word = (1 << 15) | (1 << 4) | (0b11 << 1) | o;
                h.extend_from_slice(&word.to_be_bytes());
                if e.platform {
                    // Platform ID 3: Platf ID(6) | reserved(4) | VSM ID(12) | port index(10) | upper timestamp(32).
                    let w: u32 = (3 << 26) | (7 << 10) | 1;
                    h.extend_from_slice(&w.to_be_bytes());
                    h.extend_from_slice(&0u32.to_be_bytes());
                }
            }
        }
        Layer::IcmpEcho { reply, id, seq } => {
            h.push(if *reply { 0 } else { 8 });
            h.push(0);
            h.extend_from_slice(&[0, 0]);
            h.extend_from_slice(&id.to_be_bytes());
            h.extend_from_slice(&seq.to_be_bytes());
            h.extend_from_slice(inner);
            let sum = finish(sum_bytes(0, &h));
            h[2..4].copy_from_slice(&sum.to_be_bytes());
            return h;
        }
        Layer::Icmpv6Echo { reply, id, seq } => {
            h.push(if *reply { 129 } else { 128 });
            h.push(0);
            h.extend_from_slice(&[0, 0]);
            h.extend_from_slice(&id.to_be_bytes());
            h.extend_from_slice(&seq.to_be_bytes());
            h.extend_from_slice(inner);
            let sum = l4_checksum(outer_ip, 58, &h);
            h[2..4].copy_from_slice(&sum.to_be_bytes());
            return h;
        }
        Layer::Arp {
            op,
            sha,
            spa,
            tha,
            tpa,
        } => {
            h.extend_from_slice(&1u16.to_be_bytes());
            h.extend_from_slice(&ETH_IPV4.to_be_bytes());
            h.extend_from_slice(&[6, 4]);
            h.extend_from_slice(&op.to_be_bytes());
            h.extend_from_slice(sha);
            h.extend_from_slice(&spa.octets());
            h.extend_from_slice(tha);
            h.extend_from_slice(&tpa.octets());
        }
    }
    h.extend_from_slice(inner);
    h
}

fn ipv4_packet(ip: &Ipv4, proto: u8, payload: &[u8], frag: Option<FragInfo>) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut flags_off: u16 = if ip.df { 0x4000 } else { 0 };
    if let Some(f) = frag {
        flags_off = (f.offset & 0x1fff) | if f.more { 0x2000 } else { 0 };
    }
    let mut h = Vec::with_capacity(20 + payload.len());
    h.extend_from_slice(&[0x45, 0]);
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&ip.id.to_be_bytes());
    h.extend_from_slice(&flags_off.to_be_bytes());
    h.extend_from_slice(&[ip.ttl, proto, 0, 0]);
    h.extend_from_slice(&ip.src.octets());
    h.extend_from_slice(&ip.dst.octets());
    let sum = finish(sum_bytes(0, &h));
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// Pads IPv6 option bytes to a multiple of 8 (counting the 2-byte header) with Pad1/PadN.
fn padded_options(options: &[u8]) -> Vec<u8> {
    let mut v = options.to_vec();
    let pad = (8 - (2 + v.len()) % 8) % 8;
    match pad {
        0 => {}
        1 => v.push(0),
        n => {
            v.push(1);
            v.push((n - 2) as u8);
            v.resize(v.len() + n - 2, 0);
        }
    }
    v
}

fn ipv6_packet(ip: &Ipv6, proto: u8, payload: &[u8], frag: Option<FragInfo>) -> Vec<u8> {
    // Extension headers, each needing the next header of the one after it.
    let mut kinds: Vec<u8> = ip
        .ext
        .iter()
        .map(|e| match e {
            Ipv6Ext::HopByHop(_) => 0,
            Ipv6Ext::DestOpts(_) => 60,
            Ipv6Ext::Routing(_) => 43,
        })
        .collect();
    if frag.is_some() {
        kinds.push(44);
    }
    kinds.push(proto);
    let mut ext = vec![];
    for (i, e) in ip.ext.iter().enumerate() {
        let next = kinds[i + 1];
        let body = match e {
            Ipv6Ext::HopByHop(o) | Ipv6Ext::DestOpts(o) => padded_options(o),
            Ipv6Ext::Routing(segs) => {
                let mut b = vec![4, 0, segs.len().saturating_sub(1) as u8, 0, 0, 0];
                for s in segs {
                    b.extend_from_slice(&s.octets());
                }
                b
            }
        };
        ext.push(next);
        ext.push(((2 + body.len()) / 8 - 1) as u8);
        ext.extend_from_slice(&body);
    }
    if let Some(f) = frag {
        ext.push(proto);
        ext.push(0);
        let off = (f.offset << 3) | u16::from(f.more);
        ext.extend_from_slice(&off.to_be_bytes());
        ext.extend_from_slice(&ip.frag_id.to_be_bytes());
    }
    let plen = (ext.len() + payload.len()) as u16;
    let mut h = Vec::with_capacity(40 + ext.len() + payload.len());
    let vtf = (6u32 << 28) | (ip.flow_label & 0xf_ffff);
    h.extend_from_slice(&vtf.to_be_bytes());
    h.extend_from_slice(&plen.to_be_bytes());
    h.push(kinds[0]);
    h.push(ip.hop_limit);
    h.extend_from_slice(&ip.src.octets());
    h.extend_from_slice(&ip.dst.octets());
    h.extend_from_slice(&ext);
    h.extend_from_slice(payload);
    h
}

/// One's-complement sum of `data` added to `acc` (big-endian 16-bit words, odd byte padded).
fn sum_bytes(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [b] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*b) << 8);
    }
    acc
}

fn finish(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Checksum of a transport segment with the pseudo-header of the enclosing IP layer.
fn l4_checksum(ip: Option<&Layer>, proto: u8, segment: &[u8]) -> u16 {
    let mut acc = 0u32;
    match ip {
        Some(Layer::Ipv4(ip)) => {
            acc = sum_bytes(acc, &ip.src.octets());
            acc = sum_bytes(acc, &ip.dst.octets());
            acc = acc.wrapping_add(u32::from(proto));
            acc = acc.wrapping_add(segment.len() as u32);
        }
        Some(Layer::Ipv6(ip)) => {
            acc = sum_bytes(acc, &ip.src.octets());
            acc = sum_bytes(acc, &ip.dst.octets());
            acc = acc.wrapping_add(segment.len() as u32);
            acc = acc.wrapping_add(u32::from(proto));
        }
        _ => {}
    }
    finish(sum_bytes(acc, segment))
}

/// Which way a segment travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Client to server.
    C2s,
    /// Server to client.
    S2c,
}

/// One TCP segment of a [`TcpConversation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub ts: Ts,
    pub dir: Dir,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    /// IPv4 id / IPv6 fragment id: counts up per direction.
    pub ip_id: u32,
    pub payload: Vec<u8>,
}

impl Segment {
    /// The segment as a raw IP packet (IP + TCP + payload), to [`Frame::append`]
    /// to an encapsulation template. SYNs carry the MSS option.
    pub fn ip_frame(&self, mss: u16) -> Frame {
        let f = Frame::new()
            .ip(self.src.ip(), self.dst.ip())
            .ip_id(self.ip_id)
            .tcp(
                self.src.port(),
                self.dst.port(),
                self.seq,
                self.ack,
                self.flags,
            );
        let f = if self.flags & SYN != 0 { f.mss(mss) } else { f };
        f.payload(&self.payload)
    }
}

/// A whole TCP connection: three-way handshake, the messages segmented at the
/// MSS (PSH on each message's last segment), a pure ACK from the receiver after
/// each message, and FIN/ACK both ways. Timestamps increase by a fixed step.
#[derive(Debug, Clone)]
pub struct TcpConversation {
    client: SocketAddr,
    server: SocketAddr,
    isn_client: u32,
    isn_server: u32,
    mss: u16,
    start: Ts,
    step_nanos: u32,
    messages: Vec<(Dir, Vec<u8>)>,
    close: bool,
}

/// 2024-05-01T12:00:00Z, the start of every generated capture.
pub const EPOCH_2024_05_01: i64 = 1_714_564_800;

impl TcpConversation {
    /// A connection between two `ip:port` endpoints (`"10.1.0.7:51234"`,
    /// `"[fd00::7]:51234"`), starting 2024-05-01T12:00:00Z with ISNs
    /// 1000 (client) and 5000 (server), MSS 1460 and 1 ms between segments.
    pub fn new(client: &str, server: &str) -> TcpConversation {
        let parse = |s: &str| -> SocketAddr {
            s.parse()
                .unwrap_or_else(|_| panic!("synth: bad endpoint {s:?}"))
        };
        TcpConversation {
            client: parse(client),
            server: parse(server),
            isn_client: 1000,
            isn_server: 5000,
            mss: 1460,
            start: Ts::from_micros(EPOCH_2024_05_01, 0),
            step_nanos: 1_000_000,
            messages: vec![],
            close: true,
        }
    }

    /// Sets the initial sequence numbers.
    pub fn isn(mut self, client: u32, server: u32) -> Self {
        self.isn_client = client;
        self.isn_server = server;
        self
    }

    /// Sets the segment size used to split messages (and announced in the SYNs).
    pub fn mss(mut self, mss: u16) -> Self {
        self.mss = mss.max(1);
        self
    }

    /// Sets the time of the SYN; its precision is kept.
    pub fn start(mut self, ts: Ts) -> Self {
        self.start = ts;
        self
    }

    /// Sets the time between consecutive segments.
    pub fn step_nanos(mut self, nanos: u32) -> Self {
        self.step_nanos = nanos;
        self
    }

    /// Leaves the connection open (no FIN exchange) at the end.
    pub fn no_close(mut self) -> Self {
        self.close = false;
        self
    }

    /// Adds a message sent in direction `dir`.
    pub fn message(mut self, dir: Dir, bytes: &[u8]) -> Self {
        self.messages.push((dir, bytes.to_vec()));
        self
    }

    /// The client sends `bytes`.
    pub fn request(self, bytes: &[u8]) -> Self {
        self.message(Dir::C2s, bytes)
    }

    /// The server sends `bytes`.
    pub fn response(self, bytes: &[u8]) -> Self {
        self.message(Dir::S2c, bytes)
    }

    /// The announced MSS.
    pub fn get_mss(&self) -> u16 {
        self.mss
    }

    /// Every segment of the connection, in time order.
    pub fn segments(&self) -> Vec<Segment> {
        let mut out = vec![];
        let mut next = [self.isn_client, self.isn_server];
        let mut ids = [0x1000u32, 0x2000u32];
        let mut n: u64 = 0;
        let mut emit = |dir: Dir, flags: u8, payload: &[u8], next: &mut [u32; 2]| {
            let (me, peer) = match dir {
                Dir::C2s => (0, 1),
                Dir::S2c => (1, 0),
            };
            let (src, dst) = match dir {
                Dir::C2s => (self.client, self.server),
                Dir::S2c => (self.server, self.client),
            };
            let nanos = u64::from(self.start.nanos) + n * u64::from(self.step_nanos);
            let ts = Ts::new(
                self.start.secs + (nanos / 1_000_000_000) as i64,
                (nanos % 1_000_000_000) as u32,
                self.start.digits,
            );
            n += 1;
            let seg = Segment {
                ts,
                dir,
                src,
                dst,
                seq: next[me],
                ack: if flags & ACK != 0 { next[peer] } else { 0 },
                flags,
                ip_id: ids[me],
                payload: payload.to_vec(),
            };
            ids[me] += 1;
            let mut adv = payload.len() as u32;
            if flags & (SYN | FIN) != 0 {
                adv += 1;
            }
            next[me] = next[me].wrapping_add(adv);
            out.push(seg);
        };
        emit(Dir::C2s, SYN, &[], &mut next);
        emit(Dir::S2c, SYN | ACK, &[], &mut next);
        emit(Dir::C2s, ACK, &[], &mut next);
        for (dir, msg) in &self.messages {
            let chunks: Vec<&[u8]> = msg.chunks(usize::from(self.mss)).collect();
            let last = chunks.len().saturating_sub(1);
            for (i, chunk) in chunks.iter().enumerate() {
                let flags = if i == last { PSH | ACK } else { ACK };
                emit(*dir, flags, chunk, &mut next);
            }
            let back = match dir {
                Dir::C2s => Dir::S2c,
                Dir::S2c => Dir::C2s,
            };
            emit(back, ACK, &[], &mut next);
        }
        if self.close {
            emit(Dir::C2s, FIN | ACK, &[], &mut next);
            emit(Dir::S2c, FIN | ACK, &[], &mut next);
            emit(Dir::C2s, ACK, &[], &mut next);
        }
        out
    }

    /// Every frame of the connection: `encap` gives the encapsulation template
    /// for a segment (for example `Frame::new().ethernet()`, or an outer
    /// Ethernet/IPv4/UDP/VXLAN/Ethernet stack), the segment's IP packet is appended.
    pub fn frames(&self, mut encap: impl FnMut(&Segment) -> Frame) -> Vec<(Ts, Vec<u8>)> {
        self.segments()
            .iter()
            .map(|s| (s.ts, encap(s).append(s.ip_frame(self.mss)).build()))
            .collect()
    }
}

/// The encapsulation template of a plain Ethernet frame going in `dir`
/// (client MAC to server MAC, or back).
pub fn ethernet_for(dir: Dir) -> Frame {
    match dir {
        Dir::C2s => Frame::new().ethernet(),
        Dir::S2c => Frame::new().ethernet().macs(SERVER_MAC, CLIENT_MAC),
    }
}

/// A classic pcap file as bytes (microsecond or nanosecond), written by
/// [`PcapWriter`] in host byte order.
pub fn pcap_bytes(link: LinkType, nanos: bool, frames: &[(Ts, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![];
    {
        let mut w = PcapWriter::new(&mut out, link, nanos).expect("writing to a Vec");
        for (ts, data) in frames {
            w.write(*ts, data.len() as u32, data)
                .expect("writing to a Vec");
        }
        w.flush().expect("writing to a Vec");
    }
    out
}

/// Writes a microsecond pcap file.
pub fn write_pcap(path: &Path, link: LinkType, frames: &[(Ts, Vec<u8>)]) -> io::Result<()> {
    fs::write(path, pcap_bytes(link, false, frames))
}

/// Writes a nanosecond pcap file.
pub fn write_pcap_nanos(path: &Path, link: LinkType, frames: &[(Ts, Vec<u8>)]) -> io::Result<()> {
    fs::write(path, pcap_bytes(link, true, frames))
}

/// A tiny little-endian pcapng writer: one section, any number of interfaces
/// (each with its link type and decimal timestamp resolution), and Enhanced
/// Packet Blocks.
#[derive(Debug, Clone)]
pub struct PcapNg {
    buf: Vec<u8>,
    /// Decimal exponent of each interface's timestamp unit.
    tsresol: Vec<u8>,
}

impl Default for PcapNg {
    fn default() -> Self {
        PcapNg::new()
    }
}

impl PcapNg {
    /// Starts a file with a Section Header Block (section length unknown).
    pub fn new() -> PcapNg {
        let mut ng = PcapNg {
            buf: vec![],
            tsresol: vec![],
        };
        let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        ng.block(0x0a0d_0d0a, &shb);
        ng
    }

    fn block(&mut self, kind: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let len = (12 + padded) as u32;
        self.buf.extend_from_slice(&kind.to_le_bytes());
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(body);
        self.buf.resize(self.buf.len() + padded - body.len(), 0);
        self.buf.extend_from_slice(&len.to_le_bytes());
    }

    /// Adds an Interface Description Block; `tsresol` is the decimal exponent
    /// of the timestamp unit (6 = µs, the default that is then not written;
    /// 9 = ns). Returns the interface id.
    pub fn interface(&mut self, link: LinkType, tsresol: u8, name: &str) -> u32 {
        let mut idb = (link.dlt() as u16).to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&262_144u32.to_le_bytes());
        let mut option = |code: u16, value: &[u8]| {
            idb.extend_from_slice(&code.to_le_bytes());
            idb.extend_from_slice(&(value.len() as u16).to_le_bytes());
            idb.extend_from_slice(value);
            idb.resize(idb.len().div_ceil(4) * 4, 0);
        };
        option(2, name.as_bytes()); // if_name
        if tsresol != 6 {
            option(9, &[tsresol]); // if_tsresol
        }
        option(0, &[]); // opt_endofopt
        self.block(1, &idb);
        self.tsresol.push(tsresol);
        (self.tsresol.len() - 1) as u32
    }

    /// Adds an Enhanced Packet Block on interface `iface`.
    pub fn packet(&mut self, iface: u32, ts: Ts, data: &[u8]) {
        let exp = self.tsresol.get(iface as usize).copied().unwrap_or(6);
        let ticks: u64 = if exp <= 9 {
            let unit = 10u64.pow(u32::from(exp));
            (ts.secs.max(0) as u64) * unit + u64::from(ts.nanos) / 10u64.pow(9 - u32::from(exp))
        } else {
            (ts.secs.max(0) as u64) * 10u64.pow(u32::from(exp))
        };
        let mut epb = iface.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ticks as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        self.block(6, &epb);
    }

    /// The file's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetHeaders, PacketHeaders, PayloadSlice, TransportHeader};

    /// Decodes an IP packet with etherparse and checks every checksum and
    /// length. Returns (ip version, transport name, transport payload).
    fn check_ip(ip: &[u8]) -> (u8, &'static str, Vec<u8>) {
        let h = PacketHeaders::from_ip_slice(ip).expect("etherparse decodes the packet");
        let payload: Vec<u8> = match &h.payload {
            PayloadSlice::Tcp(p) | PayloadSlice::Udp(p) => p.to_vec(),
            PayloadSlice::Icmpv4(p) | PayloadSlice::Icmpv6(p) => p.to_vec(),
            PayloadSlice::Ip(p) => p.payload.to_vec(),
            PayloadSlice::Ether(p) => p.payload.to_vec(),
        };
        let version = match h.net.as_ref().expect("an IP header") {
            NetHeaders::Ipv4(v4, _) => {
                assert_eq!(
                    v4.header_checksum,
                    v4.calc_header_checksum(),
                    "IPv4 checksum"
                );
                assert_eq!(usize::from(v4.total_len), ip.len(), "IPv4 total length");
                match &h.transport {
                    Some(TransportHeader::Tcp(t)) => {
                        assert_eq!(t.checksum, t.calc_checksum_ipv4(v4, &payload).unwrap())
                    }
                    Some(TransportHeader::Udp(u)) => {
                        assert_eq!(u.checksum, u.calc_checksum_ipv4(v4, &payload).unwrap());
                        assert_eq!(usize::from(u.length), 8 + payload.len());
                    }
                    _ => {}
                }
                4
            }
            NetHeaders::Ipv6(v6, _) => {
                assert_eq!(usize::from(v6.payload_length) + 40, ip.len(), "IPv6 length");
                match &h.transport {
                    Some(TransportHeader::Tcp(t)) => {
                        assert_eq!(t.checksum, t.calc_checksum_ipv6(v6, &payload).unwrap())
                    }
                    Some(TransportHeader::Udp(u)) => {
                        assert_eq!(u.checksum, u.calc_checksum_ipv6(v6, &payload).unwrap())
                    }
                    Some(TransportHeader::Icmpv6(i)) => {
                        let want = i
                            .icmp_type
                            .calc_checksum(v6.source, v6.destination, &payload)
                            .unwrap();
                        assert_eq!(i.checksum, want, "ICMPv6 checksum");
                    }
                    _ => {}
                }
                6
            }
        };
        let kind = match &h.transport {
            Some(TransportHeader::Tcp(_)) => "tcp",
            Some(TransportHeader::Udp(_)) => "udp",
            Some(TransportHeader::Icmpv4(_)) => "icmp",
            Some(TransportHeader::Icmpv6(_)) => "icmpv6",
            None => "none",
        };
        (version, kind, payload)
    }

    fn be16(b: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: app\r\n\r\n";

    #[test]
    fn ethernet_ipv4_tcp_checksums_and_lengths() {
        let f = Frame::new()
            .ethernet()
            .ipv4("10.1.0.7", "10.1.0.9")
            .ip_id(77)
            .ttl(33)
            .tcp(51234, 80, 1001, 5001, PSH | ACK)
            .payload(GET)
            .build();
        assert_eq!(be16(&f, 12), 0x0800);
        assert_eq!(f.len(), 14 + 20 + 20 + GET.len());
        let (v, kind, payload) = check_ip(&f[14..]);
        assert_eq!((v, kind, payload.as_slice()), (4, "tcp", GET));
        assert_eq!(f[14 + 8], 33, "ttl");
        assert_eq!(be16(&f, 14 + 4), 77, "id");
        assert_eq!(be16(&f, 14 + 6), 0x4000, "DF");
    }

    #[test]
    fn short_ethernet_frames_are_padded_and_lengths_ignore_padding() {
        let f = Frame::new()
            .ethernet()
            .ipv4("10.0.0.1", "10.0.0.2")
            .tcp(1, 2, 3, 0, SYN)
            .build();
        assert_eq!(f.len(), 60);
        assert_eq!(be16(&f, 16), 40, "IPv4 total length excludes padding");
        check_ip(&f[14..54]);
        let unpadded = Frame::new()
            .ethernet()
            .ipv4("10.0.0.1", "10.0.0.2")
            .tcp(1, 2, 3, 0, SYN)
            .no_pad()
            .build();
        assert_eq!(unpadded.len(), 54);
        // Inner Ethernet (inside VXLAN) is never padded.
        let inner = Frame::raw()
            .ipv4("10.0.0.1", "10.0.0.2")
            .udp(1, 4789)
            .vxlan(1)
            .ethernet()
            .arp(false, "10.1.0.1", "10.1.0.2")
            .build();
        assert_eq!(inner.len(), 20 + 8 + 8 + 14 + 28);
    }

    #[test]
    fn syn_carries_mss_option() {
        let f = Frame::raw()
            .ipv4("10.0.0.1", "10.0.0.2")
            .tcp(1, 2, 3, 0, SYN)
            .mss(1400)
            .window(1000)
            .build();
        let h = PacketHeaders::from_ip_slice(&f).unwrap();
        let Some(TransportHeader::Tcp(t)) = h.transport else {
            panic!("tcp")
        };
        assert!(t.syn && !t.ack);
        assert_eq!(t.window_size, 1000);
        assert_eq!(t.options.as_slice(), &[2, 4, 0x05, 0x78]);
        check_ip(&f);
    }

    #[test]
    fn ipv6_extension_headers_chain_and_checksum() {
        let f = Frame::new()
            .ethernet()
            .ipv6("fd00::7", "fd00::9")
            .hop_by_hop()
            .dest_opts()
            .routing(&["fd00::9"])
            .tcp(51234, 80, 1, 1, PSH | ACK)
            .payload(GET)
            .build();
        assert_eq!(be16(&f, 12), 0x86dd);
        assert_eq!(f[14 + 6], 0, "next header: hop-by-hop");
        // Hop-by-hop (8 bytes) -> destination options (8) -> routing (8 + 16) -> TCP.
        assert_eq!(f[54], 60);
        assert_eq!(f[62], 43);
        assert_eq!(f[70], 6);
        let (v, kind, payload) = check_ip(&f[14..]);
        assert_eq!((v, kind, payload.as_slice()), (6, "tcp", GET));
    }

    #[test]
    fn udp_and_icmp_checksums() {
        let v4 = Frame::raw()
            .ipv4("10.0.0.1", "10.0.0.53")
            .udp(5353, 53)
            .payload(b"query")
            .build();
        assert_eq!(check_ip(&v4).1, "udp");
        let v6 = Frame::raw()
            .ipv6("fd00::1", "fd00::2")
            .udp(5353, 53)
            .payload(b"odd")
            .build();
        assert_eq!(check_ip(&v6).1, "udp");
        let ping6 = Frame::raw()
            .ipv6("fd00::1", "fd00::2")
            .icmpv6_echo(false, 1, 2)
            .payload(b"ping")
            .build();
        assert_eq!(check_ip(&ping6).1, "icmpv6");
        let ping = Frame::raw()
            .ipv4("10.0.0.1", "10.0.0.2")
            .icmp_echo(false, 1, 2)
            .payload(b"ping")
            .build();
        assert_eq!(check_ip(&ping).1, "icmp");
        // ICMP checksum: the one's-complement sum of the message is all ones.
        assert_eq!(finish(sum_bytes(0, &ping[20..])), 0);
        let zero = Frame::raw()
            .ipv4("10.0.0.1", "10.0.0.2")
            .udp(1, 4789)
            .udp_zero_checksum()
            .build();
        assert_eq!(be16(&zero, 26), 0);
    }

    #[test]
    fn vlan_tags_and_mpls_stacks() {
        let cases: &[(Frame, &[u16])] = &[
            (Frame::new().ethernet().vlan(42), &[0x8100, 42, 0x0800]),
            (
                Frame::new().ethernet().vlan(42).vlan(7),
                &[0x88a8, 42, 0x8100, 7, 0x0800],
            ),
            (
                Frame::new().ethernet().vlan_tpid(0x9100, 100).vlan(200),
                &[0x9100, 100, 0x8100, 200, 0x0800],
            ),
        ];
        for (frame, want) in cases {
            let f = frame
                .clone()
                .ipv4("10.0.0.1", "10.0.0.2")
                .tcp(1, 2, 3, 4, ACK)
                .no_pad()
                .build();
            let got: Vec<u16> = (0..want.len()).map(|i| be16(&f, 12 + 2 * i)).collect();
            assert_eq!(&got, want);
            check_ip(&f[14 + 2 * want.len() - 2..]);
        }
        let f = Frame::new()
            .ethernet()
            .mpls(100)
            .mpls(200)
            .ipv4("10.0.0.1", "10.0.0.2")
            .tcp(1, 2, 3, 4, ACK)
            .build();
        assert_eq!(be16(&f, 12), 0x8847);
        let l1 = u32::from_be_bytes(f[14..18].try_into().unwrap());
        let l2 = u32::from_be_bytes(f[18..22].try_into().unwrap());
        assert_eq!((l1 >> 12, (l1 >> 8) & 1, l1 & 0xff), (100, 0, 64));
        assert_eq!((l2 >> 12, (l2 >> 8) & 1), (200, 1));
        check_ip(&f[22..]);
    }

    #[test]
    fn link_layers() {
        let ip = Frame::raw().ipv6("fd00::1", "fd00::2").tcp(1, 2, 3, 4, ACK);
        let table: &[(Frame, LinkType, usize, &[u8])] = &[
            (Frame::new().sll(), LinkType::LinuxSll, 16, &[0x86, 0xdd]),
            (Frame::new().sll2(), LinkType::LinuxSll2, 20, &[0x86, 0xdd]),
            (Frame::new().null(), LinkType::Null, 4, &[24, 0, 0, 0]),
            (Frame::new().bsd_loop(), LinkType::Loop, 4, &[0, 0, 0, 24]),
            (Frame::raw(), LinkType::Raw, 0, &[]),
        ];
        for (link, want_link, hlen, marker) in table {
            let frame = link.clone().append(ip.clone());
            assert_eq!(frame.link(), *want_link);
            let f = frame.build();
            let at = match want_link {
                LinkType::LinuxSll => 14,
                _ => 0,
            };
            assert_eq!(&f[at..at + marker.len()], *marker, "{want_link:?}");
            check_ip(&f[*hlen..]);
        }
    }

    #[test]
    fn ipv4_fragments_reassemble_to_the_original() {
        let body = vec![b'x'; 1000];
        let frame = Frame::new()
            .ethernet()
            .ipv4("10.1.0.7", "10.1.0.9")
            .ip_id(4242)
            .tcp(51234, 80, 1, 1, PSH | ACK)
            .payload(&body);
        let whole = frame.build();
        let frags = frame.fragments(300);
        assert_eq!(frags.len(), 4);
        let mut joined = vec![];
        for (i, f) in frags.iter().enumerate() {
            let ip = &f[14..14 + usize::from(be16(f, 16))];
            let h = PacketHeaders::from_ip_slice(ip).unwrap();
            let (v4, _) = h.net.as_ref().unwrap().ipv4_ref().unwrap();
            assert_eq!(v4.header_checksum, v4.calc_header_checksum());
            assert_eq!(v4.identification, 4242);
            assert_eq!(v4.more_fragments, i < 3);
            assert_eq!(usize::from(v4.fragment_offset.value()) * 8, joined.len());
            assert!(!v4.dont_fragment);
            joined.extend_from_slice(&ip[20..]);
        }
        assert_eq!(joined, whole[34..]);
        check_ip(&whole[14..]);
    }

    #[test]
    fn ipv6_fragments_keep_extension_headers_in_each() {
        let body = vec![b'y'; 700];
        let frame = Frame::raw()
            .ipv6("fd00::7", "fd00::9")
            .hop_by_hop()
            .ip_id(99)
            .tcp(51234, 80, 1, 1, PSH | ACK)
            .payload(&body);
        let whole = frame.build();
        let frags = frame.fragments(256);
        assert_eq!(frags.len(), 3);
        let mut joined = vec![];
        for (i, f) in frags.iter().enumerate() {
            assert_eq!(f[6], 0, "hop-by-hop first");
            assert_eq!(f[40], 44, "then the fragment header");
            assert_eq!(usize::from(be16(f, 4)) + 40, f.len());
            let frag = &f[48..56];
            assert_eq!(frag[0], 6, "fragment carries TCP");
            let off = be16(frag, 2);
            assert_eq!(usize::from(off >> 3) * 8, joined.len());
            assert_eq!(off & 1 == 1, i < 2);
            assert_eq!(u32::from_be_bytes(frag[4..8].try_into().unwrap()), 99);
            joined.extend_from_slice(&f[56..]);
        }
        assert_eq!(joined, whole[48..]);
        assert_eq!(frame.fragments(2000), vec![whole]);
    }

    #[test]
    fn tunnels_carry_a_valid_inner_packet() {
        let inner = Frame::raw()
            .ipv4("10.1.0.7", "10.1.0.9")
            .tcp(51234, 80, 1, 1, PSH | ACK)
            .payload(GET);
        let inner_len = 20 + 20 + GET.len();
        let geneve_opts = vec![
            GeneveOpt {
                class: 0x0108,
                kind: 1,
                data: vec![1, 2, 3, 4],
            },
            GeneveOpt {
                class: 0xffff,
                kind: 0x80,
                data: vec![9; 6],
            },
        ];
        // (outer template, offset of the inner IP packet from the start of the outer IP)
        let table: Vec<(&str, Frame, usize)> = vec![
            (
                "vxlan",
                Frame::raw()
                    .ipv4("10.0.0.5", "10.0.0.9")
                    .udp(49152, 4789)
                    .vxlan(7)
                    .ethernet(),
                20 + 8 + 8 + 14,
            ),
            (
                "geneve",
                Frame::raw()
                    .ipv4("10.0.0.5", "10.0.0.9")
                    .udp(49152, 6081)
                    .geneve(7, geneve_opts),
                20 + 8 + 8 + 8 + 12,
            ),
            (
                "gre",
                Frame::raw()
                    .ipv4("10.0.0.5", "10.0.0.9")
                    .gre_with(true, Some(5), Some(6)),
                20 + 16,
            ),
            (
                "gre-teb",
                Frame::raw().ipv4("10.0.0.5", "10.0.0.9").gre().ethernet(),
                20 + 4 + 14,
            ),
            (
                "erspan1",
                Frame::raw()
                    .ipv4("10.0.0.5", "10.0.0.9")
                    .erspan1()
                    .ethernet(),
                20 + 4 + 14,
            ),
            (
                "erspan2",
                Frame::raw()
                    .ipv4("10.0.0.5", "10.0.0.9")
                    .erspan2(5, 42, 1)
                    .ethernet(),
                20 + 8 + 8 + 14,
            ),
            (
                "erspan3",
                Frame::raw()
                    .ipv4("10.0.0.5", "10.0.0.9")
                    .erspan3(5, 42, 1, true)
                    .ethernet(),
                20 + 8 + 12 + 8 + 14,
            ),
            ("4in6", Frame::raw().ipv6("fd00::5", "fd00::9"), 40),
        ];
        for (name, outer, at) in table {
            let f = outer.append(inner.clone()).build();
            assert_eq!(f.len(), at + inner_len, "{name}");
            let (_, kind, payload) = check_ip(&f[at..]);
            assert_eq!((kind, payload.as_slice()), ("tcp", GET), "{name}");
            // The outer packet's lengths and checksums hold too.
            check_ip(&f);
        }
        // GRE checksum covers header and payload.
        let gre = Frame::raw()
            .ipv4("10.0.0.5", "10.0.0.9")
            .gre_with(true, None, None)
            .append(inner)
            .build();
        assert_eq!(finish(sum_bytes(0, &gre[20..])), 0);
    }

    #[test]
    fn conversation_sequence_numbers_and_times() {
        let conv = TcpConversation::new("10.1.0.7:51234", "10.1.0.9:80")
            .mss(10)
            .request(b"0123456789abc")
            .response(b"ok");
        let segs = conv.segments();
        let summary: Vec<(Dir, u8, u32, u32, usize)> = segs
            .iter()
            .map(|s| (s.dir, s.flags, s.seq, s.ack, s.payload.len()))
            .collect();
        use Dir::*;
        assert_eq!(
            summary,
            vec![
                (C2s, SYN, 1000, 0, 0),
                (S2c, SYN | ACK, 5000, 1001, 0),
                (C2s, ACK, 1001, 5001, 0),
                (C2s, ACK, 1001, 5001, 10),
                (C2s, PSH | ACK, 1011, 5001, 3),
                (S2c, ACK, 5001, 1014, 0),
                (S2c, PSH | ACK, 5001, 1014, 2),
                (C2s, ACK, 1014, 5003, 0),
                (C2s, FIN | ACK, 1014, 5003, 0),
                (S2c, FIN | ACK, 5003, 1015, 0),
                (C2s, ACK, 1015, 5004, 0),
            ]
        );
        assert!(segs.windows(2).all(|w| w[0].ts < w[1].ts));
        assert_eq!(segs[0].ts.to_string(), "2024-05-01T12:00:00.000000Z");
        assert_eq!(segs[1].ts.to_string(), "2024-05-01T12:00:00.001000Z");
        let frames = conv.frames(|s| ethernet_for(s.dir));
        assert_eq!(frames.len(), segs.len());
        for (ts, f) in &frames {
            let len = 14 + usize::from(be16(f, 16));
            check_ip(&f[14..len]);
            assert!(ts.secs == EPOCH_2024_05_01);
        }
        // The server's frames go server MAC -> client MAC.
        assert_eq!(&frames[1].1[0..6], &CLIENT_MAC);
        // Same input, same bytes.
        assert_eq!(frames, conv.frames(|s| ethernet_for(s.dir)));
    }

    #[test]
    fn pcap_and_pcapng_read_back() {
        use crate::io::{CaptureReader, Magic};
        let a = Frame::new()
            .ethernet()
            .ipv4("10.0.0.1", "10.0.0.2")
            .tcp(1, 2, 3, 4, ACK)
            .build();
        let b = Frame::raw()
            .ipv4("10.0.0.1", "10.0.0.2")
            .tcp(1, 2, 3, 4, ACK)
            .build();
        let t1 = Ts::from_nanos(EPOCH_2024_05_01, 123_456_789);
        let t2 = Ts::from_micros(EPOCH_2024_05_01, 5);
        let read = |bytes: &[u8]| {
            let mut r = CaptureReader::open(Magic::detect(bytes).unwrap(), bytes).unwrap();
            let mut got = vec![];
            while let Some(item) = r.next_frame() {
                let f = item.unwrap();
                got.push((f.ts.to_string(), f.link, f.iface, f.data.to_vec()));
            }
            got
        };
        let nanos = pcap_bytes(LinkType::Ethernet, true, &[(t1, a.clone())]);
        assert_eq!(
            read(&nanos),
            vec![(
                "2024-05-01T12:00:00.123456789Z".into(),
                LinkType::Ethernet,
                0,
                a.clone()
            )]
        );
        let mut ng = PcapNg::new();
        let eth = ng.interface(LinkType::Ethernet, 6, "eth0");
        let raw = ng.interface(LinkType::Raw, 9, "tun0");
        ng.packet(eth, t2, &a);
        ng.packet(raw, t1, &b);
        assert_eq!(
            read(&ng.into_bytes()),
            vec![
                (
                    "2024-05-01T12:00:00.000005Z".into(),
                    LinkType::Ethernet,
                    0,
                    a
                ),
                ("2024-05-01T12:00:00.123456789Z".into(), LinkType::Raw, 1, b),
            ]
        );
    }

    /// Runs tshark on a capture; `None` (and a SKIP note) when tshark is missing.
    fn tshark(file: &Path, args: &[&str]) -> Option<String> {
        let out = match std::process::Command::new("tshark")
            .arg("-n")
            .arg("-r")
            .arg(file)
            .args(args)
            .output()
        {
            Ok(out) => out,
            Err(_) => {
                eprintln!("SKIP: tshark not found");
                return None;
            }
        };
        assert!(
            out.status.success(),
            "tshark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    #[test]
    fn tshark_accepts_every_encapsulation() {
        let http = |f: Frame| {
            f.ipv4("10.1.0.7", "10.1.0.9")
                .tcp(51234, 80, 1, 1, PSH | ACK)
                .payload(GET)
        };
        let outer = || Frame::new().ethernet().ipv4("10.0.0.5", "10.0.0.9");
        let opts = vec![GeneveOpt {
            class: 0x0108,
            kind: 1,
            data: vec![0, 0, 0, 1],
        }];
        let table: Vec<(Frame, &str)> = vec![
            (http(Frame::new().ethernet()), "eth:ethertype:ip:tcp:http"),
            (
                http(Frame::new().ethernet().vlan(42).vlan(7)),
                "eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:ip:tcp:http",
            ),
            (
                http(Frame::new().ethernet().vlan_tpid(0x9100, 42)),
                "eth:ethertype:vlan:ethertype:ip:tcp:http",
            ),
            (
                http(Frame::new().ethernet().mpls(100).mpls(200)),
                "eth:ethertype:mpls:ip:tcp:http",
            ),
            (
                http(outer().udp(49152, 4789).vxlan(7).ethernet()),
                "eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:tcp:http",
            ),
            (
                http(outer().udp(49152, 6081).geneve(7, opts.clone())),
                "eth:ethertype:ip:udp:geneve:ip:tcp:http",
            ),
            (
                http(outer().udp(49152, 6081).geneve(7, opts).ethernet()),
                "eth:ethertype:ip:udp:geneve:eth:ethertype:ip:tcp:http",
            ),
            (
                http(outer().gre_with(true, Some(9), Some(1))),
                "eth:ethertype:ip:gre:ip:tcp:http",
            ),
            (
                http(outer().gre().ethernet()),
                "eth:ethertype:ip:gre:eth:ethertype:ip:tcp:http",
            ),
            (
                http(outer().erspan1().ethernet()),
                "eth:ethertype:ip:gre:erspan:eth:ethertype:ip:tcp:http",
            ),
            (
                http(outer().erspan2(5, 42, 1).ethernet()),
                "eth:ethertype:ip:gre:erspan:eth:ethertype:ip:tcp:http",
            ),
            (
                http(outer().erspan3(5, 42, 2, true).ethernet()),
                "eth:ethertype:ip:gre:erspan:eth:ethertype:ip:tcp:http",
            ),
            (http(outer()), "eth:ethertype:ip:ip:tcp:http"),
            (
                http(Frame::new().ethernet().ipv6("fd00::5", "fd00::9")),
                "eth:ethertype:ipv6:ip:tcp:http",
            ),
            (
                Frame::new()
                    .ethernet()
                    .ipv6("fd00::7", "fd00::9")
                    .hop_by_hop()
                    .dest_opts()
                    .tcp(51234, 80, 1, 1, PSH | ACK)
                    .payload(GET),
                "eth:ethertype:ipv6:ipv6.hopopts:ipv6.dstopts:tcp:http",
            ),
            (http(Frame::new().sll()), "sll:ethertype:ip:tcp:http"),
        ];
        let dir = std::env::temp_dir().join(format!("tw-synth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut failures = vec![];
        for (i, (frame, want)) in table.iter().enumerate() {
            let path = dir.join(format!("{i}.pcap"));
            let ts = Ts::from_micros(EPOCH_2024_05_01, 0);
            write_pcap(&path, frame.link(), &[(ts, frame.build())]).unwrap();
            let checks = [
                "-o",
                "ip.check_checksum:TRUE",
                "-o",
                "tcp.check_checksum:TRUE",
                "-o",
                "udp.check_checksum:TRUE",
                "-T",
                "fields",
                "-e",
                "frame.protocols",
                "-e",
                "_ws.expert.severity",
                "-e",
                "http.request.uri",
            ];
            let Some(out) = tshark(&path, &checks) else {
                return;
            };
            let fields: Vec<&str> = out.trim_end().split('\t').collect();
            if fields.first() != Some(want) {
                failures.push(format!("case {i}: want {want}, got {out}"));
                continue;
            }
            // No warnings or errors (bad checksums, malformed fields): severity
            // below "warning" (6291456) only.
            for sev in fields
                .get(1)
                .unwrap_or(&"")
                .split(',')
                .filter(|s| !s.is_empty())
            {
                let sev: u32 = sev.parse().unwrap();
                assert!(sev < 6_291_456, "case {i} ({want}): expert info {out}");
            }
            assert_eq!(fields.get(2), Some(&"/"), "case {i}");
        }
        std::fs::remove_dir_all(&dir).ok();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
