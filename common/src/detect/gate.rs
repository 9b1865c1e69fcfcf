//! Per-value gates: one pass over a decoded value's bytes decides which
//! detectors can possibly fire on it, so the others are not run at all.
//!
//! Each gate is a superset of its detector, read off the detector's code
//! (the reasoning is beside each method); `tests::gates_keep_every_hit`
//! runs the whole score corpus gated and ungated and demands the same hits.
//! A detector whose gate is not proven that way has none.

use std::sync::LazyLock;

use super::points::Kind;
use super::{cmdi, sqli};

/// Byte classes present in one value.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Shape {
    /// A byte other than ASCII letters, digits and ` -_,@+`: the value is
    /// more than words (the judge's `special`).
    pub special: bool,
    /// A byte `xss::detect` can act on (see [`Shape::may_xss`]).
    xss: bool,
    /// A byte other than ASCII digits and ` -_,+` (see [`Shape::may_cmdi`]).
    not_numeric: bool,
    /// An `A` (sextet 0), or a run of 8 or more base64 characters
    /// (see [`Shape::may_java_base64`]).
    base64: bool,
}

impl Shape {
    pub fn of(v: &str) -> Shape {
        let mut s = Shape::default();
        let mut run = 0usize;
        for &c in v.as_bytes() {
            if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_') {
                run += 1;
                s.base64 |= run >= 8 || c == b'A';
            } else {
                run = 0;
            }
            let word =
                c.is_ascii_alphanumeric() || matches!(c, b' ' | b'-' | b'_' | b',' | b'@' | b'+');
            s.special |= !word;
            s.xss |= c >= 0x80
                || matches!(
                    c,
                    b'<' | b'>' | b':' | b'=' | b'(' | b'`' | b'[' | b'.' | b'+' | b'\\' | b'%'
                );
            s.not_numeric |= !(c.is_ascii_digit() || matches!(c, b' ' | b'-' | b'_' | b',' | b'+'));
        }
        s
    }

    /// `xss::detect`: `-->` (has `>`); `fold_markup` needs `+ADw`/`+AD4`
    /// (`+`), `%2bADw` (`%`), U+00BC/U+00BE (non-ASCII) or `\xbc` (`\`);
    /// otherwise `judge`, which returns at once without one of
    /// `< : = ( ` [ .`.
    pub fn may_xss(&self) -> bool {
        self.xss
    }

    /// `cmdi::detect` on digits, blanks, `-`, `_`, `,` and `+` only: no
    /// `for`/`if` (control), no `$` `/` `>` `{` `(` `~` (IFS, /dev/tcp,
    /// redirection, expansions, globs), no separator `; | & $( `` ` `` `!`
    /// `\n` (the separator walk, leading separator, SQLite dot command,
    /// command chain), no letters (PowerShell, and every command word
    /// `command_at` knows is spelled with letters).
    ///
    /// On a value of words only (not [`Shape::special`]) the word gate
    /// [`cmdi_words`] decides.
    pub fn may_cmdi(&self, v: &str) -> bool {
        self.not_numeric && (self.special || cmdi_words(v))
    }

    /// `sqli::detect`: on a value of words only (not [`Shape::special`]) the
    /// word gate [`sqli_words`] decides; anything else may be SQL.
    pub fn may_sqli(&self, v: &str) -> bool {
        self.special || sqli_words(v)
    }

    /// `rules::java_base64` decodes tokens of base64 characters
    /// (`[A-Za-z0-9+/_-]`) at four alignments, one byte at most per
    /// character. The stream magic `ED 00 05` holds 13 zero bits in a row,
    /// which always cover one whole sextet, so an `A`; a gadget name is only
    /// looked for in 8 decoded bytes or more, so 8 characters or more.
    pub fn may_java_base64(&self) -> bool {
        self.base64
    }
}

