//! tw-export against real receivers on loopback: an HTTP webhook receiver that
//! goes down and up, a restart with a non-empty spool after SIGKILL, syslog
//! over UDP and TCP, file rotation with gzip, masking across every sink,
//! aggregation and discovery-only mode. Every wait is bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::record::b64;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tw-export");

pub(crate) fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tw-export-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ts(secs: u64) -> String {
    // 2024-05-01T12:00:00Z + secs, with microseconds.
    let t = 1_714_564_800 + secs;
    let (h, m, s) = ((t / 3600) % 24, (t / 60) % 60, t % 60);
    let day = 1 + (t - 1_714_521_600) / 86_400;
    format!("2024-05-{day:02}T{h:02}:{m:02}:{s:02}.000001Z")
}

fn attack(n: u64, secs: u64, ip: &str) -> String {
    format!(
        r#"{{"type":"attack","ts":"{}","flow":"f{n}","http_seq":{n},"client":"{ip}:4000{}","real_ip":"{ip}","server":"10.1.0.9:80","method":"GET","host":"app","uri":"/etc/passwd?n={n}","status":404,"hits":[{{"class":"ptrav","point":"path","payload":"/etc/passwd","rule":"ptrav-1"}}]}}"#,
        ts(secs),
        n % 10
    )
}

fn vuln(secs: u64) -> String {
    format!(
        r#"{{"type":"vuln","ts":"{}","flow":"fv","class":"info_leak.stack_trace","severity":"high","method":"GET","host":"app","path":"/api/x","evidence":"at com.example.Foo"}}"#,
        ts(secs)
    )
}

fn endpoint(secs: u64) -> String {
    format!(
        r#"{{"type":"endpoint","method":"GET","host":"app","path":"/users/{{id}}","params":[],"statuses":{{"200":3}},"sensitive":[],"count":3,"first_seen":"{}","last_seen":"{}"}}"#,
        ts(secs),
        ts(secs + 1)
    )
}

