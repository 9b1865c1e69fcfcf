//! The listener: an accept loop, one thread per connection, one writer.
//!
//! Connection threads read, parse (the shared HTTP parser), answer at once,
//! and hand records to the writer through a bounded queue without ever
//! waiting on it (a full queue drops the record and counts it). The writer
//! serialises records in the order it receives them and flushes whenever the
//! queue runs empty.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::envelope::{self, Origin};
use super::h2::{self, H2Server};
use super::{bump, community, finish_mirror, flow_id, now, IngestConfig, IngestStats};
use crate::http::{HttpConfig, ServerConn};
use crate::io::NdjsonWriter;
use crate::record::{Http, Record};

/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// How long a write of our answers may block before the connection is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const READ_BUF: usize = 64 << 10;

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";
const NOT_ALLOWED: &[u8] = b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n";
const BAD: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const TOO_LARGE: &[u8] =
    b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const SWITCH: &[u8] =
    b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";

/// When to stop.
#[derive(Debug, Clone)]
pub struct Control {
    /// Raised by SIGINT/SIGTERM (or by us when a limit is reached).
    pub stop: Arc<AtomicBool>,
    /// Stop after writing this many records.
    pub max_records: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
}

/// What every connection thread shares.
struct Shared {
    cfg: IngestConfig,
    /// The parser's settings: the body cap raised to the envelope size, so
    /// an envelope POST is read whole (mirror bodies are cut back after).
    http: Arc<HttpConfig>,
    stats: Arc<IngestStats>,
    stop: Arc<AtomicBool>,
    active: AtomicUsize,
    /// Numbers connections and envelopes for their flow ids.
    counter: AtomicU64,
}

/// Serves `listener` until stopped; records go to `out`. Returns when every
/// connection has ended and the writer has flushed.
pub fn run<W: Write + Send + 'static>(
    listener: TcpListener,
    cfg: IngestConfig,
    out: W,
    control: &Control,
    stats: Arc<IngestStats>,
) -> anyhow::Result<()> {
    let local = listener.local_addr().context("listener address")?;
    listener
        .set_nonblocking(true)
        .context("listener: non-blocking mode")?;
    let mut http = cfg.http.clone();
    if cfg.envelope_path.is_some() {
        http.body_cap = http.body_cap.max(cfg.envelope_max);
    }
    let (tx, rx) = mpsc::sync_channel::<Http>(cfg.queue.max(1));
    let shared = Arc::new(Shared {
        cfg,
        http: Arc::new(http),
        stats: Arc::clone(&stats),
        stop: Arc::clone(&control.stop),
        active: AtomicUsize::new(0),
        counter: AtomicU64::new(0),
    });
    let writer = {
        let stats = Arc::clone(&stats);
        let stop = Arc::clone(&control.stop);
        let max = control.max_records;
        std::thread::Builder::new()
            .name("tw-ingest writer".into())
            .spawn(move || write_records(rx, out, &stats, &stop, max))
            .context("spawn the writer")?
    };
    log::info!("listening on {local}");
    let started = Instant::now();
    let mut conns: Vec<JoinHandle<()>> = Vec::new();
    while !control.stop.load(Ordering::Relaxed) {
        if control.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
        match listener.accept() {
            Ok((sock, peer)) => {
                conns.retain(|h| !h.is_finished());
                accept(sock, peer, &shared, &tx, &mut conns);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                // Out of descriptors and the like: wait, do not spin.
                log::warn!("accept: {e}");
                std::thread::sleep(POLL);
            }
        }
    }
    drop(listener);
    shared.stop.store(true, Ordering::Relaxed);
    for h in conns {
        let _ = h.join();
    }
    drop(tx);
    match writer.join() {
        Ok(r) => r,
        Err(_) => anyhow::bail!("the writer thread panicked"),
    }
}

