//! Golden-file tests, Zeek-btest style.
//!
//! Every `testdata/<case>/` holding an `input.pcap` or `input.pcapng` is run
//! through each stage of [`STAGES`] and the output compared byte for byte with
//! the expected file in the case folder:
//!
//! - a stage that reads captures runs on `-r input.pcap`;
//! - a stage that follows another is also fed the previous stage's *expected*
//!   output on stdin and must give the same result (stages are swappable);
//! - the chain check pipes all available stages together
//!   (`tw-capture -r input | tw-decap | ...`) and compares the end of the
//!   chain with the last stage's expected output.
//!
//! `GOLDEN=overwrite cargo test --test e2e golden` (or `scripts/bless`)
//! rewrites the expected files instead of comparing; review `git diff testdata/`
//! afterwards. A stage whose binary is not part of the build, or is still a stub
//! that prints no `--help`, is skipped with a note.
//!
//! Stages run with the case folder as working directory and relative paths, so
//! messages naming the input are the same on every machine.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[allow(dead_code)]
#[path = "../../examples/gen_testdata.rs"]
mod gen_testdata;

/// One pipeline stage as the golden test runs it.
struct Stage {
    /// Binary name, for messages.
    bin: &'static str,
    /// Path of the built binary (`None`: not part of this build).
    path: Option<&'static str>,
    /// Whether the stage reads the case's capture with `-r`.
    reads_capture: bool,
    /// The previous stage's expected output, fed on stdin.
    stdin_from: Option<&'static str>,
    /// Expected stdout.
    output: &'static str,
    /// Expected stderr, when the stage's summary is part of the contract.
    stderr: Option<&'static str>,
}

/// The stages in pipeline order. Adding a stage is one line.
const STAGES: &[Stage] = &[
    Stage {
        bin: "tw-capture",
        path: option_env!("CARGO_BIN_EXE_tw-capture"),
        reads_capture: true,
        stdin_from: None,
        output: "capture.ndjson",
        stderr: Some("capture.stderr"),
    },
    Stage {
        bin: "tw-decap",
        path: option_env!("CARGO_BIN_EXE_tw-decap"),
        reads_capture: true,
        stdin_from: Some("capture.ndjson"),
        output: "decap.ndjson",
        stderr: Some("decap.stderr"),
    },
    Stage {
        bin: "tw-reassemble",
        path: option_env!("CARGO_BIN_EXE_tw-reassemble"),
        reads_capture: true,
        stdin_from: Some("decap.ndjson"),
        output: "reassemble.ndjson",
        stderr: Some("reassemble.stderr"),
    },
    Stage {
        bin: "tw-http-parse",
        path: option_env!("CARGO_BIN_EXE_tw-http-parse"),
        reads_capture: true,
        stdin_from: Some("reassemble.ndjson"),
        output: "http.ndjson",
        stderr: Some("http.stderr"),
    },
    Stage {
        bin: "tw-detect",
        path: option_env!("CARGO_BIN_EXE_tw-detect"),
        reads_capture: true,
        stdin_from: Some("http.ndjson"),
        output: "detect.ndjson",
        stderr: Some("detect.stderr"),
    },
    Stage {
        bin: "tw-discover",
        path: option_env!("CARGO_BIN_EXE_tw-discover"),
        reads_capture: true,
        stdin_from: Some("detect.ndjson"),
        output: "discover.ndjson",
        stderr: Some("discover.stderr"),
    },
];

/// A stage resolved for this run.
#[derive(Clone)]
struct Runnable {
    bin: String,
    program: PathBuf,
    reads_capture: bool,
    stdin_from: Option<String>,
    output: String,
    stderr: Option<String>,
}

/// The outcome of one run of a stage.
struct Output {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// The case folders holding an input capture, sorted.
fn cases(root: &Path) -> Vec<(String, PathBuf, String)> {
    let mut out = vec![];
    let Ok(entries) = fs::read_dir(root) else {
        return out;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        for input in ["input.pcap", "input.pcapng"] {
            if dir.join(input).is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                out.push((name, dir.clone(), input.to_string()));
            }
        }
    }
    out.sort();
    out
}

/// Whether a binary is a real stage: stubs (`fn main() {}`) print no help.
fn implemented(program: &Path) -> bool {
    Command::new(program)
        .arg("--help")
        .stdin(Stdio::null())
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false)
}

