//! The `--sink` syntax.
//!
//! ```text
//! stdout[?OPTIONS]
//! file:PATH[?OPTIONS]                  rotate=SIZE[,DURATION] (either or both), gzip, format=F
//! webhook:http[s]://HOST[:PORT]/PATH[?QUERY][#OPTIONS]
//!                                      batch=N, timeout=DUR, backoff=DUR, max_backoff=DUR,
//!                                      spool_records=N, spool_bytes=SIZE, ca=PEMFILE, format=F
//! syslog+udp://HOST:PORT[?OPTIONS]     facility=NAME|N, hostname=NAME, format=F
//! syslog+tcp://HOST:PORT[?OPTIONS]     (RFC 6587 octet counting)
//! ```
//!
//! `OPTIONS` are `&`-separated `key=value` pairs or bare flags (`gzip`). A
//! webhook's URL keeps its own query string for the receiver, so its options go
//! in the fragment, which HTTP never sends: `webhook:https://siem/in?k=1#batch=50&format=ecs`.
//! `F` is `ndjson` (the default, native records), `ecs` or `eve`.

use std::time::Duration;

use crate::cli::{parse_duration, parse_size};

/// The shape records take in a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// tapwatch's own records plus `event_id`.
    Ndjson,
    /// Elastic Common Schema.
    Ecs,
    /// A Suricata-eve-like shape (`event_type: alert`, `src_ip`, `alert{...}`).
    Eve,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format, String> {
        match s {
            "ndjson" | "native" | "json" => Ok(Format::Ndjson),
            "ecs" => Ok(Format::Ecs),
            "eve" | "suricata" => Ok(Format::Eve),
            other => Err(format!("unknown format {other:?} (ndjson, ecs or eve)")),
        }
    }
}

/// File rotation limits; a new file starts when either is reached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotate {
    pub max_bytes: Option<u64>,
    /// Rotation interval on packet time, aligned to multiples of it since the epoch.
    pub every: Option<Duration>,
}

/// Webhook delivery settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOpts {
    /// Records per POST at most.
    pub batch: usize,
    /// Per-request timeout (connect + send + response).
    pub timeout: Duration,
    /// First retry delay; doubled per failure up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// Spool bounds: records and bytes waiting for delivery.
    pub spool_records: u64,
    pub spool_bytes: u64,
    /// PEM file of the certificate authorities trusted for HTTPS instead of
    /// the built-in web PKI roots (a SIEM with a private CA).
    pub ca: Option<std::path::PathBuf>,
}

impl Default for WebhookOpts {
    fn default() -> Self {
        WebhookOpts {
            batch: 100,
            timeout: Duration::from_secs(10),
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            spool_records: 1_000_000,
            spool_bytes: 1 << 30,
            ca: None,
        }
    }
}

/// Syslog transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Where records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkKind {
    Stdout,
    File {
        path: std::path::PathBuf,
        rotate: Rotate,
        gzip: bool,
    },
    Webhook {
        url: String,
        opts: WebhookOpts,
    },
    Syslog {
        transport: Transport,
        /// `host:port`.
        addr: String,
        /// Facility number (0..=23); default 16 (local0).
        facility: u8,
        /// HOSTNAME field; default the machine's name.
        hostname: Option<String>,
    },
}

/// One `--sink`: where, and in which format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkSpec {
    pub kind: SinkKind,
    pub format: Format,
    /// The spec as given, for messages and the spool directory name.
    pub text: String,
}

/// Splits `a=b&c` into pairs (`("c", "")` for a bare flag).
fn options(s: &str) -> Vec<(&str, &str)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

