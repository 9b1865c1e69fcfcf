//! Mirror-tunnel listeners: a UDP socket receiving VXLAN or Geneve, as an AWS
//! VPC Traffic Mirroring target (behind an NLB) or a GWLB appliance does. No
//! root is needed.
//!
//! Each datagram is checked ([`super::tunnel`]); the inner frame is emitted
//! with the tunnel it came through (`outer_src` the peer, `outer_dst` the local
//! address it was sent to). Times are the kernel's receive timestamps
//! (`SO_TIMESTAMPNS`), nanosecond precision.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr, UdpSocket};

use anyhow::Context;

use super::tunnel::{self, VniFilter};
use super::{Feed, Msg, OwnedFrame, SourceEnd, POLL};
use crate::record::{Ts, Tunnel};

/// Receive buffer: the largest UDP payload, so a 9001-byte jumbo frame plus
/// its outer headers (or anything else) fits whole.
pub const DATAGRAM_MAX: usize = 65_535;
/// Socket receive buffer asked of the kernel, to ride out bursts.
const SOCKET_BUFFER: usize = 16 << 20;

/// Which encapsulation a listener expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encap {
    Vxlan,
    Geneve,
}

impl fmt::Display for Encap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encap::Vxlan => "vxlan",
            Encap::Geneve => "geneve",
        })
    }
}

/// A bound listener socket, ready to run.
pub struct Listener {
    sock: UdpSocket,
    local: SocketAddr,
    encap: Encap,
    vni: VniFilter,
    name: String,
}

/// One received datagram's facts.
struct Received {
    len: usize,
    truncated: bool,
    peer: IpAddr,
    /// The address the datagram was sent to (from IP_PKTINFO on a wildcard socket).
    local: IpAddr,
    ts: Ts,
}

impl Listener {
    /// Binds `addr` (port 0 picks a free port; see [`Listener::local_addr`]).
    pub fn bind(encap: Encap, addr: SocketAddr, vni: VniFilter) -> anyhow::Result<Listener> {
        let sock = UdpSocket::bind(addr)
            .with_context(|| format!("--{encap}-listen {addr}: cannot bind"))?;
        sock.set_read_timeout(Some(POLL))?;
        let local = sock.local_addr()?;
        os::setup(&sock, local).with_context(|| format!("--{encap}-listen {local}"))?;
        log::info!("listening for {encap} on udp {local}");
        Ok(Listener {
            sock,
            local,
            encap,
            vni,
            name: local.to_string(),
        })
    }

    /// The bound address; also the `src` of the frames.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Receives until halted, sending frames as source `source`.
    pub(crate) fn run(self, source: usize, feed: Feed) -> SourceEnd {
        let mut buf = vec![0u8; DATAGRAM_MAX];
        let mut rx = os::Receiver::new();
        let mut skipped: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut index = 0u64;
        while !feed.halted() {
            let got = match rx.receive(&self.sock, self.local, &mut buf) {
                Ok(Some(got)) => got,
                Ok(None) => continue,
                Err(e) => {
                    let e = anyhow::Error::new(e).context(format!("{}: receive failed", self.name));
                    feed.send(Msg::Failed(e));
                    break;
                }
            };
            let this = index;
            index += 1;
            let datagram = buf.get(..got.len).unwrap_or_default();
            let bad = |kind: &'static str, why: &dyn fmt::Display| {
                Msg::Bad(
                    kind,
                    format!("{}: datagram {this} from {}: {why}", self.name, got.peer),
                )
            };
            let msg = if got.truncated {
                bad(
                    "datagram_truncated",
                    &format_args!("larger than {DATAGRAM_MAX} bytes, cut"),
                )
            } else {
                let decap = match self.encap {
                    Encap::Vxlan => tunnel::vxlan(datagram),
                    Encap::Geneve => tunnel::geneve(datagram),
                };
                match decap {
                    Err(e) => bad(e.key(), &e),
                    Ok(d) if d.oam => {
                        *skipped.entry("geneve_oam").or_default() += 1;
                        continue;
                    }
                    Ok(d) if !self.vni.allows(d.vni) => {
                        *skipped.entry("vni_filtered").or_default() += 1;
                        continue;
                    }
                    Ok(d) => {
                        let (outer_src, outer_dst) = (got.peer, got.local);
                        let tunnel = match self.encap {
                            Encap::Vxlan => Tunnel::Vxlan {
                                vni: d.vni,
                                outer_src,
                                outer_dst,
                            },
                            Encap::Geneve => Tunnel::Geneve {
                                vni: d.vni,
                                outer_src,
                                outer_dst,
                            },
                        };
                        let mut data = feed.pool.take();
                        data.extend_from_slice(d.inner);
                        Msg::Frame(OwnedFrame {
                            source,
                            ts: got.ts,
                            index: this,
                            link: d.link,
                            orig_len: u32::try_from(d.inner.len()).unwrap_or(u32::MAX),
                            tunnel: Some(tunnel),
                            data,
                        })
                    }
                }
            };
            if !feed.send(msg) {
                break;
            }
        }
        SourceEnd {
            kernel: None,
            skipped,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_canonical(),
        v4 => v4,
    }
}

