//! Reassembler benchmarks, in process (run through `scripts/bench-reassemble`
//! and `scripts/halfopen-flood`, release build).
//!
//! - `throughput [MB] [FLOWS]`: a synthetic keep-alive HTTP workload (default
//!   1024 MB of payload over 1000 flows, 1448-byte segments, flows interleaved,
//!   1 segment in 64 swapped with its successor, an ACK every 8 segments) is
//!   built in memory, then timed through `Reassembler::push`.
//! - `halfopen [FLOWS] [MAX_FLOWS]`: FLOWS distinct SYN-only flows within one
//!   second of packet time; prints peak RSS (VmHWM) against the flow cap.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use common::io::NdjsonWriter;
use common::reassemble::{Reassembler, ReassemblyConfig};
use common::record::{IpInfo, Packet, Record, TcpFlags, TcpInfo, Ts};

const MSS: usize = 1448;
const REQUEST: &[u8] =
    b"GET /api/items/42 HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n";

/// One planned segment: towards the server?, seq, ack, flags, payload.
type Seg<'a> = (bool, u32, u32, u8, &'a [u8]);

fn packet<'a>(
    us: u64,
    client: (IpAddr, u16),
    server: (IpAddr, u16),
    (to_server, seq, ack, flags, payload): Seg<'a>,
) -> Packet<'a> {
    let ((src, sport), (dst, dport)) = if to_server {
        (client, server)
    } else {
        (server, client)
    };
    Packet {
        ts: Ts::from_micros(
            1_700_000_000 + (us / 1_000_000) as i64,
            (us % 1_000_000) as u32,
        ),
        src: Cow::Borrowed("bench"),
        index: us,
        tunnel: Cow::Borrowed(&[]),
        ip: IpInfo {
            v: 4,
            src,
            dst,
            ttl: 64,
        },
        tcp: TcpInfo {
            sport,
            dport,
            seq,
            ack,
            flags: TcpFlags(flags),
            win: 1000,
        },
        payload: Cow::Borrowed(payload),
    }
}

fn client_of(f: usize) -> (IpAddr, u16) {
    let ip = Ipv4Addr::new(10, (f >> 16) as u8, (f >> 8) as u8, f as u8);
    (IpAddr::V4(ip), 40000 + (f % 20000) as u16)
}

