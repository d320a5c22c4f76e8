//! CSRF tokens on every form that changes something: before sign-in a double-submit token in
//! a short-lived `authsome_csrf` cookie, once signed in the browser session's own token (in
//! the form, or the `X-CSRF-Token` header).

use std::collections::HashMap;

use authsome_domain::random_token;
use poem::Request;

use super::cookies::cookie_value;
use super::signed_in::SignedIn;
use crate::http::caller::{CSRF_HEADER, same_secret};
use crate::state::SharedState;

/// The pre-session CSRF cookie of the sign-in and sign-up forms.
pub const FORM_TOKEN_COOKIE: &str = "authsome_csrf";
/// The hidden form field carrying a CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

/// The pre-session form token of this browser, and the cookie to set when it is new.
pub fn form_token(request: &Request, state: &SharedState) -> (String, Option<String>) {
    match cookie_value(request, FORM_TOKEN_COOKIE).filter(|t| t.len() >= 32 && t.len() <= 128) {
        Some(token) => (token, None),
        None => {
            let token = random_token::url_safe(32);
            let secure = if state.settings.secure_cookies() {
                "; Secure"
            } else {
                ""
            };
            let cookie =
                format!("{FORM_TOKEN_COOKIE}={token}; Max-Age=3600; Path=/; HttpOnly; SameSite=Strict{secure}");
            (token, Some(cookie))
        }
    }
}

/// Whether the form's token matches the browser's pre-session token.
pub fn form_token_valid(request: &Request, fields: &HashMap<String, String>) -> bool {
    match (cookie_value(request, FORM_TOKEN_COOKIE), fields.get(CSRF_FIELD)) {
        (Some(cookie), Some(sent)) => !cookie.is_empty() && same_secret(&cookie, sent),
        _ => false,
    }
}

/// Whether a form (or `X-CSRF-Token` header) carries the session's CSRF token.
pub fn session_token_valid(request: &Request, fields: &HashMap<String, String>, person: &SignedIn) -> bool {
    let sent = fields
        .get(CSRF_FIELD)
        .cloned()
        .or_else(|| {
            request
                .headers()
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    !person.csrf_token.is_empty() && same_secret(&sent, &person.csrf_token)
}
