//! `/audit/`: the audit log, newest first, as the API's `GET /api/audit/events` shows it to
//! the same person (everyone's events for an admin, one's own otherwise; the same service
//! decides), filtered by agent, provider and event kind, a page at a time.

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

/// Events per page unless the person picks another size.
const DEFAULT_PAGE_SIZE: i64 = 50;
/// The page sizes offered.
const PAGE_SIZES: [i64; 4] = [10, 50, 100, 200];

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    everyone: bool,
    filters: Filters,
    page_sizes: [i64; 4],
    identity_error: Option<String>,
    page_error: Option<String>,
    events: Vec<AuditRow>,
    first_href: Option<String>,
    next_href: Option<String>,
}

/// What the person filters by, as typed (kept in the form and in the paging links).
#[derive(Debug, Clone, Default)]
struct Filters {
    identity: String,
    provider: String,
    event: String,
    limit: i64,
}

impl Filters {
    fn from_query(request: &Request) -> Self {
        let text = |name| {
            query_param(request, name)
                .map(|value| value.trim().chars().take(MAX_FILTER_CHARS).collect::<String>())
                .unwrap_or_default()
        };
        let limit = query_param(request, "limit")
            .and_then(|l| l.parse::<i64>().ok())
            .filter(|l| PAGE_SIZES.contains(l))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        Self {
            identity: text("identity"),
            provider: text("provider"),
            event: text("event"),
            limit,
        }
    }

    fn any(&self) -> bool {
        !(self.identity.is_empty() && self.provider.is_empty() && self.event.is_empty())
    }

    fn request(&self, after: Option<AuditCursor>) -> AuditRequest {
        let given = |text: &str| (!text.is_empty()).then(|| text.to_owned());
        AuditRequest {
            limit: self.limit,
            after,
            identity: given(&self.identity),
            provider: given(&self.provider),
            event: given(&self.event),
        }
    }

    /// The page's own address with these filters and `cursor`.
    fn href(&self, cursor: Option<&str>) -> String {
        let limit = self.limit.to_string();
        let mut pairs = Vec::new();
        for (name, value) in [
            ("identity", self.identity.as_str()),
            ("provider", self.provider.as_str()),
            ("event", self.event.as_str()),
        ] {
            if !value.is_empty() {
                pairs.push((name, value));
            }
        }
        if self.limit != DEFAULT_PAGE_SIZE {
            pairs.push(("limit", limit.as_str()));
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
}

/// Longest filter value kept (longer than any handle, provider or event name).
const MAX_FILTER_CHARS: usize = 128;

/// `GET /audit/?identity=&provider=&event=&limit=&cursor=`.
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
    let filters = Filters::from_query(request);
    let cursor_text = query_param(request, "cursor").filter(|c| !c.is_empty());
    let (after, mut page_error) = match cursor_text.as_deref().map(AuditCursor::decode) {
        None => (None, None),
        Some(Ok(cursor)) => (Some(cursor), None),
        Some(Err(_)) => (
            None,
            Some("That page link is not valid any more; showing the newest events.".to_owned()),
        ),
    };
    let (listing, identity_error) = match audit::events_for(&state, &person.caller, filters.request(after)).await {
        Ok(listing) => (listing, None),
        // Not theirs to filter by: say so next to the field, keep what they typed, and show
        // the log without that filter rather than nothing.
        Err(ServiceError::Forbidden(_)) => {
            let without_identity = Filters {
                identity: String::new(),
                ..filters.clone()
            };
            match audit::events_for(&state, &person.caller, without_identity.request(None)).await {
                Ok(listing) => (listing, Some("You have no agent with this handle.".to_owned())),
                Err(error) => return failure_page(error.into()),
            }
        }
        Err(error) => return failure_page(error.into()),
    };
    // The paging links carry the filters that were applied, not a refused one.
    let applied = if identity_error.is_some() {
        page_error = None;
        Filters {
            identity: String::new(),
            ..filters.clone()
        }
    } else {
        filters.clone()
    };
    let next_cursor = listing.page.next_cursor.as_ref().map(AuditCursor::encode);
    let first_href = (cursor_text.is_some() && page_error.is_none()).then(|| applied.href(None));
    let next_href = next_cursor.as_deref().map(|cursor| applied.href(Some(cursor)));
    let page = AuditPage {
        chrome: Chrome::new(&person, Section::AuditLog, "Audit log"),
        everyone: listing.visibility == AuditVisibility::Everyone,
        events: listing.page.entries.iter().map(AuditRow::of).collect(),
        first_href,
        next_href,
        filters,
        page_sizes: PAGE_SIZES,
        identity_error,
        page_error,
    };
    chrome::render(StatusCode::OK, &page)
}
