//! The audit event port (`audit_events`).

use async_trait::async_trait;
use authsome_domain::{AuditEvent, AuditPage, AuditQuery};

use crate::RegistryError;

/// The append-only audit log.
#[async_trait]
pub trait AuditEventLog: Send + Sync {
    /// Appends events. An event whose id is already stored MUST be skipped without error
    /// (appending is idempotent). The stored payload is [`AuditEvent::flattened_payload`].
    async fn append(&self, events: &[AuditEvent]) -> Result<(), RegistryError>;

    /// One page of events, newest first (by timestamp, then event id, both descending),
    /// filtered by the query's principal and identity when given.
    ///
    /// - MUST return at most `query.limit()` entries.
    /// - MUST set `next_cursor` exactly when more matching events follow, and a query with
    ///   that cursor MUST continue right after the last returned event, so that walking the
    ///   pages returns every matching event once.
    async fn query(&self, query: &AuditQuery) -> Result<AuditPage, RegistryError>;
}
