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

use anyhow::Context;

use crate::capture::{self, FrameSink};
use crate::cli::{self, BadInput, CommonArgs, Progress, Summary};
use crate::decap::FrameIn;
use crate::export::{ExportConfig, Exporter};
use crate::io::{Input, NdjsonWriter};
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

/// The engine and the output, as a capture driver's frame sink.
struct EngineSink<'o, O: Output> {
    engine: Engine,
    out: &'o mut O,
    err: Option<std::io::Error>,
}

impl<O: Output> EngineSink<'_, O> {
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
        let EngineSink { engine, out, err } = self;
        engine.finish(&mut Self::emitter(out, err))?;
        self.check()?;
        self.out.flush().context("writing output")
    }
}

impl<O: Output> FrameSink for EngineSink<'_, O> {
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
        let EngineSink { engine, out, err } = self;
        engine.push_frame(&frame, &mut Self::emitter(out, err))?;
        self.check()
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        let EngineSink { engine, out, err } = self;
        engine.idle(&mut Self::emitter(out, err))?;
        self.check()
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
        engine: Engine::new(cfg)?,
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
    let mut summaries = sink.engine.summaries();
    summaries.insert(0, ("capture", capture::driver::summary(&report, &[], &bad)));
    print(prog, common, summaries, |s| s);
    discover_outputs(prog, cfg, sink.engine.chain(), spec)
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
            return run_sharded_file(prog, common, opened, sharded, out, &ctl);
        }
    };
    let report = pipeline::run(&mut chain, opened, out, &ctl)?;
    report.print(prog, &chain, common);
    Ok(Engine::One(chain))
}

fn run_sharded_file<O: Output>(
    prog: &'static str,
    common: &CommonArgs,
    opened: crate::io::OpenedInput,
    sharded: Box<Sharded>,
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
        engine: Engine::Many(sharded),
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
            let frame = FrameIn {
                ts: raw.ts,
                src: &name,
                index: raw.index,
                link: raw.link,
                data: raw.data,
                tunnel: &[],
            };
            let EngineSink { engine, out, err } = &mut sink;
            engine.push_frame(&frame, &mut EngineSink::<O>::emitter(out, err))?;
            Ok(err.is_none())
        },
    )?;
    if stopping() {
        log::info!("{name}: interrupted; flushing what the stages hold");
    }
    progress.finish();
    sink.check()?;
    sink.finish()?;
    let capture = reader.anomalies();
    print(prog, common, sink.engine.summaries(), |s| {
        s.group("capture file", capture.iter().map(|(k, n)| (*k, *n)))
            .group("bad input", bad.counts().iter().map(|(k, n)| (k, *n)))
    });
    Ok(sink.engine)
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