/// `rules::files` on a value `v` of point kind `kind`. Every return of
/// `files` needs one of these in the raw value (`files` reads it lower-cased,
/// `\` as `/`, `/./` as `/`; that collapse only ever joins a `/` to what
/// followed the removed `./`, so it makes no `..`, no `:/`, no `0x2e` and no
/// `proc/` that the raw value lacks):
/// - a `..` (every climb: `ups`, upload names, above the root, deep, null
///   byte, `..\`/`..;` relative);
/// - a `0x2e` in any case (hex-spelled dots);
/// - a `:` before a `/` or `\`, or `file:`/`netdoc:` (the wrappers, all
///   `x://` but `jar:file:` and `netdoc:`; the `c:/` and `file:` absolute paths);
/// - a `/` or `\` before a `.` (`/.ssh/`, `/.docker/`, ... and hidden files);
/// - `proc` or `sys` before a `/` or `\` (the kernel's pseudo files, and
///   every check naming `/proc/` or `/sys/`);
/// - a leading `.ssh` (`.ssh/` at the start);
/// - for any kind but a path, a leading `/` or `\` (the absolute files);
/// - for a path (whose absolute files need `/etc/`, or one of the above): a
///   `.` anywhere (restricted extensions, `win.ini`, hidden files), a `/@`
///   (`/@fs/`, `/@id/`), or a leading `/etc` before a `/` or `\`.
pub(super) fn may_files(v: &str, kind: Kind) -> bool {
    if v.len() <= 256 {
        may_files_short(v.as_bytes(), kind)
    } else {
        may_files_long(v, kind)
    }
}

/// [`may_files`] in one walk over the bytes, each needle tested where its
/// first byte stands: on the short values most points hold this is cheaper
/// than setting up one byte search per needle (`may_files_long`, which
/// `tests` holds it to).
fn may_files_short(b: &[u8], kind: Kind) -> bool {
    let sep = |c: u8| c == b'/' || c == b'\\';
    let is_path = kind == Kind::Path;
    let lead = b.first().copied().is_some_and(sep);
    // A leading separator: any value's absolute path, a path's only when `/etc/`.
    let etc = || {
        b.get(1..4).is_some_and(|w| w.eq_ignore_ascii_case(b"etc"))
            && b.get(4).copied().is_some_and(sep)
    };
    if (lead && (!is_path || etc())) || b.get(..4).is_some_and(|w| w.eq_ignore_ascii_case(b".ssh"))
    {
        return true;
    }
    let ends_ci = |end: usize, word: &[u8]| {
        end.checked_sub(word.len())
            .and_then(|from| b.get(from..end))
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
    };
    for (at, &c) in b.iter().enumerate() {
        let next = b.get(at + 1).copied();
        let hit = match c {
            b'.' => is_path || next == Some(b'.'),
            b'@' => is_path,
            b'0' => b
                .get(at + 1..at + 4)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"x2e")),
            b':' => next.is_some_and(sep) || ends_ci(at, b"file") || ends_ci(at, b"netdoc"),
            b'/' | b'\\' => next == Some(b'.') || ends_ci(at, b"proc") || ends_ci(at, b"sys"),
            _ => false,
        };
        if hit {
            return true;
        }
    }
    false
}

/// [`may_files`] by byte searches (long values).
fn may_files_long(v: &str, kind: Kind) -> bool {
    let b = v.as_bytes();
    let sep = |c: u8| c == b'/' || c == b'\\';
    let is_path = kind == Kind::Path;
    let lead = b.first().copied().is_some_and(sep);
    if (!is_path && lead)
        || b.get(..4).is_some_and(|w| w.eq_ignore_ascii_case(b".ssh"))
        || find(b, b"..").is_some()
        || contains_ignore_case(b, b"0x2e")
    {
        return true;
    }
    if is_path
        && (memchr::memchr2(b'.', b'@', b).is_some()
            || lead
                && b.get(1..4).is_some_and(|w| w.eq_ignore_ascii_case(b"etc"))
                && b.get(4).copied().is_some_and(sep))
    {
        return true;
    }
    let ends_ci = |end: usize, word: &[u8]| {
        end.checked_sub(word.len())
            .and_then(|from| b.get(from..end))
            .is_some_and(|w| w.eq_ignore_ascii_case(word))
    };
    for at in memchr::memchr3_iter(b'/', b'\\', b':', b) {
        let next = b.get(at + 1).copied();
        if b.get(at) == Some(&b':') {
            if next.is_some_and(sep) || ends_ci(at, b"file") || ends_ci(at, b"netdoc") {
                return true;
            }
        } else if next == Some(b'.') || ends_ci(at, b"proc") || ends_ci(at, b"sys") {
            return true;
        }
    }
    false
}

/// Most bytes of a word the word gates look up: longer than every word in
/// the detectors' tables (`tests::gate_tables_fit`).
const MAX_WORD: usize = 40;

/// `word` lower-cased into `buf`; `None` when longer than [`MAX_WORD`] or
/// not ASCII.
fn lower<'b>(word: &[u8], buf: &'b mut [u8; MAX_WORD]) -> Option<&'b str> {
    let out = buf.get_mut(..word.len())?;
    for (o, c) in out.iter_mut().zip(word) {
        *o = c.to_ascii_lowercase();
    }
    std::str::from_utf8(out).ok()
}

