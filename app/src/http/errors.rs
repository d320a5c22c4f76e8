//! The one mapping from failures to HTTP responses, and the error bodies the API documents.
//!
//! Bodies keep the shapes the reference CLI decodes: [`Detail`] (`{"detail": "..."}`) for plain
//! refusals, [`ReferenceError`] (`{"error": <class>, "message", "provider", "operation"}`) for
//! typed errors, and [`ValidationReport`] (FastAPI's `{"detail": [{"type", "loc", "msg",
//! "input"}]}`) for request validation (422). Unexpected failures are logged with their whole
//! cause chain and answered with an opaque 500; nothing secret or internal reaches the client.
//!
//! Each operation answers through its own response enum (see [`crate::http::api::responses`]),
//! which lists exactly the statuses it can return; an [`ApiError`] is converted into it.

use authsome_ports::{RegistryError, StateError};
use poem::http::{HeaderValue, StatusCode};
use poem::{IntoResponse, Response};
use poem_openapi::{Enum, Object, Union};

use authsome_services::ServiceError;
use authsome_services::errors::{AuthsomeError, FailureKind, ReferenceErrorClass};
use authsome_services::vault::VaultError;

/// A plain refusal or failure: `{"detail": "..."}`.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// What went wrong, for a person to read.
    pub detail: String,
}

/// The reference's typed error classes (the `error` field of a [`ReferenceError`]).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename = "ReferenceErrorClass", remote = "ReferenceErrorClass")]
pub enum ErrorClass {
    /// No such connection for the provider in the caller's vault.
    #[oai(rename = "ConnectionNotFoundError")]
    ConnectionNotFound,
    /// No bundled or custom provider of that name.
    #[oai(rename = "ProviderNotFoundError")]
    ProviderNotFound,
    /// The connection holds no usable credential.
    #[oai(rename = "CredentialMissingError")]
    CredentialMissing,
    /// The access token expired and cannot be refreshed.
    #[oai(rename = "TokenExpiredError")]
    TokenExpired,
    /// The provider refused, or could not be asked, to refresh the token.
    #[oai(rename = "RefreshFailedError")]
    RefreshFailed,
    /// The operation does not apply to this provider or caller.
    #[oai(rename = "OperationNotAllowedError")]
    OperationNotAllowed,
    /// A provider definition failed validation.
    #[oai(rename = "InvalidProviderSchemaError")]
    InvalidProviderSchema,
    /// A custom provider of that name (or a case twin) exists.
    #[oai(rename = "ProviderAlreadyRegisteredError")]
    ProviderAlreadyRegistered,
    /// A login failed at the provider.
    #[oai(rename = "AuthenticationFailedError")]
    AuthenticationFailed,
    /// The provider does not offer the requested login flow.
    #[oai(rename = "UnsupportedFlowError")]
    UnsupportedFlow,
}

/// One of the reference's typed errors, which its CLI maps onto its own exception classes.
#[derive(Object, Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError {
    /// The class.
    pub error: ErrorClass,
    /// `[provider] (operation) message`.
    pub message: String,
    /// The provider concerned.
    #[oai(nullable)]
    pub provider: Option<String>,
    /// The operation concerned.
    #[oai(nullable)]
    pub operation: Option<String>,
}

/// Either error shape: a plain refusal or a typed reference error.
#[derive(Union, Debug, Clone, PartialEq, Eq)]
#[oai(one_of)]
pub enum ErrorBody {
    /// `{"detail": "..."}`.
    Detail(Detail),
    /// `{"error", "message", "provider", "operation"}`.
    Reference(ReferenceError),
}

/// One problem with the request, as FastAPI reports it.
#[derive(Object, Debug, Clone, PartialEq)]
pub struct ValidationIssue {
    /// The kind of problem (`missing`, `string_type`, `json_invalid`, ...).
    #[oai(rename = "type")]
    pub kind: String,
    /// Where: `["body", "<field>"]`, `["query", "<name>"]` or `["path", "<name>"]`.
    pub loc: Vec<String>,
    /// What is wrong.
    pub msg: String,
    /// The value refused (never echoed: always null).
    #[oai(nullable)]
    pub input: Option<serde_json::Value>,
}

/// The request's parameters or body did not parse (422).
#[derive(Object, Debug, Clone, PartialEq)]
pub struct ValidationReport {
    /// Each problem.
    pub detail: Vec<ValidationIssue>,
}

