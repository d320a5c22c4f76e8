//! Errors of the application services, in the two shapes the reference CLI decodes.

use authsome_ports::{RegistryError, StateError};
use poem::http::StatusCode;

use crate::vault::VaultError;

/// One of the reference's typed errors: JSON `{"error": <class>, "message", "provider",
/// "operation"}`, which the CLI maps onto its own exception classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthsomeError {
    /// The reference's exception class name (`ConnectionNotFoundError`, ...).
    pub class: &'static str,
    /// `[provider] (operation) message`, as the reference formats it.
    pub message: String,
    /// The provider concerned.
    pub provider: Option<String>,
    /// The operation concerned.
    pub operation: Option<String>,
    /// A status other than the one the reference gives the class (a provider that could not
    /// be reached is a 502 or 504, whatever the class).
    pub status_override: Option<StatusCode>,
}

impl AuthsomeError {
    /// An error of `class` with the reference's message layout.
    pub fn new(class: &'static str, message: impl AsRef<str>, provider: Option<&str>, operation: Option<&str>) -> Self {
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
            status_override: None,
        }
    }

    /// The same error answered with `status`.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status_override = Some(status);
        self
    }

    /// `ProviderNotFoundError` (404).
    pub fn provider_not_found(name: &str) -> Self {
        Self::new(
            "ProviderNotFoundError",
            format!("Provider '{name}' not found"),
            Some(name),
            None,
        )
    }

    /// `ConnectionNotFoundError` (404).
    pub fn connection_not_found(provider: &str, connection: &str, identity: &str) -> Self {
        Self::new(
            "ConnectionNotFoundError",
            format!("Connection '{connection}' not found for provider '{provider}' in identity '{identity}'"),
            Some(provider),
            None,
        )
    }

    /// `CredentialMissingError` (401).
    pub fn credential_missing(message: &str, provider: &str) -> Self {
        Self::new("CredentialMissingError", message, Some(provider), None)
    }

    /// `TokenExpiredError` (400).
    pub fn token_expired(provider: &str) -> Self {
        Self::new("TokenExpiredError", "Access token expired", Some(provider), None)
    }

    /// `RefreshFailedError` (400): `Token refresh failed: <reason>`.
    pub fn refresh_failed(reason: &str, provider: &str) -> Self {
        Self::new(
            "RefreshFailedError",
            format!("Token refresh failed: {reason}"),
            Some(provider),
            None,
        )
    }

    /// `OperationNotAllowedError` (400).
    pub fn not_allowed(operation: &str, reason: &str, provider: &str) -> Self {
        Self::new("OperationNotAllowedError", reason, Some(provider), Some(operation))
    }

    /// `InvalidProviderSchemaError` (400).
    pub fn invalid_schema(message: &str, provider: Option<&str>) -> Self {
        Self::new(
            "InvalidProviderSchemaError",
            format!("Invalid provider schema: {message}"),
            provider,
            None,
        )
    }

    /// `AuthenticationFailedError` (400).
    pub fn authentication_failed(reason: &str, provider: &str) -> Self {
        Self::new(
            "AuthenticationFailedError",
            format!("Authentication failed: {reason}"),
            Some(provider),
            None,
        )
    }

    /// `UnsupportedFlowError` (400).
    pub fn unsupported_flow(flow: &str, provider: &str) -> Self {
        Self::new(
            "UnsupportedFlowError",
            format!("Unsupported flow: {flow}"),
            Some(provider),
            None,
        )
    }

    /// The HTTP status the reference gives this class.
    pub fn status(&self) -> StatusCode {
        if let Some(status) = self.status_override {
            return status;
        }
        match self.class {
            "ConnectionNotFoundError" | "ProviderNotFoundError" | "IdentityNotFoundError" => StatusCode::NOT_FOUND,
            "CredentialMissingError" => StatusCode::UNAUTHORIZED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// What a service could not do.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A typed reference error (`{"error", "message", ...}`).
    #[error("{}", .0.message)]
    Authsome(AuthsomeError),
    /// A plain refusal (`{"detail": ...}`) with its status.
    #[error("{1}")]
    Detail(StatusCode, String),
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

impl ServiceError {
    /// A `{"detail"}` refusal.
    pub fn detail(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Detail(status, message.into())
    }

    /// 403 `Admin role required`.
    pub fn admin_required() -> Self {
        Self::detail(StatusCode::FORBIDDEN, "Admin role required")
    }
}
