//! Recording audit events. Writes are awaited (so that a listing right after an action shows
//! it), but a failed write is logged and never fails the action it records.

use authsome_domain::{AuditEvent, AuditSource};
use serde_json::{Map, Value};

use crate::services::ownership::Caller;
use crate::state::AppState;

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

/// Appends `event`; a failure is logged, not returned.
pub async fn record(state: &AppState, event: AuditEvent) {
    let name = event.event.clone();
    if let Err(error) = state.registries.audit.append(std::slice::from_ref(&event)).await {
        tracing::error!(event = %name, error = %crate::error_chain(&error), "could not record an audit event");
    }
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
