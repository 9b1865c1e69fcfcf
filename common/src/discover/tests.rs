//! The discoverer on hand-made transactions.

use super::*;
use crate::record::{HttpResponse, Record};

fn http(
    seq: u64,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
    status: u16,
    resp: &str,
) -> Box<Http> {
    let mut hs: Vec<(String, String)> = vec![("Host".into(), "App.Example:80".into())];
    hs.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    Box::new(Http {
        ts: Ts::from_micros(1_714_564_800 + seq as i64, 0),
        ts_end: Ts::from_micros(1_714_564_800 + seq as i64, 0),
        flow: format!("f{seq}"),
        community_id: String::new(),
        seq: 0,
        client: "10.0.0.1:1234".into(),
        server: "10.0.0.2:80".into(),
        real_ip: "10.0.0.1".into(),
        tunnel: vec![],
        request: Some(HttpRequest {
            method: method.into(),
            uri: uri.into(),
            version: "HTTP/1.1".into(),
            headers: hs,
            body_len: body.len() as u64,
            body: body.as_bytes().to_vec(),
            truncated: false,
            trailers: vec![],
        }),
        response: Some(HttpResponse {
            status,
            reason: String::new(),
            version: "HTTP/1.1".into(),
            headers: vec![(
                "Content-Type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body_len: resp.len() as u64,
            body: resp.as_bytes().to_vec(),
            truncated: false,
            trailers: vec![],
        }),
        anomalies: vec![],
        proxy: None,
        interim: vec![],
    })
}

// The discoverer takes transactions boxed, as the pipeline hands them over.
// Every case runs twice: as one thread learns, and with each transaction
// prepared ahead as a worker thread does; both must give the same inventory.
#[allow(clippy::vec_box)]
fn run(
    cfg: DiscoverConfig,
    txs: Vec<Box<Http>>,
) -> (inventory::Inventory, Vec<crate::record::Endpoint>, Stats) {
    let plain = run_as(cfg.clone(), txs.clone(), false);
    let prepared = run_as(cfg, txs, true);
    assert_eq!(
        serde_json::to_string(&plain.0).unwrap(),
        serde_json::to_string(&prepared.0).unwrap(),
        "prepared ahead, the inventory differs"
    );
    assert_eq!(plain.1, prepared.1);
    // Every transaction came prepared, or none did; all else is the same.
    assert_eq!(plain.2.prepared_ahead, 0);
    assert_eq!(prepared.2.prepared_ahead, prepared.2.transactions);
    let mut stats = prepared.2.clone();
    stats.prepared_ahead = 0;
    assert_eq!(plain.2, stats);
    plain
}

#[allow(clippy::vec_box)]
fn run_as(
    cfg: DiscoverConfig,
    txs: Vec<Box<Http>>,
    ahead: bool,
) -> (inventory::Inventory, Vec<crate::record::Endpoint>, Stats) {
    let mut d = Discoverer::new(cfg.clone());
    for t in txs {
        let prep = ahead.then(|| Box::new(prepare(&cfg, &t)));
        d.push_prepared(t, prep);
    }
    let mut recs = vec![];
    d.finish(&mut |r| {
        if let Record::Endpoint(e) = r {
            recs.push(e);
        }
    });
    (d.inventory().cloned().unwrap(), recs, d.stats().clone())
}

fn find<'a>(inv: &'a inventory::Inventory, method: &str, path: &str) -> &'a inventory::Endpoint {
    inv.endpoints
        .iter()
        .find(|e| e.method == method && e.path == path)
        .unwrap_or_else(|| {
            panic!(
                "no {method} {path} in {:?}",
                inv.endpoints
                    .iter()
                    .map(|e| format!("{} {}", e.method, e.path))
                    .collect::<Vec<_>>()
            )
        })
}

const AUTH: (&str, &str) = ("Authorization", "Bearer abc");

