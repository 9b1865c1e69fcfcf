//! What one observed value is: its JSON type, its string format, and which
//! kind of sensitive data it holds.
//!
//! Everything here is a pure function of the text, with no allocation on the
//! common paths; every detector is written to say "no" on anything it cannot
//! prove (a card number must pass Luhn and carry a real issuer prefix, an IBAN
//! must pass mod-97, a JWT header must decode to JSON naming its `alg`).

use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine;

/// The JSON Schema type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JType {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl JType {
    pub fn name(self) -> &'static str {
        match self {
            JType::Null => "null",
            JType::Boolean => "boolean",
            JType::Integer => "integer",
            JType::Number => "number",
            JType::String => "string",
            JType::Array => "array",
            JType::Object => "object",
        }
    }

    pub fn of(v: &serde_json::Value) -> JType {
        use serde_json::Value;
        match v {
            Value::Null => JType::Null,
            Value::Bool(_) => JType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => JType::Integer,
            Value::Number(_) => JType::Number,
            Value::String(_) => JType::String,
            Value::Array(_) => JType::Array,
            Value::Object(_) => JType::Object,
        }
    }
}

/// How many samples had each type: a counter per [`JType`], and which
/// types were counted at all (as the keys of a `BTreeMap<JType, u64>`
/// would say, without its search and nodes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeCounts {
    counts: [u64; 7],
    /// Bit `t as usize`: type `t` was counted.
    seen: u8,
}

impl TypeCounts {
    const ALL: [JType; 7] = [
        JType::Null,
        JType::Boolean,
        JType::Integer,
        JType::Number,
        JType::String,
        JType::Array,
        JType::Object,
    ];

    pub fn add(&mut self, t: JType, n: u64) {
        if let Some(c) = self.counts.get_mut(t as usize) {
            *c += n;
        }
        self.seen |= 1 << (t as u8);
    }

    /// Samples of type `t`.
    pub fn get(&self, t: JType) -> u64 {
        self.counts.get(t as usize).copied().unwrap_or(0)
    }

    /// The types counted, in [`JType`] order.
    pub fn keys(&self) -> impl Iterator<Item = &JType> + '_ {
        Self::ALL
            .iter()
            .filter(move |t| self.seen & (1 << (**t as u8)) != 0)
    }

    pub fn merge(&mut self, o: &TypeCounts) {
        for t in o.keys() {
            self.add(*t, o.get(*t));
        }
    }
}

/// The types a set of samples unify to, most specific first: integers and
/// numbers make `number`; scalars of different kinds make `string` (a value
/// sent as text can always be read as a string); `null` stays beside the rest.
pub fn unify<'a>(types: impl IntoIterator<Item = &'a JType>) -> Vec<JType> {
    let mut seen = [false; 7];
    for t in types {
        seen[*t as usize] = true;
    }
    let has = |t: JType| seen[t as usize];
    let mut out = vec![];
    let scalars = [JType::Boolean, JType::Integer, JType::Number, JType::String]
        .iter()
        .filter(|t| has(**t))
        .count();
    if scalars == 1 {
        out.extend(
            [JType::Boolean, JType::Integer, JType::Number, JType::String]
                .into_iter()
                .filter(|t| has(*t)),
        );
    } else if scalars == 2 && has(JType::Integer) && has(JType::Number) {
        out.push(JType::Number);
    } else if scalars > 0 {
        out.push(JType::String);
    }
    for t in [JType::Array, JType::Object, JType::Null] {
        if has(t) {
            out.push(t);
        }
    }
    out
}

/// Type and string format of a value that arrived as text (path segment,
/// query, header, cookie, form field).
pub fn infer_text(s: &str) -> (JType, Option<&'static str>) {
    if is_integer(s) {
        (JType::Integer, None)
    } else if s == "true" || s == "false" {
        (JType::Boolean, None)
    } else if is_number(s) {
        (JType::Number, None)
    } else {
        (JType::String, string_format(s))
    }
}

/// A decimal integer as an API would send it: no leading zeros (`007` and
/// ZIP codes are strings), at most 18 digits.
pub fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'))
}

