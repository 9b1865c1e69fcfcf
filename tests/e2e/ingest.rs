//! tw-ingest with real parts: Debian's nginx mirroring real curl requests,
//! Envoy-shaped mirrors and JSON envelopes over raw sockets, hand-built
//! HTTP/2 frames, and the limits (body cap, full queue, bad requests, too
//! many connections) checked in the records and the summary.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::record::b64;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tw-ingest");
const DETECT: &str = env!("CARGO_BIN_EXE_tw-detect");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Ingest {
    child: Child,
    port: u16,
}

impl Ingest {
    fn start(args: &[&str]) -> Ingest {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(BIN)
            .args(["--listen", &listen])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tw-ingest");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&listen).is_err() {
            assert!(
                Instant::now() < deadline,
                "tw-ingest did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Ingest { child, port }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    /// SIGTERM, then everything it wrote.
    fn stop(self) -> Output {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(ok.success());
        self.wait()
    }

    /// Waits for the process to end by itself (-c N), at most 20 s.
    /// Reads its output meanwhile, so a full pipe cannot hold it up.
    fn wait(mut self) -> Output {
        let drain = |r: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut v);
                }
                v
            })
        };
        let out = drain(
            self.child
                .stdout
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
        );
        let err = drain(
            self.child
                .stderr
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tw-ingest did not stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output {
            status,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        }
    }
}

fn records(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "tw-ingest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn header<'a>(rec: &'a Value, name: &str) -> Option<&'a str> {
    rec["request"]["headers"]
        .as_array()?
        .iter()
        .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| h[1].as_str())
}

fn body(v: &Value) -> Vec<u8> {
    b64::decode(v["body_b64"].as_str().unwrap()).unwrap()
}

/// Reads until `n` response heads (and nothing of a body: all are empty)
/// have arrived; returns their status codes.
fn read_statuses(s: &mut TcpStream, n: usize) -> Vec<u16> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while buf.windows(4).filter(|w| w == b"\r\n\r\n").count() < n {
        let k = s.read(&mut chunk).expect("an answer in time");
        assert!(
            k > 0,
            "connection closed after {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..k]);
    }
    String::from_utf8_lossy(&buf)
        .split("\r\n\r\n")
        .filter(|h| !h.is_empty())
        .map(|h| h[9..12].parse().unwrap())
        .collect()
}

#[test]
fn envoy_shaped_mirrors_pipelined_on_one_connection() {
    let ing = Ingest::start(&["--trusted-proxy", "127.0.0.0/8", "-c", "3"]);
    let mut s = ing.connect();
    // What Envoy's request_mirror_policies sends (Istio sidecars too): the
    // Host gets -shadow, x-envoy-* and x-forwarded-* are added.
    let reqs = concat!(
        "GET /api/orders?id=7 HTTP/1.1\r\nhost: orders.shop.svc.cluster.local-shadow\r\n",
        "user-agent: curl/8.5.0\r\naccept: */*\r\nx-forwarded-for: 203.0.113.50\r\n",
        "x-forwarded-proto: http\r\nx-request-id: 0e6b1c3a-4d9f-4a45-9a8e-3f0f2b1c6d10\r\n",
        "x-envoy-internal: true\r\nx-envoy-expected-rq-timeout-ms: 15000\r\n",
        "x-envoy-decorator-operation: orders:80/*\r\n\r\n",
        "POST /api/orders HTTP/1.1\r\nhost: orders-shadow:8080\r\ncontent-type: application/json\r\n",
        "x-forwarded-for: 198.51.100.23,127.0.0.9\r\ncontent-length: 15\r\n\r\n{\"sku\":\"x-100\"}",
        "DELETE /api/orders/7 HTTP/1.1\r\nhost: orders-shadow\r\ntransfer-encoding: chunked\r\n\r\n",
        "2\r\nok\r\n0\r\n\r\n",
    );
    // All three in one write: pipelined.
    s.write_all(reqs.as_bytes()).unwrap();
    assert_eq!(read_statuses(&mut s, 3), vec![200, 200, 200]);
    let out = ing.wait();
    let recs = records(&out);
    assert_eq!(recs.len(), 3, "{}", stderr(&out));
    let want = [
        (
            "GET",
            "/api/orders?id=7",
            "orders.shop.svc.cluster.local",
            "203.0.113.50",
            &b""[..],
        ),
        (
            "POST",
            "/api/orders",
            "orders:8080",
            "198.51.100.23",
            &b"{\"sku\":\"x-100\"}"[..],
        ),
        ("DELETE", "/api/orders/7", "orders", "127.0.0.1", &b"ok"[..]),
    ];
    for (i, (rec, (method, uri, host, real_ip, b))) in recs.iter().zip(want).enumerate() {
        assert_eq!(rec["type"], "http");
        assert_eq!(rec["seq"], i as u64);
        assert_eq!(rec["request"]["method"], method);
        assert_eq!(rec["request"]["uri"], uri);
        assert_eq!(header(rec, "host"), Some(host), "shadow suffix stripped");
        assert_eq!(rec["real_ip"], real_ip);
        assert_eq!(body(&rec["request"]), b);
        assert!(rec.get("response").is_none(), "a mirror has no response");
        assert!(rec["client"].as_str().unwrap().starts_with("127.0.0.1:"));
        assert_eq!(rec["server"], ing_addr(&recs));
        assert_eq!(header(rec, "x-envoy-internal"), (i == 0).then_some("true"));
    }
    assert_eq!(recs[0]["flow"], recs[2]["flow"], "one connection, one flow");
}

