//! Capture files: classic pcap (µs and ns, both byte orders) and pcapng.
//!
//! Reading is built for hostile files. Record framing is ours, so a damaged
//! record never stops the file: a record whose length is impossible is named
//! (packet index and byte offset) and the reader scans forward to the next
//! plausible record; only a truncated tail ends the file early. pcapng block
//! contents are decoded by `pcap-file` once the framing has been checked.
//! Writing classic pcap goes through `pcap-file`.
//!
//! Readers lend each frame from an internal buffer (`next_frame`): finish with
//! one frame before asking for the next.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::time::Duration;

use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgParser};

use crate::record::{LinkType, Ts};

/// The largest frame tapwatch reads or writes (libpcap's MAXIMUM_SNAPLEN).
pub const MAX_FRAME: u32 = 262_144;
/// The largest pcapng block accepted; larger lengths are treated as corruption.
pub const MAX_BLOCK: u32 = 16 << 20;

/// How far the reader scans for the next plausible record after a damaged one.
const RESYNC_WINDOW: usize = 4 << 20;

/// One frame lent by a capture reader.
#[derive(Debug, Clone, Copy)]
pub struct RawFrame<'b> {
    pub ts: Ts,
    pub link: LinkType,
    /// Length on the wire; at least `data.len()`.
    pub orig_len: u32,
    pub data: &'b [u8],
    /// Zero-based index of the frame in the file (damaged records count too).
    pub index: u64,
    /// pcapng interface id (0 for classic pcap).
    pub iface: u32,
}

/// What went wrong in a capture file, and where.
#[derive(Debug, thiserror::Error)]
pub enum CaptureFileError {
    #[error("not a pcap or pcapng file (first bytes {0:02x?})")]
    BadMagic(Vec<u8>),
    #[error("file header truncated ({0} bytes)")]
    ShortHeader(usize),
    #[error("packet {index} (byte {offset}): record truncated: it needs {want} bytes, {have} remain; rest of file ignored")]
    Truncated {
        index: u64,
        offset: u64,
        want: u64,
        have: u64,
    },
    #[error("packet {index} (byte {offset}): {reason}; skipped {skipped} bytes to the next plausible record")]
    Resynced {
        index: u64,
        offset: u64,
        reason: String,
        skipped: u64,
    },
    #[error("packet {index} (byte {offset}): {reason}; no plausible record follows, rest of file ignored")]
    Corrupt {
        index: u64,
        offset: u64,
        reason: String,
    },
    #[error("block at byte {offset}: {reason}; block skipped")]
    BadBlock { offset: u64, reason: String },
    #[error("read failed at byte {offset}: {source}")]
    Io { offset: u64, source: io::Error },
}

impl CaptureFileError {
    /// The short name under which the problem is counted.
    pub fn kind(&self) -> &'static str {
        match self {
            CaptureFileError::BadMagic(_) => "bad_magic",
            CaptureFileError::ShortHeader(_) => "short_header",
            CaptureFileError::Truncated { .. } => "truncated_record",
            CaptureFileError::Resynced { .. } => "damaged_record",
            CaptureFileError::Corrupt { .. } => "corrupt_tail",
            CaptureFileError::BadBlock { .. } => "bad_block",
            CaptureFileError::Io { .. } => "read_error",
        }
    }

    /// Whether the reader stops after this error (`false`: it goes on with the next frame).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            CaptureFileError::Resynced { .. } | CaptureFileError::BadBlock { .. }
        )
    }
}

/// The file formats a reader can recognise from the first four bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Magic {
    Pcap,
    PcapNg,
}

impl Magic {
    pub fn detect(head: &[u8]) -> Option<Magic> {
        match head.get(..4)? {
            [0xa1, 0xb2, 0xc3, 0xd4]
            | [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x4d, 0x3c, 0xb2, 0xa1] => Some(Magic::Pcap),
            [0x0a, 0x0d, 0x0d, 0x0a] => Some(Magic::PcapNg),
            _ => None,
        }
    }
}

/// A growable read buffer with a consumed prefix, so records can be borrowed whole.
struct ByteBuf<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// File offset of `buf[pos]`.
    offset: u64,
    eof: bool,
}

impl<R: Read> ByteBuf<R> {
    fn new(inner: R) -> Self {
        ByteBuf {
            inner,
            buf: vec![0; 1 << 20],
            pos: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Makes at least `need` bytes available; `Ok(false)` when the input ends first.
    #[inline]
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        if self.end - self.pos >= need {
            return Ok(true);
        }
        self.refill(need)
    }

    /// [`fill`](Self::fill) when the bytes are not there yet (twice in a
    /// thousand packets: kept out of line so the common case is a compare).
    #[cold]
    fn refill(&mut self, need: usize) -> io::Result<bool> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        while self.end < need && !self.eof {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end >= need)
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.pos);
        self.pos += n;
        self.offset += n as u64;
    }

    /// Bytes remaining once the input has ended (for truncation messages).
    fn remaining_at_eof(&mut self) -> u64 {
        (self.end - self.pos) as u64
    }
}

