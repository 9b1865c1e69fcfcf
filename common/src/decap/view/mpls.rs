//! MPLS label stack entries (RFC 3032).

use super::{be32, split, Layer, ViewError};

pub mod field {
    pub const ENTRY_LEN: usize = 4;
    pub const BOTTOM_OF_STACK: u32 = 0x100;
}
use field::*;

/// One checked 4-byte label stack entry and what follows it.
#[derive(Debug, Clone, Copy)]
pub struct MplsLabel<'a> {
    entry: u32,
    rest: &'a [u8],
}

impl<'a> MplsLabel<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (entry, rest) = split::<ENTRY_LEN>(buf, Layer::Mpls)?;
        Ok(MplsLabel {
            entry: be32(*entry),
            rest,
        })
    }

    /// The 20-bit label.
    pub fn label(&self) -> u32 {
        self.entry >> 12
    }

    /// Traffic class (3 bits).
    pub fn tc(&self) -> u8 {
        ((self.entry >> 9) & 0x7) as u8
    }

    /// Whether this is the last entry of the stack.
    pub fn bottom(&self) -> bool {
        self.entry & BOTTOM_OF_STACK != 0
    }

    pub fn ttl(&self) -> u8 {
        (self.entry & 0xff) as u8
    }

    /// The bytes after this entry: the next entry, or the payload after the bottom one.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decap::view::testing::every_truncation_fails;

    #[test]
    fn table() {
        let cases: &[(&[u8], (u32, u8, bool, u8))] = &[
            (&[0x00, 0x01, 0x41, 0x40], (20, 0, true, 64)),
            (&[0xff, 0xff, 0xfe, 0x01], (0xfffff, 7, false, 1)),
        ];
        for (bytes, want) in cases {
            let m = MplsLabel::new_checked(bytes).unwrap();
            assert_eq!((m.label(), m.tc(), m.bottom(), m.ttl()), *want);
        }
        every_truncation_fails(&[0, 1, 0x41, 0x40], 4, MplsLabel::new_checked);
    }
}
