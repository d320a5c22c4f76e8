//! The human side of the daemon: sign-up and sign-in, claiming an agent, typing an API key
//! for an agent's login, and a small home page. Server-rendered HTML with form posts (paths
//! and redirects as the reference's dashboard uses them), no scripts and no external assets.
//!
//! Every form that changes something carries a CSRF token: the browser session's own once
//! signed in, and before that a double-submit token in a short-lived `authsome_csrf` cookie.

mod accounts;
mod claims;
pub use claims::pending_claim;
mod home;
pub mod html;
mod provider_login;

use std::collections::HashMap;

use authsome_domain::random_token;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Request, Response};
use poem_openapi::param::Path;
use poem_openapi::registry::{MetaResponse, MetaResponses, Registry};
use poem_openapi::{ApiResponse, OpenApi};
use secrecy::ExposeSecret;

use crate::http::caller::{RawBody, SESSION_COOKIE, browser_caller, same_secret};
use crate::http::errors::ApiError;
use crate::state::SharedState;
use authsome_services::ownership::{Authentication, Caller};

/// The pre-session CSRF cookie of the sign-in and sign-up forms.
pub const FORM_TOKEN_COOKIE: &str = "authsome_csrf";
/// The hidden form field carrying a CSRF token.
pub const CSRF_FIELD: &str = "csrf_token";

/// A page or form response (HTML, or a redirect), as a hidden operation of the API service.
pub struct PageResponse(pub Response);

impl IntoResponse for PageResponse {
    fn into_response(self) -> Response {
        self.0
    }
}

impl ApiResponse for PageResponse {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "An HTML page or a redirect",
                status: None,
                status_range: Some("2XX".to_owned()),
                content: vec![],
                headers: vec![],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

/// The pages and form posts. Their operations are hidden from the OpenAPI document (they
/// serve browsers, not API clients), as the reference's are.
pub struct PagesApi;

#[OpenApi]
impl PagesApi {
    /// The home page.
    #[oai(path = "/", method = "get", hidden)]
    async fn home(&self, request: &Request) -> PageResponse {
        PageResponse(home::home(request).await)
    }

    /// Sign in and sign up.
    #[oai(path = "/login", method = "get", hidden)]
    async fn login_page(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::login_page(request).await)
    }

    /// Same as `/login`.
    #[oai(path = "/login/", method = "get", hidden)]
    async fn login_page_slash(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::login_page(request).await)
    }

    /// Sign-in form post.
    #[oai(path = "/api/auth/login", method = "post", hidden)]
    async fn login(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::login(request).await)
    }

    /// Sign-up form post.
    #[oai(path = "/api/auth/register", method = "post", hidden)]
    async fn register(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::register(request).await)
    }

    /// Password change form post.
    #[oai(path = "/api/auth/password", method = "post", hidden)]
    async fn change_password(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::change_password(request).await)
    }

    /// Sign-out form post.
    #[oai(path = "/api/logout", method = "post", hidden)]
    async fn logout(&self, request: &Request) -> PageResponse {
        PageResponse(accounts::logout(request).await)
    }

    /// The claim page.
    #[oai(path = "/claim", method = "get", hidden)]
    async fn claim_page(&self, request: &Request) -> PageResponse {
        PageResponse(claims::claim_page(request).await)
    }

    /// Same as `/claim`.
    #[oai(path = "/claim/", method = "get", hidden)]
    async fn claim_page_slash(&self, request: &Request) -> PageResponse {
        PageResponse(claims::claim_page(request).await)
    }

    /// The short claim link.
    #[oai(path = "/claim/:token", method = "get", hidden)]
    async fn claim_redirect(&self, token: Path<String>) -> PageResponse {
        PageResponse(claims::claim_redirect(&token.0))
    }

    /// Claim confirmation form post.
    #[oai(path = "/api/claim/:token/confirm", method = "post", hidden)]
    async fn confirm_claim(&self, request: &Request, token: Path<String>) -> PageResponse {
        PageResponse(claims::confirm(request, &token.0).await)
    }

    /// The API-key input form.
    #[oai(path = "/auth/input", method = "get", hidden)]
    async fn input_page(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::input_page(request).await)
    }

    /// Same as `/auth/input`.
    #[oai(path = "/auth/input/", method = "get", hidden)]
    async fn input_page_slash(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::input_page(request).await)
    }

    /// The API-key form post.
    #[oai(path = "/auth/input", method = "post", hidden)]
    async fn submit_input(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::submit_form(request).await)
    }

    /// Same as `POST /auth/input`.
    #[oai(path = "/auth/input/", method = "post", hidden)]
    async fn submit_input_slash(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::submit_form(request).await)
    }

    /// The API-key form post, addressed by session path.
    #[oai(path = "/api/auth/sessions/:session_id/input", method = "post", hidden)]
    async fn submit_session_input(&self, request: &Request, session_id: Path<String>) -> PageResponse {
        PageResponse(provider_login::submit_api(request, &session_id.0).await)
    }

    /// The end of a provider login.
    #[oai(path = "/auth/success", method = "get", hidden)]
    async fn success_page(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::success_page(request).await)
    }

    /// Same as `/auth/success`.
    #[oai(path = "/auth/success/", method = "get", hidden)]
    async fn success_page_slash(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::success_page(request).await)
    }

    /// Where OAuth providers return.
    #[oai(path = "/api/auth/callback/oauth", method = "get", hidden)]
    async fn oauth_callback(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::oauth_callback(request).await)
    }

    /// The device-code page.
    #[oai(path = "/auth/device", method = "get", hidden)]
    async fn device_page(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::device_page(request).await)
    }

    /// Same as `/auth/device`.
    #[oai(path = "/auth/device/", method = "get", hidden)]
    async fn device_page_slash(&self, request: &Request) -> PageResponse {
        PageResponse(provider_login::device_page(request).await)
    }

    /// The dashboard's Connect: a login started by the signed-in person.
    #[oai(path = "/api/auth/providers/:provider/connect", method = "post", hidden)]
    async fn connect(&self, request: &Request, provider: Path<String>) -> PageResponse {
        PageResponse(provider_login::connect(request, &provider.0).await)
    }
}

