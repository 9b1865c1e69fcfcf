//! Reading the records our own writers produce, without serde's general parse.
//!
//! Every stage writes its records with the fields in one order, no spaces and
//! (for the fields read here) no escapes: [`crate::record::fast_json`] and
//! serde both do. Most of a stage's time reading NDJSON went to serde_json
//! finding each key by name, checking every key and value as UTF-8 and
//! scanning base64 payloads for escapes. The readers here walk a line in that
//! one layout instead and give up (`None`) at the first byte that differs:
//! another field order, a space, an escape, an unknown field, a number out of
//! range, bad base64. The caller then parses the line with serde as before,
//! so what a line means, and the error a bad line gets, do not change.
//!
//! A reader returns `Some` only for a line serde parses to the same value:
//! every value goes through the same function serde's path calls
//! ([`Ts::parse`], `IpAddr`'s `FromStr`, [`TcpFlags::from_letters`],
//! [`b64::decode`]), strings are taken only without escapes or control
//! characters, numbers only in canonical form and in range, and the line
//! must end at the record's closing brace. The tests check this on random
//! records and on random damage to them.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::record::fast_json::first_special;
use crate::record::{
    b64, Data, Dir, Header, Http, HttpRequest, HttpResponse, IpInfo, Packet, TcpFlags, TcpInfo, Ts,
    Tunnel,
};