#[test]
fn templates_params_auth_and_sensitive() {
    let mut txs = vec![];
    for i in 0..4u64 {
        let id = 100 + i;
        txs.push(http(
            i,
            "GET",
            &format!("/api/v1/users/{id}?fields=name&page={i}"),
            &[
                AUTH,
                ("X-Request-Id", "6f1c7c2e-8f4b-4c1a-9d2e-3b4a5c6d7e8f"),
                ("Cookie", "JSESSIONID=abc; theme=dark"),
            ],
            "",
            200,
            &format!(r#"{{"id":{id},"email":"u{id}@example.com","tags":["a"]}}"#),
        ));
    }
    txs.push(http(
        10,
        "POST",
        "/api/v1/orders",
        &[("Content-Type", "application/json")],
        r#"{"sku":"A-1","qty":2,"card":"4111 1111 1111 1111","items":[{"n":1}]}"#,
        201,
        r#"{"id":1}"#,
    ));
    txs.push(http(
        11,
        "POST",
        "/api/v1/orders",
        &[AUTH, ("Content-Type", "application/json")],
        r#"{"sku":"A-2","qty":1.5}"#,
        201,
        "{}",
    ));
    // A 404 of a learned template counts; one of an unknown template is left out.
    txs.push(http(
        12,
        "GET",
        "/api/v1/users/999",
        &[AUTH],
        "",
        404,
        r#"{"error":"x"}"#,
    ));
    txs.push(http(13, "GET", "/nothing/here", &[], "", 404, ""));
    let (inv, recs, stats) = run(DiscoverConfig::default(), txs);
    assert_eq!(inv.endpoints.len(), 2, "{:#?}", inv.endpoints);
    let users = find(&inv, "GET", "/api/v1/users/{userId}");
    assert_eq!(users.host, "app.example");
    assert_eq!((users.count, users.learned), (5, 4));
    assert_eq!(users.statuses.get("200"), Some(&4));
    assert_eq!(users.statuses.get("404"), Some(&1));
    assert_eq!(
        users.segments,
        vec![inventory::Segment {
            index: 3,
            name: "userId".into(),
            reason: "integer".into()
        }]
    );
    assert_eq!(users.auth.presence, "always");
    assert_eq!(
        users.auth.schemes.keys().collect::<Vec<_>>(),
        vec!["http_bearer", "session_cookie:JSESSIONID"]
    );
    let p = |loc: &str, name: &str| {
        users
            .params
            .iter()
            .find(|p| p.location == loc && p.name == name)
            .unwrap_or_else(|| panic!("{loc} {name}: {:#?}", users.params))
    };
    assert_eq!(p("path", "userId").types, vec!["integer"]);
    assert!(p("path", "userId").required);
    assert_eq!(p("query", "page").types, vec!["integer"]);
    assert_eq!(p("query", "fields").types, vec!["string"]);
    assert_eq!(p("header", "x-request-id").format.as_deref(), Some("uuid"));
    assert_eq!(p("cookie", "JSESSIONID").sensitive, vec!["token"]);
    assert!(users
        .params
        .iter()
        .all(|p| p.name != "authorization" && p.name != "host"));
    assert_eq!(users.sensitive, vec!["email", "token"]);
    let schema = users.responses["200"].schema.as_ref().unwrap();
    assert_eq!(schema["properties"]["email"]["format"], "email");
    assert_eq!(
        users.responses["200"]
            .content_types
            .keys()
            .collect::<Vec<_>>(),
        vec!["application/json"]
    );
    assert!(
        !users.responses.contains_key("404"),
        "404 is counted, not learned"
    );

    let orders = find(&inv, "POST", "/api/v1/orders");
    assert_eq!(orders.auth.presence, "sometimes");
    let op = |name: &str| {
        orders
            .params
            .iter()
            .find(|p| p.location == "body" && p.name == name)
            .unwrap()
    };
    assert_eq!(op("/qty").types, vec!["number"]);
    assert!(op("/sku").required);
    assert!(!op("/items/*/n").required);
    assert_eq!(op("/card").sensitive, vec!["card_number"]);
    assert!(orders.sensitive.contains(&"card_number".to_string()));
    assert_eq!(
        orders.request.as_ref().unwrap().content_types["application/json"],
        2
    );

    assert_eq!(stats.transactions, 8);
    assert_eq!(stats.learned, 6);
    assert_eq!(stats.excluded_status, 2);
    assert_eq!(stats.unlearned_endpoints, 1);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].path, "/api/v1/users/{userId}");
    assert_eq!(recs[1].auth.as_deref(), Some("always"));
    // Deterministic: the same input gives the same inventory.
    assert_eq!(inv.to_json(), inv.to_json());
}

