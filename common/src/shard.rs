//! Sharded runs: every core works, and the output is the single-threaded one.
//!
//! The reading thread decodes frames (decapsulation and IP defragmentation
//! stay in one place, in input order) and numbers the TCP packets that come
//! out 1, 2, 3, ... Packets go to the workers in batches that every worker
//! sees: a worker pushes the packets of its own flows (picked by
//! [`FlowKey::shard_hash`], the same for both directions and every tunnel a
//! flow is tracked through) through its reassembler, HTTP parser and the
//! per-request half of detection ([`Detector::analyze`]); for every other
//! packet it only advances its packet clock, so timeouts fire at the same
//! packet as they would in one thread.
//!
//! Each record a worker emits is keyed by (packet number, [`Origin`], worker
//! sequence): the packet whose handling emitted it, and within that packet
//! the order a single reassembler would have used among all flows (holes by
//! due time and flow, idle closes and end-of-input closes by last activity).
//! The reading thread merges the workers' records by that key, runs the
//! stateful rest (behaviour over time, one report per vulnerability, the
//! inventory) through the same [`Chain`] code, and writes.
//!
//! So for file input the output is byte for byte that of one thread at any
//! thread count — except when a cap is hit: flow, buffer and HTTP-flow caps
//! are per worker (the configured cap divided by the thread count), and which
//! flow a full table evicts depends on what else that worker holds.

use std::collections::VecDeque;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{anyhow, Context};

use crate::cli::Summary;
use crate::decap::FrameIn;
use crate::detect::{Analysis, Detector};
use crate::discover::{DiscoverConfig, Prepared};
use crate::http::HttpParser;
use crate::pipeline::{Chain, ChainConfig, Level};
use crate::reassemble::{FlowKey, Origin, OriginCell, Reassembler, TrackSet};
use crate::record::{Data, Http, IpInfo, Packet, Record, TcpInfo, Tunnel};
use crate::time::Ts;

/// Packets per batch at most. Small enough that what the batches in flight
/// hold (their payloads, and the records the workers make of them) stays
/// in the caches: at 1024 packets and 1 MiB a batch, two threads on two
/// cores ran 20 % slower and used 25 % more CPU than at 256 and 256 KiB.
const BATCH_PACKETS: usize = 256;
/// Payload bytes per batch at most (a batch closes at whichever comes first).
const BATCH_BYTES: usize = 256 << 10;
/// Batches sent and not yet merged, at most: bounds the memory in flight.
const IN_FLIGHT: u64 = 8;

/// One decoded packet of a batch; its bytes live in the batch's arenas.
#[derive(Debug, Clone, Copy)]
struct Meta {
    ts: Ts,
    index: u64,
    src: u32,
    tunnel: (u32, u32),
    ip: IpInfo,
    tcp: TcpInfo,
    payload: (u32, u32),
    shard: u32,
}

/// Packets numbered `first..`, shared by every worker.
#[derive(Debug, Default)]
struct Batch {
    first: u64,
    names: Vec<String>,
    tunnels: Vec<Tunnel>,
    payload: Vec<u8>,
    metas: Vec<Meta>,
}

impl Batch {
    /// Empties the batch, keeping its buffers for the next one.
    fn clear(&mut self) {
        self.first = 0;
        self.names.clear();
        self.tunnels.clear();
        self.payload.clear();
        self.metas.clear();
    }

    fn packet(&self, m: &Meta) -> Packet<'_> {
        let range = |(a, b): (u32, u32)| a as usize..b as usize;
        Packet {
            ts: m.ts,
            src: self
                .names
                .get(m.src as usize)
                .map_or("", String::as_str)
                .into(),
            index: m.index,
            tunnel: self.tunnels.get(range(m.tunnel)).unwrap_or(&[]).into(),
            ip: m.ip,
            tcp: m.tcp,
            payload: self.payload.get(range(m.payload)).unwrap_or(&[]).into(),
        }
    }

    /// An empty batch with room for a full one (a packet's payload may
    /// take it past [`BATCH_BYTES`]), so filling it never regrows it.
    fn with_room() -> Batch {
        Batch {
            payload: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
            metas: Vec::with_capacity(BATCH_PACKETS),
            ..Batch::default()
        }
    }

    fn full(&self) -> bool {
        self.metas.len() >= BATCH_PACKETS || self.payload.len() >= BATCH_BYTES
    }
}

