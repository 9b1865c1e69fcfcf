//! The HTTP webhook: JSON batches POSTed from a spool by a delivery thread.
//!
//! Records are appended to the sink's [`Spool`] as they come (the input never
//! waits for the network). One thread per webhook takes up to `batch` records
//! from the front of the spool and POSTs them as a JSON array with
//! `Content-Type: application/json`, an `Idempotency-Key` header (SHA-1 of
//! the batch body; every record also carries its own `event_id`) and, with
//! `--webhook-auth-env NAME`, `Authorization: <value of $NAME>`.
//!
//! - 2xx: the batch is acknowledged and leaves the spool.
//! - 408, 425, 429, 5xx, or no answer (connection refused, timeout, TLS
//!   failure): the same batch is sent again after a delay that doubles from
//!   `backoff` up to `max_backoff`, with jitter (half the delay plus a
//!   deterministic pseudo-random part, seeded from the URL).
//! - any other status: the receiver refuses the records; they are dropped and
//!   counted as rejected (sending them again would block the queue forever).
//!
//! Delivery is at-least-once and in order: one batch in flight, retried until
//! acknowledged. At end of input the thread keeps delivering until the spool
//! is empty or `--drain-timeout` has passed; what is left stays in an on-disk
//! spool for the next start.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::sink::{Item, Sink};
use super::spec::WebhookOpts;
use super::spool::Spool;

#[derive(Debug, Default, Clone)]
struct Counters {
    queued: u64,
    delivered: u64,
    batches: u64,
    retries: u64,
    rejected: u64,
    dropped: u64,
}

struct State {
    spool: Spool,
    /// End of input: drain until this instant, then stop.
    closing: Option<Instant>,
    counters: Counters,
    /// A spool I/O error the thread hit (reported at finish).
    error: Option<String>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A webhook sink (see the module documentation).
pub struct WebhookSink {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
    drain: Duration,
    url: String,
    left: u64,
}

/// Deterministic jitter: xorshift64 seeded from the URL.
struct Jitter(u64);

impl Jitter {
    fn new(seed: &str) -> Jitter {
        let d = sha1_smol::Sha1::from(seed).digest().bytes();
        let mut s = [0u8; 8];
        s.copy_from_slice(&d[..8]);
        Jitter(u64::from_le_bytes(s) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// The delay before retry number `attempt` (1-based).
    fn delay(&mut self, opts: &WebhookOpts, attempt: u32) -> Duration {
        let base = opts.backoff.as_millis() as u64;
        let max = opts.max_backoff.as_millis() as u64;
        let full = base
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(30))
            .min(max)
            .max(1);
        Duration::from_millis(full / 2 + self.next() % (full / 2 + 1))
    }
}

enum Outcome {
    Delivered,
    Rejected(u16),
    Retry(String),
}

fn post(agent: &ureq::Agent, url: &str, auth: Option<&str>, body: &[u8]) -> Outcome {
    let key = sha1_smol::Sha1::from(body).digest().to_string();
    let mut req = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", &key)
        .header(
            "User-Agent",
            concat!("tapwatch/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(auth) = auth {
        req = req.header("Authorization", auth);
    }
    match req.send(body) {
        Ok(resp) => match resp.status().as_u16() {
            200..=299 => Outcome::Delivered,
            s @ (408 | 425 | 429 | 500..=599) => Outcome::Retry(format!("status {s}")),
            s => Outcome::Rejected(s),
        },
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// Reads the certificates of a PEM file (`ca=FILE`).
pub fn load_ca(path: &std::path::Path) -> std::io::Result<Vec<ureq::tls::Certificate<'static>>> {
    let pem = std::fs::read(path)?;
    let certs: Vec<_> = ureq::tls::parse_pem(&pem)
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: no PEM certificate", path.display()),
        ));
    }
    Ok(certs)
}

fn worker(
    shared: Arc<Shared>,
    url: String,
    auth: Option<String>,
    opts: WebhookOpts,
    ca: Option<Vec<ureq::tls::Certificate<'static>>>,
) {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(opts.timeout))
        .http_status_as_error(false)
        .max_redirects(0);
    if let Some(certs) = ca {
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .build(),
        );
    }
    let agent: ureq::Agent = config.build().into();
    let mut jitter = Jitter::new(&url);
    let shown = super::spec::redact_url(&url);
    let mut attempt = 0u32;
    let mut body = Vec::new();
    loop {
        // Wait for records (or the end), then take a batch.
        let batch = {
            let mut st = shared.lock();
            loop {
                if st.closing.is_some_and(|d| Instant::now() >= d) {
                    return;
                }
                if !st.spool.is_empty() {
                    break;
                }
                if st.closing.is_some() {
                    return;
                }
                st = shared.wake.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            match st.spool.peek(opts.batch) {
                Ok(b) => b,
                Err(e) => {
                    st.error = Some(format!("spool: {e}"));
                    return;
                }
            }
        };
        body.clear();
        body.push(b'[');
        for (i, rec) in batch.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(rec);
        }
        body.push(b']');
        let outcome = post(&agent, &url, auth.as_deref(), &body);
        let mut st = shared.lock();
        match outcome {
            Outcome::Delivered | Outcome::Rejected(_) => {
                if let Err(e) = st.spool.ack() {
                    st.error = Some(format!("spool: {e}"));
                    return;
                }
                let n = batch.len() as u64;
                if let Outcome::Rejected(status) = outcome {
                    log::warn!("webhook {shown}: status {status}: {n} records refused by the receiver, dropped");
                    st.counters.rejected += n;
                } else {
                    st.counters.delivered += n;
                    st.counters.batches += 1;
                    if attempt > 0 {
                        log::info!(
                            "webhook {shown}: delivering again after {attempt} failed attempts"
                        );
                    }
                }
                attempt = 0;
            }
            Outcome::Retry(why) => {
                attempt = attempt.saturating_add(1);
                st.counters.retries += 1;
                let delay = jitter.delay(&opts, attempt);
                if attempt == 1 {
                    log::warn!(
                        "webhook {shown}: {why}; retrying with backoff (records wait in the spool)"
                    );
                } else {
                    log::info!("webhook {shown}: attempt {attempt}: {why}; next in {delay:?}");
                }
                let until = Instant::now() + delay;
                loop {
                    let now = Instant::now();
                    let limit = st.closing.map_or(until, |d| d.min(until));
                    if now >= limit {
                        break;
                    }
                    st = shared
                        .wake
                        .wait_timeout(st, limit - now)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|p| p.into_inner().0);
                }
            }
        }
    }
}

