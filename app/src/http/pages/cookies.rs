//! The browser-session cookie the pages set and clear, and reading a cookie back.

use poem::http::{HeaderValue, header};
use poem::{Request, Response};

use crate::http::caller::SESSION_COOKIE;
use crate::state::SharedState;

/// `Set-Cookie` for a new browser session.
pub fn session_cookie(state: &SharedState, token: &str) -> String {
    let secure = if state.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={token}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax{secure}",
        state.settings.policy.browser_session_ttl_seconds
    )
}

/// `Set-Cookie` that removes the browser session.
pub fn cleared_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax")
}

/// Adds a `Set-Cookie` header.
pub fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(super) fn cookie_value(request: &Request, name: &str) -> Option<String> {
    let header = request.headers().get(header::COOKIE)?.to_str().ok()?;
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}
