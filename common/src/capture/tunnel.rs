//! Checked views over the mirror-tunnel headers a listener socket receives:
//! VXLAN (RFC 7348) and Geneve (RFC 8926).
//!
//! The UDP payload is validated once (length, flags, version), then the inner
//! frame is borrowed from it. Every failure names the layer, the byte offset
//! within the UDP payload, and the reason; [`TunnelError::reason`] gives a
//! short name for counting.

use std::collections::BTreeSet;

use crate::record::LinkType;

/// IANA port of VXLAN.
pub const VXLAN_PORT: u16 = 4789;
/// IANA port of Geneve.
pub const GENEVE_PORT: u16 = 6081;

/// The largest VNI (24 bits).
pub const MAX_VNI: u32 = 0x00ff_ffff;

mod vxlan_field {
    /// Flags byte; bit 0x08 is I (the VNI is valid).
    pub const FLAGS: usize = 0;
    /// 24-bit VNI, followed by a reserved byte.
    pub const VNI: usize = 4;
    pub const HEADER_LEN: usize = 8;
    pub const FLAG_I: u8 = 0x08;
}

mod geneve_field {
    /// Version (2 bits) and option length in 4-byte words (6 bits).
    pub const VER_OPTLEN: usize = 0;
    /// O (OAM) and C (critical options) bits, then 6 reserved bits.
    pub const FLAGS: usize = 1;
    pub const PROTOCOL: usize = 2;
    pub const VNI: usize = 4;
    pub const HEADER_LEN: usize = 8;
    pub const FLAG_OAM: u8 = 0x80;
}

/// Ethertype of transparent Ethernet bridging (an inner Ethernet frame).
const ETHERTYPE_TEB: u16 = 0x6558;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Smallest inner frame accepted: an Ethernet header, or an IPv4 header.
const MIN_ETHERNET: usize = 14;
const MIN_IP: usize = 20;

/// Why a tunnel datagram was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TunnelError {
    #[error("{layer} at byte {offset}: truncated: needs {need} bytes, {have} present")]
    Truncated {
        layer: &'static str,
        offset: usize,
        need: usize,
        have: usize,
    },
    #[error("vxlan header at byte 0: flags {flags:#04x} lack the I bit (no valid VNI)")]
    VxlanNoVni { flags: u8 },
    #[error("geneve header at byte 0: version {version}, only version 0 is defined")]
    GeneveVersion { version: u8 },
    #[error(
        "geneve header at byte 2: protocol {protocol:#06x} is not Ethernet (0x6558), IPv4 or IPv6"
    )]
    GeneveProtocol { protocol: u16 },
}

impl TunnelError {
    /// A short name for counting (`vxlan_truncated`, `geneve_version`, ...).
    pub fn reason(&self) -> &'static str {
        match self {
            TunnelError::Truncated { layer, .. } => match *layer {
                "vxlan header" => "vxlan_truncated",
                "geneve header" => "geneve_truncated",
                "geneve options" => "geneve_options_truncated",
                _ => "inner_frame_truncated",
            },
            TunnelError::VxlanNoVni { .. } => "vxlan_no_vni_flag",
            TunnelError::GeneveVersion { .. } => "geneve_version",
            TunnelError::GeneveProtocol { .. } => "geneve_protocol",
        }
    }
}

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

fn need(buf: &[u8], layer: &'static str, offset: usize, len: usize) -> Result<(), TunnelError> {
    let have = buf.len().saturating_sub(offset);
    if have < len {
        Err(TunnelError::Truncated {
            layer,
            offset,
            need: len,
            have,
        })
    } else {
        Ok(())
    }
}

fn u24_at(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 3) {
        Some([x, y, z]) => u32::from_be_bytes([0, *x, *y, *z]),
        _ => 0,
    }
}

