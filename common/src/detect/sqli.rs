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
pub(super) enum Kw {
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
    As,
    Where,
    Having,
    Case,
    When,
    /// order, group (before `by`)
    OrderGroup,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
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
    /// A quoted identifier: `` `x` `` or `[x]`.
    QIdent,
    /// PostgreSQL cast `::`.
    Cast,
    /// JSON operators: `->`, `->>`, `#>`, `#>>`, `@>`, `<@`, `?`, `?|`, `?&`, `@?`, `@@`.
    JsonOp,
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

/// Words that start a noun phrase in prose and name no table.
const ARTICLES: &[&str] = &[
    "the", "a", "an", "my", "your", "our", "his", "her", "their", "its", "this", "that", "these",
    "those", "some", "every",
];

pub(super) const SCHEMA_WORDS: &[&str] = &[
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

/// Database and catalog names a probe sends by name alone, as a bare
/// parameter with no value (`tempdb`, `information_schema`): see [`catalog_key`].
const CATALOG_NAMES: &[&str] = &[
    "information_schema",
    "tempdb",
    "msdb",
    "northwind",
    "mysql.db",
    "pg_catalog",
    "pg_toast",
    "pg_shadow",
    "sqlite_master",
    "sqlite_temp_master",
    "schema_name",
    "sysobjects",
    "syscolumns",
    "sysdatabases",
    "msysobjects",
    "msysaccessobjects",
    "master..sysdatabases",
];

/// A parameter that is only a name, and the name is a database catalog's
/// (`POST tempdb`, `?information_schema`): a probe for which database
/// answers. A key with a value, or a catalog name inside prose, is not.
pub fn catalog_key(key: &str) -> Option<Found> {
    CATALOG_NAMES
        .iter()
        .any(|c| c.eq_ignore_ascii_case(key))
        .then_some(("sqli.catalog_name", 0.6))
}

/// SQL keywords and the token each reads as: the one table [`keyword`]
/// (so `tokenize` and the word gate `gate::sqli_words`) looks words up in.
const KEYWORDS: &[(&str, Tok)] = &[
    ("select", Tok::Kw(Kw::Select)),
    ("union", Tok::Kw(Kw::Union)),
    ("from", Tok::Kw(Kw::From)),
    ("insert", Tok::Kw(Kw::Dml(0))),
    ("update", Tok::Kw(Kw::Dml(1))),
    ("delete", Tok::Kw(Kw::Dml(2))),
    ("replace", Tok::Kw(Kw::Dml(3))),
    ("drop", Tok::Kw(Kw::Ddl)),
    ("create", Tok::Kw(Kw::Ddl)),
    ("alter", Tok::Kw(Kw::Ddl)),
    ("truncate", Tok::Kw(Kw::Ddl)),
    ("exec", Tok::Kw(Kw::Exec)),
    ("execute", Tok::Kw(Kw::Exec)),
    ("declare", Tok::Kw(Kw::Exec)),
    ("shutdown", Tok::Kw(Kw::Exec)),
    ("waitfor", Tok::Kw(Kw::Waitfor)),
    ("into", Tok::Kw(Kw::Into)),
    ("set", Tok::Kw(Kw::Set)),
    ("not", Tok::Kw(Kw::Not)),
    ("as", Tok::Kw(Kw::As)),
    ("where", Tok::Kw(Kw::Where)),
    ("having", Tok::Kw(Kw::Having)),
    ("case", Tok::Kw(Kw::Case)),
    ("when", Tok::Kw(Kw::When)),
    ("order", Tok::Kw(Kw::OrderGroup)),
    ("group", Tok::Kw(Kw::OrderGroup)),
    ("intersect", Tok::Kw(Kw::Union)),
    ("except", Tok::Kw(Kw::Union)),
    ("limit", Tok::Kw(Kw::Other)),
    ("offset", Tok::Kw(Kw::Other)),
    ("by", Tok::Kw(Kw::Other)),
    ("join", Tok::Kw(Kw::Other)),
    ("then", Tok::Kw(Kw::Other)),
    ("else", Tok::Kw(Kw::Other)),
    ("end", Tok::Kw(Kw::Other)),
    ("distinct", Tok::Kw(Kw::Other)),
    ("all", Tok::Kw(Kw::Other)),
    ("top", Tok::Kw(Kw::Other)),
    ("procedure", Tok::Kw(Kw::Other)),
    ("table", Tok::Kw(Kw::Other)),
    ("database", Tok::Kw(Kw::Other)),
    ("values", Tok::Kw(Kw::Other)),
    ("collate", Tok::Kw(Kw::Other)),
    ("outfile", Tok::Kw(Kw::Other)),
    ("dumpfile", Tok::Kw(Kw::Other)),
    ("immediate", Tok::Kw(Kw::Other)),
    ("delay", Tok::Kw(Kw::Other)),
    ("and", Tok::Logic),
    ("or", Tok::Logic),
    ("xor", Tok::Logic),
    ("div", Tok::Logic),
    ("like", Tok::Cmp),
    ("rlike", Tok::Cmp),
    ("regexp", Tok::Cmp),
    ("in", Tok::Cmp),
    ("is", Tok::Cmp),
    ("between", Tok::Cmp),
    ("sounds", Tok::Cmp),
    ("glob", Tok::Cmp),
    ("match", Tok::Cmp),
    ("ilike", Tok::Cmp),
    ("similar", Tok::Cmp),
    ("notnull", Tok::Cmp),
    ("isnull", Tok::Cmp),
    ("mod", Tok::Cmp),
    ("null", Tok::Num),
    ("true", Tok::Num),
    ("false", Tok::Num),
];

/// Longest word in [`KEYWORDS`] plus one.
const KEYWORD_LENS: usize = 16;

/// For each word length, the first letters of [`KEYWORDS`] of that length
/// (bit `c - b'a'`): most words are no keyword by these two bytes alone.
const KEYWORD_HEADS: [u32; KEYWORD_LENS] = {
    let mut heads = [0u32; KEYWORD_LENS];
    let mut i = 0;
    while i < KEYWORDS.len() {
        let w = KEYWORDS[i].0.as_bytes();
        assert!(w[0].is_ascii_lowercase(), "keywords are lower case");
        heads[w.len()] |= 1 << (w[0] - b'a');
        i += 1;
    }
    heads
};

/// [`KEYWORDS`] by word.
static KEYWORD_MAP: std::sync::LazyLock<foldhash::HashMap<&'static str, Tok>> =
    std::sync::LazyLock::new(|| KEYWORDS.iter().copied().collect());

/// The token keyword `w` (lower case) reads as.
pub(super) fn keyword(w: &str) -> Option<Tok> {
    let first = w.as_bytes().first()?.wrapping_sub(b'a');
    let heads = KEYWORD_HEADS.get(w.len()).copied().unwrap_or(0);
    if first >= 26 || heads & (1 << first) == 0 {
        return None;
    }
    KEYWORD_MAP.get(w).copied()
}

/// Tokenizes `s` into `out` (lower-casing words as it goes into `word`,
/// a buffer kept across calls).
fn tokenize(s: &[u8], out: &mut Vec<(Tok, usize)>, word: &mut String) {
    out.clear();
    let mut i = 0;
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
            b'#' | b'@' | b'<'
                if (c != b'<' && matches!(next, b'>' | b'?'))
                    || (c == b'<' && next == b'@')
                    || (c == b'@'
                        && next == b'@'
                        && !s.get(i + 2).is_some_and(|b| b.is_ascii_alphanumeric())) =>
            {
                i += 2;
                if s.get(i) == Some(&b'>') {
                    i += 1;
                }
                Tok::JsonOp
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
                Tok::QIdent
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
                    Some(_) if call && w == "database" => Tok::Func(true),
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
            b':' if next == b':' => {
                i += 2;
                Tok::Cast
            }
            b'-' if next == b'>' => {
                i += 2;
                if s.get(i) == Some(&b'>') {
                    i += 1;
                }
                Tok::JsonOp
            }
            b'?' => {
                i += 1;
                if matches!(s.get(i), Some(b'|' | b'&')) {
                    i += 1;
                    Tok::JsonOp
                } else {
                    // `x ? 'key'` tests a JSON key; a lone `?` is punctuation.
                    let k = s
                        .get(i..)
                        .and_then(|r| r.iter().position(|c| !c.is_ascii_whitespace()));
                    if k.and_then(|k| s.get(i + k)) == Some(&b'\'') {
                        Tok::JsonOp
                    } else {
                        Tok::Other
                    }
                }
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' | b'~' | b'!' => {
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
        Some(
            Tok::Str(_)
                | Tok::Num
                | Tok::Word
                | Tok::QIdent
                | Tok::Var
                | Tok::Func(_)
                | Tok::LParen
        )
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
                    // A label's colon (`Select size: S | M`): no SQL
                    // operator; a bind variable's (`:id`) has no blank after.
                    Some(Tok::Other) if self.label_colon(i) => return false,
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
                    let t = self.code(i + 1);
                    matches!(
                        self.at(t),
                        Some(Tok::Word | Tok::QIdent | Tok::Schema | Tok::LParen)
                    ) && (self.at(t) == Some(Tok::LParen) || self.clause_end(t + 1))
                }
                None | Some(Tok::Comment | Tok::Semi | Tok::Kw(Kw::Union | Kw::Other)) => {
                    !need_from
                }
                _ => false,
            }
    }

    /// Whether what follows a table name at `i` continues a query (or ends
    /// it), rather than an English sentence (`FROM orders in Django`).
    fn clause_end(&self, i: usize) -> bool {
        let mut i = i;
        // `a.b`, `a`.`b`
        while self.at(i) == Some(Tok::Other) && self.byte(i) == b'.' {
            i += 2;
        }
        match self.at(i) {
            None
            | Some(
                Tok::Comment
                | Tok::Semi
                | Tok::Comma
                | Tok::RParen
                | Tok::Logic
                | Tok::Kw(
                    Kw::Where
                    | Kw::OrderGroup
                    | Kw::Union
                    | Kw::Having
                    | Kw::Other
                    | Kw::As
                    | Kw::Into,
                ),
            ) => true,
            Some(Tok::Word | Tok::QIdent) => {
                // An alias, then a clause or the end.
                matches!(
                    self.at(i + 1),
                    None | Some(
                        Tok::Comment | Tok::Semi | Tok::Kw(Kw::Where | Kw::OrderGroup | Kw::Other)
                    )
                )
            }
            _ => false,
        }
    }

    /// Whether the call at `i` (a function name) has arguments that read as
    /// SQL, not prose: `sleep(5)`, `database()`, not `Sleep(ing) well`.
    fn sql_args(&self, i: usize) -> bool {
        let open = self.code(i + 1);
        if self.at(open) != Some(Tok::LParen) {
            return false;
        }
        let a = self.code(open + 1);
        match self.at(a) {
            None => true,
            Some(
                Tok::Num
                | Tok::Str(_)
                | Tok::Func(_)
                | Tok::Var
                | Tok::RParen
                | Tok::LParen
                | Tok::Kw(Kw::Select)
                | Tok::Op
                | Tok::QIdent,
            ) => true,
            Some(Tok::Word) => {
                matches!(self.at(a + 1), Some(Tok::Comma | Tok::Cast) | None)
                    || (self.at(a + 1) == Some(Tok::RParen)
                        && !matches!(self.at(a + 2), Some(Tok::Word)))
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
                // `CREATE TABLE name`, not `create table for two` (two words).
                let name = self.code(self.code(i + 1) + 1);
                (matches!(next, Some(Tok::Kw(Kw::Other)))
                    && !(self.at(name) == Some(Tok::Word) && self.at(name + 1) == Some(Tok::Word)))
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
            Some(Tok::Func(true)) => self.sql_only(i) && self.sql_args(i),
            _ => false,
        }
    }

    /// The word that starts at token `i` (letters, digits and `_`).
    fn word_at(&self, i: usize) -> &[u8] {
        let Some(&(_, start)) = self.t.get(i) else {
            return &[];
        };
        let rest = self.s.get(start..).unwrap_or(&[]);
        let len = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        rest.get(..len).unwrap_or(&[])
    }

    /// Whether the word token at `i` is one of `words` (lower case).
    fn word_is(&self, i: usize, words: &[&str]) -> bool {
        let w = self.word_at(i);
        words.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(w))
    }

    /// [`Reading::word_is`] for a long list, with its [`heads`] table in
    /// front: most words are passed over without a scan of the list.
    fn word_in(&self, i: usize, words: &[&str], heads: &[[bool; 128]]) -> bool {
        let w = self.word_at(i);
        let first = w.first().map_or(0, u8::to_ascii_lowercase);
        let head = heads
            .get(w.len())
            .and_then(|row| row.get(usize::from(first)))
            .copied()
            .unwrap_or(true);
        head && words.iter().any(|k| k.as_bytes().eq_ignore_ascii_case(w))
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
                // @@version and friends used as values; not JSONPath's
                // current node and a member (`$.book[?(@.price < 10)]`).
                // (MySQL's `@.` alone is a variable: `@.=(SELECT ...)`.)
                let prev = i.checked_sub(1).and_then(|p| r.at(p));
                let node = r
                    .t
                    .get(i)
                    .and_then(|&(_, start)| r.s.get(start + 1..start + 3))
                    .is_some_and(|w| w[0] == b'.' && (w[1].is_ascii_alphabetic() || w[1] == b'_'));
                (!node
                    && matches!(
                        prev,
                        Some(
                            Tok::Kw(Kw::Select) | Tok::Comma | Tok::LParen | Tok::Cmp | Tok::Logic
                        )
                    ))
                .then_some(("sqli.variable", 0.6))
            }
            Tok::Func(true) => {
                let prev = i.checked_sub(1).and_then(|p| r.at(p));
                (matches!(
                    prev,
                    Some(Tok::Logic | Tok::Kw(Kw::Select) | Tok::Comma | Tok::Cmp | Tok::Op)
                ) && r.sql_args(i)
                    && !r.wkt(i))
                .then_some(("sqli.function", 0.7))
            }
            _ => None,
        };
        found = best(found, f);
        if found.is_some_and(|f| f.1 >= 0.95) {
            break;
        }
    }
    if found.is_none_or(|f| f.1 < 0.85) {
        found = best(found, structure(&r, broke));
    }
    found
}

