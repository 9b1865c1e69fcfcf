//! SQL injection: a SQL tokenizer and a small grammar over its tokens.
//!
//! A value is read in the three places it can land in a query: as code
//! (numeric context), and after breaking out of a `'` or `"` string. Each
//! reading is tokenized (strings, numbers, keywords, functions, operators,
//! comments, with MySQL `/*! */` treated as code) and judged by rules that
//! need SQL structure, not words: a union of selects, a column list followed
//! by `FROM table`, a stacked statement that parses, a string break followed
//! by a comment or a boolean condition, a tautology, a time-delay or
//! error-based function call. `O'Brien`, "select a plan" or `1 - 2` have no
//! such structure.

/// Most tokens read per context.
const MAX_TOKENS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    Select,
    Union,
    From,
    /// insert, update, delete, replace
    Dml(u8),
    /// drop, create, alter, truncate
    Ddl,
    /// exec, execute, declare, shutdown
    Exec,
    Waitfor,
    Into,
    Set,
    Not,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// A string literal; `false` when unterminated.
    Str(bool),
    Num,
    Kw(Kw),
    /// A function call name; `true` for functions attacks use.
    Func(bool),
    /// Arithmetic or other operator.
    Op,
    /// Comparison: `=`, `<`, `like`, `in`, `is`, ...
    Cmp,
    /// and, or, xor, &&, ||
    Logic,
    Comment,
    LParen,
    RParen,
    Comma,
    Semi,
    /// `@x`, `@@version`
    Var,
    /// A bare identifier.
    Word,
    /// A schema/catalog name attacks probe (information_schema, ...).
    Schema,
    Other,
}

const DANGEROUS_FUNCS: &[&str] = &[
    "sleep",
    "benchmark",
    "pg_sleep",
    "extractvalue",
    "updatexml",
    "load_file",
    "xp_cmdshell",
    "sp_executesql",
    "sp_oacreate",
    "sp_password",
    "dbms_pipe.receive_message",
    "dbms_lock.sleep",
    "utl_inaddr.get_host_address",
    "utl_http.request",
    "randomblob",
    "version",
    "database",
    "current_user",
    "user",
    "system_user",
    "session_user",
    "schema",
    "group_concat",
    "concat_ws",
    "char",
    "chr",
    "ascii",
    "substring",
    "substr",
    "mid",
    "hex",
    "unhex",
    "load_extension",
    "pg_read_file",
    "lo_import",
    "polygon",
    "geometrycollection",
    "multipoint",
    "exp",
    "json_keys",
    "make_set",
    "elt",
    "ord",
    "if",
    "iif",
    "name_const",
    "row_count",
    "found_rows",
    "convert",
    "cast",
    "procedure",
    "openrowset",
    "opendatasource",
    "dbms_xmlgen.getxml",
    "ctxsys.drithsx.sn",
    "sys.fn_sqlvarbasetostr",
];

const SCHEMA_WORDS: &[&str] = &[
    "information_schema",
    "sysobjects",
    "syscolumns",
    "sysdatabases",
    "pg_catalog",
    "pg_shadow",
    "pg_user",
    "sqlite_master",
    "sqlite_schema",
    "all_tables",
    "user_tables",
    "all_tab_columns",
    "msysobjects",
    "msysaccessobjects",
    "mysql.user",
    "master..sysdatabases",
    "sys.databases",
    "sys.tables",
    "dual",
];

