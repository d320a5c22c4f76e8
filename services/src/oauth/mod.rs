//! OAuth 2.0 and browser-cookie logins: what `authsome login <provider>` starts for the 41
//! providers that are not API-key ones, and the dashboard's Connect button.
//!
//! - [`code_flow`]: the authorization code grant with PKCE, with a client an admin configured
//!   or one registered for this server on the spot (RFC 7591, `dcr_pkce`);
//! - [`device`]: the device authorization grant (RFC 8628), polled by whichever replica's turn
//!   it is, from a schedule and a lease in the shared store;
//! - [`cookies`]: the CLI reads a browser's cookies and hands them over;
//! - [`client`]: the provider's server-scope configuration (client, base URL, scopes) and the
//!   inputs a login must ask for when it is missing.
//!
//! Every piece of a login's state lives in the shared runtime store: a login started on one
//! replica finishes on any other. Secret parts (verifier, device code, registered client
//! secret) sit in the session's sealed secrets. Provider exchanges go through the
//! [`ProviderEndpoints`](authsome_ports::ProviderEndpoints) port, asynchronous and bounded.

pub mod client;
pub mod code_flow;
pub mod cookies;
pub mod device;
pub mod metrics;
pub mod refresh;
pub mod revocation;

use authsome_domain::credential_records::ConnectionRecord;
use authsome_domain::oauth::TokenGrant;
use authsome_domain::provider_definition::AuthType;
use authsome_domain::{AuthSession, Timestamp};
use authsome_ports::EndpointError;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::context::ServiceContext;
use crate::{AuthsomeError, ServiceError};

/// Where every provider sends the person back: `{base}/api/auth/callback/oauth`.
pub fn callback_url(state: &ServiceContext) -> String {
    state.url("/api/auth/callback/oauth")
}

/// The scopes the login asked for (`login --scopes`, or the input page), if any.
pub fn requested_scopes(session: &AuthSession) -> Option<Vec<String>> {
    let scopes: Vec<String> = session
        .payload
        .get("requested_scopes")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    (!scopes.is_empty()).then_some(scopes)
}

/// The base URL the login asked for (`login --base-url`), if any.
pub fn requested_base_url(session: &AuthSession) -> Option<&str> {
    session
        .payload
        .get("base_url")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|url| !url.is_empty())
}

/// A login failure the person can act on: `AuthenticationFailedError` with `reason`.
pub fn failed(session: &AuthSession, reason: impl AsRef<str>) -> ServiceError {
    AuthsomeError::authentication_failed(reason.as_ref(), session.provider.as_str()).into()
}

/// A failed exchange with a provider endpoint, in words (never a secret).
pub fn exchange_failed(session: &AuthSession, what: &str, error: &EndpointError) -> ServiceError {
    failed(session, format!("{what} failed: {error}"))
}

/// The connection a grant makes, as the reference stores it.
pub fn oauth_record(
    session: &AuthSession,
    grant: &TokenGrant,
    scopes: &[String],
    base_url: Option<String>,
    api_url: Option<String>,
) -> ConnectionRecord {
    let now = Timestamp::now();
    let mut record = ConnectionRecord::connected(
        session.provider.as_str(),
        session.connection_name.as_str(),
        AuthType::Oauth2,
    );
    record.scopes = Some(scopes.to_vec());
    record.access_token = Some(grant.access_token.expose_secret().to_owned());
    record.refresh_token = grant.refresh_token.as_ref().map(|t| t.expose_secret().to_owned());
    record.token_type = Some(grant.token_type.clone());
    record.expires_at = grant.expires_in.map(|seconds| now.plus_seconds(seconds));
    record.obtained_at = Some(now);
    record.base_url = base_url;
    record.api_url = api_url;
    let mut metadata = Map::new();
    metadata.insert("callback_handled_by".to_owned(), Value::from("runtime"));
    record.metadata = metadata;
    record
}
