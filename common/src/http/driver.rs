//! The `tw-http-parse` end-of-run summary. The stage loop itself is
//! [`crate::pipeline::run`], shared by every stage and by `tapwatch run`.

use super::HttpStats;
use crate::cli::Summary;

/// The end-of-run summary line.
pub fn summary(s: &HttpStats) -> Summary {
    Summary::new()
        .count("transactions", s.transactions)
        .count("paired", s.paired)
        .count("unpaired requests", s.unpaired_requests)
        .count("unpaired responses", s.unpaired_responses)
        .count("connections", s.flows)
        .count("HTTP/2 connections", s.http2)
        .count("non-HTTP connections", s.non_http)
        .group(
            "skipped",
            [
                ("tunnels", s.tunnels),
                ("bytes", s.bytes_skipped),
                ("resyncs", s.resyncs),
            ],
        )
        .group("anomalies", s.anomalies.iter().map(|(k, v)| (*k, *v)))
        .group(
            "dropped",
            [
                ("flows_evicted", s.flows_evicted),
                ("queue_overflows", s.queue_overflows),
                ("data_without_open", s.data_without_open),
            ],
        )
}