/// The error for a damaged record at `offset`: the reader skips to where
/// `found` says the next plausible record starts, or gives up on the file.
fn after_damage<R: Read>(
    buf: &mut ByteBuf<R>,
    done: &mut bool,
    found: io::Result<Option<usize>>,
    index: u64,
    offset: u64,
    reason: String,
) -> CaptureFileError {
    match found {
        Ok(Some(skip)) => {
            buf.consume(skip);
            CaptureFileError::Resynced {
                index,
                offset,
                reason,
                skipped: skip as u64,
            }
        }
        Ok(None) => {
            *done = true;
            CaptureFileError::Corrupt {
                index,
                offset,
                reason,
            }
        }
        Err(source) => {
            *done = true;
            CaptureFileError::Io { offset, source }
        }
    }
}

fn u32_at(b: &[u8], at: usize, big: bool) -> u32 {
    // One bounds check (the callers checked the length) instead of four,
    // and no panic if one did not.
    let bytes: [u8; 4] = b
        .get(at..at.saturating_add(4))
        .and_then(|w| w.try_into().ok())
        .unwrap_or_default();
    if big {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    }
}

/// Reads classic pcap: either byte order, microsecond or nanosecond stamps.
pub struct PcapReader<R> {
    buf: ByteBuf<R>,
    big: bool,
    nanos: bool,
    snaplen: u32,
    link: LinkType,
    index: u64,
    last_secs: Option<u32>,
    done: bool,
    /// Frames accepted with a captured length above the file's snaplen.
    pub caplen_over_snaplen: u64,
}

const PCAP_HEADER: usize = 24;
const PCAP_RECORD: usize = 16;

impl<R: Read> PcapReader<R> {
    /// Reads the global header.
    pub fn new(inner: R) -> Result<Self, CaptureFileError> {
        let mut buf = ByteBuf::new(inner);
        let full = buf
            .fill(PCAP_HEADER)
            .map_err(|source| CaptureFileError::Io { offset: 0, source })?;
        let head = buf.available();
        if !full {
            return match Magic::detect(head) {
                Some(_) => Err(CaptureFileError::ShortHeader(head.len())),
                None => Err(CaptureFileError::BadMagic(head.to_vec())),
            };
        }
        let (big, nanos) = match head[..4] {
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
            _ => return Err(CaptureFileError::BadMagic(head[..4].to_vec())),
        };
        let snaplen = u32_at(head, 16, big);
        // The upper bits of the link field carry FCS flags (pcap spec §4); keep the type.
        let link = LinkType::from_dlt(u32_at(head, 20, big) & 0x0fff_ffff);
        buf.consume(PCAP_HEADER);
        Ok(PcapReader {
            buf,
            big,
            nanos,
            snaplen,
            link,
            index: 0,
            last_secs: None,
            done: false,
            caplen_over_snaplen: 0,
        })
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    pub fn bytes_read(&self) -> u64 {
        self.buf.offset
    }

    /// Largest captured length accepted before a record counts as corrupt:
    /// the snaplen, at least [`MAX_FRAME`], at most [`MAX_BLOCK`] (a header's
    /// snaplen of 3 GB made a 482-byte file allocate 1.7 GB; found by fuzzing).
    fn caplen_limit(&self) -> u32 {
        self.snaplen.clamp(MAX_FRAME, MAX_BLOCK)
    }

    /// Whether a record header looks like a real one (used to resynchronise).
    fn plausible(&self, h: &[u8]) -> bool {
        let secs = u32_at(h, 0, self.big);
        let frac = u32_at(h, 4, self.big);
        let caplen = u32_at(h, 8, self.big);
        let orig = u32_at(h, 12, self.big);
        let frac_ok = if self.nanos {
            frac < 1_000_000_000
        } else {
            frac < 1_000_000
        };
        let near = self
            .last_secs
            .is_none_or(|last| secs.abs_diff(last) <= 86_400);
        frac_ok && near && caplen <= self.caplen_limit() && caplen <= orig && orig <= MAX_BLOCK
    }

    /// Whether the record of `want` bytes (header included) at the current
    /// position is followed by a plausible record header, or by the end of
    /// the input (or by a partial header there, reported on the next call).
    fn successor_plausible(&mut self, want: usize) -> io::Result<bool> {
        if !self.buf.fill(want + PCAP_RECORD)? {
            return Ok(true);
        }
        let next = &self.buf.available()[want..want + PCAP_RECORD];
        Ok(self.plausible(next))
    }

    /// Scans forward from one byte past the damaged header for a record header
    /// that is plausible and followed by another plausible header (or the end).
    fn resync(&mut self) -> io::Result<Option<usize>> {
        self.buf.fill(RESYNC_WINDOW)?;
        let avail = self.buf.available();
        let at_eof = avail.len() < RESYNC_WINDOW;
        for start in 1..avail.len().saturating_sub(PCAP_RECORD - 1) {
            let h = &avail[start..start + PCAP_RECORD];
            if !self.plausible(h) {
                continue;
            }
            let next = start + PCAP_RECORD + u32_at(h, 8, self.big) as usize;
            let confirmed = match avail.get(next..next + PCAP_RECORD) {
                Some(h2) => self.plausible(h2),
                None => at_eof && next == avail.len(),
            };
            if confirmed {
                return Ok(Some(start));
            }
        }
        Ok(None)
    }

    /// The next frame, or an error naming the damaged record.
    pub fn next_frame(&mut self) -> Option<Result<RawFrame<'_>, CaptureFileError>> {
        if self.done {
            return None;
        }
        let offset = self.buf.offset;
        let io_err = |source| CaptureFileError::Io { offset, source };
        match self.buf.fill(PCAP_RECORD) {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                let have = self.buf.remaining_at_eof();
                return (have > 0).then_some({
                    Err(CaptureFileError::Truncated {
                        index: self.index,
                        offset,
                        want: PCAP_RECORD as u64,
                        have,
                    })
                });
            }
            Err(e) => {
                self.done = true;
                return Some(Err(io_err(e)));
            }
        }
        let index = self.index;
        self.index += 1;
        let h = &self.buf.available()[..PCAP_RECORD];
        let (secs, frac) = (u32_at(h, 0, self.big), u32_at(h, 4, self.big));
        let (caplen, orig) = (u32_at(h, 8, self.big), u32_at(h, 12, self.big));
        if caplen > self.caplen_limit() {
            let reason = format!(
                "captured length {caplen} exceeds the limit of {} bytes",
                self.caplen_limit()
            );
            let found = self.resync();
            return Some(Err(after_damage(
                &mut self.buf,
                &mut self.done,
                found,
                index,
                offset,
                reason,
            )));
        }
        if caplen > self.snaplen {
            self.caplen_over_snaplen += 1;
        }
        let want = PCAP_RECORD + caplen as usize;
        match self.buf.fill(want) {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                let have = self.buf.remaining_at_eof();
                return Some(Err(CaptureFileError::Truncated {
                    index,
                    offset,
                    want: want as u64,
                    have,
                }));
            }
            Err(e) => {
                self.done = true;
                return Some(Err(io_err(e)));
            }
        }
        // A record cut short in the middle of a file (concatenated or damaged
        // captures) swallows the start of the records after it, and every
        // header read from there on is garbage. When what follows this record
        // is not a plausible header but a confirmed run of records starts
        // inside it, this record is the damaged one: skip to that run.
        match self.successor_plausible(want) {
            Ok(true) => {}
            Ok(false) => match self.resync() {
                Ok(Some(start)) if start < want => {
                    let reason = format!(
                        "record cut short: it claims {caplen} bytes but another record starts {} bytes into it",
                        start.saturating_sub(PCAP_RECORD)
                    );
                    return Some(Err(after_damage(
                        &mut self.buf,
                        &mut self.done,
                        Ok(Some(start)),
                        index,
                        offset,
                        reason,
                    )));
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(io_err(e)));
                }
            },
            Err(e) => {
                self.done = true;
                return Some(Err(io_err(e)));
            }
        }
        self.last_secs = Some(secs);
        let ts = if self.nanos {
            Ts::new(i64::from(secs), frac, 9)
        } else {
            // A microsecond field of 1_000_000 or more is malformed; it carries into seconds.
            Ts::new(i64::from(secs), frac.saturating_mul(1000), 6)
        };
        let start = self.buf.pos + PCAP_RECORD;
        self.buf.consume(want);
        let data = &self.buf.buf[start..start + caplen as usize];
        Some(Ok(RawFrame {
            ts,
            link: self.link,
            orig_len: orig.max(caplen),
            data,
            index,
            iface: 0,
        }))
    }
}

