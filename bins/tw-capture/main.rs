//! tw-capture: frames from capture files, interfaces or mirror tunnels, as NDJSON or pcap.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use common::capture::{filter_spec::FilterSpec, tunnel, Options, Output};

const EXAMPLES: &str = "Examples:
  tw-capture -r a.pcap -r b.pcapng | tw-decap | jq -c .ip
  sudo tw-capture --filter eth0:80 --filter eth0:443 | tw-decap | tw-detect
  tw-capture --vxlan-listen 0.0.0.0:4789 --exclude-vni 99 -w mirror.pcap";

/// Capture frames from pcap/pcapng files, network interfaces (libpcap) or
/// VXLAN/Geneve mirror tunnels, and write them as NDJSON `frame` records.
#[derive(clap::Parser)]
#[command(version, after_help = EXAMPLES)]
struct Args {
    /// Read a pcap or pcapng file (`-` for stdin); repeat to read several in order.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Capture live on an interface (root or CAP_NET_RAW); repeatable.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    interfaces: Vec<String>,
    /// Capture IFACE:PORT (TCP port on an interface), IFACE: (all its traffic) or :PORT (any interface); repeatable.
    #[arg(long = "filter", value_name = "IFACE:PORT")]
    filters: Vec<FilterSpec>,
    /// BPF filter for live capture, as in tcpdump (and-ed with --filter ports).
    #[arg(short = 'f', long = "bpf", value_name = "BPF")]
    bpf: Option<String>,
    /// Bytes kept of each live frame.
    #[arg(long, default_value_t = common::capture::DEFAULT_SNAPLEN, value_name = "BYTES")]
    snaplen: u32,
    /// Do not put interfaces in promiscuous mode.
    #[arg(long)]
    no_promisc: bool,
    /// Receive VXLAN mirror traffic on this UDP address (e.g. 0.0.0.0:4789; no root needed); repeatable.
    #[arg(long, value_name = "ADDR:PORT")]
    vxlan_listen: Vec<SocketAddr>,
    /// Receive Geneve mirror traffic on this UDP address (e.g. 0.0.0.0:6081); repeatable.
    #[arg(long, value_name = "ADDR:PORT")]
    geneve_listen: Vec<SocketAddr>,
    /// Keep only this VNI on the listeners; repeatable (default: all).
    #[arg(long = "vni", value_name = "N", value_parser = tunnel::parse_vni)]
    vni: Vec<u32>,
    /// Drop this VNI on the listeners; repeatable.
    #[arg(long = "exclude-vni", value_name = "N", value_parser = tunnel::parse_vni)]
    exclude_vni: Vec<u32>,
    /// Stop after N frames.
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Stop live capture and listeners after SECS seconds (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    duration: Option<Duration>,
    /// Write classic pcap to FILE (`-` for stdout) instead of NDJSON records.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    write: Option<PathBuf>,
    #[command(flatten)]
    common: common::cli::CommonArgs,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|f| Duration::try_from_secs_f64(f).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{s:?} is not a positive number of seconds"))
}

fn main() -> ExitCode {
    let args: Args = common::cli::parse_args();
    let opts = Options {
        files: args.files,
        interfaces: args.interfaces,
        filters: args.filters,
        bpf: args.bpf,
        snaplen: args.snaplen,
        promisc: !args.no_promisc,
        vxlan_listen: args.vxlan_listen,
        geneve_listen: args.geneve_listen,
        vni: tunnel::VniFilter::new(args.vni, args.exclude_vni),
        count: args.count,
        duration: args.duration,
    };
    let output = args.write.map_or(Output::Ndjson, Output::Pcap);
    common::cli::run("tw-capture", &args.common, || {
        common::capture::run_cli(&opts, &output, &args.common)
    })
}
