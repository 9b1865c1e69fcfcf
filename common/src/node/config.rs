//! `tapwatch run --config FILE`: a YAML file expanded into command-line flags.
//!
//! The file is turned into flags placed right after `run`, before the ones
//! typed on the command line, and a flag typed on the command line drops the
//! file's values for it (scalars and lists alike): the command line wins, and
//! every config key is also a flag. Nothing here knows the flags by name: the
//! keys are checked against the clap `Command` of `tapwatch run`, so the schema
//! cannot drift from the flags, and each value goes through the flag's own
//! value parser so a bad value is reported with its file, line and column.
//!
//! Two dialects, told apart by their keys:
//! - tapwatch's own: keys are the long flags of `tapwatch run` (`threads: 4`,
//!   `sink: [...]`), `-` or `_` between words, optionally grouped under
//!   section maps (`capture:`, `decap:`, ..., `log:`) for readability only.
//!   A scalar gives `--key=value`, `true` gives `--key`, `false` nothing, a
//!   list one flag per item, a number on a counted flag (`verbose: 2`) that
//!   many repeats.
//! - the mirror-node configuration users already have (`mode: tcp-capture`,
//!   `goreplay:`, `http_inspector:`, `tcp_stream:`, `proxy_headers:`, `log:`),
//!   mapped key by key (see [`compat`]); anything it cannot map exactly is an
//!   error naming the key or goreplay flag and its line.
//!
//! YAML comes from `saphyr` (the maintained successor of yaml-rust/yaml-rust2,
//! YAML 1.2): its `MarkedYaml` nodes carry the line and column of every key
//! and value, which serde-based readers (serde_yaml_ng) only give for the first
//! deserialisation error; it rejects duplicate keys and bounds alias expansion.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;

use clap::{parser::ValueSource, Arg, ArgAction, Command};

/// The largest config file read (a config is a few KiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The section names of tapwatch's own schema, in the order `schema` prints them.
pub const SECTIONS: [&str; 9] = [
    "capture",
    "decap",
    "reassemble",
    "http",
    "detect",
    "discover",
    "export",
    "node",
    "log",
];

/// Why a config file could not be expanded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    /// Something at a place in the file: not YAML, an unknown key, a bad value.
    #[error("{file}:{line}:{col}: {msg}")]
    At {
        file: String,
        line: usize,
        col: usize,
        msg: String,
    },
    /// `--config` itself used wrongly (no value, given twice).
    #[error("{0}")]
    Usage(String),
    /// The expanded command line is rejected by `tapwatch run` (`config check`).
    #[error("the expanded command line is rejected: {0}")]
    Rejected(String),
}

/// A 1-based line and column in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A YAML node with its position; the config's own small tree, so the rest of
/// this module does not depend on the YAML crate's types.
#[derive(Debug, Clone)]
struct Node {
    pos: Pos,
    val: Val,
}

#[derive(Debug, Clone)]
enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone)]
struct Key {
    name: String,
    pos: Pos,
}

impl Val {
    fn kind(&self) -> &'static str {
        match self {
            Val::Null => "nothing",
            Val::Bool(_) => "a boolean",
            Val::Int(_) => "an integer",
            Val::Float(_) => "a number",
            Val::Str(_) => "a string",
            Val::Seq(_) => "a list",
            Val::Map(_) => "a map",
        }
    }

    /// A scalar as the text a flag takes; None for null, lists and maps.
    fn scalar_text(&self) -> Option<String> {
        match self {
            Val::Bool(b) => Some(b.to_string()),
            Val::Int(i) => Some(i.to_string()),
            Val::Float(f) => Some(f.to_string()),
            Val::Str(s) => Some(s.clone()),
            Val::Null | Val::Seq(_) | Val::Map(_) => None,
        }
    }
}

/// Reads and parses one YAML document (an empty file is an empty map).
struct Doc {
    file: String,
    root: Node,
}

