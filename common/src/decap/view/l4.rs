//! UDP and TCP headers.

use super::{arr, be16, be32, split, Layer, ViewError};

pub mod udp {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
    pub const HEADER_LEN: usize = 8;
}

/// A checked UDP header; the payload ends where the length field says.
#[derive(Debug, Clone, Copy)]
pub struct Udp<'a> {
    header: &'a [u8; udp::HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> Udp<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, rest) = split::<{ udp::HEADER_LEN }>(buf, Layer::Udp)?;
        let len = usize::from(be16(arr(header, udp::LENGTH)));
        let payload = match len {
            // Length 0 (IPv6 jumbogram or offload): what was captured.
            0 => rest,
            1..udp::HEADER_LEN => {
                return Err(ViewError::malformed(
                    Layer::Udp,
                    udp::LENGTH,
                    "length below 8",
                ))
            }
            n => rest.get(..n - udp::HEADER_LEN).ok_or(ViewError::truncated(
                Layer::Udp,
                0,
                n,
                buf.len(),
            ))?,
        };
        Ok(Udp { header, payload })
    }

    pub fn src_port(&self) -> u16 {
        be16(arr(self.header, udp::SRC_PORT))
    }

    pub fn dst_port(&self) -> u16 {
        be16(arr(self.header, udp::DST_PORT))
    }

    pub fn checksum(&self) -> u16 {
        be16(arr(self.header, udp::CHECKSUM))
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

pub mod tcp {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const MIN_HEADER_LEN: usize = 20;
}

/// A checked TCP header (with options) and its payload.
#[derive(Debug, Clone, Copy)]
pub struct Tcp<'a> {
    header: &'a [u8; tcp::MIN_HEADER_LEN],
    header_len: usize,
    payload: &'a [u8],
}

impl<'a> Tcp<'a> {
    /// Checks the data offset against the captured bytes. `buf` must already
    /// end where the IP layer says the segment ends.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, _) = split::<{ tcp::MIN_HEADER_LEN }>(buf, Layer::Tcp)?;
        let header_len = usize::from(header[tcp::DATA_OFF] >> 4) * 4;
        if header_len < tcp::MIN_HEADER_LEN {
            return Err(ViewError::malformed(
                Layer::Tcp,
                tcp::DATA_OFF,
                "data offset below 5",
            ));
        }
        let payload = buf.get(header_len..).ok_or(ViewError::truncated(
            Layer::Tcp,
            0,
            header_len,
            buf.len(),
        ))?;
        Ok(Tcp {
            header,
            header_len,
            payload,
        })
    }

    pub fn src_port(&self) -> u16 {
        be16(arr(self.header, tcp::SRC_PORT))
    }

    pub fn dst_port(&self) -> u16 {
        be16(arr(self.header, tcp::DST_PORT))
    }

    pub fn seq(&self) -> u32 {
        be32(arr(self.header, tcp::SEQ))
    }

    pub fn ack(&self) -> u32 {
        be32(arr(self.header, tcp::ACK))
    }

    pub fn header_len(&self) -> usize {
        self.header_len
    }

    pub fn flags(&self) -> u8 {
        self.header[tcp::FLAGS]
    }

    pub fn window(&self) -> u16 {
        be16(arr(self.header, tcp::WINDOW))
    }

    pub fn checksum(&self) -> u16 {
        be16(arr(self.header, tcp::CHECKSUM))
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
    fn udp_table() {
        let cases: &[(&[u8], Result<(u16, u16, usize), &str>)] = &[
            (
                &[0x12, 0xb5, 0x12, 0xb5, 0, 10, 0, 0, 1, 2, 0, 0],
                Ok((4789, 4789, 2)),
            ),
            (&[0, 1, 0, 2, 0, 0, 0, 0, 1, 2, 3], Ok((1, 2, 3))),
            (
                &[0, 1, 0, 2, 0, 7, 0, 0],
                Err("udp: byte 4: length below 8"),
            ),
            (
                &[0, 1, 0, 2, 0, 12, 0, 0, 1],
                Err("udp: truncated: needs 12 bytes from offset 0, 9 captured"),
            ),
        ];
        for (bytes, want) in cases {
            let got = Udp::new_checked(bytes)
                .map(|u| (u.src_port(), u.dst_port(), u.payload().len()))
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{bytes:02x?}");
        }
        every_truncation_fails(&[0, 1, 0, 2, 0, 8, 0, 0], 8, Udp::new_checked);
    }

    #[test]
    fn tcp_table() {
        let mut syn = vec![
            0, 80, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 2, 0x60, 0x12, 0xff, 0xff, 0, 0, 0, 0,
        ];
        syn.extend_from_slice(&[2, 4, 5, 0xb4, b'h', b'i']);
        let cases: Vec<(Vec<u8>, Result<(u16, u16, u32, u32, u8, u16, usize), &str>)> = vec![
            (syn.clone(), Ok((80, 8080, 1, 2, 0x12, 0xffff, 2))),
            (
                {
                    let mut b = syn.clone();
                    b[12] = 0x40;
                    b
                },
                Err("tcp: byte 12: data offset below 5"),
            ),
            (
                {
                    let mut b = syn.clone();
                    b[12] = 0xf0;
                    b
                },
                Err("tcp: truncated: needs 60 bytes from offset 0, 26 captured"),
            ),
        ];
        for (bytes, want) in cases {
            let got = Tcp::new_checked(&bytes)
                .map(|t| {
                    (
                        t.src_port(),
                        t.dst_port(),
                        t.seq(),
                        t.ack(),
                        t.flags(),
                        t.window(),
                        t.payload().len(),
                    )
                })
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from));
        }
        every_truncation_fails(&syn, 24, Tcp::new_checked);
    }
}
