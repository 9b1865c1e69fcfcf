//! Comparing inventories with each other and with an OpenAPI spec.
//!
//! [`diff`] lists endpoints that are new, removed or changed between two
//! inventories, and for changed ones the parameters added, removed or
//! changed (type, format, required), auth presence and sensitive data.
//! [`against`] checks an inventory against an OpenAPI document: *shadow*
//! endpoints (seen, not in the spec), *orphan* operations (in the spec, never
//! seen), *zombie* operations (deprecated in the spec, still called) and
//! undocumented parameters of documented operations. Both reports print as
//! text for people and serialise to JSON for tools; `is_empty` decides the
//! exit status ([`super::EXIT_DIFFERENCES`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::inventory::{Endpoint, Inventory, Param};

/// What changed on one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub endpoint: String,
    pub changes: Vec<String>,
}

/// Differences between two inventories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<Changed>,
}

impl DiffReport {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

fn label(e: &Endpoint) -> String {
    format!("{} {}{}", e.method, e.host, e.path)
}

fn param_desc(p: &Param) -> String {
    let mut s = p.types.join("|");
    if let Some(f) = &p.format {
        s.push_str(&format!(" ({f})"));
    }
    s
}

/// Compares two inventories.
pub fn diff(old: &Inventory, new: &Inventory) -> DiffReport {
    let index = |inv: &Inventory| -> BTreeMap<(String, String, String), Endpoint> {
        inv.endpoints.iter().map(|e| (e.key(), e.clone())).collect()
    };
    let (old, new) = (index(old), index(new));
    let mut report = DiffReport::default();
    for (k, e) in &new {
        match old.get(k) {
            None => report.added.push(label(e)),
            Some(o) => {
                let changes = endpoint_changes(o, e);
                if !changes.is_empty() {
                    report.changed.push(Changed {
                        endpoint: label(e),
                        changes,
                    });
                }
            }
        }
    }
    for (k, e) in &old {
        if !new.contains_key(k) {
            report.removed.push(label(e));
        }
    }
    report
}

fn endpoint_changes(old: &Endpoint, new: &Endpoint) -> Vec<String> {
    // Path parameters are compared by position, whatever their names.
    let key = |e: &Endpoint, p: &Param| {
        if p.location == "path" {
            (
                p.location.clone(),
                String::new(),
                path_index(e, &p.name).unwrap_or(0),
            )
        } else {
            (p.location.clone(), p.name.clone(), 0)
        }
    };
    let old_params: BTreeMap<_, &Param> = old.params.iter().map(|p| (key(old, p), p)).collect();
    let new_params: BTreeMap<_, &Param> = new.params.iter().map(|p| (key(new, p), p)).collect();
    let mut out = vec![];
    for (k, p) in &new_params {
        match old_params.get(k) {
            None => out.push(format!(
                "+ param {} {}: {}",
                p.location,
                p.name,
                param_desc(p)
            )),
            Some(o) => {
                let mut what = vec![];
                if o.types != p.types || o.format != p.format {
                    what.push(format!("type {} -> {}", param_desc(o), param_desc(p)));
                }
                if o.required != p.required {
                    what.push(format!("required {} -> {}", o.required, p.required));
                }
                let (os, ns): (BTreeSet<_>, BTreeSet<_>) =
                    (o.sensitive.iter().collect(), p.sensitive.iter().collect());
                if os != ns {
                    what.push(format!(
                        "sensitive [{}] -> [{}]",
                        o.sensitive.join(","),
                        p.sensitive.join(",")
                    ));
                }
                if !what.is_empty() {
                    out.push(format!(
                        "~ param {} {}: {}",
                        p.location,
                        p.name,
                        what.join("; ")
                    ));
                }
            }
        }
    }
    for (k, p) in &old_params {
        if !new_params.contains_key(k) {
            out.push(format!("- param {} {}", p.location, p.name));
        }
    }
    if old.auth.presence != new.auth.presence {
        out.push(format!(
            "~ auth {} -> {}",
            old.auth.presence, new.auth.presence
        ));
    }
    let (os, ns): (BTreeSet<_>, BTreeSet<_>) = (
        old.sensitive.iter().collect(),
        new.sensitive.iter().collect(),
    );
    for s in ns.difference(&os) {
        out.push(format!("+ sensitive {s}"));
    }
    for s in os.difference(&ns) {
        out.push(format!("- sensitive {s}"));
    }
    out
}

fn path_index(e: &Endpoint, name: &str) -> Option<usize> {
    e.segments.iter().find(|s| s.name == name).map(|s| s.index)
}

impl fmt::Display for DiffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.added {
            writeln!(f, "+ {a}")?;
        }
        for r in &self.removed {
            writeln!(f, "- {r}")?;
        }
        for c in &self.changed {
            writeln!(f, "~ {}", c.endpoint)?;
            for line in &c.changes {
                writeln!(f, "    {line}")?;
            }
        }
        writeln!(
            f,
            "{} new, {} removed, {} changed endpoint(s)",
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        )
    }
}

