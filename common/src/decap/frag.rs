//! IPv4 and IPv6 fragment reassembly, bounded in datagrams and bytes and
//! timed out on packet time. Overlapping fragments are counted and the bytes
//! that arrived first win. Completed payload buffers are recycled, so a
//! steady stream of fragments does not allocate.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::time::Ts;

/// Bounds of the fragment table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FragConfig {
    /// Datagrams being reassembled at once; fragments of new datagrams beyond this are dropped.
    pub max_datagrams: usize,
    /// Bytes held in reassembly buffers at once.
    pub max_bytes: usize,
    /// Seconds of packet time after a datagram's first fragment before it is given up.
    pub timeout_secs: u64,
}

impl Default for FragConfig {
    fn default() -> Self {
        FragConfig {
            max_datagrams: 4096,
            max_bytes: 64 << 20,
            timeout_secs: 30,
        }
    }
}

/// The largest reassembled IP payload accepted (the IPv6 payload limit;
/// for IPv4 the caller passes 65535 minus its header length).
pub const MAX_PAYLOAD: usize = 65_535;
/// Distinct holes-and-pieces per datagram before it is given up.
const MAX_PIECES: usize = 256;
/// Recycled buffers kept for reuse.
const POOL: usize = 32;

/// What identifies a datagram: addresses, id, protocol (IPv4 only) and a
/// fingerprint of the tunnel stack it arrived through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FragKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ident: u32,
    pub proto: u8,
    pub context: u64,
}

/// One fragment handed to the table.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    pub key: FragKey,
    /// Offset of `data` in the datagram's payload, in bytes.
    pub offset: usize,
    pub more: bool,
    /// Protocol (IPv4) or next header (IPv6) of the fragmentable part.
    pub proto: u8,
    /// Largest payload the reassembled datagram may have.
    pub limit: usize,
    pub data: &'a [u8],
}

/// A reassembled payload; hand `buf` back with [`Defrag::recycle`].
#[derive(Debug)]
pub struct Complete {
    pub proto: u8,
    pub buf: Vec<u8>,
}

#[derive(Debug)]
struct Datagram {
    first: Ts,
    buf: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    pieces: Vec<(usize, usize)>,
    total: Option<usize>,
    proto: Option<u8>,
}

/// The fragment table.
#[derive(Debug)]
pub struct Defrag {
    cfg: FragConfig,
    table: BTreeMap<FragKey, Datagram>,
    bytes: usize,
    pool: Vec<Vec<u8>>,
    last_sweep: Option<Ts>,
}

type Counts = BTreeMap<&'static str, u64>;

fn count(counts: &mut Counts, reason: &'static str) {
    *counts.entry(reason).or_insert(0) += 1;
}

impl Defrag {
    pub fn new(cfg: FragConfig) -> Self {
        Defrag {
            cfg,
            table: BTreeMap::new(),
            bytes: 0,
            pool: Vec::new(),
            last_sweep: None,
        }
    }

    /// Datagrams waiting for more fragments.
    pub fn pending(&self) -> usize {
        self.table.len()
    }

