//! tapwatch: the whole chain in one process.

use std::path::PathBuf;
use std::process::ExitCode;

use common::args::{
    CaptureArgs, DecapArgs, DetectArgs, DiscoverArgs, ExportArgs, HttpArgs, ReassembleArgs,
};
use common::capture::tunnel::VniFilter;
use common::cli::{self, CommonArgs};
use common::pipeline::{ChainConfig, Level};
use common::runner::RunConfig;

const EXAMPLES: &str = "Examples:
  tapwatch demo
  tapwatch run -r mirror.pcap | jq -c '{uri: .request.uri, status: .response.status}'
  tapwatch run -r vxlan-mirror.pcapng --vni 7 --until conn > streams.ndjson
  sudo tapwatch run -i eth0 --sink 'file:/var/log/tapwatch/findings.ndjson?rotate=100MiB'
  tapwatch run --vxlan-listen 0.0.0.0:4789 --threads 4 --sink 'webhook:https://siem.example/in#format=ecs'";

/// An out-of-band sensor for mirrored traffic: every stage (decap,
/// reassembly, HTTP, detection, discovery, export) in one process on every
/// core, with no JSON in between.
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
    /// Run the stages on captures, interfaces or mirror listeners; print NDJSON
    /// records of the last stage, or export findings to sinks.
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
    #[command(flatten)]
    capture: CaptureArgs,
    /// Stop after the stage that emits this record type: packet, conn, http,
    /// attack or endpoint (default: http; with --sink: endpoint, attacks kept).
    #[arg(long, value_name = "TYPE")]
    until: Option<Level>,
    /// Worker threads for reassembly, HTTP and detection (0: one per core).
    /// A connection always lands on one worker; the output does not depend on
    /// the count.
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
    #[command(flatten)]
    decap: DecapArgs,
    #[command(flatten)]
    reassemble: ReassembleArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    detect: DetectArgs,
    #[command(flatten)]
    discover: DiscoverArgs,
    #[command(flatten)]
    export: ExportArgs,
}

impl RunArgs {
    fn config(&self) -> anyhow::Result<RunConfig> {
        let exporting = !self.export.sink.is_empty();
        let until = self.until.unwrap_or(if exporting {
            Level::Inventory
        } else {
            Level::Http
        });
        Ok(RunConfig {
            // VNIs are filtered by decapsulation, listeners included.
            capture: self.capture.options(VniFilter::default(), None),
            until,
            threads: self.threads,
            chain: ChainConfig {
                decap: self.decap.config(),
                reassemble: self.reassemble.config(),
                http: self.http.config(),
                detect: self.detect.config(),
                discover: self.discover.config()?,
                keep_attacks: exporting,
            },
            export: exporting.then(|| self.export.config()).transpose()?,
            discover_outputs: self.discover.outputs(),
        })
    }
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
        Command::Run(run) => common::runner::run_cli("tapwatch", &args.common, run.config()?),
        Command::Demo { read } => {
            let path = read.clone().unwrap_or_else(sample);
            print!("{}", common::demo::run(&path, ChainConfig::default())?);
            Ok(())
        }
    })
}
