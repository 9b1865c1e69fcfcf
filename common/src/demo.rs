//! `tapwatch demo`: a human summary of what the stages found in a capture.
//!
//! The chain runs to detection; [`Digest`] consumes its records in process (no
//! JSON in between): bounded tallies of transactions by method, status,
//! server and encapsulation, parser anomalies, attacks by class and outcome,
//! vulnerabilities, and an API inventory built by the same [`Discoverer`] as
//! `tw-discover` (attacked transactions left out). [`Digest::render`] prints
//! them beside the decap and reassembly counters.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::decap::{DecapStats, ReasonGroup};
use crate::discover::{DiscoverConfig, Discoverer};
use crate::pipeline::{self, Chain, ChainConfig, Control, Level};
use crate::reassemble::Stats;
use crate::record::{Attack, Endpoint, Http, Record, Tunnel, Vuln};

/// How many transactions the digest lists one by one.
const SHOWN: usize = 12;
/// How many distinct keys each tally holds; further new keys are not counted.
const MAX_KEYS: usize = 1024;

/// Tallies of a run's transactions and findings.
pub struct Digest {
    transactions: u64,
    paired: u64,
    methods: BTreeMap<String, u64>,
    statuses: BTreeMap<String, u64>,
    servers: BTreeMap<String, u64>,
    /// By tunnel stack, e.g. `vxlan vni 7 / vlan 42` or `plain`.
    encaps: BTreeMap<String, u64>,
    anomalies: BTreeMap<String, u64>,
    /// The first transactions, as `METHOD uri -> status`.
    shown: Vec<String>,
    /// Attacks by `class (outcome)`.
    attacks: BTreeMap<String, u64>,
    /// The first attacks, one line each.
    attacks_shown: Vec<String>,
    /// Vulnerabilities, one line each (the detector reports each once per host, endpoint and check).
    vulns: Vec<String>,
    vulns_total: u64,
    inventory: Discoverer,
    endpoints: Vec<Endpoint>,
}

impl Default for Digest {
    fn default() -> Self {
        Digest {
            transactions: 0,
            paired: 0,
            methods: BTreeMap::new(),
            statuses: BTreeMap::new(),
            servers: BTreeMap::new(),
            encaps: BTreeMap::new(),
            anomalies: BTreeMap::new(),
            shown: vec![],
            attacks: BTreeMap::new(),
            attacks_shown: vec![],
            vulns: vec![],
            vulns_total: 0,
            inventory: Discoverer::new(DiscoverConfig::default()),
            endpoints: vec![],
        }
    }
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

    /// Takes one transaction into the tallies.
    pub fn add(&mut self, h: &Http) {
        self.transactions += 1;
        self.paired += u64::from(h.request.is_some() && h.response.is_some());
        bump(&mut self.servers, &h.server);
        bump(&mut self.encaps, &encap_name(&h.tunnel));
        for a in &h.anomalies {
            bump(&mut self.anomalies, a);
        }
        let status = h
            .response
            .as_ref()
            .map_or("no response".to_string(), |r| r.status.to_string());
        bump(&mut self.statuses, &status);
        let Some(req) = &h.request else { return };
        bump(&mut self.methods, &req.method);
        if self.shown.len() < SHOWN {
            self.shown.push(format!(
                "{} {} -> {status}",
                req.method,
                printable(&req.uri, 90)
            ));
        }
    }

    fn add_attack(&mut self, a: &Attack) {
        let classes: Vec<&str> = a.hits.iter().map(|h| h.class.as_str()).collect();
        let outcome = a.outcome.as_deref().unwrap_or("unknown");
        for class in &classes {
            bump(&mut self.attacks, &format!("{class} ({outcome})"));
        }
        if self.attacks_shown.len() < SHOWN {
            let status = a.status.map_or("-".to_string(), |s| s.to_string());
            self.attacks_shown.push(format!(
                "{:<18} {} {} -> {status} {outcome}  from {}",
                classes.join(","),
                a.method,
                printable(&a.uri, 60),
                a.real_ip
            ));
        }
        self.inventory.push_attack(a);
    }

    fn add_vuln(&mut self, v: &Vuln) {
        self.vulns_total += 1;
        if self.vulns.len() < SHOWN {
            self.vulns.push(format!(
                "{:<8} {:<26} {} {}",
                v.severity,
                v.class,
                v.method,
                printable(&v.path, 60)
            ));
        }
    }

    /// End of the run: the inventory is built.
    fn finish(&mut self) {
        let endpoints = &mut self.endpoints;
        self.inventory.finish(&mut |r| {
            if let Record::Endpoint(e) = r {
                endpoints.push(e);
            }
        });
    }