impl Doc {
    fn load(path: &Path) -> Result<Doc, ConfigError> {
        let file = path.display().to_string();
        let read_err = |source| ConfigError::Read {
            file: file.clone(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(ConfigError::At {
                file,
                line: 1,
                col: 1,
                msg: format!("larger than {MAX_FILE_BYTES} bytes; not a config file"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        Doc::parse(&file, &text)
    }

    fn parse(file: &str, text: &str) -> Result<Doc, ConfigError> {
        use saphyr::LoadableYamlNode;
        let docs = saphyr::MarkedYaml::load_from_str(text).map_err(|e| ConfigError::At {
            file: file.to_string(),
            line: e.marker().line(),
            col: e.marker().col() + 1,
            msg: format!("not valid YAML: {}", e.info()),
        })?;
        let doc = Doc {
            file: file.to_string(),
            root: Node {
                pos: Pos { line: 1, col: 1 },
                val: Val::Map(vec![]),
            },
        };
        let mut docs = docs.into_iter();
        let root = match docs.next() {
            Some(y) => doc.convert(y)?,
            None => return Ok(doc),
        };
        if let Some(extra) = docs.next() {
            return Err(doc.err(pos_of(&extra), "more than one YAML document in the file"));
        }
        let root = match root.val {
            Val::Null => doc.root.clone(),
            Val::Map(_) => root,
            other => {
                return Err(doc.err(
                    root.pos,
                    format!("the file must be a map of keys, not {}", other.kind()),
                ))
            }
        };
        Ok(Doc { root, ..doc })
    }

    fn convert(&self, y: saphyr::MarkedYaml<'_>) -> Result<Node, ConfigError> {
        use saphyr::{Scalar, YamlData};
        let pos = pos_of(&y);
        let val = match y.data {
            YamlData::Value(Scalar::Null) => Val::Null,
            YamlData::Value(Scalar::Boolean(b)) => Val::Bool(b),
            YamlData::Value(Scalar::Integer(i)) => Val::Int(i),
            YamlData::Value(Scalar::FloatingPoint(f)) => Val::Float(f.into_inner()),
            YamlData::Value(Scalar::String(s)) => Val::Str(s.into_owned()),
            YamlData::Representation(s, _, _) => Val::Str(s.into_owned()),
            YamlData::Sequence(items) => Val::Seq(
                items
                    .into_iter()
                    .map(|i| self.convert(i))
                    .collect::<Result<_, _>>()?,
            ),
            YamlData::Mapping(map) => {
                let mut out = Vec::with_capacity(map.len());
                for (k, v) in map {
                    let kpos = pos_of(&k);
                    let name = match self.convert(k)?.val {
                        Val::Str(s) => s,
                        other => {
                            return Err(self
                                .err(kpos, format!("a key must be a name, not {}", other.kind())))
                        }
                    };
                    out.push((Key { name, pos: kpos }, self.convert(v)?));
                }
                Val::Map(out)
            }
            YamlData::Tagged(tag, _) => {
                return Err(self.err(pos, format!("YAML tags ({tag}) are not supported here")))
            }
            YamlData::Alias(_) | YamlData::BadValue => return Err(self.err(
                pos,
                "a value of no supported type (YAML tags such as !!binary are not supported here)",
            )),
        };
        Ok(Node { pos, val })
    }

    fn err(&self, pos: Pos, msg: impl Into<String>) -> ConfigError {
        ConfigError::At {
            file: self.file.clone(),
            line: pos.line,
            col: pos.col,
            msg: msg.into(),
        }
    }

    fn map(&self) -> &[(Key, Node)] {
        match &self.root.val {
            Val::Map(m) => m,
            _ => &[],
        }
    }
}

fn pos_of(y: &saphyr::MarkedYaml<'_>) -> Pos {
    Pos {
        line: y.span.start.line(),
        col: y.span.start.col() + 1,
    }
}

/// One flag the file asks for, before it is checked against `tapwatch run`.
#[derive(Debug, Clone)]
struct Want {
    /// Long flag name.
    flag: String,
    /// None for a switch; Some for a flag that takes a value.
    value: Option<String>,
    /// Where it came from, for messages.
    pos: Pos,
    /// The key path in the file (`goreplay.extra_args`), for messages.
    key: String,
}

/// The flags of `tapwatch run` a config may set: its arguments with a long
/// name (globals included), minus help, version and `--config` itself.
fn run_args(cmd: &Command) -> Result<(Command, Vec<Arg>), ConfigError> {
    let mut cmd = cmd.clone();
    cmd.build();
    let run = cmd
        .find_subcommand("run")
        .ok_or_else(|| ConfigError::Usage("this command has no `run` subcommand".into()))?;
    let args = run
        .get_arguments()
        .filter(|a| a.get_long().is_some_and(|l| l != "config"))
        .filter(|a| !matches!(a.get_action(), ArgAction::Help | ArgAction::Version))
        .filter(|a| !matches!(a.get_action(), ArgAction::HelpShort | ArgAction::HelpLong))
        .cloned()
        .collect();
    Ok((run.clone(), args))
}

/// The key as a long flag name: `vxlan_listen` and `vxlan-listen` are the same key.
fn flag_name(key: &str) -> String {
    key.replace('_', "-")
}

/// The nearest long flag to `key`, if close enough to be a likely typo.
fn suggest<'a>(key: &str, names: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let key = flag_name(key);
    names
        .into_iter()
        .map(|n| (edit_distance(&key, n), n))
        .filter(|(d, n)| *d <= (n.len().max(key.len()) / 3).max(1))
        .min_by_key(|(d, n)| (*d, *n))
        .map(|(_, n)| n)
}

/// Levenshtein distance over chars (keys are short: quadratic is fine).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Whether an argument takes values (as opposed to a switch or a counter).
fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append)
}

/// tapwatch's own dialect: keys of `tapwatch run`, optionally in sections.
fn own_keys(doc: &Doc, args: &[Arg]) -> Result<Vec<Want>, ConfigError> {
    let mut wants = vec![];
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (key, node) in doc.map() {
        let is_flag = args
            .iter()
            .any(|a| a.get_long() == Some(&flag_name(&key.name)));
        match &node.val {
            Val::Map(entries) if SECTIONS.contains(&key.name.as_str()) => {
                for (k, v) in entries {
                    own_key(doc, args, k, v, Some(&key.name), &mut seen, &mut wants)?;
                }
            }
            Val::Null if SECTIONS.contains(&key.name.as_str()) && !is_flag => {}
            _ if SECTIONS.contains(&key.name.as_str()) && !is_flag => {
                return Err(doc.err(
                    node.pos,
                    format!(
                        "section `{}` must be a map of keys, not {}",
                        key.name,
                        node.val.kind()
                    ),
                ))
            }
            _ => own_key(doc, args, key, node, None, &mut seen, &mut wants)?,
        }
    }
    Ok(wants)
}

fn own_key(
    doc: &Doc,
    args: &[Arg],
    key: &Key,
    node: &Node,
    section: Option<&str>,
    seen: &mut BTreeSet<String>,
    wants: &mut Vec<Want>,
) -> Result<(), ConfigError> {
    let name = flag_name(&key.name);
    let path = match section {
        Some(s) => format!("{s}.{}", key.name),
        None => key.name.clone(),
    };
    let Some(arg) = args.iter().find(|a| a.get_long() == Some(name.as_str())) else {
        let mut msg = format!("unknown key `{path}`");
        let mut names: Vec<&str> = args.iter().filter_map(|a| a.get_long()).collect();
        names.extend(SECTIONS);
        if let Some(s) = suggest(&key.name, names) {
            let _ = write!(msg, " (did you mean `{s}`?)");
        } else if section.is_none() && COMPAT_KEYS.contains(&key.name.as_str()) {
            let _ = write!(
                msg,
                " (a mirror-node key: such a file may not mix in tapwatch keys)"
            );
        }
        let _ = write!(msg, "; `tapwatch config schema` lists the keys");
        return Err(doc.err(key.pos, msg));
    };
    if !seen.insert(name.clone()) {
        return Err(doc.err(key.pos, format!("key `{name}` is given twice")));
    }
    let want = |value: Option<String>, pos: Pos| Want {
        flag: name.clone(),
        value,
        pos,
        key: path.clone(),
    };
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => match node.val {
            Val::Bool(true) => wants.push(want(None, node.pos)),
            Val::Bool(false) => {}
            _ => {
                return Err(doc.err(
                    node.pos,
                    format!(
                        "`{path}` is a switch: write true or false, not {}",
                        node.val.kind()
                    ),
                ))
            }
        },
        ArgAction::Count => {
            let n = match node.val {
                Val::Bool(b) => u8::from(b),
                Val::Int(i) if (0..=8).contains(&i) => i as u8,
                _ => {
                    return Err(doc.err(
                        node.pos,
                        format!(
                        "`{path}` is a counter: write a number from 0 to 8 or true/false, not {}",
                        node.val.kind()
                    ),
                    ))
                }
            };
            for _ in 0..n {
                wants.push(want(None, node.pos));
            }
        }
        _ => {
            let items: Vec<&Node> = match &node.val {
                Val::Seq(items) if matches!(arg.get_action(), ArgAction::Append) => {
                    items.iter().collect()
                }
                Val::Seq(_) => {
                    return Err(doc.err(node.pos, format!("`{path}` takes one value, not a list")))
                }
                _ => vec![node],
            };
            for item in items {
                let text = match (&item.val, item.val.scalar_text()) {
                    (Val::Bool(_), _) => {
                        return Err(doc.err(
                            item.pos,
                            format!(
                                "`{path}` takes a value, not true/false (quote it if you mean the text)"
                            ),
                        ))
                    }
                    (_, Some(t)) => t,
                    (v, None) => {
                        return Err(doc.err(
                            item.pos,
                            format!("`{path}` takes a value, not {}", v.kind()),
                        ))
                    }
                };
                wants.push(want(Some(text), item.pos));
            }
        }
    }
    Ok(())
}

/// The top-level keys that mark a mirror-node configuration.
pub const COMPAT_KEYS: [&str; 7] = [
    "mode",
    "version",
    "goreplay",
    "http_inspector",
    "tcp_stream",
    "proxy_headers",
    "route_config",
];

/// Whether the document is a mirror-node configuration: one of
/// [`COMPAT_KEYS`] at the top, or a `log:` map holding `level`.
fn is_compat(doc: &Doc) -> bool {
    doc.map().iter().any(|(k, v)| {
        COMPAT_KEYS.contains(&k.name.as_str())
            || (k.name == "log"
                && matches!(&v.val, Val::Map(m) if m.iter().any(|(k, _)| k.name == "level")))
    })
}

pub mod compat {
    //! The mirror-node configuration (`mode: tcp-capture`) mapped onto
    //! `tapwatch run` flags. Mapping, key by key:
    //!
    //! | key | flags |
    //! |-----|-------|
    //! | `version` | accepted, ignored |
    //! | `mode: tcp-capture` / `tcp-capture-v2` | (required value; other modes are errors) |
    //! | `goreplay.filter: eth0:80` (string, space-separated or list) | `--filter eth0:80`; with the VXLAN engine the port becomes `--port 80` |
    //! | no `goreplay.filter`, no VXLAN engine (v1) | `--interface any` |
    //! | `goreplay.extra_args` (string or list) | goreplay flags, below |
    //! | `-input-raw X` | `--filter X` (as goreplay.filter) |
    //! | `-input-raw-engine vxlan` | `--vxlan-listen 0.0.0.0:4789` (`libpcap`: nothing) |
    //! | `-input-raw-vxlan-port N` | the listener's port |
    //! | `-input-raw-vxlan-vni N` | `--vni N` |
    //! | `-input-raw-vlan` | nothing (VLAN tags are always stripped) |
    //! | `-input-raw-vlan-vid N` | `--vlan N` |
    //! | `-input-raw-bpf-filter X` | `--bpf X` |
    //! | `-input-raw-snaplen N` | `--snaplen N` |
    //! | `-input-raw-promisc` | nothing (promiscuous is the default) |
    //! | `-input-raw-realip-header H` | `--real-ip-header H` |
    //! | `http_inspector.real_ip_header: H` | `--real-ip-header H`, and, unless `proxy_headers` names trusted networks, `--trusted-proxy 0.0.0.0/0 --trusted-proxy ::/0` (the mirror node believed the header from any peer) |
    //! | `log.level: debug\|info\|warn\|error` | `-vv` / `-v` / nothing / `-q` |
    //! | `log.pretty`, `log.log_file: stderr`, `log.access_log.enabled: false` | accepted, nothing |
    //! | `tcp_stream.from_interface` map: `enabled`, `interface` (default `any`), `snap_len`, `promiscuous`, `filter` (BPF) | `--interface`, `--snaplen`, `--no-promisc`, `--bpf` |
    //! | `tcp_stream.from_interface: eth0:80` / `eth0` (or a list) | `--filter eth0:80` / `--interface eth0` |
    //! | `tcp_stream.from_vxlan` / `from_geneve`: a port, `addr:port`, `:port`, `udp://addr:port`, `true`, or a map of `enabled`, `port`, `address`/`url`, `vni` | `--vxlan-listen ADDR:PORT` / `--geneve-listen ADDR:PORT` (default address 0.0.0.0, ports 4789 / 6081), `--vni N` |
    //! | `proxy_headers` (a map, or a list of rules): `trusted_networks` (CIDR or list), `real_ip` (header or list) | `--trusted-proxy CIDR`, `--real-ip-header H` |
    //!
    //! Everything else (`route_config`, `proxy_headers.original_host`, an
    //! unknown goreplay flag, ...) is an error naming it and its line.

