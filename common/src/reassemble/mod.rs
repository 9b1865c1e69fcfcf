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
//!   flow was emitted yet, the first bytes written having the last word; such
//!   flows are `midstream`. The `conn` open record is written just before the
//!   flow's first `data`/`gap` (or its close), so it always carries the final
//!   roles.
//! - **Mid-stream starts.** Without a SYN, offset 0 of a direction is
//!   provisional: its first data is held, so an earlier segment the mirror
//!   delivers a little late moves the start back instead of being dropped as
//!   old. The start becomes final with the peer's ACK (an ACK at or before
//!   the first byte seen: where the receiver's stream stood, so the bytes
//!   between are a leading hole, and a `gap` unless they come), a late SYN,
//!   [`ReassemblyConfig::start_segments`] held segments, or
//!   [`ReassemblyConfig::start_hold`] of packet time after the first data,
//!   whichever comes first; also when the other direction writes anything
//!   (the held bytes came first, and a request stays before its response),
//!   when the hold would pass the buffer caps, and at close. So a mid-stream
//!   direction's first bytes are late by at most `start_hold` (50 ms) of
//!   packet time; handshake flows, and pickups whose peer ACK was seen first,
//!   are not held at all. Held bytes go out stamped with the moment their
//!   start became final, as reordered bytes are stamped with the moment their
//!   hole filled.
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
//! - **Memory.** A flow is one slab slot (~150 bytes): the index maps a hash
//!   of the key to the slot and the key is stored once, in the slot; the
//!   tracked tunnel identity and the tunnel stack are interned (a 4-byte id
//!   each); the two directions' state is allocated with the first data, FIN
//!   or ACK that moves one, so a SYN-only flow allocates nothing else.
//!   Out-of-order bytes per direction, total buffered bytes and
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
mod table;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hashbrown::HashTable;

pub use ident::{
    classify, community_id, flow_name, flow_str, server_by_port, FlowKey, Looks, Side, TrackSet,
    TunnelId, Tuple,
};
pub use seq::SeqNum;
use stream::{ts_add, Ev, Limits, Stream, SEG_OVERHEAD};
use table::Interner;

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
    /// How long (packet time) the first data of a mid-stream direction is held
    /// so a reordered earlier segment can still move its start back.
    pub start_hold: Duration,
    /// ... or for how many segments, whichever comes first.
    pub start_segments: u32,
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
            dedup_slots: 1 << 13,
            closed_linger: Duration::from_secs(30),
            start_hold: Duration::from_millis(50),
            start_segments: 8,
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
    /// Mid-stream starts moved back by an earlier segment that came late.
    pub start_rewound: u64,
    /// Mid-stream starts placed by the peer's ACK.
    pub start_by_ack: u64,
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
    /// Last packet time; for a tombstone, when it was closed.
    last_ts: Ts,
    client: Side,
    roles: Roles,
    opened: bool,
    fin_seen: bool,
    /// Interned tunnel stack of the first packet, until the open record is written.
    stack: u32,
}

/// What a direction knows before it has a [`Stream`]. Kept inline, so a flow
/// that saw nothing but a handshake allocates nothing beyond its slab slot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Pre {
    #[default]
    None,
    /// Offset 0, from the direction's SYN.
    Syn(SeqNum),
    /// No start yet; the peer's latest ACK of this direction.
    Hint(SeqNum),
}

/// One slab slot: everything about a flow. The key lives here once; the
/// index only maps its hash to the slot.
struct Flow {
    /// Hash of (`tuple`, `tun`) in the index.
    hash: u64,
    tuple: Tuple,
    /// Interned tracked tunnel identity (0: none).
    tun: u32,
    hdr: Hdr,
    pre: [Pre; 2],
    /// The two directions, allocated with the first data, FIN or ACK that
    /// moves a direction.
    streams: Option<Box<[Stream; 2]>>,
    prev: u32,
    next: u32,
    touch: u64,
    /// Closed by FIN/RST: a tombstone that ignores late packets.
    closed: bool,
}