/// A position in one line.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
    /// The line as text, when it was checked as UTF-8 up front (else
    /// empty): a string's bounds are quotes, which are character
    /// boundaries, so a string inside it is a slice of it and needs no
    /// check of its own (any other is checked by itself).
    text: &'a str,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cur { b, i: 0, text: "" }
    }

    /// A line with many strings, checked as UTF-8 once (when it is not
    /// UTF-8, each string is checked by itself, and fails where it is bad).
    ///
    /// (Checking only the text between bodies, which are most of an `http`
    /// line and need no check, cost more in finding them than it saved.)
    fn text(line: &'a [u8]) -> Self {
        Cur {
            text: std::str::from_utf8(line).unwrap_or(""),
            ..Cur::new(line)
        }
    }

    /// Consumes exactly `lit`.
    #[inline(always)]
    fn lit(&mut self, lit: &[u8]) -> Option<()> {
        let end = self.i.checked_add(lit.len())?;
        (self.b.get(self.i..end)? == lit).then(|| self.i = end)
    }

    /// A string without escapes or control characters, quotes consumed.
    fn plain_str(&mut self) -> Option<&'a str> {
        self.lit(b"\"")?;
        let rest = self.b.get(self.i..)?;
        let end = first_special(rest)?;
        if rest.get(end) != Some(&b'"') {
            return None;
        }
        let start = self.i;
        self.i += end + 1;
        match self.text.get(start..start + end) {
            Some(text) => Some(text),
            None => std::str::from_utf8(rest.get(..end)?).ok(),
        }
    }

    /// The bytes of a string up to its closing quote, refused when it has an
    /// escape (serde would unescape it), quotes consumed; not checked further.
    fn raw_str(&mut self) -> Option<&'a [u8]> {
        self.lit(b"\"")?;
        let rest = self.b.get(self.i..)?;
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest.get(end) != Some(&b'"') {
            return None;
        }
        self.i += end + 1;
        rest.get(..end)
    }

    /// A non-negative integer in canonical form (`0` or no leading zero)
    /// that fits `u64`. What follows is for the caller's next `lit` to check
    /// (a `.` or `e` there fails it, as it should: serde reads a float).
    #[inline(always)]
    fn u64(&mut self) -> Option<u64> {
        let rest = self.b.get(self.i..)?;
        // Nineteen digits cannot overflow (u64::MAX has twenty): read
        // them unchecked, and a longer run again with checks.
        let mut n: u64 = 0;
        let mut len = 0;
        for &d in rest.iter().take(19) {
            let v = d.wrapping_sub(b'0');
            if v > 9 {
                break;
            }
            n = n * 10 + u64::from(v);
            len += 1;
        }
        if len == 19 && rest.get(19).is_some_and(u8::is_ascii_digit) {
            n = 0;
            len = 0;
            for &d in rest.iter().take_while(|d| d.is_ascii_digit()) {
                n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
                len += 1;
            }
        }
        if len == 0 || (len > 1 && rest.first() == Some(&b'0')) {
            return None;
        }
        self.i += len;
        Some(n)
    }

    fn int<T: TryFrom<u64>>(&mut self) -> Option<T> {
        T::try_from(self.u64()?).ok()
    }

    /// A time: read in place when it is in the form our writers use and
    /// its closing quote follows ([`Ts::parse_prefix`]: such a time has no
    /// quote, escape or control character, so it is the whole string),
    /// else the string through [`Ts::parse`].
    fn ts(&mut self) -> Option<Ts> {
        let at = self.i.checked_add(1)?;
        if self.b.get(self.i) == Some(&b'"') {
            if let Some((ts, len)) = self.b.get(at..).and_then(Ts::parse_prefix) {
                if self.b.get(at + len) == Some(&b'"') {
                    self.i = at + len + 1;
                    return Some(ts);
                }
            }
        }
        Ts::parse(self.plain_str()?)
    }

    /// An address: a dotted quad read from the raw bytes (only digits and
    /// dots, so plain text), anything else through `IpAddr`'s parser.
    fn ip(&mut self) -> Option<IpAddr> {
        let start = self.i;
        // In place when the quote closes a dotted quad (digits and dots: the
        // whole string), else the string as below.
        if self.b.get(start) == Some(&b'"') {
            let ip = self.b.get(start + 1..).and_then(dotted_quad_prefix);
            if let Some((ip, len)) = ip {
                if self.b.get(start + 1 + len) == Some(&b'"') {
                    self.i = start + len + 2;
                    return Some(ip);
                }
            }
        }
        self.plain_str()?.parse().ok()
    }

    /// TCP flag letters from the raw bytes ([`TcpFlags::from_letter_bytes`]:
    /// no UTF-8 check, a byte that is no letter fails).
    fn flags(&mut self) -> Option<TcpFlags> {
        TcpFlags::from_letter_bytes(self.raw_str()?)
    }

    /// A `_b64` value that ends the record (`"...."}` and the end of the
    /// line), decoded into `out`, and the record's end consumed.
    ///
    /// The text is everything between the quote here and the line's
    /// closing `"}`, not scanned for its closing quote first: the decoder
    /// refuses any byte outside its alphabet, a quote or backslash among
    /// them, so where it decodes that text, that quote is the string's
    /// closing one and the record ends after it, as [`Cur::end`] wants;
    /// where it refuses, a quote earlier would have closed the string
    /// with the record not ending after it, or the string itself is bad:
    /// refused either way. (Not UTF-8-checked: the alphabet is ASCII.)
    fn last_b64(&mut self, out: &mut Vec<u8>) -> Option<()> {
        self.lit(b"\"")?;
        let end = self.b.len().checked_sub(2)?;
        if self.b.get(end..) != Some(&b"\"}"[..]) {
            return None;
        }
        b64::decode_into(self.b.get(self.i..end)?, out).ok()?;
        self.i = self.b.len();
        Some(())
    }

    /// A `tunnel` array: `[]` here, anything else through serde.
    fn tunnel(&mut self) -> Option<Vec<Tunnel>> {
        if self.lit(b"[]").is_some() {
            return Some(Vec::new());
        }
        // The array ends at its first `]`: none of its values is an array,
        // and a `]` inside a string leaves the slice up to it unbalanced (an
        // odd count of unescaped quotes before it), which serde refuses.
        let rest = self.b.get(self.i..)?;
        let end = memchr::memchr(b']', rest)?;
        let tunnel = serde_json::from_slice(rest.get(..=end)?).ok()?;
        self.i += end + 1;
        Some(tunnel)
    }

    /// An owned string: taken as it is without escapes, else the string's
    /// token (found escape by escape) goes through serde_json whole.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        if let Some(s) = self.plain_str() {
            return Some(s.to_owned());
        }
        self.i = start;
        self.lit(b"\"")?;
        loop {
            let rest = self.b.get(self.i..)?;
            let at = memchr::memchr2(b'"', b'\\', rest)?;
            if rest.get(at) == Some(&b'"') {
                self.i += at + 1;
                break;
            }
            // A backslash and the byte it escapes.
            self.i += at + 2;
        }
        serde_json::from_slice(self.b.get(start..self.i)?).ok()
    }

    /// [`Cur::string`] into `out`, in the room it has.
    fn string_into(&mut self, out: &mut String) -> Option<()> {
        let start = self.i;
        if let Some(s) = self.plain_str() {
            out.clear();
            out.push_str(s);
            return Some(());
        }
        self.i = start;
        *out = self.string()?;
        Some(())
    }

    /// [`Cur::b64`] into `out`, in the room it has.
    fn b64_into(&mut self, out: &mut Vec<u8>) -> Option<()> {
        b64::decode_into(self.raw_str()?, out).ok()
    }

    /// [`Cur::tunnel`] into `out`.
    fn tunnel_into(&mut self, out: &mut Vec<Tunnel>) -> Option<()> {
        if self.lit(b"[]").is_some() {
            out.clear();
            return Some(());
        }
        *out = self.tunnel()?;
        Some(())
    }

    /// `["text",...]` into `out`, its strings refilled in their room.
    fn strings_into(&mut self, out: &mut Vec<String>) -> Option<()> {
        self.lit(b"[")?;
        let mut n = 0;
        if self.lit(b"]").is_none() {
            loop {
                if n == out.len() {
                    out.push(String::new());
                }
                self.string_into(out.get_mut(n)?)?;
                n += 1;
                if self.lit(b"]").is_some() {
                    break;
                }
                self.lit(b",")?;
            }
        }
        out.truncate(n);
        Some(())
    }

    /// `[["name","value"],...]` into `out`, its strings refilled in their
    /// room (a fresh vector gets room for 16 at its first: one allocation
    /// rather than one per doubling).
    fn headers_into(&mut self, out: &mut Vec<Header>) -> Option<()> {
        self.lit(b"[")?;
        let mut n = 0;
        if self.lit(b"]").is_none() {
            if out.capacity() == 0 {
                out.reserve_exact(16);
            }
            loop {
                if n == out.len() {
                    out.push(Header::default());
                }
                let (name, value) = out.get_mut(n)?;
                self.lit(b"[")?;
                self.string_into(name)?;
                self.lit(b",")?;
                self.string_into(value)?;
                self.lit(b"]")?;
                n += 1;
                if self.lit(b"]").is_some() {
                    break;
                }
                self.lit(b",")?;
            }
        }
        out.truncate(n);
        Some(())
    }

    /// `true` or `false`.
    fn bool(&mut self) -> Option<bool> {
        if self.lit(b"true").is_some() {
            Some(true)
        } else {
            self.lit(b"false").map(|()| false)
        }
    }

    /// The closing brace, and nothing after it.
    fn end(&mut self) -> Option<()> {
        self.lit(b"}")?;
        (self.i == self.b.len()).then_some(())
    }
}

