use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

use super::*;

fn sample_summary(frames: u64) -> Summary {
    Summary::new()
        .count("frames", frames)
        .count("HTTP/2 connections", 2)
        .group("skipped", [("udp", 3u64), ("arp", 1), ("zero", 0)])
        .group("malformed", [("bad \"quote\"\\ and\nline", 1u64)])
}

#[test]
fn names_are_sanitised() {
    let cases = [
        ("frames", "frames"),
        ("HTTP/2 connections", "http_2_connections"),
        ("dropped by kernel", "dropped_by_kernel"),
        ("  x--y  ", "x_y"),
        ("9lives", "_9lives"),
        ("", "_"),
    ];
    for (raw, want) in cases {
        assert_eq!(metric_name(raw), want, "{raw:?}");
    }
    assert_eq!(
        counter_name("decap", "frames"),
        "tapwatch_decap_frames_total"
    );
    assert_eq!(counter_name("x", "bytes total"), "tapwatch_x_bytes_total");
    assert_eq!(label_name("__name"), "name");
    assert_eq!(label_name("a:b"), "a_b");
    assert_eq!(escape_label("a\\b\"c\nd"), r#"a\\b\"c\nd"#);
    assert_eq!(number(f64::INFINITY), "+Inf");
    assert_eq!(number(3.0), "3");
    assert_eq!(number(0.5), "0.5");
}

#[test]
fn publish_renders_sorted_counters_with_reason_labels() {
    let m = Metrics::new();
    m.publish("decap", &sample_summary(10));
    m.set_gauge(
        "tapwatch_queue_depth",
        "Records waiting",
        &[("worker", "1")],
        7.0,
    );
    m.set_gauge(
        "tapwatch_queue_depth",
        "Records waiting",
        &[("worker", "0")],
        3.0,
    );
    let want = r#"# HELP tapwatch_decap_frames_total decap: frames (end-of-run summary counter)
# TYPE tapwatch_decap_frames_total counter
tapwatch_decap_frames_total 10
# HELP tapwatch_decap_http_2_connections_total decap: HTTP/2 connections (end-of-run summary counter)
# TYPE tapwatch_decap_http_2_connections_total counter
tapwatch_decap_http_2_connections_total 2
# HELP tapwatch_decap_malformed_total decap: malformed, by reason (end-of-run summary group)
# TYPE tapwatch_decap_malformed_total counter
tapwatch_decap_malformed_total{reason="bad \"quote\"\\ and\nline"} 1
# HELP tapwatch_decap_skipped_total decap: skipped, by reason (end-of-run summary group)
# TYPE tapwatch_decap_skipped_total counter
tapwatch_decap_skipped_total{reason="arp"} 1
tapwatch_decap_skipped_total{reason="udp"} 3
# HELP tapwatch_queue_depth Records waiting
# TYPE tapwatch_queue_depth gauge
tapwatch_queue_depth{worker="0"} 3
tapwatch_queue_depth{worker="1"} 7
"#;
    assert_eq!(m.render(), want);
    check_exposition(&m.render());
}

#[test]
fn parts_are_summed_and_replaced_not_added() {
    let m = Metrics::new();
    m.publish_part("reassemble", 0, &Summary::new().count("flows", 5));
    m.publish_part("reassemble", 1, &Summary::new().count("flows", 7));
    assert!(m
        .render()
        .contains("\ntapwatch_reassemble_flows_total 12\n"));
    // Worker 1 publishes again (cumulative): replaced, not added.
    m.publish_part("reassemble", 1, &Summary::new().count("flows", 9));
    assert!(m
        .render()
        .contains("\ntapwatch_reassemble_flows_total 14\n"));
    // Gauges are set, not summed over calls.
    m.set_gauge("tapwatch_open_flows", "Open flows", &[], 4.0);
    m.set_gauge("tapwatch_open_flows", "Open flows", &[], 2.0);
    assert!(m.render().contains("\ntapwatch_open_flows 2\n"));
}

/// A strict reader of the text exposition format 0.0.4, as far as we emit it:
/// HELP then TYPE once per family before its samples, families contiguous and
/// sorted, valid names, label values with only \\ \" \n escapes, float values,
/// counters named *_total.
fn check_exposition(text: &str) {
    use std::collections::BTreeSet;
    let valid_name = |n: &str| {
        !n.is_empty()
            && !n.starts_with(|c: char| c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "ends with a newline"
    );
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<(String, &str)> = None;
    let mut last_family = String::new();
    let mut pending_help: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let at = format!("line {}: {line:?}", i + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect(&at);
            assert!(valid_name(name), "{at}");
            assert!(!done.contains(name), "{at}: family seen before");
            assert!(name > last_family.as_str(), "{at}: families not sorted");
            let mut chars = help.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    assert!(matches!(chars.next(), Some('\\' | 'n')), "{at}: bad escape");
                }
            }
            pending_help = Some(name.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect(&at);
            assert_eq!(
                pending_help.as_deref(),
                Some(name),
                "{at}: TYPE without HELP"
            );
            let kind = match kind {
                "counter" => "counter",
                "gauge" => "gauge",
                other => panic!("{at}: type {other}"),
            };
            if kind == "counter" {
                assert!(name.ends_with("_total"), "{at}: counter not *_total");
            }
            if let Some((prev, _)) = current.take() {
                done.insert(prev);
            }
            last_family = name.to_string();
            current = Some((name.to_string(), kind));
            pending_help = None;
        } else {
            assert!(!line.starts_with('#'), "{at}: stray comment");
            let (family, _) = current.as_ref().expect(&at);
            let (series, value) = line.rsplit_once(' ').expect(&at);
            assert!(
                value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
                "{at}: value"
            );
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (n, Some(l.strip_suffix('}').expect(&at))),
                None => (series, None),
            };
            assert_eq!(name, family, "{at}: sample outside its family");
            if let Some(mut l) = labels {
                while !l.is_empty() {
                    let (k, rest) = l.split_once("=\"").expect(&at);
                    assert!(valid_name(k) && !k.contains(':'), "{at}: label name");
                    let mut chars = rest.char_indices();
                    let end = loop {
                        match chars.next().expect(&at) {
                            (_, '\\') => {
                                let (_, e) = chars.next().expect(&at);
                                assert!(matches!(e, '\\' | '"' | 'n'), "{at}: bad escape");
                            }
                            (j, '"') => break j,
                            (_, '\n') => panic!("{at}: raw newline"),
                            _ => {}
                        }
                    };
                    l = rest.get(end + 1..).unwrap_or("");
                    l = l.strip_prefix(',').unwrap_or(l);
                }
            }
        }
    }
}

