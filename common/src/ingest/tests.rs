use std::net::SocketAddr;
use std::sync::Arc;

use super::envelope::{self, Origin};
use super::*;
use crate::http::{Broken, ServerConn, Unanswered};
use crate::record::{Http, HttpRequest};

#[test]
fn shadow_suffix_is_taken_off_hosts() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("foo-shadow", "-shadow", Some("foo")),
        ("foo-shadow:8080", "-shadow", Some("foo:8080")),
        ("api.example.com-shadow", "-shadow", Some("api.example.com")),
        ("foo", "-shadow", None),
        ("-shadow", "-shadow", None),
        ("foo-shadow", "", None),
        ("[2001:db8::1]:80", "-shadow", None),
        ("foo-shadow:x", "-shadow", None),
        ("foo-canary", "-canary", Some("foo")),
    ];
    for (host, suffix, want) in cases {
        assert_eq!(
            strip_shadow(host, suffix).as_deref(),
            *want,
            "{host} {suffix}"
        );
    }
    let mut h = vec![
        (":authority".to_string(), "svc-shadow".to_string()),
        ("host".to_string(), "svc-shadow:9080".to_string()),
        ("x-host".to_string(), "svc-shadow".to_string()),
    ];
    assert!(unshadow(&mut h, "-shadow"));
    assert_eq!(h[0].1, "svc");
    assert_eq!(h[1].1, "svc:9080");
    assert_eq!(h[2].1, "svc-shadow", "other headers are left alone");
}

fn req(body: &[u8], body_len: u64, truncated: bool) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        uri: "/x".into(),
        version: "HTTP/1.1".into(),
        headers: vec![("Host".into(), "app-shadow".into())],
        body_len,
        body: body.to_vec(),
        truncated,
        trailers: vec![],
    }
}

fn blank() -> Http {
    Http::default()
}

#[test]
fn mirror_records_lose_the_answer_and_keep_the_cap() {
    let cfg = IngestConfig {
        http: HttpConfig {
            body_cap: 4,
            ..HttpConfig::default()
        },
        ..IngestConfig::default()
    };
    // (body as parsed, truncated by the parser, want body, want truncated, cut counted)
    type Case<'a> = (&'a [u8], bool, &'a [u8], bool, bool);
    let cases: &[Case<'_>] = &[
        (b"abc", false, b"abc", false, false),
        (b"abcd", false, b"abcd", false, false),
        (b"abcdefgh", false, b"abcd", true, true),
        (b"abcdefgh", true, b"abcd", true, true),
    ];
    for (body, trunc, want, want_trunc, want_cut) in cases {
        let mut h = Http {
            request: Some(req(body, 100, *trunc)),
            response: Some(crate::record::HttpResponse {
                status: 200,
                reason: "OK".into(),
                version: "HTTP/1.1".into(),
                headers: vec![],
                body_len: 0,
                body: vec![],
                truncated: false,
                trailers: vec![],
            }),
            ..blank()
        };
        assert_eq!(finish_mirror(&mut h, &cfg), *want_cut, "{body:?}");
        assert!(h.response.is_none());
        let r = h.request.unwrap();
        assert_eq!((r.body.as_slice(), r.truncated), (*want, *want_trunc));
        assert_eq!(r.body_len, 100, "body_len stays the full length");
        assert_eq!(r.headers[0].1, "app");
    }
}

fn origin() -> Origin {
    Origin {
        peer: "10.0.0.2:40000".parse().unwrap(),
        local: "10.0.0.9:8089".parse().unwrap(),
        received: crate::time::Ts::from_micros(1_700_000_000, 5),
    }
}

fn trusted_cfg() -> IngestConfig {
    let mut cfg = IngestConfig::default();
    cfg.http.real_ip.trusted = vec!["10.0.0.0/8".parse().unwrap()];
    cfg.http.body_cap = 8;
    cfg
}

