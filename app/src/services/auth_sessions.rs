//! Provider logins through auth sessions. This server implements the API-key flow (the
//! CLI's `login <provider>` input form and `onboard`'s key import); OAuth and browser-cookie
//! flows are refused with `UnsupportedFlowError` until they are built.

use authsome_domain::credential_records::ConnectionRecord;
use authsome_domain::provider_definition::{AuthType, FlowType, ProviderDefinition};
use authsome_domain::{AuthSession, AuthSessionState, ConnectionName, ProviderName, Timestamp};
use poem::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use crate::services::audit::{self, AuditEventExt};
use crate::services::credentials::VaultScope;
use crate::services::ownership::Caller;
use crate::services::{AuthsomeError, ServiceError};
use crate::state::AppState;

/// `POST /api/auth/sessions` input.
#[derive(Debug, Clone)]
pub struct StartLogin {
    /// Provider name.
    pub provider: String,
    /// Connection name.
    pub connection: String,
    /// A flow other than the provider's own.
    pub flow: Option<String>,
    /// Requested scopes (OAuth).
    pub scopes: Option<Vec<String>>,
    /// Base URL (self-hosted providers).
    pub base_url: Option<String>,
    /// Log in again even when a usable connection exists.
    pub force: bool,
}

fn bad_request(message: impl Into<String>) -> ServiceError {
    ServiceError::detail(StatusCode::BAD_REQUEST, message)
}

/// The input fields a flow needs from the person.
fn input_fields(definition: &ProviderDefinition) -> Vec<Value> {
    let mut field = json!({"name": "api_key", "label": "API Key", "secret": true, "required": true});
    if let Some(config) = &definition.api_key
        && let Some(pattern) = &config.key_pattern
    {
        field["pattern"] = json!(pattern);
        if let Some(hint) = &config.key_pattern_hint {
            field["pattern_hint"] = json!(hint);
        }
    }
    vec![field]
}

fn normalised_scopes(scopes: Option<&Vec<String>>) -> std::collections::BTreeSet<String> {
    scopes
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The connection a login writes: a new one must be named in the safe alphabet
/// ([`ConnectionName::parse_new`]); one the caller already has (perhaps named by an older
/// version) may be logged into again under its name.
async fn login_connection_name(
    state: &AppState,
    caller: &Caller,
    provider: &ProviderName,
    requested: &str,
) -> Result<ConnectionName, ServiceError> {
    let new_name = ConnectionName::parse_new(requested);
    if new_name.is_ok() {
        return new_name.map_err(|e| bad_request(e.to_string()));
    }
    if let Ok(stored) = ConnectionName::parse(requested)
        && VaultScope::of(state, caller)
            .connection(provider.as_str(), stored.as_str())
            .await?
            .is_some()
    {
        return Ok(stored);
    }
    new_name.map_err(|e| bad_request(e.to_string()))
}

/// Starts a login for the caller (a PoP identity or a browser principal).
pub async fn start(state: &AppState, caller: &Caller, request: StartLogin) -> Result<AuthSession, ServiceError> {
    let provider = ProviderName::parse(&request.provider).map_err(|e| bad_request(e.to_string()))?;
    let definition = state.catalog.get(provider.as_str()).await?;
    let connection = login_connection_name(state, caller, &provider, &request.connection).await?;
    let flow = match request.flow.as_deref() {
        None => definition.flow,
        Some(text) => FlowType::parse(text).ok_or_else(|| AuthsomeError::unsupported_flow(text, provider.as_str()))?,
    };
    let mut session = AuthSession::new(
        provider.clone(),
        caller.identity.clone(),
        Some(caller.principal_id.clone()),
        connection.clone(),
        flow.as_str(),
        state.settings.auth_session_ttl_seconds,
    );
    session.payload.insert("force".to_owned(), json!(request.force));
    session.payload.insert(
        "callback_url_override".to_owned(),
        json!(state.url("/api/auth/callback/oauth")),
    );
    if let Some(scopes) = &request.scopes {
        session.payload.insert("requested_scopes".to_owned(), json!(scopes));
    }
    if let Some(base_url) = &request.base_url {
        session.payload.insert("base_url".to_owned(), json!(base_url));
    }

    if !request.force {
        let scope = VaultScope::of(state, caller);
        if let Some(existing) = scope.connection(provider.as_str(), connection.as_str()).await? {
            let scopes_match = request.scopes.is_none()
                || normalised_scopes(request.scopes.as_ref()) == normalised_scopes(existing.scopes.as_ref());
            let base_matches = request
                .base_url
                .as_deref()
                .is_none_or(|b| normalise_url(Some(b)) == normalise_url(existing.base_url.as_deref()));
            if existing.is_usable_at(Timestamp::now()) && scopes_match && base_matches {
                session.state = AuthSessionState::Completed;
                session.status_message = Some("Already connected".to_owned());
                state.runtime.auth_sessions.save(&session).await?;
                return Ok(session);
            }
        }
    }

    if flow != FlowType::ApiKey || definition.auth_type != AuthType::ApiKey {
        return Err(AuthsomeError::unsupported_flow(flow.as_str(), provider.as_str()).into());
    }
    session.state = AuthSessionState::WaitingForUser;
    session
        .payload
        .insert("input_fields".to_owned(), Value::Array(input_fields(&definition)));
    state.runtime.auth_sessions.save(&session).await?;
    Ok(session)
}

fn normalise_url(url: Option<&str>) -> Option<String> {
    let raw = url?.trim().trim_end_matches('/');
    if raw.is_empty() {
        return None;
    }
    match raw.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            let path = if path.is_empty() {
                String::new()
            } else {
                format!("/{path}")
            };
            Some(format!("{}://{}{path}", scheme.to_lowercase(), host.to_lowercase()))
        }
        None => Some(raw.to_owned()),
    }
}

