//! `/api/auth/sessions/*`: provider logins started by agents (and the JSON views the browser
//! pages use).

use authsome_domain::{AuthSession, AuthSessionId};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Union};
use serde_json::{Map, Value};

use crate::http::api::documented::Documented;
use crate::http::api::wire_enums::AuthSessionStatus;
use crate::http::api::{ApiTags, path_names};
use crate::http::caller::{BrowserCaller, PopCaller};
use crate::http::errors::{ApiError, ApiResult, Detail, ErrorBody, ValidationReport};
use crate::state::{AppState, SharedState};
use authsome_services::auth_sessions::{self, NextStep, StartLogin};
use authsome_services::oauth::device;
use authsome_services::ownership::Caller;

/// `POST /api/auth/sessions` body (the CLI sends all six keys, null when unset).
#[derive(Object)]
pub struct StartSession {
    /// Provider name.
    #[oai(deserialize_with = "crate::http::api::strict_json::text")]
    pub provider: String,
    /// Connection name (default `default`).
    #[oai(deserialize_with = "crate::http::api::strict_json::optional_text")]
    pub connection: Option<String>,
    /// A flow other than the provider's own.
    #[oai(deserialize_with = "crate::http::api::strict_json::optional_text")]
    pub flow: Option<String>,
    /// Requested scopes (OAuth).
    pub scopes: Option<Vec<String>>,
    /// Base URL for self-hosted providers.
    #[oai(deserialize_with = "crate::http::api::strict_json::optional_text")]
    pub base_url: Option<String>,
    /// Log in again even if a usable connection exists (default false).
    pub force: Option<bool>,
}

/// `POST /api/auth/sessions/{id}/resume` body.
#[derive(Object)]
pub struct ResumeSession {
    /// Flow data, such as `{"api_key": "..."}`.
    pub data: Option<std::collections::BTreeMap<String, Value>>,
}

/// An input a login asks the person for.
#[derive(Object)]
pub struct InputField {
    /// The input's name (`api_key`, `client_id`, `client_secret`, `scopes`, ...).
    pub name: String,
    /// Its label.
    pub label: String,
    /// Whether it is secret.
    pub secret: bool,
    /// Whether it must be given.
    pub required: bool,
    /// A regular expression the value must match.
    pub pattern: Option<String>,
    /// What to tell a person whose value does not match.
    pub pattern_hint: Option<String>,
    /// The value to start from.
    pub default: Option<String>,
}

/// Open an address in a browser.
#[derive(Object)]
pub struct OpenUrlAction {
    /// The input page, the provider's authorization page or the device-code page.
    pub url: String,
}

/// Capture the provider's cookies from a browser.
#[derive(Object)]
pub struct BrowserAction {
    /// Where the person signs in.
    #[oai(nullable)]
    pub entry_url: Option<String>,
    /// The cookie domains.
    pub domains: Vec<String>,
    /// The cookies that make up the session.
    pub auth_cookies: Vec<String>,
    /// The cookie whose expiry is the session's.
    #[oai(nullable)]
    pub ttl_from_cookie: Option<String>,
    /// The session lifetime in hours, when no cookie gives it.
    #[oai(nullable)]
    pub ttl_hours: Option<i64>,
}

/// Nothing to do.
#[derive(Object)]
pub struct NoAction {}

/// What the client should do next (`type` says which).
#[derive(Union)]
#[oai(discriminator_name = "type", one_of)]
pub enum NextAction {
    /// Open `url` in a browser.
    #[oai(mapping = "open_url")]
    OpenUrl(OpenUrlAction),
    /// Capture cookies from a browser.
    #[oai(mapping = "browser")]
    Browser(BrowserAction),
    /// Nothing.
    #[oai(mapping = "none")]
    None(NoAction),
}

/// A provider login.
#[derive(Object)]
pub struct AuthSessionView {
    /// The session id.
    pub id: String,
    /// Provider name.
    pub provider: String,
    /// The connection it makes.
    pub connection: String,
    /// Where it stands.
    pub status: AuthSessionStatus,
    /// Progress for people.
    #[oai(nullable)]
    pub message: Option<String>,
    /// Why it failed.
    #[oai(nullable)]
    pub error: Option<String>,
    /// When it started.
    pub created_at: String,
    /// When it expires.
    pub expires_at: String,
    /// What the client should do next.
    pub next_action: NextAction,
    /// The device code to enter (device-code logins).
    #[oai(nullable)]
    pub user_code: Option<String>,
    /// Where to enter it.
    #[oai(nullable)]
    pub verification_uri: Option<String>,
    /// The same with the code filled in.
    #[oai(nullable)]
    pub verification_uri_complete: Option<String>,
}

