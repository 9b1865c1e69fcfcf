//! Sinks: stdout, rotating files and syslog. (The webhook is in `webhook`.)

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufWriter, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::time::Ts;

use super::spec::{Rotate, Transport};

/// One record as a sink receives it: already masked and in the sink's format.
pub struct Item<'a> {
    /// Record type.
    pub kind: &'a str,
    /// Packet time of the record (`ts`, else `last_seen`), when it has one.
    pub ts: Option<Ts>,
    /// `severity` of a `vuln`.
    pub severity: Option<&'a str>,
    pub event_id: &'a str,
    /// The record in the sink's format, one line of JSON without newline.
    pub line: &'a [u8],
}

/// Somewhere records go.
pub trait Sink: Send {
    /// Takes one record. An error ends the run (a broken stdout, a full disk).
    fn send(&mut self, item: &Item<'_>) -> io::Result<()>;
    /// End of input: deliver or persist what is held.
    fn finish(&mut self) -> io::Result<()>;
    /// Counters for the summary, in order.
    fn counters(&self) -> Vec<(&'static str, u64)>;
    /// SIGHUP: close and reopen any file (a no-op for other sinks).
    fn reopen(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// NDJSON on stdout.
pub struct StdoutSink {
    out: BufWriter<io::Stdout>,
    written: u64,
}

impl StdoutSink {
    pub fn new() -> StdoutSink {
        StdoutSink {
            out: BufWriter::with_capacity(256 << 10, io::stdout()),
            written: 0,
        }
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

impl Sink for StdoutSink {
    fn send(&mut self, item: &Item<'_>) -> io::Result<()> {
        self.out.write_all(item.line)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![("written", self.written)]
    }
}

/// `20240501T120000Z`: a record time for file names.
fn compact(ts: Ts) -> String {
    let full = ts.to_string();
    let base = full
        .split('.')
        .next()
        .unwrap_or(&full)
        .trim_end_matches('Z');
    let mut out: String = base.chars().filter(|c| *c != '-' && *c != ':').collect();
    out.push('Z');
    out
}

/// The record time of an NDJSON line (`ts`, else `last_seen`).
pub fn line_time(line: &[u8]) -> Option<Ts> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default)]
        ts: Option<Ts>,
        #[serde(default)]
        last_seen: Option<Ts>,
        #[serde(default, rename = "@timestamp")]
        at: Option<Ts>,
        #[serde(default)]
        timestamp: Option<Ts>,
    }
    let p: Probe = serde_json::from_slice(line).ok()?;
    p.ts.or(p.last_seen).or(p.at).or(p.timestamp)
}

/// Records appended to a file, rotated by size and by packet time.
///
/// The live file is `PATH`. It is rotated to `PATH.<time>.<seq>` (`.gz` when
/// gzip is on), where `<time>` is the packet time of the first record in it
/// (`20240501T120000Z`, `notime` when it had none) and `<seq>` counts rotations
/// (six digits, continuing after the highest already in the directory), so
/// names do not depend on the wall clock. A new file starts before a record
/// that would take the file past the size limit (a larger record gets a file
/// of its own) and before the first record of a new time period: periods are
/// multiples of the interval since the epoch, on the records' packet time
/// (`ts`, or `last_seen` for `endpoint`); records without a time never start
/// one. An existing `PATH` is appended to. Rotated files are fsynced before
/// the rename (and the gzip copy before the original is removed); the live
/// file is flushed and fsynced at exit.
pub struct FileSink {
    path: PathBuf,
    rotate: Rotate,
    gzip: bool,
    out: Option<BufWriter<File>>,
    size: u64,
    first_ts: Option<Ts>,
    period: Option<i128>,
    next_seq: u64,
    written: u64,
    rotated: u64,
    /// Records written since the file was last flushed to disk.
    unflushed: u64,
    /// Records a failed write or flush kept from the disk (counted, not written).
    lost: u64,
}

impl FileSink {
    pub fn open(path: &Path, rotate: Rotate, gzip: bool) -> io::Result<FileSink> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let mut sink = FileSink {
            path: path.to_path_buf(),
            rotate,
            gzip,
            out: None,
            size: 0,
            first_ts: None,
            period: None,
            next_seq: 1,
            written: 0,
            rotated: 0,
            unflushed: 0,
            lost: 0,
        };
        sink.next_seq = sink.highest_seq() + 1;
        if let Ok(meta) = fs::metadata(path) {
            if meta.len() > 0 {
                sink.size = meta.len();
                let mut first = vec![];
                io::BufReader::new(File::open(path)?).read_until(b'\n', &mut first)?;
                sink.first_ts = line_time(&first);
                sink.period = sink.first_ts.and_then(|t| sink.period_of(t));
            }
        }
        Ok(sink)
    }

    fn highest_seq(&self) -> u64 {
        let (Some(dir), Some(name)) = (self.dir(), self.path.file_name().and_then(|n| n.to_str()))
        else {
            return 0;
        };
        let prefix = format!("{name}.");
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let n = e.file_name().to_str()?.to_string();
                        let rest = n.strip_prefix(&prefix)?;
                        let rest = rest.strip_suffix(".gz").unwrap_or(rest);
                        rest.rsplit_once('.')?.1.parse::<u64>().ok()
                    })
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    }

    fn dir(&self) -> Option<&Path> {
        match self.path.parent() {
            Some(d) if d.as_os_str().is_empty() => Some(Path::new(".")),
            other => other,
        }
    }

    fn period_of(&self, ts: Ts) -> Option<i128> {
        let every = i128::try_from(self.rotate.every?.as_nanos()).ok()?;
        Some(ts.as_nanos().div_euclid(every.max(1)))
    }

    /// Books the outcome of a write or flush: after a failure the records
    /// not yet flushed count as lost, not written (a full disk is reported,
    /// never summarised as success).
    fn settle(&mut self, r: io::Result<()>, flushed: bool) -> io::Result<()> {
        match r {
            Ok(()) => {
                if flushed {
                    self.unflushed = 0;
                }
                Ok(())
            }
            Err(e) => {
                self.lost += self.unflushed;
                self.written -= self.unflushed.min(self.written);
                self.unflushed = 0;
                Err(e)
            }
        }
    }

    fn rotate_now(&mut self) -> io::Result<()> {
        if let Some(mut out) = self.out.take() {
            let synced = out.flush().and_then(|()| out.get_ref().sync_all());
            self.settle(synced, true)?;
        }
        if self.size == 0 {
            return Ok(());
        }
        let time = self.first_ts.map_or_else(|| "notime".to_string(), compact);
        let mut rotated = self.path.as_os_str().to_owned();
        rotated.push(format!(".{time}.{:06}", self.next_seq));
        let rotated = PathBuf::from(rotated);
        fs::rename(&self.path, &rotated)?;
        if self.gzip {
            let mut gz = rotated.as_os_str().to_owned();
            gz.push(".gz");
            let gz = PathBuf::from(gz);
            let mut tmp = gz.as_os_str().to_owned();
            tmp.push(".tmp");
            let tmp = PathBuf::from(tmp);
            let mut enc = flate2::write::GzEncoder::new(
                BufWriter::new(File::create(&tmp)?),
                flate2::Compression::default(),
            );
            io::copy(&mut File::open(&rotated)?, &mut enc)?;
            let file = enc.finish()?.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            fs::rename(&tmp, &gz)?;
            fs::remove_file(&rotated)?;
        }
        self.next_seq += 1;
        self.rotated += 1;
        self.size = 0;
        self.first_ts = None;
        self.period = None;
        Ok(())
    }
}