/// Per-interface facts from a pcapng Interface Description Block.
#[derive(Debug, Clone)]
struct Iface {
    link: LinkType,
    /// Timestamp units per second: `base^exp`.
    tsresol: TsResol,
}

#[derive(Debug, Clone, Copy)]
enum TsResol {
    Pow10(u8),
    Pow2(u8),
}

impl TsResol {
    fn from_option(v: u8) -> TsResol {
        if v & 0x80 != 0 {
            TsResol::Pow2((v & 0x7f).min(63))
        } else {
            TsResol::Pow10(v.min(19))
        }
    }

    fn to_ts(self, ticks: u64) -> Ts {
        match self {
            TsResol::Pow10(exp) => {
                // `exp` is at most 19 (`from_option`), 10^19 fits a u64.
                let pow10 = |e: u8| POW10.get(usize::from(e)).copied().unwrap_or(1);
                let unit = pow10(exp);
                let secs = ticks / unit;
                let frac = ticks % unit;
                let nanos = if exp <= 9 {
                    frac * pow10(9 - exp)
                } else {
                    frac / pow10(exp - 9)
                };
                Ts::new(secs as i64, nanos as u32, exp.min(9))
            }
            TsResol::Pow2(exp) => {
                let secs = ticks >> exp;
                let frac = u128::from(ticks & ((1u64 << exp) - 1));
                let nanos = ((frac * 1_000_000_000) >> exp) as u32;
                Ts::new(secs as i64, nanos, 9)
            }
        }
    }
}

/// `10^i`, looked up instead of computed per packet.
const POW10: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 0x0000_0001;
const OPB: u32 = 0x0000_0002;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

