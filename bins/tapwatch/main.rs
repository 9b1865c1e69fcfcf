//! tapwatch: the whole chain in one process.

use std::path::PathBuf;
use std::process::ExitCode;

use common::args::{DecapArgs, DetectArgs, HttpArgs, ReassembleArgs};
use common::cli::{self, CommonArgs};
use common::pipeline::{self, ChainConfig, Level};

const EXAMPLES: &str = "Examples:
  tapwatch demo
  tapwatch run -r mirror.pcap | jq -c '{uri: .request.uri, status: .response.status}'
  tapwatch run -r vxlan-mirror.pcapng --vni 7 --until conn > streams.ndjson";

/// An out-of-band sensor for mirrored traffic: the stages of tw-decap,
/// tw-reassemble and tw-http-parse wired together in one process, with no
/// JSON in between.
#[derive(Debug, clap::Parser)]
#[command(name = "tapwatch", version, after_help = EXAMPLES)]
struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Run the stages on a capture and print NDJSON records of the last one.
    Run(Box<RunArgs>),
    /// Run on the bundled sample capture (or FILE) and print what was found.
    Demo {
        /// The capture to summarise (default: testdata/sample/input.pcap).
        #[arg(short = 'r', long = "read", value_name = "FILE")]
        read: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Read from this file (pcap, pcapng or NDJSON) instead of stdin.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
    /// Stop after the stage that emits this record type: packet, conn, http or detect.
    #[arg(long, default_value = "http", value_name = "TYPE")]
    until: Level,
    #[command(flatten)]
    decap: DecapArgs,
    #[command(flatten)]
    reassemble: ReassembleArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    detect: DetectArgs,
}

/// The bundled sample, found beside the sources or in the working directory.
fn sample() -> PathBuf {
    let beside = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/sample/input.pcap"
    ));
    if beside.exists() {
        beside
    } else {
        PathBuf::from("testdata/sample/input.pcap")
    }
}

fn main() -> ExitCode {
    let args: Args = cli::parse_args();
    cli::run("tapwatch", &args.common, || match &args.command {
        Command::Run(run) => {
            let cfg = ChainConfig {
                decap: run.decap.config(),
                reassemble: run.reassemble.config(),
                http: run.http.config(),
                detect: run.detect.config()?,
                ..ChainConfig::default()
            };
            pipeline::run_cli(
                "tapwatch",
                &args.common,
                run.read.as_deref(),
                run.until,
                cfg,
            )
        }
        Command::Demo { read } => {
            let path = read.clone().unwrap_or_else(sample);
            print!("{}", common::demo::run(&path, ChainConfig::default())?);
            Ok(())
        }
    })
}
