//! tw-reassemble: `packet` records in, ordered TCP byte streams out (`conn`, `data`, `gap`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use common::cli::{self, CommonArgs};
use common::reassemble::driver::{parse_duration, parse_size, run_cli, Options};
use common::reassemble::{OverlapPolicy, ReassemblyConfig, TrackSet};

/// Reassembles TCP streams from `packet` records (tw-decap output) into `conn`,
/// `data` and `gap` records. Other record types pass through unchanged.
#[derive(Debug, Parser)]
#[command(name = "tw-reassemble", version, after_help = EXAMPLES)]
struct Args {
    /// Read NDJSON records from FILE instead of stdin (`-` is stdin).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
    /// Which copy wins when segments overlap: `first` or `last` (bytes not yet emitted).
    #[arg(long, default_value = "first", value_parser = OverlapPolicy::parse)]
    overlap: OverlapPolicy,
    /// Tunnel identity that separates flows: any of vlan,vni,endpoints, or none.
    #[arg(long, default_value = "vlan,vni", value_parser = TrackSet::parse)]
    track: TrackSet,
    /// Close a flow after this much packet time without packets.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Give up a hole (emit a gap) after this much packet time.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    gap_timeout: Duration,
    /// Give up a hole the peer ACKed past after this much packet time.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    ack_grace: Duration,
    /// Drop segments starting further than this ahead of the stream.
    #[arg(long, default_value = "16MiB", value_parser = parse_size)]
    window: usize,
    /// Out-of-order bytes buffered per direction; past it the oldest hole becomes a gap.
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    max_ooo: usize,
    /// Out-of-order bytes buffered over all flows; past it flows are evicted.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    max_buffered: usize,
    /// Flows held at once; past it the least recently active is evicted.
    #[arg(long, default_value_t = 1_000_000)]
    max_flows: usize,
    /// Identical copies of a segment within this time are dropped (0 disables).
    #[arg(long, default_value = "20ms", value_parser = parse_duration)]
    dedup_window: Duration,
    /// How long a tuple closed by FIN/RST ignores late packets.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    closed_linger: Duration,
    #[command(flatten)]
    common: CommonArgs,
}

const EXAMPLES: &str = "Examples:
  tw-capture -r mirror.pcap | tw-decap | tw-reassemble | tw-http-parse
  tw-decap -r vxlan.pcap | tw-reassemble --track vlan,vni,endpoints > streams.ndjson
  tw-reassemble -r packets.ndjson --overlap last | jq -c 'select(.type==\"gap\")'";

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = Options {
        input: args.read,
        config: ReassemblyConfig {
            overlap: args.overlap,
            track: args.track,
            idle_timeout: args.idle_timeout,
            gap_timeout: args.gap_timeout,
            ack_grace: args.ack_grace,
            window: args.window as u64,
            max_ooo: args.max_ooo,
            max_buffered: args.max_buffered,
            max_flows: args.max_flows,
            dedup_window: args.dedup_window,
            closed_linger: args.closed_linger,
            ..ReassemblyConfig::default()
        },
    };
    cli::run("tw-reassemble", &args.common, || {
        run_cli("tw-reassemble", &args.common, &opts)
    })
}
