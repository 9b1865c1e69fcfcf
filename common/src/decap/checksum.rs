//! The Internet checksum (RFC 1071), for `--verify-checksums`.

use std::net::IpAddr;

/// Adds `data` as big-endian 16-bit words to `sum` (an odd last byte is padded with zero).
pub fn add(mut sum: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_be_bytes(w.try_into().unwrap_or([0; 8]));
        sum += (v >> 48) + ((v >> 32) & 0xffff) + ((v >> 16) & 0xffff) + (v & 0xffff);
    }
    let rest = words.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        sum += u64::from(u16::from_be_bytes([
            p.first().copied().unwrap_or(0),
            p.get(1).copied().unwrap_or(0),
        ]));
    }
    if let Some(&last) = pairs.remainder().first() {
        sum += u64::from(last) << 8;
    }
    sum
}

/// Folds a sum to 16 bits and complements it: 0 means the checksum verified.
pub fn finish(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Whether an IPv4 header (with its checksum field) verifies.
pub fn ipv4_header_ok(header: &[u8]) -> bool {
    finish(add(0, header)) == 0
}

/// Whether a TCP (or UDP) segment verifies against its pseudo-header.
pub fn transport_ok(src: IpAddr, dst: IpAddr, proto: u8, segment: &[u8]) -> bool {
    let mut sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => add(add(0, &s.octets()), &d.octets()),
        (IpAddr::V6(s), IpAddr::V6(d)) => add(add(0, &s.octets()), &d.octets()),
        _ => return false,
    };
    sum += u64::from(proto) + segment.len() as u64;
    finish(add(sum, segment)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_and_odd_lengths() {
        // RFC 1071 section 3 example: sum of these words is 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(add(0, &data)), !0xddf2);
        // Odd length: the last byte is the high half of a word.
        assert_eq!(finish(add(0, &[0x12])), !0x1200);
        assert_eq!(
            add(0, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
            add(add(0, &[1, 2, 3, 4, 5, 6, 7, 8]), &[9, 10])
        );
    }

    #[test]
    fn ipv4_header_verifies_and_detects_a_flip() {
        // A real header with a correct checksum (0xb861).
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert!(ipv4_header_ok(&h));
        h[8] = 0x3f;
        assert!(!ipv4_header_ok(&h));
    }
}
