//! TCP reassembly: `packet` records in, ordered byte streams out (`conn`,
//! `data`, `gap`).
//!
//! Mirrored traffic is messy: a capture starts mid-connection, segments come
//! out of order, twice (two mirror sessions), or never (the mirror dropped
//! them), and the two directions may come through different tunnels. The
//! [`Reassembler`] copes with all of it, within fixed memory:
//!
//! - **Roles.** From SYN / SYN-ACK when seen. Otherwise from the ports (a
//!   well-known or listed service port, else the lower one), corrected by
//!   content (an HTTP request line vs a status line) as long as nothing of the
//!   flow was emitted yet; such flows are `midstream`. The `conn` open record
//!   is written just before the flow's first `data`/`gap` (or its close), so
//!   it always carries the final roles.
//! - **Order.** In-order bytes are emitted at once, borrowed from the packet
//!   (no copy). Out-of-order bytes wait in a non-overlapping buffer. Overlaps
//!   with waiting bytes are resolved first-wins (or last-wins with
//!   [`OverlapPolicy::Last`]); overlaps whose bytes differ are counted. Bytes
//!   already emitted are never emitted again, so a retransmission that
//!   overlaps them is trimmed (the policy cannot apply to them).
//! - **Holes.** A hole becomes a `gap` when the peer ACKed past it (after
//!   [`ReassemblyConfig::ack_grace`], as the two directions may reach us with
//!   different delays), when it is older than [`ReassemblyConfig::gap_timeout`]
//!   on packet time, or when the per-direction buffer cap is reached. At close,
//!   the remaining holes and any bytes known to exist past the end (up to the
//!   FIN or the peer's ACK) become gaps too.
//! - **Lifetimes.** FIN from both sides (all data up to them delivered), RST,
//!   idle timeout on packet time, eviction, end of input: the flow is flushed
//!   and closed with its reason. Closed-by-FIN/RST tuples linger as tombstones
//!   (late ACKs are ignored); a new SYN on them, or a SYN with another ISN on
//!   a finished but open tuple, starts a new flow with a new id.
//! - **Identity.** The key is the 5-tuple plus the tracked tunnel identity
//!   ([`TrackSet`]). The flow id is a stable hash of the key and the first
//!   packet's time; `community_id` is Community ID v1. Identical copies of a
//!   segment (same flow, seq, ack, flags, length and payload hash within
//!   [`ReassemblyConfig::dedup_window`]) are dropped once and counted.
//! - **Memory.** Out-of-order bytes per direction, total buffered bytes and
//!   the number of flows are capped. Past the total cap the least recently
//!   active buffering flow is evicted (flushed and closed `evicted`), or, when
//!   there is none, the segment is dropped and counted. Past the flow cap the
//!   oldest tombstone goes, else the least recently active flow is evicted.
//!   The duplicate filter is a fixed-size table.
//!
//! Output order is a function of the input alone: no clock, no hash-map order.

pub mod driver;
mod ident;
mod seq;
mod stream;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

pub use ident::{
    classify, community_id, flow_str, server_by_port, FlowKey, Looks, Side, TrackSet, TunnelId,
};
pub use seq::SeqNum;
use stream::{ts_add, Ev, Limits, Stream, SEG_OVERHEAD};

use crate::record::{
    endpoint, Conn, ConnEvent, Data, Dir, Gap, Packet, Record, TcpFlags, Ts, Tunnel,
};

/// Which copy wins when two segments carry the same stream bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OverlapPolicy {
    /// The bytes that arrived first (what most receivers keep).
    #[default]
    First,
    /// The bytes that arrived last.
    Last,
}

impl OverlapPolicy {
    pub fn parse(s: &str) -> Result<OverlapPolicy, String> {
        match s {
            "first" => Ok(OverlapPolicy::First),
            "last" => Ok(OverlapPolicy::Last),
            other => Err(format!(
                "unknown overlap policy {other:?} (want first or last)"
            )),
        }
    }
}