#[test]
fn all_statuses_learns_errors() {
    let cfg = DiscoverConfig {
        all_statuses: true,
        ..DiscoverConfig::default()
    };
    let (inv, _, _) = run(
        cfg,
        vec![http(1, "GET", "/nothing/here", &[], "", 404, r#"{"e":1}"#)],
    );
    let e = find(&inv, "GET", "/nothing/here");
    assert_eq!(e.learned, 1);
    assert!(e.responses.contains_key("404"));
}

#[test]
fn siblings_collapse_and_merge_earlier_literals() {
    let cfg = DiscoverConfig {
        sibling_threshold: 3,
        ..DiscoverConfig::default()
    };
    let names = ["alpha", "beta", "gamma", "delta", "epsilon"];
    let mut txs: Vec<Box<Http>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            http(
                i as u64,
                "GET",
                &format!("/repos/{n}/readme"),
                &[],
                "",
                200,
                "",
            )
        })
        .collect();
    // Words that are routes are never collapsed.
    txs.push(http(9, "GET", "/repos/static/readme", &[], "", 200, ""));
    let (inv, _, _) = run(cfg, txs);
    let e = find(&inv, "GET", "/repos/{repoId}/readme");
    assert_eq!(e.count, 5, "earlier literals merge into the template");
    assert_eq!(e.segments[0].reason, "siblings");
    let p = &e.params[0];
    assert_eq!(
        (p.location.as_str(), p.count, p.types.clone()),
        ("path", 5, vec!["string".to_string()])
    );
    find(&inv, "GET", "/repos/static/readme");
    // Under the threshold nothing collapses; the root never does.
    let (inv, _, _) = run(
        DiscoverConfig {
            sibling_threshold: 3,
            ..DiscoverConfig::default()
        },
        (0..6)
            .map(|i| {
                http(
                    i,
                    "GET",
                    &format!("/{}", names[i as usize % 5]),
                    &[],
                    "",
                    200,
                    "",
                )
            })
            .collect(),
    );
    assert_eq!(inv.endpoints.len(), 5);
}

