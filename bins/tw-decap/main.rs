//! tw-decap: strips encapsulation and emits one `packet` record per TCP segment.

use std::path::PathBuf;
use std::process::ExitCode;

use common::args::DecapArgs;
use common::cli::{self, CommonArgs};
use common::pipeline::{self, ChainConfig, Level};

common::fast_allocator!();

const EXAMPLES: &str = "Examples:
  tw-decap -r mirror.pcap | jq -c 'select(.tcp.dport == 80)'
  tw-capture -i eth1 | tw-decap --vni 7 --port 80 --port 443 | tw-reassemble
  tw-decap --ignore-ip 10.0.0.0/8 --verify-checksums < capture.pcapng > packets.ndjson";

/// Strip VLAN, MPLS, GRE, ERSPAN, VXLAN, Geneve and IP-in-IP encapsulation,
/// reassemble IP fragments, and emit one `packet` record per TCP segment.
/// Reads raw pcap/pcapng or NDJSON `frame` records (other records pass through).
#[derive(Debug, clap::Parser)]
#[command(name = "tw-decap", version, after_help = EXAMPLES)]
struct Args {
    /// Read from this file (pcap, pcapng or NDJSON) instead of stdin.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
    #[command(flatten)]
    decap: DecapArgs,
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args: Args = cli::parse_args();
    cli::run("tw-decap", &args.common, || {
        let cfg = ChainConfig {
            decap: args.decap.config(),
            ..ChainConfig::default()
        };
        pipeline::run_cli(
            "tw-decap",
            &args.common,
            args.read.as_deref(),
            Level::Packets,
            cfg,
        )
    })
}
