//! NDJSON: one JSON record per line.
//!
//! The reader reuses one line buffer, caps line length (a longer line is
//! skipped to its end and reported with its line number, the next line is read
//! normally) and counts lines; a line that lies whole in the reader's buffer is
//! handed out from there. The writer gathers lines in one buffer.

use std::io::{self, BufRead, Write};

use serde::Serialize;

use crate::record::Record;

/// Longest line the reader accepts by default: 64 MiB.
pub const DEFAULT_MAX_LINE: usize = 64 << 20;

/// A line the reader could not hand over whole.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("line {line}: longer than the {max}-byte limit ({len} bytes); skipped")]
    TooLong { line: u64, len: u64, max: usize },
    #[error("line {line}: read failed: {source}")]
    Io { line: u64, source: io::Error },
}

/// Reads NDJSON lines into a reused buffer.
pub struct NdjsonReader<R> {
    inner: R,
    buf: Vec<u8>,
    line: u64,
    max_line: usize,
    bytes: u64,
    /// Bytes of the line last handed out from the reader's buffer, consumed
    /// at the next call.
    pending: usize,
}

impl<R: BufRead> NdjsonReader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_max_line(inner, DEFAULT_MAX_LINE)
    }

    pub fn with_max_line(inner: R, max_line: usize) -> Self {
        NdjsonReader {
            inner,
            buf: Vec::with_capacity(64 << 10),
            line: 0,
            max_line,
            bytes: 0,
            pending: 0,
        }
    }

    /// Number of the line last returned (1-based).
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The next non-blank line without its line ending, or `None` at end of input.
    ///
    /// A line that lies whole in the reader's buffer is handed out from
    /// there (consumed at the next call); one that crosses the buffer's end,
    /// or is too long, is gathered in the reused line buffer.
    pub fn next_line(&mut self) -> Option<Result<&[u8], LineError>> {
        self.inner.consume(std::mem::take(&mut self.pending));
        loop {
            self.line += 1;
            // The line's length with its `\n`, when it lies whole in the
            // buffer and is not too long, and whether it is blank.
            let whole = match self.inner.fill_buf() {
                Ok(chunk) => memchr::memchr(b'\n', chunk)
                    .filter(|&i| i < self.max_line.saturating_add(2))
                    .map(|i| (i + 1, chunk.get(..i).is_some_and(is_blank))),
                Err(_) => None,
            };
            match whole {
                Some((len, true)) => {
                    self.inner.consume(len);
                    self.bytes += len as u64;
                }
                Some((len, false)) => {
                    self.bytes += len as u64;
                    self.pending = len;
                    return Some(match self.inner.fill_buf() {
                        Ok(chunk) => Ok(trim_end(chunk.get(..len).unwrap_or_default())),
                        Err(source) => Err(LineError::Io {
                            line: self.line,
                            source,
                        }),
                    });
                }
                None => match self.gather()? {
                    Err(e) => return Some(Err(e)),
                    Ok(()) if is_blank(&self.buf) => {}
                    Ok(()) => return Some(Ok(trim_end(&self.buf))),
                },
            }
        }
    }

    /// Reads the current line into `buf`, piece by piece; `None` at end of input.
    fn gather(&mut self) -> Option<Result<(), LineError>> {
        self.buf.clear();
        let mut len: u64 = 0;
        let mut too_long = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Some(Err(LineError::Io {
                        line: self.line,
                        source,
                    }))
                }
            };
            if chunk.is_empty() {
                if len == 0 {
                    return None;
                }
                break;
            }
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            len += take as u64;
            if !too_long {
                if self.buf.len() + take > self.max_line.saturating_add(2) {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.inner.consume(take);
            if done {
                break;
            }
        }
        self.bytes += len;
        if too_long {
            return Some(Err(LineError::TooLong {
                line: self.line,
                len,
                max: self.max_line,
            }));
        }
        Some(Ok(()))
    }
}

/// Whether a line is only whitespace (and so skipped).
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// A line without its `\n`, `\r\n` (or any run of them) at the end.
fn trim_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = line {
        line = rest;
    }
    line
}

/// Bytes a writer gathers before it writes them out.
const WRITE_AT: usize = 256 << 10;

/// Writes records, one per line, through one buffer.
///
/// The buffer is a plain `Vec` rather than a `BufWriter` so that records
/// are written straight into it (base64 payloads encoded in place); it goes
/// out once it holds [`WRITE_AT`] bytes, at [`NdjsonWriter::flush`], and
/// (errors ignored, as `BufWriter` does) when the writer is dropped.
pub struct NdjsonWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    records: u64,
}

impl<W: Write> NdjsonWriter<W> {
    pub fn new(out: W) -> Self {
        NdjsonWriter {
            out,
            buf: Vec::with_capacity(WRITE_AT + (64 << 10)),
            records: 0,
        }
    }

