//! What every request passes through, outermost first: a request id and one access-log line,
//! panic containment (an opaque 500, the process keeps serving), JSON errors for anything the
//! routes did not answer themselves, and body capture (bounded, so that proofs can hash the
//! exact bytes and no request can make the server buffer more than the limit).

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::PathPattern;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use crate::http::caller::RawBody;
use crate::http::errors::ApiError;
use crate::http::pages;
use crate::settings::MAX_BODY_BYTES;
use crate::state::SharedState;

/// The request id header (accepted from a proxy when well-formed, always returned).
pub(super) const REQUEST_ID_HEADER: &str = "x-request-id";

fn incoming_request_id(request: &Request) -> Option<String> {
    let value = request.headers().get(REQUEST_ID_HEADER)?.to_str().ok()?;
    let well_formed = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    well_formed.then(|| value.to_owned())
}

/// A request id: 32 hex digits, a random per-process prefix and a counter. Ids only need to
/// be unique across replicas, not unpredictable, and this costs no system call per request
/// (a fresh v4 UUID asked the kernel for randomness every time).
fn new_request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    format!("{prefix:016x}{:016x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The path as logged: claim tokens and login-session ids are bearer secrets (a session id
/// opens its input page to whoever holds it) and are replaced; the query (session ids, setup
/// tokens) is never logged.
pub(super) fn loggable_path(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::with_capacity(segments.len());
    let mut previous = "";
    for segment in segments {
        if previous == "claim" && !segment.is_empty() {
            out.push("{token}");
        } else if (previous == "sessions" && !segment.is_empty()) || segment.starts_with("sess_") {
            out.push("{session}");
        } else {
            out.push(segment);
        }
        previous = segment;
    }
    out.join("/")
}

/// Request id, span and one log line per request.
pub(super) async fn log_request<E: Endpoint>(inner: Arc<E>, request: Request) -> poem::Result<Response> {
    let id = incoming_request_id(&request).unwrap_or_else(new_request_id);
    let method = request.method().clone();
    // A cheap clone (the URI shares hyper's buffer); the loggable path is only built when a
    // log line is actually written.
    let uri = request.uri().clone();
    let state = request.data::<SharedState>().cloned();
    let started = Instant::now();
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        request_id = %id,
        http.request.method = %method,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
    );
    crate::telemetry::continue_trace(&span, request.headers());
    let result = inner.call(request).instrument(span.clone()).await;
    let mut response = match result {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    // The matched route pattern, never the raw path (bounded label values, no identifiers).
    let pattern = response.data::<PathPattern>().map(|pattern| pattern.0.clone());
    let route: &str = match pattern.as_deref() {
        Some(pattern) if !pattern.is_empty() => pattern,
        _ => "unmatched",
    };
    if let Some(state) = state {
        state.metrics.observe(method.as_str(), route, status, elapsed);
    }
    // Disabled when neither the log filter nor a trace exporter wants request spans (the
    // default): then there is nothing to name or record.
    if !span.is_disabled() {
        crate::telemetry::name_span(&span, format!("{method} {route}"));
        span.record("http.route", route);
        span.record("http.response.status_code", i64::from(status));
    }
    // Field values are only evaluated when the line is written.
    if status >= 500 {
        tracing::warn!(request_id = %id, %method, %route, path = %loggable_path(uri.path()), status, latency_ms, "request");
    } else if status == 429 {
        // Refused as one of too many: a flood would otherwise write a line per request. The
        // refusing code writes a summary (who, and how many since the last one) instead.
        tracing::debug!(request_id = %id, %method, %route, path = %loggable_path(uri.path()), status, latency_ms, "request");
    } else {
        tracing::info!(request_id = %id, %method, %route, path = %loggable_path(uri.path()), status, latency_ms, "request");
    }
    Ok(response)
}

/// The 500 for a panic. The panic's message goes to the log (the default hook already prints
/// it), never to the client.
pub(super) fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response()
}

fn too_large() -> Response {
    ApiError::detail(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Request body is larger than {MAX_BODY_BYTES} bytes"),
    )
    .into_response()
}

/// How long a body may take to arrive when the settings are not at hand (tests of the
/// pipeline alone); the server's is `AUTHSOME_HTTP_BODY_TIMEOUT_SECONDS`.
const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads the body once, up to [`MAX_BODY_BYTES`] and within the body timeout, keeps the exact
/// bytes for proof checks and hands the same bytes on to the route.
pub(super) async fn capture_body<E: Endpoint>(inner: Arc<E>, mut request: Request) -> poem::Result<Response> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Ok(too_large());
    }
    // A body trickled in (or never finished) would hold its connection and handler forever.
    let body_timeout = request.data::<SharedState>().map_or(DEFAULT_BODY_TIMEOUT, |state| {
        Duration::from_secs(state.settings.connections.body_timeout_seconds)
    });
    let body = request.take_body();
    let Ok(read) = tokio::time::timeout(body_timeout, body.into_bytes_limit(MAX_BODY_BYTES)).await else {
        let mut response = ApiError::detail(
            StatusCode::REQUEST_TIMEOUT,
            format!("The request body did not arrive within {} s", body_timeout.as_secs()),
        )
        .into_response();
        // The rest of the body may still be on its way: this connection cannot carry another
        // request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Ok(response);
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => return Ok(too_large()),
        Err(error) => {
            tracing::debug!(%error, "could not read a request body");
            return Ok(ApiError::detail(StatusCode::BAD_REQUEST, "Could not read the request body").into_response());
        }
    };
    request.extensions_mut().insert(RawBody(bytes.clone()));
    request.set_body(bytes);
    inner.call(request).await.map(IntoResponse::into_response)
}