/// Waits for a child with a bound; kills it and fails when the bound passes.
pub(crate) fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    while start.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!(
        "tw-export did not finish within {limit:?}; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tw-export");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let out = wait_bounded(child, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "tw-export {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Polls `cond` every 20 ms for at most `limit`.
pub(crate) fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// One POST the receiver accepted.
#[derive(Debug, Clone)]
struct Post {
    headers: BTreeMap<String, String>,
    records: Vec<Value>,
}

/// A webhook receiver speaking just enough HTTP/1.1 (one request per
/// connection, `Connection: close`), on a fixed loopback port so it can go
/// away and come back.
struct Receiver {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn handle(mut s: TcpStream, posts: &Mutex<Vec<Post>>) {
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut headers = BTreeMap::new();
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 || !line.starts_with("POST ") {
        return;
    }
    for _ in 0..100 {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if r.read_exact(&mut body).is_err() {
        return;
    }
    let records: Vec<Value> = serde_json::from_slice(&body).expect("body is a JSON array");
    posts.lock().unwrap().push(Post { headers, records });
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

impl Receiver {
    fn start(port: u16, posts: Arc<Mutex<Vec<Post>>>) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind receiver port");
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        handle(s, &posts);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Receiver {
            stop,
            thread: Some(thread),
        }
    }

    /// Goes away: the listener is closed, the port refuses connections.
    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn received(posts: &Mutex<Vec<Post>>) -> Vec<Value> {
    posts
        .lock()
        .unwrap()
        .iter()
        .flat_map(|p| p.records.clone())
        .collect()
}

/// Checks at-least-once in order: after dropping repeats of an event_id,
/// records are in sending order (by `http_seq`) and none is missing.
fn check_delivery(got: &[Value], want: u64) {
    let mut seen = BTreeSet::new();
    let mut order = vec![];
    for r in got {
        let id = r["event_id"].as_str().expect("event_id").to_string();
        if seen.insert(id) {
            order.push(r["http_seq"].as_u64().unwrap());
        }
    }
    assert_eq!(
        order,
        (0..want).collect::<Vec<_>>(),
        "delivered once each, in order"
    );
}

#[test]
fn webhook_delivers_everything_across_receiver_outages() {
    let port = free_port();
    let spool = tmpdir("outage");
    let posts = Arc::new(Mutex::new(vec![]));
    let sink = format!("webhook:http://127.0.0.1:{port}/ingest?src=tw#batch=4&backoff=50ms&max_backoff=300ms&timeout=2s");
    let mut child = Command::new(BIN)
        .args([
            "--sink",
            &sink,
            "--aggregate-window",
            "0",
            "--webhook-auth-env",
            "TW_E2E_TOKEN",
        ])
        .arg("--spool-dir")
        .arg(&spool)
        .env("TW_E2E_TOKEN", "Bearer e2e-token")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut n = 0;
    let mut feed = |stdin: &mut std::process::ChildStdin, count: u64| {
        for _ in 0..count {
            writeln!(stdin, "{}", attack(n, n, "203.0.113.9")).unwrap();
            n += 1;
        }
        stdin.flush().unwrap();
    };
    // Down at first: records wait in the spool.
    feed(&mut stdin, 15);
    std::thread::sleep(Duration::from_millis(300));
    assert!(received(&posts).is_empty());
    // Comes up: the backlog and new records arrive.
    let rx = Receiver::start(port, Arc::clone(&posts));
    feed(&mut stdin, 15);
    assert!(
        eventually(Duration::from_secs(10), || received(&posts).len() >= 30),
        "backlog not delivered after the receiver came up"
    );
    // Goes away mid-run, then comes back.
    rx.stop();
    feed(&mut stdin, 15);
    std::thread::sleep(Duration::from_millis(400));
    let rx = Receiver::start(port, Arc::clone(&posts));
    feed(&mut stdin, 15);
    drop(stdin);
    let out = wait_bounded(child, Duration::from_secs(30));
    rx.stop();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = received(&posts);
    check_delivery(&got, 60);
    for p in posts.lock().unwrap().iter() {
        assert_eq!(
            p.headers.get("authorization").map(String::as_str),
            Some("Bearer e2e-token")
        );
        assert_eq!(
            p.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        assert_eq!(p.headers.get("idempotency-key").map(String::len), Some(40));
        assert!(p.records.len() <= 4, "batch too large");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("60 delivered"), "{stderr}");
    assert!(stderr.contains("0 left in spool"), "{stderr}");
    std::fs::remove_dir_all(&spool).unwrap();
}

fn spooled_lines(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten())
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
        .map(|e| {
            std::fs::read(e.path())
                .unwrap()
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        })
        .sum()
}

#[test]
fn spool_is_replayed_after_sigkill() {
    let port = free_port();
    let dir = tmpdir("sigkill");
    let spool = dir.join("spool");
    let input = dir.join("in.ndjson");
    let records: String = (0..25)
        .map(|i| attack(i, i, "198.51.100.7") + "\n")
        .collect();
    std::fs::write(&input, records).unwrap();
    let sink = format!(
        "webhook:http://127.0.0.1:{port}/in#batch=10&backoff=100ms&max_backoff=500ms&timeout=1s"
    );
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = vec![
            "--sink".into(),
            sink.clone(),
            "--aggregate-window".into(),
            "0".into(),
        ];
        a.push("--spool-dir".into());
        a.push(spool.display().to_string());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    // The receiver is down: everything goes to the spool; then SIGKILL.
    let mut child = Command::new(BIN)
        .args(args(&["--drain-timeout", "120s", "-r"]))
        .arg(&input)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || spooled_lines(&spool) == 25),
        "spool did not fill: {} lines",
        spooled_lines(&spool)
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Receiver up, no new input: the spool is replayed, in order.
    let posts = Arc::new(Mutex::new(vec![]));
    let rx = Receiver::start(port, Arc::clone(&posts));
    let replay = args(&["--drain-timeout", "20s"]);
    let out = run(&replay.iter().map(String::as_str).collect::<Vec<_>>(), "");
    let got = received(&posts);
    check_delivery(&got, 25);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("25 delivered") && stderr.contains("0 left in spool"),
        "{stderr}"
    );
    // Once acknowledged, nothing is sent again.
    let before = got.len();
    let again = args(&["--drain-timeout", "5s"]);
    run(&again.iter().map(String::as_str).collect::<Vec<_>>(), "");
    assert_eq!(received(&posts).len(), before);
    rx.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Splits RFC 6587 octet-counted frames: `LEN SP MSG`...
fn octet_frames(mut data: &[u8]) -> Vec<String> {
    let mut out = vec![];
    for _ in 0..10_000 {
        if data.is_empty() {
            break;
        }
        let sp = data.iter().position(|&b| b == b' ').expect("length prefix");
        let len: usize = std::str::from_utf8(&data[..sp])
            .unwrap()
            .parse()
            .expect("decimal length");
        let msg = &data[sp + 1..sp + 1 + len];
        out.push(String::from_utf8(msg.to_vec()).unwrap());
        data = &data[sp + 1 + len..];
    }
    out
}

/// Checks one RFC 5424 message and returns its JSON payload.
fn check_5424(msg: &str, pri: u32, time: &str, msgid: &str) -> Value {
    let want = format!("<{pri}>1 {time} sensor-1 tapwatch - {msgid} [tapwatch@32473 event_id=\"");
    assert!(msg.starts_with(&want), "{msg}\nwant prefix {want}");
    let rest = &msg[want.len()..];
    let (id, rest) = rest.split_once('"').expect("event_id value");
    assert_eq!(id.len(), 40);
    let json_text = rest
        .strip_prefix(&format!(" type=\"{msgid}\"] "))
        .unwrap_or_else(|| panic!("structured data ends badly: {rest}"));
    let json: Value = serde_json::from_str(json_text).expect("JSON MSG");
    assert_eq!(json["type"], msgid);
    assert_eq!(json["event_id"], id);
    json
}

#[test]
fn syslog_rfc5424_over_udp_and_tcp() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_port = tcp.local_addr().unwrap().port();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = tcp.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut data = vec![];
        s.read_to_end(&mut data).unwrap();
        data
    });
    let input = [attack(0, 0, "203.0.113.9"), vuln(1), endpoint(2)].join("\n");
    let udp_sink = format!(
        "syslog+udp://{}?hostname=sensor-1",
        udp.local_addr().unwrap()
    );
    let tcp_sink = format!("syslog+tcp://127.0.0.1:{tcp_port}?hostname=sensor-1&facility=local0");
    run(
        &[
            "--aggregate-window",
            "0",
            "--sink",
            &udp_sink,
            "--sink",
            &tcp_sink,
        ],
        &input,
    );
    let mut udp_msgs = vec![];
    let mut buf = vec![0u8; 65536];
    for _ in 0..3 {
        let n = udp.recv(&mut buf).expect("syslog datagram");
        udp_msgs.push(String::from_utf8(buf[..n].to_vec()).unwrap());
    }
    let tcp_msgs = octet_frames(&reader.join().unwrap());
    assert_eq!(tcp_msgs, udp_msgs, "same messages over both transports");
    // local0 = 16: attack warning (4), vuln high = error (3), endpoint info (6).
    let a = check_5424(&udp_msgs[0], 132, "2024-05-01T12:00:00.000001Z", "attack");
    assert_eq!(a["uri"], "/etc/passwd?n=0");
    check_5424(&udp_msgs[1], 131, "2024-05-01T12:00:01.000001Z", "vuln");
    // endpoint: no ts; its time is last_seen.
    check_5424(&udp_msgs[2], 134, "2024-05-01T12:00:03.000001Z", "endpoint");
}

