//! GRE (RFC 2784 with the RFC 2890 key and sequence number extensions).

use super::{be16, be32_at, split, Layer, ViewError};

pub mod field {
    pub const FLAGS_VERSION: usize = 0;
    pub const PROTOCOL: usize = 2;
    /// The fixed part; optional fields follow in the order checksum, key, sequence.
    pub const HEADER_LEN: usize = 4;
    pub const FLAG_CHECKSUM: u16 = 0x8000;
    /// RFC 1701 routing present: not decoded.
    pub const FLAG_ROUTING: u16 = 0x4000;
    pub const FLAG_KEY: u16 = 0x2000;
    pub const FLAG_SEQUENCE: u16 = 0x1000;
    pub const VERSION_MASK: u16 = 0x0007;
}
use field::*;

/// A checked GRE header with its optional fields.
#[derive(Debug, Clone, Copy)]
pub struct Gre<'a> {
    header: &'a [u8; HEADER_LEN],
    checksum: Option<u16>,
    key: Option<u32>,
    sequence: Option<u32>,
    header_len: usize,
    payload: &'a [u8],
}

impl<'a> Gre<'a> {
    /// Checks version 0, no RFC 1701 routing, and that the optional fields are captured.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, _) = split::<HEADER_LEN>(buf, Layer::Gre)?;
        let flags = be16([header[FLAGS_VERSION], header[FLAGS_VERSION + 1]]);
        match flags & VERSION_MASK {
            0 => {}
            1 => {
                return Err(ViewError::malformed(
                    Layer::Gre,
                    1,
                    "version 1 (PPTP) not decoded",
                ))
            }
            _ => return Err(ViewError::malformed(Layer::Gre, 1, "unknown version")),
        }
        if flags & FLAG_ROUTING != 0 {
            return Err(ViewError::malformed(
                Layer::Gre,
                0,
                "RFC 1701 routing not decoded",
            ));
        }
        let mut off = HEADER_LEN;
        let mut field = |present: bool| -> Result<Option<u32>, ViewError> {
            if !present {
                return Ok(None);
            }
            let v = be32_at(buf, off).ok_or(ViewError::truncated(
                Layer::Gre,
                off,
                4,
                buf.len().saturating_sub(off),
            ))?;
            off += 4;
            Ok(Some(v))
        };
        let checksum = field(flags & FLAG_CHECKSUM != 0)?.map(|v| (v >> 16) as u16);
        let key = field(flags & FLAG_KEY != 0)?;
        let sequence = field(flags & FLAG_SEQUENCE != 0)?;
        let payload = buf.get(off..).unwrap_or_default();
        Ok(Gre {
            header,
            checksum,
            key,
            sequence,
            header_len: off,
            payload,
        })
    }

    pub fn flags(&self) -> u16 {
        be16([self.header[FLAGS_VERSION], self.header[FLAGS_VERSION + 1]]) & !VERSION_MASK
    }

    /// EtherType of the payload.
    pub fn protocol(&self) -> u16 {
        be16([self.header[PROTOCOL], self.header[PROTOCOL + 1]])
    }

    pub fn checksum(&self) -> Option<u16> {
        self.checksum
    }

    pub fn key(&self) -> Option<u32> {
        self.key
    }

    pub fn sequence(&self) -> Option<u32> {
        self.sequence
    }

    pub fn header_len(&self) -> usize {
        self.header_len
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decap::view::testing::every_truncation_fails;

    type Fields = (u16, Option<u16>, Option<u32>, Option<u32>, usize);

    #[test]
    fn table() {
        let all = [
            0xb0, 0x00, 0x88, 0xbe, // C K S, ERSPAN II
            0x12, 0x34, 0x00, 0x00, // checksum + reserved
            0x00, 0x00, 0x00, 0x2a, // key
            0x00, 0x00, 0x00, 0x07, // sequence
            0xee,
        ];
        let cases: &[(&[u8], Result<Fields, &str>)] = &[
            (&[0, 0, 0x08, 0x00, 0x45], Ok((0x0800, None, None, None, 4))),
            (&all, Ok((0x88be, Some(0x1234), Some(42), Some(7), 16))),
            (
                &[0x20, 0, 0x65, 0x58, 0, 0, 0, 1],
                Ok((0x6558, None, Some(1), None, 8)),
            ),
            (
                &[0x00, 0x01, 0x88, 0x0b],
                Err("gre: byte 1: version 1 (PPTP) not decoded"),
            ),
            (
                &[0x00, 0x05, 0x08, 0x00],
                Err("gre: byte 1: unknown version"),
            ),
            (
                &[0x40, 0x00, 0x08, 0x00],
                Err("gre: byte 0: RFC 1701 routing not decoded"),
            ),
            (
                &all[..14],
                Err("gre: truncated: needs 4 bytes from offset 12, 2 captured"),
            ),
        ];
        for (bytes, want) in cases {
            let got = Gre::new_checked(bytes)
                .map(|g| {
                    (
                        g.protocol(),
                        g.checksum(),
                        g.key(),
                        g.sequence(),
                        g.header_len(),
                    )
                })
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{bytes:02x?}");
        }
        assert_eq!(Gre::new_checked(&all).unwrap().payload(), &[0xee]);
        every_truncation_fails(&all[..16], 16, Gre::new_checked);
    }
}