/// Reads pcapng: several sections, interfaces and link types; EPB, SPB and the
/// obsolete Packet Block. Other blocks are skipped.
pub struct PcapNgReader<R> {
    buf: ByteBuf<R>,
    parser: Option<PcapNgParser>,
    big: bool,
    ifaces: Vec<Iface>,
    index: u64,
    last_ts: Ts,
    done: bool,
}

impl<R: Read> PcapNgReader<R> {
    pub fn new(inner: R) -> Result<Self, CaptureFileError> {
        let mut buf = ByteBuf::new(inner);
        let full = buf
            .fill(12)
            .map_err(|source| CaptureFileError::Io { offset: 0, source })?;
        let head = buf.available();
        if Magic::detect(head) != Some(Magic::PcapNg) {
            return Err(CaptureFileError::BadMagic(
                head[..head.len().min(4)].to_vec(),
            ));
        }
        if !full {
            return Err(CaptureFileError::ShortHeader(head.len()));
        }
        Ok(PcapNgReader {
            buf,
            parser: None,
            big: false,
            ifaces: vec![],
            index: 0,
            last_ts: Ts::default(),
            done: false,
        })
    }

    pub fn bytes_read(&self) -> u64 {
        self.buf.offset
    }

    /// Checks the framing of the block at `at` in `avail`: its length, and the
    /// trailing copy of the length. Returns the block length.
    fn framed_len(avail: &[u8], at: usize, big: bool) -> Option<usize> {
        let h = avail.get(at..at + 12)?;
        let kind = u32_at(h, 0, big);
        let big = if kind == SHB {
            match u32_at(h, 8, false) {
                BYTE_ORDER_MAGIC => false,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => true,
                _ => return None,
            }
        } else {
            big
        };
        let len = u32_at(h, 4, big);
        if len < 12 || !len.is_multiple_of(4) || len > MAX_BLOCK {
            return None;
        }
        let len = len as usize;
        let trailer = avail.get(at + len - 4..at + len)?;
        (u32_at(trailer, 0, big) == len as u32).then_some(len)
    }

    fn resync(&mut self) -> io::Result<Option<usize>> {
        self.buf.fill(RESYNC_WINDOW)?;
        let avail = self.buf.available();
        for start in (4..avail.len().saturating_sub(11)).step_by(4) {
            let kind = u32_at(avail, start, self.big);
            if matches!(kind, SHB | IDB | OPB | SPB | EPB | 4 | 5)
                && Self::framed_len(avail, start, self.big).is_some()
            {
                return Ok(Some(start));
            }
        }
        Ok(None)
    }

