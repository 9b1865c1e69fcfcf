//! OpenAPI 3.1 documents from an inventory, one per host.
//!
//! Path, query, header and cookie parameters become `parameters`; JSON,
//! form and multipart fields become request body schemas; each learned
//! status becomes a response with its content types and merged schema.
//! What OpenAPI has no field for goes in `x-tapwatch-*` extensions: how often
//! the operation was seen and when, whether it was authenticated always,
//! sometimes or never, which sensitive data it carries, and why each path
//! segment was templated. Keys are sorted, so the output is deterministic.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::inventory::{Endpoint, Inventory, Param};

/// The OpenAPI documents of an inventory, by host.
pub fn documents(inv: &Inventory) -> BTreeMap<String, Value> {
    let mut by_host: BTreeMap<&str, Vec<&Endpoint>> = BTreeMap::new();
    for e in &inv.endpoints {
        by_host.entry(&e.host).or_default().push(e);
    }
    by_host
        .into_iter()
        .map(|(host, eps)| (host.to_string(), document(host, &eps)))
        .collect()
}

/// A file name for a host's document: `<host>.openapi.json`, unsafe characters as `_`.
pub fn file_name(host: &str, ext: &str) -> String {
    let safe: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.openapi.{ext}")
}

fn document(host: &str, eps: &[&Endpoint]) -> Value {
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut schemes: BTreeMap<String, Value> = BTreeMap::new();
    for e in eps {
        for s in e.auth.schemes.keys() {
            if let Some((name, def)) = security_scheme(s) {
                schemes.insert(name, def);
            }
        }
        paths
            .entry(&e.path)
            .or_default()
            .insert(e.method.to_ascii_lowercase(), operation(e));
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": host,
            "version": "observed",
            "description": format!("API of {host} as tapwatch observed it on the wire (tw-discover)."),
        },
        "servers": [{"url": format!("http://{host}")}],
        "paths": paths.into_iter().map(|(p, ops)| (p.to_string(), Value::Object(ops))).collect::<Map<_, _>>(),
    });
    if !schemes.is_empty() {
        doc["components"] =
            json!({ "securitySchemes": schemes.into_iter().collect::<Map<_, _>>() });
    }
    doc
}

/// The `components.securitySchemes` entry of an auth scheme name.
fn security_scheme(s: &str) -> Option<(String, Value)> {
    Some(match s.split_once(':') {
        None => match s {
            "http_bearer" => (
                "bearerAuth".into(),
                json!({"type": "http", "scheme": "bearer"}),
            ),
            "http_basic" => (
                "basicAuth".into(),
                json!({"type": "http", "scheme": "basic"}),
            ),
            "http_other" => (
                "authorizationHeader".into(),
                json!({"type": "apiKey", "in": "header", "name": "Authorization"}),
            ),
            _ => return None,
        },
        Some((kind, name)) => {
            let location = match kind {
                "api_key_header" => "header",
                "api_key_query" => "query",
                "session_cookie" => "cookie",
                _ => return None,
            };
            (
                format!("{kind}_{name}"),
                json!({"type": "apiKey", "in": location, "name": name}),
            )
        }
    })
}

fn param_schema(p: &Param) -> Value {
    let mut s = Map::new();
    match p.types.as_slice() {
        [] => {}
        [one] => {
            s.insert("type".into(), json!(one));
        }
        many => {
            s.insert("type".into(), json!(many));
        }
    }
    if let Some(f) = &p.format {
        s.insert("format".into(), json!(f));
    }
    Value::Object(s)
}

