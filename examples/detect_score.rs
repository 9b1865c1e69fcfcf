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

fn detector(level: u8) -> Detector {
    let mut cfg = raw::score_config();
    cfg.paranoia = level;
    Detector::new(cfg)
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

/// The CRS attack categories scored, with their names.
const MAIN: &[(&str, &str)] = &[
    ("942", "SQLi"),
    ("941", "XSS"),
    ("932", "RCE"),
    ("930", "LFI"),
    ("931", "RFI"),
    ("933", "PHP"),
    ("934", "generic"),
    ("944", "Java"),
];

fn name(n: &str) -> &'static str {
    match n {
        "920" => "protocol (not attacks)",
        "921" => "protocol attack (smuggling/splitting)",
        "913" => "scanners",
        "943" => "session fixation",
        _ => MAIN
            .iter()
            .find(|(c, _)| *c == n)
            .map_or("other", |(_, name)| name),
    }
}

/// One CRS row: category number, CRS paranoia level, payload, id, raw request.
struct Row {
    cat: String,
    pl: u64,
    payload: String,
    id: String,
    raw: Vec<u8>,
}

fn crs_rows(root: &Path) -> anyhow::Result<Option<Vec<Row>>> {
    let path = root.join("../shared/corpora/crs-regression.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("CRS corpus: {} not found, skipped", path.display());
        return Ok(None);
    };
    let mut rows = vec![];
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if v["attack"] != true {
            continue;
        }
        let cat = v["category"].as_str().unwrap_or("?");
        rows.push(Row {
            cat: cat.split('-').nth(1).unwrap_or("?").to_string(),
            pl: v["rule_pl"].as_u64().unwrap_or(1),
            payload: v["payload"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect(),
            id: v["id"].as_str().unwrap_or("?").to_string(),
            raw: b64::decode(v["raw_b64"].as_str().unwrap_or(""))?,
        });
    }
    Ok(Some(rows))
}

/// Per category at detector level `level`: (rows of CRS paranoia <= level,
/// detected, unparsed, classes hit). Rows of higher CRS levels are not scored.
type Scores = BTreeMap<String, (u64, u64, u64, BTreeMap<String, u64>)>;

fn crs(rows: &[Row], level: u8, show: &[String]) -> Scores {
    let mut d = detector(level);
    let mut per = Scores::new();
    // DETECT_SCORE_ALL_ROWS=1 scores every row at each level (the README's
    // "all rows" figures), not only those of CRS paranoia <= the level.
    let all = std::env::var_os("DETECT_SCORE_ALL_ROWS").is_some();
    for r in rows.iter().filter(|r| all || r.pl <= u64::from(level)) {
        let e = per.entry(r.cat.clone()).or_default();
        e.0 += 1;
        match classes(&mut d, &r.raw) {
            None => e.2 += 1,
            Some(c) if !c.is_empty() => {
                e.1 += 1;
                for k in c {
                    *e.3.entry(k).or_default() += 1;
                }
            }
            Some(_) if show.contains(&r.cat) => {
                println!("  missed {} pl{} {}: {:?}", r.cat, r.pl, r.id, r.payload);
            }
            Some(_) => {}
        }
    }
    println!(
        "CRS regression corpus at paranoia {level}: attack rows of CRS paranoia <= {level}, detection rate by category:"
    );
    for (cat, (n, det, unparsed, cls)) in &per {
        let mut top: Vec<_> = cls.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = top
            .iter()
            .take(4)
            .map(|(k, c)| format!("{k} {c}"))
            .collect();
        println!(
            "  {cat} {:<38} {det:>4}/{n:<4} {:>5.1}%  unparsed {unparsed:<3} classes: {}",
            name(cat),
            pct(*det, *n),
            top.join(", ")
        );
    }
    let (n, det) = main_total(&per);
    println!(
        "  attack categories 930-934, 941, 942, 944 together: {det}/{n} = {:.1}%",
        pct(det, n)
    );
    per
}

fn pct(a: u64, b: u64) -> f64 {
    100.0 * a as f64 / b.max(1) as f64
}

fn main_total(per: &Scores) -> (u64, u64) {
    per.iter()
        .filter(|(c, _)| MAIN.iter().any(|(m, _)| m == c))
        .fold((0, 0), |(a, b), (_, (n, d, _, _))| (a + n, b + d))
}

/// Benign requests flagged at `level`, and how many there are.
fn benign(root: &Path, level: u8) -> anyhow::Result<(usize, usize)> {
    let text = std::fs::read_to_string(root.join("testdata/benign/requests.txt"))?;
    let mut d = detector(level);
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
        "Benign corpus at paranoia {level}: {} of {n} requests flagged = {:.1}% false positives",
        flagged.len(),
        pct(flagged.len() as u64, n as u64)
    );
    for f in &flagged {
        println!("  {f}");
    }
    Ok((flagged.len(), n))
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
    // DETECT_SCORE_LEVELS=1,2 scores only those paranoia levels (default 1-4).
    let levels: Vec<u8> = std::env::var("DETECT_SCORE_LEVELS")
        .unwrap_or_else(|_| "1,2,3,4".into())
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .filter(|l| (1..=common::detect::MAX_PARANOIA).contains(l))
        .collect();
    // DETECT_SCORE_MISSES=932,930 lists the missed rows of those categories.
    let show: Vec<String> = std::env::var("DETECT_SCORE_MISSES")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let rows = crs_rows(root)?;
    let mut table = vec![];
    for &level in &levels {
        let per = rows.as_deref().map(|r| crs(r, level, &show));
        let fp = benign(root, level)?;
        table.push((level, per, fp));
    }
    println!("\nPer paranoia level: detection of the CRS rows at or below the level, benign false positives");
    print!("  level");
    for (_, n) in MAIN {
        print!(" {n:>8}");
    }
    println!("    total   benign FP");
    for (level, per, (fp, n)) in &table {
        print!("  {level:>5}");
        if let Some(per) = per {
            for (c, _) in MAIN {
                let (rows, det, _, _) = per.get(*c).cloned().unwrap_or_default();
                print!(" {:>7.1}%", pct(det, rows));
            }
            let (rows, det) = main_total(per);
            print!(" {:>7.1}%", pct(det, rows));
        }
        println!("   {fp}/{n} = {:.1}%", pct(*fp as u64, *n as u64));
    }
    Ok(())
}
