//! Recording audit events, and reading them back for the people allowed to.
//!
//! **A change that cannot be recorded is not made.** Every action that changes what the vault
//! holds or who may use it (a credential stored or removed, a provider registered, changed,
//! configured or revoked, a global connection set or unset, a claim accepted, a sign-in or a
//! password change) goes through [`recorded`]: its event is appended before the change is
//! carried out, and when the audit log cannot take it the change is refused (503) and nothing
//! happens, as Vault refuses requests that no audit device can log. If the change then fails,
//! the same event is appended again with status `failure`, so the log never claims a change
//! that did not happen without saying so.
//!
//! Events about refusals (a failed sign-in, a rejected key) and the registration of a new,
//! still powerless identity are recorded with [`record`]: the refusal stands whether or not it
//! is logged, and a registration answered with an error could never hand out its claim link.
//! A failure to record those is logged (at most once a minute, with a count).

use std::future::Future;
use std::time::Duration;

use authsome_domain::{AuditCursor, AuditEvent, AuditPage, AuditQuery, AuditSource, IdentityHandle};
use serde_json::{Map, Value};

use crate::ServiceError;
use crate::context::ServiceContext;
use crate::ownership::Caller;
use crate::repeated_warning::RepeatedWarning;

static UNRECORDED: RepeatedWarning = RepeatedWarning::every(Duration::from_secs(60));

/// A new internal event acted by `caller` (identity and principal filled in).
pub fn event_by(name: &str, caller: &Caller) -> AuditEvent {
    let mut event = AuditEvent::new(name);
    event.identity = caller.identity.clone();
    event.principal_id = Some(caller.principal_id.clone());
    event
}

/// Builder-style helpers for the optional fields.
pub trait AuditEventExt {
    /// Sets `provider`.
    fn provider(self, provider: &str) -> Self;
    /// Sets `connection`.
    fn connection(self, connection: &str) -> Self;
    /// Sets `status`.
    fn status(self, status: &str) -> Self;
    /// Adds a metadata key (null values are dropped when stored).
    fn with(self, key: &str, value: impl Into<Value>) -> Self;
}

impl AuditEventExt for AuditEvent {
    fn provider(mut self, provider: &str) -> Self {
        self.provider = Some(provider.to_owned());
        self
    }
    fn connection(mut self, connection: &str) -> Self {
        self.connection = Some(connection.to_owned());
        self
    }
    fn status(mut self, status: &str) -> Self {
        self.status = Some(status.to_owned());
        self
    }
    fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.metadata.insert(key.to_owned(), value.into());
        self
    }
}

/// Appends `event` about a refusal or a failure; a failure to append is logged, not returned.
pub async fn record(state: &ServiceContext, event: AuditEvent) {
    if let Err(error) = state.registries.audit.append(std::slice::from_ref(&event)).await
        && let Some(left_out) = UNRECORDED.due()
    {
        tracing::error!(
            event = %event.event,
            error = %crate::error_chain(&error),
            similar_left_out = left_out,
            "could not record an audit event"
        );
    }
}

/// The refusal when the audit log cannot record a change.
fn audit_unavailable() -> ServiceError {
    ServiceError::Unavailable("The audit log cannot be written, so nothing was changed; try again shortly".to_owned())
}

