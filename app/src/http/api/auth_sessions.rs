//! `/api/auth/sessions/*`: provider logins started by agents (and the JSON views the browser
//! pages use).

use authsome_domain::{AuthSession, AuthSessionId};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value, json};

use crate::http::api::ApiTags;
use crate::http::caller::{PopCaller, browser_caller};
use crate::http::errors::{ApiError, ApiResult};
use crate::services::auth_sessions::{self, StartLogin};
use crate::services::ownership::Caller;
use crate::state::{AppState, SharedState};

/// `POST /api/auth/sessions` body (the CLI sends all six keys, null when unset).
#[derive(Object)]
pub struct StartSession {
    /// Provider name.
    pub provider: String,
    /// Connection name (default `default`).
    pub connection: Option<String>,
    /// A flow other than the provider's own.
    pub flow: Option<String>,
    /// Requested scopes (OAuth).
    pub scopes: Option<Vec<String>>,
    /// Base URL for self-hosted providers.
    pub base_url: Option<String>,
    /// Log in again even if a usable connection exists (default false).
    pub force: Option<bool>,
}

/// `POST /api/auth/sessions/{id}/resume` body.
#[derive(Object)]
pub struct ResumeSession {
    /// Flow data, such as `{"api_key": "..."}`.
    pub data: Option<Value>,
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

/// The session, if the browser caller is its principal: pages and inputs of a session are
/// bound to the person who owns it (the reference let anyone with the id use them).
pub async fn browser_session_for(
    state: &AppState,
    request: &poem::Request,
    id: &str,
) -> ApiResult<(AuthSession, Caller)> {
    let Some(caller) = browser_caller(request).await? else {
        return Err(ApiError::detail(
            StatusCode::UNAUTHORIZED,
            "Missing or invalid browser session",
        ));
    };
    let session = load_session(state, id).await?;
    if session.principal_id.as_ref() != Some(&caller.principal_id) {
        return Err(session_not_found());
    }
    Ok((session, caller))
}

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthSessionsApi {
    /// Starts a login. For an API-key provider the session waits for the key:
    /// `next_action.url` is the input page, which the signed-in owner of the agent opens.
    #[oai(path = "/api/auth/sessions", method = "post")]
    async fn start(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        body: Json<StartSession>,
    ) -> ApiResult<Json<Value>> {
        let body = body.0;
        let request = StartLogin {
            provider: body.provider,
            connection: body.connection.unwrap_or_else(|| "default".to_owned()),
            flow: body.flow,
            scopes: body.scopes,
            base_url: body.base_url,
            force: body.force.unwrap_or(false),
            return_url: None,
        };
        let session = auth_sessions::start(state.0, &caller.0, request).await?;
        Ok(Json(auth_sessions::view(state.0, &session)))
    }

    /// A login the calling agent started.
    #[oai(path = "/api/auth/sessions/:session_id", method = "get")]
    async fn get(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        session_id: Path<String>,
    ) -> ApiResult<Json<Value>> {
        let session = agent_session(state.0, &caller.0, &session_id.0).await?;
        Ok(Json(auth_sessions::view(state.0, &session)))
    }

    /// Continues a login the calling agent started, with flow data (`{"data": {"api_key":
    /// ...}}` completes an API-key login). A failure marks the session failed; it may be
    /// resumed again.
    #[oai(path = "/api/auth/sessions/:session_id/resume", method = "post")]
    async fn resume(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        session_id: Path<String>,
        body: Json<ResumeSession>,
    ) -> ApiResult<Json<Value>> {
        let mut session = agent_session(state.0, &caller.0, &session_id.0).await?;
        let data = match body.0.data {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(data)) => data,
            Some(_) => {
                return Err(ApiError::validation(
                    &["body", "data"],
                    "Input should be a valid dictionary",
                    "dict_type",
                ));
            }
        };
        auth_sessions::resume(state.0, &mut session, &data).await?;
        Ok(Json(auth_sessions::view(state.0, &session)))
    }

    /// What the input page asks for (signed-in owner of the session only).
    #[oai(path = "/api/auth/sessions/:session_id/input", method = "get")]
    async fn input(
        &self,
        state: Data<&SharedState>,
        request: &poem::Request,
        session_id: Path<String>,
    ) -> ApiResult<Json<Value>> {
        let (session, _) = browser_session_for(state.0, request, &session_id.0).await?;
        let definition = state.0.catalog.get(session.provider.as_str()).await?;
        let oauth = definition.auth_type == authsome_domain::provider_definition::AuthType::Oauth2;
        Ok(Json(json!({
            "session_id": session.id.as_str(),
            "provider": session.provider.as_str(),
            "display_name": definition.display_name,
            "docs_url": definition.docs_url,
            "fields": session.payload.get("input_fields").cloned().unwrap_or_else(|| json!([])),
            "callback_url": if oauth { Value::String(state.0.url("/api/auth/callback/oauth")) } else { Value::Null },
            "warning": Value::Null,
        })))
    }

    /// A session's progress (signed-in owner of the session only).
    #[oai(path = "/api/auth/sessions/:session_id/status", method = "get")]
    async fn status(
        &self,
        state: Data<&SharedState>,
        request: &poem::Request,
        session_id: Path<String>,
    ) -> ApiResult<Json<Value>> {
        let (session, _) = browser_session_for(state.0, request, &session_id.0).await?;
        Ok(Json(json!({
            "id": session.id.as_str(),
            "provider": session.provider.as_str(),
            "connection": session.connection_name.as_str(),
            "status": session.state.as_str(),
            "message": session.status_message,
            "error": session.error_message,
        })))
    }

    /// A session's device code and where to enter it (device-code logins; signed-in owner only).
    #[oai(path = "/api/auth/sessions/:session_id/device", method = "get")]
    async fn device(
        &self,
        state: Data<&SharedState>,
        request: &poem::Request,
        session_id: Path<String>,
    ) -> ApiResult<Json<Value>> {
        let (session, _) = browser_session_for(state.0, request, &session_id.0).await?;
        let code = session
            .payload
            .get("user_code")
            .zip(session.payload.get("verification_uri"));
        match code {
            Some((user_code, uri)) => Ok(Json(json!({
                "session_id": session.id.as_str(),
                "display_name": session.provider.as_str(),
                "user_code": user_code,
                "verification_uri": uri,
                "verification_uri_complete": session.payload.get("verification_uri_complete"),
            }))),
            None => Err(ApiError::detail(
                StatusCode::BAD_REQUEST,
                "This session does not have a device code",
            )),
        }
    }
}
