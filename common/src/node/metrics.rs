//! Prometheus metrics and a health endpoint for the long-lived node.
//!
//! The runner publishes each stage's [`Summary`] (the same counters the
//! end-of-run line on stderr shows) into a [`Metrics`] registry: headline
//! counters become `tapwatch_<stage>_<name>_total`, a group of counters
//! (`skipped: udp 3, arp 1`) becomes `tapwatch_<stage>_<group>_total` with a
//! `reason` label. Workers publish their own summaries as separate parts,
//! summed at exposition, so counters stay monotonic however often they
//! publish. Gauges (queue depths, open flows) are set directly.
//!
//! [`serve`] answers `GET /metrics` (text exposition format 0.0.4: HELP and
//! TYPE lines, families sorted by name, series by labels, label values
//! escaped) and `GET /health` (`200 ok`, or `503` after
//! [`Metrics::set_healthy`]`(false)`) on a tiny HTTP/1.1 server: one thread,
//! one connection at a time, short timeouts, a request-size cap.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cli::Summary;

/// The largest request head read; a longer one gets 431 and the connection closes.
pub const MAX_REQUEST_BYTES: usize = 8 << 10;
/// How long one connection may take, from accept to the last byte written.
pub const CONNECTION_DEADLINE: Duration = Duration::from_secs(5);
/// Read and write timeout of each socket operation.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the accept loop looks at the stop flag.
const POLL: Duration = Duration::from_millis(25);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

/// Labels of one series, sorted by name.
type Labels = Vec<(String, String)>;

#[derive(Debug)]
struct Family {
    help: String,
    kind: Kind,
    /// Series by labels; each holds one value per publishing part (worker).
    series: BTreeMap<Labels, BTreeMap<usize, f64>>,
}

/// The registry: counters from stage summaries, gauges, and health.
#[derive(Debug)]
pub struct Metrics {
    families: Mutex<BTreeMap<String, Family>>,
    healthy: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// An empty registry, healthy.
    pub fn new() -> Metrics {
        Metrics {
            families: Mutex::new(BTreeMap::new()),
            healthy: AtomicBool::new(true),
        }
    }

    /// Publishes a stage's summary counters (from one part: the whole run,
    /// or one worker as [`Metrics::publish_part`]`(stage, 0, ..)`).
    pub fn publish(&self, stage: &str, summary: &Summary) {
        self.publish_part(stage, 0, summary);
    }

    /// Publishes the summary of worker `part` of a stage: its values replace
    /// what that part published before; parts are summed at exposition.
    pub fn publish_part(&self, stage: &str, part: usize, summary: &Summary) {
        let stage = metric_name(stage);
        let mut families = self.lock();
        for (name, n) in summary.headline() {
            let family = counter_name(&stage, name);
            let help = format!("{stage}: {name} (end-of-run summary counter)");
            set(
                &mut families,
                family,
                help,
                Kind::Counter,
                vec![],
                part,
                *n as f64,
            );
        }
        for (group, counts) in summary.groups() {
            let family = counter_name(&stage, group);
            let help = format!("{stage}: {group}, by reason (end-of-run summary group)");
            for (key, n) in counts {
                let labels = vec![("reason".to_string(), key.clone())];
                set(
                    &mut families,
                    family.clone(),
                    help.clone(),
                    Kind::Counter,
                    labels,
                    part,
                    *n as f64,
                );
            }
        }
    }

    /// Sets a gauge (queue depth, open flows). `name` is the full metric name
    /// (`tapwatch_queue_depth`); characters Prometheus does not allow become `_`.
    pub fn set_gauge(&self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.set_labelled(Kind::Gauge, name, help, labels, value);
    }

    /// Sets a counter with labels (`tapwatch_capture_kernel_dropped_total{iface="eth0"}`)
    /// to a total kept elsewhere; `name` is the full metric name.
    pub fn set_counter(&self, name: &str, help: &str, labels: &[(&str, &str)], value: f64) {
        self.set_labelled(Kind::Counter, name, help, labels, value);
    }

    fn set_labelled(
        &self,
        kind: Kind,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
        value: f64,
    ) {
        let mut labels: Labels = labels
            .iter()
            .map(|(k, v)| (label_name(k), v.to_string()))
            .collect();
        labels.sort();
        let mut families = self.lock();
        set(
            &mut families,
            metric_name(name),
            help.to_string(),
            kind,
            labels,
            0,
            value,
        );
    }

