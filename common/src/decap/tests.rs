//! Decapper tests on hand-built frames: each encapsulation, combinations,
//! fragments, padding, filters, the depth limit, and robustness.

use std::borrow::Cow;
use std::net::IpAddr;

use super::testutil::*;
use super::*;
use crate::record::{LinkType, Packet, Tunnel};

const TCP: u8 = 6;
const UDP: u8 = 17;
const GRE: u8 = 47;
const OUTER_SRC: &str = "192.0.2.1";
const OUTER_DST: &str = "192.0.2.2";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn own(p: &Packet<'_>) -> Packet<'static> {
    Packet {
        ts: p.ts,
        src: Cow::Owned(p.src.to_string()),
        index: p.index,
        tunnel: Cow::Owned(p.tunnel.to_vec()),
        ip: p.ip,
        tcp: p.tcp,
        payload: Cow::Owned(p.payload.to_vec()),
    }
}

fn frame_at(secs: i64, link: LinkType, data: &[u8], index: u64) -> FrameIn<'_> {
    FrameIn {
        ts: Ts::from_micros(secs, 0),
        src: "test",
        index,
        link,
        data,
        tunnel: &[],
    }
}

fn run_frames(
    cfg: DecapConfig,
    frames: &[(LinkType, Vec<u8>)],
) -> (Vec<Packet<'static>>, DecapStats) {
    let mut d = Decapper::new(cfg);
    let mut out = vec![];
    for (i, (link, data)) in frames.iter().enumerate() {
        d.push(
            &frame_at(1000 + i as i64, *link, data, i as u64),
            &mut |p| out.push(own(p)),
        );
    }
    (out, d.stats().clone())
}

fn run_one(link: LinkType, data: Vec<u8>) -> (Vec<Packet<'static>>, DecapStats) {
    run_frames(DecapConfig::default(), &[(link, data)])
}

fn vxlan_t(vni: u32) -> Tunnel {
    Tunnel::Vxlan {
        vni,
        outer_src: ip(OUTER_SRC),
        outer_dst: ip(OUTER_DST),
    }
}

fn outer(proto: u8, payload: &[u8]) -> Vec<u8> {
    ip4(OUTER_SRC, OUTER_DST, proto, payload)
}

fn inner() -> Vec<u8> {
    tcp4("10.1.0.7", "10.1.0.9", 51234, 80, b"GET / HTTP/1.1\r\n\r\n")
}

fn inner6() -> Vec<u8> {
    tcp6(
        "2001:db8::7",
        "2001:db8::9",
        51234,
        80,
        b"GET / HTTP/1.1\r\n\r\n",
    )
}

