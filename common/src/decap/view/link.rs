//! Link-layer headers: Ethernet, VLAN tags, PPPoE session, Linux cooked
//! capture (SLL and SLL2) and BSD null/loopback.

use super::{arr, be16, be32, split, Layer, ViewError};

/// Ethernet II.
pub mod ethernet {
    pub const DST: usize = 0;
    pub const SRC: usize = 6;
    pub const ETHERTYPE: usize = 12;
    pub const HEADER_LEN: usize = 14;
}

/// A checked Ethernet II header.
#[derive(Debug, Clone, Copy)]
pub struct Ethernet<'a> {
    header: &'a [u8; ethernet::HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> Ethernet<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, payload) = split::<{ ethernet::HEADER_LEN }>(buf, Layer::Ethernet)?;
        Ok(Ethernet { header, payload })
    }

    /// EtherType, or an 802.3 length when below 0x0600.
    pub fn ethertype(&self) -> u16 {
        be16([
            self.header[ethernet::ETHERTYPE],
            self.header[ethernet::ETHERTYPE + 1],
        ])
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// 802.1Q / 802.1ad / 0x9100 tag (after the TPID, which is the outer EtherType).
pub mod vlan {
    pub const TCI: usize = 0;
    pub const ETHERTYPE: usize = 2;
    pub const TAG_LEN: usize = 4;
}

/// A checked VLAN tag: TCI and the inner EtherType.
#[derive(Debug, Clone, Copy)]
pub struct VlanTag<'a> {
    tag: &'a [u8; vlan::TAG_LEN],
    payload: &'a [u8],
}

impl<'a> VlanTag<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (tag, payload) = split::<{ vlan::TAG_LEN }>(buf, Layer::Vlan)?;
        Ok(VlanTag { tag, payload })
    }

    pub fn vid(&self) -> u16 {
        be16([self.tag[vlan::TCI], self.tag[vlan::TCI + 1]]) & 0x0fff
    }

    pub fn pcp(&self) -> u8 {
        self.tag[vlan::TCI] >> 5
    }

    pub fn ethertype(&self) -> u16 {
        be16([self.tag[vlan::ETHERTYPE], self.tag[vlan::ETHERTYPE + 1]])
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// PPPoE session stage (RFC 2516) and the PPP protocol field after it.
pub mod pppoe {
    pub const VER_TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const SESSION: usize = 2;
    pub const LENGTH: usize = 4;
    pub const HEADER_LEN: usize = 6;
    pub const PPP_IPV4: u16 = 0x0021;
    pub const PPP_IPV6: u16 = 0x0057;
}

/// A checked PPPoE session header and PPP protocol (2 bytes, or 1 with
/// protocol field compression); the payload is trimmed to the length field.
#[derive(Debug, Clone, Copy)]
pub struct Pppoe<'a> {
    header: &'a [u8; pppoe::HEADER_LEN],
    ppp_protocol: u16,
    payload: &'a [u8],
}

