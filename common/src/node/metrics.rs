//! Prometheus metrics (stub).
