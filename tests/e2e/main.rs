//! End-to-end tests: the real binaries run on real inputs (testdata/, captures
//! made on loopback, ../shared/pcaps when present).

mod capture;
mod decap;
mod demo;
mod detect;
mod discover;
mod export;
mod faults;
mod golden;
mod hostile;
mod http;
mod http_cases;
mod man;
mod readme;
mod reassemble;
mod security;
mod suricata;
