//! IPv4 (RFC 791) and IPv6 (RFC 8200) headers, and the walk over IPv6
//! extension headers. Payloads are trimmed to the length the header declares,
//! so link-layer padding never reaches the layers above.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{arr, be16, be32_at, split, Layer, ViewError};

pub mod ipv4 {
    pub const VER_IHL: usize = 0;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
    pub const MIN_HEADER_LEN: usize = 20;
    pub const FLAG_DF: u16 = 0x4000;
    pub const FLAG_MF: u16 = 0x2000;
    pub const OFFSET_MASK: u16 = 0x1fff;
}

/// A checked IPv4 header; `payload` ends where the total length says.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4<'a> {
    header: &'a [u8; ipv4::MIN_HEADER_LEN],
    full_header: &'a [u8],
    payload: &'a [u8],
}

impl<'a> Ipv4<'a> {
    /// Checks version, header length and total length against the captured
    /// bytes. A total length of 0 (TCP segmentation offload on the capturing
    /// host) means "what was captured".
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        use ipv4::*;
        let (header, _) = split::<MIN_HEADER_LEN>(buf, Layer::Ipv4)?;
        if header[VER_IHL] >> 4 != 4 {
            return Err(ViewError::malformed(
                Layer::Ipv4,
                VER_IHL,
                "version is not 4",
            ));
        }
        let ihl = usize::from(header[VER_IHL] & 0x0f) * 4;
        if ihl < MIN_HEADER_LEN {
            return Err(ViewError::malformed(
                Layer::Ipv4,
                VER_IHL,
                "header length below 20",
            ));
        }
        let total = match usize::from(be16(arr(header, TOTAL_LEN))) {
            0 => buf.len(),
            n if n < ihl => {
                return Err(ViewError::malformed(
                    Layer::Ipv4,
                    TOTAL_LEN,
                    "total length below header length",
                ))
            }
            n => n,
        };
        let datagram =
            buf.get(..total)
                .ok_or(ViewError::truncated(Layer::Ipv4, 0, total, buf.len()))?;
        let (full_header, payload) = datagram.split_at_checked(ihl).ok_or(ViewError::truncated(
            Layer::Ipv4,
            0,
            ihl,
            buf.len(),
        ))?;
        Ok(Ipv4 {
            header,
            full_header,
            payload,
        })
    }

    pub fn header_len(&self) -> usize {
        self.full_header.len()
    }

    /// The header with options, for checksum verification.
    pub fn header_bytes(&self) -> &'a [u8] {
        self.full_header
    }

    pub fn total_len(&self) -> usize {
        self.full_header.len() + self.payload.len()
    }

    pub fn ident(&self) -> u16 {
        be16(arr(self.header, ipv4::IDENT))
    }

    fn flags_frag(&self) -> u16 {
        be16(arr(self.header, ipv4::FLAGS_FRAG))
    }

    pub fn dont_frag(&self) -> bool {
        self.flags_frag() & ipv4::FLAG_DF != 0
    }

    pub fn more_frags(&self) -> bool {
        self.flags_frag() & ipv4::FLAG_MF != 0
    }

    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> usize {
        usize::from(self.flags_frag() & ipv4::OFFSET_MASK) * 8
    }

    /// Whether this datagram is a fragment (offset non-zero or more to come).
    pub fn is_fragment(&self) -> bool {
        self.flags_frag() & (ipv4::FLAG_MF | ipv4::OFFSET_MASK) != 0
    }

    pub fn ttl(&self) -> u8 {
        self.header[ipv4::TTL]
    }

    pub fn protocol(&self) -> u8 {
        self.header[ipv4::PROTOCOL]
    }

    pub fn checksum(&self) -> u16 {
        be16(arr(self.header, ipv4::CHECKSUM))
    }

    pub fn src(&self) -> Ipv4Addr {
        Ipv4Addr::from(arr::<4>(self.header, ipv4::SRC))
    }

    pub fn dst(&self) -> Ipv4Addr {
        Ipv4Addr::from(arr::<4>(self.header, ipv4::DST))
    }

    /// The bytes after the header, up to the total length.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

pub mod ipv6 {
    pub const VERSION: usize = 0;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
    pub const HEADER_LEN: usize = 40;
    /// Extension headers the walk steps over (generic length format).
    pub const HOP_BY_HOP: u8 = 0;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const AUTH: u8 = 51;
    pub const NO_NEXT: u8 = 59;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
    pub const EXPERIMENT1: u8 = 253;
    pub const EXPERIMENT2: u8 = 254;
    pub const FRAGMENT_LEN: usize = 8;
    /// More extension headers than this is treated as malformed.
    pub const MAX_EXT_HEADERS: usize = 16;
}