fn ing_addr(recs: &[Value]) -> String {
    recs[0]["server"].as_str().unwrap().to_string()
}

#[test]
fn envelopes_carry_request_and_response() {
    let ing = Ingest::start(&["--trusted-proxy", "10.0.0.0/8"]);
    let env = r#"{"ts":"2024-05-01T12:00:00.250000Z","ts_end":"2024-05-01T12:00:00.300000Z",
      "client":{"ip":"10.0.0.7","port":55001},"server":{"ip":"10.0.0.80","port":443},
      "request":{"method":"GET","uri":"/api/users/42?fields=email","headers":[["Host","app"],["X-Forwarded-For","203.0.113.77"]]},
      "response":{"status":200,"reason":"OK","headers":[["Content-Type","application/json"]],
                  "body":"eyJlbWFpbCI6ImFAYi5jIn0=","body_encoding":"base64"}}"#
        .replace('\n', " ");
    let second = r#"{"request":{"method":"POST","uri":"/login","body":"user=admin&pass=x"},"response":{"status":302}}"#;
    let batch = format!("{env}\n{second}\n");
    let mut s = ing.connect();
    let post = format!(
        "POST /tapwatch/v1/envelope HTTP/1.1\r\nHost: tw\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n{batch}",
        batch.len()
    );
    s.write_all(post.as_bytes()).unwrap();
    assert_eq!(read_statuses(&mut s, 1), vec![204]);
    // A broken envelope is refused with 400 and counted.
    let mut bad = ing.connect();
    bad.write_all(
        b"POST /tapwatch/v1/envelope HTTP/1.1\r\nContent-Length: 14\r\n\r\n{\"request\":{}}",
    )
    .unwrap();
    assert_eq!(read_statuses(&mut bad, 1), vec![400]);
    std::thread::sleep(Duration::from_millis(200));
    let out = ing.stop();
    let recs = records(&out);
    assert_eq!(recs.len(), 2, "{}", stderr(&out));
    let r = &recs[0];
    assert_eq!(r["ts"], "2024-05-01T12:00:00.250000Z");
    assert_eq!(r["ts_end"], "2024-05-01T12:00:00.300000Z");
    assert_eq!(r["client"], "10.0.0.7:55001");
    assert_eq!(r["server"], "10.0.0.80:443");
    assert_eq!(r["real_ip"], "203.0.113.77");
    assert_eq!(r["request"]["uri"], "/api/users/42?fields=email");
    assert_eq!(r["response"]["status"], 200);
    assert_eq!(body(&r["response"]), b"{\"email\":\"a@b.c\"}");
    assert_eq!(recs[1]["request"]["method"], "POST");
    assert_eq!(body(&recs[1]["request"]), b"user=admin&pass=x");
    assert_eq!(recs[1]["response"]["status"], 302);
    assert!(
        recs[1]["client"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "the poster by default"
    );
    let err = stderr(&out);
    assert!(
        err.contains("2 envelope records, 2 envelope posts"),
        "{err}"
    );
    assert!(err.contains("bad_request 1"), "{err}");
}