/// Stored procedures and packages that run commands, read files or reach
/// the network from inside a database: names no other text uses.
pub(super) const SQL_PROCS: &[&str] = &[
    "xp_cmdshell",
    "xp_dirtree",
    "xp_regread",
    "xp_regwrite",
    "xp_fileexist",
    "xp_subdirs",
    "xp_servicecontrol",
    "xp_availablemedia",
    "xp_terminate_process",
    "xp_makecab",
    "xp_ntsec_enumdomains",
    "sp_executesql",
    "sp_password",
    "sp_oacreate",
    "sp_oamethod",
    "sp_makewebtask",
    "sp_addlogin",
    "sp_addsrvrolemember",
    "sp_configure",
    "openrowset",
    "opendatasource",
    "utl_http",
    "utl_inaddr",
    "utl_file",
    "dbms_pipe",
    "dbms_java",
    "dbms_xmlquery",
    "sys_eval",
    "sys_exec",
    "pg_read_file",
    "pg_ls_dir",
    "msdasql",
];

/// The geometry constructors of well-known text (and MySQL's functions of
/// the same names).
const GEOMETRIES: &[&str] = &[
    "geometrycollection",
    "multipoint",
    "multipolygon",
    "multilinestring",
    "linestring",
    "polygon",
];

/// Function names only SQL uses: a call to one is SQL, not another language.
const SQL_ONLY_FUNCS: &[&str] = &[
    "sleep",
    "benchmark",
    "pg_sleep",
    "extractvalue",
    "updatexml",
    "load_file",
    "xp_cmdshell",
    "sp_executesql",
    "sp_oacreate",
    "dbms_pipe.receive_message",
    "dbms_lock.sleep",
    "utl_inaddr.get_host_address",
    "utl_http.request",
    "randomblob",
    "zeroblob",
    "likelihood",
    "sqlite_source_id",
    "sqlite_compileoption_used",
    "sqlite_compileoption_get",
    "last_insert_rowid",
    "total_changes",
    "group_concat",
    "concat_ws",
    "unhex",
    "load_extension",
    "pg_read_file",
    "pg_ls_dir",
    "lo_import",
    "lo_export",
    "lo_get",
    "name_const",
    "make_set",
    "openrowset",
    "opendatasource",
    "dbms_xmlgen.getxml",
    "ctxsys.drithsx.sn",
    "sys.fn_sqlvarbasetostr",
    "db_name",
    "schema_name",
    "current_user",
    "system_user",
    "session_user",
    "user_name",
    "xmltype",
    "find_in_set",
    "geometrycollection",
    "multipoint",
    "multipolygon",
    "multilinestring",
    "linestring",
    "polygon",
    "json_keys",
    "sqlite_version",
    "database",
    "uncompress",
    "ifnull",
    "nvl",
    "iif",
    "elt",
    "sysdate",
    "starts_with",
    "jsonb_pretty",
    "json_build_object",
    "unistr",
    "json_extract",
    "procedure",
];

/// Common SQL functions (shared with other languages, so only judged in
/// a lone unclosed call).
const SQL_FUNCS: &[&str] = &[
    "abs",
    "ascii",
    "avg",
    "cast",
    "ceil",
    "char",
    "chr",
    "coalesce",
    "compress",
    "concat",
    "convert",
    "cos",
    "count",
    "date",
    "day",
    "decode",
    "encode",
    "floor",
    "format",
    "hex",
    "if",
    "insert",
    "instr",
    "lcase",
    "left",
    "length",
    "ln",
    "locate",
    "log",
    "lower",
    "lpad",
    "ltrim",
    "max",
    "md5",
    "mid",
    "min",
    "minute",
    "month",
    "now",
    "ord",
    "pi",
    "position",
    "pow",
    "power",
    "quarter",
    "rand",
    "repeat",
    "replace",
    "reverse",
    "right",
    "round",
    "rpad",
    "rtrim",
    "sha1",
    "sign",
    "sin",
    "sqrt",
    "strcmp",
    "substr",
    "substring",
    "sum",
    "tan",
    "time",
    "trim",
    "ucase",
    "upper",
    "user",
    "version",
    "year",
    "values",
];

/// Type names after a PostgreSQL `::` cast.
const SQL_TYPES: &[&str] = &[
    "int", "int4", "int8", "integer", "bigint", "smallint", "text", "bool", "boolean", "json",
    "jsonb", "varchar", "char", "regclass", "oid", "bytea", "numeric", "double", "float", "real",
    "date", "inet", "xml", "money", "uuid",
];