impl Flow {
    fn buffered(&self) -> usize {
        self.streams
            .as_ref()
            .map_or(0, |s| s[0].buffered + s[1].buffered)
    }

    fn finished(&self) -> bool {
        self.streams
            .as_ref()
            .is_some_and(|s| s[0].finished() && s[1].finished())
    }

    fn stream(&self, side: Side) -> Option<&Stream> {
        self.streams.as_ref().and_then(|s| s.get(side.idx()))
    }

    /// The flow's streams, set up on first use. Called for every segment
    /// and ACK that reaches a stream: inlined, with the setup out of line.
    #[inline]
    fn streams_mut(&mut self) -> &mut [Stream; 2] {
        let pre = self.pre;
        self.streams.get_or_insert_with(|| new_streams(pre))
    }

    /// Offset 0 of a direction, if known.
    fn base(&self, side: Side) -> Option<SeqNum> {
        match self.stream(side) {
            Some(s) => s.base,
            None => match self.pre.get(side.idx()) {
                Some(Pre::Syn(b)) => Some(*b),
                _ => None,
            },
        }
    }

    /// Whether `seq` is within `window` of the next expected byte of `side`.
    fn in_window(&self, side: Side, seq: SeqNum, window: u64) -> bool {
        match (self.stream(side), self.base(side)) {
            (Some(s), _) => s.in_window(seq, window),
            (None, None) => true,
            (None, Some(b)) => u64::from(seq.diff(b).unsigned_abs()) <= window,
        }
    }

    /// Whether the peer's ACK `ack` of `side` needs the stream (else it is
    /// noted inline, or tells nothing). With the streams set up, most ACKs
    /// acknowledge nothing new and [`Stream::on_peer_ack`] would leave the
    /// stream as it is: skipped, with the call's setup (about a hundred
    /// instructions a packet).
    fn ack_matters(&mut self, side: Side, ack: SeqNum, window: u64) -> bool {
        if self.streams.is_some() {
            return self
                .stream(side)
                .is_none_or(|st| st.peer_ack_matters(ack, window));
        }
        let Some(p) = self.pre.get_mut(side.idx()) else {
            return false;
        };
        match *p {
            Pre::Syn(b) => {
                let d = ack.diff(b);
                d > 0 && d as u64 <= window
            }
            Pre::Hint(h) if h > ack => false,
            Pre::None | Pre::Hint(_) => {
                *p = Pre::Hint(ack);
                false
            }
        }
    }

    /// Whether a SYN whose next byte is `seq1` contradicts what `side` knows
    /// (a held mid-stream start it precedes does not).
    fn syn_conflicts(&self, side: Side, seq1: SeqNum, window: u64) -> bool {
        match self.stream(side) {
            Some(st) if st.hold.is_some() => st.base.is_some_and(|b| {
                let d = b.diff(seq1);
                d < 0 || d as u64 > window
            }),
            _ => self.base(side).is_some_and(|b| b != seq1),
        }
    }
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

/// One remembered segment of the duplicate filter: 40 bytes, so the
/// default table (8192 entries, 320 KiB) stays in a core's L2 cache. It is
/// read at a random place for every data segment: at 65 536 entries of 48
/// bytes (3 MiB) that read missed the cache nearly every time and cost more
/// than the rest of the packet's reassembly.
#[derive(Clone, Copy, Default)]
struct DedupEntry {
    serial: u64,
    hash: u64,
    /// Packet time in nanoseconds since the epoch.
    at: i64,
    seq: u32,
    ack: u32,
    len: u32,
    flags: u8,
}

/// The reassembler: feed it packets with [`push`](Self::push), call
/// [`finish`](Self::finish) at end of input.
pub struct Reassembler {
    cfg: ReassemblyConfig,
    /// Flow index: hash of (tuple, tunnel id) -> slot; the key is in the slot.
    index: HashTable<u32>,
    /// The index's hasher: attackers choose tuples, so it is keyed, with a
    /// seed drawn at random per process (foldhash: a few instructions per
    /// packet where SipHash took ~230). The index is only looked up, never
    /// iterated, so the seed cannot reach the output.
    hasher: foldhash::fast::RandomState,
    /// Tracked tunnel identities and tunnel stacks, each stored once.
    tunnels: Interner<TunnelId>,
    stacks: Interner<Box<[Tunnel]>>,
    /// The flow id text of the latest data record, lent to the next ones.
    name: FlowName,
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
    /// The global number of the packet being handled, in a sharded run
    /// ([`Reassembler::set_clock`]): flow serials and activity order come
    /// from it, so they compare across workers.
    clock: Option<u64>,
    /// Where the records being emitted come from, for a sharded run to merge.
    origin: Option<Arc<OriginCell>>,
}

/// Why the reassembler is emitting, and the key that orders those records
/// among all flows (of every worker) in a single-threaded run. A sharded run
/// ([`crate::shard`]) merges its workers' records by (packet number, origin).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    /// [`Origin::DEADLINE`], [`Origin::IDLE`], [`Origin::PACKET`] or [`Origin::FINISH`].
    pub phase: u8,
    pub a: u64,
    pub b: u64,
}

