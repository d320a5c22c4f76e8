//! Token refresh inside `POST /api/credentials/resolve`, once per connection however many
//! replicas and requests ask at the same moment (0.7.2 refreshed in every request, so a
//! provider that rotates refresh tokens kept one of them and the connection was lost, §11.14).
//!
//! A request that finds its connection's token due takes the connection's lease in the shared
//! store (Redis `SET NX PX` with a random holder, released by compare-and-delete; memory on the
//! local default) and, holding it, reads the record again (another request may just have
//! refreshed it), sends the one refresh grant, and writes the refreshed record (the rotated
//! refresh token with it) before it lets the lease go. Every other request reads the record
//! every few tens of milliseconds until it is refreshed or the lease is free, and serves what
//! the holder wrote. A holder that dies releases by expiry: the lease lasts the outbound
//! timeout plus the time to store, so a live holder never loses it, and no request waits
//! longer than two leases. A failed refresh is remembered in the record for a short hold, so
//! the requests right behind it answer the same way without asking the provider again.
//!
//! The refreshed record goes to the vault that holds the connection (a global connection's
//! owner vault), stamped with that vault's owner, never with whoever asked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authsome_domain::credential_records::{ConnectionRecord, ConnectionStatus, ProviderStateRecord};
use authsome_domain::oauth::TokenGrant;
use authsome_domain::oauth::expand_base_url;
use authsome_domain::oauth::refresh::{
    self, FailureKind, Freshness, RefreshFailure, apply_grant, freshness, still_valid,
};
use authsome_domain::provider_definition::ProviderDefinition;
use authsome_domain::{AuditEvent, Timestamp};
use authsome_ports::EndpointError;
use tracing::Instrument;

use super::client::ProviderSetup;
use super::metrics::RefreshOutcome;
use crate::audit::{self, AuditEventExt};
use crate::context::ServiceContext;
use crate::credentials::VaultScope;
use crate::errors::UpstreamFailure;
use crate::ownership::Caller;
use crate::{AuthsomeError, ServiceError};

/// How often a waiting request looks again (plus up to as much again, so that waiters spread).
const WAIT_STEP: Duration = Duration::from_millis(25);
/// How long storing a refreshed record may be retried, holding the lease.
const STORE_RETRY_BUDGET: Duration = Duration::from_secs(3);
/// Time beyond the outbound timeout and the store retries that a lease lasts.
const LEASE_MARGIN: Duration = Duration::from_secs(2);

/// How long one refresh may hold its connection's lease: the provider's whole answer, the
/// store retries and a margin. A holder that dies frees the connection after this.
pub fn lease_duration(state: &ServiceContext) -> Duration {
    state.policy.outbound_timeout + STORE_RETRY_BUDGET + LEASE_MARGIN
}

/// The longest a request waits for another request's refresh: the lease of a holder that died
/// just after taking it, then a refresh of its own.
pub fn longest_wait(state: &ServiceContext) -> Duration {
    lease_duration(state) * 2
}

/// The connection being resolved and who asked.
pub struct Refreshing<'s, 'a> {
    /// The vault that holds the connection (the owner's for a global one).
    pub scope: &'s VaultScope<'a>,
    /// The provider's definition.
    pub definition: &'s Arc<ProviderDefinition>,
    /// Who resolved it (for the audit log).
    pub caller: &'s Caller,
}