/// Everything the reassembler can be told.
#[derive(Debug, Clone)]
pub struct ReassemblyConfig {
    pub overlap: OverlapPolicy,
    pub track: TrackSet,
    /// A flow with no packet for this long (packet time) is closed `timeout`.
    pub idle_timeout: Duration,
    /// A hole older than this (packet time) becomes a gap.
    pub gap_timeout: Duration,
    /// A hole the peer ACKed past becomes a gap after this much packet time.
    pub ack_grace: Duration,
    /// A segment starting further than this past the next expected byte is dropped.
    pub window: u64,
    /// Out-of-order bytes buffered per direction.
    pub max_ooo: usize,
    /// Out-of-order bytes buffered over all flows.
    pub max_buffered: usize,
    /// Flows (open and recently closed) held at once.
    pub max_flows: usize,
    /// Identical copies of a segment this close in time are duplicates (0: off).
    pub dedup_window: Duration,
    /// Entries of the duplicate filter (rounded up to a power of two).
    pub dedup_slots: usize,
    /// How long a tuple closed by FIN or RST ignores late packets.
    pub closed_linger: Duration,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            overlap: OverlapPolicy::First,
            track: TrackSet::default(),
            idle_timeout: Duration::from_secs(300),
            gap_timeout: Duration::from_secs(1),
            ack_grace: Duration::from_millis(50),
            window: 16 << 20,
            max_ooo: 1 << 20,
            max_buffered: 256 << 20,
            max_flows: 1_000_000,
            dedup_window: Duration::from_millis(20),
            dedup_slots: 1 << 16,
            closed_linger: Duration::from_secs(30),
        }
    }
}

/// Counters of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub packets: u64,
    /// Flows opened.
    pub flows: u64,
    /// Flows whose handshake was not seen.
    pub midstream: u64,
    pub data_records: u64,
    pub data_bytes: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Identical copies dropped.
    pub duplicates: u64,
    /// Segments wholly or partly before the next expected byte.
    pub retransmitted: u64,
    /// Segments overlapping buffered bytes.
    pub overlaps: u64,
    /// ... whose bytes differed.
    pub overlaps_differing: u64,
    /// Segments too far ahead of the stream.
    pub out_of_window: u64,
    /// Holes given up because the per-direction buffer was full.
    pub forced_gaps: u64,
    /// Segments dropped because the total buffer was full.
    pub dropped_cap: u64,
    /// Flows closed `evicted` (for the flow cap or the buffer cap).
    pub evicted: u64,
    pub closed_fin: u64,
    pub closed_rst: u64,
    pub closed_timeout: u64,
    pub closed_eof: u64,
    /// Packets on a tuple closed by FIN/RST, ignored.
    pub after_close: u64,
    /// RSTs on unknown tuples or out of window, ignored.
    pub ignored_rst: u64,
    /// SYNs with a new ISN on an open, unfinished flow, ignored.
    pub syn_mismatch: u64,
    /// SYN-ACKs answering another SYN than the first one seen (several SYNs
    /// with different ISNs, no client data yet): the client stream follows
    /// the SYN the server answered.
    pub syn_rebased: u64,
    /// Most flows held at once.
    pub peak_flows: u64,
    /// Most bytes buffered at once (with per-piece overhead).
    pub peak_buffered: u64,
}

/// Why a flow was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Fin,
    Rst,
    Timeout,
    Evicted,
    Eof,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Fin => "fin",
            Reason::Rst => "rst",
            Reason::Timeout => "timeout",
            Reason::Evicted => "evicted",
            Reason::Eof => "eof",
        }
    }
}

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Roles {
    Port,
    Content,
    Handshake,
}

struct Hdr {
    serial: u64,
    id: u64,
    first_ts: Ts,
    last_ts: Ts,
    client: Side,
    roles: Roles,
    opened: bool,
    fin_seen: bool,
    tunnel: Box<[Tunnel]>,
}