    /// Writes one record and a newline.
    pub fn write(&mut self, record: &Record<'_>) -> io::Result<()> {
        crate::record::fast_json::write_record(&mut self.buf, record)?;
        self.end_line()
    }

    /// Writes any serialisable value as one line (for records built elsewhere).
    pub fn write_value<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.buf, value).map_err(io::Error::from)?;
        self.end_line()
    }

    /// Writes a line read from upstream unchanged (pass-through).
    pub fn write_raw(&mut self, line: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(line);
        self.end_line()
    }

    /// The newline after a record; the buffer goes out when full.
    fn end_line(&mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        self.records += 1;
        if self.buf.len() >= WRITE_AT {
            self.write_out()?;
        }
        Ok(())
    }

    /// Writes the buffer out and empties it (a huge line's room is given back).
    fn write_out(&mut self) -> io::Result<()> {
        let r = self.out.write_all(&self.buf);
        self.buf.clear();
        if self.buf.capacity() > 16 * WRITE_AT {
            self.buf = Vec::with_capacity(WRITE_AT + (64 << 10));
        }
        r
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.out.flush()
    }
}

impl<W: Write> Drop for NdjsonWriter<W> {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let _ = self.out.write_all(&self.buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines read through a 4-byte buffer (every line gathered piece by
    /// piece) and through buffers that hold whole lines, which must agree,
    /// with the line numbers and byte counts.
    fn lines(input: &[u8], max: usize) -> Vec<Result<String, String>> {
        let read = |cap: usize| {
            let mut r = NdjsonReader::with_max_line(io::BufReader::with_capacity(cap, input), max);
            let mut out = vec![];
            while let Some(l) = r.next_line() {
                let l = l
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .map_err(|e| e.to_string());
                out.push((l, r.line_number(), r.bytes_read()));
            }
            out
        };
        let small = read(4);
        for cap in [5, 7, 16, 64, 1 << 16] {
            assert_eq!(read(cap), small, "capacity {cap}");
        }
        small.into_iter().map(|(l, _, _)| l).collect()
    }

    /// Records go out when the buffer fills, at flush, and when the writer
    /// is dropped; a huge line's room is given back.
    #[test]
    fn writer_writes_out_when_full_at_flush_and_on_drop() {
        let line = vec![b'x'; 100 << 10];
        let mut sink = Vec::new();
        {
            let mut w = NdjsonWriter::new(&mut sink);
            w.write_raw(&line).unwrap();
            w.write_raw(&line).unwrap();
            assert!(w.out.is_empty());
            w.write_raw(&line).unwrap();
            assert_eq!(w.out.len(), 3 * line.len() + 3);
            w.write_raw(b"{}").unwrap();
            w.flush().unwrap();
            assert_eq!(w.out.len(), 3 * line.len() + 6);
            w.write_raw(&vec![b'y'; 20 * WRITE_AT]).unwrap();
            assert!(w.buf.capacity() <= 16 * WRITE_AT);
            w.write_raw(b"{}").unwrap();
        }
        assert_eq!(sink.len(), 3 * line.len() + 6 + 20 * WRITE_AT + 1 + 3);
    }

    proptest::proptest! {
        #[test]
        fn any_buffer_size_reads_the_same_lines(
            input in proptest::collection::vec(proptest::sample::select(b"ab \r\n{}".to_vec()), 0..200),
            max in 0usize..12,
        ) {
            lines(&input, max);
        }
    }

    #[test]
    fn splits_lines_skips_blank_and_strips_crlf() {
        let got = lines(b"{\"a\":1}\r\n\n  \n{\"b\":2}", 100);
        assert_eq!(got, vec![Ok("{\"a\":1}".into()), Ok("{\"b\":2}".into())]);
    }

    #[test]
    fn long_line_is_reported_with_its_number_and_skipped() {
        let got = lines(b"{}\nxxxxxxxxxxxxxxxxxxxx\n{\"ok\":1}\n", 8);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Ok("{}".into()));
        let err = got[1].as_ref().unwrap_err();
        assert!(
            err.starts_with("line 2: longer than the 8-byte limit (21 bytes)"),
            "{err}"
        );
        assert_eq!(got[2], Ok("{\"ok\":1}".into()));
    }

    #[test]
    fn writer_counts_and_passes_raw_lines() {
        let mut w = NdjsonWriter::new(Vec::new());
        w.write_raw(br#"{"type":"x"}"#).unwrap();
        w.write_value(&serde_json::json!({"type":"y"})).unwrap();
        assert_eq!(w.records(), 2);
        w.flush().unwrap();
        assert_eq!(w.out, b"{\"type\":\"x\"}\n{\"type\":\"y\"}\n");
    }
}