impl Reading<'_> {
    /// The byte at the start of token `i`.
    fn byte(&self, i: usize) -> u8 {
        self.t
            .get(i)
            .and_then(|&(_, p)| self.s.get(p).copied())
            .unwrap_or(0)
    }

    /// Whether token `i` is a `:` with a blank or the end after it.
    fn label_colon(&self, i: usize) -> bool {
        self.t.get(i).is_some_and(|&(_, p)| {
            self.s.get(p) == Some(&b':')
                && self.s.get(p + 1).is_none_or(|c| c.is_ascii_whitespace())
        })
    }

    /// The previous non-comment token before `i`.
    fn prev(&self, i: usize) -> Option<Tok> {
        let mut k = i;
        while k > 0 {
            k -= 1;
            match self.at(k) {
                Some(Tok::Comment) => continue,
                t => return t,
            }
        }
        None
    }

    /// Whether token `i` is the SQL-only function named by its text.
    fn sql_only(&self, i: usize) -> bool {
        let Some(&(_, start)) = self.t.get(i) else {
            return false;
        };
        let rest = self.s.get(start..).unwrap_or(&[]);
        let len = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'$'))
            .count();
        let w = rest.get(..len).unwrap_or(&[]);
        SQL_ONLY_FUNCS
            .iter()
            .any(|k| k.as_bytes().eq_ignore_ascii_case(w))
    }

    /// A geometry in well-known text at `i`: `POLYGON((30 10, 40 40, 30 10))`,
    /// `GEOMETRYCOLLECTION (POINT (40 10), LINESTRING (10 10, 20 20))`, as
    /// GIS APIs and spatial filters carry them. These are the constructors
    /// MySQL error-based injection calls, but that needs a subquery or an
    /// expression inside; here there are only coordinates, closed.
    fn wkt(&self, i: usize) -> bool {
        const DIMENSIONS: &[&str] = &["point", "z", "m", "zm"];
        if !self.word_is(i, GEOMETRIES) {
            return false;
        }
        let mut depth = 0u32;
        for j in i + 1..self.t.len() {
            match self.at(j) {
                Some(Tok::LParen) => depth += 1,
                Some(Tok::RParen) => match depth {
                    0 => return false,
                    1 => return true,
                    _ => depth -= 1,
                },
                Some(Tok::Num | Tok::Comma) => {}
                Some(Tok::Op) if matches!(self.text(j), b"-" | b"+") => {}
                Some(Tok::Word | Tok::Func(_))
                    if self.word_is(j, GEOMETRIES) || self.word_is(j, DIMENSIONS) => {}
                _ => return false,
            }
        }
        false
    }

    /// A comparison between two literals at `i` (the operator): `1=1`,
    /// `'a'='a'`, `42 like 42`, `1 is not 2`. Not arithmetic (`2+2=4`) and
    /// not an ordering between numbers (`5 < 10`).
    fn literal_compare(&self, i: usize) -> Option<f32> {
        let mut p = i.checked_sub(1)?;
        if self.at(p) == Some(Tok::Kw(Kw::Not)) {
            p = p.checked_sub(1)?;
        }
        let a = self.at(p)?;
        if !literal(Some(a)) {
            return None;
        }
        // What comes before the left literal must not be arithmetic or a word.
        if !matches!(
            self.prev(p),
            None | Some(Tok::Logic | Tok::LParen | Tok::Comma | Tok::Kw(_) | Tok::Semi)
        ) {
            return None;
        }
        let mut j = self.code(i + 1);
        if self.at(j) == Some(Tok::Kw(Kw::Not)) {
            j = self.code(j + 1);
        }
        let b = self.at(j)?;
        if !literal(Some(b)) {
            return None;
        }
        // The right literal must end the expression.
        if matches!(
            self.at(j + 1),
            Some(Tok::Op | Tok::Word | Tok::Num | Tok::Str(_) | Tok::Cmp)
        ) {
            return None;
        }
        let ordering = matches!(self.text(i), b"<" | b">" | b"<=" | b">=");
        let same = self.text(p) == self.text(j);
        if ordering && a == Tok::Num && b == Tok::Num && !same {
            return None;
        }
        Some(if same { 0.75 } else { 0.6 })
    }

    /// The source text of token `i` (up to the next token).
    fn text(&self, i: usize) -> &[u8] {
        let start = self.t.get(i).map_or(0, |x| x.1);
        let end = self.t.get(i + 1).map_or(self.s.len(), |x| x.1);
        let w = self.s.get(start..end).unwrap_or(&[]);
        let n = w
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_whitespace())
            .count();
        let w = w.get(..w.len() - n).unwrap_or(&[]);
        // A closed string compares by content, so `'1'='1'` and `'1'='1` agree.
        let w = w.strip_prefix(b"'").unwrap_or(w);
        w.strip_suffix(b"'").unwrap_or(w)
    }

    /// `THING FROM` tail at `i` (`From`): a subquery, or a table followed by a
    /// clause only SQL writes.
    fn after_from(&self, i: usize) -> Option<Found> {
        let mut j = self.code(i + 1);
        let t = self.at(j)?;
        if t == Tok::LParen && self.at(self.code(j + 1)) == Some(Tok::Kw(Kw::Select)) {
            return Some(("sqli.subquery", 0.85));
        }
        if !matches!(t, Tok::Word | Tok::QIdent | Tok::Schema) {
            return None;
        }
        let quoted = matches!(t, Tok::QIdent | Tok::Schema);
        // ``from `information_schema` ``: the catalog quoted as a table.
        if t == Tok::QIdent {
            let name = self.text(j);
            let name = name.strip_prefix(b"`").unwrap_or(name);
            let name = name.strip_suffix(b"`").unwrap_or(name);
            if SCHEMA_WORDS
                .iter()
                .any(|w| w.as_bytes().eq_ignore_ascii_case(name))
            {
                return Some(("sqli.from_clause", 0.8));
            }
        }
        // `a`.`b`
        while self.at(j + 1) == Some(Tok::Other)
            && self.byte(j + 1) == b'.'
            && matches!(self.at(j + 2), Some(Tok::QIdent | Tok::Word))
        {
            j += 2;
        }
        let k = self.code(j + 1);
        match self.at(k)? {
            Tok::Kw(Kw::Where) => {
                let c = self.code(k + 1);
                (operand(self.at(c)) && matches!(self.at(self.code(c + 1)), Some(Tok::Cmp)))
                    .then_some(("sqli.from_where", 0.8))
            }
            Tok::Kw(Kw::OrderGroup) if quoted => Some(("sqli.from_clause", 0.75)),
            Tok::Kw(Kw::OrderGroup) => (matches!(self.at(self.code(k + 2)), Some(Tok::QIdent))
                || self.word_is(k + 2, &["by"]) && self.at(self.code(k + 3)).is_none())
            .then_some(("sqli.from_clause", 0.6)),
            Tok::Kw(Kw::Other) if quoted && self.word_is(k, &["limit", "join"]) => {
                Some(("sqli.from_clause", 0.75))
            }
            _ => None,
        }
    }

    /// `SELECT` at `i` followed by what only a query selects.
    fn select_what(&self, i: usize) -> Option<Found> {
        let j = self.code(i + 1);
        match self.at(j)? {
            Tok::Func(_) if self.sql_only(j) => Some(("sqli.select_function", 0.85)),
            Tok::Func(true) => Some(("sqli.select_function", 0.8)),
            Tok::Func(false) => Some(("sqli.select_function", 0.6)),
            Tok::Word if self.sql_only(j) => Some(("sqli.select_function", 0.7)),
            Tok::LParen => matches!(
                self.at(self.code(j + 1)),
                Some(Tok::Kw(Kw::Select | Kw::Case) | Tok::Func(_) | Tok::Var)
            )
            .then_some(("sqli.select_function", 0.85)),
            Tok::Var => Some(("sqli.select_variable", 0.8)),
            Tok::Num if self.byte(j) == b'0' && self.text(j).len() > 2 => {
                Some(("sqli.select_hex", 0.7))
            }
            _ => None,
        }
    }
}

