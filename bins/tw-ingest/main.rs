//! tw-ingest: an HTTP listener for proxies that mirror requests (nginx
//! `mirror`, Envoy/Istio mirroring) or post request/response envelopes;
//! emits `http` records. The logic lives in `common::ingest`.

use std::process::ExitCode;

use common::args::HttpArgs;
use common::cli::{self, CommonArgs};
use common::ingest::args::{run_cli, IngestArgs};

common::fast_allocator!();

const EXAMPLES: &str = "Examples:
  tw-ingest --listen 0.0.0.0:8089 --trusted-proxy 10.0.0.0/8 | tw-detect | tw-export --sink 'file:attacks.ndjson'
  tw-ingest -l 127.0.0.1:8089 -c 100 | jq -c '{real_ip, uri: .request.uri}'
  curl -s --data-binary @tx.json http://127.0.0.1:8089/tapwatch/v1/envelope";

/// Receive HTTP mirror copies (nginx `mirror`, Envoy `request_mirror_policies`,
/// Istio mirroring) and JSON envelopes of request/response pairs from gateway
/// plugins; write one `http` record per transaction on stdout, ready for
/// tw-detect and tw-discover. Every request is answered at once with an empty
/// 200 (envelopes: 204); HTTP/1.1 keep-alive and pipelining, HTTP/2 prior
/// knowledge and Upgrade: h2c. Stops after -c N records, --duration, or on
/// SIGINT/SIGTERM (records queued so far are written first).
#[derive(Debug, clap::Parser)]
#[command(name = "tw-ingest", version, after_help = EXAMPLES)]
struct Args {
    #[command(flatten)]
    ingest: IngestArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args: Args = cli::parse_args();
    cli::run("tw-ingest", &args.common, || {
        run_cli("tw-ingest", &args.common, &args.ingest, &args.http)
    })
}
