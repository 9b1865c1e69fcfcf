//! Runs the capture sources into a [`FrameSink`]: files one after the other,
//! or interfaces and listeners concurrently, merged into one stream. Stops at
//! `-c N` frames, after `--duration`, or on SIGINT/SIGTERM, with everything
//! flushed; [`run_cli`] adds the output choice and the stderr summary.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::file::{self, Flow};
use super::filter_spec::{self, FilterSpec};
use super::listen::{Encap, Listener};
use super::tunnel::VniFilter;
use super::{Feed, FrameSink, KernelStats, Msg, NdjsonSink, PcapSink, Pool, SourceEnd};
use super::{CHANNEL_FRAMES, POLL};

/// How long sources get to stop once asked.
const STOP_GRACE: Duration = Duration::from_secs(3);
use crate::cli::{self, BadInput, CommonArgs, Summary};
use crate::record::{Frame, Tunnel};

/// What to capture, and when to stop.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Capture files, read in order (`-` is stdin).
    pub files: Vec<PathBuf>,
    /// Interfaces to capture on, all traffic (`-i`).
    pub interfaces: Vec<String>,
    /// `IFACE:PORT` specifications (`--filter`).
    pub filters: Vec<FilterSpec>,
    /// BPF filter and-ed to every live capture (`-f`).
    pub bpf: Option<String>,
    pub snaplen: u32,
    pub promisc: bool,
    pub vxlan_listen: Vec<SocketAddr>,
    pub geneve_listen: Vec<SocketAddr>,
    /// VNIs the listeners keep.
    pub vni: VniFilter,
    /// Stop after this many frames.
    pub count: Option<u64>,
    /// Stop live capture and listeners after this long (wall clock).
    pub duration: Option<Duration>,
}

/// Where `run_cli` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// NDJSON `frame` records on stdout.
    Ndjson,
    /// Classic pcap to a file, or stdout for `-`.
    Pcap(PathBuf),
}

/// What a capture did.
#[derive(Debug, Default)]
pub struct Report {
    pub frames: u64,
    /// Captured bytes emitted.
    pub bytes: u64,
    /// Frames emitted per source, in source order.
    pub sources: Vec<(String, u64)>,
    /// libpcap counters per interface.
    pub kernel: Vec<(String, KernelStats)>,
    /// Inputs deliberately not emitted, by reason.
    pub skipped: BTreeMap<&'static str, u64>,
}

impl Report {
    /// Records an interface's kernel counters (they only grow: the latest wins).
    fn set_kernel(&mut self, iface: &str, k: KernelStats) {
        match self.kernel.iter_mut().find(|(n, _)| n == iface) {
            Some((_, old)) => *old = k,
            None => self.kernel.push((iface.to_string(), k)),
        }
    }
}

/// Counts frames into the sink and enforces `-c`.
struct Counter<'s> {
    sink: &'s mut dyn FrameSink,
    limit: Option<u64>,
    report: Report,
}

impl Counter<'_> {
    fn emit(&mut self, source: usize, frame: &Frame<'_>) -> anyhow::Result<Flow> {
        if self.limit.is_some_and(|l| self.report.frames >= l) {
            return Ok(Flow::Stop);
        }
        self.sink.frame(frame)?;
        self.report.frames += 1;
        self.report.bytes += frame.data.len() as u64;
        if let Some((_, n)) = self.report.sources.get_mut(source) {
            *n += 1;
        }
        Ok(match self.limit {
            Some(l) if self.report.frames >= l => Flow::Stop,
            _ => Flow::Continue,
        })
    }
}

