//! tw-reassemble: `packet` records in, ordered TCP byte streams out (`conn`, `data`, `gap`).

use std::path::PathBuf;
use std::process::ExitCode;

use common::args::{DecapArgs, ReassembleArgs};
use common::cli::{self, CommonArgs};
use common::pipeline::{self, ChainConfig, Level};

common::fast_allocator!();

const EXAMPLES: &str = "Examples:
  tw-capture -r mirror.pcap | tw-decap | tw-reassemble | jq -c 'select(.type==\"conn\")'
  tw-reassemble -r vxlan.pcap --track vlan,vni,endpoints > streams.ndjson
  tw-reassemble -r packets.ndjson --overlap last | jq -c 'select(.type==\"gap\")'";

/// Reassembles TCP streams from `packet` records into `conn`, `data` and `gap`
/// records. Fed frames or a raw capture, it decaps them first (the Decap flags
/// apply). Other record types pass through unchanged.
#[derive(Debug, clap::Parser)]
#[command(name = "tw-reassemble", version, after_help = EXAMPLES)]
struct Args {
    /// Read from this file (pcap, pcapng or NDJSON) instead of stdin (`-` is stdin).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
    #[command(flatten)]
    reassemble: ReassembleArgs,
    #[command(flatten)]
    decap: DecapArgs,
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args: Args = cli::parse_args();
    cli::run("tw-reassemble", &args.common, || {
        let cfg = ChainConfig {
            decap: args.decap.config(),
            reassemble: args.reassemble.config(),
            ..ChainConfig::default()
        };
        pipeline::run_cli(
            "tw-reassemble",
            &args.common,
            args.read.as_deref(),
            Level::Streams,
            cfg,
        )
    })
}
