//! Who the client really is: the PROXY protocol header (v1 text, v2 binary) a
//! load balancer puts in front of a client stream, and the real-IP request
//! headers (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`, ...) resolved right to
//! left through the trusted proxies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::net::{in_any, Cidr};

/// The 12-byte signature of a PROXY protocol v2 header.
pub const PROXY_V2_SIG: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
const PROXY_V1: &[u8] = b"PROXY ";
/// Longest v1 header, CRLF included (the spec's bound).
const PROXY_V1_MAX: usize = 107;
/// Longest v2 header we accept (16-byte fixed part + addresses and TLVs).
const PROXY_V2_MAX: usize = 16 + 4096;

/// What the start of a client stream holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Proxy {
    /// Too few bytes to tell.
    Incomplete,
    /// No PROXY header.
    Absent,
    /// A header of `len` bytes; `src` is the client it names (none for
    /// `UNKNOWN` / `LOCAL`).
    Header { len: usize, src: Option<SocketAddr> },
    /// Something that starts like a PROXY header but is not one; `len` bytes
    /// to skip (0 when nothing sensible can be skipped).
    Bad { len: usize, why: &'static str },
}

/// Recognises a PROXY protocol v1 or v2 header at the start of `buf`.
pub fn parse_proxy(buf: &[u8]) -> Proxy {
    let n = buf.len();
    if n < PROXY_V2_SIG.len() && PROXY_V2_SIG.starts_with(buf) && n > 0 {
        return Proxy::Incomplete;
    }
    if buf.starts_with(PROXY_V2_SIG) {
        return parse_v2(buf);
    }
    if n < PROXY_V1.len() && PROXY_V1.starts_with(buf) && n > 0 {
        return Proxy::Incomplete;
    }
    if buf.starts_with(PROXY_V1) {
        return parse_v1(buf);
    }
    Proxy::Absent
}

fn parse_v1(buf: &[u8]) -> Proxy {
    let window = &buf[..buf.len().min(PROXY_V1_MAX)];
    let Some(nl) = memchr::memchr(b'\n', window) else {
        return if buf.len() >= PROXY_V1_MAX {
            Proxy::Bad {
                len: 0,
                why: "bad_proxy_header",
            }
        } else {
            Proxy::Incomplete
        };
    };
    let len = nl + 1;
    let line = window.get(..nl).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Ok(text) = std::str::from_utf8(line) else {
        return Proxy::Bad {
            len,
            why: "bad_proxy_header",
        };
    };
    let mut parts = text.split(' ').skip(1);
    let bad = Proxy::Bad {
        len,
        why: "bad_proxy_header",
    };
    match parts.next() {
        Some("UNKNOWN") => Proxy::Header { len, src: None },
        Some("TCP4" | "TCP6") => {
            let (Some(src), Some(_dst), Some(sport), Some(_dport), None) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) else {
                return bad;
            };
            match (src.parse::<IpAddr>(), sport.parse::<u16>()) {
                (Ok(ip), Ok(port)) => Proxy::Header {
                    len,
                    src: Some(SocketAddr::new(ip, port)),
                },
                _ => bad,
            }
        }
        _ => bad,
    }
}

fn parse_v2(buf: &[u8]) -> Proxy {
    let Some(fixed) = buf.get(..16) else {
        return Proxy::Incomplete;
    };
    let ver_cmd = fixed[12];
    let fam = fixed[13];
    let addr_len = usize::from(u16::from_be_bytes([fixed[14], fixed[15]]));
    let len = 16 + addr_len;
    if ver_cmd >> 4 != 2 || len > PROXY_V2_MAX {
        return Proxy::Bad {
            len: 0,
            why: "bad_proxy_header",
        };
    }
    let Some(addrs) = buf.get(16..len) else {
        return Proxy::Incomplete;
    };
    if ver_cmd & 0x0f == 0 {
        // LOCAL: the proxy's own connection (health check), no client.
        return Proxy::Header { len, src: None };
    }
    let src = match fam >> 4 {
        1 => addrs.get(..12).map(|a| {
            let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            SocketAddr::new(IpAddr::V4(ip), u16::from_be_bytes([a[8], a[9]]))
        }),
        2 => addrs.get(..36).map(|a| {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&a[..16]);
            SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(octets)),
                u16::from_be_bytes([a[32], a[33]]),
            )
        }),
        _ => None,
    };
    if src.is_none() && fam >> 4 != 0 && fam >> 4 != 3 {
        return Proxy::Bad {
            len,
            why: "bad_proxy_header",
        };
    }
    Proxy::Header { len, src }
}

