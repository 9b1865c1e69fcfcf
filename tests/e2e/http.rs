//! tw-http-parse on NDJSON conn/data/gap streams built here: exact records,
//! pass-through, bad lines named by number, captures promoted.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::record::b64;

const BIN: &str = env!("CARGO_BIN_EXE_tw-http-parse");

fn run(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tw-http-parse");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn open(flow: &str, client: &str) -> String {
    format!(
        r#"{{"type":"conn","event":"open","ts":"2024-05-01T12:00:00.000000Z","flow":"{flow}","community_id":"1:xyz","client":"{client}","server":"10.1.0.9:80","tunnel":[{{"kind":"vlan","vid":42}}],"midstream":false}}"#
    )
}

fn data(flow: &str, ms: u32, dir: &str, off: u64, bytes: &[u8]) -> String {
    format!(
        r#"{{"type":"data","ts":"2024-05-01T12:00:00.{:06}Z","flow":"{flow}","dir":"{dir}","off":{off},"data_b64":"{}"}}"#,
        ms * 1000,
        b64::encode(bytes)
    )
}

fn gap(flow: &str, ms: u32, dir: &str, off: u64, len: u64) -> String {
    format!(
        r#"{{"type":"gap","ts":"2024-05-01T12:00:00.{:06}Z","flow":"{flow}","dir":"{dir}","off":{off},"len":{len}}}"#,
        ms * 1000
    )
}

fn close(flow: &str) -> String {
    format!(
        r#"{{"type":"conn","event":"close","ts":"2024-05-01T12:00:01.000000Z","flow":"{flow}","reason":"fin","bytes_c2s":1,"bytes_s2c":1}}"#
    )
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn keep_alive_pass_through_and_exact_records() {
    let req1 = b"GET /a?b=1 HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n";
    let resp1 = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world!";
    let req2 = b"POST /login HTTP/1.1\r\nHost: app\r\nContent-Length: 7\r\n\r\nuser=me";
    let input = [
        open("F1", "10.0.0.2:51234"),
        data("F1", 1, "c2s", 0, req1),
        r#"{"type":"custom","keep":[1,2]}"#.to_string(),
        data("F1", 2, "s2c", 0, resp1),
        data("F1", 3, "c2s", req1.len() as u64, req2),
        close("F1"),
    ]
    .join("\n");
    let out = run(&["--trusted-proxy", "10.0.0.0/8"], &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = lines(&out);
    let want = [
        r#"{"type":"custom","keep":[1,2]}"#.to_string(),
        concat!(
            r#"{"type":"http","ts":"2024-05-01T12:00:00.001000Z","ts_end":"2024-05-01T12:00:00.002000Z","flow":"F1","community_id":"1:xyz","seq":0,"#,
            r#""client":"10.0.0.2:51234","server":"10.1.0.9:80","real_ip":"203.0.113.9","tunnel":[{"kind":"vlan","vid":42}],"#,
            r#""request":{"method":"GET","uri":"/a?b=1","version":"HTTP/1.1","headers":[["Host","app"],["X-Forwarded-For","203.0.113.9"]],"body_len":0,"body_b64":"","truncated":false},"#,
            r#""response":{"status":200,"reason":"OK","version":"HTTP/1.1","headers":[["Content-Length","12"]],"body_len":12,"body_b64":"aGVsbG8gd29ybGQh","truncated":false},"#,
            r#""anomalies":[]}"#
        )
        .to_string(),
        concat!(
            r#"{"type":"http","ts":"2024-05-01T12:00:00.003000Z","ts_end":"2024-05-01T12:00:00.003000Z","flow":"F1","community_id":"1:xyz","seq":1,"#,
            r#""client":"10.0.0.2:51234","server":"10.1.0.9:80","real_ip":"10.0.0.2","tunnel":[{"kind":"vlan","vid":42}],"#,
            r#""request":{"method":"POST","uri":"/login","version":"HTTP/1.1","headers":[["Host","app"],["Content-Length","7"]],"body_len":7,"body_b64":"dXNlcj1tZQ==","truncated":false},"#,
            r#""anomalies":[]}"#
        )
        .to_string(),
    ];
    assert_eq!(got, want);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 transactions, 1 paired, 1 unpaired requests, 0 unpaired responses"),
        "{err}"
    );
}

#[test]
fn gap_resync_and_flows_flushed_in_open_order() {
    let body_start = b"POST /up HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789";
    let next = b"xxxxxxxxxx\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n";
    let input = [
        open("B", "10.0.0.3:1"),
        open("A", "10.0.0.4:2"),
        data("B", 1, "c2s", 0, b"GET /b HTTP/1.1\r\n\r\n"),
        data("A", 2, "c2s", 0, body_start),
        gap("A", 3, "c2s", body_start.len() as u64, 200),
        data("A", 4, "c2s", body_start.len() as u64 + 200, next),
        data(
            "A",
            5,
            "s2c",
            0,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ),
    ]
    .join("\n");
    let out = run(&[], &input);
    assert!(out.status.success());
    let got: Vec<serde_json::Value> = lines(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let brief: Vec<String> = got
        .iter()
        .map(|h| {
            format!(
                "{} {} {} {} {}",
                h["flow"].as_str().unwrap(),
                h["seq"],
                h["request"]["uri"].as_str().unwrap_or("-"),
                h["response"]["status"],
                h["anomalies"]
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            // A's first transaction completes with its response (the gap
            // truncated the body); the rest is flushed at end of input,
            // connections in the order they were opened.
            r#"A 0 /up 200 ["gap_in_request_body"]"#,
            "B 0 /b null []",
            "A 1 /after null []",
        ]
    );
    assert_eq!(got[0]["request"]["truncated"], true);
    assert_eq!(got[0]["request"]["body_len"], 10);
}

#[test]
fn bad_lines_are_named_and_strict_fails() {
    let input = [
        open("F", "10.0.0.2:1"),
        "not json".into(),
        r#"{"type":"data","flow":1}"#.into(),
    ]
    .join("\n");
    let out = run(&[], &input);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-: line 2: not a JSON object"), "{err}");
    assert!(err.contains("bad input: json 1, stream 1"), "{err}");
    let out = run(&["--strict", "-q"], &input);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
}

/// Promotion: handed a capture (or packets, or frames), tw-http-parse runs
/// decap and reassembly itself and gives the same transactions as the pipeline.
#[test]
fn captures_are_promoted_through_decap_and_reassembly() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let pcap = root.join("testdata/sample/input.pcap");
    let direct = Command::new(BIN).arg("-r").arg(&pcap).output().unwrap();
    let err = String::from_utf8_lossy(&direct.stderr);
    assert!(direct.status.success(), "{err}");
    assert!(
        err.contains("tw-http-parse: decap: 672 frames, 672 packets"),
        "{err}"
    );
    assert!(
        err.contains("tw-http-parse: 93 transactions, 93 paired"),
        "{err}"
    );
    let http = lines(&direct);
    assert_eq!(http.len(), 93);

    let decap = Command::new(env!("CARGO_BIN_EXE_tw-decap"))
        .arg("-r")
        .arg(&pcap)
        .output()
        .unwrap();
    let from_packets = run(&[], &String::from_utf8(decap.stdout).unwrap());
    assert_eq!(
        lines(&from_packets),
        http,
        "packets in: differs from the capture"
    );
}
