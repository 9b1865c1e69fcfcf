//! `tapwatch run`: capture sources into the stages, on every core, out to
//! NDJSON or to tw-export's sinks — the same stage code as the pipes.
//!
//! - Input: one capture or NDJSON file (or stdin), several capture files in
//!   order, or live sources (interfaces, VXLAN/Geneve listeners) through
//!   [`crate::capture::driver`].
//! - Engine: one [`Chain`] on the reading thread with `--threads 1`, else a
//!   [`Sharded`] chain whose output is the same (see [`crate::shard`]).
//!   NDJSON input always runs in one chain.
//! - Output: NDJSON records of the `--until` level on stdout, or, with any
//!   `--sink`, [`Exporter`] (selection, masking, aggregation, keys, sinks).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::capture::{self, FrameSink};
use crate::cli::{self, BadInput, CommonArgs, Progress, Summary};
use crate::decap::FrameIn;
use crate::export::{ExportConfig, Exporter};
use crate::io::{Input, NdjsonWriter};
use crate::node::metrics::Metrics;
use crate::pipeline::{self, Chain, ChainConfig, Control, Level, Output};
use crate::record::{Frame, Record};
use crate::shard::Sharded;

/// Everything `tapwatch run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Sources: files (`-r`, in order), or interfaces and listeners.
    pub capture: capture::Options,
    pub until: Level,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    pub chain: ChainConfig,
    /// Export through tw-export's sinks instead of NDJSON on stdout.
    pub export: Option<ExportConfig>,
    /// Inventory files to write at the end (inventory runs).
    pub discover_outputs: crate::discover::driver::Outputs,
    /// Serve `/metrics` and `/health` here.
    pub metrics: Option<std::net::SocketAddr>,
    /// Switch to this user once the capture handles are open.
    pub user: Option<String>,
}

impl RunConfig {
    fn live(&self) -> bool {
        let c = &self.capture;
        !c.interfaces.is_empty()
            || !c.filters.is_empty()
            || !c.vxlan_listen.is_empty()
            || !c.geneve_listen.is_empty()
    }

    /// The worker count to use.
    pub fn threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

/// The long-running node's parts around the engine: privileges, metrics.
struct Node {
    user: Option<String>,
    metrics_addr: Option<std::net::SocketAddr>,
    metrics: Option<Arc<Metrics>>,
    stop: Arc<AtomicBool>,
    published: Instant,
}

/// How often counters go to `/metrics`.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);

impl Node {
    fn new(cfg: &RunConfig, stop: Arc<AtomicBool>) -> Node {
        Node {
            user: cfg.user.clone(),
            metrics_addr: cfg.metrics,
            metrics: None,
            stop,
            published: Instant::now(),
        }
    }

    /// The inputs are open: drop privileges, then start the metrics server
    /// (before any other thread exists, so no thread keeps a capability).
    fn start(&mut self) -> anyhow::Result<()> {
        if let Some(user) = &self.user {
            crate::node::privdrop::drop_to(user)
                .with_context(|| format!("--user {user}: cannot drop privileges"))?;
            log::info!("running as {user}");
        }
        if let Some(addr) = self.metrics_addr {
            let m = Arc::new(Metrics::new());
            // Series that exist from the first scrape, before any stage has
            // published: a scrape during start-up gets a page, not nothing.
            m.set_gauge(
                "tapwatch_build_info",
                "The running tapwatch's version (always 1).",
                &[("version", env!("CARGO_PKG_VERSION"))],
                1.0,
            );
            let started = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64().floor());
            m.set_gauge(
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds.",
                &[],
                started,
            );
            let (bound, _thread) = crate::node::metrics::serve(addr, m.clone(), self.stop.clone())
                .with_context(|| format!("--metrics {addr}"))?;
            log::info!("metrics on http://{bound}/metrics");
            self.metrics = Some(m);
        }
        Ok(())
    }