fn byte_at(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// Checks the inner frame's minimum length for its link type.
fn inner(buf: &[u8], offset: usize, link: LinkType) -> Result<&[u8], TunnelError> {
    let min = if link == LinkType::Ethernet {
        MIN_ETHERNET
    } else {
        MIN_IP
    };
    need(buf, "inner frame", offset, min)?;
    Ok(buf.get(offset..).unwrap_or_default())
}

/// Parses the UDP payload of a VXLAN datagram. The inner frame is Ethernet.
pub fn vxlan(buf: &[u8]) -> Result<Decap<'_>, TunnelError> {
    use vxlan_field::*;
    need(buf, "vxlan header", 0, HEADER_LEN)?;
    let flags = byte_at(buf, FLAGS);
    // RFC 7348 §5: the I flag MUST be set; the other bits are reserved and ignored on receipt.
    if flags & FLAG_I == 0 {
        return Err(TunnelError::VxlanNoVni { flags });
    }
    Ok(Decap {
        vni: u24_at(buf, VNI),
        link: LinkType::Ethernet,
        inner: inner(buf, HEADER_LEN, LinkType::Ethernet)?,
        oam: false,
    })
}

/// Parses the UDP payload of a Geneve datagram; options are skipped by their
/// length. Protocol 0x6558 carries Ethernet, 0x0800/0x86dd raw IP.
pub fn geneve(buf: &[u8]) -> Result<Decap<'_>, TunnelError> {
    use geneve_field::*;
    need(buf, "geneve header", 0, HEADER_LEN)?;
    let ver_optlen = byte_at(buf, VER_OPTLEN);
    let version = ver_optlen >> 6;
    if version != 0 {
        return Err(TunnelError::GeneveVersion { version });
    }
    let opt_len = usize::from(ver_optlen & 0x3f) * 4;
    need(buf, "geneve options", HEADER_LEN, opt_len)?;
    let protocol = u16::from_be_bytes([byte_at(buf, PROTOCOL), byte_at(buf, PROTOCOL + 1)]);
    let link = match protocol {
        ETHERTYPE_TEB => LinkType::Ethernet,
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => LinkType::Raw,
        _ => return Err(TunnelError::GeneveProtocol { protocol }),
    };
    Ok(Decap {
        vni: u24_at(buf, VNI),
        link,
        inner: inner(buf, HEADER_LEN + opt_len, link)?,
        oam: byte_at(buf, FLAGS) & FLAG_OAM != 0,
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
        let d = vxlan(&p).unwrap();
        assert_eq!(
            d,
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
                "inner_frame_truncated"
            };
            assert_eq!(err.reason(), want, "len {len}: {err}");
        }
        assert_eq!(
            vxlan(&p[..5]).unwrap_err().to_string(),
            "vxlan header at byte 0: truncated: needs 8 bytes, 5 present"
        );
        assert_eq!(
            vxlan(&p[..10]).unwrap_err().to_string(),
            "inner frame at byte 8: truncated: needs 14 bytes, 2 present"
        );
    }

    #[test]
    fn vxlan_without_i_flag() {
        let err = vxlan(&vxlan_packet(0x00, 1, &inner_frame())).unwrap_err();
        assert_eq!(err, TunnelError::VxlanNoVni { flags: 0 });
        assert_eq!(err.reason(), "vxlan_no_vni_flag");
        assert!(err.to_string().contains("lack the I bit"), "{err}");
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
            let d = geneve(&p).unwrap();
            assert_eq!(
                d,
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
            let want = match len {
                0..=7 => "geneve_truncated",
                8..=15 => "geneve_options_truncated",
                _ => "inner_frame_truncated",
            };
            assert_eq!(err.reason(), want, "len {len}: {err}");
        }
        assert_eq!(
            geneve(&p[..12]).unwrap_err().to_string(),
            "geneve options at byte 8: truncated: needs 8 bytes, 4 present"
        );
    }

    #[test]
    fn geneve_bad_version_and_protocol() {
        let inner = inner_frame();
        for version in 1..4 {
            let err =
                geneve(&geneve_packet(version, 0, ETHERTYPE_TEB, 1, &[], &inner)).unwrap_err();
            assert_eq!(err, TunnelError::GeneveVersion { version });
        }
        let err = geneve(&geneve_packet(0, 0, 0x0806, 1, &[], &inner)).unwrap_err();
        assert_eq!(err.reason(), "geneve_protocol");
        assert!(err.to_string().contains("0x0806"), "{err}");
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