impl Sink for FileSink {
    fn send(&mut self, item: &Item<'_>) -> io::Result<()> {
        let len = item.line.len() as u64 + 1;
        let period = item.ts.and_then(|t| self.period_of(t));
        let by_size = self
            .rotate
            .max_bytes
            .is_some_and(|max| self.size > 0 && self.size + len > max);
        let by_time = matches!((self.period, period), (Some(cur), Some(new)) if new > cur);
        if by_size || by_time {
            self.rotate_now()?;
        }
        if self.out.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.out = Some(BufWriter::with_capacity(64 << 10, file));
        }
        if let Some(out) = &mut self.out {
            let wrote = out.write_all(item.line).and_then(|()| out.write_all(b"\n"));
            if wrote.is_err() {
                self.lost += 1;
            }
            self.settle(wrote, false)?;
        }
        self.unflushed += 1;
        if self.size == 0 {
            self.first_ts = item.ts;
        }
        if self.period.is_none() || period > self.period {
            self.period = period.or(self.period);
        }
        self.size += len;
        self.written += 1;
        Ok(())
    }

    /// Flushes and closes the file; the next record opens the path again
    /// (a new file when logrotate moved the old one away), with size and
    /// rotation state taken from what is there.
    fn reopen(&mut self) -> io::Result<()> {
        if let Some(mut out) = self.out.take() {
            let synced = out.flush().and_then(|()| out.get_ref().sync_all());
            self.settle(synced, true)?;
        }
        let reopened = FileSink::open(&self.path, self.rotate.clone(), self.gzip)?;
        self.size = reopened.size;
        self.first_ts = reopened.first_ts;
        self.period = reopened.period;
        self.next_seq = reopened.next_seq.max(self.next_seq);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Some(out) = &mut self.out {
            let synced = out.flush().and_then(|()| out.get_ref().sync_all());
            self.settle(synced, true)?;
        }
        Ok(())
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let mut c = vec![("written", self.written), ("rotated", self.rotated)];
        if self.lost > 0 {
            c.push(("lost (write failed)", self.lost));
        }
        c
    }
}