/// Frames that decode to exactly one segment of `inner()` (or `inner6()`),
/// with the expected tunnel stack.
fn good_cases() -> Vec<(&'static str, LinkType, Vec<u8>, Vec<Tunnel>)> {
    use LinkType::*;
    let o = |s: &str| ip(s);
    let gre_t = |key| Tunnel::Gre {
        key,
        outer_src: o(OUTER_SRC),
        outer_dst: o(OUTER_DST),
    };
    let erspan_t = |version, session| Tunnel::Erspan {
        version,
        session,
        outer_src: o(OUTER_SRC),
        outer_dst: o(OUTER_DST),
    };
    let geneve_t = |vni| Tunnel::Geneve {
        vni,
        outer_src: o(OUTER_SRC),
        outer_dst: o(OUTER_DST),
    };
    let ipip_t = |s: &str, d: &str| Tunnel::Ipip {
        outer_src: o(s),
        outer_dst: o(d),
    };
    let sll = |proto: u16, p: &[u8]| {
        cat(&[
            &[0, 0, 0, 1, 0, 6],
            &[1, 2, 3, 4, 5, 6, 0, 0],
            &proto.to_be_bytes(),
            p,
        ])
    };
    let sll2 = |proto: u16, p: &[u8]| {
        cat(&[
            &proto.to_be_bytes(),
            &[0, 0, 0, 0, 0, 2, 0, 1, 0, 6],
            &[1, 2, 3, 4, 5, 6, 0, 0],
            p,
        ])
    };
    let vx = |vni, p: &[u8]| eth(0x0800, &outer(UDP, &udp(40000, 4789, &vxlan(vni, p))));
    let geneve_opts = [0x01, 0x02, 0x03, 0x02, 1, 2, 3, 4, 5, 6, 7, 8];
    let hbh = |next: u8, p: &[u8]| cat(&[&[next, 0, 1, 4, 0, 0, 0, 0], p]);
    vec![
        ("ethernet", Ethernet, eth(0x0800, &inner()), vec![]),
        ("ethernet ipv6", Ethernet, eth(0x86dd, &inner6()), vec![]),
        (
            "802.1q",
            Ethernet,
            eth(0x8100, &vlan(42, 0x0800, &inner())),
            vec![Tunnel::Vlan { vid: 42 }],
        ),
        (
            "qinq 802.1ad",
            Ethernet,
            eth(0x88a8, &vlan(100, 0x8100, &vlan(200, 0x0800, &inner()))),
            vec![Tunnel::Vlan { vid: 100 }, Tunnel::Vlan { vid: 200 }],
        ),
        (
            "0x9100",
            Ethernet,
            eth(0x9100, &vlan(7, 0x86dd, &inner6())),
            vec![Tunnel::Vlan { vid: 7 }],
        ),
        (
            "mpls two labels",
            Ethernet,
            eth(0x8847, &mpls(&[16, 17], &inner())),
            vec![Tunnel::Mpls { label: 16 }, Tunnel::Mpls { label: 17 }],
        ),
        (
            "mpls ipv6",
            Ethernet,
            eth(0x8847, &mpls(&[2], &inner6())),
            vec![Tunnel::Mpls { label: 2 }],
        ),
        (
            "mpls pseudowire",
            Ethernet,
            eth(
                0x8847,
                &mpls(&[99], &cat(&[&[0, 0, 0, 1], &eth(0x0800, &inner())])),
            ),
            vec![Tunnel::Mpls { label: 99 }],
        ),
        (
            "pppoe compressed protocol",
            Ethernet,
            eth(
                0x8864,
                &cat(&[
                    &[0x11, 0, 0, 1],
                    &((inner().len() + 1) as u16).to_be_bytes(),
                    &[0x21],
                    &inner(),
                ]),
            ),
            vec![],
        ),
        (
            "vn-tag",
            Ethernet,
            eth(
                0x8926,
                &cat(&[&[0x80, 1, 0, 2, 0x81, 0], &vlan(4, 0x0800, &inner())]),
            ),
            vec![Tunnel::Vlan { vid: 4 }],
        ),
        (
            "pppoe",
            Ethernet,
            eth(
                0x8864,
                &cat(&[
                    &[0x11, 0, 0, 1],
                    &((inner().len() + 2) as u16).to_be_bytes(),
                    &[0, 0x21],
                    &inner(),
                ]),
            ),
            vec![],
        ),
        (
            "vxlan",
            Ethernet,
            vx(42, &eth(0x0800, &inner())),
            vec![vxlan_t(42)],
        ),
        (
            "vlan inside vxlan",
            Ethernet,
            vx(42, &eth(0x8100, &vlan(7, 0x0800, &inner()))),
            vec![vxlan_t(42), Tunnel::Vlan { vid: 7 }],
        ),
        (
            "vxlan on 8472 inside vlan",
            Ethernet,
            eth(
                0x8100,
                &vlan(
                    5,
                    0x0800,
                    &outer(UDP, &udp(1, 8472, &vxlan(9, &eth(0x86dd, &inner6())))),
                ),
            ),
            vec![Tunnel::Vlan { vid: 5 }, vxlan_t(9)],
        ),
        (
            "geneve ethernet",
            Ethernet,
            eth(
                0x0800,
                &outer(
                    UDP,
                    &udp(1, 6081, &geneve(77, 0x6558, &[], &eth(0x0800, &inner()))),
                ),
            ),
            vec![geneve_t(77)],
        ),
        (
            "geneve ipv4 with options",
            Ethernet,
            eth(
                0x0800,
                &outer(
                    UDP,
                    &udp(1, 6081, &geneve(78, 0x0800, &geneve_opts, &inner())),
                ),
            ),
            vec![geneve_t(78)],
        ),
        (
            "vxlan in geneve (AWS)",
            Ethernet,
            eth(
                0x0800,
                &outer(
                    UDP,
                    &udp(
                        1,
                        6081,
                        &geneve(
                            5,
                            0x0800,
                            &geneve_opts,
                            &outer(UDP, &udp(2, 4789, &vxlan(6, &eth(0x0800, &inner())))),
                        ),
                    ),
                ),
            ),
            vec![geneve_t(5), vxlan_t(6)],
        ),
        (
            "gre ipv4",
            Ethernet,
            eth(0x0800, &outer(GRE, &gre(0x0800, None, None, &inner()))),
            vec![gre_t(None)],
        ),
        (
            "gre key seq ipv6",
            Ethernet,
            eth(
                0x0800,
                &outer(GRE, &gre(0x86dd, Some(5), Some(1), &inner6())),
            ),
            vec![gre_t(Some(5))],
        ),
        (
            "gre transparent ethernet",
            Ethernet,
            eth(
                0x0800,
                &outer(
                    GRE,
                    &gre(
                        0x6558,
                        Some(1),
                        None,
                        &eth(0x8100, &vlan(3, 0x0800, &inner())),
                    ),
                ),
            ),
            vec![gre_t(Some(1)), Tunnel::Vlan { vid: 3 }],
        ),
        (
            "erspan I",
            Ethernet,
            eth(
                0x0800,
                &outer(GRE, &gre(0x88be, None, None, &eth(0x0800, &inner()))),
            ),
            vec![erspan_t(1, 0)],
        ),
        (
            "erspan II with key",
            Ethernet,
            eth(
                0x0800,
                &outer(
                    GRE,
                    &gre(
                        0x88be,
                        Some(3),
                        Some(1),
                        &erspan2(100, &eth(0x0800, &inner())),
                    ),
                ),
            ),
            vec![erspan_t(2, 100)],
        ),
        (
            "erspan III",
            Ethernet,
            eth(
                0x0800,
                &outer(
                    GRE,
                    &gre(
                        0x22eb,
                        None,
                        Some(1),
                        &erspan3(300, false, &eth(0x0800, &inner())),
                    ),
                ),
            ),
            vec![erspan_t(3, 300)],
        ),
        (
            "erspan III platform subheader",
            Ethernet,
            eth(
                0x0800,
                &outer(
                    GRE,
                    &gre(
                        0x22eb,
                        None,
                        Some(1),
                        &erspan3(1023, true, &eth(0x86dd, &inner6())),
                    ),
                ),
            ),
            vec![erspan_t(3, 1023)],
        ),
        (
            "ipv6 in ipv4",
            Ethernet,
            eth(0x0800, &outer(41, &inner6())),
            vec![ipip_t(OUTER_SRC, OUTER_DST)],
        ),
        (
            "ipv4 in ipv4",
            Raw,
            outer(4, &inner()),
            vec![ipip_t(OUTER_SRC, OUTER_DST)],
        ),
        (
            "ipv4 in ipv6",
            Ethernet,
            eth(0x86dd, &ip6("2001:db8::1", "2001:db8::2", 4, &inner())),
            vec![ipip_t("2001:db8::1", "2001:db8::2")],
        ),
        (
            "ipv6 in ipv6",
            Ipv6,
            ip6("2001:db8::1", "2001:db8::2", 41, &inner6()),
            vec![ipip_t("2001:db8::1", "2001:db8::2")],
        ),
        (
            "ipv6 extension headers",
            Raw,
            {
                let t = inner6();
                let mut p = t[40..].to_vec();
                p = hbh(TCP, &p);
                p = hbh(60, &p);
                ip6("2001:db8::7", "2001:db8::9", 0, &p)
            },
            vec![],
        ),
        ("linux sll", LinuxSll, sll(0x0800, &inner()), vec![]),
        (
            "linux sll vlan",
            LinuxSll,
            sll(0x8100, &vlan(8, 0x0800, &inner())),
            vec![Tunnel::Vlan { vid: 8 }],
        ),
        ("linux sll2", LinuxSll2, sll2(0x86dd, &inner6()), vec![]),
        (
            "null little-endian AF_INET",
            Null,
            cat(&[&[2, 0, 0, 0], &inner()]),
            vec![],
        ),
        (
            "null big-endian AF_INET6 (macOS)",
            Null,
            cat(&[&[0, 0, 0, 30], &inner6()]),
            vec![],
        ),
        (
            "loop AF_INET6 (OpenBSD)",
            Loop,
            cat(&[&[0, 0, 0, 24], &inner6()]),
            vec![],
        ),
        ("raw ipv4", Raw, inner(), vec![]),
        ("raw ipv6", Raw, inner6(), vec![]),
        ("dlt ipv4", Ipv4, inner(), vec![]),
    ]
}

