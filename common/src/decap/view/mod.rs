//! Checked byte views over protocol headers, in the smoltcp style: the length
//! is validated once in `new_checked`, the fixed part of the header is held as
//! a fixed-size array (so every accessor indexes at a constant offset the
//! compiler checks), and field offsets are named constants in a `field` module.
//! Nothing here can panic on any input.

pub mod erspan;
pub mod geneve;
pub mod gre;
pub mod ip;
pub mod l4;
pub mod link;
pub mod mpls;
pub mod vxlan;

pub use erspan::{Erspan2, Erspan3};
pub use geneve::Geneve;
pub use gre::Gre;
pub use ip::{Ipv4, Ipv6, Ipv6Ext};
pub use l4::{Tcp, Udp};
pub use link::{CiscoHdlc, ETag, Ethernet, LinuxSll, LinuxSll2, Null, Pppoe, VlanTag, VnTag};
pub use mpls::MplsLabel;
pub use vxlan::Vxlan;

use super::error::{Layer, ViewError};

/// Splits the fixed `N`-byte header off `buf`, or says how short it is.
#[inline]
pub(crate) fn split<const N: usize>(
    buf: &[u8],
    layer: Layer,
) -> Result<(&[u8; N], &[u8]), ViewError> {
    buf.split_first_chunk::<N>()
        .ok_or(ViewError::truncated(layer, 0, N, buf.len()))
}

#[inline]
pub(crate) fn be16(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

#[inline]
pub(crate) fn be32(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b)
}

/// Reads a big-endian `u32` at `off`, if the bytes are there.
#[inline]
pub(crate) fn be32_at(buf: &[u8], off: usize) -> Option<u32> {
    let b = buf.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

/// Copies `N` bytes at `off` out of a header whose length was already checked;
/// yields zeroes if it was not (never for the constant offsets used here).
#[inline]
pub(crate) fn arr<const N: usize>(buf: &[u8], off: usize) -> [u8; N] {
    buf.get(off..)
        .and_then(|b| b.first_chunk::<N>())
        .copied()
        .unwrap_or([0; N])
}

#[cfg(test)]
pub(crate) mod testing {
    /// Every strict prefix of `valid` must fail to decode with an error, never panic.
    pub fn every_truncation_fails<'a, T>(
        valid: &'a [u8],
        min_len: usize,
        parse: impl Fn(&'a [u8]) -> Result<T, super::ViewError>,
    ) {
        assert!(parse(valid).is_ok(), "the full header must decode");
        for n in 0..min_len {
            assert!(
                parse(&valid[..n]).is_err(),
                "a {n}-byte prefix must not decode"
            );
        }
    }
}
