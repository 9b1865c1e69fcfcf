//! Faults around the pipeline, with real parts (export.rs covers a receiver
//! that is down, then up, and a SIGKILL while it is down): a receiver that
//! comes up late and then drops or refuses requests it already read, a
//! SIGKILL in the middle of delivery, a full disk under the file sink, and
//! every stage's stdout closed early.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::export::{eventually, free_port, tmpdir, wait_bounded};

const EXPORT: &str = env!("CARGO_BIN_EXE_tw-export");
const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample/input.pcap");

/// What the receiver does with the POST it has just read (numbered from 0).
#[derive(Clone, Copy)]
enum Answer {
    Ok,
    /// Read the whole request, then close without answering.
    HangUp,
    Status503,
    /// Answer 200 after a pause.
    Slow(Duration),
}

/// A webhook receiver on loopback that starts listening after `delay` and
/// answers POST number n with `plan(n)`; it keeps every record it read.
struct Receiver {
    records: Arc<Mutex<Vec<Value>>>,
    posts: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    fn start(
        port: u16,
        delay: Duration,
        plan: impl Fn(usize) -> Answer + Send + 'static,
    ) -> Receiver {
        let records = Arc::new(Mutex::new(vec![]));
        let posts = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, p, s) = (records.clone(), posts.clone(), stop.clone());
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
            listener.set_nonblocking(true).unwrap();
            while !s.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                let mut rd = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                let mut len = 0usize;
                loop {
                    line.clear();
                    if rd.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let l = line.trim_end().to_ascii_lowercase();
                    if l.is_empty() {
                        break;
                    }
                    if let Some(v) = l.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                if rd.read_exact(&mut body).is_err() {
                    continue;
                }
                let batch: Vec<Value> = serde_json::from_slice(&body).expect("JSON array");
                r.lock().unwrap().extend(batch);
                let n = p.fetch_add(1, Ordering::SeqCst);
                let mut w = stream;
                match plan(n) {
                    Answer::HangUp => {}
                    Answer::Status503 => {
                        let _ = w.write_all(
                            b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                    a => {
                        if let Answer::Slow(d) = a {
                            std::thread::sleep(d);
                        }
                        let _ = w.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                }
            }
        });
        Receiver {
            records,
            posts,
            stop,
        }
    }

    fn event_ids(&self) -> (usize, BTreeSet<String>) {
        let recs = self.records.lock().unwrap();
        let ids = recs
            .iter()
            .map(|r| r["event_id"].as_str().expect("event_id").to_string())
            .collect();
        (recs.len(), ids)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn ids_in(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["event_id"].as_str().unwrap().to_string()
        })
        .collect()
}