impl WebhookSink {
    /// Starts the delivery thread over `spool` (which may hold records from an earlier run).
    pub fn start(
        url: &str,
        auth: Option<String>,
        opts: WebhookOpts,
        spool: Spool,
        drain: Duration,
    ) -> std::io::Result<WebhookSink> {
        let ca = opts.ca.as_deref().map(load_ca).transpose()?;
        if !spool.is_empty() {
            log::info!(
                "webhook {}: {} records from an earlier run in the spool; replaying them first",
                super::spec::redact_url(url),
                spool.len()
            );
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                spool,
                closing: None,
                counters: Counters::default(),
                error: None,
            }),
            wake: Condvar::new(),
        });
        let worker = {
            let (shared, url) = (Arc::clone(&shared), url.to_string());
            std::thread::Builder::new()
                .name("tw-webhook".into())
                .spawn(move || worker(shared, url, auth, opts, ca))
                .ok()
        };
        Ok(WebhookSink {
            shared,
            worker,
            drain,
            // Only ever shown in messages: redacted.
            url: super::spec::redact_url(url),
            left: 0,
        })
    }
}

impl Sink for WebhookSink {
    fn send(&mut self, item: &Item<'_>) -> std::io::Result<()> {
        let mut st = self.shared.lock();
        if st.spool.push(item.line)? {
            st.counters.queued += 1;
        } else {
            if st.counters.dropped == 0 {
                log::warn!(
                    "webhook {}: spool full; new records are dropped and counted",
                    self.url
                );
            }
            st.counters.dropped += 1;
        }
        drop(st);
        self.shared.wake.notify_one();
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.shared.lock().closing = Some(Instant::now() + self.drain);
        self.shared.wake.notify_one();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        let mut st = self.shared.lock();
        st.spool.sync()?;
        self.left = st.spool.len();
        if self.left > 0 {
            if st.spool.durable() {
                log::warn!("webhook {}: {} records not delivered; they stay in the spool and are sent at the next start", self.url, self.left);
            } else {
                log::warn!(
                    "webhook {}: {} records not delivered and lost (no --spool-dir)",
                    self.url,
                    self.left
                );
            }
        }
        match st.error.take() {
            Some(e) => Err(std::io::Error::other(e)),
            None => Ok(()),
        }
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let c = self.shared.lock().counters.clone();
        vec![
            ("queued", c.queued),
            ("delivered", c.delivered),
            ("batches", c.batches),
            ("retries", c.retries),
            ("rejected", c.rejected),
            ("dropped (spool full)", c.dropped),
            ("left in spool", self.left),
        ]
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        if self.worker.is_some() {
            self.shared.lock().closing = Some(Instant::now());
            self.shared.wake.notify_one();
            if let Some(w) = self.worker.take() {
                let _ = w.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_deterministic_jitter() {
        let opts = WebhookOpts {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..WebhookOpts::default()
        };
        let mut a = Jitter::new("http://x");
        let mut b = Jitter::new("http://x");
        for attempt in 1..10 {
            let d = a.delay(&opts, attempt);
            assert_eq!(d, b.delay(&opts, attempt));
            let full = (100u64 << (attempt - 1)).min(1000);
            let ms = d.as_millis() as u64;
            assert!(ms >= full / 2 && ms <= full, "{attempt}: {ms}");
        }
    }
}