/// Prepared parts a worker keeps for reuse, at most.
const MAX_SPARE: usize = 256;
/// Spent transactions held for one worker between batches, at most.
const MAX_BACK: usize = 4096;

/// A transaction the inventory is done with, with its prepared part (when
/// the worker prepared it).
type Spent = (Box<Http>, Option<Box<Prepared>>);

/// What the reading thread sends a worker.
enum ToWorker {
    /// A batch, and transactions this worker made that the inventory is
    /// done with: freed where they were allocated, their documents reused.
    Batch(Arc<Batch>, Vec<Spent>),
    Finish,
    /// After the end of input: the last spent transactions, to free.
    Spent(Vec<Spent>),
}

/// The merge key of a worker's record.
type Key = (u64, Origin, u64);

/// A record a worker emitted.
enum Item {
    Stream(Box<Record<'static>>),
    /// A transaction, its analysis and prepared part, and the worker that
    /// made it (where it goes back to).
    Tx(Box<Http>, Option<Analysis>, Option<Box<Prepared>>, usize),
}

/// A worker's records for one batch (or, `last`, for the end of input).
struct Chunk {
    worker: usize,
    items: Vec<(Key, Item)>,
    /// The worker's reassembly and HTTP summaries: with the last chunk, and
    /// about once a second before (for metrics).
    sums: Option<Sums>,
    last: bool,
    /// The worker panicked (a bug): the run cannot go on.
    failed: bool,
}

type Sums = (Summary, Option<Summary>);

/// A worker's stages.
struct Worker {
    id: usize,
    reassemble: Reassembler,
    after: After,
}

/// What follows reassembly on a worker: HTTP, the per-request half of
/// detection, the inventory's per-transaction parsing, and the merge key of
/// everything emitted.
struct After {
    http: Option<HttpParser>,
    detect: Option<Detector>,
    discover: Option<DiscoverConfig>,
    /// Prepared parts back from the reading thread, to prepare into (boxed:
    /// the boxes that carry them to the reading thread are reused too).
    #[allow(clippy::vec_box)]
    spare: Vec<Box<Prepared>>,
    /// The worker's number, which its transactions carry home.
    home: usize,
    origin: Arc<OriginCell>,
    seq: u64,
}

impl After {
    /// The HTTP parser, the merge sequence and the per-transaction work,
    /// borrowed apart so the parser's callback can use the other two.
    fn parts(&mut self) -> (&mut Option<HttpParser>, &mut u64, Ahead<'_>) {
        let ahead = Ahead {
            detect: &mut self.detect,
            discover: self.discover.as_ref(),
            spare: &mut self.spare,
            home: self.home,
        };
        (&mut self.http, &mut self.seq, ahead)
    }

    /// Carries one reassembler record, emitted while handling packet `g`, on
    /// through HTTP and detection, keyed for the merge.
    fn take(&mut self, g: u64, rec: Record<'_>, items: &mut Vec<(Key, Item)>) {
        let o = self.origin.get();
        let (http, seq, mut ahead) = self.parts();
        match http {
            None => {
                if let Some(rec) = owned(rec) {
                    *seq += 1;
                    items.push(((g, o, *seq), Item::Stream(Box::new(rec))));
                }
            }
            Some(h) => h.push_boxed(&rec, &mut |t| ahead.take((g, o), seq, t, items)),
        }
    }

    /// End of input: the transactions of flows the reassembler never closed
    /// (none from a capture), keyed after everything else with origin `o`.
    fn finish_http(&mut self, o: Origin, items: &mut Vec<(Key, Item)>) {
        let (http, seq, mut ahead) = self.parts();
        if let Some(h) = http {
            h.finish_boxed(&mut |t| ahead.take((u64::MAX, o), seq, t, items));
        }
    }
}

/// The per-transaction work a worker does ahead of the reading thread.
struct Ahead<'a> {
    detect: &'a mut Option<Detector>,
    discover: Option<&'a DiscoverConfig>,
    #[allow(clippy::vec_box)]
    spare: &'a mut Vec<Box<Prepared>>,
    home: usize,
}

