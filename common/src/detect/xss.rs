//! Cross-site scripting: an HTML tag and attribute scanner plus URI and
//! JavaScript-context checks.
//!
//! Markup is judged by what a browser would run: a `<script>` element, an
//! event-handler attribute on any tag, a `javascript:`/`vbscript:`/`data:`
//! URI in a URL attribute, frames and objects that load content, CSS
//! expressions; outside markup, a value that is itself a script URI or that
//! breaks out of an attribute or a JS string into a sink. Plain formatting
//! (`<b>bold</b>`, `<a href="https://...">`, `a < b`) is not flagged.

use super::sqli::Found;

const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "xlink:href",
    "background",
    "poster",
    "code",
    "codebase",
    "dynsrc",
    "lowsrc",
    "srcdoc",
    "to",
    "values",
    "from",
    "by",
];

const LOADING_TAGS: &[&str] = &[
    "iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal", "import",
];

const SINKS: &[&str] = &[
    "alert",
    "prompt",
    "confirm",
    "eval",
    "settimeout",
    "setinterval",
    "function",
    "fetch",
    "document.write",
    "document.cookie",
    "document.domain",
    "document.location",
    "window.location",
    "location.href",
    "string.fromcharcode",
    "atob",
    "import",
    "constructor",
    "top[",
    "self[",
    "window[",
    "this[",
    "parent[",
    "print",
];

/// Lower-cased `s` with control characters and whitespace removed, as
/// browsers ignore them inside a URI scheme (`java\tscript:`).
fn squeeze(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn script_uri(v: &str) -> Option<Found> {
    let v = squeeze(v.trim_start_matches(['"', '\'', ' ', '`']));
    if v.starts_with("javascript:") || v.starts_with("vbscript:") || v.starts_with("livescript:") {
        return Some(("xss.script_uri", 0.9));
    }
    if v.starts_with("data:text/html")
        || v.starts_with("data:image/svg")
        || v.starts_with("data:application/x")
    {
        return Some(("xss.data_uri", 0.8));
    }
    None
}

/// A JS sink named at the start of `s` (after blanks), with a call or access after it.
fn sink_at(s: &str) -> bool {
    let t = s.trim_start_matches([' ', '\t', '\n', '(', '[', '+', '-', '!', '~']);
    let lower: String = t.chars().take(24).collect::<String>().to_ascii_lowercase();
    SINKS.iter().any(|k| {
        lower.starts_with(k)
            && lower.get(k.len()..).is_some_and(|r| {
                r.is_empty() || r.starts_with(['(', '`', '.', '[', ' ', '=']) || k.ends_with('[')
            })
    })
}

fn best(a: Option<Found>, b: Option<Found>) -> Option<Found> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.1 > x.1 { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Scans the tags of `s`.
fn tags(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    let mut found = None;
    let mut i = 0;
    let mut seen = 0;
    while let Some(p) = b.get(i..).and_then(|r| memchr::memchr(b'<', r)) {
        let lt = i + p;
        i = lt + 1;
        seen += 1;
        if seen > 256 {
            break;
        }
        let mut j = lt + 1;
        let closing = b.get(j) == Some(&b'/');
        if closing {
            j += 1;
        }
        let name_start = j;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b':' | b'-' | b'_')) {
            j += 1;
        }
        if j == name_start || !b[name_start].is_ascii_alphabetic() {
            continue;
        }
        let name = s.get(name_start..j).unwrap_or("").to_ascii_lowercase();
        if closing {
            if name == "script" || name == "title" || name == "textarea" || name == "style" {
                // `</script>` or `</title>` breaking out of a raw-text element.
                found = best(found, Some(("xss.close_rawtext", 0.6)));
            }
            continue;
        }
        // A tag name must be followed by blank, `/`, `>` or end.
        if !matches!(
            b.get(j),
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>')
        ) {
            continue;
        }
        match name.as_str() {
            "script" => found = best(found, Some(("xss.script_tag", 0.95))),
            n if LOADING_TAGS.contains(&n) => found = best(found, Some(("xss.loading_tag", 0.75))),
            "meta"
                if s.get(j..)
                    .is_some_and(|r| r.to_ascii_lowercase().contains("http-equiv")) =>
            {
                found = best(found, Some(("xss.meta_refresh", 0.7)));
            }
            _ => {}
        }
        // Attributes up to `>` (or the end: a payload need not be closed).
        let end = b
            .get(j..)
            .and_then(|r| memchr::memchr(b'>', r))
            .map_or(b.len(), |e| j + e);
        found = best(found, attributes(s.get(j..end).unwrap_or(""), &name));
        i = end.max(i);
        if found.is_some_and(|f| f.1 >= 0.95) {
            break;
        }
    }
    found
}

/// Judges the attributes text of one tag.
fn attributes(a: &str, tag: &str) -> Option<Found> {
    let b = a.as_bytes();
    let mut found = None;
    let mut i = 0;
    let mut n = 0;
    while i < b.len() && n < 64 {
        n += 1;
        while i < b.len() && (b[i].is_ascii_whitespace() || matches!(b[i], b'/' | b'"' | b'\'')) {
            i += 1;
        }
        let ns = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'/' | b'>') {
            i += 1;
        }
        let name = a.get(ns..i).unwrap_or("").to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let vs = i;
            match b.get(i) {
                Some(&q @ (b'"' | b'\'' | b'`')) => {
                    let close = b
                        .get(i + 1..)
                        .and_then(|r| memchr::memchr(q, r))
                        .map_or(b.len(), |e| i + 1 + e);
                    value = a.get(vs + 1..close).unwrap_or("");
                    i = close + 1;
                }
                _ => {
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = a.get(vs..i).unwrap_or("");
                }
            }
        }
        if name.is_empty() {
            i += 1;
            continue;
        }
        let f = if name.len() > 4
            && name.starts_with("on")
            && name.bytes().skip(2).all(|c| c.is_ascii_alphabetic())
        {
            Some(("xss.event_handler", 0.95))
        } else if URL_ATTRS.contains(&name.as_str()) {
            script_uri(value).or_else(|| {
                (name == "srcdoc" || (LOADING_TAGS.contains(&tag) && !value.is_empty()))
                    .then_some(("xss.loading_tag", 0.8))
            })
        } else if name == "style" {
            let v = squeeze(value);
            (v.contains("expression(")
                || v.contains("javascript:")
                || v.contains("-moz-binding")
                || v.contains("behavior:"))
            .then_some(("xss.css_expression", 0.8))
        } else {
            None
        };
        found = best(found, f);
    }
    found
}

