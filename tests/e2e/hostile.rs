//! Hostile inputs, small sizes (scripts/hostile runs them at 1 GB / 1M flows):
//! each stage that matters and `tapwatch run` exit 0, name what they cut in a
//! clear message, and still put out the ordinary connection that follows the
//! hostile part (common::hostile::MARKER_IP asking for MARKER_PATH).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::hostile::{self, Bomb, PcapDamage, MARKER_IP, MARKER_PATH};

fn bin(name: &str) -> &'static str {
    match name {
        "tw-decap" => env!("CARGO_BIN_EXE_tw-decap"),
        "tw-reassemble" => env!("CARGO_BIN_EXE_tw-reassemble"),
        "tw-http-parse" => env!("CARGO_BIN_EXE_tw-http-parse"),
        "tw-detect" => env!("CARGO_BIN_EXE_tw-detect"),
        "tw-discover" => env!("CARGO_BIN_EXE_tw-discover"),
        "tw-export" => env!("CARGO_BIN_EXE_tw-export"),
        "tapwatch" => env!("CARGO_BIN_EXE_tapwatch"),
        other => panic!("no binary {other}"),
    }
}

/// Writes an input made by `gen` to a temporary file.
fn input(name: &str, gen: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tw-hostile-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut bytes = vec![];
    gen(&mut bytes).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

struct Run {
    out: String,
    err: String,
}

/// Runs `stage ARGS -r INPUT`; asserts exit 0, no panic, and `want_err` on stderr.
fn run(stage: &str, args: &[&str], input: &PathBuf, want_err: &str) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(bin(stage))
        .args(args)
        .arg("-r")
        .arg(input)
        .stdin(Stdio::null())
        .output()
        .expect("stage runs");
    let out = String::from_utf8_lossy(&stdout).into_owned();
    let err = String::from_utf8_lossy(&stderr).into_owned();
    assert_eq!(status.code(), Some(0), "{stage} {args:?}: {err}");
    assert!(!err.contains("panicked"), "{stage}: {err}");
    assert!(
        err.contains(want_err),
        "{stage} {args:?}: stderr lacks {want_err:?}:\n{err}"
    );
    Run { out, err }
}

