//! A person's browser session: the cookie that names it, the caller behind it, and the CSRF
//! token every cookie-authenticated write must echo.

use authsome_domain::BrowserSessionToken;
use poem::Request;
use poem::http::{Method, StatusCode};
use secrecy::ExposeSecret;

use super::{authenticate_pop, state_of, unauthorized};
use crate::http::errors::ApiError;
use authsome_services::ownership::{self, Authentication, Caller};

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "authsome_ui_session";
/// The header cookie-authenticated API calls that change state must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session token in the request's cookie, if any.
pub fn session_cookie(request: &Request) -> Option<BrowserSessionToken> {
    let header = request.headers().get("cookie")?.to_str().ok()?;
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then(|| BrowserSessionToken::from_cookie(value))
    })
}

/// The caller behind the request's browser session cookie, if the session is live.
pub async fn browser_caller(request: &Request) -> Result<Option<Caller>, ApiError> {
    let state = state_of(request)?;
    let Some(token) = session_cookie(request) else {
        return Ok(None);
    };
    let Some(session) = state.runtime.browser_sessions.get(&token).await? else {
        return Ok(None);
    };
    Ok(ownership::caller_from_browser_session(&state, &session).await?)
}

fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Constant-time string comparison (for CSRF tokens).
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Authenticates a route that accepts PoP or, without an `Authorization` header, a browser
/// session (which must echo its CSRF token in `X-CSRF-Token` on anything but a read).
pub async fn authenticate_pop_or_browser(request: &Request) -> Result<Caller, ApiError> {
    if request.headers().contains_key("authorization") {
        return authenticate_pop(request).await;
    }
    let Some(caller) = browser_caller(request).await? else {
        return Err(unauthorized("Missing or invalid browser session"));
    };
    if !is_safe_method(request.method()) {
        let sent = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let expected = match &caller.authentication {
            Authentication::Browser { csrf_token } => csrf_token.expose_secret().to_owned(),
            Authentication::Pop { .. } => String::new(),
        };
        if expected.is_empty() || !same_secret(sent, &expected) {
            return Err(ApiError::detail(StatusCode::FORBIDDEN, "Missing or invalid CSRF token"));
        }
    }
    Ok(caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