/// The view of `session` (the reference's `AuthSessionResponse`).
pub fn session_view(state: &AppState, session: &AuthSession) -> AuthSessionView {
    let code = device::user_code(session);
    AuthSessionView {
        id: session.id.as_str().to_owned(),
        provider: session.provider.as_str().to_owned(),
        connection: session.connection_name.as_str().to_owned(),
        status: session.state.into(),
        message: session.status_message.clone(),
        error: session.error_message.clone(),
        created_at: session.created_at.to_json_form(),
        expires_at: session.expires_at.to_json_form(),
        next_action: match auth_sessions::next_step(state, session) {
            NextStep::Nothing => NextAction::None(NoAction {}),
            NextStep::OpenUrl(url) => NextAction::OpenUrl(OpenUrlAction { url }),
            NextStep::CaptureCookies(capture) => NextAction::Browser(BrowserAction {
                entry_url: capture.entry_url,
                domains: capture.domains,
                auth_cookies: capture.auth_cookies,
                ttl_from_cookie: capture.ttl_from_cookie,
                ttl_hours: capture.ttl_hours,
            }),
        },
        user_code: code.map(|(user_code, _, _)| user_code.to_owned()),
        verification_uri: code.map(|(_, uri, _)| uri.to_owned()),
        verification_uri_complete: code.and_then(|(_, _, complete)| complete).map(str::to_owned),
    }
}

/// `GET /api/auth/sessions/{id}/input`: what the input page asks for.
#[derive(Object)]
pub struct SessionInputs {
    /// The session id.
    pub session_id: String,
    /// Provider name.
    pub provider: String,
    /// Its name for people.
    pub display_name: String,
    /// Where the provider documents its keys.
    #[oai(nullable)]
    pub docs_url: Option<String>,
    /// The inputs.
    pub fields: Vec<Documented<InputField>>,
    /// The OAuth callback address to register at the provider (OAuth providers).
    #[oai(nullable)]
    pub callback_url: Option<String>,
    /// Always null (kept for the reference's shape).
    #[oai(nullable)]
    pub warning: Option<String>,
}

/// `GET /api/auth/sessions/{id}/status`.
#[derive(Object)]
pub struct SessionProgress {
    /// The session id.
    pub id: String,
    /// Provider name.
    pub provider: String,
    /// The connection it makes.
    pub connection: String,
    /// Where it stands.
    pub status: AuthSessionStatus,
    /// Progress for people.
    #[oai(nullable)]
    pub message: Option<String>,
    /// Why it failed.
    #[oai(nullable)]
    pub error: Option<String>,
}

/// `GET /api/auth/sessions/{id}/device`.
#[derive(Object)]
pub struct DeviceCode {
    /// The session id.
    pub session_id: String,
    /// The provider.
    pub display_name: String,
    /// The code to enter.
    pub user_code: String,
    /// Where to enter it.
    pub verification_uri: String,
    /// The same with the code filled in.
    #[oai(nullable)]
    pub verification_uri_complete: Option<String>,
}

operation_success! {
    /// What `POST /api/auth/sessions`, `GET /api/auth/sessions/{id}` and
    /// `POST /api/auth/sessions/{id}/resume` answer.
    SessionSuccess {
        /// The login and what to do next.
        200 Session(AuthSessionView),
    }
}

operation_failures! {
    /// Why starting a login can fail.
    StartSessionFailure authenticated {
        /// The provider does not offer the flow (`UnsupportedFlowError`), a name or address is
        /// not valid, or the login cannot start (`OperationNotAllowedError`).
        400 BadRequest(ErrorBody),
        /// No such provider, or its name is not a valid one (`ProviderNotFoundError`).
        404 NotFound(ErrorBody),
        /// The body is not a login request.
        422 Invalid(ValidationReport),
        /// The body is larger than the server accepts (1 MiB).
        413 TooLarge(Detail),
        /// The provider could not be reached (device authorization, client registration).
        502 UpstreamUnreachable(ErrorBody),
        /// The provider did not answer in time.
        504 UpstreamTimedOut(ErrorBody),
    }
}

