//! tw-export: findings leave the host — masked, keyed, aggregated, in NDJSON,
//! ECS or eve shape, to stdout, rotating files, webhooks and syslog at once.
//! The logic lives in `common::export`.

use std::path::PathBuf;
use std::process::ExitCode;

use common::args::ExportArgs;
use common::cli::{self, CommonArgs};

common::fast_allocator!();

const EXAMPLES: &str = "Examples:
  tw-http-parse -r capture.pcap | tw-export --types http --sink 'file:out/http.ndjson?rotate=10MiB'
  TOKEN='Bearer x' tw-export -r findings.ndjson --webhook-auth-env TOKEN --spool-dir /var/spool/tw \\
      --sink 'webhook:https://siem.example/in#format=ecs&batch=200'
  tw-export -r findings.ndjson --sink syslog+tcp://127.0.0.1:6514 --sink 'stdout?format=eve'";

/// Export records (by default the findings: attack, vuln, endpoint) to one
/// or more sinks. Secrets are masked before anything leaves the host; every
/// record gets an `event_id` (a hash of its content) so at-least-once delivery
/// can be deduplicated; repeated attacks are folded per window of packet time.
/// Webhooks deliver JSON batches from a bounded spool with retries and backoff.
#[derive(Debug, clap::Parser)]
#[command(name = "tw-export", version, after_help = EXAMPLES)]
struct Args {
    /// Read NDJSON records from this file instead of stdin (`-` is stdin).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
    #[command(flatten)]
    export: ExportArgs,
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args: Args = cli::parse_args();
    cli::run("tw-export", &args.common, || {
        let cfg = args.export.config()?;
        common::export::run_cli("tw-export", &args.common, args.read.as_deref(), cfg)
    })
}