/// One operation of an OpenAPI document.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Operation {
    method: String,
    /// Segments, `None` for a parameter.
    segs: Vec<Option<String>>,
    label: String,
    deprecated: bool,
    /// `(in, name)` of documented parameters (names lower case for headers).
    params: BTreeSet<(String, String)>,
}

/// An inventory checked against a spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgainstReport {
    /// Seen on the wire, not in the spec.
    pub shadow: Vec<String>,
    /// In the spec, never seen.
    pub orphan: Vec<String>,
    /// Deprecated in the spec, still called.
    pub zombie: Vec<String>,
    /// Documented operations called with parameters the spec does not list.
    pub undocumented_params: Vec<Changed>,
    /// Observed endpoints of hosts the spec's servers do not name (not compared).
    pub other_hosts: u64,
}

impl AgainstReport {
    pub fn is_empty(&self) -> bool {
        self.shadow.is_empty()
            && self.orphan.is_empty()
            && self.zombie.is_empty()
            && self.undocumented_params.is_empty()
    }
}

impl fmt::Display for AgainstReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.shadow {
            writeln!(f, "shadow: {s} (seen, not in the spec)")?;
        }
        for z in &self.zombie {
            writeln!(f, "zombie: {z} (deprecated in the spec, still called)")?;
        }
        for o in &self.orphan {
            writeln!(f, "orphan: {o} (in the spec, never seen)")?;
        }
        for c in &self.undocumented_params {
            writeln!(f, "undocumented parameters: {}", c.endpoint)?;
            for line in &c.changes {
                writeln!(f, "    {line}")?;
            }
        }
        write!(
            f,
            "{} shadow, {} zombie, {} orphan, {} with undocumented parameters",
            self.shadow.len(),
            self.zombie.len(),
            self.orphan.len(),
            self.undocumented_params.len()
        )?;
        if self.other_hosts > 0 {
            write!(
                f,
                "; {} endpoint(s) of other hosts not compared",
                self.other_hosts
            )?;
        }
        writeln!(f)
    }
}

/// Parses an OpenAPI document (JSON or YAML).
pub fn parse_spec(text: &str) -> Result<Value, String> {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => serde_yaml_ng::from_str(text).map_err(|e| format!("not JSON or YAML: {e}"))?,
    };
    if !v
        .get("openapi")
        .or_else(|| v.get("swagger"))
        .is_some_and(Value::is_string)
    {
        return Err("not an OpenAPI document (no \"openapi\" version field)".into());
    }
    if !v.get("paths").is_some_and(Value::is_object) {
        return Err("OpenAPI document without \"paths\"".into());
    }
    Ok(v)
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `(host, base path)` of each absolute server URL of a spec.
fn servers(spec: &Value) -> Vec<(String, String)> {
    let mut out = vec![];
    for s in spec
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(url) = s.get("url").and_then(Value::as_str) else {
            continue;
        };
        let Some(rest) = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
        else {
            continue;
        };
        let (host, base) = rest.split_once('/').map_or((rest, ""), |(h, b)| (h, b));
        let mut host = host.to_ascii_lowercase();
        for port in [":80", ":443"] {
            if let Some(h) = host.strip_suffix(port) {
                host = h.to_string();
            }
        }
        out.push((host, base.trim_matches('/').to_string()));
    }
    out
}

