//! Privilege drop (stub).
