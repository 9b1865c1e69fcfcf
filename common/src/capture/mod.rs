//! The capture stage: frames from capture files, network interfaces (libpcap)
//! and mirror-tunnel listeners (VXLAN, Geneve over UDP), handed to a
//! [`FrameSink`] one at a time.
//!
//! - [`file`]: pcap and pcapng files, in order, damaged records reported and skipped.
//! - `live` (feature `live`): one libpcap capture per interface, each on its own thread.
//! - [`listen`]: UDP sockets receiving VXLAN or Geneve mirror traffic (no root needed).
//! - [`filter_spec`]: the `IFACE:PORT` syntax and the plan of live captures.
//! - [`tunnel`]: checked VXLAN and Geneve header views, VNI filters.
//! - [`driver`]: runs the sources into a sink, counts, stops on `-c`,
//!   `--duration` or a signal; [`driver::run_cli`] is what `tw-capture` calls.
//!
//! Concurrent sources (interfaces and listeners) each run on a thread and send
//! owned frames through one bounded channel to the thread that owns the sink;
//! frame buffers go back to a pool, so a long capture allocates nothing per frame.

pub mod driver;
pub mod file;
pub mod filter_spec;
pub mod listen;
#[cfg(feature = "live")]
pub mod live;
pub mod sink;
pub mod tunnel;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use crate::record::{LinkType, Ts, Tunnel};

pub use driver::{run, run_cli, Options, Output, Report};
pub use sink::{FrameSink, NdjsonSink, PcapSink};

/// Default live snapshot length: libpcap's maximum, so nothing is cut.
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// Frames in flight between capture threads and the writer.
pub const CHANNEL_FRAMES: usize = 512;
/// How often blocked sources wake up to check for a stop.
pub const POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Kernel counters of one libpcap capture (`pcap_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets the filter accepted.
    pub received: u64,
    /// Dropped for lack of buffer space: the reader was too slow.
    pub dropped: u64,
    /// Dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// A frame that crossed a thread: owns its bytes (a pooled buffer).
#[derive(Debug)]
pub(crate) struct OwnedFrame {
    pub source: usize,
    pub ts: Ts,
    pub index: u64,
    pub link: LinkType,
    pub orig_len: u32,
    pub tunnel: Option<Tunnel>,
    pub data: Vec<u8>,
}

/// What a source thread sends to the writer.
#[derive(Debug)]
pub(crate) enum Msg {
    Frame(OwnedFrame),
    /// A malformed input, for [`crate::cli::BadInput`] (`kind`, message).
    Bad(&'static str, String),
    /// The source failed and ended.
    Failed(anyhow::Error),
    /// A live source's kernel counters so far (about once a second); only
    /// live sources (feature `live`) send it.
    #[cfg_attr(not(feature = "live"), allow(dead_code))]
    Kernel(usize, KernelStats),
}

/// What a source thread reports when it ends.
#[derive(Debug, Default)]
pub(crate) struct SourceEnd {
    pub kernel: Option<KernelStats>,
    /// Inputs deliberately not emitted, by reason (`vni_filtered`, ...).
    pub skipped: BTreeMap<&'static str, u64>,
}

/// Reused frame buffers, shared by the source threads and the writer.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    bufs: Mutex<Vec<Vec<u8>>>,
}

impl Pool {
    pub fn take(&self) -> Vec<u8> {
        self.bufs
            .lock()
            .ok()
            .and_then(|mut b| b.pop())
            .unwrap_or_default()
    }

    pub fn give(&self, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut bufs) = self.bufs.lock() {
            // The channel bounds how many buffers are in flight; keep about as many.
            if bufs.len() < CHANNEL_FRAMES + 64 {
                bufs.push(buf);
            }
        }
    }
}

/// A source thread's connection to the writer.
#[derive(Clone)]
pub(crate) struct Feed {
    tx: SyncSender<Msg>,
    pub pool: Arc<Pool>,
    halt: Arc<AtomicBool>,
}

impl Feed {
    pub fn new(tx: SyncSender<Msg>, pool: Arc<Pool>, halt: Arc<AtomicBool>) -> Feed {
        Feed { tx, pool, halt }
    }

    /// Whether the source should stop.
    pub fn halted(&self) -> bool {
        self.halt.load(Ordering::Relaxed)
    }

    /// Sends a message, waiting while the channel is full. `false` when the
    /// writer is gone (it drains the channel until every source has ended).
    pub fn send(&self, msg: Msg) -> bool {
        self.tx.send(msg).is_ok()
    }
}