/// The findings of the sample capture (real tw-detect), through tw-export to a
/// webhook that is down for the first 1.5 s, then hangs up on three requests
/// it read and refuses one: each finding arrives, some more than once, and
/// exactly the file sink's set of event_ids arrives.
#[test]
fn late_and_flaky_receiver_gets_every_finding_once_by_event_id() {
    let findings = Command::new(env!("CARGO_BIN_EXE_tw-detect"))
        .args(["-q", "--findings-only", "-r", SAMPLE])
        .output()
        .unwrap();
    assert!(findings.status.success());
    let dir = tmpdir("flaky");
    let port = free_port();
    let rx = Receiver::start(port, Duration::from_millis(1500), |n| match n {
        0..=2 => Answer::HangUp,
        3 => Answer::Status503,
        _ => Answer::Ok,
    });
    let file = dir.join("all.ndjson");
    let mut child = Command::new(EXPORT)
        .args([
            "--aggregate-window",
            "0",
            "--sink",
            &format!(
                "webhook:http://127.0.0.1:{port}/in#batch=2&backoff=50ms&max_backoff=300ms&timeout=1s"
            ),
            "--sink",
            &format!("file:{}", file.display()),
            "--drain-timeout",
            "30s",
        ])
        .arg("--spool-dir")
        .arg(dir.join("spool"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&findings.stdout)
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let want = ids_in(&file);
    assert!(want.len() >= 10, "the sample has findings: {}", want.len());
    let (posted, got) = rx.event_ids();
    assert_eq!(got, want, "every finding, by event_id");
    assert!(posted > got.len(), "the hang-ups made re-sends: {posted}");
    assert!(stderr.contains("0 left in spool"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// SIGKILL while batches are being delivered (some acknowledged, one in
/// flight), then a restart with no new input: the spool is replayed and every
/// record has arrived.
#[test]
fn sigkill_during_delivery_then_restart_delivers_everything() {
    let dir = tmpdir("killmid");
    let input = dir.join("in.ndjson");
    let lines: String = (0..60)
        .map(|n| {
            format!(
                r#"{{"type":"attack","ts":"2024-05-01T12:00:{:02}.000001Z","flow":"f{n}","http_seq":{n},"client":"198.51.100.7:4000","real_ip":"198.51.100.7","server":"10.1.0.9:80","method":"GET","host":"app","uri":"/etc/passwd?n={n}","status":404,"hits":[{{"class":"ptrav","point":"path","payload":"/etc/passwd","rule":"ptrav-1"}}]}}"#,
                n % 60
            ) + "\n"
        })
        .collect();
    std::fs::write(&input, lines).unwrap();
    let port = free_port();
    let rx = Receiver::start(port, Duration::ZERO, |_| {
        Answer::Slow(Duration::from_millis(150))
    });
    let sink = format!("webhook:http://127.0.0.1:{port}/in#batch=5&backoff=50ms&timeout=2s");
    let args = |drain: &str| {
        vec![
            "--aggregate-window".to_string(),
            "0".into(),
            "--sink".into(),
            sink.clone(),
            "--spool-dir".into(),
            dir.join("spool").display().to_string(),
            "--drain-timeout".into(),
            drain.into(),
        ]
    };
    let mut child = Command::new(EXPORT)
        .args(args("120s"))
        .arg("-r")
        .arg(&input)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(20), || rx.posts.load(Ordering::SeqCst)
            >= 3),
        "deliveries did not start"
    );
    child.kill().unwrap(); // SIGKILL, mid-delivery
    child.wait().unwrap();
    let before = rx.event_ids().1.len();
    assert!(before < 60, "killed too late: {before} already delivered");
    let restart = Command::new(EXPORT)
        .args(args("20s"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_bounded(restart, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let (_, got) = rx.event_ids();
    assert_eq!(
        got.len(),
        60,
        "every record delivered across the kill: {stderr}"
    );
    assert!(stderr.contains("0 left in spool"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A full disk under the file sink (/dev/full: ENOSPC) is an error with a
/// non-zero exit, at the final flush as well as mid-run, and the summary does
/// not count the lost records as written.
#[test]
fn full_disk_for_the_file_sink_is_reported() {
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIP: no /dev/full");
        return;
    }
    let findings = Command::new(env!("CARGO_BIN_EXE_tw-detect"))
        .args(["-q", "--findings-only", "-r", SAMPLE])
        .output()
        .unwrap()
        .stdout;
    let one = findings.split(|&b| b == b'\n').next().unwrap().to_vec();
    let many: Vec<u8> = (0..400).flat_map(|_| findings.clone()).collect();
    for (what, input) in [("one record", one), ("many records", many)] {
        let mut child = Command::new(EXPORT)
            .args(["--aggregate-window", "0", "--sink", "file:/dev/full"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(&input);
        let out = wait_bounded(child, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stderr.contains("sink file:/dev/full: No space left on device"),
            "{what}: {stderr}"
        );
        assert_eq!(
            stderr.matches("No space left").count(),
            1,
            "{what}: said once: {stderr}"
        );
        assert!(!stderr.contains(" 1 written"), "{what}: {stderr}");
    }
    // A stage's stdout on a full disk is an error too.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tw-decap"))
        .args(["-r", SAMPLE])
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
}

/// Every stage with its stdout closed after the first line: exit 0, no panic,
/// no broken-pipe message. Inputs are large enough that the stage is still
/// writing when the pipe closes.
#[test]
fn closed_stdout_is_quiet_success_for_every_stage() {
    let dir = tmpdir("pipes");
    let pcap = dir.join("slow.pcap");
    let mut bytes = vec![];
    common::hostile::slow(&mut bytes, 3000, 1).unwrap();
    std::fs::write(&pcap, bytes).unwrap();
    let http = dir.join("http.ndjson");
    let out = Command::new(env!("CARGO_BIN_EXE_tw-http-parse"))
        .args(["-q", "-r"])
        .arg(&pcap)
        .output()
        .unwrap();
    std::fs::write(&http, &out.stdout).unwrap();
    let cases: Vec<(&str, Vec<&str>, &PathBuf)> = vec![
        (env!("CARGO_BIN_EXE_tw-capture"), vec![], &pcap),
        (env!("CARGO_BIN_EXE_tw-decap"), vec![], &pcap),
        (env!("CARGO_BIN_EXE_tw-reassemble"), vec![], &pcap),
        (env!("CARGO_BIN_EXE_tw-http-parse"), vec![], &pcap),
        (env!("CARGO_BIN_EXE_tw-detect"), vec![], &pcap),
        (env!("CARGO_BIN_EXE_tw-detect"), vec![], &http),
        (
            env!("CARGO_BIN_EXE_tw-export"),
            vec!["--types", "http"],
            &http,
        ),
        (
            env!("CARGO_BIN_EXE_tapwatch"),
            vec!["run", "--until", "attack"],
            &pcap,
        ),
    ];
    for (bin, args, input) in cases {
        let mut child = Command::new(bin)
            .args(&args)
            .arg("-r")
            .arg(input)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        assert!(first.starts_with('{'), "{bin}: {first}");
        drop(stdout);
        let out = wait_bounded(child, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{bin} {args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.to_lowercase().contains("broken pipe"),
            "{bin} {args:?}: {stderr}"
        );
    }
    // A whole pipeline under `set -o pipefail`: green.
    let bins = Path::new(env!("CARGO_BIN_EXE_tw-decap")).parent().unwrap();
    let script = format!(
        "set -o pipefail; {b}/tw-capture -r {p} | {b}/tw-decap | {b}/tw-reassemble | {b}/tw-http-parse | {b}/tw-detect | head -1",
        b = bins.display(),
        p = pcap.display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.to_lowercase().contains("broken pipe"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
