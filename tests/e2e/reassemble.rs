//! tw-reassemble end to end: packet records built here, the real binary, exact output.

use std::borrow::Cow;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::record::{IpInfo, Packet, Record, TcpFlags, TcpInfo, Ts};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_tw-reassemble");

fn pkt(ms: u32, from_client: bool, seq: u32, ack: u32, flags: u8, data: &[u8]) -> Packet<'static> {
    let c = ("10.1.0.7".parse().unwrap(), 51234);
    let s = ("10.1.0.9".parse().unwrap(), 80);
    let ((src, sport), (dst, dport)) = if from_client { (c, s) } else { (s, c) };
    Packet {
        ts: Ts::from_micros(1_714_564_800, ms * 1000),
        src: "eth0".into(),
        index: u64::from(ms),
        tunnel: Cow::Owned(vec![]),
        ip: IpInfo {
            v: 4,
            src,
            dst,
            ttl: 64,
        },
        tcp: TcpInfo {
            sport,
            dport,
            seq,
            ack,
            flags: TcpFlags(flags),
            win: 502,
        },
        payload: Cow::Owned(data.to_vec()),
    }
}

fn line(p: Packet<'static>) -> String {
    serde_json::to_string(&Record::Packet(p)).unwrap()
}

fn run(input: &str, args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tw-reassemble");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn records(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const SYN: u8 = TcpFlags::SYN;
const SA: u8 = TcpFlags::SYN | TcpFlags::ACK;
const A: u8 = TcpFlags::ACK;
const PA: u8 = TcpFlags::PSH | TcpFlags::ACK;
const FA: u8 = TcpFlags::FIN | TcpFlags::ACK;

#[test]
fn handshake_reorder_loss_and_pass_through() {
    // Request in two segments delivered out of order; the response loses its
    // middle segment; an unknown record type sits in the middle of the input.
    let input = [
        line(pkt(1, true, 100, 0, SYN, b"")),
        line(pkt(2, false, 900, 101, SA, b"")),
        line(pkt(3, true, 101, 901, A, b"")),
        line(pkt(5, true, 105, 901, PA, b"/ HTTP/1.1\r\n\r\n")),
        r#"{"type":"note","text":"kept as is"}"#.to_string(),
        line(pkt(6, true, 101, 901, PA, b"GET ")),
        line(pkt(7, false, 901, 119, PA, b"HTTP/1.1 200 OK\r\n")),
        // 901+17 = 918: bytes 918..928 lost; then 928.
        line(pkt(9, false, 928, 119, PA, b"hello")),
        line(pkt(10, true, 119, 933, FA, b"")),
        line(pkt(11, false, 933, 120, FA, b"")),
    ]
    .join("\n");
    let out = run(&input, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = records(&out);
    let flow = recs[1]["flow"].as_str().unwrap().to_string();
    assert!(flow.starts_with('C') && flow.len() == 17, "{flow}");
    let b64 = |s: &[u8]| common::record::b64::encode(s);
    let want = vec![
        json!({"type":"note","text":"kept as is"}),
        json!({"type":"conn","event":"open","ts":"2024-05-01T12:00:00.001000Z","flow":flow,
               "community_id": common::reassemble::community_id(
                   "10.1.0.7".parse().unwrap(), 51234, "10.1.0.9".parse().unwrap(), 80, 6, 0),
               "client":"10.1.0.7:51234","server":"10.1.0.9:80","tunnel":[],"midstream":false}),
        json!({"type":"data","ts":"2024-05-01T12:00:00.006000Z","flow":flow,"dir":"c2s","off":0,
               "data_b64": b64(b"GET ")}),
        json!({"type":"data","ts":"2024-05-01T12:00:00.006000Z","flow":flow,"dir":"c2s","off":4,
               "data_b64": b64(b"/ HTTP/1.1\r\n\r\n")}),
        json!({"type":"data","ts":"2024-05-01T12:00:00.007000Z","flow":flow,"dir":"s2c","off":0,
               "data_b64": b64(b"HTTP/1.1 200 OK\r\n")}),
        // Both FINs seen but a hole remains: at end of input (before the ACK
        // grace ran out on packet time) the hole becomes a gap, reason fin.
        json!({"type":"gap","ts":"2024-05-01T12:00:00.011000Z","flow":flow,"dir":"s2c","off":17,"len":10}),
        json!({"type":"data","ts":"2024-05-01T12:00:00.011000Z","flow":flow,"dir":"s2c","off":27,
               "data_b64": b64(b"hello")}),
        json!({"type":"conn","event":"close","ts":"2024-05-01T12:00:00.011000Z","flow":flow,
               "reason":"fin","bytes_c2s":18,"bytes_s2c":22}),
    ];
    assert_eq!(recs, want);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("9 packets, 1 flows"), "{err}");
    assert!(err.contains("1 gaps"), "{err}");
}

#[test]
fn garbage_line_is_named_and_strict_fails() {
    let input = [
        line(pkt(1, true, 100, 0, SYN, b"")),
        "{not json".to_string(),
        r#"{"type":"packet","ts":"bad"}"#.to_string(),
        line(pkt(2, true, 101, 0, PA, b"x")),
    ]
    .join("\n");
    let out = run(&input, &[]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tw-reassemble: warn: -: line 2: not a JSON object"),
        "{err}"
    );
    assert!(err.contains("line 3: bad packet record"), "{err}");
    let recs = records(&out);
    assert_eq!(recs.len(), 3, "open, data, close: {recs:?}");
    assert_eq!(recs[1]["data_b64"], "eA==");

    let out = run(&input, &["--strict"]);
    assert_eq!(out.status.code(), Some(3));
}

/// Promotion: handed a raw capture or `frame` records, tw-reassemble decaps
/// them itself, with the same result as the explicit pipeline.
#[test]
fn raw_capture_and_frames_are_promoted_through_decap() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let pcap = root.join("testdata/plain-ethernet/input.pcap");
    let direct = Command::new(BIN).arg("-r").arg(&pcap).output().unwrap();
    assert!(
        direct.status.success(),
        "{}",
        String::from_utf8_lossy(&direct.stderr)
    );
    let recs = records(&direct);
    let types: Vec<&str> = recs.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"conn"));
    assert_eq!(types.last(), Some(&"conn"));
    assert!(types.contains(&"data"), "{types:?}");
    let stderr = String::from_utf8_lossy(&direct.stderr);
    assert!(
        stderr.contains("tw-reassemble: decap: 14 frames, 14 packets"),
        "{stderr}"
    );

    let decap = Command::new(env!("CARGO_BIN_EXE_tw-decap"))
        .arg("-r")
        .arg(&pcap)
        .output()
        .unwrap();
    let piped = run(&String::from_utf8(decap.stdout).unwrap(), &[]);
    assert_eq!(
        records(&piped),
        recs,
        "promotion differs from tw-decap | tw-reassemble"
    );

    let capture = Command::new(env!("CARGO_BIN_EXE_tw-capture"))
        .arg("-r")
        .arg(&pcap)
        .output()
        .unwrap();
    let from_frames = run(&String::from_utf8(capture.stdout).unwrap(), &[]);
    assert_eq!(
        records(&from_frames),
        recs,
        "frame records differ from the raw capture"
    );
}

