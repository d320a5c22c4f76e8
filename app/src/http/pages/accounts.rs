//! Sign-in, sign-up, password change and sign-out.

use poem::http::StatusCode;
use poem::{Request, Response};
use secrecy::SecretString;

use super::html::{escape, hidden, page};
use super::{
    CSRF_FIELD, cleared_session_cookie, encode_query, failure_page, form_fields, form_token, form_token_valid,
    missing_state, query_param, sanitize_next, see_other, session_cookie, session_token_valid, signed_in, state_of,
    with_cookie,
};
use crate::http::caller::session_cookie as session_cookie_token;
use crate::http::client_address::client_address;
use crate::http::errors::ApiError;
use authsome_services::accounts::{self, AccountError, AccountRefusal};

fn login_error_location(next: &str, error: &str, tab: &str, setup: Option<&str>) -> String {
    let mut pairs = vec![("next", next), ("error", error), ("tab", tab)];
    if let Some(setup) = setup.filter(|s| !s.is_empty()) {
        pairs.push(("setup", setup));
    }
    format!("/login?{}", encode_query(&pairs))
}

/// `GET /login`: the sign-in and sign-up forms.
pub(super) async fn login_page(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let next = sanitize_next(query_param(request, "next").as_deref());
    let setup = query_param(request, "setup").filter(|s| !s.is_empty() && s.len() <= 256);
    let error = query_param(request, "error");
    let register_first = setup.is_some() || query_param(request, "tab").as_deref() == Some("register");
    if setup.is_none()
        && let Ok(Some(_)) = signed_in(request).await
    {
        return see_other(&next);
    }
    let (token, new_cookie) = form_token(request, &state);
    let error_html = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(&e)))
        .unwrap_or_default();
    let login_form = format!(
        "<section class=\"tab\" id=\"login\"><h2>Sign in</h2>\
         <form method=\"post\" action=\"/api/auth/login\">{}{}\
         <label for=\"login-email\">Email</label><input id=\"login-email\" type=\"email\" name=\"email\" autocomplete=\"username\" required>\
         <label for=\"login-password\">Password</label><input id=\"login-password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form></section>",
        hidden("next", &next),
        hidden(CSRF_FIELD, &token),
    );
    let register_form = if state.settings.policy.open_signup || setup.is_some() {
        let intro = if setup.is_some() {
            "<p class=\"notice\">Choose the password for the account an administrator created for you.</p>"
        } else {
            ""
        };
        format!(
            "<section class=\"tab\" id=\"register\"><h2>Create an account</h2>{intro}\
             <form method=\"post\" action=\"/api/auth/register\">{}{}{}\
             <label for=\"register-email\">Email</label><input id=\"register-email\" type=\"email\" name=\"email\" autocomplete=\"username\" required>\
             <label for=\"register-password\">Password (at least {} characters)</label>\
             <input id=\"register-password\" type=\"password\" name=\"password\" autocomplete=\"new-password\" minlength=\"{}\" required>\
             <button type=\"submit\">Create account</button></form></section>",
            hidden("next", &next),
            hidden(CSRF_FIELD, &token),
            hidden("setup_token", setup.as_deref().unwrap_or("")),
            state.settings.policy.min_password_length,
            state.settings.policy.min_password_length,
        )
    } else {
        "<section class=\"tab\" id=\"register\"><h2>Create an account</h2><p class=\"muted\">Sign-up is closed on this server. \
         Ask an administrator for a setup link.</p></section>"
            .to_owned()
    };
    let sections = if register_first {
        format!("{register_form}{login_form}")
    } else {
        format!("{login_form}{register_form}")
    };
    let body = format!("<h1>authsome</h1>{error_html}{sections}");
    let response = page(StatusCode::OK, "Sign in", &body, false);
    match new_cookie {
        Some(cookie) => with_cookie(response, &cookie),
        None => response,
    }
}

