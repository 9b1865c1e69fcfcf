//! The command-line flags of each stage, as clap argument groups.
//!
//! One definition per stage, flattened into that stage's binary, into every
//! downstream binary that may run it by promotion (`tw-reassemble -r x.pcap`
//! decaps first, with the decap flags), and into `tapwatch run`. The stage
//! cores themselves know nothing of clap: each group converts to its core's
//! config.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::capture::filter_spec::FilterSpec;
use crate::cli::{parse_duration, parse_size};
use crate::decap::{Cidr, DecapConfig, Filter, FragConfig};
use crate::detect::behaviour::BehaviourConfig;
use crate::detect::passive::PassiveConfig;
use crate::detect::DetectConfig;
use crate::discover::DiscoverConfig;
use crate::export::mask::MaskConfig;
use crate::export::spec::SinkSpec;
use crate::export::ExportConfig;
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
    /// Keep only packets with this VLAN id (0-4095) anywhere in the stack (repeatable).
    #[arg(long, value_name = "VID", value_parser = clap::value_parser!(u16).range(0..=4095))]
    pub vlan: Vec<u16>,
    /// Drop packets with this VLAN id (0-4095) anywhere in the stack (repeatable).
    #[arg(long, value_name = "VID", value_parser = clap::value_parser!(u16).range(0..=4095))]
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
    /// Hold the first data of a direction picked up mid-stream this long (packet
    /// time) so reordered earlier segments can still move its start back.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    pub start_hold: Duration,
    /// ... or until this many of its segments are held.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub start_segments: u32,
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
            start_hold: self.start_hold,
            start_segments: self.start_segments,
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

/// Flags of the API inventory stage (tw-discover).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Inventory")]
pub struct DiscoverArgs {
    /// Write the canonical inventory (JSON, input to `diff`) to this file.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<std::path::PathBuf>,
    /// Write one OpenAPI 3.1 document per host into this folder (<host>.openapi.json).
    #[arg(long, value_name = "DIR")]
    pub openapi: Option<std::path::PathBuf>,
    /// Write the OpenAPI documents as YAML (<host>.openapi.yaml).
    #[arg(long, requires = "openapi")]
    pub yaml: bool,
    /// Check the inventory against this OpenAPI spec (JSON or YAML): shadow,
    /// orphan and zombie endpoints and undocumented parameters on stderr; exit 4 if any.
    #[arg(long, value_name = "SPEC")]
    pub against: Option<std::path::PathBuf>,
    /// Also write the --against report as JSON to this file.
    #[arg(long, value_name = "FILE", requires = "against")]
    pub report: Option<std::path::PathBuf>,
    /// Learn parameters and schemas from every response status, not only 2xx.
    #[arg(long)]
    pub all_statuses: bool,
    /// Do not run the detector on the transactions: learn from all of them,
    /// except those named by `attack` records in the input.
    #[arg(long)]
    pub no_detect: bool,
    /// Collapse a path position into a parameter once more distinct literal
    /// values than this were seen there (0: never; the first segment never collapses).
    #[arg(long, value_name = "N", default_value_t = DiscoverConfig::default().sibling_threshold)]
    pub sibling_threshold: usize,
    /// Path templates that win over inference: a JSON or YAML list of
    /// templates ("/users/{login}") or objects {path, host, method}.
    #[arg(long, value_name = "FILE")]
    pub overrides: Option<std::path::PathBuf>,
    /// Endpoints held at most; further ones are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = DiscoverConfig::default().max_endpoints)]
    pub max_endpoints: usize,
    /// Parameters per endpoint at most (all locations together).
    #[arg(long, value_name = "N", default_value_t = DiscoverConfig::default().max_params)]
    pub max_params: usize,
    /// Path prefixes tracked for sibling variation at most.
    #[arg(long, value_name = "N", default_value_t = DiscoverConfig::default().max_prefixes)]
    pub max_prefixes: usize,
    /// Nesting depth kept in JSON schemas and body parameters.
    #[arg(long, value_name = "N", default_value_t = DiscoverConfig::default().max_schema_depth)]
    pub max_schema_depth: usize,
    /// Nodes (properties and items) per JSON schema at most.
    #[arg(long, value_name = "N", default_value_t = DiscoverConfig::default().max_schema_nodes)]
    pub max_schema_nodes: usize,
}

impl DiscoverArgs {
    /// The files and checks besides the `endpoint` records.
    pub fn outputs(&self) -> crate::discover::driver::Outputs {
        crate::discover::driver::Outputs {
            inventory: self.inventory.clone(),
            openapi: self.openapi.clone(),
            yaml: self.yaml,
            against: self.against.clone(),
            report: self.report.clone(),
        }
    }

    /// The stage's config; reads the overrides file.
    pub fn config(&self) -> anyhow::Result<DiscoverConfig> {
        let overrides = match &self.overrides {
            Some(p) => crate::discover::driver::load_overrides(p)?,
            None => vec![],
        };
        Ok(DiscoverConfig {
            all_statuses: self.all_statuses,
            sibling_threshold: self.sibling_threshold,
            max_endpoints: self.max_endpoints,
            max_params: self.max_params,
            max_prefixes: self.max_prefixes,
            max_schema_depth: self.max_schema_depth,
            max_schema_nodes: self.max_schema_nodes,
            overrides,
            detect: !self.no_detect,
        })
    }
}