/// A checked IPv6 fixed header; `payload` ends where the payload length says.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6<'a> {
    header: &'a [u8; ipv6::HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> Ipv6<'a> {
    /// Checks version and payload length against the captured bytes. A
    /// payload length of 0 (jumbogram, or segmentation offload) means "what was captured".
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        use ipv6::*;
        let (header, rest) = split::<HEADER_LEN>(buf, Layer::Ipv6)?;
        if header[VERSION] >> 4 != 6 {
            return Err(ViewError::malformed(
                Layer::Ipv6,
                VERSION,
                "version is not 6",
            ));
        }
        let payload = match usize::from(be16(arr(header, PAYLOAD_LEN))) {
            0 => rest,
            n => {
                rest.get(..n)
                    .ok_or(ViewError::truncated(Layer::Ipv6, HEADER_LEN, n, rest.len()))?
            }
        };
        Ok(Ipv6 { header, payload })
    }

    pub fn next_header(&self) -> u8 {
        self.header[ipv6::NEXT_HEADER]
    }

    pub fn hop_limit(&self) -> u8 {
        self.header[ipv6::HOP_LIMIT]
    }

    pub fn src(&self) -> Ipv6Addr {
        Ipv6Addr::from(arr::<16>(self.header, ipv6::SRC))
    }

    pub fn dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(arr::<16>(self.header, ipv6::DST))
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// An IPv6 fragment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Frag {
    /// Offset of this fragment's data in bytes.
    pub offset: usize,
    pub more: bool,
    pub ident: u32,
}

impl Ipv6Frag {
    /// Offset 0 and no more fragments: an atomic fragment, a whole datagram.
    pub fn is_atomic(&self) -> bool {
        self.offset == 0 && !self.more
    }
}

/// Where the extension header walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6Ext<'a> {
    /// An upper-layer protocol (or 59, no next header) and its bytes.
    Upper { proto: u8, payload: &'a [u8] },
    /// A fragment header; `next` and `payload` follow it.
    Fragment {
        frag: Ipv6Frag,
        next: u8,
        payload: &'a [u8],
    },
}