#[test]
fn each_encapsulation_yields_the_segment_and_its_stack() {
    for (name, link, data, stack) in good_cases() {
        let (out, stats) = run_one(link, data);
        assert_eq!(out.len(), 1, "{name}: {stats:?}");
        let p = &out[0];
        assert_eq!(p.tunnel.as_ref(), stack.as_slice(), "{name}");
        assert_eq!(
            (p.tcp.sport, p.tcp.dport, p.tcp.seq, p.tcp.ack, p.tcp.win),
            (51234, 80, 1000, 2000, 512),
            "{name}"
        );
        assert_eq!(p.tcp.flags.to_string(), "PA", "{name}");
        assert_eq!(p.payload.as_ref(), b"GET / HTTP/1.1\r\n\r\n", "{name}");
        let (src, dst) = if p.ip.v == 4 {
            ("10.1.0.7", "10.1.0.9")
        } else {
            ("2001:db8::7", "2001:db8::9")
        };
        assert_eq!((p.ip.src, p.ip.dst), (ip(src), ip(dst)), "{name}");
        assert!(p.ip.ttl == 64 || p.ip.ttl == 48, "{name}");
        assert_eq!((stats.frames, stats.packets), (1, 1), "{name}");
        assert!(stats.reasons.is_empty(), "{name}: {:?}", stats.reasons);
    }
}

