//! Scores the detector: detection rate per CRS category on the labelled CRS
//! regression corpus (when ../shared/corpora is present) and the
//! false-positive rate on testdata/benign/requests.txt.
//!
//! Run with `scripts/detect-score` (release build). Each request goes
//! through the real HTTP parser with a neutral 200 response, so no verdict
//! leans on a status code; passive checks and behaviour are off.

use std::collections::BTreeMap;
use std::path::Path;

use common::detect::{raw, DetectConfig, Detector};
use common::record::{b64, Record};

fn detector() -> Detector {
    Detector::new(raw::score_config())
}

/// The classes hit by one raw request (`None`: the parser found no request).
fn classes(d: &mut Detector, raw_req: &[u8]) -> Option<Vec<String>> {
    let txs = raw::transactions(raw_req, raw::NEUTRAL_RESPONSE);
    let tx = txs.iter().find(|t| t.request.is_some())?;
    let mut out = vec![];
    d.push(tx, &mut |r| {
        if let Record::Attack(a) = r {
            out.extend(a.hits.into_iter().map(|h| h.class));
        }
    });
    Some(out)
}

fn crs(root: &Path) -> anyhow::Result<()> {
    let path = root.join("../shared/corpora/crs-regression.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("CRS corpus: {} not found, skipped", path.display());
        return Ok(());
    };
    let mut d = detector();
    // DETECT_SCORE_MISSES=932,930 lists the missed rows of those categories.
    let show: Vec<String> = std::env::var("DETECT_SCORE_MISSES")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let mut missed: Vec<String> = vec![];
    // category -> (attack rows, detected, unparsed)
    let mut per: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut classes_per: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    // category -> (paranoia-level-1 rows, detected): CRS's own default level.
    let mut pl1: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if v["attack"] != true {
            continue;
        }
        let cat = v["category"].as_str().unwrap_or("?");
        let num = cat.split('-').nth(1).unwrap_or("?").to_string();
        let raw_req = b64::decode(v["raw_b64"].as_str().unwrap_or(""))?;
        let e = per.entry(num.clone()).or_default();
        e.0 += 1;
        let level1 = v["rule_pl"].as_u64().is_none_or(|l| l <= 1);
        let verdict = classes(&mut d, &raw_req);
        if level1 {
            let p = pl1.entry(num.clone()).or_default();
            p.0 += 1;
            p.1 += u64::from(verdict.as_ref().is_some_and(|c| !c.is_empty()));
        }
        match verdict {
            None => e.2 += 1,
            Some(c) if !c.is_empty() => {
                e.1 += 1;
                let m = classes_per.entry(num).or_default();
                for k in c {
                    *m.entry(k).or_default() += 1;
                }
            }
            Some(_) => {
                if show.contains(&num) {
                    let payload = v["payload"].as_str().unwrap_or("");
                    let payload: String = payload.chars().take(200).collect();
                    missed.push(format!(
                        "{num} pl{} {}: {payload:?}",
                        v["rule_pl"].as_u64().unwrap_or(1),
                        v["id"].as_str().unwrap_or("?")
                    ));
                }
            }
        }
    }
    for m in &missed {
        println!("  missed {m}");
    }
    println!("CRS regression corpus, attack rows, detection rate by category:");
    let name = |n: &str| match n {
        "942" => "SQLi",
        "941" => "XSS",
        "932" => "RCE",
        "930" => "LFI",
        "931" => "RFI",
        "933" => "PHP",
        "934" => "generic",
        "944" => "Java",
        "920" => "protocol (not attacks)",
        "921" => "protocol attack (smuggling/splitting)",
        "913" => "scanners",
        "943" => "session fixation",
        _ => "other",
    };
    let (mut t_att, mut t_det) = (0, 0);
    for (cat, (n, det, unparsed)) in &per {
        let main = ["942", "941", "932", "930", "931", "933", "934", "944"].contains(&cat.as_str());
        if main {
            t_att += n;
            t_det += det;
        }
        let top: Vec<String> = classes_per
            .get(cat)
            .map(|m| {
                let mut v: Vec<_> = m.iter().collect();
                v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                v.iter().take(4).map(|(k, c)| format!("{k} {c}")).collect()
            })
            .unwrap_or_default();
        let (p_n, p_det) = pl1.get(cat).copied().unwrap_or_default();
        println!(
            "  {cat} {:<38} {det:>4}/{n:<4} {:>5.1}%  PL1 {:>5.1}%  unparsed {unparsed:<3} classes: {}",
            name(cat),
            100.0 * *det as f64 / (*n).max(1) as f64,
            100.0 * p_det as f64 / p_n.max(1) as f64,
            top.join(", ")
        );
    }
    println!(
        "  attack categories 930-934, 941, 942, 944 together: {t_det}/{t_att} = {:.1}%",
        100.0 * t_det as f64 / t_att.max(1) as f64
    );
    let main = ["942", "941", "932", "930", "931", "933", "934", "944"];
    let (p_n, p_det) = pl1
        .iter()
        .filter(|(c, _)| main.contains(&c.as_str()))
        .fold((0, 0), |(a, b), (_, (n, d))| (a + n, b + d));
    println!(
        "  ... of them at paranoia level 1 (rules CRS runs by default): {p_det}/{p_n} = {:.1}%",
        100.0 * p_det as f64 / p_n.max(1) as f64
    );
    Ok(())
}