/// The reference's `str(exc)` of a typed error: `ClassName: message`.
fn error_text(error: &ServiceError) -> String {
    match error {
        ServiceError::Authsome(e) => format!("{}: {}", e.class, e.message),
        other => other.to_string(),
    }
}

/// Completes the API-key flow with `key` (from the form, or resumed by the CLI): validates it,
/// stores the connection in the session principal's default vault, and marks the session.
/// A failure marks the session failed (it may be retried) and is returned.
pub async fn complete_api_key(
    state: &AppState,
    session: &mut AuthSession,
    key: Option<SecretString>,
) -> Result<(), ServiceError> {
    let outcome = store_api_key(state, session, key).await;
    match &outcome {
        Ok(()) => {
            session.state = AuthSessionState::Completed;
            session.status_message = Some("Login successful".to_owned());
            // A success after a failed attempt clears the old error (the reference kept it).
            session.error_message = None;
        }
        Err(error) => {
            session.state = AuthSessionState::Failed;
            session.error_message = Some(error_text(error));
        }
    }
    session.secrets.remove("api_key");
    state.runtime.auth_sessions.save(session).await?;
    outcome
}

async fn store_api_key(state: &AppState, session: &AuthSession, key: Option<SecretString>) -> Result<(), ServiceError> {
    let provider = session.provider.as_str();
    let connection = session.connection_name.as_str();
    let mut failure_event = authsome_domain::AuditEvent::new("provider.login_failed")
        .provider(provider)
        .connection(connection)
        .status("failure");
    failure_event.identity = session.identity.clone();
    failure_event.principal_id = session.principal_id.clone();
    let definition = state.catalog.get(provider).await?;
    let result = validate_key(&definition, key);
    let key = match result {
        Ok(key) => key,
        Err(error) => {
            audit::record(state, failure_event.with("error", error_text(&error))).await;
            return Err(error);
        }
    };
    let Some(principal_id) = &session.principal_id else {
        return Err(ServiceError::detail(
            StatusCode::NOT_FOUND,
            "Authentication session not found",
        ));
    };
    let Some(binding) = state.registries.bindings.get_default(principal_id).await? else {
        return Err(ServiceError::detail(
            StatusCode::FORBIDDEN,
            format!("Principal '{principal_id}' has no default vault"),
        ));
    };
    let scope = VaultScope::new(
        state,
        &binding.vault_id,
        session.identity.as_ref().map(|h| h.as_str()),
        Some(principal_id.as_str()),
    );
    let mut record = ConnectionRecord::api_key(provider, connection, key.expose_secret().to_owned());
    record.base_url = session
        .payload
        .get("base_url")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut event = authsome_domain::AuditEvent::new("provider.login")
        .provider(provider)
        .connection(connection)
        .status("success");
    event.identity = session.identity.clone();
    event.principal_id = session.principal_id.clone();
    audit::recorded(state, event, async {
        scope.save_connection(&mut record).await?;
        scope.note_connection_saved(provider, connection).await?;
        Ok(())
    })
    .await
}

