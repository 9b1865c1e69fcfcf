//! End-to-end tests: the real binaries run on real inputs (testdata/, captures
//! made on loopback, ../shared/pcaps when present).

mod golden;
mod http;
mod readme;