fn convert(json: &str) -> Result<Vec<Http>, String> {
    let cfg = trusted_cfg();
    let list = envelope::parse(json.as_bytes()).map_err(|e| e.to_string())?;
    list.into_iter()
        .enumerate()
        .map(|(i, e)| {
            envelope::to_record(e, i, &origin(), &cfg, i as u64)
                .map(|c| c.record)
                .map_err(|e| e.to_string())
        })
        .collect()
}

#[test]
fn envelopes_become_records() {
    let full = r#"{"ts":"2024-05-01T12:00:00.123456Z","ts_end":"2024-05-01T12:00:00.200000Z",
        "client":{"ip":"10.1.2.3","port":5555},"server":{"ip":"10.0.0.80","port":443},
        "request":{"method":"POST","uri":"/api?q=1","headers":[["Host","app"],["X-Forwarded-For","203.0.113.9"],["Host","dup"]],
                   "body":"{\"a\":1}"},
        "response":{"status":404,"reason":"Not Found","headers":{"Content-Type":"text/plain"},
                    "body":"bm90IGhlcmU=","body_encoding":"base64"}}"#;
    let got = convert(full).unwrap();
    assert_eq!(got.len(), 1);
    let h = &got[0];
    assert_eq!(h.ts.to_string(), "2024-05-01T12:00:00.123456Z");
    assert_eq!(h.ts_end.to_string(), "2024-05-01T12:00:00.200000Z");
    assert_eq!(
        (h.client.as_str(), h.server.as_str()),
        ("10.1.2.3:5555", "10.0.0.80:443")
    );
    assert_eq!(
        h.real_ip, "203.0.113.9",
        "client 10.1.2.3 is a trusted proxy"
    );
    assert!(h.flow.starts_with('C') && h.community_id.starts_with("1:"));
    let r = h.request.as_ref().unwrap();
    assert_eq!(
        (r.method.as_str(), r.uri.as_str(), r.version.as_str()),
        ("POST", "/api?q=1", "HTTP/1.1")
    );
    assert_eq!(r.headers.len(), 3, "duplicates kept");
    assert_eq!(
        (r.body.as_slice(), r.body_len, r.truncated),
        (&b"{\"a\":1}"[..], 7, false)
    );
    let s = h.response.as_ref().unwrap();
    assert_eq!((s.status, s.reason.as_str()), (404, "Not Found"));
    assert_eq!(
        s.headers,
        vec![("Content-Type".to_string(), "text/plain".to_string())]
    );
    assert_eq!(
        (s.body.as_slice(), s.body_len, s.truncated),
        (&b"not here"[..], 8, false)
    );

    // Defaults: the poster is the client, now is the time, no response.
    let min = convert(r#"{"request":{"method":"GET","uri":"/"}}"#).unwrap();
    let h = &min[0];
    assert_eq!(
        (h.client.as_str(), h.server.as_str()),
        ("10.0.0.2:40000", "10.0.0.9:8089")
    );
    assert_eq!(h.ts, origin().received);
    assert_eq!(h.real_ip, "10.0.0.2");
    assert!(h.response.is_none());

    // Explicit real_ip wins; bodies over the cap are cut, length kept.
    let big = convert(r#"{"real_ip":"192.0.2.1","request":{"method":"PUT","uri":"/u","body":"0123456789abcdef"}}"#).unwrap();
    let r = big[0].request.as_ref().unwrap();
    assert_eq!(big[0].real_ip, "192.0.2.1");
    assert_eq!(
        (r.body.as_slice(), r.body_len, r.truncated),
        (&b"01234567"[..], 16, true)
    );

    // Compressed bodies are decoded like tapped ones.
    let gz = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"zipped").unwrap();
        e.finish().unwrap()
    };
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, gz);
    let z = convert(&format!(
        r#"{{"request":{{"method":"GET","uri":"/"}},"response":{{"status":200,"headers":[["Content-Encoding","gzip"]],"body":"{b64}","body_encoding":"base64"}}}}"#
    ))
    .unwrap();
    assert_eq!(z[0].response.as_ref().unwrap().body, b"zipped");
}