/// The connection's access token, refreshed first when it is due (once across the fleet);
/// `record` is what the request read, and becomes what it served.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn usable_access_token(
    state: &ServiceContext,
    target: &Refreshing<'_, '_>,
    record: &mut ConnectionRecord,
) -> Result<String, ServiceError> {
    let provider = record.provider.clone();
    let window = state.policy.token_near_expiry_seconds;
    let Some(token) = record.access_token.clone() else {
        return Err(AuthsomeError::credential_missing("No access token stored", &provider).into());
    };
    match freshness(record, Timestamp::now(), window) {
        Freshness::Fresh | Freshness::ExpiringWithoutRefreshToken => return Ok(token),
        Freshness::Expired => return Err(mark_expired(target, record).await),
        Freshness::DueForRefresh => {}
    }
    let lease = lease_name(target.scope, record);
    let holder = authsome_domain::random_token::hex(32);
    let started = Instant::now();
    let deadline = started + longest_wait(state);
    let mut waited = false;
    loop {
        if let Some(failure) = RefreshFailure::recent_in(record, Timestamp::now()) {
            return answer_failure(record, &failure).map_err(Into::into);
        }
        if state
            .runtime
            .leases
            .acquire(&lease, &holder, lease_duration(state))
            .await?
        {
            if waited {
                state.refresh_metrics.waited(started.elapsed());
            }
            let outcome = refresh_holding_the_lease(state, target, record, waited).await;
            if let Err(error) = state.runtime.leases.release(&lease, &holder).await {
                tracing::debug!(error = %crate::error_chain(&error), "could not release a refresh lease; it expires");
            }
            return outcome;
        }
        waited = true;
        if Instant::now() >= deadline {
            state.refresh_metrics.waited(started.elapsed());
            return still_being_refreshed(record);
        }
        tokio::time::sleep(WAIT_STEP + jitter()).await;
        *record = reread(target, record).await?;
        if let Some(token) = served_by_another(record, window) {
            state.refresh_metrics.waited(started.elapsed());
            state.refresh_metrics.count(&provider, RefreshOutcome::Waited);
            return Ok(token);
        }
    }
}

/// The lease of one connection: its vault, provider and name.
fn lease_name(scope: &VaultScope<'_>, record: &ConnectionRecord) -> String {
    format!(
        "oauth-refresh:{}:{}:{}",
        scope.vault_id().as_str(),
        record.provider,
        record.connection_name
    )
}

/// Up to one more step, from the clock's nanoseconds: enough to keep waiters from moving in
/// lockstep, with no need for a random source.
fn jitter() -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    Duration::from_nanos(u64::from(nanos) % WAIT_STEP.as_nanos().max(1) as u64)
}

/// The token, when the record another request wrote needs nothing more.
fn served_by_another(record: &ConnectionRecord, window: i64) -> Option<String> {
    match freshness(record, Timestamp::now(), window) {
        Freshness::Fresh | Freshness::ExpiringWithoutRefreshToken => record.access_token.clone(),
        Freshness::DueForRefresh | Freshness::Expired => None,
    }
}

/// The connection as it is stored now (gone: a logout happened meanwhile).
async fn reread(target: &Refreshing<'_, '_>, record: &ConnectionRecord) -> Result<ConnectionRecord, ServiceError> {
    target
        .scope
        .connection(&record.provider, &record.connection_name)
        .await?
        .ok_or_else(|| {
            AuthsomeError::connection_not_found(&record.provider, &record.connection_name, target.caller.actor()).into()
        })
}

/// The answer when another request has held the refresh past the longest wait: the token
/// while it is valid, otherwise a 503 to try again.
fn still_being_refreshed(record: &ConnectionRecord) -> Result<String, ServiceError> {
    if still_valid(record, Timestamp::now())
        && let Some(token) = &record.access_token
    {
        return Ok(token.clone());
    }
    Err(ServiceError::Unavailable(
        "Another request is still refreshing this connection's token; try again shortly".to_owned(),
    ))
}

/// `TokenExpiredError`, with the connection saved as expired (as 0.7.2 does).
async fn mark_expired(target: &Refreshing<'_, '_>, record: &mut ConnectionRecord) -> ServiceError {
    record.status = ConnectionStatus::Expired;
    if let Err(error) = target.scope.save_connection(record).await {
        return error;
    }
    AuthsomeError::token_expired(&record.provider).into()
}

/// The answer to a failed refresh: the old token while it is valid (as 0.7.2), otherwise the
/// failure, a 400 for a refusal and a 502 or 504 for a provider that could not answer.
fn answer_failure(record: &ConnectionRecord, failure: &RefreshFailure) -> Result<String, AuthsomeError> {
    if still_valid(record, Timestamp::now())
        && let Some(token) = &record.access_token
    {
        return Ok(token.clone());
    }
    let error = AuthsomeError::refresh_failed(&failure.reason, &record.provider);
    Err(match failure.kind {
        FailureKind::Refused => error,
        FailureKind::Unreachable => error.caused_upstream(UpstreamFailure::Unreachable),
        FailureKind::TimedOut => error.caused_upstream(UpstreamFailure::TimedOut),
    })
}