/// Syslog severity of a record: vulns by their severity, attacks warning, the rest info.
fn severity(kind: &str, sev: Option<&str>) -> u8 {
    match (kind, sev) {
        ("vuln", Some("critical")) => 2,
        ("vuln", Some("high")) => 3,
        ("vuln", Some("medium")) | ("attack", _) => 4,
        ("vuln", _) => 5,
        _ => 6,
    }
}

/// The machine's name for the HOSTNAME field, `-` when unknown.
pub fn local_hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| (33..=126).contains(&b)))
        .unwrap_or_else(|| "-".into())
}

/// Formats one RFC 5424 message:
/// `<PRI>1 TIMESTAMP HOSTNAME tapwatch - MSGID [tapwatch@32473 event_id="..." type="..."] MSG`.
///
/// PRI is facility × 8 + severity; TIMESTAMP is the record's packet time cut
/// to microseconds (RFC 5424 allows six fractional digits), `-` when it has
/// none; PROCID is `-`; MSGID is the record type; MSG is the record as JSON
/// (no BOM, so MSG-ANY). 32473 is the private enterprise number RFC 5612
/// reserves for documentation.
pub fn rfc5424(facility: u8, hostname: &str, item: &Item<'_>, out: &mut Vec<u8>) {
    let pri = u16::from(facility) * 8 + u16::from(severity(item.kind, item.severity));
    let ts = item.ts.map_or_else(
        || "-".to_string(),
        |t| Ts::new(t.secs, t.nanos / 1000 * 1000, t.digits.min(6)).to_string(),
    );
    let msgid: String = item
        .kind
        .bytes()
        .filter(|b| (33..=126).contains(b))
        .take(32)
        .map(char::from)
        .collect();
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace(']', "\\]")
    };
    let msgid = if msgid.is_empty() {
        "-".to_string()
    } else {
        msgid
    };
    let _ = write!(
        out,
        "<{pri}>1 {ts} {hostname} tapwatch - {msgid} [tapwatch@32473 event_id=\"{}\" type=\"{}\"] ",
        escape(item.event_id),
        escape(&msgid)
    );
    out.extend_from_slice(item.line);
}

enum Conn {
    Udp(UdpSocket),
    Tcp(Option<TcpStream>),
}

