//! ERSPAN type II and type III headers (carried in GRE with protocol 0x88be
//! and 0x22eb). Type I has no header of its own: it is GRE 0x88be with the
//! sequence bit clear, directly followed by the mirrored Ethernet frame.

use super::{be16, be32, split, Layer, ViewError};

pub mod field {
    /// Version (4 bits) and VLAN (12 bits).
    pub const VER_VLAN: usize = 0;
    /// COS (3), encapsulation type / BSO (2), truncated (1), session id high bits (2).
    pub const COS_SESSION: usize = 2;
    pub const SESSION_LOW: usize = 3;
    pub const TYPE2_HEADER_LEN: usize = 8;
    /// Type II: 20-bit port index in bytes 4..8.
    pub const TYPE2_INDEX: usize = 4;
    pub const TYPE3_HEADER_LEN: usize = 12;
    pub const TYPE3_TIMESTAMP: usize = 4;
    pub const TYPE3_SGT: usize = 8;
    /// P (1), frame type (5), hardware id (6), D (1), granularity (2), O (1).
    pub const TYPE3_FLAGS: usize = 10;
    /// Length of the optional platform-specific subheader (type III, O bit).
    pub const TYPE3_PLATFORM_LEN: usize = 8;
    pub const VERSION_TYPE2: u8 = 1;
    pub const VERSION_TYPE3: u8 = 2;
}
use field::*;

fn session(h: &[u8]) -> u16 {
    match h {
        [_, _, c, s, ..] => (u16::from(*c & 0x03) << 8) | u16::from(*s),
        _ => 0,
    }
}

/// A checked ERSPAN type II header.
#[derive(Debug, Clone, Copy)]
pub struct Erspan2<'a> {
    header: &'a [u8; TYPE2_HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> Erspan2<'a> {
    /// Checks the length and version (1).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, payload) = split::<TYPE2_HEADER_LEN>(buf, Layer::Erspan)?;
        if header[VER_VLAN] >> 4 != VERSION_TYPE2 {
            return Err(ViewError::malformed(
                Layer::Erspan,
                VER_VLAN,
                "type II version is not 1",
            ));
        }
        Ok(Erspan2 { header, payload })
    }

    pub fn vlan(&self) -> u16 {
        be16([self.header[VER_VLAN], self.header[VER_VLAN + 1]]) & 0x0fff
    }

    pub fn session(&self) -> u16 {
        session(self.header)
    }

    pub fn index(&self) -> u32 {
        be32([
            self.header[TYPE2_INDEX],
            self.header[TYPE2_INDEX + 1],
            self.header[TYPE2_INDEX + 2],
            self.header[TYPE2_INDEX + 3],
        ]) & 0x000f_ffff
    }

    /// The mirrored Ethernet frame.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// A checked ERSPAN type III header (and platform subheader, when present).
#[derive(Debug, Clone, Copy)]
pub struct Erspan3<'a> {
    header: &'a [u8; TYPE3_HEADER_LEN],
    header_len: usize,
    payload: &'a [u8],
}

impl<'a> Erspan3<'a> {
    /// Checks the length (with the optional subheader) and version (2).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, rest) = split::<TYPE3_HEADER_LEN>(buf, Layer::Erspan)?;
        if header[VER_VLAN] >> 4 != VERSION_TYPE3 {
            return Err(ViewError::malformed(
                Layer::Erspan,
                VER_VLAN,
                "type III version is not 2",
            ));
        }
        let mut v = Erspan3 {
            header,
            header_len: TYPE3_HEADER_LEN,
            payload: rest,
        };
        if v.platform_subheader() {
            let payload = rest.get(TYPE3_PLATFORM_LEN..).ok_or(ViewError::truncated(
                Layer::Erspan,
                TYPE3_HEADER_LEN,
                TYPE3_PLATFORM_LEN,
                rest.len(),
            ))?;
            v.header_len += TYPE3_PLATFORM_LEN;
            v.payload = payload;
        }
        Ok(v)
    }

    fn flags(&self) -> u16 {
        be16([self.header[TYPE3_FLAGS], self.header[TYPE3_FLAGS + 1]])
    }

    pub fn vlan(&self) -> u16 {
        be16([self.header[VER_VLAN], self.header[VER_VLAN + 1]]) & 0x0fff
    }

    pub fn session(&self) -> u16 {
        session(self.header)
    }

    pub fn timestamp(&self) -> u32 {
        be32([
            self.header[TYPE3_TIMESTAMP],
            self.header[TYPE3_TIMESTAMP + 1],
            self.header[TYPE3_TIMESTAMP + 2],
            self.header[TYPE3_TIMESTAMP + 3],
        ])
    }

    pub fn sgt(&self) -> u16 {
        be16([self.header[TYPE3_SGT], self.header[TYPE3_SGT + 1]])
    }

    /// Frame type: 0 is Ethernet, 2 is IP.
    pub fn frame_type(&self) -> u8 {
        ((self.flags() >> 10) & 0x1f) as u8
    }

    /// Whether the 8-byte platform-specific subheader follows (O bit).
    pub fn platform_subheader(&self) -> bool {
        self.flags() & 1 != 0
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

    #[test]
    fn type2_table() {
        let cases: &[(&[u8], Result<(u16, u16, u32), &str>)] = &[
            (
                &[0x10, 0x2a, 0x03, 0xff, 0, 0x01, 0x00, 0x05],
                Ok((42, 0x3ff, 0x10005)),
            ),
            (&[0x10, 0x00, 0x00, 0x64, 0, 0, 0, 0, 0xee], Ok((0, 100, 0))),
            (
                &[0x20, 0x00, 0x00, 0x64, 0, 0, 0, 0],
                Err("erspan: byte 0: type II version is not 1"),
            ),
        ];
        for (bytes, want) in cases {
            let got = Erspan2::new_checked(bytes)
                .map(|e| (e.vlan(), e.session(), e.index()))
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{bytes:02x?}");
        }
        every_truncation_fails(&[0x10, 0, 0, 1, 0, 0, 0, 0], 8, Erspan2::new_checked);
    }

    #[test]
    fn type3_table() {
        let plain = [0x20, 0x05, 0x01, 0x02, 0, 0, 0, 9, 0, 7, 0x00, 0x00, 0xee];
        let with_platform = [
            0x20, 0x05, 0x01, 0x02, 0, 0, 0, 9, 0, 7, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xee,
        ];
        let cases: &[(&[u8], Result<(u16, u16, u32, usize, usize), &str>)] = &[
            (&plain, Ok((5, 0x102, 9, 12, 1))),
            (&with_platform, Ok((5, 0x102, 9, 20, 1))),
            (
                &with_platform[..15],
                Err("erspan: truncated: needs 8 bytes from offset 12, 3 captured"),
            ),
            (
                &[0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                Err("erspan: byte 0: type III version is not 2"),
            ),
        ];
        for (bytes, want) in cases {
            let got = Erspan3::new_checked(bytes)
                .map(|e| {
                    (
                        e.vlan(),
                        e.session(),
                        e.timestamp(),
                        e.header_len(),
                        e.payload().len(),
                    )
                })
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{bytes:02x?}");
        }
        let e = Erspan3::new_checked(&plain).unwrap();
        assert_eq!((e.sgt(), e.frame_type()), (7, 0));
        every_truncation_fails(&with_platform[..20], 20, Erspan3::new_checked);
    }
}
