//! How a relational adapter classifies a failure no operation plans for: the adapter's own
//! test sets it up on a connection of its own, and this case asserts what the ports see.

use authsome_domain::AuditEvent;

use crate::{Registries, RegistryError};

/// A constraint no operation plans for (as a foreign writer's schema change would add), in SQL
/// both backends accept: the adapter runs it on a second connection before
/// [`an_unplanned_violation_is_a_backend_failure`].
pub const UNPLANNED_CONSTRAINT_SQL: &str = "CREATE UNIQUE INDEX one_event_per_name ON audit_events(event)";

/// With [`UNPLANNED_CONSTRAINT_SQL`] applied, breaking it is `Backend` (a 500 with nothing to
/// act on), never a `Conflict` the caller could take as "already exists".
pub async fn an_unplanned_violation_is_a_backend_failure(registries: &Registries) {
    registries
        .audit
        .append(&[AuditEvent::new("sample.event")])
        .await
        .expect("the first event");
    let refused = registries.audit.append(&[AuditEvent::new("sample.event")]).await;
    assert!(matches!(refused, Err(RegistryError::Backend(_))), "{refused:?}");
}
