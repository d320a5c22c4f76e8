//! The person signed in through a request's browser-session cookie.

use std::collections::HashMap;

use poem::http::StatusCode;
use poem::{Request, Response};
use secrecy::ExposeSecret;

use super::csrf::session_token_valid;
use super::failures::failure_page;
use super::forms::form_fields;
use super::redirects::{login_location, see_other};
use super::{missing_state, state_of};
use crate::http::caller::browser_caller;
use crate::http::errors::ApiError;
use crate::state::SharedState;
use authsome_services::ownership::{Authentication, Caller};

/// The signed-in person and their session's CSRF token.
pub struct SignedIn {
    /// The principal acting.
    pub caller: Caller,
    /// The session's CSRF token, for forms.
    pub csrf_token: String,
}

/// The person signed in through this request's session cookie, if any.
pub async fn signed_in(request: &Request) -> Result<Option<SignedIn>, ApiError> {
    let Some(caller) = browser_caller(request).await? else {
        return Ok(None);
    };
    let csrf_token = match &caller.authentication {
        Authentication::Browser { csrf_token } => csrf_token.expose_secret().to_owned(),
        Authentication::Pop { .. } => String::new(),
    };
    Ok(Some(SignedIn { caller, csrf_token }))
}

/// The person signed in, or the response that sends them to sign in first and back to this
/// page afterwards.
pub async fn signed_in_or_sign_in(request: &Request) -> Result<SignedIn, Response> {
    match signed_in(request).await {
        Ok(Some(person)) => Ok(person),
        Ok(None) => {
            let here = request.uri().path_and_query().map_or("/", |p| p.as_str());
            Err(see_other(&login_location(here)))
        }
        Err(error) => Err(failure_page(error)),
    }
}

/// A dashboard form post: the daemon state, the signed-in person and the form's fields, once
/// the form carried the session's CSRF token (otherwise the 403 page).
pub async fn checked_form(request: &Request) -> Result<(SharedState, SignedIn, HashMap<String, String>), Response> {
    let Some(state) = state_of(request) else {
        return Err(missing_state());
    };
    let person = signed_in_or_sign_in(request).await?;
    let fields = form_fields(request);
    if !session_token_valid(request, &fields, &person) {
        return Err(failure_page(ApiError::detail(
            StatusCode::FORBIDDEN,
            "Missing or invalid CSRF token",
        )));
    }
    Ok((state, person, fields))
}
