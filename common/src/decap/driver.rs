//! The `tw-decap` end-of-run summary. The stage loop itself is
//! [`crate::pipeline::run`], shared by every stage and by `tapwatch run`.

use super::{DecapStats, ReasonGroup};
use crate::cli::Summary;

/// Frames and packets, then the reasons frames yielded nothing, by group.
pub fn summary(s: &DecapStats) -> Summary {
    let mut summary = Summary::new()
        .count("frames", s.frames)
        .count("packets", s.packets);
    for group in [
        ReasonGroup::Skipped,
        ReasonGroup::Malformed,
        ReasonGroup::Filtered,
        ReasonGroup::Fragments,
    ] {
        summary = summary.group(group.name(), s.group(group));
    }
    summary
}