fn validate_key(definition: &ProviderDefinition, key: Option<SecretString>) -> Result<SecretString, ServiceError> {
    let provider = definition.name.as_str();
    if definition.api_key.is_none() {
        return Err(AuthsomeError::authentication_failed("Provider missing 'api_key' configuration", provider).into());
    }
    let Some(key) = key
        .map(|k| SecretString::from(k.expose_secret().trim().to_owned()))
        .filter(|k| !k.expose_secret().is_empty())
    else {
        return Err(AuthsomeError::authentication_failed("API key cannot be empty", provider).into());
    };
    if key.expose_secret().len() > 8192 {
        return Err(AuthsomeError::authentication_failed("API key is too long", provider).into());
    }
    definition
        .check_api_key(key.expose_secret())
        .map_err(|hint| AuthsomeError::authentication_failed(&hint, provider))?;
    Ok(key)
}

/// `POST /api/auth/sessions/{id}/resume`: continues the session with `data` (the CLI sends
/// `{"api_key": ...}` when importing keys).
pub async fn resume(
    state: &AppState,
    session: &mut AuthSession,
    data: &Map<String, Value>,
) -> Result<(), ServiceError> {
    let flow = FlowType::parse(&session.flow_type);
    if flow != Some(FlowType::ApiKey) {
        return Err(AuthsomeError::unsupported_flow(&session.flow_type, session.provider.as_str()).into());
    }
    let key = session.secrets.get("api_key").cloned().or_else(|| {
        data.get("api_key")
            .and_then(Value::as_str)
            .map(|k| SecretString::from(k.to_owned()))
    });
    complete_api_key(state, session, key).await
}

/// The JSON view of a session (`AuthSessionResponse`).
pub fn view(state: &AppState, session: &AuthSession) -> Value {
    let has_inputs = session
        .payload
        .get("input_fields")
        .is_some_and(|f| f.as_array().is_some_and(|a| !a.is_empty()));
    let next_action = if has_inputs && session.state != AuthSessionState::Completed {
        json!({"type": "open_url", "url": state.url(&format!("/auth/input?session={}", session.id.as_str()))})
    } else {
        json!({"type": "none"})
    };
    json!({
        "id": session.id.as_str(),
        "provider": session.provider.as_str(),
        "connection": session.connection_name.as_str(),
        "status": session.state.as_str(),
        "message": session.status_message,
        "error": session.error_message,
        "created_at": session.created_at.to_json_form(),
        "expires_at": session.expires_at.to_json_form(),
        "next_action": next_action,
        "user_code": Value::Null,
        "verification_uri": Value::Null,
        "verification_uri_complete": Value::Null,
    })
}

#[cfg(test)]
mod tests {
    use super::normalise_url;

    #[test]
    fn urls_compare_without_case_or_trailing_slash() {
        assert_eq!(
            normalise_url(Some("HTTPS://GitHub.Example.com/api/")),
            normalise_url(Some("https://github.example.com/api"))
        );
        assert_ne!(
            normalise_url(Some("https://a.com/X")),
            normalise_url(Some("https://a.com/x"))
        );
        assert_eq!(normalise_url(Some("  ")), None);
    }
}