#[test]
fn ethernet_padding_stays_out_of_the_payload() {
    for payload in [&b""[..], b"x", b"abcdef"] {
        let mut f = eth(0x0800, &tcp4("10.0.0.1", "10.0.0.2", 1, 2, payload));
        f.resize(60, 0xee);
        f.extend_from_slice(&[0xee; 4]); // a frame check sequence too
        let (out, _) = run_one(LinkType::Ethernet, f);
        assert_eq!(out[0].payload.as_ref(), payload);
    }
}

#[test]
fn frame_tunnel_is_prepended() {
    let given = [vxlan_t(1)];
    let data = eth(0x8100, &vlan(9, 0x0800, &inner()));
    let mut d = Decapper::new(DecapConfig::default());
    let mut out = vec![];
    let f = FrameIn {
        tunnel: &given,
        ..frame_at(0, LinkType::Ethernet, &data, 0)
    };
    d.push(&f, &mut |p| out.push(own(p)));
    assert_eq!(
        out[0].tunnel.as_ref(),
        &[vxlan_t(1), Tunnel::Vlan { vid: 9 }]
    );
    // The stack is reset between frames.
    let plain = eth(0x0800, &inner());
    d.push(&frame_at(0, LinkType::Ethernet, &plain, 1), &mut |p| {
        out.push(own(p))
    });
    assert!(out[1].tunnel.is_empty());
}

