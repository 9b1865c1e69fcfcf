//! The deploy kits in deploy/: every tapwatch command line in them (systemd
//! ExecStart, the container's ENTRYPOINT+CMD, the DaemonSet's command+args and
//! its ConfigMap, the AWS guide's command, deploy/tapwatch.yaml) goes through
//! `tapwatch config check`, which expands the config and parses the result
//! with the real flags of `tapwatch run`: a renamed flag breaks this test.
//! Plus `systemd-analyze verify` and structural checks of the manifests.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The config path the kits use, mapped to the file in the repository.
const KIT_CONFIG: &str = "/etc/tapwatch/tapwatch.yaml";

/// Splits a shell-ish command line: whitespace, single and double quotes.
fn split_words(line: &str) -> Vec<String> {
    let mut words = vec![];
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Runs `tapwatch config check -- ARGS` (ARGS: the words after `run`), with
/// the kit's config path mapped to `config`. Ok(the expanded line) or Err(stderr).
pub fn check_run_args(what: &str, args: &[String], config: &Path) -> Result<String, String> {
    assert_eq!(
        args.first().map(String::as_str),
        Some("run"),
        "{what}: {args:?}"
    );
    let mapped: Vec<String> = args[1..]
        .iter()
        .map(|a| {
            if a == KIT_CONFIG {
                config.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["config", "check", "--"])
        .args(&mapped)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Asserts a check passed.
pub fn assert_checks(what: &str, result: Result<String, String>) {
    match result {
        Ok(line) => assert!(line.starts_with("tapwatch run"), "{what}: {line}"),
        Err(e) => panic!("{what}: tapwatch config check rejects it:\n{e}"),
    }
}

#[test]
fn example_config_checks() {
    let config = root().join("deploy/tapwatch.yaml");
    assert_checks(
        "deploy/tapwatch.yaml",
        check_run_args(
            "deploy/tapwatch.yaml",
            &["run".into(), "--config".into(), KIT_CONFIG.into()],
            &config,
        ),
    );
}

#[test]
fn systemd_exec_start_checks() {
    let unit = read("deploy/systemd/tapwatch.service");
    let exec: Vec<&str> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .collect();
    assert_eq!(exec.len(), 1, "one ExecStart");
    let words = split_words(exec[0]);
    assert!(words[0].ends_with("/tapwatch"), "{words:?}");
    assert_checks(
        "systemd ExecStart",
        check_run_args(
            "systemd ExecStart",
            &words[1..],
            &root().join("deploy/tapwatch.yaml"),
        ),
    );
    for want in [
        "ProtectSystem=strict",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN",
    ] {
        assert!(unit.contains(want), "unit lacks {want}");
    }
    assert!(
        unit.contains("DynamicUser=yes") || unit.lines().any(|l| l.starts_with("User=")),
        "unit runs as a dedicated user"
    );
}

#[test]
fn systemd_unit_verifies() {
    let Ok(probe) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIP systemd-analyze verify: systemd-analyze not installed");
        return;
    };
    assert!(probe.status.success());
    // verify checks that ExecStart's binary exists: point it at the built one.
    let dir = std::env::temp_dir().join(format!("tw-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unit = read("deploy/systemd/tapwatch.service")
        .replace("/usr/local/bin/tapwatch", env!("CARGO_BIN_EXE_tapwatch"));
    let path = dir.join("tapwatch.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    // Outside a booted systemd (containers, CI) verify still parses the unit
    // but cannot load the default dependencies: only those lines are allowed.
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !is_environment_noise(l))
        .collect();
    assert!(
        complaints.is_empty(),
        "systemd-analyze verify:\n{}",
        complaints.join("\n")
    );
}

/// systemd-analyze lines about the machine, not the unit.
fn is_environment_noise(line: &str) -> bool {
    [
        "Failed to connect to bus",
        "System has not been booted with systemd",
        "Failed to open /dev/tty",
        "Failed to load unit file",
        "Cannot add dependency job",
        "running in chroot",
        "/etc/systemd/system",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
    ]
    .iter()
    .any(|n| line.contains(n))
}

/// The JSON array of a Containerfile instruction (`CMD ["run", ...]`).
fn exec_form(file: &str, instruction: &str) -> Vec<String> {
    let line = file
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(&format!("{instruction} ")))
        .unwrap_or_else(|| panic!("no {instruction}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{instruction} {line}: {e}"))
}

#[test]
fn container_file_builds_a_non_root_image_whose_command_checks() {
    let file = read("deploy/container/Containerfile");
    let froms: Vec<&str> = file.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "multi-stage: builder and runtime");
    assert!(
        froms[0].contains("rust") && froms[0].contains(" AS build"),
        "{}",
        froms[0]
    );
    assert!(
        froms[1].contains("debian") && froms[1].contains("slim"),
        "{}",
        froms[1]
    );
    assert!(file.contains("libpcap-dev") && file.contains("libpcap0.8"));
    let user = file
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    assert!(user != "root" && user != "0", "runs as {user}");
    let mut words = exec_form(&file, "ENTRYPOINT");
    assert_eq!(words, ["tapwatch"]);
    words = exec_form(&file, "CMD");
    assert!(file.contains("COPY deploy/tapwatch.yaml /etc/tapwatch/tapwatch.yaml"));
    assert_checks(
        "Containerfile CMD",
        check_run_args(
            "Containerfile CMD",
            &words,
            &root().join("deploy/tapwatch.yaml"),
        ),
    );
    // The exposed metrics port is the config's.
    let config = read("deploy/tapwatch.yaml");
    let port = metrics_port(&config).expect("deploy/tapwatch.yaml sets metrics");
    assert!(file.contains(&format!("{port}/tcp")), "EXPOSE {port}/tcp");
}

/// The port of the `metrics:` key of a tapwatch config.
fn metrics_port(config: &str) -> Option<u16> {
    config
        .lines()
        .find_map(|l| l.trim().strip_prefix("metrics:"))
        .and_then(|v| v.trim().rsplit(':').next()?.parse().ok())
}

fn docs() -> Vec<serde_yaml_ng::Value> {
    let text = read("deploy/k8s/daemonset.yaml");
    text.split("\n---\n")
        .map(|d| serde_yaml_ng::from_str(d).expect("valid YAML"))
        .collect()
}

fn get<'a>(v: &'a serde_yaml_ng::Value, path: &str) -> &'a serde_yaml_ng::Value {
    let mut cur = v;
    for key in path.split('.') {
        cur = match key.parse::<usize>() {
            Ok(i) => cur.get(i),
            Err(_) => cur.get(key),
        }
        .unwrap_or_else(|| panic!("no {path} (at {key})"));
    }
    cur
}

fn s<'a>(v: &'a serde_yaml_ng::Value, path: &str) -> &'a str {
    get(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string"))
}