/// The stages of [`STAGES`] that this build can run, with a note for each skipped one.
fn available_stages() -> Vec<Runnable> {
    let mut out = vec![];
    for s in STAGES {
        let Some(path) = s.path else {
            eprintln!("SKIP golden {}: binary not in this build", s.bin);
            continue;
        };
        if !implemented(Path::new(path)) {
            eprintln!("SKIP golden {}: stub binary (no --help output)", s.bin);
            continue;
        }
        out.push(Runnable {
            bin: s.bin.into(),
            program: path.into(),
            reads_capture: s.reads_capture,
            stdin_from: s.stdin_from.map(Into::into),
            output: s.output.into(),
            stderr: s.stderr.map(Into::into),
        });
    }
    out
}

fn command(program: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir)
        .env("CI", "1")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE");
    cmd
}

/// Runs one stage on the capture (`stdin` None) or on `stdin` bytes.
fn run(stage: &Runnable, dir: &Path, input: &str, stdin: Option<&[u8]>) -> Result<Output, String> {
    let mut cmd = command(&stage.program, dir);
    if stdin.is_none() {
        cmd.args(["-r", input]);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: cannot start: {e}", stage.bin))?;
    let writer = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().expect("piped stdin");
        let bytes = bytes.to_vec();
        std::thread::spawn(move || {
            // A stage may stop reading early; a broken pipe is its business.
            let _ = pipe.write_all(&bytes);
        })
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{}: {e}", stage.bin))?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    if !out.status.success() {
        return Err(format!(
            "{} exited with {}: {}",
            stage.bin,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        ));
    }
    Ok(Output {
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// Runs the whole chain: the first stage on the capture, each next one on the
/// previous one's stdout, all at once through pipes.
fn run_chain(chain: &[Runnable], dir: &Path, input: &str) -> Result<Vec<u8>, String> {
    let mut children = vec![];
    let mut prev_stdout: Option<std::process::ChildStdout> = None;
    for (i, stage) in chain.iter().enumerate() {
        let mut cmd = command(&stage.program, dir);
        if i == 0 {
            cmd.args(["-r", input]).stdin(Stdio::null());
        } else {
            cmd.stdin(Stdio::from(prev_stdout.take().expect("previous stdout")));
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("{}: cannot start: {e}", stage.bin))?;
        prev_stdout = child.stdout.take();
        children.push((stage.bin.clone(), child));
    }
    let mut out = vec![];
    if let Some(mut last) = prev_stdout {
        std::io::Read::read_to_end(&mut last, &mut out).map_err(|e| e.to_string())?;
    }
    for (bin, mut child) in children {
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("{bin} exited with {status} in the chain"));
        }
    }
    Ok(out)
}

fn shorten(line: &str) -> String {
    const MAX: usize = 160;
    if line.len() <= MAX {
        return line.to_string();
    }
    let mut end = MAX;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &line[..end], line.len())
}

/// A short unified-style diff from the first differing line; `None` when equal.
fn diff(expected: &[u8], actual: &[u8]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let exp = String::from_utf8_lossy(expected);
    let act = String::from_utf8_lossy(actual);
    let e: Vec<&str> = exp.split_inclusive('\n').collect();
    let a: Vec<&str> = act.split_inclusive('\n').collect();
    let first = e
        .iter()
        .zip(&a)
        .position(|(x, y)| x != y)
        .unwrap_or(e.len().min(a.len()));
    let mut out = format!(
        "first difference at line {} (expected {} lines, got {})\n--- expected\n+++ actual\n@@ -{} +{} @@\n",
        first + 1,
        e.len(),
        a.len(),
        first + 1,
        first + 1
    );
    for line in &e[first.saturating_sub(2)..first] {
        let _ = writeln!(out, " {}", shorten(line.trim_end_matches('\n')));
    }
    const SHOWN: usize = 4;
    for line in e.iter().skip(first).take(SHOWN) {
        let _ = writeln!(out, "-{}", shorten(line.trim_end_matches('\n')));
    }
    for line in a.iter().skip(first).take(SHOWN) {
        let _ = writeln!(out, "+{}", shorten(line.trim_end_matches('\n')));
    }
    let more = e.len().max(a.len()).saturating_sub(first + SHOWN);
    if more > 0 {
        let _ = writeln!(out, "... {more} more lines not shown");
    }
    Some(out)
}

