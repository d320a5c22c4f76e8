//! The HTTP layer: the reference daemon's routes on poem + poem-openapi, the browser pages,
//! and the request pipeline every request passes through (request id and access log, panic
//! containment, body capture with a size limit, JSON errors).
//!
//! Handlers only translate between HTTP and the [services](authsome_services); they hold no
//! state of their own beyond the shared [`AppState`](crate::state::AppState).

mod allowed_methods;
pub mod api;
pub mod caller;
pub mod client_address;
pub mod errors;
pub mod metrics;
pub mod pages;
mod pipeline;
pub mod server;

use poem::middleware::CatchPanic;
use poem::{Endpoint, EndpointExt, Route};

use crate::state::SharedState;

/// The path of the committed OpenAPI document's live copy.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// Where Prometheus scrapes (when `AUTHSOME_METRICS` is on).
pub const METRICS_PATH: &str = "/metrics";
/// Where Swagger UI is served (when `AUTHSOME_API_DOCS` is on).
pub const DOCS_PATH: &str = "/docs";

/// The whole daemon as one endpoint over `state`.
pub fn endpoint(state: SharedState) -> impl Endpoint<Output = poem::Response> {
    let api = api::service();
    let mut route = Route::new();
    if state.settings.api_docs {
        route = route.nest(DOCS_PATH, api.swagger_ui()).at(
            OPENAPI_PATH,
            poem::get(poem::endpoint::make_sync(|_| {
                poem::Response::builder()
                    .content_type("application/json; charset=utf-8")
                    .body(api::document())
            })),
        );
    }
    if state.settings.metrics {
        route = route.at(METRICS_PATH, poem::get(metrics::endpoint));
    }
    route
        .nest("/", api)
        .around(pipeline::page_paths)
        .around(pipeline::capture_body)
        .around(pipeline::json_errors)
        .with(CatchPanic::new().with_handler(pipeline::panic_response))
        .around(pipeline::log_request)
        .data(state)
        .map_to_response()
}