const FACILITIES: &[&str] = &[
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

fn facility(s: &str) -> Result<u8, String> {
    if let Ok(n) = s.parse::<u8>() {
        if n <= 23 {
            return Ok(n);
        }
    }
    FACILITIES
        .iter()
        .position(|f| *f == s)
        .map(|n| n as u8)
        .ok_or_else(|| {
            format!("unknown syslog facility {s:?} (local0..local7, user, daemon, ... or 0..23)")
        })
}

impl SinkSpec {
    /// Parses one `--sink` value (see the module documentation).
    pub fn parse(text: &str) -> Result<SinkSpec, String> {
        let bad = |why: String| format!("--sink {text:?}: {why}");
        let mut format = Format::Ndjson;
        let unknown = |k: &str| bad(format!("unknown option {k:?}"));
        let kind = if text == "stdout" || text.starts_with("stdout?") {
            for (k, v) in options(
                text.strip_prefix("stdout")
                    .unwrap_or("")
                    .trim_start_matches('?'),
            ) {
                match k {
                    "format" => format = Format::parse(v).map_err(bad)?,
                    _ => return Err(unknown(k)),
                }
            }
            SinkKind::Stdout
        } else if let Some(rest) = text.strip_prefix("file:") {
            let (path, opts) = rest.split_once('?').unwrap_or((rest, ""));
            if path.is_empty() {
                return Err(bad("no path".into()));
            }
            let (mut rotate, mut gzip) = (Rotate::default(), false);
            for (k, v) in options(opts) {
                match k {
                    "format" => format = Format::parse(v).map_err(bad)?,
                    "gzip" => gzip = true,
                    "rotate" => {
                        for part in v.split(',').filter(|p| !p.is_empty()) {
                            // A size ends in a size unit or is a plain number; a duration ends in s, m or h.
                            if let Ok(n) = parse_size(part) {
                                rotate.max_bytes = Some(n.max(1) as u64);
                            } else {
                                let d = parse_duration(part).map_err(bad)?;
                                if d < Duration::from_secs(1) {
                                    return Err(bad("rotation interval under 1s".into()));
                                }
                                rotate.every = Some(d);
                            }
                        }
                    }
                    _ => return Err(unknown(k)),
                }
            }
            SinkKind::File {
                path: path.into(),
                rotate,
                gzip,
            }
        } else if let Some(rest) = text.strip_prefix("webhook:") {
            let (url, opts) = rest.split_once('#').unwrap_or((rest, ""));
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(bad("want webhook:http://... or webhook:https://...".into()));
            }
            let mut o = WebhookOpts::default();
            for (k, v) in options(opts) {
                let dur = || parse_duration(v).map_err(bad);
                let num = || {
                    v.parse::<u64>()
                        .map_err(|_| bad(format!("{k}: bad number {v:?}")))
                };
                match k {
                    "format" => format = Format::parse(v).map_err(bad)?,
                    "batch" => o.batch = num()?.clamp(1, 10_000) as usize,
                    "timeout" => o.timeout = dur()?,
                    "backoff" => o.backoff = dur()?,
                    "max_backoff" => o.max_backoff = dur()?,
                    "spool_records" => o.spool_records = num()?.max(1),
                    "spool_bytes" => o.spool_bytes = parse_size(v).map_err(bad)? as u64,
                    "ca" if !v.is_empty() => o.ca = Some(v.into()),
                    _ => return Err(unknown(k)),
                }
            }
            o.max_backoff = o.max_backoff.max(o.backoff);
            SinkKind::Webhook {
                url: url.to_string(),
                opts: o,
            }
        } else if let Some((transport, rest)) = text
            .strip_prefix("syslog+udp://")
            .map(|r| (Transport::Udp, r))
            .or_else(|| {
                text.strip_prefix("syslog+tcp://")
                    .map(|r| (Transport::Tcp, r))
            })
        {
            let (addr, opts) = rest.split_once('?').unwrap_or((rest, ""));
            if addr
                .rsplit_once(':')
                .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
            {
                return Err(bad(
                    "want syslog+udp://HOST:PORT or syslog+tcp://HOST:PORT".into()
                ));
            }
            let (mut fac, mut hostname) = (16, None);
            for (k, v) in options(opts) {
                match k {
                    "format" => format = Format::parse(v).map_err(bad)?,
                    "facility" => fac = facility(v).map_err(bad)?,
                    "hostname" if !v.is_empty() && v.bytes().all(|b| (33..=126).contains(&b)) => {
                        hostname = Some(v.to_string())
                    }
                    "hostname" => {
                        return Err(bad("hostname: printable ASCII without spaces".into()))
                    }
                    _ => return Err(unknown(k)),
                }
            }
            SinkKind::Syslog {
                transport,
                addr: addr.to_string(),
                facility: fac,
                hostname,
            }
        } else {
            return Err(bad(
                "want stdout, file:PATH, webhook:URL, syslog+udp://HOST:PORT or syslog+tcp://HOST:PORT"
                    .into(),
            ));
        };
        // Webhook URLs often carry their secret in the path or query (Slack,
        // Teams, `?token=`) or in user info: messages show only the origin.
        let text = match &kind {
            SinkKind::Webhook { url, .. } => format!("webhook:{}", redact_url(url)),
            _ => text.to_string(),
        };
        Ok(SinkSpec { kind, format, text })
    }
}

