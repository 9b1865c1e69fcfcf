//! `tapwatch run`: the whole chain in one process. Its output at any thread
//! count is the stage binaries' output (the golden files), record for record.

use std::path::{Path, PathBuf};
use std::process::Command;

const TAPWATCH: &str = env!("CARGO_BIN_EXE_tapwatch");

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

fn input(dir: &Path) -> Option<PathBuf> {
    ["input.pcap", "input.pcapng"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// Every golden case, at four levels, at 1, 2 and 3 threads: equal to the
/// stage's golden output byte for byte (the sharded merge reproduces the
/// single-threaded order, timeouts included).
#[test]
fn output_equals_the_stage_goldens_at_any_thread_count() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(testdata())
        .expect("testdata")
        .flatten()
        .map(|e| e.path())
        .filter(|p| input(p).is_some())
        .collect();
    cases.sort();
    assert!(cases.len() >= 40, "expected the generated cases");
    let mut failed = vec![];
    for dir in &cases {
        let pcap = input(dir).expect("input");
        for (until, golden) in [
            ("conn", "reassemble.ndjson"),
            ("http", "http.ndjson"),
            ("attack", "detect.ndjson"),
            ("endpoint", "discover.ndjson"),
        ] {
            let want = std::fs::read(dir.join(golden)).expect("golden");
            for threads in ["1", "2", "3"] {
                let out = Command::new(TAPWATCH)
                    .args(["run", "-q", "--until", until, "--threads", threads, "-r"])
                    .arg(&pcap)
                    .output()
                    .expect("run tapwatch");
                if !out.status.success() || out.stdout != want {
                    failed.push(format!(
                        "{} --until {until} --threads {threads} (exit {:?})",
                        dir.display(),
                        out.status.code()
                    ));
                }
            }
        }
    }
    assert!(
        failed.is_empty(),
        "differs from the goldens:\n{}",
        failed.join("\n")
    );
}

/// Many flows whose holes and idle timeouts fire at the same packets, spread
/// over workers: the merge must still order them as one thread does.
#[test]
fn timeouts_across_workers_merge_in_single_thread_order() {
    let dir = std::env::temp_dir().join(format!("tw-run-timeouts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let pcap = dir.join("timeouts.pcap");
    write_timeouts_capture(&pcap);
    let run = |threads: &str| {
        let out = Command::new(TAPWATCH)
            .args([
                "run",
                "-q",
                "--until",
                "conn",
                "--idle-timeout",
                "2s",
                "--threads",
                threads,
                "-r",
            ])
            .arg(&pcap)
            .output()
            .expect("run tapwatch");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let one = run("1");
    let text = String::from_utf8_lossy(&one);
    assert!(
        text.contains("\"timeout\""),
        "the capture must make idle timeouts: {text}"
    );
    assert!(
        text.contains("\"type\":\"gap\""),
        "the capture must make gaps: {text}"
    );
    for threads in ["2", "3", "4"] {
        assert!(
            run(threads) == one,
            "--threads {threads} differs from one thread"
        );
    }
    if std::env::var_os("KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// 40 connections: each sends a request with a hole in it, then goes quiet;
/// one last connection a minute later makes every hole and idle timeout fire
/// at the same packet.
fn write_timeouts_capture(path: &Path) {
    use common::record::LinkType;
    use common::synth::{write_pcap, Frame, ACK, PSH, SYN};
    use common::time::Ts;
    const T0: i64 = 1_700_000_000;
    let mut frames = vec![];
    let mut add = |us: u32,
                   src: [u8; 4],
                   dst: [u8; 4],
                   ports: (u16, u16),
                   seq: u32,
                   flags: u8,
                   body: &[u8]| {
        let f = Frame::new()
            .ipv4(src, dst)
            .tcp(ports.0, ports.1, seq, 0, flags)
            .payload(body)
            .build();
        frames.push((Ts::from_micros(T0, us), f));
    };
    let server = [10, 9, 0, 1];
    for i in 0..40u16 {
        let client = [10, 0, 0, i as u8 + 1];
        let us = u32::from(i) * 1000;
        let port = 40000 + i;
        add(us, client, server, (port, 80), 100, SYN, b"");
        add(us + 10, server, client, (80, port), 500, SYN | ACK, b"");
        add(us + 20, client, server, (port, 80), 101, ACK, b"");
        add(
            us + 30,
            client,
            server,
            (port, 80),
            101,
            PSH | ACK,
            b"GET /a HTTP/1.1\r\n",
        );
        // Bytes 118..130 never arrive: a hole.
        add(
            us + 40,
            client,
            server,
            (port, 80),
            130,
            PSH | ACK,
            b"Host: x\r\n\r\n",
        );
    }
    let mut late = Frame::new()
        .ipv4([10, 1, 1, 1], server)
        .tcp(50000, 80, 1, 0, SYN)
        .build();
    frames.push((Ts::from_micros(T0 + 60, 0), std::mem::take(&mut late)));
    write_pcap(path, LinkType::Raw, &frames).expect("write capture");
}

/// `--user`: the live node opens its capture as root, then runs as `nobody`
/// with no capability in any thread — and still captures traffic made after
/// the switch (a real client and server on loopback).
#[test]
fn live_node_drops_privileges_and_keeps_capturing() {
    use std::io::{Read, Write};
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !root {
        eprintln!("SKIP live --user: needs root");
        return;
    }
    let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = server.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in server.incoming().flatten() {
            let mut conn = conn;
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    let child = Command::new(TAPWATCH)
        .args(["run", "-q", "-i", "lo", "-f", &format!("tcp port {port}")])
        .args([
            "--user",
            "nobody",
            "--threads",
            "2",
            "--duration",
            "4",
            "--until",
            "http",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tapwatch");
    let pid = child.id();
    // Wait until the switch happened, then look at every thread.
    let status = |task: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/task/{task}/status")).unwrap_or_default()
    };
    let mut switched = false;
    for _ in 0..100 {
        if status(&pid.to_string())
            .lines()
            .any(|l| l.starts_with("Uid:") && l.contains("65534"))
        {
            switched = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    let tasks: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut unprivileged = vec![];
    for t in &tasks {
        let s = status(t);
        let field = |name: &str| {
            s.lines()
                .find(|l| l.starts_with(name))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        unprivileged.push((t.clone(), field("Uid:"), field("CapEff:"), field("CapPrm:")));
    }
    // Traffic after the switch.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    c.write_all(b"GET /after-the-switch HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("send");
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(switched, "never switched to nobody: {stderr}");
    assert!(!unprivileged.is_empty());
    for (t, uid, eff, prm) in &unprivileged {
        assert_eq!(uid, "65534 65534 65534 65534", "thread {t}");
        assert_eq!(eff, "0000000000000000", "thread {t}");
        assert_eq!(prm, "0000000000000000", "thread {t}");
    }
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("/after-the-switch"),
        "the transaction made after the switch was not captured: {stdout}\n{stderr}"
    );
}
