//! tw-ingest: HTTP mirrors in, `http` records out.
//!
//! A small HTTP listener for proxies that copy requests instead of packets:
//! nginx's `mirror`, Envoy's `request_mirror_policies` (and so Istio's
//! mirroring, which adds `-shadow` to the Host), or a gateway plugin that
//! posts request/response pairs in the JSON envelope of [`envelope`]. Every
//! copy becomes the same `http` record `tw-http-parse` emits, so
//! `tw-ingest | tw-detect | tw-export` works unchanged.
//!
//! - **Raw mirror**: the request we receive is the record (no response).
//!   `client` is the peer (the proxy), `real_ip` comes from the real-IP
//!   headers through the trusted proxies, the `-shadow` suffix is taken off
//!   `Host` / `:authority`.
//! - **Envelope**: a POST to the envelope path carries one or more
//!   transactions (request and response) as JSON; each becomes a record.
//!
//! Requests are parsed by the same parser as tapped traffic
//! ([`crate::http::ServerConn`]): HTTP/1.1 keep-alive and pipelining, chunked
//! and compressed bodies, HTTP/2 prior knowledge and `Upgrade: h2c`. Every
//! request is answered as soon as it is read (mirrors are fire-and-forget);
//! records go through a bounded queue to one writer, and what cannot be kept
//! is counted by reason ([`Drops`]). Record times are the wall clock at
//! receipt (a listener has no packet time); record order is the order the
//! writer got them.

pub mod args;
pub mod envelope;
mod h2;
pub mod server;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cli::Summary;
use crate::http::HttpConfig;
use crate::reassemble::{community_id, flow_str};
use crate::record::{Header, Http, Ts};

pub use server::{run, Control};

/// Where the envelope endpoint listens by default.
pub const DEFAULT_ENVELOPE_PATH: &str = "/tapwatch/v1/envelope";
/// The suffix Envoy (and so Istio) adds to a mirrored Host.
pub const DEFAULT_SHADOW_SUFFIX: &str = "-shadow";

/// Listener settings.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Parser settings: body cap, header limits, real-IP headers and trusted proxies.
    pub http: HttpConfig,
    /// Path whose POSTs carry envelopes; `None`: every request is a raw mirror.
    pub envelope_path: Option<String>,
    /// Largest envelope POST body read whole.
    pub envelope_max: usize,
    /// Suffix taken off the mirrored Host / `:authority` (empty: none).
    pub shadow_suffix: String,
    /// Records waiting for the writer at most.
    pub queue: usize,
    /// Connections served at once at most.
    pub max_conns: usize,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// Read a PROXY protocol header at the start of each connection.
    pub proxy_protocol: bool,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            http: HttpConfig::default(),
            envelope_path: Some(DEFAULT_ENVELOPE_PATH.to_string()),
            envelope_max: 8 << 20,
            shadow_suffix: DEFAULT_SHADOW_SUFFIX.to_string(),
            queue: 4096,
            max_conns: 256,
            idle_timeout: Duration::from_secs(120),
            proxy_protocol: false,
        }
    }
}

/// What could not be kept, by reason.
#[derive(Debug, Default)]
pub struct Drops {
    /// Records dropped because the writer queue was full.
    pub queue_full: AtomicU64,
    /// Bodies cut at the body cap (the record is kept, `truncated` set).
    pub body_over_cap: AtomicU64,
    /// Connections refused (503) over `max_conns`.
    pub too_many_connections: AtomicU64,
    /// Requests answered 400 (unparseable request, bad envelope) and dropped.
    pub bad_request: AtomicU64,
}

