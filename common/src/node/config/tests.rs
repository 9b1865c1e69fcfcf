//! Config expansion against a `tapwatch run` with the flags the brief lists
//! (the lead's runner will have them; the test must not wait for it).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::CommandFactory;

use super::*;
use crate::args::{DecapArgs, DetectArgs, ExportArgs, HttpArgs, ReassembleArgs};
use crate::capture::filter_spec::FilterSpec;
use crate::cli::CommonArgs;
use crate::pipeline::Level;

#[derive(Debug, clap::Parser)]
#[command(name = "tapwatch")]
struct Args {
    #[command(subcommand)]
    command: Cmd,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    Run(Box<Run>),
    Demo,
}

#[derive(Debug, clap::Args)]
struct Run {
    /// Read flags from this YAML file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Read a file.
    #[arg(short = 'r', long = "read")]
    read: Vec<PathBuf>,
    /// Capture on an interface.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    interface: Vec<String>,
    /// IFACE:PORT.
    #[arg(long = "filter")]
    filter: Vec<FilterSpec>,
    /// BPF.
    #[arg(short = 'f', long = "bpf")]
    bpf: Option<String>,
    /// Snaplen.
    #[arg(long, default_value_t = 262_144)]
    snaplen: u32,
    /// No promisc.
    #[arg(long)]
    no_promisc: bool,
    /// VXLAN listener.
    #[arg(long)]
    vxlan_listen: Vec<SocketAddr>,
    /// Geneve listener.
    #[arg(long)]
    geneve_listen: Vec<SocketAddr>,
    /// Seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Worker threads.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Stop after.
    #[arg(long, default_value = "http")]
    until: Level,
    /// Metrics address.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// User to drop to.
    #[arg(long)]
    user: Option<String>,
    #[command(flatten)]
    decap: DecapArgs,
    #[command(flatten)]
    reassemble: ReassembleArgs,
    #[command(flatten)]
    http: HttpArgs,
    #[command(flatten)]
    detect: DetectArgs,
    #[command(flatten)]
    export: ExportArgs,
}

fn cmd() -> Command {
    Args::command()
}

/// A temp file holding `text`, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let dir = std::env::temp_dir().join(format!("tw-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn words(s: &[&str]) -> Vec<OsString> {
    s.iter().map(OsString::from).collect()
}

fn strings(v: Vec<OsString>) -> Vec<String> {
    v.into_iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect()
}

/// The flags after `run` that `text` expands to (no command-line flags).
fn flags(name: &str, text: &str) -> Result<Vec<String>, String> {
    let f = TempFile::new(name, text);
    check(Some(&f.0), &[], &cmd())
        .map(strings)
        .map_err(|e| e.to_string())
}

#[test]
fn own_schema_expands_in_file_order() {
    let text = "\
capture:
  interface: [eth0, eth1]
  snaplen: 65535
  no-promisc: true
node:
  threads: 4
  metrics: 0.0.0.0:9100
  user: nobody
http:
  trusted_proxy: 10.0.0.0/8
  real-ip-header: X-Real-IP
export:
  sink: ['file:/var/lib/tapwatch/findings.ndjson?rotate=64MiB', stdout]
log:
  verbose: 2
  strict: false
until: attack
";
    let got = flags("own.yaml", text).unwrap();
    assert_eq!(
        got,
        [
            "--interface=eth0",
            "--interface=eth1",
            "--snaplen=65535",
            "--no-promisc",
            "--threads=4",
            "--metrics=0.0.0.0:9100",
            "--user=nobody",
            "--trusted-proxy=10.0.0.0/8",
            "--real-ip-header=X-Real-IP",
            "--sink=file:/var/lib/tapwatch/findings.ndjson?rotate=64MiB",
            "--sink=stdout",
            "--verbose",
            "--verbose",
            "--until=attack",
        ]
    );
}