    use super::*;

    /// Default VXLAN and Geneve UDP ports.
    const VXLAN_PORT: u16 = 4789;
    const GENEVE_PORT: u16 = 6081;

    struct Out<'d> {
        doc: &'d Doc,
        wants: Vec<Want>,
    }

    impl Out<'_> {
        fn push(&mut self, flag: &str, value: Option<String>, pos: Pos, key: &str) {
            self.wants.push(Want {
                flag: flag.to_string(),
                value,
                pos,
                key: key.to_string(),
            });
        }

        fn err(&self, pos: Pos, msg: impl Into<String>) -> ConfigError {
            self.doc.err(pos, msg)
        }

        fn unsupported(&self, path: &str, key: &Key, accepted: &str) -> ConfigError {
            self.err(
                key.pos,
                format!("`{path}` is not supported by tapwatch's mirror-node reader (accepted here: {accepted})"),
            )
        }

        fn map<'n>(&self, path: &str, node: &'n Node) -> Result<&'n [(Key, Node)], ConfigError> {
            match &node.val {
                Val::Map(m) => Ok(m),
                Val::Null => Ok(&[]),
                v => Err(self.err(
                    node.pos,
                    format!("`{path}` must be a map, not {}", v.kind()),
                )),
            }
        }

        fn text(&self, path: &str, node: &Node) -> Result<String, ConfigError> {
            match &node.val {
                Val::Str(_) | Val::Int(_) | Val::Float(_) => {
                    Ok(node.val.scalar_text().unwrap_or_default())
                }
                v => Err(self.err(
                    node.pos,
                    format!("`{path}` must be a value, not {}", v.kind()),
                )),
            }
        }

        fn bool(&self, path: &str, node: &Node) -> Result<bool, ConfigError> {
            match node.val {
                Val::Bool(b) => Ok(b),
                ref v => Err(self.err(
                    node.pos,
                    format!("`{path}` must be true or false, not {}", v.kind()),
                )),
            }
        }

        /// A scalar or a list of scalars, each with its position.
        fn texts(&self, path: &str, node: &Node) -> Result<Vec<(String, Pos)>, ConfigError> {
            match &node.val {
                Val::Seq(items) => items
                    .iter()
                    .map(|i| Ok((self.text(path, i)?, i.pos)))
                    .collect(),
                Val::Null => Ok(vec![]),
                _ => Ok(vec![(self.text(path, node)?, node.pos)]),
            }
        }
    }

    /// A goreplay flag's name without its dashes, and its `=value` if any.
    fn goreplay_flag(token: &str) -> Option<(&str, Option<&str>)> {
        let name = token
            .strip_prefix("--")
            .or_else(|| token.strip_prefix('-'))?;
        Some(match name.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (name, None),
        })
    }

    /// A listener address from a port, `:port`, `addr:port` or `udp://addr:port`.
    fn listen_addr(text: &str, default_port: u16) -> String {
        let t = text.trim();
        let t = t.strip_prefix("udp://").unwrap_or(t);
        if t.is_empty() {
            format!("0.0.0.0:{default_port}")
        } else if t.bytes().all(|b| b.is_ascii_digit()) {
            format!("0.0.0.0:{t}")
        } else if let Some(port) = t.strip_prefix(':') {
            format!("0.0.0.0:{port}")
        } else if t.parse::<std::net::IpAddr>().is_ok() {
            format!("{t}:{default_port}")
        } else {
            t.to_string()
        }
    }

    pub(super) fn read(doc: &Doc) -> Result<Vec<Want>, ConfigError> {
        let mut out = Out { doc, wants: vec![] };
        let mut mode: Option<(String, Pos)> = None;
        let mut vxlan_engine: Option<(Pos, u16)> = None;
        let mut filters: Vec<(String, Pos, String)> = vec![];
        let mut trusted_given = false;
        let mut real_ip_header: Option<(String, Pos)> = None;
        let mut saw_stream = false;
        for (key, node) in doc.map() {
            let k = key.name.as_str();
            match k {
                "version" => {}
                "mode" => mode = Some((out.text("mode", node)?, node.pos)),
                "goreplay" => {
                    for (gk, gv) in out.map("goreplay", node)? {
                        match gk.name.as_str() {
                            "filter" => {
                                for (t, pos) in out.texts("goreplay.filter", gv)? {
                                    for f in t.split_whitespace() {
                                        filters.push((f.to_string(), pos, "goreplay.filter".into()));
                                    }
                                }
                            }
                            "extra_args" => {
                                extra_args(&mut out, gv, &mut vxlan_engine, &mut filters)?
                            }
                            _ => {
                                return Err(out.unsupported(
                                    &format!("goreplay.{}", gk.name),
                                    gk,
                                    "filter, extra_args",
                                ))
                            }
                        }
                    }
                }
                "http_inspector" => {
                    for (hk, hv) in out.map(k, node)? {
                        match hk.name.as_str() {
                            "real_ip_header" => {
                                real_ip_header = Some((
                                    out.text("http_inspector.real_ip_header", hv)?,
                                    hv.pos,
                                ))
                            }
                            _ => {
                                return Err(out.unsupported(
                                    &format!("http_inspector.{}", hk.name),
                                    hk,
                                    "real_ip_header",
                                ))
                            }
                        }
                    }
                }
                "log" => log(&mut out, node)?,
                "tcp_stream" => {
                    saw_stream = true;
                    for (sk, sv) in out.map(k, node)? {
                        match sk.name.as_str() {
                            "from_interface" => from_interface(&mut out, sv)?,
                            "from_vxlan" => {
                                from_tunnel(&mut out, "from_vxlan", "vxlan-listen", VXLAN_PORT, sv)?
                            }
                            "from_geneve" => from_tunnel(
                                &mut out,
                                "from_geneve",
                                "geneve-listen",
                                GENEVE_PORT,
                                sv,
                            )?,
                            _ => {
                                return Err(out.unsupported(
                                    &format!("tcp_stream.{}", sk.name),
                                    sk,
                                    "from_interface, from_vxlan, from_geneve",
                                ))
                            }
                        }
                    }
                }
                "proxy_headers" => {
                    let rules: Vec<&Node> = match &node.val {
                        Val::Seq(items) => items.iter().collect(),
                        _ => vec![node],
                    };
                    for rule in rules {
                        for (pk, pv) in out.map("proxy_headers", rule)? {
                            match pk.name.as_str() {
                                "trusted_networks" => {
                                    for (t, pos) in out.texts("proxy_headers.trusted_networks", pv)? {
                                        trusted_given = true;
                                        out.push("trusted-proxy", Some(t), pos, "proxy_headers.trusted_networks");
                                    }
                                }
                                "real_ip" => {
                                    for (t, pos) in out.texts("proxy_headers.real_ip", pv)? {
                                        out.push("real-ip-header", Some(t), pos, "proxy_headers.real_ip");
                                    }
                                }
                                _ => {
                                    return Err(out.unsupported(
                                        &format!("proxy_headers.{}", pk.name),
                                        pk,
                                        "trusted_networks, real_ip",
                                    ))
                                }
                            }
                        }
                    }
                }
                _ => {
                    return Err(out.err(
                        key.pos,
                        format!(
                            "`{k}` is not supported by tapwatch's mirror-node reader (accepted: version, mode, goreplay, http_inspector, log, tcp_stream, proxy_headers)"
                        ),
                    ))
                }
            }
        }
        match &mode {
            Some((m, _)) if m == "tcp-capture" || m == "tcp-capture-v2" => {}
            Some((m, pos)) => {
                return Err(out.err(
                    *pos,
                    format!("mode `{m}`: tapwatch only mirrors traffic (mode: tcp-capture or tcp-capture-v2)"),
                ))
            }
            None => {}
        }
        if let Some((port, _)) = vxlan_engine.map(|(p, port)| (port, p)) {
            let pos = vxlan_engine.map(|(p, _)| p).unwrap_or_default();
            out.push(
                "vxlan-listen",
                Some(format!("0.0.0.0:{port}")),
                pos,
                "goreplay.extra_args",
            );
            // With the VXLAN engine the filter's port selects the inner TCP port;
            // the interface does not matter (the listener takes every address).
            for (f, pos, key) in &filters {
                match f.rsplit_once(':') {
                    Some((_, "")) => {}
                    Some((_, port)) => out.push("port", Some(port.to_string()), *pos, key),
                    None => return Err(out.err(*pos, format!("`{key}`: `{f}` is not IFACE:PORT"))),
                }
            }
        } else {
            for (f, pos, key) in &filters {
                out.push("filter", Some(f.clone()), *pos, key);
            }
            let v1 = mode.as_ref().is_some_and(|(m, _)| m == "tcp-capture");
            if filters.is_empty() && v1 && !saw_stream {
                let pos = mode.as_ref().map(|(_, p)| *p).unwrap_or_default();
                out.push("interface", Some("any".into()), pos, "goreplay.filter");
            }
        }
        if let Some((h, pos)) = real_ip_header {
            out.push(
                "real-ip-header",
                Some(h),
                pos,
                "http_inspector.real_ip_header",
            );
            if !trusted_given {
                for any in ["0.0.0.0/0", "::/0"] {
                    out.push(
                        "trusted-proxy",
                        Some(any.into()),
                        pos,
                        "http_inspector.real_ip_header",
                    );
                }
            }
        }
        Ok(out.wants)
    }

    fn extra_args(
        out: &mut Out<'_>,
        node: &Node,
        vxlan_engine: &mut Option<(Pos, u16)>,
        filters: &mut Vec<(String, Pos, String)>,
    ) -> Result<(), ConfigError> {
        const KEY: &str = "goreplay.extra_args";
        let mut tokens: Vec<(String, Pos)> = vec![];
        for (t, pos) in out.texts(KEY, node)? {
            tokens.extend(t.split_whitespace().map(|s| (s.to_string(), pos)));
        }
        let mut port: Option<u16> = None;
        let mut engine_vxlan: Option<Pos> = None;
        let mut it = tokens.into_iter().peekable();
        while let Some((tok, pos)) = it.next() {
            let Some((name, inline)) = goreplay_flag(&tok) else {
                return Err(out.err(pos, format!("`{KEY}`: `{tok}` is not a goreplay flag")));
            };
            let value =
                |it: &mut std::iter::Peekable<std::vec::IntoIter<(String, Pos)>>| match inline {
                    Some(v) => Ok(v.to_string()),
                    None => it
                        .next()
                        .map(|(v, _)| v)
                        .ok_or_else(|| out.err(pos, format!("`{KEY}`: `{tok}` needs a value"))),
                };
            match name {
                "input-raw" => filters.push((value(&mut it)?, pos, KEY.into())),
                "input-raw-engine" => match value(&mut it)?.as_str() {
                    "vxlan" => engine_vxlan = Some(pos),
                    "libpcap" | "pcap" => {}
                    other => {
                        return Err(out.err(
                            pos,
                            format!("`{KEY}`: -input-raw-engine {other} is not supported (vxlan or libpcap)"),
                        ))
                    }
                },
                "input-raw-vxlan-port" => {
                    let v = value(&mut it)?;
                    port = Some(v.parse().map_err(|_| {
                        out.err(pos, format!("`{KEY}`: -input-raw-vxlan-port {v}: not a UDP port"))
                    })?);
                }
                "input-raw-vxlan-vni" => {
                    let v = value(&mut it)?;
                    out.push("vni", Some(v), pos, KEY);
                }
                "input-raw-vlan" | "input-raw-promisc" => {
                    if let Some(v) = inline {
                        if v != "true" {
                            return Err(out.err(
                                pos,
                                format!("`{KEY}`: -{name}={v} is not supported (tapwatch always strips VLAN tags and captures promiscuously; use --no-promisc)"),
                            ));
                        }
                    }
                }
                "input-raw-vlan-vid" => {
                    let v = value(&mut it)?;
                    out.push("vlan", Some(v), pos, KEY);
                }
                "input-raw-bpf-filter" => {
                    let v = value(&mut it)?;
                    out.push("bpf", Some(v), pos, KEY);
                }
                "input-raw-snaplen" => {
                    let v = value(&mut it)?;
                    out.push("snaplen", Some(v), pos, KEY);
                }
                "input-raw-realip-header" => {
                    let v = value(&mut it)?;
                    out.push("real-ip-header", Some(v), pos, KEY);
                }
                _ => {
                    return Err(out.err(
                        pos,
                        format!("`{KEY}`: goreplay flag `{tok}` is not supported (supported: -input-raw, -input-raw-engine vxlan|libpcap, -input-raw-vxlan-port, -input-raw-vxlan-vni, -input-raw-vlan, -input-raw-vlan-vid, -input-raw-bpf-filter, -input-raw-snaplen, -input-raw-promisc, -input-raw-realip-header)"),
                    ))
                }
            }
        }
        match (engine_vxlan, port) {
            (Some(pos), port) => *vxlan_engine = Some((pos, port.unwrap_or(VXLAN_PORT))),
            (None, Some(_)) => {
                return Err(out.err(
                    node.pos,
                    format!("`{KEY}`: -input-raw-vxlan-port without -input-raw-engine vxlan"),
                ))
            }
            (None, None) => {}
        }
        Ok(())
    }

    fn log(out: &mut Out<'_>, node: &Node) -> Result<(), ConfigError> {
        for (lk, lv) in out.map("log", node)? {
            match lk.name.as_str() {
                "level" => {
                    let level = out.text("log.level", lv)?;
                    let flags: &[&str] = match level.to_ascii_lowercase().as_str() {
                        "trace" | "debug" => &["verbose", "verbose"],
                        "info" => &["verbose"],
                        "warn" | "warning" => &[],
                        "error" | "fatal" | "panic" => &["quiet"],
                        _ => {
                            return Err(out.err(
                                lv.pos,
                                format!("`log.level`: `{level}` is not debug, info, warn or error"),
                            ))
                        }
                    };
                    for f in flags {
                        out.push(f, None, lv.pos, "log.level");
                    }
                }
                "pretty" => {
                    out.bool("log.pretty", lv)?;
                }
                "log_file" => {
                    let f = out.text("log.log_file", lv)?;
                    if f != "stderr" {
                        return Err(out.err(
                            lv.pos,
                            format!("`log.log_file: {f}`: tapwatch logs to stderr only (redirect it, or let systemd/journald keep it)"),
                        ));
                    }
                }
                "access_log" => {
                    for (ak, av) in out.map("log.access_log", lv)? {
                        match ak.name.as_str() {
                            "enabled" if !out.bool("log.access_log.enabled", av)? => {}
                            "verbose" | "log_file" => {}
                            _ => {
                                return Err(out.err(
                                    ak.pos,
                                    format!("`log.access_log.{}` is not supported: tapwatch's access log is its `http` records (`--until http`, or `--types http` for the export sinks)", ak.name),
                                ))
                            }
                        }
                    }
                }
                _ => {
                    return Err(out.unsupported(
                        &format!("log.{}", lk.name),
                        lk,
                        "level, pretty, log_file: stderr, access_log.enabled: false",
                    ))
                }
            }
        }
        Ok(())
    }

    fn from_interface(out: &mut Out<'_>, node: &Node) -> Result<(), ConfigError> {
        const KEY: &str = "tcp_stream.from_interface";
        let m = match &node.val {
            Val::Map(m) => m,
            _ => {
                for (t, pos) in out.texts(KEY, node)? {
                    if t.contains(':') {
                        out.push("filter", Some(t), pos, KEY);
                    } else {
                        out.push("interface", Some(t), pos, KEY);
                    }
                }
                return Ok(());
            }
        };
        let mut enabled = false;
        let mut iface: Option<(String, Pos)> = None;
        let mut rest = vec![];
        for (k, v) in m {
            let path = format!("{KEY}.{}", k.name);
            match k.name.as_str() {
                "enabled" => enabled = out.bool(&path, v)?,
                "interface" => iface = Some((out.text(&path, v)?, v.pos)),
                "snap_len" => rest.push(("snaplen", Some(out.text(&path, v)?), v.pos, path)),
                "promiscuous" => {
                    if !out.bool(&path, v)? {
                        rest.push(("no-promisc", None, v.pos, path));
                    }
                }
                "filter" => {
                    let bpf = out.text(&path, v)?;
                    if !bpf.trim().is_empty() {
                        rest.push(("bpf", Some(bpf), v.pos, path));
                    }
                }
                _ => {
                    return Err(out.unsupported(
                        &path,
                        k,
                        "enabled, interface, snap_len, promiscuous, filter",
                    ))
                }
            }
        }
        if !enabled {
            return Ok(());
        }
        let (iface, pos) = iface.unwrap_or_else(|| ("any".into(), node.pos));
        out.push("interface", Some(iface), pos, &format!("{KEY}.interface"));
        for (flag, value, pos, path) in rest {
            out.push(flag, value, pos, &path);
        }
        Ok(())
    }

    fn from_tunnel(
        out: &mut Out<'_>,
        name: &str,
        flag: &str,
        default_port: u16,
        node: &Node,
    ) -> Result<(), ConfigError> {
        let key = format!("tcp_stream.{name}");
        match &node.val {
            Val::Bool(true) => out.push(flag, Some(listen_addr("", default_port)), node.pos, &key),
            Val::Bool(false) => {}
            Val::Map(m) => {
                let mut enabled = false;
                let mut addr: Option<String> = None;
                let mut port: Option<String> = None;
                let mut vnis = vec![];
                for (k, v) in m {
                    let path = format!("{key}.{}", k.name);
                    match k.name.as_str() {
                        "enabled" => enabled = out.bool(&path, v)?,
                        "port" => port = Some(out.text(&path, v)?),
                        "address" | "url" | "listen" => addr = Some(out.text(&path, v)?),
                        "vni" => vnis.extend(out.texts(&path, v)?),
                        _ => {
                            return Err(out.unsupported(
                                &path,
                                k,
                                "enabled, address (or url), port, vni",
                            ))
                        }
                    }
                }
                if enabled {
                    let a = match (addr, port) {
                        (Some(a), Some(p)) => {
                            let a = listen_addr(&a, default_port);
                            match a.rsplit_once(':') {
                                Some((host, _)) => format!("{host}:{p}"),
                                None => a,
                            }
                        }
                        (Some(a), None) => listen_addr(&a, default_port),
                        (None, Some(p)) => listen_addr(&p, default_port),
                        (None, None) => listen_addr("", default_port),
                    };
                    out.push(flag, Some(a), node.pos, &key);
                    for (v, pos) in vnis {
                        out.push("vni", Some(v), pos, &format!("{key}.vni"));
                    }
                }
            }
            _ => {
                for (t, pos) in out.texts(&key, node)? {
                    out.push(flag, Some(listen_addr(&t, default_port)), pos, &key);
                }
            }
        }
        Ok(())
    }
}

