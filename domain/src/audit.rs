//! Audit events, their stored (flattened) payload, and cursor paging.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::identity::IdentityHandle;
use crate::principal::PrincipalId;
use crate::timestamp::Timestamp;
use crate::validation::{ValidationError, excerpt};

/// The longest event id accepted from a client.
pub const MAX_EVENT_ID_LEN: usize = 128;
/// The smallest and largest page size; requests outside are clamped, as in the reference.
pub const PAGE_LIMIT_RANGE: (u32, u32) = (1, 500);
/// The longest cursor text accepted (ours are about 110 characters).
const MAX_CURSOR_LEN: usize = 1024;

/// An audit event id. Ours are `audit_` + 32 hex; a client may post its own (bounded, printable).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AuditEventId(String);

impl AuditEventId {
    /// A new random id.
    pub fn generate() -> Self {
        Self(crate::prefixed_id::generate("audit_", 32))
    }

    /// Accepts a stored or client-supplied id: 1 to 128 characters of `[A-Za-z0-9_.:-]`.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let valid = !text.is_empty()
            && text.len() <= MAX_EVENT_ID_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::Id {
                kind: "audit event",
                value: excerpt(text),
            })
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuditEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the server or a client produced the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditSource {
    /// Emitted by the server itself.
    Internal,
    /// Posted by a client (for example the CLI proxy's `proxy_deny`).
    External,
}

impl AuditSource {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
        }
    }
}

/// A structured audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Unique id; appending the same id twice stores it once.
    pub event_id: AuditEventId,
    /// When it happened.
    pub timestamp: Timestamp,
    /// Event name, such as `identity.claimed`.
    pub event: String,
    /// Who produced it.
    pub source: AuditSource,
    /// Provider concerned, if any.
    pub provider: Option<String>,
    /// Connection concerned, if any.
    pub connection: Option<String>,
    /// Identity (agent handle) that acted, if any.
    pub identity: Option<IdentityHandle>,
    /// Principal that acted or whose data was concerned, if any.
    pub principal_id: Option<PrincipalId>,
    /// Outcome, such as `success`.
    pub status: Option<String>,
    /// Extra event-specific keys; entries whose value is null are dropped.
    pub metadata: Map<String, Value>,
}

impl AuditEvent {
    /// A new internal event with a fresh id and the current time.
    pub fn new(event: impl Into<String>) -> Self {
        Self {
            event_id: AuditEventId::generate(),
            timestamp: Timestamp::now(),
            event: event.into(),
            source: AuditSource::Internal,
            provider: None,
            connection: None,
            identity: None,
            principal_id: None,
            status: None,
            metadata: Map::new(),
        }
    }

    /// The stored and returned payload: the core fields (null when unset) with the metadata
    /// keys merged in at the top level, as the reference flattens it.
    ///
    /// Unlike the reference, a metadata key never overwrites a core field, so a client cannot
    /// make an event display another principal or event id than the one it is stored under.
    pub fn flattened_payload(&self) -> Map<String, Value> {
        let mut payload = Map::new();
        for (key, value) in &self.metadata {
            if !value.is_null() {
                payload.insert(key.clone(), value.clone());
            }
        }
        let optional = |value: Option<&str>| value.map_or(Value::Null, |v| Value::String(v.to_owned()));
        payload.insert("event_id".to_owned(), Value::String(self.event_id.0.clone()));
        payload.insert("timestamp".to_owned(), Value::String(self.timestamp.to_json_form()));
        payload.insert("event".to_owned(), Value::String(self.event.clone()));
        payload.insert("source".to_owned(), Value::String(self.source.as_str().to_owned()));
        payload.insert("provider".to_owned(), optional(self.provider.as_deref()));
        payload.insert("connection".to_owned(), optional(self.connection.as_deref()));
        payload.insert(
            "identity".to_owned(),
            optional(self.identity.as_ref().map(IdentityHandle::as_str)),
        );
        payload.insert(
            "principal_id".to_owned(),
            optional(self.principal_id.as_ref().map(PrincipalId::as_str)),
        );
        payload.insert("status".to_owned(), optional(self.status.as_deref()));
        payload
    }
}

/// A position in the newest-first event order: the last event of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    /// The stored `timestamp` text of that event (compared as text, as stored).
    pub timestamp: String,
    /// Its id, breaking ties between events with the same timestamp.
    pub event_id: String,
}

impl AuditCursor {
    /// The opaque text form: base64url (no padding) of compact, key-sorted
    /// `{"event_id":...,"timestamp":...}`, byte-compatible with the reference.
    pub fn encode(&self) -> String {
        let mut object = Map::new();
        object.insert("event_id".to_owned(), Value::String(self.event_id.clone()));
        object.insert("timestamp".to_owned(), Value::String(self.timestamp.clone()));
        let json = Value::Object(object).to_string();
        URL_SAFE_NO_PAD.encode(json.as_bytes())
    }