/// Whether `needle` occurs in `hay`: what `str::contains` says, without
/// setting up a substring searcher per call (most values are short: one
/// `memchr` for the needle's first byte and a compare at each place).
#[inline]
pub(crate) fn has(hay: &str, needle: &str) -> bool {
    find(hay.as_bytes(), needle.as_bytes()).is_some()
}

/// Where `needle` first occurs in `hay` (see [`has`]); long haystacks go to
/// `memchr::memmem`, whose set-up pays off there.
#[inline]
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, rest)) = needle.split_first() else {
        return Some(0);
    };
    let last = hay.len().checked_sub(needle.len())?;
    if hay.len() > 256 {
        return memchr::memmem::find(hay, needle);
    }
    memchr::memchr_iter(first, hay.get(..=last).unwrap_or(&[]))
        .find(|&at| hay.get(at + 1..at + needle.len()) == Some(rest))
}

/// Whether `hay` contains `needle` (lower case) in any letter case.
pub(super) fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    find_ignore_case(hay, needle).is_some()
}

/// Where `needle` (lower case) first occurs in `hay` in any letter case:
/// the offset `hay.to_ascii_lowercase().find(needle)` gives, without the copy.
pub(super) fn find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let Some((&first, _)) = needle.split_first() else {
        return Some(0);
    };
    if hay.len() < needle.len() {
        return None;
    }
    let upper = first.to_ascii_uppercase();
    let last = hay.len() - needle.len();
    memchr::memchr2_iter(first, upper, hay.get(..=last).unwrap_or(&[])).find(|&at| {
        hay.get(at..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// Names `sqli` recognises by their text beyond [`sqli::keyword`]: catalog
/// names (a `Schema` token; without `.` in a words-only value the whole
/// word must be one) and stored procedures (`structure`'s `word_is(i, SQL_PROCS)`).
static SQL_NAMES: LazyLock<foldhash::HashSet<&'static str>> = LazyLock::new(|| {
    sqli::SCHEMA_WORDS
        .iter()
        .chain(sqli::SQL_PROCS)
        .copied()
        .collect()
});

/// Which (length, first byte) pairs [`SQL_NAMES`] holds: most words are
/// passed over by one table read instead of a hash lookup.
static SQL_NAME_HEADS: LazyLock<Vec<[bool; 128]>> = LazyLock::new(|| {
    let mut heads = vec![[false; 128]; MAX_WORD + 1];
    for w in SQL_NAMES.iter() {
        let first = w.as_bytes().first().copied().unwrap_or(0);
        if let Some(row) = heads.get_mut(w.len()) {
            if let Some(cell) = row.get_mut(usize::from(first)) {
                *cell = true;
            }
        }
    }
    heads
});

/// Whether `w` (lower case, at most [`MAX_WORD`] bytes) is one of [`SQL_NAMES`].
fn sql_name(w: &str) -> bool {
    let first = usize::from(w.as_bytes().first().copied().unwrap_or(0));
    SQL_NAME_HEADS
        .get(w.len())
        .and_then(|row| row.get(first))
        .copied()
        .unwrap_or(true)
        && SQL_NAMES.contains(w)
}

/// Word gate of `sqli::detect` for a value of words only (ASCII letters,
/// digits and ` -_,@+`). Such a value has no quote to break out of, no `=`
/// for a `name=` reading, no `*`, `.e` or non-ASCII for `mysql_shapes` and
/// `fold_quotes`, so only the code reading is judged, and its tokens can
/// only be words, keywords, numbers, `,`, `+`/`-` operators, `@` variables
/// and `--` comments (no string, call, `(`, `;`, cast or JSON operator).
/// Every rule of `judge`, `structure` and `broken` needs one of: a
/// keyword token (`sqli::keyword`: select, union, or, like, null, ...),
/// a `Schema` token, a word of `SQL_PROCS`, a variable after a `,` (or
/// after a keyword), or a comment after a condition (after a keyword).
/// So: a `--`, an `@` with a `,`, or a word the tokenizer would read (a run
/// of letters, digits and `_` not starting with a digit, which starts a
/// number running over letters and digits) that is one of those names.
pub(super) fn sqli_words(v: &str) -> bool {
    let b = v.as_bytes();
    if find(b, b"--").is_some()
        || memchr::memchr(b'@', b).is_some() && memchr::memchr(b',', b).is_some()
    {
        return true;
    }
    let mut buf = [0u8; MAX_WORD];
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c.is_ascii_digit() {
            i += b
                .get(i..)
                .unwrap_or(&[])
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let n = b
                .get(i..)
                .unwrap_or(&[])
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            let word = b.get(i..i + n).unwrap_or(&[]);
            if let Some(w) = lower(word, &mut buf) {
                if sqli::keyword(w).is_some() || sql_name(w) {
                    return true;
                }
            }
            i += n;
        } else {
            i += 1;
        }
    }
    false
}

