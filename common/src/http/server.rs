//! The same parser, seen from the server's seat: a connection tw-ingest
//! accepted itself. The client's bytes go in as they are read; the answers we
//! write go in too, so each request pairs with its answer exactly as on a
//! tapped connection (keep-alive, pipelining, `Upgrade: h2c`, HTTP/2 prior
//! knowledge all follow), and the server asks [`ServerConn::next_unanswered`]
//! what it owes. No second HTTP/1 parser.

use std::net::SocketAddr;
use std::sync::Arc;

use super::body::{parse_codings, Body};
use super::flow::{Broken, Flow, Unanswered};
use super::{Ctx, HttpConfig, HttpStats};
use crate::record::{Data, Dir, Header, Http, Ts};

/// One served connection.
pub struct ServerConn {
    cfg: Arc<HttpConfig>,
    flow: Flow,
    stats: HttpStats,
    off: [u64; 2],
    /// Empty: served records are not handed back.
    pool: super::pool::Pool,
}

impl ServerConn {
    /// A connection from `client` accepted on `server`. `flow` and
    /// `community_id` name it in the records.
    pub fn new(
        cfg: Arc<HttpConfig>,
        flow: String,
        community_id: String,
        client: SocketAddr,
        server: SocketAddr,
        proxy_protocol: bool,
    ) -> ServerConn {
        ServerConn {
            cfg,
            flow: Flow::server(flow, community_id, client, server, proxy_protocol),
            stats: HttpStats::default(),
            off: [0; 2],
            pool: super::pool::Pool::default(),
        }
    }

    /// Bytes the client sent; transactions that completed come out.
    pub fn client_bytes(&mut self, data: &[u8], ts: Ts, out: &mut dyn FnMut(Http)) {
        self.push(Dir::C2s, data, ts, out);
    }

    /// Bytes we wrote back (answers, HTTP/2 control frames).
    pub fn server_bytes(&mut self, data: &[u8], ts: Ts, out: &mut dyn FnMut(Http)) {
        self.push(Dir::S2c, data, ts, out);
    }

    fn push(&mut self, dir: Dir, data: &[u8], ts: Ts, out: &mut dyn FnMut(Http)) {
        if data.is_empty() {
            return;
        }
        let i = usize::from(dir == Dir::S2c);
        let d = Data {
            ts,
            flow: std::borrow::Cow::Borrowed(""),
            dir,
            off: self.off[i],
            data: std::borrow::Cow::Borrowed(data),
        };
        self.off[i] += data.len() as u64;
        let mut x = Ctx {
            cfg: &self.cfg,
            stats: &mut self.stats,
            out: &mut |h| out(*h),
            pool: &mut self.pool,
        };
        self.flow.data(&d, &mut x);
    }

    /// The oldest HTTP/1 request read whole and not answered yet.
    pub fn next_unanswered(&self) -> Option<Unanswered> {
        self.flow.next_unanswered()
    }

    /// Why the client's bytes stopped parsing as requests, if they did.
    pub fn broken(&self) -> Option<Broken> {
        self.flow.broken()
    }

    /// Whether the connection speaks HTTP/2 (prior knowledge or after h2c).
    pub fn is_http2(&self) -> bool {
        self.flow.is_http2()
    }

    /// The connection ended: what is left comes out (incomplete requests
    /// marked as such).
    pub fn end(&mut self, out: &mut dyn FnMut(Http)) {
        let mut x = Ctx {
            cfg: &self.cfg,
            stats: &mut self.stats,
            out: &mut |h| out(*h),
            pool: &mut self.pool,
        };
        self.flow.end(&mut x);
    }

    pub fn stats(&self) -> &HttpStats {
        &self.stats
    }
}

/// A body as a message carried it, decoded the way a tapped one is
/// (Content-Encoding, then the body cap): `(body, body_len, truncated,
/// anomaly)`.
pub fn decode_body(
    cfg: &HttpConfig,
    headers: &[Header],
    wire: &[u8],
) -> (Vec<u8>, u64, bool, Option<&'static str>) {
    let limits = cfg.limits();
    let codings = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
        .map(|(_, v)| v.as_str());
    let (mut body, mut anomaly) = match parse_codings(codings) {
        Ok(c) => (Body::new(&c, limits), None),
        Err(why) => (Body::undecoded(limits), Some(why)),
    };
    body.push(wire);
    let d = body.finish(true);
    anomaly = anomaly.or(d.anomaly);
    (d.body, d.body_len, d.truncated, anomaly)
}
