//! What this replica's token refreshes did, for `GET /metrics`: refreshes by provider and
//! outcome (succeeded, failed, or served by another request's refresh after waiting for it),
//! the time requests waited for another request's refresh, and the provider's answer time per
//! provider and endpoint. Counted per process, like the request metrics; the label values are
//! provider names from the catalog, never an identity, a connection or a token.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::latency_histogram::{LatencyHistogram, escape};

/// How one resolve that needed a refresh ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefreshOutcome {
    /// This request refreshed the token.
    Succeeded,
    /// This request's refresh failed (refused or unreachable).
    Failed,
    /// Another request (on this replica or another) refreshed it while this one waited.
    Waited,
}

impl RefreshOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Waited => "waited",
        }
    }
}

#[derive(Default)]
struct Counts {
    outcomes: BTreeMap<(String, RefreshOutcome), u64>,
    lock_wait: LatencyHistogram,
    upstream: BTreeMap<(String, &'static str), LatencyHistogram>,
}

/// The refresh counters and histograms of this replica.
#[derive(Default)]
pub struct RefreshMetrics {
    counts: Mutex<Counts>,
}

impl RefreshMetrics {
    /// Counts one refresh outcome for `provider`.
    pub fn count(&self, provider: &str, outcome: RefreshOutcome) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts.outcomes.entry((provider.to_owned(), outcome)).or_default() += 1;
        }
    }

    /// Counts how long a request waited for another request's refresh.
    pub fn waited(&self, wait: Duration) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.lock_wait.observe(wait);
        }
    }

    /// Counts how long `provider`'s `endpoint` (`token`, `revocation`) took to answer.
    pub fn upstream(&self, provider: &str, endpoint: &'static str, latency: Duration) {
        if let Ok(mut counts) = self.counts.lock() {
            counts
                .upstream
                .entry((provider.to_owned(), endpoint))
                .or_default()
                .observe(latency);
        }
    }

    /// The series in the text exposition format.
    pub fn render(&self, out: &mut String) {
        let Ok(counts) = self.counts.lock() else { return };
        out.push_str(
            "# HELP authsome_oauth_refreshes_total Resolves that needed a token refresh, by provider and outcome \
             (waited: another request's refresh served it).\n",
        );
        out.push_str("# TYPE authsome_oauth_refreshes_total counter\n");
        for ((provider, outcome), count) in &counts.outcomes {
            let _ = writeln!(
                out,
                "authsome_oauth_refreshes_total{{provider=\"{}\",outcome=\"{}\"}} {count}",
                escape(provider),
                outcome.as_str()
            );
        }
        out.push_str(
            "# HELP authsome_oauth_refresh_wait_seconds Time a resolve waited for another request's refresh of \
             the same connection.\n",
        );
        out.push_str("# TYPE authsome_oauth_refresh_wait_seconds histogram\n");
        counts.lock_wait.render(out, "authsome_oauth_refresh_wait_seconds", "");
        out.push_str(
            "# HELP authsome_oauth_upstream_seconds Time a provider's OAuth endpoint took to answer, by provider \
             and endpoint.\n",
        );
        out.push_str("# TYPE authsome_oauth_upstream_seconds histogram\n");
        for ((provider, endpoint), histogram) in &counts.upstream {
            let labels = format!("provider=\"{}\",endpoint=\"{endpoint}\"", escape(provider));
            histogram.render(out, "authsome_oauth_upstream_seconds", &labels);
        }
    }
}