fn keyword(w: &str) -> Option<Tok> {
    Some(match w {
        "select" => Tok::Kw(Kw::Select),
        "union" => Tok::Kw(Kw::Union),
        "from" => Tok::Kw(Kw::From),
        "insert" => Tok::Kw(Kw::Dml(0)),
        "update" => Tok::Kw(Kw::Dml(1)),
        "delete" => Tok::Kw(Kw::Dml(2)),
        "replace" => Tok::Kw(Kw::Dml(3)),
        "drop" | "create" | "alter" | "truncate" => Tok::Kw(Kw::Ddl),
        "exec" | "execute" | "declare" | "shutdown" => Tok::Kw(Kw::Exec),
        "waitfor" => Tok::Kw(Kw::Waitfor),
        "into" => Tok::Kw(Kw::Into),
        "set" => Tok::Kw(Kw::Set),
        "not" => Tok::Kw(Kw::Not),
        "where" | "order" | "group" | "having" | "limit" | "offset" | "by" | "as" | "join"
        | "case" | "when" | "then" | "else" | "end" | "distinct" | "all" | "top" | "procedure"
        | "table" | "database" | "values" => Tok::Kw(Kw::Other),
        "and" | "or" | "xor" | "div" => Tok::Logic,
        "like" | "rlike" | "regexp" | "in" | "is" | "between" | "sounds" | "glob" | "match" => {
            Tok::Cmp
        }
        "null" | "true" | "false" => Tok::Num,
        _ => return None,
    })
}

/// Tokenizes `s` into `out` (lower-casing words as it goes).
fn tokenize(s: &[u8], out: &mut Vec<(Tok, usize)>) {
    out.clear();
    let mut i = 0;
    let mut word = String::new();
    while i < s.len() && out.len() < MAX_TOKENS {
        let c = s[i];
        let start = i;
        let next = s.get(i + 1).copied().unwrap_or(0);
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0xa0 => {
                i += 1;
                continue;
            }
            b'/' if next == b'*' => {
                if s.get(i + 2) == Some(&b'!') {
                    // MySQL executable comment: the content is code.
                    i += 3;
                    while i < s.len() && s[i].is_ascii_digit() {
                        i += 1;
                    }
                    continue;
                }
                let end = find(s, i + 2, b"*/").map_or(s.len(), |e| e + 2);
                i = end;
                Tok::Comment
            }
            b'*' if next == b'/' => {
                i += 2;
                continue;
            }
            b'-' if next == b'-' => {
                i = s[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(s.len(), |p| i + p + 1);
                Tok::Comment
            }
            b'#' => {
                i = s[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(s.len(), |p| i + p + 1);
                Tok::Comment
            }
            b'\'' | b'"' => {
                let q = c;
                i += 1;
                let mut closed = false;
                while i < s.len() {
                    if s[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if s[i] == q {
                        if s.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        i += 1;
                        closed = true;
                        break;
                    }
                    i += 1;
                }
                i = i.min(s.len());
                Tok::Str(closed)
            }
            b'`' => {
                i += 1;
                while i < s.len() && s[i] != b'`' {
                    i += 1;
                }
                i = (i + 1).min(s.len());
                Tok::Word
            }
            b'0'..=b'9' => {
                i += 1;
                while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.') {
                    i += 1;
                }
                Tok::Num
            }
            b'.' if next.is_ascii_digit() => {
                i += 1;
                while i < s.len() && s[i].is_ascii_digit() {
                    i += 1;
                }
                Tok::Num
            }
            b'@' => {
                i += 1;
                while i < s.len()
                    && (s[i].is_ascii_alphanumeric() || matches!(s[i], b'_' | b'@' | b'.'))
                {
                    i += 1;
                }
                Tok::Var
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$' | 0x80..=0xff => {
                word.clear();
                while i < s.len()
                    && (s[i].is_ascii_alphanumeric()
                        || matches!(s[i], b'_' | b'$' | b'.')
                        || s[i] >= 0x80)
                {
                    word.push(s[i].to_ascii_lowercase() as char);
                    i += 1;
                }
                let w = word.trim_end_matches('.');
                // A function call: name, optional blanks or comments, `(`.
                let mut j = i;
                while j < s.len() && matches!(s[j], b' ' | b'\t' | b'\n' | b'\r') {
                    j += 1;
                }
                if s.get(j..j + 2) == Some(b"/*") {
                    if let Some(e) = find(s, j + 2, b"*/") {
                        j = e + 2;
                    }
                }
                let call = s.get(j) == Some(&b'(');
                match keyword(w) {
                    Some(t) => t,
                    None if SCHEMA_WORDS.iter().any(|k| {
                        w.strip_prefix(k)
                            .is_some_and(|r| r.is_empty() || r.starts_with('.'))
                    }) =>
                    {
                        Tok::Schema
                    }
                    None if call => Tok::Func(DANGEROUS_FUNCS.contains(&w)),
                    None => Tok::Word,
                }
            }
            b'(' => {
                i += 1;
                Tok::LParen
            }
            b')' => {
                i += 1;
                Tok::RParen
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b';' => {
                i += 1;
                Tok::Semi
            }
            b'|' if next == b'|' => {
                i += 2;
                Tok::Logic
            }
            b'&' if next == b'&' => {
                i += 2;
                Tok::Logic
            }
            b'=' | b'<' | b'>' | b'!' if next == b'=' || (c == b'<' && next == b'>') => {
                i += 2;
                if s.get(i) == Some(&b'>') {
                    i += 1;
                }
                Tok::Cmp
            }
            b'=' | b'<' | b'>' => {
                i += 1;
                Tok::Cmp
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' | b'~' | b'!' | b':' => {
                i += 1;
                Tok::Op
            }
            _ => {
                i += 1;
                Tok::Other
            }
        };
        out.push((tok, start));
    }
}

fn find(s: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    s.get(from..)?
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| p + from)
}

fn operand(t: Option<Tok>) -> bool {
    matches!(
        t,
        Some(Tok::Str(_) | Tok::Num | Tok::Word | Tok::Var | Tok::Func(_) | Tok::LParen)
    )
}

fn literal(t: Option<Tok>) -> bool {
    matches!(t, Some(Tok::Str(_) | Tok::Num))
}

/// The tokens of one reading, comments between code skipped where rules ask.
struct Reading<'t> {
    t: &'t [(Tok, usize)],
    s: &'t [u8],
}

