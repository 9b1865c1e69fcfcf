//! Capture files: pcap (µs and ns) and pcapng (several interfaces and link
//! types), read in order, each damaged record named and skipped.

use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::bail;

use crate::cli::{self, BadInput, Progress};
use crate::io::{open_input, Input};
use crate::pipeline;
use crate::record::Frame;

/// Whether to go on after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// Reads one capture file (`-` for stdin) and hands each frame to `emit`,
/// whose answer says whether to go on. Damaged records go to `bad`
/// ("FILE: packet N (byte B): why"); a file that is not a capture, or that
/// cannot be read, is an error.
pub fn read_file(
    path: &Path,
    bad: &mut BadInput,
    progress: bool,
    stop: &AtomicBool,
    emit: &mut dyn FnMut(&Frame<'_>) -> anyhow::Result<Flow>,
) -> anyhow::Result<Flow> {
    let opened = open_input(Some(path))?;
    let name = opened.name;
    let mut reader = match opened.input {
        Input::Capture(reader) => reader,
        Input::Ndjson(mut lines) => {
            let head = match lines.next_line() {
                Some(Ok(line)) => format!("first bytes {:02x?}", &line[..line.len().min(4)]),
                Some(Err(_)) | None => "empty".to_string(),
            };
            bail!("{name}: not a pcap or pcapng file ({head})");
        }
    };
    let mut bar = Progress::bytes(opened.size, progress);
    let mut flow = Flow::Continue;
    let stopping = || cli::stopping(stop);
    pipeline::each_frame(&mut reader, &name, bad, &mut bar, &stopping, |raw| {
        let frame = Frame {
            ts: raw.ts,
            src: Cow::Borrowed(&name),
            index: raw.index,
            link: raw.link,
            len: raw.orig_len,
            tunnel: vec![],
            data: Cow::Borrowed(raw.data),
        };
        flow = emit(&frame)?;
        Ok(flow == Flow::Continue)
    })?;
    if cli::stopping(stop) {
        flow = Flow::Stop;
    }
    bar.finish();
    for (anomaly, n) in reader.anomalies() {
        log::info!("{name}: {n} frames with {anomaly}");
    }
    Ok(flow)
}
