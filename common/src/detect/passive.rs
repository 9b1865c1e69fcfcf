//! Passive findings from responses (and a few from requests): what a
//! transaction reveals about the application, reported once per host,
//! endpoint and check.

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::sync::{LazyLock, OnceLock};

use aho_corasick::{packed, AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;

use super::points::header;
use crate::record::Http;

/// One passive finding before it becomes a `vuln` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub class: &'static str,
    pub severity: &'static str,
    pub evidence: Evidence,
    /// `true` when it describes the host as a whole (dedup per host, not per endpoint).
    pub per_host: bool,
}

/// What a finding shows, as [`Evidence::text`] writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Evidence {
    Text(String),
    /// The e-mail address at `start..end` of the response body
    /// ([`find_email_at`]). Most responses that hold one repeat a finding
    /// already reported for their endpoint, so the text is only written
    /// for the one that is reported.
    Email {
        start: usize,
        end: usize,
    },
}

impl Evidence {
    /// The evidence as the `vuln` record writes it; `tx` is the transaction
    /// the finding came from.
    pub fn text(self, tx: &Http) -> String {
        match self {
            Evidence::Text(t) => t,
            Evidence::Email { start, end } => {
                let body = tx.response.as_ref().map_or(&[][..], |r| r.body.as_slice());
                // ASCII by construction (see `find_email_at`): never lossy.
                let m = String::from_utf8_lossy(body.get(start..end).unwrap_or(&[]));
                format!("e-mail address in response: {m}")
            }
        }
    }
}

/// Which optional checks run.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassiveConfig {
    /// Hygiene checks that fire on most sites: missing security headers and
    /// any version disclosure (not only end-of-life versions).
    pub hygiene: bool,
}

/// One body check: a regex, compiled the first time a body needs it, and
/// literals of which every match of the regex contains at least one (the
/// prefilter: a body with none of them cannot match, so most bodies never
/// reach a regex and most runs never compile one).
struct Pat {
    class: &'static str,
    severity: &'static str,
    re: &'static str,
    lits: &'static [&'static str],
    compiled: OnceLock<Option<Regex>>,
}

impl Pat {
    const fn new(
        class: &'static str,
        severity: &'static str,
        re: &'static str,
        lits: &'static [&'static str],
    ) -> Pat {
        Pat {
            class,
            severity,
            re,
            lits,
            compiled: OnceLock::new(),
        }
    }

    fn regex(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| Regex::new(self.re).ok())
            .as_ref()
    }
}

/// The body checks, in the order their findings are reported. Each
/// literal is copied from the pattern beside it: a branch's fixed text, or
/// a piece every branch shares.
static BODY: [Pat; 11] = [
    Pat::new(
        "info_leak.stack_trace",
        "medium",
        r"(?m)^\s*at [\w$.<>]+\([\w$]+\.(java|kt|scala|groovy):\d+\)|(?m)^\s+at [\w$.]+\.[\w$<>]+\((Native Method|Unknown Source)\)",
        &[
            ".java:",
            ".kt:",
            ".scala:",
            ".groovy:",
            "(Native Method)",
            "(Unknown Source)",
        ],
    ),
    Pat::new(
        "info_leak.stack_trace",
        "medium",
        r"Traceback \(most recent call last\):",
        &["Traceback (most recent call last):"],
    ),
    Pat::new(
        "info_leak.stack_trace",
        "medium",
        r"(?m)^\s*at [\w.<>`]+\(.*\) in [A-Za-z]:\\.*:line \d+|Server Error in '[^']*' Application|System\.(NullReference|InvalidOperation|Argument)Exception",
        &[
            ":line ",
            "Server Error in '",
            "System.NullReferenceException",
            "System.InvalidOperationException",
            "System.ArgumentException",
        ],
    ),
    Pat::new(
        "info_leak.stack_trace",
        "medium",
        r"<b>(Fatal error|Warning|Parse error|Notice)</b>:.* on line <b>\d+</b>|PHP (Fatal error|Warning|Parse error):.* on line \d+",
        &[" on line "],
    ),
    Pat::new(
        "info_leak.stack_trace",
        "medium",
        r"(?m)^\s+at (Object\.<anonymous>|Module\._compile|[\w.<>]+ \((/|node:)[^)]*:\d+:\d+\))",
        &[
            "at Object.<anonymous>",
            "at Module._compile",
            " (/",
            " (node:",
        ],
    ),
    Pat::new(
        "info_leak.debug_page",
        "high",
        r"You're seeing this error because you have <code>DEBUG = True</code>|Werkzeug Debugger|Whitelabel Error Page|ActionController::RoutingError|Action Controller: Exception caught|<title>Laravel</title>.*Whoops|Xdebug",
        &[
            "You're seeing this error because you have <code>DEBUG = True</code>",
            "Werkzeug Debugger",
            "Whitelabel Error Page",
            "ActionController::RoutingError",
            "Action Controller: Exception caught",
            "<title>Laravel</title>",
            "Xdebug",
        ],
    ),
    Pat::new(
        "info_leak.sql_error",
        "medium",
        r"You have an error in your SQL syntax|java\.sql\.SQL\w*Exception|ORA-\d{5}|PG::\w*Error|psycopg2\.\w+|SQLSTATE\[|Unclosed quotation mark after the character string|Microsoft OLE DB Provider for|SQLite3?::|sqlite3\.OperationalError|mysql_fetch_array\(\)|syntax error at or near|Incorrect syntax near|SQLException",
        &[
            "You have an error in your SQL syntax",
            "java.sql.SQL",
            "ORA-",
            "PG::",
            "psycopg2.",
            "SQLSTATE[",
            "Unclosed quotation mark after the character string",
            "Microsoft OLE DB Provider for",
            "SQLite",
            "sqlite3.OperationalError",
            "mysql_fetch_array()",
            "syntax error at or near",
            "Incorrect syntax near",
            "SQLException",
        ],
    ),
    Pat::new(
        "secret.aws_key",
        "high",
        r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
        &["AKIA", "ASIA"],
    ),
    Pat::new(
        "secret.private_key",
        "critical",
        r"-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----",
        &["PRIVATE KEY-----"],
    ),
    Pat::new(
        "secret.token",
        "high",
        r"\b(ghp_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{40,}|xox[baprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20})\b",
        &["ghp_", "github_pat_", "xox", "sk_live_", "AIza", "glpat-"],
    ),
    Pat::new(
        "info_leak.directory_listing",
        "medium",
        r"<title>Index of /|<h1>Index of /|\[To Parent Directory\]",
        &["Index of /", "[To Parent Directory]"],
    ),
];

/// Every literal of [`BODY`], and the check each belongs to.
static BODY_LITS: LazyLock<(Vec<&'static str>, Vec<usize>)> = LazyLock::new(|| {
    BODY.iter()
        .enumerate()
        .flat_map(|(i, p)| p.lits.iter().map(move |l| (*l, i)))
        .unzip()
});

/// Whether any literal of [`BODY`] occurs: the packed (SIMD) searcher
/// alone where the target has one, which costs little to build and finds
/// any occurrence (a leftmost-first search finds one whenever a literal
/// occurs); an automaton, with the same searcher as its prefilter, where
/// it has not.
enum AnyLit {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

static ANY_LIT: LazyLock<Option<AnyLit>> = LazyLock::new(|| {
    packed::Config::new()
        .match_kind(packed::MatchKind::LeftmostFirst)
        .builder()
        .extend(&BODY_LITS.0)
        .build()
        .map(AnyLit::Packed)
        .or_else(|| any_automaton().map(AnyLit::Automaton))
});

/// The automaton [`ANY_LIT`] falls back on.
fn any_automaton() -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .match_kind(MatchKind::LeftmostFirst)
        .build(&BODY_LITS.0)
        .ok()
}

/// Every literal of [`BODY`] for an overlapping walk: built the first time
/// a body holds one (most runs: never). A non-contiguous NFA, the cheapest
/// to build: it walks only the bodies the fast search flagged.
static ALL_LITS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::NoncontiguousNFA))
        .build(&BODY_LITS.0)
        .ok()
});

/// Which [`BODY`] checks `body` may match (bit `i` for check `i`): the
/// checks with one of their literals in it; every check when an automaton
/// could not be built.
fn body_candidates(body: &[u8]) -> u32 {
    // Most bodies hold none: one fast search says so.
    let any = match ANY_LIT.as_ref() {
        Some(AnyLit::Packed(s)) => s.find(body).is_some(),
        Some(AnyLit::Automaton(a)) => a.is_match(body),
        None => return u32::MAX,
    };
    if !any {
        return 0;
    }
    let Some(all) = ALL_LITS.as_ref() else {
        return u32::MAX;
    };
    let owner = &BODY_LITS.1;
    let mut bits = 0u32;
    // Overlapping: a literal inside or across another still counts.
    for m in all.find_overlapping_iter(body) {
        if let Some(i) = owner.get(m.pattern().as_usize()) {
            bits |= 1 << i;
        }
    }
    bits
}

/// Whether a response body is not text (images, fonts, archives, ...): by its
/// Content-Type, or by a NUL byte near its start. Such bodies are not scanned.
fn binary_body(ctype: Option<&str>, body: &[u8]) -> bool {
    // `binary_type` compares prefixes of no white space: trimming the end
    // changes none of its answers, so only the start is trimmed.
    binary_type(ctype.unwrap_or("").trim_start().as_bytes())
        || memchr::memchr(0, body.get(..1024).unwrap_or(body)).is_some()
}

/// Whether a (trimmed) Content-Type starts, in any ASCII case, with one of
/// the binary types: its first letter picks the prefixes to compare, and
/// `application/` is compared once for all its subtypes.
fn binary_type(c: &[u8]) -> bool {
    // ASCII case-insensitive prefix (no lower-case copy of the value).
    let starts = |c: &[u8], p: &[u8]| c.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    match c.first().map(u8::to_ascii_lowercase) {
        Some(b'i') => starts(c, b"image/"),
        Some(b'v') => starts(c, b"video/"),
        Some(b'f') => starts(c, b"font/"),
        Some(b'a') => {
            starts(c, b"audio/")
                || c.get(12..)
                    .filter(|_| starts(c, b"application/"))
                    .is_some_and(|sub| {
                        [
                            &b"octet-stream"[..],
                            b"zip",
                            b"gzip",
                            b"pdf",
                            b"wasm",
                            b"x-protobuf",
                            b"grpc",
                        ]
                        .iter()
                        .any(|p| starts(sub, p))
                    })
        }
        _ => false,
    }
}

/// ASCII digits only: a match is what [`luhn`] reads (it skips any other
/// digit), and its last four bytes are always a whole evidence excerpt.
static CARD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b[3456][0-9]{3}(?:[ -]?[0-9]{4}){2}[ -]?[0-9]{1,7}\b").ok());