impl Reading<'_> {
    fn at(&self, i: usize) -> Option<Tok> {
        self.t.get(i).map(|x| x.0)
    }

    /// The next index at or after `i` that is not a comment.
    fn code(&self, mut i: usize) -> usize {
        while self.at(i) == Some(Tok::Comment) {
            i += 1;
        }
        i
    }

    /// A column list `a, b(1), 'x', *` from `i`, then `FROM`: true when it parses.
    fn select_list_then(&self, mut i: usize, need_from: bool) -> bool {
        let mut items = 0;
        loop {
            i = self.code(i);
            match self.at(i) {
                Some(Tok::Kw(Kw::Other)) => i += 1, // distinct, all, top
                Some(Tok::Op) => {
                    // `*`, or a sign.
                    i += 1;
                    items += 1;
                    if matches!(self.at(self.code(i)), Some(Tok::Kw(Kw::From)) | None) {
                        break;
                    }
                    continue;
                }
                _ => {}
            }
            i = self.code(i);
            if !operand(self.at(i)) && self.at(i) != Some(Tok::Schema) {
                return false;
            }
            // One expression: operand (op operand)* with balanced calls.
            let mut depth = 0i32;
            loop {
                match self.at(i) {
                    Some(Tok::LParen) => depth += 1,
                    Some(Tok::RParen) if depth > 0 => depth -= 1,
                    Some(Tok::RParen) => break,
                    Some(Tok::Comma) if depth == 0 => break,
                    Some(Tok::Kw(Kw::From)) if depth == 0 => break,
                    None => break,
                    Some(Tok::Word | Tok::Str(_) | Tok::Num | Tok::Var) if depth == 0 => {
                        // Two bare words in a row is English, unless `AS` alias.
                        if matches!(self.at(i + 1), Some(Tok::Word | Tok::Num)) {
                            return false;
                        }
                    }
                    _ => {}
                }
                i += 1;
                if i > self.t.len() {
                    break;
                }
            }
            items += 1;
            match self.at(i) {
                Some(Tok::Comma) => i += 1,
                _ => break,
            }
        }
        let i = self.code(i);
        let end = self.at(i);
        items > 0
            && match end {
                Some(Tok::Kw(Kw::From)) => {
                    matches!(
                        self.at(self.code(i + 1)),
                        Some(Tok::Word | Tok::Schema | Tok::LParen)
                    )
                }
                None | Some(Tok::Comment | Tok::Semi | Tok::Kw(Kw::Union | Kw::Other)) => {
                    !need_from
                }
                _ => false,
            }
    }

    /// A statement that parses starting at `i` (after a `;`).
    fn statement(&self, i: usize) -> bool {
        let i = self.code(i);
        let next = self.at(self.code(i + 1));
        match self.at(i) {
            Some(Tok::Kw(Kw::Select)) => self.select_list_then(i + 1, false),
            Some(Tok::Kw(Kw::Dml(0 | 3))) => next == Some(Tok::Kw(Kw::Into)),
            Some(Tok::Kw(Kw::Dml(1))) => {
                next == Some(Tok::Word) && self.at(self.code(i + 2)) == Some(Tok::Kw(Kw::Set))
            }
            Some(Tok::Kw(Kw::Dml(_))) => next == Some(Tok::Kw(Kw::From)),
            Some(Tok::Kw(Kw::Ddl)) => {
                matches!(next, Some(Tok::Kw(Kw::Other)))
                    || (next == Some(Tok::Word)
                        && self.word_is(
                            self.code(i + 1),
                            &[
                                "user", "index", "view", "function", "schema", "trigger", "login",
                            ],
                        ))
            }
            Some(Tok::Kw(Kw::Exec)) => {
                matches!(
                    next,
                    Some(Tok::Func(_) | Tok::Var | Tok::Word | Tok::LParen | Tok::Comment) | None
                )
            }
            Some(Tok::Kw(Kw::Waitfor)) => matches!(next, Some(Tok::Word)),
            Some(Tok::Kw(Kw::Set)) => next == Some(Tok::Var),
            Some(Tok::Func(true)) => true,
            _ => false,
        }
    }

    /// Whether the word token at `i` is one of `words` (lower case).
    fn word_is(&self, i: usize, words: &[&str]) -> bool {
        let Some(&(_, start)) = self.t.get(i) else {
            return false;
        };
        let rest = self.s.get(start..).unwrap_or(&[]);
        let len = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        let w = rest.get(..len).unwrap_or(&[]);
        words.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(w))
    }

    /// Whether the comment token at `i` ends the input with nothing in it
    /// (`x'#`, `x'-- `), or is a `--`/`/*` comment.
    fn closing_comment(&self, i: usize) -> bool {
        let Some(&(_, start)) = self.t.get(i) else {
            return false;
        };
        match self.s.get(start) {
            Some(b'#') => self
                .s
                .get(start + 1..)
                .unwrap_or(&[])
                .iter()
                .take_while(|c| **c != b'\n')
                .all(|c| c.is_ascii_whitespace()),
            _ => true,
        }
    }

    /// A condition after a logic operator at `i`: `1=1`, `'a'<'b'`, `sleep(5)`,
    /// `1--`, `x like y`. Returns its strength.
    fn condition(&self, i: usize) -> Option<f32> {
        let mut i = self.code(i);
        while self.at(i) == Some(Tok::Kw(Kw::Not)) || self.at(i) == Some(Tok::LParen) {
            i = self.code(i + 1);
        }
        let a = self.at(i);
        if a == Some(Tok::Func(true)) {
            return Some(0.9);
        }
        if a == Some(Tok::Kw(Kw::Select)) {
            return Some(0.9);
        }
        if !operand(a) {
            return None;
        }
        // Skip a call's arguments.
        let mut j = i + 1;
        if matches!(a, Some(Tok::Func(_))) {
            let mut depth = 0;
            while let Some(t) = self.at(j) {
                match t {
                    Tok::LParen => depth += 1,
                    Tok::RParen => {
                        depth -= 1;
                        if depth <= 0 {
                            j += 1;
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        let after = self.at(j);
        match after {
            Some(Tok::Cmp) => {
                let b = self.at(self.code(j + 1));
                if operand(b) {
                    Some(if literal(a) && literal(b) { 0.9 } else { 0.75 })
                } else {
                    None
                }
            }
            Some(Tok::Comment) | Some(Tok::Semi) => Some(0.8),
            None if matches!(a, Some(Tok::Num | Tok::Str(false))) => Some(0.45),
            _ => None,
        }
    }
}

/// What matched, with confidence.
pub type Found = (&'static str, f32);

fn best(a: Option<Found>, b: Option<Found>) -> Option<Found> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y.1 > x.1 { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Judges one reading; `broke` says it starts right after a string break.
fn judge(t: &[(Tok, usize)], s: &[u8], broke: bool) -> Option<Found> {
    let r = Reading { t, s };
    let mut found = None;
    let first = r.at(0);
    if broke {
        let c = r.code(0);
        found = best(
            found,
            match first {
                // `admin'--`, `x'/*`, `x'#`
                Some(Tok::Comment) => r.closing_comment(0).then_some(("sqli.break_comment", 0.85)),
                Some(Tok::Logic) => r.condition(1).map(|c| ("sqli.break_logic", c)),
                Some(Tok::Semi) => r.statement(1).then_some(("sqli.break_stacked", 0.9)),
                Some(Tok::RParen) => {
                    let mut k = 0;
                    while r.at(k) == Some(Tok::RParen) {
                        k += 1;
                    }
                    match r.at(k) {
                        Some(Tok::Comment) => Some(("sqli.break_comment", 0.85)),
                        Some(Tok::Logic) => r.condition(k + 1).map(|c| ("sqli.break_logic", c)),
                        Some(Tok::Semi) => {
                            r.statement(k + 1).then_some(("sqli.break_stacked", 0.9))
                        }
                        Some(Tok::Kw(Kw::Union)) => Some(("sqli.union", 0.9)),
                        _ => None,
                    }
                }
                Some(Tok::Cmp) if literal(r.at(c + 1)) || operand(r.at(c + 1)) => {
                    // `'='`, `' like '%`: a comparison against the string.
                    matches!(r.at(c + 2), Some(Tok::Logic | Tok::Comment) | None)
                        .then_some(("sqli.break_compare", 0.6))
                }
                Some(Tok::Op) if matches!(r.at(1), Some(Tok::Func(true) | Tok::Kw(Kw::Select))) => {
                    Some(("sqli.break_concat", 0.8))
                }
                _ => None,
            },
        );
    } else if first == Some(Tok::Num) {
        // Numeric context: `1 or 1=1`, `1 and sleep(5)`, `1;drop table x`, `1)or(1=1`
        let mut k = 1;
        while r.at(k) == Some(Tok::RParen) {
            k += 1;
        }
        let k = r.code(k);
        found = match r.at(k) {
            Some(Tok::Logic) => r
                .condition(k + 1)
                .filter(|c| *c >= 0.75)
                .map(|c| ("sqli.numeric_logic", c)),
            Some(Tok::Semi) => r.statement(k + 1).then_some(("sqli.stacked", 0.9)),
            _ => None,
        };
    }
    for (i, tok) in t.iter().enumerate() {
        let f = match tok.0 {
            Tok::Kw(Kw::Union) => {
                let mut j = r.code(i + 1);
                if r.at(j) == Some(Tok::Kw(Kw::Other)) {
                    j = r.code(j + 1); // all, distinct
                }
                while r.at(j) == Some(Tok::LParen) {
                    j = r.code(j + 1);
                }
                (r.at(j) == Some(Tok::Kw(Kw::Select))).then_some(("sqli.union", 0.95))
            }
            Tok::Kw(Kw::Select) => r
                .select_list_then(i + 1, true)
                .then_some(("sqli.select_from", 0.85)),
            Tok::Semi => r.statement(i + 1).then_some(("sqli.stacked", 0.85)),
            Tok::Logic => {
                // A tautology between literals anywhere: `or 1=1`, `or 'a'='a'`.
                let a = r.at(r.code(i + 1));
                let j = r.code(i + 1);
                (literal(a) && r.at(j + 1) == Some(Tok::Cmp) && literal(r.at(r.code(j + 2))))
                    .then_some(("sqli.tautology", 0.8))
                    .or_else(|| {
                        (r.at(j) == Some(Tok::Func(true)) && r.at(j + 1) == Some(Tok::LParen))
                            .then_some(("sqli.logic_function", 0.8))
                    })
            }
            Tok::Kw(Kw::Waitfor) => (r.at(i + 1) == Some(Tok::Word) && literal(r.at(i + 2)))
                .then_some(("sqli.waitfor", 0.9)),
            Tok::Schema => Some(("sqli.schema_probe", 0.7)),
            Tok::Var => {
                // @@version and friends used as values.
                let prev = i.checked_sub(1).and_then(|p| r.at(p));
                matches!(
                    prev,
                    Some(Tok::Kw(Kw::Select) | Tok::Comma | Tok::LParen | Tok::Cmp | Tok::Logic)
                )
                .then_some(("sqli.variable", 0.6))
            }
            Tok::Func(true) => {
                let prev = i.checked_sub(1).and_then(|p| r.at(p));
                matches!(
                    prev,
                    Some(Tok::Logic | Tok::Kw(Kw::Select) | Tok::Comma | Tok::Cmp | Tok::Op)
                )
                .then_some(("sqli.function", 0.7))
            }
            _ => None,
        };
        found = best(found, f);
        if found.is_some_and(|f| f.1 >= 0.95) {
            break;
        }
    }
    found
}

/// Reusable scratch space.
#[derive(Default)]
pub struct Scratch {
    toks: Vec<(Tok, usize)>,
}

/// Judges a decoded value: the best finding over the code, `'` and `"` readings.
pub fn detect(s: &str, scratch: &mut Scratch) -> Option<Found> {
    let b = s.as_bytes();
    // Cheap exit: SQL needs a letter and a space-like or a punctuation char.
    if b.len() < 2
        || !b
            .iter()
            .any(|c| c.is_ascii_alphabetic() || *c == b'\'' || *c == b'"')
    {
        return None;
    }
    let mut found = None;
    tokenize(b, &mut scratch.toks);
    if scratch.toks.len() >= 2 {
        found = judge(&scratch.toks, b, false);
    }
    for q in [b'\'', b'"'] {
        if found.is_some_and(|f: Found| f.1 >= 0.9) {
            break;
        }
        if let Some(at) = b.iter().position(|&c| c == q) {
            let rest = b.get(at + 1..).unwrap_or(&[]);
            tokenize(rest, &mut scratch.toks);
            found = best(found, judge(&scratch.toks, rest, true));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacks() {
        let mut s = Scratch::default();
        for a in [
            "1' OR '1'='1",
            "admin' --",
            "admin'#",
            "1 or 1=1",
            "1 AND SLEEP(5)",
            "1' and sleep(5)--",
            "-1 UNION SELECT 1,2,3--",
            "1 union all select null,version()",
            "x' UNION/**/SELECT password FROM users--",
            "1;DROP TABLE users",
            "1'; exec xp_cmdshell('dir')--",
            "') or ('a'='a",
            "1/*!50000union*/ /*!50000select*/ 1",
            "'; waitfor delay '0:0:5'--",
            "1 and extractvalue(1,concat(0x7e,version()))",
            "select * from information_schema.tables",
            "1' || '1'='1",
            "\" or \"\"=\"",
            "1 AND 1=1",
            "x' AND 1=(SELECT COUNT(*) FROM tabname); --",
            "' or 1=1 limit 1 -- -+",
        ] {
            assert!(
                detect(a, &mut s).is_some_and(|f| f.1 >= 0.5),
                "missed {a:?}"
            );
        }
    }

    #[test]
    fn hard_negatives() {
        let mut s = Scratch::default();
        for b in [
            "O'Brien",
            "O'Brien and O'Neil",
            "select a plan",
            "Please select a plan from the list",
            "1 - 2",
            "Tom & Jerry",
            "Don't drop the table; create a new one",
            "It's 5 o'clock",
            "rock 'n' roll",
            "the '#' character",
            "1 or 2 items",
            "user130",
            "deliver to door",
            "a@example.com",
            "Say \"hello\" or \"bye\"",
            "2024-05-01",
            "10.99",
            "I'd like to update my order",
            "What's the best way to join tables?",
        ] {
            assert_eq!(detect(b, &mut s), None, "flagged {b:?}");
        }
    }

    #[test]
    fn linear_on_long_input() {
        let mut s = Scratch::default();
        let long = "'".repeat(100_000);
        let _ = detect(&long, &mut s);
        let long = "(".repeat(100_000);
        let _ = detect(&long, &mut s);
    }
}