/// Carries out `change` (a future, so nothing of it runs before this says so) under its audit
/// `event`: the event is appended first, and when it cannot be, the change is not made and the
/// answer is a 503; when the change then fails, the event is appended again with status
/// `failure` and the error.
pub async fn recorded<T, E>(
    state: &ServiceContext,
    event: AuditEvent,
    change: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    E: From<ServiceError> + std::fmt::Display,
{
    if let Err(error) = state.registries.audit.append(std::slice::from_ref(&event)).await {
        tracing::error!(
            event = %event.event,
            error = %crate::error_chain(&error),
            "the audit log cannot record a change: refusing it"
        );
        if error.is_storage_full() {
            return Err(ServiceError::Unavailable(
                "The disk holding the vault's database is full, so nothing was changed (not even the audit log could \
                 record it); free some space and try again"
                    .to_owned(),
            )
            .into());
        }
        return Err(audit_unavailable().into());
    }
    let outcome = change.await;
    if let Err(error) = &outcome {
        let mut failed = AuditEvent::new(event.event.clone());
        failed.identity = event.identity.clone();
        failed.principal_id = event.principal_id.clone();
        failed.provider = event.provider.clone();
        failed.connection = event.connection.clone();
        failed.status = Some("failure".to_owned());
        failed.metadata = event.metadata.clone();
        failed
            .metadata
            .insert("error".to_owned(), Value::from(error.to_string()));
        failed
            .metadata
            .insert("recorded_event_id".to_owned(), Value::from(event.event_id.as_str()));
        record(state, failed).await;
    }
    outcome
}

/// An external (client-posted) event: core fields from the body, the caller as actor.
pub fn external_event(body: &Map<String, Value>, caller: &Caller) -> Result<AuditEvent, String> {
    let text = |key: &str| -> Result<Option<String>, String> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.len() <= 512 => Ok(Some(s.clone())),
            Some(_) => Err(format!("'{key}' must be a string of at most 512 characters")),
        }
    };
    let Some(name) = text("event")? else {
        return Err("'event' is required".to_owned());
    };
    let mut event = AuditEvent::new(name);
    if let Some(id) = text("event_id")? {
        event.event_id = authsome_domain::AuditEventId::parse(&id).map_err(|e| e.to_string())?;
    }
    if let Some(timestamp) = text("timestamp")? {
        event.timestamp = authsome_domain::Timestamp::parse(&timestamp).map_err(|e| e.to_string())?;
    }
    event.source = AuditSource::External;
    event.provider = text("provider")?;
    event.connection = text("connection")?;
    event.status = text("status")?;
    event.identity = caller.identity.clone();
    event.principal_id = Some(caller.principal_id.clone());
    match body.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(metadata)) => {
            if Value::Object(metadata.clone()).to_string().len() > 16 * 1024 {
                return Err("'metadata' is too large".to_owned());
            }
            event.metadata = metadata.clone();
        }
        Some(_) => return Err("'metadata' must be an object".to_owned()),
    }
    Ok(event)
}

/// Whose events a listing holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditVisibility {
    /// Everyone's: the caller is an admin.
    Everyone,
    /// The caller's principal's own.
    OwnPrincipal,
}

/// What a reader asks of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditRequest {
    /// Events per page (clamped to 1..=500).
    pub limit: i64,
    /// Continue after this position (the previous page's cursor).
    pub after: Option<AuditCursor>,
    /// Only this identity's events.
    pub identity: Option<String>,
    /// Only events naming this provider.
    pub provider: Option<String>,
    /// Only events of this kind.
    pub event: Option<String>,
}

/// One page of the log as `caller` may see it.
#[derive(Debug)]
pub struct AuditListing {
    /// The events, newest first, and where the next page starts.
    pub page: AuditPage,
    /// Whose events they are.
    pub visibility: AuditVisibility,
}

/// A page of the audit log for `caller`: every event for an admin, the caller's principal's
/// otherwise. An identity filter from someone who is not an admin must name one of their own
/// identities (`Forbidden` otherwise, whether or not the handle exists, so that it tells
/// nothing about other people's agents).
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor()))]
pub async fn events_for(
    state: &ServiceContext,
    caller: &Caller,
    request: AuditRequest,
) -> Result<AuditListing, ServiceError> {
    let mut query = AuditQuery::new(request.limit);
    let visibility = if caller.is_admin() {
        AuditVisibility::Everyone
    } else {
        query.principal_id = Some(caller.principal_id.clone());
        AuditVisibility::OwnPrincipal
    };
    if let Some(handle) = request.identity.filter(|h| !h.is_empty()) {
        if visibility == AuditVisibility::OwnPrincipal {
            let owned = match IdentityHandle::parse(&handle) {
                Ok(parsed) => state
                    .registries
                    .claims
                    .get(&parsed)
                    .await?
                    .is_some_and(|claim| claim.principal_id == caller.principal_id),
                Err(_) => false,
            };
            if !owned {
                return Err(ServiceError::Forbidden(
                    "Identity does not belong to this principal".to_owned(),
                ));
            }
        }
        query.identity = Some(handle);
    }
    query.provider = request.provider.filter(|p| !p.is_empty());
    query.event = request.event.filter(|e| !e.is_empty());
    query.after = request.after;
    let page = state.registries.audit.query(&query).await?;
    Ok(AuditListing { page, visibility })
}
