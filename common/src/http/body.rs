//! Message bodies: the bytes left after transfer decoding (chunked) go through
//! the content codings the message declares (`gzip`, `x-gzip`, `deflate` as zlib
//! or raw, `br`, `zstd`, in layers) into a capped buffer.
//!
//! Decoding streams: each body byte is decoded as it arrives and the output
//! lands in [`Sink`], which keeps the first `body_cap` bytes and counts the
//! rest. Decoding stops for good (and the body is marked truncated) when the
//! decoded length passes `decompress_cap`, when it grows more than
//! `max_ratio` times the encoded length (past the first 64 KiB), or when the
//! coded data is bad. So a decompression bomb costs at most `decompress_cap`
//! bytes of work and `body_cap` bytes of memory.
//!
//! What `body_len` means, in order:
//! - content decoding ran to the end (or the message had no coding): the full
//!   decoded length, even past `body_cap`;
//! - decoding stopped early (cap, ratio, bad data, gap) or was not attempted
//!   (`body_cap` 0, an unknown coding): the body bytes seen on the wire after
//!   transfer decoding.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};

/// Content codings stacked deeper than this are not decoded.
pub const MAX_LAYERS: usize = 4;

/// Most a body reserves up front for its declared length ([`Body::expect`]).
const RESERVE_MAX: usize = 256 << 10;
/// A declared length reserves at most this many times the body bytes that
/// have arrived ([`Body::expect`]): a sender must send to make us allocate.
const RESERVE_PER_BYTE: usize = 64;

/// Decoded bytes allowed before the ratio check applies.
const RATIO_GRACE: u64 = 64 << 10;

/// Limits for one body.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub body_cap: usize,
    pub decompress_cap: u64,
    pub max_ratio: u64,
}

/// One content coding of a `Content-Encoding` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

/// Parses a `Content-Encoding` value list (all header lines joined) into the
/// codings in the order they were applied. `Ok(empty)` for identity;
/// `Err(reason)` for an unknown or over-deep list.
pub fn parse_codings<'a>(
    values: impl Iterator<Item = &'a str>,
) -> Result<Vec<Coding>, &'static str> {
    let mut out = Vec::new();
    for value in values {
        for token in value.split(',') {
            let token = token.trim();
            let coding = if token.is_empty() || token.eq_ignore_ascii_case("identity") {
                continue;
            } else if token.eq_ignore_ascii_case("gzip") || token.eq_ignore_ascii_case("x-gzip") {
                Coding::Gzip
            } else if token.eq_ignore_ascii_case("deflate") {
                Coding::Deflate
            } else if token.eq_ignore_ascii_case("br") {
                Coding::Brotli
            } else if token.eq_ignore_ascii_case("zstd") {
                Coding::Zstd
            } else {
                return Err("unsupported_content_encoding");
            };
            if out.len() == MAX_LAYERS {
                return Err("too_many_content_encodings");
            }
            out.push(coding);
        }
    }
    Ok(out)
}

/// Why decoding stopped before the end of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// `decompress_cap` or the ratio limit.
    Capped,
    /// The coded data was bad.
    Failed,
}

/// The end of the decoder chain: keeps the first `cap` bytes, counts all,
/// refuses to go past the limits.
#[derive(Debug, Default)]
struct SinkState {
    kept: Vec<u8>,
    cap: usize,
    decoded: u64,
    encoded: u64,
    decompress_cap: u64,
    max_ratio: u64,
    capped: bool,
}