#[test]
fn overrides_win() {
    let cfg = DiscoverConfig {
        overrides: path::parse_overrides(r#"["/files/{path}", "/api/v1/users/{login}"]"#).unwrap(),
        ..DiscoverConfig::default()
    };
    let (inv, _, _) = run(
        cfg,
        vec![
            http(1, "GET", "/files/readme.txt", &[], "", 200, ""),
            http(2, "GET", "/api/v1/users/bob", &[], "", 200, ""),
        ],
    );
    let e = find(&inv, "GET", "/files/{path}");
    assert_eq!(e.segments[0].reason, "override");
    find(&inv, "GET", "/api/v1/users/{login}");
}

/// An `attack` record on transaction 0 of `flow` (what excludes it).
fn attack(flow: &str) -> Attack {
    Attack {
        ts: Ts::default(),
        flow: flow.into(),
        http_seq: 0,
        client: String::new(),
        real_ip: String::new(),
        server: String::new(),
        method: "GET".into(),
        host: "app".into(),
        uri: "/".into(),
        status: None,
        hits: vec![],
        outcome: None,
        severity: None,
    }
}

#[test]
fn attacks_are_left_out_before_or_after() {
    let mut d = Discoverer::new(DiscoverConfig::default());
    d.push_attack(&attack("f1"));
    d.push_http(http(
        1,
        "GET",
        "/api/v1/users/1?id=1'%20OR%20'1'='1",
        &[],
        "",
        200,
        "",
    ));
    d.push_http(http(
        2,
        "GET",
        "/api/v1/users/2?q=<script>",
        &[],
        "",
        200,
        "",
    ));
    d.push_attack(&attack("f2"));
    d.push_http(http(3, "GET", "/api/v1/users/3", &[], "", 200, ""));
    d.finish(&mut |_| {});
    let inv = d.inventory().unwrap();
    let e = find(inv, "GET", "/api/v1/users/{userId}");
    assert_eq!(e.count, 1);
    assert!(
        e.params.iter().all(|p| p.location == "path"),
        "{:?}",
        e.params
    );
    assert_eq!(d.stats().excluded_attacks, 2);
    assert_eq!(d.stats().attack_records, 2);
}

/// What [`Discoverer::take_spent`] hands back: every transaction pushed
/// with a home (a sharded worker's, with or without a prepared part, and
/// whether learned from or excluded as attacked), with that home; none
/// pushed without one, which the caller dropped anyway.
#[test]
fn spent_transactions_go_home() {
    let cfg = DiscoverConfig::default();
    let mut d = Discoverer::new(cfg.clone());
    d.push_attack(&attack("f3"));
    d.push_http(http(1, "GET", "/a", &[], "", 200, ""));
    d.push_from(http(2, "GET", "/b", &[], "", 200, ""), None, Some(1));
    d.push_from(http(3, "GET", "/c", &[], "", 200, ""), None, Some(2));
    let prep = Box::new(prepare(&cfg, &http(4, "GET", "/d", &[], "", 200, "")));
    d.push_from(http(4, "GET", "/d", &[], "", 200, ""), Some(prep), Some(3));
    // A prepared part alone gives no home: dropped, not handed back.
    let prep = Box::new(prepare(&cfg, &http(6, "GET", "/f", &[], "", 200, "")));
    d.push_prepared(http(6, "GET", "/f", &[], "", 200, ""), Some(prep));
    d.push_from(http(5, "GET", "/e", &[], "", 200, ""), None, Some(0));
    d.push_attack(&attack("f5"));
    d.finish(&mut |_| {});
    let mut back = vec![];
    d.take_spent(&mut |(h, p, home)| back.push((h.flow.clone(), p.is_some(), home)));
    back.sort();
    let want = [
        ("f2", false, 1),
        ("f3", false, 2),
        ("f4", true, 3),
        ("f5", false, 0),
    ];
    assert_eq!(back, want.map(|(f, p, h)| (f.to_string(), p, h)).to_vec());
    assert_eq!(d.stats().excluded_attacks, 2);
}

#[test]
fn caps_are_counted() {
    let cfg = DiscoverConfig {
        max_endpoints: 2,
        max_params: 3,
        ..DiscoverConfig::default()
    };
    let txs = vec![
        http(1, "GET", "/a?x=1&y=2&z=3&w=4", &[], "", 200, ""),
        http(2, "GET", "/b", &[], "", 200, ""),
        http(3, "GET", "/c", &[], "", 200, ""),
    ];
    let (inv, _, stats) = run(cfg, txs);
    assert_eq!(inv.endpoints.len(), 2);
    assert_eq!(stats.dropped_endpoints, 1);
    assert_eq!(stats.dropped_params, 1);
    assert_eq!(inv.summary["dropped_params"], 1);
}

#[test]
fn forms_multipart_and_odd_targets() {
    let mp = "--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--XyZ--\r\n";
    let txs = vec![
        http(
            1,
            "POST",
            "/login",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "user=bob%40example.com&password=hunter2",
            200,
            "",
        ),
        http(
            2,
            "POST",
            "/upload",
            &[("Content-Type", "multipart/form-data; boundary=XyZ")],
            mp,
            200,
            "",
        ),
        http(3, "OPTIONS", "*", &[], "", 200, ""),
        http(4, "G\u{e9}T", "/x", &[], "", 200, ""),
    ];
    let (inv, _, stats) = run(DiscoverConfig::default(), txs);
    let login = find(&inv, "POST", "/login");
    let f = |n: &str| {
        login
            .params
            .iter()
            .find(|p| p.location == "form" && p.name == n)
            .unwrap()
    };
    assert_eq!(f("user").sensitive, vec!["email"]);
    assert_eq!(f("password").sensitive, vec!["password"]);
    let up = find(&inv, "POST", "/upload");
    let m = |n: &str| {
        up.params
            .iter()
            .find(|p| p.location == "multipart" && p.name == n)
            .unwrap()
    };
    assert_eq!(m("file").format.as_deref(), Some("binary"));
    assert_eq!(m("title").types, vec!["string"]);
    assert_eq!(stats.bad_targets, 2);
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    const TYPES: &[&str] = &[
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "",
        "text/plain",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Any target, header, body and content type: no panic, and the
        /// inventory stays within its caps.
        #[test]
        fn arbitrary_transactions_never_panic(
            txs in proptest::collection::vec(
                (any::<String>(), any::<String>(), any::<String>(), proptest::collection::vec(any::<u8>(), 0..64), 0..TYPES.len(), 100u16..600),
                1..12,
            )
        ) {
            let cfg = DiscoverConfig { sibling_threshold: 2, max_endpoints: 5, max_params: 4, max_schema_nodes: 8, max_schema_depth: 3, ..DiscoverConfig::default() };
            let mut d = Discoverer::new(cfg);
            for (i, (uri, key, value, bytes, ct, status)) in txs.into_iter().enumerate() {
                let json = serde_json::json!({ key.clone(): [{ key.clone(): value.clone() }], "n": [1, [2, [3, [4]]]] }).to_string();
                let body = if i % 2 == 0 { json } else { String::from_utf8_lossy(&bytes).into_owned() };
                let uri = if i % 3 == 0 { format!("/{uri}/{value}?{key}={value}") } else { uri };
                let headers = [("Content-Type", TYPES[ct]), ("Cookie", value.as_str()), (key.as_str(), value.as_str()), ("Authorization", value.as_str())];
                let mut h = http(i as u64, &key, &uri, &headers, &body, status, &body);
                if let Some(r) = h.request.as_mut() {
                    r.method = if i % 4 == 0 { key.clone() } else { "POST".into() };
                }
                d.push_http(h);
            }
            d.finish(&mut |_| {});
            let inv = d.inventory().unwrap();
            prop_assert!(inv.endpoints.len() <= 5);
            prop_assert!(inv.endpoints.iter().all(|e| e.params.iter().filter(|p| p.location != "path").count() <= 4));
        }
    }
}

/// Preparing ahead decides as learning does: the last request content type
/// and the first response one count, bad JSON is no schema, and statuses
/// not learned from are not parsed.
#[test]
fn prepared_ahead_decides_as_learning_does() {
    let mut odd_resp = http(5, "GET", "/r", &[], "", 200, r#"{"a":1}"#);
    if let Some(r) = &mut odd_resp.response {
        r.headers
            .insert(0, ("content-type".into(), "text/plain".into()));
    }
    let txs = vec![
        http(
            1,
            "POST",
            "/a",
            &[
                ("Content-Type", "application/json"),
                ("Content-Type", "text/plain"),
            ],
            r#"{"x":1}"#,
            200,
            r#"{"ok":true}"#,
        ),
        http(
            2,
            "POST",
            "/a",
            &[
                ("Content-Type", "text/plain"),
                ("content-TYPE", "application/json"),
            ],
            r#"{"y":"a@example.com"}"#,
            201,
            "{bad",
        ),
        http(
            3,
            "PUT",
            "/a",
            &[("Content-Type", "application/json")],
            "[1,",
            200,
            "[]",
        ),
        http(
            4,
            "POST",
            "/a",
            &[("Content-Type", "application/json")],
            r#"{"z":1}"#,
            404,
            r#"{"e":1}"#,
        ),
        odd_resp,
    ];
    for all_statuses in [false, true] {
        let cfg = DiscoverConfig {
            all_statuses,
            ..DiscoverConfig::default()
        };
        let (inv, _, _) = run(cfg, txs.clone());
        let post = find(&inv, "POST", "/a");
        assert!(post.params.iter().any(|p| p.name == "/y"), "{post:?}");
        assert!(!post.params.iter().any(|p| p.name == "/x"), "{post:?}");
    }
}

/// The allocation-free JSON check agrees with `media_type` then `is_json`.
#[test]
fn json_media_check_agrees() {
    for v in [
        "application/json",
        "Application/JSON; charset=utf-8",
        " text/json ",
        "application/problem+JSON",
        "application/vnd.api+json;v=1",
        "+json",
        "json",
        "",
        "text/plain",
        "application/jsonx",
        "é+json",
        "ü",
        &format!("application/{}+json", "x".repeat(83)),
        &format!("application/{}+json", "x".repeat(84)),
    ] {
        let mut ct = String::new();
        media_type(v, &mut ct);
        assert_eq!(is_json_media(v), is_json(&ct), "{v:?}");
    }
}

mod memos {
    use super::*;
    use proptest::prelude::*;

    /// Names and values that repeat, differ in case, or run long.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("Content-Type".to_string()),
            Just("content-type".to_string()),
            Just("Cookie".to_string()),
            Just("Authorization".to_string()),
            Just("X-API-Key".to_string()),
            Just("Accept".to_string()),
            Just(":authority".to_string()),
            Just("Sec-Fetch-Mode".to_string()),
            Just("X-Tenant".to_string()),
            Just("application/json; charset=utf-8".to_string()),
            Just("Application/Problem+JSON".to_string()),
            Just("text/html".to_string()),
            "[a-zA-Z+/;: -]{0,12}",
            (0..3usize, 120..300usize).prop_map(|(k, n)| {
                let fill = ["x", "X", "+json"][k];
                format!("application/{}+json", fill.repeat(n / fill.len()))
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Each memo answers what the function it remembers answers, over
        /// runs of repeated, changed and overlong names and values.
        #[test]
        fn memos_answer_as_the_functions_do(
            requests in proptest::collection::vec(proptest::collection::vec(word(), 0..8), 1..12),
        ) {
            let mut memo = vec![];
            let mut spare = String::new();
            let mut json = [(String::new(), false), (String::new(), false)];
            let mut media = (String::new(), String::new());
            let mut got = String::new();
            for names in &requests {
                for (i, name) in names.iter().enumerate() {
                    let (l, class) = header_class(&mut memo, &mut spare, i, name);
                    let want = name.to_ascii_lowercase();
                    prop_assert_eq!(class, HeaderClass::of(&want), "{:?}", name);
                    if class != HeaderClass::Skip {
                        prop_assert_eq!(l, want.as_str());
                    }
                    prop_assert_eq!(is_json_media_memo(&mut json[i % 2], name), is_json_media(name));
                    let resp = HttpResponse {
                        status: 200,
                        reason: String::new(),
                        version: "HTTP/1.1".into(),
                        headers: vec![("Content-Type".into(), name.clone())],
                        body_len: 0,
                        body: vec![],
                        truncated: false,
                        trailers: vec![],
                    };
                    response_media_type(&resp, &mut media, &mut got);
                    let mut want_media = String::new();
                    media_type(name, &mut want_media);
                    prop_assert_eq!(&got, &want_media);
                }
                prop_assert!(memo.len() <= MAX_HEADER_MEMO);
            }
        }
    }
}

#[test]
fn status_keys_are_the_numbers_written_out() {
    let mut buf = [0u8; 5];
    assert_eq!(status_key(None, &mut buf), "none");
    for s in 0..=u16::MAX {
        assert_eq!(status_key(Some(s), &mut buf), s.to_string(), "{s}");
    }
}

#[test]
fn escaped_segments_are_decoded_before_templating() {
    let txs = vec![
        http(1, "GET", "/caf%C3%A9/menu", &[], "", 200, ""),
        http(2, "GET", "/café/menu", &[], "", 200, ""),
        http(3, "GET", "/a%20b/items/42", &[], "", 200, ""),
        http(4, "GET", "/a b/items/7", &[], "", 200, ""),
    ];
    let (inv, _, _) = run(DiscoverConfig::default(), txs);
    let paths: Vec<(&str, u64)> = inv
        .endpoints
        .iter()
        .map(|e| (e.path.as_str(), e.count))
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths.iter().all(|(_, n)| *n == 2), "{paths:?}");
}

/// The byte tables that gate `literal_text` and `host_of` hold, byte by
/// byte, what the predicates they stand for answer.
#[test]
fn byte_tables_agree_with_their_predicates() {
    for b in 0..=255u8 {
        let c = char::from(b);
        let plain = b.is_ascii() && !matches!(c, '/' | '{' | '}' | '?' | '#') && !c.is_control();
        assert_eq!(LITERAL_PLAIN[usize::from(b)], plain, "{b:#x}");
        let ok = b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b);
        assert_eq!(HOST_BYTE[usize::from(b)] & HOST_OK != 0, ok, "{b:#x}");
        assert_eq!(
            HOST_BYTE[usize::from(b)] & HOST_UPPER != 0,
            b.is_ascii_uppercase(),
            "{b:#x}"
        );
    }
}

mod gates {
    use super::*;
    use proptest::prelude::*;

    /// `host_of` before its byte table: two passes of the predicates.
    fn host_of_ungated<'r>(req: &'r HttpRequest, server: &'r str) -> Cow<'r, str> {
        let given = header(req, "host")
            .or_else(|| header(req, ":authority"))
            .unwrap_or("");
        let mut h = given.trim().trim_end_matches('.');
        for port in [":80", ":443"] {
            if let Some(stripped) = h.strip_suffix(port) {
                h = stripped;
            }
        }
        let ok = !h.is_empty()
            && h.len() <= 255
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
        if !ok {
            Cow::Borrowed(server)
        } else if h.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(h.to_ascii_lowercase())
        } else {
            Cow::Borrowed(h)
        }
    }

    /// Text near the gates' edges: the escaped five, controls (C0, DEL,
    /// C1), other non-ASCII, host bytes, upper case, ports, long runs.
    fn text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z0-9._:\\[\\]-]{0,6}",
            Just("/".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("?".to_string()),
            Just("#".to_string()),
            Just("%".to_string()),
            Just(" ".to_string()),
            Just("\t".to_string()),
            Just("\u{7f}".to_string()),
            Just("\u{85}".to_string()),
            Just("\u{9f}".to_string()),
            Just("\u{a0}".to_string()),
            Just("é".to_string()),
            Just(":80".to_string()),
            Just(":443".to_string()),
            Just(".".to_string()),
            Just("x".repeat(250)),
            any::<char>().prop_map(String::from),
        ];
        proptest::collection::vec(piece, 0..6).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn literal_text_is_the_ungated_one(s in text()) {
            let (got, want) = (literal_text(&s), escape_literal(&s));
            prop_assert_eq!(matches!(got, Cow::Borrowed(_)), matches!(want, Cow::Borrowed(_)));
            prop_assert_eq!(got, want);
        }

        #[test]
        fn host_of_is_the_ungated_one(s in text(), authority in any::<bool>()) {
            let name = if authority { ":authority" } else { "Host" };
            let req = HttpRequest {
                method: "GET".into(),
                uri: "/".into(),
                version: "HTTP/1.1".into(),
                headers: vec![(name.into(), s)],
                body_len: 0,
                body: vec![],
                truncated: false,
                trailers: vec![],
            };
            prop_assert_eq!(host_of(&req, "10.0.0.2:80"), host_of_ungated(&req, "10.0.0.2:80"));
        }
    }
}

