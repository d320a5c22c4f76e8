//! OAuth 2.0 as a client, as pure rules: PKCE (RFC 7636), the authorization request, token
//! responses (RFC 6749 §5), the device authorization grant (RFC 8628), dynamic client
//! registration (RFC 7591) and authorization server discovery (RFC 8414, OpenID Connect
//! Discovery). Nothing here sends a request: the application sends what these functions
//! describe and hands back what the provider answered, as a status and a JSON object.
//!
//! Wire details follow authsome 0.7.2, whose CLI and stored records we stay compatible with:
//! parameter order in the authorization URL, the form fields of each grant, `Bearer` when a
//! provider names no token type.

pub mod authorization;
pub mod device;
pub mod pkce;
pub mod refresh;
pub mod registration;
pub mod token;

pub use authorization::{AuthorizationRequest, authorization_url, expand_base_url};
pub use device::{DeviceAuthorization, DevicePoll};
pub use pkce::{PkceVerifier, new_state};
pub use registration::{RegisteredClient, discovery_urls};
pub use token::{TokenAnswerError, TokenGrant};

use serde_json::{Map, Value};

use crate::visible_text::{Reading, visible};

/// What a provider's endpoint answered: the status, the body when it was a JSON object, and
/// otherwise what it was (for a message). Bodies are bounded by whoever read them.
#[derive(Debug, Clone, Copy)]
pub struct ProviderAnswer<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The body, when it is a JSON object (or a form-encoded one, read into an object).
    pub json: Option<&'a Map<String, Value>>,
    /// The `Content-Type`, for saying what came instead of JSON.
    pub content_type: Option<&'a str>,
}

impl ProviderAnswer<'_> {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `error` and `error_description` of an RFC 6749 §5.2 error answer.
    pub fn oauth_error(&self) -> Option<(String, Option<String>)> {
        let body = self.json?;
        let error = text(body, "error")?;
        Some((short(error), text(body, "error_description").map(short)))
    }

    /// What came instead of a JSON object, in words.
    fn described(&self) -> String {
        match self.content_type {
            Some(kind) if !kind.trim().is_empty() => short(kind.split(';').next().unwrap_or(kind)),
            _ => "no content type".to_owned(),
        }
    }
}

/// A string member of a provider's JSON answer.
fn text<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// An integer member that providers send as a number or a string (`"3600"`).
fn integer(body: &Map<String, Value>, name: &str) -> Option<i64> {
    match body.get(name)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Shortens provider-written text before it is shown, with its invisible and
/// direction-changing characters escaped: a provider's error description must not carry a
/// page of HTML, or text that reverses the message around it, into a session's error or a
/// log line.
fn short(text: &str) -> String {
    const LIMIT: usize = 200;
    let text = text.trim();
    if text.len() <= LIMIT {
        return visible(text, Reading::Text);
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", visible(&text[..end], Reading::Text))
}
