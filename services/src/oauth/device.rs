//! The device authorization grant (RFC 8628): the person enters a code at the provider while
//! this server polls the token endpoint.
//!
//! Polls are not tied to the replica that began the login (the reference polled in a task of
//! its own process, and on Redis never saved the result, §11.9). Each login's next poll sits in
//! the shared schedule; every replica runs [`run_poller`], which takes the polls that are due,
//! each under a lease so that one replica polls it at a time, polls once, and either schedules
//! the next poll (the interval, plus five seconds after `slow_down`) or finishes the login.
//! A replica that dies mid-poll leaves the lease to expire and the poll to another replica.

use std::sync::Arc;
use std::time::Duration;

use authsome_domain::oauth::device::{DeviceAuthorization, DevicePoll, GRANT_TYPE, SLOW_DOWN_SECONDS};
use authsome_domain::{AuthSession, AuthSessionId, AuthSessionState, Timestamp};
use authsome_ports::{EndpointBody, EndpointError, EndpointRequest};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::client::{LoginClient, ProviderSetup};
use super::{exchange_failed, failed};
use crate::ServiceError;
use crate::context::ServiceContext;
use crate::repeated_warning::RepeatedWarning;

const DEVICE_CODE: &str = "device_code";
const INTERVAL: &str = "internal_interval";

/// How long one replica may hold a login's poll: longer than an outbound exchange takes.
const POLL_LEASE: Duration = Duration::from_secs(60);
/// How often each replica looks for due polls.
const POLLER_TICK: Duration = Duration::from_secs(1);
/// How many due polls one look takes at most.
const POLLS_PER_TICK: usize = 32;

static POLLER_FAILING: RepeatedWarning = RepeatedWarning::every(Duration::from_secs(60));

/// Begins the login: asks the provider for the codes, keeps them in the session (the device
/// code sealed), lets the session live as long as the codes, and schedules the first poll.
pub async fn begin(
    state: &ServiceContext,
    session: &mut AuthSession,
    setup: &ProviderSetup,
    client: &LoginClient,
) -> Result<(), ServiceError> {
    let oauth = setup.oauth()?;
    let Some(template) = &oauth.device_authorization_url else {
        return Err(failed(session, "the provider has no device authorization endpoint"));
    };
    let endpoint = setup.endpoint(template, session);
    let scope = setup.scopes(session).join(" ");
    let mut form = Vec::new();
    if !scope.is_empty() {
        form.push(("scope", scope.as_str()));
    }
    // Authenticated as at the token endpoint (RFC 8628 §3.1): a confidential client's secret
    // goes too (the reference sent only the id, which such clients are refused with).
    let basic = oauth.authorization_method.eq_ignore_ascii_case("basic");
    let reply = client
        .send_form(state, &endpoint, basic, form)
        .await
        .map_err(|e| exchange_failed(session, "Device authorization", &e))?;
    let codes = DeviceAuthorization::from_answer(&reply.answer())
        .map_err(|e| failed(session, format!("Device authorization failed: {e}")))?;
    let now = Timestamp::now();
    session
        .payload
        .insert("user_code".to_owned(), Value::from(codes.user_code));
    session
        .payload
        .insert("verification_uri".to_owned(), Value::from(codes.verification_uri));
    if let Some(complete) = codes.verification_uri_complete {
        session
            .payload
            .insert("verification_uri_complete".to_owned(), Value::from(complete));
    }
    session.payload.insert(INTERVAL.to_owned(), json!(codes.interval));
    session.payload.insert("expires_in".to_owned(), json!(codes.expires_in));
    session
        .payload
        .insert("internal_scopes".to_owned(), json!(setup.scopes(session)));
    session.secrets.insert(DEVICE_CODE, codes.device_code);
    session.state = AuthSessionState::WaitingForUser;
    session.expires_at = now.plus_seconds(codes.expires_in);
    state.runtime.auth_sessions.save(session).await?;
    state
        .runtime
        .auth_sessions
        .schedule_poll(&session.id, now.plus_seconds(codes.interval))
        .await?;
    Ok(())
}