/// The rules of the grammar beyond the core ones in [`judge`].
fn structure(r: &Reading<'_>, broke: bool) -> Option<Found> {
    let mut found = None;
    let c0 = r.code(0);
    let first = r.at(c0);
    if broke {
        found = best(found, broken(r));
    } else {
        // A fragment that starts inside a condition: `AND 1=(`, `OR (1=2)`,
        // `|| name == '`, `xor 5>`.
        if first == Some(Tok::Logic) {
            let mut k = r.code(c0 + 1);
            while r.at(k) == Some(Tok::LParen) {
                k = r.code(k + 1);
            }
            let a = r.at(k);
            let after = r.at(r.code(k + 1));
            let f = if r.at(k) == Some(Tok::Kw(Kw::Not)) || r.at(k) == Some(Tok::Func(true)) {
                Some(0.7)
            } else if operand(a) && a != Some(Tok::LParen) {
                match after {
                    Some(Tok::Cmp | Tok::JsonOp | Tok::Cast) => Some(0.7),
                    Some(Tok::Comment | Tok::Semi) => Some(0.65),
                    None if literal(a) => Some(0.55),
                    Some(Tok::Op) if literal(a) || r.byte(r.code(k + 1)) == b'!' => Some(0.6),
                    _ => None,
                }
            } else {
                None
            };
            found = best(found, f.map(|c| ("sqli.leading_logic", c)));
        }
        // `;update users`, `; select`
        if first == Some(Tok::Semi) {
            let k = r.code(c0 + 1);
            let f = if r.statement(k) {
                Some(0.85)
            } else if matches!(
                r.at(k),
                Some(Tok::Kw(
                    Kw::Dml(_) | Kw::Ddl | Kw::Exec | Kw::Select | Kw::Set
                ))
            ) {
                Some(0.65)
            } else {
                None
            };
            found = best(found, f.map(|c| ("sqli.stacked", c)));
        }
        // A value, then a condition: `x or 1=1`, `'a' and sleep(1)`.
        if matches!(first, Some(Tok::Word | Tok::Str(_) | Tok::QIdent)) {
            let mut k = c0 + 1;
            while r.at(k) == Some(Tok::RParen) {
                k += 1;
            }
            let k = r.code(k);
            if r.at(k) == Some(Tok::Logic) {
                found = best(
                    found,
                    r.condition(k + 1)
                        .filter(|c| *c >= 0.8)
                        .map(|c| ("sqli.value_logic", c)),
                );
            }
        }
        // A statement as the whole value: `DROP TABLE x`, `DECLARE @x`. Not
        // `SELECT orders`, a SELECT of one name and nothing else: a trace
        // span's name (OpenTelemetry names database spans so), a heading,
        // a button (after a quote or a `;` the stacked checks above judge
        // a bare `select p`).
        if matches!(first, Some(Tok::Kw(Kw::Select | Kw::Dml(_) | Kw::Ddl))) {
            let name = r.code(r.code(c0) + 1);
            let one_name = first == Some(Tok::Kw(Kw::Select))
                && r.at(name) == Some(Tok::Word)
                && r.at(r.code(name + 1)).is_none();
            found = best(
                found,
                (!one_name && r.statement(c0)).then_some(("sqli.statement", 0.7)),
            );
        }
    }
    if !broke {
        found = best(found, compare_chain(r, c0));
        found = best(found, closing_compare(r, c0));
    }
    // An unclosed `IF(` opening on a literal comparison (`if(2=`): the
    // probe of a conditional injection; code compares a name, not a literal.
    if !broke && r.word_is(c0, &["if", "iif"]) && r.at(r.code(c0 + 1)) == Some(Tok::LParen) {
        let a = r.code(r.code(c0 + 1) + 1);
        if matches!(r.at(a), Some(Tok::Num | Tok::Str(_)))
            && r.at(r.code(a + 1)) == Some(Tok::Cmp)
            && !r.t.iter().any(|t| t.0 == Tok::RParen)
        {
            found = best(found, Some(("sqli.call_fragment", 0.6)));
        }
    }
    // A lone, unclosed SQL call: `sleep(`, `unhex(`, `MAX(1`.
    if !broke && matches!(first, Some(Tok::Func(_))) && r.at(r.code(c0 + 1)) == Some(Tok::LParen) {
        let closed = r.t.iter().any(|t| t.0 == Tok::RParen);
        let plain = r.t.iter().skip(c0 + 2).all(|t| {
            matches!(
                t.0,
                Tok::Num
                    | Tok::Str(_)
                    | Tok::Word
                    | Tok::Comma
                    | Tok::Comment
                    | Tok::Func(_)
                    | Tok::LParen
            )
        });
        if !closed && plain {
            let f = if r.sql_only(c0) || r.at(c0) == Some(Tok::Func(true)) {
                0.65
            } else if r.word_in(c0, SQL_FUNCS, &SQL_FUNCS_HEADS) {
                0.5
            } else {
                0.0
            };
            found = best(found, (f > 0.0).then_some(("sqli.call_fragment", f)));
        }
    }
    for (i, &(tok, _)) in r.t.iter().enumerate() {
        let f = match tok {
            Tok::Cmp
                if r.word_is(i, &["in"])
                    && r.at(r.code(i + 1)) == Some(Tok::LParen)
                    && r.at(r.code(r.code(i + 1) + 1)) == Some(Tok::Kw(Kw::Select)) =>
            {
                Some(("sqli.subquery", 0.8))
            }
            Tok::Cmp => r.literal_compare(i).map(|c| ("sqli.tautology", c)),
            Tok::Func(_) if r.sql_only(i) && r.sql_args(i) && !r.wkt(i) => {
                let prev = r.prev(i);
                Some((
                    "sqli.function",
                    if matches!(prev, Some(Tok::Word | Tok::Str(_))) {
                        0.55
                    } else {
                        0.75
                    },
                ))
            }
            Tok::Word | Tok::Func(_) if r.word_in(i, SQL_PROCS, &SQL_PROCS_HEADS) => {
                Some(("sqli.procedure", 0.7))
            }
            Tok::Cast => {
                let j = r.code(i + 1);
                (r.at(j) == Some(Tok::Word) && r.word_is(j, SQL_TYPES))
                    .then_some(("sqli.cast", 0.7))
            }
            Tok::JsonOp => {
                let prev = r.prev(i);
                let next = r.at(r.code(i + 1));
                let cast = i >= 2 && r.at(i - 2) == Some(Tok::Cast);
                (matches!(prev, Some(Tok::Str(_) | Tok::RParen) | Some(Tok::Word) if cast || prev != Some(Tok::Word))
                    && matches!(next, Some(Tok::Str(_) | Tok::Num) | Some(Tok::Word) if r.word_is(r.code(i + 1), &["array"])))
                .then_some(("sqli.json_operator", 0.7))
            }
            Tok::Kw(Kw::As) => {
                let prev = r.prev(i);
                let j = r.code(i + 1);
                let alias = r.at(j);
                let from = r.code(j + 1);
                // `6 As" from`: the alias's quote is the break, `from` follows it.
                let broken_alias = alias == Some(Tok::Str(false))
                    && r.text(j)
                        .get(1..)
                        .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"from"))
                    && matches!(prev, Some(Tok::Num | Tok::RParen | Tok::QIdent));
                (broken_alias
                    || matches!(alias, Some(Tok::Word | Tok::QIdent | Tok::Str(true)))
                    && r.at(from) == Some(Tok::Kw(Kw::From))
                    // `from the mine`: an article is no table name.
                    && !r.word_is(r.code(from + 1), ARTICLES)
                    && (matches!(
                        prev,
                        Some(Tok::RParen | Tok::QIdent | Tok::Num | Tok::Str(_))
                    ) || matches!(alias, Some(Tok::QIdent | Tok::Str(_)))))
                .then_some(("sqli.select_alias", if broken_alias { 0.65 } else { 0.7 }))
            }
            Tok::Kw(Kw::From) => r.after_from(i),
            Tok::Kw(Kw::Select) => r.select_what(i),
            Tok::Kw(Kw::OrderGroup) if r.word_is(r.code(i + 1), &["by"]) => {
                let j = r.code(r.code(i + 1) + 1);
                match r.at(j) {
                    Some(Tok::Num)
                        if matches!(
                            r.at(j + 1),
                            None | Some(Tok::Comment | Tok::Comma | Tok::Semi | Tok::Logic)
                        ) =>
                    {
                        Some(("sqli.order_by", 0.7))
                    }
                    Some(Tok::Func(_)) if r.word_is(j, &["if", "iif", "case"]) || r.sql_only(j) => {
                        Some(("sqli.order_by", 0.75))
                    }
                    Some(Tok::Func(_)) if matches!(r.prev(i), Some(Tok::Num | Tok::RParen)) => {
                        Some(("sqli.order_by", 0.7))
                    }
                    _ => None,
                }
            }
            Tok::Kw(Kw::Having) => {
                let j = r.code(i + 1);
                match r.at(j) {
                    Some(Tok::Func(_)) => Some(("sqli.having", 0.7)),
                    Some(Tok::Num) if r.at(r.code(j + 1)) == Some(Tok::Cmp) => {
                        Some(("sqli.having", 0.75))
                    }
                    _ => None,
                }
            }
            Tok::Kw(Kw::Case) if r.at(r.code(i + 1)) == Some(Tok::Kw(Kw::When)) => {
                let j = r.code(r.code(i + 1) + 1);
                let after = r.at(r.code(j + 1));
                (operand(r.at(j))
                    && (after == Some(Tok::Cmp) || r.word_is(r.code(j + 1), &["then"])))
                .then_some(("sqli.case_when", 0.7))
            }
            Tok::Kw(Kw::When) if r.prev(i) == Some(Tok::RParen) => {
                let j = r.code(i + 1);
                (literal(r.at(j)) && r.word_is(r.code(j + 1), &["then"]))
                    .then_some(("sqli.case_when", 0.65))
            }
            Tok::Kw(Kw::Into) => {
                let j = r.code(i + 1);
                r.word_is(j, &["outfile", "dumpfile"])
                    .then_some(("sqli.into_outfile", 0.9))
            }
            Tok::Kw(Kw::Other) if r.word_is(i, &["procedure"]) => r
                .word_is(r.code(i + 1), &["analyse", "analyze"])
                .then_some(("sqli.procedure_analyse", 0.85)),
            Tok::Kw(Kw::Exec) => {
                let j = r.code(i + 1);
                if r.word_is(i, &["declare"]) {
                    (r.at(j) == Some(Tok::Var)).then_some(("sqli.declare", 0.8))
                } else if r.word_is(j, &["immediate"]) {
                    Some(("sqli.exec", 0.8))
                } else {
                    (r.at(j) == Some(Tok::Schema)
                        || r.at(j) == Some(Tok::Func(true))
                        || matches!(
                            r.text(j).get(..3),
                            Some(b"xp_" | b"sp_" | b"mas" | b"XP_" | b"SP_" | b"MAS")
                        ))
                    .then_some(("sqli.exec", 0.85))
                }
            }
            Tok::Kw(Kw::Waitfor) => r
                .word_is(r.code(i + 1), &["delay", "time"])
                .then_some(("sqli.waitfor", 0.9)),
            Tok::Kw(Kw::Set) if r.prev(i).is_none() || r.prev(i) == Some(Tok::Semi) => {
                (r.at(r.code(i + 1)) == Some(Tok::Var)).then_some(("sqli.set_variable", 0.7))
            }
            Tok::Kw(Kw::Ddl)
                if matches!(r.prev(i), None | Some(Tok::Semi))
                    // After a break, not inside a sentence (`Tom's CREATE TABLE question`).
                    || broke && r.prev(i) != Some(Tok::Word)
                    // `/CREATE TABLE x`: only a slash before the statement.
                    || (i == 1 && r.at(0) == Some(Tok::Op) && r.byte(0) == b'/') =>
            {
                let j = r.code(i + 1);
                if r.word_is(j, &["table", "database", "function", "procedure", "view"])
                    && matches!(r.at(r.code(j + 1)), Some(Tok::Word | Tok::QIdent))
                {
                    let k = r.code(j + 2);
                    // A word after the name only as DDL's own last word
                    // (`DROP TABLE x CASCADE`), not `create table for six persons`.
                    (matches!(r.at(k), None | Some(Tok::LParen | Tok::Semi | Tok::Comment))
                        || r.word_is(k, DDL_TRAILERS)
                            && matches!(r.at(k + 1), None | Some(Tok::Semi | Tok::Comment)))
                    .then_some(("sqli.ddl", 0.75))
                } else {
                    // `DROP sampletable;`, `DROP/*x*/sampletable`: a comment
                    // for a blank is SQL's alone.
                    (matches!(r.at(j), Some(Tok::Word | Tok::QIdent))
                        && (matches!(r.at(j + 1), Some(Tok::Semi | Tok::Comment))
                            || r.at(i + 1) == Some(Tok::Comment) && r.at(j + 1).is_none()))
                    .then_some(("sqli.ddl", 0.7))
                }
            }
            Tok::Logic => {
                // `or true`, `and false--`
                let j = r.code(i + 1);
                let p = r.prev(i);
                (r.word_is(j, &["true", "false"])
                    && matches!(
                        r.at(j + 1),
                        None | Some(Tok::Comment | Tok::Semi | Tok::RParen)
                    )
                    && (broke || matches!(p, Some(Tok::Num | Tok::Str(_) | Tok::RParen)))
                    && !(i > 0 && r.word_is(i - 1, &["true", "false", "null"])))
                .then_some(("sqli.tautology", 0.7))
            }
            _ => None,
        };
        found = best(found, f);
    }
    found
}

/// A chain of comparisons between literals that is the whole value, one
/// of them a string: `'{"a":2}' < '$.a' = 7` (SQLite's JSON path compare),
/// `'a' = 'b' = 0`. Prose and arithmetic do not chain comparisons of
/// quoted strings.
fn compare_chain(r: &Reading<'_>, c0: usize) -> Option<Found> {
    let mut i = c0;
    let mut strings = 0;
    let mut n = 0;
    loop {
        let t = r.at(i)?;
        if !literal(Some(t)) {
            return None;
        }
        strings += usize::from(t == Tok::Str(true));
        n += 1;
        i = r.code(i + 1);
        match r.at(i) {
            Some(Tok::Cmp) => i = r.code(i + 1),
            None | Some(Tok::Comment | Tok::Semi) => break,
            _ => return None,
        }
    }
    (n >= 3 && strings >= 1).then_some(("sqli.compare_chain", 0.65))
}

/// A value that closes a group, compares with a word operator and opens
/// another: `) like (`, `)rlike(`: the middle of a conditional injection.
fn closing_compare(r: &Reading<'_>, c0: usize) -> Option<Found> {
    if r.at(c0) != Some(Tok::RParen) {
        return None;
    }
    let k = r.code(c0 + 1);
    (r.at(k) == Some(Tok::Cmp)
        && r.word_is(k, &["like", "rlike", "regexp", "ilike", "glob"])
        && r.at(r.code(k + 1)) == Some(Tok::LParen))
    .then_some(("sqli.closing_compare", 0.6))
}

/// Words that end a DDL statement after the object's name.
const DDL_TRAILERS: &[&str] = &["cascade", "purge", "restrict"];

