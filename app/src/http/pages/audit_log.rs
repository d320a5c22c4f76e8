//! `/audit/`: the audit log, newest first, as the API's `GET /api/audit/events` shows it to
//! the same person (everyone's events for an admin, one's own otherwise; the same service
//! decides), filtered by agent, a page at a time.

use askama::Template;
use poem::http::StatusCode;
use poem::{Request, Response};

use super::audit_rows::AuditRow;
use super::chrome::{self, Chrome, Section, filters};
use super::forms::encode_query;
use super::{failure_page, login_location, missing_state, query_param, see_other, signed_in, state_of};
use authsome_domain::AuditCursor;
use authsome_services::ServiceError;
use authsome_services::audit::{self, AuditRequest, AuditVisibility};

/// Events per page.
const PAGE_SIZE: i64 = 50;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    everyone: bool,
    identity: String,
    identity_error: Option<String>,
    page_error: Option<String>,
    events: Vec<AuditRow>,
    first_href: Option<String>,
    next_href: Option<String>,
}

/// The page's own address with `identity` and `cursor`.
fn href(identity: &str, cursor: Option<&str>) -> String {
    let mut pairs = Vec::new();
    if !identity.is_empty() {
        pairs.push(("identity", identity));
    }
    if let Some(cursor) = cursor {
        pairs.push(("cursor", cursor));
    }
    if pairs.is_empty() {
        "/audit/".to_owned()
    } else {
        format!("/audit/?{}", encode_query(&pairs))
    }
}

/// `GET /audit/`.
pub(super) async fn audit_log(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match signed_in(request).await {
        Ok(Some(person)) => person,
        Ok(None) => {
            let here = request.uri().path_and_query().map_or("/audit/", |p| p.as_str());
            return see_other(&login_location(here));
        }
        Err(error) => return failure_page(error),
    };
    let identity = query_param(request, "identity")
        .map(|i| i.trim().to_owned())
        .unwrap_or_default();
    let cursor_text = query_param(request, "cursor").filter(|c| !c.is_empty());
    let (after, mut page_error) = match cursor_text.as_deref().map(AuditCursor::decode) {
        None => (None, None),
        Some(Ok(cursor)) => (Some(cursor), None),
        Some(Err(_)) => (
            None,
            Some("That page link is not valid any more; showing the newest events.".to_owned()),
        ),
    };
    let request_for = |identity: Option<String>, after| AuditRequest {
        limit: PAGE_SIZE,
        after,
        identity,
    };
    let wanted = (!identity.is_empty()).then(|| identity.clone());
    let (listing, identity_error) = match audit::events_for(&state, &person.caller, request_for(wanted, after)).await {
        Ok(listing) => (listing, None),
        // Not theirs to filter by: say so next to the field, keep what they typed, and show
        // the unfiltered log rather than nothing.
        Err(ServiceError::Forbidden(_)) => {
            match audit::events_for(&state, &person.caller, request_for(None, None)).await {
                Ok(listing) => (listing, Some("You have no agent with this handle.".to_owned())),
                Err(error) => return failure_page(error.into()),
            }
        }
        Err(error) => return failure_page(error.into()),
    };
    if identity_error.is_some() {
        page_error = None;
    }
    let filter = if identity_error.is_some() {
        ""
    } else {
        identity.as_str()
    };
    let next_cursor = listing.page.next_cursor.as_ref().map(AuditCursor::encode);
    let page = AuditPage {
        chrome: Chrome::new(&person, Section::AuditLog, "Audit log"),
        everyone: listing.visibility == AuditVisibility::Everyone,
        events: listing.page.entries.iter().map(AuditRow::of).collect(),
        first_href: (cursor_text.is_some() && page_error.is_none()).then(|| href(filter, None)),
        next_href: next_cursor.as_deref().map(|cursor| href(filter, Some(cursor))),
        identity,
        identity_error,
        page_error,
    };
    chrome::render(StatusCode::OK, &page)
}
