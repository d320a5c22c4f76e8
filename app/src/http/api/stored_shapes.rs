//! The schemas of the stored shapes the API hands back as they are: a provider definition and
//! a connection record, in the reference's JSON forms (see [`super::documented`]). These
//! objects are only documentation: the values on the wire are the domain's serde forms, which
//! also carry any field this server does not know.

use std::collections::BTreeMap;

use poem_openapi::Object;

use crate::http::api::strict_json::TextOrList;
use serde_json::Value;

use crate::http::api::wire_enums::{AuthType, ConnectionStatus, FlowType};

/// OAuth 2.0 settings of a provider.
#[derive(Object)]
pub struct OAuthSettings {
    /// Where the browser is sent to authorise (may contain `{base_url}`).
    pub authorization_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// The RFC 7009 revocation endpoint.
    #[oai(nullable)]
    pub revocation_url: Option<String>,
    /// The RFC 8628 device authorization endpoint.
    #[oai(nullable)]
    pub device_authorization_url: Option<String>,
    /// How device-code token requests are sent (`oauth2_form` by default).
    pub device_token_request: Option<String>,
    /// Scopes requested by default.
    pub scopes: Option<Vec<String>>,
    /// Extra authorization request parameters.
    pub authorization_params: Option<BTreeMap<String, Value>>,
    /// Whether PKCE is used (default true).
    pub pkce: Option<bool>,
    /// Whether the device-code flow is offered.
    pub supports_device_code: Option<bool>,
    /// Whether dynamic client registration is offered.
    pub supports_dcr: Option<bool>,
    /// The base address of a self-hosted provider.
    #[oai(nullable)]
    pub base_url: Option<String>,
    /// How the client authenticates at the token endpoint (`body` or `basic`).
    pub authorization_method: Option<String>,
}

/// Dynamic client registration settings.
#[derive(Object)]
pub struct RegistrationSettings {
    /// The RFC 7591 registration endpoint.
    #[oai(nullable)]
    pub registration_endpoint: Option<String>,
}

/// How an API key is sent.
#[derive(Object)]
pub struct ApiKeySettings {
    /// The header (`Authorization` by default).
    pub header_name: Option<String>,
    /// The value's prefix (`Bearer` by default; null for none).
    #[oai(nullable)]
    pub header_prefix: Option<String>,
    /// A regular expression keys must match.
    #[oai(nullable)]
    pub key_pattern: Option<String>,
    /// What to tell a person whose key does not match.
    #[oai(nullable)]
    pub key_pattern_hint: Option<String>,
}

/// Environment variables an export writes.
#[derive(Object)]
pub struct ExportSettings {
    /// Variable name by credential field.
    pub env: Option<BTreeMap<String, Value>>,
}

/// A header built from a cookie.
#[derive(Object)]
pub struct CookieExtractRule {
    /// The cookie.
    pub cookie: String,
    /// The header it fills.
    pub header: String,
    /// Put before the cookie's value.
    pub prefix: Option<String>,
}

/// Browser-cookie settings.
#[derive(Object)]
pub struct BrowserSettings {
    /// Where the person signs in.
    pub entry_url: String,
    /// Cookie domains.
    pub domains: Vec<String>,
    /// Cookies that make up the session.
    pub auth_cookies: Vec<String>,
    /// A page that answers 200 while the session is valid.
    #[oai(nullable)]
    pub validate_url: Option<String>,
    /// Headers sent with every request.
    pub extra_headers: Option<BTreeMap<String, Value>>,
    /// Session lifetime in hours (24 by default).
    pub ttl_hours: Option<i64>,
    /// A cookie whose expiry is the session's.
    #[oai(nullable)]
    pub ttl_from_cookie: Option<String>,
    /// Headers built from cookies.
    pub extract: Option<Vec<CookieExtractRule>>,
}

