//! Export: findings leave the host — masked, in the shape each sink wants,
//! with an idempotency key, to several sinks at once.
//!
//! Per record, in order:
//! 1. **Select** by type (`--types`, default `attack,vuln,endpoint`); other
//!    records are counted and not exported. With `--discovery-only`, attacks
//!    stay local (`--attack-log FILE`, or only a count on stderr).
//! 2. **Mask** secrets ([`mask`]), unless `--no-mask`.
//! 3. **Aggregate** repeated attacks within `--aggregate-window` of packet
//!    time ([`aggregate`]).
//! 4. **Key**: `event_id` is the SHA-1 (hex) of the masked record as exported
//!    in the native format without `event_id`, so the same finding always gets
//!    the same key and receivers can drop duplicates of at-least-once delivery.
//! 5. **Format and send** to every sink ([`format`], [`sink`], [`webhook`]).
//!
//! Native records are written with `type` first, `event_id` second and the
//! other fields in sorted order. A raw line is parsed only when masking,
//! aggregation or a format conversion needs it; otherwise `event_id` is the
//! SHA-1 of the line as read and is spliced in after `type`.

pub mod aggregate;
pub mod format;
pub mod mask;
pub mod sink;
pub mod spec;
pub mod spool;
pub mod webhook;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Map, Value};

use crate::cli::{self, BadInput, Summary};
use crate::io::Input;
use crate::pipeline::Output;
use crate::record::{record_type, Attack, Record};
use crate::time::Ts;

use aggregate::{Aggregator, Folded, Ready};
use mask::MaskConfig;
use sink::{FileSink, Item, Sink, StdoutSink, SyslogSink};
use spec::{Format, SinkKind, SinkSpec};
use spool::Spool;
use webhook::WebhookSink;

/// Record types exported by default.
pub const DEFAULT_TYPES: &[&str] = &["attack", "vuln", "endpoint"];

/// Open aggregation groups at most; past it the oldest is emitted early.
const MAX_GROUPS: usize = 100_000;

/// Everything the exporter needs.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// Sinks; none means stdout.
    pub sinks: Vec<SinkSpec>,
    pub types: Vec<String>,
    pub discovery_only: bool,
    pub attack_log: Option<PathBuf>,
    /// Zero turns aggregation off.
    pub aggregate_window: Duration,
    /// `None` with `--no-mask`.
    pub mask: Option<MaskConfig>,
    pub drop_bodies: bool,
    /// Value of the webhook `Authorization` header.
    pub webhook_auth: Option<String>,
    /// Where webhook spools live (one subdirectory per webhook); memory when unset.
    pub spool_dir: Option<PathBuf>,
    /// How long to keep delivering at end of input.
    pub drain_timeout: Duration,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            sinks: vec![],
            types: DEFAULT_TYPES.iter().map(|s| s.to_string()).collect(),
            discovery_only: false,
            attack_log: None,
            aggregate_window: Duration::from_secs(60),
            mask: Some(MaskConfig::new(&[], &[], false)),
            drop_bodies: false,
            webhook_auth: None,
            spool_dir: None,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// A record the exporter could not read.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Bad(String),
    #[error("{0}")]
    Sink(#[from] io::Error),
}

/// What the exporter counted.
#[derive(Debug, Default)]
pub struct ExportStats {
    pub records: u64,
    pub exported: u64,
    /// Records whose type was not selected, by type.
    pub not_selected: BTreeMap<String, u64>,
    pub masked: u64,
    /// Attacks kept local in discovery-only mode.
    pub local_attacks: u64,
    pub bad: u64,
    /// Attacks masked, aggregated and written from their typed record, no
    /// JSON value built.
    pub typed: u64,
}

struct SinkSlot {
    spec: SinkSpec,
    sink: Box<dyn Sink>,
}

/// Sends selected, masked, keyed records to every sink.
pub struct Exporter {
    cfg: ExportConfig,
    sinks: Vec<SinkSlot>,
    agg: Option<Aggregator>,
    attack_log: Option<BufWriter<std::fs::File>>,
    stats: ExportStats,
    /// Whether any record needs parsing when masking is off (a conversion).
    converts: bool,
    /// Whether typed attacks are masked and written as they are
    /// (no format conversion, no configured field name an attack has).
    typed: bool,
    ready: Vec<Ready>,
    native: Vec<u8>,
    scratch: Vec<u8>,
    /// Raised by SIGHUP: reopen the output files.
    hangup: Option<Arc<AtomicBool>>,
}

fn open_attack_log(p: &Path) -> anyhow::Result<BufWriter<std::fs::File>> {
    Ok(BufWriter::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .with_context(|| format!("{}: cannot open", p.display()))?,
    ))
}

/// The spool subdirectory of one webhook: stable across runs with the same URL.
pub fn spool_subdir(base: &Path, url: &str) -> PathBuf {
    let h = sha1_smol::Sha1::from(url).digest().to_string();
    base.join(format!("webhook-{}", h.get(..12).unwrap_or(&h)))
}

