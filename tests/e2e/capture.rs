//! tw-capture end to end: files built byte by byte, VXLAN and Geneve listeners
//! fed real UDP datagrams, and (as root, with the `live` feature) live capture
//! of a real curl request on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::record::b64;
use common::time::Ts;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tw-capture");

// ---------------------------------------------------------------- helpers

/// A classic little-endian pcap: header, then (secs, frac, data, orig_len) records.
pub fn pcap_bytes(nanos: bool, link: u32, records: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut v = magic.to_le_bytes().to_vec();
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&65535u32.to_le_bytes());
    v.extend_from_slice(&link.to_le_bytes());
    for (secs, frac, data, orig) in records {
        for x in [*secs, *frac, data.len() as u32, *orig] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(data);
    }
    v
}

/// A little-endian pcapng: SHB, one IDB per (link, if_tsresol), then EPBs
/// of (interface, timestamp ticks, data, orig_len).
pub fn pcapng_bytes(ifaces: &[(u16, Option<u8>)], packets: &[(u32, u64, &[u8], u32)]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let len = 12 + body.len() as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut out = vec![];
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    for (link, tsresol) in ifaces {
        let mut idb = link.to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&65535u32.to_le_bytes());
        if let Some(r) = tsresol {
            idb.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol
            idb.extend_from_slice(&1u16.to_le_bytes());
            idb.extend_from_slice(&[*r, 0, 0, 0]);
            idb.extend_from_slice(&[0; 4]); // opt_endofopt
        }
        block(&mut out, 1, &idb);
    }
    for (iface, ticks, data, orig) in packets {
        let mut epb = iface.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(*ticks as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&orig.to_le_bytes());
        epb.extend_from_slice(data);
        epb.resize(epb.len().div_ceil(4) * 4, 0);
        block(&mut out, 6, &epb);
    }
    out
}

