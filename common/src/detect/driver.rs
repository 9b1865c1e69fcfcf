//! The `tw-detect` end-of-run summary. The stage loop itself is
//! [`crate::pipeline::run`], shared by every stage and by `tapwatch run`.

use super::DetectStats;
use crate::cli::Summary;

/// The end-of-run summary line.
pub fn summary(s: &DetectStats) -> Summary {
    Summary::new()
        .count("transactions", s.transactions)
        .count("attacks", s.attacks)
        .count("vulns", s.vulns.values().sum())
        .count("without request", s.without_request)
        .count("allowlisted", s.allowlisted)
        .group("hits", s.hits.iter().map(|(k, v)| (*k, *v)))
        .group("outcomes", s.outcomes.iter().map(|(k, v)| (*k, *v)))
        .group("vuln classes", s.vulns.iter().map(|(k, v)| (*k, *v)))
        .group(
            "limits",
            [("points_cut", s.points_cut), ("dedup_full", s.dedup_full)],
        )
}
