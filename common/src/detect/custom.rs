//! User rules from a YAML or JSON file (`tw-detect --rules FILE`).
//!
//! ```yaml
//! rules:
//!   - id: acme-debug                # unique; hits name it as rule `custom.acme-debug`
//!     class: misconfig              # attack class reported (any word)
//!     message: Debug switch in a request
//!     confidence: 0.8               # 0 to 1 (default 0.8)
//!     points: ["query.*", "body.json.**", "header.x-debug"]
//!     match:
//!       literals: ["debug=1", "__debug__"]   # any of them (Aho-Corasick)
//!       regex: 'trace(_|-)?level=\d'        # `regex` crate syntax
//!       case_insensitive: true              # default true
//!     decode: true                  # judge decoded forms too (default true)
//!     methods: [GET, POST]          # optional filters
//!     hosts: ["api.example.com", "*.example.org"]
//!     paths: ["/admin/**", "/debug/*"]
//! ```
//!
//! Point globs: `*` is any run inside one dot-separated name part, `**`
//! any run across parts; names compare case-insensitively. Path globs are
//! the same with `/` as separator. When both `literals` and `regex` are
//! given, both must match. Unknown keys are errors; every error names
//! `file:line:column`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use regex::{Regex, RegexBuilder};
use serde::{de, Deserialize, Deserializer};

/// A rules file that could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {msg}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        msg: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    rules: Vec<RuleDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    id: Word,
    class: Word,
    #[serde(default)]
    message: Option<String>,
    #[serde(default = "default_confidence", deserialize_with = "confidence")]
    confidence: f32,
    points: Vec<Glob>,
    #[serde(rename = "match")]
    matcher: MatchDoc,
    #[serde(default = "yes")]
    decode: bool,
    #[serde(default)]
    methods: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    paths: Vec<Glob>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchDoc {
    #[serde(default)]
    literals: Vec<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default = "yes")]
    case_insensitive: bool,
}

fn default_confidence() -> f32 {
    0.8
}

fn yes() -> bool {
    true
}

fn confidence<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let v = f32::deserialize(d)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(de::Error::custom(format!(
            "`confidence`: {v} is not between 0 and 1"
        )))
    }
}

/// A rule id or class: letters, digits, `_`, `-`, `.`.
#[derive(Debug, Clone)]
struct Word(String);

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty()
            || s.len() > 64
            || !s
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        {
            return Err(de::Error::custom(format!(
                "`{s}`: ids and classes are 1-64 letters, digits, `_`, `-` or `.`"
            )));
        }
        Ok(Word(s))
    }
}

/// A glob (`query.*`, `body.json.**`, `/admin/**`), lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() || s.len() > 256 {
            return Err(de::Error::custom(format!(
                "`{s}`: a glob is 1-256 characters"
            )));
        }
        Ok(Glob(s.to_ascii_lowercase()))
    }
}

impl Glob {
    /// Whether `name` (compared in lower case) matches, `sep` ending a `*`.
    pub fn matches(&self, name: &str, sep: u8) -> bool {
        glob(self.0.as_bytes(), name.as_bytes(), sep)
    }
}

/// `*` any run without `sep`, `**` any run; ASCII case-insensitive. Linear
/// in practice: one backtrack point per star kind, as in shell matchers.
fn glob(p: &[u8], s: &[u8], sep: u8) -> bool {
    let (mut pi, mut si) = (0usize, 0usize);
    // Last `**` (matches anything) and last `*` (stops at sep) to retry from.
    let mut deep: Option<(usize, usize)> = None;
    let mut star: Option<(usize, usize)> = None;
    let mut steps = 0usize;
    while si < s.len() {
        steps += 1;
        if steps > 1 << 16 {
            return false;
        }
        let sc = s[si].to_ascii_lowercase();
        match p.get(pi) {
            Some(b'*') if p.get(pi + 1) == Some(&b'*') => {
                pi += 2;
                deep = Some((pi, si));
                star = None;
            }
            Some(b'*') => {
                pi += 1;
                star = Some((pi, si));
            }
            Some(c) if *c == sc => {
                pi += 1;
                si += 1;
            }
            _ => {
                if let Some((sp, ss)) = star.filter(|(_, ss)| s.get(*ss) != Some(&sep)) {
                    star = Some((sp, ss + 1));
                    pi = sp;
                    si = ss + 1;
                } else if let Some((dp, ds)) = deep {
                    deep = Some((dp, ds + 1));
                    star = None;
                    pi = dp;
                    si = ds + 1;
                } else {
                    return false;
                }
            }
        }
    }
    while p.get(pi) == Some(&b'*') {
        pi += 1;
    }
    pi == p.len()
}

/// The first line at or after `line` (1-based) that contains `needle`, and its column.
fn find_from(text: &str, line: usize, needle: &str) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .skip(line.saturating_sub(1))
        .find_map(|(n, l)| l.find(needle).map(|c| (n + 1, c + 1)))
}

