//! tw-decap end to end: the shared third-party captures, bad input, strict
//! mode, truncated files and NDJSON frames with pass-through.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_tw-decap");
const PCAPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/pcaps");

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tw-decap runs");
    // A run that fails on its arguments exits before reading: a closed pipe is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("stdout is NDJSON"))
        .collect()
}

fn find_pcaps(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_pcaps(&path, out);
        } else if path.extension().is_some_and(|e| e == "pcap") {
            out.push(path);
        }
    }
}

/// Every capture decodes with status 0 and no panic; captures tagged with an
/// encapsulation that yield packets show that encapsulation in the stack.
#[test]
fn shared_captures_decode_and_show_their_encapsulation() {
    let root = Path::new(PCAPS).join("suricata-verify");
    if !root.exists() {
        eprintln!("SKIP: {} not found", root.display());
        return;
    }
    // pcap path -> encapsulation tags, from INDEX.tsv.
    let index = std::fs::read_to_string(root.join("INDEX.tsv")).unwrap();
    let mut tags: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for row in index.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        if let (Some(path), Some(t)) = (cols.get(1), cols.get(5)) {
            tags.entry(root.join(path))
                .or_default()
                .extend(t.split(',').map(String::from));
        }
    }
    let mut pcaps = vec![];
    find_pcaps(&root, &mut pcaps);
    pcaps.sort();
    assert!(!pcaps.is_empty());
    // Captures known to carry TCP through each encapsulation.
    let must: &[(&str, &str)] = &[
        ("bug-2576-01/temp6.pcap", "gre"),
        ("bug-5633-gre-02/gre-sample.pcap", "gre"),
        ("bug-5437-02/input.pcap", "erspan"),
        ("bug-6402-01/input.pcap", "geneve"),
        ("vxlan-non-zero-reserved-fields/input.pcap", "vxlan"),
        ("vxlan-decoder-03/vxlan.pcap", "vxlan"),
        ("bug-4376/syn_retransmit_with_ts.pcap", "vlan"),
        ("decode-sll2-02/input.pcap", ""),
        ("bug-4810/pppoe-session-http.pcap", ""),
        ("decode-chdlc-01/hdlc-http_1tx.pcap", ""),
        ("decode-etag-01/input.pcap", ""),
    ];
    let mut failures = vec![];
    let mut total_packets = 0;
    for pcap in &pcaps {
        let out = run(&["-r", pcap.to_str().unwrap()], b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name = pcap.strip_prefix(&root).unwrap().display().to_string();
        if out.status.code() != Some(0) || stderr.contains("panicked") {
            failures.push(format!("{name}: status {:?}: {stderr}", out.status));
            continue;
        }
        let packets = lines(&out);
        total_packets += packets.len();
        let kinds: BTreeSet<String> = packets
            .iter()
            .flat_map(|p| p["tunnel"].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t["kind"].as_str().map(String::from))
            .collect();
        let wanted = tags.get(pcap).cloned().unwrap_or_default();
        for tag in ["vxlan", "geneve", "gre", "erspan", "vlan", "mpls"] {
            // ERSPAN rides in GRE but is recorded as erspan.
            let seen = kinds.contains(tag) || (tag == "gre" && kinds.contains("erspan"));
            if wanted.contains(tag) && !packets.is_empty() && !seen {
                failures.push(format!("{name}: tagged {tag}, packets show only {kinds:?}"));
            }
        }
        for (path, kind) in must {
            if name == *path && (packets.is_empty() || !(kind.is_empty() || kinds.contains(*kind)))
            {
                failures.push(format!(
                    "{name}: expected packets through {kind:?}, got {} with {kinds:?}",
                    packets.len()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(total_packets > 1000, "{total_packets} packets in all");
}

#[test]
fn garbage_on_stdin_is_reported_and_skipped() {
    let out = run(
        &[],
        b"hello world\n{\"type\":\"conn\",\"x\":1}\nnot json either\n",
    );
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-: line 1: not a JSON object"), "{stderr}");
    // The other record type is passed through unchanged.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\"type\":\"conn\",\"x\":1}\n"
    );
}

#[test]
fn strict_makes_garbage_fatal() {
    let out = run(&["--strict"], b"garbage\n");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 1"), "{stderr}");
}

/// A 60-byte Ethernet/IPv4/TCP frame with a 6-byte payload (no padding).
fn frame(seq: u8) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
    f.extend_from_slice(&[
        0x45, 0, 0, 46, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    f.extend_from_slice(&[
        0xc3, 0x50, 0, 80, 0, 0, 0, seq, 0, 0, 0, 0, 0x50, 0x18, 1, 0, 0, 0, 0, 0,
    ]);
    f.extend_from_slice(b"hello!");
    f
}

fn pcap_file(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    for (i, f) in frames.iter().enumerate() {
        b.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(f);
    }
    b
}

#[test]
fn truncated_pcap_keeps_earlier_packets_and_names_file_and_packet() {
    let mut bytes = pcap_file(&[frame(1), frame(2), frame(3)]);
    bytes.truncate(bytes.len() - 20);
    let path = std::env::temp_dir().join(format!("tw-decap-trunc-{}.pcap", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();
    let out = run(&["-r", path.to_str().unwrap()], b"");
    std::fs::remove_file(&path).ok();
    assert_eq!(out.status.code(), Some(0));
    let packets = lines(&out);
    assert_eq!(packets.len(), 2);
    assert_eq!(packets[1]["tcp"]["seq"], 2);
    assert_eq!(packets[0]["payload_b64"], "aGVsbG8h");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(path.to_str().unwrap()) && stderr.contains("packet 2"),
        "{stderr}"
    );
    // The same bytes on stdin, under --strict, fail with status 3.
    let out = run(&["--strict"], &bytes);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn ndjson_frames_are_decapped_in_order_with_pass_through() {
    let data = common::record::b64::encode(&frame(7));
    let input = format!(
        concat!(
            "{{\"type\":\"gap\",\"keep\":\"me\"}}\n",
            "{{\"type\":\"frame\",\"ts\":\"2024-05-01T12:00:00.000001Z\",\"src\":\"eth9\",\"index\":4,\"link\":\"ethernet\",\"len\":60,",
            "\"tunnel\":[{{\"kind\":\"vlan\",\"vid\":12}}],\"data_b64\":\"{}\"}}\n",
            "{{\"type\":\"frame\",\"ts\":\"bad\"}}\n",
        ),
        data
    );
    let out = run(&["--port", "80"], input.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    let recs = lines(&out);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0], serde_json::json!({"type": "gap", "keep": "me"}));
    let p = &recs[1];
    assert_eq!(p["type"], "packet");
    assert_eq!(
        (p["src"].as_str(), p["index"].as_u64()),
        (Some("eth9"), Some(4))
    );
    assert_eq!(p["ts"], "2024-05-01T12:00:00.000001Z");
    assert_eq!(
        p["tunnel"],
        serde_json::json!([{"kind": "vlan", "vid": 12}])
    );
    assert_eq!(
        p["ip"],
        serde_json::json!({"v": 4, "src": "10.0.0.1", "dst": "10.0.0.2", "ttl": 64})
    );
    assert_eq!(p["tcp"]["flags"], "PA");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-: line 3: bad frame record"), "{stderr}");
    assert!(stderr.contains("1 frames, 1 packets"), "{stderr}");
}

#[test]
fn filters_and_summary() {
    let bytes = pcap_file(&[frame(1), frame(2)]);
    let out = run(&["--port", "443"], &bytes);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 frames, 0 packets; filtered: filtered_port 2"),
        "{stderr}"
    );
    let out = run(&["--ignore-ip", "10.0.0.0/30"], &bytes);
    assert!(String::from_utf8_lossy(&out.stderr).contains("filtered_ip 2"));
    let out = run(&["--ignore-ip", "10.0.0.0/33"], &bytes);
    assert_eq!(out.status.code(), Some(2));
}

/// A VLAN id is 12 bits: `--vlan 4096` is a usage error naming the range,
/// not a filter that silently matches nothing.
#[test]
fn vlan_ids_above_4095_are_refused() {
    for flag in ["--vlan", "--exclude-vlan"] {
        let out = run(&[flag, "4096"], b"");
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("0..=4095"), "{flag}: {err}");
        assert!(run(&[flag, "4095"], b"").status.success(), "{flag} 4095");
    }
}
