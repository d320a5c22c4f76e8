//! `/api/audit/events`: reading the audit log, and events clients report.

use authsome_domain::{AuditCursor, AuditQuery, IdentityHandle};
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::Value;

use crate::http::api::ApiTags;
use crate::http::caller::{AnyCaller, PopCaller};
use crate::http::errors::{ApiError, ApiResult};
use crate::services::audit;
use crate::state::SharedState;

/// A page of events.
#[derive(Object)]
pub struct AuditEvents {
    /// Flattened event payloads, newest first.
    pub entries: Vec<Value>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// `global` (admin) or `principal`.
    pub scope: String,
}

/// `POST /api/audit/events` response.
#[derive(Object)]
pub struct Recorded {
    /// `ok`.
    pub status: String,
    /// The stored event's id.
    pub event_id: String,
}

/// The audit log.
pub struct AuditApi;

#[OpenApi(tag = "ApiTags::Audit")]
impl AuditApi {
    /// Events, newest first: every event for an admin, the caller's own otherwise.
    /// `limit` is clamped to 1..500 (default 50).
    #[oai(path = "/api/audit/events", method = "get")]
    async fn list(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        limit: Query<Option<String>>,
        cursor: Query<Option<String>>,
        identity: Query<Option<String>>,
    ) -> ApiResult<Json<AuditEvents>> {
        let caller = caller.0;
        let limit = match limit.0.as_deref() {
            None => 50,
            Some(text) => text.trim().parse::<i64>().map_err(|_| {
                ApiError::validation(
                    &["query", "limit"],
                    "Input should be a valid integer, unable to parse string as an integer",
                    "int_parsing",
                )
            })?,
        };
        let mut query = AuditQuery::new(limit);
        let scope = if caller.is_admin() {
            "global"
        } else {
            query.principal_id = Some(caller.principal_id.clone());
            "principal"
        };
        if let Some(handle) = identity.0.filter(|h| !h.is_empty()) {
            if !caller.is_admin() {
                let owned = match IdentityHandle::parse(&handle) {
                    Ok(parsed) => state
                        .0
                        .registries
                        .claims
                        .get(&parsed)
                        .await?
                        .is_some_and(|c| c.principal_id == caller.principal_id),
                    Err(_) => false,
                };
                if !owned {
                    return Err(ApiError::detail(
                        StatusCode::FORBIDDEN,
                        "Identity does not belong to this principal",
                    ));
                }
            }
            query.identity = Some(handle);
        }
        if let Some(cursor) = cursor.0.filter(|c| !c.is_empty()) {
            query.after = Some(
                AuditCursor::decode(&cursor)
                    .map_err(|_| ApiError::detail(StatusCode::UNPROCESSABLE_ENTITY, "Invalid audit cursor"))?,
            );
        }
        let page = state.0.registries.audit.query(&query).await?;
        Ok(Json(AuditEvents {
            entries: page.entries.into_iter().map(Value::Object).collect(),
            next_cursor: page.next_cursor.map(|c| c.encode()),
            scope: scope.to_owned(),
        }))
    }

    /// Records an event a client observed (the CLI proxy's `proxy_deny`,
    /// `proxy_no_credentials`): `{"event": {...}}` or the event object itself. The source is
    /// always `external` and the actor is always the caller.
    #[oai(path = "/api/audit/events", method = "post")]
    async fn record(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        body: Json<Value>,
    ) -> ApiResult<Json<Recorded>> {
        let Value::Object(body) = body.0 else {
            return Err(ApiError::validation(
                &["body"],
                "Input should be a valid dictionary",
                "dict_type",
            ));
        };
        let payload = match body.get("event") {
            Some(Value::Object(event)) => event.clone(),
            // The event object itself, at the top level (its `event` is the name).
            Some(Value::String(_)) | None => body,
            Some(_) => {
                return Err(ApiError::validation(
                    &["body", "event"],
                    "Input should be a valid dictionary",
                    "dict_type",
                ));
            }
        };
        let event = audit::external_event(&payload, &caller.0)
            .map_err(|message| ApiError::validation(&["body", "event"], message, "value_error"))?;
        let event_id = event.event_id.as_str().to_owned();
        state.0.registries.audit.append(std::slice::from_ref(&event)).await?;
        Ok(Json(Recorded {
            status: "ok".to_owned(),
            event_id,
        }))
    }
}
