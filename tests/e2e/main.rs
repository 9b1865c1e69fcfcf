//! End-to-end tests: run the real binaries.

mod decap;
