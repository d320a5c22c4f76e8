//! Errors as pages, and telling a browser that wants a page from a client that wants JSON.

use poem::http::header;
use poem::{Request, Response};

use super::html;
use crate::http::errors::ApiError;

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
