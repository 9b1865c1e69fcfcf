//! Stages chained in one process: the promotion rule and the shared stage loop.
//!
//! A [`Chain`] holds the stage cores from frames up to a target [`Level`].
//! Every stage binary is a chain: `tw-decap` stops at packets, `tw-reassemble`
//! at streams. Handed records from further up (a raw capture, or `frame`
//! records to `tw-reassemble`), a chain runs the missing stages itself — the
//! same cores, not a copy — which is DESIGN.md's promotion rule. `tapwatch run`
//! is a chain too.
//!
//! [`run`] is the one loop every stage uses: read a capture or NDJSON, feed
//! what the chain consumes, pass every other record through unchanged and in
//! order, name bad input by file and line or packet index, and flush at the end.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;

use crate::cli::{self, BadInput, Progress, Summary};
use crate::decap::{self, DecapConfig, Decapper, FrameIn};
use crate::detect::{self, Analysis, DetectConfig, Detector};
use crate::discover::{self, DiscoverConfig, Discoverer};
use crate::http::{self, HttpConfig, HttpParser};
use crate::io::{
    fast_read, CaptureFileError, CaptureReader, Input, NdjsonWriter, OpenedInput, RawFrame,
};
use crate::reassemble::{self, Reassembler, ReassemblyConfig};
use crate::record::{record_type, Attack, Conn, Data, Frame, Gap, Http, Packet, Record};

/// How far a chain takes its input: the records it emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `packet` records (tw-decap).
    Packets,
    /// `conn`, `data` and `gap` records (tw-reassemble).
    Streams,
    /// `http` records (tw-http-parse).
    Http,
    /// `http` records followed by the `attack` and `vuln` records they caused (tw-detect).
    Detect,
    /// `endpoint` records at end of input (tw-discover). Transactions the chain
    /// parses itself (from a capture, packets or streams) are checked by the
    /// detector first, so attacked ones are left out and other findings pass
    /// on; `http` records read from input are left out when `attack` records
    /// in the input name them.
    Inventory,
}

impl Level {
    /// Whether a chain emitting at this level consumes records of `kind`
    /// (everything it does not consume passes through).
    pub fn consumes(self, kind: &str) -> bool {
        match kind {
            "frame" => true,
            "packet" => self > Level::Packets,
            "conn" | "data" | "gap" => self > Level::Streams,
            "http" => self > Level::Http,
            "attack" => self == Level::Inventory,
            _ => false,
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    /// Parses a record type a chain can stop at: `packet`, or `conn` (also `data`, `gap`, `stream`).
    fn from_str(s: &str) -> Result<Level, String> {
        match s {
            "packet" | "packets" => Ok(Level::Packets),
            "conn" | "data" | "gap" | "stream" | "streams" => Ok(Level::Streams),
            "http" => Ok(Level::Http),
            "detect" | "attack" | "vuln" => Ok(Level::Detect),
            "endpoint" | "inventory" => Ok(Level::Inventory),
            other => Err(format!(
                "cannot stop at {other:?}: want packet, conn, http, attack or endpoint"
            )),
        }
    }
}

/// Configuration of every stage a chain may run.
#[derive(Debug, Clone, Default)]
pub struct ChainConfig {
    pub decap: DecapConfig,
    pub reassemble: ReassemblyConfig,
    pub http: HttpConfig,
    pub detect: DetectConfig,
    pub discover: DiscoverConfig,
    /// An inventory chain also emits the attacks it leaves out of the
    /// inventory (`tapwatch run` exporting attacks and endpoints together).
    pub keep_attacks: bool,
}

/// The stage cores from frames up to a target level.
pub struct Chain {
    target: Level,
    decap: Decapper,
    reassemble: Option<Reassembler>,
    http: Option<HttpParser>,
    detect: Option<Detector>,
    discover: Option<Discoverer>,
    keep_attacks: bool,
    recycle: Recycle,
}

/// The stages after reassembly, borrowed apart from the earlier ones.
struct Upper<'c> {
    http: &'c mut Option<HttpParser>,
    up: Up<'c>,
    recycle: &'c mut Recycle,
}

/// Prepared parts kept for reuse, at most (as a sharded worker keeps).
const MAX_SPARE: usize = 256;

/// How an inventory chain that parses HTTP itself gets its records back:
/// the inventory hands back only transactions that came with a prepared
/// part ([`Discoverer::take_spent`]), so the chain prepares each one (as a
/// sharded worker does; the inventory is the same either way) and gives
/// the records back to the HTTP parser to refill ([`HttpParser::recycle`]).
#[derive(Default)]
struct Recycle {
    /// The inventory's configuration, when there is an inventory.
    discover: Option<DiscoverConfig>,
    /// Prepared parts back from the inventory, to prepare into.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<discover::Prepared>>,
}

impl Recycle {
    /// What goes up with a transaction this chain parsed.
    fn pre(&mut self, t: &Http) -> Pre {
        match &self.discover {
            Some(cfg) => {
                let mut p = self.spare.pop().unwrap_or_default();
                discover::prepare_into(cfg, t, &mut p);
                // Home 0: the chain itself takes it back ([`Recycle::take_back`]).
                Pre::Worker(None, Some(p), Some(0))
            }
            None => Pre::None,
        }
    }

