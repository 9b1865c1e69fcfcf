//! Decap throughput, in process: `scripts/bench-decap [MB]`.
//!
//! Builds (once, cached by size) a keep-alive HTTP capture of about MB
//! megabytes with connections rotating over plain Ethernet, QinQ VLAN, VXLAN,
//! Geneve and ERSPAN II, then reads it from memory through the pcap reader and
//! the decapper and prints MB/s and packets/s. The script times the binaries
//! through pipes on the same file.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::decap::{DecapConfig, Decapper, FrameIn};
use common::io::{CaptureReader, Magic, PcapWriter};
use common::record::LinkType;
use common::synth::{ethernet_for, Frame, TcpConversation};
use common::time::Ts;

fn encap(kind: usize, dir: common::synth::Dir) -> Frame {
    let outer = || Frame::new().ethernet().ipv4("10.0.0.5", "10.0.0.9");
    match kind % 5 {
        0 => ethernet_for(dir),
        1 => ethernet_for(dir).vlan(100).vlan(42),
        2 => outer().udp(49152, 4789).vxlan(7).append(ethernet_for(dir)),
        3 => outer()
            .udp(49152, 6081)
            .geneve(9, vec![])
            .append(ethernet_for(dir)),
        _ => outer().erspan2(5, 42, 1).append(ethernet_for(dir)),
    }
}

fn build(path: &Path, megabytes: u64) -> std::io::Result<()> {
    let body = vec![b'x'; 8000];
    let mut response =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8000\r\n\r\n"
            .to_vec();
    response.extend_from_slice(&body);
    let mut w = PcapWriter::new(
        BufWriter::new(File::create(path)?),
        LinkType::Ethernet,
        false,
    )?;
    let (mut written, mut conn) = (0u64, 0usize);
    while written < megabytes << 20 {
        let client = format!(
            "10.1.{}.{}:{}",
            conn / 200 % 250,
            conn % 200 + 20,
            20000 + conn % 40000
        );
        let mut c = TcpConversation::new(&client, "10.1.0.9:80")
            .start(Ts::from_micros(1_714_564_800 + conn as i64, 0));
        for i in 0..4 {
            c = c.request(
                format!("GET /api/v1/items/{i}?conn={conn} HTTP/1.1\r\nHost: app\r\n\r\n")
                    .as_bytes(),
            );
            c = c.response(&response);
        }
        for seg in c.segments() {
            let frame = encap(conn, seg.dir).append(seg.ip_frame(1460)).build();
            written += frame.len() as u64 + 16;
            w.write(seg.ts, frame.len() as u32, &frame)?;
        }
        conn += 1;
    }
    w.flush()
}

fn main() -> anyhow::Result<()> {
    let megabytes: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(512);
    let dir = PathBuf::from("target/bench");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("decap-{megabytes}mb.pcap"));
    if !path.exists() {
        eprintln!("building {} ...", path.display());
        build(&path, megabytes)?;
    }
    println!("capture {}", path.display());
    let bytes = std::fs::read(&path)?;
    for round in 0..3 {
        let mut reader = CaptureReader::open(Magic::Pcap, &bytes[..])?;
        let mut dec = Decapper::new(DecapConfig::default());
        let mut payload = 0usize;
        let start = Instant::now();
        while let Some(frame) = reader.next_frame() {
            let f = frame?;
            let input = FrameIn {
                ts: f.ts,
                src: "bench",
                index: f.index,
                link: f.link,
                data: f.data,
                tunnel: &[],
            };
            dec.push(&input, &mut |p| payload += p.payload.len());
        }
        let secs = start.elapsed().as_secs_f64();
        let s = dec.stats();
        if round > 0 {
            println!(
                "in-process read+decap: {:.0} MB/s, {:.2} M packets/s ({} frames, {} packets, {} MB payload)",
                bytes.len() as f64 / secs / 1e6,
                s.packets as f64 / secs / 1e6,
                s.frames,
                s.packets,
                payload >> 20
            );
        }
    }
    Ok(())
}
