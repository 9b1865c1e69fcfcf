//! Speed: keep-alive connections of request/response pairs built in memory,
//! the same bytes through both parsers on one core; medians of repeated runs.
//!
//! Arguments: PAIRS RUNS PAIRS_PER_CONN [PARSER_FILTER] [plain|gzip].

use std::borrow::Cow;
use std::io::Write;

use common::http::{HttpConfig, HttpParser};
use common::record::{Conn, ConnEvent, Data, Dir, Record, Ts};

use crate::htp::{HtpConfig, HtpConn};

struct Workload {
    name: &'static str,
    recs: Vec<Record<'static>>,
    bytes: usize,
    pairs: usize,
}

fn json_body(i: usize, n: usize) -> String {
    let mut s = String::from("{\"items\":[");
    for k in 0..n {
        if k > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "{{\"id\":{},\"name\":\"item-{k}\",\"price\":{}.99,\"tags\":[\"a\",\"b\"]}}",
            i * 10 + k,
            k * 3
        ));
    }
    s.push_str("]}");
    s
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(b);
    e.finish().unwrap_or_default()
}

fn build(name: &'static str, pairs: usize, per_conn: usize, chunked_gzip: bool) -> Workload {
    let ts = |i: usize| {
        Ts::from_micros(
            1_714_564_800 + (i / 1_000_000) as i64,
            (i % 1_000_000) as u32,
        )
    };
    let mut recs = Vec::new();
    let mut bytes = 0;
    let conns = pairs.div_ceil(per_conn);
    let mut t = 0;
    for c in 0..conns {
        let flow = format!("C{c:016x}");
        recs.push(Record::Conn(Conn {
            event: ConnEvent::Open,
            ts: ts(t),
            flow: flow.clone(),
            community_id: Some("1:bench".into()),
            client: Some(format!(
                "10.0.{}.{}:{}",
                c / 250 % 250,
                c % 250 + 1,
                40000 + c % 20000
            )),
            server: Some("10.1.0.9:80".into()),
            tunnel: Some(vec![]),
            midstream: Some(false),
            reason: None,
            bytes_c2s: None,
            bytes_s2c: None,
        }));
        let (mut c2s, mut s2c) = (0u64, 0u64);
        for i in 0..per_conn.min(pairs - c * per_conn) {
            t += 1;
            let req = format!(
                "GET /api/v1/items/{i}?page=2&sort=name HTTP/1.1\r\nHost: app.example.com\r\n\
                 User-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\nAccept: application/json\r\n\
                 Accept-Encoding: gzip, deflate, br\r\nCookie: session=abcdef0123456789\r\n\r\n"
            )
            .into_bytes();
            let resp = if chunked_gzip {
                let body = gzip(json_body(i, 24).as_bytes());
                let (a, b) = body.split_at(body.len() / 2);
                let mut r =
                    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n\
                    Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                        .to_vec();
                for part in [a, b] {
                    r.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                    r.extend_from_slice(part);
                    r.extend_from_slice(b"\r\n");
                }
                r.extend_from_slice(b"0\r\n\r\n");
                r
            } else {
                let body = json_body(i, 3);
                format!(
                    "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n\
                     Cache-Control: no-store\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes()
            };
            for (dir, msg, off) in [(Dir::C2s, req, &mut c2s), (Dir::S2c, resp, &mut s2c)] {
                bytes += msg.len();
                let len = msg.len() as u64;
                recs.push(Record::Data(Data {
                    ts: ts(t),
                    flow: flow.clone(),
                    dir,
                    off: *off,
                    data: Cow::Owned(msg),
                }));
                *off += len;
            }
        }
        recs.push(Record::Conn(Conn {
            event: ConnEvent::Close,
            ts: ts(t),
            flow,
            community_id: None,
            client: None,
            server: None,
            tunnel: None,
            midstream: None,
            reason: Some("fin".into()),
            bytes_c2s: Some(c2s),
            bytes_s2c: Some(s2c),
        }));
    }
    Workload {
        name,
        recs,
        bytes,
        pairs,
    }
}

fn run_ours(w: &Workload, cfg: &HttpConfig) -> u64 {
    let mut p = HttpParser::new(cfg.clone());
    let mut n = 0u64;
    for r in &w.recs {
        p.push(r, &mut |h| {
            n += 1;
            std::hint::black_box(h);
        });
    }
    p.finish(&mut |_| n += 1);
    n
}

fn run_htp(w: &Workload, cfg: &HtpConfig) -> u64 {
    let mut n = 0u64;
    let mut conn: Option<HtpConn> = None;
    for r in &w.recs {
        match r {
            Record::Conn(c) if c.event == ConnEvent::Open => conn = Some(HtpConn::open(cfg, false)),
            Record::Conn(_) => {
                if let Some(c) = conn.take() {
                    n += c.close().2;
                }
            }
            Record::Data(d) => {
                if let Some(c) = conn.as_mut() {
                    c.feed(
                        if d.dir == Dir::C2s { 0 } else { 1 },
                        Some(&d.data),
                        d.data.len(),
                    );
                }
            }
            _ => {}
        }
    }
    n
}

/// CPU time of this thread: the machine is shared, so wall-clock time would
/// count the time other processes held the core.
fn cpu_secs() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: t is a valid timespec for clock_gettime to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

pub fn run(args: &[String]) -> i32 {
    let num = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let (pairs, runs, per_conn) = (num(0, 100_000), num(1, 5), num(2, 100));
    // Optional: run only the parsers whose name contains this (for callgrind:
    // `none` runs nothing, so its count is the workload's construction).
    let only = args.get(3).cloned().unwrap_or_default();
    // Optional: `plain` or `gzip` runs one workload only.
    let which = args.get(4).map(String::as_str).unwrap_or("");
    let ours_cfg = HttpConfig::default();
    let lazy_cfg = HttpConfig {
        body_cap: 0,
        ..HttpConfig::default()
    };
    let htp_cfg = HtpConfig::new();
    println!("| workload | parser | transactions/s | MB/s | txs |");
    println!("|---|---|---|---|---|");
    let mut loads = Vec::new();
    if which != "gzip" {
        loads.push(build("json, Content-Length", pairs, per_conn, false));
    }
    if which != "plain" {
        loads.push(build("json, chunked + gzip", pairs, per_conn, true));
    }
    for w in loads {
        type Runner<'a> = Box<dyn Fn(&Workload) -> u64 + 'a>;
        let parsers: Vec<(&str, Runner)> = vec![
            (
                "ours (bodies decoded)",
                Box::new(|w| run_ours(w, &ours_cfg)),
            ),
            ("ours (body_cap 0)", Box::new(|w| run_ours(w, &lazy_cfg))),
            ("suricata-htp", Box::new(|w| run_htp(w, &htp_cfg))),
        ];
        let parsers: Vec<(&str, Runner)> = parsers
            .into_iter()
            .filter(|(n, _)| n.contains(&only))
            .collect();
        let mut secs: Vec<Vec<f64>> = vec![Vec::new(); parsers.len()];
        let mut txs = vec![0u64; parsers.len()];
        for _ in 0..runs {
            // Interleaved so a noisy neighbour hurts every parser alike.
            for (k, (_, f)) in parsers.iter().enumerate() {
                let start = cpu_secs();
                txs[k] = f(&w);
                secs[k].push(cpu_secs() - start);
            }
        }
        for (k, (name, _)) in parsers.iter().enumerate() {
            let s = median(&mut secs[k]);
            println!(
                "| {} ({} pairs, {:.1} MB) | {name} | {:.0} | {:.0} | {} |",
                w.name,
                w.pairs,
                w.bytes as f64 / 1e6,
                txs[k] as f64 / s,
                w.bytes as f64 / 1e6 / s,
                txs[k]
            );
        }
    }
    println!(
        "(median of {runs} runs of thread CPU time, one thread, {per_conn} pairs per connection)"
    );
    0
}