#[test]
fn everything_else_is_counted_by_reason() {
    use LinkType::*;
    let bad_tcp_sum = {
        let mut t = inner();
        let n = t.len() - 1;
        t[n] ^= 0xff;
        t
    };
    let bad_ip_sum = {
        let mut t = inner();
        t[8] = 1; // TTL changed, checksum not updated
        t
    };
    let deep = {
        let mut p = inner();
        for _ in 0..20 {
            p = vlan(1, 0x8100, &p);
        }
        eth(0x8100, &p)
    };
    let cases: Vec<(&str, LinkType, Vec<u8>, bool, &str)> = vec![
        (
            "udp",
            Ethernet,
            eth(0x0800, &ip4("10.0.0.1", "10.0.0.2", UDP, &udp(5, 53, b"q"))),
            false,
            "udp",
        ),
        (
            "icmp",
            Raw,
            ip4("10.0.0.1", "10.0.0.2", 1, &[8, 0, 0, 0]),
            false,
            "icmp",
        ),
        (
            "icmpv6",
            Raw,
            ip6("::1", "::2", 58, &[128, 0, 0, 0]),
            false,
            "icmpv6",
        ),
        (
            "other ip protocol",
            Raw,
            ip4("10.0.0.1", "10.0.0.2", 103, &[0; 4]),
            false,
            "ip_proto_103",
        ),
        ("arp", Ethernet, eth(0x0806, &[0; 28]), false, "arp"),
        ("llc", Ethernet, eth(0x0026, &[0; 38]), false, "llc"),
        (
            "unknown ethertype",
            Ethernet,
            eth(0x1234, &[0; 8]),
            false,
            "ethertype_0x1234",
        ),
        (
            "unsupported link",
            Other(147),
            inner(),
            false,
            "link_unsupported",
        ),
        (
            "short ethernet",
            Ethernet,
            vec![0; 13],
            false,
            "ethernet_truncated",
        ),
        (
            "ipv4 truncated",
            Ethernet,
            eth(0x0800, &inner()[..30]),
            false,
            "ipv4_truncated",
        ),
        (
            "ipv4 bad version",
            Ethernet,
            eth(0x0800, &{
                let mut t = inner();
                t[0] = 0x55;
                t
            }),
            false,
            "ipv4_malformed",
        ),
        (
            "ipv6 truncated",
            Ethernet,
            eth(0x86dd, &inner6()[..50]),
            false,
            "ipv6_truncated",
        ),
        (
            "tcp truncated",
            Raw,
            ip4("10.0.0.1", "10.0.0.2", TCP, &[0; 10]),
            false,
            "tcp_truncated",
        ),
        (
            "vxlan I flag clear",
            Raw,
            outer(
                UDP,
                &udp(1, 4789, &{
                    let mut v = vxlan(1, &eth(0x0800, &inner()));
                    v[0] = 0;
                    v
                }),
            ),
            false,
            "vxlan_malformed",
        ),
        (
            "vxlan truncated",
            Raw,
            outer(UDP, &udp(1, 4789, &[8, 0, 0])),
            false,
            "vxlan_truncated",
        ),
        (
            "geneve bad version",
            Raw,
            outer(
                UDP,
                &udp(1, 6081, &{
                    let mut g = geneve(1, 0x0800, &[], &inner());
                    g[0] = 0x40;
                    g
                }),
            ),
            false,
            "geneve_malformed",
        ),
        (
            "geneve protocol",
            Raw,
            outer(UDP, &udp(1, 6081, &geneve(1, 0x0806, &[], &[0; 28]))),
            false,
            "geneve_protocol_unsupported",
        ),
        (
            "gre version 1",
            Raw,
            outer(GRE, &[0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0]),
            false,
            "gre_malformed",
        ),
        (
            "gre truncated key",
            Raw,
            outer(GRE, &[0x20, 0x00, 0x08, 0x00, 0]),
            false,
            "gre_truncated",
        ),
        (
            "erspan II bad version",
            Raw,
            outer(
                GRE,
                &gre(0x88be, None, Some(1), &[0x20, 0, 0, 0, 0, 0, 0, 0]),
            ),
            false,
            "erspan_malformed",
        ),
        (
            "mpls unknown payload",
            Ethernet,
            eth(0x8847, &mpls(&[1], &[0x90; 20])),
            false,
            "mpls_payload_unknown",
        ),
        ("too many layers", Ethernet, deep, false, "too_many_layers"),
        (
            "tcp checksum verified",
            Raw,
            bad_tcp_sum.clone(),
            true,
            "tcp_bad_checksum",
        ),
        (
            "ipv4 checksum verified",
            Raw,
            bad_ip_sum.clone(),
            true,
            "ipv4_bad_checksum",
        ),
    ];
    for (name, link, data, verify, reason) in cases {
        let cfg = DecapConfig {
            verify_checksums: verify,
            ..DecapConfig::default()
        };
        let (out, stats) = run_frames(cfg, &[(link, data)]);
        assert!(out.is_empty(), "{name}");
        assert_eq!(stats.get(reason), 1, "{name}: {stats:?}");
        let total: u64 = stats.reasons.values().sum::<u64>()
            + stats.ethertypes.values().sum::<u64>()
            + stats.ip_protos.values().sum::<u64>();
        assert_eq!(total, 1, "{name}: exactly one reason: {stats:?}");
    }
    // Without --verify-checksums, bad checksums pass.
    for data in [bad_tcp_sum, bad_ip_sum] {
        assert_eq!(run_one(Raw, data).0.len(), 1);
    }
}