/// The flags a config file stands for, checked against `tapwatch run`.
fn file_flags(path: &Path, args: &[Arg]) -> Result<Vec<(Want, OsString)>, ConfigError> {
    doc_flags(Doc::load(path)?, args)
}

/// The flags a config text (named `file` in errors) stands for, checked
/// against `cmd`'s `run` subcommand (the fuzz target's entry point).
pub fn text_flags(file: &str, text: &str, cmd: &Command) -> Result<Vec<OsString>, ConfigError> {
    let (_, args) = run_args(cmd)?;
    Ok(doc_flags(Doc::parse(file, text)?, &args)?
        .into_iter()
        .map(|(_, t)| t)
        .collect())
}

fn doc_flags(doc: Doc, args: &[Arg]) -> Result<Vec<(Want, OsString)>, ConfigError> {
    let wants = if is_compat(&doc) {
        compat::read(&doc)?
    } else {
        own_keys(&doc, args)?
    };
    let mut out = Vec::with_capacity(wants.len());
    for w in wants {
        let Some(arg) = args.iter().find(|a| a.get_long() == Some(w.flag.as_str())) else {
            return Err(doc.err(
                w.pos,
                format!(
                    "`{}` maps to --{}, which this tapwatch run does not have",
                    w.key, w.flag
                ),
            ));
        };
        let token = match (&w.value, takes_value(arg)) {
            (Some(v), true) => {
                validate(arg, v).map_err(|e| doc.err(w.pos, format!("`{}`: {e}", w.key)))?;
                OsString::from(format!("--{}={v}", w.flag))
            }
            (None, false) => OsString::from(format!("--{}", w.flag)),
            (Some(_), false) | (None, true) => {
                return Err(doc.err(
                    w.pos,
                    format!(
                        "`{}` does not fit --{} (internal mapping error)",
                        w.key, w.flag
                    ),
                ))
            }
        };
        out.push((w, token));
    }
    Ok(out)
}