impl Ahead<'_> {
    /// A transaction with its per-request analysis and its inventory
    /// preparation, keyed for the merge.
    fn take(
        &mut self,
        (g, o): (u64, Origin),
        seq: &mut u64,
        t: Box<Http>,
        items: &mut Vec<(Key, Item)>,
    ) {
        let a = self.detect.as_mut().map(|d| d.analyze(&t));
        let p = self.discover.map(|cfg| {
            let mut p = self.spare.pop().unwrap_or_default();
            crate::discover::prepare_into(cfg, &t, &mut p);
            p
        });
        *seq += 1;
        items.push(((g, o, *seq), Item::Tx(t, a, p, self.home)));
    }
}

/// How often a worker reports its counters while running.
const SUMS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Worker {
    fn sums(&self) -> Sums {
        (
            crate::reassemble::driver::summary(self.reassemble.stats()),
            self.after
                .http
                .as_ref()
                .map(|h| crate::http::driver::summary(h.stats())),
        )
    }

    /// Works until the end of input; a panic (a bug) is reported to the
    /// reading thread instead of leaving it waiting for this worker forever.
    fn run(self, rx: Receiver<ToWorker>, tx: Sender<Chunk>) {
        let id = self.id;
        let back = tx.clone();
        let worked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            self.work(rx, tx);
        }));
        if worked.is_err() {
            let _ = back.send(Chunk {
                worker: id,
                items: vec![],
                sums: None,
                last: false,
                failed: true,
            });
        }
    }

    fn work(mut self, rx: Receiver<ToWorker>, tx: Sender<Chunk>) {
        let mut reported = std::time::Instant::now();
        for msg in rx {
            match msg {
                ToWorker::Batch(b, spent) => {
                    for (h, p) in spent {
                        // Refilled by the HTTP parser instead of freed.
                        if let Some(http) = &mut self.after.http {
                            http.recycle_boxed(h);
                        }
                        if let Some(p) = p.filter(|p| p.reusable()) {
                            if self.after.spare.len() < MAX_SPARE {
                                self.after.spare.push(p);
                            }
                        }
                    }
                    let mut items = vec![];
                    for (i, m) in b.metas.iter().enumerate() {
                        let g = b.first + i as u64;
                        self.reassemble.set_clock(g);
                        let pkt = b.packet(m);
                        let Worker {
                            id,
                            reassemble,
                            after,
                        } = &mut self;
                        let mut emit = |rec: Record<'_>| after.take(g, rec, &mut items);
                        if m.shard as usize == *id {
                            reassemble.push(&pkt, &mut emit);
                        } else {
                            reassemble.tick(pkt.ts, &mut emit);
                        }
                    }
                    // Let go of the batch before answering, so the reading
                    // thread gets it back whole once every worker answered.
                    drop(b);
                    let sums = (reported.elapsed() >= SUMS_EVERY).then(|| {
                        reported = std::time::Instant::now();
                        self.sums()
                    });
                    let chunk = Chunk {
                        worker: self.id,
                        items,
                        sums,
                        last: false,
                        failed: false,
                    };
                    if tx.send(chunk).is_err() {
                        return;
                    }
                }
                ToWorker::Finish => {
                    let mut items = vec![];
                    let Worker {
                        id,
                        reassemble,
                        after,
                    } = &mut self;
                    reassemble.finish(&mut |rec| after.take(u64::MAX, rec, &mut items));
                    let o = Origin {
                        phase: Origin::FINISH + 1,
                        a: *id as u64,
                        b: 0,
                    };
                    after.finish_http(o, &mut items);
                    let _ = tx.send(Chunk {
                        worker: self.id,
                        items,
                        sums: Some(self.sums()),
                        last: true,
                        failed: false,
                    });
                    // Stay until the reading thread hung up: it sends the
                    // last spent transactions back to be freed here.
                }
                ToWorker::Spent(spent) => drop(spent),
            }
        }
    }
}

