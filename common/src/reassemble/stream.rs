//! One direction of a connection: turns segments into an ordered byte stream.
//!
//! Offsets are u64 from the first byte of the direction. In-order bytes are
//! handed out at once, borrowed from the segment; out-of-order bytes wait in a
//! bounded, non-overlapping map until the hole before them fills or is given
//! up as a gap.
//!
//! Offset 0 is the byte after the SYN. Without a SYN (a mid-stream pickup) it
//! is provisional: the first data is *held* (see [`Hold`]) so that an earlier
//! segment the mirror delivers a little late moves the start back instead of
//! being dropped as old. The start becomes final with the SYN, with the
//! peer's ACK (where the receiver's stream stood: bytes between it and the
//! first data seen are a genuine leading hole), when the hold runs out (time
//! or segments), when the other direction hands something out, or at close.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use super::seq::SeqNum;
use super::{OverlapPolicy, Stats};
use crate::record::Ts;

/// Bytes charged per buffered piece on top of its payload (map node, Vec header),
/// so a flood of one-byte segments hits the caps as fast as big ones.
pub const SEG_OVERHEAD: usize = 64;

/// What a stream hands out.
pub enum Ev<'p> {
    Data { off: u64, data: Cow<'p, [u8]> },
    Gap { off: u64, len: u64 },
}

struct Seg {
    ts: Ts,
    data: Vec<u8>,
}

/// A provisional mid-stream start: nothing handed out yet, every segment waits.
#[derive(Debug, Clone, Copy)]
pub struct Hold {
    /// When the direction's first data (or FIN) came.
    pub since: Ts,
    /// Segments held so far.
    pub segs: u32,
}

/// Limits a stream works within.
pub struct Limits {
    pub policy: OverlapPolicy,
    /// Furthest a segment may start ahead of the next expected byte.
    pub window: u64,
    /// Cap on buffered out-of-order bytes (with [`SEG_OVERHEAD`]).
    pub max_ooo: usize,
    /// Whether the global buffer cap leaves room for this segment.
    pub can_buffer: bool,
    /// A held start becomes final with this many segments.
    pub hold_segs: u32,
}

#[derive(Default)]
pub struct Stream {
    /// Sequence number of offset 0; unset until the SYN or the first data.
    pub base: Option<SeqNum>,
    /// Offset of the next byte to hand out.
    pub next: u64,
    buf: BTreeMap<u64, Seg>,
    /// Bytes charged for `buf`.
    pub buffered: usize,
    /// Offset of the FIN, once seen.
    pub fin_off: Option<u64>,
    /// Highest offset the peer acknowledged (exclusive), and when it moved.
    pub peer_acked: u64,
    pub peer_ack_ts: Ts,
    /// The hole deadline registered for this stream.
    pub deadline: Option<Ts>,
    /// Data bytes handed out (gaps excluded).
    pub data_bytes: u64,
    /// Set while offset 0 is provisional (a mid-stream start, nothing handed out).
    pub hold: Option<Hold>,
    /// Before offset 0 is known: the latest ACK of this direction by the peer.
    pub hint: Option<SeqNum>,
}

impl Stream {
    fn next_seq(&self, base: SeqNum) -> SeqNum {
        base.plus(self.next as u32)
    }

    /// Signed stream offset of `seq` (may be negative: before offset 0).
    fn offset(&self, base: SeqNum, seq: SeqNum) -> i128 {
        i128::from(self.next) + i128::from(seq.diff(self.next_seq(base)))
    }

    /// Whether a segment would have to wait in the buffer (not in order, not
    /// old, or the start is held).
    pub fn would_buffer(&self, seq: SeqNum, len: usize, window: u64) -> bool {
        let Some(base) = self.base else { return false };
        if self.hold.is_some() {
            return true;
        }
        let start = self.offset(base, seq);
        let end = start + len as i128;
        let next = i128::from(self.next);
        if end <= next || start <= next {
            // Old, or starts in order (a partial overlap is trimmed to `next`).
            return false;
        }
        start <= next + i128::from(window)
    }

    /// Whether a sequence number is within `window` of the next expected byte.
    pub fn in_window(&self, seq: SeqNum, window: u64) -> bool {
        match self.base {
            None => true,
            Some(base) => {
                let d = self.offset(base, seq) - i128::from(self.next);
                d.unsigned_abs() <= u128::from(window)
            }
        }
    }

    /// Whether everything up to the FIN was handed out.
    pub fn finished(&self) -> bool {
        self.hold.is_none() && self.fin_off.is_some_and(|f| self.next >= f)
    }