impl Origin {
    /// A hole given up or a start hold committed: `a` = due time, `b` = flow serial and side.
    pub const DEADLINE: u8 = 0;
    /// An idle flow closed: `a` = its last activity.
    pub const IDLE: u8 = 1;
    /// The packet itself.
    pub const PACKET: u8 = 2;
    /// End of input: `a` = the flow's last activity.
    pub const FINISH: u8 = 3;
}

/// A shared slot the reassembler writes the current [`Origin`] into before
/// it emits; the emit callback reads it. Only one thread ever touches it.
#[derive(Debug, Default)]
pub struct OriginCell {
    phase: AtomicU8,
    a: AtomicU64,
    b: AtomicU64,
}

impl OriginCell {
    pub fn get(&self) -> Origin {
        Origin {
            phase: self.phase.load(Ordering::Relaxed),
            a: self.a.load(Ordering::Relaxed),
            b: self.b.load(Ordering::Relaxed),
        }
    }

    fn set(&self, phase: u8, a: u64, b: u64) {
        self.phase.store(phase, Ordering::Relaxed);
        self.a.store(a, Ordering::Relaxed);
        self.b.store(b, Ordering::Relaxed);
    }
}

/// Data records and bytes emitted during one call, added to [`Stats`] after.
#[derive(Default)]
struct Tally {
    records: u64,
    bytes: u64,
    midstream: u64,
}

/// Writes a flow's records: the open record before the first of them, then
/// Flow id texts ([`flow_str`]) of recent data records, lent to the next
/// ones: flows interleave, so a few are kept, at `id % NAME_SLOTS` (ids are
/// hashes, so spread). Bounded: [`NAME_SLOTS`] strings of 17 bytes for the
/// whole reassembler, not one per flow (a flow slot stays small and off the
/// heap, see `size_tests`); a collision, chosen or not, only costs a render.
#[derive(Default)]
struct FlowName {
    slots: Vec<(Option<u64>, String)>,
}

/// Flow id texts kept, at most.
const NAME_SLOTS: usize = 256;

impl FlowName {
    fn of(&mut self, id: u64) -> &str {
        if self.slots.is_empty() {
            self.slots.resize_with(NAME_SLOTS, Default::default);
        }
        let Some((have, text)) = self.slots.get_mut(id as usize % NAME_SLOTS) else {
            return "";
        };
        if *have != Some(id) {
            *have = Some(id);
            text.clear();
            text.push_str(flow_name(id, &mut [0; 17]));
        }
        text
    }
}

/// `data` and `gap` with the direction named from the roles.
struct Emitter<'a, 'o> {
    tuple: &'a Tuple,
    hdr: &'a mut Hdr,
    stacks: &'a mut Interner<Box<[Tunnel]>>,
    name: &'a mut FlowName,
    tally: Tally,
    out: &'a mut (dyn FnMut(Record<'_>) + 'o),
}

