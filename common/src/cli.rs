//! What every binary shares: common flags, exit codes, the run wrapper that maps
//! errors to exit codes, bad-input reporting, the stderr summary, progress bars
//! and shutdown signals.

use std::collections::BTreeMap;
use std::fmt::{self, Display};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Exit codes, the same for every binary.
pub mod exit {
    /// Success, including when the reader of stdout went away (`| head`) and
    /// when bad input was counted and skipped.
    pub const OK: u8 = 0;
    /// The run could not go on: an input that cannot be opened, an I/O error,
    /// a capture device that fails.
    pub const FAILURE: u8 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// `--strict` and the input held a malformed line, packet or record.
    pub const BAD_INPUT: u8 = 3;
}

/// Flags every binary takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// More messages on stderr (-v: info, -vv: debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr; no summary, no progress bar.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Stop at the first malformed line, packet or record (exit code 3)
    /// instead of counting it and going on.
    #[arg(long, global = true)]
    pub strict: bool,
    /// Never draw a progress bar (it is drawn only when stderr is a terminal
    /// and CI is unset).
    #[arg(long, global = true)]
    pub no_progress: bool,
}

impl CommonArgs {
    /// Whether a progress bar may be drawn.
    pub fn progress_allowed(&self) -> bool {
        !self.quiet
            && !self.no_progress
            && std::io::stderr().is_terminal()
            && std::env::var_os("CI").is_none()
    }
}

/// The environment variable that makes a binary print its man page (roff) to
/// stdout and exit, instead of running. `scripts/gen-man` uses it; so does the
/// test that fails when a checked-in page drifts from the clap definitions.
pub const MAN_ENV: &str = "TAPWATCH_PRINT_MAN";

/// Parses the command line, or prints the man page when [`MAN_ENV`] is set.
pub fn parse_args<A: clap::Parser>() -> A {
    parse_args_from(std::env::args_os())
}

/// [`parse_args`] over given words (`tapwatch` expands `--config FILE` first).
pub fn parse_args_from<A: clap::Parser>(argv: impl IntoIterator<Item = std::ffi::OsString>) -> A {
    if std::env::var_os(MAN_ENV).is_some() {
        let mut out = Vec::new();
        let status = match clap_mangen::Man::new(A::command()).render(&mut out) {
            Ok(()) => std::io::stdout()
                .write_all(&out)
                .map(|_| exit::OK)
                .unwrap_or(exit::FAILURE),
            Err(_) => exit::FAILURE,
        };
        std::process::exit(i32::from(status));
    }
    A::parse_from(argv)
}

/// Raised under `--strict` at the first bad input; mapped to [`exit::BAD_INPUT`].
#[derive(Debug)]
pub struct StrictError(pub String);

impl Display for StrictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (--strict)", self.0)
    }
}

impl std::error::Error for StrictError {}

/// Runs a binary's body: sets up logging, maps the outcome to an exit code.
/// A closed stdout ends quietly with status 0.
pub fn run(
    prog: &'static str,
    common: &CommonArgs,
    body: impl FnOnce() -> anyhow::Result<()>,
) -> ExitCode {
    init_logging(prog, common);
    match body() {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) if crate::io::is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{prog}: error: {e:#}");
            if e.chain().any(|c| c.is::<StrictError>()) {
                ExitCode::from(exit::BAD_INPUT)
            } else {
                ExitCode::from(exit::FAILURE)
            }
        }
    }
}