/// A URL for messages: scheme, host and port; user info, path, query and
/// fragment become `/…[h]`, `h` a short hash of the whole URL so two
/// sinks to one host stay apart.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let mut out = if scheme.is_empty() {
        host.to_string()
    } else {
        format!("{scheme}://{host}")
    };
    if (!tail.is_empty() && tail != "/") || host.len() != authority.len() {
        let h = sha1_smol::Sha1::from(url).digest().to_string();
        out.push_str("/…[");
        out.push_str(h.get(..8).unwrap_or_default());
        out.push(']');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_secrets_stay_out_of_messages() {
        let spec = SinkSpec::parse(
            "webhook:https://bot:pw@hooks.example.com:8443/services/T0/SECRET?token=abc#batch=5",
        )
        .unwrap();
        assert!(
            spec.text
                .starts_with("webhook:https://hooks.example.com:8443/…["),
            "{}",
            spec.text
        );
        for secret in ["pw", "SECRET", "abc", "bot"] {
            assert!(!spec.text.contains(secret), "{}", spec.text);
        }
        assert_eq!(redact_url("http://127.0.0.1:9000"), "http://127.0.0.1:9000");
        assert_eq!(
            redact_url("http://127.0.0.1:9000/"),
            "http://127.0.0.1:9000"
        );
        assert_ne!(redact_url("http://h/a"), redact_url("http://h/b"));
    }

    #[test]
    fn sink_specs_parse() {
        let s = SinkSpec::parse("file:/var/log/tw/f.ndjson?rotate=100MiB,1h&gzip").unwrap();
        assert_eq!(
            s.kind,
            SinkKind::File {
                path: "/var/log/tw/f.ndjson".into(),
                rotate: Rotate {
                    max_bytes: Some(100 << 20),
                    every: Some(Duration::from_secs(3600))
                },
                gzip: true
            }
        );
        assert_eq!(s.format, Format::Ndjson);
        let s = SinkSpec::parse("webhook:https://siem.example/in?x=1#batch=5&format=ecs").unwrap();
        match s.kind {
            SinkKind::Webhook { url, opts } => {
                assert_eq!(url, "https://siem.example/in?x=1");
                assert_eq!(opts.batch, 5);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.format, Format::Ecs);
        let s = SinkSpec::parse("syslog+tcp://127.0.0.1:514?facility=local3&format=eve").unwrap();
        assert_eq!(
            s.kind,
            SinkKind::Syslog {
                transport: Transport::Tcp,
                addr: "127.0.0.1:514".into(),
                facility: 19,
                hostname: None
            }
        );
        assert_eq!(
            SinkSpec::parse("stdout?format=eve").unwrap().format,
            Format::Eve
        );
        for bad in [
            "stdout?x=1",
            "file:",
            "file:a?rotate=5y",
            "webhook:ftp://x",
            "syslog+udp://host",
            "syslog+udp://h:1?facility=mars",
            "kafka://x",
            "stdout?format=xml",
        ] {
            assert!(SinkSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