/// The first e-mail address in `raw` read as (lossy) text: what the regex
/// `\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,128}\.[A-Za-z]{2,24}\b`
/// finds first, without compiling it (its bounded repeats made it the
/// costliest regex to build). Proven against that regex by
/// `email_matches_the_regex`. A match is ASCII, and so are the bytes the
/// pattern reads, so the raw bytes give the same match as the lossy text;
/// a neighbour that is not ASCII is decoded as the lossy text has it.
#[cfg(test)]
fn find_email(raw: &[u8]) -> Option<&str> {
    let (start, end) = find_email_at(raw)?;
    raw.get(start..end)
        .and_then(|m| std::str::from_utf8(m).ok())
}

/// Where [`find_email`]'s address lies in `raw`. Every byte of it is one
/// `email_local` or `email_domain` accepts, all ASCII, so it is always
/// UTF-8 (`email_range_is_ascii`).
fn find_email_at(raw: &[u8]) -> Option<(usize, usize)> {
    // Local parts before different `@`s never overlap (none holds an `@`),
    // so the first `@` with a match gives the leftmost one.
    memchr::memchr_iter(b'@', raw).find_map(|at| {
        let end = email_domain_end(raw, at)?;
        let start = email_local_start(raw, at)?;
        raw.get(start..end).map(|_| (start, end))
    })
}

fn email_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn email_domain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// Where the address whose `@` is at `at` ends: `[A-Za-z0-9.-]{1,128}`,
/// `\.`, `[A-Za-z]{2,24}`, `\b`, in the regex's order of preference
/// (the longest domain part first).
fn email_domain_end(raw: &[u8], at: usize) -> Option<usize> {
    let dom = raw.get(at + 1..)?;
    // The domain part lies in the run of domain bytes after the `@`.
    let run = dom
        .iter()
        .take(129)
        .take_while(|b| email_domain(**b))
        .count();
    (1..=run.min(128)).rev().find_map(|dot| {
        if dom.get(dot) != Some(&b'.') {
            return None;
        }
        let tld = dom
            .get(dot + 1..)?
            .iter()
            .take(25)
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        // A shorter top-level label ends before a letter: no boundary.
        let end = at + 1 + dot + 1 + tld;
        ((2..=24).contains(&tld) && !word_after(raw, end)).then_some(end)
    })
}

/// Where the address whose `@` is at `at` starts: the leftmost start of
/// `\b[A-Za-z0-9._%+-]{1,64}` ending at the `@`.
fn email_local_start(raw: &[u8], at: usize) -> Option<usize> {
    let before = raw.get(..at)?;
    let len = before
        .iter()
        .rev()
        .take(64)
        .take_while(|b| email_local(**b))
        .count();
    (at - len..at).find(|&s| {
        raw.get(s)
            .is_some_and(|b| word_before(raw, s) != ascii_word(*b))
    })
}

fn ascii_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `c` is a word character of `\b` (Unicode `\w`).
fn word_char(c: char) -> bool {
    static WORD: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\A\w\z").ok());
    if c.is_ascii() {
        return ascii_word(c as u8);
    }
    let mut buf = [0u8; 4];
    WORD.as_ref()
        .is_some_and(|re| re.is_match(c.encode_utf8(&mut buf)))
}

/// Whether the character of the lossy text that ends at byte `p` of `raw`
/// is a word character (none at the start; U+FFFD, not a word character,
/// for an invalid sequence).
fn word_before(raw: &[u8], p: usize) -> bool {
    // An ASCII byte just before is the character (what the decoding below
    // gives it); further back it may end an invalid sequence instead.
    if let Some(&b) = p.checked_sub(1).and_then(|k| raw.get(k)) {
        if b.is_ascii() {
            return ascii_word(b);
        }
    }
    for n in 1..=4 {
        let Some(k) = p.checked_sub(n) else {
            return false;
        };
        let Some(&b) = raw.get(k) else { return false };
        if b & 0xC0 != 0x80 {
            // A lead byte (or ASCII) always starts a sequence of its own.
            let mut chars = raw
                .get(k..p)
                .and_then(|s| std::str::from_utf8(s).ok())
                .unwrap_or("")
                .chars();
            return match (chars.next(), chars.next()) {
                (Some(c), None) => word_char(c),
                _ => false,
            };
        }
    }
    false
}

/// Whether the character of the lossy text that starts at byte `p` of
/// `raw` is a word character (none at the end).
fn word_after(raw: &[u8], p: usize) -> bool {
    let Some(rest) = raw.get(p..) else {
        return false;
    };
    if let Some(&b) = rest.first().filter(|b| b.is_ascii()) {
        // The first character is this byte (what the decoding below gives).
        return ascii_word(b);
    }
    rest.get(..4)
        .unwrap_or(rest)
        .utf8_chunks()
        .next()
        .and_then(|c| c.valid().chars().next())
        .is_some_and(word_char)
}
static INTERNAL_IP: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b(10\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|192\.168\.[0-9]{1,3}\.[0-9]{1,3}|172\.(1[6-9]|2[0-9]|3[01])\.[0-9]{1,3}\.[0-9]{1,3})\b").ok()
});
static VERSION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(apache|nginx|php|microsoft-iis|openssl|express|tomcat|jetty|asp\.net)[/ ]v?(\d+)\.(\d+)(?:\.(\d+))?").ok()
});

/// Whether `b` may hold a match of [`CARD`]: a match is ASCII digits,
/// spaces and hyphens with at least 13 digits, so it lies in a run of such
/// bytes holding 13 digits or more. (A lossy conversion keeps ASCII bytes
/// where they are, so the raw bytes have every run the text has.)
///
/// Such a run is 13 bytes long or more, so it holds a byte at an index
/// `12 + 13k`: only those bytes are looked at, and a run one of them is in
/// is walked both ways to its ends and its digits counted. The next look
/// is past the run's end, so no byte is walked twice; most bodies (text,
/// JSON with short numbers) are looked at one byte in 13.
fn maybe_card(b: &[u8]) -> bool {
    const STRIDE: usize = 13;
    let run_byte = |c: &u8| c.is_ascii_digit() || *c == b' ' || *c == b'-';
    let digits = |s: &[u8]| s.iter().filter(|c| c.is_ascii_digit()).count();
    let mut at = STRIDE - 1;
    while let Some(c) = b.get(at) {
        if !run_byte(c) {
            at += STRIDE;
            continue;
        }
        let before = b.get(..at).unwrap_or(&[]);
        let after = b.get(at..).unwrap_or(&[]);
        let back = before.iter().rev().take_while(|c| run_byte(c)).count();
        let ahead = after.iter().take_while(|c| run_byte(c)).count();
        let run = b.get(at - back..at + ahead).unwrap_or(&[]);
        if digits(run) >= 13 {
            return true;
        }
        // The byte past the run (not a run byte) cannot be in the next
        // run: the next look is the first sample index after it.
        let end = at + ahead;
        at += ((end - at) / STRIDE + 1) * STRIDE;
    }
    false
}

/// Whether `b` may hold an address [`INTERNAL_IP`] finds: every one is
/// `10.`, `172.` or `192.168.` followed by dot-separated groups of one to
/// three digits (three groups, three, two), so one walk over the dots
/// looks behind each for those prefixes and ahead for the groups.
fn maybe_internal(b: &[u8]) -> bool {
    // The shortest address is eight bytes (`10.0.0.0`): a shorter value
    // (a length, a status, a short product name) needs no walk.
    if b.len() < 8 {
        return false;
    }
    // A header value is short: a plain walk finds its dots for less than
    // setting up a `memchr` iterator costs; a body gets the SIMD search.
    if b.len() <= SHORT {
        b.iter()
            .enumerate()
            .any(|(at, &c)| c == b'.' && internal_at(b, at))
    } else {
        memchr::memchr_iter(b'.', b).any(|dot| internal_at(b, dot))
    }
}

/// The longest value [`maybe_internal`] walks byte by byte.
const SHORT: usize = 32;

/// Whether the dot at `dot` in `b` may be in an [`INTERNAL_IP`] match
/// (see [`maybe_internal`]).
fn internal_at(b: &[u8], dot: usize) -> bool {
    // Every prefix below ends in `0`, `2` or `8`: one byte rules out
    // most dots (versions, domains, decimals) before any comparison.
    if !matches!(
        dot.checked_sub(1).and_then(|i| b.get(i)),
        Some(b'0' | b'2' | b'8')
    ) {
        return false;
    }
    let ends = |tail: &[u8]| {
        dot.checked_sub(tail.len())
            .and_then(|s| b.get(s..dot))
            .is_some_and(|t| t == tail)
    };
    let rest = b.get(dot + 1..).unwrap_or(&[]);
    ((ends(b"10") || ends(b"172")) && digit_groups(rest, 3))
        || (ends(b"192.168") && digit_groups(rest, 2))
}

/// Whether `b` starts with `n` groups of digits joined by dots, each but
/// the last of one to three digits (`[0-9]{1,3}` then `\.`), the last of
/// at least one.
fn digit_groups(b: &[u8], n: usize) -> bool {
    let mut at = 0;
    for k in 1..=n {
        let run = b
            .get(at..)
            .unwrap_or(&[])
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if run == 0 {
            return false;
        }
        if k == n {
            return true;
        }
        if run > 3 || b.get(at + run) != Some(&b'.') {
            return false;
        }
        at += run + 1;
    }
    false
}

/// `raw` as text (lossy), converted the first time it is asked for.
fn lossy<'c, 'b: 'c>(cell: &'c OnceCell<Cow<'b, str>>, raw: &'b [u8]) -> &'c str {
    cell.get_or_init(|| String::from_utf8_lossy(raw))
}

/// What [`VERSION`] reads in a header value: product (lower case), major
/// and minor (`u32::MAX` when absent or not a number), at most four.
type Versions = Vec<(String, u32, u32)>;

fn read_versions(v: &str) -> Versions {
    let Some(re) = VERSION.as_ref() else {
        return vec![];
    };
    re.captures_iter(v)
        .take(4)
        .map(|c| {
            let num = |i| {
                c.get(i)
                    .and_then(|m| m.as_str().parse().ok())
                    .unwrap_or(u32::MAX)
            };
            let product = c.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
            (product, num(2), num(3))
        })
        .collect()
}

/// Longest header value whose reading [`with_versions`] keeps.
const MAX_MEMO_VALUE: usize = 1024;

thread_local! {
    /// The last header value read for versions and its reading: a site
    /// sends the same `Server` value on every response, so the regex runs
    /// once per distinct value in a row instead of once per response.
    static LAST_VERSIONS: RefCell<(String, Versions)> = const { RefCell::new((String::new(), Vec::new())) };
}

