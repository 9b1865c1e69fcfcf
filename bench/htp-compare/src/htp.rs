//! A safe wrapper over suricata-htp for one TCP connection.
//!
//! suricata-htp 9.0.0-alpha exposes its Rust types but every method on them is
//! `pub(crate)`: the only API an outside crate can call is the C one
//! (`suricata_htp::c_api`, `unsafe extern "C"` functions over raw pointers).
//! All `unsafe` of this harness is in this file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ptr;

use suricata_htp::bstr::Bstr;
use suricata_htp::c_api::bstr::{bstr_len, bstr_ptr};
use suricata_htp::c_api::config::*;
use suricata_htp::c_api::connection::htp_conn_next_log;
use suricata_htp::c_api::connection_parser::*;
use suricata_htp::c_api::header::htp_headers_size;
use suricata_htp::c_api::htp_free_cstring;
use suricata_htp::c_api::log::{htp_log_free, htp_log_message};
use suricata_htp::c_api::transaction::*;
use suricata_htp::config::{Config, HtpServerPersonality};
use suricata_htp::connection_parser::{ConnectionParser, HtpStreamState};
use suricata_htp::transaction::{Data, HtpRequestProgress, HtpResponseProgress, Transaction};
use suricata_htp::util::HtpFlags;
use suricata_htp::HtpStatus;

/// What we compare of one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tx {
    pub method: Option<String>,
    pub uri: Option<String>,
    pub status: Option<u16>,
    pub req_headers: usize,
    pub resp_headers: usize,
    pub req_body: u64,
    pub resp_body: u64,
    pub notes: Vec<String>,
}

thread_local! {
    /// Body bytes (after decoding) per transaction index of the connection
    /// being fed: the body callbacks only get the transaction.
    static BODIES: RefCell<HashMap<(usize, usize), (u64, u64)>> = RefCell::new(HashMap::new());
}

unsafe extern "C" fn on_body(c: *const ConnectionParser, req: bool, data: *mut Data) -> HtpStatus {
    // SAFETY: libhtp hands us a live `Data` for the duration of the callback.
    let (tx, p, len) = unsafe {
        (
            htp_tx_data_tx(data),
            htp_tx_data_data(data),
            htp_tx_data_len(data),
        )
    };
    if tx.is_null() || p.is_null() || len <= 0 {
        return HtpStatus::OK; // end of body or a gap
    }
    // SAFETY: tx is non-null and owned by the connection parser.
    let idx = unsafe { htp_tx_index(tx) };
    BODIES.with(|b| {
        let mut b = b.borrow_mut();
        let e = b.entry((c as usize, idx)).or_default();
        if req {
            e.0 += len as u64;
        } else {
            e.1 += len as u64;
        }
    });
    HtpStatus::OK
}

unsafe extern "C" fn on_req_body(c: *const ConnectionParser, d: *mut Data) -> HtpStatus {
    unsafe { on_body(c, true, d) }
}

unsafe extern "C" fn on_resp_body(c: *const ConnectionParser, d: *mut Data) -> HtpStatus {
    unsafe { on_body(c, false, d) }
}

/// A configuration shared by every connection (libhtp wants it `'static`).
pub struct HtpConfig(*mut Config);

impl HtpConfig {
    /// Suricata's defaults: the IDS personality, response decompression on;
    /// request decompression switched on too (our parser decodes both).
    pub fn new() -> HtpConfig {
        let cfg = htp_config_create();
        // SAFETY: cfg was just created and is not shared yet.
        unsafe {
            htp_config_set_server_personality(cfg, HtpServerPersonality::IDS);
            htp_config_set_request_decompression(cfg, 1);
            htp_config_register_request_body_data(cfg, on_req_body);
            htp_config_register_response_body_data(cfg, on_resp_body);
        }
        HtpConfig(cfg)
    }
}

impl Drop for HtpConfig {
    fn drop(&mut self) {
        // SAFETY: every connection parser borrowing it is gone (they borrow `&self`).
        unsafe { htp_config_destroy(self.0) }
    }
}

/// One connection: feed each direction in stream order; `DATA_OTHER` (libhtp
/// waiting for the other direction, e.g. after `Expect: 100-continue`) is
/// handled by queueing the rest until the other side has moved.
pub struct HtpConn<'c> {
    connp: *mut ConnectionParser,
    _cfg: &'c HtpConfig,
    /// Unconsumed input per direction (0 = request, 1 = response); `None` = gap.
    pending: [Vec<(Option<Vec<u8>>, usize)>; 2],
    /// Index of the first transaction not yet collected.
    next: usize,
    pub txs: Vec<Tx>,
    pub errors: usize,
    /// When false, finished transactions are only counted, not described.
    describe: bool,
    pub done: u64,
}

