//! The bounded queue in front of a webhook: on disk (`--spool-dir`) or in memory.
//!
//! On disk, a spool directory holds segment files `<n>.seg` (one record per
//! line, appended in order, a new segment past 4 MiB) and a `cursor` file
//! (`<segment> <offset>`) naming the first record not yet acknowledged by the
//! receiver. Delivery reads from the cursor; an acknowledged batch moves the
//! cursor (written to a temporary file and renamed over the old one) and
//! deletes segments wholly behind it. A restart reads the cursor and replays
//! from it, in order; a line cut short by a crash at the end of the last
//! segment is cut off.
//!
//! fsync policy: every record is written to the segment (a `write` to the
//! kernel) before the exporter moves on, so it survives a crash or SIGKILL of
//! tw-export. Segment files are fsynced when they are closed and at exit;
//! the cursor is fsynced each time it moves. A power loss can lose records
//! appended since the last fsync, and a batch delivered just before it may be
//! sent again (at-least-once).
//!
//! Bounds: at most `max_records` records and `max_bytes` bytes wait; a record
//! that does not fit is refused (the caller counts it as dropped).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const SEGMENT_MAX: u64 = 4 << 20;

/// Where the queued records live.
enum Store {
    Memory(VecDeque<Vec<u8>>),
    Disk(Disk),
}

/// A bounded FIFO of records (see the module documentation).
pub struct Spool {
    store: Store,
    max_records: u64,
    max_bytes: u64,
    records: u64,
    bytes: u64,
    /// Records and bytes handed out by the last `peek`.
    peeked: (u64, u64),
}

struct Disk {
    dir: PathBuf,
    /// Segment ids on disk, oldest first (the last is the tail).
    segments: VecDeque<u64>,
    head: (u64, u64),
    /// Position after the last peeked record.
    peek_end: (u64, u64),
    tail: File,
    tail_id: u64,
    tail_len: u64,
}

fn seg_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:012}.seg"))
}

impl Spool {
    /// A spool in memory: lost at exit.
    pub fn memory(max_records: u64, max_bytes: u64) -> Spool {
        Spool {
            store: Store::Memory(VecDeque::new()),
            max_records,
            max_bytes,
            records: 0,
            bytes: 0,
            peeked: (0, 0),
        }
    }