/// Compares `actual` with the expected file, or writes it when overwriting.
fn check(
    case: &str,
    dir: &Path,
    file: &str,
    what: &str,
    actual: &[u8],
    overwrite: bool,
    failures: &mut Vec<String>,
) {
    let path = dir.join(file);
    if overwrite {
        if fs::read(&path).ok().as_deref() != Some(actual) {
            if let Err(e) = fs::write(&path, actual) {
                failures.push(format!("{case}/{file}: cannot write: {e}"));
            }
        }
        return;
    }
    match fs::read(&path) {
        Err(_) => failures.push(format!(
            "{case}/{file} ({what}): expected file missing: run scripts/bless"
        )),
        Ok(expected) => {
            if let Some(d) = diff(&expected, actual) {
                failures.push(format!("{case}/{file} ({what}): {d}"));
            }
        }
    }
}

/// Checks a stage's stdout, and its stderr when the stage has an expected one.
fn check_stage(
    case: &str,
    dir: &Path,
    stage: &Runnable,
    what: &str,
    out: &Output,
    overwrite: bool,
    failures: &mut Vec<String>,
) {
    check(
        case,
        dir,
        &stage.output,
        what,
        &out.stdout,
        overwrite,
        failures,
    );
    if let Some(file) = &stage.stderr {
        check(case, dir, file, what, &out.stderr, overwrite, failures);
    }
}

/// Runs every stage on one case; returns the failures.
fn run_case(
    stages: &[Runnable],
    case: &str,
    dir: &Path,
    input: &str,
    overwrite: bool,
) -> Vec<String> {
    let mut failures = vec![];
    for stage in stages {
        let mut primary: Option<Vec<u8>> = None;
        if stage.reads_capture {
            match run(stage, dir, input, None) {
                Ok(out) => {
                    let what = format!("{} -r {input}", stage.bin);
                    check_stage(case, dir, stage, &what, &out, overwrite, &mut failures);
                    primary = Some(out.stdout);
                }
                Err(e) => failures.push(format!("{case}: {e}")),
            }
        }
        let Some(prev) = &stage.stdin_from else {
            continue;
        };
        let Ok(prev_bytes) = fs::read(dir.join(prev)) else {
            // The previous stage's expected output is missing: already reported.
            continue;
        };
        let what = format!("{} < {prev}", stage.bin);
        match run(stage, dir, input, Some(&prev_bytes)) {
            Ok(out) => match &primary {
                // Same stage, two inputs: the outputs must agree.
                Some(from_capture) => {
                    if let Some(d) = diff(from_capture, &out.stdout) {
                        failures.push(format!(
                            "{case}: {} -r {input} and {what} disagree: {d}",
                            stage.bin
                        ));
                    }
                }
                None => {
                    check_stage(case, dir, stage, &what, &out, overwrite, &mut failures);
                }
            },
            Err(e) => failures.push(format!("{case}: {e}")),
        }
    }
    // The chain: consecutive stages from one that reads the capture.
    if stages.len() >= 2 && stages[0].reads_capture {
        let last = &stages[stages.len() - 1];
        match run_chain(stages, dir, input) {
            Ok(out) => {
                let names: Vec<&str> = stages.iter().map(|s| s.bin.as_str()).collect();
                let what = format!("chain {}", names.join(" | "));
                if overwrite {
                    // The stage-by-stage files were just written; the chain must agree.
                    if let Ok(expected) = fs::read(dir.join(&last.output)) {
                        if let Some(d) = diff(&expected, &out) {
                            failures.push(format!("{case}/{} ({what}): {d}", last.output));
                        }
                    }
                } else {
                    check(case, dir, &last.output, &what, &out, false, &mut failures);
                }
            }
            Err(e) => failures.push(format!("{case}: {e}")),
        }
    }
    failures
}

fn overwrite_requested() -> bool {
    std::env::var("GOLDEN").is_ok_and(|v| v == "overwrite")
}

