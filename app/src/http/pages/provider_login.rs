//! The person's half of an agent's provider login: the API-key form the CLI's `login` opens,
//! and the page that says it worked. Sessions are bound to the principal who owns the agent:
//! knowing a session id is not enough to read or fill its form.

use authsome_domain::provider_definition::FlowType;
use authsome_domain::{AuthSession, AuthSessionState};
use poem::http::StatusCode;
use poem::{IntoResponse, Request, Response};
use poem_openapi::payload::Json;
use secrecy::SecretString;
use serde_json::Value;

use super::html::{escape, escape_name, hidden, page};
use super::{
    CSRF_FIELD, SignedIn, encode_query, failure_page, form_fields, login_location, missing_state, query_param,
    see_other, session_token_valid, signed_in, state_of, wants_json,
};
use crate::http::api::auth_sessions::load_session;
use crate::http::errors::ApiError;
use crate::services::auth_sessions;
use crate::state::AppState;

fn input_path(session_id: &str) -> String {
    format!("/auth/input?{}", encode_query(&[("session", session_id)]))
}

fn success_path(session_id: &str) -> String {
    format!("/auth/success?{}", encode_query(&[("session", session_id)]))
}

/// The session, when `person` owns it (anything else reads as not found).
async fn owned_session(state: &AppState, person: &SignedIn, session_id: &str) -> Result<AuthSession, ApiError> {
    let session = load_session(state, session_id).await?;
    if session.principal_id.as_ref() != Some(&person.caller.principal_id) {
        return Err(ApiError::detail(
            StatusCode::NOT_FOUND,
            "Authentication session not found",
        ));
    }
    Ok(session)
}

