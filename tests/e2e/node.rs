//! The node pieces through the real `tapwatch` binary: `--config` expansion,
//! `tapwatch config check|schema`, `--metrics` and `--user`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output};

fn tapwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(args)
        .output()
        .unwrap()
}

fn sample() -> String {
    format!("{}/testdata/sample/input.pcap", env!("CARGO_MANIFEST_DIR"))
}

/// A config file in a fresh temp dir.
fn config(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tw-node-e2e-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tapwatch.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn run_with_config_equals_run_with_the_flags() {
    let path = config(
        "same",
        "node:\n  until: conn\ndecap:\n  vni: [7]\nlog:\n  quiet: true\n",
    );
    let p = path.to_str().unwrap();
    let check = tapwatch(&["config", "check", p]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        "tapwatch run --until=conn --vni=7 --quiet\n"
    );
    let via_file = tapwatch(&["run", "--config", p, "-r", &sample()]);
    let via_flags = tapwatch(&[
        "run",
        "--until",
        "conn",
        "--vni",
        "7",
        "--quiet",
        "-r",
        &sample(),
    ]);
    assert!(via_file.status.success());
    assert!(!via_file.stdout.is_empty());
    assert_eq!(via_file.stdout, via_flags.stdout);
    assert!(via_file.stderr.is_empty(), "--quiet came from the file");
    // A flag on the command line wins over the file's.
    let http = tapwatch(&[
        "run",
        &format!("--config={p}"),
        "--until",
        "http",
        "-r",
        &sample(),
    ]);
    assert!(http.status.success());
    let first = String::from_utf8_lossy(&http.stdout);
    assert!(first.starts_with("{\"type\":\"http\""), "{first}");
}

#[test]
fn config_errors_exit_2_with_file_line_and_key() {
    let path = config("bad", "decap:\n  vnii: 7\n");
    let p = path.to_str().unwrap();
    let out = tapwatch(&["run", "--config", p, "-r", &sample()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{p}:2:3: unknown key `decap.vnii` (did you mean `vni`?)"
        )),
        "{err}"
    );
    let out = tapwatch(&["config", "check", p]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn mirror_node_config_maps_onto_flags() {
    let path = config(
        "mirror",
        "version: 4\nmode: tcp-capture-v2\nhttp_inspector:\n  real_ip_header: X-Real-IP\n\
         log:\n  level: info\n  pretty: true\nproxy_headers:\n  - trusted_networks: [10.0.0.0/8]\n    real_ip: X-Forwarded-For\n",
    );
    let out = tapwatch(&["config", "check", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "tapwatch run --verbose --trusted-proxy=10.0.0.0/8 --real-ip-header=X-Forwarded-For --real-ip-header=X-Real-IP\n"
    );
    let bad = config(
        "mirror-bad",
        "mode: tcp-capture\ngoreplay:\n  extra_args: '-input-raw-engine vxlan -output-http x'\n",
    );
    let out = tapwatch(&["config", "check", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(":3:15: `goreplay.extra_args`: goreplay flag `-output-http` is not supported"),
        "{err}"
    );
}

#[test]
fn schema_lists_every_run_flag() {
    let schema = tapwatch(&["config", "schema"]);
    assert!(schema.status.success());
    let schema = String::from_utf8_lossy(&schema.stdout);
    let help = tapwatch(&["run", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    let mut n = 0;
    for word in help.split_whitespace() {
        let Some(long) = word.strip_prefix("--") else {
            continue;
        };
        let long = long
            .split(['=', ',', '[', '<', '.', ')', '`', '\''])
            .next()
            .unwrap();
        if long.is_empty()
            || ["help", "config", "version"].contains(&long)
            || !long.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        {
            continue;
        }
        if help.contains(&format!("--{long} ")) || help.contains(&format!("--{long}\n")) {
            assert!(
                schema.contains(&format!("\n  {long}: ")),
                "schema lacks {long}"
            );
            n += 1;
        }
    }
    assert!(n > 30, "only {n} flags seen in run --help");
}

/// `tapwatch run --user nobody` (privileges dropped after the capture is
/// open) gives the same records as without.
#[test]
fn run_as_nobody_gives_the_same_records() {
    if !nix_is_root() {
        eprintln!("SKIP --user: needs root");
        return;
    }
    let out = tapwatch(&["run", "--user", "nobody", "-r", &sample()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, tapwatch(&["run", "-r", &sample()]).stdout);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET `path` from the metrics server on `port`: the whole answer.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// The value of the series `name` (with its labels, as exposed) in a
/// /metrics answer.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// A live node serves /health and /metrics while it runs.
#[test]
fn running_node_serves_health_and_metrics() {
    let (metrics, vxlan) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["run", "--metrics", &format!("127.0.0.1:{metrics}")])
        .args([
            "--vxlan-listen",
            &format!("127.0.0.1:{vxlan}"),
            "--duration",
            "5",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut health = None;
    for _ in 0..50 {
        if let Some(h) = get(metrics, "/health") {
            health = Some(h);
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let metrics_text = get(metrics, "/metrics");
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let health = health.unwrap_or_else(|| {
        panic!(
            "/health never answered: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        health.starts_with("HTTP/1.1 200") && health.ends_with("ok\n"),
        "{health}"
    );
    let m = metrics_text.expect("/metrics answered");
    assert!(m.contains("# TYPE tapwatch_"), "{m}");
    // There from the first scrape, even before any stage has published.
    assert!(
        m.contains(&format!(
            "tapwatch_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{m}"
    );
    assert!(
        series(&m, "process_start_time_seconds").is_some_and(|t| t > 1.6e9),
        "{m}"
    );
}

/// While a live capture runs, /metrics shows the kernel's counters per
/// interface (libpcap's received and dropped) and the frames captured so far,
/// not only at the end: real traffic on loopback from a real client and server.
#[test]
fn live_capture_counters_reach_metrics_while_running() {
    if !nix_is_root() {
        eprintln!("SKIP live capture metrics: needs root");
        return;
    }
    let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = server.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut conn in server.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    let metrics = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["run", "-q", "-i", "lo", "-f", &format!("tcp port {port}")])
        .args(["--metrics", &format!("127.0.0.1:{metrics}")])
        .args(["--duration", "20", "--until", "http"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run tapwatch");
    let received = r#"tapwatch_capture_kernel_received_total{iface="lo"}"#;
    let mut seen = None;
    for _ in 0..100 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        // A transaction each round; the counters arrive about once a second.
        if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = c.write_all(b"GET /counted HTTP/1.1\r\nHost: t\r\n\r\n");
            let _ = c.read_to_string(&mut String::new());
        }
        if let Some(text) = get(metrics, "/metrics") {
            let frames = series(&text, "tapwatch_capture_frames_total").unwrap_or(0.0);
            if series(&text, received).is_some_and(|n| n > 0.0) && frames > 0.0 {
                seen = Some(text);
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Still running: the counters came while capturing, not from the end.
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = seen.unwrap_or_else(|| {
        panic!(
            "no kernel counters on /metrics while running: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(running, "the node ended before the counters were seen");
    for name in [
        r#"tapwatch_capture_kernel_dropped_total{iface="lo"}"#,
        r#"tapwatch_capture_kernel_if_dropped_total{iface="lo"}"#,
    ] {
        assert!(series(&text, name).is_some(), "{name} missing:\n{text}");
    }
    assert!(
        text.contains("# TYPE tapwatch_capture_kernel_received_total counter"),
        "{text}"
    );
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .map(|v| v.split_whitespace().nth(1) == Some("0"))
            })
        })
        .unwrap_or(false)
}
