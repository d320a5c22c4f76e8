//! Provider logins through auth sessions: starting one (the CLI's `login <provider>`,
//! `onboard`'s key import, the dashboard's Connect), the inputs a person fills in, the agent's
//! resume, and the view the CLI reads. The API-key flow is here; OAuth and browser-cookie
//! flows are in [`oauth`](crate::oauth).

use std::collections::HashMap;

use authsome_domain::credential_records::ConnectionRecord;
use authsome_domain::provider_definition::{AuthType, FlowType, ProviderDefinition};
use authsome_domain::{AuthSession, AuthSessionState, ConnectionName, ProviderName, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use crate::audit::{self, AuditEventExt};
use crate::context::ServiceContext;
use crate::credentials::VaultScope;
use crate::oauth::client::{CLIENT_CONFIGURATION_FIELDS, ProviderSetup};
use crate::oauth::{code_flow, cookies, device};
use crate::ownership::Caller;
use crate::{AuthsomeError, ServiceError};

/// `POST /api/auth/sessions` (or the dashboard's Connect) input.
#[derive(Debug, Clone)]
pub struct StartLogin {
    /// Provider name.
    pub provider: ProviderName,
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
    /// Where the browser goes when the login completes (dashboard logins; a local path).
    pub return_url: Option<String>,
}

fn bad_request(message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(message.into())
}

/// The input fields a flow needs from the person.
fn api_key_fields(definition: &ProviderDefinition) -> Vec<Value> {
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
    state: &ServiceContext,
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

/// Whether `flow` can log in to `definition`: a flow of its kind of authentication, with the
/// endpoints it needs.
fn check_flow(definition: &ProviderDefinition, flow: FlowType) -> Result<(), ServiceError> {
    let provider = definition.name.as_str();
    let unsupported = || AuthsomeError::unsupported_flow(flow.as_str(), provider).into();
    let kind_matches = matches!(
        (definition.auth_type, flow),
        (AuthType::ApiKey, FlowType::ApiKey)
            | (AuthType::Browser, FlowType::Browser)
            | (
                AuthType::Oauth2,
                FlowType::Pkce | FlowType::DcrPkce | FlowType::DeviceCode
            )
    );
    if !kind_matches {
        return Err(unsupported());
    }
    match flow {
        FlowType::DeviceCode
            if definition
                .oauth
                .as_ref()
                .is_none_or(|o| o.device_authorization_url.as_deref().is_none_or(str::is_empty)) =>
        {
            Err(unsupported())
        }
        FlowType::Browser if definition.browser.is_none() => Err(unsupported()),
        _ => Ok(()),
    }
}

/// Starts a login for the caller (a PoP identity or a browser principal).
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %request.provider))]
pub async fn start(state: &ServiceContext, caller: &Caller, request: StartLogin) -> Result<AuthSession, ServiceError> {
    let provider = request.provider.clone();
    let definition = state.catalog.get(&provider).await?;
    let connection = login_connection_name(state, caller, &provider, &request.connection).await?;
    let flow = match request.flow.as_deref() {
        None => definition.flow,
        Some(text) => FlowType::parse(text).ok_or_else(|| AuthsomeError::unsupported_flow(text, provider.as_str()))?,
    };
    check_flow(&definition, flow)?;
    let mut session = AuthSession::new(
        provider.clone(),
        caller.identity.clone(),
        Some(caller.principal_id.clone()),
        connection.clone(),
        flow.as_str(),
        state.policy.auth_session_ttl_seconds,
    );
    session.payload.insert("force".to_owned(), json!(request.force));
    session.payload.insert(
        "callback_url_override".to_owned(),
        json!(crate::oauth::callback_url(state)),
    );
    if let Some(scopes) = &request.scopes {
        session.payload.insert("requested_scopes".to_owned(), json!(scopes));
    }
    if let Some(base_url) = &request.base_url {
        session.payload.insert("base_url".to_owned(), json!(base_url));
    }
    if let Some(return_url) = &request.return_url {
        session.payload.insert("return_url".to_owned(), json!(return_url));
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

    match flow {
        FlowType::ApiKey => {
            session.state = AuthSessionState::WaitingForUser;
            session
                .payload
                .insert("input_fields".to_owned(), Value::Array(api_key_fields(&definition)));
            state.runtime.auth_sessions.save(&session).await?;
        }
        FlowType::Browser => cookies::begin(state, &mut session).await?,
        FlowType::Pkce | FlowType::DcrPkce | FlowType::DeviceCode => {
            let setup = ProviderSetup::load(state, definition).await?;
            let inputs = setup.required_inputs(flow, &session);
            if inputs.is_empty() {
                begin_oauth(state, &mut session, &setup).await?;
            } else {
                let configures = inputs
                    .iter()
                    .any(|field| CLIENT_CONFIGURATION_FIELDS.contains(&field["name"].as_str().unwrap_or_default()));
                // Only an admin may configure a provider's client: say so now, rather than on a
                // form the person cannot submit (the reference's error came mid-flow, §11.7).
                if configures && !caller.is_admin() {
                    return Err(AuthsomeError::not_allowed(
                        "login",
                        &format!(
                            "provider client configuration requires an admin principal: an admin configures the {} \
                             OAuth client first (the provider's page, or PUT /api/providers/{}/configuration)",
                            setup.definition.display_name,
                            provider.as_str()
                        ),
                        provider.as_str(),
                    )
                    .into());
                }
                session.state = AuthSessionState::WaitingForUser;
                session.payload.insert("input_fields".to_owned(), Value::Array(inputs));
                state.runtime.auth_sessions.save(&session).await?;
            }
        }
    }
    Ok(session)
}

/// Begins the OAuth flow of `session`, whose inputs are complete.
async fn begin_oauth(
    state: &ServiceContext,
    session: &mut AuthSession,
    setup: &ProviderSetup,
) -> Result<(), ServiceError> {
    let provider = session.provider.as_str().to_owned();
    match FlowType::parse(&session.flow_type) {
        Some(FlowType::Pkce) => {
            let client = setup
                .configured_client()
                .ok_or_else(|| AuthsomeError::authentication_failed("PKCE flow requires a client_id.", &provider))?;
            code_flow::begin(state, session, setup, &client, false).await
        }
        Some(FlowType::DcrPkce) => match setup.configured_client() {
            // The client registered by an earlier login (or configured by an admin).
            Some(client) => code_flow::begin(state, session, setup, &client, false).await,
            None => {
                let client = code_flow::register(state, session, setup).await?;
                code_flow::begin(state, session, setup, &client, true).await
            }
        },
        Some(FlowType::DeviceCode) => {
            let client = setup.configured_client().ok_or_else(|| {
                AuthsomeError::authentication_failed("Device code flow requires a client_id.", &provider)
            })?;
            device::begin(state, session, setup, &client).await
        }
        _ => Err(AuthsomeError::unsupported_flow(&session.flow_type, &provider).into()),
    }
}

/// Takes the input page's `fields` (an API key, or an OAuth provider's client settings and
/// scopes) from `person`, the session's owner: an API-key login completes; an OAuth login
/// saves what it was given and begins. Errors leave the session waiting, to be filled again,
/// except a flow that could not begin, which fails the session.
#[tracing::instrument(level = "debug", skip_all, fields(session = %session.id.as_str()))]
pub async fn submit_inputs(
    state: &ServiceContext,
    session: &mut AuthSession,
    person: &Caller,
    fields: &HashMap<String, String>,
) -> Result<(), ServiceError> {
    match FlowType::parse(&session.flow_type) {
        Some(FlowType::ApiKey) => {
            let key = fields.get("api_key").map(|k| SecretString::from(k.clone()));
            complete_api_key(state, session, key).await
        }
        Some(FlowType::Pkce | FlowType::DcrPkce | FlowType::DeviceCode) => {
            let definition = state.catalog.get(&session.provider).await?;
            let mut setup = ProviderSetup::load(state, definition).await?;
            setup.apply_inputs(state, person, session, fields).await?;
            let begun = begin_oauth(state, session, &setup).await;
            if begun.is_err() {
                return conclude(state, session, begun).await;
            }
            begun
        }
        _ => Err(bad_request("This login does not take input here")),
    }
}

/// Where the browser goes once a login has what it needs: the provider's authorization page,
/// the device-code page, or the end of the login.
pub fn next_page(state: &ServiceContext, session: &AuthSession) -> String {
    if session.state != AuthSessionState::Completed && session.state != AuthSessionState::Failed {
        if let Some(url) = session.payload.get("auth_url").and_then(Value::as_str) {
            return url.to_owned();
        }
        if device::user_code(session).is_some() {
            return state.url(&device_path(session));
        }
    }
    finish_page(session)
}

/// Where a finished login sends the browser: the dashboard's return path, else the success
/// page.
pub fn finish_page(session: &AuthSession) -> String {
    match session.payload.get("return_url").and_then(Value::as_str) {
        Some(url) if session.state == AuthSessionState::Completed => url.to_owned(),
        _ => format!("/auth/success?session={}", session.id.as_str()),
    }
}

fn device_path(session: &AuthSession) -> String {
    format!("/auth/device?session={}", session.id.as_str())
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

fn error_text(error: &ServiceError) -> String {
    match error {
        ServiceError::Authsome(e) => format!("{}: {}", e.class.name(), e.message),
        other => other.to_string(),
    }
}

/// Ends `session` with `outcome` and returns the outcome (see [`record_outcome`]).
pub async fn conclude(
    state: &ServiceContext,
    session: &mut AuthSession,
    outcome: Result<(), ServiceError>,
) -> Result<(), ServiceError> {
    record_outcome(state, session, &outcome).await?;
    outcome
}

/// Ends `session` with `outcome`: completed (`Login successful`, an earlier error cleared),
/// or failed with the reason, recorded as `provider.login_failed`. Its secrets and its OAuth
/// state are dropped either way. Fails only when the session cannot be saved.
pub async fn record_outcome(
    state: &ServiceContext,
    session: &mut AuthSession,
    outcome: &Result<(), ServiceError>,
) -> Result<(), ServiceError> {
    match outcome {
        Ok(()) => {
            session.state = AuthSessionState::Completed;
            session.status_message = Some("Login successful".to_owned());
            // A success after a failed attempt clears the old error (the reference kept it).
            session.error_message = None;
            session.payload.remove("input_fields");
        }
        Err(error) => {
            session.state = AuthSessionState::Failed;
            session.error_message = Some(error_text(error));
            let mut event = authsome_domain::AuditEvent::new("provider.login_failed")
                .provider(session.provider.as_str())
                .connection(session.connection_name.as_str())
                .status("failure")
                .with("flow", session.flow_type.as_str())
                .with("error", error_text(error));
            event.identity = session.identity.clone();
            event.principal_id = session.principal_id.clone();
            audit::record(state, event).await;
        }
    }
    let secrets: Vec<String> = session.secrets.iter().map(|(name, _)| name.clone()).collect();
    for name in secrets {
        session.secrets.remove(&name);
    }
    session.oauth_state = None;
    Ok(state.runtime.auth_sessions.save(session).await?)
}

/// Completes the API-key flow with `key` (from the form, or resumed by the CLI): validates it,
/// stores the connection in the session principal's default vault, and marks the session.
/// A failure marks the session failed (it may be retried) and is returned.
pub async fn complete_api_key(
    state: &ServiceContext,
    session: &mut AuthSession,
    key: Option<SecretString>,
) -> Result<(), ServiceError> {
    let outcome = store_api_key(state, session, key).await;
    conclude(state, session, outcome).await
}

async fn store_api_key(
    state: &ServiceContext,
    session: &AuthSession,
    key: Option<SecretString>,
) -> Result<(), ServiceError> {
    let definition = state.catalog.get(&session.provider).await?;
    let key = validate_key(&definition, key)?;
    let mut record = ConnectionRecord::api_key(
        session.provider.as_str(),
        session.connection_name.as_str(),
        key.expose_secret().to_owned(),
    );
    record.base_url = session
        .payload
        .get("base_url")
        .and_then(Value::as_str)
        .map(str::to_owned);
    save_login_connection(state, session, record).await
}

/// Stores the connection a login made in the session principal's default vault, and notes it
/// in the provider's metadata, recorded as `provider.login` (refused when that cannot be
/// recorded).
pub async fn save_login_connection(
    state: &ServiceContext,
    session: &AuthSession,
    mut record: ConnectionRecord,
) -> Result<(), ServiceError> {
    let provider = session.provider.as_str();
    let connection = session.connection_name.as_str();
    let Some(principal_id) = &session.principal_id else {
        return Err(ServiceError::NotFound("Authentication session not found".to_owned()));
    };
    let Some(binding) = state.registries.bindings.get_default(principal_id).await? else {
        return Err(ServiceError::Forbidden(format!(
            "Principal '{principal_id}' has no default vault"
        )));
    };
    let scope = VaultScope::new(
        state,
        &binding.vault_id,
        session.identity.as_ref().map(|h| h.as_str()),
        Some(principal_id.as_str()),
    );
    let mut event = authsome_domain::AuditEvent::new("provider.login")
        .provider(provider)
        .connection(connection)
        .status("success")
        .with("flow", session.flow_type.as_str());
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

/// `POST /api/auth/sessions/{id}/resume`: continues the session with `data`. An API-key login
/// takes `{"api_key": ...}` (`onboard`'s import); a browser-cookie login takes the cookies the
/// CLI read (`{"credentials": {...}}`); a device-code login polls the provider now, when its
/// poll is due; an authorization-code login finishes only through the provider's callback.
#[tracing::instrument(level = "debug", skip_all, fields(session = %session.id.as_str(), provider = %session.provider.as_str()))]
pub async fn resume(
    state: &ServiceContext,
    session: &mut AuthSession,
    data: &Map<String, Value>,
) -> Result<(), ServiceError> {
    if session.state == AuthSessionState::Completed {
        return Ok(());
    }
    match FlowType::parse(&session.flow_type) {
        Some(FlowType::ApiKey) => {
            let key = session.secrets.get("api_key").cloned().or_else(|| {
                data.get("api_key")
                    .and_then(Value::as_str)
                    .map(|k| SecretString::from(k.to_owned()))
            });
            complete_api_key(state, session, key).await
        }
        Some(FlowType::Browser) => {
            let outcome = cookies::resume(state, session, data).await;
            conclude(state, session, outcome).await
        }
        Some(FlowType::DeviceCode) => {
            device::poll(state, &session.id).await?;
            if let Some(current) = state.runtime.auth_sessions.get(&session.id).await? {
                *session = current;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// What the client should do next for a login: the reference's `next_action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// Nothing: the session is finished (or waits on the server).
    Nothing,
    /// Open this address in a browser: the input page while inputs are missing, the
    /// provider's authorization page, or the device-code page.
    OpenUrl(String),
    /// Capture the provider's cookies from a browser (a browser-cookie login).
    CaptureCookies(cookies::CookieCapture),
}

/// The next step of `session`.
pub fn next_step(state: &ServiceContext, session: &AuthSession) -> NextStep {
    let open = matches!(
        session.state,
        AuthSessionState::Pending | AuthSessionState::WaitingForUser | AuthSessionState::Processing
    );
    let has_inputs = session
        .payload
        .get("input_fields")
        .is_some_and(|f| f.as_array().is_some_and(|a| !a.is_empty()));
    if !open {
        NextStep::Nothing
    } else if has_inputs {
        NextStep::OpenUrl(state.url(&format!("/auth/input?session={}", session.id.as_str())))
    } else if session
        .payload
        .get("browser_login")
        .is_some_and(|b| b == &Value::Bool(true))
    {
        NextStep::CaptureCookies(cookies::capture(session))
    } else if let Some(url) = session.payload.get("auth_url").and_then(Value::as_str) {
        NextStep::OpenUrl(url.to_owned())
    } else if device::user_code(session).is_some() {
        NextStep::OpenUrl(state.url(&device_path(session)))
    } else {
        NextStep::Nothing
    }
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