fn bstr(b: *const Bstr) -> Option<String> {
    if b.is_null() {
        return None;
    }
    // SAFETY: b is non-null and owned by a live transaction.
    let (p, n) = unsafe { (bstr_ptr(b), bstr_len(b)) };
    if p.is_null() {
        return Some(String::new());
    }
    // SAFETY: bstr_ptr/bstr_len describe the Bstr's buffer.
    let s = unsafe { std::slice::from_raw_parts(p, n) };
    Some(String::from_utf8_lossy(s).into_owned())
}

const FLAG_NAMES: &[(u64, &str)] = &[
    (HtpFlags::FIELD_UNPARSEABLE, "field_unparseable"),
    (HtpFlags::FIELD_INVALID, "field_invalid"),
    (HtpFlags::FIELD_FOLDED, "field_folded"),
    (HtpFlags::FIELD_REPEATED, "field_repeated"),
    (HtpFlags::REQUEST_SMUGGLING, "request_smuggling"),
    (HtpFlags::INVALID_FOLDING, "invalid_folding"),
    (HtpFlags::REQUEST_INVALID_T_E, "request_invalid_t_e"),
    (HtpFlags::HOST_MISSING, "host_missing"),
    (HtpFlags::HOST_AMBIGUOUS, "host_ambiguous"),
    (HtpFlags::STATUS_LINE_INVALID, "status_line_invalid"),
    (HtpFlags::REQUEST_INVALID, "request_invalid"),
    (HtpFlags::REQUEST_INVALID_C_L, "request_invalid_c_l"),
    (HtpFlags::REQUEST_MISSING_BYTES, "request_missing_bytes"),
    (HtpFlags::RESPONSE_MISSING_BYTES, "response_missing_bytes"),
    (HtpFlags::HEADERS_TOO_MANY, "headers_too_many"),
    (HtpFlags::FIELD_100_CONTINUE, "100_continue"),
    (HtpFlags::FIELD_REQ_CHUNK_EXTENSION, "req_chunk_extension"),
    (HtpFlags::FIELD_RESP_CHUNK_EXTENSION, "resp_chunk_extension"),
];