/// RFC 5424 over UDP (one datagram per record) or TCP (RFC 6587 octet
/// counting: `LEN SP MSG`). A TCP sink reconnects after an error and sends the
/// record again once; records that still fail are counted, not retried later
/// (use a webhook with a spool for delivery guarantees).
pub struct SyslogSink {
    conn: Conn,
    addr: String,
    facility: u8,
    hostname: String,
    buf: Vec<u8>,
    sent: u64,
    failed: u64,
    too_large: u64,
    /// No reconnect attempt before this (after a failed one).
    retry_at: Option<Instant>,
}

/// Largest UDP payload sent; a longer record is dropped and counted.
const UDP_MAX: usize = 65_507;

impl SyslogSink {
    pub fn open(
        transport: Transport,
        addr: &str,
        facility: u8,
        hostname: Option<&str>,
    ) -> io::Result<SyslogSink> {
        let conn = match transport {
            Transport::Udp => {
                let target = addr.to_socket_addrs()?.next().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("{addr}: no address"))
                })?;
                let bind = if target.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let sock = UdpSocket::bind(bind)?;
                sock.connect(target)?;
                Conn::Udp(sock)
            }
            Transport::Tcp => Conn::Tcp(None),
        };
        Ok(SyslogSink {
            conn,
            addr: addr.to_string(),
            facility,
            hostname: hostname.map_or_else(local_hostname, str::to_string),
            buf: Vec::with_capacity(4096),
            sent: 0,
            failed: 0,
            too_large: 0,
            retry_at: None,
        })
    }

    fn tcp_send(&mut self, frame: &[u8]) -> bool {
        let Conn::Tcp(stream) = &mut self.conn else {
            return false;
        };
        for _ in 0..2 {
            if stream.is_none() {
                if self.retry_at.is_some_and(|t| Instant::now() < t) {
                    return false;
                }
                let connected = self
                    .addr
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok());
                match connected {
                    Some(s) => {
                        let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
                        let _ = s.set_nodelay(true);
                        *stream = Some(s);
                        self.retry_at = None;
                    }
                    None => {
                        self.retry_at = Some(Instant::now() + Duration::from_secs(1));
                        return false;
                    }
                }
            }
            if let Some(s) = stream {
                if s.write_all(frame).is_ok() {
                    return true;
                }
                log::info!("syslog {}: connection lost; reconnecting", self.addr);
                *stream = None;
            }
        }
        false
    }
}

impl Sink for SyslogSink {
    fn send(&mut self, item: &Item<'_>) -> io::Result<()> {
        let mut msg = std::mem::take(&mut self.buf);
        msg.clear();
        rfc5424(self.facility, &self.hostname, item, &mut msg);
        let ok = match &self.conn {
            Conn::Udp(sock) => {
                if msg.len() > UDP_MAX {
                    self.too_large += 1;
                    self.buf = msg;
                    return Ok(());
                }
                sock.send(&msg).is_ok()
            }
            Conn::Tcp(_) => {
                let mut frame = format!("{} ", msg.len()).into_bytes();
                frame.extend_from_slice(&msg);
                self.tcp_send(&frame)
            }
        };
        if ok {
            self.sent += 1;
        } else {
            if self.failed == 0 {
                log::warn!(
                    "syslog {}: cannot send; failed records are counted",
                    self.addr
                );
            }
            self.failed += 1;
        }
        self.buf = msg;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Conn::Tcp(Some(s)) = &mut self.conn {
            let _ = s.flush();
            let _ = s.shutdown(std::net::Shutdown::Write);
        }
        Ok(())
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("sent", self.sent),
            ("failed", self.failed),
            ("too large", self.too_large),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5424_message_shape() {
        let item = Item {
            kind: "vuln",
            ts: Ts::parse("2024-05-01T12:00:00.123456789Z"),
            severity: Some("high"),
            event_id: "abc",
            line: br#"{"type":"vuln"}"#,
        };
        let mut out = vec![];
        rfc5424(16, "sensor1", &item, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<131>1 2024-05-01T12:00:00.123456Z sensor1 tapwatch - vuln [tapwatch@32473 event_id="abc" type="vuln"] {"type":"vuln"}"#
        );
        assert_eq!(
            compact(Ts::parse("2024-05-01T12:00:00.5Z").unwrap()),
            "20240501T120000Z"
        );
    }
}