fn operations(spec: &Value, base: &str) -> Vec<Operation> {
    let mut out = vec![];
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return out;
    };
    let collect_params = |v: Option<&Value>, into: &mut BTreeSet<(String, String)>| {
        for p in v.and_then(Value::as_array).into_iter().flatten() {
            if let (Some(name), Some(loc)) = (
                p.get("name").and_then(Value::as_str),
                p.get("in").and_then(Value::as_str),
            ) {
                let name = if loc == "header" {
                    name.to_ascii_lowercase()
                } else {
                    name.to_string()
                };
                into.insert((loc.to_string(), name));
            }
        }
    };
    for (path, item) in paths {
        let full = format!("/{}/{}", base, path.trim_start_matches('/'));
        let segs: Vec<Option<String>> = full
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string()))
            .collect();
        let mut shared = BTreeSet::new();
        collect_params(item.get("parameters"), &mut shared);
        for m in METHODS {
            let Some(op) = item.get(*m) else {
                continue;
            };
            let mut params = shared.clone();
            collect_params(op.get("parameters"), &mut params);
            let label_path = if base.is_empty() {
                path.clone()
            } else {
                format!("/{base}{path}")
            };
            out.push(Operation {
                method: m.to_ascii_uppercase(),
                segs: segs.clone(),
                label: format!("{} {label_path}", m.to_ascii_uppercase()),
                deprecated: op
                    .get("deprecated")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                params,
            });
        }
    }
    out
}

/// Whether a spec operation covers an observed template: same length, spec
/// literals equal, a spec parameter matches anything.
fn covers(op: &Operation, method: &str, path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    op.method == method
        && op.segs.len() == segs.len()
        && op.segs.iter().zip(&segs).all(|(spec, seen)| match spec {
            None => true,
            Some(lit) => lit == seen,
        })
}