    /// Bytes held in reassembly buffers.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn expired(&self, first: Ts, now: Ts) -> bool {
        now.nanos_since(first) > self.cfg.timeout_secs.saturating_mul(1_000_000_000)
    }

    fn release(&mut self, mut d: Datagram) {
        self.bytes = self.bytes.saturating_sub(d.buf.len());
        d.buf.clear();
        if self.pool.len() < POOL {
            self.pool.push(d.buf);
        }
    }

    /// Gives up on datagrams older than the timeout (counted `frag_timeout`).
    pub fn expire(&mut self, now: Ts, counts: &mut Counts) {
        let old: Vec<FragKey> = self
            .table
            .iter()
            .filter(|(_, d)| self.expired(d.first, now))
            .map(|(k, _)| *k)
            .collect();
        for k in old {
            if let Some(d) = self.table.remove(&k) {
                count(counts, "frag_timeout");
                self.release(d);
            }
        }
        self.last_sweep = Some(now);
    }

    /// Gives up on every pending datagram (end of input), counted `frag_incomplete`.
    pub fn clear(&mut self, counts: &mut Counts) {
        while let Some((_, d)) = self.table.pop_first() {
            count(counts, "frag_incomplete");
            self.release(d);
        }
    }

    /// Returns a completed buffer for reuse.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.pool.len() < POOL {
            buf.clear();
            self.pool.push(buf);
        }
    }

    /// Adds one fragment; returns the payload when the datagram is complete.
    /// Every outcome other than "stored, waiting" is counted in `counts`.
    pub fn push(&mut self, now: Ts, f: Fragment<'_>, counts: &mut Counts) -> Option<Complete> {
        count(counts, "fragments");
        let sweep_due = match self.last_sweep {
            None => true,
            Some(t) => now.nanos_since(t) >= 1_000_000_000,
        };
        if sweep_due {
            self.expire(now, counts);
        }
        let end = f.offset.saturating_add(f.data.len());
        if end > f.limit {
            count(counts, "frag_too_large");
            if let Some(d) = self.table.remove(&f.key) {
                self.release(d);
            }
            return None;
        }
        if f.more && f.data.len() & 7 != 0 {
            count(counts, "frag_malformed");
            return None;
        }
        if let Some(d) = self.table.get(&f.key) {
            if self.expired(d.first, now) {
                if let Some(d) = self.table.remove(&f.key) {
                    count(counts, "frag_timeout");
                    self.release(d);
                }
            }
        }
        if !self.table.contains_key(&f.key) {
            if self.table.len() >= self.cfg.max_datagrams {
                count(counts, "frag_table_full");
                return None;
            }
            let buf = self.pool.pop().unwrap_or_default();
            self.table.insert(
                f.key,
                Datagram {
                    first: now,
                    buf,
                    pieces: Vec::new(),
                    total: None,
                    proto: None,
                },
            );
        }
        let d = self.table.get_mut(&f.key)?;
        // The last fragment fixes the total; a conflicting one is malformed.
        let known_end = d.pieces.last().map_or(0, |p| p.1);
        let bad_end = match (f.more, d.total) {
            (false, Some(t)) => t != end,
            (false, None) => known_end > end,
            (true, Some(t)) => end > t,
            (true, None) => false,
        };
        if bad_end {
            count(counts, "frag_malformed");
            return None;
        }
        let growth = end.saturating_sub(d.buf.len());
        if self.bytes.saturating_add(growth) > self.cfg.max_bytes {
            count(counts, "frag_table_full");
            return None;
        }
        if !f.more {
            d.total = Some(end);
        }
        if f.offset == 0 {
            d.proto.get_or_insert(f.proto);
        }
        if d.buf.len() < end {
            d.buf.resize(end, 0);
        }
        self.bytes += growth;
        // Copy only the bytes not received yet: the first copy wins.
        let mut cursor = f.offset;
        let mut overlap = false;
        let copy = |from: usize, to: usize, buf: &mut Vec<u8>| {
            if let (Some(dst), Some(src)) = (
                buf.get_mut(from..to),
                f.data.get(from - f.offset..to - f.offset),
            ) {
                dst.copy_from_slice(src);
            }
        };
        for &(s, e) in &d.pieces {
            if e <= cursor {
                continue;
            }
            if s >= end {
                break;
            }
            overlap = true;
            if s > cursor {
                copy(cursor, s, &mut d.buf);
            }
            cursor = cursor.max(e);
        }
        if cursor < end {
            copy(cursor, end, &mut d.buf);
        }
        if overlap {
            count(counts, "frag_overlap");
        }
        insert_piece(&mut d.pieces, f.offset, end);
        if d.pieces.len() > MAX_PIECES {
            count(counts, "frag_too_many_pieces");
            if let Some(d) = self.table.remove(&f.key) {
                self.release(d);
            }
            return None;
        }
        let done = d.total.is_some_and(|t| d.pieces.as_slice() == [(0, t)]) || d.total == Some(0);
        if !done {
            return None;
        }
        let mut d = self.table.remove(&f.key)?;
        self.bytes = self.bytes.saturating_sub(d.buf.len());
        count(counts, "frag_reassembled");
        d.buf.truncate(d.total.unwrap_or(0));
        Some(Complete {
            proto: d.proto.unwrap_or(f.proto),
            buf: d.buf,
        })
    }
}