fn is_number(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    let b = body.as_bytes();
    body.len() <= 32
        && b.first().is_some_and(u8::is_ascii_digit)
        && !(b.first() == Some(&b'0') && b.get(1).is_some_and(u8::is_ascii_digit))
        && b.iter().any(|c| matches!(c, b'.' | b'e' | b'E'))
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// The JSON Schema / OpenAPI format of a string, when it has a recognisable one.
pub fn string_format(s: &str) -> Option<&'static str> {
    format_of(s, &mut Checks::default())
}

/// [`string_format`] and [`sensitive_value`] of one string, with the
/// e-mail and JWT checks both make done once.
///
/// Remembered per thread for recent strings ([`FactsMemo`]): the same
/// values (roles, states, SKUs, dates) come back in body after body.
pub fn string_facts(s: &str) -> (Option<&'static str>, Option<&'static str>) {
    if s.len() > FactsMemo::VALUE_MAX {
        return facts_of(s);
    }
    FACTS_MEMO.with(|m| m.borrow_mut().facts(s))
}

thread_local! {
    static FACTS_MEMO: std::cell::RefCell<FactsMemo> = std::cell::RefCell::default();
}

/// A direct-mapped cache of [`facts_of`]: [`FactsMemo::SLOTS`] slots, each
/// holding one string (at most [`FactsMemo::VALUE_MAX`] bytes) and its facts;
/// a string goes to the slot its hash picks and replaces what was there.
/// Bounded (at most a few hundred KiB per thread), no allocation once the slots have
/// grown, and no chains: strings that collide only miss. The hash is fixed
/// (not seeded), which is safe for that reason, and nothing is iterated, so
/// the cache cannot change a result, only skip recomputing it.
#[derive(Default)]
struct FactsMemo {
    slots: Vec<(String, StrFacts)>,
}

type StrFacts = (Option<&'static str>, Option<&'static str>);

impl FactsMemo {
    const SLOTS: usize = 1024;
    const VALUE_MAX: usize = 96;

    fn facts(&mut self, s: &str) -> StrFacts {
        use std::hash::BuildHasher;
        if self.slots.is_empty() {
            self.slots = vec![(String::new(), (None, None)); Self::SLOTS];
        }
        let h = foldhash::fast::FixedState::with_seed(0x7a9).hash_one(s) as usize;
        let Some(slot) = self.slots.get_mut(h % Self::SLOTS) else {
            return facts_of(s);
        };
        // An empty slot is never a hit: "" is looked up like any other
        // string only once it was stored (its facts are stored with it).
        if slot.0 == s && !slot.0.is_empty() {
            return slot.1;
        }
        let f = facts_of(s);
        slot.0.clear();
        slot.0.push_str(s);
        slot.1 = f;
        f
    }
}

/// [`string_facts`] worked out.
fn facts_of(s: &str) -> StrFacts {
    let mut checks = Checks::default();
    let format = format_of(s, &mut checks);
    let t = s.trim();
    if t.len() != s.len() {
        // The sensitive checks see the trimmed text: nothing to share.
        checks = Checks::default();
    }
    (format, sensitive_of(t, &mut checks))
}

/// Results of the costlier checks of one text, once made.
#[derive(Default)]
struct Checks {
    email: Option<bool>,
    jwt: Option<bool>,
}

impl Checks {
    fn email(&mut self, s: &str) -> bool {
        *self.email.get_or_insert_with(|| is_email(s))
    }

    fn jwt(&mut self, s: &str) -> bool {
        *self.jwt.get_or_insert_with(|| is_jwt(s))
    }
}

fn format_of(s: &str, checks: &mut Checks) -> Option<&'static str> {
    if s.len() > 4096 {
        return None;
    }
    if is_uuid(s) {
        Some("uuid")
    } else if is_date_time(s) {
        Some("date-time")
    } else if is_date(s) {
        Some("date")
    } else if checks.email(s) {
        Some("email")
    } else if s.as_bytes().first().is_some_and(u8::is_ascii_digit) && s.parse::<Ipv4Addr>().is_ok()
    {
        Some("ipv4")
    } else if s.contains(':') && s.parse::<Ipv6Addr>().is_ok() {
        Some("ipv6")
    } else if checks.jwt(s) {
        Some("jwt")
    } else if (s.starts_with("http://") || s.starts_with("https://")) && !s.contains(' ') {
        Some("uri")
    } else {
        None
    }
}

pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn digits_at(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = b.get(at..at + n)?;
    if !part.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DD` with a real month and day.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && date_prefix(b)
}

fn date_prefix(b: &[u8]) -> bool {
    let (Some(_), Some(m), Some(d)) = (digits_at(b, 0, 4), digits_at(b, 5, 2), digits_at(b, 8, 2))
    else {
        return false;
    };
    b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && (1..=12).contains(&m)
        && (1..=31).contains(&d)
}

/// RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 40 || !date_prefix(b) || !matches!(b[10], b'T' | b't' | b' ') {
        return false;
    }
    let (Some(h), Some(mi), Some(sec)) = (
        digits_at(b, 11, 2),
        digits_at(b, 14, 2),
        digits_at(b, 17, 2),
    ) else {
        return false;
    };
    if b[13] != b':' || b[16] != b':' || h > 23 || mi > 59 || sec > 60 {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            b.len() == i + 6
                && digits_at(b, i + 1, 2).is_some_and(|h| h <= 23)
                && b[i + 3] == b':'
                && digits_at(b, i + 4, 2).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

/// Bytes of the local part of an address ([`is_email`]).
const EMAIL_LOCAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-');
        b += 1;
    }
    t
};

/// Bytes of a domain label ([`is_email_domain`]).
const EMAIL_LABEL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'-';
        b += 1;
    }
    t
};

/// `local@domain.tld` with the characters mail addresses actually use.
///
/// One pass, a table per part (a test holds it to the check as first
/// written): a byte before the first `@` that no local part has ends it.
pub fn is_email(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() > 254 {
        return false;
    }
    let mut at = None;
    for (i, &c) in b.iter().enumerate() {
        if c == b'@' {
            at = Some(i);
            break;
        }
        if !EMAIL_LOCAL[usize::from(c)] {
            return false;
        }
    }
    let Some(at) = at else {
        return false;
    };
    let (Some(domain), Some(&first)) = (b.get(at + 1..), b.first()) else {
        return false;
    };
    at <= 64 && first != b'.' && first != b'@' && is_email_domain(domain)
}

/// The domain of [`is_email`]: dot-separated labels of letters, digits and
/// `-` (1 to 63 long, not starting with `-`), at least two, the last one
/// two letters or more.
fn is_email_domain(domain: &[u8]) -> bool {
    let label_ok = |l: &[u8]| !l.is_empty() && l.len() <= 63 && l.first() != Some(&b'-');
    let mut dots = 0;
    let mut start = 0;
    for (i, &c) in domain.iter().enumerate() {
        if c == b'.' {
            if !label_ok(domain.get(start..i).unwrap_or_default()) {
                return false;
            }
            dots += 1;
            start = i + 1;
        } else if !EMAIL_LABEL[usize::from(c)] {
            return false;
        }
    }
    let last = domain.get(start..).unwrap_or_default();
    dots > 0 && label_ok(last) && last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic)
}

/// A JSON Web Token: three base64url parts whose first decodes to a JSON
/// object naming its `alg`.
pub fn is_jwt(s: &str) -> bool {
    if s.len() < 20 || s.len() > 16384 {
        return false;
    }
    let mut parts = s.split('.');
    let (Some(head), Some(body), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let b64url = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if head.len() < 10 || body.is_empty() || !b64url(head) || !b64url(body) || !b64url(sig) {
        return false;
    }
    let Ok(header) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(head) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&header)
        .is_ok_and(|m| m.get("alg").is_some_and(serde_json::Value::is_string))
}

/// Luhn checksum over ASCII digits.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d.wrapping_sub(b'0'));
        if v > 9 {
            return false;
        }
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    matches!(sum % 10, 0)
}

/// A payment card number: 13-19 digits (spaces or dashes between groups
/// allowed), a real issuer prefix and length, and a valid Luhn check digit.
pub fn is_card(s: &str) -> bool {
    if s.len() > 23 {
        return false;
    }
    let mut buf = [0u8; 19];
    let mut n = 0;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => {
                if n == buf.len() {
                    return false;
                }
                buf[n] = b;
                n += 1;
            }
            b' ' | b'-' if n > 0 => {}
            _ => return false,
        }
    }
    let d = &buf[..n];
    if !(13..=19).contains(&n) || d.iter().all(|&b| b == d[0]) {
        return false;
    }
    let prefix = |k: usize| {
        d[..k]
            .iter()
            .fold(0u32, |a, b| a * 10 + u32::from(b - b'0'))
    };
    let issuer = match (prefix(1), prefix(2), prefix(4)) {
        (4, _, _) => matches!(n, 13 | 16 | 19),
        (_, 34 | 37, _) => n == 15,
        (_, 51..=55, _) | (_, _, 2221..=2720) => n == 16,
        (_, 65, _) | (_, _, 6011) => (16..=19).contains(&n),
        (_, 35, _) => (16..=19).contains(&n),
        (_, 36 | 38, _) => n == 14,
        _ => false,
    };
    issuer && luhn(d)
}

/// [`is_card`] of an integer as JSON writes it (decimal digits, no separators).
pub fn is_card_number(n: u64) -> bool {
    // Fewer than 13 digits is never a card; skip the formatting.
    if n < 1_000_000_000_000 {
        return false;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut rest = n;
    while rest > 0 {
        i -= 1;
        buf[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    std::str::from_utf8(&buf[i..]).is_ok_and(is_card)
}

/// An IBAN: country code, check digits and 11-30 alphanumerics (groups of
/// four may be separated by spaces), passing the ISO 7064 mod-97 check.
pub fn is_iban(s: &str) -> bool {
    if s.len() > 42 {
        return false;
    }
    let mut buf = [0u8; 34];
    let mut n = 0;
    for b in s.bytes() {
        if b == b' ' {
            continue;
        }
        if !(b.is_ascii_digit() || b.is_ascii_uppercase()) || n == buf.len() {
            return false;
        }
        buf[n] = b;
        n += 1;
    }
    let c = &buf[..n];
    if n < 15
        || !c[0].is_ascii_uppercase()
        || !c[1].is_ascii_uppercase()
        || !c[2].is_ascii_digit()
        || !c[3].is_ascii_digit()
    {
        return false;
    }
    let mut rem = 0u32;
    for &b in c[4..].iter().chain(&c[..4]) {
        rem = if b.is_ascii_digit() {
            (rem * 10 + u32::from(b - b'0')) % 97
        } else {
            (rem * 100 + u32::from(b - b'A' + 10)) % 97
        };
    }
    rem == 1
}

/// A US Social Security number written `AAA-GG-SSSS`, within the ranges the
/// SSA issues (no area 000, 666 or 9xx, no group 00, no serial 0000).
pub fn is_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 11 || b[3] != b'-' || b[6] != b'-' {
        return false;
    }
    let (Some(area), Some(group), Some(serial)) =
        (digits_at(b, 0, 3), digits_at(b, 4, 2), digits_at(b, 7, 4))
    else {
        return false;
    };
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// A phone number as people write it: an optional `+`, 10-15 digits, and at
/// least a `+` or a separator (a bare run of digits is an id, not a phone).
pub fn is_phone(s: &str) -> bool {
    if s.len() > 24 {
        return false;
    }
    let body = s.strip_prefix('+');
    let plus = body.is_some();
    let body = body.unwrap_or(s);
    let mut digits = 0;
    let mut seps = 0;
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b' ' | b'-' | b'.' | b'(' | b')' => seps += 1,
            _ => return false,
        }
    }
    (10..=15).contains(&digits)
        && (plus || seps > 0)
        && body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'(')
        && !is_date_time(s)
}

/// Vendor prefixes of [`is_api_key`] followed by a tail of 16 or more.
const API_KEY_PREFIXES: &[&str] = &[
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "ghp_",
    "gho_",
    "ghs_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "glpat-",
];

/// Whether an [`is_api_key`] prefix starts with `b` (a test holds it to
/// every prefix the function looks for).
fn api_key_start(b: u8) -> bool {
    matches!(b, b's' | b'r' | b'g' | b'x' | b'A')
}

/// A secret with a vendor's well-known prefix (Stripe, GitHub, Slack, AWS, Google).
pub fn is_api_key(s: &str) -> bool {
    if !s.as_bytes().first().is_some_and(|&b| api_key_start(b)) {
        return false;
    }
    let tail_ok = |t: &str| {
        t.len() >= 16
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if let Some(p) = API_KEY_PREFIXES.iter().find(|p| s.starts_with(**p)) {
        return tail_ok(&s[p.len()..]);
    }
    if let Some(t) = s.strip_prefix("AKIA").or_else(|| s.strip_prefix("ASIA")) {
        return t.len() == 16
            && t.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    }
    if let Some(t) = s.strip_prefix("AIza") {
        return t.len() == 35 && tail_ok(t);
    }
    false
}

/// The kind of sensitive data a value holds, judged by the value alone.
pub fn sensitive_value(s: &str) -> Option<&'static str> {
    sensitive_of(s.trim(), &mut Checks::default())
}

/// [`sensitive_value`] of text already trimmed.
fn sensitive_of(s: &str, checks: &mut Checks) -> Option<&'static str> {
    if s.len() < 6 || s.len() > 16384 {
        return None;
    }
    if checks.email(s) {
        Some("email")
    } else if is_card(s) {
        Some("card_number")
    } else if is_ssn(s) {
        Some("ssn")
    } else if is_iban(s) {
        Some("iban")
    } else if checks.jwt(s) {
        Some("jwt")
    } else if is_api_key(s) {
        Some("api_key")
    } else if is_phone(s) {
        Some("phone")
    } else {
        None
    }
}

/// The kind of sensitive data a field holds, judged by its name (the last
/// part of a JSON pointer, a query or form name, a header or cookie name).
pub fn sensitive_name(name: &str) -> Option<&'static str> {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.len() > 64 {
        return None;
    }
    // The ASCII letters and digits, lower-cased (at most 64, as `last` is).
    let mut buf = [0u8; 64];
    let mut len = 0;
    for b in last.bytes().filter(u8::is_ascii_alphanumeric) {
        if let Some(slot) = buf.get_mut(len) {
            *slot = b.to_ascii_lowercase();
            len += 1;
        }
    }
    let n = std::str::from_utf8(buf.get(..len).unwrap_or_default()).unwrap_or_default();
    const PASSWORD: &[&str] = &[
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "newpassword",
        "oldpassword",
        "currentpassword",
        "passwordconfirmation",
        "secret",
        "clientsecret",
        "pin",
    ];
    const API_KEY: &[&str] = &[
        "apikey",
        "xapikey",
        "apitoken",
        "xapitoken",
        "accesskey",
        "secretkey",
        "privatekey",
    ];
    if PASSWORD.contains(&n) {
        Some("password")
    } else if API_KEY.contains(&n) {
        Some("api_key")
    } else if n.ends_with("token") || n == "sessionid" || n == "jsessionid" || n == "phpsessid" {
        Some("token")
    } else if n == "ssn" || n == "socialsecuritynumber" {
        Some("ssn")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The e-mail check as it was written first, to compare against.
    fn is_email_as_first_written(s: &str) -> bool {
        if s.len() > 254 {
            return false;
        }
        let Some((local, domain)) = s.split_once('@') else {
            return false;
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
            && domain
                .rsplit('.')
                .next()
                .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
        local_ok && domain_ok
    }

    /// Prefixes of [`is_api_key`] with a tail of their own rules.
    const API_KEY_OTHER_PREFIXES: &[&str] = &["AKIA", "ASIA", "AIza"];

    #[test]
    fn api_key_gate_lets_every_prefix_through() {
        for p in API_KEY_PREFIXES.iter().chain(API_KEY_OTHER_PREFIXES) {
            assert!(api_key_start(p.as_bytes()[0]), "{p}");
        }
        for p in API_KEY_OTHER_PREFIXES {
            assert!(s_has_other_prefix(p), "{p}");
        }
    }

    /// Whether `is_api_key` looks for `p` besides the vendor table.
    fn s_has_other_prefix(p: &str) -> bool {
        let tail = if p == "AIza" { 35 } else { 16 };
        is_api_key(&format!("{p}{}", "A".repeat(tail)))
    }

    proptest::proptest! {
        /// The IPv4 format's first-byte gate never turns away an address.
        #[test]
        fn ipv4_gate_is_the_parse(s in "[0-9.a+ -]{0,17}") {
            let parsed = s.parse::<Ipv4Addr>().is_ok();
            let gated = s.as_bytes().first().is_some_and(u8::is_ascii_digit) && parsed;
            proptest::prop_assert_eq!(gated, parsed, "{}", s);
            if parsed {
                proptest::prop_assert_eq!(string_format(&s), Some("ipv4"));
            }
        }

        #[test]
        fn email_check_is_as_first_written(s in "[a-z0-9.@_%+-]{0,12}(@[a-zA-Z0-9.-]{0,14})?(\\.[a-z0-9]{0,4})?") {
            proptest::prop_assert_eq!(is_email(&s), is_email_as_first_written(&s), "{}", s);
        }

        #[test]
        fn email_check_is_as_first_written_on_anything(s in "\\PC{0,30}") {
            proptest::prop_assert_eq!(is_email(&s), is_email_as_first_written(&s), "{}", s);
        }
    }

    #[test]
    fn text_types_and_formats() {
        let cases: &[(&str, JType, Option<&str>)] = &[
            ("42", JType::Integer, None),
            ("-7", JType::Integer, None),
            ("007", JType::String, None),
            ("1.5", JType::Number, None),
            ("1e3", JType::Number, None),
            ("true", JType::Boolean, None),
            ("True", JType::String, None),
            ("nan", JType::String, None),
            ("inf", JType::String, None),
            ("123456789012345678901", JType::String, None),
            (
                "6f1c7c2e-8f4b-4c1a-9d2e-3b4a5c6d7e8f",
                JType::String,
                Some("uuid"),
            ),
            ("2024-05-01", JType::String, Some("date")),
            ("2024-13-01", JType::String, None),
            ("2024-05-01T12:00:00Z", JType::String, Some("date-time")),
            (
                "2024-05-01T12:00:00.123+02:00",
                JType::String,
                Some("date-time"),
            ),
            ("2024-05-01T25:00:00Z", JType::String, None),
            ("bob@example.com", JType::String, Some("email")),
            ("bob@localhost", JType::String, None),
            ("10.1.0.9", JType::String, Some("ipv4")),
            ("10.1.0.256", JType::String, None),
            ("2001:db8::1", JType::String, Some("ipv6")),
            ("https://example.com/x", JType::String, Some("uri")),
            ("hello", JType::String, None),
        ];
        for (s, t, f) in cases {
            assert_eq!(infer_text(s), (*t, *f), "{s}");
        }
    }

    #[test]
    fn unify_types() {
        use JType::*;
        let cases: &[(&[JType], &[JType])] = &[
            (&[Integer], &[Integer]),
            (&[Integer, Number], &[Number]),
            (&[Integer, String], &[String]),
            (&[Boolean, Integer], &[String]),
            (&[String, Null], &[String, Null]),
            (&[Object, Array], &[Array, Object]),
            (&[Null], &[Null]),
            (&[], &[]),
        ];
        for (input, want) in cases {
            assert_eq!(unify(input.iter()), *want, "{input:?}");
        }
    }

    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";

    /// The memo gives what working the facts out gives, for strings that
    /// hit, miss, collide and replace each other (5000 distinct strings
    /// through 1024 slots, three rounds), and for ones too long to keep.
    #[test]
    fn remembered_facts_are_the_facts() {
        let mut all: Vec<String> = vec![
            String::new(),
            " ".into(),
            "user@example.com".into(),
            "2026-01-01T00:00:00Z".into(),
            "2026-01-01".into(),
            "4111111111111111".into(),
            "10.0.0.1".into(),
            "::1".into(),
            JWT.into(),
            "https://example.com/x".into(),
            "+1 (555) 123-4567".into(),
            "x".repeat(FactsMemo::VALUE_MAX + 1),
        ];
        for i in 0..5000 {
            all.push(match i % 4 {
                0 => format!("user{i}@example.com"),
                1 => format!("2026-01-{:02}", i % 31 + 1),
                2 => format!("word {i}"),
                _ => format!("{:016}", 4_111_111_111_111_111u64 + i),
            });
        }
        for round in 0..3 {
            for s in &all {
                assert_eq!(string_facts(s), facts_of(s), "{s:?} round {round}");
            }
        }
    }

    #[test]
    fn detectors_with_hard_negatives() {
        let cases: &[(&str, Option<&str>)] = &[
            // Cards: Luhn-valid with a real issuer prefix only.
            ("4111111111111111", Some("card_number")),
            ("4111 1111 1111 1111", Some("card_number")),
            ("5500-0000-0000-0004", Some("card_number")),
            ("378282246310005", Some("card_number")),
            ("4111111111111112", None),       // Luhn fails
            ("1234567812345670", None),       // Luhn passes, no issuer
            ("0000000000000000", None),       // Luhn passes, all zeros
            ("4111111111111111111111", None), // too long
            // IBAN: mod-97.
            ("DE89370400440532013000", Some("iban")),
            ("GB82 WEST 1234 5698 7654 32", Some("iban")),
            ("DE89370400440532013001", None),
            ("de89370400440532013000", None),
            // SSN: dashed, issued ranges.
            ("123-45-6789", Some("ssn")),
            ("000-12-3456", None),
            ("666-12-3456", None),
            ("912-12-3456", None),
            ("123-00-6789", None),
            ("123456789", None),
            // JWT: header must decode to JSON with alg.
            (JWT, Some("jwt")),
            ("aaaaaaaaaaaa.bbbbbbbb.cccc", None),
            ("eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxIn0.sig", None), // no alg
            ("www.example.com", None),
            // E-mail.
            ("user100@example.com", Some("email")),
            ("not an @email", None),
            // Phone: separators or +, 10-15 digits; bare digit runs are ids.
            ("+1 415 555 0100", Some("phone")),
            ("(415) 555-0100", Some("phone")),
            ("4155550100", None),
            ("2024-05-01", None),
            ("1.2.3.4", None),
            // API keys by vendor prefix.
            ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", Some("api_key")),
            ("AKIAIOSFODNN7EXAMPLE", Some("api_key")),
            ("AKIA-short", None),
            ("hello world", None),
        ];
        for (s, want) in cases {
            assert_eq!(sensitive_value(s), *want, "{s}");
            let padded = format!(" {s} ");
            for text in [*s, padded.as_str()] {
                assert_eq!(
                    string_facts(text),
                    (string_format(text), sensitive_value(text)),
                    "{text:?}"
                );
            }
        }
        let cards: &[u64] = &[4111111111111111, 4111111111111112, 378282246310005, 999, 0];
        for n in cards {
            assert_eq!(is_card_number(*n), is_card(&n.to_string()), "{n}");
        }
    }

    #[test]
    fn sensitive_names() {
        let cases: &[(&str, Option<&str>)] = &[
            ("password", Some("password")),
            ("/user/newPassword", Some("password")),
            ("client_secret", Some("password")),
            ("api_key", Some("api_key")),
            ("X-Api-Key", Some("api_key")),
            ("access_token", Some("token")),
            ("refreshToken", Some("token")),
            ("JSESSIONID", Some("token")),
            ("ssn", Some("ssn")),
            ("passage", None),
            ("tokens_used", None),
            ("username", None),
        ];
        for (s, want) in cases {
            assert_eq!(sensitive_name(s), *want, "{s}");
        }
    }
}
