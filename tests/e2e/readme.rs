//! The README opens with the two commands a newcomer runs; CI must run the
//! second one verbatim.

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The first two shell commands of the README (lines inside the first code blocks).
fn first_two_commands() -> Vec<String> {
    let readme = read("README.md");
    let mut commands = vec![];
    let mut in_block = false;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            commands.push(line.trim().to_string());
        }
        if commands.len() == 2 {
            break;
        }
    }
    commands
}

#[test]
fn ci_runs_the_readme_test_command() {
    let commands = first_two_commands();
    assert_eq!(commands.len(), 2, "README must open with two commands");
    assert!(
        commands[0].contains("demo"),
        "first command runs the demo: {}",
        commands[0]
    );
    assert!(
        commands[1].contains("cargo test"),
        "second command runs the tests: {}",
        commands[1]
    );
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == commands[1]),
        ".ci/run does not run the README test command {:?}",
        commands[1]
    );
}

/// The commands of the first `sh` block under "Pipeline cookbook".
fn cookbook() -> Vec<String> {
    let readme = read("README.md");
    let section = readme
        .split("## Pipeline cookbook")
        .nth(1)
        .expect("README has a Pipeline cookbook section");
    let block = section
        .split("```sh")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a sh block");
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

#[test]
fn cookbook_commands_run_on_the_sample() {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_tw-decap"))
        .parent()
        .expect("binary directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let commands = cookbook();
    assert!(commands.len() >= 4, "{commands:?}");
    for cmd in commands {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("PATH", &path)
            .output()
            .expect("sh runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{cmd}\n{stderr}");
        assert!(
            !stdout.trim().is_empty(),
            "{cmd}: printed nothing\n{stderr}"
        );
        assert!(
            !stderr.contains(": error:") && !stderr.contains("panicked"),
            "{cmd}\n{stderr}"
        );
    }
}