/// Word gate of `cmdi::detect` for a value of words only (ASCII letters,
/// digits and ` -_,@+`). Such a value has no separator, substitution,
/// brace, `$`, `/`, `~`, glob, quote or `(`, so of `detect` only these can
/// fire: `CMD_CONTROL` at the start (`if exist x`; `for` needs `%`), the
/// PowerShell check (`powershell` anywhere, with ` -c`/` -e`), and
/// `command_at` on the first word: after leading blanks and `@`, up to a
/// blank or `,` (the only breaks `word_noise` has here), lower-cased,
/// which must be a binary (`cmdi::binary`) or a wrapper (`cmdi::WRAPPERS`,
/// whose command follows). A word of 64 bytes or more is cut by
/// `word_noise`: let it through.
pub(super) fn cmdi_words(v: &str) -> bool {
    let b = v.as_bytes();
    if contains_ignore_case(b, b"powershell") {
        return true;
    }
    let t = v.trim_start_matches([' ', '@']);
    let end = t.find([' ', ',']).unwrap_or(t.len());
    let word = t.as_bytes().get(..end).unwrap_or(&[]);
    if word.len() >= 64 {
        return true;
    }
    let mut buf = [0u8; MAX_WORD];
    let Some(w) = lower(word, &mut buf) else {
        // Longer than any table word: only a `family-verb` name can be one.
        return word.contains(&b'-');
    };
    matches!(w, "if" | "for") || cmdi::binary(w).is_some() || cmdi::WRAPPERS.contains(&w)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [Kind; 4] = [Kind::Path, Kind::Value, Kind::Header, Kind::Segment];

    #[test]
    fn may_files_short_is_long() {
        for v in [
            "",
            "/",
            "\\",
            ".ssh/x",
            ".SSH",
            "..",
            "a..b",
            "0x2e",
            "0X2E",
            "x0x2",
            "/etc/",
            "/ETC\\x",
            "/etcx",
            "a.b",
            "a@b",
            "c:/x",
            "c:\\x",
            "file:x",
            "FILE:",
            "netdoc:",
            "/proc",
            "x/proc/1",
            "a/sys",
            "sys/",
            "a/.b",
            "a\\.b",
            "abc",
            "héllo/..",
        ] {
            for kind in KINDS {
                assert_eq!(
                    may_files_short(v.as_bytes(), kind),
                    may_files_long(v, kind),
                    "{v:?} {kind:?}"
                );
            }
        }
    }

    #[test]
    fn sql_name_is_lookup() {
        for w in SQL_NAMES.iter() {
            assert!(sql_name(w), "{w:?}");
        }
        for w in ["", "a", "door", "information_schem", "xp_cmdshel", "table"] {
            assert_eq!(sql_name(w), SQL_NAMES.contains(w), "{w:?}");
        }
    }

    #[test]
    fn has_is_contains() {
        for (hay, needle) in [
            ("", ""),
            ("a", ""),
            ("", "a"),
            ("abc", "abc"),
            ("abc", "abcd"),
            ("xxabab", "abab"),
            ("aaab", "aab"),
            ("h\u{e9}llo", "\u{e9}l"),
        ] {
            assert_eq!(has(hay, needle), hay.contains(needle), "{hay:?} {needle:?}");
        }
        let long = "ab".repeat(300) + "${x";
        assert!(has(&long, "${"));
        assert!(!has(&long, "$}"));
    }

    proptest::proptest! {
        #[test]
        fn may_files_short_matches_long(
            v in "[./\\\\:@0xX2eEaPpRrOoCcSsYyTtFfIiLlNnDh ]{0,24}",
            k in 0..KINDS.len(),
        ) {
            let kind = KINDS[k];
            proptest::prop_assert_eq!(may_files_short(v.as_bytes(), kind), may_files_long(&v, kind));
        }

        #[test]
        fn has_matches_contains(
            hay in "[ab$\\{}.\u{e9}]{0,300}",
            needle in "[ab$\\{}.\u{e9}]{0,4}",
        ) {
            proptest::prop_assert_eq!(has(&hay, &needle), hay.contains(needle.as_str()));
            proptest::prop_assert_eq!(
                find(hay.as_bytes(), needle.as_bytes()),
                hay.find(needle.as_str())
            );
        }
    }
}
