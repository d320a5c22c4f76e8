//! `/agents/` and `/agents/detail/?handle=`: the agents a person may see (their own, everyone's
//! for an admin), each with its DID, owner, vault and recent activity, and for an admin the
//! recovery of a lost claim link. The same services as `GET /api/identities`,
//! `GET /api/identities/{h}/detail` and `POST /api/identities/{h}/claim-link` decide.

use askama::Template;
use poem::http::StatusCode;
use poem::{Request, Response};

use super::audit_rows::AuditRow;
use super::chrome::{self, Chrome, Section, filters, readable};
use super::forms::encode_query;
use super::{SignedIn, checked_form, failure_page, missing_state, query_param, signed_in_or_sign_in, state_of};
use crate::state::SharedState;
use authsome_services::audit::{self, AuditRequest};
use authsome_services::identities::{self, RegistrationStatus};

/// Events the detail page shows.
const RECENT_EVENTS: i64 = 10;

struct AgentRow {
    handle: String,
    owner: String,
    claimed_at: String,
    detail_href: String,
}

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage {
    chrome: Chrome,
    everyone: bool,
    query: String,
    agents: Vec<AgentRow>,
}

#[derive(Template)]
#[template(path = "agent.html")]
struct AgentPage {
    chrome: Chrome,
    handle: String,
    did: String,
    status: &'static str,
    owner: Option<String>,
    claimed_at: Option<String>,
    vault: Option<String>,
    registered_at: String,
    can_recover: bool,
    claim_link: Option<String>,
    events: Vec<AuditRow>,
    activity_href: String,
}

fn detail_href(handle: &str) -> String {
    format!("/agents/detail?{}", encode_query(&[("handle", handle)]))
}

/// `GET /agents/`.
pub(super) async fn agents(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match signed_in_or_sign_in(request).await {
        Ok(person) => person,
        Err(response) => return response,
    };
    let listing = match identities::agents_for(&state, &person.caller).await {
        Ok(listing) => listing,
        Err(error) => return failure_page(error.into()),
    };
    let query = query_param(request, "q")
        .map(|q| q.trim().to_owned())
        .unwrap_or_default();
    let needle = query.to_ascii_lowercase();
    let agents = listing
        .iter()
        .filter(|agent| agent.claim.identity_handle.as_str().contains(&needle))
        .map(|agent| AgentRow {
            handle: agent.claim.identity_handle.as_str().to_owned(),
            owner: agent.owner_email.as_str().to_owned(),
            claimed_at: readable(agent.claim.created_at),
            detail_href: detail_href(agent.claim.identity_handle.as_str()),
        })
        .collect();
    let page = AgentsPage {
        chrome: Chrome::new(&person, Section::Agents, "Agents"),
        everyone: person.caller.is_admin(),
        query,
        agents,
    };
    chrome::render(StatusCode::OK, &page)
}

/// The detail page of `handle`, with a just-issued claim link when there is one.
async fn detail_page(state: &SharedState, person: &SignedIn, handle: &str, claim_link: Option<String>) -> Response {
    let detail = match identities::agent_detail(state, &person.caller, handle).await {
        Ok(detail) => detail,
        Err(error) => return failure_page(error.into()),
    };
    let handle = detail.registration.handle.as_str().to_owned();
    let activity = AuditRequest {
        limit: RECENT_EVENTS,
        identity: Some(handle.clone()),
        ..AuditRequest::default()
    };
    let events = match audit::events_for(state, &person.caller, activity).await {
        Ok(listing) => listing.page.entries.iter().map(AuditRow::of).collect(),
        // The owner and admins may read an agent's events; anyone else never gets this far.
        Err(error) => return failure_page(error.into()),
    };
    let status = detail.registration_status();
    let page = AgentPage {
        chrome: Chrome::new(person, Section::Agents, format!("Agent {handle}")),
        did: detail.registration.did.as_str().to_owned(),
        status: status.as_str(),
        owner: detail.principal_email.as_ref().map(|e| e.as_str().to_owned()),
        claimed_at: detail.claim.as_ref().map(|c| readable(c.created_at)),
        vault: detail.vault_id.as_ref().map(|v| v.as_str().to_owned()),
        registered_at: readable(detail.registration.created_at),
        can_recover: person.caller.is_admin() && status == RegistrationStatus::ClaimRequired,
        claim_link,
        events,
        activity_href: format!("/audit/?{}", encode_query(&[("identity", &handle)])),
        handle,
    };
    chrome::render(StatusCode::OK, &page)
}

/// `GET /agents/detail?handle=`.
pub(super) async fn agent(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match signed_in_or_sign_in(request).await {
        Ok(person) => person,
        Err(response) => return response,
    };
    let handle = query_param(request, "handle").unwrap_or_default();
    detail_page(&state, &person, &handle, None).await
}

/// `POST /agents/claim-link` (admins): a fresh claim link for an agent nobody claimed, shown
/// once on its detail page (never put in a URL: it is as good as the agent).
pub(super) async fn issue_claim_link(request: &Request) -> Response {
    let (state, person, fields) = match checked_form(request).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let handle = fields.get("handle").cloned().unwrap_or_default();
    let link = match identities::recover_claim_link(&state, &person.caller, &handle).await {
        Ok((_, link)) => link,
        Err(error) => return failure_page(error.into()),
    };
    detail_page(&state, &person, &handle, Some(link)).await
}