/// Flags of the export stage.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Export")]
pub struct ExportArgs {
    /// Where records go (repeatable; default stdout).
    ///
    /// stdout[?OPTS]
    /// file:PATH[?OPTS]              rotate=SIZE,DURATION (either or both), gzip
    /// webhook:URL[#OPTS]            batch=N, timeout=D, backoff=D, max_backoff=D,
    ///                               spool_records=N, spool_bytes=SIZE, ca=PEMFILE
    /// syslog+udp://HOST:PORT[?OPTS] facility=NAME|N, hostname=NAME
    /// syslog+tcp://HOST:PORT[?OPTS] (RFC 6587 octet counting)
    ///
    /// Every sink takes format=ndjson|ecs|eve. OPTS are `&`-separated; a webhook's
    /// go after `#` because its URL query belongs to the receiver. File time
    /// rotation follows the records' packet time; rotated files are named
    /// PATH.<first record time>.<seq>[.gz].
    #[arg(long = "sink", value_name = "SPEC", value_parser = SinkSpec::parse, verbatim_doc_comment)]
    pub sink: Vec<SinkSpec>,
    /// Record types exported (comma-separated or repeatable).
    #[arg(
        long,
        value_name = "TYPES",
        value_delimiter = ',',
        default_value = "attack,vuln,endpoint"
    )]
    pub types: Vec<String>,
    /// API discovery only: attacks are not exported (counted, and written to
    /// --attack-log when given); endpoints and vulns are.
    #[arg(long)]
    pub discovery_only: bool,
    /// With --discovery-only: append the attacks kept local to this file.
    #[arg(long, value_name = "FILE")]
    pub attack_log: Option<PathBuf>,
    /// Fold repeats of an attack (same real client, endpoint, class and point)
    /// within this much packet time into one record with count, first_seen
    /// and last_seen (0 turns it off).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub aggregate_window: Duration,
    /// Also mask the value of this header (repeatable; Authorization, Cookie,
    /// Set-Cookie and API-key headers always are).
    #[arg(long, value_name = "NAME")]
    pub mask_header: Vec<String>,
    /// Also mask fields and parameters with this name (repeatable; password-,
    /// secret-, token- and card-like names always are).
    #[arg(long, value_name = "NAME")]
    pub mask_field: Vec<String>,
    /// Export secrets as they are (no masking).
    #[arg(long)]
    pub no_mask: bool,
    /// Empty every body (`*_b64` field) instead of masking inside it.
    #[arg(long)]
    pub drop_bodies: bool,
    /// Send `Authorization: <value of this environment variable>` to webhooks.
    #[arg(long, value_name = "NAME")]
    pub webhook_auth_env: Option<String>,
    /// Keep undelivered webhook records on disk here (one subdirectory per
    /// webhook URL), replayed in order at the next start. Without it they
    /// wait in memory and are lost at exit.
    #[arg(long, value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// At end of input, keep delivering to webhooks for at most this long.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
}

