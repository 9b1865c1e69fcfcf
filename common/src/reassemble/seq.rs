//! TCP sequence numbers: 32-bit, wrapping, compared within half the space
//! (RFC 793 / RFC 1982 serial arithmetic, as smoltcp's `TcpSeqNumber`).

use std::cmp::Ordering;
use std::fmt;

/// A TCP sequence number. Arithmetic wraps; `a < b` means `b` is ahead of `a`
/// by less than 2^31. There is no `Ord`: the relation is not transitive.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// `self + n`, wrapping.
    pub fn plus(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }

    /// Signed distance from `other` to `self` (positive when `self` is ahead).
    pub fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }
}

impl PartialOrd for SeqNum {
    fn partial_cmp(&self, other: &SeqNum) -> Option<Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

impl fmt::Debug for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_across_wraparound() {
        let cases: &[(u32, u32, Ordering)] = &[
            (1, 2, Ordering::Less),
            (u32::MAX, 0, Ordering::Less),
            (u32::MAX - 10, 5, Ordering::Less),
            (5, u32::MAX - 10, Ordering::Greater),
            (7, 7, Ordering::Equal),
            (0, 0x7fff_ffff, Ordering::Less),
        ];
        for &(a, b, want) in cases {
            assert_eq!(SeqNum(a).partial_cmp(&SeqNum(b)), Some(want), "{a} vs {b}");
        }
    }

    #[test]
    fn add_and_diff_wrap() {
        assert_eq!(SeqNum(u32::MAX).plus(2), SeqNum(1));
        assert_eq!(SeqNum(1).diff(SeqNum(u32::MAX)), 2);
        assert_eq!(SeqNum(u32::MAX).diff(SeqNum(1)), -2);
        assert!(SeqNum(u32::MAX - 100).plus(1000) > SeqNum(u32::MAX - 100));
    }
}