/// Checks an inventory against an OpenAPI document. Endpoints of hosts the
/// spec's servers name are compared (all hosts when it names none).
pub fn against(inv: &Inventory, spec: &Value) -> AgainstReport {
    let servers = servers(spec);
    let bases: BTreeSet<&str> = servers.iter().map(|(_, b)| b.as_str()).collect();
    let bases: Vec<&str> = if bases.is_empty() {
        vec![""]
    } else {
        bases.into_iter().collect()
    };
    let ops: Vec<Operation> = bases.iter().flat_map(|b| operations(spec, b)).collect();
    let hosts: BTreeSet<&str> = servers.iter().map(|(h, _)| h.as_str()).collect();
    let mut report = AgainstReport::default();
    let mut seen = vec![false; ops.len()];
    for e in &inv.endpoints {
        if !hosts.is_empty() && !hosts.contains(e.host.as_str()) {
            report.other_hosts += 1;
            continue;
        }
        // The most specific operation: most literal segments.
        let best = ops
            .iter()
            .enumerate()
            .filter(|(_, op)| covers(op, &e.method, &e.path))
            .max_by_key(|(i, op)| {
                (
                    op.segs.iter().filter(|s| s.is_some()).count(),
                    usize::MAX - i,
                )
            });
        let Some((i, op)) = best else {
            report.shadow.push(label(e));
            continue;
        };
        seen[i] = true;
        if op.deprecated {
            report
                .zombie
                .push(format!("{} (spec: {})", label(e), op.label));
        }
        let missing: Vec<String> = e
            .params
            .iter()
            .filter(|p| matches!(p.location.as_str(), "query" | "header" | "cookie"))
            .filter(|p| !op.params.contains(&(p.location.clone(), p.name.clone())))
            .map(|p| format!("{} {}", p.location, p.name))
            .collect();
        if !missing.is_empty() {
            report.undocumented_params.push(Changed {
                endpoint: label(e),
                changes: missing,
            });
        }
    }
    // An operation is seen when any base's copy of it was.
    let mut orphans = BTreeSet::new();
    for op in &ops {
        if !seen
            .iter()
            .zip(&ops)
            .any(|(s, o)| *s && o.label == op.label)
        {
            orphans.insert(op.label.clone());
        }
    }
    report.orphan = orphans.into_iter().collect();
    report.shadow.sort();
    report.zombie.sort();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::inventory::{Auth, Segment};
    use crate::time::Ts;

    fn param(location: &str, name: &str, types: &[&str], required: bool) -> Param {
        Param {
            location: location.into(),
            name: name.into(),
            required,
            count: 1,
            types: types.iter().map(|t| t.to_string()).collect(),
            format: None,
            sensitive: vec![],
        }
    }

    fn ep(method: &str, path: &str, params: Vec<Param>) -> Endpoint {
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .enumerate()
            .filter(|(_, s)| s.starts_with('{'))
            .map(|(i, s)| Segment {
                index: i,
                name: s.trim_matches(['{', '}']).into(),
                reason: "integer".into(),
            })
            .collect();
        Endpoint {
            host: "app".into(),
            method: method.into(),
            path: path.into(),
            segments,
            count: 1,
            learned: 1,
            first_seen: Ts::default(),
            last_seen: Ts::default(),
            statuses: BTreeMap::new(),
            auth: Auth {
                presence: "always".into(),
                schemes: BTreeMap::new(),
            },
            params,
            request: None,
            responses: BTreeMap::new(),
            sensitive: vec![],
        }
    }

    fn inv(endpoints: Vec<Endpoint>) -> Inventory {
        Inventory {
            tapwatch_inventory: 1,
            endpoints,
            summary: BTreeMap::new(),
        }
    }

    #[test]
    fn diff_lists_new_removed_and_changed() {
        let old = inv(vec![
            ep(
                "GET",
                "/users/{userId}",
                vec![param("path", "userId", &["integer"], true)],
            ),
            ep(
                "GET",
                "/users",
                vec![
                    param("query", "page", &["integer"], true),
                    param("query", "q", &["string"], false),
                ],
            ),
            ep("DELETE", "/users/{userId}", vec![]),
        ]);
        let mut changed = ep(
            "GET",
            "/users",
            vec![
                param("query", "page", &["string"], false),
                param("query", "limit", &["integer"], true),
            ],
        );
        changed.auth.presence = "sometimes".into();
        changed.sensitive = vec!["email".into()];
        let new = inv(vec![
            // Renamed path parameter: the same endpoint.
            ep(
                "GET",
                "/users/{id}",
                vec![param("path", "id", &["integer"], true)],
            ),
            changed,
            ep("POST", "/orders", vec![]),
        ]);
        let r = diff(&old, &new);
        assert_eq!(r.added, vec!["POST app/orders"]);
        assert_eq!(r.removed, vec!["DELETE app/users/{userId}"]);
        assert_eq!(r.changed.len(), 1, "{r}");
        assert_eq!(
            r.changed[0].changes,
            vec![
                "+ param query limit: integer",
                "~ param query page: type integer -> string; required true -> false",
                "- param query q",
                "~ auth always -> sometimes",
                "+ sensitive email",
            ]
        );
        assert!(diff(&old, &old).is_empty());
        assert!(
            r.to_string()
                .ends_with("1 new, 1 removed, 1 changed endpoint(s)\n"),
            "{r}"
        );
    }

    #[test]
    fn against_finds_shadow_orphan_zombie() {
        let spec = parse_spec(
            r#"
openapi: 3.1.0
info: {title: t, version: "1"}
servers: [{url: "https://app/api"}]
paths:
  /users/{id}:
    get:
      parameters: [{name: fields, in: query}]
    delete:
      deprecated: true
  /users/me:
    get: {}
  /orders:
    post: {}
"#,
        )
        .unwrap();
        let observed = inv(vec![
            ep(
                "GET",
                "/api/users/{userId}",
                vec![
                    param("path", "userId", &["integer"], true),
                    param("query", "fields", &["string"], false),
                    param("query", "debug", &["boolean"], false),
                ],
            ),
            ep("GET", "/api/users/me", vec![]),
            ep("DELETE", "/api/users/{userId}", vec![]),
            ep("GET", "/api/admin/export", vec![]),
        ]);
        let r = against(&observed, &spec);
        assert_eq!(r.shadow, vec!["GET app/api/admin/export"]);
        assert_eq!(r.orphan, vec!["POST /api/orders"]);
        assert_eq!(
            r.zombie,
            vec!["DELETE app/api/users/{userId} (spec: DELETE /api/users/{id})"]
        );
        assert_eq!(r.undocumented_params.len(), 1);
        assert_eq!(r.undocumented_params[0].changes, vec!["query debug"]);
        assert!(!r.is_empty());
        // Other hosts are not compared.
        let mut other = observed.clone();
        for e in &mut other.endpoints {
            e.host = "elsewhere".into();
        }
        let r = against(&other, &spec);
        assert_eq!(r.other_hosts, 4);
        assert!(r.shadow.is_empty());
        assert_eq!(r.orphan.len(), 4);
    }

    #[test]
    fn spec_parsing_rejects_non_openapi() {
        assert!(parse_spec("{\"paths\":{}}").is_err());
        assert!(parse_spec("openapi: 3.1.0\n").is_err());
        assert!(parse_spec(": : :").is_err());
        assert!(parse_spec("{\"openapi\":\"3.0.3\",\"paths\":{}}").is_ok());
    }
}