/// One compiled rule.
pub struct Rule {
    pub id: String,
    /// `custom.<id>`, the hit's rule name.
    pub rule: String,
    pub class: String,
    pub message: Option<String>,
    pub confidence: f32,
    pub points: Vec<Glob>,
    literals: Option<AhoCorasick>,
    regex: Option<Regex>,
    pub decode: bool,
    methods: Vec<String>,
    hosts: Vec<String>,
    paths: Vec<Glob>,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule").field("id", &self.id).finish()
    }
}

impl Rule {
    /// Whether the rule looks at this point.
    pub fn wants_point(&self, name: &str) -> bool {
        self.points.iter().any(|g| g.matches(name, b'.'))
    }

    /// Whether the request's method, host and path pass the rule's filters.
    pub fn wants_request(&self, method: &str, host: &str, path: &str) -> bool {
        let host = host.split(':').next().unwrap_or(host);
        (self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
            && (self.hosts.is_empty()
                || self.hosts.iter().any(|h| match h.strip_prefix("*.") {
                    Some(suffix) => {
                        host.len() > suffix.len() + 1
                            && host
                                .get(host.len() - suffix.len() - 1..)
                                .is_some_and(|t| t.eq_ignore_ascii_case(&format!(".{suffix}")))
                    }
                    None => h.eq_ignore_ascii_case(host),
                }))
            && (self.paths.is_empty() || self.paths.iter().any(|g| g.matches(path, b'/')))
    }

    /// Whether a value matches.
    pub fn matches(&self, v: &str) -> bool {
        self.literals.as_ref().is_none_or(|ac| ac.is_match(v))
            && self.regex.as_ref().is_none_or(|r| r.is_match(v))
    }
}

/// The rules of one file.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Reads and compiles a rules file (YAML, or JSON which YAML reads too).
    pub fn load(path: &Path) -> Result<RuleSet, RulesError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            file: file.clone(),
            source,
        })?;
        RuleSet::parse(&text, &file)
    }

    /// Compiles rules from text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<RuleSet, RulesError> {
        let invalid = |line: usize, column: usize, msg: String| RulesError::Invalid {
            file: file.to_string(),
            line,
            column,
            msg,
        };
        let doc: FileDoc = serde_yaml_ng::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            // The message without serde_yaml's own " at line N column M".
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            // Our own checks name the bad key or value in backticks; serde_yaml
            // places them at the enclosing mapping, so look for it from there.
            let needle = msg
                .split_once(": `")
                .and_then(|(_, r)| r.split_once('`'))
                .map(|(n, _)| n);
            let (line, column) = match needle.filter(|_| !msg.contains("unknown field")) {
                Some(n) => find_from(text, line, n).unwrap_or((line, column)),
                None => (line, column),
            };
            invalid(line, column, msg)
        })?;
        // Where `key` of rule `id` is written, for errors found after parsing.
        let locate = |id: &str, key: &str| -> (usize, usize) {
            let at_id = text
                .lines()
                .position(|l| l.contains(id) && l.contains("id"))
                .map_or(1, |n| n + 1);
            find_from(text, at_id, key).unwrap_or((at_id, 1))
        };
        let mut seen = BTreeSet::new();
        let mut rules = Vec::with_capacity(doc.rules.len());
        for r in doc.rules {
            let id = r.id.0;
            let (line, column) = locate(&id, "id");
            if !seen.insert(id.clone()) {
                let (line, column) = text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| l.contains(id.as_str()) && l.contains("id"))
                    .nth(1)
                    .map_or((line, column), |(n, l)| {
                        (n + 1, l.find("id").unwrap_or(0) + 1)
                    });
                return Err(invalid(
                    line,
                    column,
                    format!("id: duplicate rule id {id:?}"),
                ));
            }
            let m = r.matcher;
            if m.literals.is_empty() && m.regex.is_none() {
                return Err(invalid(
                    line,
                    column,
                    format!("match: rule {id:?} needs `literals` or `regex`"),
                ));
            }
            if m.literals.iter().any(String::is_empty) {
                return Err(invalid(
                    line,
                    column,
                    format!("match.literals: rule {id:?} has an empty literal"),
                ));
            }
            if r.points.is_empty() {
                return Err(invalid(
                    line,
                    column,
                    format!("points: rule {id:?} names no point"),
                ));
            }
            let literals = if m.literals.is_empty() {
                None
            } else {
                Some(
                    AhoCorasickBuilder::new()
                        .ascii_case_insensitive(m.case_insensitive)
                        .build(&m.literals)
                        .map_err(|e| invalid(line, column, format!("match.literals: {e}")))?,
                )
            };
            let regex = match &m.regex {
                None => None,
                Some(p) => Some(
                    RegexBuilder::new(p)
                        .case_insensitive(m.case_insensitive)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| {
                            let (line, column) = locate(&id, "regex");
                            invalid(line, column, format!("match.regex: rule {id:?}: {e}"))
                        })?,
                ),
            };
            rules.push(Rule {
                rule: format!("custom.{id}"),
                id,
                class: r.class.0,
                message: r.message,
                confidence: r.confidence,
                points: r.points,
                literals,
                regex,
                decode: r.decode,
                methods: r.methods,
                hosts: r.hosts,
                paths: r.paths,
            });
        }
        Ok(RuleSet { rules })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