fn open_sink(spec: &SinkSpec, cfg: &ExportConfig) -> anyhow::Result<Box<dyn Sink>> {
    Ok(match &spec.kind {
        SinkKind::Stdout => Box::new(StdoutSink::new()),
        SinkKind::File { path, rotate, gzip } => Box::new(
            FileSink::open(path, rotate.clone(), *gzip)
                .with_context(|| format!("{}: cannot open", path.display()))?,
        ),
        SinkKind::Syslog {
            transport,
            addr,
            facility,
            hostname,
        } => Box::new(
            SyslogSink::open(*transport, addr, *facility, hostname.as_deref())
                .with_context(|| format!("syslog {addr}"))?,
        ),
        SinkKind::Webhook { url, opts } => {
            let spool = match &cfg.spool_dir {
                Some(base) => {
                    let dir = spool_subdir(base, url);
                    Spool::open(&dir, opts.spool_records, opts.spool_bytes)
                        .with_context(|| format!("{}: cannot open spool", dir.display()))?
                }
                None => {
                    log::info!("webhook {}: no --spool-dir: records wait in memory and are lost at exit if undelivered", spec::redact_url(url));
                    Spool::memory(opts.spool_records, opts.spool_bytes)
                }
            };
            Box::new(
                WebhookSink::start(
                    url,
                    cfg.webhook_auth.clone(),
                    opts.clone(),
                    spool,
                    cfg.drain_timeout,
                )
                .with_context(|| format!("webhook {}", spec::redact_url(url)))?,
            )
        }
    })
}

/// Writes a record map as one line: `type` first, then `event_id`, then the rest (sorted).
fn write_native(map: &Map<String, Value>, event_id: Option<&str>, out: &mut Vec<u8>) {
    out.clear();
    out.push(b'{');
    let mut first = true;
    let mut field = |k: &str, v: &Value, out: &mut Vec<u8>| {
        if !first {
            out.push(b',');
        }
        first = false;
        let _ = serde_json::to_writer(&mut *out, k);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, v);
    };
    if let Some(t) = map.get("type") {
        field("type", t, out);
    }
    if let Some(id) = event_id {
        field("event_id", &Value::from(id), out);
    }
    for (k, v) in map {
        if k != "type" && k != "event_id" {
            field(k, v, out);
        }
    }
    out.push(b'}');
}

/// How a native `attack` line starts.
const ATTACK_PREFIX: &[u8] = br#"{"type":"attack""#;

/// Writes a (masked) attack as [`write_native`] writes its value without
/// `event_id`: `type` first, the other fields in sorted order, the fields
/// of an aggregate (`folded`) among them, confidences as in [`attack_value`].
fn write_attack(a: &Attack, folded: Option<Folded>, out: &mut Vec<u8>) {
    fn field(out: &mut Vec<u8>, k: &str, v: &(impl serde::Serialize + ?Sized)) {
        out.push(b',');
        let _ = serde_json::to_writer(&mut *out, k);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, v);
    }
    out.clear();
    out.extend_from_slice(ATTACK_PREFIX);
    field(out, "client", &a.client);
    if let Some(f) = &folded {
        field(out, "count", &f.count);
        field(out, "first_seen", &f.first_seen.to_string());
    }
    field(out, "flow", &a.flow);
    out.extend_from_slice(b",\"hits\":[");
    for (i, h) in a.hits.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        let _ = serde_json::to_writer(&mut *out, "class");
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, &h.class);
        if let Some(c) = h.confidence {
            field(out, "confidence", &confidence_value(c));
        }
        if let Some(m) = &h.message {
            field(out, "message", m);
        }
        field(out, "payload", &h.payload);
        field(out, "point", &h.point);
        field(out, "rule", &h.rule);
        out.push(b'}');
    }
    out.push(b']');
    field(out, "host", &a.host);
    field(out, "http_seq", &a.http_seq);
    if let Some(f) = &folded {
        field(out, "last_seen", &f.last_seen.to_string());
    }
    field(out, "method", &a.method);
    if let Some(o) = &a.outcome {
        field(out, "outcome", o);
    }
    field(out, "real_ip", &a.real_ip);
    field(out, "server", &a.server);
    if let Some(s) = &a.severity {
        field(out, "severity", s);
    }
    if let Some(s) = &a.status {
        field(out, "status", s);
    }
    field(out, "ts", &a.ts);
    field(out, "uri", &a.uri);
    out.push(b'}');
}

/// A confidence (an `f32`) as the number its printed text reads back as
/// (0.9, not the 0.8999999761581421 the `f32` is; `null` when not finite).
fn confidence_value(c: f32) -> Value {
    let mut text = io::Cursor::new([0u8; 64]);
    if serde_json::to_writer(&mut text, &c).is_err() {
        return Value::Null;
    }
    let n = usize::try_from(text.position()).unwrap_or(0);
    let printed = text.get_ref().get(..n).unwrap_or_default();
    serde_json::from_slice(printed).unwrap_or(Value::Null)
}

