//! tw-discover: `http` records in, an API inventory out (`endpoint` records,
//! an inventory file, OpenAPI 3.1 per host), and checks of an inventory
//! against an earlier one or a spec. The logic lives in `common::discover`.

use std::path::PathBuf;
use std::process::ExitCode;

use common::args::{DecapArgs, DiscoverArgs, HttpArgs, ReassembleArgs};
use common::cli::{self, CommonArgs};
use common::discover::{driver, EXIT_DIFFERENCES};
use common::pipeline::ChainConfig;

common::fast_allocator!();

const EXAMPLES: &str = "Exit status: 0 done (no differences), 4 differences found (diff, --against),
1 error, 2 bad command line, 3 bad input under --strict.

Examples:
  tw-discover -r capture.pcap --openapi api/ --inventory inventory.json | jq -r '.method + \" \" + .path'
  tw-http-parse -r mirror.pcap | tw-detect | tw-discover --against openapi.yaml > endpoints.ndjson
  tw-discover diff yesterday.json today.json || echo \"the API changed\"";

/// Build an API inventory from HTTP transactions: endpoints by host, method
/// and path template, their parameters, schemas, statuses, auth and
/// sensitive data. Learns from 2xx responses; transactions named by `attack`
/// records in the stream are left out. Emits one `endpoint` record per
/// endpoint at end of input. Fed streams, packets, frames or a capture, it
/// runs the earlier stages itself. Other record types pass through.
#[derive(Debug, clap::Parser)]
#[command(name = "tw-discover", version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Read from this file (pcap, pcapng or NDJSON) instead of stdin (`-` is stdin).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
    #[command(flatten)]
    discover: DiscoverArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    reassemble: ReassembleArgs,
    #[command(flatten)]
    decap: DecapArgs,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// Compare two inventory files: new, removed and changed endpoints and
    /// parameters on stdout; exit 4 when they differ.
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let args: Args = cli::parse_args();
    let mut differ = false;
    let code = cli::run("tw-discover", &args.common, || {
        differ = match &args.cmd {
            Some(Cmd::Diff { old, new, json }) => driver::diff_cli(old, new, *json)?,
            None => {
                let chain = ChainConfig {
                    decap: args.decap.config(),
                    reassemble: args.reassemble.config(),
                    http: args.http.config(),
                    ..ChainConfig::default()
                };
                let cfg = args.discover.config()?;
                driver::run_cli(
                    "tw-discover",
                    &args.common,
                    args.read.as_deref(),
                    chain,
                    cfg,
                    &args.discover.outputs(),
                )?
            }
        };
        Ok(())
    });
    if differ {
        ExitCode::from(EXIT_DIFFERENCES)
    } else {
        code
    }
}
