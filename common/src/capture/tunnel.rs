//! What a mirror-tunnel listener socket receives: the UDP payload of a VXLAN
//! (RFC 7348) or Geneve (RFC 8926) datagram. The headers are read with the
//! decap stage's checked views ([`crate::decap::view`]), so a tunnel is
//! parsed the same way whether it arrives on a socket or inside a capture.
//! The listener only adds what a socket needs: the inner frame must hold at
//! least a link header, and Geneve must carry Ethernet or IP.

use std::collections::BTreeSet;

use crate::decap::view::{geneve::Geneve, vxlan::Vxlan};
use crate::decap::{Layer, ViewError};
use crate::record::LinkType;

/// IANA port of VXLAN.
pub const VXLAN_PORT: u16 = 4789;
/// IANA port of Geneve.
pub const GENEVE_PORT: u16 = 6081;

/// The largest VNI (24 bits).
pub const MAX_VNI: u32 = 0x00ff_ffff;

/// Ethertype of transparent Ethernet bridging (an inner Ethernet frame).
const ETHERTYPE_TEB: u16 = 0x6558;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Smallest inner frame accepted: an Ethernet header, or an IPv4 header.
const MIN_ETHERNET: usize = 14;
const MIN_IP: usize = 20;

/// A decapsulated tunnel datagram: the inner frame borrowed from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decap<'a> {
    pub vni: u32,
    /// Link type of `inner`.
    pub link: LinkType,
    pub inner: &'a [u8],
    /// Geneve OAM (control) message: not traffic to observe.
    pub oam: bool,
}

/// Checks the inner frame's minimum length for its link type; `offset` is
/// where it starts in the datagram, for the message.
fn inner(payload: &[u8], offset: usize, link: LinkType) -> Result<&[u8], ViewError> {
    let (layer, min) = match link {
        LinkType::Ethernet => (Layer::Ethernet, MIN_ETHERNET),
        _ => (Layer::Ipv4, MIN_IP),
    };
    if payload.len() < min {
        return Err(ViewError::truncated(layer, offset, min, payload.len()));
    }
    Ok(payload)
}

/// Parses the UDP payload of a VXLAN datagram. The inner frame is Ethernet.
pub fn vxlan(buf: &[u8]) -> Result<Decap<'_>, ViewError> {
    let v = Vxlan::new_checked(buf)?;
    Ok(Decap {
        vni: v.vni(),
        link: LinkType::Ethernet,
        inner: inner(
            v.payload(),
            buf.len() - v.payload().len(),
            LinkType::Ethernet,
        )?,
        oam: false,
    })
}

/// Parses the UDP payload of a Geneve datagram; options are skipped by their
/// length. Protocol 0x6558 carries Ethernet, 0x0800/0x86dd raw IP.
pub fn geneve(buf: &[u8]) -> Result<Decap<'_>, ViewError> {
    let g = Geneve::new_checked(buf)?;
    let link = match g.protocol() {
        ETHERTYPE_TEB => LinkType::Ethernet,
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => LinkType::Raw,
        _ => {
            return Err(ViewError::malformed(
                Layer::Geneve,
                2,
                "protocol is not Ethernet (0x6558), IPv4 or IPv6",
            ))
        }
    };
    Ok(Decap {
        vni: g.vni(),
        link,
        inner: inner(g.payload(), g.header_len(), link)?,
        oam: g.oam(),
    })
}

/// Which VNIs a listener keeps: an allow list (empty: all) minus a deny list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VniFilter {
    allow: BTreeSet<u32>,
    deny: BTreeSet<u32>,
}

impl VniFilter {
    pub fn new(allow: impl IntoIterator<Item = u32>, deny: impl IntoIterator<Item = u32>) -> Self {
        VniFilter {
            allow: allow.into_iter().collect(),
            deny: deny.into_iter().collect(),
        }
    }

    /// Whether frames of `vni` are kept. A VNI both allowed and denied is denied.
    pub fn allows(&self, vni: u32) -> bool {
        !self.deny.contains(&vni) && (self.allow.is_empty() || self.allow.contains(&vni))
    }
}

