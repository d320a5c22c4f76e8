//! The provider endpoints port: the HTTP exchanges an OAuth login has with a provider (token,
//! device authorization, registration, discovery and revocation endpoints).
//!
//! What to send and what an answer means are pure rules (`authsome_domain::oauth`); this port
//! only carries a request to the network and an answer back, within bounds.

use std::time::Duration;

use async_trait::async_trait;
use authsome_domain::oauth::ProviderAnswer;
use serde_json::{Map, Value};

use crate::BoxError;

/// What a request carries.
#[derive(Clone, Copy)]
pub enum EndpointBody<'a> {
    /// Nothing: the request is a GET (discovery).
    Empty,
    /// `application/x-www-form-urlencoded` fields: a POST (token, device, revocation).
    Form(&'a [(&'a str, &'a str)]),
    /// A JSON document: a POST (registration, and providers whose device grant takes JSON).
    Json(&'a Value),
}

/// One request to a provider endpoint. Form values and credentials are secrets (codes,
/// verifiers, refresh tokens, client secrets): nothing here prints them.
#[derive(Clone, Copy)]
pub struct EndpointRequest<'a> {
    /// The endpoint (http or https).
    pub url: &'a str,
    /// The body; its kind picks the method.
    pub body: EndpointBody<'a>,
    /// HTTP Basic client authentication (`client_secret_basic`): client id and secret.
    pub basic_auth: Option<(&'a str, &'a str)>,
}

impl std::fmt::Debug for EndpointRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointRequest")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// What the endpoint answered.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointReply {
    /// The HTTP status (a redirect is returned as it is, never followed).
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: Option<String>,
    /// The body, when it was a JSON object, or form fields (read into an object).
    pub json: Option<Map<String, Value>>,
}

impl EndpointReply {
    /// The answer as the OAuth rules read it.
    pub fn answer(&self) -> ProviderAnswer<'_> {
        ProviderAnswer {
            status: self.status,
            json: self.json.as_ref(),
            content_type: self.content_type.as_deref(),
        }
    }
}

/// Why a request got no answer. `Display` is fit for the person and the log: it never
/// carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The request was not sent: its URL is not allowed (plain http to a host that is not a
    /// loopback address without the operator's consent, or not an http(s) URL at all).
    #[error("{0}")]
    Refused(String),
    /// No complete answer within the time allowed.
    #[error("the provider did not answer within {} s", .0.as_secs())]
    TimedOut(Duration),
    /// The connection failed (DNS, refused, TLS).
    #[error("cannot reach the provider: {0}")]
    Unreachable(#[source] BoxError),
    /// The answer was larger than allowed.
    #[error("the provider's answer is larger than {0} bytes")]
    TooLarge(usize),
}

/// Speaks to providers' OAuth endpoints.
#[async_trait]
pub trait ProviderEndpoints: Send + Sync {
    /// Sends `request` (POST with a body, GET without) with `Accept: application/json`.
    ///
    /// - MUST NOT follow redirects: a 3xx comes back as the reply.
    /// - MUST bound the time to connect and to receive the whole answer, failing with
    ///   [`EndpointError::TimedOut`], and the answer's size, failing with
    ///   [`EndpointError::TooLarge`].
    /// - MUST refuse, without connecting, a URL that is not http(s), and a plain-http URL
    ///   whose host is not a loopback address unless the operator allowed it.
    /// - MUST read a JSON object (or form-encoded fields) into [`EndpointReply::json`] and
    ///   leave it `None` for anything else (an HTML error page).
    async fn send(&self, request: &EndpointRequest<'_>) -> Result<EndpointReply, EndpointError>;
}