impl<'a> Ipv6Ext<'a> {
    /// Steps over extension headers starting with `next` at the start of
    /// `buf`, up to the upper-layer protocol or a fragment header.
    /// `base` is the offset of `buf` in the IPv6 packet, for error messages.
    pub fn walk(mut next: u8, buf: &'a [u8], base: usize) -> Result<Ipv6Ext<'a>, ViewError> {
        use ipv6::*;
        let mut off = 0usize;
        for _ in 0..MAX_EXT_HEADERS {
            let rest = buf.get(off..).unwrap_or_default();
            let len = match next {
                HOP_BY_HOP | ROUTING | DEST_OPTS | MOBILITY | HIP | SHIM6 | EXPERIMENT1
                | EXPERIMENT2 => rest.get(1).map(|&l| (usize::from(l) + 1) * 8),
                AUTH => rest.get(1).map(|&l| (usize::from(l) + 2) * 4),
                FRAGMENT => Some(FRAGMENT_LEN),
                proto => {
                    return Ok(Ipv6Ext::Upper {
                        proto,
                        payload: rest,
                    })
                }
            }
            .ok_or(ViewError::truncated(Layer::Ipv6, base + off, 2, rest.len()))?;
            if rest.len() < len {
                return Err(ViewError::truncated(
                    Layer::Ipv6,
                    base + off,
                    len,
                    rest.len(),
                ));
            }
            let this_next = rest.first().copied().unwrap_or(NO_NEXT);
            if next == FRAGMENT {
                let word = be32_at(rest, 0).unwrap_or(0);
                let frag = Ipv6Frag {
                    offset: usize::from((word & 0xfff8) as u16),
                    more: word & 1 != 0,
                    ident: be32_at(rest, 4).unwrap_or(0),
                };
                return Ok(Ipv6Ext::Fragment {
                    frag,
                    next: this_next,
                    payload: rest.get(FRAGMENT_LEN..).unwrap_or_default(),
                });
            }
            next = this_next;
            off += len;
        }
        Err(ViewError::malformed(
            Layer::Ipv6,
            base + off,
            "more than 16 extension headers",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decap::view::testing::every_truncation_fails;

    fn v4(ihl_words: u8, total: u16, frag: u16, extra: usize) -> Vec<u8> {
        let mut b = vec![
            0x40 | ihl_words,
            0,
            0,
            0,
            0x12,
            0x34,
            0,
            0,
            64,
            6,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            2,
        ];
        b[2..4].copy_from_slice(&total.to_be_bytes());
        b[6..8].copy_from_slice(&frag.to_be_bytes());
        b.resize(usize::from(ihl_words) * 4 + extra, 0xab);
        b
    }

    #[test]
    fn ipv4_table() {
        // (bytes, Ok((header_len, payload_len, frag_offset, more, is_fragment)) or Err)
        type Want = Result<(usize, usize, usize, bool, bool), &'static str>;
        let cases: Vec<(Vec<u8>, Want)> = vec![
            (v4(5, 30, 0, 10), Ok((20, 10, 0, false, false))),
            // Ethernet padding past the total length is cut off.
            (v4(5, 26, 0, 26), Ok((20, 6, 0, false, false))),
            (v4(6, 30, 0, 6), Ok((24, 6, 0, false, false))),
            (v4(5, 28, 0x2000 | 3, 8), Ok((20, 8, 24, true, true))),
            (v4(5, 28, 5, 8), Ok((20, 8, 40, false, true))),
            (v4(5, 0, 0, 4), Ok((20, 4, 0, false, false))),
            (
                v4(5, 40, 0, 10),
                Err("ipv4: truncated: needs 40 bytes from offset 0, 30 captured"),
            ),
            (
                v4(5, 19, 0, 0),
                Err("ipv4: byte 2: total length below header length"),
            ),
            (
                v4(4, 30, 0, 14),
                Err("ipv4: byte 0: header length below 20"),
            ),
            (
                {
                    let mut b = v4(5, 20, 0, 0);
                    b[0] = 0x65;
                    b
                },
                Err("ipv4: byte 0: version is not 4"),
            ),
        ];
        for (bytes, want) in cases {
            let got = Ipv4::new_checked(&bytes)
                .map(|ip| {
                    (
                        ip.header_len(),
                        ip.payload().len(),
                        ip.frag_offset(),
                        ip.more_frags(),
                        ip.is_fragment(),
                    )
                })
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{bytes:02x?}");
        }
        let b = v4(5, 20, 0x4000, 0);
        let ip = Ipv4::new_checked(&b).unwrap();
        assert_eq!(
            (ip.ident(), ip.ttl(), ip.protocol(), ip.dont_frag()),
            (0x1234, 64, 6, true)
        );
        assert_eq!(
            (ip.src(), ip.dst()),
            (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2))
        );
        every_truncation_fails(&v4(6, 24, 0, 0), 24, Ipv4::new_checked);
    }

    fn v6(next: u8, plen: u16, payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0x60, 0, 0, 0, 0, 0, next, 33];
        b[4..6].copy_from_slice(&plen.to_be_bytes());
        b.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn ipv6_header_table() {
        let cases: Vec<(Vec<u8>, Result<usize, &str>)> = vec![
            (v6(6, 4, &[1, 2, 3, 4, 0, 0]), Ok(4)),
            (v6(6, 0, &[1, 2, 3]), Ok(3)),
            (
                v6(6, 9, &[1, 2, 3]),
                Err("ipv6: truncated: needs 9 bytes from offset 40, 3 captured"),
            ),
            (
                {
                    let mut b = v6(6, 0, &[]);
                    b[0] = 0x40;
                    b
                },
                Err("ipv6: byte 0: version is not 6"),
            ),
        ];
        for (bytes, want) in cases {
            let got = Ipv6::new_checked(&bytes)
                .map(|ip| ip.payload().len())
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from));
        }
        let b = v6(6, 0, &[]);
        let ip = Ipv6::new_checked(&b).unwrap();
        assert_eq!((ip.next_header(), ip.hop_limit()), (6, 33));
        assert_eq!(ip.dst(), "fe80::2".parse::<Ipv6Addr>().unwrap());
        every_truncation_fails(&b, 40, Ipv6::new_checked);
    }

    #[test]
    fn ipv6_extension_walk_table() {
        let hbh_then_tcp = [6, 0, 0, 0, 0, 0, 0, 0, 0xaa];
        let dst_opts_16_then_frag = [
            44, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 16 bytes of dest options
            17, 0, 0x00, 0x19, 0, 0, 0, 9, 0xbb, // fragment: offset 24, M, id 9
        ];
        let ah = [6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcc];
        let cases: &[(u8, &[u8], Result<Ipv6Ext<'_>, &str>)] = &[
            (
                6,
                &[0xaa],
                Ok(Ipv6Ext::Upper {
                    proto: 6,
                    payload: &[0xaa],
                }),
            ),
            (
                0,
                &hbh_then_tcp,
                Ok(Ipv6Ext::Upper {
                    proto: 6,
                    payload: &[0xaa],
                }),
            ),
            (
                51,
                &ah,
                Ok(Ipv6Ext::Upper {
                    proto: 6,
                    payload: &[0xcc],
                }),
            ),
            (
                60,
                &dst_opts_16_then_frag,
                Ok(Ipv6Ext::Fragment {
                    frag: Ipv6Frag {
                        offset: 24,
                        more: true,
                        ident: 9,
                    },
                    next: 17,
                    payload: &[0xbb],
                }),
            ),
            (
                0,
                &hbh_then_tcp[..7],
                Err("ipv6: truncated: needs 8 bytes from offset 40, 7 captured"),
            ),
            (
                44,
                &[6, 0, 0],
                Err("ipv6: truncated: needs 8 bytes from offset 40, 3 captured"),
            ),
            (
                0,
                &[],
                Err("ipv6: truncated: needs 2 bytes from offset 40, 0 captured"),
            ),
        ];
        for (next, bytes, want) in cases {
            let got = Ipv6Ext::walk(*next, bytes, 40).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{bytes:02x?}");
        }
        let endless = [0u8; 8 * 20];
        assert_eq!(
            Ipv6Ext::walk(0, &endless, 40).unwrap_err().to_string(),
            "ipv6: byte 168: more than 16 extension headers"
        );
    }
}