#[derive(Clone)]
struct Sink(Arc<Mutex<SinkState>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Ok(mut s) = self.0.lock() else {
            return Err(io::Error::other("sink poisoned"));
        };
        let next = s.decoded.saturating_add(buf.len() as u64);
        let ratio_limit = s.encoded.saturating_mul(s.max_ratio).max(RATIO_GRACE);
        if next > s.decompress_cap || next > ratio_limit {
            s.capped = true;
            return Err(io::Error::other("decompression limit"));
        }
        let room = s.cap.saturating_sub(s.kept.len());
        let take = room.min(buf.len());
        if let Some(part) = buf.get(..take) {
            s.kept.extend_from_slice(part);
        }
        s.decoded = next;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `deflate` as sent: zlib-wrapped (RFC 1950, what the RFC means) or raw
/// (RFC 1951, what some servers send). The first two bytes decide.
enum AutoDeflate<W: Write> {
    Undecided(Vec<u8>, Option<W>),
    Zlib(ZlibDecoder<W>),
    Raw(DeflateDecoder<W>),
}

impl<W: Write> Write for AutoDeflate<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            AutoDeflate::Zlib(d) => d.write(buf),
            AutoDeflate::Raw(d) => d.write(buf),
            AutoDeflate::Undecided(head, _) => {
                let need = 2 - head.len();
                let take = need.min(buf.len());
                head.extend_from_slice(buf.get(..take).unwrap_or_default());
                if head.len() == 2 {
                    self.decide()?;
                }
                Ok(take)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if matches!(self, AutoDeflate::Undecided(..)) {
            self.decide()?;
        }
        match self {
            AutoDeflate::Zlib(d) => d.flush(),
            AutoDeflate::Raw(d) => d.flush(),
            AutoDeflate::Undecided(..) => Ok(()),
        }
    }
}

impl<W: Write> AutoDeflate<W> {
    fn decide(&mut self) -> io::Result<()> {
        let AutoDeflate::Undecided(head, inner) = self else {
            return Ok(());
        };
        let Some(inner) = inner.take() else {
            return Ok(());
        };
        let head = std::mem::take(head);
        let zlib = match head.as_slice() {
            [cmf, flg] => cmf & 0x0f == 8 && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0,
            _ => false,
        };
        *self = if zlib {
            AutoDeflate::Zlib(ZlibDecoder::new(inner))
        } else {
            AutoDeflate::Raw(DeflateDecoder::new(inner))
        };
        match self {
            AutoDeflate::Zlib(d) => d.write_all(&head),
            AutoDeflate::Raw(d) => d.write_all(&head),
            AutoDeflate::Undecided(..) => Ok(()),
        }
    }
}

type Chain = Box<dyn Write + Send>;

/// A layer's output that refuses to take nothing: flate2's decoders accept
/// 0 bytes once their stream has ended (trailing data), and brotli's writer
/// retries such a write forever (found by fuzzing: `gzip, br` with bytes after
/// the gzip member hung the parser). `WriteZero` stops decoding instead.
struct NonZero(Chain);

impl Write for NonZero {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.write(buf)? {
            0 if !buf.is_empty() => Err(io::ErrorKind::WriteZero.into()),
            n => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn layer(coding: Coding, inner: Chain) -> io::Result<Chain> {
    let inner: Chain = Box::new(NonZero(inner));
    Ok(match coding {
        Coding::Gzip => Box::new(GzDecoder::new(inner)),
        Coding::Deflate => Box::new(AutoDeflate::Undecided(Vec::with_capacity(2), Some(inner))),
        Coding::Brotli => Box::new(brotli::DecompressorWriter::new(inner, 8 << 10)),
        Coding::Zstd => {
            let mut d = zstd::stream::write::Decoder::new(inner)?;
            // 8 MiB windows at most: a stream asking for more is refused.
            d.window_log_max(23)?;
            Box::new(d)
        }
    })
}

/// The decoded body of one message, built as its bytes arrive.
pub struct Body {
    /// Body bytes seen after transfer decoding.
    wire_len: u64,
    /// Identity bodies: the kept bytes. Coded bodies: the encoded prefix, kept
    /// until decoding produces output (shown when decoding fails at once).
    raw: Vec<u8>,
    cap: usize,
    decoder: Option<(Chain, Sink)>,
    stop: Option<Stop>,
    /// Coded body whose decoding was never attempted.
    undecoded: bool,
    /// Bytes were lost (a gap) inside this body.
    gapped: bool,
    /// Declared length still to reserve room for at the first push
    /// ([`Body::expect`]); 0 when none.
    expected: usize,
}

/// A finished body, as the record holds it.
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    pub body: Vec<u8>,
    pub body_len: u64,
    pub truncated: bool,
    /// Anomaly to record, if any.
    pub anomaly: Option<&'static str>,
}

impl Body {
    /// A body with the given codings (in the order they were applied).
    /// Codings are not decoded when `body_cap` is 0.
    pub fn new(codings: &[Coding], limits: BodyLimits) -> Body {
        let mut body = Body {
            wire_len: 0,
            raw: Vec::new(),
            cap: limits.body_cap,
            decoder: None,
            stop: None,
            undecoded: false,
            gapped: false,
            expected: 0,
        };
        if codings.is_empty() {
            return body;
        }
        if limits.body_cap == 0 {
            body.undecoded = true;
            return body;
        }
        let sink = Sink(Arc::new(Mutex::new(SinkState {
            cap: limits.body_cap,
            decompress_cap: limits.decompress_cap,
            max_ratio: limits.max_ratio.max(1),
            ..SinkState::default()
        })));
        let mut chain: Chain = Box::new(sink.clone());
        // Applied first = decoded last = innermost.
        for &coding in codings {
            match layer(coding, chain) {
                Ok(c) => chain = c,
                Err(_) => {
                    body.stop = Some(Stop::Failed);
                    return body;
                }
            }
        }
        body.decoder = Some((chain, sink));
        body
    }