/// An `attack` record as a `Value`, the same as parsing the line it writes:
/// a confidence (an `f32`) becomes the number its printed text reads back
/// as (0.9), not the `f64` the `f32` is (0.8999999761581421).
/// (`rec` is `a` as a record.)
fn attack_value(rec: &Record<'_>, a: &Attack) -> Result<Value, PushError> {
    let mut value =
        serde_json::to_value(rec).map_err(|e| PushError::Bad(format!("bad attack record: {e}")))?;
    if let Some(hits) = value.get_mut("hits").and_then(Value::as_array_mut) {
        for (h, hit) in hits.iter_mut().zip(&a.hits) {
            if let (Some(c), Value::Object(h)) = (hit.confidence, h) {
                h.insert("confidence".into(), confidence_value(c));
            }
        }
    }
    Ok(value)
}

fn value_time(v: &Value) -> Option<Ts> {
    v.get("ts")
        .or_else(|| v.get("last_seen"))
        .and_then(Value::as_str)
        .and_then(Ts::parse)
}

impl Exporter {
    /// Opens every sink (a webhook starts its delivery thread and replays its spool).
    pub fn new(cfg: ExportConfig) -> anyhow::Result<Exporter> {
        let specs = if cfg.sinks.is_empty() {
            vec![SinkSpec::parse("stdout").map_err(anyhow::Error::msg)?]
        } else {
            cfg.sinks.clone()
        };
        let mut sinks = vec![];
        for spec in specs {
            let sink = open_sink(&spec, &cfg)?;
            sinks.push(SinkSlot { spec, sink });
        }
        let attack_log = match &cfg.attack_log {
            Some(p) => Some(open_attack_log(p)?),
            None => None,
        };
        let converts = sinks.iter().any(|s| s.spec.format != Format::Ndjson);
        let typed = !converts
            && cfg
                .mask
                .as_ref()
                .is_none_or(MaskConfig::masks_attacks_typed);
        Ok(Exporter {
            agg: (!cfg.aggregate_window.is_zero())
                .then(|| Aggregator::new(cfg.aggregate_window, MAX_GROUPS)),
            cfg,
            sinks,
            attack_log,
            stats: ExportStats::default(),
            converts,
            typed,
            ready: vec![],
            native: Vec::with_capacity(4096),
            scratch: Vec::with_capacity(4096),
            hangup: None,
        })
    }

    /// Reopens output files when `flag` is raised (SIGHUP, after logrotate
    /// moved them away); checked before each record.
    pub fn watch_hangup(&mut self, flag: Arc<AtomicBool>) {
        self.hangup = Some(flag);
    }

    /// Closes and reopens every file this exporter writes (file sinks, the
    /// attack log): the next record goes to a file at the configured path.
    pub fn reopen(&mut self) -> anyhow::Result<()> {
        if let (Some(log), Some(p)) = (&mut self.attack_log, &self.cfg.attack_log) {
            log.flush().context("attack log")?;
            *log = open_attack_log(p)?;
        }
        for slot in &mut self.sinks {
            slot.sink
                .reopen()
                .with_context(|| format!("sink {}", slot.spec.text))?;
        }
        log::info!("export: output files reopened");
        Ok(())
    }

    pub fn stats(&self) -> &ExportStats {
        &self.stats
    }

    /// Takes one NDJSON record line.
    pub fn push(&mut self, line: &[u8]) -> Result<(), PushError> {
        self.check_hangup()?;
        let kind = record_type(line)
            .ok_or_else(|| PushError::Bad("not a JSON object with a \"type\"".into()))?
            .into_owned();
        self.stats.records += 1;
        // Packet time moves on with every record: close aggregation windows.
        self.advance(|| sink::line_time(line))?;
        if !self.cfg.types.contains(&kind) {
            *self.stats.not_selected.entry(kind).or_default() += 1;
            return Ok(());
        }
        let (local, aggregate, parse) = self.route(&kind);
        if !parse && !local && memchr::memmem::find(line, b"\"event_id\"").is_none() {
            return self.send_raw(&kind, line).map_err(PushError::from);
        }
        let value: Value = serde_json::from_slice(line)
            .map_err(|e| PushError::Bad(format!("bad {kind} record: {e}")))?;
        if !value.is_object() {
            return Err(PushError::Bad("not a JSON object".into()));
        }
        self.push_value(&kind, value, local, aggregate)
    }

    /// Takes one `attack` record as [`Exporter::push`] takes its line, when
    /// it would be parsed (masking, aggregation, conversion): its value is
    /// built from the record instead of from text written and read back.
    /// `None` when the line is the way (selection, the raw fast path).
    fn push_attack(&mut self, rec: &Record<'_>, a: &Attack) -> Option<Result<(), PushError>> {
        let kind = "attack";
        if !self.cfg.types.iter().any(|t| t == kind) {
            return None;
        }
        let (local, aggregate, parse) = self.route(kind);
        if !parse && !local {
            return None;
        }
        Some(self.take_attack(rec, a, local, aggregate))
    }

