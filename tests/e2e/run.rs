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