    /// Takes back what the inventory is done with: records to the HTTP
    /// parser, prepared parts kept (bounded).
    fn take_back(&mut self, discover: &mut Option<Discoverer>, http: &mut HttpParser) {
        if let Some(d) = discover {
            d.take_spent(&mut |(h, p, _)| {
                http.recycle_boxed(h);
                if let Some(p) = p.filter(|p| p.reusable()) {
                    if self.spare.len() < MAX_SPARE {
                        self.spare.push(p);
                    }
                }
            });
        }
    }
}

/// What a worker did ahead for one transaction.
enum Pre {
    None,
    /// The per-request half of detection, the inventory's
    /// [`discover::prepare`], and the sharded run's worker that parsed the
    /// transaction (its home, where the record goes back to once spent).
    Worker(
        Option<Analysis>,
        Option<Box<discover::Prepared>>,
        Option<usize>,
    ),
}

/// The stages after HTTP parsing.
struct Up<'c> {
    detect: &'c mut Option<Detector>,
    discover: &'c mut Option<Discoverer>,
    keep_attacks: bool,
}

impl Upper<'_> {
    /// Hands stream records to the HTTP parser, or out when the chain stops at streams.
    fn stream(&mut self, rec: Record<'_>, emit: &mut dyn FnMut(Record<'_>)) {
        let Upper { http, up, recycle } = self;
        match http {
            None => emit(rec),
            Some(h) => {
                h.push_boxed(&rec, &mut |t| {
                    let pre = recycle.pre(&t);
                    up.http_to(t, pre, true, emit)
                });
                recycle.take_back(up.discover, h);
            }
        }
    }
}

/// Carries one transaction up: through the detector, then either out (the
/// `http` record first unless `emit_http` is false or findings only, then its
/// findings) or into the inventory (its attacks mark it to be left out, its
/// other findings are emitted).
///
/// `pre` is what a worker thread did already ([`crate::shard`]).
impl Up<'_> {
    fn http_to(
        &mut self,
        t: Box<Http>,
        pre: Pre,
        emit_http: bool,
        emit: &mut dyn FnMut(Record<'_>),
    ) {
        let (analysis, prepared, home) = match pre {
            Pre::None => (None, None, None),
            Pre::Worker(a, p, home) => (a, p, home),
        };
        let mut found = vec![];
        findings(self.detect, &t, analysis, &mut |r| found.push(r));
        match self.discover {
            Some(inv) => {
                // As `tw-detect | tw-discover` would: attacks are consumed,
                // other findings pass on.
                for r in found {
                    match r {
                        Record::Attack(a) => {
                            inv.push_attack(&a);
                            if self.keep_attacks {
                                emit(Record::Attack(a));
                            }
                        }
                        other => emit(other),
                    }
                }
                inv.push_from(t, prepared, home);
            }
            None => {
                let findings_only = self
                    .detect
                    .as_ref()
                    .is_some_and(|d| d.config().findings_only);
                if emit_http && !findings_only {
                    emit(Record::Http(t));
                }
                for r in found {
                    emit(r);
                }
            }
        }
    }
}