    fn take_attack(
        &mut self,
        rec: &Record<'_>,
        a: &Attack,
        local: bool,
        aggregate: bool,
    ) -> Result<(), PushError> {
        self.check_hangup()?;
        self.stats.records += 1;
        if self.typed {
            // The time the value path reads back from the written `ts`.
            let ts = a.ts.as_written();
            // Copied only to be masked, or later when the aggregator keeps it.
            let masked = match &self.cfg.mask {
                Some(m) if m.enabled => {
                    let mut copy = a.clone();
                    if mask::time_unmasked(a.ts, m) {
                        mask::mask_attack(&mut copy, None, m)
                    } else {
                        let mut text = std::mem::take(&mut self.scratch);
                        text.clear();
                        let _ = write!(text, "{}", a.ts);
                        let ts_text = std::str::from_utf8(&text).unwrap_or_default();
                        let n = mask::mask_attack(&mut copy, Some(ts_text), m);
                        self.scratch = text;
                        n
                    }
                    .map(|n| (Cow::Owned(copy), n))
                }
                _ => Some((Cow::Borrowed(a), 0)),
            };
            if let Some((masked, n)) = masked {
                self.advance(|| ts)?;
                self.stats.masked += n;
                self.stats.typed += 1;
                return self.push_typed(masked, ts, local, aggregate);
            }
        }
        let value = attack_value(rec, a)?;
        self.advance(|| value_time(&value))?;
        self.push_value("attack", value, local, aggregate)
    }

    /// A masked typed attack (time `ts`): kept local, aggregated or sent.
    fn push_typed(
        &mut self,
        a: Cow<'_, Attack>,
        ts: Option<Ts>,
        local: bool,
        aggregate: bool,
    ) -> Result<(), PushError> {
        if local {
            self.stats.local_attacks += 1;
            if let Some(log) = &mut self.attack_log {
                write_attack(&a, None, &mut self.native);
                log.write_all(&self.native)?;
                log.write_all(b"\n")?;
            }
            return Ok(());
        }
        match (&mut self.agg, aggregate, ts) {
            (Some(agg), true, Some(ts)) => {
                agg.push_attack(Box::new(a.into_owned()), ts, &mut self.ready);
                self.emit_ready()?;
            }
            _ => self.send_attack(&a, None, ts)?,
        }
        Ok(())
    }

    /// Reopens the output files when SIGHUP asked for it.
    fn check_hangup(&mut self) -> Result<(), PushError> {
        if self
            .hangup
            .as_ref()
            .is_some_and(|f| f.swap(false, Ordering::Relaxed))
        {
            self.reopen()
                .map_err(|e| PushError::Sink(io::Error::other(format!("{e:#}"))))?;
        }
        Ok(())
    }

    /// Packet time moved on to the record's (`time`, worked out only when
    /// an aggregate is open): emits the aggregates whose window closed.
    fn advance(&mut self, time: impl FnOnce() -> Option<Ts>) -> Result<(), PushError> {
        if let Some(agg) = &mut self.agg {
            if agg.open() > 0 {
                if let Some(ts) = time() {
                    agg.advance(ts, &mut self.ready);
                    self.emit_ready()?;
                }
            }
        }
        Ok(())
    }

    /// For a selected record of `kind`: whether it is kept local
    /// (discovery-only attacks), aggregated, and must be parsed.
    fn route(&self, kind: &str) -> (bool, bool, bool) {
        let local = self.cfg.discovery_only && kind == "attack";
        let aggregate = kind == "attack" && self.agg.is_some() && !local;
        let parse = self.cfg.mask.is_some() || self.cfg.drop_bodies || self.converts || aggregate;
        (local, aggregate, parse)
    }

    /// A selected record's value: masked, then kept local, aggregated or sent.
    fn push_value(
        &mut self,
        kind: &str,
        mut value: Value,
        local: bool,
        aggregate: bool,
    ) -> Result<(), PushError> {
        if let Some(m) = &self.cfg.mask {
            self.stats.masked += mask::mask_value(&mut value, m);
        } else if self.cfg.drop_bodies {
            self.stats.masked += mask::mask_value(&mut value, &MaskConfig::drop_only());
        }
        if local {
            self.stats.local_attacks += 1;
            if let (Some(log), Value::Object(map)) = (&mut self.attack_log, &value) {
                write_native(map, None, &mut self.native);
                log.write_all(&self.native)?;
                log.write_all(b"\n")?;
            }
            return Ok(());
        }
        match (&mut self.agg, aggregate, value_time(&value)) {
            (Some(agg), true, Some(ts)) => {
                agg.push(value, ts, &mut self.ready);
                self.emit_ready()?;
            }
            _ => self.send_value(kind, value)?,
        }
        Ok(())
    }