/// The body of an [`ApiError`].
#[derive(Debug, Clone, PartialEq)]
pub enum FailureBody {
    /// `{"detail": "..."}`.
    Detail(Detail),
    /// A typed reference error.
    Reference(ReferenceError),
    /// A validation report.
    Validation(ValidationReport),
}

/// A failure in HTTP terms: a status and a body. Each operation converts it into its own
/// response enum.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    status: StatusCode,
    body: FailureBody,
    retry_after_seconds: Option<u64>,
}

impl ApiError {
    /// `{"detail": message}` with `status`.
    pub fn detail(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: FailureBody::Detail(Detail { detail: message.into() }),
            retry_after_seconds: None,
        }
    }

    /// 429 `{"detail": message}`, to be retried after `retry_after_seconds`.
    pub fn too_many_requests(message: impl Into<String>, retry_after_seconds: u64) -> Self {
        Self {
            retry_after_seconds: Some(retry_after_seconds),
            ..Self::detail(StatusCode::TOO_MANY_REQUESTS, message)
        }
    }

    /// 422 with one FastAPI-style validation entry.
    pub fn validation(location: &[&str], message: impl Into<String>, kind: &str) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: FailureBody::Validation(ValidationReport {
                detail: vec![ValidationIssue {
                    kind: kind.to_owned(),
                    loc: location.iter().map(|part| (*part).to_owned()).collect(),
                    msg: message.into(),
                    input: None,
                }],
            }),
            retry_after_seconds: None,
        }
    }

    /// 500 with an opaque message; `cause` goes to the log, not to the client.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %crate::error_chain(cause), "request failed");
        Self::opaque_internal()
    }

    /// 500 `Internal Server Error`, for a failure already logged.
    pub fn opaque_internal() -> Self {
        Self::detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    }

    /// 503, logged.
    pub fn unavailable(cause: &dyn std::error::Error) -> Self {
        tracing::warn!(error = %crate::error_chain(cause), "a backend is unavailable");
        Self::detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "A storage backend is unavailable; try again shortly",
        )
    }

    /// A typed reference error with the status its kind has.
    pub fn reference(error: AuthsomeError) -> Self {
        Self {
            status: status_of(error.kind()),
            body: FailureBody::Reference(ReferenceError {
                error: error.class.into(),
                message: error.message,
                provider: error.provider,
                operation: error.operation,
            }),
            retry_after_seconds: None,
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &FailureBody {
        &self.body
    }

    /// Seconds to wait before retrying (429 only).
    pub fn retry_after_seconds(&self) -> Option<u64> {
        self.retry_after_seconds
    }

    /// The message a person should read: the detail or the reference error's message.
    pub fn message(&self) -> Option<&str> {
        match &self.body {
            FailureBody::Detail(detail) => Some(&detail.detail),
            FailureBody::Reference(reference) => Some(&reference.message),
            FailureBody::Validation(report) => report.detail.first().map(|issue| issue.msg.as_str()),
        }
    }

    /// The body as JSON.
    pub fn body_json(&self) -> serde_json::Value {
        use poem_openapi::types::ToJSON;
        match &self.body {
            FailureBody::Detail(detail) => detail.to_json(),
            FailureBody::Reference(reference) => reference.to_json(),
            FailureBody::Validation(report) => report.to_json(),
        }
        .unwrap_or(serde_json::Value::Null)
    }

    /// As a `poem::Error` (for extractors and middleware).
    pub fn into_poem(self) -> poem::Error {
        poem::Error::from_response(self.into_response())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = Response::builder()
            .status(self.status)
            .content_type("application/json; charset=utf-8")
            .body(self.body_json().to_string());
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert("retry-after", HeaderValue::from(seconds));
        }
        response
    }
}