/// Runs `arg`'s value parser on `value`, alone: a one-flag command with the
/// same name, value name, parser and delimiter (the real argument may refer to
/// others, which a lone command could not resolve).
fn validate(arg: &Arg, value: &str) -> Result<(), String> {
    let mut lone = Arg::new("value")
        .long("value")
        .action(ArgAction::Set)
        .value_parser(arg.get_value_parser().clone());
    if let Some(names) = arg.get_value_names() {
        lone = lone.value_names(names.to_vec());
    }
    if let Some(d) = arg.get_value_delimiter() {
        lone = lone.value_delimiter(d);
    }
    let long = arg.get_long().unwrap_or("value");
    Command::new("tapwatch")
        .no_binary_name(true)
        .arg(lone)
        .try_get_matches_from([format!("--value={value}")])
        .map(|_| ())
        .map_err(|e| clap_message(&e).replace("'--value ", &format!("'--{long} ")))
}

/// clap's message without its `error: ` prefix and usage footer.
fn clap_message(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("").trim();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// Finds `--config FILE` / `--config=FILE` after `run` in `argv`, and replaces
/// it with the file's flags, placed right after `run`. A flag typed on the
/// command line drops the file's values for it. `argv` without `run` or
/// without `--config` comes back unchanged. `cmd` is the whole `tapwatch`
/// command (`Args::command()`).
pub fn expand(argv: Vec<OsString>, cmd: &Command) -> Result<Vec<OsString>, ConfigError> {
    // Only global switches (no values) may come before the subcommand.
    let Some(run_at) = argv
        .iter()
        .skip(1)
        .position(|a| !a.to_string_lossy().starts_with('-'))
        .map(|i| i + 1)
        .filter(|&i| argv[i] == "run")
    else {
        return Ok(argv);
    };
    let mut rest: Vec<OsString> = vec![];
    let mut config: Option<OsString> = None;
    let mut it = argv[run_at + 1..].iter();
    while let Some(a) = it.next() {
        if a == "--" {
            rest.push(a.clone());
            rest.extend(it.by_ref().cloned());
            break;
        }
        let s = a.to_string_lossy();
        let file = if s == "--config" {
            Some(
                it.next()
                    .cloned()
                    .ok_or_else(|| ConfigError::Usage("--config needs a FILE".into()))?,
            )
        } else {
            s.strip_prefix("--config=").map(OsString::from)
        };
        match file {
            Some(_) if config.is_some() => {
                return Err(ConfigError::Usage("--config given twice".into()))
            }
            Some(f) => config = Some(f),
            None => rest.push(a.clone()),
        }
    }
    let Some(config) = config else {
        return Ok(argv);
    };
    let (_, args) = run_args(cmd)?;
    let flags = file_flags(Path::new(&config), &args)?;
    // Which flags the command line sets, by parsing it without the file. If it
    // does not parse, clap will say why once the file's flags are added.
    let mut head: Vec<OsString> = argv[..=run_at].to_vec();
    let mut probe = head.clone();
    probe.extend(rest.iter().cloned());
    let given: BTreeSet<String> = match cmd.clone().try_get_matches_from(&probe) {
        Ok(m) => match m.subcommand_matches("run") {
            Some(sub) => args
                .iter()
                .filter(|a| {
                    sub.try_contains_id(a.get_id().as_str()).unwrap_or(false)
                        && sub.value_source(a.get_id().as_str()) == Some(ValueSource::CommandLine)
                })
                .filter_map(|a| a.get_long().map(str::to_string))
                .collect(),
            None => BTreeSet::new(),
        },
        Err(_) => BTreeSet::new(),
    };
    head.extend(
        flags
            .into_iter()
            .filter(|(w, _)| !given.contains(&w.flag))
            .map(|(_, t)| t),
    );
    head.extend(rest);
    Ok(head)
}

/// `tapwatch config check [FILE] [-- ARGS]`: the command line `tapwatch run
/// [--config FILE] ARGS` expands to, after clap has accepted it; the words
/// after `run`.
pub fn check(
    file: Option<&Path>,
    extra: &[OsString],
    cmd: &Command,
) -> Result<Vec<OsString>, ConfigError> {
    let mut argv = vec![OsString::from("tapwatch"), OsString::from("run")];
    if let Some(f) = file {
        argv.push(OsString::from("--config"));
        argv.push(f.as_os_str().to_owned());
    }
    argv.extend(extra.iter().cloned());
    let expanded = expand(argv, cmd)?;
    cmd.clone()
        .try_get_matches_from(&expanded)
        .map_err(|e| ConfigError::Rejected(clap_message(&e)))?;
    Ok(expanded.into_iter().skip(2).collect())
}

/// [`check`] as the line `tapwatch config check` prints: `tapwatch run ...`.
pub fn check_line(
    file: Option<&Path>,
    extra: &[OsString],
    cmd: &Command,
) -> Result<String, ConfigError> {
    let words = check(file, extra, cmd)?;
    Ok(format!("tapwatch run {}\n", shell_words(&words)).replace("run \n", "run\n"))
}

/// Words as one shell command line, quoted where needed.
pub fn shell_words(words: &[OsString]) -> String {
    let mut out = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let w = w.to_string_lossy();
        let plain = !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_=./:,@%+".contains(&b));
        if plain {
            out.push_str(&w);
        } else {
            out.push('\'');
            out.push_str(&w.replace('\'', r"'\''"));
            out.push('\'');
        }
    }
    out
}

