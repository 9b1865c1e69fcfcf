//! Session fixation: a request that plants a session id the attacker
//! chose (OWASP CRS 943).
//!
//! Two shapes are reported:
//! - a link that carries a framework's session id in its query string
//!   (`?PHPSESSID=...`, `?connect.sid=...`) and did not come from a page
//!   of the same site: no `Referer`, or one naming another host. An
//!   application that accepts ids from the URL then adopts the attacker's
//!   session. Only the names frameworks give their own session (the list
//!   below) are read: generic names such as `session_id` or `sid` are
//!   what analytics beacons and chat APIs send every day. Ids a site puts
//!   in its own links (`;jsessionid=` URL rewriting, a same-site
//!   `Referer`) are not attacks; the passive check reports them as a
//!   weakness (`session.id_in_url`).
//! - a URL value that sets a cookie from script or markup:
//!   `.cookie=...; expires=` / `domain=` (CRS 943100) or
//!   `http-equiv=set-cookie`.

use super::gate::find_ignore_case;
use super::points::{header, Point};
use crate::record::HttpRequest;

/// Session cookie names of web frameworks, lower case.
const SESSION_NAMES: &[&str] = &[
    "jsessionid",
    "phpsessid",
    "phpsession",
    "asp.net_sessionid",
    "aspsessionid",
    "laravel_session",
    "connect.sid",
    "_flask_session",
    "next-auth.session-token",
    "__secure-next-auth.session-token",
    "__host-next-auth.session-token",
    "meteor_login_token",
    "rack.session",
    "play_session",
    "sails.sid",
    "cakephp",
    "ci_session",
    "koa.sess",
    "koa:sess",
    "cfid",
    "cftoken",
    "cfsid",
    "zend_session_id",
    "shiny-token",
    "weblogicsession",
    "jservsession",
    "jwsession",
    "_session_id",
    "_rails_session",
];

/// The lengths of the session names, by first byte in ASCII lower case:
/// bit `n` of entry `b` is set when a name of [`SESSION_NAMES`] starting
/// with `b` is `n` bytes long, or (ASP's, `aspsessionid` and up to 16
/// letters) when `b` is `a` and `n` is 12 to 28.
const SESSION_HEADS: [u64; 128] = {
    let mut heads = [0u64; 128];
    let mut i = 0;
    while i < SESSION_NAMES.len() {
        let name = SESSION_NAMES[i].as_bytes();
        heads[name[0] as usize & 127] |= 1 << name.len();
        i += 1;
    }
    let mut n = 12;
    while n <= 28 {
        heads[b'a' as usize] |= 1 << n;
        n += 1;
    }
    heads
};

/// Whether `name` is a framework's session cookie name (ASP's carries a
/// suffix: `ASPSESSIONIDQQGGQGPC`). Most names are ruled out by their
/// first byte and length ([`SESSION_HEADS`]) before the list is walked.
fn session_name(name: &str) -> bool {
    let head = name.as_bytes().first().map_or(0, u8::to_ascii_lowercase);
    let lens = SESSION_HEADS.get(usize::from(head)).copied().unwrap_or(0);
    if name.len() >= 64 || lens >> name.len() & 1 == 0 {
        return false;
    }
    session_name_walk(name)
}

/// [`session_name`] without its gate.
fn session_name_walk(name: &str) -> bool {
    SESSION_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
        || name
            .get(..12)
            .is_some_and(|h| h.eq_ignore_ascii_case("aspsessionid"))
            && name
                .get(12..)
                .is_some_and(|s| s.len() <= 16 && s.bytes().all(|c| c.is_ascii_alphabetic()))
}