fn account_failure(error: AccountError, refused: impl FnOnce(AccountRefusal) -> Response) -> Response {
    match error {
        AccountError::Refused(refusal) => refused(refusal),
        AccountError::Service(error) => failure_page(ApiError::from(error)),
    }
}

/// `POST /api/auth/login`.
pub(super) async fn login(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let fields = form_fields(request);
    let next = sanitize_next(fields.get("next").map(String::as_str));
    if !form_token_valid(request, &fields) {
        return see_other(&login_error_location(
            &next,
            "The form expired: please try again",
            "login",
            None,
        ));
    }
    let email = fields.get("email").cloned().unwrap_or_default();
    let password = SecretString::from(fields.get("password").cloned().unwrap_or_default());
    let client = client_address(request, &state.settings);
    match accounts::login(&state, &email, password, client).await {
        Ok(signed) => with_cookie(see_other(&next), &session_cookie(&state, signed.token.expose())),
        Err(error) => account_failure(error, |refusal| {
            see_other(&login_error_location(&next, &refusal.0, "login", None))
        }),
    }
}

/// `POST /api/auth/register`.
pub(super) async fn register(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let fields = form_fields(request);
    let next = sanitize_next(fields.get("next").map(String::as_str));
    let setup = fields.get("setup_token").map(String::as_str).filter(|s| !s.is_empty());
    if !form_token_valid(request, &fields) {
        return see_other(&login_error_location(
            &next,
            "The form expired: please try again",
            "register",
            setup,
        ));
    }
    let email = fields.get("email").cloned().unwrap_or_default();
    let password = SecretString::from(fields.get("password").cloned().unwrap_or_default());
    match accounts::register(&state, &email, password, setup).await {
        Ok(signed) => with_cookie(see_other(&next), &session_cookie(&state, signed.token.expose())),
        Err(error) => account_failure(error, |refusal| {
            see_other(&login_error_location(&next, &refusal.0, "register", setup))
        }),
    }
}

fn with_flag(next: &str, pair: (&str, &str)) -> String {
    let separator = if next.contains('?') { '&' } else { '?' };
    format!("{next}{separator}{}", encode_query(&[pair]))
}

/// `POST /api/auth/password`: changes the password and signs out every other session.
pub(super) async fn change_password(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let fields = form_fields(request);
    let next = sanitize_next(fields.get("next").map(String::as_str));
    let person = match signed_in(request).await {
        Ok(Some(person)) => person,
        Ok(None) => return see_other(&super::login_location(&next)),
        Err(error) => return failure_page(error),
    };
    if !session_token_valid(request, &fields, &person) {
        return failure_page(ApiError::detail(StatusCode::FORBIDDEN, "Missing or invalid CSRF token"));
    }
    let current = SecretString::from(fields.get("current_password").cloned().unwrap_or_default());
    let new_password = SecretString::from(fields.get("new_password").cloned().unwrap_or_default());
    match accounts::change_password(&state, &person.caller.principal_id, current, new_password).await {
        Ok(signed) => with_cookie(
            see_other(&with_flag(&next, ("password_changed", "1"))),
            &session_cookie(&state, signed.token.expose()),
        ),
        Err(error) => account_failure(error, |refusal| {
            see_other(&with_flag(&next, ("password_error", &refusal.0)))
        }),
    }
}

/// `POST /api/logout`: ends the session on every replica and clears the cookie.
pub(super) async fn logout(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let fields = form_fields(request);
    let return_url = sanitize_next(fields.get("return_url").map(String::as_str));
    match signed_in(request).await {
        Ok(Some(person)) => {
            if !session_token_valid(request, &fields, &person) {
                return failure_page(ApiError::detail(StatusCode::FORBIDDEN, "Missing or invalid CSRF token"));
            }
            if let Some(token) = session_cookie_token(request)
                && let Err(error) = state.runtime.browser_sessions.delete(&token).await
            {
                return failure_page(error.into());
            }
        }
        Ok(None) => {}
        Err(error) => return failure_page(error),
    }
    with_cookie(see_other(&return_url), &cleared_session_cookie())
}
