//! tw-detect: `http` records in; each passed on unchanged, followed by the
//! `attack` and `vuln` records it caused. The logic lives in `common::detect`.

use std::path::PathBuf;
use std::process::ExitCode;

use common::args::{DecapArgs, DetectArgs, HttpArgs, ReassembleArgs};
use common::cli::{self, CommonArgs};
use common::pipeline::{self, ChainConfig, Level};

common::fast_allocator!();

const EXAMPLES: &str = "Examples:
  tw-detect -r capture.pcap --findings-only | jq -c 'select(.type==\"attack\") | {uri, hits: [.hits[].class]}'
  tw-http-parse -r mirror.pcap | tw-detect | tw-discover > inventory.ndjson
  tw-detect --findings-only --disable scanner --allow-path /healthz < http.ndjson | jq -r 'select(.type==\"vuln\") | .class'";

/// Detect attacks in HTTP requests (SQL injection, XSS, command injection,
/// traversal, SSRF, Log4Shell, template injection, XXE, NoSQL, ...), judge
/// from the response whether they worked, report passive weaknesses the
/// responses reveal (stack traces, secrets, old servers, insecure cookies),
/// and track brute force and enumeration per client. Each `http` record is
/// passed on unchanged before the `attack`/`vuln` records it caused. Fed
/// streams, packets, frames or a raw capture, it runs the earlier stages
/// itself (their flags apply). Other record types pass through.
#[derive(Debug, clap::Parser)]
#[command(name = "tw-detect", version, after_help = EXAMPLES)]
struct Args {
    /// Read from this file (pcap, pcapng or NDJSON) instead of stdin (`-` is stdin).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
    #[command(flatten)]
    detect: DetectArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    reassemble: ReassembleArgs,
    #[command(flatten)]
    decap: DecapArgs,
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args: Args = cli::parse_args();
    cli::run("tw-detect", &args.common, || {
        let cfg = ChainConfig {
            decap: args.decap.config(),
            reassemble: args.reassemble.config(),
            http: args.http.config(),
            detect: args.detect.config()?,
            ..ChainConfig::default()
        };
        pipeline::run_cli(
            "tw-detect",
            &args.common,
            args.read.as_deref(),
            Level::Detect,
            cfg,
        )
    })
}