    /// Publishes the capture's counters: the totals, and the kernel's per interface.
    fn publish_capture(&self, report: &capture::driver::Report) {
        let Some(m) = &self.metrics else { return };
        m.publish("capture", &capture::driver::totals(report));
        for (iface, k) in &report.kernel {
            let labels = [("iface", iface.as_str())];
            for (what, n, help) in [
                (
                    "received",
                    k.received,
                    "Packets the capture filter accepted (libpcap ps_recv).",
                ),
                (
                    "dropped",
                    k.dropped,
                    "Packets the kernel dropped: tapwatch read too slowly (ps_drop).",
                ),
                (
                    "if_dropped",
                    k.if_dropped,
                    "Packets the interface or its driver dropped (ps_ifdrop).",
                ),
            ] {
                let name = format!("tapwatch_capture_kernel_{what}_total");
                m.set_counter(&name, help, &labels, n as f64);
            }
        }
    }

    /// Publishes the stages' counters, at most once a second unless `now`.
    fn publish(&mut self, engine: &Engine, now: bool) {
        let Some(m) = &self.metrics else { return };
        if !now && self.published.elapsed() < PUBLISH_EVERY {
            return;
        }
        self.published = Instant::now();
        for (stage, summary) in engine.summaries() {
            m.publish(stage, &summary);
        }
        let (threads, in_flight) = match engine {
            Engine::One(_) => (1, 0),
            Engine::Many(s) => (s.threads(), s.in_flight()),
        };
        m.set_gauge("tapwatch_workers", "Worker threads.", &[], threads as f64);
        m.set_gauge(
            "tapwatch_batches_in_flight",
            "Packet batches handed to the workers and not yet merged (at most 8).",
            &[],
            in_flight as f64,
        );
    }
}

/// One chain, or a sharded one.
enum Engine {
    One(Box<Chain>),
    Many(Box<Sharded>),
}

impl Engine {
    fn new(cfg: &RunConfig) -> anyhow::Result<Engine> {
        let threads = cfg.threads();
        // Sharding starts at reassembly: below it one chain does everything.
        Ok(if threads > 1 && cfg.until >= Level::Streams {
            Engine::Many(Box::new(Sharded::new(
                cfg.until,
                cfg.chain.clone(),
                threads,
            )?))
        } else {
            Engine::One(Box::new(Chain::new(cfg.until, cfg.chain.clone())))
        })
    }