    /// A body that is not decoded (unknown coding): kept as sent.
    pub fn undecoded(limits: BodyLimits) -> Body {
        let mut body = Body::new(&[], limits);
        body.undecoded = true;
        body
    }

    /// Makes room for a body of `len` declared bytes (`Content-Length`)
    /// kept as sent, so its buffer is allocated once instead of growing by
    /// doubling segment by segment. A length is only a claim, so the room
    /// is made when the first body bytes arrive, and is at most `body_cap`,
    /// [`RESERVE_MAX`] and [`RESERVE_PER_BYTE`] times those bytes: many
    /// connections that declare large bodies and send none (or one byte)
    /// make us allocate nothing (or 64 bytes) each.
    pub fn expect(&mut self, len: u64) {
        if self.decoder.is_none() {
            self.expected = usize::try_from(len)
                .unwrap_or(usize::MAX)
                .min(self.cap)
                .min(RESERVE_MAX);
        }
    }

    /// Feeds the next body bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.wire_len = self.wire_len.saturating_add(data.len() as u64);
        let keep_raw = match &self.decoder {
            None => true,
            Some((_, sink)) => sink.0.lock().map(|s| s.decoded == 0).unwrap_or(false),
        };
        if keep_raw {
            if self.expected > 0 {
                let want = self
                    .expected
                    .min(data.len().saturating_mul(RESERVE_PER_BYTE));
                self.expected = 0;
                self.raw.reserve_exact(want.saturating_sub(self.raw.len()));
            }
            let room = self.cap.saturating_sub(self.raw.len());
            self.raw
                .extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
        }
        if self.stop.is_some() {
            return;
        }
        if let Some((chain, sink)) = &mut self.decoder {
            if let Ok(mut s) = sink.0.lock() {
                s.encoded = s.encoded.saturating_add(data.len() as u64);
            }
            if chain.write_all(data).is_err() {
                self.stop_decoding();
            }
        }
    }

    fn stop_decoding(&mut self) {
        let capped = self
            .decoder
            .as_ref()
            .and_then(|(_, s)| s.0.lock().ok().map(|s| s.capped))
            .unwrap_or(false);
        self.stop = Some(if capped { Stop::Capped } else { Stop::Failed });
    }

    /// Bytes were lost inside the body: decoding cannot go on.
    pub fn gap(&mut self) {
        self.gapped = true;
        if self.decoder.is_some() && self.stop.is_none() {
            if let Some((chain, _)) = &mut self.decoder {
                let _ = chain.flush();
            }
            self.stop = Some(Stop::Failed);
        }
    }

    /// Ends the body. `complete` is false when the message was cut short.
    pub fn finish(mut self, complete: bool) -> Decoded {
        self.finish_in_place(complete)
    }