/// The daemon state a page handler runs against.
fn state_of(request: &Request) -> Option<SharedState> {
    request.data::<SharedState>().cloned()
}

/// The page when the state is missing (a wiring mistake, never a client's doing).
fn missing_state() -> Response {
    failure_page(ApiError::detail(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
    ))
}

/// The fields of a URL-encoded form body (captured by the body middleware). Repeated names
/// keep their first value.
pub fn form_fields(request: &Request) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return fields;
    }
    if let Some(RawBody(body)) = request.extensions().get::<RawBody>() {
        for (name, value) in form_urlencoded::parse(body) {
            fields.entry(name.into_owned()).or_insert_with(|| value.into_owned());
        }
    }
    fields
}

/// A query parameter's decoded value.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

/// `a=b&c=d`, percent-encoded.
pub fn encode_query(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// A local path to return to: anything not starting with a single `/` becomes `/`, so that a
/// crafted link cannot send the person to another site after signing in.
pub fn sanitize_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.contains(['\r', '\n']) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// A 303 to `location`.
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    html::with_page_headers(response)
}

/// Where a form's answer sends the browser. One of our pages is a 303. Anywhere else (a
/// provider's sign-in) is a short page that moves on by itself (`Refresh`) and links there:
/// browsers apply the pages' `form-action 'self'` to the redirects of a form submission too,
/// so a 303 from a form to the provider would be stopped (Chromium does).
pub fn after_form(state: &SharedState, location: &str) -> Response {
    let ours = (location.starts_with('/') && !location.starts_with("//") && !location.starts_with("/\\"))
        || location.starts_with(&state.url("/"));
    if ours {
        return see_other(location);
    }
    let body = format!(
        "<h1>Opening the provider's sign-in</h1><p>If nothing happens, continue there yourself:</p>\
         <p><a class=\"button\" href=\"{}\" rel=\"noopener noreferrer\">Continue</a></p>",
        html::escape(location)
    );
    let mut response = html::page(StatusCode::OK, "Continue to the provider", &body, false);
    if let Ok(value) = HeaderValue::from_str(&format!("0; url={location}")) {
        response.headers_mut().insert("refresh", value);
    }
    response
}

/// `Set-Cookie` for a new browser session.
pub fn session_cookie(state: &SharedState, token: &str) -> String {
    let secure = if state.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={token}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax{secure}",
        state.settings.browser_session_ttl_seconds
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

fn cookie_value(request: &Request, name: &str) -> Option<String> {
    let header = request.headers().get(header::COOKIE)?.to_str().ok()?;
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}

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

/// Whether a form (or `X-CSRF-Token` header) carries the session's CSRF token.
pub fn session_token_valid(request: &Request, fields: &HashMap<String, String>, person: &SignedIn) -> bool {
    let sent = fields
        .get(CSRF_FIELD)
        .cloned()
        .or_else(|| {
            request
                .headers()
                .get(crate::http::caller::CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    !person.csrf_token.is_empty() && same_secret(&sent, &person.csrf_token)
}

/// The sign-in page, returning to `next` afterwards.
pub fn login_location(next: &str) -> String {
    format!("/login?{}", encode_query(&[("next", next)]))
}

/// An error as a page: the message the JSON API would give, never internals.
pub fn failure_page(error: ApiError) -> Response {
    let status = error.status();
    let message = error.message().unwrap_or("Something went wrong").to_owned();
    let title = if status.is_server_error() {
        "Something went wrong"
    } else {
        "This did not work"
    };
    html::page(
        status,
        title,
        &format!(
            "<h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/\">Home</a></p>",
            html::escape(title),
            html::escape(&message)
        ),
        false,
    )
}

/// Whether the client is a browser asking for a page.
pub fn html_expected(request: &Request) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Whether the client asked for JSON rather than a page.
pub fn wants_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("text/html"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(sanitize_next(Some("/claim?token=x")), "/claim?token=x");
        assert_eq!(sanitize_next(Some("//evil.example")), "/");
        assert_eq!(sanitize_next(Some("/\\evil.example")), "/");
        assert_eq!(sanitize_next(Some("https://evil.example")), "/");
        assert_eq!(sanitize_next(Some("/a\r\nSet-Cookie: x")), "/");
        assert_eq!(sanitize_next(None), "/");
    }

    #[test]
    fn queries_round_trip() {
        let query = encode_query(&[("next", "/claim?token=a b&c")]);
        assert_eq!(query, "next=%2Fclaim%3Ftoken%3Da+b%26c");
        let request = Request::builder().uri_str(format!("/login?{query}")).finish();
        assert_eq!(query_param(&request, "next").as_deref(), Some("/claim?token=a b&c"));
    }
}