fn field_inputs(session: &AuthSession) -> String {
    let fields = session
        .payload
        .get("input_fields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut html = String::new();
    for (index, field) in fields.iter().enumerate() {
        let Some(name) = field.get("name").and_then(Value::as_str) else {
            continue;
        };
        let label = field.get("label").and_then(Value::as_str).unwrap_or(name);
        let kind = if field.get("secret").and_then(Value::as_bool).unwrap_or(false) {
            "password"
        } else {
            "text"
        };
        let required = if field.get("required").and_then(Value::as_bool).unwrap_or(true) {
            " required"
        } else {
            ""
        };
        let id = format!("field-{index}");
        html.push_str(&format!(
            "<label for=\"{id}\">{}</label><input id=\"{id}\" type=\"{kind}\" name=\"{}\" autocomplete=\"off\"{required}>",
            escape(label),
            escape(name)
        ));
        if let Some(hint) = field.get("pattern_hint").and_then(Value::as_str) {
            html.push_str(&format!("<p class=\"muted\">{}</p>", escape(hint)));
        }
    }
    html
}

async fn render_input(
    state: &AppState,
    person: &SignedIn,
    session: &AuthSession,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let definition = match state.catalog.get(session.provider.as_str()).await {
        Ok(definition) => definition,
        Err(error) => return failure_page(error.into()),
    };
    let agent = session
        .identity
        .as_ref()
        .map(|h| h.as_str().to_owned())
        .unwrap_or_else(|| "your account".to_owned());
    let error_html = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let docs = definition
        .docs_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(|u| {
            format!(
                "<p class=\"muted\">Where to find it: <a href=\"{}\" rel=\"noopener noreferrer\">{}</a></p>",
                escape(u),
                escape(u)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Connect {}</h1>{error_html}<p>Agent <code>{}</code> asked to log in to <strong>{}</strong> \
         (connection <code>{}</code>). The key is stored encrypted in your vault.</p>{docs}\
         <form method=\"post\" action=\"{}\">{}{}<button type=\"submit\">Save</button></form>",
        escape(&definition.display_name),
        escape_name(&agent),
        escape(&definition.display_name),
        escape_name(session.connection_name.as_str()),
        escape(&input_path(session.id.as_str())),
        hidden(CSRF_FIELD, &person.csrf_token),
        field_inputs(session),
    );
    page(status, "Connect a provider", &body, false)
}

/// `GET /auth/input?session=...`: the form for the session's inputs.
pub async fn input_page(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let session_id = query_param(request, "session").unwrap_or_default();
    let person = match signed_in(request).await {
        Ok(Some(person)) => person,
        Ok(None) => return see_other(&login_location(&input_path(&session_id))),
        Err(error) => return failure_page(error),
    };
    let session = match owned_session(&state, &person, &session_id).await {
        Ok(session) => session,
        Err(error) => return failure_page(error),
    };
    if session.state == AuthSessionState::Completed {
        return see_other(&success_path(session.id.as_str()));
    }
    let error = (session.state == AuthSessionState::Failed)
        .then(|| session.error_message.clone())
        .flatten();
    render_input(&state, &person, &session, error.as_deref(), StatusCode::OK).await
}

async fn submit(request: &Request, session_id: &str) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let json = wants_json(request);
    let refuse = |error: ApiError| {
        if json {
            error.into_response()
        } else {
            failure_page(error)
        }
    };
    let person = match signed_in(request).await {
        Ok(Some(person)) => person,
        Ok(None) if json => {
            return ApiError::detail(StatusCode::UNAUTHORIZED, "Missing or invalid browser session").into_response();
        }
        Ok(None) => return see_other(&login_location(&input_path(session_id))),
        Err(error) => return refuse(error),
    };
    let fields = form_fields(request);
    if !session_token_valid(request, &fields, &person) {
        return refuse(ApiError::detail(StatusCode::FORBIDDEN, "Missing or invalid CSRF token"));
    }
    let mut session = match owned_session(&state, &person, session_id).await {
        Ok(session) => session,
        Err(error) => return refuse(error),
    };
    if FlowType::parse(&session.flow_type) != Some(FlowType::ApiKey) {
        return refuse(ApiError::detail(
            StatusCode::BAD_REQUEST,
            "This login does not take input here",
        ));
    }
    if session.state == AuthSessionState::Completed {
        return see_other(&success_path(session.id.as_str()));
    }
    let key = fields.get("api_key").map(|k| SecretString::from(k.clone()));
    match auth_sessions::complete_api_key(&state, &mut session, key).await {
        Ok(()) if json => Json(auth_sessions::view(&state, &session)).into_response(),
        Ok(()) => match session.payload.get("return_url").and_then(Value::as_str) {
            Some(url) => see_other(&super::sanitize_next(Some(url))),
            None => see_other(&success_path(session.id.as_str())),
        },
        Err(error) => {
            let error = ApiError::from(error);
            if json || error.status().is_server_error() {
                return refuse(error);
            }
            let message = error
                .body()
                .get("message")
                .or_else(|| error.body().get("detail"))
                .and_then(Value::as_str)
                .unwrap_or("The key was not accepted")
                .to_owned();
            render_input(&state, &person, &session, Some(&message), StatusCode::BAD_REQUEST).await
        }
    }
}

/// `POST /auth/input?session=...`: the form's submission.
pub async fn submit_form(request: &Request) -> Response {
    let session_id = query_param(request, "session").unwrap_or_default();
    submit(request, &session_id).await
}

/// `POST /api/auth/sessions/{id}/input`: the same, addressed by path.
pub async fn submit_api(request: &Request, session_id: &str) -> Response {
    submit(request, session_id).await
}

/// `GET /auth/success`: the end of a provider login.
pub async fn success_page(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    if let Some(error) = query_param(request, "error") {
        let message = match error.as_str() {
            "missing_state" => "The provider's response was missing its state.",
            "session_expired" => "The login took too long and expired. Start it again from the agent.",
            _ => "The login did not complete.",
        };
        return page(
            StatusCode::BAD_REQUEST,
            "Login failed",
            &format!("<h1>Login failed</h1><p class=\"error\">{}</p>", escape(message)),
            false,
        );
    }
    let session_id = query_param(request, "session").unwrap_or_default();
    let detail = match signed_in(request).await {
        Ok(Some(person)) => owned_session(&state, &person, &session_id).await.ok(),
        _ => None,
    };
    let body = match detail {
        Some(session) if session.state == AuthSessionState::Completed => format!(
            "<h1>Connected</h1><p class=\"notice\">{} is connected (connection <code>{}</code>). You can close this window; \
             the agent continues on its own.</p><p><a href=\"/\">Home</a></p>",
            escape_name(session.provider.as_str()),
            escape_name(session.connection_name.as_str())
        ),
        _ => "<h1>Done</h1><p>You can close this window.</p><p><a href=\"/\">Home</a></p>".to_owned(),
    };
    page(StatusCode::OK, "Connected", &body, false)
}

/// `GET /api/auth/callback/oauth`: where OAuth providers return. OAuth logins are not offered
/// yet, so every state is unknown.
pub fn oauth_callback(request: &Request) -> Response {
    match query_param(request, "state").filter(|s| !s.is_empty()) {
        None => see_other("/auth/success?error=missing_state"),
        Some(_) => see_other("/auth/success?error=session_expired"),
    }
}
