//! What the long-lived `tapwatch run` node needs besides the stages: a config
//! file expanded into flags ([`config`]), Prometheus metrics and a health
//! endpoint ([`metrics`]), and a privilege drop after the capture handles are
//! open ([`privdrop`]).

pub mod config;
pub mod metrics;
pub mod privdrop;
