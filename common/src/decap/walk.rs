//! The layer walk of one frame. Each step decodes one header with a checked
//! view, pushes what it removed onto the tunnel stack, and hands the payload
//! to the next step; every dead end is counted by reason.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use super::frag::{Defrag, FragKey, Fragment, MAX_PAYLOAD};
use super::view::ip::Ipv6Frag;
use super::view::link::Family;
use super::view::{
    CiscoHdlc, ETag, Erspan2, Erspan3, Ethernet, Geneve, Gre, Ipv4, Ipv6, Ipv6Ext, LinuxSll,
    LinuxSll2, MplsLabel, Null, Pppoe, Tcp, Udp, VlanTag, VnTag, Vxlan,
};
use super::{checksum, DecapConfig, DecapStats, ViewError};
use crate::record::{IpInfo, LinkType, Packet, TcpFlags, TcpInfo, Tunnel};
use crate::time::Ts;

pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const RARP: u16 = 0x8035;
    pub const TEB: u16 = 0x6558;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const VLAN_9100: u16 = 0x9100;
    pub const IPV6: u16 = 0x86dd;
    pub const MPLS: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
    pub const PPPOE_DISCOVERY: u16 = 0x8863;
    pub const PPPOE_SESSION: u16 = 0x8864;
    pub const ERSPAN_2: u16 = 0x88be;
    pub const ERSPAN_3: u16 = 0x22eb;
    pub const LLDP: u16 = 0x88cc;
    pub const VNTAG: u16 = 0x8926;
    pub const ETAG: u16 = 0x893f;
}

pub mod proto {
    pub const ICMP: u8 = 1;
    pub const IGMP: u8 = 2;
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const GRE: u8 = 47;
    pub const ESP: u8 = 50;
    pub const ICMPV6: u8 = 58;
    pub const NO_NEXT: u8 = 59;
    pub const SCTP: u8 = 132;
}

/// The IP header fields a packet record carries.
#[derive(Debug, Clone, Copy)]
struct IpHdr {
    v: u8,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
}

pub(super) struct Walk<'w, 'e> {
    pub cfg: &'w DecapConfig,
    pub stats: &'w mut DecapStats,
    pub stack: &'w mut Vec<Tunnel>,
    pub defrag: &'w mut Defrag,
    pub emit: &'e mut dyn FnMut(&Packet<'_>),
    pub ts: Ts,
    pub src: &'w str,
    pub index: u64,
    pub layers: usize,
}

impl Walk<'_, '_> {
    /// Counts one more layer; false (counted `too_many_layers`) past the limit.
    fn enter(&mut self) -> bool {
        self.layers += 1;
        if self.layers > self.cfg.max_depth {
            self.stats.count("too_many_layers");
            return false;
        }
        true
    }

    fn fail(&mut self, e: ViewError) {
        self.stats.count(e.key());
        log::debug!("{}: packet {}: {e}", self.src, self.index);
    }

    pub fn link(&mut self, link: LinkType, data: &[u8]) {
        match link {
            LinkType::Ethernet => self.ethernet(data),
            LinkType::Raw => self.raw_ip(data),
            LinkType::Ipv4 => self.ipv4(data),
            LinkType::Ipv6 => self.ipv6(data),
            LinkType::Null | LinkType::Loop => {
                if !self.enter() {
                    return;
                }
                match Null::new_checked(data) {
                    Ok(n) => match n.family() {
                        Family::Ipv4 => self.ipv4(n.payload()),
                        Family::Ipv6 => self.ipv6(n.payload()),
                        Family::Other(_) => self.stats.count("null_family_unsupported"),
                    },
                    Err(e) => self.fail(e),
                }
            }
            LinkType::LinuxSll => {
                if !self.enter() {
                    return;
                }
                match LinuxSll::new_checked(data) {
                    Ok(s) => self.sll_payload(s.arphrd(), s.protocol(), s.payload()),
                    Err(e) => self.fail(e),
                }
            }
            LinkType::LinuxSll2 => {
                if !self.enter() {
                    return;
                }
                match LinuxSll2::new_checked(data) {
                    Ok(s) => self.sll_payload(s.arphrd(), s.protocol(), s.payload()),
                    Err(e) => self.fail(e),
                }
            }
            LinkType::Other(super::view::link::chdlc::DLT) => {
                if !self.enter() {
                    return;
                }
                match CiscoHdlc::new_checked(data) {
                    Ok(h) => self.ethertype(h.protocol(), h.payload()),
                    Err(e) => self.fail(e),
                }
            }
            LinkType::Other(_) => self.stats.count("link_unsupported"),
        }
    }

