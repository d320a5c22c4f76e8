//! `/api/audit/events`: reading the audit log, and events clients report.

use std::collections::BTreeMap;

use authsome_domain::AuditCursor;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{Enum, Object, OpenApi, Union};
use serde_json::Value;

use crate::http::api::ApiTags;
use crate::http::api::wire_enums::Done;
use crate::http::caller::{AnyCaller, PopCaller};
use crate::http::errors::{ApiError, Detail, ValidationReport};
use crate::state::SharedState;
use authsome_services::audit::{self, AuditListing, AuditRequest, AuditVisibility};

/// Whose events a page holds.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[oai(rename_all = "snake_case")]
pub enum AuditScope {
    /// Everyone's (an admin).
    Global,
    /// The caller's principal's.
    Principal,
}

/// A page of events.
#[derive(Object)]
pub struct AuditEvents {
    /// Flattened event payloads (`event`, `event_id`, `timestamp`, `source`, `principal_id`,
    /// `identity`, `provider`, `connection`, `status` and the event's own fields), newest first.
    pub entries: Vec<BTreeMap<String, Value>>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
    /// Whose events these are.
    pub scope: AuditScope,
}

/// An event a client observed.
#[derive(Object)]
pub struct ReportedEvent {
    /// The event name (`proxy_deny`, `proxy_no_credentials`, ...).
    #[oai(
        validator(min_length = 1, max_length = 512),
        deserialize_with = "crate::http::api::strict_json::text"
    )]
    pub event: String,
    /// A `evt_...` id of the client's choosing; one is made when absent.
    #[oai(
        validator(max_length = 512),
        deserialize_with = "crate::http::api::strict_json::optional_text"
    )]
    pub event_id: Option<String>,
    /// When it happened (ISO 8601); now when absent.
    #[oai(
        validator(max_length = 512),
        deserialize_with = "crate::http::api::strict_json::optional_text"
    )]
    pub timestamp: Option<String>,
    /// The provider concerned.
    #[oai(
        validator(max_length = 512),
        deserialize_with = "crate::http::api::strict_json::optional_text"
    )]
    pub provider: Option<String>,
    /// The connection concerned.
    #[oai(
        validator(max_length = 512),
        deserialize_with = "crate::http::api::strict_json::optional_text"
    )]
    pub connection: Option<String>,
    /// `success`, `failure`, `denied`, ...
    #[oai(
        validator(max_length = 512),
        deserialize_with = "crate::http::api::strict_json::optional_text"
    )]
    pub status: Option<String>,
    /// Free-form details, at most 16 KiB as JSON.
    pub metadata: Option<BTreeMap<String, Value>>,
}

/// `{"event": {...}}`.
#[derive(Object)]
pub struct WrappedEvent {
    /// The event.
    pub event: ReportedEvent,
}

/// `POST /api/audit/events` body: the event, bare or wrapped in `{"event": ...}`.
#[derive(Union)]
#[oai(one_of)]
pub enum ReportedEventBody {
    /// `{"event": {...}}`.
    Wrapped(WrappedEvent),
    /// The event object itself (its `event` is the name).
    Bare(ReportedEvent),
}

/// `POST /api/audit/events` response.
#[derive(Object)]
pub struct Recorded {
    /// `ok`.
    pub status: Done,
    /// The stored event's id.
    pub event_id: String,
}

operation_success! {
    /// What `GET /api/audit/events` answers.
    ListEventsSuccess {
        /// A page of events.
        200 Page(AuditEvents),
    }
}

operation_failures! {
    /// Why `GET /api/audit/events` can fail (403 also for another principal's identity).
    ListEventsFailure authenticated {
        /// `limit` is not an integer, or `cursor` is not one this server gave.
        422 Invalid(ValidationReport),
    }
}

operation_success! {
    /// What `POST /api/audit/events` answers.
    RecordEventSuccess {
        /// The event was stored.
        200 Recorded(Recorded),
    }
}

operation_failures! {
    /// Why `POST /api/audit/events` can fail.
    RecordEventFailure authenticated {
        /// The body is not an event (a field of the wrong type or too long, a bad id or time).
        422 Invalid(ValidationReport),
        /// The body is larger than the server accepts (1 MiB).
        413 TooLarge(Detail),
    }
}

/// The audit log.
pub struct AuditApi;

#[OpenApi(tag = "ApiTags::Audit")]
impl AuditApi {
    /// Events, newest first: every event for an admin, the caller's own otherwise.
    /// `limit` is clamped to 1..500 (default 50).
    #[oai(path = "/api/audit/events", method = "get", operation_id = "list_audit_events")]
    // poem-openapi takes each query parameter as its own argument: they are the operation's
    // documented parameters, not a signature to shorten.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        /// Events per page, clamped to 1..500 (default 50).
        limit: Query<Option<i64>>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
        /// Only this identity's events (the caller's own identities, unless admin).
        identity: Query<Option<String>>,
        /// Only events naming this provider.
        provider: Query<Option<String>>,
        /// Only events of this kind (`provider.login`, `identity.claimed`, ...).
        event: Query<Option<String>>,
    ) -> Result<ListEventsSuccess, ListEventsFailure> {
        let after = match cursor.0.filter(|c| !c.is_empty()) {
            Some(cursor) => Some(
                AuditCursor::decode(&cursor)
                    .map_err(|_| ApiError::validation(&["query", "cursor"], "Invalid audit cursor", "value_error"))?,
            ),
            None => None,
        };
        let request = AuditRequest {
            limit: limit.0.unwrap_or(50),
            after,
            identity: identity.0,
            provider: provider.0,
            event: event.0,
        };
        let AuditListing { page, visibility } = audit::events_for(state.0, &caller.0, request).await?;
        let scope = match visibility {
            AuditVisibility::Everyone => AuditScope::Global,
            AuditVisibility::OwnPrincipal => AuditScope::Principal,
        };
        Ok(ListEventsSuccess::Page(Json(AuditEvents {
            entries: page
                .entries
                .into_iter()
                .map(|entry| entry.into_iter().collect())
                .collect(),
            next_cursor: page.next_cursor.map(|c| c.encode()),
            scope,
        })))
    }

    /// Records an event a client observed (the CLI proxy's `proxy_deny`,
    /// `proxy_no_credentials`): `{"event": {...}}` or the event object itself. The source is
    /// always `external` and the actor is always the caller.
    #[oai(path = "/api/audit/events", method = "post", operation_id = "record_audit_event")]
    async fn record(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        body: Json<ReportedEventBody>,
    ) -> Result<RecordEventSuccess, RecordEventFailure> {
        let reported = match body.0 {
            ReportedEventBody::Wrapped(wrapped) => wrapped.event,
            ReportedEventBody::Bare(event) => event,
        };
        let Some(Value::Object(payload)) = reported.to_json() else {
            return Err(ApiError::opaque_internal().into());
        };
        let event = audit::external_event(&payload, &caller.0)
            .map_err(|message| ApiError::validation(&["body", "event"], message, "value_error"))?;
        let event_id = event.event_id.as_str().to_owned();
        state.0.registries.audit.append(std::slice::from_ref(&event)).await?;
        Ok(RecordEventSuccess::Recorded(Json(Recorded {
            status: Done::Ok,
            event_id,
        })))
    }
}
