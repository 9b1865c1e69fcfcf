//! Geneve (RFC 8926): an 8-byte header, variable-length options, then a
//! payload named by an EtherType.

use super::{be16, split, Layer, ViewError};

pub mod field {
    /// Version (2 bits) and option length in 4-byte words (6 bits).
    pub const VER_OPTLEN: usize = 0;
    /// O (control) and C (critical options) flags.
    pub const FLAGS: usize = 1;
    pub const PROTOCOL: usize = 2;
    pub const VNI: usize = 4;
    pub const HEADER_LEN: usize = 8;
    pub const FLAG_OAM: u8 = 0x80;
    pub const FLAG_CRITICAL: u8 = 0x40;
}
use field::*;

/// A checked Geneve header; options are skipped by their declared length.
#[derive(Debug, Clone, Copy)]
pub struct Geneve<'a> {
    header: &'a [u8; HEADER_LEN],
    options: &'a [u8],
    payload: &'a [u8],
}

impl<'a> Geneve<'a> {
    /// Checks the version (0) and that the options fit in the captured bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, rest) = split::<HEADER_LEN>(buf, Layer::Geneve)?;
        if header[VER_OPTLEN] >> 6 != 0 {
            return Err(ViewError::malformed(
                Layer::Geneve,
                VER_OPTLEN,
                "version is not 0",
            ));
        }
        let opt_len = usize::from(header[VER_OPTLEN] & 0x3f) * 4;
        if rest.len() < opt_len {
            return Err(ViewError::truncated(
                Layer::Geneve,
                HEADER_LEN,
                opt_len,
                rest.len(),
            ));
        }
        let (options, payload) = rest.split_at(opt_len);
        Ok(Geneve {
            header,
            options,
            payload,
        })
    }

    pub fn oam(&self) -> bool {
        self.header[FLAGS] & FLAG_OAM != 0
    }

    pub fn critical(&self) -> bool {
        self.header[FLAGS] & FLAG_CRITICAL != 0
    }

    /// EtherType of the payload (0x6558 for Ethernet).
    pub fn protocol(&self) -> u16 {
        be16([self.header[PROTOCOL], self.header[PROTOCOL + 1]])
    }

    pub fn vni(&self) -> u32 {
        u32::from_be_bytes([
            0,
            self.header[VNI],
            self.header[VNI + 1],
            self.header[VNI + 2],
        ])
    }

    /// Header length including options.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    pub fn options(&self) -> &'a [u8] {
        self.options
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
    fn table() {
        // (bytes, Ok((vni, proto, header_len, payload len)) or Err(message))
        let with_opts = [
            0x02, 0x00, 0x65, 0x58, 0x00, 0x01, 0x02, 0x00, // header, 2 words of options
            0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd, // one option
            0xee, // payload
        ];
        let cases: &[(&[u8], Result<(u32, u16, usize, usize), &str>)] = &[
            (&[0, 0, 0x08, 0, 0, 0, 9, 0], Ok((9, 0x0800, 8, 0))),
            (&with_opts, Ok((0x102, 0x6558, 16, 1))),
            (
                &[0x40, 0, 0x08, 0, 0, 0, 9, 0],
                Err("geneve: byte 0: version is not 0"),
            ),
            (
                &with_opts[..12],
                Err("geneve: truncated: needs 8 bytes from offset 8, 4 captured"),
            ),
        ];
        for (bytes, want) in cases {
            let got = Geneve::new_checked(bytes)
                .map(|g| (g.vni(), g.protocol(), g.header_len(), g.payload().len()))
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{bytes:02x?}");
        }
        let g = Geneve::new_checked(&[0, 0xc0, 0x08, 0, 0, 0, 9, 0]).unwrap();
        assert!(g.oam() && g.critical());
        every_truncation_fails(&with_opts[..16], 16, Geneve::new_checked);
    }
}
