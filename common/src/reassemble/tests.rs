//! Reassembler tests: a small DSL for TCP scenarios, table cases, and a
//! property test against a naive oracle (as smoltcp does).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::record::{IpInfo, TcpInfo};

// ---------------------------------------------------------------- the DSL

const C: bool = true;
const S: bool = false;

/// A TCP conversation under construction: each step appends a packet (or
/// rearranges the last ones) the way a mirror would deliver them.
struct Sc {
    pkts: Vec<Packet<'static>>,
    held: Vec<Packet<'static>>,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    cseq: u32,
    sseq: u32,
    micros: i64,
    tunnel: Vec<Tunnel>,
}

fn scenario() -> Sc {
    Sc {
        pkts: vec![],
        held: vec![],
        client: ("10.0.0.1".parse().unwrap(), 40000),
        server: ("10.0.0.2".parse().unwrap(), 80),
        cseq: 1000,
        sseq: 5000,
        micros: 0,
        tunnel: vec![],
    }
}

fn flags(s: &str) -> TcpFlags {
    serde_json::from_value(serde_json::Value::String(s.into())).unwrap()
}

impl Sc {
    fn ports(mut self, c: u16, s: u16) -> Sc {
        self.client.1 = c;
        self.server.1 = s;
        self
    }
    fn isn(mut self, c: u32, s: u32) -> Sc {
        self.cseq = c;
        self.sseq = s;
        self
    }
    fn tunnel(mut self, t: Vec<Tunnel>) -> Sc {
        self.tunnel = t;
        self
    }
    fn wait_ms(mut self, ms: i64) -> Sc {
        self.micros += ms * 1000;
        self
    }
    /// A segment with explicit fields; does not move the sequence counters.
    fn raw(mut self, from_client: bool, seq: u32, ack: u32, fl: &str, data: &[u8]) -> Sc {
        self.micros += 1000;
        let ((sip, sp), (dip, dp)) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        self.pkts.push(Packet {
            ts: Ts::from_micros(
                1_700_000_000 + self.micros / 1_000_000,
                (self.micros % 1_000_000) as u32,
            ),
            src: "test".into(),
            index: self.pkts.len() as u64,
            tunnel: Cow::Owned(self.tunnel.clone()),
            ip: IpInfo {
                v: if sip.is_ipv4() { 4 } else { 6 },
                src: sip,
                dst: dip,
                ttl: 64,
            },
            tcp: TcpInfo {
                sport: sp,
                dport: dp,
                seq,
                ack,
                flags: flags(fl),
                win: 1000,
            },
            payload: Cow::Owned(data.to_vec()),
        });
        self
    }
    fn seg(mut self, from_client: bool, fl: &str, data: &[u8]) -> Sc {
        let (seq, ack) = if from_client {
            (self.cseq, self.sseq)
        } else {
            (self.sseq, self.cseq)
        };
        let consumed = data.len() as u32 + u32::from(fl.contains('S') || fl.contains('F'));
        if from_client {
            self.cseq = self.cseq.wrapping_add(consumed);
        } else {
            self.sseq = self.sseq.wrapping_add(consumed);
        }
        self.raw(from_client, seq, ack, fl, data)
    }
    fn syn(self) -> Sc {
        self.seg(C, "S", b"")
    }
    fn synack(self) -> Sc {
        self.seg(S, "SA", b"")
    }
    fn ack(self) -> Sc {
        self.seg(C, "A", b"")
    }
    fn c2s(self, data: &[u8]) -> Sc {
        self.seg(C, "PA", data)
    }
    fn s2c(self, data: &[u8]) -> Sc {
        self.seg(S, "PA", data)
    }
    fn fin_c(self) -> Sc {
        self.seg(C, "FA", b"")
    }
    fn fin_s(self) -> Sc {
        self.seg(S, "FA", b"")
    }
    fn rst_c(self) -> Sc {
        self.seg(C, "R", b"")
    }
    /// The last packet never reaches us.
    fn drop(mut self) -> Sc {
        self.pkts.pop();
        self
    }
    /// The last packet arrives twice (two mirror sessions).
    fn dup(mut self) -> Sc {
        if let Some(p) = self.pkts.last().cloned() {
            self.pkts.push(p);
        }
        self
    }
    /// The last packet is held back until `release`.
    fn hold(mut self) -> Sc {
        if let Some(p) = self.pkts.pop() {
            self.held.push(p);
        }
        self
    }
    fn release(mut self) -> Sc {
        self.pkts.append(&mut self.held);
        self
    }
    fn run(&self, cfg: ReassemblyConfig) -> (Vec<String>, Stats) {
        run_packets(&self.pkts, cfg)
    }
    fn lines(&self) -> Vec<String> {
        self.run(ReassemblyConfig::default()).0
    }
}

/// Renders records compactly: `open C..:.. S..:.. mid`, `data c2s 0 "GET /"`,
/// `gap s2c 5 3`, `close fin 5 10`; flow ids as `#n` by first appearance.
fn render(recs: &[serde_json::Value]) -> Vec<String> {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = vec![];
    for r in recs {
        let flow = r["flow"].as_str().unwrap_or("").to_string();
        let n = ids.len();
        let id = *ids.entry(flow).or_insert(n);
        let line = match (r["type"].as_str().unwrap(), r["event"].as_str()) {
            ("conn", Some("open")) => format!(
                "#{id} open {} -> {}{}",
                r["client"].as_str().unwrap(),
                r["server"].as_str().unwrap(),
                if r["midstream"] == true { " mid" } else { "" }
            ),
            ("conn", _) => format!(
                "#{id} close {} {} {}",
                r["reason"].as_str().unwrap(),
                r["bytes_c2s"],
                r["bytes_s2c"]
            ),
            ("data", _) => {
                let bytes = b64::decode(r["data_b64"].as_str().unwrap()).unwrap();
                format!(
                    "#{id} data {} {} {:?}",
                    r["dir"].as_str().unwrap(),
                    r["off"],
                    String::from_utf8_lossy(&bytes)
                )
            }
            ("gap", _) => format!(
                "#{id} gap {} {} {}",
                r["dir"].as_str().unwrap(),
                r["off"],
                r["len"]
            ),
            (t, _) => format!("#{id} {t}"),
        };
        out.push(line);
    }
    out
}

