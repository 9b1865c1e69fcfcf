//! Writes one hostile input for `scripts/hostile` (see `common::hostile`).
//!
//! Usage: hostile CASE OUT [N]
//!   halfopen OUT [FLOWS]        FLOWS SYN-only flows (default 1000000)
//!   slow OUT [CONNS]            CONNS byte-at-a-time requests, 20 s apart (default 5000)
//!   gzip-bomb OUT [BYTES]       request + response bodies inflating to BYTES (default 1 GiB)
//!   brotli-bomb OUT [BYTES]     the same with Content-Encoding: br
//!   header-line OUT [BYTES]     one header line of BYTES (default 1 GiB)
//!   many-headers OUT [N]        N header fields (default 100000)
//!   json-deep OUT [DEPTH]       JSON bodies nested DEPTH deep (default 100000)
//!   chunked OUT                 chunk sizes near/past 2^64, garbage size lines
//!   pcap-truncated|pcap-bad-magic|pcap-caplen OUT
//!   ndjson OUT VALID [BYTES]    garbage lines, a BYTES-long line, then the lines of VALID
//! Every input ends with an ordinary connection from common::hostile::MARKER_IP.

use std::fs::File;
use std::io::{BufWriter, Write};

use common::hostile::{self, Bomb, PcapDamage};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (case, out) = match (args.first(), args.get(1)) {
        (Some(c), Some(o)) => (c.as_str(), o.as_str()),
        _ => {
            eprintln!("usage: hostile CASE OUT [N] (see examples/hostile.rs)");
            std::process::exit(2);
        }
    };
    let n = |i: usize, default: u64| -> u64 {
        args.get(i)
            .map(|s| s.parse().expect("a number"))
            .unwrap_or(default)
    };
    let w = BufWriter::with_capacity(1 << 20, File::create(out)?);
    match case {
        "halfopen" => hostile::halfopen(w, n(2, 1_000_000) as u32),
        "slow" => hostile::slow(w, n(2, 5_000) as u32, 20),
        "gzip-bomb" => hostile::bomb(w, Bomb::Gzip, n(2, 1 << 30)),
        "brotli-bomb" => hostile::bomb(w, Bomb::Brotli, n(2, 1 << 30)),
        "header-line" => hostile::header_line(w, n(2, 1 << 30)),
        "many-headers" => hostile::many_headers(w, n(2, 100_000) as u32),
        "json-deep" => hostile::json_deep(w, n(2, 100_000) as usize),
        "chunked" => hostile::chunked(w),
        "pcap-truncated" => write(w, hostile::damaged_pcap(PcapDamage::Truncated)?),
        "pcap-bad-magic" => write(w, hostile::damaged_pcap(PcapDamage::BadMagic)?),
        "pcap-caplen" => write(w, hostile::damaged_pcap(PcapDamage::CaplenOverSnaplen)?),
        "ndjson" => {
            let valid = std::fs::read(args.get(2).expect("ndjson OUT VALID [BYTES]"))?;
            hostile::ndjson_garbage(w, &valid, n(3, 1 << 30), 100_000)
        }
        other => {
            eprintln!("hostile: unknown case {other}");
            std::process::exit(2);
        }
    }
}

fn write(mut w: impl Write, bytes: Vec<u8>) -> std::io::Result<()> {
    w.write_all(&bytes)?;
    w.flush()
}
