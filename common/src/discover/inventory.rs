//! The canonical inventory: what `--inventory FILE` writes and `diff` reads.
//!
//! Deterministic by construction: endpoints sorted by host, path and method,
//! every map a `BTreeMap`, every list sorted, times from packets only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::{self, Ts};

/// Format version of the inventory file.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// Always [`FORMAT`]; a reader refuses other versions.
    pub tapwatch_inventory: u32,
    pub endpoints: Vec<Endpoint>,
    /// Counters of the run that built it (what was learned, left out, dropped).
    #[serde(default)]
    pub summary: BTreeMap<String, u64>,
}

/// Why one path segment is a parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Zero-based position in the path.
    pub index: usize,
    pub name: String,
    /// `integer`, `uuid`, `objectid`, `hash`, `hex`, `date`, `email`, `token`, `siblings` or `override`.
    pub reason: String,
}

/// One parameter of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// `path`, `query`, `header`, `cookie`, `body` (JSON pointer name), `form` or `multipart`.
    #[serde(rename = "in")]
    pub location: String,
    pub name: String,
    /// Present in every learned transaction.
    pub required: bool,
    /// Learned transactions it was present in.
    pub count: u64,
    /// Unified JSON types (`["integer"]`, `["string","null"]`).
    #[serde(rename = "type")]
    pub types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive: Vec<String>,
}

/// Bodies of one direction (requests, or responses with one status).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Body {
    pub count: u64,
    /// Media types (lower case, no parameters) and how often.
    #[serde(default)]
    pub content_types: BTreeMap<String, u64>,
    /// Merged JSON Schema of the JSON bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
}

/// Authentication seen on an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    /// `always`, `sometimes` or `never` (over learned transactions).
    pub presence: String,
    /// Schemes and how often: `http_bearer`, `http_basic`, `http_other`,
    /// `api_key_header:<name>`, `api_key_query:<name>`, `session_cookie:<name>`.
    #[serde(default)]
    pub schemes: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub method: String,
    /// Path template, e.g. `/api/v1/users/{userId}`.
    pub path: String,
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Transactions matched (every status).
    pub count: u64,
    /// Transactions learned from (2xx unless `--all-statuses`).
    pub learned: u64,
    pub first_seen: Ts,
    pub last_seen: Ts,
    /// Responses by status (`none`: no response seen).
    #[serde(default)]
    pub statuses: BTreeMap<String, u64>,
    pub auth: Auth,
    #[serde(default)]
    pub params: Vec<Param>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Body>,
    /// Learned responses by status.
    #[serde(default)]
    pub responses: BTreeMap<String, Body>,
    /// Sensitive data kinds in parameters and bodies.
    #[serde(default)]
    pub sensitive: Vec<String>,
}

impl Endpoint {
    /// The `endpoint` record of this entry.
    pub fn record(&self) -> record::Endpoint {
        let params = self
            .params
            .iter()
            .filter_map(|p| serde_json::to_value(p).ok())
            .collect();
        record::Endpoint {
            method: self.method.clone(),
            host: self.host.clone(),
            path: self.path.clone(),
            params,
            statuses: self.statuses.clone(),
            sensitive: self.sensitive.clone(),
            count: self.count,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            auth: Some(self.auth.presence.clone()),
            learned: Some(self.learned),
        }
    }

    /// The key endpoints are compared by: host, method, and the path with
    /// parameter names blanked (`/users/{}`).
    pub fn key(&self) -> (String, String, String) {
        (
            self.host.clone(),
            self.method.clone(),
            blank_names(&self.path),
        )
    }
}

/// `/users/{userId}` → `/users/{}`.
pub fn blank_names(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                "{}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Inventory {
    /// Reads an inventory file's text.
    pub fn parse(text: &str) -> Result<Inventory, String> {
        let inv: Inventory =
            serde_json::from_str(text).map_err(|e| format!("not a tapwatch inventory: {e}"))?;
        if inv.tapwatch_inventory != FORMAT {
            return Err(format!(
                "inventory format {} (this tw-discover reads format {FORMAT})",
                inv.tapwatch_inventory
            ));
        }
        Ok(inv)
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}
