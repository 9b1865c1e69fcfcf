//! Input and output: NDJSON records, pcap and pcapng files, and recognising
//! which one a stage was handed.
//!
//! Every stage accepts pcap, pcapng or NDJSON on stdin or from a file: the
//! first four bytes decide ([`open_input`]).

pub mod fast_read;
pub mod ndjson;
pub mod pcap;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Context;

pub use ndjson::{LineError, NdjsonReader, NdjsonWriter};
pub use pcap::{CaptureFileError, CaptureReader, Magic, PcapWriter, RawFrame};

/// An opened input: a capture file or a stream of records.
pub enum Input {
    Capture(CaptureReader<Box<dyn Read + Send>>),
    Ndjson(NdjsonReader<Box<dyn BufRead + Send>>),
}

/// An input and what to call it in messages.
pub struct OpenedInput {
    pub input: Input,
    /// The path, or `-` for stdin.
    pub name: String,
    /// Size in bytes when known (a regular file), for progress bars.
    pub size: Option<u64>,
}

/// The pipe buffer a stage asks for on its stdin and stdout: 1 MiB, the
/// default most a user may set (`/proc/sys/fs/pipe-max-size`), where the
/// kernel's is 64 KiB. A `tw-decap | tw-reassemble | ...` chain moves
/// hundreds of megabytes through its pipes; with 64 KiB each write or
/// read of a 256 KiB chunk is cut into pieces and the stages take turns
/// sleeping on each other far more often.
pub const PIPE_SIZE: i32 = 1 << 20;

/// Asks for a [`PIPE_SIZE`] buffer on `fd` when it is a pipe. Anything
/// else (a file, a terminal, a refusal over the limit) leaves it as it
/// was: the size is a speed matter only.
pub fn grow_pipe(fd: impl std::os::fd::AsFd) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use nix::fcntl::{fcntl, FcntlArg};
        let fd = fd.as_fd();
        // Only a pipe has a size to get (anything else: EBADF).
        if fcntl(fd, FcntlArg::F_GETPIPE_SZ).is_ok_and(|n| n < PIPE_SIZE) {
            let _ = fcntl(fd, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = fd;
}

/// Opens `path` (`None` or `-` for stdin) and recognises its format by its
/// first bytes: pcap, pcapng, or else NDJSON. A piped stdin gets a bigger
/// buffer ([`grow_pipe`]).
pub fn open_input(path: Option<&Path>) -> anyhow::Result<OpenedInput> {
    let stdin = || {
        grow_pipe(io::stdin());
        Box::new(io::stdin())
    };
    let (reader, name, size): (Box<dyn Read + Send>, String, Option<u64>) = match path {
        None => (stdin(), "-".into(), None),
        Some(p) if p.as_os_str() == "-" => (stdin(), "-".into(), None),
        Some(p) => {
            let file = File::open(p).with_context(|| format!("{}: cannot open", p.display()))?;
            let size = file
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            (Box::new(file), p.display().to_string(), size)
        }
    };
    let input = sniff_as(reader, &name).with_context(|| name.clone())?;
    Ok(OpenedInput { input, name, size })
}

/// Recognises the format of a stream from its first four bytes without losing them.
pub fn sniff(reader: Box<dyn Read + Send>) -> anyhow::Result<Input> {
    sniff_as(reader, "input")
}

/// [`sniff`], naming the input `name` in the warning about a binary start.
fn sniff_as(mut reader: Box<dyn Read + Send>, name: &str) -> anyhow::Result<Input> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("cannot read"),
        }
    }
    let head = head[..got].to_vec();
    let magic = Magic::detect(&head);
    // NDJSON is text: a start of control or non-ASCII bytes is most likely a
    // damaged or unsupported capture, worth saying before every line fails.
    let binary = |b: &u8| !(b.is_ascii_graphic() || b.is_ascii_whitespace());
    if magic.is_none() && head.iter().any(binary) {
        log::warn!(
            "{name}: starts with bytes {head:02x?}, neither pcap/pcapng magic nor text; reading it as NDJSON"
        );
    }
    let chained: Box<dyn Read + Send> = Box::new(io::Cursor::new(head).chain(reader));
    Ok(match magic {
        Some(magic) => Input::Capture(CaptureReader::open(magic, chained)?),
        None => Input::Ndjson(NdjsonReader::new(Box::new(BufReader::with_capacity(
            1 << 20,
            chained,
        )))),
    })
}

/// Whether an error chain ends in a closed pipe (the reader went away, `| head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|k| k == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_recognises_each_format() {
        let pcap = [
            0xd4u8, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0,
            0, 0,
        ];
        assert!(matches!(
            sniff(Box::new(io::Cursor::new(pcap.to_vec()))).unwrap(),
            Input::Capture(_)
        ));
        match sniff(Box::new(io::Cursor::new(b"{\"type\":\"x\"}\n".to_vec()))).unwrap() {
            Input::Ndjson(mut r) => {
                assert_eq!(r.next_line().unwrap().unwrap(), b"{\"type\":\"x\"}")
            }
            _ => panic!("expected NDJSON"),
        }
        // Empty input is an empty NDJSON stream, not an error.
        match sniff(Box::new(io::empty())).unwrap() {
            Input::Ndjson(mut r) => assert!(r.next_line().is_none()),
            _ => panic!("expected NDJSON"),
        }
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let err = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing stdout");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
