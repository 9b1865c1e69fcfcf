//! Where captured frames go: NDJSON `frame` records, a classic pcap file, or
//! any closure (`tapwatch run` hands frames straight to decapsulation).

use std::io::{self, Write};

use serde::Serialize;

use crate::io::{NdjsonWriter, PcapWriter};
use crate::record::{Frame, LinkType};

/// Receives every captured frame, in output order.
pub trait FrameSink {
    /// Takes one frame; an error ends the capture.
    fn frame(&mut self, frame: &Frame<'_>) -> anyhow::Result<()>;

    /// The sources are open and nothing has been read yet: the moment to give
    /// up privileges (`tapwatch run --user`).
    fn opened(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    /// The capture's counters so far: about once a second while live sources
    /// run (with the kernel's counters per interface), and once at the end.
    fn report(&mut self, _report: &super::driver::Report) {}

    /// Pushes buffered output on (called when a live source goes idle and at the end).
    fn flush(&mut self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Frames taken but not written, by reason, for the summary.
    fn skipped(&self) -> Vec<(&'static str, u64)> {
        vec![]
    }
}

impl<F: FnMut(&Frame<'_>) -> anyhow::Result<()>> FrameSink for F {
    fn frame(&mut self, frame: &Frame<'_>) -> anyhow::Result<()> {
        self(frame)
    }
}

/// A `frame` line: the record's fields after `"type":"frame"`, exactly as
/// [`crate::record::Record::Frame`] writes them, without cloning the frame.
#[derive(Serialize)]
struct FrameLine<'r, 'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    frame: &'r Frame<'a>,
}

/// Writes `frame` records as NDJSON.
pub struct NdjsonSink<W: Write> {
    out: NdjsonWriter<W>,
}

impl<W: Write> NdjsonSink<W> {
    pub fn new(out: W) -> Self {
        NdjsonSink {
            out: NdjsonWriter::new(out),
        }
    }
}

impl<W: Write> FrameSink for NdjsonSink<W> {
    fn frame(&mut self, frame: &Frame<'_>) -> anyhow::Result<()> {
        self.out.write_value(&FrameLine {
            kind: "frame",
            frame,
        })?;
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        Ok(self.out.flush()?)
    }
}

/// Writes classic pcap. The first frame decides the link type and the
/// precision (nanoseconds when its time has more than 6 digits); a frame of
/// another link type cannot be stored and is counted as skipped.
pub struct PcapSink<W: Write> {
    state: PcapState<W>,
    link_mismatch: u64,
}

enum PcapState<W: Write> {
    Waiting(W),
    Writing(PcapWriter<W>),
    /// Transient, while the header is written.
    Gone,
}

impl<W: Write> PcapSink<W> {
    pub fn new(out: W) -> Self {
        PcapSink {
            state: PcapState::Waiting(out),
            link_mismatch: 0,
        }
    }

    fn start(&mut self, link: LinkType, nanos: bool) -> io::Result<&mut PcapWriter<W>> {
        if matches!(self.state, PcapState::Waiting(_)) {
            if let PcapState::Waiting(out) = std::mem::replace(&mut self.state, PcapState::Gone) {
                self.state = PcapState::Writing(PcapWriter::new(out, link, nanos)?);
            }
        }
        match &mut self.state {
            PcapState::Writing(w) => Ok(w),
            _ => Err(io::Error::other(
                "pcap output lost after a failed header write",
            )),
        }
    }
}

impl<W: Write> FrameSink for PcapSink<W> {
    fn frame(&mut self, frame: &Frame<'_>) -> anyhow::Result<()> {
        let w = self.start(frame.link, frame.ts.digits > 6)?;
        if frame.link != w.link() {
            let first = w.link();
            self.link_mismatch += 1;
            if self.link_mismatch == 1 {
                log::warn!(
                    "{}: frame {}: link type {} differs from the first frame's ({first}); \
                     a pcap file holds one link type, so such frames are skipped and counted",
                    frame.src,
                    frame.index,
                    frame.link
                );
            }
            return Ok(());
        }
        w.write(frame.ts, frame.len, &frame.data)?;
        Ok(())
    }

    /// Flushes; with no frame written yet, a header (Ethernet, µs) is written
    /// first so that even an empty capture is a valid file.
    fn flush(&mut self) -> anyhow::Result<()> {
        if matches!(self.state, PcapState::Waiting(_)) {
            self.start(LinkType::Ethernet, false)?;
        }
        if let PcapState::Writing(w) = &mut self.state {
            w.flush()?;
        }
        Ok(())
    }

    fn skipped(&self) -> Vec<(&'static str, u64)> {
        vec![("link_mismatch", self.link_mismatch)]
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::record::{Record, Ts, Tunnel};

    fn frame(link: LinkType, ts: Ts) -> Frame<'static> {
        Frame {
            ts,
            src: "x".into(),
            index: 1,
            link,
            len: 9,
            tunnel: vec![Tunnel::Vxlan {
                vni: 7,
                outer_src: "10.0.0.5".parse().unwrap(),
                outer_dst: "10.0.0.9".parse().unwrap(),
            }],
            data: Cow::Borrowed(b"hello"),
        }
    }

    #[test]
    fn ndjson_line_is_the_record_wire_format() {
        let f = frame(LinkType::Ethernet, Ts::from_nanos(1_714_564_800, 5));
        let mut out = vec![];
        let mut sink = NdjsonSink::new(&mut out);
        sink.frame(&f).unwrap();
        sink.flush().unwrap();
        drop(sink);
        let want = serde_json::to_string(&Record::Frame(f)).unwrap() + "\n";
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn pcap_sink_precision_link_and_empty() {
        let mut out = vec![];
        let mut sink = PcapSink::new(&mut out);
        sink.frame(&frame(LinkType::Ethernet, Ts::from_nanos(1, 5)))
            .unwrap();
        sink.frame(&frame(LinkType::Raw, Ts::from_nanos(2, 5)))
            .unwrap();
        sink.flush().unwrap();
        assert_eq!(sink.skipped(), vec![("link_mismatch", 1)]);
        drop(sink);
        // Nanosecond magic, one 16+5-byte record after the 24-byte header.
        assert_eq!(&out[..4], &0xa1b2_3c4du32.to_ne_bytes());
        assert_eq!(out.len(), 24 + 16 + 5);

        let mut empty = vec![];
        let mut sink = PcapSink::new(&mut empty);
        sink.flush().unwrap();
        drop(sink);
        assert_eq!(empty.len(), 24);
        assert_eq!(&empty[..4], &0xa1b2_c3d4u32.to_ne_bytes());
    }
}
