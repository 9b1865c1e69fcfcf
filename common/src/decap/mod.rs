//! The decap stage: from link-layer frames to one `packet` record per TCP
//! segment, with the encapsulation that was removed.
//!
//! [`Decapper::push`] decodes one frame through any stack of VLAN tags, MPLS
//! labels, PPPoE, IPv4/IPv6 (extension headers, fragments), IP-in-IP, GRE,
//! ERSPAN I/II/III, VXLAN and Geneve, up to [`DecapConfig::max_depth`] layers,
//! and calls `emit` for each TCP segment it finds. Every frame that yields no
//! segment is counted by reason in [`DecapStats`]. The core does no I/O; the
//! `tw-decap` driver loop is in [`driver`].
//!
//! Hot path: no allocation per frame (the tunnel stack is a reused `Vec`,
//! payloads are borrowed from the frame or from a recycled reassembly buffer).

// Table-driven tests spell out their row types.
#![cfg_attr(test, allow(clippy::type_complexity))]

pub mod checksum;
pub mod driver;
pub mod error;
pub mod filter;
pub mod frag;
pub mod view;
mod walk;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

use std::collections::BTreeMap;

pub use crate::net::Cidr;
pub use error::{Layer, ViewError};
pub use filter::Filter;
pub use frag::FragConfig;

use crate::record::{LinkType, Packet, Tunnel};
use crate::time::Ts;

/// Default UDP ports recognised as VXLAN: IANA 4789 and the Linux default 8472.
pub const VXLAN_PORTS: [u16; 2] = [4789, 8472];
/// Default UDP port recognised as Geneve.
pub const GENEVE_PORTS: [u16; 1] = [6081];

/// What the decapper decodes and keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecapConfig {
    /// Most layers removed from one frame (link header, each VLAN tag and MPLS
    /// label, each IP header and each tunnel header count one); deeper frames
    /// are counted as `too_many_layers`.
    pub max_depth: usize,
    /// UDP destination ports decoded as VXLAN.
    pub vxlan_ports: Vec<u16>,
    /// UDP destination ports decoded as Geneve.
    pub geneve_ports: Vec<u16>,
    /// Verify IPv4 header and TCP checksums; drop and count bad ones.
    pub verify_checksums: bool,
    pub filter: Filter,
    pub frag: FragConfig,
}

impl Default for DecapConfig {
    fn default() -> Self {
        DecapConfig {
            max_depth: 16,
            vxlan_ports: VXLAN_PORTS.to_vec(),
            geneve_ports: GENEVE_PORTS.to_vec(),
            verify_checksums: false,
            filter: Filter::default(),
            frag: FragConfig::default(),
        }
    }
}

/// One frame to decode.
#[derive(Debug, Clone, Copy)]
pub struct FrameIn<'a> {
    pub ts: Ts,
    /// Where the frame came from (copied into each packet's `src`).
    pub src: &'a str,
    /// Index of the frame in its source (copied into each packet's `index`).
    pub index: u64,
    pub link: LinkType,
    pub data: &'a [u8],
    /// Layers already removed (e.g. by a VXLAN listener), outermost first;
    /// they come first in each packet's tunnel stack.
    pub tunnel: &'a [Tunnel],
}

impl<'a> FrameIn<'a> {
    /// A frame as a capture file reader returned it, from source `src`.
    pub fn from_raw(raw: &crate::io::RawFrame<'a>, src: &'a str) -> FrameIn<'a> {
        FrameIn {
            ts: raw.ts,
            src,
            index: raw.index,
            link: raw.link,
            data: raw.data,
            tunnel: &[],
        }
    }
}

/// The kinds of counter in [`DecapStats::reasons`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReasonGroup {
    /// Not a TCP segment, or a protocol not decoded (`udp`, `arp`, ...).
    Skipped,
    /// Headers that do not decode (`*_truncated`, `*_malformed`, bad checksums, depth).
    Malformed,
    /// Dropped by a filter (`filtered_*`).
    Filtered,
    /// Fragment reassembly (`fragments`, `frag_*`).
    Fragments,
}