    /// The report for a person.
    pub fn render(&self, input: &str, decap: &DecapStats, reassemble: Option<&Stats>) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "tapwatch demo: {input}\n");
        let _ = writeln!(
            o,
            "Decoded      {} frames into {} TCP segments",
            decap.frames, decap.packets
        );
        let skipped = decap
            .group(ReasonGroup::Skipped)
            .into_iter()
            .chain(decap.group(ReasonGroup::Malformed));
        let skipped = join(skipped);
        if !skipped.is_empty() {
            let _ = writeln!(o, "             not TCP or not decodable: {skipped}");
        }
        if let Some(r) = reassemble {
            let _ = writeln!(
                o,
                "Connections  {} ({} picked up mid-stream), {} bytes in order, {} gaps, {} duplicate segments dropped",
                r.flows, r.midstream, r.data_bytes, r.gaps, r.duplicates
            );
        }
        let _ = writeln!(
            o,
            "HTTP         {} transactions ({} with request and response)",
            self.transactions, self.paired
        );
        let _ = writeln!(
            o,
            "  methods    {}",
            join(self.methods.iter().map(|(k, n)| (k.as_str(), *n)))
        );
        let _ = writeln!(
            o,
            "  statuses   {}",
            join(self.statuses.iter().map(|(k, n)| (k.as_str(), *n)))
        );
        if !self.anomalies.is_empty() {
            let _ = writeln!(
                o,
                "  anomalies  {}",
                join(self.anomalies.iter().map(|(k, n)| (k.as_str(), *n)))
            );
        }
        for (title, tally, rows) in [
            ("Encapsulation (transactions)", &self.encaps, 10),
            ("Servers (transactions)", &self.servers, 10),
        ] {
            let _ = writeln!(o, "\n{title}");
            for (name, n) in top(tally, rows) {
                let _ = writeln!(o, "  {n:>6}  {name}");
            }
        }
        let _ = writeln!(
            o,
            "\nAttacks      {}",
            join(self.attacks.iter().map(|(k, n)| (k.as_str(), *n)))
        );
        for line in &self.attacks_shown {
            let _ = writeln!(o, "  {line}");
        }
        let _ = writeln!(o, "\nVulnerabilities ({})", self.vulns_total);
        for line in &self.vulns {
            let _ = writeln!(o, "  {line}");
        }
        let _ = writeln!(
            o,
            "\nAPI inventory ({} endpoints, attacked transactions left out; top 10 by calls)",
            self.endpoints.len()
        );
        let mut eps: Vec<&Endpoint> = self.endpoints.iter().collect();
        eps.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then((&a.host, &a.path, &a.method).cmp(&(&b.host, &b.path, &b.method)))
        });
        for e in eps.iter().take(10) {
            let sensitive = if e.sensitive.is_empty() {
                String::new()
            } else {
                format!("  sensitive: {}", e.sensitive.join(", "))
            };
            let _ = writeln!(
                o,
                "  {:>6}  {:<6} {}{}{sensitive}",
                e.count,
                e.method,
                printable(&e.host, 40),
                printable(&e.path, 60)
            );
        }
        let _ = writeln!(o, "\nFirst transactions");
        for line in &self.shown {
            let _ = writeln!(o, "  {line}");
        }
        o
    }
}

impl pipeline::Output for Digest {
    fn record(&mut self, rec: &Record<'_>) -> std::io::Result<()> {
        match rec {
            Record::Http(h) => {
                self.add(h);
                self.inventory.push_http(h.clone());
            }
            Record::Attack(a) => self.add_attack(a),
            Record::Vuln(v) => self.add_vuln(v),
            _ => {}
        }
        Ok(())
    }

    fn raw(&mut self, _line: &[u8]) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs every stage on a capture and renders the digest.
pub fn run(input: &std::path::Path, cfg: ChainConfig) -> anyhow::Result<String> {
    let opened = crate::io::open_input(Some(input))?;
    let name = opened.name.clone();
    let mut chain = Chain::new(Level::Detect, cfg);
    let mut digest = Digest::new();
    let report = pipeline::run(&mut chain, opened, &mut digest, &Control::default())?;
    digest.finish();
    let mut text = digest.render(&name, chain.decap_stats(), chain.reassemble_stats());
    if report.bad.total() > 0 {
        let _ = writeln!(text, "\nBad input skipped: {}", report.bad.total());
    }
    Ok(text)
}

/// The `rows` largest entries, ties by name.
fn top(tally: &BTreeMap<String, u64>, rows: usize) -> Vec<(&str, u64)> {
    let mut v: Vec<_> = tally.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.truncate(rows);
    v
}

/// `name n, name n, ...`
fn join<K: AsRef<str>>(items: impl Iterator<Item = (K, u64)>) -> String {
    items
        .map(|(k, n)| format!("{} {n}", k.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Text with control characters shown as `.`, at most `max` characters.
fn printable(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c.is_control() { '.' } else { c })
        .collect()
}

/// Counts `key` in a bounded tally.
fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    if let Some(n) = map.get_mut(key) {
        *n += 1;
    } else if map.len() < MAX_KEYS {
        map.insert(key.to_string(), 1);
    }
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
    fn tallies_are_bounded_and_text_printable() {
        let mut m = BTreeMap::new();
        for i in 0..MAX_KEYS + 10 {
            bump(&mut m, &i.to_string());
        }
        bump(&mut m, "0");
        assert_eq!(m.len(), MAX_KEYS);
        assert_eq!(m["0"], 2);
        assert_eq!(printable("a\r\nb", 10), "a..b");
        assert_eq!(top(&m, 1), vec![("0", 2)]);
    }
}
