//! The JSON envelope: how a gateway plugin that sees both halves of a
//! transaction hands it to tw-ingest.
//!
//! POST it to the envelope path (default `/tapwatch/v1/envelope`). The body
//! is one envelope object, a JSON array of them, or NDJSON (one per line):
//!
//! ```json
//! {"ts": "2024-05-01T12:00:00.123456Z",
//!  "ts_end": "2024-05-01T12:00:00.130000Z",
//!  "client": {"ip": "203.0.113.9", "port": 51234},
//!  "server": {"ip": "10.0.0.9", "port": 443},
//!  "request": {"method": "POST", "uri": "/api/users?id=1", "version": "HTTP/1.1",
//!              "headers": [["Host", "app"], ["Content-Type", "application/json"]],
//!              "body": "{\"name\":\"x\"}", "body_encoding": "text"},
//!  "response": {"status": 200, "reason": "OK", "version": "HTTP/1.1",
//!               "headers": {"Content-Type": "application/json"},
//!               "body": "eyJpZCI6MX0=", "body_encoding": "base64"}}
//! ```
//!
//! Only `request.method` and `request.uri` are required. `ts` defaults to
//! the time the POST arrived, `ts_end` to `ts`; `client` to the poster,
//! `server` to the listener; `version` to `HTTP/1.1`; headers are `[name,
//! value]` pairs (order and duplicates kept) or an object; `body_encoding`
//! is `text` (default) or `base64`; a body is given as sent on the wire
//! (after any transfer coding) and is content-decoded (`Content-Encoding`)
//! and capped like a tapped one. `real_ip` may be given; otherwise it is
//! resolved from the request headers through the trusted proxies, starting
//! at `client`. `response` may be left out (request only). Unknown fields
//! are ignored.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use base64::Engine as _;
use serde::Deserialize;

use super::{community, flow_id, IngestConfig};
use crate::http::realip;
use crate::http::server::decode_body;
use crate::record::{Header, Http, HttpRequest, HttpResponse, Ts};

/// Most envelopes taken from one POST.
pub const MAX_PER_POST: usize = 10_000;

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("envelope {index}: {reason}")]
pub struct EnvelopeError {
    /// Position of the envelope in the POST (0 for a single object).
    pub index: usize,
    pub reason: String,
}

fn err(index: usize, reason: impl Into<String>) -> EnvelopeError {
    EnvelopeError {
        index,
        reason: reason.into(),
    }
}

/// One transaction, as posted.
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub ts: Option<String>,
    #[serde(default)]
    pub ts_end: Option<String>,
    #[serde(default)]
    pub client: Option<Endpoint>,
    #[serde(default)]
    pub server: Option<Endpoint>,
    #[serde(default)]
    pub real_ip: Option<String>,
    pub request: Request,
    #[serde(default)]
    pub response: Option<Response>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    pub ip: String,
    #[serde(default)]
    pub port: u16,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Request {
    pub method: String,
    pub uri: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_encoding: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Response {
    pub status: u16,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub headers: Headers,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_encoding: Option<String>,
}

/// Headers as pairs (order kept) or as an object.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Headers {
    Pairs(Vec<(String, String)>),
    Map(BTreeMap<String, String>),
}

impl Default for Headers {
    fn default() -> Self {
        Headers::Pairs(Vec::new())
    }
}

impl Headers {
    fn into_pairs(self) -> Vec<Header> {
        match self {
            Headers::Pairs(p) => p,
            Headers::Map(m) => m.into_iter().collect(),
        }
    }
}

/// Splits a POST body into envelopes: one object, an array, or NDJSON.
pub fn parse(body: &[u8]) -> Result<Vec<Envelope>, EnvelopeError> {
    let text = body.trim_ascii();
    if text.is_empty() {
        return Err(err(0, "empty body"));
    }
    if text.first() == Some(&b'[') {
        let list: Vec<serde_json::Value> =
            serde_json::from_slice(text).map_err(|e| err(0, format!("not JSON: {e}")))?;
        if list.len() > MAX_PER_POST {
            return Err(err(0, format!("more than {MAX_PER_POST} envelopes")));
        }
        return list
            .into_iter()
            .enumerate()
            .map(|(i, v)| serde_json::from_value(v).map_err(|e| err(i, e.to_string())))
            .collect();
    }
    let mut out = Vec::new();
    let stream = serde_json::Deserializer::from_slice(text).into_iter::<Envelope>();
    for (i, item) in stream.enumerate() {
        if i >= MAX_PER_POST {
            return Err(err(i, format!("more than {MAX_PER_POST} envelopes")));
        }
        out.push(item.map_err(|e| err(i, e.to_string()))?);
    }
    Ok(out)
}