    /// The next frame, or an error naming the damaged block.
    pub fn next_frame(&mut self) -> Option<Result<RawFrame<'_>, CaptureFileError>> {
        Some(self.next_located()?.map(|loc| RawFrame {
            ts: loc.ts,
            link: loc.link,
            orig_len: loc.orig_len,
            data: &self.buf.buf[loc.data.clone()],
            index: loc.index,
            iface: loc.iface,
        }))
    }

    /// Finds the next frame and says where its bytes lie in the buffer (the
    /// borrow checker cannot yet see that a loop returning a borrow only on
    /// some iterations is sound, so the borrow is taken by the caller).
    fn next_located(&mut self) -> Option<Result<Located, CaptureFileError>> {
        loop {
            if self.done {
                return None;
            }
            let offset = self.buf.offset;
            match self.buf.fill(12) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    let have = self.buf.remaining_at_eof();
                    return (have > 0).then_some({
                        Err(CaptureFileError::Truncated {
                            index: self.index,
                            offset,
                            want: 12,
                            have,
                        })
                    });
                }
                Err(source) => {
                    self.done = true;
                    return Some(Err(CaptureFileError::Io { offset, source }));
                }
            }
            let h = self.buf.available();
            let kind = u32_at(h, 0, self.big);
            let declared = if kind == SHB {
                // The byte order of a section is in its own header.
                let big = u32_at(h, 8, false) != BYTE_ORDER_MAGIC;
                u32_at(h, 4, big)
            } else {
                u32_at(h, 4, self.big)
            };
            if (12..=MAX_BLOCK).contains(&declared) && declared % 4 == 0 {
                match self.buf.fill(declared as usize) {
                    Ok(true) => {}
                    Ok(false) => {
                        self.done = true;
                        let have = self.buf.remaining_at_eof();
                        return Some(Err(CaptureFileError::Truncated {
                            index: self.index,
                            offset,
                            want: u64::from(declared),
                            have,
                        }));
                    }
                    Err(source) => {
                        self.done = true;
                        return Some(Err(CaptureFileError::Io { offset, source }));
                    }
                }
            }
            let len = match Self::framed_len(self.buf.available(), 0, self.big) {
                Some(len) => len,
                None => {
                    let reason =
                        format!("block type {kind:#x} has a bad length ({declared}) or trailer");
                    let index = self.index;
                    let found = self.resync();
                    return Some(Err(after_damage(
                        &mut self.buf,
                        &mut self.done,
                        found,
                        index,
                        offset,
                        reason,
                    )));
                }
            };
            let start = self.buf.pos;
            self.buf.consume(len);
            let block = &self.buf.buf[start..start + len];
            let bad = |reason: String| Some(Err(CaptureFileError::BadBlock { offset, reason }));
            if kind == SHB {
                match PcapNgParser::new(block) {
                    Ok((_, parser)) => {
                        self.big =
                            matches!(parser.section().endianness, pcap_file::Endianness::Big);
                        self.parser = Some(parser);
                        self.ifaces.clear();
                        continue;
                    }
                    Err(e) => return bad(format!("section header: {e}")),
                }
            }
            let Some(parser) = self.parser.as_mut() else {
                return bad("block before any section header".into());
            };
            // The common block, an EPB without options, read directly: what
            // pcap-file would make of it, without its block and option vector.
            let plain = if kind == EPB {
                plain_epb(block, self.big)
            } else {
                None
            };
            let (iface, ticks, orig_len, data): (u32, Option<u64>, u32, &[u8]) =
                if let Some((iface, ticks, orig_len, data)) = plain {
                    (iface, Some(ticks), orig_len, data)
                } else {
                    let parsed = match parser.next_block(block) {
                        Ok((_, parsed)) => parsed,
                        Err(e) => {
                            if matches!(kind, EPB | SPB | OPB) {
                                self.index += 1;
                            }
                            return bad(format!("block type {kind:#x}: {e}"));
                        }
                    };
                    match parsed {
                        Block::InterfaceDescription(idb) => {
                            self.ifaces.push(iface_of(&idb));
                            continue;
                        }
                        Block::EnhancedPacket(EnhancedPacketBlock {
                            interface_id,
                            timestamp,
                            original_len,
                            data,
                            ..
                        }) => {
                            let Cow::Borrowed(data) = data else { continue };
                            (interface_id, Some(ticks_of(timestamp)), original_len, data)
                        }
                        Block::Packet(p) => {
                            let Cow::Borrowed(data) = p.data else {
                                continue;
                            };
                            (
                                u32::from(p.interface_id),
                                Some(p.timestamp),
                                p.original_len,
                                data,
                            )
                        }
                        Block::SimplePacket(p) => {
                            let Cow::Borrowed(data) = p.data else {
                                continue;
                            };
                            (0, None, p.original_len, data)
                        }
                        _ => continue,
                    }
                };
            let index = self.index;
            self.index += 1;
            let Some(info) = self.ifaces.get(iface as usize) else {
                return bad(format!(
                    "packet {index} names interface {iface}, which was never described"
                ));
            };
            if data.len() > MAX_FRAME as usize {
                return bad(format!(
                    "packet {index}: captured length {} exceeds {MAX_FRAME}",
                    data.len()
                ));
            }
            let ts = match ticks {
                Some(ticks) => info.tsresol.to_ts(ticks),
                // A Simple Packet Block has no time: it inherits the previous packet's.
                None => self.last_ts,
            };
            self.last_ts = ts;
            let orig_len = orig_len.max(data.len() as u32);
            // `data` borrows from `block`, which is `buf[start..start + len]`.
            let at = start + (data.as_ptr() as usize - block.as_ptr() as usize);
            return Some(Ok(Located {
                ts,
                link: info.link,
                orig_len,
                data: at..at + data.len(),
                index,
                iface,
            }));
        }
    }
}

/// A frame found in the reader's buffer.
struct Located {
    ts: Ts,
    link: LinkType,
    orig_len: u32,
    data: std::ops::Range<usize>,
    index: u64,
    iface: u32,
}

/// An Enhanced Packet Block that carries no options, read as pcap-file
/// reads it: interface, timestamp ticks, original length, captured bytes;
/// `None` for anything else (options, a short body, a captured
/// length past the block), which is then left to pcap-file.
///
/// `block` is a whole block whose framing [`PcapNgReader::framed_len`] has
/// checked (length, trailer) in byte order `big`. pcap-file's reading of
/// such a block: a body of at least 20 bytes (interface, time high and low,
/// captured and original length), the captured bytes padded to 4, then
/// options, where an empty rest means none. When the padded bytes end the
/// body exactly, its result is what is built here, field for field (test:
/// `plain_epb_reads_as_pcap_file_does`).
fn plain_epb(block: &[u8], big: bool) -> Option<(u32, u64, u32, &[u8])> {
    let body = block.get(8..block.len().checked_sub(4)?)?;
    let field = |i: usize| body.get(i * 4..i * 4 + 4).map(|w| u32_at(w, 0, big));
    let captured = field(3)? as usize;
    let padded = captured.checked_add((4 - captured % 4) % 4)?;
    if body.len() != padded.checked_add(20)? {
        return None;
    }
    let ticks = (u64::from(field(1)?) << 32) + u64::from(field(2)?);
    Some((field(0)?, ticks, field(4)?, body.get(20..20 + captured)?))
}