/// The refresh itself, holding the connection's lease.
async fn refresh_holding_the_lease(
    state: &ServiceContext,
    target: &Refreshing<'_, '_>,
    record: &mut ConnectionRecord,
    waited: bool,
) -> Result<String, ServiceError> {
    let window = state.policy.token_near_expiry_seconds;
    let provider = record.provider.clone();
    // What another request may have written just before this one took the lease decides.
    *record = reread(target, record).await?;
    let now = Timestamp::now();
    if let Some(failure) = RefreshFailure::recent_in(record, now) {
        return answer_failure(record, &failure).map_err(Into::into);
    }
    match freshness(record, now, window) {
        Freshness::Fresh | Freshness::ExpiringWithoutRefreshToken => {
            if waited {
                state.refresh_metrics.count(&provider, RefreshOutcome::Waited);
            }
            return record
                .access_token
                .clone()
                .ok_or_else(|| AuthsomeError::credential_missing("No access token stored", &provider).into());
        }
        Freshness::Expired => return Err(mark_expired(target, record).await),
        Freshness::DueForRefresh => {}
    }
    match request_grant(state, target, record).await {
        Ok(grant) => {
            apply_grant(record, &grant, Timestamp::now());
            store_refreshed(state, target, record).await?;
            state.refresh_metrics.count(&provider, RefreshOutcome::Succeeded);
            let token = record
                .access_token
                .clone()
                .ok_or_else(|| AuthsomeError::credential_missing("No access token stored", &provider))?;
            Ok(token)
        }
        Err(failure) => {
            state.refresh_metrics.count(&provider, RefreshOutcome::Failed);
            record_failure(state, target, record, &failure).await?;
            answer_failure(record, &failure).map_err(Into::into)
        }
    }
}

/// Sends the refresh grant (RFC 6749 §6) with the provider's client, as the login did.
async fn request_grant(
    state: &ServiceContext,
    target: &Refreshing<'_, '_>,
    record: &ConnectionRecord,
) -> Result<TokenGrant, RefreshFailure> {
    let refused = |reason: String| RefreshFailure {
        kind: FailureKind::Refused,
        reason,
        at: Timestamp::now(),
    };
    let Some(oauth) = &target.definition.oauth else {
        return Err(refused("No OAuth config".to_owned()));
    };
    let Some(refresh_token) = record.refresh_token.as_deref() else {
        return Err(refused("No refresh token available".to_owned()));
    };
    let setup = ProviderSetup::load(state, target.definition.clone())
        .await
        .map_err(|error| RefreshFailure {
            kind: FailureKind::Unreachable,
            reason: format!("the provider's OAuth client could not be read: {error}"),
            at: Timestamp::now(),
        })?;
    let Some(client) = setup.configured_client() else {
        return Err(refused("No client_id available for refresh".to_owned()));
    };
    let token_url = expand_base_url(&oauth.token_url, record.base_url.as_deref());
    let form = vec![("grant_type", refresh::GRANT_TYPE), ("refresh_token", refresh_token)];
    let started = Instant::now();
    let span = tracing::info_span!("oauth.token_request", provider = %record.provider, grant = refresh::GRANT_TYPE);
    let reply = client
        .send_form(state, &token_url, setup.stored_client_uses_basic(), form)
        .instrument(span)
        .await;
    state
        .refresh_metrics
        .upstream(&record.provider, "token", started.elapsed());
    let reply = reply.map_err(|error| RefreshFailure {
        kind: match error {
            EndpointError::TimedOut(_) => FailureKind::TimedOut,
            EndpointError::Refused(_) => FailureKind::Refused,
            EndpointError::Unreachable(_) | EndpointError::TooLarge(_) => FailureKind::Unreachable,
        },
        reason: error.to_string(),
        at: Timestamp::now(),
    })?;
    TokenGrant::from_answer(&reply.answer()).map_err(|error| refused(error.to_string()))
}