impl<'a> Pppoe<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        use pppoe::*;
        let (header, rest) = split::<HEADER_LEN>(buf, Layer::Pppoe)?;
        if header[VER_TYPE] != 0x11 || header[CODE] != 0 {
            return Err(ViewError::malformed(
                Layer::Pppoe,
                0,
                "not a version 1 session packet",
            ));
        }
        // The length covers the PPP protocol field and the payload.
        let len = usize::from(be16(arr(header, LENGTH)));
        let ppp = rest.get(..len).ok_or(ViewError::truncated(
            Layer::Pppoe,
            HEADER_LEN,
            len,
            rest.len(),
        ))?;
        // An odd first byte is a compressed (1-byte) protocol field.
        let (ppp_protocol, payload) = match ppp {
            [p, payload @ ..] if p & 1 == 1 => (u16::from(*p), payload),
            [a, b, payload @ ..] => (be16([*a, *b]), payload),
            _ => return Err(ViewError::truncated(Layer::Pppoe, HEADER_LEN, 2, ppp.len())),
        };
        Ok(Pppoe {
            header,
            ppp_protocol,
            payload,
        })
    }

    pub fn session(&self) -> u16 {
        be16(arr(self.header, pppoe::SESSION))
    }

    pub fn ppp_protocol(&self) -> u16 {
        self.ppp_protocol
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// Cisco VN-Tag (EtherType 0x8926): a 4-byte tag, then the inner EtherType.
pub mod vntag {
    pub const TAG: usize = 0;
    pub const ETHERTYPE: usize = 4;
    pub const HEADER_LEN: usize = 6;
}

/// A checked VN-Tag.
#[derive(Debug, Clone, Copy)]
pub struct VnTag<'a> {
    header: &'a [u8; vntag::HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> VnTag<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, payload) = split::<{ vntag::HEADER_LEN }>(buf, Layer::Vlan)?;
        Ok(VnTag { header, payload })
    }

    pub fn ethertype(&self) -> u16 {
        be16(arr(self.header, vntag::ETHERTYPE))
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// IEEE 802.1BR E-Tag (EtherType 0x893f): a 6-byte tag, then the inner EtherType.
pub mod etag {
    pub const TAG: usize = 0;
    pub const ETHERTYPE: usize = 6;
    pub const HEADER_LEN: usize = 8;
}

/// A checked E-Tag.
#[derive(Debug, Clone, Copy)]
pub struct ETag<'a> {
    header: &'a [u8; etag::HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> ETag<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, payload) = split::<{ etag::HEADER_LEN }>(buf, Layer::Vlan)?;
        Ok(ETag { header, payload })
    }

    pub fn ethertype(&self) -> u16 {
        be16(arr(self.header, etag::ETHERTYPE))
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// Cisco HDLC (DLT 104): address, control, then an EtherType.
pub mod chdlc {
    pub const ADDRESS: usize = 0;
    pub const CONTROL: usize = 1;
    pub const PROTOCOL: usize = 2;
    pub const HEADER_LEN: usize = 4;
    pub const DLT: u32 = 104;
}

/// A checked Cisco HDLC header.
#[derive(Debug, Clone, Copy)]
pub struct CiscoHdlc<'a> {
    header: &'a [u8; chdlc::HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> CiscoHdlc<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, payload) = split::<{ chdlc::HEADER_LEN }>(buf, Layer::Ethernet)?;
        Ok(CiscoHdlc { header, payload })
    }

    pub fn protocol(&self) -> u16 {
        be16(arr(self.header, chdlc::PROTOCOL))
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// Linux cooked capture v1 (DLT 113).
pub mod sll {
    pub const PACKET_TYPE: usize = 0;
    pub const ARPHRD: usize = 2;
    pub const ADDR_LEN: usize = 4;
    pub const ADDR: usize = 6;
    pub const PROTOCOL: usize = 14;
    pub const HEADER_LEN: usize = 16;
}

/// A checked Linux SLL header.
#[derive(Debug, Clone, Copy)]
pub struct LinuxSll<'a> {
    header: &'a [u8; sll::HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> LinuxSll<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, payload) = split::<{ sll::HEADER_LEN }>(buf, Layer::LinuxSll)?;
        Ok(LinuxSll { header, payload })
    }

    pub fn packet_type(&self) -> u16 {
        be16([
            self.header[sll::PACKET_TYPE],
            self.header[sll::PACKET_TYPE + 1],
        ])
    }

    pub fn arphrd(&self) -> u16 {
        be16([self.header[sll::ARPHRD], self.header[sll::ARPHRD + 1]])
    }

    /// EtherType of the payload (for most ARPHRD types).
    pub fn protocol(&self) -> u16 {
        be16([self.header[sll::PROTOCOL], self.header[sll::PROTOCOL + 1]])
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// Linux cooked capture v2 (DLT 276).
pub mod sll2 {
    pub const PROTOCOL: usize = 0;
    pub const RESERVED: usize = 2;
    pub const IFINDEX: usize = 4;
    pub const ARPHRD: usize = 8;
    pub const PACKET_TYPE: usize = 10;
    pub const ADDR_LEN: usize = 11;
    pub const ADDR: usize = 12;
    pub const HEADER_LEN: usize = 20;
}

/// A checked Linux SLL2 header.
#[derive(Debug, Clone, Copy)]
pub struct LinuxSll2<'a> {
    header: &'a [u8; sll2::HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> LinuxSll2<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, payload) = split::<{ sll2::HEADER_LEN }>(buf, Layer::LinuxSll2)?;
        Ok(LinuxSll2 { header, payload })
    }

    pub fn protocol(&self) -> u16 {
        be16([self.header[sll2::PROTOCOL], self.header[sll2::PROTOCOL + 1]])
    }

    pub fn ifindex(&self) -> u32 {
        be32([
            self.header[sll2::IFINDEX],
            self.header[sll2::IFINDEX + 1],
            self.header[sll2::IFINDEX + 2],
            self.header[sll2::IFINDEX + 3],
        ])
    }

    pub fn arphrd(&self) -> u16 {
        be16([self.header[sll2::ARPHRD], self.header[sll2::ARPHRD + 1]])
    }

    pub fn packet_type(&self) -> u8 {
        self.header[sll2::PACKET_TYPE]
    }

    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// BSD null (DLT 0, host byte order) and OpenBSD loop (DLT 108, network order).
pub mod null {
    pub const FAMILY: usize = 0;
    pub const HEADER_LEN: usize = 4;
    pub const AF_INET: u32 = 2;
    /// AF_INET6 differs by OS: Linux 10, NetBSD/OpenBSD 24, FreeBSD 28, macOS 30.
    pub const AF_INET6: [u32; 4] = [10, 24, 28, 30];
}

/// What a null/loop header says the payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Ipv4,
    Ipv6,
    Other(u32),
}

