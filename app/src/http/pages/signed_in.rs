//! The person signed in through a request's browser-session cookie.

use poem::Request;
use secrecy::ExposeSecret;

use crate::http::caller::browser_caller;
use crate::http::errors::ApiError;
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
