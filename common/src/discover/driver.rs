//! tw-discover's driver: the stage loop (shared [`crate::pipeline`]) with the
//! inventory's files written at the end, `--against`, `diff`, and the
//! end-of-run summary.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{diff, inventory::Inventory, openapi, DiscoverConfig, Stats};
use crate::cli::{self, Summary};
use crate::io::NdjsonWriter;
use crate::pipeline::{self, Chain, ChainConfig, Control, Level};

/// The end-of-run summary line.
pub fn summary(s: &Stats) -> Summary {
    Summary::new()
        .count("transactions", s.transactions)
        .count("learned", s.learned)
        .count("endpoints", s.endpoints)
        .count("hosts", s.hosts)
        .count("attack records", s.attack_records)
        .group(
            "left out",
            [
                ("attacks", s.excluded_attacks),
                ("not_2xx", s.excluded_status),
                ("no_request", s.no_request),
                ("bad_targets", s.bad_targets),
                ("endpoints_without_2xx", s.unlearned_endpoints),
            ],
        )
        .group(
            "dropped",
            [
                ("endpoints", s.dropped_endpoints),
                ("params", s.dropped_params),
                ("schema_nodes", s.dropped_schema_nodes),
                ("prefixes", s.dropped_prefixes),
                ("attack_keys", s.dropped_attack_keys),
            ],
        )
}

/// Files and checks besides the `endpoint` records on stdout.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// Canonical inventory JSON.
    pub inventory: Option<PathBuf>,
    /// Folder for `<host>.openapi.json` (or `.yaml`).
    pub openapi: Option<PathBuf>,
    pub yaml: bool,
    /// OpenAPI spec to check the inventory against.
    pub against: Option<PathBuf>,
    /// Also write the `--against` report as JSON to this file.
    pub report: Option<PathBuf>,
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

/// Reads a user overrides file (see [`super::path::parse_overrides`]).
pub fn load_overrides(path: &Path) -> anyhow::Result<Vec<super::path::Override>> {
    super::path::parse_overrides(&read(path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Writes the OpenAPI documents of an inventory into `dir`; returns the files written.
pub fn write_openapi(inv: &Inventory, dir: &Path, yaml: bool) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut written = vec![];
    for (host, doc) in openapi::documents(inv) {
        let (text, ext) = if yaml {
            (serde_yaml_ng::to_string(&doc)?, "yaml")
        } else {
            (serde_json::to_string_pretty(&doc)? + "\n", "json")
        };
        let path = dir.join(openapi::file_name(&host, ext));
        write(&path, &text)?;
        written.push(path);
    }
    Ok(written)
}

/// Runs tw-discover: the chain up to the inventory, `endpoint` records on
/// stdout, then the files. Returns whether `--against` found differences.
pub fn run_cli(
    prog: &'static str,
    common: &cli::CommonArgs,
    input: Option<&Path>,
    chain_cfg: ChainConfig,
    cfg: DiscoverConfig,
    outputs: &Outputs,
) -> anyhow::Result<bool> {
    let spec = read_spec(outputs)?;
    let opened = crate::io::open_input(input)?;
    let ctl = Control {
        strict: common.strict,
        progress: common.progress_allowed(),
        stop: Some(cli::shutdown_flag()?),
    };
    let mut chain = Chain::new(
        Level::Inventory,
        ChainConfig {
            discover: cfg,
            ..chain_cfg
        },
    );
    let mut out = NdjsonWriter::new(std::io::stdout().lock());
    let report = pipeline::run(&mut chain, opened, &mut out, &ctl)?;
    report.print(prog, &chain, common);
    let inv = chain.inventory().context("the inventory was not built")?;
    write_outputs(prog, inv, outputs, spec)
}

/// Writes the inventory and OpenAPI files asked for, and checks the
/// inventory against a spec (`spec`, parsed from `outputs.against`); returns
/// whether they differ.
pub fn write_outputs(
    prog: &str,
    inv: &Inventory,
    outputs: &Outputs,
    spec: Option<serde_json::Value>,
) -> anyhow::Result<bool> {
    if let Some(p) = &outputs.inventory {
        write(p, &inv.to_json())?;
    }
    if let Some(dir) = &outputs.openapi {
        write_openapi(inv, dir, outputs.yaml)?;
    }
    let Some(spec) = spec else {
        return Ok(false);
    };
    let r = diff::against(inv, &spec);
    if let Some(p) = &outputs.report {
        write(p, &(serde_json::to_string_pretty(&r)? + "\n"))?;
    }
    eprint!(
        "{prog}: against {}:\n{r}",
        outputs
            .against
            .as_deref()
            .unwrap_or(Path::new(""))
            .display()
    );
    Ok(!r.is_empty())
}

/// The spec of `--against`, read before the run so a bad one fails early.
pub fn read_spec(outputs: &Outputs) -> anyhow::Result<Option<serde_json::Value>> {
    match &outputs.against {
        Some(p) => Ok(Some(
            diff::parse_spec(&read(p)?).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
        )),
        None => Ok(None),
    }
}

/// `tw-discover diff OLD NEW`: the report on stdout (text or JSON); returns
/// whether the inventories differ.
pub fn diff_cli(old: &Path, new: &Path, json: bool) -> anyhow::Result<bool> {
    let load =
        |p: &Path| Inventory::parse(&read(p)?).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()));
    let r = diff::diff(&load(old)?, &load(new)?);
    let text = if json {
        serde_json::to_string_pretty(&r)? + "\n"
    } else {
        r.to_string()
    };
    std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())
        .context("writing stdout")?;
    Ok(!r.is_empty())
}