fn benign(root: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(root.join("testdata/benign/requests.txt"))?;
    let mut d = detector();
    let (mut n, mut flagged) = (0, vec![]);
    for block in text.split("### ").skip(1) {
        let (title, req) = block.split_once('\n').unwrap_or((block, ""));
        // Head lines as CRLF; the body stays as written.
        let (head, body) = req.split_once("\n\n").unwrap_or((req, ""));
        let body = body.strip_suffix('\n').unwrap_or(body);
        let raw_req = format!("{}\r\n\r\n{body}", head.replace('\n', "\r\n"));
        n += 1;
        match classes(&mut d, raw_req.as_bytes()) {
            Some(c) if !c.is_empty() => flagged.push(format!("{title}: {}", c.join(","))),
            Some(_) => {}
            None => flagged.push(format!("{title}: not parsed")),
        }
    }
    println!(
        "Benign corpus: {} of {n} requests flagged = {:.1}% false positives",
        flagged.len(),
        100.0 * flagged.len() as f64 / n.max(1) as f64
    );
    for f in flagged {
        println!("  {f}");
    }
    Ok(())
}

/// `DETECT_SCORE_BENCH=N`: times N rounds of the criterion bench's three
/// benign API requests (also a small target for `valgrind --tool=callgrind`).
/// With `DETECT_SCORE_UNIQUE=1` every request carries a User-Agent of its
/// own (defeats the detector's header verdict memo: the worst case).
fn bench(rounds: u64) {
    let unique = std::env::var_os("DETECT_SCORE_UNIQUE").is_some();
    let mut reqs = vec![];
    for i in 0..if unique { rounds } else { 1 } {
        reqs.extend(bench_requests(i));
    }
    let rounds = if unique { 1 } else { rounds };
    run_bench(rounds, &reqs);
}

fn bench_requests(i: u64) -> Vec<common::record::Http> {
    let ua = format!("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.{i}");
    let body = r#"{"sku":"SKU-104","quantity":3,"note":"deliver to door","shipping":{"city":"Dublin","street":"12 O'Connell St."}}"#;
    [
        format!("GET /api/v1/users/130 HTTP/1.1\r\nHost: app.example\r\nUser-Agent: {ua}\r\nAccept: application/json\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.c2FtcGxl.002002\r\n\r\n"),
        format!("GET /api/v1/users?page=2&limit=3&sort=-created_at HTTP/1.1\r\nHost: app.example\r\nUser-Agent: {ua}\r\nAccept: */*\r\nCookie: session=4f2a9c; theme=dark\r\n\r\n"),
        format!("POST /api/v1/orders HTTP/1.1\r\nHost: app.example\r\nUser-Agent: okhttp/4.12.{i}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
    ]
    .iter()
    .filter_map(|r| raw::transactions(r.as_bytes(), raw::NEUTRAL_RESPONSE).into_iter().next())
    .collect()
}

fn run_bench(rounds: u64, reqs: &[common::record::Http]) {
    let mut d = Detector::new(DetectConfig::default());
    let start = std::time::Instant::now();
    let mut n = 0u64;
    for _ in 0..rounds {
        for t in reqs {
            d.push(std::hint::black_box(t), &mut |_| n += 1);
        }
    }
    let per = start.elapsed().as_nanos() as f64 / (rounds * reqs.len() as u64).max(1) as f64;
    println!(
        "benign API request: {:.2} µs each ({n} findings)",
        per / 1000.0
    );
}

fn main() -> anyhow::Result<()> {
    if let Some(n) = std::env::var("DETECT_SCORE_BENCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        bench(n);
        return Ok(());
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    crs(root)?;
    benign(root)
}
