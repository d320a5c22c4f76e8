//! The person's half of a provider login: the input form the CLI's `login` opens (an API key,
//! or an OAuth provider's client settings), the device-code page, the OAuth callback, the
//! dashboard's Connect, and the page that says how it ended. Sessions are bound to the
//! principal who owns the agent: knowing a session id is not enough to read or fill its form,
//! nor to finish its OAuth login (the callback must land in that principal's signed-in
//! browser).

use authsome_domain::provider_definition::AuthType;
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
use crate::http::api::auth_sessions::owned_session;
use crate::http::api::path_names;
use crate::http::errors::ApiError;
use crate::state::AppState;
use authsome_services::auth_sessions;
use authsome_services::oauth::{code_flow, device};

fn input_path(session_id: &str) -> String {
    format!("/auth/input?{}", encode_query(&[("session", session_id)]))
}

fn success_path(session_id: &str) -> String {
    format!("/auth/success?{}", encode_query(&[("session", session_id)]))
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
        let value = match field.get("default") {
            Some(Value::String(default)) if kind == "text" => format!(" value=\"{}\"", escape(default)),
            _ => String::new(),
        };
        html.push_str(&format!(
            "<label for=\"{id}\">{}</label><input id=\"{id}\" type=\"{kind}\" name=\"{}\" autocomplete=\"off\"{value}{required}>",
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
    let definition = match state.catalog.get(&session.provider).await {
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
    let button = if definition.auth_type == AuthType::Oauth2 {
        "Continue"
    } else {
        "Save"
    };
    let explanation = if definition.auth_type == AuthType::Oauth2 {
        format!(
            "<p>To log in to <strong>{}</strong> this server needs its OAuth client. Register an OAuth app at the \
             provider with this callback URL: <code>{}</code>. What you enter here is saved for every login to it; \
             then the provider's sign-in opens.</p>",
            escape(&definition.display_name),
            escape(&authsome_services::oauth::callback_url(state)),
        )
    } else {
        "<p>The key is stored encrypted in your vault.</p>".to_owned()
    };
    let body = format!(
        "<h1>Connect {}</h1>{error_html}<p>Agent <code>{}</code> asked to log in to <strong>{}</strong> \
         (connection <code>{}</code>).</p>{explanation}{docs}\
         <form method=\"post\" action=\"{}\">{}{}<button type=\"submit\">{button}</button></form>",
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
pub(super) async fn input_page(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let session_id = query_param(request, "session").unwrap_or_default();
    let person = match signed_in(request).await {
        Ok(Some(person)) => person,
        Ok(None) => return see_other(&login_location(&input_path(&session_id))),
        Err(error) => return failure_page(error),
    };
    let session = match owned_session(&state, &person.caller, &session_id).await {
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
    let mut session = match owned_session(&state, &person.caller, session_id).await {
        Ok(session) => session,
        Err(error) => return refuse(error),
    };
    if session.state == AuthSessionState::Completed {
        return see_other(&success_path(session.id.as_str()));
    }
    if !session.payload.contains_key("input_fields") {
        return refuse(ApiError::detail(
            StatusCode::BAD_REQUEST,
            "This login does not take input here",
        ));
    }
    match auth_sessions::submit_inputs(&state, &mut session, &person.caller, &fields).await {
        Ok(()) if json => Json(crate::http::api::auth_sessions::session_view(&state, &session)).into_response(),
        Ok(()) => super::after_form(&state, &auth_sessions::next_page(&state, &session)),
        Err(error) => {
            let error = ApiError::from(error);
            if json || error.status().is_server_error() {
                return refuse(error);
            }
            let message = error.message().unwrap_or("The input was not accepted").to_owned();
            render_input(&state, &person, &session, Some(&message), StatusCode::BAD_REQUEST).await
        }
    }
}

/// `POST /auth/input?session=...`: the form's submission.
pub(super) async fn submit_form(request: &Request) -> Response {
    let session_id = query_param(request, "session").unwrap_or_default();
    submit(request, &session_id).await
}

/// `POST /api/auth/sessions/{id}/input`: the same, addressed by path.
pub(super) async fn submit_api(request: &Request, session_id: &str) -> Response {
    submit(request, session_id).await
}

/// `GET /auth/success`: the end of a provider login, as its owner sees it (how it ended, and
/// why when it failed).
pub(super) async fn success_page(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    if let Some(error) = query_param(request, "error") {
        let message = match error.as_str() {
            "missing_state" => "The provider's response was missing its state.",
            "session_expired" => {
                "This login is unknown or already finished (its link works once), or it took too long and expired. \
                 Start it again from the agent."
            }
            "wrong_account" => {
                "The provider sent this login back to a browser signed in as another account, so it was refused. \
                 Start it again, and finish it signed in as the agent's owner."
            }
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
        Ok(Some(person)) => owned_session(&state, &person.caller, &session_id).await.ok(),
        _ => None,
    };
    let (status, title, body) = match detail {
        Some(session) if session.state == AuthSessionState::Completed => (
            StatusCode::OK,
            "Connected",
            format!(
                "<h1>Connected</h1><p class=\"notice\">{} is connected (connection <code>{}</code>). You can close this \
                 window; the agent continues on its own.</p><p><a href=\"/\">Home</a></p>",
                escape_name(session.provider.as_str()),
                escape_name(session.connection_name.as_str())
            ),
        ),
        Some(session) if session.state == AuthSessionState::Failed => (
            StatusCode::OK,
            "Login failed",
            format!(
                "<h1>Login failed</h1><p class=\"error\" role=\"alert\">{}</p><p>Start the login again from the agent \
                 (<code>authsome login {}</code>).</p><p><a href=\"/\">Home</a></p>",
                escape(
                    session
                        .error_message
                        .as_deref()
                        .unwrap_or("The login did not complete.")
                ),
                escape_name(session.provider.as_str()),
            ),
        ),
        Some(session) => (
            StatusCode::OK,
            "Login in progress",
            format!(
                "<h1>Not finished yet</h1><p>The login to {} is still waiting.</p><p><a href=\"{}\">Continue</a></p>",
                escape_name(session.provider.as_str()),
                escape(&auth_sessions::next_page(&state, &session)),
            ),
        ),
        None => (
            StatusCode::OK,
            "Done",
            "<h1>Done</h1><p>You can close this window.</p><p><a href=\"/\">Home</a></p>".to_owned(),
        ),
    };
    page(status, title, &body, false)
}

fn device_path(session_id: &str) -> String {
    format!("/auth/device?{}", encode_query(&[("session", session_id)]))
}

/// `GET /auth/device?session=...`: the code the person enters at the provider, a link to
/// where, and the login's progress (the page reloads itself every few seconds while it waits;
/// no script).
pub(super) async fn device_page(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let session_id = query_param(request, "session").unwrap_or_default();
    let person = match signed_in(request).await {
        Ok(Some(person)) => person,
        Ok(None) => return see_other(&login_location(&device_path(&session_id))),
        Err(error) => return failure_page(error),
    };
    let session = match owned_session(&state, &person.caller, &session_id).await {
        Ok(session) => session,
        Err(error) => return failure_page(error),
    };
    if matches!(session.state, AuthSessionState::Completed | AuthSessionState::Failed) {
        return see_other(&auth_sessions::finish_page(&session));
    }
    let Some((user_code, verification_uri, complete)) = device::user_code(&session) else {
        return failure_page(ApiError::detail(
            StatusCode::BAD_REQUEST,
            "This session does not have a device code",
        ));
    };
    let display = state
        .catalog
        .get(&session.provider)
        .await
        .map(|d| d.display_name.clone())
        .unwrap_or_else(|_| session.provider.as_str().to_owned());
    let link = complete.unwrap_or(verification_uri);
    let body = format!(
        "<h1>Connect {}</h1><p>Enter this code at {}:</p><p class=\"code\"><code>{}</code></p>\
         <p><a class=\"button\" href=\"{}\" rel=\"noopener noreferrer\">Open {}</a></p>\
         <p class=\"muted\" role=\"status\">Waiting for you to approve the login at {}. This page updates by itself \
         (connection <code>{}</code>).</p>",
        escape(&display),
        escape(verification_uri),
        escape(user_code),
        escape(link),
        escape(verification_uri),
        escape(&display),
        escape_name(session.connection_name.as_str()),
    );
    super::html::refreshing(page(StatusCode::OK, "Enter the code", &body, false), 5)
}

/// `GET /api/auth/callback/oauth`: where the provider sends the person back. The login must
/// be finished in a browser signed in as the principal who owns it (otherwise a link to a
/// stranger's login could put the person's provider account in the stranger's vault); the
/// state is then spent, so a replayed or forged callback finds nothing.
pub(super) async fn oauth_callback(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let Some(oauth_state) = query_param(request, "state").filter(|s| !s.is_empty()) else {
        return see_other("/auth/success?error=missing_state");
    };
    let person = match signed_in(request).await {
        Ok(Some(person)) => person,
        Ok(None) => {
            let here = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default();
            return see_other(&login_location(&here));
        }
        Err(error) => return failure_page(error),
    };
    let mut session = match state.runtime.auth_sessions.take_by_oauth_state(&oauth_state).await {
        Ok(Some(session)) => session,
        Ok(None) => return see_other("/auth/success?error=session_expired"),
        Err(error) => return failure_page(error.into()),
    };
    if session.principal_id.as_ref() != Some(&person.caller.principal_id) {
        let refusal = authsome_services::oauth::failed(
            &session,
            "the provider sent the login back to a browser signed in as another account",
        );
        if let Err(error) = auth_sessions::record_outcome(&state, &mut session, &Err(refusal)).await {
            return failure_page(error.into());
        }
        return see_other("/auth/success?error=wrong_account");
    }
    let callback = code_flow::Callback {
        code: query_param(request, "code").map(SecretString::from),
        error: query_param(request, "error"),
        error_description: query_param(request, "error_description"),
    };
    let outcome = code_flow::finish(&state, &mut session, callback).await;
    if let Err(error) = auth_sessions::record_outcome(&state, &mut session, &outcome).await {
        return failure_page(error.into());
    }
    see_other(&auth_sessions::finish_page(&session))
}

/// `POST /api/auth/providers/{provider}/connect`: the signed-in person starts a login to
/// `provider` for themselves (fields `connection` or `connection_name`, `force`,
/// `return_url`), and the browser goes where it continues: the input form, the provider's
/// sign-in, the device-code page. At the end (or at once when already connected) it goes to
/// `return_url`, or else to the connection's page with a message saying which.
pub(super) async fn connect(request: &Request, provider: &str) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match signed_in(request).await {
        Ok(Some(person)) => person,
        Ok(None) => return see_other(&login_location("/")),
        Err(error) => return failure_page(error),
    };
    let fields = form_fields(request);
    if !session_token_valid(request, &fields, &person) {
        return failure_page(ApiError::detail(StatusCode::FORBIDDEN, "Missing or invalid CSRF token"));
    }
    let connection = fields
        .get("connection")
        .or_else(|| fields.get("connection_name"))
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let force = fields
        .get("force")
        .is_some_and(|f| matches!(f.to_ascii_lowercase().as_str(), "1" | "true" | "on" | "yes"));
    let provider = match path_names::provider(provider) {
        Ok(provider) => provider,
        Err(error) => return failure_page(error),
    };
    // Without a return path the person lands on the connection's own page, told how it went.
    let explicit_return = fields
        .get("return_url")
        .filter(|url| !url.is_empty())
        .map(|url| super::sanitize_next(Some(url)));
    let typed_name = connection.clone();
    let connection_page = |done: &str| {
        format!(
            "{}&done={done}",
            super::connections::detail_href(provider.as_str(), &typed_name, None)
        )
    };
    let return_url = explicit_return.clone().unwrap_or_else(|| connection_page("connected"));
    let start = auth_sessions::StartLogin {
        provider: provider.clone(),
        connection,
        flow: None,
        scopes: None,
        base_url: None,
        force,
        return_url: Some(return_url),
    };
    let session = match auth_sessions::start(&state, &person.caller, start).await {
        Ok(session) => session,
        Err(error) => {
            let error = ApiError::from(error);
            if error.status().is_client_error() && error.status() != StatusCode::NOT_FOUND {
                // The person's mistake (a name that is not allowed, a login that cannot
                // start): say so next to the field on the provider's page, name as typed.
                let reason = error.message().unwrap_or("This login cannot start").to_owned();
                return super::providers::connect_refused(&state, &person, &provider, &typed_name, reason).await;
            }
            return failure_page(error);
        }
    };
    let location = if session.state == AuthSessionState::Completed {
        explicit_return.unwrap_or_else(|| connection_page("already"))
    } else if session.payload.contains_key("input_fields") {
        input_path(session.id.as_str())
    } else if session.payload.contains_key("browser_login") {
        return failure_page(ApiError::detail(
            StatusCode::BAD_REQUEST,
            format!(
                "A browser-cookie login reads the cookies of the browser on the agent's machine: run `authsome login {provider}` there"
            ),
        ));
    } else {
        auth_sessions::next_page(&state, &session)
    };
    if request.headers().get("hx-request").and_then(|v| v.to_str().ok()) == Some("true") {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Ok(value) = poem::http::HeaderValue::from_str(&location) {
            response.headers_mut().insert("hx-redirect", value);
        }
        return response;
    }
    super::after_form(&state, &location)
}