/// The stage, then `tapwatch run --until attack`: both name the problem and
/// put out what follows it.
fn both(stage: &str, args: &[&str], input: &PathBuf, want_err: &str, marker: &str) -> Run {
    let mut full = vec!["run", "--until", "attack"];
    full.extend_from_slice(args);
    let chain = run("tapwatch", &full, input, want_err);
    assert!(
        chain.out.contains(MARKER_PATH),
        "tapwatch run: {MARKER_PATH} missing"
    );
    assert!(
        chain.out.contains(r#""type":"attack""#),
        "tapwatch run: the trailing attack was not detected"
    );
    let r = run(stage, args, input, want_err);
    assert!(
        r.out.contains(marker),
        "{stage}: {marker} missing after the hostile part"
    );
    r
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn halfopen_flood_evicts_and_goes_on() {
    let f = input("halfopen.pcap", |w| hostile::halfopen(w, 3000));
    let r = both(
        "tw-reassemble",
        &["--max-flows", "1000"],
        &f,
        "2001 evictions",
        MARKER_IP,
    );
    assert!(r.err.contains("3001 flows"), "{}", r.err);
}

#[test]
fn slow_connections_are_all_parsed() {
    let f = input("slow.pcap", |w| hostile::slow(w, 200, 20));
    let r = both(
        "tw-http-parse",
        &[],
        &f,
        "202 transactions, 202 paired",
        MARKER_PATH,
    );
    assert_eq!(count(&r.out, r#""uri":"/slow/"#), 200);
}

#[test]
fn compression_bombs_are_capped() {
    for (kind, name) in [(Bomb::Gzip, "gzip"), (Bomb::Brotli, "br")] {
        let f = input(&format!("{name}-bomb.pcap"), |w| {
            hostile::bomb(w, kind, 8 << 20)
        });
        let args = ["--decompress-cap", "1MiB", "--body-cap", "64KiB"];
        let r = both(
            "tw-http-parse",
            &args,
            &f,
            "decompression_capped 2",
            MARKER_PATH,
        );
        let bombs: Vec<serde_json::Value> = r
            .out
            .lines()
            .filter(|l| l.contains("/upload"))
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(bombs.len(), 1, "{name}");
        for side in ["request", "response"] {
            let m = &bombs[0][side];
            assert_eq!(m["truncated"], true, "{name} {side}");
            assert!(
                m["body_len"].as_u64().unwrap() <= 1 << 20,
                "{name} {side}: {m}"
            );
        }
        assert!(r.out.contains("/after-hostile/same-conn"), "{name}");
    }
}

#[test]
fn huge_header_line_is_skipped_and_the_connection_resumes() {
    let f = input("line.pcap", |w| hostile::header_line(w, 300_000));
    let r = both("tw-http-parse", &[], &f, "header_too_large 1", MARKER_PATH);
    assert!(r.out.contains("/after-hostile/same-conn"));
    let r = run("tw-reassemble", &[], &f, "2 flows");
    assert!(r.out.contains(MARKER_IP));
}

#[test]
fn too_many_headers_are_skipped() {
    let f = input("headers.pcap", |w| hostile::many_headers(w, 2000));
    let r = both("tw-http-parse", &[], &f, "too_many_headers 1", MARKER_PATH);
    assert!(r.out.contains("/after-hostile/same-conn"));
}

#[test]
fn deeply_nested_json_passes_detect_and_discover() {
    let f = input("json.pcap", |w| hostile::json_deep(w, 20_000));
    both("tw-detect", &[], &f, "5 transactions", MARKER_PATH);
    let r = run("tw-discover", &[], &f, "5 transactions");
    assert!(r.out.contains(MARKER_PATH), "{}", r.out);
}

#[test]
fn chunk_sizes_past_u64_and_garbage_size_lines() {
    let f = input("chunked.pcap", |w| hostile::chunked(w));
    both("tw-http-parse", &[], &f, "bad_chunk_size", MARKER_PATH);
}

#[test]
fn damaged_pcaps_are_named_and_the_rest_read() {
    let cases = [
        (
            PcapDamage::Truncated,
            "record cut short: it claims 1500 bytes",
        ),
        (
            PcapDamage::CaplenOverSnaplen,
            "captured length 4294967280 exceeds",
        ),
    ];
    for (damage, msg) in cases {
        let f = input(&format!("{damage:?}.pcap"), |w| {
            w.extend(hostile::damaged_pcap(damage)?);
            Ok(())
        });
        both("tw-decap", &[], &f, msg, MARKER_IP);
    }
    // Past the cut, the file's last record is reported too.
    let f = input("Truncated.pcap", |w| {
        w.extend(hostile::damaged_pcap(PcapDamage::Truncated)?);
        Ok(())
    });
    run("tw-decap", &["-v"], &f, "record truncated");
    // A capture with garbage magic is read as NDJSON, and said so.
    let f = input("badmagic.pcap", |w| {
        w.extend(hostile::damaged_pcap(PcapDamage::BadMagic)?);
        Ok(())
    });
    run(
        "tw-decap",
        &[],
        &f,
        "starts with bytes [ef, be, ad, de], neither pcap/pcapng magic nor text",
    );
}

#[test]
fn ndjson_garbage_and_an_overlong_line() {
    // Valid http records to follow the garbage: the marker connection, parsed.
    let pcap = input("marker.pcap", |w| hostile::chunked(w));
    let valid: String = run("tw-http-parse", &["-q"], &pcap, "")
        .out
        .lines()
        .filter(|l| l.contains(MARKER_PATH))
        .map(|l| format!("{l}\n"))
        .collect();
    let f = input("garbage.ndjson", |w| {
        hostile::ndjson_garbage(w, valid.as_bytes(), 65 << 20, 100_000)
    });
    let long = "longer than the 67108864-byte limit";
    let r = run("tw-detect", &[], &f, long);
    assert!(r.err.contains("line 1: bad http record"), "{}", r.err);
    assert!(r.out.contains(r#""type":"attack""#) && r.out.contains(MARKER_PATH));
    let r = run("tw-export", &["--types", "http,attack"], &f, long);
    // tw-export does not detect: the two http records of the marker connection.
    assert_eq!(count(&r.out, MARKER_PATH), 2, "{}", r.out);
    let r = run("tapwatch", &["run", "--until", "attack"], &f, long);
    assert!(r.out.contains(r#""type":"attack""#));
}
