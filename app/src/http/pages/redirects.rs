//! Where the browser goes next: local return paths only, 303s, and the hand-over page to a
//! provider's sign-in that a form's CSP would otherwise stop.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};

use super::forms::encode_query;
use super::html;
use crate::state::SharedState;

/// A local path to return to (`authsome_domain::return_path`): anything a browser could read
/// as another site becomes `/`, so that a crafted link cannot send the person elsewhere after
/// signing in.
pub fn sanitize_next(next: Option<&str>) -> String {
    authsome_domain::return_path::ReturnPath::parse(next).into_string()
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

/// The sign-in page, returning to `next` afterwards.
pub fn login_location(next: &str) -> String {
    format!("/login?{}", encode_query(&[("next", next)]))
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
}