/// Runs the capture described by `opts` into `sink`, flushing it at the end.
/// `stop` (SIGINT/SIGTERM) ends it early and cleanly; bad input goes to `bad`.
pub fn run(
    opts: &Options,
    sink: &mut dyn FrameSink,
    stop: &AtomicBool,
    bad: &mut BadInput,
    progress: bool,
) -> anyhow::Result<Report> {
    let concurrent = !opts.interfaces.is_empty()
        || !opts.filters.is_empty()
        || !opts.vxlan_listen.is_empty()
        || !opts.geneve_listen.is_empty();
    if opts.files.is_empty() && !concurrent {
        bail!("nothing to capture: give -r FILE, -i IFACE, --filter IFACE:PORT, --vxlan-listen ADDR:PORT or --geneve-listen ADDR:PORT");
    }
    if !opts.files.is_empty() && concurrent {
        bail!("-r reads files; it cannot be combined with live capture or listeners in one run");
    }
    if opts.bpf.is_some() && opts.interfaces.is_empty() && opts.filters.is_empty() {
        bail!("-f applies to live capture: give -i IFACE or --filter IFACE:PORT");
    }
    if opts.duration.is_some() && !concurrent {
        bail!("--duration applies to live capture and listeners, not to files (use -c)");
    }
    let mut counter = Counter {
        sink,
        limit: opts.count,
        report: Report::default(),
    };
    let outcome = if concurrent {
        run_concurrent(opts, &mut counter, stop, bad)
    } else {
        run_files(opts, &mut counter, stop, bad, progress)
    };
    counter.sink.report(&counter.report);
    let flushed = counter.sink.flush();
    outcome?;
    flushed?;
    Ok(counter.report)
}

fn run_files(
    opts: &Options,
    counter: &mut Counter<'_>,
    stop: &AtomicBool,
    bad: &mut BadInput,
    progress: bool,
) -> anyhow::Result<()> {
    counter.sink.opened()?;
    for path in &opts.files {
        let source = counter.report.sources.len();
        counter.report.sources.push((path.display().to_string(), 0));
        let flow = file::read_file(path, bad, progress, stop, &mut |frame| {
            counter.emit(source, frame)
        })?;
        if flow == Flow::Stop {
            break;
        }
    }
    Ok(())
}

type Start = Box<dyn FnOnce(usize, Feed) -> SourceEnd + Send>;

/// Opens every interface and binds every listener (so a bad one fails the run
/// before anything is captured); returns each source's name and its body.
fn open_sources(opts: &Options) -> anyhow::Result<Vec<(String, bool, Start)>> {
    let mut sources: Vec<(String, bool, Start)> = vec![];
    let live = filter_spec::plan(&opts.interfaces, &opts.filters, opts.bpf.as_deref());
    #[cfg(feature = "live")]
    for src in &live {
        let cap = super::live::LiveCapture::open(src, opts.snaplen, opts.promisc)?;
        let start: Start = Box::new(move |id, feed| cap.run(id, feed));
        sources.push((src.iface.clone(), true, start));
    }
    #[cfg(not(feature = "live"))]
    if let Some(src) = live.first() {
        bail!(
            "{}: this build has no live capture (built without the `live` feature); \
             use --vxlan-listen, --geneve-listen or -r",
            src.iface
        );
    }
    let listeners = opts
        .vxlan_listen
        .iter()
        .map(|a| (Encap::Vxlan, a))
        .chain(opts.geneve_listen.iter().map(|a| (Encap::Geneve, a)));
    for (encap, addr) in listeners {
        let l = Listener::bind(encap, *addr, opts.vni.clone())?;
        let name = l.local_addr().to_string();
        let start: Start = Box::new(move |id, feed| l.run(id, feed));
        sources.push((name, false, start));
    }
    Ok(sources)
}

