//! tw-detect on the bundled sample capture: promoted from a raw capture, it
//! must flag the sample's attacks and passive weaknesses and nothing else.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tw-detect");

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample/input.pcap")
}

fn run(args: &[&str]) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run tw-detect");
    assert!(
        out.status.success(),
        "tw-detect failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn of_type<'a>(recs: &'a [Value], t: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["type"] == t).collect()
}

#[test]
fn flags_the_sample_attacks_and_nothing_else() {
    let s = sample();
    let recs = run(&["-r", s.to_str().unwrap(), "--findings-only"]);
    assert!(
        of_type(&recs, "http").is_empty(),
        "--findings-only keeps no http"
    );
    let attacks = of_type(&recs, "attack");
    let find = |uri_part: &str, class: &str| {
        attacks.iter().any(|a| {
            a["uri"].as_str().unwrap_or("").contains(uri_part)
                && a["hits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|h| h["class"] == class)
        })
    };
    assert!(
        find("id=1'", "sqli") || find("id=1%27", "sqli"),
        "sqli in id"
    );
    assert!(find("id=1", "scanner"), "sqlmap user agent");
    assert!(find("/api/v1/login", "sqli"), "admin' -- login");
    assert!(find("/static/../../etc/passwd", "ptrav"), "traversal");
    assert!(find("/search?q=", "xss"), "reflected xss");
    assert!(find("/cgi-bin/status", "rce"), "command injection");
    let log4 = attacks.iter().any(|a| {
        a["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["class"] == "log4shell" && h["point"] == "header.User-Agent")
    });
    assert!(log4, "log4shell in User-Agent");
    // Every eighth connection (3, 11, ..., 43) carries the one attack: six
    // attacks, nothing on the benign API traffic.
    assert_eq!(attacks.len(), 6, "{attacks:#?}");
    // Outcomes from responses: the reflected XSS and the SQL error after the login injection.
    let outcome = |part: &str| {
        attacks
            .iter()
            .find(|a| a["uri"].as_str().unwrap().contains(part))
            .map(|a| a["outcome"].as_str().unwrap().to_string())
    };
    assert_eq!(outcome("/search?q=").as_deref(), Some("likely_succeeded"));
    assert_eq!(
        outcome("/api/v1/login").as_deref(),
        Some("likely_succeeded")
    );
    assert_eq!(outcome("/cgi-bin/status").as_deref(), Some("blocked"));

    let vulns: Vec<&str> = of_type(&recs, "vuln")
        .iter()
        .map(|v| v["class"].as_str().unwrap())
        .collect();
    for want in [
        "info_leak.stack_trace",
        "info_leak.sql_error",
        "outdated_software",
        "pii.email",
    ] {
        assert!(vulns.contains(&want), "missing vuln {want}: {vulns:?}");
    }
    assert!(
        !vulns.contains(&"info_leak.version"),
        "nginx/1.24.0 is not reported without --hygiene"
    );
}

#[test]
fn http_records_come_first_and_unchanged() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample");
    let http = std::fs::read_to_string(dir.join("http.ndjson")).expect("golden http");
    let out = Command::new(BIN)
        .arg("-r")
        .arg(dir.join("http.ndjson"))
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let passed: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"http\""))
        .collect();
    let want: Vec<&str> = http.lines().collect();
    assert_eq!(passed, want, "http records pass through byte for byte");
    // Every finding follows the http record it came from.
    let mut last_flow = String::new();
    for l in text.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if v["type"] == "http" {
            last_flow = v["flow"].as_str().unwrap().to_string();
        } else {
            assert_eq!(v["flow"].as_str().unwrap(), last_flow, "{l}");
        }
    }
}

#[test]
fn disable_and_no_passive() {
    let s = sample();
    let recs = run(&[
        "-r",
        s.to_str().unwrap(),
        "--findings-only",
        "--no-passive",
        "--disable",
        "scanner",
    ]);
    assert!(of_type(&recs, "vuln").is_empty());
    assert!(!recs.iter().any(|r| r["hits"]
        .as_array()
        .is_some_and(|h| h.iter().any(|h| h["class"] == "scanner"))));
    assert!(!of_type(&recs, "attack").is_empty());
}