impl<'c> HtpConn<'c> {
    pub fn open(cfg: &'c HtpConfig, describe: bool) -> HtpConn<'c> {
        // SAFETY: cfg outlives the parser (lifetime 'c).
        let connp = unsafe { htp_connp_create(cfg.0) };
        // SAFETY: connp was just created; null addresses and time are allowed.
        unsafe { htp_connp_open(connp, ptr::null(), 0, ptr::null(), 0, ptr::null()) };
        HtpConn {
            connp,
            _cfg: cfg,
            pending: [Vec::new(), Vec::new()],
            next: 0,
            txs: Vec::new(),
            errors: 0,
            describe,
            done: 0,
        }
    }

    fn call(&mut self, dir: usize, data: Option<&[u8]>, len: usize) -> (HtpStreamState, usize) {
        let p = data.map_or(ptr::null(), |d| d.as_ptr()) as *const libc::c_void;
        // SAFETY: connp is live; p/len describe a live slice, or null+len is a gap.
        unsafe {
            let st = if dir == 0 {
                htp_connp_request_data(self.connp, ptr::null(), p, len)
            } else {
                htp_connp_response_data(self.connp, ptr::null(), p, len)
            };
            let used = if st == HtpStreamState::DATA_OTHER {
                let c = if dir == 0 {
                    htp_connp_request_data_consumed(self.connp)
                } else {
                    htp_connp_response_data_consumed(self.connp)
                };
                c.max(0) as usize
            } else {
                len
            };
            if st == HtpStreamState::ERROR {
                self.errors += 1;
            }
            (st, used)
        }
    }

    /// Feeds bytes (or a gap of `len` bytes when `data` is `None`).
    pub fn feed(&mut self, dir: usize, data: Option<&[u8]>, len: usize) {
        if self.pending[dir].is_empty() {
            let (st, used) = self.call(dir, data, len);
            if st == HtpStreamState::DATA_OTHER && used < len {
                let rest = data.and_then(|d| d.get(used..)).map(|d| d.to_vec());
                self.pending[dir].push((rest, len - used));
            }
        } else {
            self.pending[dir].push((data.map(|d| d.to_vec()), len));
        }
        self.drain_pending(1 - dir);
        self.drain_pending(dir);
        self.collect(false);
    }

    fn drain_pending(&mut self, dir: usize) {
        while !self.pending[dir].is_empty() {
            let (data, len) = self.pending[dir].remove(0);
            let (st, used) = self.call(dir, data.as_deref(), len);
            if st == HtpStreamState::DATA_OTHER && used < len {
                let rest = data.and_then(|d| d.get(used..).map(|d| d.to_vec()));
                self.pending[dir].insert(0, (rest, len - used));
                return;
            }
        }
    }

    /// Describes and frees transactions that are complete (or all at close).
    fn collect(&mut self, all: bool) {
        loop {
            // SAFETY: connp is live; a null tx means not started / not there.
            let tx = unsafe { htp_connp_tx(self.connp, self.next) } as *const Transaction;
            if tx.is_null() {
                // SAFETY: connp is live.
                let size = unsafe { htp_connp_tx_size(self.connp) };
                if all && (self.next as isize) < size {
                    self.next += 1;
                    continue;
                }
                return;
            }
            // SAFETY: tx is a live transaction of connp.
            let (rq, rs) = unsafe { (htp_tx_request_progress(tx), htp_tx_response_progress(tx)) };
            let complete =
                rq == HtpRequestProgress::COMPLETE && rs == HtpResponseProgress::COMPLETE;
            if !complete && !all {
                return;
            }
            if self.describe {
                let t = self.describe_tx(tx);
                self.txs.push(t);
            }
            self.done += 1;
            // SAFETY: we hold no reference into the transaction any more.
            unsafe { htp_tx_destroy(self.connp, self.next) };
            BODIES.with(|b| b.borrow_mut().remove(&(self.connp as usize, self.next)));
            self.next += 1;
        }
    }

    fn describe_tx(&self, tx: *const Transaction) -> Tx {
        // SAFETY: tx is a live transaction of connp.
        unsafe {
            let status = htp_tx_response_status_number(tx);
            let flags = htp_tx_flags(tx);
            let (req_body, resp_body) = BODIES.with(|b| {
                b.borrow()
                    .get(&(self.connp as usize, self.next))
                    .copied()
                    .unwrap_or_default()
            });
            let mut notes: Vec<String> = FLAG_NAMES
                .iter()
                .filter(|(f, _)| flags & f == *f)
                .map(|(_, n)| n.to_string())
                .collect();
            let (rq, rs) = (htp_tx_request_progress(tx), htp_tx_response_progress(tx));
            if rq != HtpRequestProgress::COMPLETE {
                notes.push(format!("request:{rq:?}"));
            }
            if rs != HtpResponseProgress::COMPLETE {
                notes.push(format!("response:{rs:?}"));
            }
            Tx {
                method: bstr(htp_tx_request_method(tx)),
                uri: bstr(htp_tx_request_uri(tx)),
                status: u16::try_from(status).ok().filter(|s| *s > 0),
                req_headers: htp_tx_request_headers_size(tx).max(0) as usize,
                resp_headers: htp_headers_size(htp_tx_response_headers(tx)).max(0) as usize,
                req_body,
                resp_body,
                notes,
            }
        }
    }

    /// Ends the connection and returns the connection-level log messages.
    pub fn close(mut self) -> (Vec<Tx>, Vec<String>, u64) {
        // SAFETY: connp is live.
        unsafe { htp_connp_close(self.connp, ptr::null()) };
        self.collect(true);
        let mut logs = Vec::new();
        // SAFETY: connp is live; each log is freed after reading.
        unsafe {
            let conn = htp_connp_connection(self.connp);
            loop {
                let log = htp_conn_next_log(conn);
                if log.is_null() {
                    break;
                }
                let msg = htp_log_message(log);
                if !msg.is_null() {
                    logs.push(std::ffi::CStr::from_ptr(msg).to_string_lossy().into_owned());
                    htp_free_cstring(msg);
                }
                htp_log_free(log);
            }
        }
        let txs = std::mem::take(&mut self.txs);
        (txs, logs, self.done)
    }
}

impl Drop for HtpConn<'_> {
    fn drop(&mut self) {
        // SAFETY: connp is live and not used after this.
        unsafe { htp_connp_destroy_all(self.connp) }
    }
}