#[test]
fn midstream_pickup_keeps_a_reordered_first_segment() {
    // A keep-alive connection picked up mid-stream: the mirror delivers the
    // request's second segment before its first, then the response.
    let input = [
        line(pkt(1, true, 5017, 7000, PA, b"Host: a\r\n\r\n")),
        line(pkt(2, true, 5000, 7000, PA, b"GET /x HTTP/1.1\r\n")),
        line(pkt(
            3,
            false,
            7000,
            5028,
            PA,
            b"HTTP/1.1 204 No Content\r\n\r\n",
        )),
    ]
    .join("\n");
    let out = run(&input, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = records(&out);
    let data: Vec<(String, u64, String)> = recs
        .iter()
        .filter(|r| r["type"] == "data")
        .map(|r| {
            let bytes = common::record::b64::decode(r["data_b64"].as_str().unwrap()).unwrap();
            (
                r["dir"].as_str().unwrap().to_string(),
                r["off"].as_u64().unwrap(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        })
        .collect();
    let want = [
        ("c2s", 0, "GET /x HTTP/1.1\r\n"),
        ("c2s", 17, "Host: a\r\n\r\n"),
        ("s2c", 0, "HTTP/1.1 204 No Content\r\n\r\n"),
    ];
    let want: Vec<(String, u64, String)> = want
        .iter()
        .map(|&(d, o, s)| (d.to_string(), o, s.to_string()))
        .collect();
    assert_eq!(data, want);
    assert_eq!(recs[0]["midstream"], true);
    assert_eq!(recs[0]["client"], "10.1.0.7:51234");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("midstream starts rewound 1"),
        "summary: {stderr}"
    );
}
