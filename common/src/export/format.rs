//! Output shapes: native records, Elastic Common Schema, Suricata-eve-like.
//!
//! Conversions read the (already masked) native record as JSON, so they work
//! for every record type; fields a shape has no place for go under `tapwatch.*`.
//!
//! ECS (8.x field names): `@timestamp`, `event.{id,kind,category,type,dataset,
//! module,severity,count,start,end}`, `source.{ip,port,address}`,
//! `destination.{ip,port,address}`, `url.{original,path,query,domain}`,
//! `http.request.method`, `http.response.status_code`, `user_agent.original`,
//! `network.community_id`, `rule.id`, `vulnerability.{category,severity}`, `message`.
//!
//! eve: `timestamp`, `event_type` (`alert` for attacks and vulns, else the record
//! type), `src_ip`, `src_port`, `dest_ip`, `dest_port`, `proto`, `community_id`,
//! `alert{signature, signature_id, category, severity}` (1 high .. 3 low, as
//! Suricata), `http{hostname, url, http_method, status, http_user_agent}`.

use std::net::SocketAddr;

use serde_json::{json, Map, Value};

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// `ip:port` (IPv6 in brackets) or a bare IP.
fn split_addr(text: &str) -> (Option<String>, Option<u16>) {
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return (Some(sa.ip().to_string()), Some(sa.port()));
    }
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return (Some(ip.to_string()), None);
    }
    (None, None)
}

/// Splits a request target into path and query.
fn split_uri(uri: &str) -> (&str, Option<&str>) {
    match uri.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (uri, None),
    }
}

fn header<'a>(msg: Option<&'a Value>, name: &str) -> Option<&'a str> {
    msg?.get("headers")?.as_array()?.iter().find_map(|h| {
        let pair = h.as_array()?;
        (pair.first()?.as_str()?.eq_ignore_ascii_case(name))
            .then(|| pair.get(1)?.as_str())
            .flatten()
    })
}

/// The flat HTTP facts of a record, whatever its type.
struct Facts<'a> {
    ts: Option<&'a str>,
    client: Option<&'a str>,
    real_ip: Option<&'a str>,
    server: Option<&'a str>,
    method: Option<&'a str>,
    host: Option<&'a str>,
    uri: Option<&'a str>,
    status: Option<u64>,
    user_agent: Option<&'a str>,
}

fn facts(v: &Value) -> Facts<'_> {
    let req = v.get("request");
    let resp = v.get("response");
    Facts {
        ts: s(v, "ts").or_else(|| s(v, "first_seen")),
        // The real client when a trusted proxy named it.
        client: s(v, "client"),
        real_ip: s(v, "real_ip").filter(|r| !r.is_empty()),
        server: s(v, "server"),
        method: s(v, "method").or_else(|| req.and_then(|r| s(r, "method"))),
        host: s(v, "host").or_else(|| header(req, "host")),
        uri: s(v, "uri")
            .or_else(|| s(v, "path"))
            .or_else(|| req.and_then(|r| s(r, "uri"))),
        status: v
            .get("status")
            .and_then(Value::as_u64)
            .or_else(|| resp.and_then(|r| r.get("status")).and_then(Value::as_u64)),
        user_agent: header(req, "user-agent"),
    }
}

impl Facts<'_> {
    /// The client as the application saw it: the real IP when a trusted proxy
    /// named one (the TCP port only when it is the same host), else the TCP client.
    fn source(&self) -> (Option<String>, Option<u16>) {
        let (ip, port) = self.client.map(split_addr).unwrap_or_default();
        match self.real_ip.map(split_addr) {
            Some((Some(real), real_port)) if Some(&real) != ip.as_ref() => (Some(real), real_port),
            _ => (ip, port),
        }
    }
}

/// Suricata-like severity: 1 high .. 3 low.
fn eve_severity(sev: Option<&str>) -> u64 {
    match sev {
        Some("critical" | "high") => 1,
        Some("medium") => 2,
        _ => 3,
    }
}

/// ECS `event.severity`: a number, higher is worse.
fn ecs_severity(sev: Option<&str>) -> u64 {
    match sev {
        Some("critical") => 99,
        Some("high") => 73,
        Some("medium") => 47,
        _ => 21,
    }
}

fn attack_category(class: &str) -> &'static str {
    match class {
        "sqli" | "xss" | "rce" | "cmdi" | "ptrav" | "ssrf" | "lfi" | "rfi" | "xxe" | "ssti"
        | "log4shell" => "Web Application Attack",
        "scanner" | "recon" => "Attempted Information Leak",
        _ => "Potentially Bad Traffic",
    }
}

/// A stable small number for a rule name (eve's `signature_id` is numeric).
fn signature_id(name: &str) -> u64 {
    let d = sha1_smol::Sha1::from(name).digest().bytes();
    9_000_000 + u64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 1_000_000)
}

