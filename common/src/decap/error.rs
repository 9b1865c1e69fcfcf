//! Decoding errors: which layer, at which byte offset (within that layer's
//! header), and why.

use std::fmt;

/// A protocol layer the decapper decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Ethernet,
    Vlan,
    Mpls,
    Pseudowire,
    Pppoe,
    LinuxSll,
    LinuxSll2,
    Null,
    Ipv4,
    Ipv6,
    Udp,
    Tcp,
    Gre,
    Erspan,
    Vxlan,
    Geneve,
}

impl Layer {
    /// The layer's short name, as used in counters.
    pub fn name(self) -> &'static str {
        self.keys().0
    }

    /// The counter names for (name, truncated, malformed).
    fn keys(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Layer::Ethernet => ("ethernet", "ethernet_truncated", "ethernet_malformed"),
            Layer::Vlan => ("vlan", "vlan_truncated", "vlan_malformed"),
            Layer::Mpls => ("mpls", "mpls_truncated", "mpls_malformed"),
            Layer::Pseudowire => ("pseudowire", "pseudowire_truncated", "pseudowire_malformed"),
            Layer::Pppoe => ("pppoe", "pppoe_truncated", "pppoe_malformed"),
            Layer::LinuxSll => ("linux_sll", "linux_sll_truncated", "linux_sll_malformed"),
            Layer::LinuxSll2 => ("linux_sll2", "linux_sll2_truncated", "linux_sll2_malformed"),
            Layer::Null => ("null", "null_truncated", "null_malformed"),
            Layer::Ipv4 => ("ipv4", "ipv4_truncated", "ipv4_malformed"),
            Layer::Ipv6 => ("ipv6", "ipv6_truncated", "ipv6_malformed"),
            Layer::Udp => ("udp", "udp_truncated", "udp_malformed"),
            Layer::Tcp => ("tcp", "tcp_truncated", "tcp_malformed"),
            Layer::Gre => ("gre", "gre_truncated", "gre_malformed"),
            Layer::Erspan => ("erspan", "erspan_truncated", "erspan_malformed"),
            Layer::Vxlan => ("vxlan", "vxlan_truncated", "vxlan_malformed"),
            Layer::Geneve => ("geneve", "geneve_truncated", "geneve_malformed"),
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a header could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// Fewer bytes were captured than the header (or its declared length) needs.
    #[error("{layer}: truncated: needs {need} bytes from offset {offset}, {have} captured")]
    Truncated {
        layer: Layer,
        offset: usize,
        need: usize,
        have: usize,
    },
    /// A field holds a value the protocol does not allow (or we do not decode).
    #[error("{layer}: byte {offset}: {reason}")]
    Malformed {
        layer: Layer,
        offset: usize,
        reason: &'static str,
    },
}

impl ViewError {
    pub fn layer(&self) -> Layer {
        match *self {
            ViewError::Truncated { layer, .. } | ViewError::Malformed { layer, .. } => layer,
        }
    }

    /// The counter this error is counted under: `<layer>_truncated` or `<layer>_malformed`.
    pub fn key(&self) -> &'static str {
        match self {
            ViewError::Truncated { layer, .. } => layer.keys().1,
            ViewError::Malformed { layer, .. } => layer.keys().2,
        }
    }

    pub fn malformed(layer: Layer, offset: usize, reason: &'static str) -> ViewError {
        ViewError::Malformed {
            layer,
            offset,
            reason,
        }
    }

    pub fn truncated(layer: Layer, offset: usize, need: usize, have: usize) -> ViewError {
        ViewError::Truncated {
            layer,
            offset,
            need,
            have,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_layer_offset_and_reason() {
        let e = ViewError::truncated(Layer::Gre, 4, 4, 2);
        assert_eq!(
            e.to_string(),
            "gre: truncated: needs 4 bytes from offset 4, 2 captured"
        );
        assert_eq!(e.key(), "gre_truncated");
        let e = ViewError::malformed(Layer::Vxlan, 0, "I flag clear");
        assert_eq!(e.to_string(), "vxlan: byte 0: I flag clear");
        assert_eq!(e.key(), "vxlan_malformed");
        assert_eq!(e.layer(), Layer::Vxlan);
    }
}