#[test]
fn daemonset_structure_and_command_check() {
    let docs = docs();
    let kind = |k: &str| {
        docs.iter()
            .find(|d| d.get("kind").and_then(|v| v.as_str()) == Some(k))
            .unwrap_or_else(|| panic!("no {k}"))
    };
    let ds = kind("DaemonSet");
    let cm = kind("ConfigMap");
    assert_eq!(s(ds, "apiVersion"), "apps/v1");
    assert_eq!(s(cm, "apiVersion"), "v1");
    assert_eq!(s(ds, "metadata.namespace"), s(cm, "metadata.namespace"));
    assert_eq!(
        get(ds, "spec.selector.matchLabels"),
        get(ds, "spec.template.metadata.labels"),
        "selector matches the pod labels"
    );
    let pod = get(ds, "spec.template.spec");
    assert_eq!(get(pod, "hostNetwork").as_bool(), Some(true));
    let c = get(pod, "containers.0");
    let caps: Vec<&str> = get(c, "securityContext.capabilities.add")
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for cap in ["NET_RAW", "NET_ADMIN"] {
        assert!(caps.contains(&cap), "capabilities.add lacks {cap}");
    }
    assert!(get(c, "resources.limits.cpu").as_str().is_some());
    assert!(get(c, "resources.limits.memory").as_str().is_some());
    // Probes hit /health on the port the config's `metrics` listens on.
    let config = get(cm, "data")
        .get("tapwatch.yaml")
        .and_then(|v| v.as_str())
        .expect("ConfigMap data has tapwatch.yaml");
    let port = metrics_port(config).expect("ConfigMap config sets metrics");
    let ports = get(c, "ports").as_sequence().unwrap();
    let metrics = ports
        .iter()
        .find(|p| get(p, "containerPort").as_u64() == Some(u64::from(port)))
        .expect("a container port for metrics");
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(s(c, &format!("{probe}.httpGet.path")), "/health");
        let p = get(c, &format!("{probe}.httpGet.port"));
        assert!(
            p.as_u64() == Some(u64::from(port)) || p.as_str() == Some(s(metrics, "name")),
            "{probe} port {p:?} is not the metrics port {port}"
        );
    }
    // The config comes from the ConfigMap, mounted where --config points.
    let mount = get(c, "volumeMounts")
        .as_sequence()
        .unwrap()
        .iter()
        .find(|m| s(m, "mountPath") == "/etc/tapwatch")
        .expect("config mounted at /etc/tapwatch");
    let volume = get(pod, "volumes")
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| s(v, "name") == s(mount, "name"))
        .unwrap();
    assert_eq!(s(volume, "configMap.name"), s(cm, "metadata.name"));
    let mut words: Vec<String> = get(c, "command")
        .as_sequence()
        .unwrap()
        .iter()
        .chain(get(c, "args").as_sequence().unwrap())
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(words.remove(0), "tapwatch");
    let dir = std::env::temp_dir().join(format!("tw-k8s-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tapwatch.yaml");
    std::fs::write(&path, config).unwrap();
    let result = check_run_args("DaemonSet args + ConfigMap", &words, &path);
    let _ = std::fs::remove_dir_all(&dir);
    assert_checks("DaemonSet args + ConfigMap", result);
}

#[test]
fn aws_guide_command_checks() {
    let guide = read("deploy/aws/README.md");
    let commands: Vec<&str> = guide
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("tapwatch run "))
        .collect();
    assert!(!commands.is_empty(), "the guide shows the command");
    for cmd in commands {
        let words = split_words(cmd);
        assert!(words.contains(&"--vxlan-listen".to_string()), "{cmd}");
        // The NLB health check port is the --metrics port.
        let metrics = words
            .iter()
            .position(|w| w == "--metrics")
            .and_then(|i| words.get(i + 1))
            .expect("--metrics");
        let port = metrics.rsplit(':').next().unwrap();
        assert!(
            guide.contains(&format!("port **{port}**")),
            "health check port {port}"
        );
        assert_checks(
            "AWS guide",
            check_run_args("AWS guide", &words[1..], Path::new(KIT_CONFIG)),
        );
    }
}

#[test]
fn split_words_handles_quotes() {
    assert_eq!(
        split_words(r#"run --bpf 'tcp port 80' --sink "file:/x y" ''"#),
        ["run", "--bpf", "tcp port 80", "--sink", "file:/x y", ""]
    );
}
