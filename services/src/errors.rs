//! Errors of the application services: what went wrong, in the application's terms.
//!
//! Nothing here knows HTTP. The HTTP layer (`crate::http::errors`) decides each variant's
//! status and body, in the two shapes the reference CLI decodes.

use authsome_ports::{RegistryError, StateError};

use crate::vault::VaultError;

/// The reference's typed error classes, which its CLI maps onto its own exception classes.
///
/// The names are wire values: renaming a variant's [`name`](Self::name) breaks 0.7.2 clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceErrorClass {
    /// No such connection for the provider in the caller's vault.
    ConnectionNotFound,
    /// No bundled or custom provider of that name.
    ProviderNotFound,
    /// The connection holds no usable credential.
    CredentialMissing,
    /// The access token expired and cannot be refreshed.
    TokenExpired,
    /// The provider refused, or could not be asked, to refresh the token.
    RefreshFailed,
    /// The operation does not apply to this provider or caller.
    OperationNotAllowed,
    /// A provider definition failed validation.
    InvalidProviderSchema,
    /// A custom provider of that name (or a case twin) exists.
    ProviderAlreadyRegistered,
    /// A login failed at the provider.
    AuthenticationFailed,
    /// The provider does not offer the requested login flow.
    UnsupportedFlow,
}

impl ReferenceErrorClass {
    /// Every class, for documentation and tests.
    pub const ALL: [Self; 10] = [
        Self::ConnectionNotFound,
        Self::ProviderNotFound,
        Self::CredentialMissing,
        Self::TokenExpired,
        Self::RefreshFailed,
        Self::OperationNotAllowed,
        Self::InvalidProviderSchema,
        Self::ProviderAlreadyRegistered,
        Self::AuthenticationFailed,
        Self::UnsupportedFlow,
    ];

    /// The reference's exception class name (the `error` field on the wire).
    pub fn name(self) -> &'static str {
        match self {
            Self::ConnectionNotFound => "ConnectionNotFoundError",
            Self::ProviderNotFound => "ProviderNotFoundError",
            Self::CredentialMissing => "CredentialMissingError",
            Self::TokenExpired => "TokenExpiredError",
            Self::RefreshFailed => "RefreshFailedError",
            Self::OperationNotAllowed => "OperationNotAllowedError",
            Self::InvalidProviderSchema => "InvalidProviderSchemaError",
            Self::ProviderAlreadyRegistered => "ProviderAlreadyRegisteredError",
            Self::AuthenticationFailed => "AuthenticationFailedError",
            Self::UnsupportedFlow => "UnsupportedFlowError",
        }
    }

    /// What kind of failure the class is, which decides how a client is answered.
    pub fn kind(self) -> FailureKind {
        match self {
            Self::ConnectionNotFound | Self::ProviderNotFound => FailureKind::NotFound,
            Self::CredentialMissing => FailureKind::Unauthenticated,
            _ => FailureKind::Invalid,
        }
    }
}

/// The broad kinds of failure a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The request cannot succeed as sent.
    Invalid,
    /// No usable credential (the reference's 401).
    Unauthenticated,
    /// The caller may not do this.
    Forbidden,
    /// What the request names does not exist (or is not the caller's to see).
    NotFound,
    /// It conflicts with what exists.
    Conflict,
    /// A backend or the server cannot do it now; the same request may succeed later.
    Unavailable,
    /// The third-party provider could not be reached.
    UpstreamUnreachable,
    /// The third-party provider did not answer in time.
    UpstreamTimedOut,
    /// The server failed.
    Internal,
}

/// One of the reference's typed errors: `{"error": <class>, "message", "provider",
/// "operation"}` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthsomeError {
    /// The class.
    pub class: ReferenceErrorClass,
    /// `[provider] (operation) message`, as the reference formats it.
    pub message: String,
    /// The provider concerned.
    pub provider: Option<String>,
    /// The operation concerned.
    pub operation: Option<String>,
    /// Whether the provider itself failed to answer (then not the class's usual kind).
    pub upstream: Option<UpstreamFailure>,
}

/// How a third-party provider failed to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// It could not be reached.
    Unreachable,
    /// It did not answer in time.
    TimedOut,
}

impl AuthsomeError {
    /// An error of `class` with the reference's message layout.
    pub fn new(
        class: ReferenceErrorClass,
        message: impl AsRef<str>,
        provider: Option<&str>,
        operation: Option<&str>,
    ) -> Self {
        let mut parts = Vec::with_capacity(3);
        if let Some(provider) = provider {
            parts.push(format!("[{provider}]"));
        }
        if let Some(operation) = operation {
            parts.push(format!("({operation})"));
        }
        parts.push(message.as_ref().to_owned());
        Self {
            class,
            message: parts.join(" "),
            provider: provider.map(str::to_owned),
            operation: operation.map(str::to_owned),
            upstream: None,
        }
    }

    /// The same error, caused by the provider failing to answer.
    pub fn caused_upstream(mut self, failure: UpstreamFailure) -> Self {
        self.upstream = Some(failure);
        self
    }

