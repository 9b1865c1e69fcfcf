//! tapwatch: the whole chain in one process.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;
use common::args::RunArgs;
use common::cli::{self, CommonArgs};
use common::node::config;
use common::pipeline::ChainConfig;

common::fast_allocator!();

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
    /// The config file of `tapwatch run --config`: print its schema, or check a file.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, clap::Subcommand)]
enum ConfigCommand {
    /// Print every key: its section, type, default and help.
    Schema,
    /// Check FILE (and `tapwatch run` flags after `--`) and print the command line it makes.
    Check {
        /// A tapwatch config file or a mirror-node configuration.
        file: Option<PathBuf>,
        /// More `tapwatch run` flags.
        #[arg(last = true)]
        args: Vec<OsString>,
    },
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
    let args: Args = match config::expand(std::env::args_os().collect(), &Args::command()) {
        Ok(argv) => cli::parse_args_from(argv),
        Err(e) => {
            eprintln!("tapwatch: error: {e}");
            return ExitCode::from(cli::exit::USAGE);
        }
    };
    cli::run("tapwatch", &args.common, || match &args.command {
        Command::Run(run) => common::runner::run_cli("tapwatch", &args.common, run.config()?),
        Command::Demo { read } => {
            let path = read.clone().unwrap_or_else(sample);
            print!("{}", common::demo::run(&path, ChainConfig::default())?);
            Ok(())
        }
        Command::Config(action) => {
            let cmd = Args::command();
            print!(
                "{}",
                match action {
                    ConfigCommand::Schema => config::schema(&cmd)?,
                    ConfigCommand::Check { file, args } =>
                        config::check_line(file.as_deref(), args, &cmd)?,
                }
            );
            Ok(())
        }
    })
}