struct StderrLogger {
    prog: &'static str,
}

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let level = record.level().as_str().to_ascii_lowercase();
            let _ = writeln!(
                std::io::stderr().lock(),
                "{}: {}: {}",
                self.prog,
                level,
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

fn init_logging(prog: &'static str, common: &CommonArgs) {
    let level = match (common.quiet, common.verbose) {
        (true, _) => log::LevelFilter::Error,
        (false, 0) => log::LevelFilter::Warn,
        (false, 1) => log::LevelFilter::Info,
        (false, _) => log::LevelFilter::Debug,
    };
    // A second call (tests running several stages in one process) keeps the first logger.
    if log::set_boxed_logger(Box::new(StderrLogger { prog })).is_ok() {
        log::set_max_level(level);
    }
}

/// Counts bad input by kind, warns once per kind, and under `--strict` turns
/// the first one into an error.
#[derive(Debug, Default)]
pub struct BadInput {
    strict: bool,
    counts: BTreeMap<String, u64>,
}

impl BadInput {
    pub fn new(strict: bool) -> Self {
        BadInput {
            strict,
            counts: BTreeMap::new(),
        }
    }

    /// Records one bad input of `kind`; `what` says where and why
    /// ("capture.pcap: packet 12: ...").
    pub fn report(&mut self, kind: &str, what: impl Display) -> anyhow::Result<()> {
        if self.strict {
            return Err(StrictError(what.to_string()).into());
        }
        let n = match self.counts.get_mut(kind) {
            Some(n) => n,
            None => self.counts.entry(kind.to_string()).or_default(),
        };
        *n += 1;
        if *n == 1 {
            log::warn!("{what} (further '{kind}' problems are counted, not shown; -v shows them)");
        } else {
            log::info!("{what}");
        }
        Ok(())
    }

    pub fn counts(&self) -> &BTreeMap<String, u64> {
        &self.counts
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// The end-of-run summary on stderr: headline counters in order, then named
/// groups of counters (what was skipped and why, what was malformed).
#[derive(Debug, Default, Clone)]
pub struct Summary {
    headline: Vec<(&'static str, u64)>,
    groups: Vec<(&'static str, Vec<(String, u64)>)>,
}

impl Summary {
    pub fn new() -> Self {
        Summary::default()
    }

    /// Adds another summary of the same stage (one per worker thread) into this one.
    pub fn absorb(&mut self, other: &Summary) {
        for (name, n) in &other.headline {
            match self.headline.iter_mut().find(|(k, _)| k == name) {
                Some((_, m)) => *m += n,
                None => self.headline.push((name, *n)),
            }
        }
        for (name, counts) in &other.groups {
            let at = match self.groups.iter().position(|(k, _)| k == name) {
                Some(i) => i,
                None => {
                    self.groups.push((name, vec![]));
                    self.groups.len() - 1
                }
            };
            if let Some((_, mine)) = self.groups.get_mut(at) {
                for (k, n) in counts {
                    match mine.iter_mut().find(|(j, _)| j == k) {
                        Some((_, m)) => *m += n,
                        None => mine.push((k.clone(), *n)),
                    }
                }
            }
        }
    }

    pub fn count(mut self, name: &'static str, n: u64) -> Self {
        self.headline.push((name, n));
        self
    }

    /// A group of counters, printed only when one of them is non-zero.
    pub fn group<K: Display>(
        mut self,
        name: &'static str,
        counts: impl IntoIterator<Item = (K, u64)>,
    ) -> Self {
        let counts: Vec<_> = counts
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.to_string(), n))
            .collect();
        if !counts.is_empty() {
            self.groups.push((name, counts));
        }
        self
    }

    /// The headline counters, in order (metrics publish them).
    pub fn headline(&self) -> &[(&'static str, u64)] {
        &self.headline
    }

    /// The named groups of non-zero counters (metrics publish them with a label).
    pub fn groups(&self) -> &[(&'static str, Vec<(String, u64)>)] {
        &self.groups
    }

    /// Prints the summary unless `--quiet`.
    pub fn print(&self, prog: &str, common: &CommonArgs) {
        if !common.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{prog}: {self}");
        }
    }
}

impl Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, n) in &self.headline {
            write!(f, "{}{n} {name}", if first { "" } else { ", " })?;
            first = false;
        }
        for (name, counts) in &self.groups {
            write!(f, "; {name}:")?;
            for (i, (k, n)) in counts.iter().enumerate() {
                write!(f, "{} {k} {n}", if i == 0 { "" } else { "," })?;
            }
        }
        Ok(())
    }
}

/// A byte-progress bar on stderr, or nothing when bars are not allowed.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last: u64,
}