/// A checked null/loop header. The family is read in whichever byte order
/// gives a small number, since the capturing host's order is unknown.
#[derive(Debug, Clone, Copy)]
pub struct Null<'a> {
    header: &'a [u8; null::HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> Null<'a> {
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ViewError> {
        let (header, payload) = split::<{ null::HEADER_LEN }>(buf, Layer::Null)?;
        Ok(Null { header, payload })
    }

    pub fn raw_family(&self) -> u32 {
        let le = u32::from_le_bytes(*self.header);
        let be = u32::from_be_bytes(*self.header);
        le.min(be)
    }

    pub fn family(&self) -> Family {
        match self.raw_family() {
            null::AF_INET => Family::Ipv4,
            f if null::AF_INET6.contains(&f) => Family::Ipv6,
            f => Family::Other(f),
        }
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
    fn ethernet_and_vlan() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x20, 0x2a, 0x08, 0x00, 0x45]);
        let e = Ethernet::new_checked(&f).unwrap();
        assert_eq!(e.ethertype(), 0x8100);
        let v = VlanTag::new_checked(e.payload()).unwrap();
        assert_eq!(
            (v.vid(), v.pcp(), v.ethertype(), v.payload()),
            (42, 1, 0x0800, &[0x45][..])
        );
        every_truncation_fails(&f, 14, Ethernet::new_checked);
        every_truncation_fails(&[0, 1, 8, 0], 4, VlanTag::new_checked);
    }

    #[test]
    fn tags_and_hdlc() {
        let e = [0, 0, 0, 0, 0, 0, 0x08, 0x00, 0x45];
        let t = ETag::new_checked(&e).unwrap();
        assert_eq!((t.ethertype(), t.payload()), (0x0800, &[0x45][..]));
        every_truncation_fails(&e, 8, ETag::new_checked);
        let v = [0x80, 1, 0, 2, 0x86, 0xdd];
        assert_eq!(VnTag::new_checked(&v).unwrap().ethertype(), 0x86dd);
        every_truncation_fails(&v, 6, VnTag::new_checked);
        let h = [0x0f, 0, 0x08, 0x00, 0x45];
        let c = CiscoHdlc::new_checked(&h).unwrap();
        assert_eq!((c.protocol(), c.payload()), (0x0800, &[0x45][..]));
        every_truncation_fails(&h, 4, CiscoHdlc::new_checked);
    }

    #[test]
    fn pppoe_table() {
        let cases: &[(&[u8], Result<(u16, usize), &str>)] = &[
            (&[0x11, 0, 0, 1, 0, 3, 0, 0x21, 0x45, 0xff], Ok((0x21, 1))),
            // Protocol field compression: one byte.
            (&[0x11, 0, 0, 1, 0, 2, 0x57, 0x60, 0xff], Ok((0x57, 1))),
            (&[0x11, 0, 0, 1, 0, 2, 0xc0, 0x21], Ok((0xc021, 0))),
            (
                &[0x11, 9, 0, 1, 0, 3, 0, 0x21, 0x45],
                Err("pppoe: byte 0: not a version 1 session packet"),
            ),
            (
                &[0x11, 0, 0, 1, 0, 9, 0, 0x21, 0x45],
                Err("pppoe: truncated: needs 9 bytes from offset 6, 3 captured"),
            ),
            (
                &[0x11, 0, 0, 1, 0, 1, 0, 0x21],
                Err("pppoe: truncated: needs 2 bytes from offset 6, 1 captured"),
            ),
        ];
        for (bytes, want) in cases {
            let got = Pppoe::new_checked(bytes)
                .map(|p| (p.ppp_protocol(), p.payload().len()))
                .map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(String::from), "{bytes:02x?}");
        }
    }

    #[test]
    fn sll_and_sll2() {
        let sll = [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x86, 0xdd, 0x60];
        let s = LinuxSll::new_checked(&sll).unwrap();
        assert_eq!(
            (s.packet_type(), s.arphrd(), s.protocol(), s.payload()),
            (0, 1, 0x86dd, &[0x60][..])
        );
        every_truncation_fails(&sll, 16, LinuxSll::new_checked);
        let sll2 = [
            8, 0, 0, 0, 0, 0, 0, 3, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x45,
        ];
        let s = LinuxSll2::new_checked(&sll2).unwrap();
        assert_eq!(
            (s.protocol(), s.ifindex(), s.arphrd(), s.packet_type()),
            (0x0800, 3, 1, 4)
        );
        assert_eq!(s.payload(), &[0x45]);
        every_truncation_fails(&sll2, 20, LinuxSll2::new_checked);
    }

    #[test]
    fn null_family_in_either_byte_order() {
        let cases: &[([u8; 4], Family)] = &[
            ([2, 0, 0, 0], Family::Ipv4),
            ([0, 0, 0, 2], Family::Ipv4),
            ([30, 0, 0, 0], Family::Ipv6),
            ([0, 0, 0, 24], Family::Ipv6),
            ([0, 0, 0, 28], Family::Ipv6),
            ([10, 0, 0, 0], Family::Ipv6),
            ([7, 0, 0, 0], Family::Other(7)),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                Null::new_checked(bytes).unwrap().family(),
                *want,
                "{bytes:?}"
            );
        }
        every_truncation_fails(&[2, 0, 0, 0], 4, Null::new_checked);
    }
}
