//! API discovery cost per transaction on a realistic mix, like the node's
//! bench capture (nginx serving a JSON API to wrk): GETs of ids, list queries,
//! searches, static files, and POSTs of JSON, every response JSON or a file.
//! The inventory is warm (the common case: the 1000th request to a known
//! endpoint). `cargo bench -p tapwatch-common --bench discover`.
//!
//! `DISCOVER_BENCH_COUNT=N` runs N warm pushes without criterion, for
//! `valgrind --tool=callgrind` (see [`counted`]).

use common::detect::raw;
use common::discover::{DiscoverConfig, Discoverer};
use common::record::Http;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use std::hint::black_box;

fn tx(request: &str, status: &str, content_type: &str, body: &str) -> Http {
    let response = format!(
        "HTTP/1.1 {status}\r\nServer: nginx\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
        body.len()
    );
    raw::transactions(request.as_bytes(), response.as_bytes())
        .into_iter()
        .next()
        .expect("a transaction")
}

fn get(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: api.bench.test\r\nUser-Agent: wrk\r\nAccept: application/json\r\n\r\n")
}

fn post(target: &str, body: &str) -> String {
    format!(
        "POST {target} HTTP/1.1\r\nHost: api.bench.test\r\nUser-Agent: wrk\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// 100 transactions in the capture's proportions.
fn mix() -> Vec<Http> {
    const JSON: &str = "application/json";
    let mut out = vec![];
    for i in 0..100u32 {
        let id = 1000 + i * 977 % 90_000;
        let t = match i % 10 {
            0..=3 => tx(
                &get(&format!("/api/users/{id}")),
                "200 OK",
                JSON,
                &format!(
                    r#"{{"id":{id},"name":"user {id}","email":"user{id}@example.com","roles":["reader"],"created":"2026-01-01T00:00:00Z"}}"#
                ),
            ),
            4 => tx(
                &get(&format!("/api/users/{id}/orders?page={}", i % 20)),
                "200 OK",
                JSON,
                &format!(
                    r#"{{"user":{id},"orders":[{{"id":1,"total":12.5}},{{"id":2,"total":99.0}},{{"id":3,"total":4.2}}],"page":"{}"}}"#,
                    i % 20
                ),
            ),
            5 => tx(
                &get(&format!("/api/orders?page={}&per_page=50", i * 7)),
                "200 OK",
                JSON,
                &format!(
                    r#"{{"page":"{}","per_page":"50","items":[{{"id":1,"sku":"A-1","qty":2}},{{"id":2,"sku":"B-7","qty":1}}],"total":1234}}"#,
                    i * 7
                ),
            ),
            6 => tx(
                &post(
                    "/api/orders",
                    &format!(
                        r#"{{"sku":"SKU-{id}","qty":{},"note":"leave at door"}}"#,
                        i % 5
                    ),
                ),
                "201 Created",
                JSON,
                r#"{"created":true,"id":4711,"status":"pending"}"#,
            ),
            7 => tx(
                &post("/api/login", r#"{"username":"alice","password":"hunter2"}"#),
                "200 OK",
                JSON,
                r#"{"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig","expires_in":3600}"#,
            ),
            8 => tx(
                &get(&format!("/search?q=coffee%20beans&page={}", i % 5)),
                "200 OK",
                JSON,
                r#"{"q":"coffee beans","hits":[{"id":7,"title":"first hit"},{"id":9,"title":"second hit"}],"took_ms":3}"#,
            ),
            _ => tx(
                &get("/static/app.js"),
                "200 OK",
                "application/javascript",
                "console.log(1)",
            ),
        };
        out.push(t);
    }
    out
}

/// A discoverer that has seen the mix 20 times: every endpoint known, every
/// buffer grown.
fn warm(txs: &[Http]) -> Discoverer {
    let mut d = Discoverer::new(DiscoverConfig {
        detect: false,
        ..DiscoverConfig::default()
    });
    for _ in 0..20 {
        txs.iter().for_each(|t| d.push_http(Box::new(t.clone())));
    }
    d
}

fn bench(c: &mut Criterion) {
    let txs = mix();
    let mut d = warm(&txs);
    let mut g = c.benchmark_group("discover");
    g.throughput(Throughput::Elements(txs.len() as u64));
    g.bench_function("push_http/api_mix", |b| {
        b.iter_batched(
            || txs.iter().map(|t| Box::new(t.clone())).collect::<Vec<_>>(),
            |batch| batch.into_iter().for_each(|t| d.push_http(t)),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// `DISCOVER_BENCH_COUNT=N`: N warm pushes of the mix (the transactions
/// cloned up front) and exit, no criterion: a fixed amount of work for
/// `valgrind --tool=callgrind`, whose instruction count the machine's load
/// cannot distort (divide by N after subtracting a run with N=0).
fn counted(n: usize) {
    let txs = mix();
    let mut d = warm(&txs);
    let batch: Vec<Box<Http>> = (0..n)
        .filter_map(|i| txs.get(i % txs.len()))
        .map(|t| Box::new(t.clone()))
        .collect();
    for t in batch {
        d.push_http(black_box(t));
    }
    println!("{n} pushes: {} learned", d.stats().learned);
}

criterion_group!(benches, bench);

fn main() {
    if let Some(n) = std::env::var("DISCOVER_BENCH_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return counted(n);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