impl ReasonGroup {
    /// The group a counter name belongs to.
    pub fn of(reason: &str) -> ReasonGroup {
        if reason.starts_with("filtered_") {
            ReasonGroup::Filtered
        } else if reason == "fragments" || reason.starts_with("frag_") {
            ReasonGroup::Fragments
        } else if reason.ends_with("_truncated")
            || reason.ends_with("_malformed")
            || reason.ends_with("_bad_checksum")
            || reason == "too_many_layers"
        {
            ReasonGroup::Malformed
        } else {
            ReasonGroup::Skipped
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ReasonGroup::Skipped => "skipped",
            ReasonGroup::Malformed => "malformed",
            ReasonGroup::Filtered => "filtered",
            ReasonGroup::Fragments => "fragments",
        }
    }
}

/// What the decapper did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecapStats {
    /// Frames pushed.
    pub frames: u64,
    /// Packet records emitted.
    pub packets: u64,
    /// Captured bytes of the frames pushed.
    pub bytes: u64,
    /// Counters by reason (see [`ReasonGroup::of`] for their groups).
    pub reasons: BTreeMap<&'static str, u64>,
    /// Frames skipped for an EtherType not decoded, by EtherType (`ethertype_0x88cc`).
    pub ethertypes: BTreeMap<u16, u64>,
    /// Packets skipped for an IP protocol not decoded, by number (`ip_proto_103`).
    pub ip_protos: BTreeMap<u8, u64>,
}

impl DecapStats {
    /// The count of one reason, including `ethertype_0x....` and `ip_proto_N`.
    pub fn get(&self, reason: &str) -> u64 {
        if let Some(hex) = reason.strip_prefix("ethertype_0x") {
            return u16::from_str_radix(hex, 16)
                .ok()
                .and_then(|e| self.ethertypes.get(&e))
                .copied()
                .unwrap_or(0);
        }
        if let Some(n) = reason.strip_prefix("ip_proto_") {
            return n
                .parse::<u8>()
                .ok()
                .and_then(|p| self.ip_protos.get(&p))
                .copied()
                .unwrap_or(0);
        }
        self.reasons.get(reason).copied().unwrap_or(0)
    }

    /// All counters of one group, in name order, with the dynamic ones named.
    pub fn group(&self, group: ReasonGroup) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .reasons
            .iter()
            .filter(|(k, _)| ReasonGroup::of(k) == group)
            .map(|(k, n)| (k.to_string(), *n))
            .collect();
        if group == ReasonGroup::Skipped {
            out.extend(
                self.ethertypes
                    .iter()
                    .map(|(e, n)| (format!("ethertype_0x{e:04x}"), *n)),
            );
            out.extend(
                self.ip_protos
                    .iter()
                    .map(|(p, n)| (format!("ip_proto_{p}"), *n)),
            );
            out.sort();
        }
        out
    }

    pub(crate) fn count(&mut self, reason: &'static str) {
        *self.reasons.entry(reason).or_insert(0) += 1;
    }
}

/// The decap stage core.
#[derive(Debug)]
pub struct Decapper {
    cfg: DecapConfig,
    stats: DecapStats,
    stack: Vec<Tunnel>,
    defrag: frag::Defrag,
}

impl Decapper {
    pub fn new(cfg: DecapConfig) -> Self {
        Decapper {
            defrag: frag::Defrag::new(cfg.frag.clone()),
            stack: Vec::with_capacity(cfg.max_depth + 4),
            cfg,
            stats: DecapStats::default(),
        }
    }

    pub fn config(&self) -> &DecapConfig {
        &self.cfg
    }

    /// Decodes one frame; calls `emit` once per TCP segment found (a completed
    /// fragmented datagram too). The packet borrows from the frame, from the
    /// decapper's tunnel stack, or from a reassembly buffer: copy what you keep.
    pub fn push(&mut self, frame: &FrameIn<'_>, emit: &mut dyn FnMut(&Packet<'_>)) {
        self.stats.frames += 1;
        self.stats.bytes += frame.data.len() as u64;
        self.stack.clear();
        self.stack.extend_from_slice(frame.tunnel);
        let mut walk = walk::Walk {
            cfg: &self.cfg,
            stats: &mut self.stats,
            stack: &mut self.stack,
            defrag: &mut self.defrag,
            emit,
            ts: frame.ts,
            src: frame.src,
            index: frame.index,
            layers: 0,
        };
        walk.link(frame.link, frame.data);
    }

    /// End of input: datagrams still missing fragments are counted as `frag_incomplete`.
    pub fn finish(&mut self) {
        self.defrag.clear(&mut self.stats.reasons);
    }

    pub fn stats(&self) -> &DecapStats {
        &self.stats
    }
}