#[test]
fn depth_limit_counts_every_layer() {
    // eth + vlan + ip = 3 layers.
    let f = eth(0x8100, &vlan(1, 0x0800, &inner()));
    for (max_depth, want) in [(2, 0), (3, 1)] {
        let cfg = DecapConfig {
            max_depth,
            ..DecapConfig::default()
        };
        let (out, stats) = run_frames(cfg, &[(LinkType::Ethernet, f.clone())]);
        assert_eq!(out.len(), want, "max_depth {max_depth}");
        assert_eq!(stats.get("too_many_layers"), 1 - want as u64);
    }
}

/// Splits an IP payload into fragments of `size` bytes (the last may be shorter).
fn pieces(payload: &[u8], size: usize) -> Vec<(usize, bool, Vec<u8>)> {
    let chunks: Vec<&[u8]> = payload.chunks(size).collect();
    let n = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| (i * size, i + 1 < n, c.to_vec()))
        .collect()
}

fn v4_frags(ident: u16, order: &[usize]) -> Vec<(LinkType, Vec<u8>)> {
    let seg = tcp4("10.1.0.7", "10.1.0.9", 1, 80, &[b'z'; 100]);
    let p = pieces(&seg[20..], 40);
    order
        .iter()
        .map(|&i| {
            let (off, more, data) = &p[i];
            (
                LinkType::Ethernet,
                eth(
                    0x0800,
                    &ip4_frag("10.1.0.7", "10.1.0.9", TCP, ident, *off, *more, data),
                ),
            )
        })
        .collect()
}

#[test]
fn ipv4_fragments_table() {
    // (name, frames, indices of the frames that completed a datagram, counters)
    let cases: Vec<(&str, Vec<(LinkType, Vec<u8>)>, &[u64], &[(&str, u64)])> = vec![
        (
            "in order",
            v4_frags(1, &[0, 1, 2]),
            &[2],
            &[("frag_reassembled", 1), ("fragments", 3)],
        ),
        (
            "reversed",
            v4_frags(1, &[2, 1, 0]),
            &[2],
            &[("frag_reassembled", 1)],
        ),
        (
            "duplicate middle",
            v4_frags(1, &[0, 1, 1, 2]),
            &[3],
            &[("frag_overlap", 1)],
        ),
        (
            "missing piece",
            v4_frags(1, &[0, 2]),
            &[],
            &[("fragments", 2), ("frag_reassembled", 0)],
        ),
        (
            "two datagrams interleaved",
            {
                let (a, b) = (v4_frags(1, &[0, 1, 2]), v4_frags(2, &[2, 1, 0]));
                a.into_iter().zip(b).flat_map(|(x, y)| [x, y]).collect()
            },
            &[4, 5],
            &[("frag_reassembled", 2)],
        ),
    ];
    for (name, frames, indices, counters) in cases {
        let (out, stats) = run_frames(DecapConfig::default(), &frames);
        let got: Vec<u64> = out.iter().map(|p| p.index).collect();
        assert_eq!(got, indices, "{name}: {stats:?}");
        for p in &out {
            assert_eq!(p.payload.as_ref(), &[b'z'; 100][..], "{name}");
        }
        for (k, n) in counters {
            assert_eq!(stats.get(k), *n, "{name}: {k}: {stats:?}");
        }
    }
}

#[test]
fn ipv4_fragment_timeout_and_limits() {
    // Timeout is on packet time: frames are 1 s apart in run_frames.
    let mut frames = v4_frags(1, &[0, 1]);
    let cfg = DecapConfig {
        frag: FragConfig {
            timeout_secs: 0,
            ..FragConfig::default()
        },
        ..DecapConfig::default()
    };
    frames.extend(v4_frags(1, &[2]));
    let (out, stats) = run_frames(cfg, &frames);
    assert!(out.is_empty());
    assert!(stats.get("frag_timeout") >= 1, "{stats:?}");
    // Table full.
    let cfg = DecapConfig {
        frag: FragConfig {
            max_datagrams: 1,
            ..FragConfig::default()
        },
        ..DecapConfig::default()
    };
    let mut frames = v4_frags(1, &[0]);
    frames.extend(v4_frags(2, &[0, 1, 2]));
    let (out, stats) = run_frames(cfg, &frames);
    assert!(out.is_empty());
    assert_eq!(stats.get("frag_table_full"), 3);
    // A datagram past 65535 bytes.
    let big = ip4_frag("10.0.0.1", "10.0.0.2", TCP, 9, 65528, false, &[0; 64]);
    let (_, stats) = run_one(LinkType::Raw, big);
    assert_eq!(stats.get("frag_too_large"), 1);
    // Pending at the end of input.
    let mut d = Decapper::new(DecapConfig::default());
    for (link, data) in v4_frags(1, &[0]) {
        d.push(&frame_at(0, link, &data, 0), &mut |_| {});
    }
    d.finish();
    assert_eq!(d.stats().get("frag_incomplete"), 1);
}

