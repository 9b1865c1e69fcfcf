//! tw-decap: strips encapsulation and emits one `packet` record per TCP segment.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use common::cli::{self, CommonArgs};
use common::decap::{driver, Cidr, DecapConfig, Filter, FragConfig};
use common::io::{open_input, NdjsonWriter};

const EXAMPLES: &str = "Examples:
  tw-decap -r mirror.pcap | jq -c 'select(.tcp.dport == 80)'
  tw-capture -i eth1 | tw-decap --vni 7 --port 80 --port 443 | tw-reassemble
  tw-decap --ignore-ip 10.0.0.0/8 --verify-checksums < capture.pcapng > packets.ndjson";

/// Strip VLAN, MPLS, GRE, ERSPAN, VXLAN, Geneve and IP-in-IP encapsulation,
/// reassemble IP fragments, and emit one `packet` record per TCP segment.
/// Reads raw pcap/pcapng or NDJSON `frame` records (other records pass through).
#[derive(Debug, Parser)]
#[command(name = "tw-decap", version, after_help = EXAMPLES)]
struct Args {
    /// Read from this file (pcap, pcapng or NDJSON) instead of stdin.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
    /// Most layers removed from one frame before it is counted as too_many_layers.
    #[arg(long, default_value_t = 16, value_name = "N")]
    max_depth: usize,
    /// UDP destination port decoded as VXLAN (repeatable; default 4789 and 8472).
    #[arg(long = "vxlan-port", value_name = "PORT")]
    vxlan_port: Vec<u16>,
    /// UDP destination port decoded as Geneve (repeatable; default 6081).
    #[arg(long = "geneve-port", value_name = "PORT")]
    geneve_port: Vec<u16>,
    /// Verify IPv4 header and TCP checksums; drop and count bad ones.
    #[arg(long)]
    verify_checksums: bool,
    /// Seconds of packet time to wait for the rest of a fragmented datagram.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    frag_timeout: u64,
    /// Bytes held for fragment reassembly at most.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    frag_max_bytes: usize,
    /// Datagrams reassembled at once at most.
    #[arg(long, default_value_t = 4096, value_name = "N")]
    frag_max_datagrams: usize,
    /// Keep only packets with this VLAN id anywhere in the stack (repeatable).
    #[arg(long, value_name = "VID")]
    vlan: Vec<u16>,
    /// Drop packets with this VLAN id anywhere in the stack (repeatable).
    #[arg(long, value_name = "VID")]
    exclude_vlan: Vec<u16>,
    /// Keep only packets with this VXLAN or Geneve VNI (repeatable).
    #[arg(long, value_name = "N")]
    vni: Vec<u32>,
    /// Drop packets with this VXLAN or Geneve VNI (repeatable).
    #[arg(long, value_name = "N")]
    exclude_vni: Vec<u32>,
    /// Keep only TCP segments with this port on either side (repeatable).
    #[arg(long, value_name = "PORT")]
    port: Vec<u16>,
    /// Drop packets whose inner source or destination is in this range (repeatable).
    #[arg(long, value_name = "CIDR")]
    ignore_ip: Vec<Cidr>,
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run("tw-decap", &args.common, || {
        let defaults = DecapConfig::default();
        let config = DecapConfig {
            max_depth: args.max_depth,
            vxlan_ports: Some(args.vxlan_port)
                .filter(|p| !p.is_empty())
                .unwrap_or(defaults.vxlan_ports),
            geneve_ports: Some(args.geneve_port)
                .filter(|p| !p.is_empty())
                .unwrap_or(defaults.geneve_ports),
            verify_checksums: args.verify_checksums,
            filter: Filter {
                vlan: args.vlan,
                exclude_vlan: args.exclude_vlan,
                vni: args.vni,
                exclude_vni: args.exclude_vni,
                port: args.port,
                ignore_ip: args.ignore_ip,
            },
            frag: FragConfig {
                max_datagrams: args.frag_max_datagrams,
                max_bytes: args.frag_max_bytes,
                timeout_secs: args.frag_timeout,
            },
        };
        let input = open_input(args.read.as_deref())?;
        let opts = driver::Options {
            config,
            strict: args.common.strict,
            progress: args.common.progress_allowed(),
            stop: Some(cli::shutdown_flag()?),
        };
        let mut out = NdjsonWriter::new(std::io::stdout().lock());
        let report = driver::run(opts, input, &mut out)?;
        report.summary().print("tw-decap", &args.common);
        Ok(())
    })
}