    /// What kind of failure this is: the class's, unless the provider failed to answer.
    pub fn kind(&self) -> FailureKind {
        match self.upstream {
            Some(UpstreamFailure::Unreachable) => FailureKind::UpstreamUnreachable,
            Some(UpstreamFailure::TimedOut) => FailureKind::UpstreamTimedOut,
            None => self.class.kind(),
        }
    }

    /// `ProviderNotFoundError`.
    pub fn provider_not_found(name: &str) -> Self {
        Self::new(
            ReferenceErrorClass::ProviderNotFound,
            format!("Provider '{name}' not found"),
            Some(name),
            None,
        )
    }

    /// `ConnectionNotFoundError`.
    pub fn connection_not_found(provider: &str, connection: &str, identity: &str) -> Self {
        Self::new(
            ReferenceErrorClass::ConnectionNotFound,
            format!("Connection '{connection}' not found for provider '{provider}' in identity '{identity}'"),
            Some(provider),
            None,
        )
    }

    /// `CredentialMissingError`.
    pub fn credential_missing(message: &str, provider: &str) -> Self {
        Self::new(ReferenceErrorClass::CredentialMissing, message, Some(provider), None)
    }

    /// `TokenExpiredError`.
    pub fn token_expired(provider: &str) -> Self {
        Self::new(
            ReferenceErrorClass::TokenExpired,
            "Access token expired",
            Some(provider),
            None,
        )
    }

    /// `RefreshFailedError`: `Token refresh failed: <reason>`.
    pub fn refresh_failed(reason: &str, provider: &str) -> Self {
        Self::new(
            ReferenceErrorClass::RefreshFailed,
            format!("Token refresh failed: {reason}"),
            Some(provider),
            None,
        )
    }

    /// `OperationNotAllowedError`: `[provider] (operation) reason`.
    pub fn not_allowed(operation: &str, reason: &str, provider: &str) -> Self {
        Self::new(
            ReferenceErrorClass::OperationNotAllowed,
            reason,
            Some(provider),
            Some(operation),
        )
    }

    /// `InvalidProviderSchemaError`.
    pub fn invalid_schema(message: &str, provider: Option<&str>) -> Self {
        Self::new(
            ReferenceErrorClass::InvalidProviderSchema,
            format!("Invalid provider schema: {message}"),
            provider,
            None,
        )
    }

    /// `ProviderAlreadyRegisteredError`.
    pub fn already_registered(message: impl AsRef<str>, provider: &str) -> Self {
        Self::new(
            ReferenceErrorClass::ProviderAlreadyRegistered,
            message,
            Some(provider),
            None,
        )
    }

    /// `AuthenticationFailedError`.
    pub fn authentication_failed(reason: &str, provider: &str) -> Self {
        Self::new(
            ReferenceErrorClass::AuthenticationFailed,
            format!("Authentication failed: {reason}"),
            Some(provider),
            None,
        )
    }

    /// `UnsupportedFlowError`.
    pub fn unsupported_flow(flow: &str, provider: &str) -> Self {
        Self::new(
            ReferenceErrorClass::UnsupportedFlow,
            format!("Unsupported flow: {flow}"),
            Some(provider),
            None,
        )
    }
}

/// What a service could not do.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A typed reference error (`{"error", "message", ...}` on the wire).
    #[error("{}", .0.message)]
    Authsome(AuthsomeError),
    /// The request cannot succeed as sent (the message says why).
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// What the request names does not exist, or is not the caller's to see.
    #[error("{0}")]
    NotFound(String),
    /// It conflicts with what exists.
    #[error("{0}")]
    Conflict(String),
    /// The server cannot do it now (the message says why); nothing was changed.
    #[error("{0}")]
    Unavailable(String),
    /// The server failed in a way the client cannot act on.
    #[error("{0}")]
    Internal(&'static str),
    /// A registry failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A runtime-state store failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl From<AuthsomeError> for ServiceError {
    fn from(error: AuthsomeError) -> Self {
        Self::Authsome(error)
    }
}

impl From<authsome_domain::ValidationError> for ServiceError {
    fn from(error: authsome_domain::ValidationError) -> Self {
        Self::Invalid(error.to_string())
    }
}

impl ServiceError {
    /// `Admin role required`.
    pub fn admin_required() -> Self {
        Self::Forbidden("Admin role required".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_are_the_reference_wire_values_and_distinct() {
        let names: std::collections::BTreeSet<&str> = ReferenceErrorClass::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), ReferenceErrorClass::ALL.len());
        assert!(names.iter().all(|n| n.ends_with("Error")));
        assert_eq!(
            ReferenceErrorClass::CredentialMissing.kind(),
            FailureKind::Unauthenticated
        );
        assert_eq!(ReferenceErrorClass::ProviderNotFound.kind(), FailureKind::NotFound);
        assert_eq!(
            ReferenceErrorClass::ProviderAlreadyRegistered.kind(),
            FailureKind::Invalid
        );
    }

    #[test]
    fn a_provider_that_did_not_answer_overrides_the_class_kind() {
        let error = AuthsomeError::refresh_failed("down", "github");
        assert_eq!(error.kind(), FailureKind::Invalid);
        assert_eq!(error.message, "[github] Token refresh failed: down");
        assert_eq!(
            error.clone().caused_upstream(UpstreamFailure::TimedOut).kind(),
            FailureKind::UpstreamTimedOut
        );
    }
}
