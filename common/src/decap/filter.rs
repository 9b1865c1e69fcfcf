//! Which packets to keep: VLAN ids, VNIs, TCP ports and ignored address ranges.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::record::{Packet, Tunnel};

/// An address range, `10.0.0.0/8` or `2001:db8::/32` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a CIDR did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("{0:?}: not an IP address")]
    Address(String),
    #[error("{0:?}: prefix length must be a number up to {1}")]
    Prefix(String, u8),
}

impl Cidr {
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside the range (an IPv4 range never holds an IPv6 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::Address(s.to_string()))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| CidrError::Prefix(s.to_string(), max))?,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parse_table() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("10.0.0.0/8", Ok("10.0.0.0/8")),
            ("10.1.2.3", Ok("10.1.2.3/32")),
            ("2001:db8::/32", Ok("2001:db8::/32")),
            ("::1", Ok("::1/128")),
            ("0.0.0.0/0", Ok("0.0.0.0/0")),
            (
                "10.0.0.0/33",
                Err(r#""10.0.0.0/33": prefix length must be a number up to 32"#),
            ),
            (
                "::/129",
                Err(r#""::/129": prefix length must be a number up to 128"#),
            ),
            ("10.0.0/8", Err(r#""10.0.0/8": not an IP address"#)),
            (
                "10.0.0.0/x",
                Err(r#""10.0.0.0/x": prefix length must be a number up to 32"#),
            ),
            ("", Err(r#""": not an IP address"#)),
        ];
        for (text, want) in cases {
            let got = text
                .parse::<Cidr>()
                .map(|c| c.to_string())
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map(String::from).map_err(String::from), "{text}");
        }
    }

    #[test]
    fn cidr_contains_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("10.0.0.0/8", "10.255.1.1", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("0.0.0.0/0", "1.2.3.4", true),
            ("0.0.0.0/0", "::1", false),
            ("192.168.1.7/32", "192.168.1.7", true),
            ("192.168.1.7/32", "192.168.1.8", false),
            ("192.168.1.0/25", "192.168.1.127", true),
            ("192.168.1.0/25", "192.168.1.128", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "fe80::1", true),
            ("fe80::1/128", "fe80::1", true),
            ("fe80::1/128", "10.0.0.1", false),
        ];
        for (net, ip, want) in cases {
            let c: Cidr = net.parse().unwrap();
            assert_eq!(c.contains(ip.parse().unwrap()), *want, "{net} {ip}");
        }
    }
}