fn operation(e: &Endpoint) -> Value {
    let mut op = Map::new();
    let id: String = format!("{}{}", e.method.to_ascii_lowercase(), e.path)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    op.insert("operationId".into(), json!(id.trim_end_matches('_')));
    let mut parameters = vec![];
    let mut form: BTreeMap<&str, Vec<&Param>> = BTreeMap::new();
    for p in &e.params {
        match p.location.as_str() {
            "path" | "query" | "header" | "cookie" => {
                let mut v = json!({
                    "name": p.name,
                    "in": p.location,
                    "required": p.location == "path" || p.required,
                    "schema": param_schema(p),
                });
                if !p.sensitive.is_empty() {
                    v["x-tapwatch-sensitive"] = json!(p.sensitive);
                }
                parameters.push(v);
            }
            "form" => form
                .entry("application/x-www-form-urlencoded")
                .or_default()
                .push(p),
            "multipart" => form.entry("multipart/form-data").or_default().push(p),
            _ => {}
        }
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(req) = &e.request {
        let mut content = Map::new();
        for ct in req.content_types.keys() {
            let schema = match (ct.as_str(), form.get(ct.as_str())) {
                (_, Some(fields)) => fields_schema(fields),
                _ if req.schema.is_some() && is_json(ct) => req.schema.clone().unwrap_or_default(),
                _ => json!({}),
            };
            content.insert(ct.clone(), json!({ "schema": schema }));
        }
        if !content.is_empty() {
            op.insert(
                "requestBody".into(),
                json!({ "required": req.count >= e.learned, "content": content }),
            );
        }
    }
    let mut responses = Map::new();
    for (status, body) in &e.responses {
        let mut r = Map::new();
        r.insert(
            "description".into(),
            json!(format!("Seen {} times", body.count)),
        );
        if !body.content_types.is_empty() {
            let content: Map<String, Value> = body
                .content_types
                .keys()
                .map(|ct| {
                    let schema = match &body.schema {
                        Some(s) if is_json(ct) => s.clone(),
                        _ => json!({}),
                    };
                    (ct.clone(), json!({ "schema": schema }))
                })
                .collect();
            r.insert("content".into(), Value::Object(content));
        }
        responses.insert(status.clone(), Value::Object(r));
    }
    // Statuses seen but not learned from (non-2xx by default): listed without content.
    for (status, n) in &e.statuses {
        if status.len() == 3 && !responses.contains_key(status) {
            responses.insert(
                status.clone(),
                json!({"description": format!("Seen {n} times (not learned from)")}),
            );
        }
    }
    if responses.is_empty() {
        responses.insert(
            "default".into(),
            json!({"description": "No response learned"}),
        );
    }
    op.insert("responses".into(), Value::Object(responses));
    let mut security: Vec<Value> = e
        .auth
        .schemes
        .keys()
        .filter_map(|s| security_scheme(s))
        .map(|(name, _)| json!({ name: [] }))
        .collect();
    match e.auth.presence.as_str() {
        "never" => security.clear(),
        "sometimes" => security.push(json!({})),
        _ => {}
    }
    op.insert("security".into(), Value::Array(security));
    op.insert("x-tapwatch-auth".into(), json!(e.auth.presence));
    op.insert("x-tapwatch-count".into(), json!(e.count));
    op.insert("x-tapwatch-first-seen".into(), json!(e.first_seen));
    op.insert("x-tapwatch-last-seen".into(), json!(e.last_seen));
    if !e.sensitive.is_empty() {
        op.insert("x-tapwatch-sensitive".into(), json!(e.sensitive));
    }
    if !e.segments.is_empty() {
        op.insert("x-tapwatch-segments".into(), json!(e.segments));
    }
    Value::Object(op)
}

fn is_json(ct: &str) -> bool {
    ct == "application/json" || ct.ends_with("+json") || ct == "text/json"
}

fn fields_schema(fields: &[&Param]) -> Value {
    let props: Map<String, Value> = fields
        .iter()
        .map(|p| (p.name.clone(), param_schema(p)))
        .collect();
    let required: Vec<&str> = fields
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name.as_str())
        .collect();
    let mut s = json!({"type": "object", "properties": props});
    if !required.is_empty() {
        s["required"] = json!(required);
    }
    s
}