#[test]
fn empty_file_and_empty_sections_are_nothing() {
    assert_eq!(flags("empty.yaml", "").unwrap(), Vec::<String>::new());
    assert_eq!(
        flags("comments.yaml", "# nothing yet\ncapture:\n").unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn errors_name_file_line_column_and_key() {
    let cases: &[(&str, &str)] = &[
        // (file text, expected message fragment with line:col)
        (
            "thraeds: 4\n",
            "1:1: unknown key `thraeds` (did you mean `threads`?)",
        ),
        (
            "node:\n  thraeds: 4\n",
            "2:3: unknown key `node.thraeds` (did you mean `threads`?)",
        ),
        (
            "zzzzqqq: 1\n",
            "1:1: unknown key `zzzzqqq`; `tapwatch config schema`",
        ),
        (
            "threads:\n  a: 1\n",
            "2:3: `threads` takes a value, not a map",
        ),
        (
            "no-promisc: yes\n",
            "1:13: `no-promisc` is a switch: write true or false, not a string",
        ),
        ("no-promisc: 1\n", "is a switch"),
        (
            "threads: [1, 2]\n",
            "1:10: `threads` takes one value, not a list",
        ),
        (
            "threads: many\n",
            "1:10: `threads`: invalid value 'many' for '--threads <N>'",
        ),
        ("snaplen: true\n", "`snaplen` takes a value, not true/false"),
        ("verbose: 12\n", "`verbose` is a counter"),
        (
            "threads: 2\nnode:\n  threads: 3\n",
            "3:3: key `threads` is given twice",
        ),
        (
            "capture: 3\n",
            "1:10: section `capture` must be a map of keys, not an integer",
        ),
        (
            "filter: 'eth0:80x'\n",
            "1:9: `filter`: invalid value 'eth0:80x'",
        ),
        ("metrics: nowhere\n", "1:10: `metrics`: invalid value"),
        (
            "[1, 2]\n",
            "1:1: the file must be a map of keys, not a list",
        ),
        ("a: [\n", "not valid YAML"),
        ("threads: 1\nthreads: 2\n", "duplicated key"),
        ("config: other.yaml\n", "unknown key `config`"),
        ("help: true\n", "unknown key `help`"),
        ("x: !!binary aGk=\n", "1:4: a value of no supported type"),
        ("---\na: 1\n---\nb: 2\n", "more than one YAML document"),
    ];
    for (text, want) in cases {
        let err = flags("bad.yaml", text).unwrap_err();
        assert!(err.contains("bad.yaml:"), "{text:?}: {err}");
        assert!(err.contains(want), "{text:?}:\n got  {err}\n want {want}");
    }
}

#[test]
fn command_line_wins_over_the_file() {
    let f = TempFile::new(
        "wins.yaml",
        "threads: 4\ninterface: [eth0, eth1]\nuntil: attack\nquiet: true\n",
    );
    let argv = words(&[
        "tapwatch",
        "-v",
        "run",
        "--threads",
        "2",
        "--config",
        f.0.to_str().unwrap(),
        "-i",
        "lo",
    ]);
    let got = strings(expand(argv, &cmd()).unwrap());
    // --threads and --interface come from the command line only; the file's
    // until and quiet stay, placed before the typed flags.
    assert_eq!(
        got,
        [
            "tapwatch",
            "-v",
            "run",
            "--until=attack",
            "--quiet",
            "--threads",
            "2",
            "-i",
            "lo"
        ]
    );
    let m = cmd().try_get_matches_from(&got).unwrap();
    let run = m.subcommand_matches("run").unwrap();
    assert_eq!(run.get_one::<usize>("threads"), Some(&2));
    let ifaces: Vec<&String> = run.get_many("interface").unwrap().collect();
    assert_eq!(ifaces, ["lo"]);
}

#[test]
fn argv_without_config_or_run_is_unchanged() {
    for argv in [
        words(&["tapwatch", "run", "-r", "x.pcap"]),
        words(&["tapwatch", "demo"]),
        words(&["tapwatch"]),
        words(&["tapwatch", "run", "--", "--config", "x"]),
    ] {
        assert_eq!(expand(argv.clone(), &cmd()).unwrap(), argv);
    }
    let err = expand(words(&["tapwatch", "run", "--config"]), &cmd()).unwrap_err();
    assert_eq!(err.to_string(), "--config needs a FILE");
    let err = expand(
        words(&["tapwatch", "run", "--config=a", "--config", "b"]),
        &cmd(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "--config given twice");
    let err = expand(
        words(&["tapwatch", "run", "--config=/nonexistent/tw.yaml"]),
        &cmd(),
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("/nonexistent/tw.yaml: "),
        "{err}"
    );
}

#[test]
fn mirror_node_v1_goreplay_vxlan() {
    let text = "\
version: 2
mode: tcp-capture
goreplay:
  filter: 'eth0:80'
  extra_args:
    - -input-raw-engine
    - vxlan
    - -input-raw-vxlan-port
    - 4790
    - -input-raw-vxlan-vni
    - 7
    - -input-raw-vlan
    - -input-raw-vlan-vid
    - 42
http_inspector:
  real_ip_header: X-Real-IP
log:
  pretty: true
  level: info
  log_file: stderr
";
    assert_eq!(
        flags("v1.yaml", text).unwrap(),
        [
            "--vni=7",
            "--vlan=42",
            "--verbose",
            "--vxlan-listen=0.0.0.0:4790",
            "--port=80",
            "--real-ip-header=X-Real-IP",
            "--trusted-proxy=0.0.0.0/0",
            "--trusted-proxy=::/0",
        ]
    );
}

#[test]
fn mirror_node_v1_interfaces() {
    let cases: &[(&str, &[&str])] = &[
        (
            "mode: tcp-capture\ngoreplay:\n  filter: 'eth0:80 eth1:'\n",
            &["--filter=eth0:80", "--filter=eth1:"],
        ),
        (
            "mode: tcp-capture\ngoreplay:\n  filter: [':80', 'lo:8080']\n  extra_args: '-input-raw eth1:443 -input-raw-bpf-filter \"tcp\"'\n",
            &["--bpf=\"tcp\"", "--filter=:80", "--filter=lo:8080", "--filter=eth1:443"],
        ),
        ("mode: tcp-capture\n", &["--interface=any"]),
        (
            "mode: tcp-capture\nlog:\n  level: error\n",
            &["--quiet", "--interface=any"],
        ),
        (
            "mode: tcp-capture\ngoreplay:\n  extra_args: [--input-raw-vlan, -input-raw-vlan-vid=12]\n",
            &["--vlan=12", "--interface=any"],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(&flags("v1i.yaml", text).unwrap(), want, "{text}");
    }
}

#[test]
fn mirror_node_v2_tcp_stream_and_proxy_headers() {
    let text = "\
version: 4
mode: tcp-capture-v2
tcp_stream:
  from_interface:
    enabled: true
    interface: enp7s0
    snap_len: 65535
    promiscuous: false
    filter: 'vlan and port 80'
  from_vxlan:
    enabled: true
    port: 4789
    vni: [7, 9]
  from_geneve: '10.0.0.5:6081'
proxy_headers:
  - trusted_networks: [10.0.0.0/8, 192.168.0.0/16]
    real_ip: [X-Forwarded-For]
http_inspector:
  real_ip_header: X-Real-IP
log:
  level: debug
  access_log:
    enabled: false
";
    assert_eq!(
        flags("v2.yaml", text).unwrap(),
        [
            "--interface=enp7s0",
            "--snaplen=65535",
            "--no-promisc",
            "--bpf=vlan and port 80",
            "--vxlan-listen=0.0.0.0:4789",
            "--vni=7",
            "--vni=9",
            "--geneve-listen=10.0.0.5:6081",
            "--trusted-proxy=10.0.0.0/8",
            "--trusted-proxy=192.168.0.0/16",
            "--real-ip-header=X-Forwarded-For",
            "--verbose",
            "--verbose",
            "--real-ip-header=X-Real-IP",
        ]
    );
    let shorthands: &[(&str, &[&str])] = &[
        (
            "tcp_stream:\n  from_vxlan: 4789\n",
            &["--vxlan-listen=0.0.0.0:4789"],
        ),
        (
            "tcp_stream:\n  from_vxlan: ':4790'\n",
            &["--vxlan-listen=0.0.0.0:4790"],
        ),
        (
            "tcp_stream:\n  from_vxlan: true\n",
            &["--vxlan-listen=0.0.0.0:4789"],
        ),
        (
            "tcp_stream:\n  from_geneve: udp://[::]:6081\n",
            &["--geneve-listen=[::]:6081"],
        ),
        (
            "tcp_stream:\n  from_geneve: {enabled: true}\n",
            &["--geneve-listen=0.0.0.0:6081"],
        ),
        (
            "tcp_stream:\n  from_vxlan: {enabled: false, port: 1}\n",
            &[],
        ),
        (
            "tcp_stream:\n  from_interface: eth0:80\n",
            &["--filter=eth0:80"],
        ),
        (
            "tcp_stream:\n  from_interface: [eth0, eth1]\n",
            &["--interface=eth0", "--interface=eth1"],
        ),
        (
            "tcp_stream:\n  from_interface: {enabled: true}\n",
            &["--interface=any"],
        ),
        (
            "proxy_headers:\n  trusted_networks: 10.1.0.0/16\n  real_ip: X-Client-IP\n",
            &[
                "--trusted-proxy=10.1.0.0/16",
                "--real-ip-header=X-Client-IP",
            ],
        ),
    ];
    for (text, want) in shorthands {
        assert_eq!(&flags("v2s.yaml", text).unwrap(), want, "{text}");
    }
}

#[test]
fn mirror_node_errors_name_key_or_flag_and_line() {
    let cases: &[(&str, &str)] = &[
        ("mode: connector-server\n", "1:7: mode `connector-server`"),
        ("mode: tcp-capture\nroute_config:\n  wallarm_application: 10\n", "2:1: `route_config` is not supported"),
        ("mode: tcp-capture\ngoreplay:\n  extra_args: [-input-raw-engine, af_packet]\n", "3:16: `goreplay.extra_args`: -input-raw-engine af_packet is not supported"),
        ("mode: tcp-capture\ngoreplay:\n  extra_args:\n    - -input-raw-vlan\n    - -output-http\n    - x\n", "5:7: `goreplay.extra_args`: goreplay flag `-output-http` is not supported"),
        ("mode: tcp-capture\ngoreplay:\n  extra_args: [-input-raw-vlan-vid]\n", "needs a value"),
        ("mode: tcp-capture\ngoreplay:\n  extra_args: [-input-raw-vxlan-port, 1]\n", "without -input-raw-engine vxlan"),
        ("mode: tcp-capture\ngoreplay:\n  extra_args: [-input-raw-vlan-vid, 70000]\n", "invalid value '70000'"),
        ("mode: tcp-capture\ngoreplay:\n  extra_args: [vxlan]\n", "`vxlan` is not a goreplay flag"),
        ("mode: tcp-capture\ngoreplay:\n  filters: x\n", "3:3: `goreplay.filters` is not supported"),
        ("mode: tcp-capture\ngoreplay:\n  filter: 'eth0:http'\n", "`goreplay.filter`: invalid value 'eth0:http'"),
        ("mode: tcp-capture\nhttp_inspector:\n  workers: 4\n", "`http_inspector.workers` is not supported"),
        ("mode: tcp-capture\nlog:\n  level: loud\n", "3:10: `log.level`: `loud` is not"),
        ("mode: tcp-capture\nlog:\n  log_file: /var/log/x\n", "tapwatch logs to stderr only"),
        ("mode: tcp-capture\nlog:\n  access_log:\n    enabled: true\n", "access log is its `http` records"),
        ("tcp_stream:\n  from_kafka: {}\n", "2:3: `tcp_stream.from_kafka` is not supported"),
        ("tcp_stream:\n  from_vxlan: {enabled: true, ttl: 3}\n", "`tcp_stream.from_vxlan.ttl` is not supported"),
        ("tcp_stream:\n  from_vxlan: 'somewhere'\n", "`tcp_stream.from_vxlan`: invalid value 'somewhere'"),
        ("tcp_stream:\n  from_interface: {enabled: yes}\n", "must be true or false"),
        ("proxy_headers:\n  - original_host: [X-Forwarded-Host]\n", "2:5: `proxy_headers.original_host` is not supported"),
        ("proxy_headers:\n  trusted_networks: [10.0.0.0/33]\n", "`proxy_headers.trusted_networks`: invalid value '10.0.0.0/33'"),
        ("mode: tcp-capture\nthreads: 4\n", "2:1: `threads` is not supported by tapwatch's mirror-node reader"),
        ("threads: 4\nmode: tcp-capture\n", "1:1: `threads` is not supported"),
    ];
    for (text, want) in cases {
        let err = match flags("mirror.yaml", text) {
            Ok(f) => panic!("{text:?} expands to {f:?}"),
            Err(e) => e,
        };
        assert!(err.contains("mirror.yaml:"), "{text:?}: {err}");
        assert!(err.contains(want), "{text:?}:\n got  {err}\n want {want}");
    }
}

#[test]
fn a_flag_the_runner_lacks_is_named() {
    // A `tapwatch run` without listeners (today's runner): the mapping says so.
    let bare = Command::new("tapwatch")
        .subcommand(Command::new("run").arg(Arg::new("read").long("read").short('r')));
    let f = TempFile::new(
        "lack.yaml",
        "mode: tcp-capture\ntcp_stream:\n  from_vxlan: 4789\n",
    );
    let err = check(Some(&f.0), &[], &bare).unwrap_err().to_string();
    assert!(
        err.contains("3:15: `tcp_stream.from_vxlan` maps to --vxlan-listen, which this tapwatch run does not have"),
        "{err}"
    );
}

#[test]
fn check_rejects_what_clap_rejects() {
    let err = check(None, &words(&["--no-such-flag"]), &cmd()).unwrap_err();
    assert!(err.to_string().contains("--no-such-flag"), "{err}");
    let ok = check(None, &words(&["--threads", "2", "-r", "a.pcap"]), &cmd()).unwrap();
    assert_eq!(strings(ok), ["--threads", "2", "-r", "a.pcap"]);
}

#[test]
fn schema_lists_every_key_with_section_type_default_and_help() {
    let s = schema(&cmd()).unwrap();
    for want in [
        "\ncapture:\n",
        "  interface: list of IFACE; default none\n",
        "  no-promisc: switch (true/false); default false\n",
        "\nnode:\n",
        "  threads: N; default none\n      Worker threads\n",
        "\ndecap:\n",
        "  vxlan-port: list of PORT; default none\n",
        "\nreassemble:\n",
        "  idle-timeout: IDLE_TIMEOUT; default 300s\n",
        "\nexport:\n",
        "\nlog:\n",
        "  verbose: counter (0, 1, 2, ...); default 0\n",
    ] {
        assert!(s.contains(want), "schema lacks {want:?}:\n{s}");
    }
    assert!(!s.contains("  config:"), "--config is not a key");
    assert!(!s.contains("  help:"));
    // Every key the schema prints is accepted in a file, with its section.
    let (_, args) = run_args(&cmd()).unwrap();
    for arg in &args {
        let long = arg.get_long().unwrap();
        assert!(s.contains(&format!("\n  {long}: ")), "{long} missing");
    }
}

#[test]
fn shell_words_quote_what_needs_it() {
    assert_eq!(
        shell_words(&words(&["--bpf=tcp port 80", "--sink=stdout", "it's", ""])),
        "'--bpf=tcp port 80' --sink=stdout 'it'\\''s' ''"
    );
}

#[test]
fn edit_distance_and_suggestions() {
    assert_eq!(edit_distance("threads", "thraeds"), 2);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(
        suggest("vxlan_lisen", ["vxlan-listen", "geneve-listen"]),
        Some("vxlan-listen")
    );
    assert_eq!(suggest("xyz", ["threads"]), None);
}