    /// What `/health` answers: 200 while healthy, 503 after `set_healthy(false)`.
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Relaxed);
    }

    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// The text exposition format 0.0.4, deterministic: families by name,
    /// series by labels.
    pub fn render(&self) -> String {
        let families = self.lock();
        let mut out = String::new();
        for (name, f) in families.iter() {
            let _ = writeln!(out, "# HELP {name} {}", escape_help(&f.help));
            let kind = match f.kind {
                Kind::Counter => "counter",
                Kind::Gauge => "gauge",
            };
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, parts) in &f.series {
                out.push_str(name);
                if !labels.is_empty() {
                    out.push('{');
                    for (i, (k, v)) in labels.iter().enumerate() {
                        let _ = write!(
                            out,
                            "{}{k}=\"{}\"",
                            if i == 0 { "" } else { "," },
                            escape_label(v)
                        );
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {}", number(parts.values().sum()));
            }
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Family>> {
        // A panic while holding the lock leaves whole values behind: go on.
        self.families.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn set(
    families: &mut BTreeMap<String, Family>,
    name: String,
    help: String,
    kind: Kind,
    labels: Labels,
    part: usize,
    value: f64,
) {
    let family = families.entry(name).or_insert_with(|| Family {
        help,
        kind,
        series: BTreeMap::new(),
    });
    family.series.entry(labels).or_default().insert(part, value);
}

/// `tapwatch_<stage>_<name>_total`.
fn counter_name(stage: &str, name: &str) -> String {
    let base = metric_name(&format!("tapwatch_{stage}_{name}"));
    if base.ends_with("_total") {
        base
    } else {
        base + "_total"
    }
}

/// A valid metric name: lower case, `[a-z0-9_]`, runs of anything else as
/// one `_`, not starting with a digit.
fn metric_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    }
}

/// A valid label name (no `:`; `__` prefixes are trimmed with the other edges).
fn label_name(s: &str) -> String {
    metric_name(&s.replace(':', "_"))
}

fn escape_help(s: &str) -> String {
    s.replace('\\', r"\\").replace('\n', r"\n")
}

fn escape_label(s: &str) -> String {
    s.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Serves `/metrics` and `/health` on `addr` (port 0 picks one) until `stop`
/// is raised; returns the bound address and the server thread.
pub fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).with_context(|| format!("--metrics {addr}: bind"))?;
    listener
        .set_nonblocking(true)
        .context("metrics listener: set non-blocking")?;
    let bound = listener.local_addr().context("metrics listener: address")?;
    let thread = std::thread::Builder::new()
        .name("tw-metrics".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, peer)) => {
                        if let Err(e) = answer(stream, &metrics) {
                            log::debug!("metrics: {peer}: {e}");
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(POLL)
                    }
                    Err(e) => {
                        log::warn!("metrics: accept: {e}");
                        std::thread::sleep(POLL);
                    }
                }
            }
        })
        .context("metrics: spawn server thread")?;
    Ok((bound, thread))
}

/// Reads one request head (bounded in size and time) and answers it; the
/// connection then closes.
fn answer(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let deadline = Instant::now() + CONNECTION_DEADLINE;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut buf = [0u8; MAX_REQUEST_BYTES];
    let mut len = 0;
    let head_end = loop {
        if let Some(end) = find_head_end(buf.get(..len).unwrap_or(&[])) {
            break Some(end);
        }
        if len == buf.len() || Instant::now() > deadline {
            break None;
        }
        let n = stream.read(buf.get_mut(len..).unwrap_or(&mut []))?;
        if n == 0 {
            return Ok(());
        }
        len += n;
    };
    let response = match head_end {
        None if len == buf.len() => reply(
            431,
            "Request Header Fields Too Large",
            "text/plain",
            "request too large\n",
            true,
        ),
        None => reply(408, "Request Timeout", "text/plain", "timeout\n", true),
        Some(end) => route(buf.get(..end).unwrap_or(&[]), metrics),
    };
    stream.write_all(response.as_bytes())?;
    stream.flush()?;
    // Close gracefully: unread request bytes would make the kernel answer
    // with a reset that can destroy the response before the client reads it.
    stream.shutdown(std::net::Shutdown::Write)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut drained = 0;
    while drained < 8 * MAX_REQUEST_BYTES && Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
    Ok(())
}

fn find_head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").or_else(|| {
        // Tolerate bare-LF clients (`printf 'GET / HTTP/1.0\n\n' | nc`).
        b.windows(2).position(|w| w == b"\n\n")
    })
}

fn route(head: &[u8], metrics: &Metrics) -> String {
    let line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, target) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v)) if v.starts_with("HTTP/1.") => (m, t),
        _ => return reply(400, "Bad Request", "text/plain", "bad request\n", true),
    };
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return reply(
            405,
            "Method Not Allowed",
            "text/plain",
            "GET or HEAD\n",
            !head_only,
        );
    }
    let path = target.split('?').next().unwrap_or("");
    match path {
        "/metrics" => reply(
            200,
            "OK",
            "text/plain; version=0.0.4; charset=utf-8",
            &metrics.render(),
            !head_only,
        ),
        "/health" if metrics.healthy() => reply(200, "OK", "text/plain", "ok\n", !head_only),
        "/health" => reply(
            503,
            "Service Unavailable",
            "text/plain",
            "unhealthy\n",
            !head_only,
        ),
        _ => reply(
            404,
            "Not Found",
            "text/plain",
            "not found: try /metrics or /health\n",
            !head_only,
        ),
    }
}

fn reply(status: u16, reason: &str, content_type: &str, body: &str, with_body: bool) -> String {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        if with_body { body } else { "" }
    )
}

#[cfg(test)]
mod tests;