    fn emit_ready(&mut self) -> io::Result<()> {
        let mut ready = std::mem::take(&mut self.ready);
        let mut sent = Ok(());
        for r in ready.drain(..) {
            if sent.is_ok() {
                sent = match r {
                    Ready::Value(v) => self.send_value("attack", v),
                    Ready::Attack(a, folded) => {
                        self.send_attack(&a, Some(folded), a.ts.as_written())
                    }
                };
            }
        }
        self.ready = ready;
        sent
    }

    /// The fast path: no parse; `event_id` spliced into the line as read.
    fn send_raw(&mut self, kind: &str, line: &[u8]) -> io::Result<()> {
        let id = sha1_smol::Sha1::from(line).digest().to_string();
        let ts = sink::line_time(line);
        let prefix = format!(
            "{{\"type\":{}",
            serde_json::to_string(kind).unwrap_or_default()
        );
        self.native.clear();
        match line.strip_prefix(prefix.as_bytes()) {
            Some(rest) => {
                self.native.extend_from_slice(prefix.as_bytes());
                self.native
                    .extend_from_slice(format!(",\"event_id\":\"{id}\"").as_bytes());
                self.native.extend_from_slice(rest);
            }
            None => {
                let rest = line.strip_prefix(b"{").unwrap_or(line);
                self.native
                    .extend_from_slice(format!("{{\"event_id\":\"{id}\",").as_bytes());
                self.native.extend_from_slice(rest);
            }
        }
        let native = std::mem::take(&mut self.native);
        let r = self.fan_out(kind, ts, None, &id, &native, None);
        self.native = native;
        r
    }

    /// [`Exporter::send_value`] for a masked typed attack: the same bytes
    /// and key, written from the record (`ts`: its time as read back).
    fn send_attack(
        &mut self,
        a: &Attack,
        folded: Option<Folded>,
        ts: Option<Ts>,
    ) -> io::Result<()> {
        let mut native = std::mem::take(&mut self.native);
        write_attack(a, folded, &mut native);
        let id = sha1_smol::Sha1::from(&native).digest().to_string();
        let mut line = std::mem::take(&mut self.scratch);
        line.clear();
        let rest = native.strip_prefix(ATTACK_PREFIX).unwrap_or_default();
        line.extend_from_slice(ATTACK_PREFIX);
        line.extend_from_slice(b",\"event_id\":\"");
        line.extend_from_slice(id.as_bytes());
        line.push(b'"');
        line.extend_from_slice(rest);
        let r = self.fan_out("attack", ts, a.severity.as_deref(), &id, &line, None);
        self.native = native;
        self.scratch = line;
        r
    }

    fn send_value(&mut self, kind: &str, mut value: Value) -> io::Result<()> {
        let Value::Object(map) = &mut value else {
            return Ok(());
        };
        map.remove("event_id");
        write_native(map, None, &mut self.native);
        let id = sha1_smol::Sha1::from(&self.native).digest().to_string();
        map.insert("event_id".into(), Value::from(id.as_str()));
        write_native(map, Some(&id), &mut self.native);
        let ts = value_time(&value);
        let severity = value
            .get("severity")
            .and_then(Value::as_str)
            .map(str::to_string);
        let native = std::mem::take(&mut self.native);
        let r = self.fan_out(kind, ts, severity.as_deref(), &id, &native, Some(&value));
        self.native = native;
        r
    }

    fn fan_out(
        &mut self,
        kind: &str,
        ts: Option<Ts>,
        severity: Option<&str>,
        id: &str,
        native: &[u8],
        value: Option<&Value>,
    ) -> io::Result<()> {
        self.stats.exported += 1;
        let mut parsed = None;
        for slot in &mut self.sinks {
            let line: &[u8] = match slot.spec.format {
                Format::Ndjson => native,
                f => {
                    let v = match value {
                        Some(v) => v,
                        None => parsed.get_or_insert_with(|| {
                            serde_json::from_slice::<Value>(native).unwrap_or(Value::Null)
                        }),
                    };
                    let converted = match f {
                        Format::Ecs => format::to_ecs(v, kind),
                        _ => format::to_eve(v, kind),
                    };
                    self.scratch.clear();
                    serde_json::to_writer(&mut self.scratch, &converted)
                        .map_err(io::Error::from)?;
                    &self.scratch
                }
            };
            slot.sink
                .send(&Item {
                    kind,
                    ts,
                    severity,
                    event_id: id,
                    line,
                })
                .map_err(|e| io::Error::new(e.kind(), format!("sink {}: {e}", slot.spec.text)))?;
        }
        Ok(())
    }