/// A provider definition, as the reference stores and serves it.
#[derive(Object)]
pub struct ProviderDefinitionDocument {
    /// The definition format's version (1).
    pub schema_version: Option<i64>,
    /// The provider's name (lowercase letters, digits, `-` and `_`).
    pub name: String,
    /// Its name for people.
    pub display_name: String,
    /// A logo URL.
    #[oai(nullable)]
    pub logo: Option<String>,
    /// What it is.
    #[oai(nullable)]
    pub description: Option<String>,
    /// A free-form category.
    #[oai(rename = "type", nullable)]
    pub provider_type: Option<String>,
    /// How requests are authenticated.
    pub auth_type: AuthType,
    /// How a connection is made.
    pub flow: FlowType,
    /// OAuth settings (`oauth2` providers).
    #[oai(nullable)]
    pub oauth: Option<OAuthSettings>,
    /// Dynamic client registration settings (`dcr_pkce`).
    #[oai(nullable)]
    pub registration: Option<RegistrationSettings>,
    /// API key settings (`api_key` providers).
    #[oai(nullable)]
    pub api_key: Option<ApiKeySettings>,
    /// Browser-cookie settings (`browser` providers).
    #[oai(nullable)]
    pub browser: Option<BrowserSettings>,
    /// Export settings.
    #[oai(nullable)]
    pub export: Option<ExportSettings>,
    /// Where the provider documents its API.
    #[oai(nullable)]
    pub docs_url: Option<String>,
    /// The API addresses credentials are for.
    #[oai(nullable)]
    pub api_url: Option<TextOrList>,
    /// Free-form metadata.
    pub metadata: Option<BTreeMap<String, Value>>,
}

/// The provider account a connection is, when known.
#[derive(Object)]
pub struct AccountDocument {
    /// The account id at the provider.
    #[oai(nullable)]
    pub id: Option<String>,
    /// A label for people (login, email).
    #[oai(nullable)]
    pub label: Option<String>,
}

/// A stored connection, as the reference serialises it: **with its secret values**.
#[derive(Object)]
pub struct ConnectionRecordDocument {
    /// The record format's version.
    pub schema_version: i64,
    /// Provider name.
    pub provider: String,
    /// The identity that stored it.
    #[oai(nullable)]
    pub identity: Option<String>,
    /// The owning principal.
    #[oai(nullable)]
    pub principal_id: Option<String>,
    /// The vault holding it.
    #[oai(nullable)]
    pub vault_id: Option<String>,
    /// Connection name.
    pub connection_name: String,
    /// How requests are authenticated.
    pub auth_type: AuthType,
    /// Where it stands.
    pub status: ConnectionStatus,
    /// The provider's base address (self-hosted providers).
    #[oai(nullable)]
    pub base_url: Option<String>,
    /// The API address it is for.
    #[oai(nullable)]
    pub api_url: Option<String>,
    /// Granted scopes.
    #[oai(nullable)]
    pub scopes: Option<Vec<String>>,
    /// OAuth access token (secret).
    #[oai(nullable)]
    pub access_token: Option<String>,
    /// OAuth refresh token (secret).
    #[oai(nullable)]
    pub refresh_token: Option<String>,
    /// OAuth token type.
    #[oai(nullable)]
    pub token_type: Option<String>,
    /// When the credential expires (ISO 8601, `Z`).
    #[oai(nullable)]
    pub expires_at: Option<String>,
    /// When it was obtained (ISO 8601, `Z`).
    #[oai(nullable)]
    pub obtained_at: Option<String>,
    /// API key (secret).
    #[oai(nullable)]
    pub api_key: Option<String>,
    /// Browser cookies (secret).
    #[oai(nullable)]
    pub credentials: Option<BTreeMap<String, Value>>,
    /// The provider account.
    #[oai(nullable)]
    pub account: Option<AccountDocument>,
    /// Free-form metadata (refresh failures, ...).
    pub metadata: BTreeMap<String, Value>,
}