/// Judges a decoded value.
pub fn detect(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    let has = |c: u8| memchr::memchr(c, b).is_some();
    let (lt, colon, eq, paren, tick) = (has(b'<'), has(b':'), has(b'='), has(b'('), has(b'`'));
    if !(lt || colon || eq || paren || tick) {
        return None;
    }
    let mut found = None;
    if lt {
        found = tags(s);
    }
    if colon {
        found = best(found, script_uri(s));
        // `javascript:` anywhere followed by a call.
        let lower = s.to_ascii_lowercase();
        if let Some(at) = lower
            .find("javascript:")
            .or_else(|| lower.find("vbscript:"))
        {
            let rest = lower.get(at..).unwrap_or("");
            if rest.contains('(') || rest.contains('`') {
                found = best(found, Some(("xss.script_uri", 0.8)));
            }
        }
    }
    if eq {
        // Breaking out of an attribute: `" onmouseover=alert(1)`.
        for (at, _) in s.match_indices(['"', '\'']).take(32) {
            let rest = s.get(at + 1..).unwrap_or("");
            let t = rest.trim_start_matches([' ', '\t', '\n', '\r', '/', '\x0c']);
            let name_len = t.bytes().take_while(|c| c.is_ascii_alphabetic()).count();
            let name = t.get(..name_len).unwrap_or("").to_ascii_lowercase();
            let after = t.get(name_len..).unwrap_or("").trim_start();
            if name_len > 4 && name.starts_with("on") && after.starts_with('=') {
                found = best(found, Some(("xss.attr_breakout", 0.9)));
            }
            if (name == "style" || URL_ATTRS.contains(&name.as_str())) && after.starts_with('=') {
                let v = after.get(1..).unwrap_or("");
                found = best(found, script_uri(v).map(|_| ("xss.attr_breakout", 0.85)));
            }
        }
    }
    if paren || tick {
        // Breaking out of a JS string into a sink: `';alert(1)//`, `"-alert(1)-"`.
        for (at, _) in s.match_indices(['"', '\'']).take(32) {
            let rest = s.get(at + 1..).unwrap_or("");
            let t = rest.trim_start_matches([' ', ')', ']', '}']);
            if let Some(t) = t.strip_prefix([';', '+', '-', '*', '/', '|', '&', ',', '^']) {
                let t = t.trim_start_matches(['|', '&', ' ']);
                if sink_at(t) {
                    found = best(found, Some(("xss.js_breakout", 0.85)));
                }
            }
        }
        // A sink called with a typical proof argument.
        let lower = s.to_ascii_lowercase();
        for k in ["alert", "prompt", "confirm"] {
            for (at, _) in lower.match_indices(k).take(8) {
                let prev = at
                    .checked_sub(1)
                    .and_then(|p| lower.as_bytes().get(p).copied());
                if prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
                    continue;
                }
                let rest = lower.get(at + k.len()..).unwrap_or("").trim_start();
                let arg = rest
                    .strip_prefix(['(', '`'])
                    .unwrap_or("")
                    .trim_start_matches(['\'', '"', ' ']);
                if arg.starts_with(|c: char| c.is_ascii_digit())
                    || arg.starts_with("document.")
                    || arg.starts_with("window.")
                    || arg.starts_with("/xss")
                    || arg.starts_with("xss")
                    || arg.starts_with("string.fromcharcode")
                {
                    found = best(found, Some(("xss.sink_call", 0.6)));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacks() {
        for a in [
            "<script>alert(1)</script>",
            "<ScRiPt src=//x.y/z.js>",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert(1)>",
            "<body onload=alert('x')>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"jav\tascript:alert(1)\">x</a>",
            "<iframe src=\"data:text/html,<script>alert(1)</script>\">",
            "\" onmouseover=\"alert(1)",
            "' autofocus onfocus=alert(1) x='",
            "javascript:alert(document.cookie)",
            "';alert(1)//",
            "\"-alert(1)-\"",
            "<div style=\"width:expression(alert(1))\">",
            "<details open ontoggle=confirm`1`>",
            "</script><script>alert(1)</script>",
            "<x onclick=alert(1)>click",
            "<object data=\"javascript:alert(1)\">",
            "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
        ] {
            assert!(detect(a).is_some_and(|f| f.1 >= 0.5), "missed {a:?}");
        }
    }

    #[test]
    fn hard_negatives() {
        for b in [
            "<b>bold</b> and <i>italic</i>",
            "See <a href=\"https://example.com/docs\">the docs</a>",
            "if (a < b && c > d) { return a; }",
            "x<y and y>z",
            "Use **bold** and `code` in Markdown",
            "<p>Hello, world!</p><br/>",
            "email me: bob@example.com",
            "https://example.com/path?x=1",
            "I'm online = available",
            "price (USD): 10",
            "the alerting system",
            "<3 love it",
            "one=two&three=four",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
    }
}