/// The status a kind of service failure is answered with.
pub fn status_of(kind: FailureKind) -> StatusCode {
    match kind {
        FailureKind::Invalid => StatusCode::BAD_REQUEST,
        FailureKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        FailureKind::Forbidden => StatusCode::FORBIDDEN,
        FailureKind::NotFound => StatusCode::NOT_FOUND,
        FailureKind::Conflict => StatusCode::CONFLICT,
        FailureKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        FailureKind::UpstreamUnreachable => StatusCode::BAD_GATEWAY,
        FailureKind::UpstreamTimedOut => StatusCode::GATEWAY_TIMEOUT,
        FailureKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Parse failures of parameters and bodies, as FastAPI reports them (422 with `loc`, `msg`
/// and `type`); `None` for other errors.
pub fn validation_error(error: &poem::Error) -> Option<ApiError> {
    use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};
    if let Some(payload) = error.downcast_ref::<ParseRequestPayloadError>() {
        return Some(ApiError::validation(&["body"], payload.reason.clone(), "json_invalid"));
    }
    if let Some(param) = error.downcast_ref::<ParseParamError>() {
        return Some(ApiError::validation(
            &["query", param.name],
            param.reason.clone(),
            "value_error",
        ));
    }
    if let Some(path) = error.downcast_ref::<ParsePathError>() {
        return Some(ApiError::validation(
            &["path", path.name],
            path.reason.clone(),
            "value_error",
        ));
    }
    None
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Authsome(e) => Self::reference(e),
            ServiceError::Invalid(message) => Self::detail(StatusCode::BAD_REQUEST, message),
            ServiceError::Forbidden(message) => Self::detail(StatusCode::FORBIDDEN, message),
            ServiceError::NotFound(message) => Self::detail(StatusCode::NOT_FOUND, message),
            ServiceError::Conflict(message) => Self::detail(StatusCode::CONFLICT, message),
            ServiceError::Unavailable(message) => Self::detail(StatusCode::SERVICE_UNAVAILABLE, message),
            ServiceError::Internal(what) => {
                tracing::error!(error = what, "request failed");
                Self::opaque_internal()
            }
            ServiceError::Registry(e) => e.into(),
            ServiceError::State(e) => e.into(),
            ServiceError::Vault(e) => e.into(),
        }
    }
}

impl From<AuthsomeError> for ApiError {
    fn from(error: AuthsomeError) -> Self {
        Self::reference(error)
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        match &error {
            RegistryError::Conflict(conflict) => Self::detail(StatusCode::CONFLICT, conflict.to_string()),
            RegistryError::NotFound(missing) => Self::detail(StatusCode::NOT_FOUND, missing.to_string()),
            RegistryError::Unavailable(_) => Self::unavailable(&error),
            RegistryError::Corrupt { .. } | RegistryError::Backend(_) => Self::internal(&error),
        }
    }
}

impl From<StateError> for ApiError {
    fn from(error: StateError) -> Self {
        match &error {
            StateError::Unavailable(_) | StateError::Full => Self::unavailable(&error),
            StateError::InvalidKey(message) => Self::detail(StatusCode::BAD_REQUEST, message.clone()),
            StateError::Corrupt(_) => Self::internal(&error),
        }
    }
}

impl From<VaultError> for ApiError {
    fn from(error: VaultError) -> Self {
        match error {
            VaultError::Store(state) => state.into(),
            other => Self::internal(&other),
        }
    }
}

/// A failure body an operation documents for one status: converted from an [`ApiError`] when
/// the error's body has this shape.
pub trait DocumentedBody: Sized {
    /// The body, when `error` carries one of this shape.
    fn from_failure(error: &ApiError) -> Option<Self>;
}

impl DocumentedBody for Detail {
    fn from_failure(error: &ApiError) -> Option<Self> {
        match &error.body {
            FailureBody::Detail(detail) => Some(detail.clone()),
            _ => None,
        }
    }
}

impl DocumentedBody for ReferenceError {
    fn from_failure(error: &ApiError) -> Option<Self> {
        match &error.body {
            FailureBody::Reference(reference) => Some(reference.clone()),
            _ => None,
        }
    }
}

impl DocumentedBody for ErrorBody {
    fn from_failure(error: &ApiError) -> Option<Self> {
        match &error.body {
            FailureBody::Detail(detail) => Some(Self::Detail(detail.clone())),
            FailureBody::Reference(reference) => Some(Self::Reference(reference.clone())),
            FailureBody::Validation(_) => None,
        }
    }
}

impl DocumentedBody for ValidationReport {
    fn from_failure(error: &ApiError) -> Option<Self> {
        match &error.body {
            FailureBody::Validation(report) => Some(report.clone()),
            _ => None,
        }
    }
}

/// Logs a failure an operation does not document; it is answered as an opaque 500, so that
/// the document stays true (the conformance tests make this loud).
pub fn undeclared(operation: &'static str, error: &ApiError) {
    tracing::error!(
        operation,
        status = error.status.as_u16(),
        "an operation failed with a status or body its response type does not document"
    );
}

/// The result of a step inside an operation (converted into the operation's own error enum).
pub type ApiResult<T> = Result<T, ApiError>;
