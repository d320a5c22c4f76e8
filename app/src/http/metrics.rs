//! `GET /metrics`: this replica's request counts (`crate::request_metrics`), its token refresh
//! counts, and backend health probed at scrape time, in the Prometheus text exposition format.

use std::fmt::Write as _;

use poem::http::{HeaderValue, header};
use poem::{IntoResponse, Request, Response, handler};

use crate::state::SharedState;
use authsome_services::latency_histogram::escape;

/// `GET /metrics`.
#[handler]
pub(crate) async fn endpoint(request: &Request) -> Response {
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
    for (backend, up) in authsome_services::readiness::probe(&state, false).await.checks {
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