    /// End of input: emits open aggregates, then every sink delivers or persists what it holds.
    pub fn finish(&mut self) -> anyhow::Result<()> {
        if let Some(agg) = &mut self.agg {
            agg.finish(&mut self.ready);
        }
        self.emit_ready()?;
        if let Some(log) = &mut self.attack_log {
            log.flush().context("attack log")?;
        }
        let mut first_err = None;
        for slot in &mut self.sinks {
            if let Err(e) = slot.sink.finish() {
                // The first failure is the run's error (printed once by
                // cli::run); any further ones are logged here.
                if first_err.is_some() {
                    log::error!("sink {}: {e}", slot.spec.text);
                } else {
                    first_err =
                        Some(anyhow::Error::from(e).context(format!("sink {}", slot.spec.text)));
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The end-of-run summary of the exporter and of each sink.
    pub fn summaries(&self) -> (Summary, Vec<(String, Summary)>) {
        let mut main = Summary::new()
            .count("records", self.stats.records)
            .count("exported", self.stats.exported)
            .count("secrets masked", self.stats.masked);
        if let Some(agg) = &self.agg {
            main = main.count("attacks folded into aggregates", agg.folded);
        }
        if self.cfg.discovery_only {
            main = main.count(
                "attacks kept local (discovery-only)",
                self.stats.local_attacks,
            );
        }
        main = main.group(
            "not selected",
            self.stats.not_selected.iter().map(|(k, n)| (k, *n)),
        );
        let sinks = self
            .sinks
            .iter()
            .map(|s| {
                let summary = s
                    .sink
                    .counters()
                    .into_iter()
                    .fold(Summary::new(), |acc, (k, n)| acc.count(k, n));
                (s.spec.text.clone(), summary)
            })
            .collect();
        (main, sinks)
    }
}

impl Output for Exporter {
    fn record(&mut self, rec: &Record<'_>) -> io::Result<()> {
        if let Record::Attack(a) = rec {
            if let Some(pushed) = self.push_attack(rec, a) {
                return self.pushed(pushed);
            }
        }
        let mut line = std::mem::take(&mut self.scratch);
        line.clear();
        crate::record::fast_json::write_record(&mut line, rec)?;
        let r = self.raw(&line);
        self.scratch = line;
        r
    }

    fn raw(&mut self, line: &[u8]) -> io::Result<()> {
        let pushed = self.push(line);
        self.pushed(pushed)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.finish()
            .map_err(|e| io::Error::other(format!("{e:#}")))
    }
}

impl Exporter {
    /// A bad record is counted and skipped; a sink's failure is the run's.
    fn pushed(&mut self, pushed: Result<(), PushError>) -> io::Result<()> {
        match pushed {
            Ok(()) => Ok(()),
            Err(PushError::Bad(why)) => {
                self.stats.bad += 1;
                log::info!("export: {why}");
                Ok(())
            }
            Err(PushError::Sink(e)) => Err(e),
        }
    }
}

/// tw-export: reads NDJSON records and exports them.
pub fn run_cli(
    prog: &'static str,
    common: &cli::CommonArgs,
    input: Option<&Path>,
    cfg: ExportConfig,
) -> anyhow::Result<()> {
    let opened = crate::io::open_input(input)?;
    let name = opened.name;
    let Input::Ndjson(mut reader) = opened.input else {
        anyhow::bail!("{name}: a capture file; tw-export reads records (run the capture through tw-http-parse and tw-detect first, or use `tapwatch run`)");
    };
    let stop = cli::shutdown_flag()?;
    let mut exporter = Exporter::new(cfg)?;
    exporter.watch_hangup(cli::hangup_flag()?);
    let mut bad = BadInput::new(common.strict);
    while !cli::stopping(&stop) {
        match reader.next_line() {
            None => break,
            Some(Err(e)) => bad.report("line", format!("{name}: {e}"))?,
            Some(Ok(line)) => match exporter.push(line) {
                Ok(()) => {}
                Err(PushError::Bad(why)) => bad.report(
                    "record",
                    format!("{name}: line {}: {why}", reader.line_number()),
                )?,
                Err(PushError::Sink(e)) => return Err(e).context("export"),
            },
        }
    }
    let finished = exporter.finish();
    let (main, sinks) = exporter.summaries();
    main.group("bad input", bad.counts().iter().map(|(k, n)| (k, *n)))
        .print(prog, common);
    for (text, summary) in sinks {
        summary.print(&format!("{prog}: sink {text}"), common);
    }
    finished
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Vuln;

    fn vuln() -> Vuln {
        Vuln {
            ts: Ts::parse("2024-05-01T12:00:00.000001Z").unwrap(),
            flow: "f1".into(),
            class: "info_leak.stack_trace".into(),
            severity: "medium".into(),
            method: "GET".into(),
            host: "app".into(),
            path: "/x?password=hunter2".into(),
            evidence: "at Foo".into(),
            endpoint: None,
            http_seq: None,
        }
    }

    /// Runs records through an exporter with one file sink; returns the file's lines.
    fn export(cfg: ExportConfig, name: &str, feed: impl FnOnce(&mut Exporter)) -> Vec<String> {
        let dir =
            std::env::temp_dir().join(format!("tw-export-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("out.ndjson");
        let sink = SinkSpec::parse(&format!("file:{}", path.display())).unwrap();
        let mut ex = Exporter::new(ExportConfig {
            sinks: vec![sink],
            ..cfg
        })
        .unwrap();
        feed(&mut ex);
        Output::flush(&mut ex).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        text.lines().map(String::from).collect()
    }

    #[test]
    fn typed_and_raw_records_export_alike() {
        let rec = Record::Vuln(vuln());
        let line = serde_json::to_vec(&rec).unwrap();
        for (name, cfg) in [
            ("masked", ExportConfig::default()),
            (
                "unmasked",
                ExportConfig {
                    mask: None,
                    ..ExportConfig::default()
                },
            ),
        ] {
            let typed = export(cfg.clone(), &format!("typed-{name}"), |ex| {
                ex.record(&rec).unwrap()
            });
            let raw = export(cfg, &format!("raw-{name}"), |ex| ex.raw(&line).unwrap());
            assert_eq!(typed, raw, "{name}");
            assert_eq!(typed.len(), 1);
            let v: Value = serde_json::from_str(&typed[0]).unwrap();
            assert_eq!(v["event_id"].as_str().map(str::len), Some(40));
            assert!(
                typed[0].starts_with(r#"{"type":"vuln","event_id":""#),
                "{}",
                typed[0]
            );
            assert_eq!(typed[0].contains("hunter2"), name == "unmasked");
        }
    }

    /// Varied attacks: secrets in the uri, in payloads at secret points
    /// (fields and headers), tokens, cards, quotes, control characters,
    /// unicode and long excerpts, every optional field on and off, odd
    /// confidences, and times that fold into aggregates or not.
    fn varied_attacks() -> Vec<Record<'static>> {
        use crate::record::{Attack, Hit};
        let long: String = "é😀\"\\\u{1}<script>".repeat(700);
        let hit = |class: &str, point: &str, payload: &str, c: Option<f32>, m: Option<&str>| Hit {
            class: class.into(),
            point: point.into(),
            payload: payload.into(),
            rule: "942100".into(),
            confidence: c,
            message: m.map(String::from),
        };
        let attack = |s: i64, digits: u8, real_ip: &str, uri: &str, hits: Vec<Hit>| {
            Record::Attack(Attack {
                ts: Ts::new(1_714_564_800 + s, 7_123_456, digits),
                flow: "f1".into(),
                http_seq: 2,
                client: "10.0.0.1:4000".into(),
                real_ip: real_ip.into(),
                server: "10.0.0.2:80".into(),
                method: "POST".into(),
                host: "app".into(),
                uri: uri.into(),
                status: (s % 2 == 0).then_some(200),
                hits,
                outcome: (s % 3 == 0).then(|| "blocked".into()),
                severity: (s % 4 != 1).then(|| "high".into()),
            })
        };
        let sqli = |c: &[Option<f32>]| -> Vec<Hit> {
            c.iter()
                .map(|c| hit("sqli", "query.password", "' or 1=1 --", *c, None))
                .collect()
        };
        vec![
            attack(
                0,
                6,
                "",
                "/login?password=hunter2",
                sqli(&[Some(0.9), Some(0.1), None]),
            ),
            attack(
                1,
                3,
                "",
                "/login?password=x",
                sqli(&[Some(1.0), Some(1e-7), Some(f32::NAN)]),
            ),
            attack(
                2,
                6,
                "",
                "/login?password=y",
                sqli(&[Some(0.9), Some(0.1), None]),
            ),
            attack(
                3,
                9,
                "203.0.113.9",
                "/a?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
                vec![
                    hit(
                        "xss",
                        "header.Authorization",
                        "Bearer abcdefghijkl",
                        Some(f32::INFINITY),
                        Some("user rule"),
                    ),
                    hit(
                        "xss",
                        "body.json.user.name",
                        &long,
                        Some(0.33333334),
                        Some("ünïcode \"quoted\""),
                    ),
                ],
            ),
            attack(
                4,
                0,
                "203.0.113.9",
                "/a",
                vec![
                    hit(
                        "xss",
                        "body.json.user.name",
                        "card 4111 1111 1111 1111 key=AKIAABCDEFGHIJKLMNOP",
                        Some(3.4e38),
                        None,
                    ),
                    hit(
                        "xss",
                        "header.User-Agent",
                        "Basic dXNlcjpwYXNzd29yZA==",
                        Some(-0.0),
                        None,
                    ),
                ],
            ),
            attack(
                120,
                6,
                "",
                "/login?password=hunter2",
                sqli(&[Some(0.33333334), Some(3.4e38)]),
            ),
            attack(121, 6, "", "/other\n\"x\"", vec![]),
        ]
    }

    /// Typed attacks are masked, aggregated and written from the record
    /// (counted in `stats.typed`), byte for byte as their lines are through
    /// values; a configured field name an attack has, or a conversion,
    /// takes the value path for both.
    #[test]
    fn typed_and_raw_attacks_export_alike() {
        let recs = varied_attacks();
        let no_agg = Duration::ZERO;
        let cases = [
            (
                "masked",
                ExportConfig {
                    aggregate_window: no_agg,
                    ..ExportConfig::default()
                },
                true,
            ),
            ("aggregated", ExportConfig::default(), true),
            (
                "unmasked",
                ExportConfig {
                    mask: None,
                    aggregate_window: no_agg,
                    ..ExportConfig::default()
                },
                // No parse: the line fast path.
                false,
            ),
            (
                "unmasked-aggregated",
                ExportConfig {
                    mask: None,
                    ..ExportConfig::default()
                },
                true,
            ),
            (
                "drop-bodies",
                ExportConfig {
                    mask: None,
                    drop_bodies: true,
                    ..ExportConfig::default()
                },
                true,
            ),
            (
                "field-host",
                ExportConfig {
                    mask: Some(MaskConfig::new(&[], &["Host".into()], false)),
                    ..ExportConfig::default()
                },
                false,
            ),
            (
                "field-other",
                ExportConfig {
                    mask: Some(MaskConfig::new(
                        &["X-Trace".into()],
                        &["name".into()],
                        false,
                    )),
                    ..ExportConfig::default()
                },
                true,
            ),
        ];
        for (name, cfg, typed_path) in cases {
            let mut stats = (0, 0, 0);
            let typed = export(cfg.clone(), &format!("atk-typed-{name}"), |ex| {
                recs.iter().for_each(|r| ex.record(r).unwrap());
                stats = (ex.stats().typed, ex.stats().masked, ex.stats().records);
            });
            let mut raw_stats = (0, 0, 0);
            let raw = export(cfg, &format!("atk-raw-{name}"), |ex| {
                for r in &recs {
                    ex.raw(&serde_json::to_vec(r).unwrap()).unwrap()
                }
                raw_stats = (ex.stats().typed, ex.stats().masked, ex.stats().records);
            });
            assert_eq!(typed, raw, "{name}");
            let n = recs.len() as u64;
            assert_eq!(
                stats.0,
                if typed_path { n } else { 0 },
                "{name}: typed path"
            );
            assert_eq!(
                (raw_stats.0, raw_stats.1, raw_stats.2),
                (0, stats.1, n),
                "{name}"
            );
            assert!(typed[0].contains(r#""confidence":0.9"#), "{}", typed[0]);
            assert!(!typed[0].contains("0.89999"), "{}", typed[0]);
            assert!(
                typed.iter().any(|l| l.contains(r#""confidence":null"#)),
                "{name}"
            );
            let masked = !name.starts_with("unmasked") && name != "drop-bodies";
            assert_eq!(typed[0].contains("hunter2"), !masked, "{name}");
            assert_eq!(
                typed.iter().any(|l| l.contains("abcdefghijkl")),
                !masked,
                "{name}"
            );
            assert_eq!(stats.1 > 0, masked, "{name}");
            let aggregated = typed.iter().any(|l| l.contains(r#""count":3,"#));
            assert_eq!(aggregated, !matches!(name, "masked" | "unmasked"), "{name}");
        }
    }

    /// Typed attacks kept local (discovery-only) go to the attack log as
    /// their lines do.
    #[test]
    fn typed_and_raw_local_attacks_log_alike() {
        let recs = varied_attacks();
        let mut logs = vec![];
        for how in ["typed", "raw"] {
            let dir = std::env::temp_dir()
                .join(format!("tw-export-unit-local-{how}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let log = dir.join("attacks.ndjson");
            let cfg = ExportConfig {
                discovery_only: true,
                attack_log: Some(log.clone()),
                ..ExportConfig::default()
            };
            // Nothing reaches the (stdout) sink: every attack stays local.
            let mut ex = Exporter::new(cfg).unwrap();
            for r in &recs {
                match how {
                    "typed" => ex.record(r).unwrap(),
                    _ => ex.raw(&serde_json::to_vec(r).unwrap()).unwrap(),
                }
            }
            Output::flush(&mut ex).unwrap();
            let typed = if how == "typed" { recs.len() as u64 } else { 0 };
            assert_eq!(ex.stats().typed, typed);
            assert_eq!(ex.stats().exported, 0);
            logs.push(std::fs::read_to_string(&log).unwrap());
            std::fs::remove_dir_all(&dir).unwrap();
        }
        assert_eq!(logs[0], logs[1]);
        assert_eq!(logs[0].lines().count(), recs.len());
        assert!(!logs[0].contains("hunter2"));
    }

    #[test]
    fn unselected_and_bad_lines_are_counted_not_exported() {
        let mut stats = (0, 0, 0);
        let out = export(ExportConfig::default(), "select", |ex| {
            ex.raw(br#"{"type":"packet","ts":"2024-05-01T12:00:00Z"}"#)
                .unwrap();
            ex.raw(b"not json").unwrap();
            ex.raw(br#"{"type":"vuln","ts":5}"#).unwrap();
            stats = (ex.stats().records, ex.stats().bad, ex.stats().exported);
        });
        // The vuln with a numeric ts is exported as it is (records are not validated).
        assert_eq!(out.len(), 1);
        assert_eq!(stats, (2, 1, 1));
    }
}