operation_failures! {
    /// Why reading a login can fail.
    GetSessionFailure authenticated {
        /// No such live session started by the calling agent.
        404 NotFound(Detail),
    }
}

operation_failures! {
    /// Why continuing a login can fail.
    ResumeSessionFailure authenticated {
        /// The data was refused (`AuthenticationFailedError`, a key that does not match, ...).
        400 BadRequest(ErrorBody),
        /// No such live session started by the calling agent.
        404 NotFound(ErrorBody),
        /// The body is not `{"data": {...}}`.
        422 Invalid(ValidationReport),
        /// The body is larger than the server accepts (1 MiB).
        413 TooLarge(Detail),
        /// The provider could not be reached.
        502 UpstreamUnreachable(ErrorBody),
        /// The provider did not answer in time.
        504 UpstreamTimedOut(ErrorBody),
    }
}

operation_success! {
    /// What `GET /api/auth/sessions/{id}/input` answers.
    InputsSuccess {
        /// The inputs the login asks for.
        200 Inputs(SessionInputs),
    }
}

operation_success! {
    /// What `GET /api/auth/sessions/{id}/status` answers.
    ProgressSuccess {
        /// Where the login stands.
        200 Progress(SessionProgress),
    }
}

operation_success! {
    /// What `GET /api/auth/sessions/{id}/device` answers.
    DeviceCodeSuccess {
        /// The code and where to enter it.
        200 Code(DeviceCode),
    }
}

operation_failures! {
    /// Why the browser views of a login can fail.
    BrowserSessionViewFailure authenticated {
        /// The session has no device code (`/device` only).
        400 BadRequest(Detail),
        /// No such live session owned by the signed-in person.
        404 NotFound(ErrorBody),
    }
}

/// Provider logins.
pub struct AuthSessionsApi;

fn session_not_found() -> ApiError {
    ApiError::detail(StatusCode::NOT_FOUND, "Authentication session not found")
}

/// The live session `id`; 404 when unknown, expired or malformed.
pub async fn load_session(state: &AppState, id: &str) -> ApiResult<AuthSession> {
    let Ok(id) = AuthSessionId::parse(id) else {
        return Err(session_not_found());
    };
    state
        .runtime
        .auth_sessions
        .get(&id)
        .await?
        .ok_or_else(session_not_found)
}

/// The session, if the agent `caller` started it.
async fn agent_session(state: &AppState, caller: &Caller, id: &str) -> ApiResult<AuthSession> {
    let session = load_session(state, id).await?;
    if session.identity.is_none() || session.identity != caller.identity {
        return Err(session_not_found());
    }
    Ok(session)
}

