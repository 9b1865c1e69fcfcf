//! The `tw-decap` driver loop: read frames (raw pcap/pcapng, or NDJSON `frame`
//! records with everything else passed through), decap them, write `packet`
//! records. Shared by the `tw-decap` binary and `tapwatch run`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;

use super::{DecapConfig, DecapStats, Decapper, FrameIn, ReasonGroup};
use crate::cli::{self, BadInput, Progress, Summary};
use crate::io::{Input, NdjsonWriter, OpenedInput};
use crate::record::{record_type, Frame, Packet, Record};

/// How to run the stage.
#[derive(Debug, Default)]
pub struct Options {
    pub config: DecapConfig,
    /// Stop at the first bad input (`--strict`).
    pub strict: bool,
    /// Draw a progress bar over the input bytes.
    pub progress: bool,
    /// Set by a signal: stop reading, flush, and report.
    pub stop: Option<Arc<AtomicBool>>,
}

/// What a run did.
#[derive(Debug)]
pub struct Report {
    pub stats: DecapStats,
    pub bad: BadInput,
    /// Records of other types passed through unchanged.
    pub passed: u64,
    /// Damage the capture reader worked around, by kind.
    pub capture: BTreeMap<&'static str, u64>,
}

impl Report {
    /// The end-of-run line: frames, packets, then reasons by group.
    pub fn summary(&self) -> Summary {
        let s = &self.stats;
        let mut summary = Summary::new()
            .count("frames", s.frames)
            .count("packets", s.packets);
        if self.passed > 0 {
            summary = summary.count("passed through", self.passed);
        }
        for group in [
            ReasonGroup::Skipped,
            ReasonGroup::Malformed,
            ReasonGroup::Filtered,
            ReasonGroup::Fragments,
        ] {
            summary = summary.group(group.name(), s.group(group));
        }
        summary
            .group("capture file", self.capture.iter().map(|(k, n)| (*k, *n)))
            .group("bad input", self.bad.counts().iter().map(|(k, n)| (k, *n)))
    }
}

/// Writes one packet, keeping the first write error for the caller.
fn write_packet<W: Write>(
    out: &mut NdjsonWriter<W>,
    err: &mut Option<std::io::Error>,
    p: &Packet<'_>,
) {
    if err.is_none() {
        if let Err(e) = out.write(&Record::Packet(p.clone())) {
            *err = Some(e);
        }
    }
}

/// Runs the stage over one input.
pub fn run<W: Write>(
    opts: Options,
    opened: OpenedInput,
    out: &mut NdjsonWriter<W>,
) -> anyhow::Result<Report> {
    let mut dec = Decapper::new(opts.config);
    let mut bad = BadInput::new(opts.strict);
    let mut progress = Progress::bytes(opened.size, opts.progress);
    let name = opened.name;
    let stopping = || opts.stop.as_deref().is_some_and(cli::stopping);
    let mut write_err = None;
    let mut passed = 0;
    let mut capture = BTreeMap::new();
    match opened.input {
        Input::Capture(mut reader) => {
            while !stopping() {
                let frame = match reader.next_frame() {
                    None => break,
                    Some(Ok(frame)) => frame,
                    Some(Err(e)) => {
                        bad.report("capture", format!("{name}: {e}"))?;
                        if e.is_fatal() {
                            break;
                        }
                        continue;
                    }
                };
                let frame = FrameIn {
                    ts: frame.ts,
                    src: &name,
                    index: frame.index,
                    link: frame.link,
                    data: frame.data,
                    tunnel: &[],
                };
                dec.push(&frame, &mut |p| write_packet(out, &mut write_err, p));
                if let Some(e) = write_err.take() {
                    return Err(e).context("writing stdout");
                }
                progress.set(reader.bytes_read());
            }
            capture = reader.anomalies();
        }
        Input::Ndjson(mut reader) => {
            while !stopping() {
                let why = match reader.next_line() {
                    None => break,
                    Some(Err(e)) => Some(e.to_string()),
                    Some(Ok(line)) => match record_type(line).as_deref() {
                        Some("frame") => match serde_json::from_slice::<Frame<'_>>(line) {
                            Ok(f) => {
                                let frame = FrameIn {
                                    ts: f.ts,
                                    src: &f.src,
                                    index: f.index,
                                    link: f.link,
                                    data: &f.data,
                                    tunnel: &f.tunnel,
                                };
                                dec.push(&frame, &mut |p| write_packet(out, &mut write_err, p));
                                None
                            }
                            Err(e) => Some(format!("bad frame record: {e}")),
                        },
                        Some(_) => {
                            out.write_raw(line).context("writing stdout")?;
                            passed += 1;
                            None
                        }
                        None => Some("not a JSON object with a \"type\"".to_string()),
                    },
                };
                if let Some(e) = write_err.take() {
                    return Err(e).context("writing stdout");
                }
                if let Some(why) = why {
                    let msg = if why.starts_with("line ") {
                        format!("{name}: {why}")
                    } else {
                        format!("{name}: line {}: {why}", reader.line_number())
                    };
                    bad.report("record", msg)?;
                }
                progress.set(reader.bytes_read());
            }
        }
    }
    dec.finish();
    progress.finish();
    out.flush().context("writing stdout")?;
    Ok(Report {
        stats: dec.stats().clone(),
        bad,
        passed,
        capture,
    })
}