/// Inserts `[start, end)` into sorted, merged `pieces`, merging neighbours.
fn insert_piece(pieces: &mut Vec<(usize, usize)>, start: usize, end: usize) {
    if start >= end {
        return;
    }
    let i = pieces.partition_point(|p| p.1 < start);
    let mut s = start;
    let mut e = end;
    let mut j = i;
    while let Some(&(ps, pe)) = pieces.get(j) {
        if ps > e {
            break;
        }
        s = s.min(ps);
        e = e.max(pe);
        j += 1;
    }
    pieces.splice(i..j, [(s, e)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ident: u32) -> FragKey {
        FragKey {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            ident,
            proto: 6,
            context: 0,
        }
    }

    fn frag(ident: u32, offset: usize, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            key: key(ident),
            offset,
            more,
            proto: 6,
            limit: MAX_PAYLOAD,
            data,
        }
    }

    fn at(secs: i64) -> Ts {
        Ts::from_micros(secs, 0)
    }

    #[test]
    fn pieces_merge() {
        let mut p = vec![];
        for (s, e) in [(16, 24), (0, 8), (32, 40), (8, 16), (20, 34)] {
            insert_piece(&mut p, s, e);
        }
        assert_eq!(p, vec![(0, 40)]);
        let mut p = vec![(0, 8), (16, 24)];
        insert_piece(&mut p, 30, 40);
        assert_eq!(p, vec![(0, 8), (16, 24), (30, 40)]);
    }

    /// (fragments as (offset, more, byte value, len), expected payload or None, counters)
    #[test]
    fn reassembly_table() {
        type Case = (
            &'static str,
            Vec<(usize, bool, u8, usize)>,
            Option<Vec<u8>>,
            Vec<(&'static str, u64)>,
        );
        let rep = |v: &[(u8, usize)]| v.iter().flat_map(|&(b, n)| vec![b; n]).collect::<Vec<u8>>();
        let cases: Vec<Case> = vec![
            (
                "in order",
                vec![(0, true, 1, 8), (8, true, 2, 8), (16, false, 3, 3)],
                Some(rep(&[(1, 8), (2, 8), (3, 3)])),
                vec![("frag_reassembled", 1)],
            ),
            (
                "reversed",
                vec![(16, false, 3, 3), (8, true, 2, 8), (0, true, 1, 8)],
                Some(rep(&[(1, 8), (2, 8), (3, 3)])),
                vec![("frag_reassembled", 1)],
            ),
            (
                "overlap: first wins",
                vec![(0, true, 1, 16), (8, false, 9, 12)],
                Some(rep(&[(1, 16), (9, 4)])),
                vec![("frag_overlap", 1), ("frag_reassembled", 1)],
            ),
            (
                "overlap filling a hole",
                vec![(0, true, 1, 8), (16, false, 3, 8), (0, true, 7, 24)],
                Some(rep(&[(1, 8), (7, 8), (3, 8)])),
                vec![("frag_overlap", 1), ("frag_reassembled", 1)],
            ),
            (
                "duplicate",
                vec![(0, true, 1, 8), (0, true, 5, 8), (8, false, 2, 2)],
                Some(rep(&[(1, 8), (2, 2)])),
                vec![("frag_overlap", 1), ("frag_reassembled", 1)],
            ),
            (
                "hole never filled",
                vec![(0, true, 1, 8), (16, false, 3, 8)],
                None,
                vec![("fragments", 2)],
            ),
            (
                "non-last not a multiple of 8",
                vec![(0, true, 1, 7)],
                None,
                vec![("frag_malformed", 1)],
            ),
            (
                "conflicting ends",
                vec![(16, false, 3, 8), (24, false, 3, 8)],
                None,
                vec![("frag_malformed", 1)],
            ),
            (
                "beyond the limit",
                vec![(65528, false, 1, 16)],
                None,
                vec![("frag_too_large", 1)],
            ),
        ];
        for (name, frags, want, counters) in cases {
            let mut d = Defrag::new(FragConfig::default());
            let mut counts = Counts::new();
            let mut got = None;
            for (off, more, byte, len) in &frags {
                let data = vec![*byte; *len];
                if let Some(c) = d.push(at(1), frag(1, *off, *more, &data), &mut counts) {
                    got = Some(c.buf);
                }
            }
            assert_eq!(got, want, "{name}");
            for (k, n) in counters {
                assert_eq!(
                    counts.get(k).copied().unwrap_or(0),
                    n,
                    "{name}: {k} in {counts:?}"
                );
            }
            assert_eq!(counts["fragments"], frags.len() as u64, "{name}");
            if got.is_some() {
                assert_eq!((d.pending(), d.bytes()), (0, 0), "{name}");
            }
        }
    }

    #[test]
    fn timeout_on_packet_time() {
        let mut d = Defrag::new(FragConfig {
            timeout_secs: 30,
            ..FragConfig::default()
        });
        let mut counts = Counts::new();
        assert!(d
            .push(at(100), frag(1, 0, true, &[1; 8]), &mut counts)
            .is_none());
        // 31 s later the first half is gone: the second half starts a new datagram.
        assert!(d
            .push(at(131), frag(1, 8, false, &[2; 4]), &mut counts)
            .is_none());
        assert_eq!(counts["frag_timeout"], 1);
        assert_eq!(d.pending(), 1);
        // Within the timeout, it completes.
        let c = d
            .push(at(140), frag(1, 0, true, &[1; 8]), &mut counts)
            .unwrap();
        assert_eq!(c.buf.len(), 12);
        // The sweep drops other old datagrams.
        d.push(at(200), frag(2, 0, true, &[1; 8]), &mut counts);
        d.push(at(240), frag(3, 0, true, &[1; 8]), &mut counts);
        assert_eq!(counts["frag_timeout"], 2);
        d.clear(&mut counts);
        assert_eq!(counts["frag_incomplete"], 1);
        assert_eq!((d.pending(), d.bytes()), (0, 0));
    }

    #[test]
    fn limits_refuse_new_fragments() {
        let mut d = Defrag::new(FragConfig {
            max_datagrams: 2,
            max_bytes: 20,
            timeout_secs: 30,
        });
        let mut counts = Counts::new();
        d.push(at(1), frag(1, 0, true, &[1; 8]), &mut counts);
        d.push(at(1), frag(2, 0, true, &[1; 8]), &mut counts);
        d.push(at(1), frag(3, 0, true, &[1; 8]), &mut counts);
        assert_eq!(counts["frag_table_full"], 1);
        // Datagram 1 may not grow past the byte limit.
        d.push(at(1), frag(1, 8, true, &[1; 8]), &mut counts);
        assert_eq!(counts["frag_table_full"], 2);
        assert_eq!(d.bytes(), 16);
    }
}