fn run_concurrent(
    opts: &Options,
    counter: &mut Counter<'_>,
    stop: &AtomicBool,
    bad: &mut BadInput,
) -> anyhow::Result<()> {
    let sources = open_sources(opts)?;
    counter.sink.opened()?;
    let (tx, rx) = mpsc::sync_channel::<Msg>(CHANNEL_FRAMES);
    let halt = Arc::new(AtomicBool::new(false));
    let pool = Arc::new(Pool::default());
    let mut threads = vec![];
    for (id, (name, live, start)) in sources.into_iter().enumerate() {
        counter.report.sources.push((name.clone(), 0));
        let feed = Feed::new(tx.clone(), Arc::clone(&pool), Arc::clone(&halt));
        let handle = std::thread::Builder::new()
            .name(format!("capture {name}"))
            .spawn(move || start(id, feed))
            .context("cannot start a capture thread")?;
        threads.push((name, live, handle));
    }
    drop(tx);
    let deadline = opts.duration.map(|d| Instant::now() + d);
    let mut tunnel_buf: Vec<Tunnel> = Vec::with_capacity(1);
    let names: Vec<String> = counter.report.sources.iter().map(|s| s.0.clone()).collect();

    let mut handle = |msg: Msg, counter: &mut Counter<'_>| -> anyhow::Result<Flow> {
        match msg {
            Msg::Frame(f) => {
                tunnel_buf.clear();
                tunnel_buf.extend(f.tunnel.iter().cloned());
                let frame = Frame {
                    ts: f.ts,
                    src: names.get(f.source).map_or("?", String::as_str).into(),
                    index: f.index,
                    link: f.link,
                    len: f.orig_len,
                    tunnel: std::mem::take(&mut tunnel_buf),
                    data: std::borrow::Cow::Borrowed(&f.data),
                };
                let flow = counter.emit(f.source, &frame);
                tunnel_buf = frame.tunnel;
                pool.give(f.data);
                flow
            }
            Msg::Bad(kind, what) => {
                bad.report(kind, what)?;
                Ok(Flow::Continue)
            }
            Msg::Failed(e) => Err(e),
            Msg::Kernel(source, k) => {
                if let Some(name) = names.get(source) {
                    counter.report.set_kernel(name, k);
                    counter.sink.report(&counter.report);
                }
                Ok(Flow::Continue)
            }
        }
    };

    // Until a stop: take what arrives, flush whenever the sources go quiet.
    let mut main = || -> anyhow::Result<Flow> {
        loop {
            if cli::stopping(stop) {
                return Ok(Flow::Continue);
            }
            let wait = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(POLL),
                    _ => return Ok(Flow::Continue),
                },
                None => POLL,
            };
            let mut next = match rx.recv_timeout(wait) {
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return Ok(Flow::Continue),
            };
            while let Some(msg) = next {
                if handle(msg, counter)? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                next = rx.try_recv().ok();
            }
            counter.sink.flush()?;
        }
    };
    let outcome = main();
    halt.store(true, Ordering::Relaxed);
    // Sources notice the halt within one poll interval. Frames they captured
    // before it are still written, unless the count was reached or it failed.
    let mut outcome = outcome.map(|flow| flow == Flow::Continue);
    // A source that does not stop (it should within a poll interval) must not hang the exit.
    let give_up = Instant::now() + STOP_GRACE;
    let mut stuck = false;
    loop {
        let msg = match rx.recv_timeout(give_up.saturating_duration_since(Instant::now())) {
            Ok(msg) => msg,
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                log::warn!("a capture source did not stop within {STOP_GRACE:?}; ending without its statistics");
                stuck = true;
                break;
            }
        };
        match (&outcome, msg) {
            (Ok(true), msg) => match handle(msg, counter) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => outcome = Ok(false),
                Err(e) => outcome = Err(e),
            },
            (_, Msg::Frame(f)) => pool.give(f.data),
            (_, _) => {}
        }
    }
    for (name, live, thread) in threads {
        if stuck && !thread.is_finished() {
            continue;
        }
        match thread.join() {
            Ok(end) => {
                if let (true, Some(k)) = (live, end.kernel) {
                    counter.report.set_kernel(&name, k);
                }
                for (reason, n) in end.skipped {
                    *counter.report.skipped.entry(reason).or_default() += n;
                }
            }
            Err(_) => log::error!("{name}: capture thread panicked"),
        }
    }
    outcome.map(|_| ())
}

/// `tw-capture`: runs the capture into NDJSON or pcap output and prints the
/// summary on stderr.
pub fn run_cli(opts: &Options, output: &Output, common: &CommonArgs) -> anyhow::Result<()> {
    let stop = cli::shutdown_flag()?;
    let mut bad = BadInput::new(common.strict);
    let progress = common.progress_allowed();
    let (report, sink_skipped) = match output {
        Output::Ndjson => {
            let mut sink = NdjsonSink::new(std::io::stdout().lock());
            let report = run(opts, &mut sink, &stop, &mut bad, progress)?;
            (report, sink.skipped())
        }
        Output::Pcap(path) => {
            let out: Box<dyn Write> = if path.as_os_str() == "-" {
                Box::new(std::io::stdout().lock())
            } else {
                Box::new(
                    File::create(path)
                        .with_context(|| format!("{}: cannot create", path.display()))?,
                )
            };
            let mut sink = PcapSink::new(out);
            let report = run(opts, &mut sink, &stop, &mut bad, progress)?;
            (report, sink.skipped())
        }
    };
    summary(&report, &sink_skipped, &bad).print("tw-capture", common);
    Ok(())
}