/// An Ethernet/IPv4/TCP frame from 10.1.0.7:51234 to 10.1.0.9:80 with `payload`.
fn eth_ipv4_tcp(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    let total = (20 + 20 + payload.len()) as u16;
    let t = total.to_be_bytes();
    f.extend_from_slice(&[
        0x45, 0, t[0], t[1], 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 1, 0, 7, 10, 1, 0, 9,
    ]);
    f.extend_from_slice(&[
        0xc8, 0x22, 0, 80, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0x10, 0, 0, 0, 0, 0,
    ]);
    f.extend_from_slice(payload);
    f
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tw-capture-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write_file(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("CI", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.unwrap_or_default().to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn frame_json(ts: &str, src: &str, index: u64, link: &str, len: u32, data: &[u8]) -> String {
    format!(
        r#"{{"type":"frame","ts":"{ts}","src":"{src}","index":{index},"link":"{link}","len":{len},"data_b64":"{}"}}"#,
        b64::encode(data)
    )
}

fn data_of(v: &Value) -> Vec<u8> {
    b64::decode(v["data_b64"].as_str().unwrap()).unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Asserts a record time is RFC 3339 with nanosecond digits and within the last minute.
fn assert_recent_nanos(ts: &str) {
    let frac = ts.rsplit_once('.').map(|(_, f)| f.trim_end_matches('Z'));
    assert_eq!(frac.map(str::len), Some(9), "nanosecond precision: {ts}");
    let t = Ts::parse(ts).unwrap_or_else(|| panic!("not RFC 3339: {ts}"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - 60..=now + 1).contains(&t.secs),
        "{ts} is not within the last minute"
    );
}

// ---------------------------------------------------------------- files

const T0: u32 = 1_714_564_800; // 2024-05-01T12:00:00Z

fn micro_pcap() -> Vec<u8> {
    pcap_bytes(
        false,
        1,
        &[
            (T0, 123_456, b"first frame", 11),
            (T0 + 1, 7, b"second", 1500),
        ],
    )
}

#[test]
fn reads_pcap_micro_and_nano_with_exact_records() {
    let micro = write_file("micro.pcap", &micro_pcap());
    let out = run(&["-r", micro.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let src = micro.to_str().unwrap();
    assert_eq!(
        stdout_lines(&out),
        vec![
            frame_json(
                "2024-05-01T12:00:00.123456Z",
                src,
                0,
                "ethernet",
                11,
                b"first frame"
            ),
            frame_json(
                "2024-05-01T12:00:01.000007Z",
                src,
                1,
                "ethernet",
                1500,
                b"second"
            ),
        ]
    );
    assert!(
        stderr(&out).contains("2 frames, 17 bytes"),
        "{}",
        stderr(&out)
    );

    let nano = write_file(
        "nano.pcap",
        &pcap_bytes(true, 101, &[(T0, 123_456_789, b"\x45raw", 4)]),
    );
    let out = run(&["-r", nano.to_str().unwrap()], None);
    assert_eq!(
        stdout_lines(&out),
        vec![frame_json(
            "2024-05-01T12:00:00.123456789Z",
            nano.to_str().unwrap(),
            0,
            "raw",
            4,
            b"\x45raw"
        )]
    );
}

#[test]
fn reads_pcapng_with_several_interfaces_and_link_types() {
    let f = pcapng_bytes(
        &[(1, None), (101, Some(9)), (113, Some(3))],
        &[
            (0, 1_714_564_800_000_001, b"eth", 60),
            (1, 1_714_564_800_000_000_002, b"\x60raw6", 5),
            (2, 1_714_564_800_250, b"sll-frame", 9),
        ],
    );
    let path = write_file("multi.pcapng", &f);
    let out = run(&["-r", "-"], Some(&f));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout_lines(&out),
        vec![
            frame_json(
                "2024-05-01T12:00:00.000001Z",
                "-",
                0,
                "ethernet",
                60,
                b"eth"
            ),
            frame_json(
                "2024-05-01T12:00:00.000000002Z",
                "-",
                1,
                "raw",
                5,
                b"\x60raw6"
            ),
            frame_json(
                "2024-05-01T12:00:00.250Z",
                "-",
                2,
                "linux_sll",
                9,
                b"sll-frame"
            ),
        ]
    );
    // The same file by path names the path.
    let out = run(&["-r", path.to_str().unwrap(), "-c", "1"], None);
    let line: Value = serde_json::from_str(&stdout_lines(&out)[0]).unwrap();
    assert_eq!(line["src"], path.to_str().unwrap());
}

#[test]
fn several_files_in_order_and_count() {
    let a = write_file("a.pcap", &micro_pcap());
    let b = write_file(
        "b.pcapng",
        &pcapng_bytes(&[(1, Some(9))], &[(0, 5_000_000_000, b"from b", 6)]),
    );
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let out = run(&["-r", b, "-r", a], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let recs: Vec<Value> = stdout_lines(&out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(String, u64)> = recs
        .iter()
        .map(|r| {
            (
                r["src"].as_str().unwrap().to_string(),
                r["index"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(b.to_string(), 0), (a.to_string(), 0), (a.to_string(), 1)]
    );
    assert!(
        stderr(&out).contains(&format!("sources: {b} 1, {a} 2")),
        "{}",
        stderr(&out)
    );

    let out = run(&["-r", b, "-r", a, "-c", "2"], None);
    assert!(out.status.success());
    assert_eq!(stdout_lines(&out).len(), 2);
    let out = run(&["-r", a, "-c", "1"], None);
    assert_eq!(
        stdout_lines(&out),
        vec![frame_json(
            "2024-05-01T12:00:00.123456Z",
            a,
            0,
            "ethernet",
            11,
            b"first frame"
        )]
    );
}

#[test]
fn pcap_output_round_trips_through_stdin() {
    for (name, bytes, magic) in [
        ("rt-micro.pcap", micro_pcap(), 0xa1b2_c3d4u32),
        (
            "rt-nano.pcapng",
            pcapng_bytes(
                &[(1, Some(9))],
                &[(0, 1_714_564_800_000_000_009, b"nano", 70)],
            ),
            0xa1b2_3c4d,
        ),
    ] {
        let path = write_file(name, &bytes);
        let direct = run(&["-r", path.to_str().unwrap()], None);
        let pcap = run(&["-r", path.to_str().unwrap(), "-w", "-"], None);
        assert!(pcap.status.success(), "{}", stderr(&pcap));
        assert_eq!(&pcap.stdout[..4], &magic.to_ne_bytes(), "{name}: precision");
        let back = run(&["-r", "-"], Some(&pcap.stdout));
        assert!(back.status.success(), "{}", stderr(&back));
        let strip_src = |lines: Vec<String>| -> Vec<Value> {
            lines
                .iter()
                .map(|l| {
                    let mut v: Value = serde_json::from_str(l).unwrap();
                    v["src"] = Value::Null;
                    v
                })
                .collect()
        };
        assert_eq!(
            strip_src(stdout_lines(&back)),
            strip_src(stdout_lines(&direct)),
            "{name}"
        );
    }
    // -w FILE: a frame of another link type is skipped and counted.
    let mixed = write_file(
        "mixed.pcapng",
        &pcapng_bytes(
            &[(1, None), (101, None)],
            &[(0, 1, b"e", 1), (1, 2, b"r", 1)],
        ),
    );
    let dest = scratch("mixed-out.pcap");
    let out = run(
        &["-r", mixed.to_str().unwrap(), "-w", dest.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("skipped: link_mismatch 1"),
        "{}",
        stderr(&out)
    );
    let back = run(&["-r", dest.to_str().unwrap()], None);
    assert_eq!(stdout_lines(&back).len(), 1);
}

#[test]
fn truncated_file_keeps_earlier_frames_and_names_the_packet() {
    let mut bytes = micro_pcap();
    bytes.truncate(bytes.len() - 3);
    let path = write_file("truncated.pcap", &bytes);
    let p = path.to_str().unwrap();
    let out = run(&["-r", p], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout_lines(&out),
        vec![frame_json(
            "2024-05-01T12:00:00.123456Z",
            p,
            0,
            "ethernet",
            11,
            b"first frame"
        )]
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{p}: packet 1 (byte 51): record truncated")),
        "{err}"
    );
    assert!(err.contains("malformed: truncated_record 1"), "{err}");
    // --strict makes it fatal, with its own exit code.
    let out = run(&["-r", p, "--strict"], None);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn bad_magic_is_a_clear_error() {
    let path = write_file("not-a-capture.txt", b"hello, world\n");
    let out = run(&["-r", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{}: not a pcap or pcapng file",
            path.to_str().unwrap()
        )),
        "{err}"
    );
    let out = run(&["-r", "/nonexistent/x.pcap"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/x.pcap: cannot open"));
    let out = run(&[], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nothing to capture"));
}

// ---------------------------------------------------------------- listeners

/// A running tw-capture whose stderr is watched line by line.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr_seen: Vec<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .args(args)
            .arg("-v")
            .env("CI", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines: rx,
            stderr_seen: vec![],
        }
    }

    /// Waits (at most 10 s) for a stderr line containing `needle`.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stderr_seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no {needle:?} on stderr; saw {:?}", self.stderr_seen),
            }
        }
    }

    /// Waits (at most 10 s) for the exit; returns status, stdout and all of stderr.
    fn finish(mut self) -> (std::process::ExitStatus, Vec<u8>, String) {
        // Stdout may have been taken by a test that watches it itself.
        let reader = self.child.stdout.take().map(|mut out| {
            std::thread::spawn(move || {
                let mut buf = vec![];
                out.read_to_end(&mut buf).unwrap();
                buf
            })
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tw-capture did not exit; stderr {:?}", self.stderr_seen);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = reader.map(|r| r.join().unwrap()).unwrap_or_default();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.stderr_seen.push(line);
        }
        (status, stdout, self.stderr_seen.join("\n"))
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }
}

/// The `ADDR:PORT` a listener logged it is bound to.
fn listening_port(line: &str) -> u16 {
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

fn records(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn vxlan(flags: u8, vni: u32, inner: &[u8]) -> Vec<u8> {
    let v = vni.to_be_bytes();
    let mut p = vec![flags, 0, 0, 0, v[1], v[2], v[3], 0];
    p.extend_from_slice(inner);
    p
}

fn geneve(version: u8, protocol: u16, vni: u32, options: &[u8], inner: &[u8]) -> Vec<u8> {
    let v = vni.to_be_bytes();
    let p = protocol.to_be_bytes();
    let mut out = vec![
        (version << 6) | (options.len() / 4) as u8,
        0,
        p[0],
        p[1],
        v[1],
        v[2],
        v[3],
        0,
    ];
    out.extend_from_slice(options);
    out.extend_from_slice(inner);
    out
}

#[test]
fn vxlan_listener_emits_inner_frames_with_tunnel() {
    let mut cap = Running::start(&[
        "--vxlan-listen",
        "127.0.0.1:0",
        "-c",
        "3",
        "--exclude-vni",
        "99",
    ]);
    let port = listening_port(&cap.wait_for("listening for vxlan on udp"));
    let inners: Vec<Vec<u8>> = (0..3)
        .map(|i| eth_ipv4_tcp(format!("GET /{i} HTTP/1.1\r\n\r\n").as_bytes()))
        .collect();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = ("127.0.0.1", port);
    tx.send_to(&vxlan(0x00, 7, &inners[0]), to).unwrap(); // no I flag: malformed
    tx.send_to(&vxlan(0x08, 99, &inners[0]), to).unwrap(); // denied VNI
    tx.send_to(&vxlan(0x08, 7, &[0u8; 5]), to).unwrap(); // inner frame too short
    for (i, inner) in inners.iter().enumerate() {
        tx.send_to(&vxlan(0x08, 7 + i as u32, inner), to).unwrap();
    }
    let (status, stdout, err) = cap.finish();
    assert!(status.success(), "{err}");
    let recs = records(&stdout);
    assert_eq!(recs.len(), 3, "{err}");
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(data_of(r), inners[i]);
        assert_eq!(r["link"], "ethernet");
        assert_eq!(r["len"], inners[i].len());
        assert_eq!(r["src"], format!("127.0.0.1:{port}"));
        assert_eq!(r["index"], 3 + i as u64);
        assert_eq!(
            r["tunnel"],
            serde_json::json!([{"kind":"vxlan","vni":7 + i,"outer_src":"127.0.0.1","outer_dst":"127.0.0.1"}])
        );
        assert_recent_nanos(r["ts"].as_str().unwrap());
    }
    assert!(err.contains("tw-capture: 3 frames"), "{err}");
    assert!(err.contains("skipped: vni_filtered 1"), "{err}");
    assert!(
        err.contains("malformed: ethernet_truncated 1, vxlan_malformed 1"),
        "{err}"
    );
    assert!(
        err.contains("datagram 0 from 127.0.0.1: vxlan: byte 0: I flag (valid VNI) clear"),
        "{err}"
    );
}

#[test]
fn geneve_listener_on_wildcard_skips_options_and_filters_vni() {
    let mut cap = Running::start(&[
        "--geneve-listen",
        "0.0.0.0:0",
        "-c",
        "3",
        "--vni",
        "5",
        "--vni",
        "6",
    ]);
    let port = listening_port(&cap.wait_for("listening for geneve on udp"));
    let option = [0x01, 0x08, 0x01, 0x01, 0xde, 0xad, 0xbe, 0xef];
    let eth = eth_ipv4_tcp(b"GET /g HTTP/1.1\r\n\r\n");
    let ip = eth[14..].to_vec();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let to = ("127.0.0.1", port);
    tx.send_to(&geneve(1, 0x6558, 5, &[], &eth), to).unwrap(); // version 1: malformed
    tx.send_to(&geneve(0, 0x6558, 7, &[], &eth), to).unwrap(); // not allowed
    tx.send_to(&geneve(0, 0x6558, 5, &option, &eth[..30]), to)
        .unwrap();
    tx.send_to(&geneve(0, 0x6558, 5, &option, &eth), to)
        .unwrap();
    tx.send_to(&geneve(0, 0x0800, 6, &option, &ip), to).unwrap();
    let (status, stdout, err) = cap.finish();
    assert!(status.success(), "{err}");
    let recs = records(&stdout);
    assert_eq!(recs.len(), 3, "{err}");
    let want: [(&[u8], &str, u32); 3] = [
        (&eth[..30], "ethernet", 5),
        (&eth, "ethernet", 5),
        (&ip, "raw", 6),
    ];
    for (r, (data, link, vni)) in recs.iter().zip(want) {
        assert_eq!(data_of(r), data);
        assert_eq!(r["link"], link);
        // On a wildcard socket the local address comes from IP_PKTINFO.
        assert_eq!(
            r["tunnel"],
            serde_json::json!([{"kind":"geneve","vni":vni,"outer_src":"127.0.0.1","outer_dst":"127.0.0.1"}])
        );
        assert_recent_nanos(r["ts"].as_str().unwrap());
    }
    assert!(err.contains("malformed: geneve_malformed 1"), "{err}");
    assert!(err.contains("skipped: vni_filtered 1"), "{err}");
}

#[test]
fn vxlan_listener_over_ipv6() {
    let Ok(tx) = UdpSocket::bind("[::1]:0") else {
        eprintln!("SKIP vxlan_listener_over_ipv6: no IPv6 loopback here");
        return;
    };
    let mut cap = Running::start(&["--vxlan-listen", "[::1]:0", "-c", "1"]);
    let port = listening_port(&cap.wait_for("listening for vxlan on udp"));
    let inner = eth_ipv4_tcp(b"v6 outer");
    tx.send_to(&vxlan(0x08, 4242, &inner), ("::1", port))
        .unwrap();
    let (status, stdout, err) = cap.finish();
    assert!(status.success(), "{err}");
    let recs = records(&stdout);
    assert_eq!(recs.len(), 1, "{err}");
    assert_eq!(data_of(&recs[0]), inner);
    assert_eq!(recs[0]["src"], format!("[::1]:{port}"));
    assert_eq!(
        recs[0]["tunnel"],
        serde_json::json!([{"kind":"vxlan","vni":4242,"outer_src":"::1","outer_dst":"::1"}])
    );
}

// ---------------------------------------------------------------- live capture

/// Why live tests cannot run here, if they cannot.
fn live_skip_reason() -> Option<String> {
    if !cfg!(feature = "live") {
        return Some("built without the `live` feature".into());
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Some("live capture needs root".into());
    }
    if Command::new("curl").arg("--version").output().is_err() {
        return Some("curl is not installed".into());
    }
    None
}

/// A real HTTP/1.1 server on loopback answering every request with "hello".
fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut req = vec![];
            let mut buf = [0u8; 1024];
            while !contains(&req, b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
            );
        }
    });
    port
}

fn curl(port: u16) {
    let out = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "5",
            &format!("http://127.0.0.1:{port}/hello"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello");
}

/// The TCP ports of an Ethernet/IPv4 frame, if it is one.
fn tcp_ports(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.get(12..14)? != [0x08, 0x00] || *frame.get(23)? != 6 {
        return None;
    }
    let ihl = usize::from(frame.get(14)? & 0x0f) * 4;
    let p = frame.get(14 + ihl..14 + ihl + 4)?;
    Some((
        u16::from_be_bytes([p[0], p[1]]),
        u16::from_be_bytes([p[2], p[3]]),
    ))
}

fn check_http_frames(stdout: &[u8], port: u16, err: &str) {
    let recs = records(stdout);
    assert!(!recs.is_empty(), "no frames; {err}");
    for r in &recs {
        assert_eq!(r["link"], "ethernet");
        assert_eq!(r["src"], "lo");
        assert_recent_nanos(r["ts"].as_str().unwrap());
        let (sport, dport) = tcp_ports(&data_of(r)).expect("a TCP/IPv4 frame");
        assert!(
            sport == port || dport == port,
            "frame outside the filter: {sport} -> {dport}"
        );
    }
    assert!(
        recs.iter()
            .any(|r| contains(&data_of(r), b"GET /hello HTTP/1.1")),
        "no frame holds the request; {err}"
    );
}

#[test]
fn live_capture_sees_a_real_curl_request() {
    if let Some(why) = live_skip_reason() {
        eprintln!("SKIP live_capture_sees_a_real_curl_request: {why}");
        return;
    }
    let port = http_server();
    let filter = format!("tcp port {port}");
    let mut cap = Running::start(&["-i", "lo", "-f", &filter]);
    cap.wait_for("capturing on lo");
    curl(port);
    // Wait until the request's frames reached stdout, then stop with SIGINT.
    let mut out = cap.child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut all = vec![];
        let mut buf = [0u8; 65536];
        loop {
            match out.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    all.extend_from_slice(&buf[..n]);
                    let _ = tx.send(all.clone());
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = vec![];
    while !records_hold_request(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        seen = rx
            .recv_timeout(left)
            .expect("frames of the curl request on stdout");
    }
    cap.signal("-INT");
    let (status, _, err) = cap.finish();
    while let Ok(more) = rx.recv_timeout(Duration::from_secs(2)) {
        seen = more;
    }
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(seen.ends_with(b"\n"));
    check_http_frames(&seen, port, &err);
    assert!(err.contains("received by filter"), "{err}");
}

fn records_hold_request(stdout: &[u8]) -> bool {
    let complete = match stdout.iter().rposition(|&b| b == b'\n') {
        Some(end) => &stdout[..=end],
        None => return false,
    };
    records(complete)
        .iter()
        .any(|r| contains(&data_of(r), b"GET /hello"))
}

#[test]
fn live_capture_with_filter_syntax_and_duration() {
    if let Some(why) = live_skip_reason() {
        eprintln!("SKIP live_capture_with_filter_syntax_and_duration: {why}");
        return;
    }
    let port = http_server();
    let spec = format!("lo:{port}");
    let mut cap = Running::start(&["--filter", &spec, "--duration", "2"]);
    let line = cap.wait_for("capturing on lo");
    assert!(line.contains(&format!("filter tcp port {port}")), "{line}");
    // UDP to the same port is outside `tcp port N` and must not be captured.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.send_to(b"not tcp", ("127.0.0.1", port)).unwrap();
    curl(port);
    let started = Instant::now();
    let (status, stdout, err) = cap.finish();
    assert!(status.success(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "--duration 2 was not honoured"
    );
    check_http_frames(&stdout, port, &err);
}

#[test]
fn live_capture_ends_cleanly_on_sigint() {
    if let Some(why) = live_skip_reason() {
        eprintln!("SKIP live_capture_ends_cleanly_on_sigint: {why}");
        return;
    }
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    let filter = format!("udp port {port}");
    let mut cap = Running::start(&["-i", "lo", "-f", &filter]);
    cap.wait_for("capturing on lo");
    // Steady traffic, so the signal arrives while frames are being written.
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut n = 0u32;
        while stop_rx.try_recv().is_err() {
            let _ = tx.send_to(&n.to_be_bytes(), ("127.0.0.1", port));
            n += 1;
            std::thread::sleep(Duration::from_millis(2));
        }
        n
    });
    std::thread::sleep(Duration::from_millis(500));
    cap.signal("-INT");
    let (status, stdout, err) = cap.finish();
    stop_tx.send(()).unwrap();
    let sent = sender.join().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!stdout.is_empty(), "no frames captured; {err}");
    assert!(stdout.ends_with(b"\n"), "stdout ends mid-line");
    let recs = records(&stdout);
    assert!(recs.len() as u32 <= sent);
    for r in &recs {
        assert_eq!(r["src"], "lo");
    }
    let summary = err
        .lines()
        .find(|l| l.starts_with("tw-capture: ") && l.contains(" frames, "))
        .unwrap_or_else(|| panic!("no summary line: {err}"));
    assert!(
        summary.starts_with(&format!("tw-capture: {} frames", recs.len())),
        "{summary}"
    );
}