/// How `real_ip` is found from request headers.
#[derive(Debug, Clone, Default)]
pub struct RealIpConfig {
    /// Headers to look at, in order; the first one present is used.
    pub headers: Vec<String>,
    /// Proxies whose headers are believed.
    pub trusted: Vec<Cidr>,
}

/// The headers looked at by default, in order.
pub const DEFAULT_REAL_IP_HEADERS: &[&str] = &[
    "X-Forwarded-For",
    "Forwarded",
    "X-Real-IP",
    "True-Client-IP",
    "CF-Connecting-IP",
];

/// Parses one address as headers write it: `1.2.3.4`, `1.2.3.4:80`,
/// `2001:db8::1`, `[2001:db8::1]:80`, optionally in double quotes.
pub fn parse_addr(text: &str) -> Option<IpAddr> {
    let t = text.trim().trim_matches('"').trim();
    if let Some(rest) = t.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    if let Ok(ip) = t.parse() {
        return Some(ip);
    }
    let (host, port) = t.rsplit_once(':')?;
    if port.bytes().all(|b| b.is_ascii_digit()) {
        return host.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    None
}

/// The `for=` values of a `Forwarded` header (RFC 7239), in order.
fn forwarded_for(value: &str, out: &mut Vec<Option<IpAddr>>) {
    // Split on commas outside quotes.
    let mut start = 0;
    let mut quoted = false;
    let bytes = value.as_bytes();
    let mut elements = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                elements.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    elements.push(value.get(start..).unwrap_or_default());
    for el in elements {
        for pair in el.split(';') {
            if let Some((k, v)) = pair.split_once('=') {
                if k.trim().eq_ignore_ascii_case("for") {
                    out.push(parse_addr(v));
                }
            }
        }
    }
}

/// Resolves the real client address: starting from `peer` (the TCP client,
/// or the PROXY protocol source), walk the chain the first configured header
/// holds from right to left while the current hop is a trusted proxy. An
/// entry that is not an address stops the walk.
pub fn resolve(cfg: &RealIpConfig, peer: IpAddr, headers: &[(String, String)]) -> IpAddr {
    if cfg.trusted.is_empty() || !in_any(&cfg.trusted, peer) {
        return peer;
    }
    let mut chain: Vec<Option<IpAddr>> = Vec::new();
    for name in &cfg.headers {
        let forwarded = name.eq_ignore_ascii_case("forwarded");
        for (n, v) in headers {
            if !n.eq_ignore_ascii_case(name) {
                continue;
            }
            if forwarded {
                forwarded_for(v, &mut chain);
            } else {
                chain.extend(v.split(',').map(parse_addr));
            }
        }
        if !chain.is_empty() {
            break;
        }
    }
    let mut cur = peer;
    for hop in chain.iter().rev() {
        if !in_any(&cfg.trusted, cur) {
            break;
        }
        match hop {
            Some(ip) => cur = *ip,
            None => break,
        }
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn proxy_v1() {
        let h = b"PROXY TCP4 203.0.113.9 10.0.0.1 56324 80\r\nGET / HTTP/1.1\r\n";
        assert_eq!(
            parse_proxy(h),
            Proxy::Header {
                len: 42,
                src: sa("203.0.113.9:56324")
            }
        );
        let h6 = b"PROXY TCP6 2001:db8::9 2001:db8::1 4000 443\r\n";
        assert_eq!(
            parse_proxy(h6),
            Proxy::Header {
                len: h6.len(),
                src: sa("[2001:db8::9]:4000")
            }
        );
        assert_eq!(
            parse_proxy(b"PROXY UNKNOWN\r\n"),
            Proxy::Header { len: 15, src: None }
        );
        assert_eq!(parse_proxy(b"PRO"), Proxy::Incomplete);
        assert_eq!(parse_proxy(b"PROXY TCP4 1.2.3.4"), Proxy::Incomplete);
        assert_eq!(parse_proxy(b"GET / HTTP/1.1\r\n"), Proxy::Absent);
        assert!(matches!(
            parse_proxy(b"PROXY TCP4 x y z w\r\n"),
            Proxy::Bad { len: 20, .. }
        ));
        assert!(matches!(
            parse_proxy(&[b'P', b'R', b'O', b'X', b'Y', b' '].repeat(30)),
            Proxy::Bad { len: 0, .. }
        ));
    }

    pub fn v2(src: SocketAddr) -> Vec<u8> {
        let mut h = PROXY_V2_SIG.to_vec();
        h.push(0x21);
        match src {
            SocketAddr::V4(a) => {
                h.push(0x11);
                h.extend_from_slice(&12u16.to_be_bytes());
                h.extend_from_slice(&a.ip().octets());
                h.extend_from_slice(&[10, 0, 0, 1]);
                h.extend_from_slice(&a.port().to_be_bytes());
                h.extend_from_slice(&80u16.to_be_bytes());
            }
            SocketAddr::V6(a) => {
                h.push(0x21);
                h.extend_from_slice(&36u16.to_be_bytes());
                h.extend_from_slice(&a.ip().octets());
                h.extend_from_slice(&[0; 16]);
                h.extend_from_slice(&a.port().to_be_bytes());
                h.extend_from_slice(&80u16.to_be_bytes());
            }
        }
        h
    }

    #[test]
    fn proxy_v2() {
        for src in ["198.51.100.7:1234", "[2001:db8::7]:99"] {
            let src: SocketAddr = src.parse().unwrap();
            let h = v2(src);
            assert_eq!(
                parse_proxy(&h),
                Proxy::Header {
                    len: h.len(),
                    src: Some(src)
                }
            );
            for cut in 1..h.len() {
                assert_eq!(parse_proxy(&h[..cut]), Proxy::Incomplete, "cut {cut}");
            }
        }
        let mut local = PROXY_V2_SIG.to_vec();
        local.extend_from_slice(&[0x20, 0x00, 0, 0]);
        assert_eq!(parse_proxy(&local), Proxy::Header { len: 16, src: None });
        let mut bad = PROXY_V2_SIG.to_vec();
        bad.extend_from_slice(&[0x31, 0x11, 0, 0]);
        assert!(matches!(parse_proxy(&bad), Proxy::Bad { .. }));
    }

    fn hdrs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn resolution_through_trusted_proxies() {
        let cfg = RealIpConfig {
            headers: DEFAULT_REAL_IP_HEADERS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            trusted: vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8:ffff::/48".parse().unwrap(),
            ],
        };
        let lb: IpAddr = "10.0.0.2".parse().unwrap();
        let outside: IpAddr = "198.51.100.1".parse().unwrap();
        type Case<'a> = (&'a str, IpAddr, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case<'_>] = &[
            ("no header", lb, &[], "10.0.0.2"),
            (
                "xff one hop",
                lb,
                &[("X-Forwarded-For", "203.0.113.9")],
                "203.0.113.9",
            ),
            (
                "xff spoofed left part ignored",
                lb,
                &[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.7")],
                "203.0.113.9",
            ),
            (
                "xff split over two lines",
                lb,
                &[
                    ("X-Forwarded-For", "1.1.1.1"),
                    ("X-Forwarded-For", "10.1.1.1"),
                ],
                "1.1.1.1",
            ),
            (
                "untrusted peer: headers ignored",
                outside,
                &[("X-Forwarded-For", "203.0.113.9")],
                "198.51.100.1",
            ),
            (
                "forwarded quoted v6 with port",
                lb,
                &[(
                    "Forwarded",
                    r#"for="[2001:db8::9]:4711";proto=https, for=10.0.0.5"#,
                )],
                "2001:db8::9",
            ),
            (
                "forwarded v4 with port",
                lb,
                &[("Forwarded", r#"for="192.0.2.60:8080";by=10.0.0.1"#)],
                "192.0.2.60",
            ),
            (
                "forwarded obfuscated stops",
                lb,
                &[("Forwarded", r#"for=192.0.2.1, for="_hidden""#)],
                "10.0.0.2",
            ),
            (
                "x-real-ip",
                lb,
                &[("X-Real-IP", "203.0.113.44")],
                "203.0.113.44",
            ),
            (
                "first configured header wins",
                lb,
                &[
                    ("CF-Connecting-IP", "5.5.5.5"),
                    ("X-Forwarded-For", "6.6.6.6"),
                ],
                "6.6.6.6",
            ),
            (
                "garbage",
                lb,
                &[("X-Forwarded-For", "nonsense")],
                "10.0.0.2",
            ),
        ];
        for (name, peer, h, want) in cases {
            assert_eq!(resolve(&cfg, *peer, &hdrs(h)).to_string(), *want, "{name}");
        }
        let none = RealIpConfig {
            headers: cfg.headers.clone(),
            trusted: vec![],
        };
        assert_eq!(
            resolve(&none, lb, &hdrs(&[("X-Forwarded-For", "203.0.113.9")])),
            lb
        );
    }

    #[test]
    fn addr_forms() {
        for (t, want) in [
            ("1.2.3.4", Some("1.2.3.4")),
            (" 1.2.3.4:80 ", Some("1.2.3.4")),
            ("2001:db8::1", Some("2001:db8::1")),
            ("[2001:db8::1]:443", Some("2001:db8::1")),
            ("\"[::1]\"", Some("::1")),
            ("unknown", None),
            ("1.2.3.4:x", None),
        ] {
            assert_eq!(parse_addr(t).map(|i| i.to_string()).as_deref(), want, "{t}");
        }
    }
}
