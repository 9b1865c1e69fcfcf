//! Our HTTP/1 parser (`common::http::HttpParser`) against suricata-htp
//! (libhtp-rs), fed the same reassembled byte streams.
//!
//! ```text
//! htp-compare compare FILE...   reassemble.ndjson files or captures (run through tw-reassemble)
//! htp-compare speed [PAIRS] [RUNS] [PAIRS_PER_CONN]
//! ```
//! Run it through `scripts/htp-compare`.

mod compare;
mod htp;
mod speed;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("compare") => compare::run(&args[1..]),
        Some("speed") => speed::run(&args[1..]),
        _ => {
            eprintln!("usage: htp-compare compare FILE... | speed [PAIRS] [RUNS] [PAIRS_PER_CONN]");
            2
        }
    };
    std::process::exit(code);
}