    /// Cooked capture: the protocol is an EtherType, except for the Linux
    /// pseudo-protocols below 0x0600 (802.2 LLC, 802.3, CAN, ...).
    fn sll_payload(&mut self, arphrd: u16, protocol: u16, payload: &[u8]) {
        const ARPHRD_NETLINK: u16 = 824;
        if arphrd == ARPHRD_NETLINK {
            self.stats.count("netlink");
        } else {
            self.ethertype(protocol, payload);
        }
    }

    fn raw_ip(&mut self, data: &[u8]) {
        match data.first().map(|b| b >> 4) {
            Some(4) => self.ipv4(data),
            Some(6) => self.ipv6(data),
            Some(_) => self.stats.count("raw_not_ip"),
            None => self.stats.count("raw_truncated"),
        }
    }

    fn ethernet(&mut self, data: &[u8]) {
        if !self.enter() {
            return;
        }
        match Ethernet::new_checked(data) {
            Ok(eth) => self.ethertype(eth.ethertype(), eth.payload()),
            Err(e) => self.fail(e),
        }
    }

    fn ethertype(&mut self, et: u16, data: &[u8]) {
        use ethertype::*;
        match et {
            IPV4 => self.ipv4(data),
            IPV6 => self.ipv6(data),
            VLAN | QINQ | VLAN_9100 => self.vlan(data),
            MPLS | MPLS_MULTICAST => self.mpls(data),
            TEB => self.ethernet(data),
            PPPOE_SESSION => self.pppoe(data),
            VNTAG => self.vntag(data),
            ETAG => self.etag(data),
            ARP | RARP => self.stats.count("arp"),
            PPPOE_DISCOVERY => self.stats.count("pppoe_discovery"),
            LLDP => self.stats.count("lldp"),
            0..0x0600 => self.stats.count("llc"),
            other => *self.stats.ethertypes.entry(other).or_insert(0) += 1,
        }
    }

    fn vlan(&mut self, data: &[u8]) {
        if !self.enter() {
            return;
        }
        match VlanTag::new_checked(data) {
            Ok(tag) => {
                self.stack.push(Tunnel::Vlan { vid: tag.vid() });
                self.ethertype(tag.ethertype(), tag.payload());
            }
            Err(e) => self.fail(e),
        }
    }

    fn vntag(&mut self, data: &[u8]) {
        if !self.enter() {
            return;
        }
        match VnTag::new_checked(data) {
            Ok(tag) => self.ethertype(tag.ethertype(), tag.payload()),
            Err(e) => self.fail(e),
        }
    }

    fn etag(&mut self, data: &[u8]) {
        if !self.enter() {
            return;
        }
        match ETag::new_checked(data) {
            Ok(tag) => self.ethertype(tag.ethertype(), tag.payload()),
            Err(e) => self.fail(e),
        }
    }

    fn mpls(&mut self, mut data: &[u8]) {
        loop {
            if !self.enter() {
                return;
            }
            let label = match MplsLabel::new_checked(data) {
                Ok(l) => l,
                Err(e) => return self.fail(e),
            };
            self.stack.push(Tunnel::Mpls {
                label: label.label(),
            });
            data = label.rest();
            if label.bottom() {
                break;
            }
        }
        match data.first().map(|b| b >> 4) {
            Some(4) => self.ipv4(data),
            Some(6) => self.ipv6(data),
            // Ethernet pseudowire with its control word (RFC 4448): first nibble 0.
            Some(0) => match data.get(4..) {
                Some(frame) => self.ethernet(frame),
                None => self.fail(ViewError::truncated(
                    super::Layer::Pseudowire,
                    0,
                    4,
                    data.len(),
                )),
            },
            Some(_) => self.stats.count("mpls_payload_unknown"),
            None => self.fail(ViewError::truncated(super::Layer::Mpls, 0, 1, 0)),
        }
    }

    fn pppoe(&mut self, data: &[u8]) {
        use super::view::link::pppoe::{PPP_IPV4, PPP_IPV6};
        if !self.enter() {
            return;
        }
        match Pppoe::new_checked(data) {
            Ok(p) => match p.ppp_protocol() {
                PPP_IPV4 => self.ipv4(p.payload()),
                PPP_IPV6 => self.ipv6(p.payload()),
                _ => self.stats.count("ppp_control"),
            },
            Err(e) => self.fail(e),
        }
    }

    /// A fingerprint of the tunnel stack, so fragments from different tunnels do not mix.
    fn context(&self) -> u64 {
        let mut h = std::hash::DefaultHasher::new();
        self.stack.hash(&mut h);
        h.finish()
    }

