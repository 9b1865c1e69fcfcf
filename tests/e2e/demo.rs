//! `tapwatch demo` and `tapwatch run`: what a newcomer sees first.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tapwatch");

#[test]
fn demo_summarises_the_bundled_sample() {
    let out = Command::new(BIN).arg("demo").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "Decoded      672 frames into 672 TCP segments",
        "Connections  50 (0 picked up mid-stream)",
        "HTTP         93 transactions (93 with request and response)",
        "statuses   200 65, 201 12, 403 1, 404 14, 500 1",
        "49  vxlan vni 7",
        "44  plain",
        "GET /api/v1/products?id=1'%20OR%20'1'='1 -> 200",
        "ptrav              GET /static/../../etc/passwd -> 404",
        "rce                GET /cgi-bin/status?host=127.0.0.1;cat%20/etc/passwd -> 403 blocked",
        "Vulnerabilities (6)",
        "info_leak.stack_trace      POST /api/v1/login",
        "API inventory (6 endpoints, attacked transactions left out",
        "25  GET    app.example/api/v1/users/{userId}  sensitive: email",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn run_matches_the_separate_binaries() {
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample/input.pcap");
    for (until, bin) in [
        ("packet", env!("CARGO_BIN_EXE_tw-decap")),
        ("conn", env!("CARGO_BIN_EXE_tw-reassemble")),
        ("http", env!("CARGO_BIN_EXE_tw-http-parse")),
        ("attack", env!("CARGO_BIN_EXE_tw-detect")),
        ("endpoint", env!("CARGO_BIN_EXE_tw-discover")),
    ] {
        let all = Command::new(BIN)
            .args(["run", "--until", until, "-r", sample])
            .output()
            .unwrap();
        let one = Command::new(bin).args(["-r", sample]).output().unwrap();
        assert!(all.status.success() && one.status.success());
        assert!(!all.stdout.is_empty());
        assert_eq!(
            all.stdout, one.stdout,
            "tapwatch run --until {until} differs from {bin}"
        );
    }
    let bad = Command::new(BIN)
        .args(["run", "--until", "nonsense", "-r", sample])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