/// The current time, for platforms without kernel receive timestamps.
#[allow(dead_code)]
fn clock_now() -> Ts {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Ts::from_nanos(
        i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
        now.subsec_nanos(),
    )
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod os {
    //! recvmsg with SO_TIMESTAMPNS and IP_PKTINFO / IPV6_PKTINFO.

    use std::io;
    use std::io::IoSliceMut;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
    use std::os::fd::AsRawFd;

    use nix::errno::Errno;
    use nix::sys::socket::{
        recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
    };

    use super::{canonical, Received, SOCKET_BUFFER};
    use crate::record::Ts;

    pub fn setup(sock: &UdpSocket, local: SocketAddr) -> io::Result<()> {
        setsockopt(sock, sockopt::ReceiveTimestampns, &true)?;
        if let Err(e) = setsockopt(sock, sockopt::RcvBuf, &SOCKET_BUFFER) {
            log::debug!("cannot enlarge the socket receive buffer: {e}");
        }
        // The local address of each datagram is needed only on a wildcard socket.
        if local.ip().is_unspecified() {
            match local {
                SocketAddr::V4(_) => setsockopt(sock, sockopt::Ipv4PacketInfo, &true)?,
                SocketAddr::V6(_) => setsockopt(sock, sockopt::Ipv6RecvPacketInfo, &true)?,
            }
        }
        Ok(())
    }

    pub struct Receiver {
        cmsg: Vec<u8>,
    }

    impl Receiver {
        pub fn new() -> Receiver {
            Receiver {
                cmsg: nix::cmsg_space!(nix::sys::time::TimeSpec, nix::libc::in6_pktinfo),
            }
        }

        /// One datagram into `buf`; `None` when the poll interval passed.
        pub fn receive(
            &mut self,
            sock: &UdpSocket,
            local: SocketAddr,
            buf: &mut [u8],
        ) -> io::Result<Option<Received>> {
            let mut iov = [IoSliceMut::new(buf)];
            let msg = match recvmsg::<SockaddrStorage>(
                sock.as_raw_fd(),
                &mut iov,
                Some(&mut self.cmsg),
                MsgFlags::empty(),
            ) {
                Ok(msg) => msg,
                Err(Errno::EAGAIN | Errno::EINTR) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let peer = msg.address.as_ref().and_then(|a| {
                if let Some(v4) = a.as_sockaddr_in() {
                    Some(IpAddr::V4(v4.ip()))
                } else {
                    a.as_sockaddr_in6().map(|v6| canonical(IpAddr::V6(v6.ip())))
                }
            });
            let mut ts = None;
            let mut dst = None;
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    match c {
                        // time_t is i32 on some 32-bit targets.
                        #[allow(clippy::useless_conversion)]
                        ControlMessageOwned::ScmTimestampns(t) => {
                            ts = Some(Ts::from_nanos(
                                i64::from(t.tv_sec()),
                                u32::try_from(t.tv_nsec()).unwrap_or(0),
                            ));
                        }
                        ControlMessageOwned::Ipv4PacketInfo(info) => {
                            dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                                info.ipi_addr.s_addr,
                            ))));
                        }
                        ControlMessageOwned::Ipv6PacketInfo(info) => {
                            dst = Some(canonical(IpAddr::V6(Ipv6Addr::from(
                                info.ipi6_addr.s6_addr,
                            ))));
                        }
                        _ => {}
                    }
                }
            }
            Ok(Some(Received {
                len: msg.bytes,
                truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
                peer: peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                local: dst.unwrap_or_else(|| canonical(local.ip())),
                ts: ts.unwrap_or_else(super::clock_now),
            }))
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod os {
    //! Portable fallback: recv_from and the clock at receipt.

    use std::io;
    use std::net::{SocketAddr, UdpSocket};

    use super::{canonical, Received};

    pub fn setup(_sock: &UdpSocket, _local: SocketAddr) -> io::Result<()> {
        Ok(())
    }

    pub struct Receiver;

    impl Receiver {
        pub fn new() -> Receiver {
            Receiver
        }

        pub fn receive(
            &mut self,
            sock: &UdpSocket,
            local: SocketAddr,
            buf: &mut [u8],
        ) -> io::Result<Option<Received>> {
            match sock.recv_from(buf) {
                Ok((len, peer)) => Ok(Some(Received {
                    len,
                    truncated: false,
                    peer: canonical(peer.ip()),
                    local: canonical(local.ip()),
                    ts: super::clock_now(),
                })),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        }
    }
}
