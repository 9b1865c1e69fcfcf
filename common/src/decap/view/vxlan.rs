//! VXLAN (RFC 7348): an 8-byte header over UDP, then an Ethernet frame.

use super::{split, Layer, ViewError};

pub mod field {
    pub const FLAGS: usize = 0;
    /// The 24-bit VNI occupies bytes 4..7.
    pub const VNI: usize = 4;
    pub const HEADER_LEN: usize = 8;
    /// "I" flag: the VNI is valid. Must be set.
    pub const FLAG_I: u8 = 0x08;
}
use field::*;

/// A checked VXLAN header and the frame it carries.
#[derive(Debug, Clone, Copy)]
pub struct Vxlan<'a> {
    header: &'a [u8; HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> Vxlan<'a> {
    /// Checks the length and the I flag. Reserved bits are ignored (some
    /// senders set them; RFC 7348 says receivers must ignore them).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, payload) = split::<HEADER_LEN>(buf, Layer::Vxlan)?;
        let v = Vxlan { header, payload };
        if v.flags() & FLAG_I == 0 {
            return Err(ViewError::malformed(
                Layer::Vxlan,
                FLAGS,
                "I flag (valid VNI) clear",
            ));
        }
        Ok(v)
    }

    pub fn flags(&self) -> u8 {
        self.header[FLAGS]
    }

    pub fn vni(&self) -> u32 {
        u32::from_be_bytes([
            0,
            self.header[VNI],
            self.header[VNI + 1],
            self.header[VNI + 2],
        ])
    }

    /// The inner Ethernet frame.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decap::view::testing::every_truncation_fails;

    #[test]
    fn table() {
        let cases: &[(&[u8], Result<u32, &str>)] = &[
            (&[0x08, 0, 0, 0, 0, 0, 7, 0, 0xaa], Ok(7)),
            (
                &[0x08, 0xff, 0xff, 0xff, 0xab, 0xcd, 0xef, 0xff],
                Ok(0xabcdef),
            ),
            (
                &[0x00, 0, 0, 0, 0, 0, 7, 0],
                Err("vxlan: byte 0: I flag (valid VNI) clear"),
            ),
            (
                &[0x08, 0, 0, 0, 0, 0, 7],
                Err("vxlan: truncated: needs 8 bytes from offset 0, 7 captured"),
            ),
        ];
        for (bytes, want) in cases {
            let got = Vxlan::new_checked(bytes)
                .map(|v| v.vni())
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{bytes:02x?}");
        }
        let v = Vxlan::new_checked(&[0x08, 0, 0, 0, 0, 0, 7, 0, 0xaa]).unwrap();
        assert_eq!(v.payload(), &[0xaa]);
        every_truncation_fails(&[0x08, 0, 0, 0, 0, 0, 7, 0], 8, Vxlan::new_checked);
    }
}
