//! Counts of the requests this replica answered: by method, route pattern and status, with
//! latency histograms. The HTTP pipeline counts; `GET /metrics` renders. Kept outside `http`
//! so that the application state can hold it without depending on the HTTP layer.
//!
//! Counters are per process on purpose (Prometheus scrapes every replica and sums); routes are
//! the matched patterns (`/api/connections/:provider/:connection`), never raw paths, so label
//! values stay few and no identifier or token reaches the metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use authsome_services::latency_histogram::{LatencyHistogram, escape};

/// Series by method, then route pattern, then status: nested so that counting a request whose
/// series exists looks it up by `&str` and allocates nothing.
type SeriesByLabels = BTreeMap<String, BTreeMap<String, BTreeMap<u16, LatencyHistogram>>>;

/// Request counters and latency histograms.
#[derive(Default)]
pub struct HttpMetrics {
    series: Mutex<SeriesByLabels>,
}

impl HttpMetrics {
    /// Counts one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, latency: Duration) {
        let Ok(mut series) = self.series.lock() else { return };
        if !series.contains_key(method) {
            series.insert(method.to_owned(), BTreeMap::new());
        }
        let Some(by_route) = series.get_mut(method) else { return };
        if !by_route.contains_key(route) {
            by_route.insert(route.to_owned(), BTreeMap::new());
        }
        let Some(by_status) = by_route.get_mut(route) else {
            return;
        };
        by_status.entry(status).or_default().observe(latency);
    }

    fn snapshot(&self) -> BTreeMap<(String, String, u16), LatencyHistogram> {
        let Ok(series) = self.series.lock() else {
            return BTreeMap::new();
        };
        let mut flat = BTreeMap::new();
        for (method, by_route) in series.iter() {
            for (route, by_status) in by_route {
                for (status, one) in by_status {
                    flat.insert((method.clone(), route.clone(), *status), one.clone());
                }
            }
        }
        flat
    }

    /// The counters and histograms in the text exposition format.
    pub fn render(&self, out: &mut String) {
        let snapshot = self.snapshot();
        out.push_str("# HELP authsome_http_requests_total Requests answered, by method, route pattern and status.\n");
        out.push_str("# TYPE authsome_http_requests_total counter\n");
        for ((method, route, status), series) in &snapshot {
            let _ = writeln!(
                out,
                "authsome_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(method),
                escape(route),
                series.count
            );
        }
        out.push_str("# HELP authsome_http_request_duration_seconds Time to answer, by method and route pattern.\n");
        out.push_str("# TYPE authsome_http_request_duration_seconds histogram\n");
        let mut by_route: BTreeMap<(String, String), LatencyHistogram> = BTreeMap::new();
        for ((method, route, _), series) in snapshot {
            by_route.entry((method, route)).or_default().merge(&series);
        }
        for ((method, route), series) in &by_route {
            let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
            series.render(out, "authsome_http_request_duration_seconds", &labels);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let metrics = HttpMetrics::default();
        metrics.observe("GET", "/health", 200, Duration::from_micros(300));
        metrics.observe("GET", "/health", 200, Duration::from_millis(30));
        metrics.observe("GET", "/x\"y", 404, Duration::from_secs(20));
        let mut out = String::new();
        metrics.render(&mut out);
        assert!(
            out.contains("authsome_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2"),
            "{out}"
        );
        assert!(out.contains("route=\"/health\",le=\"0.0005\"} 1"), "{out}");
        assert!(out.contains("route=\"/health\",le=\"0.05\"} 2"), "{out}");
        assert!(out.contains("route=\"/health\",le=\"+Inf\"} 2"), "{out}");
        assert!(out.contains("route=\"/x\\\"y\",le=\"10\"} 0"), "{out}");
        assert!(
            out.contains("authsome_http_request_duration_seconds_count{method=\"GET\",route=\"/x\\\"y\"} 1"),
            "{out}"
        );
    }
}