/// Rules for a reading that starts right after a string break.
fn broken(r: &Reading<'_>) -> Option<Found> {
    let c0 = r.code(0);
    let first = r.at(c0)?;
    let mut found = None;
    match first {
        Tok::Logic => {
            // `' or xyz!`, `'or 0>`, `a'or'a`, `'||true`
            let mut k = r.code(c0 + 1);
            while r.at(k) == Some(Tok::LParen) {
                k = r.code(k + 1);
            }
            let a = r.at(k);
            let after = r.at(r.code(k + 1));
            let f = if operand(a) {
                match after {
                    Some(Tok::Cmp | Tok::JsonOp | Tok::Comment | Tok::Semi | Tok::Cast) => {
                        Some(0.75)
                    }
                    Some(Tok::Op) => Some(0.65),
                    None | Some(Tok::Comma) if literal(a) => Some(0.65),
                    _ if matches!(a, Some(Tok::Str(_))) => Some(0.6),
                    _ => None,
                }
            } else if matches!(a, Some(Tok::Kw(Kw::Not))) {
                Some(0.65)
            } else {
                None
            };
            found = best(found, f.map(|c| ("sqli.break_logic", c)));
        }
        Tok::Semi => {
            let k = r.code(c0 + 1);
            if r.at(k).is_none() || r.at(k) == Some(Tok::Comment) {
                found = Some(("sqli.break_stacked", 0.6));
            }
        }
        Tok::Kw(Kw::As) => {
            // `` ` AS `alias` FROM ``: a select list column closed by the break.
            let k = r.code(c0 + 1);
            if matches!(r.at(k), Some(Tok::QIdent | Tok::Str(_)))
                && r.at(r.code(k + 1)) == Some(Tok::Kw(Kw::From))
            {
                found = Some(("sqli.break_alias", 0.7));
            }
        }
        Tok::Cmp => {
            // `'glob 1;`
            let k = r.code(c0 + 1);
            if literal(r.at(k)) && matches!(r.at(r.code(k + 1)), Some(Tok::Semi)) {
                found = Some(("sqli.break_compare", 0.6));
            }
        }
        _ => {}
    }
    // `x'-email--`, `id'is not-id--`, `user'collate nocase--`: a short
    // expression, no English, closed by a comment.
    if matches!(
        first,
        Tok::Logic
            | Tok::Cmp
            | Tok::Op
            | Tok::Kw(_)
            | Tok::Func(_)
            | Tok::Semi
            | Tok::RParen
            | Tok::Cast
            | Tok::JsonOp
    ) {
        let last = r.t.len().saturating_sub(1);
        let n_code = r.t.iter().filter(|t| t.0 != Tok::Comment).count();
        // (PostgreSQL's `similar to` is an operator, not two words.)
        let similar_to = |k: usize| r.word_is(k, &["similar"]) && r.word_is(k + 1, &["to"]);
        let english = (1..r.t.len()).any(|k| {
            r.at(k - 1) == Some(Tok::Word)
                && r.at(k) == Some(Tok::Word)
                && !similar_to(k - 1)
                && !(k >= 2 && similar_to(k - 2))
        });
        if last > c0
            && r.at(last) == Some(Tok::Comment)
            && r.closing_comment(last)
            && n_code <= 16
            && !english
        {
            found = best(found, Some(("sqli.break_comment", 0.8)));
        }
    }
    found
}

/// Unicode quote look-alikes some applications fold to `'`.
fn fold_quotes(s: &str) -> Option<String> {
    // Each look-alike's UTF-8 starts with one of these bytes (U+2018 and
    // U+2019 `E2 80 ..`, U+00B4 `C2 B4`, U+02BC `CA BC`): most values have
    // none of them and are passed over by one byte search.
    memchr::memchr3(0xe2, 0xc2, 0xca, s.as_bytes())?;
    s.contains(['\u{2018}', '\u{2019}', '\u{00b4}', '\u{02bc}'])
        .then(|| s.replace(['\u{2018}', '\u{2019}', '\u{00b4}', '\u{02bc}'], "'"))
}

/// Which (length, lower-cased first byte) pairs `words` holds, for
/// [`Reading::word_in`]; lengths past the table are let through.
fn heads(words: &[&str]) -> Vec<[bool; 128]> {
    let mut t = vec![[false; 128]; 48];
    for w in words {
        let first = w.as_bytes().first().map_or(0, u8::to_ascii_lowercase);
        match t
            .get_mut(w.len())
            .and_then(|row| row.get_mut(usize::from(first)))
        {
            Some(cell) => *cell = true,
            // A word the table cannot hold: let every word through.
            None => t.iter_mut().for_each(|row| *row = [true; 128]),
        }
    }
    t
}

static SQL_PROCS_HEADS: std::sync::LazyLock<Vec<[bool; 128]>> =
    std::sync::LazyLock::new(|| heads(SQL_PROCS));
static SQL_FUNCS_HEADS: std::sync::LazyLock<Vec<[bool; 128]>> =
    std::sync::LazyLock::new(|| heads(SQL_FUNCS));

/// Reusable scratch space.
#[derive(Default)]
pub struct Scratch {
    toks: Vec<(Tok, usize)>,
    /// A word being lower-cased by [`tokenize`].
    word: String,
    /// The value with `+` read as a blank (see [`detect_bytes`]).
    plus: Vec<u8>,
}

/// Judges a decoded value: the best finding over its readings: as code,
/// after breaking out of a `'`, `"` or `` ` `` string, and (for `name=...`
/// fragments) the part after the first `=`.
pub fn detect(s: &str, scratch: &mut Scratch) -> Option<Found> {
    let b = s.as_bytes();
    // Cheap exit: SQL needs a letter or a quote.
    if b.len() < 2
        || !b.iter().any(|c| {
            c.is_ascii_alphabetic() || matches!(c, b'\'' | b'"' | b'`' | b'=' | b'<' | b'>' | b'!')
        })
    {
        return None;
    }
    if b.trim_ascii() == DENORMAL {
        return Some(("sqli.magic_number", 0.6));
    }
    let shapes = mysql_shapes(b);
    if let Some(f) = fold_quotes(s) {
        return best(shapes, detect_bytes(f.as_bytes(), scratch));
    }
    best(shapes, detect_bytes(b, scratch))
}

/// The smallest normal double spelled as PHP's and Java's float parsers
/// once looped on (CVE-2010-4645): no form field holds it.
const DENORMAL: &[u8] = b"2.2250738585072011e-308";

/// Integer-overflow probes as a whole value (CRS 942220): 2^31 and 2^32
/// edges. Level 2, since 64-bit ids and `limit=2147483647` are normal.
const OVERFLOW_NUMBERS: &[&[u8]] = &[
    b"4294967295",
    b"4294967296",
    b"2147483648",
    b"-2147483648",
    b"-2147483649",
];

/// Keywords a MySQL executable comment hides.
const HIDDEN_KEYWORDS: &[&[u8]] = &[
    b"select",
    b"union",
    b"from",
    b"where",
    b"and",
    b"or",
    b"insert",
    b"update",
    b"delete",
    b"drop",
    b"sleep",
    b"benchmark",
];

/// MySQL-only spellings no other text has: an executable comment with a
/// version and a keyword (`/*!50000select`, `/*+!5000select`; not a
/// `/*! jQuery v3 */` licence banner), and a number glued to a call or a
/// name through `.e` (`1.e(ascii)`, `1.e.tables`), the scientific-notation
/// trick that splits a keyword from what follows.
fn mysql_shapes(b: &[u8]) -> Option<Found> {
    let mut found = None;
    if memchr::memchr(b'*', b).is_some() {
        for at in memchr::memmem::find_iter(b, b"/*").take(16) {
            let mut i = at + 2;
            if b.get(i) == Some(&b'+') {
                i += 1;
            }
            if b.get(i) != Some(&b'!') {
                continue;
            }
            i += 1;
            let digits = b
                .get(i..)
                .unwrap_or(&[])
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            i += digits;
            let rest = b.get(i..).unwrap_or(&[]);
            let kw = HIDDEN_KEYWORDS.iter().any(|k| {
                rest.get(..k.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(k))
                    && !rest.get(k.len()).is_some_and(u8::is_ascii_alphanumeric)
            });
            if kw && (digits >= 4 || digits == 0) {
                found = Some(("sqli.versioned_comment", 0.8));
                break;
            }
        }
    }
    if found.is_none() && b.len() >= 4 {
        for at in memchr::memmem::find_iter(b, b".e").take(16) {
            let digit_before = at
                .checked_sub(1)
                .and_then(|p| b.get(p))
                .is_some_and(u8::is_ascii_digit);
            // The number starts the value or follows a blank, `(`, `=` or `,`.
            let start = b
                .get(..at)
                .unwrap_or(&[])
                .iter()
                .rev()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let lead = at
                .checked_sub(start + 1)
                .and_then(|p| b.get(p))
                .is_none_or(|c| matches!(c, b' ' | b'(' | b'=' | b',' | b'\t'));
            let after = b.get(at + 2..).unwrap_or(&[]);
            let glued = matches!(after.first(), Some(b'(' | b')' | b','))
                || (after.first() == Some(&b'.') && {
                    // `1.e.tables`, not the `1.e.g.` of prose.
                    let name = after.get(1..).unwrap_or(&[]);
                    let n = name
                        .iter()
                        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                        .count();
                    n >= 2
                        && name.first().is_some_and(u8::is_ascii_alphabetic)
                        && name.get(n) != Some(&b'.')
                });
            if digit_before && lead && glued {
                found = Some(("sqli.number_glue", 0.6));
                break;
            }
        }
    }
    found
}

