//! The `tw-http-parse` loop: NDJSON in, `http` records out, other records
//! passed through in order, a summary on stderr.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};

use super::{HttpConfig, HttpParser, HttpStats};
use crate::cli::{self, BadInput, CommonArgs, Progress, Summary};
use crate::io::{open_input, Input, NdjsonWriter};
use crate::record::{record_type, Conn, Data, Gap, Http, Record};

/// Runs the stage on `input` (stdin when `None`), writing to `out`.
/// Returns the parser's counters.
pub fn run(
    prog: &str,
    cfg: HttpConfig,
    input: Option<&Path>,
    common: &CommonArgs,
    out: impl Write,
) -> anyhow::Result<HttpStats> {
    let opened = open_input(input)?;
    let name = opened.name;
    let mut reader = match opened.input {
        Input::Ndjson(r) => r,
        Input::Capture(_) => bail!(
            "{name}: a capture file; {prog} reads conn/data/gap records, so feed it \
             tw-reassemble output (tw-decap -r {name} | tw-reassemble | {prog})"
        ),
    };
    let stop = cli::shutdown_flag()?;
    let mut progress = Progress::bytes(opened.size, common.progress_allowed());
    let mut writer = NdjsonWriter::new(out);
    let mut bad = BadInput::new(common.strict);
    let mut parser = HttpParser::new(cfg);
    let mut write_err: Option<std::io::Error> = None;
    let emit = |h: Http, w: &mut NdjsonWriter<_>, err: &mut Option<std::io::Error>| {
        if err.is_none() {
            if let Err(e) = w.write(&Record::Http(Box::new(h))) {
                *err = Some(e);
            }
        }
    };
    loop {
        if cli::stopping(&stop) {
            break;
        }
        // Decide what the line is while it is borrowed; report afterwards.
        let got = match reader.next_line() {
            None => break,
            Some(Err(e)) => Got::Unreadable(e.to_string()),
            Some(Ok(line)) => classify(line, &mut writer)?,
        };
        let n = reader.line_number();
        match got {
            Got::Record(rec) => parser.push(&rec, &mut |h| emit(h, &mut writer, &mut write_err)),
            Got::Passed => {}
            Got::Unreadable(e) => bad.report("line", format!("{name}: {e}"))?,
            Got::NotRecord => bad.report(
                "not_a_record",
                format!("{name}: line {n}: not a JSON object with a \"type\""),
            )?,
            Got::Bad(kind, e) => bad.report(
                "bad_record",
                format!("{name}: line {n}: bad `{kind}` record: {e}"),
            )?,
            Got::Unreassembled(t) => bail!(
                "{name}: line {n}: `{t}` records need reassembly first; feed {prog} \
                 tw-reassemble output (tw-decap | tw-reassemble | {prog})"
            ),
        }
        if let Some(e) = write_err.take() {
            return Err(e).context("writing stdout");
        }
        progress.set(reader.bytes_read());
    }
    parser.finish(&mut |h| emit(h, &mut writer, &mut write_err));
    if let Some(e) = write_err.take() {
        return Err(e).context("writing stdout");
    }
    writer.flush().context("writing stdout")?;
    progress.finish();
    let stats = parser.stats().clone();
    summary(&stats, &bad).print(prog, common);
    Ok(stats)
}

/// The end-of-run summary line.
pub fn summary(s: &HttpStats, bad: &BadInput) -> Summary {
    Summary::new()
        .count("transactions", s.transactions)
        .count("paired", s.paired)
        .count("unpaired requests", s.unpaired_requests)
        .count("unpaired responses", s.unpaired_responses)
        .count("connections", s.flows)
        .count("HTTP/2 connections", s.http2)
        .count("non-HTTP connections", s.non_http)
        .group(
            "skipped",
            [
                ("tunnels", s.tunnels),
                ("bytes", s.bytes_skipped),
                ("resyncs", s.resyncs),
            ],
        )
        .group("anomalies", s.anomalies.iter().map(|(k, v)| (*k, *v)))
        .group(
            "dropped",
            [
                ("flows_evicted", s.flows_evicted),
                ("queue_overflows", s.queue_overflows),
                ("data_without_open", s.data_without_open),
            ],
        )
        .group(
            "bad input",
            bad.counts().iter().map(|(k, v)| (k.clone(), *v)),
        )
}

/// What one input line turned out to be.
enum Got {
    Record(Record<'static>),
    Passed,
    Unreadable(String),
    NotRecord,
    Bad(&'static str, serde_json::Error),
    Unreassembled(&'static str),
}

fn classify(line: &[u8], writer: &mut NdjsonWriter<impl Write>) -> anyhow::Result<Got> {
    let kind = record_type(line);
    Ok(match kind.as_deref() {
        Some("conn") => match serde_json::from_slice::<Conn>(line) {
            Ok(c) => Got::Record(Record::Conn(c)),
            Err(e) => Got::Bad("conn", e),
        },
        Some("data") => match serde_json::from_slice::<Data<'static>>(line) {
            Ok(d) => Got::Record(Record::Data(d)),
            Err(e) => Got::Bad("data", e),
        },
        Some("gap") => match serde_json::from_slice::<Gap>(line) {
            Ok(g) => Got::Record(Record::Gap(g)),
            Err(e) => Got::Bad("gap", e),
        },
        Some("frame") => Got::Unreassembled("frame"),
        Some("packet") => Got::Unreassembled("packet"),
        Some(_) => {
            writer.write_raw(line).context("writing stdout")?;
            Got::Passed
        }
        None => Got::NotRecord,
    })
}