/// Whether [`VERSION`] may match `v`: every match holds a `\d`, an ASCII
/// digit or a character that is not ASCII. (A bare product name such as
/// `nginx` has neither: no regex, compiled or run.)
fn may_have_version(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_digit() || !b.is_ascii())
}

/// Calls `f` with [`read_versions`] of `v`, remembered for the next call.
fn with_versions(v: &str, f: impl FnOnce(&[(String, u32, u32)])) {
    if !may_have_version(v) {
        return f(&[]);
    }
    if v.len() > MAX_MEMO_VALUE {
        return f(&read_versions(v));
    }
    LAST_VERSIONS.with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return f(&read_versions(v));
        };
        if last.0 != v {
            last.0.clear();
            last.0.push_str(v);
            last.1 = read_versions(v);
        }
        f(&last.1)
    })
}

/// Whether `hay` contains `needle` (as `str::contains` says): a plain walk,
/// for short values such as a Content-Type, where setting up a substring
/// searcher costs more than the search.
fn has(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether `hay` contains `needle` (lower case ASCII), ASCII case-insensitively:
/// what `hay.to_ascii_lowercase().contains(needle)` says, without the copy.
fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether a cookie name looks like a session cookie's (a fragment below
/// in any case).
fn session_cookie_name(name: &str) -> bool {
    ["sess", "sid", "token", "auth", "jwt", "login", "remember"]
        .iter()
        .any(|k| contains_ci(name.as_bytes(), k.as_bytes()))
}

/// Which of `; secure` (or `;secure`), `httponly` and `samesite` a
/// Set-Cookie value holds anywhere, in any ASCII case: one walk that looks
/// only where a `;`, `h` or `s` starts a candidate, instead of a lower-case
/// copy and three substring searches.
fn cookie_attrs(v: &[u8]) -> (bool, bool, bool) {
    let (mut secure, mut httponly, mut samesite) = (false, false, false);
    let at = |i: usize, needle: &[u8]| {
        v.get(i..i + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    };
    for (i, &c) in v.iter().enumerate() {
        match c {
            b';' if !secure => secure = at(i, b";secure") || at(i, b"; secure"),
            b'h' | b'H' if !httponly => httponly = at(i, b"httponly"),
            b's' | b'S' if !samesite => samesite = at(i, b"samesite"),
            _ => continue,
        }
        if secure && httponly && samesite {
            break;
        }
    }
    (secure, httponly, samesite)
}

/// Whether `s` (digits, maybe grouped) is a card number a response should
/// not carry: it passes the Luhn check and is not one of the test numbers
/// payment providers publish for sandboxes and docs. Those are the famous
/// ones (`4242 4242 4242 4242`, `3782 822463 10005`, ...) and every number
/// whose digits after the six-digit issuer prefix hold a run of seven or
/// more of one digit (`4111 1111 1111 1111`, `5555 5555 5555 4444`, Stripe's
/// `4000 0000 0000 0002` family): a real account number has one about once
/// in ten thousand.
fn card_number(s: &str) -> bool {
    const TEST: &[&str] = &[
        "4242424242424242",
        "5555555555554444",
        "4000056655665556",
        "4012888888881881",
        "5105105105105100",
        "5200828282828210",
        "2223003122003222",
        "378282246310005",
        "371449635398431",
        "6011000990139424",
        "3056930009020004",
        "36227206271667",
        "3566002020360505",
        "5500005555555559",
    ];
    if !luhn(s) {
        return false;
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let account = digits.get(6..).unwrap_or("").as_bytes();
    let run = account
        .chunk_by(|a, b| a == b)
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    run < 7 && !TEST.contains(&digits.as_str())
}

/// Whether the number at `start` of `text` is the value of a JSON member
/// named as an id (`"id": 6789012345678`, `"order_id": ...`, `"ids": [...,
/// 4539578763621486]`, `"productId"`): e-commerce and API ids run to 13-19
/// digits and one in ten passes the Luhn check. Read from the 64 bytes
/// before the number only.
fn id_valued(text: &str, start: usize) -> bool {
    let b = text.as_bytes();
    let from = start.saturating_sub(64);
    let mut before = b.get(from..start).unwrap_or(&[]).trim_ascii_end();
    // An array's member: back to its `[` (other numbers, commas, blanks).
    if before.last().is_some_and(|c| matches!(c, b',' | b'[')) {
        let Some(open) = before.iter().rposition(|c| *c == b'[') else {
            return false;
        };
        let between = &before[open + 1..];
        if !between
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b',' | b' ' | b'\n' | b'\r' | b'\t'))
        {
            return false;
        }
        before = before[..open].trim_ascii_end();
    }
    let Some(rest) = before.strip_suffix(b":") else {
        return false;
    };
    let Some(rest) = rest.trim_ascii_end().strip_suffix(b"\"") else {
        return false;
    };
    let key = rest
        .iter()
        .rposition(|c| *c == b'"')
        .map_or(&[][..], |q| &rest[q + 1..]);
    let lower = key.to_ascii_lowercase();
    lower == b"id"
        || lower == b"ids"
        || lower.ends_with(b"_id")
        || lower.ends_with(b"_ids")
        || key.ends_with(b"Id")
        || key.ends_with(b"Ids")
}

/// Whether a secret pattern's match `m` is a documented placeholder, not a
/// credential: AWS's example keys (`AKIAIOSFODNN7EXAMPLE`), and a token
/// whose last 16 characters use at most two (`ghp_xxxx...`, `sk_live_0000...`),
/// as docs, SDK sources and configuration templates serve them.
fn placeholder_secret(class: &str, m: &str) -> bool {
    if !class.starts_with("secret.") || class == "secret.private_key" {
        return false;
    }
    let tail = m.get(m.len().saturating_sub(16)..).unwrap_or(m).as_bytes();
    let mut kinds: Vec<u8> = tail.to_vec();
    kinds.sort_unstable();
    kinds.dedup();
    m.ends_with("EXAMPLE") || kinds.len() <= 2
}

/// Luhn checksum of the digits in `s`.
pub fn luhn(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// End-of-life versions: product, and the newest major.minor that is EOL.
fn end_of_life(product: &str, major: u32, minor: u32) -> bool {
    match product {
        "apache" => (major, minor) < (2, 4),
        "nginx" => (major, minor) < (1, 20),
        "php" => major < 8,
        "microsoft-iis" => major < 10,
        "openssl" => (major, minor) < (1, 1) || major == 0,
        "tomcat" => major < 9,
        "jetty" => major < 10,
        _ => false,
    }
}

fn excerpt(s: &str, at: usize, len: usize) -> String {
    let start = (0..=at.min(s.len()))
        .rev()
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(0);
    let mut end = (start + len).min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(start..end)
        .unwrap_or("")
        .replace(['\n', '\r', '\t'], " ")
}

/// The response headers the checks below look up by name, read in one
/// walk over the headers instead of one walk per name.
#[derive(Default)]
struct Named<'a> {
    /// The first Content-Type (what `header` returns).
    ctype: Option<&'a str>,
    /// The first Set-Cookie.
    cookie: Option<&'a str>,
    /// The first Access-Control-Allow-Origin and -Credentials.
    acao: Option<&'a str>,
    acac: Option<&'a str>,
    /// Which of [`VERSION_HEADERS`] occur at all.
    version: [bool; 4],
}

/// The headers read for versions, in the order their findings are made.
const VERSION_HEADERS: [&str; 4] = [
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
];

fn named(headers: &[(String, String)]) -> Named<'_> {
    let mut s = Named::default();
    for (n, v) in headers {
        let is = |name: &str| n.eq_ignore_ascii_case(name);
        if is("content-type") {
            s.ctype.get_or_insert(v);
        } else if is("set-cookie") {
            s.cookie.get_or_insert(v);
        } else if is("access-control-allow-origin") {
            s.acao.get_or_insert(v);
        } else if is("access-control-allow-credentials") {
            s.acac.get_or_insert(v);
        } else if let Some(i) = VERSION_HEADERS.iter().position(|h| is(h)) {
            if let Some(seen) = s.version.get_mut(i) {
                *seen = true;
            }
        }
    }
    s
}