fn put(map: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        map.insert(key.to_string(), v);
    }
}

/// Converts a native record to ECS.
pub fn to_ecs(v: &Value, kind: &str) -> Value {
    let f = facts(v);
    let id = s(v, "event_id");
    let mut out = Map::new();
    put(&mut out, "@timestamp", f.ts.map(Value::from));
    let (ecs_kind, category, etype, severity) = match kind {
        "attack" => (
            "alert",
            json!(["intrusion_detection", "web"]),
            json!(["denied"]),
            Some(ecs_severity(Some("high"))),
        ),
        "vuln" => (
            "alert",
            json!(["vulnerability", "web"]),
            json!(["info"]),
            Some(ecs_severity(s(v, "severity"))),
        ),
        "endpoint" => ("asset", json!(["web"]), json!(["info"]), None),
        "http" => (
            "event",
            json!(["web", "network"]),
            json!(["access", "protocol"]),
            None,
        ),
        _ => ("event", json!(["network"]), json!(["info"]), None),
    };
    let mut event = Map::new();
    put(&mut event, "id", id.map(Value::from));
    event.insert("kind".into(), ecs_kind.into());
    event.insert("category".into(), category);
    event.insert("type".into(), etype);
    event.insert("module".into(), "tapwatch".into());
    event.insert("dataset".into(), format!("tapwatch.{kind}").into());
    put(&mut event, "severity", severity.map(Value::from));
    put(&mut event, "count", v.get("count").cloned());
    put(&mut event, "start", v.get("first_seen").cloned());
    put(
        &mut event,
        "end",
        v.get("last_seen")
            .cloned()
            .or_else(|| v.get("ts_end").cloned()),
    );
    out.insert("event".into(), Value::Object(event));
    for (side, addr) in [("source", f.client), ("destination", f.server)] {
        if let Some(addr) = addr {
            let (ip, port) = if side == "source" {
                f.source()
            } else {
                split_addr(addr)
            };
            let mut m = Map::new();
            m.insert(
                "address".into(),
                ip.clone().unwrap_or_else(|| addr.to_string()).into(),
            );
            put(&mut m, "ip", ip.map(Value::from));
            put(&mut m, "port", port.map(Value::from));
            out.insert(side.into(), Value::Object(m));
        }
    }
    if let Some(uri) = f.uri {
        let (path, query) = split_uri(uri);
        let mut url = Map::new();
        url.insert("original".into(), uri.into());
        url.insert("path".into(), path.into());
        put(&mut url, "query", query.map(Value::from));
        put(&mut url, "domain", f.host.map(Value::from));
        out.insert("url".into(), Value::Object(url));
    }
    if f.method.is_some() || f.status.is_some() {
        let mut http = Map::new();
        if let Some(m) = f.method {
            http.insert("request".into(), json!({"method": m}));
        }
        if let Some(st) = f.status {
            http.insert("response".into(), json!({"status_code": st}));
        }
        out.insert("http".into(), Value::Object(http));
    }
    put(
        &mut out,
        "user_agent",
        f.user_agent.map(|ua| json!({"original": ua})),
    );
    put(
        &mut out,
        "network",
        s(v, "community_id").map(|c| json!({"community_id": c, "transport": "tcp"})),
    );
    match kind {
        "attack" => {
            let hits = v.get("hits").and_then(Value::as_array);
            let first = hits.and_then(|h| h.first());
            put(
                &mut out,
                "rule",
                first
                    .and_then(|h| s(h, "rule"))
                    .map(|r| json!({"id": r, "name": r})),
            );
            put(
                &mut out,
                "message",
                first.map(|h| {
                    format!(
                        "{} in {}",
                        s(h, "class").unwrap_or("attack"),
                        s(h, "point").unwrap_or("request")
                    )
                    .into()
                }),
            );
        }
        "vuln" => {
            out.insert(
                "vulnerability".into(),
                json!({"category": [s(v, "class")], "severity": s(v, "severity")}),
            );
            put(&mut out, "message", s(v, "evidence").map(Value::from));
        }
        _ => {}
    }
    out.insert("tapwatch".into(), json!({ kind: v }));
    Value::Object(out)
}

