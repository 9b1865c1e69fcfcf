//! `tapwatch demo`: a human summary of what the stages found in a capture.
//!
//! [`Digest`] consumes the records of a chain (no JSON in between) and keeps
//! small, bounded tallies: connections by server and by encapsulation, the
//! first request line of each client stream, gaps. [`Digest::render`] prints
//! them for a person. As later stages land (HTTP, detection, inventory), their
//! records get their own sections here.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::decap::DecapStats;
use crate::reassemble::Stats;
use crate::record::{ConnEvent, Dir, Record, Tunnel};

/// How many request lines the digest keeps for display.
const MAX_REQUEST_LINES: usize = 12;
/// How many distinct servers and encapsulations it tallies.
const MAX_KEYS: usize = 1024;

/// Tallies of a run, built record by record; a [`pipeline::Output`](crate::pipeline::Output).
#[derive(Debug, Default)]
pub struct Digest {
    conns: u64,
    midstream: u64,
    /// Connections by server `ip:port`.
    servers: BTreeMap<String, u64>,
    /// Connections by encapsulation, e.g. `vxlan 7 / plain`.
    encaps: BTreeMap<String, u64>,
    gaps: u64,
    gap_bytes: u64,
    request_lines: Vec<String>,
    request_lines_total: u64,
}

/// A short name of a tunnel stack: `plain`, `vxlan vni 7`, `vlan 42 / gre`.
pub fn encap_name(stack: &[Tunnel]) -> String {
    if stack.is_empty() {
        return "plain".into();
    }
    let parts: Vec<String> = stack
        .iter()
        .map(|t| match t {
            Tunnel::Vlan { vid } => format!("vlan {vid}"),
            Tunnel::Mpls { label } => format!("mpls {label}"),
            Tunnel::Vxlan { vni, .. } => format!("vxlan vni {vni}"),
            Tunnel::Geneve { vni, .. } => format!("geneve vni {vni}"),
            Tunnel::Gre { key: Some(k), .. } => format!("gre key {k}"),
            Tunnel::Gre { key: None, .. } => "gre".into(),
            Tunnel::Erspan {
                version, session, ..
            } => format!("erspan {version} session {session}"),
            Tunnel::Ipip { .. } => "ip-in-ip".into(),
        })
        .collect();
    parts.join(" / ")
}

impl Digest {
    pub fn new() -> Digest {
        Digest::default()
    }

    /// Takes one record into the tallies.
    pub fn add(&mut self, rec: &Record<'_>) {
        match rec {
            Record::Conn(c) if c.event == ConnEvent::Open => {
                self.conns += 1;
                self.midstream += u64::from(c.midstream == Some(true));
                if let Some(server) = &c.server {
                    if self.servers.len() < MAX_KEYS || self.servers.contains_key(server) {
                        *self.servers.entry(server.clone()).or_default() += 1;
                    }
                }
                let encap = encap_name(c.tunnel.as_deref().unwrap_or(&[]));
                if self.encaps.len() < MAX_KEYS || self.encaps.contains_key(&encap) {
                    *self.encaps.entry(encap).or_default() += 1;
                }
            }
            // Offset 0 comes once per direction of a flow: its first bytes.
            Record::Data(d) if d.dir == Dir::C2s && d.off == 0 => {
                self.request_lines_total += 1;
                if self.request_lines.len() < MAX_REQUEST_LINES {
                    self.request_lines.push(first_line(&d.data));
                }
            }
            Record::Gap(g) => {
                self.gaps += 1;
                self.gap_bytes += g.len;
            }
            _ => {}
        }
    }

    /// The report for a person.
    pub fn render(&self, input: &str, decap: &DecapStats, reassemble: Option<&Stats>) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "tapwatch demo: {input}\n");
        let _ = writeln!(
            o,
            "Decoded     {} frames into {} TCP segments",
            decap.frames, decap.packets
        );
        let skipped: Vec<String> = decap
            .group(crate::decap::ReasonGroup::Skipped)
            .into_iter()
            .chain(decap.group(crate::decap::ReasonGroup::Malformed))
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        if !skipped.is_empty() {
            let _ = writeln!(
                o,
                "            not TCP or not decodable: {}",
                skipped.join(", ")
            );
        }
        let _ = writeln!(
            o,
            "Connections {} ({} with a handshake, {} picked up mid-stream)",
            self.conns,
            self.conns - self.midstream,
            self.midstream
        );
        if let Some(r) = reassemble {
            let _ = writeln!(
                o,
                "Streams     {} bytes in order, {} gaps ({} bytes never seen), {} duplicate segments dropped",
                r.data_bytes, self.gaps, self.gap_bytes, r.duplicates
            );
        }
        let _ = writeln!(o, "\nEncapsulation (connections)");
        let mut encaps: Vec<_> = self.encaps.iter().collect();
        encaps.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (name, n) in encaps {
            let _ = writeln!(o, "  {n:>6}  {name}");
        }
        let _ = writeln!(o, "\nServers (connections)");
        let mut servers: Vec<_> = self.servers.iter().collect();
        servers.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (name, n) in servers.iter().take(10) {
            let _ = writeln!(o, "  {n:>6}  {name}");
        }
        let _ = writeln!(
            o,
            "\nFirst client line of each connection ({} of {}):",
            self.request_lines.len(),
            self.request_lines_total
        );
        for line in &self.request_lines {
            let _ = writeln!(o, "  {line}");
        }
        o
    }
}

/// The first line of a stream chunk, printable and at most 100 characters.
fn first_line(data: &[u8]) -> String {
    let end = data
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(data.len());
    let line = &data[..end.min(100)];
    line.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

impl crate::pipeline::Output for Digest {
    fn record(&mut self, rec: &Record<'_>) -> std::io::Result<()> {
        self.add(rec);
        Ok(())
    }

    fn raw(&mut self, _line: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs every stage on a capture and renders the digest.
pub fn run(input: &std::path::Path, cfg: crate::pipeline::ChainConfig) -> anyhow::Result<String> {
    use crate::pipeline::{self, Chain, Control, Level};
    let opened = crate::io::open_input(Some(input))?;
    let name = opened.name.clone();
    let mut chain = Chain::new(Level::Streams, cfg);
    let mut digest = Digest::new();
    let report = pipeline::run(&mut chain, opened, &mut digest, &Control::default())?;
    let mut text = digest.render(&name, chain.decap_stats(), chain.reassemble_stats());
    if report.bad.total() > 0 {
        let _ = writeln!(text, "\nBad input skipped: {}", report.bad.total());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encapsulation_names() {
        let ip = "10.0.0.1".parse().unwrap();
        assert_eq!(encap_name(&[]), "plain");
        assert_eq!(
            encap_name(&[
                Tunnel::Vxlan {
                    vni: 7,
                    outer_src: ip,
                    outer_dst: ip
                },
                Tunnel::Vlan { vid: 42 }
            ]),
            "vxlan vni 7 / vlan 42"
        );
    }

    #[test]
    fn first_line_is_printable_and_short() {
        assert_eq!(
            first_line(b"GET / HTTP/1.1\r\nHost: x\r\n"),
            "GET / HTTP/1.1"
        );
        assert_eq!(first_line(b"\x16\x03\x01\x02"), "....");
        assert_eq!(first_line(&[b'a'; 300]).len(), 100);
    }
}