/// pcap-file hands the raw 64-bit EPB timestamp over as a `Duration` of that
/// many nanoseconds, whatever the interface's resolution; take the ticks back.
fn ticks_of(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn iface_of(idb: &InterfaceDescriptionBlock<'_>) -> Iface {
    let mut tsresol = TsResol::Pow10(6);
    for opt in &idb.options {
        if let InterfaceDescriptionOption::IfTsResol(v) = opt {
            tsresol = TsResol::from_option(*v);
        }
    }
    Iface {
        link: LinkType::from_dlt(u32::from(idb.linktype)),
        tsresol,
    }
}

/// A capture file of either format, read frame by frame.
pub enum CaptureReader<R> {
    Pcap(PcapReader<R>),
    PcapNg(PcapNgReader<R>),
}

impl<R: Read> CaptureReader<R> {
    /// Opens a capture after its format was recognised.
    pub fn open(magic: Magic, inner: R) -> Result<Self, CaptureFileError> {
        Ok(match magic {
            Magic::Pcap => CaptureReader::Pcap(PcapReader::new(inner)?),
            Magic::PcapNg => CaptureReader::PcapNg(PcapNgReader::new(inner)?),
        })
    }

    pub fn next_frame(&mut self) -> Option<Result<RawFrame<'_>, CaptureFileError>> {
        match self {
            CaptureReader::Pcap(r) => r.next_frame(),
            CaptureReader::PcapNg(r) => r.next_frame(),
        }
    }

    pub fn bytes_read(&self) -> u64 {
        match self {
            CaptureReader::Pcap(r) => r.bytes_read(),
            CaptureReader::PcapNg(r) => r.bytes_read(),
        }
    }

    /// Anomalies the reader accepted without an error, by name.
    pub fn anomalies(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        if let CaptureReader::Pcap(r) = self {
            if r.caplen_over_snaplen > 0 {
                out.insert("caplen_over_snaplen", r.caplen_over_snaplen);
            }
        }
        out
    }
}

/// Writes classic pcap (native byte order) with one link type.
///
/// Written by hand rather than through `pcap-file`: its writer gives no way to
/// flush the inner stream, which `-w -` into a pipe needs after each batch.
pub struct PcapWriter<W: Write> {
    out: io::BufWriter<W>,
    link: LinkType,
    nanos: bool,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header. `nanos` selects the nanosecond format.
    pub fn new(out: W, link: LinkType, nanos: bool) -> io::Result<Self> {
        let mut out = io::BufWriter::with_capacity(256 << 10, out);
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        out.write_all(&magic.to_ne_bytes())?;
        out.write_all(&2u16.to_ne_bytes())?;
        out.write_all(&4u16.to_ne_bytes())?;
        out.write_all(&[0; 8])?;
        out.write_all(&MAX_FRAME.to_ne_bytes())?;
        out.write_all(&link.dlt().to_ne_bytes())?;
        Ok(PcapWriter { out, link, nanos })
    }

    pub fn link(&self) -> LinkType {
        self.link
    }