impl Progress {
    /// A bar over `total` bytes (a spinner when unknown), if `allowed`.
    pub fn bytes(total: Option<u64>, allowed: bool) -> Progress {
        let bar = allowed.then(|| {
            let bar = match total {
                Some(total) => indicatif::ProgressBar::new(total).with_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                ),
                None => indicatif::ProgressBar::new_spinner().with_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {bytes} {binary_bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                ),
            };
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
            bar
        });
        Progress { bar, last: 0 }
    }

    /// Sets the position; cheap to call per frame (updates every 256 KiB).
    pub fn set(&mut self, pos: u64) {
        if let Some(bar) = &self.bar {
            if pos.saturating_sub(self.last) >= 256 << 10 {
                bar.set_position(pos);
                self.last = pos;
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A flag raised by SIGHUP (instead of the default of terminating): long
/// runs reopen their output files when they see it.
pub fn hangup_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&flag))?;
    Ok(flag)
}

/// A flag raised by SIGINT or SIGTERM, so loops can end cleanly with
/// everything flushed. A second signal while the first is being handled
/// terminates at once (exit 130), for a user whose run hangs.
pub fn shutdown_flag() -> anyhow::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&flag))?;
        signal_hook::flag::register(sig, Arc::clone(&flag))?;
    }
    Ok(flag)
}

/// Whether a shutdown was asked for.
pub fn stopping(flag: &AtomicBool) -> bool {
    flag.load(Ordering::Relaxed)
}

/// clap value parsers shared by the binaries.
/// Parses a duration: `300`, `300s`, `250ms`, `5m`, `1h`, `1.5s`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("bad duration {s:?} (e.g. 300s, 250ms, 5m)"))?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" => 1e-6,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "bad duration unit {other:?} in {s:?} (ms, s, m, h)"
            ))
        }
    };
    Duration::try_from_secs_f64(n * scale).map_err(|e| format!("bad duration {s:?}: {e}"))
}

/// Parses a size in bytes: `1048576`, `64k`, `1MiB`, `256M`, `2G` (binary multiples).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("bad size {s:?} (e.g. 1MiB, 256M, 65536)"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => return Err(format!("bad size unit {other:?} in {s:?} (k, M, G)")),
    };
    n.checked_mul(1usize << shift)
        .ok_or_else(|| format!("size {s:?} too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_parse() {
        let durations = [
            ("300", Some(Duration::from_secs(300))),
            ("300s", Some(Duration::from_secs(300))),
            ("250ms", Some(Duration::from_millis(250))),
            ("5m", Some(Duration::from_secs(300))),
            ("1.5s", Some(Duration::from_millis(1500))),
            ("x", None),
            ("5y", None),
        ];
        for (s, want) in durations {
            assert_eq!(parse_duration(s).ok(), want, "{s}");
        }
        let sizes = [
            ("1MiB", Some(1 << 20)),
            ("256M", Some(256 << 20)),
            ("64k", Some(64 << 10)),
            ("100", Some(100)),
            ("1T", None),
            ("", None),
        ];
        for (s, want) in sizes {
            assert_eq!(parse_size(s).ok(), want, "{s}");
        }
    }

    #[test]
    fn summary_lists_headline_and_nonzero_groups() {
        let s = Summary::new()
            .count("frames", 10)
            .count("packets", 8)
            .group("skipped", [("udp", 2u64), ("arp", 0)])
            .group("malformed", Vec::<(String, u64)>::new());
        assert_eq!(s.to_string(), "10 frames, 8 packets; skipped: udp 2");
    }

    #[test]
    fn bad_input_counts_and_strict_fails() {
        let mut lax = BadInput::new(false);
        lax.report("json", "x: line 1: bad").unwrap();
        lax.report("json", "x: line 2: bad").unwrap();
        assert_eq!(lax.total(), 2);
        let mut strict = BadInput::new(true);
        let err = strict.report("json", "x: line 1: bad").unwrap_err();
        assert!(err.is::<StrictError>());
        assert_eq!(err.to_string(), "x: line 1: bad (--strict)");
    }
}
