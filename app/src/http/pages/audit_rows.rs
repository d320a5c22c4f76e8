//! Audit events as table rows for people: when, what, who acted, on what, with what outcome.

use serde_json::{Map, Value};

use super::chrome::readable_time;

/// One row of an audit table.
pub(crate) struct AuditRow {
    /// When it happened.
    pub(crate) time: String,
    /// The event name.
    pub(crate) name: String,
    /// The identity that acted, else the principal, else `system`.
    pub(crate) actor: String,
    /// The provider and connection it concerned, if any.
    pub(crate) target: String,
    /// `success`, `failure`, ...
    pub(crate) status: String,
}

fn text<'a>(entry: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    entry.get(field).and_then(Value::as_str).filter(|t| !t.is_empty())
}

impl AuditRow {
    /// The row of a stored event's flattened payload.
    pub(crate) fn of(entry: &Map<String, Value>) -> Self {
        let target = match (text(entry, "provider"), text(entry, "connection")) {
            (Some(provider), Some(connection)) => format!("{provider} / {connection}"),
            (Some(provider), None) => provider.to_owned(),
            (None, _) => String::new(),
        };
        Self {
            time: text(entry, "timestamp").map(readable_time).unwrap_or_default(),
            name: text(entry, "event").unwrap_or("event").to_owned(),
            actor: text(entry, "identity")
                .or_else(|| text(entry, "principal_id"))
                .unwrap_or("system")
                .to_owned(),
            target,
            status: text(entry, "status").unwrap_or("").to_owned(),
        }
    }
}