    fn ipv4(&mut self, data: &[u8]) {
        if !self.enter() {
            return;
        }
        let ip = match Ipv4::new_checked(data) {
            Ok(ip) => ip,
            Err(e) => return self.fail(e),
        };
        if self.cfg.verify_checksums && !checksum::ipv4_header_ok(ip.header_bytes()) {
            return self.stats.count("ipv4_bad_checksum");
        }
        let hdr = IpHdr {
            v: 4,
            src: IpAddr::V4(ip.src()),
            dst: IpAddr::V4(ip.dst()),
            ttl: ip.ttl(),
        };
        if !ip.is_fragment() {
            return self.ip_payload(hdr, ip.protocol(), ip.payload());
        }
        let frag = Fragment {
            key: FragKey {
                src: hdr.src,
                dst: hdr.dst,
                ident: u32::from(ip.ident()),
                proto: ip.protocol(),
                context: self.context(),
            },
            offset: ip.frag_offset(),
            more: ip.more_frags(),
            proto: ip.protocol(),
            limit: MAX_PAYLOAD - ip.header_len(),
            data: ip.payload(),
        };
        if let Some(done) = self.defrag.push(self.ts, frag, &mut self.stats.reasons) {
            self.ip_payload(hdr, done.proto, &done.buf);
            self.defrag.recycle(done.buf);
        }
    }

    fn ipv6(&mut self, data: &[u8]) {
        if !self.enter() {
            return;
        }
        let ip = match Ipv6::new_checked(data) {
            Ok(ip) => ip,
            Err(e) => return self.fail(e),
        };
        let hdr = IpHdr {
            v: 6,
            src: IpAddr::V6(ip.src()),
            dst: IpAddr::V6(ip.dst()),
            ttl: ip.hop_limit(),
        };
        match Ipv6Ext::walk(ip.next_header(), ip.payload(), 40) {
            Ok(Ipv6Ext::Upper { proto, payload }) => self.ip_payload(hdr, proto, payload),
            Ok(Ipv6Ext::Fragment {
                frag,
                next,
                payload,
            }) => self.ipv6_fragment(hdr, frag, next, payload),
            Err(e) => self.fail(e),
        }
    }

    fn ipv6_fragment(&mut self, hdr: IpHdr, frag: Ipv6Frag, next: u8, payload: &[u8]) {
        if frag.is_atomic() {
            return self.ipv6_after_fragment(hdr, next, payload);
        }
        let f = Fragment {
            key: FragKey {
                src: hdr.src,
                dst: hdr.dst,
                ident: frag.ident,
                proto: 0,
                context: self.context(),
            },
            offset: frag.offset,
            more: frag.more,
            proto: next,
            limit: MAX_PAYLOAD,
            data: payload,
        };
        if let Some(done) = self.defrag.push(self.ts, f, &mut self.stats.reasons) {
            self.ipv6_after_fragment(hdr, done.proto, &done.buf);
            self.defrag.recycle(done.buf);
        }
    }

    /// The headers after a fragment header (more extension headers may follow;
    /// a second fragment header is malformed).
    fn ipv6_after_fragment(&mut self, hdr: IpHdr, next: u8, data: &[u8]) {
        match Ipv6Ext::walk(next, data, 0) {
            Ok(Ipv6Ext::Upper { proto, payload }) => self.ip_payload(hdr, proto, payload),
            Ok(Ipv6Ext::Fragment { .. }) => self.stats.count("frag_nested"),
            Err(e) => self.fail(e),
        }
    }

    fn ip_payload(&mut self, ip: IpHdr, protocol: u8, data: &[u8]) {
        use proto::*;
        match protocol {
            TCP => self.tcp(ip, data),
            UDP => self.udp(ip, data),
            GRE => self.gre(ip, data),
            IPIP => {
                self.stack.push(Tunnel::Ipip {
                    outer_src: ip.src,
                    outer_dst: ip.dst,
                });
                self.ipv4(data)
            }
            IPV6 => {
                self.stack.push(Tunnel::Ipip {
                    outer_src: ip.src,
                    outer_dst: ip.dst,
                });
                self.ipv6(data)
            }
            ICMP => self.stats.count("icmp"),
            ICMPV6 => self.stats.count("icmpv6"),
            IGMP => self.stats.count("igmp"),
            ESP => self.stats.count("esp"),
            SCTP => self.stats.count("sctp"),
            NO_NEXT => self.stats.count("ipv6_no_next_header"),
            other => *self.stats.ip_protos.entry(other).or_insert(0) += 1,
        }
    }