fn accept(
    mut sock: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    tx: &SyncSender<Http>,
    conns: &mut Vec<JoinHandle<()>>,
) {
    let _ = sock.set_nonblocking(false);
    if shared.active.load(Ordering::Relaxed) >= shared.cfg.max_conns {
        bump(&shared.stats.drops.too_many_connections);
        let _ = sock.set_write_timeout(Some(POLL));
        let _ = sock.write_all(BUSY);
        let _ = sock.shutdown(Shutdown::Both);
        return;
    }
    shared.active.fetch_add(1, Ordering::Relaxed);
    bump(&shared.stats.connections);
    let sh = Arc::clone(shared);
    let tx = tx.clone();
    let spawned = std::thread::Builder::new()
        .name("tw-ingest conn".into())
        .spawn(move || {
            // `serve` gives the slot back itself, before the client can
            // see the connection end.
            serve(sock, peer, &sh, &tx);
        });
    match spawned {
        Ok(h) => conns.push(h),
        Err(e) => {
            shared.active.fetch_sub(1, Ordering::Relaxed);
            bump(&shared.stats.drops.too_many_connections);
            log::warn!("cannot start a connection thread: {e}");
        }
    }
}

fn write_records<W: Write>(
    rx: Receiver<Http>,
    out: W,
    stats: &IngestStats,
    stop: &AtomicBool,
    max: Option<u64>,
) -> anyhow::Result<()> {
    let mut w = NdjsonWriter::new(out);
    let mut written = 0u64;
    let done = |n: u64| max.is_some_and(|m| n >= m);
    if done(0) {
        stop.store(true, Ordering::Relaxed);
        return Ok(());
    }
    loop {
        let first = match rx.recv_timeout(POLL) {
            Ok(h) => h,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut next = Some(first);
        while let Some(h) = next.take() {
            if let Err(e) = w.write(&Record::Http(Box::new(h))) {
                stop.store(true, Ordering::Relaxed);
                return Err(e.into());
            }
            written += 1;
            stats.written.fetch_add(1, Ordering::Relaxed);
            if done(written) {
                stop.store(true, Ordering::Relaxed);
                return w.flush().map_err(Into::into);
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = w.flush() {
            stop.store(true, Ordering::Relaxed);
            return Err(e.into());
        }
    }
    w.flush().map_err(Into::into)
}

/// What became of one transaction: the answer it gets, and whether the
/// connection closes after it.
struct Reply {
    answer: &'static [u8],
    close: bool,
}

/// One connection's state.
struct Conn<'a> {
    sh: &'a Shared,
    tx: &'a SyncSender<Http>,
    peer: SocketAddr,
    local: SocketAddr,
    sc: ServerConn,
    h2: Option<H2Server>,
    /// The first bytes of the stream, while it may still turn out to be
    /// HTTP/2 with prior knowledge.
    early: Vec<u8>,
    /// Bytes to write back.
    out: Vec<u8>,
    close: bool,
}

/// Serves one mirrored connection until it ends, then gives its slot in
/// `sh.active` back (taken by [`accept`]) before closing the socket.
fn serve(mut sock: TcpStream, peer: SocketAddr, sh: &Shared, tx: &SyncSender<Http>) {
    let local = sock
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let n = sh.counter.fetch_add(1, Ordering::Relaxed);
    let opened = now();
    let sc = ServerConn::new(
        Arc::clone(&sh.http),
        flow_id(peer, local, opened, n),
        community(peer, local),
        peer,
        local,
        sh.cfg.proxy_protocol,
    );
    let _ = sock.set_read_timeout(Some(POLL));
    let _ = sock.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = sock.set_nodelay(true);
    let mut c = Conn {
        sh,
        tx,
        peer,
        local,
        sc,
        h2: None,
        early: Vec::new(),
        out: Vec::new(),
        close: false,
    };
    let mut buf = vec![0u8; READ_BUF];
    let mut last = Instant::now();
    while !sh.stop.load(Ordering::Relaxed) && !c.close {
        let n = match sock.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if last.elapsed() >= sh.cfg.idle_timeout {
                    break;
                }
                continue;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        last = Instant::now();
        c.bytes(buf.get(..n).unwrap_or_default());
        if !c.out.is_empty() {
            if sock.write_all(&c.out).is_err() {
                break;
            }
            c.out.clear();
        }
    }
    // The slot is free before the client sees the close: a client that
    // reads to the end and connects again must find it free (it once got a
    // 503 while this thread had closed but not yet counted down).
    sh.active.fetch_sub(1, Ordering::Relaxed);
    let _ = sock.shutdown(Shutdown::Both);
    let mut left = Vec::new();
    c.sc.end(&mut |h| left.push(h));
    for h in left {
        c.take(h);
    }
    if c.h2.is_some() {
        bump(&sh.stats.http2_connections);
    }
    if let Ok(mut m) = sh.stats.anomalies.lock() {
        for (k, v) in &c.sc.stats().anomalies {
            *m.entry(*k).or_default() += v;
        }
    }
}

impl Conn<'_> {
    /// Bytes from the client: parse, answer, queue what completed.
    fn bytes(&mut self, data: &[u8]) {
        let ts = now();
        let mut done = Vec::new();
        self.sc.client_bytes(data, ts, &mut |h| done.push(h));
        for h in done {
            self.take(h);
        }
        if self.h2.is_none() && self.sc.is_http2() {
            // Prior knowledge: the stream so far is the preface and frames.
            let mut out = Vec::new();
            let mut srv = H2Server::new(&mut out);
            let early = std::mem::take(&mut self.early);
            let res = srv
                .feed(&early, &mut out)
                .and_then(|_| srv.feed(data, &mut out));
            self.h2 = Some(srv);
            self.h2_written(out, res, ts);
            return;
        }
        if self.early.len() < h2::PREFACE.len() {
            let take = (h2::PREFACE.len() - self.early.len()).min(data.len());
            self.early
                .extend_from_slice(data.get(..take).unwrap_or_default());
        }
        if let Some(srv) = &mut self.h2 {
            let mut out = Vec::new();
            let res = srv.feed(data, &mut out);
            self.h2_written(out, res, ts);
            return;
        }
        // HTTP/1: answer every request read whole, oldest first.
        let mut guard = 0;
        while let Some(ask) = self.sc.next_unanswered() {
            guard += 1;
            if guard > self.sh.http.max_queue + 1 {
                break;
            }
            if ask.h2c {
                let mut out = SWITCH.to_vec();
                let mut srv = H2Server::new(&mut out);
                h2::answer(&mut out, 1);
                srv.answered += 1;
                self.h2 = Some(srv);
                self.h2_written(out, Ok(()), ts);
                return;
            }
            let placeholder = if ask.connect { NOT_ALLOWED } else { OK };
            let mut done = Vec::new();
            self.sc.server_bytes(placeholder, ts, &mut |h| done.push(h));
            let mut answer = placeholder;
            for h in done {
                let reply = self.take(h);
                answer = reply.answer;
                self.close |= reply.close;
            }
            self.out.extend_from_slice(answer);
            if self.close {
                return;
            }
        }
        if let Some(why) = self.sc.broken() {
            log::debug!("{}: {why}: answered 400", self.peer);
            bump(&self.sh.stats.drops.bad_request);
            self.out.extend_from_slice(BAD);
            self.close = true;
        }
    }

    /// Our HTTP/2 answers: written back, and fed to the parser so the
    /// streams they end come out.
    fn h2_written(&mut self, out: Vec<u8>, res: Result<(), h2::H2Error>, ts: crate::time::Ts) {
        let mut out = out;
        if let Err(why) = res {
            log::debug!("{}: {why}: GOAWAY", self.peer);
            bump(&self.sh.stats.drops.bad_request);
            H2Server::goaway(&mut out, 0, 1);
            self.close = true;
        }
        let mut done = Vec::new();
        self.sc.server_bytes(&out, ts, &mut |h| done.push(h));
        for h in done {
            self.take(h);
        }
        if self.h2.as_ref().is_some_and(|s| s.goaway) {
            self.close = true;
        }
        self.out.extend_from_slice(&out);
    }

    /// Files one transaction: a raw mirror record, or the envelopes a POST
    /// to the envelope path carries.
    fn take(&mut self, mut h: Http) -> Reply {
        let close = wants_close(&h);
        if let Some(body) = self.envelope_body(&h) {
            return self.envelopes(body, &h, close);
        }
        if finish_mirror(&mut h, &self.sh.cfg) {
            bump(&self.sh.stats.drops.body_over_cap);
        }
        bump(&self.sh.stats.mirrored);
        self.queue(h);
        Reply { answer: OK, close }
    }

    fn envelope_body<'h>(&self, h: &'h Http) -> Option<&'h crate::record::HttpRequest> {
        let path = self.sh.cfg.envelope_path.as_deref()?;
        let req = h.request.as_ref()?;
        let p = req.uri.split('?').next().unwrap_or_default();
        (req.method == "POST" && p == path).then_some(req)
    }

    fn envelopes(&mut self, req: &crate::record::HttpRequest, h: &Http, close: bool) -> Reply {
        bump(&self.sh.stats.envelope_posts);
        if req.truncated {
            log::warn!(
                "{}: envelope POST of {} bytes over --envelope-max (or cut short): answered 413",
                self.peer,
                req.body_len
            );
            bump(&self.sh.stats.drops.bad_request);
            return Reply {
                answer: TOO_LARGE,
                close: true,
            };
        }
        let origin = Origin {
            peer: self.peer,
            local: self.local,
            received: h.ts,
        };
        let items = envelope::parse(&req.body).and_then(|list| {
            list.into_iter()
                .enumerate()
                .map(|(i, e)| {
                    let n = self.sh.counter.fetch_add(1, Ordering::Relaxed);
                    envelope::to_record(e, i, &origin, &self.sh.cfg, n)
                })
                .collect::<Result<Vec<_>, _>>()
        });
        match items {
            Ok(items) => {
                for c in items {
                    if c.cut {
                        bump(&self.sh.stats.drops.body_over_cap);
                    }
                    bump(&self.sh.stats.envelope_records);
                    self.queue(c.record);
                }
                Reply {
                    answer: NO_CONTENT,
                    close,
                }
            }
            Err(e) => {
                log::warn!("{}: bad envelope: {e}: answered 400", self.peer);
                bump(&self.sh.stats.drops.bad_request);
                Reply {
                    answer: BAD,
                    close: true,
                }
            }
        }
    }

    fn queue(&self, h: Http) {
        match self.tx.try_send(h) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => bump(&self.sh.stats.drops.queue_full),
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// HTTP/1.0 without keep-alive, or `Connection: close`.
fn wants_close(h: &Http) -> bool {
    let Some(req) = &h.request else {
        return false;
    };
    let mut keep = req.version != "HTTP/1.0";
    for (n, v) in &req.headers {
        if n.eq_ignore_ascii_case("connection") {
            for t in v.split(',').map(str::trim) {
                if t.eq_ignore_ascii_case("close") {
                    keep = false;
                } else if t.eq_ignore_ascii_case("keep-alive") {
                    keep = true;
                }
            }
        }
    }
    !keep
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The connection's slot is free by the time its client sees the
    /// close: a client that reads an answer to the end and connects again
    /// must not be refused with 503 (once the count went down only after
    /// the socket was closed).
    #[test]
    fn serve_frees_its_slot_before_the_client_sees_the_close() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let (sock, peer) = listener.accept().unwrap();
        let cfg = IngestConfig::default();
        let sh = Shared {
            http: Arc::new(cfg.http.clone()),
            cfg,
            stats: Arc::default(),
            stop: Arc::default(),
            // The slot `accept` took for this connection.
            active: AtomicUsize::new(1),
            counter: AtomicU64::new(0),
        };
        let (tx, _rx) = mpsc::sync_channel(4);
        std::thread::scope(|s| {
            s.spawn(|| serve(sock, peer, &sh, &tx));
            client.write_all(b"GET / HTTP/7.7\r\n\r\n").unwrap();
            let mut answer = Vec::new();
            client.read_to_end(&mut answer).unwrap();
            assert_eq!(answer, BAD);
            assert_eq!(sh.active.load(Ordering::SeqCst), 0);
        });
    }
}