/// Paths either side of the short template array's length (and of the
/// most segments a path may have) template as they should.
#[test]
fn long_and_short_paths_template_alike() {
    let mut txs = vec![];
    let mut seq = 0;
    for n in [
        SHORT_SEGS - 1,
        SHORT_SEGS,
        SHORT_SEGS + 1,
        MAX_SEGS,
        MAX_SEGS + 1,
    ] {
        for id in [7, 8] {
            seq += 1;
            let path: String =
                (0..n).map(|i| format!("/s{i}")).collect::<String>() + &format!("/{id}");
            txs.push(http(seq, "GET", &path, &[], "", 200, ""));
        }
    }
    let (inv, _, stats) = run(DiscoverConfig::default(), txs);
    // With the id, a path of MAX_SEGS segments is one too many.
    assert_eq!(stats.bad_targets, 4, "{stats:?}");
    for n in [SHORT_SEGS - 1, SHORT_SEGS, SHORT_SEGS + 1] {
        let path: String =
            (0..n).map(|i| format!("/s{i}")).collect::<String>() + &format!("/{{s{}Id}}", n - 1);
        assert_eq!(find(&inv, "GET", &path).count, 2);
    }
    assert_eq!(inv.endpoints.len(), 3);
}

/// Body parameters found by a layout's plan are the ones the walk finds.
mod body_plan {
    use super::super::json::tests::generated::{leaves, render, tree};
    use super::*;
    use proptest::prelude::*;