#[test]
fn envelope_batches_and_errors() {
    let one = r#"{"request":{"method":"GET","uri":"/1"}}"#;
    let two = r#"{"request":{"method":"GET","uri":"/2"}}"#;
    let uris = |r: Result<Vec<Http>, String>| -> Result<Vec<String>, String> {
        r.map(|v| v.into_iter().map(|h| h.request.unwrap().uri).collect())
    };
    type Want<'a> = Result<Vec<&'a str>, &'a str>;
    let cases: Vec<(&str, String, Want)> = vec![
        ("object", one.to_string(), Ok(vec!["/1"])),
        ("array", format!("[{one},{two}]"), Ok(vec!["/1", "/2"])),
        ("ndjson", format!("{one}\n{two}\n"), Ok(vec!["/1", "/2"])),
        ("empty", "  ".into(), Err("envelope 0: empty body")),
        ("not json", "nope".into(), Err("envelope 0: expected")),
        (
            "no request",
            r#"{"ts":"x"}"#.into(),
            Err("envelope 0: missing field `request`"),
        ),
        (
            "second bad",
            format!("[{one},{{\"request\":{{}}}}]"),
            Err("envelope 1: missing field `method`"),
        ),
        (
            "bad ts",
            r#"{"ts":"yesterday","request":{"method":"GET","uri":"/"}}"#.into(),
            Err("envelope 0: ts \"yesterday\""),
        ),
        (
            "bad ip",
            r#"{"client":{"ip":"x"},"request":{"method":"GET","uri":"/"}}"#.into(),
            Err("envelope 0: client.ip"),
        ),
        (
            "bad base64",
            r#"{"request":{"method":"GET","uri":"/","body":"!!","body_encoding":"base64"}}"#.into(),
            Err("envelope 0: request.body is not base64"),
        ),
        (
            "bad encoding",
            r#"{"request":{"method":"GET","uri":"/","body":"x","body_encoding":"hex"}}"#.into(),
            Err("envelope 0: request.body_encoding"),
        ),
        (
            "bad status",
            r#"{"request":{"method":"GET","uri":"/"},"response":{"status":7}}"#.into(),
            Err("envelope 0: response.status 7"),
        ),
        (
            "empty uri",
            r#"{"request":{"method":"GET","uri":""}}"#.into(),
            Err("envelope 0: request.uri is empty"),
        ),
        (
            "spaced method",
            r#"{"request":{"method":"G T","uri":"/"}}"#.into(),
            Err("envelope 0: request.method"),
        ),
    ];
    for (name, body, want) in cases {
        match (uris(convert(&body)), want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{name}"),
            (Err(got), Err(want)) => assert!(got.starts_with(want), "{name}: {got}"),
            (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
        }
    }
}

/// A served connection driven by hand: feed client bytes, answer what is
/// owed with `answer`, collect records.
struct Harness {
    sc: ServerConn,
    out: Vec<Http>,
    asked: Vec<Unanswered>,
}

impl Harness {
    fn new(cfg: HttpConfig) -> Harness {
        let client: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        let server: SocketAddr = "10.0.0.9:8089".parse().unwrap();
        Harness {
            sc: ServerConn::new(
                Arc::new(cfg),
                "Cx".into(),
                "1:x".into(),
                client,
                server,
                false,
            ),
            out: vec![],
            asked: vec![],
        }
    }

    fn client(&mut self, bytes: &[u8]) {
        let ts = crate::time::Ts::from_micros(1, 0);
        let out = &mut self.out;
        self.sc.client_bytes(bytes, ts, &mut |h| out.push(h));
        while let Some(ask) = self.sc.next_unanswered() {
            self.asked.push(ask);
            let out = &mut self.out;
            self.sc.server_bytes(
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
                ts,
                &mut |h| out.push(h),
            );
        }
    }

    fn uris(&self) -> Vec<String> {
        self.out
            .iter()
            .map(|h| h.request.as_ref().map_or(String::new(), |r| r.uri.clone()))
            .collect()
    }
}

#[test]
fn server_side_parsing_answers_each_request_once() {
    let trusted = HttpConfig {
        real_ip: crate::http::RealIpConfig {
            headers: vec!["X-Forwarded-For".into()],
            trusted: vec!["10.0.0.0/8".parse().unwrap()],
        },
        ..HttpConfig::default()
    };
    // (name, client bytes split in pieces, records' uris, broken)
    type Case<'a> = (&'a str, Vec<&'a [u8]>, Vec<&'a str>, Option<Broken>);
    let cases: Vec<Case<'_>> = vec![
        (
            "pipelined in one read",
            vec![b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"],
            vec!["/a", "/b", "/c"],
            None,
        ),
        (
            "byte by byte with a chunked body",
            vec![b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"],
            vec!["/p"],
            None,
        ),
        (
            "body not complete yet",
            vec![b"POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"],
            vec![],
            None,
        ),
        ("garbage", vec![b"\x16\x03\x01\x02\x00\x01\x00"], vec![], Some(Broken::NotHttp)),
        ("a response from the client (never a role swap)", vec![b"HTTP/1.1 200 OK\r\n\r\n"], vec![], Some(Broken::NotHttp)),
        ("bad request line", vec![b"GET /\x01 HTTP/9\r\n\r\n"], vec![], Some(Broken::BadRequest)),
    ];
    for (name, pieces, want, broken) in cases {
        let mut h = Harness::new(trusted.clone());
        for p in &pieces {
            if name.starts_with("byte by byte") {
                for b in p.iter() {
                    h.client(std::slice::from_ref(b));
                }
            } else {
                h.client(p);
            }
        }
        assert_eq!(h.uris(), want, "{name}");
        assert_eq!(h.asked.len(), want.len(), "{name}: one answer per request");
        assert_eq!(h.sc.broken(), broken, "{name}");
    }
    // Real IP through the trusted peer.
    let mut h = Harness::new(trusted);
    h.client(b"GET / HTTP/1.1\r\nX-Forwarded-For: 198.51.100.7, 10.9.9.9\r\n\r\n");
    assert_eq!(h.out[0].real_ip, "198.51.100.7");
    assert_eq!(h.out[0].client, "10.0.0.2:40000");
    // An h2c upgrade is flagged, a CONNECT too.
    let mut h = Harness::new(HttpConfig::default());
    h.sc.client_bytes(
        b"GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
        crate::time::Ts::default(),
        &mut |_| {},
    );
    assert_eq!(
        h.sc.next_unanswered(),
        Some(Unanswered {
            connect: false,
            h2c: true
        })
    );
    let mut h = Harness::new(HttpConfig::default());
    h.sc.client_bytes(
        b"CONNECT a:443 HTTP/1.1\r\n\r\n",
        crate::time::Ts::default(),
        &mut |_| {},
    );
    assert_eq!(
        h.sc.next_unanswered(),
        Some(Unanswered {
            connect: true,
            h2c: false
        })
    );
}

#[test]
fn flow_ids_differ_per_connection() {
    let a: SocketAddr = "10.0.0.2:1".parse().unwrap();
    let b: SocketAddr = "10.0.0.9:2".parse().unwrap();
    let t = crate::time::Ts::from_micros(5, 0);
    assert_eq!(flow_id(a, b, t, 0), flow_id(a, b, t, 0));
    assert_ne!(flow_id(a, b, t, 0), flow_id(a, b, t, 1));
    assert_ne!(flow_id(a, b, t, 0), flow_id(b, a, t, 0));
    assert_eq!(flow_id(a, b, t, 0).len(), 17);
    assert_eq!(community(a, b), community(b, a));
}