    fn push_frame(
        &mut self,
        frame: &FrameIn<'_>,
        emit: &mut dyn FnMut(Record<'_>),
    ) -> anyhow::Result<()> {
        match self {
            Engine::One(c) => {
                c.push_frame(frame, emit);
                Ok(())
            }
            Engine::Many(s) => s.push_frame(frame, emit),
        }
    }

    /// Input paused: nothing may wait in a half-full batch.
    fn idle(&mut self, emit: &mut dyn FnMut(Record<'_>)) -> anyhow::Result<()> {
        match self {
            Engine::One(_) => Ok(()),
            Engine::Many(s) => s.send_batch(emit),
        }
    }

    fn finish(&mut self, emit: &mut dyn FnMut(Record<'_>)) -> anyhow::Result<()> {
        match self {
            Engine::One(c) => {
                c.finish(emit);
                Ok(())
            }
            Engine::Many(s) => s.finish(emit),
        }
    }

    fn summaries(&self) -> Vec<(&'static str, Summary)> {
        match self {
            Engine::One(c) => c.summaries(),
            Engine::Many(s) => s.summaries(),
        }
    }

    fn chain(&self) -> &Chain {
        match self {
            Engine::One(c) => c,
            Engine::Many(s) => s.chain(),
        }
    }
}

/// After an inventory run: the inventory and OpenAPI files, the check against a spec.
fn discover_outputs(
    prog: &str,
    cfg: &RunConfig,
    chain: &Chain,
    spec: Option<serde_json::Value>,
) -> anyhow::Result<()> {
    if let Some(inv) = chain.inventory() {
        crate::discover::driver::write_outputs(prog, inv, &cfg.discover_outputs, spec)?;
    }
    Ok(())
}

/// The engine and the output, as a capture driver's frame sink. The engine
/// (and its worker threads) starts once the sources are open and privileges
/// are dropped.
struct EngineSink<'o, 'c, O: Output> {
    cfg: &'c RunConfig,
    engine: Option<Engine>,
    node: Node,
    out: &'o mut O,
    err: Option<std::io::Error>,
}

impl<O: Output> EngineSink<'_, '_, O> {
    fn engine(&mut self) -> anyhow::Result<&mut Engine> {
        if self.engine.is_none() {
            self.node.start()?;
            let engine = Engine::new(self.cfg)?;
            self.node.publish(&engine, true);
            self.engine = Some(engine);
        }
        self.engine
            .as_mut()
            .ok_or_else(|| anyhow::anyhow!("no engine"))
    }

    fn emitter<'x>(
        out: &'x mut O,
        err: &'x mut Option<std::io::Error>,
    ) -> impl FnMut(Record<'_>) + 'x {
        move |rec| {
            if err.is_none() {
                *err = out.record(&rec).err();
            }
        }
    }

    fn check(&mut self) -> anyhow::Result<()> {
        match self.err.take() {
            Some(e) => Err(e).context("writing output"),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        self.with(true, |engine, emit| engine.finish(emit))?;
        self.out.flush().context("writing output")
    }

    /// Runs `f` on the engine with the emitter; publishes metrics now and
    /// then (`now`: at once).
    fn with(
        &mut self,
        now: bool,
        f: impl FnOnce(&mut Engine, &mut dyn FnMut(Record<'_>)) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.engine()?;
        let EngineSink {
            engine: Some(engine),
            out,
            err,
            node,
            ..
        } = self
        else {
            return Ok(());
        };
        f(engine, &mut Self::emitter(out, err))?;
        node.publish(engine, now);
        self.check()
    }
}

impl<O: Output> FrameSink for EngineSink<'_, '_, O> {
    fn opened(&mut self) -> anyhow::Result<()> {
        self.engine().map(|_| ())
    }

    fn report(&mut self, report: &capture::driver::Report) {
        self.node.publish_capture(report);
    }

    fn frame(&mut self, f: &Frame<'_>) -> anyhow::Result<()> {
        let tunnel = f.tunnel.as_slice();
        let frame = FrameIn {
            ts: f.ts,
            src: &f.src,
            index: f.index,
            link: f.link,
            data: &f.data,
            tunnel,
        };
        self.with(false, |engine, emit| engine.push_frame(&frame, emit))
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        self.with(false, |engine, emit| engine.idle(emit))
    }
}

/// Runs `tapwatch run`: the sources through the stages into the output, then
/// the summaries on stderr.
pub fn run_cli(prog: &'static str, common: &CommonArgs, cfg: RunConfig) -> anyhow::Result<()> {
    match cfg.export.clone() {
        None => {
            let mut out = NdjsonWriter::new(std::io::stdout().lock());
            run_into(prog, common, &cfg, &mut out)
        }
        Some(ecfg) => {
            let mut exporter = Exporter::new(ecfg)?;
            exporter.watch_hangup(cli::hangup_flag()?);
            let ran = run_into(prog, common, &cfg, &mut exporter);
            let (main, sinks) = exporter.summaries();
            main.print(&format!("{prog}: export"), common);
            for (text, summary) in sinks {
                summary.print(&format!("{prog}: sink {text}"), common);
            }
            ran
        }
    }
}

fn run_into<O: Output>(
    prog: &'static str,
    common: &CommonArgs,
    cfg: &RunConfig,
    out: &mut O,
) -> anyhow::Result<()> {
    let stop = cli::shutdown_flag()?;
    let spec = crate::discover::driver::read_spec(&cfg.discover_outputs)?;
    let files = &cfg.capture.files;
    if !cfg.live() && files.len() <= 1 {
        let engine = run_file(prog, common, cfg, files.first().cloned(), out, stop)?;
        return discover_outputs(prog, cfg, engine.chain(), spec);
    }
    // Several files in order, or live sources: the capture driver feeds frames.
    let mut bad = BadInput::new(common.strict);
    let mut sink = EngineSink {
        cfg,
        engine: None,
        node: Node::new(cfg, stop.clone()),
        out,
        err: None,
    };
    let report = capture::run(
        &cfg.capture,
        &mut sink,
        &stop,
        &mut bad,
        common.progress_allowed(),
    )?;
    sink.finish()?;
    let engine = sink.engine()?;
    let mut summaries = engine.summaries();
    summaries.insert(0, ("capture", capture::driver::summary(&report, &[], &bad)));
    print(prog, common, summaries, |s| s);
    discover_outputs(prog, cfg, engine.chain(), spec)
}

/// One file (or stdin): a capture, sharded when threads allow, or NDJSON
/// records in one chain — exactly as the stage binaries read it.
fn run_file<O: Output>(
    prog: &'static str,
    common: &CommonArgs,
    cfg: &RunConfig,
    file: Option<PathBuf>,
    out: &mut O,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Engine> {
    let file = file.filter(|f| f.as_os_str() != "-");
    let opened = crate::io::open_input(file.as_deref())?;
    let mut node = Node::new(cfg, stop.clone());
    node.start()?;
    let engine = match &opened.input {
        Input::Capture(_) => Engine::new(cfg)?,
        Input::Ndjson(_) => Engine::One(Box::new(Chain::new(cfg.until, cfg.chain.clone()))),
    };
    let ctl = Control {
        strict: common.strict,
        progress: common.progress_allowed(),
        stop: Some(stop),
    };
    let mut chain = match engine {
        Engine::One(chain) => chain,
        Engine::Many(sharded) => {
            return run_sharded_file(prog, common, cfg, opened, (sharded, node), out, &ctl);
        }
    };
    let report = pipeline::run(&mut chain, opened, out, &ctl)?;
    report.print(prog, &chain, common);
    let engine = Engine::One(chain);
    node.publish(&engine, true);
    Ok(engine)
}

fn run_sharded_file<O: Output>(
    prog: &'static str,
    common: &CommonArgs,
    cfg: &RunConfig,
    opened: crate::io::OpenedInput,
    (sharded, node): (Box<Sharded>, Node),
    out: &mut O,
    ctl: &Control,
) -> anyhow::Result<Engine> {
    let Input::Capture(mut reader) = opened.input else {
        anyhow::bail!("{}: not a capture", opened.name);
    };
    let name = opened.name;
    let mut bad = BadInput::new(ctl.strict);
    let mut progress = Progress::bytes(opened.size, ctl.progress);
    let stopping = || ctl.stop.as_deref().is_some_and(cli::stopping);
    let mut sink = EngineSink {
        cfg,
        engine: Some(Engine::Many(sharded)),
        node,
        out,
        err: None,
    };
    pipeline::each_frame(
        &mut reader,
        &name,
        &mut bad,
        &mut progress,
        &stopping,
        |raw| {
            let frame = FrameIn::from_raw(&raw, &name);
            sink.with(false, |engine, emit| engine.push_frame(&frame, emit))?;
            Ok(true)
        },
    )?;
    if stopping() {
        log::info!("{name}: interrupted; flushing what the stages hold");
    }
    progress.finish();
    sink.check()?;
    sink.finish()?;
    let capture = reader.anomalies();
    let engine = sink.engine()?;
    print(prog, common, engine.summaries(), |s| {
        s.group("capture file", capture.iter().map(|(k, n)| (*k, *n)))
            .group("bad input", bad.counts().iter().map(|(k, n)| (k, *n)))
    });
    sink.engine
        .take()
        .ok_or_else(|| anyhow::anyhow!("no engine"))
}

/// Prints one line per stage, upstream first; `last` adds the run's own
/// counters to the last stage's line.
fn print(
    prog: &str,
    common: &CommonArgs,
    summaries: Vec<(&'static str, Summary)>,
    last: impl FnOnce(Summary) -> Summary,
) {
    let n = summaries.len();
    let mut last = Some(last);
    for (i, (stage, summary)) in summaries.into_iter().enumerate() {
        if i + 1 == n {
            if let Some(f) = last.take() {
                f(summary).print(prog, common);
            }
        } else {
            summary.print(&format!("{prog}: {stage}"), common);
        }
    }
}