#[test]
fn golden_stage_outputs() {
    let stages = available_stages();
    if stages.is_empty() {
        eprintln!("SKIP golden: no stage binary is implemented yet");
        return;
    }
    let overwrite = overwrite_requested();
    let root = testdata();
    let all = cases(&root);
    assert!(!all.is_empty(), "no cases under {}", root.display());
    let mut failures = vec![];
    for (case, dir, input) in &all {
        failures.extend(run_case(&stages, case, dir, input, overwrite));
    }
    assert!(
        failures.is_empty(),
        "{} golden failure(s):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `testdata/` holds exactly what the generator produces now.
#[test]
fn golden_inputs_match_the_generator() {
    let root = testdata();
    let mut stale = vec![];
    for case in gen_testdata::cases() {
        let dir = root.join(case.name);
        for (file, want) in [
            (case.file, case.bytes.as_slice()),
            ("README.md", case.readme.as_bytes()),
        ] {
            if fs::read(dir.join(file)).ok().as_deref() != Some(want) {
                stale.push(format!("testdata/{}/{file}", case.name));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing (run scripts/gen-testdata): {stale:?}"
    );
    // Each case's README states what the capture reader finds.
    for case in gen_testdata::cases() {
        let opened = common::io::open_input(Some(&root.join(case.name).join(case.file)))
            .expect("capture opens");
        let common::io::Input::Capture(mut reader) = opened.input else {
            panic!("{}: not a capture", case.name);
        };
        let (mut frames, mut errors) = (0, vec![]);
        while let Some(frame) = reader.next_frame() {
            match frame {
                Ok(_) => frames += 1,
                Err(e) => errors.push(e.to_string()),
            }
        }
        let claims: Vec<String> = match case.name {
            "bad-truncated" => vec![
                format!("the first {frames} frames, then a warning naming packet {frames}"),
                format!("packet {frames} (byte 1445): record truncated"),
            ],
            "bad-caplen" => vec![
                format!("all {frames} real frames; one warning naming packet 7"),
                "packet 7 (byte 776): captured length 3000000000".into(),
            ],
            _ => vec![format!("`tw-capture`: {frames} `frame` records")],
        };
        let text = format!("{}\n{}", case.readme, errors.join("\n"));
        for claim in claims {
            assert!(
                text.contains(&claim),
                "{}: want {claim:?} in\n{text}",
                case.name
            );
        }
        assert_eq!(
            errors.len(),
            usize::from(case.http_requests.is_none()),
            "{}: {errors:?}",
            case.name
        );
    }
    // Deterministic: a second generation gives the same bytes.
    let again: Vec<Vec<u8>> = gen_testdata::cases().into_iter().map(|c| c.bytes).collect();
    let first: Vec<Vec<u8>> = gen_testdata::cases().into_iter().map(|c| c.bytes).collect();
    assert!(again == first, "the generator is not deterministic");
}

/// Every well-formed case decodes with tshark, checksums verified, showing its HTTP requests.
#[test]
fn golden_inputs_decode_with_tshark() {
    if Command::new("tshark").arg("--version").output().is_err() {
        eprintln!("SKIP golden tshark check: tshark not found");
        return;
    }
    let root = testdata();
    let mut failures = vec![];
    for case in gen_testdata::cases() {
        let Some(want) = case.http_requests else {
            continue;
        };
        let file = root.join(case.name).join(case.file);
        let out = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&file)
            .args(case.tshark_args)
            .args(["-o", "ip.check_checksum:TRUE"])
            .args(["-o", "tcp.check_checksum:TRUE"])
            .args(["-o", "udp.check_checksum:TRUE"])
            .args(["-T", "fields", "-e", "http.request"])
            .args(["-e", "_ws.expert.severity", "-e", "_ws.malformed"])
            .output()
            .expect("tshark runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut requests = 0;
        for (i, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split('\t').collect();
            if fields.first().is_some_and(|f| !f.is_empty()) {
                requests += 1;
            }
            // Warnings and errors (bad checksums, malformed packets) have
            // severity 0x00600000 (warning) or more; notes and chats are fine.
            let severe = fields
                .get(1)
                .unwrap_or(&"")
                .split(',')
                .any(|s| s.parse::<u32>().is_ok_and(|s| s >= 0x0060_0000));
            let malformed = fields.get(2).is_some_and(|f| !f.is_empty());
            // Cases that lose segments or break HTTP rules on purpose draw
            // tshark's warnings; only their request count is checked.
            if (severe || malformed) && !case.tshark_warnings {
                failures.push(format!(
                    "{}: tshark flags frame {}: {line}",
                    case.name,
                    i + 1
                ));
            }
        }
        if requests != want {
            failures.push(format!(
                "{}: tshark sees {requests} HTTP requests, want {want}",
                case.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The harness itself, on a fake two-stage pipeline made of shell scripts.
#[test]
fn golden_harness_self_test() {
    let tmp = std::env::temp_dir().join(format!("tw-golden-self-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let case = tmp.join("case");
    fs::create_dir_all(&case).unwrap();
    fs::write(case.join("input.pcap"), "alpha\nbeta\n").unwrap();
    let script = |name: &str, body: &str| -> PathBuf {
        let p = tmp.join(name);
        fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        p
    };
    // "capture" copies its input; "upper" upper-cases and reports a line count.
    let cat = script(
        "cat-stage",
        r#"if [ "$1" = -r ]; then cat "$2"; else cat; fi"#,
    );
    let upper = script(
        "upper-stage",
        r#"if [ "$1" = -r ]; then in="$2"; else in=-; fi
out=$(cat "$in" | tr a-z A-Z); printf '%s\n' "$out"; echo "summary: $(printf '%s\n' "$out" | wc -l | tr -d ' ') lines" >&2"#,
    );
    let stages = vec![
        Runnable {
            bin: "cat-stage".into(),
            program: cat,
            reads_capture: true,
            stdin_from: None,
            output: "one.ndjson".into(),
            stderr: None,
        },
        Runnable {
            bin: "upper-stage".into(),
            program: upper,
            reads_capture: true,
            stdin_from: Some("one.ndjson".into()),
            output: "two.ndjson".into(),
            stderr: Some("two.stderr".into()),
        },
    ];
    let go = |overwrite| run_case(&stages, "case", &case, "input.pcap", overwrite);

    // Nothing blessed yet: every expected file is reported missing.
    let f = go(false);
    assert!(
        f.iter()
            .any(|m| m.contains("case/one.ndjson") && m.contains("run scripts/bless")),
        "{f:?}"
    );
    assert!(f.iter().any(|m| m.contains("case/two.stderr")), "{f:?}");

    // Blessing writes them; then everything passes.
    assert_eq!(go(true), Vec::<String>::new());
    assert_eq!(
        fs::read_to_string(case.join("two.ndjson")).unwrap(),
        "ALPHA\nBETA\n"
    );
    assert_eq!(
        fs::read_to_string(case.join("two.stderr")).unwrap(),
        "summary: 2 lines\n"
    );
    assert_eq!(go(false), Vec::<String>::new());

    // A changed expected file fails with the case, file, stage and line.
    fs::write(case.join("two.ndjson"), "ALPHA\nGAMMA\n").unwrap();
    let f = go(false);
    let msg = f
        .iter()
        .find(|m| m.starts_with("case/two.ndjson (upper-stage -r input.pcap)"))
        .unwrap_or_else(|| panic!("{f:?}"));
    assert!(msg.contains("first difference at line 2"), "{msg}");
    assert!(msg.contains("-GAMMA\n+BETA"), "{msg}");
    // The chain (cat | upper) is compared too.
    assert!(
        f.iter()
            .any(|m| m.contains("chain cat-stage | upper-stage")),
        "{f:?}"
    );

    // A stage that disagrees with itself across inputs is caught: make the
    // blessed first-stage output differ from what the capture gives.
    go(true);
    fs::write(case.join("one.ndjson"), "alpha\n").unwrap();
    let f = go(false);
    assert!(
        f.iter()
            .any(|m| m.contains("upper-stage -r input.pcap and upper-stage < one.ndjson disagree")),
        "{f:?}"
    );
    let _ = fs::remove_dir_all(&tmp);
}

#[test]
fn golden_diff_is_short_and_names_the_line() {
    assert_eq!(diff(b"a\nb\n", b"a\nb\n"), None);
    let d = diff(b"1\n2\n3\n4\n", b"1\n2\nx\n4\n").unwrap();
    assert!(
        d.starts_with("first difference at line 3 (expected 4 lines, got 4)"),
        "{d}"
    );
    assert!(d.contains(" 1\n 2\n-3\n-4\n+x\n+4\n"), "{d}");
    let d = diff(b"1\n", b"1\n2\n").unwrap();
    assert!(d.contains("line 2") && d.contains("+2"), "{d}");
    let long = "y".repeat(500);
    let d = diff(b"", long.as_bytes()).unwrap();
    assert!(d.contains("... (500 bytes)"), "{d}");
}