    /// The walk by keys, as `learn` made it before the plan.
    fn walked(p: &mut Params, v: Val<'_>, max_depth: usize, max: usize, d: &mut u64, tx: u64) {
        let mut pointer = String::new();
        json_params(
            v,
            &mut pointer,
            0,
            max_depth,
            &mut |name, leaf| match p.slot(Loc::Body, name, max) {
                Some(s) => {
                    let first = s.first_in(tx);
                    s.observe_json(name, leaf, first);
                }
                None => *d += 1,
            },
        );
    }

    fn state(p: &Params) -> String {
        format!("{:?} {:?}", p.by_loc, p.stats)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Documents of a few layouts, some with their string facts
        /// cached, against endpoints that fill up: the same parameters,
        /// counters and drops as the walk, document after document.
        #[test]
        fn planned_body_params_are_walked_ones(
            trees in prop::collection::vec(tree(), 1..4),
            picks in prop::collection::vec((0..4usize, leaves(), any::<bool>()), 1..24),
            max_params in 0..12usize,
            max_depth in 0..6usize,
            pre in prop::collection::vec(prop::sample::select(vec!["/a", "/b", "/id", "/a/*", "x"]), 0..3),
        ) {
            let mut planned = Params::default();
            let mut plain = Params::default();
            // Some names known from another location or body first.
            for n in &pre {
                planned.slot(Loc::Body, n, max_params);
                plain.slot(Loc::Body, n, max_params);
                planned.slot(Loc::Query, n, max_params);
                plain.slot(Loc::Query, n, max_params);
            }
            let (mut d1, mut d2) = (0, 0);
            let mut doc = Doc::default();
            let mut pointer = String::new();
            for (tx, (t, leaves, facts)) in picks.iter().enumerate() {
                let mut text = String::new();
                render(&trees[t % trees.len()], leaves, &mut 0, &mut text);
                let ok = if *facts { doc.parse_with_facts(text.as_bytes()) } else { doc.parse(text.as_bytes()) };
                if !ok {
                    continue;
                }
                let root = doc.root().expect("a root");
                let tx = tx as u64 + 1;
                planned.observe_json_body(root, &mut pointer, max_depth, max_params, &mut d1, tx);
                walked(&mut plain, root, max_depth, max_params, &mut d2, tx);
                prop_assert_eq!(state(&planned), state(&plain));
                prop_assert_eq!(d1, d2);
            }
        }
    }

    #[test]
    fn same_layout_is_found_by_plan() {
        let mut p = Params::default();
        let mut doc = Doc::default();
        let mut pointer = String::new();
        let mut dropped = 0;
        for (tx, text) in [
            r#"{"id":1,"tags":["x","y"],"o":{"a/b":"b"}}"#,
            r#"{"id":2,"tags":["yy","z"],"o":{"a/b":"c@example.com"}}"#,
            r#"{"id":3,"tags":["z","w"],"o":{"a/b":""}}"#,
        ]
        .iter()
        .enumerate()
        {
            assert!(doc.parse(text.as_bytes()));
            p.observe_json_body(
                doc.root().unwrap(),
                &mut pointer,
                8,
                2,
                &mut dropped,
                tx as u64 + 1,
            );
        }
        assert_ne!(p.body_plan.layout, 0, "planned");
        // id, o/a~1b, and tags/* twice (dropped: the endpoint holds two).
        assert_eq!(p.body_plan.steps.len(), 4);
        assert_eq!(dropped, 6);
        let o = p.by_loc[Loc::Body as usize]["/o/a~1b"];
        assert_eq!(p.stats[o].count, 3);
        assert!(p.stats[o].formats.contains_key("email"));
    }
}