/// A reassembler record that owns its bytes.
fn owned(rec: Record<'_>) -> Option<Record<'static>> {
    Some(match rec {
        Record::Conn(c) => Record::Conn(c),
        Record::Gap(g) => Record::Gap(g),
        Record::Data(d) => Record::Data(Data {
            ts: d.ts,
            flow: d.flow.into_owned().into(),
            dir: d.dir,
            off: d.off,
            data: d.data.into_owned().into(),
        }),
        _ => return None,
    })
}

/// A chain whose reassembly and HTTP parsing run on `threads` workers.
pub struct Sharded {
    /// Decapsulation before, and the stateful stages after, the workers.
    chain: Chain,
    track: TrackSet,
    threads: usize,
    to_workers: Vec<Sender<ToWorker>>,
    from_workers: Receiver<Chunk>,
    handles: Vec<JoinHandle<()>>,
    pending: Vec<VecDeque<Chunk>>,
    batch: Batch,
    /// Batches sent and not yet merged, oldest first: merged, they come back
    /// to `spare` (their buffers reused instead of allocated and faulted in
    /// anew for every batch).
    out: VecDeque<Arc<Batch>>,
    spare: Vec<Batch>,
    /// Per worker, transactions it made that the inventory is done with,
    /// to go back with the next batch.
    back: Vec<Vec<Spent>>,
    next_packet: u64,
    sent: u64,
    merged: u64,
    /// Each worker's latest summaries.
    worker_sums: Vec<Option<Sums>>,
    finished: usize,
}

/// Where the inventory's per-transaction parsing ([`crate::discover::prepare`])
/// runs in a sharded run. The output is the same either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepare {
    /// On the worker that parsed the transaction: the reading thread does
    /// less, at the cost of carrying the prepared part over and back.
    Workers,
    /// On the reading thread, as one thread would.
    Reader,
}

impl Prepare {
    /// On the workers when a core is left for them beside the reading
    /// thread (`threads` < the cores available); else the workers and the
    /// reading thread share the cores, and the carrying is pure cost.
    pub fn auto(threads: usize) -> Prepare {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if threads < cores {
            Prepare::Workers
        } else {
            Prepare::Reader
        }
    }
}

impl Sharded {
    /// Starts `threads` (≥ 1) workers for a chain up to `target` (streams or
    /// beyond), preparing for the inventory where [`Prepare::auto`] says.
    pub fn new(target: Level, cfg: ChainConfig, threads: usize) -> anyhow::Result<Sharded> {
        Sharded::with_prepare(target, cfg, threads, Prepare::auto(threads))
    }