/// An IPv4 address in the one form `Ipv4Addr`'s parser accepts (four
/// decimal octets of one to three digits, no leading zero, each at most
/// 255), read without it; `None` for anything else, which the caller hands
/// to that parser.
#[cfg(test)]
fn dotted_quad(text: &[u8]) -> Option<IpAddr> {
    match dotted_quad_prefix(text) {
        Some((ip, len)) if len == text.len() => Some(ip),
        _ => None,
    }
}

/// The address [`dotted_quad`] reads at the start of `b`, and its length:
/// the octets end at the first byte that is no digit after the fourth
/// (the caller checks what it is), so `b` up to there is only digits and
/// dots.
fn dotted_quad_prefix(b: &[u8]) -> Option<(IpAddr, usize)> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut n: u16 = 0;
        while let Some(v) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&v| v <= 9) {
            if i - start == 3 {
                return None;
            }
            n = n * 10 + u16::from(v);
            i += 1;
        }
        let len = i - start;
        if len == 0 || (len > 1 && b.get(start) == Some(&b'0')) {
            return None;
        }
        *octet = u8::try_from(n).ok()?;
    }
    Some((IpAddr::from(octets), i))
}

/// A `packet` line as [`crate::record::fast_json`] writes it, or `None`.
pub fn packet(line: &[u8]) -> Option<Packet<'_>> {
    let (mut p, mut c) = packet_head(line)?;
    let mut payload = Vec::new();
    c.last_b64(&mut payload)?;
    p.payload = Cow::Owned(payload);
    Some(p)
}

/// [`packet`] with the payload decoded into `buf` (cleared first, its room
/// kept) and borrowed from there: a reader that keeps one buffer decodes
/// without allocating.
pub fn packet_in<'a>(line: &'a [u8], buf: &'a mut Vec<u8>) -> Option<Packet<'a>> {
    let (mut p, mut c) = packet_head(line)?;
    c.last_b64(buf)?;
    p.payload = Cow::Borrowed(buf.as_slice());
    Some(p)
}