/// A transaction's findings, in order: its analysis (made here unless a
/// worker made it ahead) concluded by the stateful half of detection.
fn findings(
    detect: &mut Option<Detector>,
    t: &Http,
    analysis: Option<Analysis>,
    emit: &mut dyn FnMut(Record<'static>),
) {
    if let Some(d) = detect.as_mut() {
        let a = analysis.unwrap_or_else(|| d.analyze(t));
        d.conclude(t, a, emit);
    }
}

impl Chain {
    pub fn new(target: Level, cfg: ChainConfig) -> Chain {
        Chain {
            target,
            decap: Decapper::new(cfg.decap),
            reassemble: (target >= Level::Streams).then(|| Reassembler::new(cfg.reassemble)),
            http: (target >= Level::Http).then(|| HttpParser::new(cfg.http)),
            detect: (target == Level::Detect
                || (target == Level::Inventory && cfg.discover.detect))
                .then(|| Detector::new(cfg.detect)),
            recycle: Recycle {
                discover: (target >= Level::Inventory).then(|| cfg.discover.clone()),
                spare: vec![],
            },
            discover: (target >= Level::Inventory).then(|| Discoverer::new(cfg.discover)),
            keep_attacks: cfg.keep_attacks,
        }
    }

    pub fn target(&self) -> Level {
        self.target
    }

    fn upper(&mut self) -> (&mut Decapper, Option<&mut Reassembler>, Upper<'_>) {
        let Chain {
            decap,
            reassemble,
            http,
            detect,
            discover,
            keep_attacks,
            recycle,
            ..
        } = self;
        (
            decap,
            reassemble.as_mut(),
            Upper {
                http,
                up: Up {
                    detect,
                    discover,
                    keep_attacks: *keep_attacks,
                },
                recycle,
            },
        )
    }

    /// Decodes one frame and carries what it yields up to the target level.
    pub fn push_frame(&mut self, frame: &FrameIn<'_>, emit: &mut dyn FnMut(Record<'_>)) {
        match self.upper() {
            (decap, None, _) => decap.push(frame, &mut |p| emit(Record::Packet(p.clone()))),
            (decap, Some(r), mut up) => {
                decap.push(frame, &mut |p| r.push(p, &mut |rec| up.stream(rec, emit)))
            }
        }
    }

    /// Carries one packet up to the target level.
    pub fn push_packet(&mut self, packet: &Packet<'_>, emit: &mut dyn FnMut(Record<'_>)) {
        match self.upper() {
            (_, None, _) => emit(Record::Packet(packet.clone())),
            (_, Some(r), mut up) => r.push(packet, &mut |rec| up.stream(rec, emit)),
        }
    }

    /// Carries one `conn`, `data` or `gap` record up to the target level.
    pub fn push_stream(&mut self, rec: Record<'_>, emit: &mut dyn FnMut(Record<'_>)) {
        self.upper().2.stream(rec, emit);
    }

    /// Carries one `http` record read from input up: its findings are
    /// emitted (the record itself is the caller's to pass on unchanged, before
    /// them), or it goes into the inventory.
    ///
    /// The record is lent: a detect chain hands it back as it was, for the
    /// reader to fill with the next line in place ([`fast_read::http_into`]);
    /// an inventory keeps it and leaves a fresh one in its place.
    ///
    /// An inventory chain does not run its detector on records read from
    /// input: whatever produced them (`tw-detect`, or not) decides, through
    /// the `attack` records in the stream, what is left out. So
    /// `tw-discover -r x.pcap` equals `tw-http-parse | tw-detect | tw-discover`.
    pub fn push_http(&mut self, t: &mut Box<Http>, emit: &mut dyn FnMut(Record<'_>)) {
        if self.target == Level::Inventory {
            Up {
                detect: &mut None,
                discover: &mut self.discover,
                keep_attacks: self.keep_attacks,
            }
            .http_to(std::mem::take(t), Pre::None, false, emit);
            return;
        }
        // As [`Up::http_to`] without an inventory and without the record:
        // the findings, in order.
        findings(&mut self.detect, t, None, &mut |r| emit(r));
    }

    /// Takes back `http` records written out: the HTTP parser fills them
    /// again ([`HttpParser::recycle_boxed`]; a refilled record equals a
    /// fresh one) rather than allocating each transaction's strings anew.
    #[allow(clippy::vec_box)]
    fn recycle_http(&mut self, spent: &mut Vec<Box<Http>>) {
        match &mut self.http {
            Some(h) => spent.drain(..).for_each(|b| h.recycle_boxed(b)),
            None => spent.clear(),
        }
    }

    /// Decodes one frame and hands out its packets, going no further (the
    /// reading thread of a sharded run).
    pub fn decap_only(&mut self, frame: &FrameIn<'_>, emit: &mut dyn FnMut(&Packet<'_>)) {
        self.decap.push(frame, emit);
    }

    /// Carries one transaction worker `home` parsed (and analysed, when
    /// `pre` is set, and prepared for the inventory, when `prepared` is) up
    /// from the HTTP stage, as if this chain had parsed it.
    pub fn push_analyzed(
        &mut self,
        t: Box<Http>,
        pre: Option<Analysis>,
        prepared: Option<Box<discover::Prepared>>,
        home: usize,
        emit: &mut dyn FnMut(Record<'_>),
    ) {
        Up {
            detect: &mut self.detect,
            discover: &mut self.discover,
            keep_attacks: self.keep_attacks,
        }
        .http_to(t, Pre::Worker(pre, prepared, Some(home)), true, emit);
    }

    /// Hands out the transactions the inventory learned from, with their
    /// homes ([`discover::Discoverer::take_spent`]).
    pub fn take_spent(&mut self, f: &mut dyn FnMut(discover::Spent)) {
        if let Some(d) = &mut self.discover {
            d.take_spent(f);
        }
    }

    /// End of input for the reading thread of a sharded run, after the
    /// workers finished: decoding and the inventory flush.
    pub fn finish_after_workers(&mut self, emit: &mut dyn FnMut(Record<'_>)) {
        self.decap.finish();
        if let Some(d) = &mut self.discover {
            d.finish(emit);
        }
    }

    /// Takes one `attack` record read from input (inventory chains; otherwise it is emitted).
    pub fn push_attack(&mut self, a: Attack, emit: &mut dyn FnMut(Record<'_>)) {
        match &mut self.discover {
            Some(d) => d.push_attack(&a),
            None => emit(Record::Attack(a)),
        }
    }

    /// Whether `http` records are dropped from the output (`--findings-only`).
    pub fn findings_only(&self) -> bool {
        self.detect
            .as_ref()
            .is_some_and(|d| d.config().findings_only)
    }

    /// Whether `http` records read from input are passed on (a detect chain
    /// writes them unchanged before their findings).
    pub fn passes_http(&self) -> bool {
        self.target == Level::Detect && !self.findings_only()
    }

    /// End of input: every stage flushes what it holds, upstream first.
    pub fn finish(&mut self, emit: &mut dyn FnMut(Record<'_>)) {
        let (decap, reassemble, mut up) = self.upper();
        decap.finish();
        if let Some(r) = reassemble {
            r.finish(&mut |rec| up.stream(rec, emit));
        }
        let Upper {
            http,
            mut up,
            recycle,
        } = up;
        if let Some(h) = http {
            h.finish_boxed(&mut |t| {
                let pre = recycle.pre(&t);
                up.http_to(t, pre, true, emit)
            });
        }
        if let Some(d) = up.discover {
            d.finish(emit);
        }
    }

    pub fn decap_stats(&self) -> &decap::DecapStats {
        self.decap.stats()
    }

    pub fn reassemble_stats(&self) -> Option<&reassemble::Stats> {
        self.reassemble.as_ref().map(Reassembler::stats)
    }

    pub fn http_stats(&self) -> Option<&http::HttpStats> {
        self.http.as_ref().map(HttpParser::stats)
    }

    pub fn detect_stats(&self) -> Option<&detect::DetectStats> {
        self.detect.as_ref().map(Detector::stats)
    }

    /// The inventory, after [`Chain::finish`] (inventory chains only).
    pub fn inventory(&self) -> Option<&discover::inventory::Inventory> {
        self.discover.as_ref().and_then(Discoverer::inventory)
    }

    pub fn discover_stats(&self) -> Option<&discover::Stats> {
        self.discover.as_ref().map(Discoverer::stats)
    }

    /// One summary per stage the chain holds, upstream first, whether it saw
    /// input or not (metrics; sharded runs).
    pub fn all_summaries(&self) -> Vec<(&'static str, Summary)> {
        let mut out = vec![("decap", decap::driver::summary(self.decap.stats()))];
        if let Some(r) = &self.reassemble {
            out.push(("reassemble", reassemble::driver::summary(r.stats())));
        }
        if let Some(h) = &self.http {
            out.push(("http", http::driver::summary(h.stats())));
        }
        if let Some(d) = &self.detect {
            out.push(("detect", detect::driver::summary(d.stats())));
        }
        if let Some(d) = &self.discover {
            out.push(("discover", discover::driver::summary(d.stats())));
        }
        out
    }

    /// One summary per stage that saw input, upstream first, named by stage;
    /// the target stage always reports.
    pub fn summaries(&self) -> Vec<(&'static str, Summary)> {
        let mut out = vec![];
        let d = self.decap.stats();
        if self.target == Level::Packets || d.frames > 0 {
            out.push(("decap", decap::driver::summary(d)));
        }
        if let Some(r) = &self.reassemble {
            if self.target == Level::Streams || r.stats().packets > 0 {
                out.push(("reassemble", reassemble::driver::summary(r.stats())));
            }
        }
        if let Some(h) = &self.http {
            if self.target == Level::Http || h.stats().flows > 0 {
                out.push(("http", http::driver::summary(h.stats())));
            }
        }
        if let Some(d) = &self.detect {
            out.push(("detect", detect::driver::summary(d.stats())));
        }
        if let Some(d) = &self.discover {
            out.push(("discover", discover::driver::summary(d.stats())));
        }
        out
    }
}

/// How to run the loop.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// Stop at the first bad input (`--strict`).
    pub strict: bool,
    /// Draw a progress bar over the input bytes.
    pub progress: bool,
    /// Set by a signal: stop reading, flush, and report.
    pub stop: Option<Arc<AtomicBool>>,
}

/// What the loop saw besides what the stages count.
#[derive(Debug)]
pub struct Report {
    pub bad: BadInput,
    /// Records of other types passed through unchanged.
    pub passed: u64,
    /// Damage the capture reader worked around, by kind.
    pub capture: BTreeMap<&'static str, u64>,
}

impl Report {
    /// Prints one line per stage that ran (the target stage unprefixed,
    /// promoted ones prefixed with the stage name), then what the loop itself counted.
    pub fn print(&self, prog: &str, chain: &Chain, common: &cli::CommonArgs) {
        let summaries = chain.summaries();
        let last = summaries.len().saturating_sub(1);
        for (i, (stage, summary)) in summaries.into_iter().enumerate() {
            let mut summary = summary;
            if i == last {
                if self.passed > 0 {
                    summary = summary.count("passed through", self.passed);
                }
                summary = summary
                    .group("capture file", self.capture.iter().map(|(k, n)| (*k, *n)))
                    .group("bad input", self.bad.counts().iter().map(|(k, n)| (k, *n)));
                summary.print(prog, common);
            } else {
                summary.print(&format!("{prog}: {stage}"), common);
            }
        }
    }
}

/// Where a run's records go: NDJSON on a writer, or anything that consumes
/// records in process (the demo's digest, `tapwatch run`'s sinks).
pub trait Output {
    /// One record a stage emitted.
    fn record(&mut self, rec: &Record<'_>) -> std::io::Result<()>;
    /// One input line passed through unchanged.
    fn raw(&mut self, line: &[u8]) -> std::io::Result<()>;
    /// End of the run.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Output for NdjsonWriter<W> {
    fn record(&mut self, rec: &Record<'_>) -> std::io::Result<()> {
        self.write(rec)
    }

    fn raw(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.write_raw(line)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        NdjsonWriter::flush(self)
    }
}

/// Runs a chain over one input.
pub fn run<O: Output>(
    chain: &mut Chain,
    opened: OpenedInput,
    out: &mut O,
    ctl: &Control,
) -> anyhow::Result<Report> {
    let mut bad = BadInput::new(ctl.strict);
    let mut progress = Progress::bytes(opened.size, ctl.progress);
    let name = opened.name;
    let stopping = || ctl.stop.as_deref().is_some_and(cli::stopping);
    let mut sink = Sink {
        out,
        err: None,
        spent: Vec::new(),
    };
    let (mut passed, mut capture) = (0, BTreeMap::new());
    match opened.input {
        Input::Capture(mut reader) => {
            each_frame(
                &mut reader,
                &name,
                &mut bad,
                &mut progress,
                &stopping,
                |raw| {
                    let frame = FrameIn::from_raw(&raw, &name);
                    chain.push_frame(&frame, &mut |rec| sink.emit(rec));
                    if !sink.spent.is_empty() {
                        chain.recycle_http(&mut sink.spent);
                    }
                    Ok(sink.err.is_none())
                },
            )?;
            capture = reader.anomalies();
        }
        Input::Ndjson(mut reader) => {
            // The `http` record each line is read into, lent to the chain
            // and filled again ([`Chain::push_http`]).
            let mut http = Box::<Http>::default();
            // The bytes of a `packet` or `data` line, decoded into the room
            // the last one left (the record borrows them).
            let mut bytes = Vec::new();
            while !stopping() {
                let why = match reader.next_line() {
                    None => break,
                    Some(Err(e)) => Some(("line", e.to_string())),
                    Some(Ok(line)) => match record_type(line) {
                        Some(kind) if chain.target.consumes(&kind) => match &*kind {
                            "frame" => match serde_json::from_slice::<Frame<'_>>(line) {
                                Ok(f) => {
                                    let frame = FrameIn {
                                        ts: f.ts,
                                        src: &f.src,
                                        index: f.index,
                                        link: f.link,
                                        data: &f.data,
                                        tunnel: &f.tunnel,
                                    };
                                    chain.push_frame(&frame, &mut |rec| sink.emit(rec));
                                    None
                                }
                                Err(e) => Some(("frame", format!("bad frame record: {e}"))),
                            },
                            "packet" => match fast_read::packet_in(line, &mut bytes)
                                .map_or_else(|| serde_json::from_slice::<Packet<'_>>(line), Ok)
                            {
                                Ok(p) => {
                                    chain.push_packet(&p, &mut |rec| sink.emit(rec));
                                    None
                                }
                                Err(e) => Some(("packet", format!("bad packet record: {e}"))),
                            },
                            "http" => match fast_read::http_into(line, &mut http).map_or_else(
                                || serde_json::from_slice::<Http>(line).map(|t| *http = t),
                                Ok,
                            ) {
                                Ok(()) => {
                                    if chain.passes_http() {
                                        sink.raw(line);
                                    }
                                    chain.push_http(&mut http, &mut |rec| sink.emit(rec));
                                    None
                                }
                                Err(e) => Some(("http", format!("bad http record: {e}"))),
                            },
                            "attack" => match serde_json::from_slice::<Attack>(line) {
                                Ok(a) => {
                                    chain.push_attack(a, &mut |rec| sink.emit(rec));
                                    None
                                }
                                Err(e) => Some(("attack", format!("bad attack record: {e}"))),
                            },
                            kind => match stream_record(kind, line, &mut bytes) {
                                Ok(rec) => {
                                    chain.push_stream(rec, &mut |rec| sink.emit(rec));
                                    None
                                }
                                Err(e) => Some(("stream", format!("bad {kind} record: {e}"))),
                            },
                        },
                        Some(_) => {
                            sink.raw(line);
                            passed += 1;
                            None
                        }
                        None => Some(("json", "not a JSON object with a \"type\"".to_string())),
                    },
                };
                if !sink.spent.is_empty() {
                    chain.recycle_http(&mut sink.spent);
                }
                if sink.err.is_some() {
                    break;
                }
                match why {
                    None => {}
                    // A line error names its line itself.
                    Some(("line", why)) => bad.report("line", format!("{name}: {why}"))?,
                    Some((kind, why)) => bad.report(
                        kind,
                        format!("{name}: line {}: {why}", reader.line_number()),
                    )?,
                }
                progress.set(reader.bytes_read());
            }
        }
    }
    if stopping() {
        log::info!("{name}: interrupted; flushing what the stages hold");
    }
    if sink.err.is_none() {
        chain.finish(&mut |rec| sink.emit(rec));
    }
    progress.finish();
    if let Some(e) = sink.err {
        return Err(e).context("writing stdout");
    }
    sink.out.flush().context("writing stdout")?;
    Ok(Report {
        bad,
        passed,
        capture,
    })
}

/// Reads a capture frame by frame: the loop of every stage and of
/// `tw-capture -r`. `frame` says whether to go on. A damaged record is named
/// ("FILE: packet N (byte B): why") and counted in `bad`; the reader goes on
/// when it can. A read error ends the run with an error.
pub fn each_frame<R: std::io::Read>(
    reader: &mut CaptureReader<R>,
    name: &str,
    bad: &mut BadInput,
    progress: &mut Progress,
    stopping: &dyn Fn() -> bool,
    mut frame: impl FnMut(RawFrame<'_>) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    while !stopping() {
        match reader.next_frame() {
            None => break,
            Some(Ok(raw)) => {
                if !frame(raw)? {
                    break;
                }
            }
            Some(Err(e @ CaptureFileError::Io { .. })) => {
                return Err(e).with_context(|| name.to_string())
            }
            Some(Err(e)) => bad.report(e.kind(), format!("{name}: {e}"))?,
        }
        progress.set(reader.bytes_read());
    }
    Ok(())
}

/// Deserialises a `conn`, `data` or `gap` line (a `data` line's bytes
/// decoded into `buf` when it is read the fast way).
fn stream_record<'a>(
    kind: &str,
    line: &'a [u8],
    buf: &'a mut Vec<u8>,
) -> serde_json::Result<Record<'a>> {
    Ok(match kind {
        "conn" => Record::Conn(serde_json::from_slice::<Conn>(line)?),
        "data" => Record::Data(match fast_read::data_in(line, buf) {
            Some(d) => d,
            None => serde_json::from_slice::<Data<'a>>(line)?,
        }),
        _ => Record::Gap(serde_json::from_slice::<Gap>(line)?),
    })
}

/// The writer of a run, keeping the first write error (a closed pipe ends
/// the run), and the `http` records it wrote, for the chain to take back
/// ([`Chain::recycle_http`]).
struct Sink<'w, O: Output> {
    out: &'w mut O,
    #[allow(clippy::vec_box)]
    spent: Vec<Box<Http>>,
    err: Option<std::io::Error>,
}

impl<O: Output> Sink<'_, O> {
    fn emit(&mut self, rec: Record<'_>) {
        if self.err.is_none() {
            self.err = self.out.record(&rec).err();
        }
        if let Record::Http(h) = rec {
            self.spent.push(h);
        }
    }

    fn raw(&mut self, line: &[u8]) {
        if self.err.is_none() {
            self.err = self.out.raw(line).err();
        }
    }
}

/// Runs a stage binary: opens the input, runs the chain to stdout, prints the summary.
pub fn run_cli(
    prog: &'static str,
    common: &cli::CommonArgs,
    input: Option<&std::path::Path>,
    target: Level,
    cfg: ChainConfig,
) -> anyhow::Result<()> {
    let opened = crate::io::open_input(input)?;
    let ctl = Control {
        strict: common.strict,
        progress: common.progress_allowed(),
        stop: Some(cli::shutdown_flag()?),
    };
    let mut chain = Chain::new(target, cfg);
    crate::io::grow_pipe(std::io::stdout());
    let mut out = NdjsonWriter::new(std::io::stdout().lock());
    let report = run(&mut chain, opened, &mut out, &ctl)?;
    report.print(prog, &chain, common);
    Ok(())
}
