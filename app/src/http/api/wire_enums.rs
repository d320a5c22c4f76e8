//! The closed sets of values on the wire, as OpenAPI enums: each mirrors the domain or service
//! type it comes from (`remote`), so the document lists every value and a generated client
//! gets an enum rather than a string.

use poem_openapi::Enum;

/// A principal's role.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(remote = "authsome_domain::Role", rename_all = "snake_case")]
pub enum Role {
    /// May manage providers, global connections and other principals.
    Admin,
    /// Manages their own vault and agents.
    User,
}

/// Where a claim of an agent identity stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(remote = "authsome_domain::ClaimStatus", rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Started, not yet confirmed by the person.
    Pending,
    /// Confirmed: the identity acts for the principal.
    Accepted,
    /// Refused.
    Rejected,
}

/// How an agent identity stands after registration.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(
    remote = "authsome_services::identities::RegistrationStatus",
    rename_all = "snake_case"
)]
pub enum RegistrationStatus {
    /// Registered; a person must claim it before it may act.
    ClaimRequired,
    /// Claimed and accepted.
    Claimed,
    /// Claimed, not yet accepted.
    Pending,
    /// The claim was refused.
    Rejected,
}

/// How a provider authenticates requests.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(remote = "authsome_domain::provider_definition::AuthType", rename_all = "snake_case")]
pub enum AuthType {
    /// OAuth 2.0 access tokens.
    Oauth2,
    /// A static API key.
    ApiKey,
    /// Browser cookies.
    Browser,
}

/// Where a stored connection stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(
    remote = "authsome_domain::credential_records::ConnectionStatus",
    rename_all = "snake_case"
)]
pub enum ConnectionStatus {
    /// Not connected yet.
    NotConnected,
    /// Usable.
    Connected,
    /// The token expired and could not be refreshed.
    Expired,
    /// Revoked at the provider.
    Revoked,
    /// Not usable as stored.
    Invalid,
}

/// Whose vault a resolved credential came from.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(
    remote = "authsome_services::credentials::CredentialSource",
    rename_all = "snake_case"
)]
pub enum CredentialSource {
    /// The caller's own vault.
    Local,
    /// The provider's global connection (an admin's fallback).
    Global,
}

/// The text format of an export.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(remote = "authsome_services::credentials::ExportFormat", rename_all = "snake_case")]
pub enum ExportFormat {
    /// `K=V` lines.
    Env,
    /// `export K=V` lines.
    Shell,
    /// A JSON object.
    Json,
}

/// Which providers the local proxy routes.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(remote = "authsome_services::proxy_routes::RouteScope", rename_all = "snake_case")]
pub enum RouteScope {
    /// Providers the caller has a connection for (or a global one).
    Connected,
    /// Every provider with an API address.
    Configured,
}

/// The answer of an operation that did what it was asked.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Done {
    /// Done.
    Ok,
}

/// Whether the server is ready to serve.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum ReadyStatus {
    /// Every check passed.
    Ready,
    /// A check failed; `issues` says which.
    NotReady,
}

/// The outcome of one readiness check.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// Passed.
    Ok,
    /// Failed.
    Failed,
}

impl CheckOutcome {
    /// `Ok` when `passed`.
    pub fn of(passed: bool) -> Self {
        if passed { Self::Ok } else { Self::Failed }
    }
}

/// An identity that is registered (whatever its claim).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum Registered {
    /// Registered.
    Registered,
}

/// How a connection to a provider is made.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(remote = "authsome_domain::provider_definition::FlowType", rename_all = "snake_case")]
pub enum FlowType {
    /// OAuth authorization code with PKCE.
    Pkce,
    /// OAuth device authorization (RFC 8628).
    DeviceCode,
    /// Dynamic client registration, then PKCE.
    DcrPkce,
    /// A person enters an API key.
    ApiKey,
    /// Browser cookies.
    Browser,
}

/// Where a provider login stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(remote = "authsome_domain::AuthSessionState", rename_all = "snake_case")]
pub enum AuthSessionStatus {
    /// Created, nothing asked yet.
    Pending,
    /// Waiting for the person (a form, a browser redirect, a device code).
    WaitingForUser,
    /// Finishing (exchanging a code, validating a key).
    Processing,
    /// The connection was stored.
    Completed,
    /// The login failed; `error` says why.
    Failed,
    /// The session timed out.
    Expired,
    /// The session was abandoned.
    Cancelled,
}