fn request(addr: SocketAddr, raw: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    if !head.starts_with("HTTP/1.1 200") || !raw.starts_with(b"HEAD") {
        assert_eq!(body.len(), len, "Content-Length");
    }
    (status, head.to_string(), body.to_string())
}

#[test]
fn server_answers_metrics_health_and_errors() {
    let m = Arc::new(Metrics::new());
    m.publish("http", &sample_summary(3));
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, thread) = serve(
        "127.0.0.1:0".parse().unwrap(),
        Arc::clone(&m),
        Arc::clone(&stop),
    )
    .unwrap();
    assert_ne!(addr.port(), 0);

    let (status, head, body) = request(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, 200);
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"),
        "{head}"
    );
    assert_eq!(body, m.render());
    check_exposition(&body);
    if let Some(promtool) = promtool() {
        let (status, text) = std::process::Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .output_with_stdin(body.as_bytes());
        assert!(status.success(), "promtool check metrics: {text}");
    } else {
        eprintln!("SKIP promtool check (no promtool in PATH; the strict reader above ran)");
    }

    let cases: &[(&[u8], u16, &str)] = &[
        (b"GET /health HTTP/1.1\r\n\r\n", 200, "ok\n"),
        (b"GET /metrics?name[]=x HTTP/1.0\n\n", 200, "# HELP"),
        (b"GET / HTTP/1.1\r\n\r\n", 404, "not found"),
        (b"POST /metrics HTTP/1.1\r\n\r\n", 405, "GET or HEAD"),
        (b"HEAD /metrics HTTP/1.1\r\n\r\n", 200, ""),
        (b"hello\r\n\r\n", 400, "bad request"),
    ];
    for (raw, want_status, want_body) in cases {
        let (status, _, body) = request(addr, raw);
        assert_eq!(status, *want_status, "{}", String::from_utf8_lossy(raw));
        assert!(
            body.starts_with(want_body),
            "{}: {body}",
            String::from_utf8_lossy(raw)
        );
    }

    // A request head past the cap: 431, and the server goes on.
    let mut big = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
    big.resize(MAX_REQUEST_BYTES + 100, b'a');
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(&big);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        out.starts_with(b"HTTP/1.1 431 "),
        "{}",
        String::from_utf8_lossy(&out)
    );

    m.set_healthy(false);
    let (status, _, body) = request(addr, b"GET /health HTTP/1.1\r\n\r\n");
    assert_eq!((status, body.as_str()), (503, "unhealthy\n"));

    // A client that connects and says nothing does not hold the server for
    // longer than the I/O timeout.
    let idle = TcpStream::connect(addr).unwrap();
    let t0 = Instant::now();
    let (status, _, _) = request(addr, b"GET /health HTTP/1.1\r\n\r\n");
    assert_eq!(status, 503);
    assert!(
        t0.elapsed() < IO_TIMEOUT + Duration::from_secs(2),
        "{:?}",
        t0.elapsed()
    );
    drop(idle);

    stop.store(true, Ordering::Relaxed);
    thread.join().unwrap();
    assert!(
        TcpStream::connect(addr).is_err(),
        "listener closed after stop"
    );
}

#[test]
fn bind_error_names_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = serve(
        addr,
        Arc::new(Metrics::new()),
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").starts_with(&format!("--metrics {addr}: bind")),
        "{err:#}"
    );
}

fn promtool() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("promtool"))
        .find(|p| p.is_file())
}

trait OutputWithStdin {
    fn output_with_stdin(&mut self, input: &[u8]) -> (std::process::ExitStatus, String);
}

impl OutputWithStdin for std::process::Command {
    fn output_with_stdin(&mut self, input: &[u8]) -> (std::process::ExitStatus, String) {
        let mut child = self
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status, text)
    }
}
