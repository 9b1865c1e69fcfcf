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
