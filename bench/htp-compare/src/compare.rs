//! Correctness: the same `conn`/`data`/`gap` records through both parsers,
//! compared per transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::http::{HttpConfig, HttpParser};
use common::record::{record_type, ConnEvent, Dir, Http, Record};

use crate::htp::{HtpConfig, HtpConn, Tx};

/// Fields compared; anomalies are shown, not compared (the vocabularies differ).
const FIELDS: &[&str] = &[
    "method",
    "uri",
    "status",
    "req_hdrs",
    "resp_hdrs",
    "req_body",
    "resp_body",
];

fn field(t: &Tx, f: &str) -> String {
    match f {
        "method" => t.method.clone().unwrap_or_else(|| "-".into()),
        "uri" => t.uri.clone().unwrap_or_else(|| "-".into()),
        "status" => t.status.map_or("-".into(), |s| s.to_string()),
        "req_hdrs" => t.req_headers.to_string(),
        "resp_hdrs" => t.resp_headers.to_string(),
        "req_body" => t.req_body.to_string(),
        "resp_body" => t.resp_body.to_string(),
        _ => String::new(),
    }
}

/// Distinct header names: libhtp folds repeated fields into one.
fn distinct(h: &[(String, String)]) -> usize {
    h.iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect::<BTreeSet<_>>()
        .len()
}

fn ours_tx(h: &Http) -> Tx {
    let mut notes = h.anomalies.clone();
    if !h.interim.is_empty() {
        notes.push(format!("interim:{:?}", h.interim));
    }
    let mut t = Tx {
        notes,
        ..Tx::default()
    };
    if let Some(q) = &h.request {
        t.method = Some(q.method.clone());
        t.uri = Some(q.uri.clone());
        t.req_headers = distinct(&q.headers);
        t.req_body = q.body_len;
        if q.version != "HTTP/1.1" {
            t.notes.push(q.version.clone());
        }
    }
    if let Some(r) = &h.response {
        t.status = Some(r.status);
        t.resp_headers = distinct(&r.headers);
        t.resp_body = r.body_len;
    }
    t
}