/// The section a flag is documented in: its help heading, else its place.
fn section_of(arg: &Arg) -> &'static str {
    let by_heading = match arg.get_help_heading() {
        Some("Capture") => Some("capture"),
        Some("Decap") => Some("decap"),
        Some("Reassembly") => Some("reassemble"),
        Some("HTTP") => Some("http"),
        Some("Detection") => Some("detect"),
        Some("Inventory") => Some("discover"),
        Some("Export") => Some("export"),
        Some("Node") => Some("node"),
        Some("Log") | Some("Logging") => Some("log"),
        _ => None,
    };
    if let Some(s) = by_heading {
        return s;
    }
    if arg.is_global_set() {
        return "log";
    }
    match arg.get_long().unwrap_or("") {
        "read" | "interface" | "filter" | "bpf" | "snaplen" | "no-promisc" | "vxlan-listen"
        | "geneve-listen" | "duration" | "count" => "capture",
        _ => "node",
    }
}

/// The documented schema of the config file, generated from the flags of
/// `tapwatch run`: every key with its section, type, default and help.
pub fn schema(cmd: &Command) -> Result<String, ConfigError> {
    let (_, args) = run_args(cmd)?;
    let mut out = String::from(
        "# The config file of `tapwatch run --config FILE` (YAML), generated from its flags.\n\
         # Every key is a long flag of `tapwatch run` (`-` or `_` between words); flags on the\n\
         # command line win over the file. Sections group keys for reading only: a key is\n\
         # accepted in any section or at the top. A switch takes true/false, a list one\n\
         # value per item (or one value), a counter a number. Mirror-node files\n\
         # (`mode: tcp-capture`) are read too; see the README.\n",
    );
    for section in SECTIONS {
        let mut in_section: Vec<&Arg> = args.iter().filter(|a| section_of(a) == section).collect();
        if in_section.is_empty() {
            continue;
        }
        in_section.sort_by_key(|a| a.get_long());
        let _ = writeln!(out, "\n{section}:");
        for arg in in_section {
            let long = arg.get_long().unwrap_or("");
            let value_name = arg
                .get_value_names()
                .and_then(|v| v.first())
                .map(|s| s.to_string())
                .unwrap_or_else(|| "VALUE".into());
            let possible: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|p| !p.is_hide_set())
                .map(|p| p.get_name().to_string())
                .collect();
            let ty = match arg.get_action() {
                ArgAction::SetTrue | ArgAction::SetFalse => "switch (true/false)".to_string(),
                ArgAction::Count => "counter (0, 1, 2, ...)".to_string(),
                ArgAction::Append => format!("list of {value_name}"),
                _ => value_name,
            };
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|d| d.to_string_lossy().into_owned())
                .collect();
            let default = match arg.get_action() {
                ArgAction::SetTrue | ArgAction::SetFalse => "false".to_string(),
                ArgAction::Count => "0".to_string(),
                _ if defaults.is_empty() => "none".to_string(),
                _ => defaults.join(","),
            };
            let _ = write!(out, "  {long}: {ty}; default {default}");
            if !possible.is_empty() {
                let _ = write!(out, "; one of {}", possible.join(", "));
            }
            out.push('\n');
            let help = arg
                .get_long_help()
                .or_else(|| arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            for line in help.lines() {
                if line.trim().is_empty() {
                    continue;
                }
                let _ = writeln!(out, "      {}", line.trim_end());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
