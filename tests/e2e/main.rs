//! End-to-end tests: the real binaries run on real inputs (testdata/, captures
//! made on loopback, ../shared/pcaps when present).

mod capture;
mod decap;
mod demo;
mod deploy;
mod detect;
mod discover;
mod export;
mod faults;
mod golden;
mod hostile;
mod http;
mod http_cases;
mod ingest;
mod man;
mod node;
mod readme;
mod reassemble;
mod run;
mod security;
mod suricata;