/// Writes the refreshed record, retrying from the grant this request already holds (a second
/// grant would burn a rotated refresh token), then the provider's state record.
async fn store_refreshed(
    state: &ServiceContext,
    target: &Refreshing<'_, '_>,
    record: &mut ConnectionRecord,
) -> Result<(), ServiceError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        match target.scope.save_connection(record).await {
            Ok(()) => break,
            Err(error) if started.elapsed() + pause < STORE_RETRY_BUDGET => {
                tracing::warn!(
                    provider = %record.provider,
                    error = %crate::error_chain(&error),
                    "could not store a refreshed token; retrying from the same grant"
                );
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(error) => {
                tracing::error!(
                    provider = %record.provider,
                    connection = %record.connection_name,
                    error = %crate::error_chain(&error),
                    "a refreshed token could not be stored; if the provider rotates refresh tokens, the connection \
                     needs a new login"
                );
                return Err(error);
            }
        }
    }
    save_state(target, &record.provider, None).await;
    audit::record(
        state,
        actor_event("provider.token_refreshed", target.caller)
            .provider(&record.provider)
            .connection(&record.connection_name)
            .status("success")
            .with("vault_id", target.scope.vault_id().as_str()),
    )
    .await;
    Ok(())
}

/// Records a failed refresh: in the record (remembered for the requests right behind, and the
/// connection expired when its token is), in the provider's state record, in the audit log
/// (`provider.refresh_failed`, as 0.7.2) and in the server log.
async fn record_failure(
    state: &ServiceContext,
    target: &Refreshing<'_, '_>,
    record: &mut ConnectionRecord,
    failure: &RefreshFailure,
) -> Result<(), ServiceError> {
    let fallback_available = still_valid(record, Timestamp::now());
    failure.remember_in(record);
    if !fallback_available && failure.kind == FailureKind::Refused {
        record.status = ConnectionStatus::Expired;
    }
    target.scope.save_connection(record).await?;
    save_state(target, &record.provider, Some(&failure.reason)).await;
    audit::record(
        state,
        actor_event("provider.refresh_failed", target.caller)
            .provider(&record.provider)
            .connection(&record.connection_name)
            .status("failure")
            .with("error", format!("Token refresh failed: {}", failure.reason))
            .with("fallback_available", fallback_available)
            .with("vault_id", target.scope.vault_id().as_str()),
    )
    .await;
    tracing::warn!(
        provider = %record.provider,
        connection = %record.connection_name,
        reason = %failure.reason,
        fallback_available,
        "token refresh failed"
    );
    Ok(())
}

fn actor_event(name: &str, caller: &Caller) -> AuditEvent {
    audit::event_by(name, caller)
}

/// `vault:<v>:<provider>:state`: when the provider's tokens in this vault were last refreshed
/// and the last error (best effort: the connection record already says what matters).
async fn save_state(target: &Refreshing<'_, '_>, provider: &str, error: Option<&str>) {
    let mut state = target
        .scope
        .provider_state(provider)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| ProviderStateRecord::new(provider));
    if error.is_none() {
        state.last_refresh_at = Some(Timestamp::now());
    }
    state.last_refresh_error = error.map(|e| format!("Token refresh failed: {e}"));
    if let Err(error) = target.scope.save_provider_state(&mut state).await {
        tracing::debug!(error = %crate::error_chain(&error), "could not save a provider's refresh state");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::{FailureKind as ServiceFailureKind, ReferenceErrorClass};
    use authsome_domain::provider_definition::AuthType;

    #[test]
    fn a_failure_is_answered_with_the_old_token_while_it_lasts_then_by_kind() {
        let now = Timestamp::now();
        let mut record = ConnectionRecord::connected("github", "default", AuthType::Oauth2);
        record.access_token = Some("still-good".to_owned());
        record.expires_at = Some(now.plus_seconds(60));
        let failure = |kind| RefreshFailure {
            kind,
            reason: "why".to_owned(),
            at: now,
        };
        assert_eq!(
            answer_failure(&record, &failure(FailureKind::Refused)).ok().as_deref(),
            Some("still-good")
        );
        record.expires_at = Some(now.plus_seconds(-1));
        let refused = answer_failure(&record, &failure(FailureKind::Refused)).expect_err("refused");
        assert_eq!(
            (refused.class, refused.kind()),
            (ReferenceErrorClass::RefreshFailed, ServiceFailureKind::Invalid)
        );
        assert_eq!(refused.message, "[github] Token refresh failed: why");
        let down = answer_failure(&record, &failure(FailureKind::Unreachable)).expect_err("down");
        assert_eq!(down.kind(), ServiceFailureKind::UpstreamUnreachable);
        let slow = answer_failure(&record, &failure(FailureKind::TimedOut)).expect_err("slow");
        assert_eq!(slow.kind(), ServiceFailureKind::UpstreamTimedOut);
    }
}