fn load(path: &Path) -> Result<Vec<u8>, String> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext == "pcap" || ext == "pcapng" {
        let bin = std::env::var("TW_REASSEMBLE").unwrap_or_else(|_| "tw-reassemble".into());
        let out = Command::new(&bin)
            .arg("-q")
            .arg("-r")
            .arg(path)
            .output()
            .map_err(|e| format!("{bin}: {e}"))?;
        Ok(out.stdout)
    } else {
        std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

pub struct Outcome {
    pub ours: usize,
    pub htp: usize,
    pub agree: usize,
    pub diffs: BTreeMap<&'static str, usize>,
    pub detail: Vec<String>,
}

/// Both parsers over one NDJSON stream of reassembly records.
pub fn compare(ndjson: &[u8], all: bool) -> Outcome {
    let mut ours = HttpParser::new(HttpConfig::default());
    let mut ours_out: Vec<Http> = Vec::new();
    let cfg = HtpConfig::new();
    let mut open: BTreeMap<String, HtpConn> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut htp_out: BTreeMap<String, (Vec<Tx>, Vec<String>)> = BTreeMap::new();
    let mut close = |flow: &str, open: &mut BTreeMap<String, HtpConn>| {
        if let Some(c) = open.remove(flow) {
            let (txs, logs, _) = c.close();
            let e = htp_out.entry(flow.to_string()).or_default();
            e.0.extend(txs);
            e.1.extend(logs);
        }
    };
    for line in ndjson.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let rec = match record_type(line).as_deref() {
            Some("conn") => serde_json::from_slice(line).map(Record::Conn),
            Some("data") => serde_json::from_slice(line).map(Record::Data),
            Some("gap") => serde_json::from_slice(line).map(Record::Gap),
            _ => continue,
        };
        let Ok(rec) = rec else { continue };
        ours.push(&rec, &mut |h| ours_out.push(h));
        let (flow, dir, data, len) = match &rec {
            Record::Conn(c) => {
                if !order.contains(&c.flow) {
                    order.push(c.flow.clone());
                }
                match c.event {
                    ConnEvent::Open => {
                        close(&c.flow, &mut open);
                        open.insert(c.flow.clone(), HtpConn::open(&cfg, true));
                    }
                    _ => close(&c.flow, &mut open),
                }
                continue;
            }
            Record::Data(d) => (&d.flow, d.dir, Some(&d.data[..]), d.data.len()),
            Record::Gap(g) => (&g.flow, g.dir, None, g.len as usize),
            _ => continue,
        };
        if !order.contains(flow) {
            order.push(flow.clone());
        }
        let conn = open
            .entry(flow.clone())
            .or_insert_with(|| HtpConn::open(&cfg, true));
        conn.feed(if dir == Dir::C2s { 0 } else { 1 }, data, len);
    }
    ours.finish(&mut |h| ours_out.push(h));
    let flows: Vec<String> = open.keys().cloned().collect();
    for f in flows {
        close(&f, &mut open);
    }

    let mut by_flow: BTreeMap<String, Vec<Http>> = BTreeMap::new();
    for h in ours_out {
        by_flow.entry(h.flow.clone()).or_default().push(h);
    }
    let mut o = Outcome {
        ours: 0,
        htp: 0,
        agree: 0,
        diffs: BTreeMap::new(),
        detail: Vec::new(),
    };
    for flow in &order {
        let mut mine = by_flow.remove(flow).unwrap_or_default();
        mine.sort_by_key(|h| h.seq);
        let mine: Vec<Tx> = mine.iter().map(ours_tx).collect();
        let (theirs, logs) = htp_out.remove(flow).unwrap_or_default();
        o.ours += mine.len();
        o.htp += theirs.len();
        for i in 0..mine.len().max(theirs.len()) {
            let (a, b) = (mine.get(i), theirs.get(i));
            let differing: Vec<&'static str> = match (a, b) {
                (Some(a), Some(b)) => FIELDS
                    .iter()
                    .copied()
                    .filter(|f| field(a, f) != field(b, f))
                    .collect(),
                _ => vec!["missing"],
            };
            if differing.is_empty() {
                o.agree += 1;
            }
            for d in &differing {
                *o.diffs.entry(d).or_default() += 1;
            }
            if !differing.is_empty() || all {
                let show = |t: Option<&Tx>| {
                    t.map_or("(none)".to_string(), |t| {
                        format!(
                            "{} {} -> {} hdrs {}/{} body {}/{} {:?}",
                            field(t, "method"),
                            field(t, "uri"),
                            field(t, "status"),
                            t.req_headers,
                            t.resp_headers,
                            t.req_body,
                            t.resp_body,
                            t.notes
                        )
                    })
                };
                o.detail.push(format!(
                    "  {flow} tx {i} differs in {differing:?}\n    ours: {}\n    htp:  {}",
                    show(a),
                    show(b)
                ));
            }
        }
        if !logs.is_empty() {
            o.detail.push(format!("  {flow} htp log: {logs:?}"));
        }
    }
    o
}

pub fn run(args: &[String]) -> i32 {
    let all = args.iter().any(|a| a == "--all");
    println!("| scenario | txs ours | txs htp | agree | differing fields |");
    println!("|---|---|---|---|---|");
    let mut details = Vec::new();
    for a in args.iter().filter(|a| !a.starts_with("--")) {
        let path = Path::new(a);
        let name = path
            .parent()
            .and_then(|p| p.file_name())
            .map_or_else(|| a.clone(), |n| n.to_string_lossy().into_owned());
        let bytes = match load(path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        let o = compare(&bytes, all);
        if o.ours == 0 && o.htp == 0 {
            continue; // not HTTP/1 at all
        }
        let diffs: Vec<String> = o.diffs.iter().map(|(k, v)| format!("{k} x{v}")).collect();
        let n = o.ours.max(o.htp);
        println!(
            "| {name} | {} | {} | {}/{} | {} |",
            o.ours,
            o.htp,
            o.agree,
            n,
            if diffs.is_empty() {
                "-".into()
            } else {
                diffs.join(", ")
            }
        );
        if !o.detail.is_empty() {
            details.push(format!("{name}:\n{}", o.detail.join("\n")));
        }
    }
    if !details.is_empty() {
        println!("\nDetails:\n{}", details.join("\n"));
    }
    0
}
