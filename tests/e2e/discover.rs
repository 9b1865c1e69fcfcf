//! tw-discover on the bundled sample: promotion from a capture, templated
//! endpoints, parameters and sensitive data, attack exclusion, the OpenAPI
//! file (and its checked-in golden), and the exit codes of `diff` and `--against`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tw-discover");

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tw-discover-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("CI", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tw-discover runs");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    child.wait_with_output().unwrap()
}

/// The `endpoint` records of a run (findings passed on are left out).
fn endpoints(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
        .filter(|v| v["type"] == "endpoint")
        .collect()
}

fn find<'a>(eps: &'a [Value], method: &str, path: &str) -> Option<&'a Value> {
    eps.iter()
        .find(|e| e["method"] == method && e["path"] == path)
}

fn param<'a>(e: &'a Value, loc: &str, name: &str) -> Option<&'a Value> {
    e["params"]
        .as_array()?
        .iter()
        .find(|p| p["in"] == loc && p["name"] == name)
}

#[test]
fn discover_sample_capture_by_promotion() {
    let dir = tmp("sample");
    let inv = dir.join("inventory.json");
    let out = run(
        &[
            "-r",
            sample().join("input.pcap").to_str().unwrap(),
            "--inventory",
            inv.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eps = endpoints(&out);
    // Besides the endpoints, only the detector's vulnerability findings pass on.
    let kinds: std::collections::BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        ["endpoint", "vuln"].map(String::from).into_iter().collect()
    );
    let user = find(&eps, "GET", "/api/v1/users/{userId}").expect("templated user endpoint");
    assert_eq!(user["host"], "app.example");
    let id = param(user, "path", "userId").unwrap();
    assert_eq!(id["type"], serde_json::json!(["integer"]));
    assert_eq!(id["required"], true);
    assert_eq!(user["sensitive"], serde_json::json!(["email"]));
    assert_eq!(user["auth"], "always");
    // 404s of unknown users are counted on the endpoint, not learned from.
    assert!(user["statuses"]["404"].as_u64().unwrap() > 0);
    assert!(user["learned"].as_u64().unwrap() < user["count"].as_u64().unwrap());
    // No concrete id survives as its own endpoint.
    assert!(eps
        .iter()
        .all(|e| !e["path"].as_str().unwrap().contains("/users/1")));
    let put = find(&eps, "PUT", "/api/v1/users/{userId}").expect("PUT user");
    assert_eq!(param(put, "body", "/role").unwrap()["required"], true);
    let list = find(&eps, "GET", "/api/v1/users").expect("user list");
    assert_eq!(
        param(list, "query", "page").unwrap()["type"],
        serde_json::json!(["integer"])
    );
    let orders = find(&eps, "POST", "/api/v1/orders").expect("orders");
    assert_eq!(
        param(orders, "body", "/quantity").unwrap()["type"],
        serde_json::json!(["integer"])
    );
    assert!(find(&eps, "GET", "/api/v1/audit").is_some());
    // The 404-only traversal and the 403 command injection are not endpoints.
    assert!(eps
        .iter()
        .all(|e| !e["path"].as_str().unwrap().contains("etc")));
    assert!(eps.iter().all(|e| e["path"] != "/cgi-bin/status"));
    // The inventory file says why segments were templated.
    let inv: Value = serde_json::from_str(&fs::read_to_string(&inv).unwrap()).unwrap();
    let entry = inv["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "/api/v1/users/{userId}" && e["method"] == "GET")
        .unwrap();
    assert_eq!(
        entry["segments"],
        serde_json::json!([{"index": 3, "name": "userId", "reason": "integer"}])
    );
    assert_eq!(
        entry["responses"]["200"]["schema"]["properties"]["email"]["format"],
        "email"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// The sample's HTTP records with an `attack` record after each attack-like
/// transaction, as tw-detect would write them.
fn with_attacks() -> (Vec<u8>, usize) {
    let text = fs::read_to_string(sample().join("http.ndjson")).unwrap();
    let mut out = String::new();
    let mut n = 0;
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        let v: Value = serde_json::from_str(line).unwrap();
        let uri = v["request"]["uri"].as_str().unwrap_or("");
        let ua = v["request"]["headers"].to_string();
        if uri.contains('\'')
            || uri.contains("%3Cscript")
            || uri.contains("passwd")
            || ua.contains("${jndi")
            || v["request"]["body_b64"]
                .as_str()
                .is_some_and(|b| !b.is_empty() && uri.ends_with("/login"))
        {
            n += 1;
            let attack = serde_json::json!({
                "type": "attack", "ts": v["ts"], "flow": v["flow"], "http_seq": v["seq"],
                "client": v["client"], "real_ip": v["real_ip"], "server": v["server"],
                "method": v["request"]["method"], "host": "app.example", "uri": uri,
                "hits": [{"class": "sqli", "point": "query", "payload": "x", "rule": "test"}]
            });
            out.push_str(&attack.to_string());
            out.push('\n');
        }
    }
    (out.into_bytes(), n)
}

#[test]
fn discover_leaves_attacks_out() {
    let plain = run(
        &["--no-detect"],
        Some(&fs::read(sample().join("http.ndjson")).unwrap()),
    );
    let eps = endpoints(&plain);
    let products = find(&eps, "GET", "/api/v1/products").unwrap();
    assert!(
        param(products, "query", "id").is_some(),
        "the SQLi's parameter is learned without attack records"
    );
    assert!(find(&eps, "GET", "/search").is_some());

    let (input, n) = with_attacks();
    assert!(n >= 4, "{n} attacks marked");
    let out = run(&["--no-detect"], Some(&input));
    assert!(out.status.success());
    let eps = endpoints(&out);
    let products = find(&eps, "GET", "/api/v1/products").unwrap();
    assert!(param(products, "query", "id").is_none(), "{products}");
    assert!(
        find(&eps, "GET", "/search").is_none(),
        "the XSS is not an endpoint"
    );
    assert!(
        eps.iter().all(|e| e["type"] == "endpoint"),
        "attack records are consumed"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("{n} attack records")), "{stderr}");
    assert!(stderr.contains("attacks "), "{stderr}");
}

#[test]
fn discover_openapi_is_structurally_valid_and_golden() {
    let dir = tmp("openapi");
    let out = run(
        &[
            "-r",
            sample().join("input.pcap").to_str().unwrap(),
            "--openapi",
            dir.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.join("app.example.openapi.json");
    let text = fs::read_to_string(&file).expect("one document for the sample's host");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/api/v1/users/{userId}"));
    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    for (path, item) in paths {
        assert!(path.starts_with('/'));
        let template_params: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, op) in item.as_object().unwrap() {
            assert!(METHODS.contains(&method.as_str()), "{method}");
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            for name in &template_params {
                let p = params
                    .iter()
                    .find(|p| p["in"] == "path" && p["name"] == *name);
                assert!(
                    p.is_some_and(|p| p["required"] == true),
                    "{method} {path}: path parameter {name}"
                );
            }
            for p in &params {
                assert!(["path", "query", "header", "cookie"].contains(&p["in"].as_str().unwrap()));
                assert!(p["schema"].is_object());
            }
            for scheme in op["security"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| s.as_object().unwrap().keys())
            {
                assert!(
                    doc["components"]["securitySchemes"][scheme].is_object(),
                    "{scheme}"
                );
            }
        }
    }
    // The YAML flavour parses to the same document.
    let ydir = dir.join("yaml");
    let out = run(
        &[
            "-r",
            sample().join("input.pcap").to_str().unwrap(),
            "--openapi",
            ydir.to_str().unwrap(),
            "--yaml",
        ],
        None,
    );
    assert!(out.status.success());
    let yaml = fs::read_to_string(ydir.join("app.example.openapi.yaml")).unwrap();
    assert!(
        yaml.contains("openapi: 3.1.0"),
        "{}",
        &yaml[..yaml.len().min(200)]
    );

    let golden = sample().join("openapi/app.example.openapi.json");
    if std::env::var("GOLDEN").is_ok_and(|v| v == "overwrite") {
        fs::create_dir_all(golden.parent().unwrap()).unwrap();
        fs::write(&golden, &text).unwrap();
    } else {
        let want = fs::read_to_string(&golden).expect("golden OpenAPI missing: run scripts/bless");
        assert!(want == text, "testdata/sample/openapi/app.example.openapi.json differs from tw-discover's output: run scripts/bless and review");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn discover_diff_and_against_exit_codes() {
    let dir = tmp("diff");
    let (a, b) = (dir.join("plain.json"), dir.join("no-attacks.json"));
    let out = run(
        &[
            "--no-detect",
            "--inventory",
            a.to_str().unwrap(),
            "--openapi",
            dir.to_str().unwrap(),
        ],
        Some(&fs::read(sample().join("http.ndjson")).unwrap()),
    );
    assert!(out.status.success());
    let out = run(
        &["--no-detect", "--inventory", b.to_str().unwrap()],
        Some(&with_attacks().0),
    );
    assert!(out.status.success());

    let same = run(&["diff", a.to_str().unwrap(), a.to_str().unwrap()], None);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    assert!(String::from_utf8_lossy(&same.stdout).contains("0 new, 0 removed, 0 changed"));
    let d = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()], None);
    assert_eq!(d.status.code(), Some(4));
    let report = String::from_utf8_lossy(&d.stdout);
    assert!(report.contains("- GET app.example/search"), "{report}");
    assert!(
        report.contains("~ GET app.example/api/v1/products") && report.contains("- param query id"),
        "{report}"
    );
    let j = run(
        &["diff", "--json", a.to_str().unwrap(), b.to_str().unwrap()],
        None,
    );
    let j: Value = serde_json::from_slice(&j.stdout).unwrap();
    // The Log4Shell probe was the only call of /health; the XSS the only one of /search.
    assert_eq!(
        j["removed"],
        serde_json::json!(["GET app.example/api/v1/health", "GET app.example/search"])
    );
    let bad = dir.join("bad.json");
    fs::write(&bad, "{}").unwrap();
    assert_eq!(
        run(&["diff", a.to_str().unwrap(), bad.to_str().unwrap()], None)
            .status
            .code(),
        Some(1)
    );

    // Against its own OpenAPI: nothing to report.
    let http = fs::read(sample().join("http.ndjson")).unwrap();
    let own = dir.join("app.example.openapi.json");
    let out = run(
        &["--no-detect", "--against", own.to_str().unwrap()],
        Some(&http),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Against a partial spec with a deprecated and a never-called operation.
    let spec = dir.join("spec.yaml");
    fs::write(
        &spec,
        "openapi: 3.1.0\ninfo: {title: app, version: '1'}\nservers: [{url: 'http://app.example/api/v1'}]\npaths:\n  /users/{id}:\n    get: {}\n  /users:\n    get:\n      parameters: [{name: page, in: query}, {name: limit, in: query}]\n  /audit:\n    get: {deprecated: true, parameters: [{name: user, in: query}]}\n  /legacy/export:\n    get: {}\n",
    )
    .unwrap();
    let rep = dir.join("report.json");
    let out = run(
        &[
            "--against",
            spec.to_str().unwrap(),
            "--report",
            rep.to_str().unwrap(),
        ],
        Some(&http),
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(!out.stdout.is_empty(), "endpoint records still on stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("shadow: POST app.example/api/v1/orders"),
        "{stderr}"
    );
    assert!(
        stderr.contains("zombie: GET app.example/api/v1/audit"),
        "{stderr}"
    );
    assert!(
        stderr.contains("orphan: GET /api/v1/legacy/export"),
        "{stderr}"
    );
    let r: Value = serde_json::from_str(&fs::read_to_string(&rep).unwrap()).unwrap();
    assert_eq!(
        r["orphan"],
        serde_json::json!(["GET /api/v1/legacy/export"])
    );
    // A spec that is not OpenAPI is an error before any input is read.
    let out = run(&["--against", bad.to_str().unwrap()], Some(&http));
    assert_eq!(out.status.code(), Some(1));
    let _ = fs::remove_dir_all(&dir);
}

/// Fed a capture, tw-discover runs the detector itself: attacked
/// transactions are left out and the findings pass on, exactly as
/// `tw-http-parse | tw-detect | tw-discover` would give.
#[test]
fn discover_detects_and_leaves_attacks_out_by_itself() {
    let out = run(&["-r", sample().join("input.pcap").to_str().unwrap()], None);
    assert!(out.status.success());
    let eps = endpoints(&out);
    let products = find(&eps, "GET", "/api/v1/products").unwrap();
    assert!(param(products, "query", "id").is_none(), "{products}");
    assert!(
        find(&eps, "GET", "/search").is_none(),
        "the XSS is not an endpoint"
    );
    assert!(find(&eps, "GET", "/api/v1/users/{userId}").is_some());
    let piped = run(
        &[],
        Some(&fs::read(sample().join("detect.ndjson")).unwrap()),
    );
    assert_eq!(
        out.stdout, piped.stdout,
        "promotion differs from tw-detect | tw-discover"
    );
}