#[test]
fn ipv6_fragments_inside_vxlan() {
    let seg = tcp6("2001:db8::7", "2001:db8::9", 1, 80, &[b'y'; 90]);
    let frames: Vec<_> = pieces(&seg[40..], 48)
        .into_iter()
        .rev()
        .map(|(off, more, data)| {
            let dst_opts = [TCP, 0, 1, 4, 0, 0, 0, 0];
            // Destination options in the fragmentable part, after the fragment header.
            let body = if off == 0 {
                cat(&[&dst_opts[..], &data])
            } else {
                data
            };
            let off = if off == 0 { 0 } else { off + 8 };
            let v6 = ip6(
                "2001:db8::7",
                "2001:db8::9",
                44,
                &ip6_frag_hdr(60, off, more, 0xabcd, &body),
            );
            (
                LinkType::Ethernet,
                eth(
                    0x0800,
                    &outer(UDP, &udp(1, 4789, &vxlan(3, &eth(0x86dd, &v6)))),
                ),
            )
        })
        .collect();
    let (out, stats) = run_frames(DecapConfig::default(), &frames);
    assert_eq!(out.len(), 1, "{stats:?}");
    assert_eq!(out[0].payload.as_ref(), &[b'y'; 90][..]);
    assert_eq!(out[0].tunnel.as_ref(), &[vxlan_t(3)]);
    assert_eq!(stats.get("frag_reassembled"), 1);
}

#[test]
fn filters_table() {
    let vlan_frame = |vid| {
        (
            LinkType::Ethernet,
            eth(0x8100, &vlan(vid, 0x0800, &inner())),
        )
    };
    let vni_frame = |vni| {
        (
            LinkType::Ethernet,
            eth(
                0x0800,
                &outer(UDP, &udp(1, 4789, &vxlan(vni, &eth(0x0800, &inner())))),
            ),
        )
    };
    let port_frame = |port| {
        (
            LinkType::Raw,
            tcp4("10.1.0.7", "10.1.0.9", 40000, port, b""),
        )
    };
    let ip_frame = |src| (LinkType::Raw, tcp4(src, "172.16.0.9", 40000, 80, b""));
    let f = Filter::default;
    let cases: Vec<(&str, Filter, Vec<(LinkType, Vec<u8>)>, usize, &str)> = vec![
        (
            "vlan keep",
            Filter {
                vlan: vec![10, 11],
                ..f()
            },
            vec![
                vlan_frame(10),
                vlan_frame(11),
                vlan_frame(12),
                (LinkType::Raw, inner()),
            ],
            2,
            "filtered_vlan",
        ),
        (
            "vlan exclude",
            Filter {
                exclude_vlan: vec![10],
                ..f()
            },
            vec![vlan_frame(10), vlan_frame(11), (LinkType::Raw, inner())],
            2,
            "filtered_exclude_vlan",
        ),
        (
            "vni keep",
            Filter {
                vni: vec![5],
                ..f()
            },
            vec![vni_frame(5), vni_frame(6), (LinkType::Raw, inner())],
            1,
            "filtered_vni",
        ),
        (
            "vni exclude",
            Filter {
                exclude_vni: vec![5],
                ..f()
            },
            vec![vni_frame(5), vni_frame(6)],
            1,
            "filtered_exclude_vni",
        ),
        (
            "port either side",
            Filter {
                port: vec![80, 443],
                ..f()
            },
            vec![port_frame(80), port_frame(443), port_frame(8080)],
            2,
            "filtered_port",
        ),
        (
            "ignore ip",
            Filter {
                ignore_ip: vec![
                    "10.1.0.0/16".parse().unwrap(),
                    "192.168.0.1".parse().unwrap(),
                ],
                ..f()
            },
            vec![
                ip_frame("10.1.2.3"),
                ip_frame("192.168.0.1"),
                ip_frame("192.168.0.2"),
            ],
            1,
            "filtered_ip",
        ),
    ];
    for (name, filter, frames, want, reason) in cases {
        let n = frames.len();
        let (out, stats) = run_frames(
            DecapConfig {
                filter,
                ..DecapConfig::default()
            },
            &frames,
        );
        assert_eq!(out.len(), want, "{name}");
        assert_eq!(stats.get(reason), (n - want) as u64, "{name}: {stats:?}");
        assert_eq!(stats.packets, want as u64);
    }
}

