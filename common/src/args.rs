//! The command-line flags of each stage, as clap argument groups.
//!
//! One definition per stage, flattened into that stage's binary, into every
//! downstream binary that may run it by promotion (`tw-reassemble -r x.pcap`
//! decaps first, with the decap flags), and into `tapwatch run`. The stage
//! cores themselves know nothing of clap: each group converts to its core's
//! config.

use std::time::Duration;

use clap::Args;

use crate::cli::{parse_duration, parse_size};
use crate::decap::{Cidr, DecapConfig, Filter, FragConfig};
use crate::detect::behaviour::BehaviourConfig;
use crate::detect::passive::PassiveConfig;
use crate::detect::DetectConfig;
use crate::http::{HttpConfig, RealIpConfig, DEFAULT_REAL_IP_HEADERS};
use crate::reassemble::{OverlapPolicy, ReassemblyConfig, TrackSet};

/// Flags of the decap stage.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Decap")]
pub struct DecapArgs {
    /// Most layers removed from one frame before it is counted as too_many_layers.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_depth: usize,
    /// UDP destination port decoded as VXLAN (repeatable; default 4789 and 8472).
    #[arg(long = "vxlan-port", value_name = "PORT")]
    pub vxlan_port: Vec<u16>,
    /// UDP destination port decoded as Geneve (repeatable; default 6081).
    #[arg(long = "geneve-port", value_name = "PORT")]
    pub geneve_port: Vec<u16>,
    /// Verify IPv4 header and TCP checksums; drop and count bad ones.
    #[arg(long)]
    pub verify_checksums: bool,
    /// Seconds of packet time to wait for the rest of a fragmented datagram.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub frag_timeout: u64,
    /// Bytes held for fragment reassembly at most.
    #[arg(long, default_value = "64MiB", value_parser = parse_size, value_name = "SIZE")]
    pub frag_max_bytes: usize,
    /// Datagrams reassembled at once at most.
    #[arg(long, default_value_t = 4096, value_name = "N")]
    pub frag_max_datagrams: usize,
    /// Keep only packets with this VLAN id anywhere in the stack (repeatable).
    #[arg(long, value_name = "VID")]
    pub vlan: Vec<u16>,
    /// Drop packets with this VLAN id anywhere in the stack (repeatable).
    #[arg(long, value_name = "VID")]
    pub exclude_vlan: Vec<u16>,
    /// Keep only packets with this VXLAN or Geneve VNI (repeatable).
    #[arg(long, value_name = "N")]
    pub vni: Vec<u32>,
    /// Drop packets with this VXLAN or Geneve VNI (repeatable).
    #[arg(long, value_name = "N")]
    pub exclude_vni: Vec<u32>,
    /// Keep only TCP segments with this port on either side (repeatable).
    #[arg(long, value_name = "PORT")]
    pub port: Vec<u16>,
    /// Drop packets whose inner source or destination is in this range (repeatable).
    #[arg(long, value_name = "CIDR")]
    pub ignore_ip: Vec<Cidr>,
}

impl DecapArgs {
    pub fn config(&self) -> DecapConfig {
        let defaults = DecapConfig::default();
        let or_default = |given: &[u16], default: Vec<u16>| {
            if given.is_empty() {
                default
            } else {
                given.to_vec()
            }
        };
        DecapConfig {
            max_depth: self.max_depth,
            vxlan_ports: or_default(&self.vxlan_port, defaults.vxlan_ports),
            geneve_ports: or_default(&self.geneve_port, defaults.geneve_ports),
            verify_checksums: self.verify_checksums,
            filter: Filter {
                vlan: self.vlan.clone(),
                exclude_vlan: self.exclude_vlan.clone(),
                vni: self.vni.clone(),
                exclude_vni: self.exclude_vni.clone(),
                port: self.port.clone(),
                ignore_ip: self.ignore_ip.clone(),
            },
            frag: FragConfig {
                max_datagrams: self.frag_max_datagrams,
                max_bytes: self.frag_max_bytes,
                timeout_secs: self.frag_timeout,
            },
        }
    }
}