struct Flow {
    key: FlowKey,
    hdr: Hdr,
    sides: [Stream; 2],
    prev: u32,
    next: u32,
    /// When it was closed by FIN/RST (a tombstone), else `None`.
    closed: Option<Ts>,
    touch: u64,
}

impl Flow {
    fn buffered(&self) -> usize {
        self.sides[0].buffered + self.sides[1].buffered
    }
    fn finished(&self) -> bool {
        self.sides[0].finished() && self.sides[1].finished()
    }
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

#[derive(Clone, Copy, Default)]
struct DedupEntry {
    serial: u64,
    hash: u64,
    seq: u32,
    ack: u32,
    len: u32,
    flags: u8,
    ts: Ts,
}

/// The reassembler: feed it packets with [`push`](Self::push), call
/// [`finish`](Self::finish) at end of input.
pub struct Reassembler {
    cfg: ReassemblyConfig,
    map: HashMap<FlowKey, u32>,
    slots: Vec<Option<Flow>>,
    free: Vec<u32>,
    active: List,
    closed: List,
    /// Hole deadlines: (when, flow serial, side) -> slot.
    deadlines: BTreeMap<(Ts, u64, u8), u32>,
    /// Flows holding buffered bytes, by last activity: (touch, slot).
    buffering: BTreeSet<(u64, u32)>,
    total_buffered: usize,
    dedup: Vec<DedupEntry>,
    now: Option<Ts>,
    serial: u64,
    touch: u64,
    stats: Stats,
}

/// Data records and bytes emitted during one call, added to [`Stats`] after.
#[derive(Default)]
struct Tally {
    records: u64,
    bytes: u64,
    midstream: u64,
}

fn open_if_needed(
    key: &FlowKey,
    hdr: &mut Hdr,
    tally: &mut Tally,
    out: &mut dyn FnMut(Record<'_>),
) {
    if hdr.opened {
        return;
    }
    hdr.opened = true;
    let midstream = hdr.roles != Roles::Handshake;
    tally.midstream += u64::from(midstream);
    let (cip, cport) = key.addr(hdr.client);
    let (sip, sport) = key.addr(hdr.client.other());
    out(Record::Conn(Conn {
        event: ConnEvent::Open,
        ts: hdr.first_ts,
        flow: flow_str(hdr.id),
        community_id: Some(key.community_id()),
        client: Some(endpoint(cip, cport)),
        server: Some(endpoint(sip, sport)),
        tunnel: Some(std::mem::take(&mut hdr.tunnel).into_vec()),
        midstream: Some(midstream),
        reason: None,
        bytes_c2s: None,
        bytes_s2c: None,
    }));
}

fn emit_ev(
    key: &FlowKey,
    hdr: &mut Hdr,
    side: Side,
    ts: Ts,
    ev: Ev<'_>,
    tally: &mut Tally,
    out: &mut dyn FnMut(Record<'_>),
) {
    open_if_needed(key, hdr, tally, out);
    let dir = if side == hdr.client {
        Dir::C2s
    } else {
        Dir::S2c
    };
    match ev {
        Ev::Data { off, data } => {
            tally.records += 1;
            tally.bytes += data.len() as u64;
            out(Record::Data(Data {
                ts,
                flow: flow_str(hdr.id),
                dir,
                off,
                data,
            }));
        }
        Ev::Gap { off, len } => out(Record::Gap(Gap {
            ts,
            flow: flow_str(hdr.id),
            dir,
            off,
            len,
        })),
    }
}

/// A fast, non-cryptographic hash of a payload for the duplicate filter
/// (four independent multiply-xor lanes over 8-byte words).
fn payload_hash(data: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut lanes = [K, K ^ 1, K ^ 2, K ^ 3];
    let mut blocks = data.chunks_exact(32);
    for block in &mut blocks {
        for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            *lane = (*lane ^ u64::from_le_bytes(w))
                .wrapping_mul(0xff51_afd7_ed55_8ccd)
                .rotate_left(29);
        }
    }
    let mut h = (data.len() as u64).wrapping_mul(K);
    for lane in lanes {
        h = (h ^ lane)
            .wrapping_mul(0xc4ce_b9fe_1a85_ec53)
            .rotate_left(31);
    }
    for &b in blocks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^ (h >> 33)
}

impl Reassembler {
    pub fn new(cfg: ReassemblyConfig) -> Reassembler {
        let slots = if cfg.dedup_window.is_zero() {
            0
        } else {
            cfg.dedup_slots.clamp(1, 1 << 24).next_power_of_two()
        };
        Reassembler {
            map: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            active: List {
                head: NIL,
                tail: NIL,
            },
            closed: List {
                head: NIL,
                tail: NIL,
            },
            deadlines: BTreeMap::new(),
            buffering: BTreeSet::new(),
            total_buffered: 0,
            dedup: vec![DedupEntry::default(); slots],
            now: None,
            serial: 0,
            touch: 0,
            stats: Stats::default(),
            cfg,
        }
    }

    pub fn config(&self) -> &ReassemblyConfig {
        &self.cfg
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Flows held right now (open and tombstones).
    pub fn flows(&self) -> usize {
        self.map.len()
    }

    /// Out-of-order bytes buffered right now (with per-piece overhead).
    pub fn buffered(&self) -> usize {
        self.total_buffered
    }

    /// Takes one TCP segment; writes whatever it completes to `out`.
    pub fn push(&mut self, pkt: &Packet<'_>, out: &mut dyn FnMut(Record<'_>)) {
        self.stats.packets += 1;
        let now = match self.now {
            Some(n) if n > pkt.ts => n,
            _ => pkt.ts,
        };
        self.flush_idle(now, out);
        let (key, side) = FlowKey::of(pkt, self.cfg.track);
        let f = pkt.tcp.flags;
        let syn_only = f.has(TcpFlags::SYN) && !f.has(TcpFlags::ACK);
        let slot = match self.map.get(&key).copied() {
            None => {
                if f.has(TcpFlags::RST) {
                    self.stats.ignored_rst += 1;
                    return;
                }
                self.create(key, side, pkt, out)
            }
            Some(s) => {
                let Some(flow) = self.flow(s) else { return };
                let isn_differs = flow.sides[side.idx()]
                    .base
                    .is_some_and(|b| b != SeqNum(pkt.tcp.seq).plus(1));
                if flow.closed.is_some() {
                    if !syn_only {
                        self.stats.after_close += 1;
                        return;
                    }
                    self.create(key, side, pkt, out)
                } else if syn_only && isn_differs {
                    if !flow.hdr.fin_seen {
                        self.stats.syn_mismatch += 1;
                        return;
                    }
                    self.close(s, Reason::Fin, pkt.ts, out);
                    self.create(key, side, pkt, out)
                } else {
                    s
                }
            }
        };
        self.process(slot, side, pkt, out);
    }

    /// Gives up holes and closes flows whose time has come, by packet time
    /// `now`. [`push`](Self::push) calls it on every packet (it is cheap when
    /// nothing is due); call it yourself when input pauses.
    pub fn flush_idle(&mut self, now: Ts, out: &mut dyn FnMut(Record<'_>)) {
        match self.now {
            Some(n) if n >= now => {}
            _ => self.now = Some(now),
        }
        while let Some((&(due, serial, s), &slot)) = self.deadlines.first_key_value() {
            if due > now {
                break;
            }
            self.deadlines.pop_first();
            let Some(flow) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
                continue;
            };
            let Some(stream) = flow.sides.get_mut(usize::from(s)) else {
                continue;
            };
            if flow.hdr.serial != serial || stream.deadline != Some(due) {
                continue;
            }
            stream.deadline = None;
            let before = flow.buffered();
            let side = if s == 0 { Side::A } else { Side::B };
            let Flow {
                key, hdr, sides, ..
            } = flow;
            let mut tally = Tally::default();
            if let Some(stream) = sides.get_mut(side.idx()) {
                stream.force_gap(&mut self.stats, &mut |ev| {
                    emit_ev(key, hdr, side, due, ev, &mut tally, out)
                });
            }
            self.add_tally(tally);
            self.after_change(slot, before);
            if self.flow(slot).is_some_and(Flow::finished) {
                self.close(slot, Reason::Fin, due, out);
            }
        }
        while self.active.head != NIL {
            let head = self.active.head;
            let Some(flow) = self.flow(head) else { break };
            let due = ts_add(flow.hdr.last_ts, self.cfg.idle_timeout);
            if due > now {
                break;
            }
            self.close(head, Reason::Timeout, due, out);
        }
        while self.closed.head != NIL {
            let head = self.closed.head;
            let Some(closed) = self.flow(head).and_then(|f| f.closed) else {
                break;
            };
            if ts_add(closed, self.cfg.closed_linger) > now {
                break;
            }
            self.remove(head);
        }
    }

    /// End of input: flushes and closes every open flow (`fin` if both FINs
    /// were seen, else `eof`), least recently active first.
    pub fn finish(&mut self, out: &mut dyn FnMut(Record<'_>)) {
        while self.active.head != NIL {
            let head = self.active.head;
            let Some(flow) = self.flow(head) else { break };
            let both_fin = flow.sides.iter().all(|s| s.fin_off.is_some());
            let reason = if both_fin { Reason::Fin } else { Reason::Eof };
            let ts = flow.hdr.last_ts;
            self.close(head, reason, ts, out);
        }
        while self.closed.head != NIL {
            let head = self.closed.head;
            self.remove(head);
        }
    }

    fn flow(&self, slot: u32) -> Option<&Flow> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    fn flow_mut(&mut self, slot: u32) -> Option<&mut Flow> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    fn add_tally(&mut self, t: Tally) {
        self.stats.data_records += t.records;
        self.stats.data_bytes += t.bytes;
        self.stats.midstream += t.midstream;
    }

    fn list(&mut self, closed: bool) -> &mut List {
        if closed {
            &mut self.closed
        } else {
            &mut self.active
        }
    }

    fn unlink(&mut self, slot: u32) {
        let Some(f) = self.flow_mut(slot) else { return };
        let (prev, next, closed) = (f.prev, f.next, f.closed.is_some());
        f.prev = NIL;
        f.next = NIL;
        match self.flow_mut(prev) {
            Some(p) => p.next = next,
            None => self.list(closed).head = next,
        }
        match self.flow_mut(next) {
            Some(n) => n.prev = prev,
            None => self.list(closed).tail = prev,
        }
    }

    fn link_tail(&mut self, slot: u32) {
        let Some(f) = self.flow(slot) else { return };
        let closed = f.closed.is_some();
        let tail = self.list(closed).tail;
        if let Some(f) = self.flow_mut(slot) {
            f.prev = tail;
            f.next = NIL;
        }
        match self.flow_mut(tail) {
            Some(t) => t.next = slot,
            None => self.list(closed).head = slot,
        }
        self.list(closed).tail = slot;
    }

    /// Frees a slot entirely.
    fn remove(&mut self, slot: u32) {
        self.unlink(slot);
        if let Some(flow) = self.slots.get_mut(slot as usize).and_then(Option::take) {
            if self.map.get(&flow.key) == Some(&slot) {
                self.map.remove(&flow.key);
            }
            self.free.push(slot);
        }
    }

    fn create(
        &mut self,
        key: FlowKey,
        side: Side,
        pkt: &Packet<'_>,
        out: &mut dyn FnMut(Record<'_>),
    ) -> u32 {
        if let Some(old) = self.map.get(&key).copied() {
            self.remove(old);
        }
        let cap = self.cfg.max_flows.max(1);
        while self.map.len() >= cap {
            if self.closed.head != NIL {
                let head = self.closed.head;
                self.remove(head);
            } else if self.active.head != NIL {
                let head = self.active.head;
                let now = self.now.unwrap_or(pkt.ts);
                self.close(head, Reason::Evicted, now, out);
            } else {
                break;
            }
        }
        self.serial += 1;
        let server = server_by_port(key.pa, key.pb, side.other());
        let flow = Flow {
            key,
            hdr: Hdr {
                serial: self.serial,
                id: key.flow_id(pkt.ts),
                first_ts: pkt.ts,
                last_ts: pkt.ts,
                client: server.other(),
                roles: Roles::Port,
                opened: false,
                fin_seen: false,
                tunnel: pkt.tunnel.to_vec().into_boxed_slice(),
            },
            sides: [Stream::default(), Stream::default()],
            prev: NIL,
            next: NIL,
            closed: None,
            touch: 0,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                if let Some(place) = self.slots.get_mut(s as usize) {
                    *place = Some(flow);
                }
                s
            }
            None => {
                self.slots.push(Some(flow));
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, slot);
        self.link_tail(slot);
        self.stats.flows += 1;
        self.stats.peak_flows = self.stats.peak_flows.max(self.map.len() as u64);
        slot
    }

    /// Marks activity: last packet time, LRU position, buffering order.
    fn touch(&mut self, slot: u32, ts: Ts) {
        self.touch += 1;
        let t = self.touch;
        let Some(flow) = self.flow_mut(slot) else {
            return;
        };
        flow.hdr.last_ts = flow.hdr.last_ts.max(ts);
        let old = flow.touch;
        flow.touch = t;
        let (buffered, at_tail) = (flow.buffered() > 0, flow.next == NIL);
        if buffered {
            self.buffering.remove(&(old, slot));
            self.buffering.insert((t, slot));
        }
        if !at_tail {
            self.unlink(slot);
            self.link_tail(slot);
        }
    }

    /// Whether a copy of this segment was seen just before (and records it if not).
    fn is_dup(&mut self, serial: u64, pkt: &Packet<'_>) -> bool {
        let mask = self.dedup.len().wrapping_sub(1);
        let hash = payload_hash(&pkt.payload);
        let seq = pkt.tcp.seq;
        let i =
            ((hash ^ serial.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ u64::from(seq)) as usize) & mask;
        let window = u64::try_from(self.cfg.dedup_window.as_nanos()).unwrap_or(u64::MAX);
        let Some(e) = self.dedup.get_mut(i) else {
            return false;
        };
        let len = pkt.payload.len() as u32;
        if e.serial == serial
            && e.hash == hash
            && e.seq == seq
            && e.ack == pkt.tcp.ack
            && e.len == len
            && e.flags == pkt.tcp.flags.0
            && pkt.ts.nanos_since(e.ts) <= window
            && e.ts.nanos_since(pkt.ts) <= window
        {
            return true;
        }
        *e = DedupEntry {
            serial,
            hash,
            seq,
            ack: pkt.tcp.ack,
            len,
            flags: pkt.tcp.flags.0,
            ts: pkt.ts,
        };
        false
    }

    fn process(
        &mut self,
        slot: u32,
        side: Side,
        pkt: &Packet<'_>,
        out: &mut dyn FnMut(Record<'_>),
    ) {
        let ts = pkt.ts;
        let f = pkt.tcp.flags;
        let (syn, ack, rst, fin) = (
            f.has(TcpFlags::SYN),
            f.has(TcpFlags::ACK),
            f.has(TcpFlags::RST),
            f.has(TcpFlags::FIN),
        );
        let payload: &[u8] = &pkt.payload;
        let seq = SeqNum(pkt.tcp.seq);
        let dseq = if syn { seq.plus(1) } else { seq };
        let window = self.cfg.window;
        let (me, peer) = (side.idx(), side.other().idx());
        self.touch(slot, ts);
        if !payload.is_empty() && !self.dedup.is_empty() {
            let serial = self.flow(slot).map_or(0, |fl| fl.hdr.serial);
            if self.is_dup(serial, pkt) {
                self.stats.duplicates += 1;
                return;
            }
        }
        if syn && ack {
            // The SYN-ACK names the client SYN it answers. When several SYNs
            // with different ISNs came first (retries, a SYN flood on the
            // tuple), follow that one, as the server does, unless client bytes
            // were already placed.
            let acked = SeqNum(pkt.tcp.ack);
            let rebased = self.flow_mut(slot).is_some_and(|flow| {
                let client = &mut flow.sides[peer];
                let answer_other = client.base.is_some_and(|b| b != acked)
                    && client.next == 0
                    && client.buffered == 0
                    && client.fin_off.is_none();
                if answer_other {
                    client.base = Some(acked);
                }
                answer_other
            });
            self.stats.syn_rebased += u64::from(rebased);
        }
        let Some(flow) = self.flow_mut(slot) else {
            return;
        };
        if syn {
            // Roles are final once anything of the flow was written.
            if !flow.hdr.opened {
                flow.hdr.client = if ack { side.other() } else { side };
                flow.hdr.roles = Roles::Handshake;
            }
            if flow.sides[me].base.is_none() {
                flow.sides[me].base = Some(seq.plus(1));
            }
        }
        if rst {
            if flow.sides[me].in_window(seq, window) {
                self.close(slot, Reason::Rst, ts, out);
            } else {
                self.stats.ignored_rst += 1;
            }
            return;
        }
        if ack {
            flow.sides[peer].on_peer_ack(SeqNum(pkt.tcp.ack), ts, window);
        }
        if !payload.is_empty() && !flow.hdr.opened && flow.hdr.roles == Roles::Port {
            match classify(payload) {
                Looks::Request => {
                    flow.hdr.client = side;
                    flow.hdr.roles = Roles::Content;
                }
                Looks::Response => {
                    flow.hdr.client = side.other();
                    flow.hdr.roles = Roles::Content;
                }
                Looks::Unknown => {}
            }
        }
        if (!payload.is_empty() || fin) && flow.sides[me].base.is_none() {
            flow.sides[me].base = Some(dseq);
        }
        let need =
            if !payload.is_empty() && flow.sides[me].would_buffer(dseq, payload.len(), window) {
                payload.len() + SEG_OVERHEAD
            } else {
                0
            };
        let can_buffer = need == 0 || self.make_room(slot, need, ts, out);
        let Some(flow) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        let before = flow.buffered();
        if !payload.is_empty() {
            let lim = Limits {
                policy: self.cfg.overlap,
                window,
                max_ooo: self.cfg.max_ooo,
                can_buffer,
            };
            let Flow {
                key, hdr, sides, ..
            } = flow;
            let mut tally = Tally::default();
            sides[me].segment(dseq, payload, ts, &lim, &mut self.stats, &mut |ev| {
                emit_ev(key, hdr, side, ts, ev, &mut tally, out)
            });
            self.add_tally(tally);
        }
        let Some(flow) = self.flow_mut(slot) else {
            return;
        };
        if fin {
            flow.hdr.fin_seen = true;
            flow.sides[me].set_fin(dseq.plus(payload.len() as u32), window);
        }
        self.after_change(slot, before);
        if self.flow(slot).is_some_and(Flow::finished) {
            self.close(slot, Reason::Fin, ts, out);
        }
    }

    /// Bookkeeping after a flow's buffers changed: the total, the buffering
    /// order and the hole deadlines.
    fn after_change(&mut self, slot: u32, before: usize) {
        let (gap_timeout, ack_grace) = (self.cfg.gap_timeout, self.cfg.ack_grace);
        let Some(flow) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        let after = flow.buffered();
        self.total_buffered = (self.total_buffered + after).saturating_sub(before);
        self.stats.peak_buffered = self.stats.peak_buffered.max(self.total_buffered as u64);
        if before == 0 && after > 0 {
            self.buffering.insert((flow.touch, slot));
        } else if before > 0 && after == 0 {
            self.buffering.remove(&(flow.touch, slot));
        }
        let serial = flow.hdr.serial;
        for (s, stream) in flow.sides.iter_mut().enumerate() {
            let want = stream.desired_deadline(gap_timeout, ack_grace);
            if want != stream.deadline {
                if let Some(old) = stream.deadline {
                    self.deadlines.remove(&(old, serial, s as u8));
                }
                if let Some(new) = want {
                    self.deadlines.insert((new, serial, s as u8), slot);
                }
                stream.deadline = want;
            }
        }
    }

    /// Frees buffer space for `need` bytes by evicting the least recently
    /// active buffering flows other than `cur`. False when that is not enough.
    fn make_room(
        &mut self,
        cur: u32,
        need: usize,
        ts: Ts,
        out: &mut dyn FnMut(Record<'_>),
    ) -> bool {
        while self.total_buffered + need > self.cfg.max_buffered {
            let victim = self
                .buffering
                .iter()
                .find(|&&(_, s)| s != cur)
                .map(|&(_, s)| s);
            match victim {
                Some(v) => self.close(v, Reason::Evicted, ts, out),
                None => return false,
            }
        }
        true
    }

    /// Flushes a flow (holes become gaps) and closes it. FIN/RST leave a
    /// tombstone that ignores late packets; other reasons free the slot.
    fn close(&mut self, slot: u32, reason: Reason, ts: Ts, out: &mut dyn FnMut(Record<'_>)) {
        let window = self.cfg.window;
        let Some(flow) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        if flow.closed.is_some() {
            return;
        }
        let before = flow.buffered();
        let touch = flow.touch;
        let Flow {
            key, hdr, sides, ..
        } = flow;
        let mut tally = Tally::default();
        let client = hdr.client;
        for side in [client, client.other()] {
            if let Some(stream) = sides.get_mut(side.idx()) {
                stream.close(window, &mut self.stats, &mut |ev| {
                    emit_ev(key, hdr, side, ts, ev, &mut tally, out)
                });
            }
        }
        open_if_needed(key, hdr, &mut tally, out);
        out(Record::Conn(Conn {
            event: ConnEvent::Close,
            ts,
            flow: flow_str(hdr.id),
            community_id: None,
            client: None,
            server: None,
            tunnel: None,
            midstream: None,
            reason: Some(reason.as_str().to_string()),
            bytes_c2s: Some(sides[client.idx()].data_bytes),
            bytes_s2c: Some(sides[client.other().idx()].data_bytes),
        }));
        for (s, stream) in sides.iter_mut().enumerate() {
            if let Some(d) = stream.deadline.take() {
                self.deadlines.remove(&(d, hdr.serial, s as u8));
            }
        }
        self.add_tally(tally);
        self.total_buffered = self.total_buffered.saturating_sub(before);
        if before > 0 {
            self.buffering.remove(&(touch, slot));
        }
        match reason {
            Reason::Fin => self.stats.closed_fin += 1,
            Reason::Rst => self.stats.closed_rst += 1,
            Reason::Timeout => self.stats.closed_timeout += 1,
            Reason::Evicted => self.stats.evicted += 1,
            Reason::Eof => self.stats.closed_eof += 1,
        }
        match reason {
            Reason::Fin | Reason::Rst => {
                self.unlink(slot);
                if let Some(flow) = self.flow_mut(slot) {
                    flow.closed = Some(ts);
                    flow.sides = [Stream::default(), Stream::default()];
                    flow.hdr.tunnel = Box::default();
                }
                self.link_tail(slot);
            }
            Reason::Timeout | Reason::Evicted | Reason::Eof => self.remove(slot),
        }
    }
}
