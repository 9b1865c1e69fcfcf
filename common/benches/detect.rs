//! Per-request detection cost: benign API requests (the common case) and
//! adversarial inputs that must stay linear (long runs, nested encodings).
//! `cargo bench -p tapwatch-common --bench detect`.

use std::hint::black_box;

use common::detect::{raw, DetectConfig, Detector};
use common::record::Http;
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};

fn tx(req: &str) -> Http {
    raw::transactions(req.as_bytes(), raw::NEUTRAL_RESPONSE)
        .into_iter()
        .next()
        .expect("a transaction")
}

fn benign() -> Vec<Http> {
    let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
    let body = r#"{"sku":"SKU-104","quantity":3,"note":"deliver to door","shipping":{"city":"Dublin","street":"12 O'Connell St."}}"#;
    vec![
        tx(&format!("GET /api/v1/users/130 HTTP/1.1\r\nHost: app.example\r\nUser-Agent: {ua}\r\nAccept: application/json\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.c2FtcGxl.002002\r\n\r\n")),
        tx(&format!("GET /api/v1/users?page=2&limit=3&sort=-created_at HTTP/1.1\r\nHost: app.example\r\nUser-Agent: {ua}\r\nAccept: */*\r\nCookie: session=4f2a9c; theme=dark\r\n\r\n")),
        tx(&format!("POST /api/v1/orders HTTP/1.1\r\nHost: app.example\r\nUser-Agent: okhttp/4.12.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())),
    ]
}

/// Benign requests whose values are all new (ids, queries, cookies, bodies),
/// more of them than the verdict memo holds: what detection costs when no
/// value was seen before.
fn benign_unique(n: usize) -> Vec<Http> {
    let words = [
        "door", "blue", "Dublin", "parcel", "O'Brien", "spring", "fast", "left",
    ];
    (0..n)
        .map(|i| {
            let w = |k: usize| words[(i / (k + 1)) % words.len()];
            match i % 3 {
                0 => tx(&format!("GET /api/v1/users/{i} HTTP/1.1\r\nHost: app.example\r\nUser-Agent: app/{}.{}\r\nAccept: application/json\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.c2FtcGxl.{i:06}\r\n\r\n", i % 97, i % 13)),
                1 => tx(&format!("GET /api/v1/search?q={}+{}+{i}&page={}&sort=-created_at HTTP/1.1\r\nHost: app.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:{i}.0)\r\nCookie: session={i:x}f2a9c; theme={}\r\n\r\n", w(1), w(2), i % 50, w(3))),
                _ => {
                    let body = format!(r#"{{"sku":"SKU-{i}","quantity":{},"note":"deliver to the {} {} {i}","shipping":{{"city":"{}","street":"{} O'Connell St."}}}}"#, i % 9, w(1), w(2), w(3), i % 300);
                    tx(&format!("POST /api/v1/orders/{i} HTTP/1.1\r\nHost: app.example\r\nUser-Agent: okhttp/4.{}.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", i % 20, body.len()))
                }
            }
        })
        .collect()
}

fn adversarial() -> Vec<(&'static str, Http)> {
    let long = "'".repeat(16_000);
    let nested = "%25".repeat(4_000) + "3Cscript%3E";
    let parens = "(".repeat(16_000);
    let lookups = "${".repeat(4_000) + "jndi:x" + &"}".repeat(4_000);
    let tags = "<a ".repeat(5_000);
    vec![
        (
            "quotes",
            tx(&format!("GET /?q={long} HTTP/1.1\r\nHost: a\r\n\r\n")),
        ),
        (
            "nested_encoding",
            tx(&format!("GET /?q={nested} HTTP/1.1\r\nHost: a\r\n\r\n")),
        ),
        (
            "parens",
            tx(&format!("GET /?q={parens} HTTP/1.1\r\nHost: a\r\n\r\n")),
        ),
        (
            "lookups",
            tx(&format!(
                "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: {lookups}\r\n\r\n"
            )),
        ),
        (
            "tags",
            tx(&format!("GET /?q={tags} HTTP/1.1\r\nHost: a\r\n\r\n")),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let mut d = Detector::new(DetectConfig::default());
    let reqs = benign();
    c.bench_function("detect/benign_api_request", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % reqs.len();
            let mut n = 0;
            d.push(black_box(&reqs[i]), &mut |_| n += 1);
            n
        })
    });
    let unique = benign_unique(30_000);
    c.bench_function("detect/benign_api_request_unique_values", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % unique.len();
            let mut n = 0;
            d.push(black_box(&unique[i]), &mut |_| n += 1);
            n
        })
    });
    let mut g = c.benchmark_group("detect/adversarial");
    for (name, t) in adversarial() {
        let len = t.request.as_ref().map_or(0, |r| r.uri.len() + 200);
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), &t, |b, t| {
            b.iter(|| {
                let mut n = 0;
                d.push(black_box(t), &mut |_| n += 1);
                n
            })
        });
    }
    g.finish();
}

/// `DETECT_BENCH_COUNT=N` (with `DETECT_BENCH_SET=benign|unique`): N pushes
/// of one set and exit, no criterion: a fixed amount of work for
/// `valgrind --tool=callgrind`, whose instruction count the machine's load
/// cannot distort (divide by N after subtracting a run with N=0).
fn counted(n: usize) {
    let set = std::env::var("DETECT_BENCH_SET").unwrap_or_default();
    let reqs = if set == "unique" {
        benign_unique(30_000)
    } else {
        benign()
    };
    let mut d = Detector::new(DetectConfig::default());
    let mut found = 0;
    for i in 0..n {
        if let Some(t) = reqs.get(i % reqs.len()) {
            d.push(black_box(t), &mut |_| found += 1);
        }
    }
    println!("{n} pushes of {set:?}: {found} findings");
}

criterion_group!(benches, bench);

fn main() {
    if let Some(n) = std::env::var("DETECT_BENCH_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return counted(n);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
