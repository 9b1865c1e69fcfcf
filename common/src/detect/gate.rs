//! Per-value gates: one pass over a decoded value's bytes decides which
//! detectors can possibly fire on it, so the others are not run at all.
//!
//! Each gate is a superset of its detector, read off the detector's code
//! (the reasoning is beside each method); `tests::gates_keep_every_hit`
//! runs the whole score corpus gated and ungated and demands the same hits.
//! A detector whose gate is not proven that way has none.

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
    pub fn may_cmdi(&self) -> bool {
        self.not_numeric
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
