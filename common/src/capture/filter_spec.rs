//! The `IFACE:PORT` capture syntax of traffic-mirroring tools, and the plan of
//! live captures it turns into.
//!
//! `eth0:80` captures TCP port 80 on eth0, `eth0:` everything on eth0, `:80`
//! TCP port 80 on every interface (`any`). The last colon separates the port,
//! so an alias interface keeps its own colon (`eth0:1:80`).

use std::fmt;
use std::str::FromStr;

/// One `IFACE:PORT` specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSpec {
    /// Interface name; `any` when the specification left it empty.
    pub iface: String,
    /// TCP port to keep; `None` keeps all traffic.
    pub port: Option<u16>,
}

/// Why a specification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterSpecError {
    #[error("{0:?}: expected IFACE:PORT (eth0:80), IFACE: (all traffic) or :PORT (any interface); did you mean \"{0}:\"?")]
    NoColon(String),
    #[error("{0:?}: empty; expected IFACE:PORT, IFACE: or :PORT")]
    Empty(String),
    #[error("{spec:?}: port {port:?} is not a number from 1 to 65535")]
    BadPort { spec: String, port: String },
    #[error("{spec:?}: interface name {iface:?} contains whitespace or control characters")]
    BadIface { spec: String, iface: String },
}

impl FromStr for FilterSpec {
    type Err = FilterSpecError;

    fn from_str(spec: &str) -> Result<FilterSpec, FilterSpecError> {
        let Some((iface, port)) = spec.rsplit_once(':') else {
            return Err(if spec.is_empty() {
                FilterSpecError::Empty(spec.into())
            } else {
                FilterSpecError::NoColon(spec.into())
            });
        };
        if iface.is_empty() && port.is_empty() {
            return Err(FilterSpecError::Empty(spec.into()));
        }
        if iface.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FilterSpecError::BadIface {
                spec: spec.into(),
                iface: iface.into(),
            });
        }
        let port = match port {
            "" => None,
            p => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                _ => {
                    return Err(FilterSpecError::BadPort {
                        spec: spec.into(),
                        port: p.into(),
                    })
                }
            },
        };
        let iface = if iface.is_empty() { "any" } else { iface };
        Ok(FilterSpec {
            iface: iface.into(),
            port,
        })
    }
}

impl fmt::Display for FilterSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.iface),
            None => write!(f, "{}:", self.iface),
        }
    }
}

/// One live capture to open: an interface and its BPF filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSource {
    pub iface: String,
    /// BPF program text; `None` captures everything.
    pub bpf: Option<String>,
}

/// Plans one capture per interface, in order of first mention: `-i IFACE`
/// (all traffic) and `--filter` specifications are merged per interface, so
/// `eth0:80` and `eth0:443` become one capture with `tcp and (port 80 or port
/// 443)`, and an interface given without a port captures all its traffic.
/// `extra` (`-f`) is and-ed to every interface's filter.
pub fn plan(interfaces: &[String], specs: &[FilterSpec], extra: Option<&str>) -> Vec<LiveSource> {
    // (iface, ports; None once any mention wants all traffic)
    let mut merged: Vec<(String, Option<Vec<u16>>)> = vec![];
    let mentions = interfaces
        .iter()
        .map(|i| (i.as_str(), None))
        .chain(specs.iter().map(|s| (s.iface.as_str(), s.port)));
    for (iface, port) in mentions {
        let at = match merged.iter().position(|(name, _)| name == iface) {
            Some(at) => at,
            None => {
                merged.push((iface.to_string(), Some(vec![])));
                merged.len() - 1
            }
        };
        let ports = &mut merged[at].1;
        match (ports.as_mut(), port) {
            (Some(ports), Some(p)) => {
                if !ports.contains(&p) {
                    ports.push(p);
                }
            }
            (_, None) => *ports = None,
            (None, Some(_)) => {}
        }
    }
    let extra = extra.map(str::trim).filter(|e| !e.is_empty());
    merged
        .into_iter()
        .map(|(iface, ports)| {
            let ports = match ports.as_deref() {
                Some([]) | None => None,
                Some([p]) => Some(format!("tcp port {p}")),
                Some(ps) => Some(format!(
                    "tcp and ({})",
                    ps.iter()
                        .map(|p| format!("port {p}"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )),
            };
            let bpf = match (ports, extra) {
                (None, None) => None,
                (Some(p), None) => Some(p),
                (None, Some(e)) => Some(e.to_string()),
                (Some(p), Some(e)) => Some(format!("({p}) and ({e})")),
            };
            LiveSource { iface, bpf }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(iface: &str, port: Option<u16>) -> FilterSpec {
        FilterSpec {
            iface: iface.into(),
            port,
        }
    }

    #[test]
    fn parses_the_three_forms() {
        let cases = [
            ("eth0:80", spec("eth0", Some(80))),
            ("eth0:", spec("eth0", None)),
            (":80", spec("any", Some(80))),
            ("ens5:65535", spec("ens5", Some(65535))),
            ("eth0:1:443", spec("eth0:1", Some(443))),
            ("any:", spec("any", None)),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<FilterSpec>(), Ok(want.clone()), "{text}");
            if text != ":80" {
                assert_eq!(want.to_string(), text);
            }
        }
    }

    #[test]
    fn refuses_with_clear_errors() {
        let cases = [
            ("", "empty"),
            (":", "empty"),
            ("eth0", "did you mean \"eth0:\""),
            ("eth0:http", "port \"http\" is not a number"),
            ("eth0:0", "port \"0\" is not a number from 1 to 65535"),
            ("eth0:65536", "not a number"),
            ("eth0:+80", "not a number"),
            (":-1", "not a number"),
            ("eth 0:80", "contains whitespace"),
        ];
        for (text, want) in cases {
            let err = text.parse::<FilterSpec>().unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn plan_merges_per_interface_in_order() {
        let ifs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let src = |iface: &str, bpf: Option<&str>| LiveSource {
            iface: iface.into(),
            bpf: bpf.map(Into::into),
        };
        type Case<'a> = (
            Vec<String>,
            Vec<FilterSpec>,
            Option<&'a str>,
            Vec<LiveSource>,
        );
        let cases: Vec<Case<'_>> = vec![
            (ifs(&["eth0"]), vec![], None, vec![src("eth0", None)]),
            (
                ifs(&["eth0"]),
                vec![],
                Some("udp"),
                vec![src("eth0", Some("udp"))],
            ),
            (
                vec![],
                vec![spec("eth0", Some(80)), spec("any", Some(8080))],
                None,
                vec![
                    src("eth0", Some("tcp port 80")),
                    src("any", Some("tcp port 8080")),
                ],
            ),
            (
                vec![],
                vec![
                    spec("eth0", Some(80)),
                    spec("eth0", Some(443)),
                    spec("eth0", Some(80)),
                ],
                Some("host 10.0.0.1"),
                vec![src(
                    "eth0",
                    Some("(tcp and (port 80 or port 443)) and (host 10.0.0.1)"),
                )],
            ),
            (
                ifs(&["eth1"]),
                vec![
                    spec("eth0", Some(80)),
                    spec("eth0", None),
                    spec("eth1", Some(1)),
                ],
                None,
                vec![src("eth1", None), src("eth0", None)],
            ),
        ];
        for (interfaces, specs, extra, want) in cases {
            assert_eq!(
                plan(&interfaces, &specs, extra),
                want,
                "{interfaces:?} {specs:?}"
            );
        }
    }
}