/// Flags of the reassembly stage.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Reassembly")]
pub struct ReassembleArgs {
    /// Which copy wins when segments overlap: `first` or `last` (bytes not yet emitted).
    #[arg(long, default_value = "first", value_parser = OverlapPolicy::parse)]
    pub overlap: OverlapPolicy,
    /// Tunnel identity that separates flows: any of vlan,vni,endpoints, or none.
    #[arg(long, default_value = "vlan,vni", value_parser = TrackSet::parse)]
    pub track: TrackSet,
    /// Close a flow after this much packet time without packets.
    #[arg(long, default_value = "300s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Give up a hole (emit a gap) after this much packet time.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub gap_timeout: Duration,
    /// Give up a hole the peer ACKed past after this much packet time.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    pub ack_grace: Duration,
    /// Drop segments starting further than this ahead of the stream.
    #[arg(long, default_value = "16MiB", value_parser = parse_size)]
    pub window: usize,
    /// Out-of-order bytes buffered per direction; past it the oldest hole becomes a gap.
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    pub max_ooo: usize,
    /// Out-of-order bytes buffered over all flows; past it flows are evicted.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub max_buffered: usize,
    /// Flows held at once; past it the least recently active is evicted.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_flows: usize,
    /// Identical copies of a segment within this time are dropped (0 disables).
    #[arg(long, default_value = "20ms", value_parser = parse_duration)]
    pub dedup_window: Duration,
    /// How long a tuple closed by FIN/RST ignores late packets.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub closed_linger: Duration,
}

impl ReassembleArgs {
    pub fn config(&self) -> ReassemblyConfig {
        ReassemblyConfig {
            overlap: self.overlap,
            track: self.track,
            idle_timeout: self.idle_timeout,
            gap_timeout: self.gap_timeout,
            ack_grace: self.ack_grace,
            window: self.window as u64,
            max_ooo: self.max_ooo,
            max_buffered: self.max_buffered,
            max_flows: self.max_flows,
            dedup_window: self.dedup_window,
            closed_linger: self.closed_linger,
            ..ReassemblyConfig::default()
        }
    }
}

/// Flags of the HTTP parsing stage.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP")]
pub struct HttpArgs {
    /// Decoded body bytes kept per message; the full length is still counted.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = parse_size)]
    pub body_cap: usize,
    /// Keep no bodies and decompress nothing (same as --body-cap 0).
    #[arg(long)]
    pub no_bodies: bool,
    /// Most bytes decompressed per body; past it the body is marked truncated.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = parse_size)]
    pub decompress_cap: usize,
    /// Largest decompressed/compressed ratio allowed (past the first 64 KiB).
    #[arg(long, value_name = "N", default_value_t = HttpConfig::default().max_ratio)]
    pub max_ratio: u64,
    /// A proxy or load balancer whose real-IP headers are believed (address
    /// or CIDR; repeatable). With none, real_ip is the TCP (or PROXY protocol) client.
    #[arg(long, value_name = "CIDR")]
    pub trusted_proxy: Vec<Cidr>,
    /// Header naming the client behind the proxies (repeatable, first present
    /// wins). Default: X-Forwarded-For, Forwarded, X-Real-IP, True-Client-IP,
    /// CF-Connecting-IP.
    #[arg(long, value_name = "NAME")]
    pub real_ip_header: Vec<String>,
    /// Largest header block; a larger one is skipped (anomaly header_too_large).
    #[arg(long, value_name = "SIZE", default_value = "64KiB", value_parser = parse_size)]
    pub max_header_bytes: usize,
    /// Most header fields per message (at most 1024).
    #[arg(long, value_name = "N", default_value_t = HttpConfig::default().max_headers)]
    pub max_headers: usize,
    /// Most transactions waiting for a response per connection.
    #[arg(long, value_name = "N", default_value_t = HttpConfig::default().max_queue)]
    pub max_queue: usize,
    /// Most HTTP connections tracked at once; the oldest is flushed to make room.
    #[arg(long, value_name = "N", default_value_t = HttpConfig::default().max_flows)]
    pub max_http_flows: usize,
}