fn gunzip(path: &Path) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// Every file of a rotated sink, oldest first, with its records.
fn rotated(dir: &Path, live: &str) -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(live))
        .collect();
    // Rotated files sort by their sequence number; the live file comes last.
    names.sort_by_key(|n| {
        (
            n == live,
            n.rsplit('.')
                .find(|p| p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()))
                .map(String::from),
        )
    });
    names
        .into_iter()
        .map(|n| {
            let p = dir.join(&n);
            let text = if n.ends_with(".gz") {
                gunzip(&p)
            } else {
                std::fs::read_to_string(&p).unwrap()
            };
            (n, text)
        })
        .collect()
}

#[test]
fn file_rotation_by_size_and_packet_time() {
    let input: String = (0..400)
        .map(|i| attack(i, i * 30, "192.0.2.1") + "\n")
        .collect();
    let mut listings = vec![];
    for round in 0..2 {
        let dir = tmpdir(&format!("rotate{round}"));
        let size = format!("file:{}?rotate=16KiB&gzip", dir.join("f.ndjson").display());
        let time = format!("file:{}?rotate=1h", dir.join("t.ndjson").display());
        run(
            &["--aggregate-window", "0", "--sink", &size, "--sink", &time],
            &input,
        );
        let files = rotated(&dir, "f.ndjson");
        assert!(
            files.len() >= 5,
            "{:?}",
            files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        let mut seqs = vec![];
        for (name, text) in &files {
            if name != "f.ndjson" {
                assert!(name.ends_with(".gz"), "{name}");
                assert!(text.len() <= 16 << 10, "{name}: {} bytes", text.len());
            }
            seqs.extend(
                json_lines(text)
                    .iter()
                    .map(|r| r["http_seq"].as_u64().unwrap()),
            );
        }
        assert_eq!(seqs, (0..400).collect::<Vec<_>>(), "nothing lost, in order");
        assert_eq!(files[0].0, "f.ndjson.20240501T120000Z.000001.gz");
        // 400 records 30 s apart span 3 h 20 min: four hourly files.
        let hourly = rotated(&dir, "t.ndjson");
        let names: Vec<&str> = hourly.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "t.ndjson.20240501T120000Z.000001",
                "t.ndjson.20240501T130000Z.000002",
                "t.ndjson.20240501T140000Z.000003",
                "t.ndjson"
            ]
        );
        for (name, text) in &hourly[..3] {
            let recs = json_lines(text);
            assert_eq!(recs.len(), 120, "{name}");
        }
        listings.push(files);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert_eq!(
        listings[0], listings[1],
        "same input, same files and contents"
    );
}