#[test]
fn stats_groups_name_every_counter() {
    let (_, stats) = run_frames(
        DecapConfig::default(),
        &[
            (LinkType::Ethernet, eth(0x1234, &[])),
            (LinkType::Raw, ip4("10.0.0.1", "10.0.0.2", 103, &[])),
            (
                LinkType::Raw,
                ip4("10.0.0.1", "10.0.0.2", UDP, &udp(1, 2, &[])),
            ),
            (LinkType::Ethernet, vec![0; 3]),
        ],
    );
    assert_eq!(
        stats.group(ReasonGroup::Skipped),
        vec![
            ("ethertype_0x1234".to_string(), 1),
            ("ip_proto_103".to_string(), 1),
            ("udp".to_string(), 1)
        ]
    );
    assert_eq!(
        stats.group(ReasonGroup::Malformed),
        vec![("ethernet_truncated".to_string(), 1)]
    );
    assert_eq!(ReasonGroup::of("frag_overlap"), ReasonGroup::Fragments);
    assert_eq!(ReasonGroup::of("filtered_vni"), ReasonGroup::Filtered);
    assert_eq!(ReasonGroup::of("tcp_bad_checksum"), ReasonGroup::Malformed);
    assert_eq!(stats.bytes, 14 + 20 + 20 + 8 + 3);
}

/// Every truncation and many single-byte mutations of every valid frame:
/// no panic, and every frame ends as a packet or a counted reason.
#[test]
fn robustness_truncations_and_mutations() {
    let mut frames = good_cases();
    for (off, more, data) in pieces(&tcp4("10.1.0.7", "10.1.0.9", 1, 80, &[1; 64])[20..], 32) {
        frames.push((
            "fragment",
            LinkType::Raw,
            ip4_frag("10.1.0.7", "10.1.0.9", TCP, 5, off, more, &data),
            vec![],
        ));
    }
    let cfgs = [
        DecapConfig::default(),
        DecapConfig {
            verify_checksums: true,
            max_depth: 6,
            ..DecapConfig::default()
        },
    ];
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for cfg in cfgs {
        let mut d = Decapper::new(cfg);
        let mut emitted = 0u64;
        let mut pushed = 0u64;
        let mut push = |d: &mut Decapper, link: LinkType, data: &[u8]| {
            d.push(&frame_at(pushed as i64, link, data, pushed), &mut |p| {
                emitted += 1;
                assert!(p.payload.len() <= data.len());
            });
            pushed += 1;
        };
        for (_, link, data, _) in &frames {
            for n in 0..data.len() {
                push(&mut d, *link, &data[..n]);
            }
            for i in 0..data.len() {
                for v in [
                    0x00,
                    0xff,
                    data[i] ^ 0x01,
                    data[i] ^ 0x80,
                    data[i].wrapping_add(1),
                    data[i] ^ 0x10,
                ] {
                    let mut m = data.clone();
                    m[i] = v;
                    push(&mut d, *link, &m);
                }
            }
            for _ in 0..200 {
                let mut m = data.clone();
                for _ in 0..1 + next() % 4 {
                    let i = (next() as usize) % m.len();
                    m[i] = next() as u8;
                }
                push(&mut d, *link, &m);
            }
        }
        d.finish();
        let s = d.stats();
        assert_eq!(s.packets, emitted);
        assert_eq!(s.frames, pushed);
    }
}
