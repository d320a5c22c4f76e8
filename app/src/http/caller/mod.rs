//! Authenticating requests: proof-of-possession tokens and browser sessions, as poem-openapi
//! extractors that also document the security schemes in the OpenAPI document.
//!
//! - `pop`: an agent's signed request (the proof, its token id's single use, the quota);
//! - `browser_session`: a person's session cookie, and the CSRF token its writes carry;
//! - `extractors`: the caller types handlers take, one per way a route may be called.

mod browser_session;
mod extractors;
mod pop;

pub use browser_session::{
    CSRF_HEADER, SESSION_COOKIE, authenticate_pop_or_browser, browser_caller, same_secret, session_cookie,
};
pub use extractors::{AnyCaller, BrowserCaller, PopCaller, ResolvingCaller};
pub use pop::{UnconsumedTokenId, VerifiedPop, authenticate_pop, path_and_query};

use poem::Request;
use poem::http::StatusCode;

use crate::http::errors::ApiError;
use crate::state::SharedState;

/// The exact request body, captured by the body middleware so that proofs can hash it.
#[derive(Clone, Default)]
pub struct RawBody(pub bytes::Bytes);

/// The daemon state the request runs against (missing only through a wiring mistake).
fn state_of(request: &Request) -> Result<SharedState, ApiError> {
    request
        .data::<SharedState>()
        .cloned()
        .ok_or_else(|| ApiError::detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

/// A 401 with `message`.
fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::detail(StatusCode::UNAUTHORIZED, message)
}
