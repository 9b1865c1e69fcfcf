//! Which packets to keep: VLAN ids, VNIs, TCP ports and ignored address ranges.

use crate::net::Cidr;
use crate::record::{Packet, Tunnel};

/// Packet filters; an empty list does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Keep only packets with one of these VLAN ids anywhere in the tunnel stack.
    pub vlan: Vec<u16>,
    /// Drop packets with one of these VLAN ids anywhere in the stack.
    pub exclude_vlan: Vec<u16>,
    /// Keep only packets with one of these VXLAN or Geneve VNIs in the stack.
    pub vni: Vec<u32>,
    /// Drop packets with one of these VNIs in the stack.
    pub exclude_vni: Vec<u32>,
    /// Keep only TCP segments with one of these ports on either side.
    pub port: Vec<u16>,
    /// Drop packets whose inner source or destination is inside one of these ranges.
    pub ignore_ip: Vec<Cidr>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.vlan.is_empty()
            && self.exclude_vlan.is_empty()
            && self.vni.is_empty()
            && self.exclude_vni.is_empty()
            && self.port.is_empty()
            && self.ignore_ip.is_empty()
    }

    /// `None` to keep the packet, or the counter naming why it is dropped.
    pub fn check(&self, p: &Packet<'_>) -> Option<&'static str> {
        if self.is_empty() {
            return None;
        }
        let vlans = || {
            p.tunnel.iter().filter_map(|t| match t {
                Tunnel::Vlan { vid } => Some(*vid),
                _ => None,
            })
        };
        let vnis = || {
            p.tunnel.iter().filter_map(|t| match t {
                Tunnel::Vxlan { vni, .. } | Tunnel::Geneve { vni, .. } => Some(*vni),
                _ => None,
            })
        };
        if !self.vlan.is_empty() && !vlans().any(|v| self.vlan.contains(&v)) {
            return Some("filtered_vlan");
        }
        if vlans().any(|v| self.exclude_vlan.contains(&v)) {
            return Some("filtered_exclude_vlan");
        }
        if !self.vni.is_empty() && !vnis().any(|v| self.vni.contains(&v)) {
            return Some("filtered_vni");
        }
        if vnis().any(|v| self.exclude_vni.contains(&v)) {
            return Some("filtered_exclude_vni");
        }
        if !self.port.is_empty()
            && !self.port.contains(&p.tcp.sport)
            && !self.port.contains(&p.tcp.dport)
        {
            return Some("filtered_port");
        }
        if self
            .ignore_ip
            .iter()
            .any(|c| c.contains(p.ip.src) || c.contains(p.ip.dst))
        {
            return Some("filtered_ip");
        }
        None
    }
}
