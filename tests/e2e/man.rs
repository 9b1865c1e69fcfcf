//! Man pages in man/ are generated from the clap definitions (the binaries print
//! them when `TAPWATCH_PRINT_MAN` is set). This fails when a checked-in page
//! drifts from `--help`; `scripts/gen-man` (GOLDEN=overwrite) regenerates them.

use std::path::Path;
use std::process::Command;

/// Every binary with its path, as cargo built it for this test.
pub const BINARIES: &[(&str, &str)] = &[
    ("tw-capture", env!("CARGO_BIN_EXE_tw-capture")),
    ("tw-decap", env!("CARGO_BIN_EXE_tw-decap")),
    ("tw-reassemble", env!("CARGO_BIN_EXE_tw-reassemble")),
    ("tw-http-parse", env!("CARGO_BIN_EXE_tw-http-parse")),
    ("tw-detect", env!("CARGO_BIN_EXE_tw-detect")),
    ("tw-discover", env!("CARGO_BIN_EXE_tw-discover")),
    ("tw-export", env!("CARGO_BIN_EXE_tw-export")),
    ("tw-ingest", env!("CARGO_BIN_EXE_tw-ingest")),
    ("tapwatch", env!("CARGO_BIN_EXE_tapwatch")),
];

#[test]
fn man_pages_match_clap_definitions() {
    let overwrite = std::env::var("GOLDEN").is_ok_and(|v| v == "overwrite");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let mut drifted = vec![];
    for (name, exe) in BINARIES {
        let out = Command::new(exe)
            .env("TAPWATCH_PRINT_MAN", "1")
            .output()
            .expect("run binary");
        assert!(
            out.status.success(),
            "{name}: printing the man page failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let page = String::from_utf8(out.stdout).expect("man page is UTF-8");
        assert!(page.contains(".TH"), "{name}: not a roff page");
        let path = dir.join(format!("{name}.1"));
        if overwrite {
            std::fs::write(&path, &page).expect("write man page");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(page.as_str()) {
            drifted.push(path.display().to_string());
        }
    }
    assert!(
        drifted.is_empty(),
        "man pages drifted from the clap definitions: {drifted:?}; run scripts/gen-man"
    );
}

#[test]
fn every_binary_has_help_with_examples() {
    for (name, exe) in BINARIES {
        let out = Command::new(exe)
            .arg("--help")
            .output()
            .expect("run binary");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name} --help failed");
        assert!(
            help.contains("Examples:"),
            "{name} --help shows no examples:\n{help}"
        );
    }
}