/// The running totals: frames, bytes, the kernel's counters summed over the
/// interfaces, frames per source (what `/metrics` shows while capturing).
pub fn totals(report: &Report) -> Summary {
    let mut s = Summary::new()
        .count("frames", report.frames)
        .count("bytes", report.bytes);
    if !report.kernel.is_empty() {
        let total = |f: fn(&KernelStats) -> u64| report.kernel.iter().map(|(_, k)| f(k)).sum();
        s = s
            .count("received by filter", total(|k| k.received))
            .count("dropped by kernel", total(|k| k.dropped))
            .count("dropped by interface", total(|k| k.if_dropped));
    }
    s.group(
        "sources",
        report.sources.iter().map(|(name, n)| (name.as_str(), *n)),
    )
}

/// The end-of-run summary: [`totals`], the kernel's counters per interface,
/// what was skipped and what was malformed.
pub fn summary(report: &Report, sink_skipped: &[(&'static str, u64)], bad: &BadInput) -> Summary {
    let mut skipped = report.skipped.clone();
    for (reason, n) in sink_skipped {
        *skipped.entry(reason).or_default() += n;
    }
    totals(report)
        .group(
            "kernel",
            report.kernel.iter().flat_map(|(name, k)| {
                [
                    (format!("{name} received"), k.received),
                    (format!("{name} dropped"), k.dropped),
                    (format!("{name} if_dropped"), k.if_dropped),
                ]
            }),
        )
        .group("skipped", skipped)
        .group(
            "malformed",
            bad.counts().iter().map(|(k, n)| (k.as_str(), *n)),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_file(name: &str, frames: &[&[u8]]) -> PathBuf {
        let mut v = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
        v.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        for (i, f) in frames.iter().enumerate() {
            for x in [1_714_564_800, i as u32, f.len() as u32, f.len() as u32] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            v.extend_from_slice(f);
        }
        let dir = std::env::temp_dir().join(format!("tw-capture-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, v).unwrap();
        path
    }

    /// A closure is a sink: what `tapwatch run` does without JSON in between.
    #[test]
    fn closure_sink_sees_frames_in_file_order_and_count_stops() {
        let a = pcap_file("a.pcap", &[b"a0", b"a1"]);
        let b = pcap_file("b.pcap", &[b"b0"]);
        let cases: [(Option<u64>, &[&[u8]]); 3] = [
            (None, &[b"a0", b"a1", b"b0"]),
            (Some(2), &[b"a0", b"a1"]),
            (Some(3), &[b"a0", b"a1", b"b0"]),
        ];
        for (count, want) in cases {
            let opts = Options {
                files: vec![a.clone(), b.clone()],
                count,
                ..Options::default()
            };
            let mut got: Vec<(Vec<u8>, u64)> = vec![];
            let mut sink = |f: &Frame<'_>| -> anyhow::Result<()> {
                got.push((f.data.to_vec(), f.index));
                Ok(())
            };
            let stop = AtomicBool::new(false);
            let report = run(&opts, &mut sink, &stop, &mut BadInput::new(false), false).unwrap();
            let data: Vec<&[u8]> = got.iter().map(|(d, _)| d.as_slice()).collect();
            assert_eq!(data, want, "count {count:?}");
            assert_eq!(report.frames, want.len() as u64);
            assert_eq!(
                report.sources[0],
                (a.display().to_string(), want.len().min(2) as u64)
            );
        }
    }

    #[test]
    fn refuses_option_mixes_that_mean_nothing() {
        let file = || vec![PathBuf::from("x.pcap")];
        let listen = || vec!["127.0.0.1:0".parse().unwrap()];
        let cases = [
            (Options::default(), "nothing to capture"),
            (
                Options {
                    files: file(),
                    vxlan_listen: listen(),
                    ..Options::default()
                },
                "cannot be combined",
            ),
            (
                Options {
                    vxlan_listen: listen(),
                    bpf: Some("tcp".into()),
                    ..Options::default()
                },
                "-f applies to live capture",
            ),
            (
                Options {
                    files: file(),
                    duration: Some(Duration::from_secs(1)),
                    ..Options::default()
                },
                "--duration applies",
            ),
        ];
        for (opts, want) in cases {
            let mut sink = |_: &Frame<'_>| -> anyhow::Result<()> { Ok(()) };
            let stop = AtomicBool::new(false);
            let err = run(&opts, &mut sink, &stop, &mut BadInput::new(false), false)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{err}");
        }
    }
}
