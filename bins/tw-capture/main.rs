//! tw-capture: frames from capture files, interfaces or mirror tunnels, as NDJSON or pcap.

use std::path::PathBuf;
use std::process::ExitCode;

use common::args::CaptureArgs;
use common::capture::{tunnel, Output};

common::fast_allocator!();

const EXAMPLES: &str = "Examples:
  tw-capture -r a.pcap -r b.pcapng | tw-decap | jq -c .ip
  sudo tw-capture --filter eth0:80 --filter eth0:443 | tw-decap | tw-detect
  tw-capture --vxlan-listen 0.0.0.0:4789 --exclude-vni 99 -w mirror.pcap";

/// Capture frames from pcap/pcapng files, network interfaces (libpcap) or
/// VXLAN/Geneve mirror tunnels, and write them as NDJSON `frame` records.
#[derive(clap::Parser)]
#[command(version, after_help = EXAMPLES)]
struct Args {
    #[command(flatten)]
    capture: CaptureArgs,
    /// Keep only this VNI on the listeners; repeatable (default: all).
    #[arg(long = "vni", value_name = "N", value_parser = tunnel::parse_vni)]
    vni: Vec<u32>,
    /// Drop this VNI on the listeners; repeatable.
    #[arg(long = "exclude-vni", value_name = "N", value_parser = tunnel::parse_vni)]
    exclude_vni: Vec<u32>,
    /// Stop after N frames.
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Write classic pcap to FILE (`-` for stdout) instead of NDJSON records.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    write: Option<PathBuf>,
    #[command(flatten)]
    common: common::cli::CommonArgs,
}

fn main() -> ExitCode {
    let args: Args = common::cli::parse_args();
    let vni = tunnel::VniFilter::new(args.vni.iter().copied(), args.exclude_vni.iter().copied());
    let opts = args.capture.options(vni, args.count);
    let output = args.write.clone().map_or(Output::Ndjson, Output::Pcap);
    common::cli::run("tw-capture", &args.common, || {
        common::capture::run_cli(&opts, &output, &args.common)
    })
}
