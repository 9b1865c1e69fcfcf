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
}

impl Shape {
    pub fn of(v: &str) -> Shape {
        let mut s = Shape::default();
        for &c in v.as_bytes() {
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
}