const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
const SECRETS: &[&str] = &[
    "s3cr3t-bearer-value",
    "cookie-secret-1",
    "setcookie-secret",
    "hunter2",
    "4111111111111111",
    "4111 1111 1111 1111",
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "sk_live_abcdefghijklmnopqrstuvwx",
    "form-pass-99",
    "query-token-77",
];

fn secret_http() -> String {
    let req_body =
        format!(r#"{{"user":"bob","password":"hunter2","card":"4111111111111111","jwt":"{JWT}"}}"#);
    let resp_body = "ok; key sk_live_abcdefghijklmnopqrstuvwx; card 4111 1111 1111 1111";
    format!(
        r#"{{"type":"http","ts":"{}","ts_end":"{}","flow":"f1","community_id":"1:x","seq":0,"client":"10.1.0.7:5000","server":"10.1.0.9:80","real_ip":"10.1.0.7","tunnel":[],"request":{{"method":"POST","uri":"/login?token=query-token-77&x=1","version":"HTTP/1.1","headers":[["Host","app"],["Authorization","Bearer s3cr3t-bearer-value"],["Cookie","sid=cookie-secret-1"]],"body_len":10,"body_b64":"{}","truncated":false}},"response":{{"status":200,"reason":"OK","version":"HTTP/1.1","headers":[["Set-Cookie","session=setcookie-secret; HttpOnly"]],"body_len":5,"body_b64":"{}","truncated":false}},"anomalies":[]}}"#,
        ts(0),
        ts(1),
        b64::encode(req_body.as_bytes()),
        b64::encode(resp_body.as_bytes())
    )
}

fn secret_inputs() -> String {
    let data = format!(
        r#"{{"type":"data","ts":"{}","flow":"f1","dir":"c2s","off":0,"data_b64":"{}"}}"#,
        ts(0),
        b64::encode(b"POST /login HTTP/1.1\r\nAuthorization: Bearer s3cr3t-bearer-value\r\nCookie: sid=cookie-secret-1\r\n\r\nuser=bob&password=form-pass-99")
    );
    let attack = format!(
        r#"{{"type":"attack","ts":"{}","flow":"f1","http_seq":0,"client":"10.1.0.7:5000","real_ip":"10.1.0.7","server":"10.1.0.9:80","method":"POST","host":"app","uri":"/login?password=hunter2","status":200,"hits":[{{"class":"sqli","point":"header.Authorization","payload":"Bearer s3cr3t-bearer-value' OR 1=1","rule":"sqli-1"}},{{"class":"sqli","point":"query.password","payload":"hunter2","rule":"sqli-2"}}]}}"#,
        ts(0)
    );
    [secret_http(), data, attack].join("\n") + "\n"
}

#[test]
fn no_secret_leaves_through_any_sink() {
    let dir = tmpdir("mask");
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let port = free_port();
    let posts = Arc::new(Mutex::new(vec![]));
    let rx = Receiver::start(port, Arc::clone(&posts));
    let sinks = [
        "stdout".to_string(),
        format!("file:{}?format=ecs", dir.join("ecs.ndjson").display()),
        format!("file:{}?format=eve", dir.join("eve.ndjson").display()),
        format!("syslog+udp://{}", udp.local_addr().unwrap()),
        format!("webhook:http://127.0.0.1:{port}/#backoff=50ms"),
    ];
    let mut args = vec!["--types", "http,data,attack"];
    for s in &sinks {
        args.extend(["--sink", s.as_str()]);
    }
    let out = run(&args, &secret_inputs());
    rx.stop();
    let mut outputs = vec![("stdout".to_string(), String::from_utf8(out.stdout).unwrap())];
    for f in ["ecs.ndjson", "eve.ndjson"] {
        outputs.push((f.into(), std::fs::read_to_string(dir.join(f)).unwrap()));
    }
    let mut buf = vec![0u8; 65536];
    let mut syslog = String::new();
    for _ in 0..3 {
        let n = udp.recv(&mut buf).expect("syslog datagram");
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        // The JSON MSG after the structured data, so its bodies are decoded below.
        let (head, json) = msg.split_once("\"] ").expect("structured data");
        syslog.push_str(json);
        syslog.push('\n');
        for secret in SECRETS {
            assert!(!head.contains(secret), "syslog header leaks {secret:?}");
        }
    }
    outputs.push(("syslog".into(), syslog));
    outputs.push((
        "webhook".into(),
        received(&posts)
            .iter()
            .map(|v| v.to_string() + "\n")
            .collect(),
    ));
    for (name, text) in &outputs {
        // Records went out, and bodies decode (they are grepped decoded too).
        assert!(text.lines().count() >= 3, "{name}: {text}");
        let mut decoded = text.clone();
        for v in text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        {
            collect_b64(&v, &mut decoded);
        }
        for secret in SECRETS {
            assert!(
                !decoded.contains(secret),
                "{name} leaks {secret:?}:\n{decoded}"
            );
        }
        assert!(decoded.contains("bob"), "{name}: non-secret data kept");
    }
    let native = json_lines(&outputs[0].1);
    let http = native.iter().find(|r| r["type"] == "http").unwrap();
    assert_eq!(http["request"]["headers"][1][1], "Bearer [masked]");
    assert_eq!(http["request"]["uri"], "/login?token=[masked]&x=1");
    // --drop-bodies empties bodies; --no-mask lets secrets through (proof the grep can fail).
    let dropped = run(&["--types", "http", "--drop-bodies"], &secret_http());
    let rec = &json_lines(&String::from_utf8(dropped.stdout).unwrap())[0];
    assert_eq!(rec["request"]["body_b64"], "");
    let raw = run(&["--types", "http", "--no-mask"], &secret_http());
    assert!(String::from_utf8(raw.stdout)
        .unwrap()
        .contains("s3cr3t-bearer-value"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Appends the decoded text of every `*_b64` field (native, or nested under `tapwatch`).
fn collect_b64(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match v.as_str() {
                    Some(s) if k.ends_with("_b64") => {
                        out.push_str(&String::from_utf8_lossy(&b64::decode(s).unwrap()));
                        out.push('\n');
                    }
                    _ => collect_b64(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_b64(v, out)),
        _ => {}
    }
}

#[test]
fn repeated_attacks_are_aggregated_on_packet_time() {
    let mut input = String::new();
    for i in 0..10 {
        input += &(attack(i, i, "203.0.113.9") + "\n");
    }
    input += &(attack(10, 5, "198.51.100.1") + "\n");
    input += &(vuln(30) + "\n");
    input += &(attack(11, 70, "203.0.113.9") + "\n");
    let out = run(&["--aggregate-window", "60s"], &input);
    let text = String::from_utf8(out.stdout).unwrap();
    let recs = json_lines(&text);
    let summary: Vec<(String, u64, String, String)> = recs
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
            (
                s("type"),
                r["count"].as_u64().unwrap_or(0),
                s("first_seen"),
                s("last_seen"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("vuln".into(), 0, "".into(), "".into()),
            ("attack".into(), 10, ts(0), ts(9)),
            ("attack".into(), 1, ts(5), ts(5)),
            ("attack".into(), 1, ts(70), ts(70)),
        ]
    );
    assert_eq!(recs[1]["real_ip"], "203.0.113.9");
    // Deterministic: the same input gives the same bytes (and event_ids).
    let again = run(&["--aggregate-window", "60s"], &input);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), text);
}

#[test]
fn discovery_only_keeps_attacks_local() {
    let dir = tmpdir("discovery");
    let log = dir.join("attacks.ndjson");
    let input = [
        attack(0, 0, "203.0.113.9"),
        vuln(1),
        endpoint(2),
        attack(1, 3, "203.0.113.9"),
    ]
    .join("\n");
    let out = run(
        &[
            "--discovery-only",
            "--attack-log",
            log.to_str().unwrap(),
            "--aggregate-window",
            "0",
        ],
        &input,
    );
    let types: Vec<String> = json_lines(&String::from_utf8(out.stdout).unwrap())
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["vuln", "endpoint"]);
    let local = json_lines(&std::fs::read_to_string(&log).unwrap());
    assert_eq!(local.len(), 2);
    assert!(local.iter().all(|r| r["type"] == "attack"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 attacks kept local"), "{stderr}");
    // --types chooses: http records are exported only when asked for.
    let both = format!("{}\n{}", vuln(0), secret_http());
    let default = run(&[], &both);
    assert_eq!(
        json_lines(&String::from_utf8(default.stdout).unwrap()).len(),
        1
    );
    let with_http = run(&["--types", "vuln,http"], &both);
    assert_eq!(
        json_lines(&String::from_utf8(with_http.stdout).unwrap()).len(),
        2
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn full_spool_drops_and_counts() {
    let port = free_port();
    let dir = tmpdir("bounds");
    let input: String = (0..20).map(|i| attack(i, i, "192.0.2.9") + "\n").collect();
    let sink = format!("webhook:http://127.0.0.1:{port}/#spool_records=5&backoff=50ms");
    let spool = dir.join("spool");
    let out = run(
        &[
            "--aggregate-window",
            "0",
            "--drain-timeout",
            "200ms",
            "--sink",
            &sink,
            "--spool-dir",
            spool.to_str().unwrap(),
        ],
        &input,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("5 queued")
            && stderr.contains("15 dropped (spool full)")
            && stderr.contains("5 left in spool"),
        "{stderr}"
    );
    assert_eq!(spooled_lines(&spool), 5);
    // The first five are the ones kept, and they come out first at the next start.
    let posts = Arc::new(Mutex::new(vec![]));
    let rx = Receiver::start(port, Arc::clone(&posts));
    let args = [
        "--drain-timeout",
        "10s",
        "--sink",
        &sink,
        "--spool-dir",
        spool.to_str().unwrap(),
    ];
    run(&args, "");
    rx.stop();
    check_delivery(&received(&posts), 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

const TLS_RECEIVER: &str = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        with open(sys.argv[3], 'ab') as f:
            f.write(body + b'\n')
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a):
        pass
srv = http.server.HTTPServer(('127.0.0.1', 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

fn sh(dir: &Path, cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// HTTPS through rustls: a private CA given with `ca=` is trusted, and without
/// it the same server is refused (the certificate is really checked).
#[test]
fn webhook_over_tls_with_a_private_ca() {
    let dir = tmpdir("tls");
    let made = sh(&dir, "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=tw-test-ca")
        && sh(&dir, "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1")
        && sh(&dir, "printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf && openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext.cnf");
    if !made || !sh(&dir, "python3 -c 'import ssl'") {
        eprintln!("SKIP: openssl or python3 with ssl missing");
        return;
    }
    std::fs::write(dir.join("rx.py"), TLS_RECEIVER).unwrap();
    let got = dir.join("got.ndjson");
    let mut rx = Command::new("python3")
        .arg(dir.join("rx.py"))
        .arg(dir.join("srv.pem"))
        .arg(dir.join("srv.key"))
        .arg(&got)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(rx.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let port = port.trim().to_string();
    let input = [vuln(0), vuln(1)].join("\n");
    let trusted = format!(
        "webhook:https://127.0.0.1:{port}/in#ca={}",
        dir.join("ca.pem").display()
    );
    let out = run(&["--sink", &trusted, "--drain-timeout", "10s"], &input);
    let refused = run(
        &[
            "--sink",
            &format!("webhook:https://127.0.0.1:{port}/in#backoff=100ms"),
            "--drain-timeout",
            "500ms",
        ],
        &input,
    );
    let _ = rx.kill();
    let _ = rx.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 delivered"), "{stderr}");
    let batches = std::fs::read_to_string(&got).unwrap();
    let recs: Vec<Value> = batches
        .lines()
        .flat_map(|l| serde_json::from_str::<Vec<Value>>(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0]["type"], "vuln");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("0 delivered") && stderr.contains("2 left in spool"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// SIGHUP after logrotate moved the file away: the records before it stay in
/// the moved file, the ones after go to a new file at the configured path,
/// nothing is lost and the process keeps running.
#[test]
fn sighup_reopens_file_sinks() {
    let dir = tmpdir("sighup");
    let live = dir.join("findings.ndjson");
    let mut child = Command::new(BIN)
        .args(["--aggregate-window", "0", "--types", "attack", "--sink"])
        .arg(format!("file:{}", live.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", attack(1, 1, "10.0.0.1")).unwrap();
    stdin.flush().unwrap();
    assert!(
        eventually(Duration::from_secs(10), || live.exists()),
        "the sink never opened its file"
    );
    let moved = dir.join("findings.ndjson.1");
    std::fs::rename(&live, &moved).unwrap();
    let pid = child.id().to_string();
    let hup = Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    assert!(hup.success());
    std::thread::sleep(Duration::from_millis(300));
    for n in 2..=4 {
        writeln!(stdin, "{}", attack(n, n, "10.0.0.1")).unwrap();
    }
    drop(stdin);
    let out = wait_bounded(child, Duration::from_secs(20));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let flows = |p: &Path| -> Vec<String> {
        json_lines(&std::fs::read_to_string(p).unwrap_or_default())
            .iter()
            .filter_map(|v| v["flow"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        flows(&moved),
        ["f1"],
        "the first record stays in the moved file"
    );
    assert_eq!(
        flows(&live),
        ["f2", "f3", "f4"],
        "later records go to the new file"
    );
}