/// A page's address without its trailing slash (`/login/` → `/login`), `/` itself excepted;
/// `None` when nothing changes. API paths are exact and Swagger UI serves its own tree, so
/// neither is touched.
fn page_path_without_slash(path: &str, query: Option<&str>) -> Option<String> {
    let untouched =
        path == "/" || !path.ends_with('/') || path.starts_with("/api/") || path.starts_with(crate::http::DOCS_PATH);
    if untouched {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    Some(match query {
        Some(query) => format!("{trimmed}?{query}"),
        None => trimmed.to_owned(),
    })
}

/// Pages answer with or without a trailing slash: the reference's dashboard spells its pages
/// `/login/`, `/audit/`, ..., and links and bookmarks use both forms, while the router
/// matches exact paths.
pub(super) async fn page_paths<E: Endpoint>(inner: Arc<E>, mut request: Request) -> poem::Result<Response> {
    if let Some(path) = page_path_without_slash(request.uri().path(), request.uri().query())
        && let Ok(uri) = path.parse::<poem::http::Uri>()
    {
        *request.uri_mut() = uri;
    }
    inner.call(request).await.map(IntoResponse::into_response)
}

/// Errors no route turned into a response (unknown paths, wrong methods, unreadable
/// parameters): JSON for the API, a page for browsers.
pub(super) async fn json_errors<E: Endpoint>(inner: Arc<E>, request: Request) -> poem::Result<Response> {
    let is_api = request.uri().path().starts_with("/api/") || !pages::html_expected(&request);
    let path = request.uri().path().to_owned();
    match inner.call(request).await {
        Ok(response) => Ok(response.into_response()),
        Err(error) if error.is_from_response() => Ok(error.into_response()),
        Err(error) => {
            let pattern = error.data::<PathPattern>().cloned();
            let with_pattern = |mut response: Response| {
                if let Some(pattern) = pattern.clone() {
                    response.set_data(pattern);
                }
                response
            };
            if let Some(invalid) = crate::http::errors::validation_error(&error) {
                return Ok(with_pattern(invalid.into_response()));
            }
            let status = error.status();
            let message = match status {
                StatusCode::NOT_FOUND => "Not Found".to_owned(),
                StatusCode::METHOD_NOT_ALLOWED => "Method Not Allowed".to_owned(),
                StatusCode::PAYLOAD_TOO_LARGE => return Ok(too_large()),
                status if status.is_server_error() => {
                    tracing::error!(error = %error, "request failed");
                    "Internal Server Error".to_owned()
                }
                _ => error.to_string(),
            };
            let api_error = ApiError::detail(status, message);
            let mut response = if is_api {
                with_pattern(api_error.into_response())
            } else {
                with_pattern(pages::failure_page(api_error))
            };
            if status == StatusCode::METHOD_NOT_ALLOWED
                && let Some(allow) = crate::http::allowed_methods::allow_header(&path)
                && let Ok(value) = poem::http::HeaderValue::from_str(&allow)
            {
                response.headers_mut().insert(poem::http::header::ALLOW, value);
            }
            Ok(response)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_lose_their_trailing_slash_and_the_api_keeps_its_paths() {
        assert_eq!(page_path_without_slash("/login/", None).as_deref(), Some("/login"));
        assert_eq!(
            page_path_without_slash("/audit/", Some("identity=a")).as_deref(),
            Some("/audit?identity=a")
        );
        assert_eq!(page_path_without_slash("//", None).as_deref(), Some("/"));
        assert_eq!(page_path_without_slash("/", None), None);
        assert_eq!(page_path_without_slash("/login", None), None);
        assert_eq!(page_path_without_slash("/api/whoami/", None), None);
        assert_eq!(page_path_without_slash("/docs/", None), None);
    }

    #[test]
    fn claim_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/claim/abc123"), "/claim/{token}");
        assert_eq!(loggable_path("/api/claim/abc123/confirm"), "/api/claim/{token}/confirm");
        assert_eq!(loggable_path("/claim"), "/claim");
        assert_eq!(loggable_path("/api/whoami"), "/api/whoami");
    }

    #[test]
    fn login_session_ids_never_reach_the_log() {
        assert_eq!(
            loggable_path("/api/auth/sessions/sess_abc123/resume"),
            "/api/auth/sessions/{session}/resume"
        );
        assert_eq!(
            loggable_path("/api/auth/sessions/sess_abc123"),
            "/api/auth/sessions/{session}"
        );
        assert_eq!(loggable_path("/api/auth/sessions"), "/api/auth/sessions");
        assert_eq!(loggable_path("/auth/sess_abc123/anything"), "/auth/{session}/anything");
    }

    #[test]
    fn generated_request_ids_are_distinct_and_shaped_like_before() {
        let (first, second) = (new_request_id(), new_request_id());
        assert_ne!(first, second);
        for id in [&first, &second] {
            assert_eq!(id.len(), 32);
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
        assert_eq!(first[..16], second[..16], "one prefix per process");
    }

    #[test]
    fn request_ids_from_proxies_must_be_plain() {
        let good = Request::builder().header(REQUEST_ID_HEADER, "abc-123_x.y").finish();
        assert_eq!(incoming_request_id(&good).as_deref(), Some("abc-123_x.y"));
        let bad = Request::builder()
            .header(REQUEST_ID_HEADER, "abc\" injected=1")
            .finish();
        assert_eq!(incoming_request_id(&bad), None);
    }
}