/// Counters for the end-of-run summary.
#[derive(Debug, Default)]
pub struct IngestStats {
    pub connections: AtomicU64,
    pub http2_connections: AtomicU64,
    /// Raw mirrored requests turned into records.
    pub mirrored: AtomicU64,
    /// Envelope POSTs received.
    pub envelope_posts: AtomicU64,
    /// Transactions taken from envelopes.
    pub envelope_records: AtomicU64,
    /// Records written to stdout.
    pub written: AtomicU64,
    pub drops: Drops,
    /// Parser anomalies, summed over connections.
    pub anomalies: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

pub(crate) fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

impl IngestStats {
    /// The end-of-run summary line.
    pub fn summary(&self) -> Summary {
        let d = &self.drops;
        let anomalies: Vec<(&'static str, u64)> = self
            .anomalies
            .lock()
            .map(|m| m.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default();
        Summary::new()
            .count("records", get(&self.written))
            .count("mirrored requests", get(&self.mirrored))
            .count("envelope records", get(&self.envelope_records))
            .count("envelope posts", get(&self.envelope_posts))
            .count("connections", get(&self.connections))
            .count("HTTP/2 connections", get(&self.http2_connections))
            .group("anomalies", anomalies)
            .group(
                "dropped",
                [
                    ("queue_full", get(&d.queue_full)),
                    ("body_over_cap", get(&d.body_over_cap)),
                    ("too_many_connections", get(&d.too_many_connections)),
                    ("bad_request", get(&d.bad_request)),
                ],
            )
    }
}

/// The wall clock as a record time (microseconds).
pub fn now() -> Ts {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Ts::from_micros(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_micros(),
    )
}

/// The flow id of a served connection (or an envelope transaction): the
/// same FNV-1a + splitmix64 construction as the reassembler's, over the
/// endpoints, the time and a per-run counter.
pub fn flow_id(client: SocketAddr, server: SocketAddr, ts: Ts, n: u64) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for a in [client, server] {
        match a.ip() {
            IpAddr::V4(ip) => eat(&ip.octets()),
            IpAddr::V6(ip) => eat(&ip.octets()),
        }
        eat(&a.port().to_be_bytes());
    }
    eat(&ts.secs.to_be_bytes());
    eat(&ts.nanos.to_be_bytes());
    eat(&n.to_be_bytes());
    let mut z = h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    flow_str(z ^ (z >> 31))
}

/// Community ID v1 of a TCP connection.
pub fn community(client: SocketAddr, server: SocketAddr) -> String {
    community_id(client.ip(), client.port(), server.ip(), server.port(), 6, 0)
}

/// Takes `suffix` off a host (`foo-shadow` -> `foo`, `foo-shadow:8080` ->
/// `foo:8080`, `[::1]-shadow`... is left alone). Returns `None` when there
/// is nothing to strip.
pub fn strip_shadow(host: &str, suffix: &str) -> Option<String> {
    if suffix.is_empty() {
        return None;
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => (n, Some(p)),
        _ => (host, None),
    };
    let base = name.strip_suffix(suffix)?;
    if base.is_empty() {
        return None;
    }
    Some(match port {
        Some(p) => format!("{base}:{p}"),
        None => base.to_string(),
    })
}

/// Strips the shadow suffix from `Host` and `:authority` headers.
pub fn unshadow(headers: &mut [Header], suffix: &str) -> bool {
    let mut changed = false;
    for (name, value) in headers.iter_mut() {
        if name.eq_ignore_ascii_case("host") || name == ":authority" {
            if let Some(v) = strip_shadow(value, suffix) {
                *value = v;
                changed = true;
            }
        }
    }
    changed
}

/// Turns a transaction parsed off a mirror connection into its record: the
/// answer we gave is not part of it, the shadow suffix goes, bodies are cut
/// at the body cap. Returns whether the body was cut at the cap.
pub fn finish_mirror(rec: &mut Http, cfg: &IngestConfig) -> bool {
    rec.response = None;
    let Some(req) = &mut rec.request else {
        return false;
    };
    unshadow(&mut req.headers, &cfg.shadow_suffix);
    cap_body(&mut req.body, &mut req.truncated, cfg.http.body_cap);
    req.truncated && req.body.len() >= cfg.http.body_cap
}

/// Cuts `body` to `cap`; says whether it did.
pub fn cap_body(body: &mut Vec<u8>, truncated: &mut bool, cap: usize) -> bool {
    if body.len() > cap {
        body.truncate(cap);
        body.shrink_to_fit();
        *truncated = true;
        return true;
    }
    false
}

#[cfg(test)]
mod tests;