use crate::record::b64;

fn run_raw(pkts: &[Packet<'_>], cfg: ReassemblyConfig) -> (Vec<serde_json::Value>, Stats) {
    let mut r = Reassembler::new(cfg);
    let mut recs = vec![];
    for p in pkts {
        r.push(p, &mut |rec| recs.push(serde_json::to_value(&rec).unwrap()));
    }
    r.finish(&mut |rec| recs.push(serde_json::to_value(&rec).unwrap()));
    assert_eq!(r.flows(), 0);
    assert_eq!(r.buffered(), 0);
    check_contiguous(&recs);
    (recs, r.stats().clone())
}

fn run_packets(pkts: &[Packet<'_>], cfg: ReassemblyConfig) -> (Vec<String>, Stats) {
    let (recs, stats) = run_raw(pkts, cfg);
    (render(&recs), stats)
}

/// Invariants of any output: per flow, one open first and one close last;
/// per direction, data and gap records tile the stream from offset 0.
fn check_contiguous(recs: &[serde_json::Value]) {
    let mut pos: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut state: BTreeMap<String, u8> = BTreeMap::new();
    for r in recs {
        let flow = r["flow"].as_str().unwrap().to_string();
        let st = state.entry(flow.clone()).or_insert(0);
        match (r["type"].as_str().unwrap(), r["event"].as_str()) {
            ("conn", Some("open")) => {
                assert_eq!(*st, 0, "open twice or late: {r}");
                *st = 1;
            }
            ("conn", _) => {
                assert_eq!(*st, 1, "close without open: {r}");
                *st = 2;
                for dir in ["c2s", "s2c"] {
                    let len = pos.get(&(flow.clone(), dir.into())).copied().unwrap_or(0);
                    let _ = len;
                }
            }
            (t @ ("data" | "gap"), _) => {
                assert_eq!(*st, 1, "{t} outside open/close: {r}");
                let key = (flow, r["dir"].as_str().unwrap().to_string());
                let p = pos.entry(key).or_insert(0);
                assert_eq!(r["off"].as_u64().unwrap(), *p, "not contiguous: {r}");
                let len = if t == "data" {
                    b64::decode(r["data_b64"].as_str().unwrap()).unwrap().len() as u64
                } else {
                    r["len"].as_u64().unwrap()
                };
                assert!(len > 0, "empty record: {r}");
                *p += len;
            }
            _ => panic!("unexpected record {r}"),
        }
    }
    assert!(state.values().all(|&s| s == 2), "flow left open");
}

// ---------------------------------------------------------------- table cases

#[test]
fn scenarios() {
    let open = "#0 open 10.0.0.1:40000 -> 10.0.0.2:80";
    let cases: Vec<(&str, Sc, Vec<String>)> = vec![
        (
            "handshake, request, response, FINs",
            scenario()
                .syn()
                .synack()
                .ack()
                .c2s(b"GET /")
                .s2c(b"HTTP/1.1 200")
                .fin_c()
                .fin_s(),
            vec![
                open.into(),
                r#"#0 data c2s 0 "GET /""#.into(),
                r#"#0 data s2c 0 "HTTP/1.1 200""#.into(),
                "#0 close fin 5 12".into(),
            ],
        ),
        (
            "reordered segments wait for the hole",
            scenario()
                .syn()
                .synack()
                .c2s(b"AAA")
                .hold()
                .c2s(b"BBB")
                .release(),
            vec![
                open.into(),
                r#"#0 data c2s 0 "AAA""#.into(),
                r#"#0 data c2s 3 "BBB""#.into(),
                "#0 close eof 6 0".into(),
            ],
        ),
        (
            "lost segment becomes a gap at the end of input",
            scenario()
                .syn()
                .synack()
                .c2s(b"AAA")
                .c2s(b"BB")
                .drop()
                .c2s(b"C"),
            vec![
                open.into(),
                r#"#0 data c2s 0 "AAA""#.into(),
                "#0 gap c2s 3 2".into(),
                r#"#0 data c2s 5 "C""#.into(),
                "#0 close eof 4 0".into(),
            ],
        ),
        (
            "hole older than the gap timeout gives way while the flow goes on",
            scenario()
                .syn()
                .synack()
                .c2s(b"AAA")
                .c2s(b"BB")
                .drop()
                .c2s(b"C")
                .wait_ms(2000)
                .s2c(b"x"),
            vec![
                open.into(),
                r#"#0 data c2s 0 "AAA""#.into(),
                "#0 gap c2s 3 2".into(),
                r#"#0 data c2s 5 "C""#.into(),
                r#"#0 data s2c 0 "x""#.into(),
                "#0 close eof 4 1".into(),
            ],
        ),
        (
            "peer ACK past the hole gives it up after the grace",
            scenario()
                .syn()
                .synack()
                .c2s(b"AAA")
                .c2s(b"BB")
                .drop()
                .c2s(b"C")
                .seg(S, "A", b"")
                .wait_ms(100)
                .s2c(b"y"),
            vec![
                open.into(),
                r#"#0 data c2s 0 "AAA""#.into(),
                "#0 gap c2s 3 2".into(),
                r#"#0 data c2s 5 "C""#.into(),
                r#"#0 data s2c 0 "y""#.into(),
                "#0 close eof 4 1".into(),
            ],
        ),
        (
            "duplicate copy dropped, retransmission trimmed",
            scenario()
                .syn()
                .synack()
                .c2s(b"AAA")
                .dup()
                .raw(C, 1001, 5001, "PA", b"AAAB"),
            vec![
                open.into(),
                r#"#0 data c2s 0 "AAA""#.into(),
                r#"#0 data c2s 3 "B""#.into(),
                "#0 close eof 4 0".into(),
            ],
        ),
        (
            "RST closes; late packets ignored; a new SYN is a new flow",
            scenario()
                .syn()
                .synack()
                .c2s(b"hi")
                .rst_c()
                .s2c(b"late")
                .isn(9000, 7000)
                .syn()
                .synack()
                .c2s(b"again"),
            vec![
                open.into(),
                r#"#0 data c2s 0 "hi""#.into(),
                "#0 close rst 2 0".into(),
                "#1 open 10.0.0.1:40000 -> 10.0.0.2:80".into(),
                r#"#1 data c2s 0 "again""#.into(),
                "#1 close eof 5 0".into(),
            ],
        ),
        (
            "SYN with a new ISN on a finished tuple starts a new flow",
            scenario()
                .syn()
                .synack()
                .c2s(b"a")
                .fin_c()
                .isn(77, 88)
                .syn()
                .synack()
                .c2s(b"b"),
            vec![
                open.into(),
                r#"#0 data c2s 0 "a""#.into(),
                "#0 close fin 1 0".into(),
                "#1 open 10.0.0.1:40000 -> 10.0.0.2:80".into(),
                r#"#1 data c2s 0 "b""#.into(),
                "#1 close eof 1 0".into(),
            ],
        ),
        (
            "FIN before the last data: closes once the data is in",
            scenario()
                .syn()
                .synack()
                .c2s(b"last")
                .hold()
                .fin_c()
                .fin_s()
                .release(),
            vec![
                open.into(),
                r#"#0 data c2s 0 "last""#.into(),
                "#0 close fin 4 0".into(),
            ],
        ),
        (
            "FIN with data lost before it: trailing gap",
            scenario()
                .syn()
                .synack()
                .c2s(b"ab")
                .c2s(b"cd")
                .drop()
                .fin_c()
                .fin_s(),
            vec![
                open.into(),
                r#"#0 data c2s 0 "ab""#.into(),
                "#0 gap c2s 2 2".into(),
                "#0 close fin 2 0".into(),
            ],
        ),
        (
            "SYN only: open and close, nothing else",
            scenario().syn(),
            vec![open.into(), "#0 close eof 0 0".into()],
        ),
    ];
    for (name, sc, want) in cases {
        assert_eq!(sc.lines(), want, "{name}");
    }
}

#[test]
fn synack_picks_among_syns_with_different_isns() {
    // Suricata's bug-7657: 23 SYNs with random ISNs on one tuple, then the
    // real one; the SYN-ACK acknowledges the last. The client stream must
    // follow the answered SYN, not the first.
    let mut sc = scenario();
    for isn in [111_111u32, 222_222, 333_333] {
        sc = sc.raw(C, isn, 0, "S", b"");
    }
    let (lines, stats) = sc
        .syn()
        .synack()
        .ack()
        .c2s(b"GET /")
        .s2c(b"HTTP/1.1 200")
        .fin_c()
        .fin_s()
        .run(ReassemblyConfig::default());
    assert_eq!(
        lines,
        vec![
            "#0 open 10.0.0.1:40000 -> 10.0.0.2:80".to_string(),
            r#"#0 data c2s 0 "GET /""#.into(),
            r#"#0 data s2c 0 "HTTP/1.1 200""#.into(),
            "#0 close fin 5 12".into(),
        ]
    );
    assert_eq!((stats.syn_mismatch, stats.syn_rebased), (3, 1));
}

#[test]
fn isn_wraparound() {
    // ISNs just below 2^32: data crosses the wrap, out of order.
    let sc = scenario()
        .isn(u32::MAX - 3, u32::MAX)
        .syn()
        .synack()
        .c2s(b"0123")
        .hold()
        .c2s(b"4567")
        .c2s(b"89")
        .release()
        .s2c(b"response")
        .fin_c()
        .fin_s();
    assert_eq!(
        sc.lines(),
        vec![
            "#0 open 10.0.0.1:40000 -> 10.0.0.2:80",
            r#"#0 data c2s 0 "0123""#,
            // The two waiting segments were contiguous: kept as one piece.
            r#"#0 data c2s 4 "456789""#,
            r#"#0 data s2c 0 "response""#,
            "#0 close fin 10 8",
        ]
    );
}

#[test]
fn midstream_roles_by_port_then_content() {
    // No handshake, server port 80: port heuristic, midstream.
    let sc = scenario().s2c(b"HTTP/1.1 200 OK").c2s(b"GET /next");
    assert_eq!(
        sc.lines(),
        vec![
            "#0 open 10.0.0.1:40000 -> 10.0.0.2:80 mid",
            r#"#0 data s2c 0 "HTTP/1.1 200 OK""#,
            r#"#0 data c2s 0 "GET /next""#,
            "#0 close eof 9 15",
        ]
    );
    // Both ports ephemeral: the port guess (lower port = server) says 40000
    // is the server; the request line says it is the client.
    let sc = scenario().ports(40000, 50000).c2s(b"GET / HTTP/1.1");
    assert_eq!(
        sc.lines(),
        vec![
            "#0 open 10.0.0.1:40000 -> 10.0.0.2:50000 mid",
            r#"#0 data c2s 0 "GET / HTTP/1.1""#,
            "#0 close eof 14 0",
        ]
    );
    let sc = scenario().ports(40000, 50000).s2c(b"HTTP/1.1 204");
    assert_eq!(
        sc.lines()[0],
        "#0 open 10.0.0.1:40000 -> 10.0.0.2:50000 mid"
    );
    // Handshake beats content: a client that answers with a status line stays client.
    let sc = scenario().syn().synack().c2s(b"HTTP/1.1 200");
    assert_eq!(sc.lines()[0], "#0 open 10.0.0.1:40000 -> 10.0.0.2:80");
}

#[test]
fn overlaps_first_and_last_wins() {
    // Offsets 2..6 "XXXX" then 4..8 "YYYY" (differs at 4..6), then 0..2 "ab".
    let sc = scenario()
        .syn()
        .synack()
        .raw(C, 1003, 5001, "PA", b"XXXX")
        .raw(C, 1005, 5001, "PA", b"YYYY")
        .raw(C, 1001, 5001, "PA", b"ab");
    let stream = |lines: &[String]| -> String {
        lines
            .iter()
            .filter_map(|l| l.split_once(" data c2s ").map(|(_, d)| d.to_string()))
            .map(|d| d.split_once(' ').unwrap().1.trim_matches('"').to_string())
            .collect()
    };
    let (first, st) = sc.run(ReassemblyConfig::default());
    assert_eq!(stream(&first), "abXXXXYY");
    assert_eq!((st.overlaps, st.overlaps_differing), (1, 1));
    let last = ReassemblyConfig {
        overlap: OverlapPolicy::Last,
        ..ReassemblyConfig::default()
    };
    let (lines, st) = sc.run(last);
    assert_eq!(stream(&lines), "abXXYYYY");
    assert_eq!(st.overlaps_differing, 1);
    // Same bytes overlapping: an overlap, not a differing one.
    let sc = scenario()
        .syn()
        .synack()
        .raw(C, 1003, 5001, "PA", b"cdef")
        .raw(C, 1005, 5001, "PA", b"efgh")
        .raw(C, 1001, 5001, "PA", b"ab");
    let (lines, st) = sc.run(ReassemblyConfig::default());
    assert_eq!(stream(&lines), "abcdefgh");
    assert_eq!((st.overlaps, st.overlaps_differing), (1, 0));
}

#[test]
fn vlans_separate_flows_and_mirror_copies_are_dropped_once() {
    let vlan = |vid| vec![Tunnel::Vlan { vid }];
    let mut a = scenario().tunnel(vlan(10)).syn().synack().c2s(b"one");
    let b = scenario().tunnel(vlan(20)).syn().synack().c2s(b"two");
    a.pkts.extend(b.pkts);
    let (lines, st) = a.run(ReassemblyConfig::default());
    assert_eq!(st.flows, 2);
    assert!(
        lines.contains(&r#"#0 data c2s 0 "one""#.to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&r#"#1 data c2s 0 "two""#.to_string()),
        "{lines:?}"
    );
    // With VLANs not tracked, the same packets are one flow.
    let none = ReassemblyConfig {
        track: TrackSet::parse("none").unwrap(),
        ..ReassemblyConfig::default()
    };
    assert_eq!(a.run(none).1.flows, 1);

    // The same segment through two VXLAN mirror sources (same VNI, different
    // outer addresses): one copy kept, one counted.
    let via = |src: &str| {
        vec![Tunnel::Vxlan {
            vni: 5,
            outer_src: src.parse().unwrap(),
            outer_dst: "192.0.2.100".parse().unwrap(),
        }]
    };
    let sc = scenario().syn().synack().c2s(b"payload");
    let mut pkts = vec![];
    for p in &sc.pkts {
        for src in ["192.0.2.1", "192.0.2.2"] {
            let mut q = p.clone();
            q.tunnel = Cow::Owned(via(src));
            pkts.push(q);
        }
    }
    let (lines, st) = run_packets(&pkts, ReassemblyConfig::default());
    assert_eq!(st.flows, 1);
    assert_eq!(st.duplicates, 1);
    assert_eq!(lines[1], r#"#0 data c2s 0 "payload""#);
    // Tracking endpoints keeps the two sources apart instead.
    let ends = ReassemblyConfig {
        track: TrackSet::parse("vni,endpoints").unwrap(),
        ..ReassemblyConfig::default()
    };
    let (_, st) = run_packets(&pkts, ends);
    assert_eq!((st.flows, st.duplicates), (2, 0));
}

#[test]
fn caps_evict_and_force_gaps() {
    // Flow cap 2: the third flow evicts the least recently active one.
    let mut pkts = vec![];
    for port in [40001, 40002, 40003] {
        pkts.extend(scenario().ports(port, 80).syn().c2s(b"x").pkts);
    }
    let cfg = ReassemblyConfig {
        max_flows: 2,
        ..ReassemblyConfig::default()
    };
    let (lines, st) = run_packets(&pkts, cfg);
    assert_eq!((st.flows, st.evicted, st.peak_flows), (3, 1, 2));
    assert_eq!(lines[4], "#0 close evicted 1 0", "{lines:?}");

    // Total buffer cap: the older buffering flow is evicted (flushed with a gap).
    let ooo = |port| {
        scenario()
            .ports(port, 80)
            .syn()
            .c2s(&[b'a'; 100])
            .drop()
            .c2s(&[b'b'; 100])
            .pkts
    };
    let mut pkts = ooo(40001);
    pkts.extend(ooo(40002));
    let cfg = ReassemblyConfig {
        max_buffered: 200,
        ..ReassemblyConfig::default()
    };
    let (lines, st) = run_packets(&pkts, cfg.clone());
    assert_eq!(st.evicted, 1);
    assert_eq!(
        &lines[..3],
        &[
            "#0 open 10.0.0.1:40001 -> 10.0.0.2:80",
            "#0 gap c2s 0 100",
            &format!("#0 data c2s 100 {:?}", "b".repeat(100))
        ]
    );
    assert_eq!(lines[3], "#0 close evicted 100 0");
    // Alone and over the total cap: the segment is dropped and counted.
    let cfg = ReassemblyConfig {
        max_buffered: 100,
        ..cfg
    };
    let (_, st) = run_packets(&ooo(40001), cfg);
    assert_eq!(st.dropped_cap, 1);

    // Per-direction cap: the hole is given up instead of growing.
    let cfg = ReassemblyConfig {
        max_ooo: 300,
        ..ReassemblyConfig::default()
    };
    let sc = scenario()
        .syn()
        .c2s(b"lost")
        .drop()
        .c2s(&[b'1'; 150])
        .c2s(&[b'2'; 150]);
    let (lines, st) = sc.run(cfg);
    assert_eq!(st.forced_gaps, 1);
    assert_eq!(lines[1], "#0 gap c2s 0 4");
}

#[test]
fn idle_timeout_on_packet_time() {
    let mut pkts = scenario().syn().synack().c2s(b"a").pkts;
    let later = scenario().ports(40001, 80).wait_ms(301_000).syn();
    pkts.extend(later.pkts);
    let recs = run_raw(&pkts, ReassemblyConfig::default()).0;
    let close = &recs[2];
    assert_eq!(close["reason"], "timeout");
    // Closed at last packet + 300 s, not at the time the next packet came.
    assert_eq!(close["ts"], "2023-11-14T22:18:20.003000Z");
}

#[test]
fn ids_are_deterministic_and_community_id_is_set() {
    let sc = scenario().syn().synack().c2s(b"x");
    let a = run_raw(&sc.pkts, ReassemblyConfig::default()).0;
    let b = run_raw(&sc.pkts, ReassemblyConfig::default()).0;
    assert_eq!(a, b);
    let id = a[0]["flow"].as_str().unwrap();
    assert!(id.starts_with('C') && id.len() == 17, "{id}");
    let want = community_id(
        "10.0.0.1".parse().unwrap(),
        40000,
        "10.0.0.2".parse().unwrap(),
        80,
        6,
        0,
    );
    assert_eq!(a[0]["community_id"], want.as_str());
}

#[test]
fn midstream_start_waits_for_reordered_early_segments() {
    let mid = "#0 open 10.0.0.1:40000 -> 10.0.0.2:80 mid";
    let cases: Vec<(&str, Sc, Vec<&str>)> = vec![
        (
            // The mirror delivers the second segment first; the first still
            // counts, and the request goes out before the response.
            "first two segments swapped",
            scenario()
                .c2s(b"GET /a ")
                .hold()
                .c2s(b"HTTP/1.1\r\n")
                .release()
                .s2c(b"HTTP/1.1 200 OK"),
            vec![
                mid,
                r#"#0 data c2s 0 "GET /a ""#,
                r#"#0 data c2s 7 "HTTP/1.1\r\n""#,
                r#"#0 data s2c 0 "HTTP/1.1 200 OK""#,
                "#0 close eof 17 15",
            ],
        ),
        (
            // The server ACKed 1000 before the first client byte seen (1010):
            // ten bytes of the stream were never seen. A leading gap says so.
            "peer's ACK reveals missing leading bytes",
            scenario()
                .seg(S, "A", b"")
                .raw(C, 1010, 5000, "PA", b"rest")
                .s2c(b"HTTP/1.1 200 OK"),
            vec![
                mid,
                r#"#0 data s2c 0 "HTTP/1.1 200 OK""#,
                "#0 gap c2s 0 10",
                r#"#0 data c2s 10 "rest""#,
                "#0 close eof 4 15",
            ],
        ),
        (
            "... and the leading bytes come late: no gap",
            scenario()
                .seg(S, "A", b"")
                .raw(C, 1004, 5000, "PA", b"/x HTTP/1.1")
                .raw(C, 1000, 5000, "PA", b"GET "),
            vec![
                mid,
                r#"#0 data c2s 0 "GET ""#,
                r#"#0 data c2s 4 "/x HTTP/1.1""#,
                "#0 close eof 15 0",
            ],
        ),
        (
            // The peer's ACK equal to the first seq seen: the start is certain,
            // nothing is held.
            "peer's ACK confirms the start",
            scenario().seg(S, "A", b"").c2s(b"GET /"),
            vec![mid, r#"#0 data c2s 0 "GET /""#, "#0 close eof 5 0"],
        ),
        (
            "a late SYN makes a held start a handshake flow",
            scenario().syn().hold().c2s(b"GET /").release().synack(),
            vec![
                "#0 open 10.0.0.1:40000 -> 10.0.0.2:80",
                r#"#0 data c2s 0 "GET /""#,
                "#0 close eof 5 0",
            ],
        ),
        (
            // (Contiguous held segments are kept, and leave, as one piece.)
            "a held start that never sees earlier bytes starts where it was",
            scenario()
                .raw(C, 1000, 0, "P", b"abc")
                .raw(C, 1003, 0, "P", b"def"),
            vec![mid, r#"#0 data c2s 0 "abcdef""#, "#0 close eof 6 0"],
        ),
        (
            // FIN seen before the last data of a held start.
            "midstream FIN before reordered data",
            scenario()
                .raw(C, 1003, 5000, "FA", b"")
                .raw(C, 1000, 5000, "PA", b"abc")
                .raw(S, 5000, 1004, "FA", b""),
            vec![mid, r#"#0 data c2s 0 "abc""#, "#0 close fin 3 0"],
        ),
    ];
    for (name, sc, want) in cases {
        assert_eq!(sc.lines(), want, "{name}");
    }
}

/// The records written while each packet was pushed, one list per packet.
fn per_push(pkts: &[Packet<'_>], cfg: ReassemblyConfig) -> Vec<Vec<serde_json::Value>> {
    let mut r = Reassembler::new(cfg);
    pkts.iter()
        .map(|p| {
            let mut recs = vec![];
            r.push(p, &mut |rec| recs.push(serde_json::to_value(&rec).unwrap()));
            recs
        })
        .collect()
}

#[test]
fn held_start_latency_is_bounded() {
    // Handshake flows are never held: each data record leaves with its packet.
    let sc = scenario()
        .syn()
        .synack()
        .ack()
        .c2s(b"GET /")
        .s2c(b"HTTP/1.1 200");
    let got = per_push(&sc.pkts, ReassemblyConfig::default());
    assert_eq!(got[3].len(), 2, "open + data at once: {:?}", got[3]);
    assert_eq!(got[4].len(), 1);

    // A mid-stream start is held for `start_hold` of packet time ...
    let sc = scenario()
        .raw(C, 1000, 0, "P", b"a")
        .wait_ms(20)
        .raw(C, 1001, 0, "P", b"b")
        .wait_ms(40)
        .raw(C, 1002, 0, "P", b"c");
    let got = per_push(&sc.pkts, ReassemblyConfig::default());
    assert!(got[0].is_empty() && got[1].is_empty(), "{got:?}");
    // ... then goes out stamped with the moment it became final.
    let at = &got[2];
    assert_eq!(at.len(), 3, "{at:?}");
    assert_eq!(at[1]["ts"], "2023-11-14T22:13:20.051000Z");
    assert_eq!(
        (&at[1]["off"], &at[1]["data_b64"]),
        (&0.into(), &"YWI=".into())
    );
    assert_eq!(at[2]["off"], 2, "in order after the start: at once");
    assert_eq!(at[2]["ts"], "2023-11-14T22:13:20.063000Z");

    // ... or for `start_segments` segments, whichever comes first.
    let mut sc = scenario();
    for i in 0..8u32 {
        sc = sc.raw(C, 1000 + i, 0, "P", b"x");
    }
    let got = per_push(&sc.pkts, ReassemblyConfig::default());
    assert!(got[..7].iter().all(Vec::is_empty), "{got:?}");
    assert_eq!(got[7].len(), 2, "open + the 8 segments as one piece");
    assert_eq!(got[7][1]["data_b64"], "eHh4eHh4eHg=");

    // The hold counts in the stats.
    let (_, st) = scenario()
        .c2s(b"b")
        .hold()
        .c2s(b"c")
        .release()
        .run(ReassemblyConfig::default());
    assert_eq!(
        (st.start_rewound, st.retransmitted, st.midstream),
        (1, 0, 1)
    );
}

// ---------------------------------------------------------------- oracle

/// The byte at `off` of a direction's stream: distinct per direction and offset.
fn byte(dir: usize, off: u64) -> u8 {
    (off.wrapping_mul(31) ^ (off >> 7) ^ (dir as u64 * 0x55)) as u8
}

/// One planned segment: size, what the mirror does to it, arrival key.
type Plan = Vec<(usize, u8, u16)>;

fn plan() -> impl Strategy<Value = Plan> {
    prop::collection::vec((1usize..400, 0u8..12, any::<u16>()), 0..24)
}

fn isn() -> impl Strategy<Value = u32> {
    prop_oneof![any::<u32>(), (u32::MAX - 3000)..=u32::MAX]
}

/// A segment to send: arrival key, from the client, sequence number, bytes.
type Arrival = (u16, bool, u32, Vec<u8>);

/// Builds the packets of one direction; returns them with their arrival keys
/// and the byte ranges that were delivered at least once.
fn direction(dir: usize, isn: u32, plan: &Plan, seen: &mut Vec<(u64, u64)>) -> (Vec<Arrival>, u64) {
    let mut out = vec![];
    let mut off = 0u64;
    let total: u64 = plan.iter().map(|p| p.0 as u64).sum();
    for &(len, action, key) in plan {
        let bytes: Vec<u8> = (off..off + len as u64).map(|o| byte(dir, o)).collect();
        let seq = isn.wrapping_add(1).wrapping_add(off as u32);
        match action {
            0 | 1 => {} // lost
            2 => {
                out.push((key, dir == 0, seq, bytes.clone()));
                out.push((key.wrapping_add(7), dir == 0, seq, bytes));
                seen.push((off, off + len as u64));
            }
            3 | 4 => {
                // Re-segmented retransmission: an overlapping range, same bytes.
                let a = off.saturating_sub(len as u64 / 2);
                let b = (off + len as u64 + 50).min(total);
                let bytes: Vec<u8> = (a..b).map(|o| byte(dir, o)).collect();
                out.push((
                    key,
                    dir == 0,
                    isn.wrapping_add(1).wrapping_add(a as u32),
                    bytes,
                ));
                seen.push((a, b));
            }
            _ => {
                out.push((key, dir == 0, seq, bytes));
                seen.push((off, off + len as u64));
            }
        }
        off += len as u64;
    }
    (out, total)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random loss, duplication, overlap and reordering of two random streams:
    /// every byte seen comes out exactly once, at its offset, and gaps cover
    /// exactly the bytes never seen.
    #[test]
    fn matches_oracle(
        c_plan in plan(), s_plan in plan(), c_isn in isn(), s_isn in isn(),
        last in any::<bool>(),
    ) {
        let mut seen = [vec![], vec![]];
        let (mut segs, c_len) = direction(0, c_isn, &c_plan, &mut seen[0]);
        let (s_segs, s_len) = direction(1, s_isn, &s_plan, &mut seen[1]);
        segs.extend(s_segs);
        segs.sort_by_key(|s| s.0);
        let mut sc = scenario().isn(c_isn, s_isn).syn().synack();
        for (_, from_client, seq, bytes) in &segs {
            sc = sc.raw(*from_client, *seq, 0, "P", bytes);
        }
        sc = sc
            .raw(C, c_isn.wrapping_add(1).wrapping_add(c_len as u32), 0, "F", b"")
            .raw(S, s_isn.wrapping_add(1).wrapping_add(s_len as u32), 0, "F", b"");
        let cfg = ReassemblyConfig {
            overlap: if last { OverlapPolicy::Last } else { OverlapPolicy::First },
            gap_timeout: Duration::from_secs(3600),
            ..ReassemblyConfig::default()
        };
        let (recs, stats) = run_raw(&sc.pkts, cfg);
        prop_assert_eq!(stats.overlaps_differing, 0);
        for (dir, name, len) in [(0usize, "c2s", c_len), (1, "s2c", s_len)] {
            let mut covered = vec![false; len as usize];
            let mut end = 0u64;
            for r in recs.iter().filter(|r| r["dir"] == name) {
                let off = r["off"].as_u64().unwrap();
                if r["type"] == "data" {
                    let data = b64::decode(r["data_b64"].as_str().unwrap()).unwrap();
                    for (i, &b) in data.iter().enumerate() {
                        let o = off + i as u64;
                        prop_assert_eq!(b, byte(dir, o), "byte {} of {}", o, name);
                        covered[o as usize] = true;
                    }
                    end = off + data.len() as u64;
                } else {
                    end = off + r["len"].as_u64().unwrap();
                }
            }
            prop_assert_eq!(end, len, "{} ends at the FIN", name);
            let mut want = vec![false; len as usize];
            for &(a, b) in &seen[dir] {
                for w in want.iter_mut().take(b as usize).skip(a as usize) {
                    *w = true;
                }
            }
            prop_assert_eq!(covered, want, "{}: data exactly where seen", name);
        }
        let close = recs.last().unwrap();
        prop_assert_eq!(close["reason"].as_str(), Some("fin"));
    }

    /// Arbitrary segments on a few tuples with tiny caps: no panic, caps hold,
    /// and the output still tiles every stream.
    #[test]
    fn arbitrary_segments_keep_invariants(
        segs in prop::collection::vec(
            (0u8..4, any::<bool>(), 0u32..3000, 0u8..32, 0usize..300, 0u32..2000),
            0..80,
        ),
    ) {
        let cfg = ReassemblyConfig {
            max_flows: 3,
            max_ooo: 1000,
            max_buffered: 1500,
            window: 4000,
            gap_timeout: Duration::from_millis(30),
            idle_timeout: Duration::from_millis(200),
            closed_linger: Duration::from_millis(50),
            ..ReassemblyConfig::default()
        };
        let mut r = Reassembler::new(cfg);
        let mut recs = vec![];
        let mut sc = scenario();
        for (port, from_client, seq, fl, len, wait) in segs {
            sc = sc.ports(40000 + u16::from(port), 80).wait_ms(i64::from(wait % 50));
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            sc = sc.raw(from_client, seq, seq / 2, &TcpFlags(fl & 0x1f).to_string(), &data);
            let pkt = sc.pkts.last().unwrap().clone();
            r.push(&pkt, &mut |rec| recs.push(serde_json::to_value(&rec).unwrap()));
            prop_assert!(r.flows() <= 3);
            prop_assert!(r.buffered() <= 1500);
        }
        r.finish(&mut |rec| recs.push(serde_json::to_value(&rec).unwrap()));
        prop_assert_eq!(r.flows(), 0);
        check_contiguous(&recs);
    }
}

/// One arrival: the stream range it covers (start, end), its seq and bytes.
type Covering = (u64, u64, u32, Vec<u8>);

/// Arrivals of one direction's planned segments in a random order, and the
/// direction's length.
fn shuffled(dir: usize, isn: u32, plan: &Plan) -> (Vec<Covering>, u64) {
    let mut seen = vec![];
    let (mut arr, total) = direction(dir, isn, plan, &mut seen);
    arr.sort_by_key(|a| a.0);
    let out = arr
        .into_iter()
        .map(|(_, _, seq, bytes)| {
            let a = u64::from(seq.wrapping_sub(isn.wrapping_add(1)));
            (a, a + bytes.len() as u64, seq, bytes)
        })
        .collect();
    (out, total)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Mid-stream pickups (no handshake) with random loss, duplication,
    /// overlap and reordering, including at the very start. Offset 0 is the
    /// peer's ACK when one was seen first (`hint`: bytes before the first
    /// segment are then a leading gap unless they come), else the lowest
    /// segment among the first `k` (the start hold); every byte from there
    /// that was seen comes out once, at its offset, and gaps cover the rest.
    #[test]
    fn matches_oracle_midstream(
        c_plan in plan(), s_plan in plan(), c_isn in isn(), s_isn in isn(),
        k in 1u32..10, hints in any::<[bool; 2]>(), back in any::<[u16; 2]>(),
    ) {
        let dirs = [shuffled(0, c_isn, &c_plan), shuffled(1, s_isn, &s_plan)];
        let isns = [c_isn, s_isn];
        let mut sc = scenario().isn(c_isn, s_isn);
        let mut base = [0u64; 2];
        for (d, (arr, total)) in dirs.iter().enumerate() {
            let first = arr.first().map_or(*total, |a| a.0);
            base[d] = if hints[d] {
                // The peer ACKs a little before the first byte to come.
                let h = first.saturating_sub(u64::from(back[d]) % (first + 1));
                let ack = isns[d].wrapping_add(1).wrapping_add(h as u32);
                sc = sc.raw(d == 1, isns[1 - d], ack, "A", b"");
                h
            } else {
                arr.iter().take(k as usize).map(|a| a.0).min().unwrap_or(*total)
            };
        }
        // All of one direction, then all of the other, each in random order.
        for (d, (arr, _)) in dirs.iter().enumerate() {
            for (_, _, seq, bytes) in arr {
                sc = sc.raw(d == 0, *seq, 0, "P", bytes);
            }
        }
        for (d, (_, total)) in dirs.iter().enumerate() {
            let fin = isns[d].wrapping_add(1).wrapping_add(*total as u32);
            sc = sc.raw(d == 0, fin, 0, "F", b"");
        }
        let cfg = ReassemblyConfig {
            gap_timeout: Duration::from_secs(3600),
            start_hold: Duration::from_secs(3600),
            start_segments: k,
            dedup_window: Duration::ZERO,
            ..ReassemblyConfig::default()
        };
        let (recs, stats) = run_raw(&sc.pkts, cfg);
        prop_assert_eq!(stats.overlaps_differing, 0);
        // Roles come from the ports here (port 80 is the server).
        for (d, name) in [(0usize, "c2s"), (1, "s2c")] {
            let (arr, total) = &dirs[d];
            let len = total - base[d];
            let mut covered = vec![false; len as usize];
            let mut end = 0u64;
            for r in recs.iter().filter(|r| r["dir"] == name) {
                let off = r["off"].as_u64().unwrap();
                if r["type"] == "data" {
                    let data = b64::decode(r["data_b64"].as_str().unwrap()).unwrap();
                    for (i, &b) in data.iter().enumerate() {
                        let o = off + i as u64;
                        prop_assert_eq!(b, byte(d, base[d] + o), "byte {} of {}", o, name);
                        covered[o as usize] = true;
                    }
                    end = off + data.len() as u64;
                } else {
                    end = off + r["len"].as_u64().unwrap();
                }
            }
            prop_assert_eq!(end, len, "{} ends at the FIN", name);
            let mut want = vec![false; len as usize];
            for &(a, b, _, _) in arr {
                for o in a.max(base[d])..b {
                    want[(o - base[d]) as usize] = true;
                }
            }
            prop_assert_eq!(covered, want, "{}: data exactly where seen", name);
        }
        let close = recs.last().unwrap();
        prop_assert_eq!(close["reason"].as_str(), Some("fin"));
    }
}

#[test]
fn the_duplicate_filter_holds_copies_within_its_window_either_way() {
    use crate::time::Ts;
    let at = |ns: i128| {
        Ts::from_nanos(
            i64::try_from(ns.div_euclid(1_000_000_000)).unwrap(),
            u32::try_from(ns.rem_euclid(1_000_000_000)).unwrap(),
        )
    };
    let sc = scenario().syn().synack().c2s(b"payload");
    let data = sc.pkts.last().unwrap().clone();
    let shifted = |ns: i64| {
        let mut q = data.clone();
        q.ts = at(q.ts.as_nanos() + i128::from(ns));
        q
    };
    // (copies after the segment, by nanoseconds from it; duplicates counted)
    let cases: &[(&[i64], u64)] = &[
        (&[0], 1),
        (&[5_000_000], 1),
        (&[20_000_000], 1),
        (&[20_000_001], 0),
        // A copy stamped earlier than the segment (a mirror's clock).
        (&[-3_000_000], 1),
        (&[-30_000_000], 0),
        (&[1_000, 2_000, 3_000], 3),
    ];
    for (copies, want) in cases {
        let mut pkts = sc.pkts.clone();
        pkts.extend(copies.iter().map(|&ns| shifted(ns)));
        let (lines, st) = run_packets(&pkts, ReassemblyConfig::default());
        assert_eq!(st.duplicates, *want, "{copies:?}");
        assert_eq!(lines[1], r#"#0 data c2s 0 "payload""#, "{copies:?}");
    }
    // Another payload at the same place is not a copy.
    let mut other = data.clone();
    other.payload = Cow::Owned(b"PAYLOAD".to_vec());
    let mut pkts = sc.pkts.clone();
    pkts.push(other);
    assert_eq!(
        run_packets(&pkts, ReassemblyConfig::default()).1.duplicates,
        0
    );
    // Times the filter cannot hold (beyond 2262) pass it unfiltered.
    let mut far = sc.pkts.clone();
    for p in &mut far {
        p.ts = at(p.ts.as_nanos() + i128::from(i64::MAX));
    }
    far.push(far.last().unwrap().clone());
    assert_eq!(
        run_packets(&far, ReassemblyConfig::default()).1.duplicates,
        0
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    /// The ACK gate (`Stream::peer_ack_matters`) skips only ACKs that
    /// `on_peer_ack` would take without changing the stream, the counters or
    /// emitting: streams with and without a start, held or not, ACKs near the
    /// next byte and anywhere, windows small and huge.
    #[test]
    fn skipped_peer_acks_change_nothing(
        base in proptest::option::of(any::<u32>()),
        next in prop_oneof![0u64..4000, any::<u32>().prop_map(u64::from)],
        acked_ahead in -3000i64..6000,
        held in any::<bool>(),
        hint in proptest::option::of(any::<u32>()),
        near in any::<bool>(),
        delta in -3000i64..6000,
        far in any::<u32>(),
        window in prop_oneof![0u64..8000, Just(u64::MAX >> 1), any::<u64>()],
    ) {
        let mut st = stream::Stream::default();
        st.base = base.map(SeqNum);
        st.next = next;
        st.peer_acked = next.saturating_add_signed(acked_ahead);
        st.hold = held.then_some(stream::Hold { since: Ts::new(5, 0, 6), segs: 1 });
        st.hint = hint.map(SeqNum);
        let ack = match (near, base) {
            (true, Some(b)) => SeqNum(b.wrapping_add(next as u32).wrapping_add(delta as u32)),
            _ => SeqNum(far),
        };
        if !st.peer_ack_matters(ack, window) {
            let snap = |s: &stream::Stream| {
                (
                    s.base.map(|b| b.0),
                    s.next,
                    s.peer_acked,
                    s.peer_ack_ts,
                    s.hold.map(|h| (h.since, h.segs)),
                    s.hint.map(|h| h.0),
                    s.buffered,
                    s.deadline,
                    s.data_bytes,
                    s.fin_off,
                )
            };
            let before = snap(&st);
            let mut stats = Stats::default();
            let mut events = 0;
            st.on_peer_ack(ack, Ts::new(9, 0, 6), window, &mut stats, &mut |_| events += 1);
            prop_assert_eq!(snap(&st), before);
            prop_assert_eq!(stats, Stats::default());
            prop_assert_eq!(events, 0);
        }
    }
}
