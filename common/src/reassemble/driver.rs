//! The `tw-reassemble` stage loop: NDJSON `packet` records in, `conn`/`data`/`gap`
//! out, everything else passed through in order, a summary on stderr.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{bail, Context};

use super::{Reassembler, ReassemblyConfig, Stats};
use crate::cli::{self, BadInput, CommonArgs, Progress, Summary};
use crate::io::{open_input, Input, LineError, NdjsonReader, NdjsonWriter};
use crate::record::{record_type, Packet};

/// What the binary was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Input file; `None` or `-` for stdin.
    pub input: Option<PathBuf>,
    pub config: ReassemblyConfig,
}

/// Runs the stage on stdin or a file, writing to stdout.
pub fn run_cli(prog: &'static str, common: &CommonArgs, opts: &Options) -> anyhow::Result<()> {
    let opened = open_input(opts.input.as_deref())?;
    let name = opened.name;
    let mut reader = match opened.input {
        Input::Ndjson(r) => r,
        Input::Capture(_) => bail!(
            "{name}: this is a raw capture, not packet records: feed tw-decap output \
             (promotion lands with the decap stage)"
        ),
    };
    let stop = cli::shutdown_flag()?;
    let mut progress = Progress::bytes(opened.size, common.progress_allowed());
    let mut bad = BadInput::new(common.strict);
    let mut writer = NdjsonWriter::new(std::io::stdout().lock());
    let mut reasm = Reassembler::new(opts.config.clone());
    let result = run(
        &mut reader,
        &name,
        &mut writer,
        &mut reasm,
        &mut bad,
        &mut progress,
        Some(&stop),
    );
    progress.finish();
    result?;
    writer.flush().context("writing stdout")?;
    summary(reasm.stats(), &bad).print(prog, common);
    Ok(())
}

/// The loop itself, on any reader and writer (tests and `tapwatch run` use it).
pub fn run<R: BufRead, W: Write>(
    reader: &mut NdjsonReader<R>,
    name: &str,
    writer: &mut NdjsonWriter<W>,
    reasm: &mut Reassembler,
    bad: &mut BadInput,
    progress: &mut Progress,
    stop: Option<&AtomicBool>,
) -> anyhow::Result<()> {
    let mut write_err: Option<std::io::Error> = None;
    loop {
        if stop.is_some_and(cli::stopping) {
            log::info!("{name}: interrupted; flushing open flows");
            break;
        }
        let problem = match reader.next_line() {
            None => break,
            Some(Err(LineError::Io { line, source })) => {
                return Err(source).with_context(|| format!("{name}: line {line}"))
            }
            Some(Err(e @ LineError::TooLong { .. })) => Some(("line", e.to_string())),
            Some(Ok(line)) => match record_type(line).as_deref() {
                Some("packet") => match serde_json::from_slice::<Packet<'_>>(line) {
                    Ok(pkt) => {
                        reasm.push(&pkt, &mut |rec| {
                            if write_err.is_none() {
                                write_err = writer.write(&rec).err();
                            }
                        });
                        None
                    }
                    Err(e) => Some(("packet", format!("bad packet record: {e}"))),
                },
                Some("frame") => bail!(
                    "{name}: frame records: feed tw-decap output \
                     (promotion lands with the decap stage)"
                ),
                Some(_) => {
                    writer.write_raw(line).context("writing stdout")?;
                    None
                }
                None => Some(("json", "not a JSON object with a \"type\"".to_string())),
            },
        };
        if let Some(e) = write_err.take() {
            return Err(e).context("writing stdout");
        }
        if let Some((kind, why)) = problem {
            let line = reader.line_number();
            if kind == "line" {
                bad.report(kind, format!("{name}: {why}"))?;
            } else {
                bad.report(kind, format!("{name}: line {line}: {why}"))?;
            }
        }
        progress.set(reader.bytes_read());
    }
    reasm.finish(&mut |rec| {
        if write_err.is_none() {
            write_err = writer.write(&rec).err();
        }
    });
    if let Some(e) = write_err.take() {
        return Err(e).context("writing stdout");
    }
    Ok(())
}

/// The end-of-run summary.
pub fn summary(s: &Stats, bad: &BadInput) -> Summary {
    Summary::new()
        .count("packets", s.packets)
        .count("flows", s.flows)
        .count("data bytes", s.data_bytes)
        .count("gaps", s.gaps)
        .count("duplicates dropped", s.duplicates)
        .count("differing overlaps", s.overlaps_differing)
        .count("evictions", s.evicted)
        .count("segments dropped by cap", s.dropped_cap)
        .group(
            "closed",
            [
                ("fin", s.closed_fin),
                ("rst", s.closed_rst),
                ("timeout", s.closed_timeout),
                ("evicted", s.evicted),
                ("eof", s.closed_eof),
            ],
        )
        .group(
            "details",
            [
                ("midstream flows", s.midstream),
                ("gap bytes", s.gap_bytes),
                ("retransmitted", s.retransmitted),
                ("overlaps", s.overlaps),
                ("out of window", s.out_of_window),
                ("forced gaps", s.forced_gaps),
                ("after close", s.after_close),
                ("ignored rst", s.ignored_rst),
                ("syn isn mismatch", s.syn_mismatch),
            ],
        )
        .group(
            "bad input",
            bad.counts().iter().map(|(k, n)| (k.clone(), *n)),
        )
}

/// Parses a duration: `300`, `300s`, `250ms`, `5m`, `1h`, `1.5s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("bad duration {s:?} (e.g. 300s, 250ms, 5m)"))?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "bad duration unit {other:?} in {s:?} (ms, s, m, h)"
            ))
        }
    };
    Duration::try_from_secs_f64(n * scale).map_err(|e| format!("bad duration {s:?}: {e}"))
}

/// Parses a size in bytes: `1048576`, `64k`, `1MiB`, `256M`, `2G` (binary multiples).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("bad size {s:?} (e.g. 1MiB, 256M, 65536)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => return Err(format!("bad size unit {other:?} in {s:?} (k, M, G)")),
    };
    n.checked_mul(1usize << shift)
        .ok_or_else(|| format!("size {s:?} too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_parse() {
        let durations = [
            ("300", Some(Duration::from_secs(300))),
            ("300s", Some(Duration::from_secs(300))),
            ("250ms", Some(Duration::from_millis(250))),
            ("5m", Some(Duration::from_secs(300))),
            ("1.5s", Some(Duration::from_millis(1500))),
            ("x", None),
            ("5y", None),
        ];
        for (s, want) in durations {
            assert_eq!(parse_duration(s).ok(), want, "{s}");
        }
        let sizes = [
            ("1MiB", Some(1 << 20)),
            ("256M", Some(256 << 20)),
            ("64k", Some(64 << 10)),
            ("100", Some(100)),
            ("1T", None),
            ("", None),
        ];
        for (s, want) in sizes {
            assert_eq!(parse_size(s).ok(), want, "{s}");
        }
    }
}
