//! A Prometheus-style latency histogram (cumulative buckets, count and sum) and its text
//! exposition, shared by the HTTP request metrics and the OAuth refresh metrics.

use std::fmt::Write as _;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Counts of observations per bucket, their number and their sum.
#[derive(Debug, Default, Clone)]
pub struct LatencyHistogram {
    /// Observations.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum_seconds: f64,
    /// Cumulative counts per bucket bound.
    pub buckets: [u64; BUCKETS.len()],
}

impl LatencyHistogram {
    /// Counts one observation.
    pub fn observe(&mut self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        self.count += 1;
        self.sum_seconds += seconds;
        for (bound, bucket) in BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
    }

    /// Adds `other`'s observations to these.
    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.sum_seconds += other.sum_seconds;
        for (total, bucket) in self.buckets.iter_mut().zip(other.buckets) {
            *total += bucket;
        }
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines of metric `name` with `labels` (already
    /// escaped `k="v"` pairs, comma-separated, possibly empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let separator = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(self.buckets) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{separator}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{separator}le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum_seconds);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// A label value escaped for the text exposition format.
pub fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_unlabelled_series_render_plainly() {
        let mut histogram = LatencyHistogram::default();
        histogram.observe(Duration::from_micros(300));
        histogram.observe(Duration::from_millis(30));
        let mut out = String::new();
        histogram.render(&mut out, "x_seconds", "");
        assert!(out.contains("x_seconds_bucket{le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.05\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_count{} 2\n"), "{out}");
    }
}