/// The session, if `person` is its principal (anything else reads as not found): pages and
/// inputs of a session are bound to the person who owns it (the reference let anyone with
/// the id use them).
pub async fn owned_session(state: &AppState, person: &Caller, id: &str) -> ApiResult<AuthSession> {
    let session = load_session(state, id).await?;
    if session.principal_id.as_ref() != Some(&person.principal_id) {
        return Err(session_not_found());
    }
    Ok(session)
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthSessionsApi {
    /// Starts a login. For an API-key provider the session waits for the key:
    /// `next_action.url` is the input page, which the signed-in owner of the agent opens.
    #[oai(path = "/api/auth/sessions", method = "post", operation_id = "start_login")]
    async fn start(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        body: Json<StartSession>,
    ) -> Result<SessionSuccess, StartSessionFailure> {
        let body = body.0;
        let request = StartLogin {
            provider: path_names::provider(&body.provider)?,
            connection: body.connection.unwrap_or_else(|| "default".to_owned()),
            flow: body.flow,
            scopes: body.scopes,
            base_url: body.base_url,
            force: body.force.unwrap_or(false),
            return_url: None,
        };
        let session = auth_sessions::start(state.0, &caller.0, request).await?;
        Ok(SessionSuccess::Session(Json(session_view(state.0, &session))))
    }

    /// A login the calling agent started.
    #[oai(path = "/api/auth/sessions/:session_id", method = "get", operation_id = "get_login")]
    async fn get(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        session_id: Path<String>,
    ) -> Result<SessionSuccess, GetSessionFailure> {
        let session = agent_session(state.0, &caller.0, &session_id.0).await?;
        Ok(SessionSuccess::Session(Json(session_view(state.0, &session))))
    }

    /// Continues a login the calling agent started, with flow data (`{"data": {"api_key":
    /// ...}}` completes an API-key login). A failure marks the session failed; it may be
    /// resumed again.
    #[oai(
        path = "/api/auth/sessions/:session_id/resume",
        method = "post",
        operation_id = "resume_login"
    )]
    async fn resume(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        session_id: Path<String>,
        body: Json<ResumeSession>,
    ) -> Result<SessionSuccess, ResumeSessionFailure> {
        let mut session = agent_session(state.0, &caller.0, &session_id.0).await?;
        let data: Map<String, Value> = body.0.data.unwrap_or_default().into_iter().collect();
        auth_sessions::resume(state.0, &mut session, &data).await?;
        Ok(SessionSuccess::Session(Json(session_view(state.0, &session))))
    }

    /// What the input page asks for (signed-in owner of the session only).
    #[oai(
        path = "/api/auth/sessions/:session_id/input",
        method = "get",
        operation_id = "login_inputs"
    )]
    async fn input(
        &self,
        state: Data<&SharedState>,
        person: BrowserCaller,
        session_id: Path<String>,
    ) -> Result<InputsSuccess, BrowserSessionViewFailure> {
        let session = owned_session(state.0, &person.0, &session_id.0).await?;
        let definition = state.0.catalog.get(&session.provider).await?;
        let oauth = definition.auth_type == authsome_domain::provider_definition::AuthType::Oauth2;
        let fields = match session.payload.get("input_fields") {
            Some(Value::Array(fields)) => fields.iter().cloned().map(Documented::new).collect(),
            _ => Vec::new(),
        };
        Ok(InputsSuccess::Inputs(Json(SessionInputs {
            session_id: session.id.as_str().to_owned(),
            provider: session.provider.as_str().to_owned(),
            display_name: definition.display_name.clone(),
            docs_url: definition.docs_url.clone(),
            fields,
            callback_url: oauth.then(|| state.0.url("/api/auth/callback/oauth")),
            warning: None,
        })))
    }

    /// A session's progress (signed-in owner of the session only).
    #[oai(
        path = "/api/auth/sessions/:session_id/status",
        method = "get",
        operation_id = "login_progress"
    )]
    async fn status(
        &self,
        state: Data<&SharedState>,
        person: BrowserCaller,
        session_id: Path<String>,
    ) -> Result<ProgressSuccess, BrowserSessionViewFailure> {
        let session = owned_session(state.0, &person.0, &session_id.0).await?;
        Ok(ProgressSuccess::Progress(Json(SessionProgress {
            id: session.id.as_str().to_owned(),
            provider: session.provider.as_str().to_owned(),
            connection: session.connection_name.as_str().to_owned(),
            status: session.state.into(),
            message: session.status_message.clone(),
            error: session.error_message.clone(),
        })))
    }

    /// A session's device code and where to enter it (device-code logins; signed-in owner only).
    #[oai(
        path = "/api/auth/sessions/:session_id/device",
        method = "get",
        operation_id = "login_device_code"
    )]
    async fn device(
        &self,
        state: Data<&SharedState>,
        person: BrowserCaller,
        session_id: Path<String>,
    ) -> Result<DeviceCodeSuccess, BrowserSessionViewFailure> {
        let session = owned_session(state.0, &person.0, &session_id.0).await?;
        match device::user_code(&session) {
            Some((user_code, uri, complete)) => Ok(DeviceCodeSuccess::Code(Json(DeviceCode {
                session_id: session.id.as_str().to_owned(),
                display_name: session.provider.as_str().to_owned(),
                user_code: user_code.to_owned(),
                verification_uri: uri.to_owned(),
                verification_uri_complete: complete.map(str::to_owned),
            }))),
            None => Err(ApiError::detail(StatusCode::BAD_REQUEST, "This session does not have a device code").into()),
        }
    }
}