/// A flow's two streams as what was seen before them (`pre`) starts them.
#[cold]
fn new_streams(pre: [Pre; 2]) -> Box<[Stream; 2]> {
    let mut s: Box<[Stream; 2]> = Box::default();
    for (st, p) in s.iter_mut().zip(pre) {
        match p {
            Pre::Syn(b) => st.base = Some(b),
            Pre::Hint(a) => st.hint = Some(a),
            Pre::None => {}
        }
    }
    s
}

impl Emitter<'_, '_> {
    /// Writes the flow's `conn` open record before its first data or gap.
    /// Checked before every record: the check is inlined, the writing is
    /// out of line.
    #[inline]
    fn open(&mut self) {
        if !self.hdr.opened {
            self.write_open();
        }
    }

    #[cold]
    fn write_open(&mut self) {
        let hdr = &mut *self.hdr;
        hdr.opened = true;
        let midstream = hdr.roles != Roles::Handshake;
        self.tally.midstream += u64::from(midstream);
        let (cip, cport) = self.tuple.addr(hdr.client);
        let (sip, sport) = self.tuple.addr(hdr.client.other());
        let tunnel = self.stacks.value(hdr.stack).to_vec();
        self.stacks.release(hdr.stack);
        hdr.stack = 0;
        (self.out)(Record::Conn(Conn {
            event: ConnEvent::Open,
            ts: hdr.first_ts,
            flow: flow_str(hdr.id),
            community_id: Some(self.tuple.community_id()),
            client: Some(endpoint(cip, cport)),
            server: Some(endpoint(sip, sport)),
            tunnel: Some(tunnel),
            midstream: Some(midstream),
            reason: None,
            bytes_c2s: None,
            bytes_s2c: None,
        }));
    }

    fn emit(&mut self, side: Side, ts: Ts, ev: Ev<'_>) {
        if let (false, Roles::Port | Roles::Content, Ev::Data { data, .. }) =
            (self.hdr.opened, self.hdr.roles, &ev)
        {
            // The first bytes written are the start of a stream (a held
            // start may have begun with a later segment): they have the
            // last word on a content guess.
            match classify(data) {
                Looks::Request => {
                    self.hdr.client = side;
                    self.hdr.roles = Roles::Content;
                }
                Looks::Response => {
                    self.hdr.client = side.other();
                    self.hdr.roles = Roles::Content;
                }
                Looks::Unknown => {}
            }
        }
        self.open();
        let dir = if side == self.hdr.client {
            Dir::C2s
        } else {
            Dir::S2c
        };
        match ev {
            Ev::Data { off, data } => {
                self.tally.records += 1;
                self.tally.bytes += data.len() as u64;
                (self.out)(Record::Data(Data {
                    ts,
                    flow: Cow::Borrowed(self.name.of(self.hdr.id)),
                    dir,
                    off,
                    data,
                }));
            }
            Ev::Gap { off, len } => (self.out)(Record::Gap(Gap {
                ts,
                flow: flow_str(self.hdr.id),
                dir,
                off,
                len,
            })),
        }
    }
}

/// Runs `op` on one direction's stream with what it hands out written as
/// that direction's records. Before the first of them, a held start of the
/// other direction is made final and handed out: its bytes came first, and
/// the two directions stay in arrival order (a request before its response).
fn on_side<'p, R>(
    streams: &mut [Stream; 2],
    side: Side,
    em: &mut Emitter<'_, '_>,
    ts: Ts,
    op: impl FnOnce(&mut Stream, &mut dyn FnMut(Ev<'p>)) -> R,
) -> R {
    let [a, b] = streams;
    let (mine, other) = if side == Side::A { (a, b) } else { (b, a) };
    op(mine, &mut |ev| {
        if other.hold.is_some() {
            other.commit(&mut |e| em.emit(side.other(), ts, e));
        }
        em.emit(side, ts, ev)
    })
}

/// A fast, non-cryptographic hash of a payload for the duplicate filter:
/// foldhash with a fixed seed (the same on every run; it never reaches the
/// output, only decides which copies are identical). It reads every byte,
/// about 4x faster than the multiply-xor lanes it replaced (every data
/// segment's payload goes through it).
fn payload_hash(data: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x9e37_79b9_7f4a_7c15).build_hasher();
    h.write(data);
    h.finish()
}