/// Every passive finding of one transaction, in a fixed order.
pub fn check(tx: &Http, cfg: PassiveConfig, out: &mut Vec<Finding>) {
    let mut add = |class, severity, evidence: Evidence, per_host| {
        if !out.iter().any(|f: &Finding| f.class == class) {
            out.push(Finding {
                class,
                severity,
                evidence,
                per_host,
            });
        }
    };
    if let Some(req) = &tx.request {
        if let Some(auth) = header(&req.headers, "authorization") {
            let scheme = |s: &str| {
                auth.get(..s.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(s))
            };
            if scheme("basic ") {
                add(
                    "auth.basic_cleartext",
                    "medium",
                    Evidence::Text("Authorization: Basic over clear-text HTTP".into()),
                    true,
                );
            }
            if let Some(tok) = auth.get(7..).filter(|_| scheme("bearer ")) {
                if jwt_alg_none(tok) {
                    add(
                        "auth.jwt_alg_none",
                        "high",
                        Evidence::Text("JWT with alg none in Authorization".into()),
                        false,
                    );
                }
            }
        }
        let uri = req.uri.as_bytes();
        let q = memchr::memchr(b'?', uri).map_or(&[][..], |at| uri.get(at + 1..).unwrap_or(&[]));
        let jsession = memchr::memchr(b';', uri).is_some()
            && req.uri.to_ascii_lowercase().contains(";jsessionid=");
        // Byte splits: a query is short, and `str` splits set up a searcher each.
        if jsession
            || q.split(|&b| b == b'&').any(|kv| {
                let k = kv.split(|&b| b == b'=').next().unwrap_or(&[]);
                [
                    "jsessionid",
                    "phpsessid",
                    "sessionid",
                    "session_id",
                    "sid",
                    "aspsessionid",
                ]
                .iter()
                .any(|s| k.eq_ignore_ascii_case(s.as_bytes()))
            })
        {
            add(
                "session.id_in_url",
                "low",
                Evidence::Text("session identifier in the URL".into()),
                false,
            );
        }
    }
    let Some(resp) = &tx.response else { return };
    let named = named(&resp.headers);
    let ctype = named.ctype;
    let body_raw = if binary_body(ctype, &resp.body) {
        &[][..]
    } else {
        resp.body.get(..256 * 1024).unwrap_or(&resp.body)
    };
    // The body as text, made only when a regex is to run on it: every
    // prefilter below looks for ASCII bytes, which a lossy conversion keeps
    // as they are (it replaces only non-ASCII bytes), so they read the raw
    // bytes and most bodies are never converted (or UTF-8 checked) at all.
    let cell = OnceCell::new();
    let body = || lossy(&cell, body_raw);
    // The literal prefilter tells which body patterns can match at all
    // (most bodies: none); only those are compiled and run.
    let candidates = if body_raw.is_empty() {
        0
    } else {
        body_candidates(body_raw)
    };
    for (i, p) in BODY.iter().enumerate() {
        if candidates & (1 << i) == 0 {
            continue;
        }
        let found = p.regex().and_then(|re| {
            re.find_iter(body())
                .take(32)
                .find(|m| !placeholder_secret(p.class, m.as_str()))
        });
        if let Some(m) = found {
            add(
                p.class,
                p.severity,
                Evidence::Text(excerpt(body(), m.start(), 120)),
                false,
            );
        }
    }
    // A card number has at least 13 digits (see [`CARD`]); the regex is
    // compiled the first time a body passes that test.
    if let Some(re) = maybe_card(body_raw).then(|| CARD.as_ref()).flatten() {
        let text = body();
        let card = re
            .find_iter(text)
            .take(32)
            .find(|m| card_number(m.as_str()) && !id_valued(text, m.start()));
        if let Some(m) = card {
            add(
                "pii.card_number",
                "high",
                Evidence::Text(format!(
                    "card number ending {}",
                    &m.as_str()[m.as_str().len().saturating_sub(4)..]
                )),
                false,
            );
        }
    }
    let json_or_text = ctype.is_none_or(|c| {
        let c = c.as_bytes();
        has(c, b"json") || has(c, b"text/plain") || has(c, b"xml")
    });
    if json_or_text && memchr::memchr(b'@', body_raw).is_some() {
        // Written out only when reported (most are repeats of one that was).
        if let Some((start, end)) = find_email_at(body_raw) {
            add("pii.email", "low", Evidence::Email { start, end }, false);
        }
    }
    // The regex is compiled the first time a value passes the byte test.
    let ip = || INTERNAL_IP.as_ref();
    if let Some(m) = resp
        .headers
        .iter()
        .filter(|(n, v)| !n.eq_ignore_ascii_case("date") && maybe_internal(v.as_bytes()))
        .find_map(|(n, v)| ip()?.find(v).map(|m| format!("{n}: {}", m.as_str())))
        .or_else(|| {
            maybe_internal(body_raw)
                .then(|| ip()?.find(body()).map(|m| m.as_str().to_string()))
                .flatten()
        })
    {
        add(
            "info_leak.internal_ip",
            "low",
            Evidence::Text(format!("internal address disclosed: {m}")),
            false,
        );
    }
    // Only the names that occur are looked for (most responses: `Server`).
    for (name, _) in VERSION_HEADERS
        .iter()
        .zip(named.version)
        .filter(|(_, seen)| *seen)
    {
        for (n, v) in resp
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            with_versions(v, |found| {
                for (product, major, minor) in found {
                    if end_of_life(product, *major, *minor) {
                        add(
                            "outdated_software",
                            "medium",
                            Evidence::Text(format!("{n}: {v}")),
                            true,
                        );
                    } else if cfg.hygiene {
                        add(
                            "info_leak.version",
                            "low",
                            Evidence::Text(format!("{n}: {v}")),
                            true,
                        );
                    }
                }
            });
        }
    }
    for (n, v) in resp
        .headers
        .iter()
        .filter(|(n, _)| named.cookie.is_some() && n.eq_ignore_ascii_case("set-cookie"))
    {
        let name = v.split('=').next().unwrap_or("").trim();
        if !session_cookie_name(name) {
            continue;
        }
        let (secure, httponly, samesite) = cookie_attrs(v.as_bytes());
        let mut missing = vec![];
        if !secure {
            missing.push("Secure");
        }
        if !httponly {
            missing.push("HttpOnly");
        }
        if !samesite {
            missing.push("SameSite");
        }
        if !missing.is_empty() {
            add(
                "cookie.insecure",
                "medium",
                Evidence::Text(format!("{n}: {name} without {}", missing.join(", "))),
                false,
            );
        }
    }
    let acao = named.acao;
    let creds = named
        .acac
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if let Some(o) = acao {
        let origin = tx
            .request
            .as_ref()
            .and_then(|r| header(&r.headers, "origin"));
        if creds && (o.trim() == "*" || o.trim() == "null" || origin.is_some_and(|r| r == o.trim()))
        {
            add(
                "cors.credentials_any_origin",
                "high",
                Evidence::Text(format!("Access-Control-Allow-Origin: {o} with credentials")),
                false,
            );
        }
    }
    if let Some(sc) = named.cookie.filter(|v| v.contains("eyJ")) {
        for part in sc.split(['=', ';']) {
            if jwt_alg_none(part.trim()) {
                add(
                    "auth.jwt_alg_none",
                    "high",
                    Evidence::Text("JWT with alg none in Set-Cookie".into()),
                    false,
                );
            }
        }
    }
    if cfg.hygiene && resp.status < 400 {
        let html = ctype.is_some_and(|c| c.contains("html"));
        let mut missing = vec![];
        for (h, only_html) in [
            ("strict-transport-security", false),
            ("x-content-type-options", false),
            ("content-security-policy", true),
            ("x-frame-options", true),
        ] {
            if (!only_html || html) && header(&resp.headers, h).is_none() {
                missing.push(h);
            }
        }
        if !missing.is_empty() {
            add(
                "headers.missing_security",
                "low",
                Evidence::Text(format!("missing {}", missing.join(", "))),
                true,
            );
        }
    }
}