impl HttpArgs {
    pub fn config(&self) -> HttpConfig {
        let headers = if self.real_ip_header.is_empty() {
            DEFAULT_REAL_IP_HEADERS
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            self.real_ip_header.clone()
        };
        HttpConfig {
            body_cap: if self.no_bodies { 0 } else { self.body_cap },
            decompress_cap: self.decompress_cap as u64,
            max_ratio: self.max_ratio,
            max_header_bytes: self.max_header_bytes,
            max_headers: self.max_headers,
            max_queue: self.max_queue,
            max_flows: self.max_http_flows,
            real_ip: RealIpConfig {
                headers,
                trusted: self.trusted_proxy.clone(),
            },
        }
    }
}

/// Flags of the detection stage.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Detection")]
pub struct DetectArgs {
    /// Emit only `attack` and `vuln` records, not the `http` records they came from.
    #[arg(long)]
    pub findings_only: bool,
    /// Hits below this confidence (0 to 1) are not reported.
    #[arg(long, value_name = "F", default_value_t = 0.5)]
    pub min_confidence: f32,
    /// Do not report this attack class (repeatable): sqli, xss, rce, ptrav, lfi,
    /// rfi, ssrf, log4shell, ssti, xxe, nosql, crlf, mail, ldap, ssi, deser,
    /// proto, redirect, php, java, code, scanner, smuggling, bruteforce,
    /// forced_browsing, enumeration; or a vuln class (`pii`, `cookie.insecure`).
    #[arg(long = "disable", value_name = "CLASS")]
    pub disable: Vec<String>,
    /// Skip the passive response checks (no `vuln` records).
    #[arg(long)]
    pub no_passive: bool,
    /// Also report hygiene findings most sites have: missing security
    /// headers, any server version disclosure (not only end-of-life ones).
    #[arg(long)]
    pub hygiene: bool,
    /// Never inspect requests to this Host (repeatable).
    #[arg(long, value_name = "HOST")]
    pub allow_host: Vec<String>,
    /// Never inspect requests whose path starts with this (repeatable).
    #[arg(long, value_name = "PREFIX")]
    pub allow_path: Vec<String>,
    /// Never inspect this point, e.g. `header.X-Trace` or `body.json.html*` (repeatable).
    #[arg(long, value_name = "POINT")]
    pub allow_point: Vec<String>,
    /// Window of the behaviour counters, in seconds of packet time.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub behaviour_window: u64,
    /// Failed logins per client and login path in a window that make brute force (0 = off).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub brute_force: u32,
    /// Distinct user names per client and login path in a window that make credential stuffing (0 = off).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub credential_stuffing: u32,
    /// 404 responses per client and host in a window that make forced browsing (0 = off).
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub forced_browsing: u32,
    /// Distinct object ids per client and endpoint in a window that make enumeration (0 = off).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub enumeration: u32,
    /// Most (host, endpoint, check) keys remembered to report each vuln once.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_dedup: usize,
}

impl DetectArgs {
    pub fn config(&self) -> DetectConfig {
        DetectConfig {
            min_confidence: self.min_confidence,
            disabled: self.disable.iter().cloned().collect(),
            findings_only: self.findings_only,
            passive: !self.no_passive,
            passive_cfg: PassiveConfig {
                hygiene: self.hygiene,
            },
            max_dedup: self.max_dedup,
            allow_hosts: self.allow_host.clone(),
            allow_paths: self.allow_path.clone(),
            allow_points: self.allow_point.clone(),
            behaviour: BehaviourConfig {
                window_secs: self.behaviour_window,
                brute_force: self.brute_force,
                credential_stuffing: self.credential_stuffing,
                forced_browsing: self.forced_browsing,
                enumeration: self.enumeration,
                ..BehaviourConfig::default()
            },
        }
    }
}