impl ExportArgs {
    pub fn config(&self) -> anyhow::Result<ExportConfig> {
        let webhook_auth = match &self.webhook_auth_env {
            Some(name) => Some(std::env::var(name).map_err(|_| {
                anyhow::anyhow!("--webhook-auth-env {name}: the environment variable is not set")
            })?),
            None => None,
        };
        Ok(ExportConfig {
            sinks: self.sink.clone(),
            types: self
                .types
                .iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            discovery_only: self.discovery_only,
            attack_log: self.attack_log.clone(),
            aggregate_window: self.aggregate_window,
            mask: (!self.no_mask)
                .then(|| MaskConfig::new(&self.mask_header, &self.mask_field, self.drop_bodies)),
            drop_bodies: self.drop_bodies,
            webhook_auth,
            spool_dir: self.spool_dir.clone(),
            drain_timeout: self.drain_timeout,
        })
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
    /// proto, redirect, php, java, code, scanner, smuggling, session_fixation,
    /// bruteforce, forced_browsing, enumeration; or a vuln class (`pii`,
    /// `cookie.insecure`).
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
    /// Also apply the user rules in this YAML or JSON file (schema in the README:
    /// id, class, message, confidence, points, match.literals/regex, decode,
    /// methods, hosts, paths).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Paranoia level 1-4, as in the OWASP Core Rule Set: 1 reports what
    /// benign traffic does not look like; 2-4 add SQL operator fragments and
    /// call stubs, quote and special-character probes, shell tool words,
    /// off-site URLs in parameters, ORM lookups, Java names under base64,
    /// catching more and flagging more benign values (README: Detection).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=crate::detect::MAX_PARANOIA as i64))]
    pub paranoia: u8,
}

impl DetectArgs {
    /// The detector's configuration; reads and compiles `--rules`.
    pub fn config(&self) -> Result<DetectConfig, crate::detect::custom::RulesError> {
        let rules = match &self.rules {
            Some(p) => Some(std::sync::Arc::new(crate::detect::custom::RuleSet::load(
                p,
            )?)),
            None => None,
        };
        Ok(DetectConfig {
            rules,
            paranoia: self.paranoia,
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
        })
    }
}

/// Where frames come from: the source flags of tw-capture, shared with `tapwatch run`.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Capture")]
pub struct CaptureArgs {
    /// Read a pcap or pcapng file (`-` for stdin); repeat to read several in order.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Capture live on an interface (root or CAP_NET_RAW); repeatable.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interfaces: Vec<String>,
    /// Capture IFACE:PORT (TCP port on an interface), IFACE: (all its traffic) or :PORT (any interface); repeatable.
    #[arg(long = "filter", value_name = "IFACE:PORT")]
    pub filters: Vec<FilterSpec>,
    /// BPF filter for live capture, as in tcpdump (and-ed with --filter ports).
    #[arg(short = 'f', long = "bpf", value_name = "BPF")]
    pub bpf: Option<String>,
    /// Bytes kept of each live frame.
    #[arg(long, default_value_t = crate::capture::DEFAULT_SNAPLEN, value_name = "BYTES")]
    pub snaplen: u32,
    /// Do not put interfaces in promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// Receive VXLAN mirror traffic on this UDP address (e.g. 0.0.0.0:4789; no root needed); repeatable.
    #[arg(long, value_name = "ADDR:PORT")]
    pub vxlan_listen: Vec<std::net::SocketAddr>,
    /// Receive Geneve mirror traffic on this UDP address (e.g. 0.0.0.0:6081); repeatable.
    #[arg(long, value_name = "ADDR:PORT")]
    pub geneve_listen: Vec<std::net::SocketAddr>,
    /// Stop live capture and listeners after SECS seconds (fractions allowed).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<Duration>,
}

impl CaptureArgs {
    /// The capture options; `vni` filters the listeners, `count` stops after N frames.
    pub fn options(
        &self,
        vni: crate::capture::tunnel::VniFilter,
        count: Option<u64>,
    ) -> crate::capture::Options {
        crate::capture::Options {
            files: self.files.clone(),
            interfaces: self.interfaces.clone(),
            filters: self.filters.clone(),
            bpf: self.bpf.clone(),
            snaplen: self.snaplen,
            promisc: !self.no_promisc,
            vxlan_listen: self.vxlan_listen.clone(),
            geneve_listen: self.geneve_listen.clone(),
            vni,
            count,
            duration: self.duration,
        }
    }
}

/// A positive number of seconds, fractions allowed.
fn parse_secs(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .and_then(|f| Duration::try_from_secs_f64(f).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{s:?} is not a positive number of seconds"))
}

/// Flags of `tapwatch run`: the sources, every stage's group, and the node's own.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Take flags from this YAML file first; flags given here win (`tapwatch config schema`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub capture: CaptureArgs,
    /// Stop after the stage that emits this record type: packet, conn, http,
    /// attack or endpoint (default: http; with --sink: endpoint, attacks kept).
    #[arg(long, value_name = "TYPE")]
    pub until: Option<crate::pipeline::Level>,
    #[command(flatten)]
    pub node: NodeArgs,
    #[command(flatten)]
    pub decap: DecapArgs,
    #[command(flatten)]
    pub reassemble: ReassembleArgs,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub detect: DetectArgs,
    #[command(flatten)]
    pub discover: DiscoverArgs,
    #[command(flatten)]
    pub export: ExportArgs,
}

/// The long-running node's own flags.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Node")]
pub struct NodeArgs {
    /// Worker threads for reassembly, HTTP and detection (0: one per core).
    /// A connection always lands on one worker; the output does not depend on
    /// the count.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Serve Prometheus metrics on http://ADDR:PORT/metrics and a health check
    /// on /health.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Once the capture handles are open, switch to this user (no
    /// capabilities left); output files must be writable by it.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
}

impl RunArgs {
    pub fn config(&self) -> anyhow::Result<crate::runner::RunConfig> {
        use crate::pipeline::{ChainConfig, Level};
        let exporting = !self.export.sink.is_empty();
        let until = self.until.unwrap_or(if exporting {
            Level::Inventory
        } else {
            Level::Http
        });
        Ok(crate::runner::RunConfig {
            // VNIs are filtered by decapsulation, listeners included.
            capture: self
                .capture
                .options(crate::capture::tunnel::VniFilter::default(), None),
            until,
            threads: self.node.threads,
            chain: ChainConfig {
                decap: self.decap.config(),
                reassemble: self.reassemble.config(),
                http: self.http.config(),
                detect: self.detect.config()?,
                discover: self.discover.config()?,
                keep_attacks: exporting,
            },
            export: exporting.then(|| self.export.config()).transpose()?,
            discover_outputs: self.discover.outputs(),
            metrics: self.node.metrics,
            user: self.node.user.clone(),
        })
    }
}
