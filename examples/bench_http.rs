//! In-process throughput of the HTTP parser: a keep-alive workload of `data`
//! records built in memory, pushed through `common::http::HttpParser`.
//! Run through `scripts/bench-http` (release build).
//!
//! Usage: bench_http [FLOWS] [TX_PER_FLOW] [BODY_BYTES]

use std::borrow::Cow;
use std::time::Instant;

use common::http::{HttpConfig, HttpParser};
use common::record::{Conn, ConnEvent, Data, Dir, Record, Ts};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let flows = args.first().copied().unwrap_or(2000);
    let per_flow = args.get(1).copied().unwrap_or(100);
    let body_len = args.get(2).copied().unwrap_or(512);
    let body = "x".repeat(body_len);
    let mut recs: Vec<Record<'static>> = Vec::new();
    let mut bytes = 0usize;
    let ts = |i: usize| {
        Ts::from_micros(
            1_714_564_800 + (i / 1_000_000) as i64,
            (i % 1_000_000) as u32,
        )
    };
    let mut t = 0;
    for f in 0..flows {
        let flow = format!("flow-{f}");
        recs.push(Record::Conn(Conn {
            event: ConnEvent::Open,
            ts: ts(t),
            flow: flow.clone(),
            community_id: Some("1:bench".into()),
            client: Some(format!(
                "10.0.{}.{}:{}",
                f / 250,
                f % 250 + 1,
                40000 + f % 20000
            )),
            server: Some("10.1.0.9:80".into()),
            tunnel: Some(vec![]),
            midstream: Some(false),
            reason: None,
            bytes_c2s: None,
            bytes_s2c: None,
        }));
        let (mut c2s, mut s2c) = (0u64, 0u64);
        for i in 0..per_flow {
            t += 1;
            let req = format!(
                "GET /api/v1/items/{i}?page=2&sort=name HTTP/1.1\r\nHost: app.example.com\r\n\
                 User-Agent: Mozilla/5.0 (X11; Linux x86_64) bench\r\nAccept: application/json\r\n\
                 Accept-Encoding: gzip, deflate, br\r\nCookie: session=abcdef0123456789\r\n\r\n"
            );
            let resp = format!(
                "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n\
                 Cache-Control: no-store\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            for (dir, msg, off) in [(Dir::C2s, req, &mut c2s), (Dir::S2c, resp, &mut s2c)] {
                bytes += msg.len();
                let len = msg.len() as u64;
                recs.push(Record::Data(Data {
                    ts: ts(t),
                    flow: flow.clone().into(),
                    dir,
                    off: *off,
                    data: Cow::Owned(msg.into_bytes()),
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
    let mut best = f64::MAX;
    let mut txs = 0u64;
    for _ in 0..3 {
        let mut p = HttpParser::new(HttpConfig::default());
        let mut n = 0u64;
        let start = Instant::now();
        for r in &recs {
            p.push(r, &mut |h| {
                n += 1;
                std::hint::black_box(h);
            });
        }
        p.finish(&mut |_| n += 1);
        best = best.min(start.elapsed().as_secs_f64());
        txs = n;
    }
    println!(
        "{txs} transactions ({flows} flows x {per_flow}, {body_len}-byte bodies), {:.1} MB: \
         {:.0} transactions/s, {:.0} MB/s (best of 3, one core)",
        bytes as f64 / 1e6,
        txs as f64 / best,
        bytes as f64 / 1e6 / best
    );
}