fn detect_bytes(b: &[u8], scratch: &mut Scratch) -> Option<Found> {
    let mut found = None;
    tokenize(b, &mut scratch.toks, &mut scratch.word);
    if !scratch.toks.is_empty() {
        found = judge(&scratch.toks, b, false);
    }
    for q in [b'\'', b'"', b'`'] {
        if found.is_some_and(|f: Found| f.1 >= 0.9) {
            return found;
        }
        if let Some(at) = memchr::memchr(q, b) {
            let rest = b.get(at + 1..).unwrap_or(&[]);
            tokenize(rest, &mut scratch.toks, &mut scratch.word);
            if q == b'`' {
                // A backtick also opens Markdown code: only the break itself counts.
                let r = Reading {
                    t: &scratch.toks,
                    s: rest,
                };
                found = best(found, broken(&r));
            } else {
                found = best(found, judge(&scratch.toks, rest, true));
            }
        }
    }
    // `pay=AND 1=1`: a parameter that carries its own `name=`.
    let name = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'[' | b']' | b'.'))
        .count();
    if name > 0 && b.get(name) == Some(&b'=') && found.is_none_or(|f| f.1 < 0.9) {
        let rest = b.get(name + 1..).unwrap_or(&[]);
        tokenize(rest, &mut scratch.toks, &mut scratch.word);
        if !scratch.toks.is_empty() {
            found = best(found, judge(&scratch.toks, rest, false));
        }
    }
    // `24'union+all+select+1,2,3`: a path segment or raw value where `+` is
    // the blank a form decoder would have made of it. Only for a value with
    // no blank of its own, a quote to break out of and `+` before a word.
    if found.is_none()
        && b.len() <= 4096
        && memchr::memchr(b' ', b).is_none()
        && memchr::memchr3(b'\'', b'"', b'`', b).is_some()
        && b.windows(2)
            .any(|w| w[0] == b'+' && w[1].is_ascii_alphabetic())
    {
        let mut buf = std::mem::take(&mut scratch.plus);
        buf.clear();
        buf.extend(b.iter().map(|&c| if c == b'+' { b' ' } else { c }));
        found = detect_bytes(&buf, scratch);
        scratch.plus = buf;
    }
    found
}

// ---- Paranoia levels 2-4 -------------------------------------------------
//
// Fragments CRS reports only at its higher paranoia levels: benign values
// take these shapes too, so they run only when the user asks for the level
// (`DetectConfig::paranoia`). Each rule names its level in its id
// (`sqli.pl2.*`, `sqli.pl3.*`, `sqli.pl4.*`) and is read through the same
// tokenizer as the level-1 grammar where the shape is SQL.

/// Names CRS's 942410 sees as a call stub (`replace(`, `IN (`): SQL
/// functions and the keywords written like one.
const STUB_NAMES: &[&str] = &[
    "in",
    "values",
    "if",
    "default",
    "local",
    "password",
    "user",
    "version",
    "date",
    "day",
    "month",
    "year",
    "left",
    "right",
    "replace",
    "length",
    "ln",
    "log",
    "exists",
    "concat",
    "substring",
    "substr",
    "mid",
    "ord",
    "hex",
    "unhex",
    "char",
    "ascii",
    "count",
    "sum",
    "database",
    "schema",
    "load_file",
    "sleep",
    "benchmark",
    "elt",
    "field",
    "cast",
    "convert",
];

/// SQL column type and catalog names (942470): a bare one is a probe.
const TYPE_NAMES: &[&str] = &[
    "varchar",
    "nvarchar",
    "nchar",
    "varbinary",
    "ntext",
    "sysobjects",
    "syscolumns",
    "sysusers",
    "sysdatabases",
    "xtype",
];

/// CRS's restricted characters (942430-942432, 942420/942421).
fn special(c: u8) -> bool {
    matches!(
        c,
        b'~' | b'!'
            | b'@'
            | b'#'
            | b'$'
            | b'%'
            | b'^'
            | b'&'
            | b'*'
            | b'('
            | b')'
            | b'-'
            | b'+'
            | b'='
            | b'{'
            | b'}'
            | b'['
            | b']'
            | b'|'
            | b':'
            | b';'
            | b'"'
            | b'\''
            | b'`'
            | b'<'
            | b'>'
    )
}

/// The text of token `i` of `t` over `s`, blanks trimmed.
fn tok_text<'s>(t: &[(Tok, usize)], s: &'s [u8], i: usize) -> &'s [u8] {
    let Some(&(_, start)) = t.get(i) else {
        return &[];
    };
    let end = t.get(i + 1).map_or(s.len(), |x| x.1);
    s.get(start..end).unwrap_or(&[]).trim_ascii()
}

/// An operator only SQL writes, at token `i` (942120): `<>`, `<=>`, `!=`,
/// `>=`, `<=`, `==`, `&&`, `||`, `->`; `IN (`, `IS NULL`, `LIKE` before a
/// literal; `REGEXP`, `RLIKE`, `XOR`. (`>>` and `<<` are two tokens: see
/// [`operator_fragment`].)
fn sql_operator(t: &[(Tok, usize)], s: &[u8], i: usize) -> bool {
    let text = tok_text(t, s, i).to_ascii_lowercase();
    let next = t.get(i + 1).map(|x| x.0);
    match t.get(i).map(|x| x.0) {
        Some(Tok::Cmp) => match text.as_slice() {
            b"<>" | b"<=>" | b"regexp" | b"rlike" => true,
            // A filter (`price >= 10`) writes these after a name.
            b"!=" | b">=" | b"<=" | b"==" => !t.iter().any(|x| x.0 == Tok::Word),
            b"in" => next == Some(Tok::LParen),
            b"is" => {
                next == Some(Tok::Kw(Kw::Not))
                    || tok_text(t, s, i + 1).eq_ignore_ascii_case(b"null")
            }
            b"like" | b"ilike" => literal(next),
            _ => false,
        },
        Some(Tok::Logic) => matches!(text.as_slice(), b"&&" | b"||" | b"xor"),
        Some(Tok::JsonOp) => text.starts_with(b"->"),
        _ => false,
    }
}

/// A value that is an SQL operator fragment (942120): an operator only SQL
/// writes, with at most one name around it and otherwise literals, lists
/// and parentheses (`IS NULL`, `in (0,1)`, `<>`, `2499999||this.product`).
/// `a || b` (two names) and prose (`in stock`) are not fragments.
fn operator_fragment(t: &[(Tok, usize)], s: &[u8]) -> bool {
    let mut words = 0;
    let mut other = 0;
    let mut op = false;
    for (i, (tok, at)) in t.iter().enumerate() {
        match tok {
            Tok::Num | Tok::Comma | Tok::LParen | Tok::RParen | Tok::Str(_) => {}
            Tok::Word | Tok::QIdent | Tok::Var => words += 1,
            // `>>`, `<<`: two comparisons side by side (not an arrow `>>>`).
            Tok::Cmp
                if matches!(tok_text(t, s, i), b">" | b"<")
                    && t.get(i + 1)
                        .is_some_and(|n| n.0 == Tok::Cmp && n.1 == at + 1)
                    && tok_text(t, s, i) == tok_text(t, s, i + 1)
                    && s.get(at + 2) != s.get(*at)
                    && (*at == 0 || s.get(at - 1) != s.get(*at)) =>
            {
                op = true;
                other += 1;
            }
            _ => {
                op |= sql_operator(t, s, i);
                other += 1;
            }
        }
    }
    op && words <= 1 && other <= 4
}

/// A call stub (942410): a SQL name, then only punctuation up to a final
/// `(` (`replace(`, `IN /**/(`, `length||(`, `date]=(`).
fn function_stub(b: &[u8]) -> bool {
    let b = b.trim_ascii();
    if b.last() != Some(&b'(') {
        return false;
    }
    let name = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    let rest = b.get(name..).unwrap_or(&[]);
    name > 0
        && rest.len() <= 12
        && rest.iter().all(|c| !c.is_ascii_alphanumeric())
        && b.get(..name).is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            let is = |s: &&str| s.as_bytes() == n.as_slice();
            STUB_NAMES.iter().any(is) || SQL_FUNCS.iter().any(is) || SQL_ONLY_FUNCS.iter().any(is)
        })
}

/// Specials (CRS's restricted set) in `b` and whether they make at least
/// half of its non-blank bytes: a probe is mostly punctuation, while HTML,
/// Markdown, code and prose in a text field are mostly words.
fn specials(b: &[u8]) -> (usize, bool) {
    let n = b.iter().filter(|c| special(**c)).count();
    let solid = b.iter().filter(|c| !c.is_ascii_whitespace()).count();
    (n, n * 2 >= solid)
}

/// A quote, digits or blanks, a non-word byte, then a digit and one more
/// digit or quote (942490: `'0:0:6`, `` `>9e7 ``, `":"65`, `"2562*23`).
/// A decimal (`"1.0"`) is not one, nor a JSON document (`{"cart": [1, 2]}`).
fn quote_number_probe(b: &[u8]) -> bool {
    let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    if matches!(b.trim_ascii_start().first(), Some(b'{' | b'[')) {
        return false;
    }
    memchr::memchr3_iter(b'\'', b'"', b'`', b)
        .take(8)
        .any(|at| {
            let mut i = at + 1;
            while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b' ') {
                i += 1;
            }
            if !b
                .get(i)
                .is_some_and(|c| !word(c) && !c.is_ascii_whitespace())
                || (i > at + 1 && b.get(i) == Some(&b'.'))
            {
                return false;
            }
            i += 1;
            while b.get(i).is_some_and(|c| !word(c)) {
                i += 1;
            }
            b.get(i).is_some_and(u8::is_ascii_digit)
                && b.get(i + 1..).is_some_and(|r| {
                    r.iter()
                        .any(|c| c.is_ascii_digit() || matches!(c, b'\'' | b'"' | b'`'))
                })
        })
}

/// The same non-word byte four times in a row (942460: `foo....`), blanks
/// and Markdown rules (`----`, `====`, `****`, `####`, `____`, `~~~~`) and
/// `////` aside.
fn repeated_punct(b: &[u8]) -> bool {
    b.windows(4).any(|w| {
        let c = w[0];
        !c.is_ascii_alphanumeric()
            && !c.is_ascii_whitespace()
            && c < 0x80
            && !matches!(c, b'-' | b'=' | b'*' | b'#' | b'_' | b'~' | b'/')
            && w.iter().all(|x| *x == c)
    })
}

/// A quote right against `or`/`and` that ends there (942521/942522:
/// `'''or 1`, `\'and`, `` \`or`1 ``); prose (`parents' or yours`) has a blank.
fn quote_logic(b: &[u8]) -> bool {
    memchr::memchr3_iter(b'\'', b'"', b'`', b)
        .take(16)
        .any(|at| {
            let rest = b.get(at + 1..).unwrap_or(&[]);
            [&b"or"[..], b"and"].iter().any(|w| {
                rest.get(..w.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(w))
                    && !rest
                        .get(w.len())
                        .is_some_and(|c| c.is_ascii_alphabetic() || *c >= 0x80)
            })
        })
}