/// What one poll did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    /// Not yet: the next poll is scheduled.
    Waiting,
    /// The login finished (completed or failed): nothing more is scheduled.
    Finished,
    /// Another replica holds this login's poll.
    Busy,
}

/// Polls the login `id` once, if no other replica is: under its lease, one token request,
/// then the next poll scheduled or the session finished.
pub async fn poll(state: &ServiceContext, id: &AuthSessionId) -> Result<PollOutcome, ServiceError> {
    let lease = format!("device-poll:{}", id.as_str());
    let holder = authsome_domain::random_token::hex(32);
    if !state.runtime.leases.acquire(&lease, &holder, POLL_LEASE).await? {
        return Ok(PollOutcome::Busy);
    }
    let outcome = poll_holding_the_lease(state, id).await;
    if let Err(error) = state.runtime.leases.release(&lease, &holder).await {
        tracing::debug!(error = %crate::error_chain(&error), "could not release a device poll lease; it expires");
    }
    outcome
}

async fn poll_holding_the_lease(state: &ServiceContext, id: &AuthSessionId) -> Result<PollOutcome, ServiceError> {
    let sessions = &state.runtime.auth_sessions;
    let Some(mut session) = sessions.get(id).await? else {
        // Expired or gone: nothing to poll.
        sessions.unschedule_poll(id).await?;
        return Ok(PollOutcome::Finished);
    };
    if session.state != AuthSessionState::WaitingForUser {
        sessions.unschedule_poll(id).await?;
        return Ok(PollOutcome::Finished);
    }
    let interval = session
        .payload
        .get(INTERVAL)
        .and_then(Value::as_i64)
        .unwrap_or(5)
        .max(1);
    let answer = match poll_token_endpoint(state, &session).await {
        Ok(answer) => answer,
        Err(broken) => {
            sessions.unschedule_poll(id).await?;
            crate::auth_sessions::record_outcome(state, &mut session, &Err(broken)).await?;
            return Ok(PollOutcome::Finished);
        }
    };
    match answer {
        Ok(DevicePoll::Pending) => {
            sessions
                .schedule_poll(id, Timestamp::now().plus_seconds(interval))
                .await?;
            Ok(PollOutcome::Waiting)
        }
        Ok(DevicePoll::SlowDown) => {
            let slower = (interval + SLOW_DOWN_SECONDS).min(300);
            session.payload.insert(INTERVAL.to_owned(), json!(slower));
            sessions.save(&session).await?;
            sessions
                .schedule_poll(id, Timestamp::now().plus_seconds(slower))
                .await?;
            Ok(PollOutcome::Waiting)
        }
        Ok(DevicePoll::Granted(grant)) => {
            let outcome = finish_with(state, &mut session, grant).await;
            sessions.unschedule_poll(id).await?;
            crate::auth_sessions::record_outcome(state, &mut session, &outcome).await?;
            Ok(PollOutcome::Finished)
        }
        Ok(refused) => {
            let reason = match refused {
                DevicePoll::Denied => "OAuth error: access_denied".to_owned(),
                DevicePoll::Expired => "OAuth error: expired_token (the code was not entered in time)".to_owned(),
                DevicePoll::Failed(error) => format!("Token request failed: {error}"),
                _ => "the provider refused the login".to_owned(),
            };
            sessions.unschedule_poll(id).await?;
            let refusal = failed(&session, reason);
            crate::auth_sessions::record_outcome(state, &mut session, &Err(refusal)).await?;
            Ok(PollOutcome::Finished)
        }
        Err(unreachable) => {
            // A provider that did not answer this time may next time, until the codes expire.
            tracing::info!(
                session = id.as_str(),
                provider = session.provider.as_str(),
                error = %unreachable,
                "device-code poll got no answer; trying again after the interval"
            );
            sessions
                .schedule_poll(id, Timestamp::now().plus_seconds(interval))
                .await?;
            Ok(PollOutcome::Waiting)
        }
    }
}