    /// [`Sharded::new`] with the inventory's preparation where `prepare` says.
    pub fn with_prepare(
        target: Level,
        mut cfg: ChainConfig,
        threads: usize,
        prepare: Prepare,
    ) -> anyhow::Result<Sharded> {
        let threads = threads.max(1);
        let track = cfg.reassemble.track;
        let n = threads;
        let mut wcfg = cfg.clone();
        wcfg.reassemble.max_flows = (cfg.reassemble.max_flows / n).max(1);
        wcfg.reassemble.max_buffered = (cfg.reassemble.max_buffered / n).max(1);
        wcfg.http.max_flows = (cfg.http.max_flows / n).max(1);
        let (back, from_workers) = mpsc::channel();
        let mut to_workers = vec![];
        let mut handles = vec![];
        for id in 0..threads {
            let (tx, rx) = mpsc::channel();
            let origin = Arc::new(OriginCell::default());
            let mut reassemble = Reassembler::new(wcfg.reassemble.clone());
            reassemble.set_origin(origin.clone());
            let worker = Worker {
                id,
                reassemble,
                after: After {
                    http: (target >= Level::Http).then(|| HttpParser::new(wcfg.http.clone())),
                    detect: (target == Level::Detect
                        || (target == Level::Inventory && cfg.discover.detect))
                        .then(|| Detector::new(wcfg.detect.clone())),
                    discover: (target == Level::Inventory && prepare == Prepare::Workers)
                        .then(|| wcfg.discover.clone()),
                    spare: vec![],
                    home: id,
                    origin,
                    seq: 0,
                },
            };
            let back = back.clone();
            let handle = std::thread::Builder::new()
                .name(format!("tw-worker-{id}"))
                .spawn(move || worker.run(rx, back))
                .context("starting a worker thread")?;
            to_workers.push(tx);
            handles.push(handle);
        }
        // The reading thread's chain only decodes and concludes.
        cfg.reassemble.max_flows = 1;
        Ok(Sharded {
            chain: Chain::new(target, cfg),
            track,
            threads,
            to_workers,
            from_workers,
            handles,
            pending: (0..threads).map(|_| VecDeque::new()).collect(),
            batch: Batch::with_room(),
            out: VecDeque::new(),
            spare: vec![],
            back: (0..threads).map(|_| vec![]).collect(),
            next_packet: 1,
            sent: 0,
            merged: 0,
            worker_sums: (0..threads).map(|_| None).collect(),
            finished: 0,
        })
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Batches sent to the workers and not yet merged (a queue depth).
    pub fn in_flight(&self) -> u64 {
        self.sent - self.merged
    }

    /// The reading thread's chain (decoding, the stateful stages, the inventory).
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Decodes one frame; its packets join the batch, and full batches go out.
    pub fn push_frame(
        &mut self,
        frame: &FrameIn<'_>,
        emit: &mut dyn FnMut(Record<'_>),
    ) -> anyhow::Result<()> {
        let Sharded {
            chain,
            track,
            threads,
            batch,
            next_packet,
            ..
        } = self;
        chain.decap_only(frame, &mut |p| {
            add(batch, p, *track, *threads);
            *next_packet += 1;
        });
        if self.batch.full() {
            self.send_batch(emit)?;
        }
        Ok(())
    }

    /// Sends what the batch holds (a live source calls this when it goes idle).
    pub fn send_batch(&mut self, emit: &mut dyn FnMut(Record<'_>)) -> anyhow::Result<()> {
        if self.batch.metas.is_empty() {
            return Ok(());
        }
        while self.sent - self.merged >= IN_FLIGHT {
            self.receive(true, emit)?;
        }
        let first = self.next_packet - self.batch.metas.len() as u64;
        let next = self.spare.pop().unwrap_or_else(Batch::with_room);
        let mut batch = std::mem::replace(&mut self.batch, next);
        batch.first = first;
        let batch = Arc::new(batch);
        for (tx, back) in self.to_workers.iter().zip(&mut self.back) {
            tx.send(ToWorker::Batch(batch.clone(), std::mem::take(back)))
                .map_err(|_| anyhow!("a worker thread ended early"))?;
        }
        self.out.push_back(batch);
        self.sent += 1;
        while self.receive(false, emit)? {}
        Ok(())
    }

    /// Takes one chunk from the workers (waiting for it when `wait`) and
    /// merges every batch all workers have answered. False when none was ready.
    fn receive(&mut self, wait: bool, emit: &mut dyn FnMut(Record<'_>)) -> anyhow::Result<bool> {
        let chunk = if wait {
            match self.from_workers.recv() {
                Ok(c) => c,
                Err(_) => return Err(self.worker_failure()),
            }
        } else {
            match self.from_workers.try_recv() {
                Ok(c) => c,
                Err(mpsc::TryRecvError::Empty) => return Ok(false),
                Err(mpsc::TryRecvError::Disconnected) => return Err(self.worker_failure()),
            }
        };
        if chunk.failed {
            return Err(anyhow!(
                "worker thread {} failed (a bug; its panic message is above)",
                chunk.worker
            ));
        }
        if let Some(q) = self.pending.get_mut(chunk.worker) {
            q.push_back(chunk);
        }
        while self.pending.iter().all(|q| !q.is_empty()) {
            let mut lists = Vec::with_capacity(self.pending.len());
            let mut last = false;
            for q in &mut self.pending {
                if let Some(mut c) = q.pop_front() {
                    // A worker emits in key order; sorting is only a guard.
                    if !c.items.is_sorted_by_key(|(k, _)| *k) {
                        c.items.sort_unstable_by_key(|(k, _)| *k);
                    }
                    lists.push(c.items.into_iter().peekable());
                    if let (Some(s), Some(slot)) = (c.sums, self.worker_sums.get_mut(c.worker)) {
                        *slot = Some(s);
                    }
                    if c.last {
                        self.finished += 1;
                        last = true;
                    }
                }
            }
            // Merged by key: each item is moved once, where sorting the
            // lists joined moved every one several times.
            while let Some(item) = next_in_order(&mut lists) {
                match item {
                    Item::Stream(rec) => emit(*rec),
                    Item::Tx(t, a, p, home) => {
                        self.chain.push_analyzed(t, a, p, home, emit);
                        let back = &mut self.back;
                        self.chain.take_spent(&mut |(h, p, home)| {
                            if let Some(v) = back.get_mut(home).filter(|v| v.len() < MAX_BACK) {
                                v.push((h, p));
                            }
                        });
                    }
                }
            }
            if !last {
                self.merged += 1;
                // Every worker answered for the oldest batch and let go of it.
                if let Some(Ok(mut b)) = self.out.pop_front().map(Arc::try_unwrap) {
                    // Kept up to the batches in flight: a new batch is
                    // made only when every one is out.
                    if self.spare.len() < IN_FLIGHT as usize {
                        b.clear();
                        self.spare.push(b);
                    }
                }
            }
        }
        Ok(true)
    }

    fn worker_failure(&mut self) -> anyhow::Error {
        for h in self.handles.drain(..) {
            if h.join().is_err() {
                return anyhow!("a worker thread panicked");
            }
        }
        anyhow!("the worker threads ended early")
    }

    /// End of input: the last batch, every worker's flows, the inventory.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Record<'_>)) -> anyhow::Result<()> {
        self.send_batch(emit)?;
        for tx in &self.to_workers {
            tx.send(ToWorker::Finish)
                .map_err(|_| anyhow!("a worker thread ended early"))?;
        }
        while self.finished < self.threads {
            self.receive(true, emit)?;
        }
        self.chain.finish_after_workers(emit);
        // What the inventory learned last goes home to be freed (memory a
        // thread allocated is cheapest to free on it).
        let back = &mut self.back;
        self.chain.take_spent(&mut |(h, p, home)| {
            if let Some(v) = back.get_mut(home) {
                v.push((h, p));
            }
        });
        for (tx, back) in self.to_workers.iter().zip(&mut self.back) {
            let _ = tx.send(ToWorker::Spent(std::mem::take(back)));
        }
        self.to_workers.clear();
        for h in self.handles.drain(..) {
            h.join().map_err(|_| anyhow!("a worker thread panicked"))?;
        }
        Ok(())
    }

    /// One summary per stage, upstream first (reassembly and HTTP added up
    /// over the workers, as far as they have reported).
    pub fn summaries(&self) -> Vec<(&'static str, Summary)> {
        let mut reasm: Option<Summary> = None;
        let mut http: Option<Summary> = None;
        for (r, h) in self.worker_sums.iter().flatten() {
            reasm.get_or_insert_with(Summary::new).absorb(r);
            if let Some(h) = h {
                http.get_or_insert_with(Summary::new).absorb(h);
            }
        }
        self.chain
            .all_summaries()
            .into_iter()
            .map(|(stage, s)| match stage {
                "reassemble" => (stage, reasm.clone().unwrap_or(s)),
                "http" => (stage, http.clone().unwrap_or(s)),
                _ => (stage, s),
            })
            .collect()
    }
}

impl Drop for Sharded {
    fn drop(&mut self) {
        // Dropping the senders ends the workers' loops.
        self.to_workers.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// The item with the lowest key at the head of `lists` (each in key
/// order), taken off; `None` when all are empty. Keys are unique (the
/// sequence is per worker, the origin names the flow).
fn next_in_order<T, I: Iterator<Item = (Key, T)>>(
    lists: &mut [std::iter::Peekable<I>],
) -> Option<T> {
    let mut best: Option<(usize, Key)> = None;
    for (i, l) in lists.iter_mut().enumerate() {
        if let Some(&(k, _)) = l.peek() {
            if best.is_none_or(|(_, b)| k < b) {
                best = Some((i, k));
            }
        }
    }
    let (i, _) = best?;
    lists.get_mut(i)?.next().map(|(_, item)| item)
}

/// Copies one decoded packet into the batch, with the worker its flow belongs to.
fn add(batch: &mut Batch, p: &Packet<'_>, track: TrackSet, threads: usize) {
    let (key, _) = FlowKey::of(p, track);
    let shard = (key.shard_hash() % threads as u64) as u32;
    let src = match batch.names.iter().rposition(|n| n == &*p.src) {
        Some(i) => i as u32,
        None => {
            batch.names.push(p.src.to_string());
            (batch.names.len() - 1) as u32
        }
    };
    let t0 = batch.tunnels.len() as u32;
    batch.tunnels.extend_from_slice(&p.tunnel);
    let p0 = batch.payload.len() as u32;
    batch.payload.extend_from_slice(&p.payload);
    batch.metas.push(Meta {
        ts: p.ts,
        index: p.index,
        src,
        tunnel: (t0, batch.tunnels.len() as u32),
        ip: p.ip,
        tcp: p.tcp,
        payload: (p0, batch.payload.len() as u32),
        shard,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{open_input, Input};
    use proptest::prelude::*;

    proptest! {
        /// Merging the workers' lists gives what sorting them joined gave:
        /// every item once, in key order (keys unique, lists in order).
        #[test]
        fn merging_in_order_is_sorting(
            keys in proptest::collection::btree_set((0u64..40, 0u8..4, 0u64..6, 0u64..6), 0..200),
            workers in 1usize..6,
            picks in proptest::collection::vec(0usize..6, 200),
        ) {
            let mut lists: Vec<Vec<(Key, usize)>> = vec![vec![]; workers];
            for (n, &(g, phase, a, b)) in keys.iter().enumerate() {
                let w = picks.get(n).copied().unwrap_or(0) % workers;
                let k = (g, Origin { phase, a, b }, n as u64);
                lists[w].push((k, n));
            }
            let mut want: Vec<(Key, usize)> = lists.iter().flatten().copied().collect();
            want.sort_unstable_by_key(|(k, _)| *k);
            let mut its: Vec<_> = lists.into_iter().map(|l| l.into_iter().peekable()).collect();
            let mut got = vec![];
            while let Some(n) = next_in_order(&mut its) {
                got.push(n);
            }
            let want: Vec<usize> = want.into_iter().map(|(_, n)| n).collect();
            prop_assert_eq!(got, want);
        }
    }

    /// Every record of a sharded run over `case`'s capture, as JSON lines,
    /// with the inventory's counters.
    fn run(case: &str, threads: usize, prepare: Prepare) -> (Vec<String>, crate::discover::Stats) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata")
            .join(case)
            .join("input.pcap");
        let Input::Capture(mut reader) = open_input(Some(&path)).unwrap().input else {
            panic!("{case}: not a capture");
        };
        let cfg = ChainConfig {
            keep_attacks: true,
            ..ChainConfig::default()
        };
        let mut s = Sharded::with_prepare(Level::Inventory, cfg, threads, prepare).unwrap();
        let mut out = vec![];
        let mut emit = |r: Record<'_>| out.push(serde_json::to_string(&r).unwrap());
        while let Some(f) = reader.next_frame() {
            let Ok(f) = f else { continue };
            let frame = FrameIn {
                ts: f.ts,
                src: "t",
                index: f.index,
                link: f.link,
                data: f.data,
                tunnel: &[],
            };
            s.push_frame(&frame, &mut emit).unwrap();
        }
        s.finish(&mut emit).unwrap();
        let stats = s.chain().discover_stats().unwrap().clone();
        (out, stats)
    }

    /// The inventory's preparation on the workers or on the reading thread
    /// gives the same records (attacks, findings, endpoints) at 1-3 threads,
    /// and runs where it was told: with `Workers` every transaction reaches
    /// the inventory prepared, with `Reader` none does (so a silent fallback
    /// to the reading thread fails here).
    #[test]
    fn prepare_on_workers_or_reader_gives_the_same_records() {
        for case in [
            "sample",
            "mixed-noise",
            "http-keepalive-pipelined",
            "http-xff-real-ip",
        ] {
            let (want, _) = run(case, 1, Prepare::Reader);
            assert!(
                want.iter().any(|l| l.contains(r#""type":"endpoint""#)),
                "{case}: no endpoint"
            );
            for threads in [1, 2, 3] {
                let (got, stats) = run(case, threads, Prepare::Workers);
                assert_eq!(got, want, "{case} {threads}");
                assert!(stats.transactions > 0, "{case} {threads}: no transaction");
                assert_eq!(
                    stats.prepared_ahead, stats.transactions,
                    "{case} {threads}: not every transaction was prepared on a worker"
                );
                let (got, stats) = run(case, threads, Prepare::Reader);
                assert_eq!(got, want, "{case} {threads}");
                assert_eq!(
                    stats.prepared_ahead, 0,
                    "{case} {threads}: prepared on a worker, not the reading thread"
                );
            }
        }
    }
}
