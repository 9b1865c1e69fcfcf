//! Live capture through libpcap: one capture per interface, run on its own
//! thread. Times come from the pcap header (when the kernel took the packet),
//! with nanosecond precision where the platform offers it.

use std::time::{Duration, Instant};

use anyhow::Context;

use super::filter_spec::LiveSource;
use super::{Feed, KernelStats, Msg, OwnedFrame, SourceEnd, DEFAULT_SNAPLEN, POLL};
use crate::record::{LinkType, Ts};

/// How often a live source sends its kernel counters (for `/metrics`).
const KERNEL_EVERY: Duration = Duration::from_secs(1);

/// An opened, filtered capture, ready to run.
pub struct LiveCapture {
    iface: String,
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    /// Whether header times are nanoseconds (else microseconds).
    nanos: bool,
}

/// Linux (TPACKET) delivers nanosecond stamps when asked; elsewhere ask for
/// microseconds, which every libpcap supports. (The pcap crate ignores the
/// result of `pcap_set_tstamp_precision` and cannot read the precision back,
/// so the request must be one that cannot fail.)
const NANOS: bool = cfg!(any(target_os = "linux", target_os = "android"));

impl LiveCapture {
    /// Opens `src.iface` with its filter. Fails with the interface named
    /// (no such device, no permission, a filter that does not compile).
    pub fn open(src: &LiveSource, snaplen: u32, promisc: bool) -> anyhow::Result<LiveCapture> {
        let iface = &src.iface;
        let precision = if NANOS {
            pcap::Precision::Nano
        } else {
            pcap::Precision::Micro
        };
        let snaplen = i32::try_from(snaplen.clamp(64, DEFAULT_SNAPLEN)).unwrap_or(65_535);
        let cap = pcap::Capture::from_device(iface.as_str())
            .and_then(|c| {
                c.snaplen(snaplen)
                    .promisc(promisc)
                    .timeout(POLL.as_millis() as i32)
                    .buffer_size(32 << 20)
                    .precision(precision)
                    .open()
            })
            .map_err(|e| {
                let why = e.to_string();
                let hint = if why.contains("ermission") || why.contains("not permitted") {
                    " (live capture needs root or CAP_NET_RAW; --vxlan-listen needs neither)"
                } else {
                    ""
                };
                anyhow::anyhow!("{iface}: cannot open for capture: {why}{hint}")
            })?;
        let mut cap = cap
            .setnonblock()
            .with_context(|| format!("{iface}: cannot make the capture non-blocking"))?;
        if let Some(bpf) = &src.bpf {
            cap.filter(bpf, true)
                .with_context(|| format!("{iface}: bad capture filter {bpf:?}"))?;
        }
        let dlt = cap.get_datalink().0;
        let link = LinkType::from_dlt(u32::try_from(dlt).unwrap_or(u32::MAX));
        log::info!(
            "capturing on {iface} (link {link}, snaplen {snaplen}, filter {})",
            src.bpf.as_deref().unwrap_or("none")
        );
        Ok(LiveCapture {
            iface: iface.clone(),
            cap,
            link,
            nanos: NANOS,
        })
    }

    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// Waits until the capture has packets or one poll interval passed.
    /// (A blocking read is not used: with TPACKET_V3 its timeout only starts
    /// once a packet arrived, so an idle interface would never see a stop.)
    fn wait(&self) -> nix::Result<()> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let mut fds = [PollFd::new(self.cap.as_fd(), PollFlags::POLLIN)];
        let ms = u16::try_from(POLL.as_millis()).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The kernel's counters for this capture so far.
    fn kernel(&mut self) -> Result<KernelStats, pcap::Error> {
        self.cap.stats().map(|s| KernelStats {
            received: u64::from(s.received),
            dropped: u64::from(s.dropped),
            if_dropped: u64::from(s.if_dropped),
        })
    }

    /// Captures until halted, sending frames as source `source` and the
    /// kernel's counters about once a second; returns the final counters.
    pub(crate) fn run(mut self, source: usize, feed: Feed) -> SourceEnd {
        let mut index = 0u64;
        let mut reported = Instant::now();
        while !feed.halted() {
            if reported.elapsed() >= KERNEL_EVERY {
                reported = Instant::now();
                // For /metrics while running; a failure shows at the end.
                if let Ok(k) = self.kernel() {
                    if !feed.send(Msg::Kernel(source, k)) {
                        break;
                    }
                }
            }
            let msg = match self.cap.next_packet() {
                Ok(p) => {
                    // time_t is i32 on some 32-bit targets.
                    #[allow(clippy::useless_conversion)]
                    let secs = i64::from(p.header.ts.tv_sec);
                    let frac = u32::try_from(p.header.ts.tv_usec).unwrap_or(0);
                    let ts = if self.nanos {
                        Ts::new(secs, frac, 9)
                    } else {
                        Ts::new(secs, frac.saturating_mul(1000), 6)
                    };
                    let mut data = feed.pool.take();
                    data.extend_from_slice(p.data);
                    let frame = OwnedFrame {
                        source,
                        ts,
                        index,
                        link: self.link,
                        orig_len: p.header.len.max(p.header.caplen),
                        tunnel: None,
                        data,
                    };
                    index += 1;
                    Msg::Frame(frame)
                }
                // Non-blocking: nothing ready. Wait for the descriptor, at most one poll interval.
                Err(pcap::Error::TimeoutExpired) => match self.wait() {
                    Ok(()) => continue,
                    Err(e) => Msg::Failed(
                        anyhow::Error::new(e).context(format!("{}: poll failed", self.iface)),
                    ),
                },
                Err(e) => Msg::Failed(
                    anyhow::Error::new(e).context(format!("{}: capture failed", self.iface)),
                ),
            };
            let failed = matches!(msg, Msg::Failed(_));
            if !feed.send(msg) || failed {
                break;
            }
        }
        let kernel = match self.kernel() {
            Ok(k) => Some(k),
            Err(e) => {
                log::warn!("{}: no kernel statistics: {e}", self.iface);
                None
            }
        };
        SourceEnd {
            kernel,
            ..SourceEnd::default()
        }
    }
}
