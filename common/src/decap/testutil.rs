//! Frame builders for the decapper tests: etherparse builds the inner IP+TCP
//! (with correct checksums); the tunnel headers are written here by hand.

use super::checksum;

pub const MAC: [u8; 12] = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];

pub fn v4(s: &str) -> [u8; 4] {
    s.parse::<std::net::Ipv4Addr>().unwrap().octets()
}

pub fn v6(s: &str) -> [u8; 16] {
    s.parse::<std::net::Ipv6Addr>().unwrap().octets()
}

/// IPv4 + TCP (PSH ACK, seq 1000, ack 2000, window 512) with valid checksums.
pub fn tcp4(src: &str, dst: &str, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ipv4(v4(src), v4(dst), 64)
        .tcp(sport, dport, 1000, 512)
        .ack(2000)
        .psh();
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// IPv6 + TCP (PSH ACK) with a valid checksum.
pub fn tcp6(src: &str, dst: &str, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = etherparse::PacketBuilder::ipv6(v6(src), v6(dst), 48)
        .tcp(sport, dport, 1000, 512)
        .ack(2000)
        .psh();
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Ethernet II header + payload.
pub fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    cat(&[&MAC, &ethertype.to_be_bytes(), payload])
}

/// A VLAN tag (TCI, inner EtherType) + payload; the TPID is the outer EtherType.
pub fn vlan(vid: u16, inner: u16, payload: &[u8]) -> Vec<u8> {
    cat(&[&vid.to_be_bytes(), &inner.to_be_bytes(), payload])
}

/// An IPv4 header (valid checksum) with the given protocol + payload.
pub fn ip4(src: &str, dst: &str, proto: u8, payload: &[u8]) -> Vec<u8> {
    ip4_frag(src, dst, proto, 0x77, 0, false, payload)
}

/// An IPv4 header carrying one fragment.
pub fn ip4_frag(
    src: &str,
    dst: &str,
    proto: u8,
    ident: u16,
    offset: usize,
    more: bool,
    payload: &[u8],
) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let frag = (offset / 8) as u16 | if more { 0x2000 } else { 0 };
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&ident.to_be_bytes());
    h.extend_from_slice(&frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&v4(src));
    h.extend_from_slice(&v4(dst));
    let sum = checksum::finish(checksum::add(0, &h));
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    cat(&[&h, payload])
}

/// An IPv6 header with the given next header + payload.
pub fn ip6(src: &str, dst: &str, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    h.extend_from_slice(&v6(src));
    h.extend_from_slice(&v6(dst));
    cat(&[&h, payload])
}

/// An IPv6 fragment extension header + payload.
pub fn ip6_frag_hdr(next: u8, offset: usize, more: bool, ident: u32, payload: &[u8]) -> Vec<u8> {
    let off = (offset as u16) & 0xfff8 | u16::from(more);
    cat(&[
        &[next, 0],
        &off.to_be_bytes(),
        &ident.to_be_bytes(),
        payload,
    ])
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    cat(&[
        &sport.to_be_bytes(),
        &dport.to_be_bytes(),
        &len.to_be_bytes(),
        &[0, 0],
        payload,
    ])
}

pub fn vxlan(vni: u32, payload: &[u8]) -> Vec<u8> {
    let v = vni.to_be_bytes();
    cat(&[&[0x08, 0, 0, 0, v[1], v[2], v[3], 0], payload])
}

pub fn geneve(vni: u32, proto: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let v = vni.to_be_bytes();
    let words = (options.len() / 4) as u8;
    cat(&[
        &[words, 0],
        &proto.to_be_bytes(),
        &[v[1], v[2], v[3], 0],
        options,
        payload,
    ])
}

pub fn gre(proto: u16, key: Option<u32>, seq: Option<u32>, payload: &[u8]) -> Vec<u8> {
    let mut flags = 0u16;
    let mut opts = vec![];
    if let Some(k) = key {
        flags |= 0x2000;
        opts.extend_from_slice(&k.to_be_bytes());
    }
    if let Some(s) = seq {
        flags |= 0x1000;
        opts.extend_from_slice(&s.to_be_bytes());
    }
    cat(&[&flags.to_be_bytes(), &proto.to_be_bytes(), &opts, payload])
}

pub fn erspan2(session: u16, payload: &[u8]) -> Vec<u8> {
    let s = session.to_be_bytes();
    cat(&[&[0x10, 0x00, s[0] & 3, s[1], 0, 0, 0, 1], payload])
}

pub fn erspan3(session: u16, platform: bool, payload: &[u8]) -> Vec<u8> {
    let s = session.to_be_bytes();
    let mut h = vec![
        0x20,
        0x00,
        s[0] & 3,
        s[1],
        0,
        0,
        0,
        9,
        0,
        0,
        0,
        u8::from(platform),
    ];
    if platform {
        h.extend_from_slice(&[0xaa; 8]);
    }
    cat(&[&h, payload])
}

pub fn mpls(labels: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut out = vec![];
    for (i, l) in labels.iter().enumerate() {
        let bos = if i + 1 == labels.len() { 0x100 } else { 0 };
        out.extend_from_slice(&((l << 12) | bos | 64).to_be_bytes());
    }
    cat(&[&out, payload])
}