    /// Decodes a cursor from a client; anything that is not one of ours fails with
    /// `Invalid audit cursor`.
    pub fn decode(text: &str) -> Result<Self, ValidationError> {
        if text.is_empty()
            || text.len() > MAX_CURSOR_LEN
            || !text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ValidationError::AuditCursor);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| ValidationError::AuditCursor)?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| ValidationError::AuditCursor)?;
        let field = |name: &str| match value.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(ValidationError::AuditCursor),
        };
        if !value.is_object() {
            return Err(ValidationError::AuditCursor);
        }
        Ok(Self {
            timestamp: field("timestamp")?,
            event_id: field("event_id")?,
        })
    }
}

/// A page request over the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    limit: u32,
    /// Only events of this principal.
    pub principal_id: Option<PrincipalId>,
    /// Only events of this identity handle.
    pub identity: Option<String>,
    /// Only events naming this provider.
    pub provider: Option<String>,
    /// Only events of this kind (`credential.resolved`, `identity.claimed`, ...).
    pub event: Option<String>,
    /// Continue after this position.
    pub after: Option<AuditCursor>,
}

impl AuditQuery {
    /// A query for at most `limit` events, clamped to 1..=500 as the reference does.
    pub fn new(limit: i64) -> Self {
        let (low, high) = PAGE_LIMIT_RANGE;
        let clamped = limit.clamp(i64::from(low), i64::from(high));
        Self {
            limit: u32::try_from(clamped).unwrap_or(high),
            principal_id: None,
            identity: None,
            provider: None,
            event: None,
            after: None,
        }
    }

    /// The page size, within 1..=500.
    pub fn limit(&self) -> u32 {
        self.limit
    }
}

/// One page of events: the flattened payloads, newest first, and where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    /// Flattened payloads as stored.
    pub entries: Vec<Map<String, Value>>,
    /// Present when more events exist after this page.
    pub next_cursor: Option<AuditCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_text_is_what_the_reference_produces() {
        let cursor = AuditCursor {
            timestamp: "2026-11-28T21:57:36.098896Z".to_owned(),
            event_id: "audit_0123".to_owned(),
        };
        let text = cursor.encode();
        // base64url of {"event_id":"audit_0123","timestamp":"2026-11-28T21:57:36.098896Z"}
        let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&text).expect("b64")).expect("utf8");
        assert_eq!(
            json,
            r#"{"event_id":"audit_0123","timestamp":"2026-11-28T21:57:36.098896Z"}"#
        );
        assert_eq!(AuditCursor::decode(&text).expect("decodes"), cursor);
    }

    #[test]
    fn foreign_cursors_are_rejected() {
        let not_object = URL_SAFE_NO_PAD.encode("[1]");
        let empty_field = URL_SAFE_NO_PAD.encode(r#"{"event_id":"","timestamp":"t"}"#);
        let missing = URL_SAFE_NO_PAD.encode(r#"{"timestamp":"t"}"#);
        for bad in [
            "",
            "a+b",
            "abc=",
            "%%%",
            not_object.as_str(),
            empty_field.as_str(),
            missing.as_str(),
        ] {
            assert_eq!(AuditCursor::decode(bad), Err(ValidationError::AuditCursor), "{bad}");
        }
        assert!(AuditCursor::decode(&"A".repeat(5000)).is_err());
    }

    #[test]
    fn limit_is_clamped() {
        assert_eq!(AuditQuery::new(0).limit(), 1);
        assert_eq!(AuditQuery::new(-5).limit(), 1);
        assert_eq!(AuditQuery::new(50).limit(), 50);
        assert_eq!(AuditQuery::new(10_000).limit(), 500);
    }

    #[test]
    fn payload_is_flattened_and_core_fields_win() {
        let mut event = AuditEvent::new("proxy_deny");
        event.source = AuditSource::External;
        event.metadata.insert("host".to_owned(), Value::from("example.com"));
        event.metadata.insert("event_id".to_owned(), Value::from("spoofed"));
        event.metadata.insert("dropped".to_owned(), Value::Null);
        let payload = event.flattened_payload();
        assert_eq!(payload["host"], "example.com");
        assert_eq!(payload["event_id"], event.event_id.as_str());
        assert_eq!(payload["source"], "external");
        assert_eq!(payload["provider"], Value::Null);
        assert!(!payload.contains_key("dropped"));
        assert!(!payload.contains_key("metadata"));
    }

    #[test]
    fn event_ids() {
        let id = AuditEventId::generate();
        assert_eq!(id.as_str().len(), "audit_".len() + 32);
        assert!(AuditEventId::parse("client-id:1").is_ok());
        assert!(AuditEventId::parse("bad id").is_err());
        assert!(AuditEventId::parse(&"a".repeat(200)).is_err());
    }
}
