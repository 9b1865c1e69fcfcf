//! Builds `http` records from raw request (and response) bytes, through the
//! real HTTP parser: for corpora of raw requests, benches and tests.

use std::borrow::Cow;

use crate::http::{HttpConfig, HttpParser};
use crate::record::{Conn, ConnEvent, Data, Dir, Http, Record, Ts};

/// The detector as corpora are scored (`scripts/detect-score`, the score
/// tests): every request judged on its own, so no passive checks and no
/// behaviour over time.
pub fn score_config() -> super::DetectConfig {
    let mut cfg = super::DetectConfig {
        passive: false,
        ..super::DetectConfig::default()
    };
    cfg.behaviour.brute_force = 0;
    cfg.behaviour.credential_stuffing = 0;
    cfg.behaviour.forced_browsing = 0;
    cfg.behaviour.enumeration = 0;
    cfg
}

/// A neutral response for requests scored without their real one.
pub const NEUTRAL_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";

/// Runs `request` and `response` bytes through the HTTP parser as one
/// connection and returns the transactions it found (usually one).
pub fn transactions(request: &[u8], response: &[u8]) -> Vec<Http> {
    let mut parser = HttpParser::new(HttpConfig::default());
    let ts = Ts::from_micros(1_714_564_800, 0);
    let flow = "raw".to_string();
    let mut out = vec![];
    let recs = [
        Record::Conn(Conn {
            event: ConnEvent::Open,
            ts,
            flow: flow.clone(),
            community_id: Some(String::new()),
            client: Some("192.0.2.1:40000".into()),
            server: Some("192.0.2.2:80".into()),
            tunnel: Some(vec![]),
            midstream: Some(false),
            reason: None,
            bytes_c2s: None,
            bytes_s2c: None,
        }),
        Record::Data(Data {
            ts,
            flow: flow.clone().into(),
            dir: Dir::C2s,
            off: 0,
            data: Cow::Borrowed(request),
        }),
        Record::Data(Data {
            ts,
            flow: flow.clone().into(),
            dir: Dir::S2c,
            off: 0,
            data: Cow::Borrowed(response),
        }),
        Record::Conn(Conn {
            event: ConnEvent::Close,
            ts,
            flow,
            community_id: None,
            client: None,
            server: None,
            tunnel: None,
            midstream: None,
            reason: Some("fin".into()),
            bytes_c2s: Some(request.len() as u64),
            bytes_s2c: Some(response.len() as u64),
        }),
    ];
    for r in &recs {
        parser.push(r, &mut |t| out.push(t));
    }
    parser.finish(&mut |t| out.push(t));
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_a_raw_request() {
        let t = super::transactions(
            b"GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n",
            super::NEUTRAL_RESPONSE,
        );
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].request.as_ref().unwrap().uri, "/a?b=1");
        assert_eq!(t[0].response.as_ref().unwrap().status, 200);
    }
}