/// Parses a VNI argument: decimal, at most 24 bits.
pub fn parse_vni(s: &str) -> Result<u32, String> {
    let vni: u32 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a VNI (a number from 0 to {MAX_VNI})"))?;
    if vni > MAX_VNI {
        return Err(format!("VNI {vni} does not fit in 24 bits (max {MAX_VNI})"));
    }
    Ok(vni)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal Ethernet/IPv4/TCP frame (no payload), for tests.
    pub(crate) fn inner_frame() -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[
            0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 1, 0, 7, 10, 1, 0, 9,
        ]);
        f.extend_from_slice(&[
            0xc8, 0x22, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x10, 0, 0, 0, 0, 0,
        ]);
        f
    }

    pub(crate) fn vxlan_packet(flags: u8, vni: u32, inner: &[u8]) -> Vec<u8> {
        let v = vni.to_be_bytes();
        let mut p = vec![flags, 0, 0, 0, v[1], v[2], v[3], 0];
        p.extend_from_slice(inner);
        p
    }

    pub(crate) fn geneve_packet(
        version: u8,
        flags: u8,
        protocol: u16,
        vni: u32,
        options: &[u8],
        inner: &[u8],
    ) -> Vec<u8> {
        let v = vni.to_be_bytes();
        let p = protocol.to_be_bytes();
        let optlen = (options.len() / 4) as u8;
        let mut out = vec![
            (version << 6) | optlen,
            flags,
            p[0],
            p[1],
            v[1],
            v[2],
            v[3],
            0,
        ];
        out.extend_from_slice(options);
        out.extend_from_slice(inner);
        out
    }

    /// One Geneve option TLV: class 0x0108 (AWS), type 1, 4 bytes of data.
    pub(crate) const OPTION: [u8; 8] = [0x01, 0x08, 0x01, 0x01, 0xde, 0xad, 0xbe, 0xef];

    #[test]
    fn vxlan_valid() {
        let inner = inner_frame();
        let p = vxlan_packet(0x08, 0x123456, &inner);
        assert_eq!(
            vxlan(&p).unwrap(),
            Decap {
                vni: 0x123456,
                link: LinkType::Ethernet,
                inner: &inner,
                oam: false
            }
        );
        // Reserved bits are ignored on receipt.
        assert_eq!(vxlan(&vxlan_packet(0xff, 7, &inner)).unwrap().vni, 7);
    }

    #[test]
    fn vxlan_every_truncation_is_an_error() {
        let p = vxlan_packet(0x08, 1, &inner_frame());
        for len in 0..8 + MIN_ETHERNET {
            let err = vxlan(&p[..len]).unwrap_err();
            let want = if len < 8 {
                "vxlan_truncated"
            } else {
                "ethernet_truncated"
            };
            assert_eq!(err.key(), want, "len {len}: {err}");
        }
        assert_eq!(
            vxlan(&p[..10]).unwrap_err().to_string(),
            "ethernet: truncated: needs 14 bytes from offset 8, 2 captured"
        );
    }

    #[test]
    fn vxlan_without_i_flag() {
        let err = vxlan(&vxlan_packet(0x00, 1, &inner_frame())).unwrap_err();
        assert_eq!(err.key(), "vxlan_malformed");
        assert!(err.to_string().contains("I flag"), "{err}");
    }

    #[test]
    fn geneve_valid_with_and_without_options() {
        let inner = inner_frame();
        let cases: [(&[u8], u16, &[u8], LinkType); 3] = [
            (&[], ETHERTYPE_TEB, &inner, LinkType::Ethernet),
            (&OPTION, ETHERTYPE_TEB, &inner, LinkType::Ethernet),
            (&OPTION, ETHERTYPE_IPV4, &inner[14..], LinkType::Raw),
        ];
        for (options, proto, payload, link) in cases {
            let p = geneve_packet(0, 0, proto, 42, options, payload);
            assert_eq!(
                geneve(&p).unwrap(),
                Decap {
                    vni: 42,
                    link,
                    inner: payload,
                    oam: false
                }
            );
        }
        let oam = geneve_packet(0, 0x80, ETHERTYPE_TEB, 1, &[], &inner);
        assert!(geneve(&oam).unwrap().oam);
    }

    #[test]
    fn geneve_every_truncation_is_an_error() {
        let p = geneve_packet(0, 0, ETHERTYPE_TEB, 9, &OPTION, &inner_frame());
        for len in 0..8 + OPTION.len() + MIN_ETHERNET {
            let err = geneve(&p[..len]).unwrap_err();
            let want = if len < 16 {
                "geneve_truncated"
            } else {
                "ethernet_truncated"
            };
            assert_eq!(err.key(), want, "len {len}: {err}");
        }
    }

    #[test]
    fn geneve_bad_version_and_protocol() {
        let inner = inner_frame();
        for version in 1..4 {
            let err =
                geneve(&geneve_packet(version, 0, ETHERTYPE_TEB, 1, &[], &inner)).unwrap_err();
            assert_eq!(err.key(), "geneve_malformed", "{err}");
        }
        let err = geneve(&geneve_packet(0, 0, 0x0806, 1, &[], &inner)).unwrap_err();
        assert_eq!(err.key(), "geneve_malformed");
        assert!(err.to_string().contains("protocol"), "{err}");
    }

    #[test]
    fn vni_filters() {
        type Case<'a> = (&'a [u32], &'a [u32], &'a [(u32, bool)]);
        let cases: [Case<'_>; 4] = [
            (&[], &[], &[(0, true), (MAX_VNI, true)]),
            (&[5, 6], &[], &[(5, true), (6, true), (7, false)]),
            (&[], &[7], &[(5, true), (7, false)]),
            (&[5, 7], &[7], &[(5, true), (7, false), (8, false)]),
        ];
        for (allow, deny, checks) in cases {
            let f = VniFilter::new(allow.iter().copied(), deny.iter().copied());
            for (vni, want) in checks {
                assert_eq!(
                    f.allows(*vni),
                    *want,
                    "allow {allow:?} deny {deny:?} vni {vni}"
                );
            }
        }
    }

    #[test]
    fn vni_arguments() {
        assert_eq!(parse_vni("0"), Ok(0));
        assert_eq!(parse_vni("16777215"), Ok(MAX_VNI));
        assert!(parse_vni("16777216").unwrap_err().contains("24 bits"));
        assert!(parse_vni("-1").is_err());
        assert!(parse_vni("seven").is_err());
    }
}
