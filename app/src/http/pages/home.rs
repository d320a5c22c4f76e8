//! `/`: the dashboard's summary for the signed-in person: their agents, their connections with
//! status and expiry (no secrets; an expired one offers to connect again), and the latest
//! events they may see.

use askama::Template;
use poem::http::StatusCode;
use poem::{Request, Response};

use super::audit_rows::AuditRow;
use super::chrome::{self, Chrome, Flash, Section, filters, readable};
use super::{failure_page, login_location, missing_state, query_param, see_other, signed_in, state_of};
use crate::http::pages::forms::encode_query;
use authsome_domain::Timestamp;
use authsome_domain::credential_records::ConnectionStatus;
use authsome_domain::provider_definition::AuthType;
use authsome_services::audit::{self, AuditRequest};
use authsome_services::credentials::{self, VaultScope};

/// How many events the summary shows.
const RECENT_EVENTS: i64 = 5;

/// An agent row.
struct AgentRow {
    handle: String,
    claimed_at: String,
    activity_href: String,
}

/// A connection row.
struct ConnectionRow {
    provider: String,
    name: String,
    is_default: bool,
    auth_type: &'static str,
    status: &'static str,
    expired: bool,
    /// Whether connecting again can start here (a browser-cookie login cannot: it reads the
    /// cookies of the browser on the agent's machine).
    reconnects_here: bool,
    expires_at: Option<String>,
    detail_href: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    agents: Vec<AgentRow>,
    connections: Vec<ConnectionRow>,
    events: Vec<AuditRow>,
    password_error: Option<String>,
}

/// `GET /`.
pub(super) async fn home(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match signed_in(request).await {
        Ok(Some(person)) => person,
        Ok(None) => return see_other(&login_location("/")),
        Err(error) => return failure_page(error),
    };
    let caller = &person.caller;
    let claims = match state
        .registries
        .claims
        .list_accepted_for_principal(&caller.principal_id)
        .await
    {
        Ok(claims) => claims,
        Err(error) => return failure_page(error.into()),
    };
    let groups = match credentials::list_connections(&VaultScope::of(&state, caller)).await {
        Ok(groups) => groups,
        Err(error) => return failure_page(error.into()),
    };
    let recent = AuditRequest {
        limit: RECENT_EVENTS,
        ..AuditRequest::default()
    };
    let events = match audit::events_for(&state, caller, recent).await {
        Ok(listing) => listing.page.entries.iter().map(AuditRow::of).collect(),
        Err(error) => return failure_page(error.into()),
    };
    let now = Timestamp::now();
    let agents = claims
        .iter()
        .map(|claim| AgentRow {
            handle: claim.identity_handle.as_str().to_owned(),
            claimed_at: readable(claim.created_at),
            activity_href: format!(
                "/audit/?{}",
                encode_query(&[("identity", claim.identity_handle.as_str())])
            ),
        })
        .collect();
    let connections = groups
        .iter()
        .flat_map(|group| {
            group.connections.iter().map(|connection| {
                let record = &connection.record;
                ConnectionRow {
                    provider: group.name.clone(),
                    name: connection.connection_name.clone(),
                    is_default: connection.is_default,
                    auth_type: record.auth_type.as_str(),
                    status: record.status.as_str(),
                    expired: record.status == ConnectionStatus::Expired
                        || record.expires_at.is_some_and(|expires| expires <= now),
                    reconnects_here: record.auth_type != AuthType::Browser,
                    expires_at: record.expires_at.map(readable),
                    detail_href: super::connections::detail_href(&group.name, &connection.connection_name, None),
                }
            })
        })
        .collect();
    let flash = query_param(request, "password_changed")
        .map(|_| Flash::notice("Password changed. Every other session was signed out."));
    let page = HomePage {
        chrome: Chrome::new(&person, Section::Dashboard, "Dashboard").with_flash(flash),
        agents,
        connections,
        events,
        password_error: query_param(request, "password_error"),
    };
    chrome::render(StatusCode::OK, &page)
}