/// One HTTP/2 frame.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    v.extend_from_slice(&[kind, flags]);
    v.extend_from_slice(&stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// HPACK: a literal field without indexing, name from the static table.
fn lit(index: u8, value: &str) -> Vec<u8> {
    let mut v = vec![index, value.len() as u8];
    v.extend_from_slice(value.as_bytes());
    v
}

#[test]
fn h2c_prior_knowledge_streams() {
    let ing = Ingest::start(&["-c", "2"]);
    let mut s = ing.connect();
    let mut wire = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    wire.extend(frame(4, 0, 0, &[0, 3, 0, 0, 0, 100]));
    // GET (0x82) http (0x86) :path (4) :authority (1), ends the stream.
    let mut get = vec![0x82, 0x86];
    get.extend(lit(4, "/h2/search?q=1"));
    get.extend(lit(1, "reviews-shadow"));
    wire.extend(frame(1, 0x5, 1, &get));
    // POST (0x83) with a DATA body on stream 3.
    let mut post = vec![0x83, 0x86];
    post.extend(lit(4, "/h2/upload"));
    post.extend(lit(1, "reviews-shadow:9080"));
    wire.extend(frame(1, 0x4, 3, &post));
    wire.extend(frame(0, 0, 3, b"hello "));
    wire.extend(frame(0, 0x1, 3, b"world"));
    wire.extend(frame(6, 0, 0, b"pingpong"));
    s.write_all(&wire).unwrap();
    // Our answers: SETTINGS, SETTINGS ack, :status 200 on streams 1 and 3, PING ack.
    let mut got = Vec::new();
    let mut seen: Vec<(u8, u8, u32)> = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(seen.contains(&(1, 5, 1)) && seen.contains(&(1, 5, 3)) && seen.contains(&(6, 1, 0))) {
        assert!(Instant::now() < deadline, "answers so far: {seen:?}");
        let k = s.read(&mut chunk).unwrap();
        assert!(k > 0, "closed; answers so far: {seen:?}");
        got.extend_from_slice(&chunk[..k]);
        seen.clear();
        let mut b = &got[..];
        while b.len() >= 9 {
            let len = usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
            if b.len() < 9 + len {
                break;
            }
            seen.push((b[3], b[4], u32::from_be_bytes([b[5], b[6], b[7], b[8]])));
            if b[3] == 1 {
                assert_eq!(&b[9..9 + len], &[0x88], ":status 200");
            }
            b = &b[9 + len..];
        }
    }
    assert!(
        seen.contains(&(4, 0, 0)) && seen.contains(&(4, 1, 0)),
        "{seen:?}"
    );
    let out = ing.wait();
    let recs = records(&out);
    assert_eq!(recs.len(), 2, "{}", stderr(&out));
    assert_eq!(recs[0]["request"]["uri"], "/h2/search?q=1");
    assert_eq!(header(&recs[0], ":authority"), Some("reviews"));
    assert_eq!(recs[1]["request"]["method"], "POST");
    assert_eq!(header(&recs[1], ":authority"), Some("reviews:9080"));
    assert_eq!(body(&recs[1]["request"]), b"hello world");
    assert!(recs.iter().all(|r| r.get("response").is_none()));
}

#[test]
fn h2c_upgrade_with_curl() {
    let ing = Ingest::start(&["-c", "1"]);
    let out = Command::new("curl")
        .args([
            "-s",
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{http_version}",
        ])
        .arg(format!("http://{}/upgraded?x=1", ing.addr()))
        .output();
    let Ok(curl) = out else {
        eprintln!("SKIP h2c_upgrade_with_curl: no curl");
        return;
    };
    assert_eq!(String::from_utf8_lossy(&curl.stdout), "200 2");
    let out = ing.wait();
    let recs = records(&out);
    assert_eq!(recs[0]["request"]["uri"], "/upgraded?x=1");
    assert_eq!(recs[0]["interim"], serde_json::json!([101]));
    assert!(
        stderr(&out).contains("1 HTTP/2 connections"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn body_cap_bad_requests_and_connection_limit() {
    let ing = Ingest::start(&["--body-cap", "16", "--max-conns", "2"]);
    let mut s = ing.connect();
    let big = "x".repeat(100);
    let req = format!("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{big}");
    s.write_all(req.as_bytes()).unwrap();
    assert_eq!(read_statuses(&mut s, 1), vec![200]);
    // Not HTTP at all, and a bad request line: 400, then the connection closes.
    // `start`'s probe connection holds a slot until its server thread reads
    // the probe's end, which on a loaded machine can come after `s` took
    // the other one: a refusal then is counted and the junk sent again.
    let mut refused = 0;
    for junk in [&b"\x16\x03\x01\x00\x05hello"[..], b"GET / HTTP/7.7\r\n\r\n"] {
        let mut b = loop {
            let mut b = ing.connect();
            b.write_all(junk).unwrap();
            match read_statuses(&mut b, 1).as_slice() {
                [503] if refused < 50 => {
                    refused += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                [400] => break b,
                other => panic!("{other:?} (after {refused} refusals)"),
            }
        };
        let mut rest = Vec::new();
        let _ = b.read_to_end(&mut rest);
        assert!(rest.is_empty());
    }
    // `s` and `t` take both slots; a third connection is refused with 503.
    std::thread::sleep(Duration::from_millis(200));
    let _t = ing.connect();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = ing.connect();
    assert_eq!(read_statuses(&mut third, 1), vec![503]);
    let out = ing.stop();
    let recs = records(&out);
    assert_eq!(recs.len(), 1, "{}", stderr(&out));
    let r = &recs[0]["request"];
    assert_eq!(body(r), b"x".repeat(16));
    assert_eq!(r["body_len"], 100);
    assert_eq!(r["truncated"], true);
    let err = stderr(&out);
    let refusals = format!("too_many_connections {}", 1 + refused);
    for want in ["body_over_cap 1", &refusals, "bad_request 2"] {
        assert!(err.contains(want), "{want}: {err}");
    }
}

/// A connection's slot is free by the time its client sees it close: a
/// client that reads a refused request's answer to the end and connects
/// again at once always gets in (it once got a 503 when the server thread
/// had closed the socket but not yet given the slot back). The window was
/// microseconds, so this end-to-end run only shows it under load; the unit
/// test `serve_frees_its_slot_before_the_client_sees_the_close` (in
/// common/src/ingest/server.rs) fails on the old order every time.
#[test]
fn a_closed_connection_frees_its_slot_before_the_client_sees_the_close() {
    let ing = Ingest::start(&["--max-conns", "1"]);
    // `start`'s probe connection took the slot; its server thread gives it
    // back when it reads the probe's end.
    std::thread::sleep(Duration::from_millis(200));
    for round in 0..100 {
        let mut b = ing.connect();
        b.write_all(b"GET / HTTP/7.7\r\n\r\n").unwrap();
        assert_eq!(read_statuses(&mut b, 1), vec![400], "round {round}");
        let mut rest = Vec::new();
        let _ = b.read_to_end(&mut rest);
    }
    let err = stderr(&ing.stop());
    assert!(err.contains("bad_request 100"), "{err}");
    assert!(!err.contains("too_many_connections 1"), "{err}");
}

#[test]
fn full_queue_drops_and_counts_but_never_blocks_the_proxy() {
    let ing = Ingest::start(&["--queue", "2"]);
    // stdout is piped and not read yet: the writer blocks on the first
    // ~100 KiB record, two more wait in the queue, the rest are dropped.
    let big = "y".repeat(100 << 10);
    let mut s = ing.connect();
    let started = Instant::now();
    for i in 0..10 {
        let req = format!(
            "POST /bulk/{i} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{big}",
            big.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        assert_eq!(read_statuses(&mut s, 1), vec![200], "request {i} answered");
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answers were held up"
    );
    let out = ing.stop();
    let recs = records(&out);
    let err = stderr(&out);
    let dropped: usize = err
        .split("queue_full ")
        .nth(1)
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no queue_full count: {err}"));
    assert!(dropped >= 5, "{err}");
    assert_eq!(recs.len() + dropped, 10, "{err}");
    assert!(
        err.contains(&format!("{} records, 10 mirrored requests", recs.len())),
        "{err}"
    );
    // What was kept is in order and whole.
    let uris: Vec<&str> = recs
        .iter()
        .map(|r| r["request"]["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris[0], "/bulk/0");
    assert_eq!(recs[0]["request"]["body_len"], big.len() as u64);
}

/// Where nginx is, if it is installed.
fn nginx() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

#[test]
fn nginx_mirror_feeds_tw_detect() {
    let Some(nginx) = nginx() else {
        eprintln!("SKIP nginx_mirror_feeds_tw_detect: nginx is not installed (scripts/setup installs nginx-light)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("tw-ingest-nginx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let ing = Ingest::start(&["--trusted-proxy", "127.0.0.0/8", "-c", "4"]);
    let front = free_port();
    let backend = free_port();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let d = dir.display();
    let conf = format!(
        r#"{user}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{backend};
    location / {{ default_type application/json; return 200 '{{"ok":true}}'; }}
  }}
  server {{
    listen 127.0.0.1:{front};
    location / {{
      mirror /mirror;
      mirror_request_body on;
      proxy_pass http://127.0.0.1:{backend};
    }}
    location = /mirror {{
      internal;
      proxy_pass http://127.0.0.1:{ing}$request_uri;
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }}
  }}
}}
"#,
        user = if root { "user root;" } else { "" },
        ing = ing.port,
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let mut server = match Command::new(&nginx)
        .args([
            "-p",
            &dir.to_string_lossy(),
            "-c",
            &dir.join("nginx.conf").to_string_lossy(),
        ])
        .args([
            "-e",
            &dir.join("logs/error.log").to_string_lossy(),
            "-g",
            "daemon off;",
        ])
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("SKIP nginx_mirror_feeds_tw_detect: cannot start nginx: {e}");
            return;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", front)).is_err() {
        if Instant::now() > deadline || server.try_wait().ok().flatten().is_some() {
            let _ = server.kill();
            let log = std::fs::read_to_string(dir.join("logs/error.log")).unwrap_or_default();
            eprintln!("SKIP nginx_mirror_feeds_tw_detect: nginx did not start: {log}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let base = format!("http://127.0.0.1:{front}");
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(args)
            .output()
            .expect("run curl");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200", "curl {args:?}");
    };
    // One at a time, so the mirrors (and records) come in this order.
    let settle = || std::thread::sleep(Duration::from_millis(300));
    curl(&[
        &format!("{base}/search?q=shoes&page=2"),
        "-H",
        "X-Forwarded-For: 203.0.113.9",
    ]);
    settle();
    curl(&[
        &format!("{base}/api/users"),
        "-H",
        "Content-Type: application/json",
        "--data",
        r#"{"name":"ann","email":"ann@example.com"}"#,
    ]);
    settle();
    curl(&[&format!("{base}/item?id=1%27%20OR%20%271%27%3D%271")]);
    settle();
    curl(&[
        &format!("{base}/download?file=../../../../etc/passwd"),
        "--path-as-is",
    ]);
    let out = ing.wait();
    let _ = Command::new("kill")
        .args(["-QUIT", &server.id().to_string()])
        .status();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let recs = records(&out);
    assert_eq!(recs.len(), 4, "{}", stderr(&out));
    let r = &recs[0];
    assert_eq!(r["request"]["method"], "GET");
    assert_eq!(r["request"]["uri"], "/search?q=shoes&page=2");
    assert_eq!(
        header(r, "host"),
        Some("127.0.0.1"),
        "nginx's $host has no port"
    );
    assert_eq!(header(r, "x-forwarded-for"), Some("203.0.113.9, 127.0.0.1"));
    assert_eq!(r["real_ip"], "203.0.113.9", "through the trusted nginx");
    let p = &recs[1];
    assert_eq!(p["request"]["method"], "POST");
    assert_eq!(
        body(&p["request"]),
        br#"{"name":"ann","email":"ann@example.com"}"#
    );
    assert_eq!(p["real_ip"], "127.0.0.1");
    assert_eq!(
        recs[2]["request"]["uri"],
        "/item?id=1%27%20OR%20%271%27%3D%271"
    );
    // The records go through tw-detect unchanged and the attacks are found.
    let mut det = Command::new(DETECT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    det.stdin.take().unwrap().write_all(&out.stdout).unwrap();
    let det = det.wait_with_output().unwrap();
    let attacks: Vec<Value> = String::from_utf8_lossy(&det.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "attack")
        .collect();
    let classes: Vec<(String, String)> = attacks
        .iter()
        .flat_map(|a| {
            let uri = a["uri"].as_str().unwrap_or_default().to_string();
            a["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |h| (uri.clone(), h["class"].as_str().unwrap().to_string()))
        })
        .collect();
    assert!(
        classes
            .iter()
            .any(|(u, c)| u.starts_with("/item") && c == "sqli"),
        "{classes:?}"
    );
    assert!(
        classes
            .iter()
            .any(|(u, c)| u.starts_with("/download") && c == "ptrav"),
        "{classes:?}"
    );
    assert!(
        !classes.iter().any(|(u, _)| u.starts_with("/search")),
        "{classes:?}"
    );
}