fn throughput(mb: usize, flows: usize) {
    let body: Vec<u8> = (0..MSS * 64).map(|i| b'a' + (i % 26) as u8).collect();
    let server = (IpAddr::V4(Ipv4Addr::new(10, 200, 0, 1)), 80);
    let per_flow = mb * (1 << 20) / flows.max(1);
    let per_tx = 256 << 10;
    let (ack, pa) = (TcpFlags::ACK, TcpFlags::PSH | TcpFlags::ACK);
    // Each flow's packets in order, then interleaved 8 segments at a time.
    let mut per: Vec<Vec<Seg<'_>>> = Vec::with_capacity(flows);
    for _ in 0..flows {
        let (mut cseq, mut sseq) = (1000u32, 9000u32);
        let mut v = vec![
            (true, cseq - 1, 0, TcpFlags::SYN, &[][..]),
            (
                false,
                sseq - 1,
                cseq,
                TcpFlags::SYN | TcpFlags::ACK,
                &[][..],
            ),
        ];
        let mut sent = 0;
        while sent < per_flow {
            v.push((true, cseq, sseq, pa, REQUEST));
            cseq = cseq.wrapping_add(REQUEST.len() as u32);
            let mut left = per_tx.min(per_flow - sent);
            let mut n = 0;
            while left > 0 {
                let len = left.min(MSS);
                let start = (n % 63) * MSS;
                v.push((false, sseq, cseq, pa, &body[start..start + len]));
                sseq = sseq.wrapping_add(len as u32);
                sent += len;
                left -= len;
                n += 1;
                if n % 8 == 0 {
                    v.push((true, cseq, sseq, ack, &[][..]));
                }
            }
        }
        for i in (64..v.len().saturating_sub(1)).step_by(64) {
            v.swap(i, i + 1);
        }
        per.push(v);
    }
    let mut pkts = Vec::new();
    let mut us = 0u64;
    let mut pos = vec![0usize; flows];
    let mut live = flows;
    while live > 0 {
        live = 0;
        for (f, v) in per.iter().enumerate() {
            let end = (pos[f] + 8).min(v.len());
            for &seg in &v[pos[f]..end] {
                us += 2;
                pkts.push(packet(us, client_of(f), server, seg));
            }
            pos[f] = end;
            if end < v.len() {
                live += 1;
            }
        }
    }
    drop(per);
    let payload: usize = pkts.iter().map(|p| p.payload.len()).sum();
    let segs = pkts.iter().filter(|p| !p.payload.is_empty()).count();
    println!(
        "workload: {} packets, {segs} data segments, {:.1} MB payload, {flows} flows",
        pkts.len(),
        payload as f64 / 1e6
    );

    let mut r = Reassembler::new(ReassemblyConfig::default());
    let (mut out_bytes, mut records) = (0usize, 0usize);
    let t = Instant::now();
    for p in &pkts {
        r.push(p, &mut |rec| {
            records += 1;
            if let Record::Data(d) = rec {
                out_bytes += d.data.len();
            }
        });
    }
    r.finish(&mut |_| records += 1);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(out_bytes, payload, "every byte comes out once");
    println!(
        "core (push):        {:8.0} MB/s  {:10.0} segments/s  ({records} records, {:.2} s)",
        payload as f64 / 1e6 / secs,
        segs as f64 / secs,
        secs
    );
    let st = r.stats();
    println!(
        "  retransmitted {}, duplicates {}, gaps {}, peak buffered {} B",
        st.retransmitted, st.duplicates, st.gaps, st.peak_buffered
    );

    // The same through NDJSON encoding (base64 + JSON) into a sink.
    let mut r = Reassembler::new(ReassemblyConfig::default());
    let mut w = NdjsonWriter::new(std::io::sink());
    let t = Instant::now();
    for p in &pkts {
        r.push(p, &mut |rec| {
            let _ = w.write(&rec);
        });
    }
    r.finish(&mut |rec| {
        let _ = w.write(&rec);
    });
    let secs = t.elapsed().as_secs_f64();
    println!(
        "with NDJSON output: {:8.0} MB/s  {:10.0} segments/s",
        payload as f64 / 1e6 / secs,
        segs as f64 / secs
    );
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn halfopen(flows: usize, max_flows: usize) {
    let base_kb = status_kb("VmRSS:");
    let cfg = ReassemblyConfig {
        max_flows,
        ..ReassemblyConfig::default()
    };
    let (max_buffered, max_ooo) = (cfg.max_buffered, cfg.max_ooo);
    let mut r = Reassembler::new(cfg);
    let server = (IpAddr::V4(Ipv4Addr::new(10, 200, 0, 1)), 80);
    let mut records = 0u64;
    let t = Instant::now();
    for f in 0..flows {
        let syn = (true, f as u32, 0, TcpFlags::SYN, &[][..]);
        let p = packet(f as u64, client_of(f), server, syn);
        r.push(&p, &mut |_| records += 1);
    }
    let secs = t.elapsed().as_secs_f64();
    let held = r.flows();
    let hwm = status_kb("VmHWM:");
    let st = r.stats().clone();
    r.finish(&mut |_| records += 1);
    println!(
        "half-open flood: {flows} SYNs in {secs:.2} s ({:.0}/s); caps: max_flows {max_flows}, \
         max_buffered {} MiB, max_ooo {} KiB",
        flows as f64 / secs,
        max_buffered >> 20,
        max_ooo >> 10
    );
    println!(
        "  flows held {held} (peak {}), evicted {}, records {records}",
        st.peak_flows, st.evicted
    );
    println!(
        "  peak RSS (VmHWM) {:.1} MiB, baseline {:.1} MiB => {:.0} bytes per held flow",
        hwm as f64 / 1024.0,
        base_kb as f64 / 1024.0,
        (hwm.saturating_sub(base_kb) * 1024) as f64 / st.peak_flows.max(1) as f64
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("halfopen") => halfopen(num(1, 1_000_000), num(2, 1_000_000)),
        Some("throughput") | None => throughput(num(1, 1024), num(2, 1000)),
        Some(other) => {
            eprintln!("usage: bench_reassemble [throughput [MB] [FLOWS] | halfopen [FLOWS] [MAX_FLOWS]] (got {other:?})");
            std::process::exit(2);
        }
    }
}