/// One token request with the device code: the form grant, or for providers whose device
/// grant takes JSON (`device_token_request: json`), a JSON body. The outer error is a login
/// that cannot go on (its client or code is gone); the inner one a provider that did not
/// answer this time.
async fn poll_token_endpoint(
    state: &ServiceContext,
    session: &AuthSession,
) -> Result<Result<DevicePoll, EndpointError>, ServiceError> {
    let definition = state.catalog.get(&session.provider).await?;
    let setup = ProviderSetup::load(state, definition).await?;
    let oauth = setup.oauth()?;
    let client = setup
        .configured_client()
        .ok_or_else(|| failed(session, "the provider's OAuth client is no longer configured"))?;
    let device_code = session
        .secrets
        .get(DEVICE_CODE)
        .cloned()
        .ok_or_else(|| failed(session, "the login lost its device code; start it again"))?;
    let token_url = setup.endpoint(&oauth.token_url, session);
    let reply = if oauth.device_token_request.eq_ignore_ascii_case("json") {
        let document = json!({"device_code": device_code.expose_secret()});
        state
            .endpoints
            .send(&EndpointRequest {
                url: &token_url,
                body: EndpointBody::Json(&document),
                basic_auth: None,
            })
            .await
    } else {
        let form = vec![("grant_type", GRANT_TYPE), ("device_code", device_code.expose_secret())];
        let basic = oauth.authorization_method.eq_ignore_ascii_case("basic");
        client.send_form(state, &token_url, basic, form).await
    };
    Ok(reply.map(|reply| DevicePoll::from_answer(&reply.answer())))
}

async fn finish_with(
    state: &ServiceContext,
    session: &mut AuthSession,
    grant: authsome_domain::oauth::TokenGrant,
) -> Result<(), ServiceError> {
    let definition = state.catalog.get(&session.provider).await?;
    let setup = ProviderSetup::load(state, definition).await?;
    let scopes: Vec<String> = session
        .payload
        .get("internal_scopes")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_else(|| setup.scopes(session));
    let base_url = setup.api_url().and_then(|_| setup.base_url(session));
    let record = super::oauth_record(session, &grant, &scopes, base_url, setup.api_url());
    crate::auth_sessions::save_login_connection(state, session, record).await?;
    session.secrets.remove(DEVICE_CODE);
    Ok(())
}

/// Polls the device-code logins that are due, forever: every replica runs one. A failing
/// backend is logged (once a minute) and tried again on the next tick.
pub async fn run_poller<S>(state: Arc<S>)
where
    S: AsRef<ServiceContext> + Send + Sync + 'static,
{
    let mut tick = tokio::time::interval(POLLER_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let services: &ServiceContext = (*state).as_ref();
        let due = match services
            .runtime
            .auth_sessions
            .due_polls(Timestamp::now(), POLLS_PER_TICK)
            .await
        {
            Ok(due) => due,
            Err(error) => {
                if let Some(left_out) = POLLER_FAILING.due() {
                    tracing::warn!(error = %crate::error_chain(&error), similar_left_out = left_out, "cannot read the device-code poll schedule");
                }
                continue;
            }
        };
        for id in due {
            let state = Arc::clone(&state);
            // Each poll on its own task: one slow provider does not hold up the others.
            tokio::spawn(async move {
                if let Err(error) = poll((*state).as_ref(), &id).await
                    && let Some(left_out) = POLLER_FAILING.due()
                {
                    tracing::warn!(session = id.as_str(), error = %crate::error_chain(&error), similar_left_out = left_out, "a device-code poll failed");
                }
            });
        }
    }
}

/// The device code a session shows the person, if it has one.
pub fn user_code(session: &AuthSession) -> Option<(&str, &str, Option<&str>)> {
    let code = session.payload.get("user_code")?.as_str()?;
    let uri = session.payload.get("verification_uri")?.as_str()?;
    Some((
        code,
        uri,
        session.payload.get("verification_uri_complete").and_then(Value::as_str),
    ))
}