/// Whether `b` (blanks trimmed) is `q`, a word, `q`.
fn quoted_word(b: &[u8], q: u8) -> bool {
    b.len() > 2
        && b.first() == Some(&q)
        && b.last() == Some(&q)
        && b.get(1..b.len() - 1)
            .is_some_and(|w| w.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_'))
}

/// What the SQL rules of paranoia levels 2 to `level` find in a decoded
/// value of kind `kind` (level-1 findings come from [`detect`]).
pub fn paranoid(
    s: &str,
    level: u8,
    kind: super::points::Kind,
    scratch: &mut Scratch,
) -> Option<Found> {
    use super::points::Kind;
    if level < 2 || s.is_empty() || s.len() > 4096 {
        return None;
    }
    let folded = fold_quotes(s);
    let b = folded.as_deref().unwrap_or(s).as_bytes();
    let args = matches!(kind, Kind::Value | Kind::Key);
    let trimmed = b.trim_ascii();
    let (n_special, dense) = specials(b);
    // Level 2.
    if args && OVERFLOW_NUMBERS.contains(&trimmed) {
        return Some(("sqli.pl2.overflow_number", 0.55));
    }
    if function_stub(b) {
        return Some(("sqli.pl2.function_stub", 0.6));
    }
    if args
        && TYPE_NAMES
            .iter()
            .any(|t| t.as_bytes().eq_ignore_ascii_case(trimmed))
    {
        return Some(("sqli.pl2.type_name", 0.6));
    }
    if quoted_word(trimmed, b'`') {
        return Some(("sqli.pl2.backtick_identifier", 0.6));
    }
    if quote_logic(b) {
        return Some(("sqli.pl2.quote_logic", 0.6));
    }
    // `DR/**/OP`: a comment splitting a word.
    if memchr::memmem::find_iter(b, b"/*").take(8).any(|at| {
        at > 0
            && b.get(at - 1).is_some_and(u8::is_ascii_alphabetic)
            && find(b, at + 2, b"*/")
                .is_some_and(|e| b.get(e + 2).is_some_and(u8::is_ascii_alphabetic))
    }) {
        return Some(("sqli.pl2.comment_in_word", 0.6));
    }
    // `0x` and three hex digits, not a whole hex number (an address, a hash).
    let whole_hex = trimmed.len() > 2
        && trimmed
            .get(..2)
            .is_some_and(|h| h.eq_ignore_ascii_case(b"0x"))
        && trimmed
            .get(2..)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
    if !whole_hex
        && memchr::memmem::find_iter(b, b"0x").take(8).any(|at| {
            (at == 0 || !b.get(at - 1).is_some_and(u8::is_ascii_alphanumeric))
                && b.get(at + 2..at + 5)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        })
    {
        return Some(("sqli.pl2.hex_literal", 0.6));
    }
    // Two kinds of quote side by side and nothing else (`"'`).
    if trimmed.len() <= 8
        && trimmed.iter().all(|c| !c.is_ascii_alphanumeric())
        && trimmed.windows(2).any(|w| {
            matches!(
                w,
                [b'"', b'\''] | [b'\'', b'"'] | [b'`', b'\''] | [b'\'', b'`']
            )
        })
    {
        return Some(("sqli.pl2.quote_mix", 0.6));
    }
    if args && n_special >= 12 && dense {
        return Some(("sqli.pl2.special_chars", 0.6));
    }
    // `'alter a`, `" UNION A`: a break followed straight by UNION or ALTER.
    if trimmed
        .first()
        .is_some_and(|q| matches!(q, b'\'' | b'"' | b'`'))
    {
        let rest = trimmed.get(1..).unwrap_or(&[]).trim_ascii_start();
        if [&b"union"[..], b"alter"].iter().any(|w| {
            rest.get(..w.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(w))
                && !rest.get(w.len()).is_some_and(u8::is_ascii_alphanumeric)
        }) {
            return Some(("sqli.pl2.break_keyword", 0.6));
        }
    }
    tokenize(b, &mut scratch.toks, &mut scratch.word);
    if let Some(f) = paranoid_tokens(&scratch.toks, b) {
        return Some(f);
    }
    // `pay=/3 or `: a value that carries its own `name=` (as [`detect`] reads it).
    let name = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'[' | b']' | b'.'))
        .count();
    if name > 0 && b.get(name) == Some(&b'=') {
        let rest = b.get(name + 1..).unwrap_or(&[]);
        tokenize(rest, &mut scratch.toks, &mut scratch.word);
        if let Some(f) = paranoid_tokens(&scratch.toks, rest) {
            return Some(f);
        }
    }
    if level < 3 {
        return None;
    }
    // Level 3.
    if quoted_word(trimmed, b'\'') {
        return Some(("sqli.pl3.quoted_word", 0.55));
    }
    if quote_number_probe(b) {
        return Some(("sqli.pl3.quote_number", 0.55));
    }
    if repeated_punct(b) {
        return Some(("sqli.pl3.repeated_punct", 0.55));
    }
    let (many, few) = if kind == Kind::Cookie { (8, 3) } else { (6, 2) };
    if (args || kind == Kind::Cookie) && n_special >= many && dense {
        return Some(("sqli.pl3.special_chars", 0.55));
    }
    if level < 4 {
        return None;
    }
    // Level 4.
    if (args || kind == Kind::Cookie) && n_special >= few && dense {
        return Some(("sqli.pl4.special_chars", 0.5));
    }
    None
}

