//! Prometheus metrics of this replica: request counts and latency histograms by method, route
//! pattern and status, and backend health probed at scrape time. Served at `GET /metrics` in
//! the text exposition format.
//!
//! Counters are per process on purpose (Prometheus scrapes every replica and sums); routes are
//! the matched patterns (`/api/connections/:provider/:connection`), never raw paths, so label
//! values stay few and no identifier or token reaches the metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use poem::http::{HeaderValue, header};
use poem::{IntoResponse, Request, Response, handler};

use crate::latency_histogram::{LatencyHistogram, escape};
use crate::state::SharedState;

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

/// `GET /metrics`.
#[handler]
pub async fn endpoint(request: &Request) -> Response {
    let Some(state) = request.data::<SharedState>().cloned() else {
        return poem::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut out = String::with_capacity(4096);
    state.metrics.render(&mut out);
    state.refresh_metrics.render(&mut out);
    out.push_str(
        "# HELP authsome_backend_up Whether a backend answered its probe during this scrape (1) or not (0).\n",
    );
    out.push_str("# TYPE authsome_backend_up gauge\n");
    for (backend, up) in crate::services::readiness::probe(&state, false).await.checks {
        let _ = writeln!(
            out,
            "authsome_backend_up{{backend=\"{}\"}} {}",
            escape(&backend),
            u8::from(up)
        );
    }
    out.push_str("# HELP authsome_build_info The running build.\n# TYPE authsome_build_info gauge\n");
    let _ = writeln!(
        out,
        "authsome_build_info{{version=\"{}\",protocol=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        crate::protocol::PROTOCOL_VERSION
    );
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
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