    /// Sets offset 0 of a direction whose SYN was not seen, from its first
    /// data or FIN at `seq`. When the peer's ACK is known and at most a
    /// window before `seq`, the start is final there (a leading hole when it
    /// is before `seq`); otherwise `seq` is held as a provisional start.
    pub fn begin(&mut self, seq: SeqNum, ts: Ts, window: u64, stats: &mut Stats) {
        if self.base.is_some() {
            return;
        }
        match self.hint {
            Some(h) if seq.diff(h) >= 0 && seq.diff(h) as u64 <= window => {
                self.base = Some(h);
                stats.start_by_ack += 1;
            }
            _ => {
                self.base = Some(seq);
                self.hold = Some(Hold { since: ts, segs: 0 });
            }
        }
    }

    /// The direction's SYN: offset 0 is the byte after it, also when it comes
    /// late, after held data.
    pub fn on_syn<'p>(&mut self, seq1: SeqNum, window: u64, emit: &mut dyn FnMut(Ev<'p>)) {
        match self.base {
            None => self.base = Some(seq1),
            Some(b) if self.hold.is_some() => {
                let d = b.diff(seq1);
                if d >= 0 && d as u64 <= window {
                    self.rebase(seq1);
                    self.commit(emit);
                }
            }
            Some(_) => {}
        }
    }

    /// Moves a held start back to `new` (nothing was handed out, so only the
    /// buffered offsets shift).
    fn rebase(&mut self, new: SeqNum) {
        let Some(b) = self.base else {
            self.base = Some(new);
            return;
        };
        let Ok(d) = u64::try_from(b.diff(new)) else {
            return;
        };
        if d == 0 || self.next != 0 {
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        self.buf = buf.into_iter().map(|(k, seg)| (k + d, seg)).collect();
        self.fin_off = self.fin_off.map(|f| f + d);
        if self.peer_acked > 0 {
            self.peer_acked += d;
        }
        self.base = Some(new);
    }

    /// Makes a held start final where it stands and hands out what is in order.
    pub fn commit<'p>(&mut self, emit: &mut dyn FnMut(Ev<'p>)) {
        if self.hold.take().is_some() {
            self.drain(emit);
        }
    }

    /// Records the FIN at `seq` (the sequence number just past the payload).
    pub fn set_fin(&mut self, seq: SeqNum, window: u64) {
        let Some(base) = self.base else { return };
        if self.fin_off.is_none() {
            let off = self.offset(base, seq);
            let next = i128::from(self.next);
            if off <= next + i128::from(window) {
                self.fin_off = Some(u64::try_from(off.max(next)).unwrap_or(self.next));
            }
        }
    }

    /// Whether [`on_peer_ack`](Self::on_peer_ack) with `ack` may change the
    /// stream or emit: `false` only where it would return having done
    /// nothing (the start is final and `ack` is not past what the peer
    /// acknowledged before, or out of the window). Test:
    /// `skipped_peer_acks_change_nothing`.
    pub fn peer_ack_matters(&self, ack: SeqNum, window: u64) -> bool {
        match self.base {
            Some(base) if self.hold.is_none() => self.acked_past(base, ack, window).is_some(),
            _ => true,
        }
    }

    /// The offset the peer's ACK `ack` acknowledges up to, when it is within
    /// `window` past the next byte and past what the peer acknowledged before.
    fn acked_past(&self, base: SeqNum, ack: SeqNum, window: u64) -> Option<u64> {
        let d = self.offset(base, ack) - i128::from(self.next);
        let off = self.next + u64::try_from(d).ok().filter(|d| *d > 0 && *d <= window)?;
        (off > self.peer_acked).then_some(off)
    }

    /// Notes the peer's cumulative ACK of this direction. Before the start
    /// is known it is kept as a hint; while the start is held, an ACK at or
    /// before it makes the start final there.
    pub fn on_peer_ack<'p>(
        &mut self,
        ack: SeqNum,
        ts: Ts,
        window: u64,
        stats: &mut Stats,
        emit: &mut dyn FnMut(Ev<'p>),
    ) {
        let Some(base) = self.base else {
            if !self.hint.is_some_and(|h| h > ack) {
                self.hint = Some(ack);
            }
            return;
        };
        if self.hold.is_some() {
            let d = base.diff(ack);
            if d >= 0 && d as u64 <= window {
                self.rebase(ack);
                stats.start_by_ack += 1;
                self.commit(emit);
                return;
            }
        }
        if let Some(off) = self.acked_past(base, ack, window) {
            self.peer_acked = off;
            self.peer_ack_ts = ts;
        }
    }

    /// The moment the current hole should be given up, if there is one: the
    /// gap timeout after the first waiting segment arrived, or sooner, the ACK
    /// grace after the peer acknowledged bytes past the hole.
    /// A held start is due `start_hold` after the first data.
    pub fn desired_deadline(
        &self,
        gap_timeout: Duration,
        ack_grace: Duration,
        start_hold: Duration,
    ) -> Option<Ts> {
        if let Some(h) = self.hold {
            return Some(ts_add(h.since, start_hold));
        }
        let (_, first) = self.buf.first_key_value()?;
        let mut d = ts_add(first.ts, gap_timeout);
        if self.peer_acked > self.next {
            let since = self.peer_ack_ts.max(first.ts);
            d = d.min(ts_add(since, ack_grace));
        }
        Some(d)
    }

    /// Takes one segment's payload starting at `seq`.
    pub fn segment<'p>(
        &mut self,
        seq: SeqNum,
        data: &'p [u8],
        ts: Ts,
        lim: &Limits,
        stats: &mut Stats,
        emit: &mut dyn FnMut(Ev<'p>),
    ) {
        if data.is_empty() {
            return;
        }
        let mut base = match self.base {
            Some(b) => b,
            None => {
                self.base = Some(seq);
                seq
            }
        };
        if self.hold.is_some() {
            let start_i = self.offset(base, seq);
            if start_i < 0 && start_i.unsigned_abs() <= u128::from(lim.window) {
                // An earlier segment of a held start: the start moves back.
                self.rebase(seq);
                base = seq;
                stats.start_rewound += 1;
            }
            if !lim.can_buffer || self.buffered + data.len() + SEG_OVERHEAD > lim.max_ooo {
                // No room to hold more: the start is final as it stands.
                self.commit(emit);
            }
        }
        let start_i = self.offset(base, seq);
        let end_i = start_i + data.len() as i128;
        if end_i <= i128::from(self.next) {
            stats.retransmitted += 1;
            return;
        }
        if start_i > i128::from(self.next) + i128::from(lim.window) {
            stats.out_of_window += 1;
            return;
        }
        let (start, mut data) = if start_i < i128::from(self.next) {
            stats.retransmitted += 1;
            let cut = usize::try_from(i128::from(self.next) - start_i).unwrap_or(usize::MAX);
            (self.next, data.get(cut..).unwrap_or(&[]))
        } else {
            (u64::try_from(start_i).unwrap_or(u64::MAX), data)
        };
        loop {
            if data.is_empty() {
                return;
            }
            let end = start + data.len() as u64;
            if end <= self.next {
                return;
            }
            if let Some(h) = self.hold.as_mut() {
                // A held start: everything waits (room was checked above).
                h.segs += 1;
                let full = h.segs >= lim.hold_segs;
                self.insert(start, data, ts, lim.policy, stats);
                if full {
                    self.commit(emit);
                }
                return;
            }
            if start < self.next {
                let cut = usize::try_from(self.next - start).unwrap_or(usize::MAX);
                data = data.get(cut..).unwrap_or(&[]);
                return self.in_order(data, ts, lim, stats, emit);
            }
            if start == self.next {
                return self.in_order(data, ts, lim, stats, emit);
            }
            // Out of order: it waits.
            if !lim.can_buffer {
                stats.dropped_cap += 1;
                return;
            }
            if self.buffered + data.len() + SEG_OVERHEAD > lim.max_ooo {
                // No room: the oldest hole will not fill in time; give it up.
                stats.forced_gaps += 1;
                if !self.force_gap(stats, emit) {
                    stats.gaps += 1;
                    stats.gap_bytes += start - self.next;
                    emit(Ev::Gap {
                        off: self.next,
                        len: start - self.next,
                    });
                    self.next = start;
                }
                continue;
            }
            self.insert(start, data, ts, lim.policy, stats);
            return;
        }
    }

    /// A segment starting exactly at `next`.
    fn in_order<'p>(
        &mut self,
        data: &'p [u8],
        ts: Ts,
        lim: &Limits,
        stats: &mut Stats,
        emit: &mut dyn FnMut(Ev<'p>),
    ) {
        let end = self.next + data.len() as u64;
        let clear = !matches!(self.buf.first_key_value(), Some((&k, _)) if k < end);
        if clear {
            // The hot path: hand the segment's own bytes out, no copy.
            let off = self.next;
            self.next = end;
            self.data_bytes += data.len() as u64;
            emit(Ev::Data {
                off,
                data: Cow::Borrowed(data),
            });
        } else {
            // It overlaps waiting bytes: resolve in the buffer, then drain.
            self.insert(self.next, data, ts, lim.policy, stats);
        }
        self.drain(emit);
    }

    /// Puts `data` at `start` into the buffer, resolving overlaps with what is
    /// already there by `policy`; counts overlaps and those whose bytes differ.
    fn insert(
        &mut self,
        start: u64,
        data: &[u8],
        ts: Ts,
        policy: OverlapPolicy,
        stats: &mut Stats,
    ) {
        let end = start + data.len() as u64;
        let mut cur = start;
        let (mut overlapped, mut differed) = (false, false);
        while cur < end {
            let covering = self
                .buf
                .range_mut(..=cur)
                .next_back()
                .filter(|(&k, s)| k + s.data.len() as u64 > cur);
            if let Some((&k, seg)) = covering {
                let stop = end.min(k + seg.data.len() as u64);
                let new = data.get(idx(cur - start)..idx(stop - start)).unwrap_or(&[]);
                if let Some(old) = seg.data.get_mut(idx(cur - k)..idx(stop - k)) {
                    overlapped = true;
                    if old != new {
                        differed = true;
                        if policy == OverlapPolicy::Last && old.len() == new.len() {
                            old.copy_from_slice(new);
                        }
                    }
                }
                cur = stop;
                continue;
            }
            let stop = self
                .buf
                .range(cur..)
                .next()
                .map_or(end, |(&k, _)| k.min(end));
            let piece = data.get(idx(cur - start)..idx(stop - start)).unwrap_or(&[]);
            if piece.is_empty() {
                break;
            }
            // Extend the piece that ends right here rather than add one: at
            // most one new piece per segment, so the charge never exceeds
            // `len + SEG_OVERHEAD`, and in-sequence runs stay one piece.
            let left = self
                .buf
                .range_mut(..cur)
                .next_back()
                .filter(|(&k, s)| k + s.data.len() as u64 == cur);
            if let Some((_, seg)) = left {
                seg.data.extend_from_slice(piece);
                self.buffered += piece.len();
                cur = stop;
                continue;
            }
            self.buffered += piece.len() + SEG_OVERHEAD;
            self.buf.insert(
                cur,
                Seg {
                    ts,
                    data: piece.to_vec(),
                },
            );
            cur = stop;
        }
        if overlapped {
            stats.overlaps += 1;
        }
        if differed {
            stats.overlaps_differing += 1;
        }
    }

    /// Hands out buffered pieces while they are in order.
    fn drain<'p>(&mut self, emit: &mut dyn FnMut(Ev<'p>)) {
        while let Some(entry) = self.buf.first_entry() {
            let k = *entry.key();
            if k > self.next {
                break;
            }
            let seg = entry.remove();
            self.buffered = self.buffered.saturating_sub(seg.data.len() + SEG_OVERHEAD);
            let end = k + seg.data.len() as u64;
            if end <= self.next {
                continue;
            }
            let mut data = seg.data;
            if k < self.next {
                data.drain(..idx(self.next - k));
            }
            let off = self.next;
            self.next = end;
            self.data_bytes += data.len() as u64;
            emit(Ev::Data {
                off,
                data: Cow::Owned(data),
            });
        }
    }

    /// Gives up the first hole: a gap up to the first waiting piece, then
    /// whatever is in order behind it. False when nothing waits.
    pub fn force_gap<'p>(&mut self, stats: &mut Stats, emit: &mut dyn FnMut(Ev<'p>)) -> bool {
        let Some((&k, _)) = self.buf.first_key_value() else {
            return false;
        };
        if k > self.next {
            stats.gaps += 1;
            stats.gap_bytes += k - self.next;
            emit(Ev::Gap {
                off: self.next,
                len: k - self.next,
            });
            self.next = k;
        }
        self.drain(emit);
        true
    }

    /// Closing: every hole becomes a gap, everything waiting is handed out,
    /// and bytes known to exist past the end (FIN, or the peer's ACK) become a
    /// trailing gap.
    pub fn close<'p>(&mut self, window: u64, stats: &mut Stats, emit: &mut dyn FnMut(Ev<'p>)) {
        self.commit(emit);
        while self.force_gap(stats, emit) {}
        let tail = self
            .fin_off
            .unwrap_or(self.peer_acked)
            .min(self.next.saturating_add(window));
        if tail > self.next && self.base.is_some() {
            stats.gaps += 1;
            stats.gap_bytes += tail - self.next;
            emit(Ev::Gap {
                off: self.next,
                len: tail - self.next,
            });
            self.next = tail;
        }
        self.buf.clear();
        self.buffered = 0;
    }
}

fn idx(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// `ts + d`, keeping the precision of `ts`.
pub fn ts_add(ts: Ts, d: Duration) -> Ts {
    let secs = ts
        .secs
        .saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Ts::new(secs, ts.nanos + d.subsec_nanos(), ts.digits)
}
