//! The `tw-reassemble` end-of-run summary. The stage loop itself is
//! [`crate::pipeline::run`], shared by every stage and by `tapwatch run`.

use super::Stats;
use crate::cli::Summary;

/// The end-of-run summary.
pub fn summary(s: &Stats) -> Summary {
    Summary::new()
        .count("packets", s.packets)
        .count("flows", s.flows)
        .count("data bytes", s.data_bytes)
        .count("gaps", s.gaps)
        .count("duplicates dropped", s.duplicates)
        .count("differing overlaps", s.overlaps_differing)
        .count("evictions", s.evicted)
        .count("segments dropped by cap", s.dropped_cap)
        .group(
            "closed",
            [
                ("fin", s.closed_fin),
                ("rst", s.closed_rst),
                ("timeout", s.closed_timeout),
                ("evicted", s.evicted),
                ("eof", s.closed_eof),
            ],
        )
        .group(
            "details",
            [
                ("midstream flows", s.midstream),
                ("gap bytes", s.gap_bytes),
                ("retransmitted", s.retransmitted),
                ("overlaps", s.overlaps),
                ("out of window", s.out_of_window),
                ("forced gaps", s.forced_gaps),
                ("after close", s.after_close),
                ("ignored rst", s.ignored_rst),
                ("syn isn mismatch", s.syn_mismatch),
                ("syn rebased", s.syn_rebased),
                ("midstream starts rewound", s.start_rewound),
                ("midstream starts from ack", s.start_by_ack),
            ],
        )
}