/// Where a POST came from and when.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// The poster.
    pub peer: SocketAddr,
    /// Our listening address.
    pub local: SocketAddr,
    /// When the POST was read.
    pub received: Ts,
}

fn endpoint(
    e: Option<&Endpoint>,
    default: SocketAddr,
    index: usize,
    what: &str,
) -> Result<SocketAddr, EnvelopeError> {
    match e {
        None => Ok(default),
        Some(e) => {
            let ip = realip::parse_addr(&e.ip)
                .ok_or_else(|| err(index, format!("{what}.ip {:?} is not an address", e.ip)))?;
            Ok(SocketAddr::new(ip, e.port))
        }
    }
}

fn time(t: Option<&str>, default: Ts, index: usize, what: &str) -> Result<Ts, EnvelopeError> {
    match t {
        None => Ok(default),
        Some(s) => {
            Ts::parse(s).ok_or_else(|| err(index, format!("{what} {s:?} is not an RFC 3339 time")))
        }
    }
}

fn wire_body(
    body: Option<String>,
    encoding: Option<&str>,
    index: usize,
    what: &str,
) -> Result<Vec<u8>, EnvelopeError> {
    let Some(body) = body else {
        return Ok(Vec::new());
    };
    match encoding.unwrap_or("text") {
        "text" => Ok(body.into_bytes()),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|e| err(index, format!("{what}.body is not base64: {e}"))),
        other => Err(err(
            index,
            format!("{what}.body_encoding {other:?} (want text or base64)"),
        )),
    }
}

/// What one envelope became: the record, and whether a body hit the cap.
pub struct Converted {
    pub record: Http,
    pub cut: bool,
}

/// Turns one envelope into an `http` record. `n` numbers the envelope in
/// this run (it goes into the flow id).
pub fn to_record(
    env: Envelope,
    index: usize,
    origin: &Origin,
    cfg: &IngestConfig,
    n: u64,
) -> Result<Converted, EnvelopeError> {
    let req = env.request;
    if req.method.is_empty() || req.method.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(err(index, "request.method is empty or has spaces"));
    }
    if req.uri.is_empty() {
        return Err(err(index, "request.uri is empty"));
    }
    let client = endpoint(env.client.as_ref(), origin.peer, index, "client")?;
    let server = endpoint(env.server.as_ref(), origin.local, index, "server")?;
    let ts = time(env.ts.as_deref(), origin.received, index, "ts")?;
    let ts_end = time(env.ts_end.as_deref(), ts, index, "ts_end")?.max(ts);
    let mut anomalies: Vec<String> = Vec::new();
    let mut cut = false;
    let headers = req.headers.into_pairs();
    let wire = wire_body(req.body, req.body_encoding.as_deref(), index, "request")?;
    let (body, body_len, truncated, anomaly) = decode_body(&cfg.http, &headers, &wire);
    cut |= truncated && body.len() >= cfg.http.body_cap;
    anomalies.extend(anomaly.map(str::to_string));
    let real_ip: IpAddr = match env.real_ip.as_deref() {
        Some(s) => realip::parse_addr(s)
            .ok_or_else(|| err(index, format!("real_ip {s:?} is not an address")))?,
        None => realip::resolve(&cfg.http.real_ip, client.ip(), &headers),
    };
    let request = HttpRequest {
        method: req.method,
        uri: req.uri,
        version: req.version.unwrap_or_else(|| "HTTP/1.1".into()),
        headers,
        body_len,
        body,
        truncated,
        trailers: Vec::new(),
    };
    let response = match env.response {
        None => None,
        Some(r) => {
            if !(100..=999).contains(&r.status) {
                return Err(err(
                    index,
                    format!("response.status {} is not 100-999", r.status),
                ));
            }
            let headers = r.headers.into_pairs();
            let wire = wire_body(r.body, r.body_encoding.as_deref(), index, "response")?;
            let (body, body_len, truncated, anomaly) = decode_body(&cfg.http, &headers, &wire);
            cut |= truncated && body.len() >= cfg.http.body_cap;
            if let Some(a) = anomaly {
                if !anomalies.iter().any(|x| x == a) {
                    anomalies.push(a.to_string());
                }
            }
            Some(HttpResponse {
                status: r.status,
                reason: r.reason,
                version: r.version.unwrap_or_else(|| "HTTP/1.1".into()),
                headers,
                body_len,
                body,
                truncated,
                trailers: Vec::new(),
            })
        }
    };
    let record = Http {
        ts,
        ts_end,
        flow: flow_id(client, server, ts, n),
        community_id: community(client, server),
        seq: 0,
        client: client.to_string(),
        server: server.to_string(),
        real_ip: real_ip.to_string(),
        tunnel: Vec::new(),
        request: Some(request),
        response,
        anomalies,
        proxy: None,
        interim: Vec::new(),
    };
    Ok(Converted { record, cut })
}