/// A `packet` line up to its payload (left empty), and the position there.
fn packet_head(line: &[u8]) -> Option<(Packet<'_>, Cur<'_>)> {
    let mut c = Cur::new(line);
    c.lit(br#"{"type":"packet","ts":"#)?;
    let ts = c.ts()?;
    c.lit(br#","src":"#)?;
    let src = c.plain_str()?;
    c.lit(br#","index":"#)?;
    let index = c.u64()?;
    c.lit(br#","tunnel":"#)?;
    let tunnel = c.tunnel()?;
    c.lit(br#","ip":{"v":"#)?;
    let v = c.int()?;
    c.lit(br#","src":"#)?;
    let ip_src = c.ip()?;
    c.lit(br#","dst":"#)?;
    let ip_dst = c.ip()?;
    c.lit(br#","ttl":"#)?;
    let ttl = c.int()?;
    c.lit(br#"},"tcp":{"sport":"#)?;
    let sport = c.int()?;
    c.lit(br#","dport":"#)?;
    let dport = c.int()?;
    c.lit(br#","seq":"#)?;
    let seq = c.int()?;
    c.lit(br#","ack":"#)?;
    let ack = c.int()?;
    c.lit(br#","flags":"#)?;
    let flags = c.flags()?;
    c.lit(br#","win":"#)?;
    let win = c.int()?;
    c.lit(br#"},"payload_b64":"#)?;
    let p = Packet {
        ts,
        src: Cow::Borrowed(src),
        index,
        tunnel: Cow::Owned(tunnel),
        ip: IpInfo {
            v,
            src: ip_src,
            dst: ip_dst,
            ttl,
        },
        tcp: TcpInfo {
            sport,
            dport,
            seq,
            ack,
            flags,
            win,
        },
        payload: Cow::Borrowed(&[]),
    };
    Some((p, c))
}

/// A `data` line as [`crate::record::fast_json`] writes it, or `None`.
pub fn data(line: &[u8]) -> Option<Data<'_>> {
    let (mut d, mut c) = data_head(line)?;
    let mut bytes = Vec::new();
    c.last_b64(&mut bytes)?;
    d.data = Cow::Owned(bytes);
    Some(d)
}

/// [`data`] with the bytes decoded into `buf` (cleared first, its room
/// kept) and borrowed from there.
pub fn data_in<'a>(line: &'a [u8], buf: &'a mut Vec<u8>) -> Option<Data<'a>> {
    let (mut d, mut c) = data_head(line)?;
    c.last_b64(buf)?;
    d.data = Cow::Borrowed(buf.as_slice());
    Some(d)
}

/// A `data` line up to its bytes (left empty), and the position there.
fn data_head(line: &[u8]) -> Option<(Data<'_>, Cur<'_>)> {
    let mut c = Cur::new(line);
    c.lit(br#"{"type":"data","ts":"#)?;
    let ts = c.ts()?;
    c.lit(br#","flow":"#)?;
    let flow = c.plain_str()?;
    c.lit(br#","dir":"#)?;
    // The whole string, quotes and all (no scan for its end).
    let dir = if c.lit(br#""c2s""#).is_some() {
        Dir::C2s
    } else {
        c.lit(br#""s2c""#).map(|()| Dir::S2c)?
    };
    c.lit(br#","off":"#)?;
    let off = c.u64()?;
    c.lit(br#","data_b64":"#)?;
    let d = Data {
        ts,
        flow: Cow::Borrowed(flow),
        dir,
        off,
        data: Cow::Borrowed(&[]),
    };
    Some((d, c))
}

/// An `http` line as [`crate::record::fast_json`] writes it, or `None`.
pub fn http(line: &[u8]) -> Option<Http> {
    let mut h = Http::default();
    http_into(line, &mut h)?;
    Some(h)
}

/// [`http`] into a record read before: every field is overwritten, and
/// its strings, vectors and body keep their room (`clear` + fill), so a
/// reader that keeps one record allocates only when a line needs more
/// room than an earlier one had. On `None` the record holds part of the
/// line and part of what it held (the caller parses the line with serde
/// into it). The tests check a refilled record equals a fresh one.
pub fn http_into(line: &[u8], h: &mut Http) -> Option<()> {
    let mut c = Cur::text(line);
    c.lit(br#"{"type":"http","ts":"#)?;
    h.ts = c.ts()?;
    c.lit(br#","ts_end":"#)?;
    h.ts_end = c.ts()?;
    c.lit(br#","flow":"#)?;
    c.string_into(&mut h.flow)?;
    c.lit(br#","community_id":"#)?;
    c.string_into(&mut h.community_id)?;
    c.lit(br#","seq":"#)?;
    h.seq = c.u64()?;
    c.lit(br#","client":"#)?;
    c.string_into(&mut h.client)?;
    c.lit(br#","server":"#)?;
    c.string_into(&mut h.server)?;
    c.lit(br#","real_ip":"#)?;
    c.string_into(&mut h.real_ip)?;
    c.lit(br#","tunnel":"#)?;
    c.tunnel_into(&mut h.tunnel)?;
    match c.lit(br#","request":{"method":"#) {
        Some(()) => request(&mut c, h.request.get_or_insert_with(HttpRequest::default))?,
        None => h.request = None,
    }
    match c.lit(br#","response":{"status":"#) {
        Some(()) => response(&mut c, h.response.get_or_insert_with(HttpResponse::default))?,
        None => h.response = None,
    }
    c.lit(br#","anomalies":"#)?;
    c.strings_into(&mut h.anomalies)?;
    match c.lit(br#","proxy":"#) {
        Some(()) => c.string_into(h.proxy.get_or_insert_with(String::new))?,
        None => h.proxy = None,
    }
    h.interim.clear();
    if c.lit(br#","interim":"#).is_some() {
        c.lit(b"[")?;
        if c.lit(b"]").is_none() {
            loop {
                h.interim.push(c.int()?);
                if c.lit(b"]").is_some() {
                    break;
                }
                c.lit(b",")?;
            }
        }
    }
    c.end()
}

/// The request object after its `{"method":`, through its `}`, into `r`.
fn request(c: &mut Cur<'_>, r: &mut HttpRequest) -> Option<()> {
    c.string_into(&mut r.method)?;
    c.lit(br#","uri":"#)?;
    c.string_into(&mut r.uri)?;
    tail(
        c,
        Tail {
            version: &mut r.version,
            headers: &mut r.headers,
            body_len: &mut r.body_len,
            body: &mut r.body,
            truncated: &mut r.truncated,
            trailers: &mut r.trailers,
        },
    )
}

/// The response object after its `{"status":`, through its `}`, into `r`.
fn response(c: &mut Cur<'_>, r: &mut HttpResponse) -> Option<()> {
    r.status = c.int()?;
    c.lit(br#","reason":"#)?;
    c.string_into(&mut r.reason)?;
    tail(
        c,
        Tail {
            version: &mut r.version,
            headers: &mut r.headers,
            body_len: &mut r.body_len,
            body: &mut r.body,
            truncated: &mut r.truncated,
            trailers: &mut r.trailers,
        },
    )
}

/// What a request and a response object end with, alike: the fields to fill.
struct Tail<'r> {
    version: &'r mut String,
    headers: &'r mut Vec<Header>,
    body_len: &'r mut u64,
    body: &'r mut Vec<u8>,
    truncated: &'r mut bool,
    trailers: &'r mut Vec<Header>,
}

/// A message object's fields from `,"version":` through its `}`.
fn tail(c: &mut Cur<'_>, t: Tail<'_>) -> Option<()> {
    c.lit(br#","version":"#)?;
    c.string_into(t.version)?;
    c.lit(br#","headers":"#)?;
    c.headers_into(t.headers)?;
    c.lit(br#","body_len":"#)?;
    *t.body_len = c.u64()?;
    c.lit(br#","body_b64":"#)?;
    c.b64_into(t.body)?;
    c.lit(br#","truncated":"#)?;
    *t.truncated = c.bool()?;
    if c.lit(br#","trailers":"#).is_some() {
        c.headers_into(t.trailers)?;
    } else {
        t.trailers.clear();
    }
    c.lit(b"}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{fast_json, Record};
    use proptest::prelude::*;

    fn line(rec: &Record<'_>) -> Vec<u8> {
        let mut out = vec![];
        fast_json::write_record(&mut out, rec).unwrap();
        out
    }

    fn ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
            any::<u8>().prop_map(|b| IpAddr::from([0, 0, 0, 0, 0, 0xffff, 0x0a00, u16::from(b)])),
        ]
    }

    fn ts() -> impl Strategy<Value = Ts> {
        (
            -100_000_000_000i64..300_000_000_000,
            0u32..1_000_000_000,
            prop_oneof![Just(0u8), Just(3), Just(6), Just(9)],
        )
            // Times as a record carries them (what its text reads back as).
            .prop_filter_map("no text form", |(s, n, d)| Ts::new(s, n, d).as_written())
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9/._-]{0,20}",
            any::<String>(),
            Just("a\"b\\c\u{1}".to_string()),
        ]
    }

    fn tunnel() -> impl Strategy<Value = Vec<Tunnel>> {
        prop::collection::vec(
            prop_oneof![
                any::<u16>().prop_map(|vid| Tunnel::Vlan { vid }),
                (any::<u32>(), ip(), ip()).prop_map(|(vni, outer_src, outer_dst)| {
                    Tunnel::Vxlan {
                        vni,
                        outer_src,
                        outer_dst,
                    }
                }),
                (proptest::option::of(any::<u32>()), ip(), ip()).prop_map(
                    |(key, outer_src, outer_dst)| Tunnel::Gre {
                        key,
                        outer_src,
                        outer_dst,
                    }
                ),
            ],
            0..3,
        )
    }

    fn packet_rec() -> impl Strategy<Value = Packet<'static>> {
        (
            ts(),
            text(),
            any::<u64>(),
            tunnel(),
            (any::<u8>(), ip(), ip(), any::<u8>()),
            (
                any::<u16>(),
                any::<u16>(),
                any::<u32>(),
                any::<u32>(),
                any::<u8>(),
                any::<u16>(),
            ),
            prop::collection::vec(any::<u8>(), 0..80),
        )
            .prop_map(
                |(ts, src, index, tunnel, (v, s, d, ttl), (sport, dport, seq, ack, f, win), p)| {
                    Packet {
                        ts,
                        src: src.into(),
                        index,
                        tunnel: tunnel.into(),
                        ip: IpInfo {
                            v,
                            src: s,
                            dst: d,
                            ttl,
                        },
                        tcp: TcpInfo {
                            sport,
                            dport,
                            seq,
                            ack,
                            flags: TcpFlags(f),
                            win,
                        },
                        payload: p.into(),
                    }
                },
            )
    }

    fn data_rec() -> impl Strategy<Value = Data<'static>> {
        (
            ts(),
            text(),
            any::<bool>(),
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..80),
        )
            .prop_map(|(ts, flow, c2s, off, data)| Data {
                ts,
                flow: flow.into(),
                dir: if c2s { Dir::C2s } else { Dir::S2c },
                off,
                data: data.into(),
            })
    }

    fn headers() -> impl Strategy<Value = Vec<Header>> {
        prop::collection::vec((text(), text()), 0..4)
    }

    fn request_rec() -> impl Strategy<Value = HttpRequest> {
        (
            (text(), text(), text()),
            headers(),
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..60),
            any::<bool>(),
            headers(),
        )
            .prop_map(
                |((method, uri, version), headers, body_len, body, truncated, trailers)| {
                    HttpRequest {
                        method,
                        uri,
                        version,
                        headers,
                        body_len,
                        body,
                        truncated,
                        trailers,
                    }
                },
            )
    }

    fn response_rec() -> impl Strategy<Value = HttpResponse> {
        (
            (any::<u16>(), text(), text()),
            headers(),
            any::<u64>(),
            prop::collection::vec(any::<u8>(), 0..60),
            any::<bool>(),
            headers(),
        )
            .prop_map(
                |((status, reason, version), headers, body_len, body, truncated, trailers)| {
                    HttpResponse {
                        status,
                        reason,
                        version,
                        headers,
                        body_len,
                        body,
                        truncated,
                        trailers,
                    }
                },
            )
    }

    fn http_rec() -> impl Strategy<Value = Http> {
        (
            (ts(), ts(), text(), text(), any::<u64>()),
            (text(), text(), text(), tunnel()),
            proptest::option::of(request_rec()),
            proptest::option::of(response_rec()),
            prop::collection::vec(text(), 0..3),
            proptest::option::of(text()),
            prop::collection::vec(any::<u16>(), 0..3),
        )
            .prop_map(
                |(
                    (ts, ts_end, flow, community_id, seq),
                    (client, server, real_ip, tunnel),
                    request,
                    response,
                    anomalies,
                    proxy,
                    interim,
                )| Http {
                    ts,
                    ts_end,
                    flow,
                    community_id,
                    seq,
                    client,
                    server,
                    real_ip,
                    tunnel,
                    request,
                    response,
                    anomalies,
                    proxy,
                    interim,
                },
            )
    }

    /// Damage to a line: a byte changed, removed or inserted, or a span cut out.
    /// `line` with each of `edits` applied in turn ([`damage`]).
    fn damaged(mut line: Vec<u8>, edits: &[(u8, usize, u8, usize)]) -> Vec<u8> {
        for &(kind, at, byte, len) in edits {
            line = damage(&line, kind, at, byte, len);
        }
        line
    }

    fn damage(line: &[u8], kind: u8, at: usize, byte: u8, len: usize) -> Vec<u8> {
        let mut out = line.to_vec();
        if out.is_empty() {
            return out;
        }
        let at = at % out.len();
        match kind % 5 {
            0 => out[at] = byte,
            1 => {
                out.remove(at);
            }
            2 => out.insert(at, byte),
            3 => {
                let end = (at + len).min(out.len());
                out.drain(at..end);
            }
            _ => out.insert(at, b" \\\"0.e-[]{},:"[usize::from(byte) % 13]),
        }
        out
    }

    /// The reader agrees with serde on `line`: when it reads a value, serde
    /// reads the same one (the converse is the caller's fallback).
    fn agrees<'a, T, F>(line: &'a [u8], fast: F) -> Result<(), TestCaseError>
    where
        T: serde::Deserialize<'a> + PartialEq + std::fmt::Debug,
        F: Fn(&'a [u8]) -> Option<T>,
    {
        if let Some(got) = fast(line) {
            let slow: Result<T, _> = serde_json::from_slice(line);
            prop_assert!(
                slow.as_ref().is_ok_and(|s| *s == got),
                "fast {got:?}\nserde {slow:?}\non {}",
                String::from_utf8_lossy(line)
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn packet_reads_what_the_writer_wrote(p in packet_rec()) {
            let l = line(&Record::Packet(p.clone()));
            // Text with escapes or control characters is serde's to read.
            let plain = !p.src.bytes().any(|c| c < 0x20 || c == b'"' || c == b'\\');
            match packet(&l) {
                Some(got) => prop_assert_eq!(got, p),
                None => prop_assert!(!plain, "refused {}", String::from_utf8_lossy(&l)),
            }
        }

        #[test]
        fn data_reads_what_the_writer_wrote(d in data_rec()) {
            let l = line(&Record::Data(d.clone()));
            let plain = !d.flow.bytes().any(|c| c < 0x20 || c == b'"' || c == b'\\');
            match data(&l) {
                Some(got) => prop_assert_eq!(got, d),
                None => prop_assert!(!plain, "refused {}", String::from_utf8_lossy(&l)),
            }
        }

        #[test]
        fn http_reads_what_the_writer_wrote(h in http_rec()) {
            let l = line(&Record::Http(Box::new(h.clone())));
            // Escaped text is read too (through serde, one string at a time).
            prop_assert_eq!(http(&l), Some(h));
        }

        #[test]
        fn payloads_into_a_kept_buffer_equal_owned_ones(
            p in packet_rec(),
            d in data_rec(),
            junk in prop::collection::vec(any::<u8>(), 0..64),
            edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>(), 0usize..8), 0..3),
        ) {
            let mut buf = junk.clone();
            let l = damaged(line(&Record::Packet(p)), &edits);
            prop_assert_eq!(packet_in(&l, &mut buf), packet(&l));
            let mut buf = junk;
            let l = damaged(line(&Record::Data(d)), &edits);
            prop_assert_eq!(data_in(&l, &mut buf), data(&l));
        }

        #[test]
        fn refilled_http_equals_a_fresh_one(a in http_rec(), b in http_rec(), c in http_rec()) {
            // One record filled line after line, as the pipeline's reader does.
            let mut h = Http::default();
            for want in [a, b, c] {
                let l = line(&Record::Http(Box::new(want.clone())));
                prop_assert_eq!(http_into(&l, &mut h), Some(()));
                prop_assert_eq!(&h, &want);
            }
        }

        #[test]
        fn refilled_http_reads_damage_as_a_fresh_one(
            a in http_rec(),
            b in http_rec(),
            edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>(), 0usize..8), 1..4),
        ) {
            let mut h = Http::default();
            let l = line(&Record::Http(Box::new(a)));
            prop_assert_eq!(http_into(&l, &mut h), Some(()));
            let l = damaged(line(&Record::Http(Box::new(b))), &edits);
            let fresh = http(&l);
            prop_assert_eq!(http_into(&l, &mut h).map(|()| h), fresh);
        }

        #[test]
        fn damaged_http_is_read_as_serde_reads_it(
            h in http_rec(),
            edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>(), 0usize..8), 1..4),
        ) {
            agrees(&damaged(line(&Record::Http(Box::new(h))), &edits), http)?;
        }

        #[test]
        fn damaged_packet_is_read_as_serde_reads_it(
            p in packet_rec(),
            edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>(), 0usize..8), 1..4),
        ) {
            agrees(&damaged(line(&Record::Packet(p)), &edits), packet)?;
        }

        #[test]
        fn damaged_data_is_read_as_serde_reads_it(
            d in data_rec(),
            edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>(), 0usize..8), 1..4),
        ) {
            agrees(&damaged(line(&Record::Data(d)), &edits), data)?;
        }
    }

    proptest! {
        /// The IPv4 shortcut reads what the standard parser reads, and
        /// refuses only what it refuses or leaves to it.
        #[test]
        fn dotted_quad_agrees_with_std(
            text in proptest::collection::vec(proptest::sample::select(b"0123456789.:a".to_vec()), 0..17),
            addr in any::<[u8; 4]>(),
        ) {
            if let Some(ip) = dotted_quad(&text) {
                let std: Option<IpAddr> = std::str::from_utf8(&text).ok().and_then(|t| t.parse().ok());
                prop_assert_eq!(Some(ip), std);
            }
            let ip = IpAddr::from(addr);
            prop_assert_eq!(dotted_quad(ip.to_string().as_bytes()), Some(ip));
            // In a line: what `IpAddr`'s parser reads from the string.
            let quoted = [&b"\""[..], &text, b"\"}"].concat();
            let mut c = Cur::new(&quoted);
            let std: Option<IpAddr> = std::str::from_utf8(&text).ok().and_then(|t| t.parse().ok());
            prop_assert_eq!(c.ip(), std);
            if std.is_some() {
                prop_assert_eq!(c.i, text.len() + 2);
            }
        }
    }

    proptest! {
        /// Flag letters read from the raw bytes as `from_letters` reads them.
        #[test]
        fn flags_agree_with_from_letters(text in "[FSRPAUECfsx\u{1}\u{e9}]{0,6}") {
            let quoted = serde_json::to_vec(&text).unwrap();
            let mut c = Cur::new(&quoted);
            let fast = c.flags();
            prop_assert_eq!(fast, TcpFlags::from_letters(&text));
            if fast.is_some() {
                prop_assert_eq!(c.i, quoted.len());
            }
        }

        /// Integers read as serde reads them, on both sides of nineteen digits.
        #[test]
        fn integers_agree_with_serde(n in any::<u64>(), extra in 0u8..3, digits in "[0-9]{1,22}") {
            for text in [n.to_string(), format!("{n}{extra}"), digits] {
                let line = format!("{text}}}");
                let fast = Cur::new(line.as_bytes()).u64();
                let slow: Option<u64> = serde_json::from_str(&text).ok();
                prop_assert_eq!(fast, slow, "{}", text);
            }
        }
    }

    #[test]
    fn integer_edges() {
        for (text, want) in [
            ("0", Some(0)),
            ("00", None),
            ("01", None),
            ("9999999999999999999", Some(9_999_999_999_999_999_999)),
            ("10000000000000000000", Some(10_000_000_000_000_000_000)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("99999999999999999999", None),
            ("100000000000000000000", None),
            ("", None),
            ("-1", None),
        ] {
            let line = format!("{text},");
            assert_eq!(Cur::new(line.as_bytes()).u64(), want, "{text}");
        }
    }

    /// A line that is not UTF-8 has each string checked by itself: a
    /// stray byte anywhere still gets the line serde's reading.
    #[test]
    fn stray_bytes_anywhere_get_serdes_reading() {
        let h = Http {
            flow: "f".into(),
            request: Some(HttpRequest {
                method: "GET".into(),
                uri: "/\"body_b64\":\"x".into(),
                version: "HTTP/1.1".into(),
                headers: vec![("a".into(), "é\"body_b64\":\"".into())],
                body_len: 3,
                body: b"abc".to_vec(),
                truncated: false,
                trailers: vec![("t".into(), "ß".into())],
            }),
            response: Some(HttpResponse {
                status: 200,
                reason: "OK".into(),
                version: "HTTP/1.1".into(),
                headers: vec![("b".into(), "ü".into())],
                body_len: 2,
                body: b"de".to_vec(),
                truncated: true,
                trailers: vec![],
            }),
            anomalies: vec!["ö".into()],
            ..Http::default()
        };
        let l = line(&Record::Http(Box::new(h.clone())));
        assert_eq!(http(&l), Some(h));
        // A lone continuation byte, or a character cut short, in each part.
        for at in 0..l.len() {
            for byte in [0x80u8, 0xc3, 0xff] {
                let mut bad = l.clone();
                bad.insert(at, byte);
                agrees(&bad, http).unwrap();
                bad.remove(at);
                bad[at] = byte;
                agrees(&bad, http).unwrap();
            }
        }
    }

    /// The record's last value is read up to the line's closing `"}`
    /// without a scan for its quote: a quote or backslash inside, or
    /// anything after the record, is refused as serde refuses it.
    #[test]
    fn last_b64_needs_the_record_to_end_there() {
        let head = r#"{"type":"data","ts":"1970-01-01T00:00:00Z","flow":"f","dir":"c2s","off":5,"data_b64":"#;
        for (tail, ok) in [
            (r#""QUJD"}"#, true),
            (r#""""}"#, false),
            (r#"""}"#, true),
            (r#""}"#, false),
            (r#"}"#, false),
            (r#""QUJD"} "#, false),
            (r#""QUJD"}"QUJD"}"#, false),
            (r#""QU"JD"}"#, false),
            (r#""QUJ\D"}"#, false),
            (r#""QUJ"}"#, false),
            (r#""QUJD""#, false),
            (r#""QUJD"}}"#, false),
            (r#""QUJD==""#, false),
        ] {
            let l = format!("{head}{tail}");
            let serde_ok = serde_json::from_str::<Data<'_>>(&l).is_ok();
            assert_eq!(data(l.as_bytes()).is_some(), ok, "{l}");
            if ok {
                assert!(serde_ok, "{l}");
            }
        }
    }

    #[test]
    fn dotted_quad_edges() {
        for t in ["0.0.0.0", "255.255.255.255", "10.0.0.1", "1.22.103.9"] {
            assert_eq!(dotted_quad(t.as_bytes()), t.parse().ok(), "{t}");
        }
        for t in [
            "256.0.0.1",
            "01.0.0.1",
            "1.0.0",
            "1.0.0.1.",
            "1..0.1",
            "1.0.0.1000",
            "",
            "::1",
            "1.0.0.+1",
        ] {
            assert_eq!(dotted_quad(t.as_bytes()), None, "{t}");
        }
    }

    /// Lines in forms the reader must leave to serde, each a form serde reads
    /// (or refuses) differently from the canonical one.
    #[test]
    fn leaves_other_forms_to_serde() {
        let base = r#"{"type":"data","ts":"1970-01-01T00:00:00Z","flow":"f","dir":"c2s","off":5,"data_b64":"QUJD"}"#;
        assert!(data(base.as_bytes()).is_some());
        for (from, to) in [
            (r#""off":5"#, r#""off":05"#),
            (r#""off":5"#, r#""off":5.0"#),
            (r#""off":5"#, r#""off":-5"#),
            (r#""off":5"#, r#""off":5e0"#),
            (r#""off":5"#, r#""off":18446744073709551616"#),
            (r#""off":5"#, r#""off": 5"#),
            (r#""flow":"f""#, r#""flow":"\u0066""#),
            (r#""data_b64":"QUJD""#, r#""data_b64":"QUJ\u0044""#),
            (r#""data_b64":"QUJD""#, r#""data_b64":"QUJ""#),
            (r#""dir":"c2s""#, r#""dir":"C2S""#),
            (
                r#""ts":"1970-01-01T00:00:00Z""#,
                r#""ts":"1970-01-01T00:00:00+00:00""#,
            ),
            ("}", "} "),
            ("}", "}x"),
            ("}", r#","off":6}"#),
        ] {
            let line = base.replacen(from, to, 1);
            assert_ne!(line, base);
            assert!(data(line.as_bytes()).is_none(), "{line}");
        }
        let pkt = r#"{"type":"packet","ts":"1970-01-01T00:00:00Z","src":"x","index":0,"tunnel":[],"ip":{"v":4,"src":"10.0.0.1","dst":"10.0.0.2","ttl":64},"tcp":{"sport":1,"dport":80,"seq":1,"ack":0,"flags":"S","win":9},"payload_b64":""}"#;
        assert!(packet(pkt.as_bytes()).is_some());
        for (from, to) in [
            (r#""v":4"#, r#""v":256"#),
            (r#""sport":1"#, r#""sport":65536"#),
            (r#""flags":"S""#, r#""flags":"X""#),
            (r#""src":"10.0.0.1""#, r#""src":"10.0.0.01""#),
            (r#""tunnel":[]"#, r#""tunnel":[{"kind":"vlan","vid":"]"}]"#),
            (r#""tunnel":[]"#, r#""tunnel":[{"kind":"vlan"]"#),
        ] {
            let line = pkt.replacen(from, to, 1);
            assert_ne!(line, pkt);
            assert!(packet(line.as_bytes()).is_none(), "{line}");
        }
        let vlan = pkt.replacen(r#""tunnel":[]"#, r#""tunnel":[{"kind":"vlan","vid":7}]"#, 1);
        assert_eq!(
            packet(vlan.as_bytes()).unwrap().tunnel[..],
            [Tunnel::Vlan { vid: 7 }]
        );
    }
}