rules:
  - id: acme-debug
    class: misconfig
    message: Debug switch
    confidence: 0.7
    points: ["query.*", "body.json.**", "header.x-debug"]
    match:
      literals: ["__debug__"]
    methods: [get]
    hosts: ["*.example.com"]
    paths: ["/api/**"]
  - id: acme-token
    class: leak
    points: ["**"]
    match:
      regex: 'acme_[0-9a-f]{8}'
      case_insensitive: false
    decode: false
"#;

    #[test]
    fn parses_and_matches() {
        let set = RuleSet::parse(GOOD, "r.yaml").unwrap();
        let [a, b] = set.rules.as_slice() else {
            panic!("two rules")
        };
        assert_eq!(a.rule, "custom.acme-debug");
        assert!(a.wants_point("query.x") && a.wants_point("QUERY.Y"));
        assert!(!a.wants_point("query_key.x") && !a.wants_point("query.a.b"));
        assert!(a.wants_point("body.json.a.b.0") && a.wants_point("header.X-Debug"));
        assert!(a.wants_request("GET", "api.example.com:8080", "/api/v1/x"));
        assert!(!a.wants_request("POST", "api.example.com", "/api/v1/x"));
        assert!(!a.wants_request("GET", "example.com", "/api/v1/x"));
        assert!(!a.wants_request("GET", "api.example.com", "/web/x"));
        assert!(a.matches("x=__DEBUG__") && !a.matches("debug"));
        assert!(b.matches("key acme_0123abcd") && !b.matches("ACME_0123ABCD"));
        assert!(!b.decode && (b.confidence - 0.8).abs() < 1e-6);
    }

    #[test]
    fn json_works_too() {
        let j =
            r#"{"rules":[{"id":"x","class":"c","points":["path"],"match":{"literals":["a"]}}]}"#;
        assert_eq!(RuleSet::parse(j, "r.json").unwrap().rules.len(), 1);
    }

    #[test]
    fn errors_name_file_line_column_and_key() {
        for (text, line, needle) in [
            ("rules:\n  - id: a\n    clas: x\n", 3, "unknown field `clas`"),
            ("rules:\n  - id: a\n    class: c\n    points: [path]\n    match: {regex: '('}\n", 5, "match.regex"),
            ("rules:\n  - id: a\n    class: c\n    confidence: 3\n    points: [path]\n    match: {literals: [x]}\n", 4, "confidence"),
            ("rules:\n  - id: a\n    class: c\n    points: [path]\n    match: {}\n", 2, "needs `literals` or `regex`"),
            ("rules:\n  - id: a\n    class: c\n    points: [path]\n    match: {literals: [x], foo: 1}\n", 5, "unknown field `foo`"),
            ("rules:\n  - id: 'a b'\n", 2, "ids and classes"),
            ("ruls: []\n", 1, "unknown field `ruls`"),
        ] {
            let e = match RuleSet::parse(text, "r.yaml") {
                Ok(_) => panic!("accepted: {text}"),
                Err(e) => e.to_string(),
            };
            assert!(e.starts_with(&format!("r.yaml:{line}:")), "{e}");
            assert!(e.contains(needle), "{e}");
        }
        let dup = "rules:\n  - {id: a, class: c, points: [path], match: {literals: [x]}}\n  - {id: a, class: c, points: [path], match: {literals: [x]}}\n";
        let e = RuleSet::parse(dup, "r.yaml").err().unwrap().to_string();
        assert!(e.contains("duplicate"), "{e}");
    }

    #[test]
    fn glob_table() {
        for (p, s, sep, want) in [
            ("query.*", "query.id", b'.', true),
            ("query.*", "query.a.b", b'.', false),
            ("body.json.**", "body.json.a.b.c", b'.', true),
            ("**", "anything.at.all", b'.', true),
            ("header.user-agent", "header.User-Agent", b'.', true),
            ("/users/*/orders", "/users/12/orders", b'/', true),
            ("/users/*/orders", "/users/12/x/orders", b'/', false),
            ("/admin/**", "/admin/a/b", b'/', true),
            ("*.json.*", "body.json.x", b'.', true),
        ] {
            assert_eq!(glob(p.as_bytes(), s.as_bytes(), sep), want, "{p} {s}");
        }
        let long = "*a".repeat(500);
        let _ = glob(long.as_bytes(), "b".repeat(5000).as_bytes(), b'.');
    }
}
