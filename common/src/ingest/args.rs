//! tw-ingest's flags, and the driver the binary calls.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::{
    run, Control, IngestConfig, IngestStats, DEFAULT_ENVELOPE_PATH, DEFAULT_SHADOW_SUFFIX,
};
use crate::args::HttpArgs;
use crate::cli::{self, parse_duration, parse_size, CommonArgs};

/// Flags of the HTTP mirror listener.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Ingest")]
pub struct IngestArgs {
    /// Address to listen on for mirrored requests and envelopes.
    #[arg(
        short = 'l',
        long,
        value_name = "ADDR:PORT",
        default_value = "127.0.0.1:8089"
    )]
    pub listen: SocketAddr,
    /// Path whose POSTs carry JSON envelopes (request + response); every other
    /// request is a raw mirror.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_ENVELOPE_PATH)]
    pub envelope_path: String,
    /// Treat every request as a raw mirror, even POSTs to the envelope path.
    #[arg(long)]
    pub no_envelopes: bool,
    /// Largest envelope POST body (a larger one is answered 413 and dropped).
    #[arg(long, value_name = "SIZE", default_value = "8MiB", value_parser = parse_size)]
    pub envelope_max: usize,
    /// Suffix taken off a mirrored Host / :authority (Envoy and Istio add
    /// `-shadow`); empty to keep hosts as received.
    #[arg(long, value_name = "SUFFIX", default_value = DEFAULT_SHADOW_SUFFIX)]
    pub shadow_suffix: String,
    /// Records waiting for the writer at most; past it records are dropped
    /// (counted as queue_full), never waited for.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub queue: usize,
    /// Connections served at once; more are answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_conns: usize,
    /// Close a connection silent this long.
    #[arg(long, value_name = "DURATION", default_value = "120s", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Read a PROXY protocol (v1/v2) header at the start of each connection
    /// (a load balancer in front of tw-ingest).
    #[arg(long)]
    pub proxy_protocol: bool,
    /// Stop after writing N records.
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop after this long (e.g. 30s, 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
}

impl IngestArgs {
    /// The listener's settings, with the HTTP parser's from `http`.
    pub fn config(&self, http: &HttpArgs) -> IngestConfig {
        IngestConfig {
            http: http.config(),
            envelope_path: (!self.no_envelopes).then(|| self.envelope_path.clone()),
            envelope_max: self.envelope_max,
            shadow_suffix: self.shadow_suffix.clone(),
            queue: self.queue,
            max_conns: self.max_conns.max(1),
            idle_timeout: self.idle_timeout,
            proxy_protocol: self.proxy_protocol,
        }
    }
}

/// What `tw-ingest` does: bind, serve until a limit or a signal, print the
/// summary.
pub fn run_cli(
    prog: &'static str,
    common: &CommonArgs,
    args: &IngestArgs,
    http: &HttpArgs,
) -> anyhow::Result<()> {
    let cfg = args.config(http);
    if cfg.http.real_ip.trusted.is_empty() {
        log::info!(
            "no --trusted-proxy: real_ip is the mirroring proxy's address; \
             name the proxies to take the client from X-Forwarded-For"
        );
    }
    let listener =
        TcpListener::bind(args.listen).with_context(|| format!("listen on {}", args.listen))?;
    let stop = cli::shutdown_flag()?;
    let control = Control {
        stop,
        max_records: args.count,
        duration: args.duration,
    };
    let stats = Arc::new(IngestStats::default());
    let res = run(
        listener,
        cfg,
        std::io::stdout(),
        &control,
        Arc::clone(&stats),
    );
    stats.summary().print(prog, common);
    res
}