/// The level-2 rules over the tokens `t` of `b` read as code.
fn paranoid_tokens(t: &[(Tok, usize)], b: &[u8]) -> Option<Found> {
    if t.is_empty() {
        return None;
    }
    let at = |i: usize| t.get(i).map(|x| x.0);
    let text = |i: usize| tok_text(t, b, i).to_ascii_lowercase();
    let first = at(0);
    let last = at(t.len() - 1);
    if operator_fragment(t, b) {
        return Some(("sqli.pl2.operator_fragment", 0.6));
    }
    for (i, (tok, _)) in t.iter().enumerate() {
        let next = at(i + 1);
        match tok {
            // `except select 1,2`, `2 union all`: a set operator between a
            // value and a query (or at the start).
            Tok::Kw(Kw::Union)
                if (i == 0 || literal(at(i - 1)) || at(i - 1) == Some(Tok::RParen))
                    && (matches!(next, Some(Tok::Kw(Kw::Select) | Tok::LParen))
                        || matches!(text(i + 1).as_slice(), b"all" | b"distinct" | b"values")) =>
            {
                return Some(("sqli.pl2.set_operator", 0.6));
            }
            // `SET @OLD_SQL_NOTES`
            Tok::Kw(Kw::Set) if next == Some(Tok::Var) => {
                return Some(("sqli.pl2.set_variable", 0.6));
            }
            // `something LIKE '`
            Tok::Cmp
                if i + 2 == t.len()
                    && matches!(text(i).as_slice(), b"like" | b"ilike")
                    && last == Some(Tok::Str(false)) =>
            {
                return Some(("sqli.pl2.like_open", 0.6));
            }
            _ => {}
        }
    }
    match first {
        // `ORder by` alone, `FROM t GROUP BY x` (not `order by price`).
        Some(Tok::Kw(Kw::OrderGroup)) if t.len() == 2 && text(1) == b"by" => {
            return Some(("sqli.pl2.order_by", 0.6));
        }
        Some(Tok::Kw(Kw::From))
            if t.len() <= 6
                && (1..t.len())
                    .any(|i| at(i - 1) == Some(Tok::Kw(Kw::OrderGroup)) && text(i) == b"by") =>
        {
            return Some(("sqli.pl2.order_by", 0.6));
        }
        // `execute php`, `Execute(` (not `execute the plan`, `shutdown at 6pm`)
        Some(Tok::Kw(Kw::Exec))
            if matches!(text(0).as_slice(), b"exec" | b"execute")
                && (t.len() == 2 && at(1) == Some(Tok::Word) || at(1) == Some(Tok::LParen)) =>
        {
            return Some(("sqli.pl2.exec_name", 0.6));
        }
        // `; UpdateUserTypeTracking`
        Some(Tok::Semi) if t.len() == 2 && at(1) == Some(Tok::Word) => {
            return Some(("sqli.pl2.stacked_name", 0.6));
        }
        // `and '5'orig`
        Some(Tok::Logic) if at(1) == Some(Tok::Str(true)) => {
            return Some(("sqli.pl2.logic_string", 0.6));
        }
        _ => {}
    }
    // `/3 or `, `/3 and(`: a short value ending in a dangling condition.
    let dangling = match last {
        Some(Tok::Logic) => b.last().is_some_and(u8::is_ascii_whitespace),
        Some(Tok::LParen) => t.len() >= 2 && at(t.len() - 2) == Some(Tok::Logic),
        _ => false,
    };
    if dangling && t.len() <= 4 && first != Some(Tok::Logic) {
        return Some(("sqli.pl2.dangling_logic", 0.6));
    }
    // `admin '`: a name and a lone quote; `3' ' 1`: a blank string between numbers.
    if (t.len() == 2 && first == Some(Tok::Word) && tok_text(t, b, 1) == b"'")
        || (t.len() == 3
            && first == Some(Tok::Num)
            && at(1) == Some(Tok::Str(true))
            && tok_text(t, b, 1).iter().all(|c| matches!(c, b'\'' | b' '))
            && at(2) == Some(Tok::Num))
    {
        return Some(("sqli.pl2.bypass_quote", 0.6));
    }
    // `'admin', '1'='1'`, `VALUES ('a', 'b')`: a list of literals beside a
    // comparison or VALUES.
    let list = (2..t.len()).any(|i| {
        at(i - 2) == Some(Tok::Str(true))
            && at(i - 1) == Some(Tok::Comma)
            && matches!(at(i), Some(Tok::Str(_) | Tok::Num | Tok::LParen))
    });
    if list && (0..t.len()).any(|i| at(i) == Some(Tok::Cmp) || text(i) == b"values") {
        return Some(("sqli.pl2.literal_list", 0.6));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacks() {
        let mut s = Scratch::default();
        for a in [
            "xp_cmdshell",
            "1; exec master..xp_cmdshell 'dir'",
            "OPENROWSET",
            "UTL_HTTP",
            "sp_executesql",
            "1' OR '1'='1",
            "` AS `edit_user_id` from",
            "24'union+all+select+1,2,3+from+aa",
            "9999 or {if length((/*!5000select username/*!comment*/",
            "9999 or {if length((/*+!5000select username/*!50000from*/user where id=1))>0}",
            "1.e(ascii)",
            "1.e.tables",
            "admin@juice-sh.op\\' and( likelihood (id,.0));'",
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
            // Tautologies and comparisons between literals.
            "1=1",
            "42<=>42",
            "'1' not regexp '2'",
            "9999 or /*+optimizer hint */ true",
            // Fragments that start inside a condition.
            "AND 7639=(",
            "|| langCode == '",
            "&&(e===",
            "OR (7319=8742)",
            "pay=AND deleted = 0)",
            // String breaks closed by a comment or a statement end.
            "x'-email--",
            "id'is not-id--",
            "user'collate nocase--",
            "z'or email notnull--",
            "admin@juice-sh.op';",
            "a'or'a",
            "test'    or   123<",
            "\u{2019} OR \u{2019}1\u{2019}=\u{2019}x\u{2019}--",
            // Clauses only SQL writes.
            ") AS `carrier_id` from",
            "1234 AS \"foobar\" FROM tablevar2",
            "FROM ack_variable WHERE name=\"cron_last\";",
            "from(select(sleep(20)))a)",
            "in ( select * from",
            "1 order by 3--",
            "order by if(1=1,1,sleep(1))",
            "SELECT x GROUP BY y HAVING COUNT(Id) >= 9",
            "case when a=1 then 1 end",
            "/config.ini' into outfile '\\\\x\\y'; --",
            "procedure analyse (",
            "DECLARE/**/@x",
            "EXECUTE IMMEDIATE \"",
            " exec master..xp_cmdshell",
            "DROP sampletable;--",
            "CREATE TABLE Persons",
            "DROP/*comment*/sampletable",
            "if(2=",
            "IIF(1234=",
            "' and email not similar to id--",
            "from `information_schema`\n",
            "FROM `INFORMATION_SCHEMA`.tables",
            ";update users set a=1",
            "select pg_sleep",
            "SELECT CHAR(113)+CHAR(122)",
            "select(user())",
            // PostgreSQL casts and JSON operators.
            "password::int",
            "1' and lo_get(16400)::text::bool and 'true",
            "OR '[1,2,3]'::json ->> 2='3'",
            "OR '{\"a\":\"b\"}' ? 'a'",
            "OR json_extract('{\"id\": 14}', '$.id') = 14",
            // Calls only SQL makes, alone or unclosed.
            "sleep(20)",
            "benchmark(3000000,MD5(4)",
            "unhex(",
            "database(",
            // Round 4: a comparison chain, a closing conditional, an alias
            // closed by the break, a statement after a slash.
            "'{\"a\":2,\"c\":[4,5,{\"f\":7}]}' < '$.c[2].f' = 7",
            "'a' = 'b' = 0",
            ") like (",
            ")rlike(",
            "6 As\" from",
            "/CREATE TABLE Persons",
            "DROP TABLE users CASCADE",
            "x' DROP TABLE users--",
        ] {
            assert!(
                detect(a, &mut s).is_some_and(|f| f.1 >= 0.5),
                "missed {a:?}"
            );
        }
    }

    /// A SELECT of one name and nothing else is a trace span's name or a
    /// heading; with a FROM, a list, a function or a variable it is SQL.
    /// JSONPath's `@.member` is no variable; MySQL's `@.` is.
    #[test]
    fn select_of_one_name_is_a_label() {
        let mut s = Scratch::default();
        for b in [
            "SELECT orders",
            "SELECT shop.customers",
            "Select all",
            "select size: S | M | L | XL",
            "Select colour: red | blue",
            "$.store.book[?(@.price < 10)].title",
        ] {
            assert_eq!(detect(b, &mut s), None, "flagged {b:?}");
        }
        for a in [
            "SELECT name FROM users",
            "select 1,2,3",
            "select @@version",
            "select sleep(5)",
            "';select p",
            "var= @.= ( SELECT",
            "select @a := user() from dual",
        ] {
            assert!(detect(a, &mut s).is_some(), "missed {a:?}");
        }
    }

    /// Well-known-text geometries (GIS APIs, spatial filters) are not the
    /// MySQL geometry functions error-based injection calls: those carry
    /// a subquery or an expression.
    #[test]
    fn geometry_text_is_no_call() {
        let mut s = Scratch::default();
        for b in [
            "POLYGON((30 10, 40 40, 20 40, 10 20, 30 10))",
            "LINESTRING (30 10, 10 30, 40 40)",
            "MULTIPOLYGON (((30 20, 45 40, 10 40, 30 20)), ((15 5, 40 10, 10 20, 5 10, 15 5)))",
            "GEOMETRYCOLLECTION (POINT (40 10), LINESTRING (10 10, 20 20, 10 40))",
            "MULTIPOINT ((10 40), (40 30), (20 20), (30 10))",
            "LINESTRING Z (-71.06 42.28 3, -71.07 42.29 4)",
            "area in POLYGON((-1.5 2, 3 4, -1.5 2))",
        ] {
            assert_eq!(detect(b, &mut s), None, "flagged {b:?}");
        }
        for a in [
            "polygon((select*from(select*from(select@@version)f)x))",
            "1 and polygon((select*from(select*from(select@@version)f)x))",
            "1 and multipoint((select*from(select user())a))",
            "') or linestring(@@version)#",
            "polygon(1 2",
            "polygon((1 2)/**/, 3)",
        ] {
            assert!(detect(a, &mut s).is_some(), "missed {a:?}");
        }
    }

    #[test]
    fn hard_negatives() {
        let mut s = Scratch::default();
        for b in [
            "xp_ and sp_ prefixes",
            "varchar(255) column",
            "O'Brien",
            "O'Brien and O'Neil",
            "Use `AS` to rename a column, e.g. `total` from the sum",
            "the likelihood of rain",
            "/*! jQuery v3.7.1 | (c) OpenJS Foundation */",
            "/*!\n * Bootstrap v5.3.2\n */",
            "see section 1.e.g. the appendix",
            "version 2.1.e-3",
            "score 1.e5",
            "Tom's+Diner",
            "rock+'n'+roll+or+jazz",
            "C++'s+templates",
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
            "2+2=4",
            "5 < 10",
            "order by price",
            "from home where I work",
            "known as Bob from Boston",
            "I work from home, order by phone",
            "is this your parents' or yours?",
            "Peter's or Paul's",
            "My SQL query `SELECT name FROM users WHERE id = 5` returns nothing",
            "```js\nconst x = a < b ? a : b;\nif (x && y) { return x; }\n```",
            "time.sleep(1)",
            "std::string s;",
            "drop shipping",
            "in case when you are late then call",
            "rock \u{2019}n\u{2019} roll",
            "count(*) is 5",
            "now()",
            "O\u{2019}Brien",
            "a -- b",
            "Select (optional) one item",
            "Sleep(ing) well? Try our new mattress.",
            "How do I write SELECT * FROM orders in Django ORM?",
            "C: if (a < b) { return a; } else { return b; }",
            "true or false",
            "Exec summary: sales grew; execution was solid",
            "declare your interest by Friday",
            "waitfor it... the delay is intentional",
            "as `gold` from the mine",
            "drop /* not yet */",
            "Drop it",
            "if(x == 2) { go(); }",
            "iffy(2=",
            "it's similar to mine--",
            "Bob's car is similar to mine -- and older",
            "I know it as `gold` from the mine",
            "known as \"Red\" from this point on",
            // Round 4 look-alikes.
            "'a' < 'b' in alphabetical order",
            "It's 'yes' or 'no', nothing else",
            "Score: (3) like (4) stars",
            ":) like (this)",
            "The 6 as\" from the brochure is a typo",
            "/create table for six persons, by the window",
            "create table for two",
            "Tom's CREATE TABLE question",
            "Northwind",
            "tempdb filled the disk",
        ] {
            assert_eq!(
                detect(b, &mut s),
                None,
                "flagged {b:?} {:?}",
                detect(b, &mut s)
            );
        }
    }

    #[test]
    fn catalog_keys() {
        for (key, hit) in [
            ("tempdb", true),
            ("Northwind", true),
            ("SCHEMA_NAME", true),
            ("mysql.db", true),
            ("information_schema", true),
            ("northwind_orders", false),
            ("schema", false),
            ("db", false),
        ] {
            assert_eq!(catalog_key(key).is_some(), hit, "{key:?}");
        }
    }

    #[test]
    fn magic_numbers() {
        use crate::detect::points::Kind;
        let mut s = Scratch::default();
        assert!(detect("2.2250738585072011e-308", &mut s).is_some());
        for b in [
            "2.2250738585072014e-308",
            "1.5e-3",
            "4294967296",
            "order 4294967296",
        ] {
            assert_eq!(detect(b, &mut s), None, "flagged {b:?}");
        }
        for a in ["4294967296", "2147483648", " -2147483649 "] {
            assert!(
                paranoid(a, 2, Kind::Value, &mut s).is_some(),
                "missed {a:?}"
            );
        }
        for b in [
            "42949672960",
            "order 4294967296",
            "2147483647",
            "9007199254740993",
        ] {
            let rule = paranoid(b, 2, Kind::Value, &mut s).map(|f| f.0);
            assert_ne!(rule, Some("sqli.pl2.overflow_number"), "flagged {b:?}");
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

    /// `fold_quotes`' byte gate passes every look-alike and folds nothing else.
    #[test]
    fn word_in_is_word_is() {
        // The heads tables let through every word of their lists, in any
        // case, and agree with the plain scan elsewhere.
        let mut scratch = Scratch::default();
        for (list, heads) in [
            (SQL_PROCS, &*SQL_PROCS_HEADS),
            (SQL_FUNCS, &*SQL_FUNCS_HEADS),
        ] {
            let upper: Vec<String> = list.iter().map(|w| w.to_ascii_uppercase()).collect();
            let others = ["door", "x", "_a", "9b", "select", "(", "sp_", "xp_cmdshel"];
            for w in list
                .iter()
                .copied()
                .chain(upper.iter().map(String::as_str))
                .chain(others)
            {
                tokenize(w.as_bytes(), &mut scratch.toks, &mut scratch.word);
                let r = Reading {
                    t: &scratch.toks,
                    s: w.as_bytes(),
                };
                for i in 0..scratch.toks.len() {
                    assert_eq!(r.word_in(i, list, heads), r.word_is(i, list), "{w:?} {i}");
                }
            }
        }
    }

    #[test]
    fn fold_quotes_gate() {
        for (v, folded) in [
            ("1\u{2018} or 1=1", Some("1' or 1=1")),
            ("1\u{2019} or 1=1", Some("1' or 1=1")),
            ("1\u{b4} or 1=1", Some("1' or 1=1")),
            ("1\u{2bc} or 1=1", Some("1' or 1=1")),
            ("caf\u{e9} \u{2014} \u{20ac}5", None),
            ("12 O'Connell St.", None),
            ("", None),
        ] {
            assert_eq!(fold_quotes(v).as_deref(), folded, "{v:?}");
        }
    }
}