    fn udp(&mut self, ip: IpHdr, data: &[u8]) {
        let udp = match Udp::new_checked(data) {
            Ok(u) => u,
            Err(e) => return self.fail(e),
        };
        let port = udp.dst_port();
        if self.cfg.vxlan_ports.contains(&port) {
            self.vxlan(ip, udp.payload());
        } else if self.cfg.geneve_ports.contains(&port) {
            self.geneve(ip, udp.payload());
        } else {
            self.stats.count("udp");
        }
    }

    fn vxlan(&mut self, ip: IpHdr, data: &[u8]) {
        if !self.enter() {
            return;
        }
        match Vxlan::new_checked(data) {
            Ok(v) => {
                self.stack.push(Tunnel::Vxlan {
                    vni: v.vni(),
                    outer_src: ip.src,
                    outer_dst: ip.dst,
                });
                self.ethernet(v.payload());
            }
            Err(e) => self.fail(e),
        }
    }

    fn geneve(&mut self, ip: IpHdr, data: &[u8]) {
        use ethertype::{IPV4, IPV6, TEB};
        if !self.enter() {
            return;
        }
        let g = match Geneve::new_checked(data) {
            Ok(g) => g,
            Err(e) => return self.fail(e),
        };
        self.stack.push(Tunnel::Geneve {
            vni: g.vni(),
            outer_src: ip.src,
            outer_dst: ip.dst,
        });
        match g.protocol() {
            TEB => self.ethernet(g.payload()),
            IPV4 => self.ipv4(g.payload()),
            IPV6 => self.ipv6(g.payload()),
            _ => self.stats.count("geneve_protocol_unsupported"),
        }
    }

    fn gre(&mut self, ip: IpHdr, data: &[u8]) {
        use ethertype::{ERSPAN_2, ERSPAN_3};
        if !self.enter() {
            return;
        }
        let gre = match Gre::new_checked(data) {
            Ok(g) => g,
            Err(e) => return self.fail(e),
        };
        match gre.protocol() {
            ERSPAN_2 if gre.sequence().is_none() => {
                // Type I: no ERSPAN header, the mirrored frame follows GRE.
                self.stack.push(Tunnel::Erspan {
                    version: 1,
                    session: 0,
                    outer_src: ip.src,
                    outer_dst: ip.dst,
                });
                self.ethernet(gre.payload());
            }
            ERSPAN_2 => {
                if !self.enter() {
                    return;
                }
                match Erspan2::new_checked(gre.payload()) {
                    Ok(e) => {
                        self.stack.push(Tunnel::Erspan {
                            version: 2,
                            session: e.session(),
                            outer_src: ip.src,
                            outer_dst: ip.dst,
                        });
                        self.ethernet(e.payload());
                    }
                    Err(e) => self.fail(e),
                }
            }
            ERSPAN_3 => {
                if !self.enter() {
                    return;
                }
                match Erspan3::new_checked(gre.payload()) {
                    Ok(e) if e.frame_type() == 0 => {
                        self.stack.push(Tunnel::Erspan {
                            version: 3,
                            session: e.session(),
                            outer_src: ip.src,
                            outer_dst: ip.dst,
                        });
                        self.ethernet(e.payload());
                    }
                    Ok(_) => self.stats.count("erspan_frame_type_unsupported"),
                    Err(e) => self.fail(e),
                }
            }
            et => {
                self.stack.push(Tunnel::Gre {
                    key: gre.key(),
                    outer_src: ip.src,
                    outer_dst: ip.dst,
                });
                self.ethertype(et, gre.payload());
            }
        }
    }

    fn tcp(&mut self, ip: IpHdr, data: &[u8]) {
        let tcp = match Tcp::new_checked(data) {
            Ok(t) => t,
            Err(e) => return self.fail(e),
        };
        if self.cfg.verify_checksums && !checksum::transport_ok(ip.src, ip.dst, proto::TCP, data) {
            return self.stats.count("tcp_bad_checksum");
        }
        let packet = Packet {
            ts: self.ts,
            src: Cow::Borrowed(self.src),
            index: self.index,
            tunnel: Cow::Borrowed(self.stack.as_slice()),
            ip: IpInfo {
                v: ip.v,
                src: ip.src,
                dst: ip.dst,
                ttl: ip.ttl,
            },
            tcp: TcpInfo {
                sport: tcp.src_port(),
                dport: tcp.dst_port(),
                seq: tcp.seq(),
                ack: tcp.ack(),
                flags: TcpFlags(tcp.flags()),
                win: tcp.window(),
            },
            payload: Cow::Borrowed(tcp.payload()),
        };
        if let Some(reason) = self.cfg.filter.check(&packet) {
            return self.stats.count(reason);
        }
        self.stats.packets += 1;
        (self.emit)(&packet);
    }
}