/// Converts a native record to the eve-like shape.
pub fn to_eve(v: &Value, kind: &str) -> Value {
    let f = facts(v);
    let mut out = Map::new();
    put(&mut out, "timestamp", f.ts.map(Value::from));
    let alert = matches!(kind, "attack" | "vuln");
    out.insert(
        "event_type".into(),
        if alert { "alert".into() } else { kind.into() },
    );
    put(&mut out, "event_id", v.get("event_id").cloned());
    let (src_ip, src_port) = f.source();
    let (dest_ip, dest_port) = f.server.map(split_addr).unwrap_or_default();
    put(&mut out, "src_ip", src_ip.map(Value::from));
    put(&mut out, "src_port", src_port.map(Value::from));
    put(&mut out, "dest_ip", dest_ip.map(Value::from));
    put(&mut out, "dest_port", dest_port.map(Value::from));
    if f.client.is_some() || f.server.is_some() {
        out.insert("proto".into(), "TCP".into());
    }
    put(&mut out, "community_id", v.get("community_id").cloned());
    put(&mut out, "flow", v.get("flow").cloned());
    match kind {
        "attack" => {
            let first = v
                .get("hits")
                .and_then(Value::as_array)
                .and_then(|h| h.first());
            let class = first.and_then(|h| s(h, "class")).unwrap_or("attack");
            let rule = first.and_then(|h| s(h, "rule")).unwrap_or(class);
            let point = first.and_then(|h| s(h, "point")).unwrap_or("request");
            out.insert(
                "alert".into(),
                json!({
                    "action": "allowed",
                    "signature": format!("TAPWATCH {class} in {point} ({rule})"),
                    "signature_id": signature_id(rule),
                    "category": attack_category(class),
                    "severity": 1,
                }),
            );
        }
        "vuln" => {
            let class = s(v, "class").unwrap_or("vuln");
            out.insert(
                "alert".into(),
                json!({
                    "action": "allowed",
                    "signature": format!("TAPWATCH vuln {class}"),
                    "signature_id": signature_id(class),
                    "category": "Potential Corporate Privacy Violation",
                    "severity": eve_severity(s(v, "severity")),
                }),
            );
        }
        _ => {}
    }
    if f.method.is_some() || f.uri.is_some() {
        let mut http = Map::new();
        put(&mut http, "hostname", f.host.map(Value::from));
        put(&mut http, "url", f.uri.map(Value::from));
        put(&mut http, "http_method", f.method.map(Value::from));
        put(&mut http, "status", f.status.map(Value::from));
        put(&mut http, "http_user_agent", f.user_agent.map(Value::from));
        out.insert("http".into(), Value::Object(http));
    }
    out.insert("tapwatch".into(), v.clone());
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attack() -> Value {
        json!({"type":"attack","ts":"2024-05-01T12:00:00.000001Z","flow":"f1","http_seq":0,
               "client":"10.1.0.7:51234","real_ip":"203.0.113.9","server":"10.1.0.9:80",
               "method":"GET","host":"app","uri":"/etc/passwd?x=1","status":404,
               "hits":[{"class":"ptrav","point":"path","payload":"/etc/passwd","rule":"ptrav-1"}],
               "event_id":"abc"})
    }

    #[test]
    fn ecs_fields() {
        let e = to_ecs(&attack(), "attack");
        assert_eq!(e["@timestamp"], "2024-05-01T12:00:00.000001Z");
        assert_eq!(e["event"]["id"], "abc");
        assert_eq!(e["event"]["kind"], "alert");
        assert_eq!(e["source"]["ip"], "203.0.113.9");
        assert_eq!(e["destination"]["ip"], "10.1.0.9");
        assert_eq!(e["destination"]["port"], 80);
        assert_eq!(e["url"]["path"], "/etc/passwd");
        assert_eq!(e["url"]["query"], "x=1");
        assert_eq!(e["url"]["domain"], "app");
        assert_eq!(e["http"]["request"]["method"], "GET");
        assert_eq!(e["http"]["response"]["status_code"], 404);
        assert_eq!(e["rule"]["id"], "ptrav-1");
    }

    #[test]
    fn eve_alert_shape() {
        let e = to_eve(&attack(), "attack");
        assert_eq!(e["event_type"], "alert");
        assert_eq!(e["src_ip"], "203.0.113.9");
        assert_eq!(e["dest_ip"], "10.1.0.9");
        assert_eq!(e["dest_port"], 80);
        assert_eq!(e["proto"], "TCP");
        assert_eq!(e["alert"]["category"], "Web Application Attack");
        assert_eq!(e["alert"]["severity"], 1);
        assert_eq!(e["http"]["hostname"], "app");
        assert_eq!(e["http"]["url"], "/etc/passwd?x=1");
        assert_eq!(e["http"]["http_method"], "GET");
        assert_eq!(e["http"]["status"], 404);
        let v = to_eve(
            &json!({"type":"vuln","ts":"2024-05-01T12:00:00Z","class":"info_leak.stack_trace","severity":"medium",
                    "method":"GET","host":"app","path":"/x","evidence":"at java"}),
            "vuln",
        );
        assert_eq!(v["alert"]["severity"], 2);
        assert_eq!(v["http"]["url"], "/x");
    }
}
