//! What the golden files of the generated HTTP cases cannot show, because the
//! golden harness runs every stage without options: the real-IP resolution
//! of `testdata/http-xff-real-ip` with trusted proxies.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_tw-http-parse");

/// `real_ip` of each transaction, in output order.
fn real_ips(args: &[&str]) -> Vec<String> {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/http-xff-real-ip/input.pcap");
    let out = Command::new(BIN)
        .args(args)
        .arg("-r")
        .arg(&input)
        .output()
        .expect("run tw-http-parse");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v["real_ip"].as_str().expect("real_ip").to_string()
        })
        .collect()
}

#[test]
fn xff_real_ip_trusted() {
    // Trusting no proxy (the default): the TCP client, whatever the headers say.
    assert_eq!(real_ips(&[]), ["10.1.0.2", "10.1.0.2", "10.1.0.2"]);
    // Trusting the proxies' /24: XFF `203.0.113.9, 198.51.100.7, 10.1.0.3` is
    // walked right to left past the trusted 10.1.0.3; Forwarded's last element
    // is the quoted IPv6 address; X-Real-IP is taken as is.
    assert_eq!(
        real_ips(&["--trusted-proxy", "10.1.0.0/24"]),
        ["198.51.100.7", "2001:db8::17", "192.0.2.99"]
    );
    // Trusting everyone: the leftmost XFF entry.
    assert_eq!(
        real_ips(&["--trusted-proxy", "0.0.0.0/0"]),
        ["203.0.113.9", "2001:db8::17", "192.0.2.99"]
    );
}
