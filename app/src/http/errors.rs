//! The one mapping from failures to HTTP responses.
//!
//! Bodies keep the shapes the reference CLI decodes: `{"detail": "..."}` for plain refusals,
//! `{"error": <class>, "message", "provider", "operation"}` for typed errors, and FastAPI's
//! `{"detail": [{"type", "loc", "msg", "input"}]}` for request validation (422). Unexpected
//! failures are logged with their whole cause chain and answered with an opaque 500; nothing
//! secret or internal reaches the client.

use authsome_ports::{RegistryError, StateError};
use poem::IntoResponse;
use poem::http::StatusCode;
use poem_openapi::ApiResponse;
use poem_openapi::payload::Json;
use serde_json::{Value, json};

use crate::services::ServiceError;
use crate::vault::VaultError;

/// Every error an API operation returns.
#[derive(ApiResponse, Debug)]
#[oai(bad_request_handler = "request_error")]
pub enum ApiError {
    /// Refused: `{"detail": "..."}`, `{"error", "message", "provider", "operation"}`, or a
    /// validation report `{"detail": [{"type", "loc", "msg"}]}`.
    #[oai(status_range = "4XX")]
    Client(StatusCode, Json<Value>),
    /// Too many requests from one identity or client address: `{"detail": "..."}`; nothing
    /// was done, so the same request may be sent again after `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<Value>, #[oai(header = "Retry-After")] u64),
    /// The server failed or a backend is unavailable: `{"detail": "..."}`.
    #[oai(status_range = "5XX")]
    Server(StatusCode, Json<Value>),
}

impl ApiError {
    /// `{"detail": message}` with `status`.
    pub fn detail(status: StatusCode, message: impl Into<String>) -> Self {
        let body = Json(json!({"detail": message.into()}));
        if status.is_server_error() {
            Self::Server(status, body)
        } else {
            Self::Client(status, body)
        }
    }

    /// 429 `{"detail": message}`, to be retried after `retry_after_seconds`.
    pub fn too_many_requests(message: impl Into<String>, retry_after_seconds: u64) -> Self {
        Self::TooManyRequests(Json(json!({"detail": message.into()})), retry_after_seconds)
    }

    /// 422 with one FastAPI-style validation entry.
    pub fn validation(location: &[&str], message: impl Into<String>, kind: &str) -> Self {
        Self::Client(
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"detail": [{"type": kind, "loc": location, "msg": message.into(), "input": Value::Null}]})),
        )
    }

    /// 500 with an opaque message; `cause` goes to the log, not to the client.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %crate::error_chain(cause), "request failed");
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

    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Client(status, _) | Self::Server(status, _) => *status,
            Self::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> &Value {
        match self {
            Self::Client(_, Json(body)) | Self::Server(_, Json(body)) | Self::TooManyRequests(Json(body), _) => body,
        }
    }

    /// As a `poem::Error` (for extractors and middleware).
    pub fn into_poem(self) -> poem::Error {
        poem::Error::from_response(self.into_response())
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

fn request_error(error: poem::Error) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::detail(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large");
    }
    validation_error(&error).unwrap_or_else(|| ApiError::detail(error.status(), error.to_string()))
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Authsome(e) => {
                let status = e.status();
                Self::Client(
                    status,
                    Json(
                        json!({"error": e.class, "message": e.message, "provider": e.provider, "operation": e.operation}),
                    ),
                )
            }
            ServiceError::Detail(status, message) => Self::detail(status, message),
            ServiceError::Registry(e) => e.into(),
            ServiceError::State(e) => e.into(),
            ServiceError::Vault(e) => e.into(),
        }
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
        match &error {
            VaultError::Store(state) => match state {
                StateError::Unavailable(_) | StateError::Full => Self::unavailable(&error),
                StateError::InvalidKey(message) => Self::detail(StatusCode::BAD_REQUEST, message.clone()),
                StateError::Corrupt(_) => Self::internal(&error),
            },
            _ => Self::internal(&error),
        }
    }
}

/// The result of an API operation.
pub type ApiResult<T> = Result<T, ApiError>;