/// Whether `tok` is a JWT whose header says `"alg":"none"`.
pub fn jwt_alg_none(tok: &str) -> bool {
    use base64::Engine;
    let Some(head) = tok
        .trim()
        .split('.')
        .next()
        .filter(|h| h.starts_with("eyJ"))
    else {
        return false;
    };
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(head.trim_end_matches('='))
    else {
        return false;
    };
    let text = String::from_utf8_lossy(&bytes)
        .to_ascii_lowercase()
        .replace(' ', "");
    text.contains("\"alg\":\"none\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{HttpRequest, HttpResponse, Ts};

    /// What the Set-Cookie check did before [`cookie_attrs`] and
    /// [`session_cookie_name`]: lower-case copies and substring searches.
    fn cookie_oracle(v: &str) -> (bool, (bool, bool, bool)) {
        let name = v.split('=').next().unwrap_or("").trim();
        let lname = name.to_ascii_lowercase();
        let session = ["sess", "sid", "token", "auth", "jwt", "login", "remember"]
            .iter()
            .any(|k| lname.contains(k));
        let attrs = v.to_ascii_lowercase();
        let secure = attrs.contains("; secure") || attrs.contains(";secure");
        (
            session,
            (
                secure,
                attrs.contains("httponly"),
                attrs.contains("samesite"),
            ),
        )
    }

    #[test]
    fn has_is_contains() {
        for (hay, needle) in [
            ("application/json", "json"),
            ("application/jso", "json"),
            ("json", "json"),
            ("", "json"),
            ("text/plain; charset=utf-8", "text/plain"),
            ("text/plai", "text/plain"),
            ("application/problem+xml", "xml"),
            ("é-xml", "xml"),
            ("XML", "xml"),
        ] {
            assert_eq!(has(hay.as_bytes(), needle.as_bytes()), hay.contains(needle));
        }
    }

    /// What [`maybe_card`] was: one byte at a time.
    fn maybe_card_oracle(b: &[u8]) -> bool {
        let mut digits = 0;
        for &c in b {
            if c.is_ascii_digit() {
                digits += 1;
                if digits >= 13 {
                    return true;
                }
            } else if c != b' ' && c != b'-' {
                digits = 0;
            }
        }
        false
    }

    proptest::proptest! {
        /// Runs of digits, blanks and other bytes across word boundaries:
        /// the word-at-a-time count is the byte walk's.
        #[test]
        fn maybe_card_agrees_on_digit_runs(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => b'0'..=b'9',
                    1 => proptest::prelude::Just(b' '),
                    1 => proptest::prelude::Just(b'-'),
                    1 => proptest::prelude::any::<u8>(),
                ],
                0..64,
            )
        ) {
            proptest::prop_assert_eq!(maybe_card(&b), maybe_card_oracle(&b));
        }
    }

    #[test]
    fn maybe_card_walks_words_as_bytes() {
        for s in [
            "",
            "4111111111111",
            "411111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1",
            "x4111111111111x",
            "41111111        11111",
            "41111111x       11111",
            "ab/:90:;9012345678901",
            "\u{ff}\u{80}12345678901234",
        ] {
            assert_eq!(
                maybe_card(s.as_bytes()),
                maybe_card_oracle(s.as_bytes()),
                "{s:?}"
            );
        }
        // Every byte value, in every position of a word.
        for c in 0..=255u8 {
            for at in 0..16 {
                let mut b = b"1234567890123456789".to_vec();
                if let Some(x) = b.get_mut(at) {
                    *x = c;
                }
                assert_eq!(maybe_card(&b), maybe_card_oracle(&b), "{c} at {at}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn maybe_card_agrees_on_random_bytes(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::Just(b'1'),
                    proptest::prelude::Just(b' '),
                    proptest::prelude::Just(b'-'),
                    proptest::prelude::any::<u8>(),
                ],
                0..64,
            )
        ) {
            proptest::prop_assert_eq!(maybe_card(&b), maybe_card_oracle(&b));
        }
    }

    proptest::proptest! {
        /// Long bodies of digit runs, blanks and other bytes: the sampled
        /// walk finds every run the byte walk finds, wherever it starts
        /// relative to the sampled indices.
        #[test]
        fn maybe_card_agrees_on_long_bodies(
            b in proptest::collection::vec(
                proptest::prop_oneof![
                    12 => b'0'..=b'9',
                    2 => proptest::prelude::Just(b' '),
                    1 => proptest::prelude::Just(b'-'),
                    1 => proptest::prelude::any::<u8>(),
                ],
                0..400,
            )
        ) {
            proptest::prop_assert_eq!(maybe_card(&b), maybe_card_oracle(&b));
        }
    }

    /// A run of 12 and of 13 digits (with blanks and hyphens between) at
    /// every offset of a body of other bytes.
    #[test]
    fn maybe_card_finds_runs_at_every_offset() {
        for run in [
            &b"1234567890123"[..],
            b"123456789012",
            b"4111 1111 1111 1",
            b"4111-1111-111",
            b"- 1234567890123 -",
        ] {
            for at in 0..60 {
                for filler in [b'x', b'.', 0xff] {
                    let mut b = vec![filler; 80];
                    b.splice(at..at, run.iter().copied());
                    assert_eq!(maybe_card(&b), maybe_card_oracle(&b), "{run:?} at {at}");
                    b.truncate(at + run.len());
                    assert_eq!(maybe_card(&b), maybe_card_oracle(&b), "{run:?} ends {at}");
                }
            }
        }
    }

    fn cookie_now(v: &str) -> (bool, (bool, bool, bool)) {
        let name = v.split('=').next().unwrap_or("").trim();
        (session_cookie_name(name), cookie_attrs(v.as_bytes()))
    }

    #[test]
    fn cookie_checks_agree_with_lower_case_search() {
        for v in [
            "",
            ";",
            "; ",
            "sessionid=1",
            "SESSID=1; Secure; HttpOnly; SameSite=Lax",
            "sid=1;secure;httponly;samesite=strict",
            "sid=1; SECURE",
            "sid=1;  secure",
            "sid=1; Secur",
            "tok=httponl",
            "x=samesite; httponly",
            "AuthToken=é; Sécure; HttpOnly",
            "a=b;;secure",
            "ss;samesitehttponly; secure",
            "JWT=x; Path=/; HTTPONLY; SAMESITE=None; SeCuRe",
            "remember_me=1; path=/; hhttponly; ssamesite",
        ] {
            assert_eq!(cookie_now(v), cookie_oracle(v), "{v:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn cookie_checks_agree_on_random_values(
            v in "[sSeEcCuUrRhHtTpPoOnNlLyYaAmMiIdDkKjJwWgG;= é-]{0,40}"
        ) {
            proptest::prop_assert_eq!(cookie_now(&v), cookie_oracle(&v));
        }
    }

    pub fn tx(
        req_headers: &[(&str, &str)],
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Http {
        let h = |l: &[(&str, &str)]| {
            l.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        Http {
            ts: Ts::from_micros(0, 0),
            ts_end: Ts::from_micros(0, 0),
            flow: "f".into(),
            community_id: String::new(),
            seq: 0,
            client: "10.0.0.1:1".into(),
            server: "10.0.0.2:80".into(),
            real_ip: "10.0.0.1".into(),
            tunnel: vec![],
            request: Some(HttpRequest {
                method: "GET".into(),
                uri: "/x".into(),
                version: "HTTP/1.1".into(),
                headers: h(req_headers),
                body_len: 0,
                body: vec![],
                truncated: false,
                trailers: vec![],
            }),
            response: Some(HttpResponse {
                status,
                reason: "OK".into(),
                version: "HTTP/1.1".into(),
                headers: h(headers),
                body_len: body.len() as u64,
                body: body.as_bytes().to_vec(),
                truncated: false,
                trailers: vec![],
            }),
            anomalies: vec![],
            proxy: None,
            interim: vec![],
        }
    }

    fn classes(t: &Http, hygiene: bool) -> Vec<&'static str> {
        let mut out = vec![];
        check(t, PassiveConfig { hygiene }, &mut out);
        out.iter().map(|f| f.class).collect()
    }

    /// `check` runs every prefilter on the raw body bytes and converts the
    /// body to text only for a regex: equivalent because the prefilters
    /// look for ASCII only, which a lossy conversion keeps unchanged.
    #[test]
    fn prefilters_read_only_ascii() {
        for p in &BODY {
            for l in p.lits {
                assert!(l.is_ascii(), "{l}");
            }
        }
    }

    #[test]
    fn body_checks_see_through_invalid_utf8() {
        let mut body = b"\xff\xfe".to_vec();
        body.extend_from_slice(
            b"\nat com.x.Y.z(Y.java:12)\n\xc3 ghp_aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4",
        );
        body.extend_from_slice(b" \xe2\x82 card 4539 5787 6362 1486 mail a@b.example 10.1.2.3");
        let mut t = tx(&[], 200, &[("Content-Type", "text/plain")], "");
        if let Some(r) = t.response.as_mut() {
            r.body = body;
        }
        assert_eq!(
            classes(&t, false),
            [
                "info_leak.stack_trace",
                "secret.token",
                "pii.card_number",
                "pii.email",
                "info_leak.internal_ip"
            ]
        );
    }

    #[test]
    fn version_reading_is_per_value() {
        // The same value twice (remembered), then another: each read as its own.
        let t = |server: &str| {
            // 404: no missing-header hygiene finding.
            let t = tx(&[], 404, &[("Server", server)], "");
            classes(&t, true)
        };
        assert_eq!(t("Apache/2.2.15 (CentOS)"), ["outdated_software"]);
        assert_eq!(t("Apache/2.2.15 (CentOS)"), ["outdated_software"]);
        assert_eq!(t("nginx/1.25.3"), ["info_leak.version"]);
        assert_eq!(t("nginx/1.25.3"), ["info_leak.version"]);
        assert_eq!(t("Apache/2.2.15 (CentOS)"), ["outdated_software"]);
    }

    /// Binary bodies (by type or by a NUL byte) are not scanned; the same
    /// text in a text body is.
    #[test]
    fn binary_bodies_are_not_scanned() {
        let trace = "Traceback (most recent call last):\n  File \"x.py\", line 1";
        for (ctype, body, found) in [
            ("text/html", trace.to_string(), true),
            ("application/json", trace.to_string(), true),
            ("image/png", trace.to_string(), false),
            ("application/octet-stream", trace.to_string(), false),
            ("text/plain", format!("\u{0}PNG{trace}"), false),
        ] {
            let t = tx(&[], 500, &[("Content-Type", ctype)], &body);
            assert_eq!(
                classes(&t, false).contains(&"info_leak.stack_trace"),
                found,
                "{ctype}: {body:?}"
            );
        }
    }

    /// The prefilter never hides a match: every branch of every body
    /// pattern, matched, is a candidate; text with none of the literals
    /// is not.
    #[test]
    fn prefilter_keeps_every_match() {
        let table: &[(usize, &str)] = &[
            (0, "\tat com.example.App.run(App.java:42)"),
            (0, "  at a.B.c(B.kt:1)"),
            (0, "at a.B(C.scala:7)"),
            (0, "at x(Y.groovy:3)"),
            (0, "  at java.lang.Thread.run(Native Method)"),
            (0, " at a.b.C.d(Unknown Source)"),
            (1, "Traceback (most recent call last):"),
            (2, "   at App.Main() in C:\\src\\app.cs:line 12"),
            (2, "Server Error in '/' Application"),
            (2, "System.NullReferenceException: x"),
            (2, "System.InvalidOperationException"),
            (2, "System.ArgumentException"),
            (3, "<b>Fatal error</b>: x in /a.php on line <b>3</b>"),
            (3, "<b>Notice</b>: y on line <b>9</b>"),
            (3, "PHP Warning: z in /b.php on line 4"),
            (3, "PHP Parse error: q on line 1"),
            (4, "    at Object.<anonymous> (/app/x.js:1:2)"),
            (4, "    at Module._compile (node:internal/x:1:1)"),
            (4, "    at run (/app/y.js:10:5)"),
            (4, "    at f (node:events:1:2)"),
            (
                5,
                "You're seeing this error because you have <code>DEBUG = True</code>",
            ),
            (5, "Werkzeug Debugger"),
            (5, "Whitelabel Error Page"),
            (5, "ActionController::RoutingError"),
            (5, "Action Controller: Exception caught"),
            (5, "<title>Laravel</title> ... Whoops"),
            (5, "Xdebug"),
            (6, "You have an error in your SQL syntax"),
            (6, "java.sql.SQLSyntaxErrorException"),
            (6, "java.sql.SQLException"),
            (6, "ORA-00933"),
            (6, "PG::SyntaxError"),
            (6, "PG::Error"),
            (6, "psycopg2.errors"),
            (6, "SQLSTATE[42000]"),
            (6, "Unclosed quotation mark after the character string"),
            (6, "Microsoft OLE DB Provider for SQL Server"),
            (6, "SQLite::Exception"),
            (6, "SQLite3::SQLException"),
            (6, "sqlite3.OperationalError"),
            (6, "mysql_fetch_array()"),
            (6, "syntax error at or near"),
            (6, "Incorrect syntax near"),
            (6, "SQLException"),
            (7, "AKIAZ3MHQX7TLP4W2KDN"),
            (7, "ASIAIOSFODNN7EXAMPLE"),
            (8, "-----BEGIN PRIVATE KEY-----"),
            (8, "-----BEGIN OPENSSH PRIVATE KEY-----"),
            (9, "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            (9, "github_pat_abcdefghijklmnopqrstuvwxyz0123456789abcd"),
            (9, "xoxb-1234567890"),
            (9, "sk_live_abcdefghijklmnopqrst"),
            (9, "AIzaabcdefghijklmnopqrstuvwxyz012345678"),
            (9, "glpat-abcdefghijklmnopqrst"),
            (10, "<title>Index of /files"),
            (10, "<h1>Index of /x"),
            (10, "[To Parent Directory]"),
        ];
        for (i, text) in table {
            let re = BODY[*i].regex().expect("pattern compiles");
            assert!(re.is_match(text), "pattern {i} does not match {text:?}");
            assert_ne!(body_candidates(text.as_bytes()) & (1 << i), 0, "{text:?}");
        }
        // A branch-by-branch count: the table covers every pattern.
        for i in 0..BODY.len() {
            assert!(table.iter().any(|(j, _)| *j == i), "no example for {i}");
        }
        let benign = r#"{"id":1,"name":"widget","at":"2024-01-01T00:00:00Z","tags":["a"]}"#;
        assert_eq!(body_candidates(benign.as_bytes()), 0);
    }

    /// What [`body_candidates`] stands for: each check whose literal is
    /// in the body, found one literal at a time.
    fn candidates_oracle(body: &[u8]) -> u32 {
        let mut bits = 0;
        for (i, p) in BODY.iter().enumerate() {
            if p.lits
                .iter()
                .any(|l| memchr::memmem::find(body, l.as_bytes()).is_some())
            {
                bits |= 1 << i;
            }
        }
        bits
    }

    /// A body made of pieces of the literals (whole, cut short, in any
    /// case) and other bytes, so that literals occur whole, overlap,
    /// straddle each other and almost occur.
    fn literal_soup() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let lits: Vec<&'static str> = BODY.iter().flat_map(|p| p.lits.iter().copied()).collect();
        let piece = prop_oneof![
            4 => proptest::sample::select(lits.clone()).prop_map(|l| l.as_bytes().to_vec()),
            2 => (proptest::sample::select(lits.clone()), 0usize..40).prop_map(|(l, n)| {
                l.as_bytes().get(..n.min(l.len())).unwrap_or(b"").to_vec()
            }),
            1 => (proptest::sample::select(lits), 0usize..40).prop_map(|(l, n)| {
                l.as_bytes().get(n.min(l.len())..).unwrap_or(b"").to_ascii_lowercase()
            }),
            2 => proptest::collection::vec(any::<u8>(), 0..8),
            2 => proptest::sample::select(vec![&b"{\"id\":1,"[..], b"\":\"", b" ", b"\n", b"\xff", b"12.5"])
                .prop_map(|b| b.to_vec()),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        /// The fast search (packed searcher or automaton) and the
        /// overlapping walk find what a search for each literal finds.
        #[test]
        fn candidates_are_every_literal_found(body in literal_soup()) {
            let want = candidates_oracle(&body);
            proptest::prop_assert_eq!(body_candidates(&body), want);
            let any = any_automaton().expect("automaton builds");
            proptest::prop_assert_eq!(any.is_match(&body), want != 0);
        }
    }

    #[test]
    fn candidates_on_the_table_and_every_literal() {
        // The fast search in use is the packed one on this target.
        assert!(matches!(ANY_LIT.as_ref(), Some(AnyLit::Packed(_))));
        for p in &BODY {
            for l in p.lits {
                for body in [
                    l.to_string(),
                    format!("{{\"id\":12.5,\"x\":\"{l}\"}}"),
                    format!("{}{l}", "a".repeat(40)),
                    l.get(1..).unwrap_or("").to_string(),
                    l.get(..l.len() - 1).unwrap_or("").to_string(),
                ] {
                    assert_eq!(
                        body_candidates(body.as_bytes()),
                        candidates_oracle(body.as_bytes()),
                        "{body:?}"
                    );
                }
            }
        }
    }

    /// What [`binary_body`] compared before [`binary_type`]: every prefix
    /// in turn.
    fn binary_type_oracle(ctype: &str) -> bool {
        let ctype = ctype.trim();
        let starts = |p: &&str| {
            ctype
                .as_bytes()
                .get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p.as_bytes()))
        };
        ["image/", "audio/", "video/", "font/"].iter().any(starts)
            || [
                "application/octet-stream",
                "application/zip",
                "application/gzip",
                "application/pdf",
                "application/wasm",
                "application/x-protobuf",
                "application/grpc",
            ]
            .iter()
            .any(starts)
    }

    #[test]
    fn binary_type_is_every_prefix_compared() {
        for c in [
            "",
            "image/png",
            "IMAGE/PNG",
            "image",
            "audio/ogg",
            "Audio/",
            "video/mp4",
            "font/woff2",
            "Font/",
            "application/octet-stream",
            "APPLICATION/OCTET-STREAM; x=1",
            "application/octet-strea",
            "application/zip",
            "application/gzip",
            "application/pdf",
            "application/wasm",
            "application/x-protobuf",
            "application/grpc+proto",
            "application/json",
            "application/",
            "application",
            "text/html",
            " image/gif ",
            "\u{a0}image/gif",
            "applicationXzip",
            "application/zip\t",
            "image/png\u{a0}",
            "application/\u{2003}",
            "\u{2003}font/ttf\u{2003}",
        ] {
            // Only the start is trimmed (`binary_body`).
            assert_eq!(
                binary_type(c.trim_start().as_bytes()),
                binary_type_oracle(c),
                "{c:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn binary_type_agrees_on_random_types(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "image/", "AUDIO/", "video/", "Font/", "application/", "APPLICATION/",
                    "octet-stream", "zip", "gzip", "PDF", "wasm", "x-protobuf", "grpc",
                    "json", "a", "i", "/", " ", "\u{a0}", "é",
                ]),
                0..4,
            )
        ) {
            let c = parts.concat();
            proptest::prop_assert_eq!(
                binary_type(c.trim_start().as_bytes()),
                binary_type_oracle(&c)
            );
        }
    }

    /// A value the version gate turns away is one the regex reads nothing
    /// in; values with versions pass it.
    #[test]
    fn version_gate_passes_every_version() {
        for v in [
            "nginx",
            "Apache",
            "Microsoft-IIS",
            "cloudflare",
            "",
            "nginx/",
            "Apache/2.4.1",
            "nginx/1.18.0 (Ubuntu)",
            "PHP/\u{663}.\u{663}",
            "php/\u{663}.1",
            "Express v4.17",
        ] {
            let read = read_versions(v);
            assert!(may_have_version(v) || read.is_empty(), "{v:?}");
            let mut seen = None;
            with_versions(v, |f| seen = Some(f.to_vec()));
            assert_eq!(seen, Some(read), "{v:?}");
        }
        assert!(!read_versions("PHP/\u{663}.\u{663}").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn version_gate_agrees_on_random_values(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    "apache", "Nginx", "PHP", "microsoft-iis", "openssl", "express", "tomcat",
                    "jetty", "asp.net", "/", " ", "v", ".", "1", "24", "\u{663}", "\u{966}",
                    "x", "é", "(", ")",
                ]),
                0..8,
            )
        ) {
            let v = parts.concat();
            if !may_have_version(&v) {
                proptest::prop_assert!(read_versions(&v).is_empty(), "{:?}", v);
            }
        }
    }

    /// [`check`] as it was before its shortcuts, with none at all: every
    /// header looked up by name, every body regex, the card, address and
    /// e-mail regexes and the version regex run on every text (no
    /// literal, byte or digit test in front), the binary types compared
    /// one prefix at a time.
    fn check_oracle(tx: &Http, cfg: PassiveConfig, out: &mut Vec<Finding>) {
        let mut add = |class, severity, evidence: String, per_host| {
            if !out.iter().any(|f: &Finding| f.class == class) {
                out.push(Finding {
                    class,
                    severity,
                    evidence: Evidence::Text(evidence),
                    per_host,
                });
            }
        };
        if let Some(req) = &tx.request {
            if let Some(auth) = header(&req.headers, "authorization") {
                let scheme = |s: &str| {
                    auth.get(..s.len())
                        .is_some_and(|h| h.eq_ignore_ascii_case(s))
                };
                if scheme("basic ") {
                    add(
                        "auth.basic_cleartext",
                        "medium",
                        "Authorization: Basic over clear-text HTTP".into(),
                        true,
                    );
                }
                if let Some(tok) = auth.get(7..).filter(|_| scheme("bearer ")) {
                    if jwt_alg_none(tok) {
                        add(
                            "auth.jwt_alg_none",
                            "high",
                            "JWT with alg none in Authorization".into(),
                            false,
                        );
                    }
                }
            }
            let uri = req.uri.as_bytes();
            let q =
                memchr::memchr(b'?', uri).map_or(&[][..], |at| uri.get(at + 1..).unwrap_or(&[]));
            let jsession = memchr::memchr(b';', uri).is_some()
                && req.uri.to_ascii_lowercase().contains(";jsessionid=");
            // Byte splits: a query is short, and `str` splits set up a searcher each.
            if jsession
                || q.split(|&b| b == b'&').any(|kv| {
                    let k = kv.split(|&b| b == b'=').next().unwrap_or(&[]);
                    [
                        "jsessionid",
                        "phpsessid",
                        "sessionid",
                        "session_id",
                        "sid",
                        "aspsessionid",
                    ]
                    .iter()
                    .any(|s| k.eq_ignore_ascii_case(s.as_bytes()))
                })
            {
                add(
                    "session.id_in_url",
                    "low",
                    "session identifier in the URL".into(),
                    false,
                );
            }
        }
        let Some(resp) = &tx.response else { return };
        let body_raw = if binary_type_oracle(header(&resp.headers, "content-type").unwrap_or(""))
            || memchr::memchr(0, resp.body.get(..1024).unwrap_or(&resp.body)).is_some()
        {
            &[][..]
        } else {
            resp.body.get(..256 * 1024).unwrap_or(&resp.body)
        };
        // The body as text, made only when a regex is to run on it: every
        // prefilter below looks for ASCII bytes, which a lossy conversion keeps
        // as they are (it replaces only non-ASCII bytes), so they read the raw
        // bytes and most bodies are never converted (or UTF-8 checked) at all.
        let cell = OnceCell::new();
        let body = || lossy(&cell, body_raw);
        // The literal prefilter tells which body patterns can match at all
        // (most bodies: none); only those are compiled and run.
        for p in &BODY {
            let found = p.regex().and_then(|re| {
                re.find_iter(body())
                    .take(32)
                    .find(|m| !placeholder_secret(p.class, m.as_str()))
            });
            if let Some(m) = found {
                add(p.class, p.severity, excerpt(body(), m.start(), 120), false);
            }
        }
        // A card number has at least 13 digits (see [`CARD`]).
        if let Some(re) = CARD.as_ref() {
            let text = body();
            let card = re
                .find_iter(text)
                .take(32)
                .find(|m| card_number(m.as_str()) && !id_valued(text, m.start()));
            if let Some(m) = card {
                add(
                    "pii.card_number",
                    "high",
                    format!(
                        "card number ending {}",
                        &m.as_str()[m.as_str().len().saturating_sub(4)..]
                    ),
                    false,
                );
            }
        }
        let json_or_text = header(&resp.headers, "content-type").is_none_or(|c| {
            let c = c.as_bytes();
            has(c, b"json") || has(c, b"text/plain") || has(c, b"xml")
        });
        let email = Regex::new(EMAIL_RE).expect("e-mail regex");
        if json_or_text {
            if let Some(m) = email.find(body()).map(|m| m.as_str()) {
                add(
                    "pii.email",
                    "low",
                    format!("e-mail address in response: {m}"),
                    false,
                );
            }
        }
        if let Some(m) = INTERNAL_IP.as_ref().and_then(|re| {
            resp.headers
                .iter()
                .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
                .find_map(|(n, v)| re.find(v).map(|m| format!("{n}: {}", m.as_str())))
                .or_else(|| re.find(body()).map(|m| m.as_str().to_string()))
        }) {
            add(
                "info_leak.internal_ip",
                "low",
                format!("internal address disclosed: {m}"),
                false,
            );
        }
        for name in [
            "server",
            "x-powered-by",
            "x-aspnet-version",
            "x-aspnetmvc-version",
        ] {
            for (n, v) in resp
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                {
                    for (product, major, minor) in &read_versions(v) {
                        if end_of_life(product, *major, *minor) {
                            add("outdated_software", "medium", format!("{n}: {v}"), true);
                        } else if cfg.hygiene {
                            add("info_leak.version", "low", format!("{n}: {v}"), true);
                        }
                    }
                }
            }
        }
        for (n, v) in resp
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        {
            let name = v.split('=').next().unwrap_or("").trim();
            if !session_cookie_name(name) {
                continue;
            }
            let (secure, httponly, samesite) = cookie_attrs(v.as_bytes());
            let mut missing = vec![];
            if !secure {
                missing.push("Secure");
            }
            if !httponly {
                missing.push("HttpOnly");
            }
            if !samesite {
                missing.push("SameSite");
            }
            if !missing.is_empty() {
                add(
                    "cookie.insecure",
                    "medium",
                    format!("{n}: {name} without {}", missing.join(", ")),
                    false,
                );
            }
        }
        let acao = header(&resp.headers, "access-control-allow-origin");
        let creds = header(&resp.headers, "access-control-allow-credentials")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if let Some(o) = acao {
            let origin = tx
                .request
                .as_ref()
                .and_then(|r| header(&r.headers, "origin"));
            if creds
                && (o.trim() == "*" || o.trim() == "null" || origin.is_some_and(|r| r == o.trim()))
            {
                add(
                    "cors.credentials_any_origin",
                    "high",
                    format!("Access-Control-Allow-Origin: {o} with credentials"),
                    false,
                );
            }
        }
        if let Some(sc) = header(&resp.headers, "set-cookie").filter(|v| v.contains("eyJ")) {
            for part in sc.split(['=', ';']) {
                if jwt_alg_none(part.trim()) {
                    add(
                        "auth.jwt_alg_none",
                        "high",
                        "JWT with alg none in Set-Cookie".into(),
                        false,
                    );
                }
            }
        }
        if cfg.hygiene && resp.status < 400 {
            let html = header(&resp.headers, "content-type").is_some_and(|c| c.contains("html"));
            let mut missing = vec![];
            for (h, only_html) in [
                ("strict-transport-security", false),
                ("x-content-type-options", false),
                ("content-security-policy", true),
                ("x-frame-options", true),
            ] {
                if (!only_html || html) && header(&resp.headers, h).is_none() {
                    missing.push(h);
                }
            }
            if !missing.is_empty() {
                add(
                    "headers.missing_security",
                    "low",
                    format!("missing {}", missing.join(", ")),
                    true,
                );
            }
        }
    }

    /// A header name the checks look for (in a random ASCII case) or not.
    fn header_name() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        (
            proptest::sample::select(vec![
                "Content-Type",
                "Server",
                "X-Powered-By",
                "X-AspNet-Version",
                "X-AspNetMvc-Version",
                "Set-Cookie",
                "Access-Control-Allow-Origin",
                "Access-Control-Allow-Credentials",
                "Date",
                "Content-Length",
                "Connection",
                "Strict-Transport-Security",
                "X-Frame-Options",
                "X-Other",
            ]),
            any::<u64>(),
        )
            .prop_map(|(n, bits)| {
                n.chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if bits >> (i % 64) & 1 == 1 {
                            c.to_ascii_uppercase()
                        } else {
                            c.to_ascii_lowercase()
                        }
                    })
                    .collect()
            })
    }

    /// A header value from pieces the checks read.
    fn header_value() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        proptest::collection::vec(
            proptest::sample::select(vec![
                "application/json",
                "text/html",
                "image/png",
                "application/octet-stream",
                "text/plain",
                "nginx",
                "nginx/1.18.0",
                "Apache/2.2.15 (CentOS)",
                "PHP/5.6.40",
                "PHP/\u{663}.1",
                "sessionid=abc",
                "token=eyJhbGciOiJub25lIn0.e30.",
                "; Secure",
                "; HttpOnly",
                "; SameSite=Lax",
                "true",
                "*",
                "null",
                "http://a.example",
                "10.1.2.3",
                "192.168.0.9",
                "1.2.3.4",
                " ",
                "x",
                "\u{e9}",
            ]),
            0..4,
        )
        .prop_map(|v| v.concat())
    }

    /// A body from literals, cards, addresses, e-mail addresses and noise.
    fn body_soup() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            3 => literal_soup(),
            1 => proptest::sample::select(vec![
                &b"4111 1111 1111 1111"[..],
                b"4111111111111112",
                b"5500-0000-0000-0004",
                b"4222222222222",
                b"x4222222222222;",
                b"10.0.0.1",
                b"172.16.5.4",
                b"192.168.1.1",
                b"user@example.com",
                b"a@b.c",
                b"\x00",
                b"\nat com.x.Y.z(Y.java:12)\n",
                b" ",
                b"\xff",
            ])
            .prop_map(|b| b.to_vec()),
        ];
        proptest::collection::vec(piece, 0..6).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The check with its shortcuts (one walk for the named headers,
        /// the literal, byte, digit and version tests, the binary-type
        /// switch, lazily built searchers) finds what the check without
        /// any finds, in the same order with the same evidence.
        #[test]
        fn check_agrees_with_the_unshortened_check(
            req in proptest::collection::vec((header_name(), header_value()), 0..3),
            auth in proptest::sample::select(vec![
                None,
                Some("Basic dXNlcjpwYXNz"),
                Some("Bearer eyJhbGciOiJub25lIn0.e30."),
            ]),
            uri in proptest::sample::select(vec!["/x", "/x?sid=1", "/a;jsessionid=2", "/q?a=1&PHPSESSID=3"]),
            headers in proptest::collection::vec((header_name(), header_value()), 0..8),
            status in proptest::sample::select(vec![200u16, 302, 404, 500]),
            body in body_soup(),
            hygiene in proptest::prelude::any::<bool>(),
        ) {
            let mut req: Vec<(String, String)> = req;
            if let Some(a) = auth {
                req.push(("Authorization".into(), a.into()));
            }
            let mut t = tx(&[], status, &[], "");
            if let Some(r) = t.request.as_mut() {
                r.headers = req;
                r.uri = uri.into();
            }
            if let Some(r) = t.response.as_mut() {
                r.headers = headers;
                r.body = body;
            }
            let cfg = PassiveConfig { hygiene };
            let (mut now, mut want) = (vec![], vec![]);
            check(&t, cfg, &mut now);
            check_oracle(&t, cfg, &mut want);
            proptest::prop_assert_eq!(written(now, &t), written(want, &t));
        }
    }

    /// An ASCII letter before an invalid byte is not the character before
    /// the address (U+FFFD is): a boundary, so the address is found; the
    /// same letter right before it is no boundary.
    #[test]
    fn email_after_an_invalid_sequence() {
        for (body, found) in [
            (&b"A\x80user@example.com"[..], true),
            (b"A\xc3user@example.com", true),
            (b"\xe2\x82user@example.com", true),
            (b"A\xffuser@example.com ", true),
        ] {
            let mut t = tx(&[], 200, &[], "");
            if let Some(r) = t.response.as_mut() {
                r.body = body.to_vec();
            }
            let (mut now, mut want) = (vec![], vec![]);
            check(&t, PassiveConfig::default(), &mut now);
            check_oracle(&t, PassiveConfig::default(), &mut want);
            assert_eq!(written(now.clone(), &t), written(want, &t), "{body:?}");
            assert_eq!(
                now.iter().any(|f| f.class == "pii.email"),
                found,
                "{body:?}"
            );
        }
    }

    /// Findings as the `vuln` records write them (evidence as text).
    fn written(found: Vec<Finding>, tx: &Http) -> Vec<(&'static str, &'static str, String, bool)> {
        found
            .into_iter()
            .map(|f| (f.class, f.severity, f.evidence.text(tx), f.per_host))
            .collect()
    }

    /// The e-mail regex [`find_email`] stands for.
    const EMAIL_RE: &str = r"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,128}\.[A-Za-z]{2,24}\b";

    /// Asserts both find the same; whether they found one.
    fn email_agrees(re: &Regex, raw: &[u8]) -> bool {
        let text = String::from_utf8_lossy(raw);
        let found = find_email(raw);
        // The range is all ASCII whenever there is one (so `find_email`'s
        // UTF-8 check never fails and the lazy evidence never needs it).
        let at = find_email_at(raw);
        assert_eq!(at.is_some(), found.is_some(), "{text:?}");
        if let Some((start, end)) = at {
            assert!(
                raw.get(start..end).is_some_and(|m| m.is_ascii()),
                "{text:?}"
            );
        }
        assert_eq!(found, re.find(&text).map(|m| m.as_str()), "{text:?}");
        found.is_some()
    }

    /// The hand-written matcher finds what the regex finds, on ordinary
    /// addresses, every length limit either side, word boundaries next to
    /// non-ASCII and invalid bytes, and pseudo-random soup of the bytes
    /// the pattern reads.
    #[test]
    fn email_matches_the_regex() {
        let re = Regex::new(EMAIL_RE).expect("compiles");
        let long = |c: &str, n: usize| c.repeat(n);
        let table: Vec<Vec<u8>> = [
            "a@example.com".to_string(),
            "{\"email\":\"a.b+c@mail.example.co.uk\"}".into(),
            "no address here".into(),
            "@example.com".into(),
            "a@.com".into(),
            "a@b.c".into(),
            "a@b.cc".into(),
            "a@b.com1".into(),
            "a@b.com_".into(),
            "a@b.com-x".into(),
            "a@b.com.".into(),
            "a@b.c.de.f".into(),
            "a@b..cd".into(),
            "x.@y.zz".into(),
            ".x@y.zz".into(),
            "%%@y.zz".into(),
            "_a@y.zz".into(),
            "-a@y.zz".into(),
            "a@@b.cd a@b.cd".into(),
            "a@b@c.de".into(),
            "first@x.yy second@z.ww".into(),
            "bad@x second@z.ww".into(),
            format!("{}@x.yy", long("a", 63)),
            format!("{}@x.yy", long("a", 64)),
            format!("{}@x.yy", long("a", 65)),
            format!("{}@x.yy", long("a.", 40)),
            format!("{}@x.yy", long("%", 70)),
            format!("{}@x.yy", long("-", 70)),
            format!("a@{}.yy", long("b", 127)),
            format!("a@{}.yy", long("b", 128)),
            format!("a@{}.yy", long("b", 129)),
            format!("a@{}.yy", long("b.", 70)),
            format!("a@b.{}", long("c", 24)),
            format!("a@b.{}", long("c", 25)),
            format!("a@b.{}.dd", long("c", 25)),
            format!("a@b.{} x@y.zz", long("c", 30)),
            "é@x.yy".into(),
            "aé@x.yy".into(),
            "éa@x.yy".into(),
            "é.a@x.yy".into(),
            "a@x.yyé".into(),
            "a@x.yy\u{300}".into(),
            "\u{300}a@x.yy".into(),
            "a@x.yy\u{2003}".into(),
            "٣a@x.yy".into(),
            "a@x.yy٣".into(),
            "a@x.yy‿".into(),
        ]
        .into_iter()
        .map(String::into_bytes)
        .chain([
            b"\xffa@x.yy".to_vec(),
            b"a@x.yy\xff".to_vec(),
            b"\xc3a@x.yy".to_vec(),
            b"a@x.yy\xc3".to_vec(),
            b"\xc3\xa9\x80a@x.yy".to_vec(),
            b"\xe2\x82a@x.yy".to_vec(),
            b"a@x.yy\xe2\x82".to_vec(),
            b"\xf0\x9f\x98\x80a@x.yy".to_vec(),
            b"a@x.yy\xf0\x9f\x98".to_vec(),
            b"\x80\x80\x80\x80\x80a@x.yy".to_vec(),
        ])
        .collect();
        for raw in &table {
            email_agrees(&re, raw);
        }
        // Pseudo-random soup (xorshift, fixed seed) of the bytes that matter.
        let alphabet: &[&[u8]] = &[
            b"a",
            b"Z",
            b"q",
            b"0",
            b"7",
            b".",
            b".",
            b"-",
            b"_",
            b"%",
            b"+",
            b"@",
            b"@",
            b" ",
            b"\xc3\xa9",
            b"\xcc\x80",
            b"\xff",
            b"\xc3",
            b"\xd9\xa3",
            b"\x80",
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut hits = 0;
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let mut raw = vec![];
            for _ in 0..len {
                let r = next() as usize;
                // Letters in runs, so top-level labels of every length occur.
                let piece = alphabet[r % alphabet.len()];
                let reps = if r.is_multiple_of(7) {
                    1 + (r >> 8) % 30
                } else {
                    1
                };
                for _ in 0..reps {
                    raw.extend_from_slice(piece);
                }
            }
            hits += usize::from(email_agrees(&re, &raw));
        }
        // The soup holds addresses too, not only misses.
        assert!(hits > 0, "{hits}");
    }

    /// The two byte gates in front of the card and internal-address
    /// regexes pass every text the regexes match (table and random soups
    /// of the bytes the patterns read), and turn away common look-alikes.
    #[test]
    fn byte_gates_pass_every_match() {
        let (Some(card), Some(ip)) = (CARD.as_ref(), INTERNAL_IP.as_ref()) else {
            panic!("regexes build");
        };
        let mut table: Vec<Vec<u8>> = [
            &b""[..],
            b"10.1.2.3",
            b"x10.1.2.3x",
            b"10.1.2",
            b"10.1234.2.3",
            b"172.16.0.1",
            b"172.15.0.1",
            b"192.168.1.1",
            b"192.168.1",
            b"1192.168.0.1",
            b"\xff10.0.0.1\xff",
            b"4111 1111 1111 1111",
            b"4111-1111-1111-1111",
            b"4111111111111111",
            b"4111 1111 1111 11x",
            b"\xff4111111111111111\xff",
        ]
        .iter()
        .map(|b| b.to_vec())
        .collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..40_000 {
            let mut raw = vec![];
            for _ in 0..(x % 40) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let soup: [&[u8]; 14] = [
                    b"10.",
                    b"172.",
                    b"16.",
                    b"192.168.",
                    b"1",
                    b"23",
                    b"456",
                    b"7890",
                    b".",
                    b" ",
                    b"-",
                    b"4111",
                    b"\xff",
                    b"x",
                ];
                raw.extend_from_slice(soup[(x % soup.len() as u64) as usize]);
            }
            // The same soup around real matches: neighbours decide `\b`.
            let mid = raw.len() / 2;
            for m in [&b"10.1.2.3"[..], b"192.168.7.77", b"4111 1111 1111 1111"] {
                let mut with = raw.clone();
                with.splice(mid..mid, m.iter().copied());
                table.push(with);
            }
            table.push(raw);
        }
        let mut matched = (0, 0);
        let mut short = 0;
        for raw in &table {
            let text = String::from_utf8_lossy(raw);
            if card.is_match(&text) {
                matched.0 += 1;
                assert!(maybe_card(raw), "{raw:?}");
            }
            if ip.is_match(&text) {
                matched.1 += 1;
                assert!(maybe_internal(raw), "{raw:?}");
            }
            // The byte walk of short values and the `memchr` walk agree,
            // on the value and on it behind blanks (long enough for the
            // `memchr` walk).
            let long = [&[b' '; SHORT][..], raw].concat();
            for v in [&raw[..], &long] {
                let by_memchr = memchr::memchr_iter(b'.', v).any(|dot| internal_at(v, dot));
                assert_eq!(maybe_internal(v), by_memchr, "{v:?}");
                short += usize::from(v.len() <= SHORT);
            }
        }
        assert!(matched.0 > 1000 && matched.1 > 1000, "{matched:?}");
        // Both walks ran on many values.
        assert!(short > 1000 && 2 * table.len() - short > 1000, "{short}");
        for miss in [
            &br#"{"price":10.5,"n":172.25}"#[..],
            b"1,2,3,4,5,6,7,8,9,10,11,12,13,14",
            b"2026-11-22T10:11:12.123Z",
            b"v10.2",
        ] {
            assert!(!maybe_card(miss) && !maybe_internal(miss), "{miss:?}");
        }
    }

    /// Payment providers' published test numbers and documented example
    /// keys in a response (docs, sandboxes, SDK sources) are no leak; a
    /// real-looking number or key beside them still is.
    #[test]
    fn test_cards_and_example_keys_are_no_leak() {
        for body in [
            "{\"card\":\"4111 1111 1111 1111\"}",
            "try 4242 4242 4242 4242 or 5555555555554444 or 378282246310005",
            "declined: 4000000000000002",
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "STRIPE_KEY=sk_live_000000000000000000000000",
        ] {
            let t = tx(&[], 200, &[("Content-Type", "text/plain")], body);
            let c = classes(&t, false);
            assert!(
                !c.iter()
                    .any(|c| c.starts_with("secret.") || *c == "pii.card_number"),
                "{body:?}: {c:?}"
            );
        }
        // Ids named so in JSON are no card numbers, wherever they sit.
        for body in [
            "{\"id\": 4539578763621486}",
            "{\"order\": {\"order_id\":4539578763621486, \"x\": 1}}",
            "{\"ids\": [1, 4539578763621486, 4916338506082832]}",
            "{\"productId\": 6011514433546201}",
        ] {
            let t = tx(&[], 200, &[("Content-Type", "application/json")], body);
            assert!(!classes(&t, false).contains(&"pii.card_number"), "{body:?}");
        }
        for (body, want) in [
            ("{\"card\": 4539578763621486}", "pii.card_number"),
            (
                "{\"ids\": [\"a\"], \"pan\": \"4539578763621486\"}",
                "pii.card_number",
            ),
            ("{\"pan\": [\"x 4539578763621486\"]}", "pii.card_number"),
            (
                "4111 1111 1111 1111 and 4539 5787 6362 1486",
                "pii.card_number",
            ),
            (
                "AKIAIOSFODNN7EXAMPLE then AKIAZ3MHQX7TLP4W2KDN",
                "secret.aws_key",
            ),
            ("ghp_aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4", "secret.token"),
        ] {
            let t = tx(&[], 200, &[("Content-Type", "text/plain")], body);
            assert!(classes(&t, false).contains(&want), "{body:?}");
        }
    }

    /// A card-like run ending in non-ASCII digits: not a card number
    /// (only ASCII digits are), and no panic cutting its evidence.
    #[test]
    fn card_numbers_are_ascii_digits() {
        for (body, found) in [
            ("4539 5787 6362 1486", true),
            ("4111 1111 1111 9\u{966}\u{663}", false),
            ("4111 1111 1111 9", true),
            ("4539 5787 6362 1486\u{966}", false),
        ] {
            let t = tx(&[], 200, &[], body);
            assert_eq!(
                classes(&t, false).contains(&"pii.card_number"),
                found,
                "{body:?}"
            );
        }
    }

    #[test]
    fn findings() {
        let table: &[(Http, &str)] = &[
            (
                tx(
                    &[],
                    500,
                    &[],
                    "java.lang.NullPointerException\n\tat com.example.App.run(App.java:42)\n",
                ),
                "info_leak.stack_trace",
            ),
            (
                tx(
                    &[],
                    500,
                    &[],
                    "Traceback (most recent call last):\n  File \"x.py\"",
                ),
                "info_leak.stack_trace",
            ),
            (
                tx(
                    &[],
                    500,
                    &[],
                    "You have an error in your SQL syntax; check the manual",
                ),
                "info_leak.sql_error",
            ),
            (
                tx(&[], 200, &[], "key=AKIAZ3MHQX7TLP4W2KDN"),
                "secret.aws_key",
            ),
            (
                tx(&[], 200, &[], "-----BEGIN RSA PRIVATE KEY-----\nMII"),
                "secret.private_key",
            ),
            (
                tx(&[], 200, &[], "{\"card\":\"4539 5787 6362 1486\"}"),
                "pii.card_number",
            ),
            (
                tx(
                    &[],
                    200,
                    &[("Content-Type", "application/json")],
                    "{\"email\":\"a@example.com\"}",
                ),
                "pii.email",
            ),
            (
                tx(
                    &[],
                    200,
                    &[("Server", "Apache/2.2.8 (Ubuntu) PHP/5.2.4")],
                    "",
                ),
                "outdated_software",
            ),
            (
                tx(&[], 200, &[("Set-Cookie", "SESSIONID=abc; Path=/")], ""),
                "cookie.insecure",
            ),
            (
                tx(
                    &[("Origin", "https://evil")],
                    200,
                    &[
                        ("Access-Control-Allow-Origin", "https://evil"),
                        ("Access-Control-Allow-Credentials", "true"),
                    ],
                    "",
                ),
                "cors.credentials_any_origin",
            ),
            (
                tx(
                    &[],
                    200,
                    &[("Content-Type", "text/html")],
                    "<title>Index of /files</title>",
                ),
                "info_leak.directory_listing",
            ),
            (
                tx(&[], 302, &[("Location", "http://10.2.3.4/x")], ""),
                "info_leak.internal_ip",
            ),
            (
                tx(
                    &[("Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")],
                    200,
                    &[],
                    "",
                ),
                "auth.basic_cleartext",
            ),
            (
                tx(
                    &[(
                        "Authorization",
                        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
                    )],
                    200,
                    &[],
                    "",
                ),
                "auth.jwt_alg_none",
            ),
        ];
        for (t, want) in table {
            assert!(
                classes(t, false).contains(want),
                "{want}: {:?}",
                classes(t, false)
            );
        }
    }

    #[test]
    fn quiet_on_healthy_responses() {
        let t = tx(
            &[(
                "Authorization",
                "Bearer eyJhbGciOiJIUzI1NiJ9.c2FtcGxl.002002",
            )],
            200,
            &[
                ("Server", "nginx/1.24.0"),
                ("Content-Type", "application/json"),
            ],
            "{\"id\":1,\"price\":10.99,\"order\":4111111111111112}",
        );
        assert_eq!(classes(&t, false), Vec::<&str>::new());
        assert!(classes(&t, true).contains(&"info_leak.version"));
        assert!(luhn("4111 1111 1111 1111"));
        assert!(!luhn("4111 1111 1111 1112"));
    }
}
