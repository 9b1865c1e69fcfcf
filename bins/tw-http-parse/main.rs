//! tw-http-parse: `conn`/`data`/`gap` records in, one `http` record per
//! HTTP/1.x transaction or HTTP/2 stream out. The logic lives in `common::http`.

use std::path::PathBuf;
use std::process::ExitCode;

use common::args::{DecapArgs, HttpArgs, ReassembleArgs};
use common::cli::{self, CommonArgs};
use common::pipeline::{self, ChainConfig, Level};

common::fast_allocator!();

const EXAMPLES: &str = "Examples:
  tw-http-parse -r capture.pcap | jq -c '{uri: .request.uri, status: .response.status}'
  tw-decap -r mirror.pcap | tw-reassemble | tw-http-parse --trusted-proxy 10.0.0.0/8 | jq -r .real_ip
  tw-reassemble < packets.ndjson | tw-http-parse --no-bodies | jq -r '.anomalies[]'";

/// Parse HTTP/1.x and clear-text HTTP/2 requests and responses from
/// reassembled TCP streams (`conn`, `data`, `gap`), pairing each response with
/// its request. Fed packets, frames or a raw capture, it runs the earlier
/// stages itself (their flags apply). Other record types pass through.
#[derive(Debug, clap::Parser)]
#[command(name = "tw-http-parse", version, after_help = EXAMPLES)]
struct Args {
    /// Read from this file (pcap, pcapng or NDJSON) instead of stdin (`-` is stdin).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
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
    cli::run("tw-http-parse", &args.common, || {
        let cfg = ChainConfig {
            decap: args.decap.config(),
            reassemble: args.reassemble.config(),
            http: args.http.config(),
            ..ChainConfig::default()
        };
        pipeline::run_cli(
            "tw-http-parse",
            &args.common,
            args.read.as_deref(),
            Level::Http,
            cfg,
        )
    })
}