    /// [`Body::finish`] where the body lies (its buffers taken, the rest
    /// left to drop): a body kept in a boxed state is not moved out first.
    pub fn finish_in_place(&mut self, complete: bool) -> Decoded {
        let Some((mut chain, sink)) = self.decoder.take() else {
            // Identity (or undecoded) body.
            return Decoded {
                truncated: self.wire_len > self.raw.len() as u64 || !complete || self.gapped,
                body_len: self.wire_len,
                body: std::mem::take(&mut self.raw),
                anomaly: None,
            };
        };
        if self.stop.is_none() && chain.flush().is_err() {
            self.stop_decoding();
        }
        drop(chain);
        let state = match Arc::try_unwrap(sink.0) {
            Ok(m) => m.into_inner().unwrap_or_default(),
            Err(arc) => arc
                .lock()
                .map(|mut s| std::mem::take(&mut *s))
                .unwrap_or_default(),
        };
        match self.stop {
            None if complete && !self.gapped => Decoded {
                truncated: state.decoded > state.kept.len() as u64,
                body_len: state.decoded,
                body: state.kept,
                anomaly: None,
            },
            stop => {
                let anomaly = match stop {
                    Some(Stop::Capped) => Some("decompression_capped"),
                    Some(Stop::Failed) if !self.gapped && complete => {
                        Some("content_decoding_failed")
                    }
                    _ => None,
                };
                // Nothing decoded: show the bytes as sent.
                let body = if state.decoded == 0 {
                    std::mem::take(&mut self.raw)
                } else {
                    state.kept
                };
                Decoded {
                    truncated: true,
                    body_len: self.wire_len,
                    body,
                    anomaly,
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    pub fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    pub fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }
    pub fn br(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            w.write_all(data).unwrap();
        }
        out
    }
    pub fn zstd(data: &[u8]) -> Vec<u8> {
        zstd::encode_all(data, 3).unwrap()
    }

    fn limits(cap: usize) -> BodyLimits {
        BodyLimits {
            body_cap: cap,
            decompress_cap: 1 << 20,
            max_ratio: 1000,
        }
    }

    fn decode(codings: &[Coding], data: &[u8], cap: usize, piece: usize) -> Decoded {
        let mut b = Body::new(codings, limits(cap));
        for chunk in data.chunks(piece.max(1)) {
            b.push(chunk);
        }
        b.finish(true)
    }

    /// A declared length only sizes the buffer: the body is the same
    /// whatever the claim, and a claim never reserves past the caps.
    #[test]
    fn expected_length_changes_nothing_but_the_room() {
        let text = b"0123456789".repeat(100);
        for (claim, cap) in [
            (1000, 1 << 20),
            (10, 1 << 20),
            (u64::MAX, 500),
            (1 << 40, 1 << 30),
        ] {
            let mut b = Body::new(&[], limits(cap));
            b.expect(claim);
            assert_eq!(b.raw.capacity(), 0, "nothing before the body comes");
            b.push(b"x");
            assert!(b.raw.capacity() <= RESERVE_PER_BYTE, "{claim} {cap}");
            let mut b = Body::new(&[], limits(cap));
            b.expect(claim);
            b.push(&text[..10]);
            assert!(
                b.raw.capacity() <= cap.min(RESERVE_MAX).clamp(10, 10 * RESERVE_PER_BYTE),
                "{claim} {cap}"
            );
            for chunk in text[10..].chunks(7) {
                b.push(chunk);
            }
            assert_eq!(b.finish(true), decode(&[], &text, cap, 7), "{claim} {cap}");
        }
        let mut coded = Body::new(&[Coding::Gzip], limits(1 << 20));
        coded.expect(1000);
        assert_eq!(coded.raw.capacity(), 0);
    }

    #[test]
    fn each_coding_and_layers() {
        let text = b"hello hello hello hello, body of a message".repeat(20);
        let cases: Vec<(&str, Vec<Coding>, Vec<u8>)> = vec![
            ("gzip", vec![Coding::Gzip], gzip(&text)),
            ("zlib", vec![Coding::Deflate], zlib(&text)),
            ("raw deflate", vec![Coding::Deflate], raw_deflate(&text)),
            ("br", vec![Coding::Brotli], br(&text)),
            ("zstd", vec![Coding::Zstd], zstd(&text)),
            (
                "gzip then br",
                vec![Coding::Gzip, Coding::Brotli],
                br(&gzip(&text)),
            ),
            (
                "zstd, deflate, gzip",
                vec![Coding::Zstd, Coding::Deflate, Coding::Gzip],
                gzip(&zlib(&zstd(&text))),
            ),
        ];
        for (name, codings, coded) in cases {
            for piece in [1, 3, 1000] {
                let d = decode(&codings, &coded, 1 << 20, piece);
                assert_eq!(d.body, text, "{name} piece {piece}");
                assert_eq!(d.body_len, text.len() as u64, "{name}");
                assert!(!d.truncated, "{name}");
                assert_eq!(d.anomaly, None, "{name}");
            }
            // Capped output still counts the full decoded length.
            let d = decode(&codings, &coded, 10, 7);
            assert_eq!(d.body, &text[..10], "{name}");
            assert_eq!(d.body_len, text.len() as u64, "{name}");
            assert!(d.truncated);
        }
    }

    #[test]
    fn parse_coding_lists() {
        assert_eq!(
            parse_codings(["gzip, br", "x-gzip"].into_iter()),
            Ok(vec![Coding::Gzip, Coding::Brotli, Coding::Gzip])
        );
        assert_eq!(parse_codings(["identity"].into_iter()), Ok(vec![]));
        assert_eq!(
            parse_codings(["compress"].into_iter()),
            Err("unsupported_content_encoding")
        );
        assert_eq!(
            parse_codings(["gzip,gzip,gzip,gzip,gzip"].into_iter()),
            Err("too_many_content_encodings")
        );
    }

    #[test]
    fn gzip_bomb_is_capped_cheaply() {
        // 1 GiB of zeros, compressed as it is streamed (about 1 MiB of gzip).
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            e.write_all(&zeros).unwrap();
        }
        let bomb = e.finish().unwrap();
        assert!(bomb.len() < 2 << 20, "{}", bomb.len());
        let lim = BodyLimits {
            body_cap: 4096,
            decompress_cap: 8 << 20,
            max_ratio: 100_000,
        };
        let start = std::time::Instant::now();
        let mut b = Body::new(&[Coding::Gzip], lim);
        for chunk in bomb.chunks(1460) {
            b.push(chunk);
        }
        let d = b.finish(true);
        assert!(d.truncated);
        assert_eq!(d.body.len(), 4096);
        assert!(d.body.iter().all(|&x| x == 0));
        assert_eq!(d.body_len, bomb.len() as u64, "wire length when capped");
        assert_eq!(d.anomaly, Some("decompression_capped"));
        // Far less than decoding a gigabyte (which takes seconds).
        assert!(start.elapsed().as_secs() < 5);

        // The ratio limit stops it too, long before the absolute cap.
        let lim = BodyLimits {
            body_cap: 4096,
            decompress_cap: u64::MAX,
            max_ratio: 100,
        };
        let mut b = Body::new(&[Coding::Gzip], lim);
        b.push(&bomb);
        assert_eq!(b.finish(true).anomaly, Some("decompression_capped"));
    }

    #[test]
    fn bad_data_and_no_cap() {
        let d = decode(&[Coding::Gzip], b"not gzip at all", 100, 4);
        assert_eq!(d.body, b"not gzip at all");
        assert_eq!(d.body_len, 15);
        assert!(d.truncated);
        assert_eq!(d.anomaly, Some("content_decoding_failed"));
        // Cap 0: nothing decoded, wire length counted.
        let coded = gzip(b"abcdef");
        let d = decode(&[Coding::Gzip], &coded, 0, 100);
        assert_eq!(d.body, b"");
        assert_eq!(d.body_len, coded.len() as u64);
        assert!(d.truncated);
        // Identity body over the cap.
        let d = decode(&[], b"0123456789", 4, 3);
        assert_eq!(
            (d.body.as_slice(), d.body_len, d.truncated),
            (&b"0123"[..], 10, true)
        );
    }
}
