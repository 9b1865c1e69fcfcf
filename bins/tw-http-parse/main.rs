//! tw-http-parse: `conn`/`data`/`gap` records in, one `http` record per
//! HTTP/1.x transaction or HTTP/2 stream out. The logic lives in `common::http`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use common::cli::{self, CommonArgs};
use common::http::{driver, HttpConfig, RealIpConfig, DEFAULT_REAL_IP_HEADERS};
use common::net::Cidr;

const EXAMPLES: &str = "Examples:
  tw-decap -r capture.pcap | tw-reassemble | tw-http-parse > http.ndjson
  tw-http-parse -r streams.ndjson --trusted-proxy 10.0.0.0/8 | jq -c .real_ip
  tw-reassemble < packets.ndjson | tw-http-parse --no-bodies | jq -r '.anomalies[]'";

/// Parse HTTP/1.x and clear-text HTTP/2 requests and responses from reassembled TCP streams.
#[derive(Parser)]
#[command(name = "tw-http-parse", version, after_help = EXAMPLES)]
struct Args {
    /// Read records from FILE instead of stdin ("-" is stdin).
    #[arg(short, long, value_name = "FILE")]
    read: Option<PathBuf>,
    /// Decoded body bytes kept per message; the full length is still counted.
    #[arg(long, value_name = "BYTES", default_value_t = HttpConfig::default().body_cap)]
    body_cap: usize,
    /// Keep no bodies and decompress nothing (same as --body-cap 0).
    #[arg(long)]
    no_bodies: bool,
    /// Most bytes decompressed per body; past it the body is marked truncated.
    #[arg(long, value_name = "BYTES", default_value_t = HttpConfig::default().decompress_cap)]
    decompress_cap: u64,
    /// Largest decompressed/compressed ratio allowed (past the first 64 KiB).
    #[arg(long, value_name = "N", default_value_t = HttpConfig::default().max_ratio)]
    max_ratio: u64,
    /// A proxy or load balancer whose real-IP headers are believed (address
    /// or CIDR; repeatable). With none, real_ip is the TCP (or PROXY protocol) client.
    #[arg(long, value_name = "CIDR")]
    trusted_proxy: Vec<Cidr>,
    /// Header naming the client behind the proxies (repeatable, first
    /// present wins). Default: X-Forwarded-For, Forwarded, X-Real-IP,
    /// True-Client-IP, CF-Connecting-IP.
    #[arg(long, value_name = "NAME")]
    real_ip_header: Vec<String>,
    /// Largest header block in bytes; a larger one is skipped (anomaly header_too_large).
    #[arg(long, value_name = "BYTES", default_value_t = HttpConfig::default().max_header_bytes)]
    max_header_bytes: usize,
    /// Most header fields per message (at most 1024).
    #[arg(long, value_name = "N", default_value_t = HttpConfig::default().max_headers)]
    max_headers: usize,
    /// Most transactions waiting for a response per connection.
    #[arg(long, value_name = "N", default_value_t = HttpConfig::default().max_queue)]
    max_queue: usize,
    /// Most connections tracked at once; the oldest is flushed to make room.
    #[arg(long, value_name = "N", default_value_t = HttpConfig::default().max_flows)]
    max_flows: usize,
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args: Args = cli::parse_args();
    cli::run("tw-http-parse", &args.common, || {
        let headers = if args.real_ip_header.is_empty() {
            DEFAULT_REAL_IP_HEADERS
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            args.real_ip_header.clone()
        };
        let cfg = HttpConfig {
            body_cap: if args.no_bodies { 0 } else { args.body_cap },
            decompress_cap: args.decompress_cap,
            max_ratio: args.max_ratio,
            max_header_bytes: args.max_header_bytes,
            max_headers: args.max_headers,
            max_queue: args.max_queue,
            max_flows: args.max_flows,
            real_ip: RealIpConfig {
                headers,
                trusted: args.trusted_proxy.clone(),
            },
        };
        let out = std::io::stdout().lock();
        driver::run(
            "tw-http-parse",
            cfg,
            args.read.as_deref(),
            &args.common,
            out,
        )?;
        Ok(())
    })
}