/// The host part of an authority or URL (`https://a.b:8443/x` -> `a.b`),
/// lower case; IPv6 literals keep their brackets.
fn host_of(s: &str) -> String {
    let s = s.trim();
    let s = match s.split_once("://") {
        Some((_, rest)) => rest,
        None => s.strip_prefix("//").unwrap_or(s),
    };
    let auth = s.split(['/', '?', '#']).next().unwrap_or("");
    let auth = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    let host = if auth.starts_with('[') {
        auth.split_inclusive(']').next().unwrap_or(auth)
    } else {
        auth.split(':').next().unwrap_or(auth)
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A session id planted through a link: the query parameter and the rule,
/// when the request names a framework session in its query and came from
/// no page of its own site.
pub fn fixation_link<'p, 'a>(
    req: &HttpRequest,
    points: &'p [Point<'a>],
) -> Option<(&'p Point<'a>, &'static str)> {
    let p = points
        .iter()
        .find(|p| p.name.strip_prefix("query.").is_some_and(session_name))?;
    match header(&req.headers, "referer") {
        None => Some((p, "session.fixation_link")),
        Some(r) => {
            let own = host_of(header(&req.headers, "host").unwrap_or(""));
            let from = host_of(r);
            (from != own || own.is_empty()).then_some((p, "session.fixation_offsite"))
        }
    }
}

/// A cookie set from a URL value: `document.cookie="id=1; domain=..."`
/// or `<meta http-equiv="Set-Cookie" ...>`.
pub fn cookie_set(v: &str) -> bool {
    // Both shapes need 7 bytes or more (`.cookie`, `http-equiv`) and a `.`
    // or a `-`, bytes with no other case: most values fail one. (A byte
    // loop: `memchr2` costs more than it on the short values most are.)
    let b = v.as_bytes();
    if b.len() < 7 {
        return false;
    }
    let marked = if b.len() <= 64 {
        b.iter().any(|&c| c == b'.' || c == b'-')
    } else {
        memchr::memchr2(b'.', b'-', b).is_some()
    };
    marked && cookie_set_walk(v)
}

/// [`cookie_set`] without its gate.
fn cookie_set_walk(v: &str) -> bool {
    let b = v.as_bytes();
    if let Some(at) = find_ignore_case(b, b".cookie") {
        let rest = b.get(at + 7..).unwrap_or(&[]);
        // An attribute after a `;` of the cookie string.
        let attr = rest.split(|&c| c == b';').skip(1).take(8).any(|a| {
            let a = a.trim_ascii_start();
            let a = a
                .iter()
                .position(u8::is_ascii_alphanumeric)
                .and_then(|i| a.get(i..))
                .unwrap_or(&[]);
            [&b"expires"[..], b"domain"].iter().any(|w| {
                a.get(..w.len()).is_some_and(|h| h.eq_ignore_ascii_case(w))
                    && a.get(w.len()..)
                        .unwrap_or(&[])
                        .iter()
                        .find(|c| c.is_ascii_alphanumeric() || **c == b'=')
                        == Some(&b'=')
            })
        });
        if attr {
            return true;
        }
    }
    find_ignore_case(b, b"http-equiv").is_some_and(|at| {
        let rest = b.get(at + 10..).unwrap_or(&[]);
        let word = rest
            .iter()
            .position(u8::is_ascii_alphanumeric)
            .and_then(|i| rest.get(i..i + 10))
            .unwrap_or(&[]);
        word.eq_ignore_ascii_case(b"set-cookie")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::points;

    /// Random strings over an alphabet of the pieces both functions read.
    fn mutations(pieces: &[&str], n: usize) -> Vec<String> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|_| {
                let mut s = String::new();
                for _ in 0..next() % 5 {
                    let piece = pieces[(next() % pieces.len() as u64) as usize];
                    match next() % 3 {
                        0 => s.push_str(&piece.to_ascii_uppercase()),
                        1 if !piece.is_empty() => {
                            // A piece with one byte dropped or changed.
                            let at = (next() % piece.len() as u64) as usize;
                            let mut b: Vec<char> = piece.chars().collect();
                            if at < b.len() {
                                if next() % 2 == 0 {
                                    b.remove(at);
                                } else {
                                    b[at] = ['x', 'A', '_', '.', 'é'][(next() % 5) as usize];
                                }
                            }
                            s.extend(b);
                        }
                        _ => s.push_str(piece),
                    }
                }
                s
            })
            .collect()
    }

    /// The first-byte and length gate of `session_name` passes every name
    /// the walk accepts: every listed name in two spellings, ASP names of
    /// every suffix length, and random names built from the list's pieces.
    #[test]
    fn session_name_gate_keeps_every_name() {
        let mut names: Vec<String> = vec![];
        for n in SESSION_NAMES {
            names.extend([n.to_string(), n.to_ascii_uppercase(), format!("{n}x")]);
        }
        for k in 0..=20 {
            names.push(format!("ASPSESSIONID{}", "Q".repeat(k)));
            names.push(format!("aspsessionid{}", "q".repeat(k)));
        }
        let mut pieces: Vec<&str> = SESSION_NAMES.to_vec();
        pieces.extend(["", "aspsessionid", "QQGG", "é", "_", "x", "1", "page"]);
        names.extend(mutations(&pieces, 50_000));
        let mut found = 0;
        for n in &names {
            let want = session_name_walk(n);
            found += usize::from(want);
            assert_eq!(session_name(n), want, "{n:?}");
        }
        assert!(found > 1000, "{found}");
    }

    /// `cookie_set`'s gate passes every value the walk accepts, on the
    /// module's own examples and random values from their pieces.
    #[test]
    fn cookie_set_gate_keeps_every_value() {
        let pieces = [
            "document",
            ".cookie",
            "=",
            "\"",
            "id=1",
            ";",
            " ",
            "expires",
            "domain",
            "path=/",
            "http-equiv",
            "set-cookie",
            "<meta ",
            "content=",
            "x",
            "-",
            ".",
            "Set-Cookie",
            "%3B",
            "é",
            // Past the byte loop's 64 bytes, with and without the marks.
            "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopq",
            "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmno.q",
        ];
        let mut found = 0;
        for v in mutations(&pieces, 100_000) {
            let want = cookie_set_walk(&v);
            found += usize::from(want);
            assert_eq!(cookie_set(&v), want, "{v:?}");
        }
        assert!(found > 100, "{found}");
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: "GET".into(),
            uri: uri.into(),
            version: "HTTP/1.1".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body_len: 0,
            body: vec![],
            truncated: false,
            trailers: vec![],
        }
    }

    fn link(uri: &str, headers: &[(&str, &str)]) -> Option<&'static str> {
        let req = request(uri, headers);
        let pts = points::decompose(&req);
        fixation_link(&req, &pts.list).map(|(_, rule)| rule)
    }

    #[test]
    fn framework_session_ids_in_links_from_elsewhere() {
        let host = ("Host", "shop.example.com");
        for (uri, referer, rule) in [
            (
                "/login.php?jsessionid=74B0CB414BD77D17",
                None,
                "session.fixation_link",
            ),
            (
                "/get?PHPSESSid=abc123",
                Some("https://attacker.net/"),
                "session.fixation_offsite",
            ),
            (
                "/a?connect.sid=s%3Aj8jK9",
                Some("http://phish.example/x"),
                "session.fixation_offsite",
            ),
            (
                "/a?ASPSESSIONIDQQGGQGPC=GKFPM",
                None,
                "session.fixation_link",
            ),
            (
                "/a?x=1&cfid=12345&cftoken=1",
                Some("https://shop.example.com.evil.io/"),
                "session.fixation_offsite",
            ),
            (
                "/a?koa:sess=eyJ1",
                Some("//evil.org/"),
                "session.fixation_offsite",
            ),
        ] {
            let mut h = vec![host];
            if let Some(r) = referer {
                h.push(("Referer", r));
            }
            assert_eq!(link(uri, &h), Some(rule), "{uri} {referer:?}");
        }
    }

    #[test]
    fn own_links_and_generic_names_are_not_fixation() {
        for (uri, headers) in [
            // The site's own links carry its ids (URL rewriting).
            (
                "/cart?jsessionid=74B0",
                vec![
                    ("Host", "shop.example.com"),
                    ("Referer", "https://shop.example.com/list"),
                ],
            ),
            (
                "/cart?PHPSESSID=ab",
                vec![
                    ("Host", "Shop.Example.com:8443"),
                    ("Referer", "http://shop.example.com:8443/"),
                ],
            ),
            // Generic names: analytics beacons and chat APIs.
            (
                "/collect?session_id=abc&sid=2",
                vec![("Host", "t.example.net")],
            ),
            ("/api/chat?sessionid=abc", vec![("Host", "a.example")]),
            ("/watch?session=42", vec![("Host", "a.example")]),
            // Path parameters are the passive check's.
            ("/app;jsessionid=74B0?x=1", vec![("Host", "a.example")]),
            // A value that names a session cookie is not its name.
            ("/help?q=phpsessid", vec![("Host", "a.example")]),
        ] {
            assert_eq!(link(uri, &headers), None, "{uri} {headers:?}");
        }
    }

    #[test]
    fn cookies_set_from_script_or_markup() {
        for a in [
            ".cookie;expires=",
            "document.cookie=\"sessionid=1234; domain=.example.dom\"",
            "document.cookie = 'id=1;  Expires = Thu, 01 Jan 2099'",
            "<meta http-equiv=\"Set-Cookie\" content=\"id=1\">",
            "<META HTTP-EQUIV=set-cookie CONTENT=a>",
        ] {
            assert!(cookie_set(a), "{a:?}");
        }
        for b in [
            "how do I read document.cookie in React?",
            "cookie; expires soon, buy now",
            "fortune.cookie; domain knowledge",
            "<meta http-equiv=\"refresh\" content=\"5\">",
            "my cookie recipe; expires=never",
            "a.cookie; expiresx=1",
        ] {
            assert!(!cookie_set(b), "{b:?}");
        }
    }

    #[test]
    fn cookie_set_is_linear_on_hostile_values() {
        for v in [
            "a.cookie;".repeat(50_000),
            ".cookie".to_string() + &";".repeat(100_000),
            "http-equiv".repeat(50_000),
        ] {
            let start = std::time::Instant::now();
            let _ = cookie_set(&v);
            assert!(start.elapsed().as_secs() < 2);
        }
    }

    #[test]
    fn hosts_of_referers() {
        for (s, want) in [
            ("https://A.b:8443/x?y", "a.b"),
            ("http://user:pw@a.b/", "a.b"),
            ("//a.b./", "a.b"),
            ("a.b:80", "a.b"),
            ("http://[::1]:8080/", "[::1]"),
            ("", ""),
        ] {
            assert_eq!(host_of(s), want, "{s:?}");
        }
    }
}