impl Reassembler {
    pub fn new(cfg: ReassemblyConfig) -> Reassembler {
        let slots = if cfg.dedup_window.is_zero() {
            0
        } else {
            cfg.dedup_slots.clamp(1, 1 << 24).next_power_of_two()
        };
        Reassembler {
            index: HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            tunnels: Interner::new(),
            stacks: Interner::new(),
            name: FlowName::default(),
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
            clock: None,
            origin: None,
            cfg,
        }
    }

    /// Sharded runs: the global number (from 1, increasing) of the packet
    /// about to be pushed or ticked, whichever worker owns its flow.
    pub fn set_clock(&mut self, n: u64) {
        self.clock = Some(n);
    }

    /// Sharded runs: where to note the [`Origin`] of each emission.
    pub fn set_origin(&mut self, cell: Arc<OriginCell>) {
        self.origin = Some(cell);
    }

    fn note(&self, phase: u8, a: u64, b: u64) {
        if let Some(o) = &self.origin {
            o.set(phase, a, b);
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
        self.index.len()
    }

    /// Out-of-order bytes buffered right now (with per-piece overhead).
    pub fn buffered(&self) -> usize {
        self.total_buffered
    }

    /// Distinct tracked tunnel identities and tunnel stacks held right now.
    pub fn interned(&self) -> (usize, usize) {
        (self.tunnels.len(), self.stacks.len())
    }

    /// The slot of the flow with this tuple and tunnel id.
    fn lookup(&self, hash: u64, tuple: &Tuple, tun: u32) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |&s| {
                slots
                    .get(s as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|f| f.hash == hash && f.tun == tun && f.tuple == *tuple)
            })
            .copied()
    }

    /// Takes one TCP segment; writes whatever it completes to `out`.
    pub fn push(&mut self, pkt: &Packet<'_>, out: &mut dyn FnMut(Record<'_>)) {
        self.stats.packets += 1;
        let now = match self.now {
            Some(n) if n > pkt.ts => n,
            _ => pkt.ts,
        };
        self.flush_idle(now, out);
        self.note(Origin::PACKET, 0, 0);
        let (key, side) = FlowKey::of(pkt, self.cfg.track);
        let tuple = key.tuple();
        let f = pkt.tcp.flags;
        let syn_only = f.has(TcpFlags::SYN) && !f.has(TcpFlags::ACK);
        let hashed = self
            .tunnels
            .get(&key.tun)
            .map(|tun| (tun, tuple.index_hash(tun, &self.hasher)));
        let found = hashed.and_then(|(tun, hash)| self.lookup(hash, &tuple, tun));
        let slot = match found {
            None => {
                if f.has(TcpFlags::RST) {
                    self.stats.ignored_rst += 1;
                    return;
                }
                self.create(&key, side, pkt, None, hashed, out)
            }
            Some(s) => {
                let Some(flow) = self.flow(s) else { return };
                let isn_differs =
                    flow.syn_conflicts(side, SeqNum(pkt.tcp.seq).plus(1), self.cfg.window);
                if flow.closed {
                    if !syn_only {
                        self.stats.after_close += 1;
                        return;
                    }
                    self.create(&key, side, pkt, Some(s), hashed, out)
                } else if syn_only && isn_differs {
                    if !flow.hdr.fin_seen {
                        self.stats.syn_mismatch += 1;
                        return;
                    }
                    self.close(s, Reason::Fin, pkt.ts, out);
                    self.create(&key, side, pkt, Some(s), hashed, out)
                } else {
                    s
                }
            }
        };
        self.process(slot, side, pkt, out);
    }

    /// A packet of another worker's flow went by (sharded runs): time moves
    /// on exactly as [`push`](Self::push) would move it.
    pub fn tick(&mut self, ts: Ts, out: &mut dyn FnMut(Record<'_>)) {
        let now = match self.now {
            Some(n) if n > ts => n,
            _ => ts,
        };
        self.flush_idle(now, out);
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
            let before = flow.buffered();
            let Flow {
                tuple,
                hdr,
                streams: Some(streams),
                ..
            } = flow
            else {
                continue;
            };
            let Some(stream) = streams.get_mut(usize::from(s)) else {
                continue;
            };
            if hdr.serial != serial || stream.deadline != Some(due) {
                continue;
            }
            stream.deadline = None;
            if let Some(o) = &self.origin {
                let due_ns = u64::try_from(due.as_nanos()).unwrap_or(0);
                o.set(
                    Origin::DEADLINE,
                    due_ns,
                    serial.wrapping_mul(2) | u64::from(s),
                );
            }
            let side = if s == 0 { Side::A } else { Side::B };
            let mut em = Emitter {
                tuple,
                hdr,
                stacks: &mut self.stacks,
                name: &mut self.name,
                tally: Tally::default(),
                out: &mut *out,
            };
            let stats = &mut self.stats;
            on_side(streams, side, &mut em, due, |st, emit| {
                if st.hold.is_some() {
                    st.commit(emit);
                } else {
                    st.force_gap(stats, emit);
                }
            });
            let tally = em.tally;
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
            self.note(Origin::IDLE, flow.touch, 0);
            self.close(head, Reason::Timeout, due, out);
        }
        while self.closed.head != NIL {
            let head = self.closed.head;
            let Some(closed) = self.flow(head).map(|f| f.hdr.last_ts) else {
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
            let both_fin = flow
                .streams
                .as_ref()
                .is_some_and(|s| s.iter().all(|s| s.fin_off.is_some()));
            let reason = if both_fin { Reason::Fin } else { Reason::Eof };
            let ts = flow.hdr.last_ts;
            self.note(Origin::FINISH, flow.touch, 0);
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
        let (prev, next, closed) = (f.prev, f.next, f.closed);
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
        let closed = f.closed;
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
            if let Ok(entry) = self.index.find_entry(flow.hash, |&s| s == slot) {
                entry.remove();
            }
            self.tunnels.release(flow.tun);
            self.stacks.release(flow.hdr.stack);
            self.free.push(slot);
        }
    }

    /// A new flow for `key`, replacing `old` (the slot holding the same key,
    /// if any); `hashed` is the key's tunnel id and hash if already known.
    fn create(
        &mut self,
        key: &FlowKey,
        side: Side,
        pkt: &Packet<'_>,
        old: Option<u32>,
        hashed: Option<(u32, u64)>,
        out: &mut dyn FnMut(Record<'_>),
    ) -> u32 {
        let tuple = key.tuple();
        if let Some(old) = old {
            self.remove(old);
        }
        let cap = self.cfg.max_flows.max(1);
        while self.index.len() >= cap {
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
        // Interned after the evictions above, which may release ids.
        let tun = self.tunnels.acquire(&key.tun, || key.tun);
        let stack = self
            .stacks
            .acquire(&pkt.tunnel[..], || pkt.tunnel.to_vec().into_boxed_slice());
        let hash = match hashed {
            Some((t, h)) if t == tun => h,
            _ => tuple.index_hash(tun, &self.hasher),
        };
        self.serial = self.clock.unwrap_or(self.serial + 1);
        let server = server_by_port(key.pa, key.pb, side.other());
        let flow = Flow {
            hash,
            tuple,
            tun,
            hdr: Hdr {
                serial: self.serial,
                id: key.flow_id(pkt.ts),
                first_ts: pkt.ts,
                last_ts: pkt.ts,
                client: server.other(),
                roles: Roles::Port,
                opened: false,
                fin_seen: false,
                stack,
            },
            pre: [Pre::None; 2],
            streams: None,
            prev: NIL,
            next: NIL,
            touch: 0,
            closed: false,
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
        let slots = &self.slots;
        self.index.insert_unique(hash, slot, |&s| {
            slots
                .get(s as usize)
                .and_then(Option::as_ref)
                .map_or(0, |f| f.hash)
        });
        self.link_tail(slot);
        self.stats.flows += 1;
        self.stats.peak_flows = self.stats.peak_flows.max(self.index.len() as u64);
        slot
    }

    /// Marks activity: last packet time, LRU position, buffering order.
    fn touch(&mut self, slot: u32, ts: Ts) {
        self.touch = self.clock.unwrap_or(self.touch + 1);
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
        // Times outside 1678-2262 do not fit: such packets are not filtered.
        let Ok(at) = i64::try_from(pkt.ts.as_nanos()) else {
            return false;
        };
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
            && at.abs_diff(e.at) <= window
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
            at,
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
        let me = side.idx();
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
            let peer = side.other().idx();
            let rebased = self.flow_mut(slot).is_some_and(|flow| {
                // Only SYNs seen so far: the client side holds its start in `pre`.
                if flow.streams.is_some() {
                    return false;
                }
                match flow.pre.get_mut(peer) {
                    Some(p @ Pre::Syn(_)) if *p != Pre::Syn(acked) => {
                        *p = Pre::Syn(acked);
                        true
                    }
                    _ => false,
                }
            });
            self.stats.syn_rebased += u64::from(rebased);
        }
        let Some(flow) = self.flow_mut(slot) else {
            return;
        };
        let before = flow.buffered();
        if syn {
            // Roles are final once anything of the flow was written.
            if !flow.hdr.opened {
                flow.hdr.client = if ack { side.other() } else { side };
                flow.hdr.roles = Roles::Handshake;
            }
            match flow.pre.get_mut(me) {
                Some(p @ (Pre::None | Pre::Hint(_))) if flow.streams.is_none() => {
                    *p = Pre::Syn(seq.plus(1));
                }
                _ => {
                    self.on_stream(slot, side, ts, out, |st, _, emit| {
                        st.on_syn(seq.plus(1), window, emit)
                    });
                }
            }
        }
        let Some(flow) = self.flow_mut(slot) else {
            return;
        };
        if rst {
            if flow.in_window(side, seq, window) {
                self.close(slot, Reason::Rst, ts, out);
            } else {
                self.stats.ignored_rst += 1;
            }
            return;
        }
        if ack {
            let a = SeqNum(pkt.tcp.ack);
            if flow.ack_matters(side.other(), a, window) {
                self.on_stream(slot, side.other(), ts, out, |st, stats, emit| {
                    st.on_peer_ack(a, ts, window, stats, emit)
                });
            }
        }
        let Some(flow) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
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
        if !payload.is_empty() || fin {
            if let Some(st) = flow.streams_mut().get_mut(me) {
                st.begin(dseq, ts, window, &mut self.stats);
            }
        }
        let need = if !payload.is_empty()
            && flow
                .stream(side)
                .is_some_and(|st| st.would_buffer(dseq, payload.len(), window))
        {
            payload.len() + SEG_OVERHEAD
        } else {
            0
        };
        let can_buffer = need == 0 || self.make_room(slot, need, ts, out);
        if !payload.is_empty() {
            let lim = Limits {
                policy: self.cfg.overlap,
                window,
                max_ooo: self.cfg.max_ooo,
                can_buffer,
                hold_segs: self.cfg.start_segments.max(1),
            };
            self.on_stream(slot, side, ts, out, |st, stats, emit| {
                st.segment(dseq, payload, ts, &lim, stats, emit)
            });
        }
        let Some(flow) = self.flow_mut(slot) else {
            return;
        };
        if fin {
            flow.hdr.fin_seen = true;
            if let Some(st) = flow.streams_mut().get_mut(me) {
                st.set_fin(dseq.plus(payload.len() as u32), window);
            }
        }
        self.after_change(slot, before);
        if self.flow(slot).is_some_and(Flow::finished) {
            self.close(slot, Reason::Fin, ts, out);
        }
    }

    /// Runs `op` on a direction's stream (allocating the flow's streams if
    /// need be), writing what it hands out.
    fn on_stream<'p, R>(
        &mut self,
        slot: u32,
        side: Side,
        ts: Ts,
        out: &mut dyn FnMut(Record<'_>),
        op: impl FnOnce(&mut Stream, &mut Stats, &mut dyn FnMut(Ev<'p>)) -> R,
    ) -> Option<R> {
        let flow = self.slots.get_mut(slot as usize).and_then(Option::as_mut)?;
        flow.streams_mut();
        let Flow {
            tuple,
            hdr,
            streams: Some(streams),
            ..
        } = flow
        else {
            return None;
        };
        let mut em = Emitter {
            tuple,
            hdr,
            stacks: &mut self.stacks,
            name: &mut self.name,
            tally: Tally::default(),
            out,
        };
        let stats = &mut self.stats;
        let r = on_side(streams, side, &mut em, ts, |st, emit| op(st, stats, emit));
        let tally = em.tally;
        self.add_tally(tally);
        Some(r)
    }

    /// Bookkeeping after a flow's buffers changed: the total, the buffering
    /// order and the hole deadlines.
    fn after_change(&mut self, slot: u32, before: usize) {
        let (gap_timeout, ack_grace, hold) = (
            self.cfg.gap_timeout,
            self.cfg.ack_grace,
            self.cfg.start_hold,
        );
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
        let Some(streams) = flow.streams.as_mut() else {
            return;
        };
        for (s, stream) in streams.iter_mut().enumerate() {
            let want = stream.desired_deadline(gap_timeout, ack_grace, hold);
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
        if flow.closed {
            return;
        }
        let before = flow.buffered();
        let touch = flow.touch;
        let Flow {
            tuple,
            hdr,
            streams,
            ..
        } = flow;
        let client = hdr.client;
        let serial = hdr.serial;
        let mut em = Emitter {
            tuple,
            hdr,
            stacks: &mut self.stacks,
            name: &mut self.name,
            tally: Tally::default(),
            out,
        };
        let mut bytes = [0u64; 2];
        if let Some(streams) = streams.as_mut() {
            for side in [client, client.other()] {
                let stats = &mut self.stats;
                on_side(streams, side, &mut em, ts, |st, emit| {
                    st.close(window, stats, emit);
                });
            }
            for (s, stream) in streams.iter_mut().enumerate() {
                if let Some(d) = stream.deadline.take() {
                    self.deadlines.remove(&(d, serial, s as u8));
                }
            }
            bytes = [streams[0].data_bytes, streams[1].data_bytes];
        }
        em.open();
        (em.out)(Record::Conn(Conn {
            event: ConnEvent::Close,
            ts,
            flow: flow_str(em.hdr.id),
            community_id: None,
            client: None,
            server: None,
            tunnel: None,
            midstream: None,
            reason: Some(reason.as_str().to_string()),
            bytes_c2s: bytes.get(client.idx()).copied(),
            bytes_s2c: bytes.get(client.other().idx()).copied(),
        }));
        let tally = em.tally;
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
                    flow.closed = true;
                    flow.hdr.last_ts = ts;
                    flow.streams = None;
                    flow.pre = [Pre::None; 2];
                }
                self.link_tail(slot);
            }
            Reason::Timeout | Reason::Evicted | Reason::Eof => self.remove(slot),
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// What a half-open flow costs: its slab slot, nothing on the heap.
    #[test]
    fn a_flow_slot_stays_small() {
        let size = std::mem::size_of::<Option<Flow>>();
        assert!(size <= 160, "Option<Flow> is {size} bytes");
    }
}