    /// Writes one frame, cut to [`MAX_FRAME`] bytes. Times outside what the
    /// format holds (1970 to 2106) are clamped.
    pub fn write(&mut self, ts: Ts, orig_len: u32, data: &[u8]) -> io::Result<()> {
        let data = &data[..data.len().min(MAX_FRAME as usize)];
        let secs = ts.secs.clamp(0, i64::from(u32::MAX)) as u32;
        let nanos = if ts.secs < 0 { 0 } else { ts.nanos };
        let frac = if self.nanos { nanos } else { nanos / 1000 };
        let caplen = data.len() as u32;
        for field in [secs, frac, caplen, orig_len.max(caplen)] {
            self.out.write_all(&field.to_ne_bytes())?;
        }
        self.out.write_all(data)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_header(nanos: bool, snaplen: u32, link: u32) -> Vec<u8> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut v = magic.to_le_bytes().to_vec();
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&snaplen.to_le_bytes());
        v.extend_from_slice(&link.to_le_bytes());
        v
    }

    fn record(v: &mut Vec<u8>, secs: u32, frac: u32, data: &[u8], orig: u32) {
        for x in [secs, frac, data.len() as u32, orig] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(data);
    }

    /// A frame as the tests compare it: time, bytes, index.
    type Seen = (String, Vec<u8>, u64);

    fn read_all(bytes: &[u8]) -> (Vec<Seen>, Vec<String>) {
        let mut r = CaptureReader::open(Magic::detect(bytes).unwrap(), bytes).unwrap();
        let (mut frames, mut errors) = (vec![], vec![]);
        while let Some(item) = r.next_frame() {
            match item {
                Ok(f) => frames.push((f.ts.to_string(), f.data.to_vec(), f.index)),
                Err(e) => errors.push(e.to_string()),
            }
        }
        (frames, errors)
    }

    #[test]
    fn reads_micro_and_nano_pcap() {
        for (nanos, want) in [
            (false, "2024-05-01T12:00:00.000123Z"),
            (true, "2024-05-01T12:00:00.000000123Z"),
        ] {
            let mut f = pcap_header(nanos, 65535, 1);
            record(&mut f, 1_714_564_800, 123, b"abc", 3);
            let (frames, errors) = read_all(&f);
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(frames, vec![(want.to_string(), b"abc".to_vec(), 0)]);
        }
    }

    #[test]
    fn truncated_tail_is_named_and_earlier_frames_kept() {
        let mut f = pcap_header(false, 65535, 1);
        record(&mut f, 1, 0, b"first", 5);
        record(&mut f, 2, 0, b"second", 6);
        f.truncate(f.len() - 3);
        let (frames, errors) = read_all(&f);
        assert_eq!(frames.len(), 1);
        assert_eq!(errors, vec!["packet 1 (byte 45): record truncated: it needs 22 bytes, 19 remain; rest of file ignored"]);
    }

    #[test]
    fn absurd_caplen_resyncs_to_the_next_record() {
        let mut f = pcap_header(false, 65535, 1);
        record(&mut f, 100, 0, b"one", 3);
        // A damaged header claiming 3 GB, with some junk after it.
        for x in [100u32, 5, 3_000_000_000, 3_000_000_000] {
            f.extend_from_slice(&x.to_le_bytes());
        }
        f.extend_from_slice(b"junkjunk");
        record(&mut f, 101, 0, b"three", 5);
        record(&mut f, 102, 0, b"four", 4);
        let (frames, errors) = read_all(&f);
        assert_eq!(
            frames.iter().map(|f| f.1.clone()).collect::<Vec<_>>(),
            vec![b"one".to_vec(), b"three".to_vec(), b"four".to_vec()]
        );
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .starts_with("packet 1 (byte 43): captured length 3000000000 exceeds the limit"),
            "{}",
            errors[0]
        );
        assert!(
            errors[0].ends_with("skipped 24 bytes to the next plausible record"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn record_cut_short_mid_file_skips_to_the_records_it_swallowed() {
        let mut f = pcap_header(false, 65535, 1);
        record(&mut f, 100, 0, b"one", 3);
        // A header promising 1500 bytes with only 5 following: the records
        // after it would be swallowed and everything after misread.
        for x in [100u32, 1, 1500, 1500] {
            f.extend_from_slice(&x.to_le_bytes());
        }
        f.extend_from_slice(b"short");
        for i in 0..200u32 {
            record(
                &mut f,
                101,
                i,
                b"a frame of forty bytes, more or less...",
                39,
            );
        }
        record(&mut f, 102, 0, b"last", 4);
        let (frames, errors) = read_all(&f);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("packet 1 (byte 43): record cut short: it claims 1500 bytes"),
            "{}",
            errors[0]
        );
        assert_eq!(frames.len(), 1 + 200 + 1);
        assert_eq!(frames.last().map(|f| f.1.clone()), Some(b"last".to_vec()));
    }

    #[test]
    fn odd_record_followed_by_damage_is_kept() {
        // The successor is damaged, but nothing plausible starts inside this
        // record: it is kept and the damage is reported on the next one.
        let mut f = pcap_header(false, 65535, 1);
        record(&mut f, 100, 0, b"one", 3);
        for x in [100u32, 5, 3_000_000_000, 3_000_000_000] {
            f.extend_from_slice(&x.to_le_bytes());
        }
        record(&mut f, 101, 0, b"three", 5);
        record(&mut f, 102, 0, b"four", 4);
        let (frames, errors) = read_all(&f);
        assert_eq!(frames.len(), 3, "{errors:?}");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn caplen_over_snaplen_is_read_and_counted() {
        let mut f = pcap_header(false, 4, 1);
        record(&mut f, 1, 0, b"longer than four", 16);
        let mut r = CaptureReader::open(Magic::Pcap, &f[..]).unwrap();
        assert_eq!(r.next_frame().unwrap().unwrap().data, b"longer than four");
        assert!(r.next_frame().is_none());
        assert_eq!(r.anomalies().get("caplen_over_snaplen"), Some(&1));
    }

    #[test]
    fn bad_magic_and_short_header() {
        assert!(matches!(
            PcapReader::new(&b"hello world, this is not a pcap"[..]),
            Err(CaptureFileError::BadMagic(_))
        ));
        assert!(matches!(
            PcapReader::new(&pcap_header(false, 1, 1)[..10]),
            Err(CaptureFileError::ShortHeader(10))
        ));
    }

    /// Builds a little-endian pcapng with the given interfaces (link, tsresol) and EPBs.
    fn pcapng(ifaces: &[(u16, Option<u8>)], packets: &[(u32, u64, &[u8])]) -> Vec<u8> {
        fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
            let len = 12 + body.len() as u32;
            out.extend_from_slice(&kind.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(&len.to_le_bytes());
        }
        let mut out = vec![];
        let mut shb = BYTE_ORDER_MAGIC.to_le_bytes().to_vec();
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        block(&mut out, SHB, &shb);
        for (link, tsresol) in ifaces {
            let mut idb = link.to_le_bytes().to_vec();
            idb.extend_from_slice(&[0, 0]);
            idb.extend_from_slice(&65535u32.to_le_bytes());
            if let Some(r) = tsresol {
                idb.extend_from_slice(&9u16.to_le_bytes());
                idb.extend_from_slice(&1u16.to_le_bytes());
                idb.extend_from_slice(&[*r, 0, 0, 0]);
                idb.extend_from_slice(&[0; 4]);
            }
            block(&mut out, IDB, &idb);
        }
        for (iface, ticks, data) in packets {
            let mut epb = iface.to_le_bytes().to_vec();
            epb.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
            epb.extend_from_slice(&(*ticks as u32).to_le_bytes());
            epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
            epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
            epb.extend_from_slice(data);
            epb.resize(epb.len().div_ceil(4) * 4, 0);
            block(&mut out, EPB, &epb);
        }
        out
    }

    #[test]
    fn pcapng_interfaces_link_types_and_resolutions() {
        let f = pcapng(
            &[(1, None), (101, Some(9)), (1, Some(0x80 | 20))],
            &[
                (0, 1_714_564_800_000_001, b"a"),
                (1, 1_714_564_800_000_000_002, b"bb"),
                (2, (1_714_564_800u64 << 20) | (1 << 19), b"c"),
            ],
        );
        let mut r = CaptureReader::open(Magic::PcapNg, &f[..]).unwrap();
        let mut got = vec![];
        while let Some(item) = r.next_frame() {
            let fr = item.unwrap();
            got.push((fr.ts.to_string(), fr.link, fr.iface));
        }
        assert_eq!(
            got,
            vec![
                (
                    "2024-05-01T12:00:00.000001Z".to_string(),
                    LinkType::Ethernet,
                    0
                ),
                (
                    "2024-05-01T12:00:00.000000002Z".to_string(),
                    LinkType::Raw,
                    1
                ),
                (
                    "2024-05-01T12:00:00.500000000Z".to_string(),
                    LinkType::Ethernet,
                    2
                ),
            ]
        );
    }

    #[test]
    fn pcapng_damaged_block_resyncs() {
        let mut f = pcapng(
            &[(1, None)],
            &[(0, 1, b"one"), (0, 2, b"two"), (0, 3, b"three")],
        );
        // Corrupt the length of the second EPB (blocks: SHB 28, IDB 20, EPB 36 each).
        let second = 28 + 20 + 36;
        f[second + 4..second + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        let (frames, errors) = read_all(&f);
        assert_eq!(
            frames.iter().map(|f| f.1.clone()).collect::<Vec<_>>(),
            vec![b"one".to_vec(), b"three".to_vec()]
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("bad length"), "{}", errors[0]);
    }

    #[test]
    fn writer_round_trips_through_reader() {
        let mut out = vec![];
        let mut w = PcapWriter::new(&mut out, LinkType::Ethernet, true).unwrap();
        w.write(Ts::from_nanos(1_714_564_800, 42), 100, b"frame")
            .unwrap();
        w.flush().unwrap();
        drop(w);
        let (frames, errors) = read_all(&out);
        assert!(errors.is_empty());
        assert_eq!(
            frames,
            vec![(
                "2024-05-01T12:00:00.000000042Z".to_string(),
                b"frame".to_vec(),
                0
            )]
        );
    }

    /// A block of `kind` with `body`, framed in byte order `big`.
    fn framed(kind: u32, body: &[u8], big: bool) -> Vec<u8> {
        let word = |x: u32| {
            if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        };
        let len = 12 + body.len() as u32;
        let mut out = word(kind).to_vec();
        out.extend_from_slice(&word(len));
        out.extend_from_slice(body);
        out.extend_from_slice(&word(len));
        out
    }

    #[test]
    fn pow10_table_is_powers_of_ten() {
        for (i, p) in POW10.iter().enumerate() {
            assert_eq!(*p, 10u64.pow(i as u32));
        }
    }

    proptest::proptest! {
        /// The fast EPB read gives exactly pcap-file's block whenever it
        /// answers, and answers for every EPB without options.
        #[test]
        fn plain_epb_reads_as_pcap_file_does(
            big: bool,
            fields: [u32; 5],
            data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            true_len: bool,
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3),
            tail_words in 0usize..3,
        ) {
            let word = |x: u32| if big { x.to_be_bytes() } else { x.to_le_bytes() };
            let mut shb = word(BYTE_ORDER_MAGIC).to_vec();
            shb.extend_from_slice(&[1, 0, 0, 0]);
            shb.extend_from_slice(&[0xff; 8]);
            let shb = framed(SHB, &shb, big);
            let (_, mut parser) = PcapNgParser::new(&shb).unwrap();
            let captured = if true_len { data.len() as u32 } else { fields[3] % 64 };
            let mut body = vec![];
            for x in [fields[0], fields[1], fields[2], captured, fields[4]] {
                body.extend_from_slice(&word(x));
            }
            body.extend_from_slice(&data);
            body.resize(body.len().div_ceil(4) * 4, 0);
            // Options, or junk where options would be (whole words only:
            // framing wants a length that is a multiple of 4).
            let mut rest = tail.clone();
            rest.resize(tail_words * 4, 0);
            body.extend_from_slice(&rest);
            let block = framed(EPB, &body, big);
            let fast = plain_epb(&block, big);
            let slow = parser.next_block(&block).map(|(_, b)| b);
            if let Some(fast) = fast {
                let Ok(Block::EnhancedPacket(slow)) = slow else {
                    return Err(proptest::test_runner::TestCaseError::fail(format!("pcap-file: {slow:?}")));
                };
                proptest::prop_assert!(slow.options.is_empty());
                proptest::prop_assert_eq!(
                    fast,
                    (slow.interface_id, ticks_of(slow.timestamp), slow.original_len, &slow.data[..])
                );
            }
            if true_len && rest.is_empty() {
                proptest::prop_assert!(fast.is_some());
            }
            if true_len && !rest.is_empty() {
                proptest::prop_assert!(fast.is_none());
            }
        }
    }
}