    /// Opens (or creates) a spool directory and finds what is still queued.
    pub fn open(dir: &Path, max_records: u64, max_bytes: u64) -> io::Result<Spool> {
        fs::create_dir_all(dir)?;
        let mut ids: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name();
                name.to_str()?.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        ids.sort_unstable();
        let cursor = fs::read_to_string(dir.join("cursor")).ok().and_then(|s| {
            let (a, b) = s.trim().split_once(' ')?;
            Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?))
        });
        let first = ids.first().copied().unwrap_or(1);
        let mut head = match cursor {
            Some((seg, off)) if ids.contains(&seg) => (seg, off),
            // The cursor's segment is gone: it was wholly delivered.
            Some((seg, _)) => (ids.iter().copied().find(|&i| i > seg).unwrap_or(seg + 1), 0),
            None => (first, 0),
        };
        for &id in ids.iter().filter(|&&i| i < head.0) {
            let _ = fs::remove_file(seg_path(dir, id));
        }
        ids.retain(|&i| i >= head.0);
        // Cut a line a crash left half written at the end of the last segment.
        if let Some(&last) = ids.last() {
            let path = seg_path(dir, last);
            let mut data = vec![];
            File::open(&path)?.read_to_end(&mut data)?;
            let keep = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            if keep < data.len() {
                OpenOptions::new()
                    .write(true)
                    .open(&path)?
                    .set_len(keep as u64)?;
            }
        }
        // Count what waits from the cursor on.
        let (mut records, mut bytes) = (0, 0);
        for &id in &ids {
            let mut r = BufReader::new(File::open(seg_path(dir, id))?);
            if id == head.0 {
                r.seek(SeekFrom::Start(head.1))?;
            }
            let mut line = vec![];
            loop {
                line.clear();
                if r.read_until(b'\n', &mut line)? == 0 {
                    break;
                }
                records += 1;
                bytes += line.len() as u64;
            }
        }
        let tail_id = match ids.last() {
            Some(&id) => id,
            None => {
                ids.push(head.0);
                head.1 = 0;
                head.0
            }
        };
        let tail = OpenOptions::new()
            .create(true)
            .append(true)
            .open(seg_path(dir, tail_id))?;
        let tail_len = tail.metadata()?.len();
        if head.0 == tail_id && head.1 > tail_len {
            head.1 = tail_len;
        }
        Ok(Spool {
            store: Store::Disk(Disk {
                dir: dir.to_path_buf(),
                segments: ids.into(),
                head,
                peek_end: head,
                tail,
                tail_id,
                tail_len,
            }),
            max_records,
            max_bytes,
            records,
            bytes,
            peeked: (0, 0),
        })
    }

    /// Records waiting.
    pub fn len(&self) -> u64 {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Bytes waiting.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends one record (one line, no newline); `false` when the spool is full.
    pub fn push(&mut self, line: &[u8]) -> io::Result<bool> {
        let size = line.len() as u64 + 1;
        if self.records + 1 > self.max_records || self.bytes + size > self.max_bytes {
            return Ok(false);
        }
        match &mut self.store {
            Store::Memory(q) => q.push_back(line.to_vec()),
            Store::Disk(d) => {
                if d.tail_len > 0 && d.tail_len + size > SEGMENT_MAX {
                    d.tail.sync_all()?;
                    d.tail_id += 1;
                    d.tail = OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(seg_path(&d.dir, d.tail_id))?;
                    d.tail_len = 0;
                    d.segments.push_back(d.tail_id);
                }
                let mut buf = Vec::with_capacity(line.len() + 1);
                buf.extend_from_slice(line);
                buf.push(b'\n');
                d.tail.write_all(&buf)?;
                d.tail_len += size;
            }
        }
        self.records += 1;
        self.bytes += size;
        Ok(true)
    }

    /// The first `n` records, oldest first, without removing them.
    pub fn peek(&mut self, n: usize) -> io::Result<Vec<Vec<u8>>> {
        let mut out = vec![];
        let mut bytes = 0;
        match &mut self.store {
            Store::Memory(q) => {
                for line in q.iter().take(n) {
                    bytes += line.len() as u64 + 1;
                    out.push(line.clone());
                }
            }
            Store::Disk(d) => {
                let (mut seg, mut off) = d.head;
                let start = seg;
                let mut line = vec![];
                'segments: for &id in d.segments.iter().filter(|&&i| i >= start) {
                    if id != seg {
                        (seg, off) = (id, 0);
                    }
                    let mut r = BufReader::new(File::open(seg_path(&d.dir, id))?);
                    r.seek(SeekFrom::Start(off))?;
                    while out.len() < n {
                        line.clear();
                        let got = r.read_until(b'\n', &mut line)?;
                        if got == 0 || line.last() != Some(&b'\n') {
                            continue 'segments;
                        }
                        off += got as u64;
                        bytes += got as u64;
                        line.pop();
                        out.push(line.clone());
                    }
                    break;
                }
                d.peek_end = (seg, off);
            }
        }
        self.peeked = (out.len() as u64, bytes);
        Ok(out)
    }

    /// Removes what the last `peek` returned: the receiver has it.
    pub fn ack(&mut self) -> io::Result<()> {
        let (n, bytes) = std::mem::take(&mut self.peeked);
        match &mut self.store {
            Store::Memory(q) => {
                q.drain(..(n as usize).min(q.len()));
            }
            Store::Disk(d) => {
                d.head = d.peek_end;
                while d.segments.len() > 1 && d.segments.front().is_some_and(|&s| s < d.head.0) {
                    if let Some(old) = d.segments.pop_front() {
                        fs::remove_file(seg_path(&d.dir, old))?;
                    }
                }
                let tmp = d.dir.join("cursor.tmp");
                let mut f = File::create(&tmp)?;
                writeln!(f, "{} {}", d.head.0, d.head.1)?;
                f.sync_all()?;
                fs::rename(&tmp, d.dir.join("cursor"))?;
            }
        }
        self.records = self.records.saturating_sub(n);
        self.bytes = self.bytes.saturating_sub(bytes);
        Ok(())
    }

    /// Makes what is queued durable (at exit).
    pub fn sync(&mut self) -> io::Result<()> {
        match &mut self.store {
            Store::Memory(_) => Ok(()),
            Store::Disk(d) => d.tail.sync_all(),
        }
    }

    /// Whether records survive a restart.
    pub fn durable(&self) -> bool {
        matches!(self.store, Store::Disk(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tw-spool-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn disk_spool_replays_after_reopen_in_order() {
        let dir = tmpdir("reopen");
        let mut s = Spool::open(&dir, 100, 1 << 20).unwrap();
        for i in 0..10 {
            assert!(s.push(format!("r{i}").as_bytes()).unwrap());
        }
        let got = s.peek(3).unwrap();
        assert_eq!(got, vec![b"r0".to_vec(), b"r1".to_vec(), b"r2".to_vec()]);
        s.ack().unwrap();
        // Peeked but not acknowledged: comes again after a restart.
        s.peek(2).unwrap();
        drop(s);
        // A crash left half a line at the end.
        let mut f = OpenOptions::new()
            .append(true)
            .open(seg_path(&dir, 1))
            .unwrap();
        f.write_all(b"half").unwrap();
        let mut s = Spool::open(&dir, 100, 1 << 20).unwrap();
        assert_eq!(s.len(), 7);
        let got = s.peek(100).unwrap();
        assert_eq!(got.first().unwrap(), b"r3");
        assert_eq!(got.last().unwrap(), b"r9");
        s.ack().unwrap();
        assert!(s.is_empty());
        assert!(s.push(b"r10").unwrap());
        assert_eq!(s.peek(5).unwrap(), vec![b"r10".to_vec()]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bounds_refuse_and_segments_roll() {
        let mut m = Spool::memory(2, 1 << 20);
        assert!(m.push(b"a").unwrap());
        assert!(m.push(b"b").unwrap());
        assert!(!m.push(b"c").unwrap());
        let mut b = Spool::memory(100, 5);
        assert!(b.push(b"abcd").unwrap());
        assert!(!b.push(b"e").unwrap());

        let dir = tmpdir("roll");
        let mut s = Spool::open(&dir, u64::MAX, u64::MAX).unwrap();
        let big = vec![b'x'; 1 << 20];
        for _ in 0..9 {
            assert!(s.push(&big).unwrap());
        }
        let segs = fs::read_dir(&dir).unwrap().count();
        assert!(segs >= 3, "{segs}");
        for _ in 0..9 {
            assert_eq!(s.peek(1).unwrap().len(), 1);
            s.ack().unwrap();
        }
        assert!(s.is_empty());
        let left = fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "seg")
            })
            .count();
        assert_eq!(left, 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
