//! Claiming an agent: the link `onboard` prints leads here, the person signs in (or signs up)
//! and confirms, and the agent's identity joins their account.

use authsome_domain::{ClaimStatus, PendingClaim};
use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Request, Response};

use super::html::{escape, escape_name, hidden, page};
use super::{
    CSRF_FIELD, encode_query, failure_page, form_fields, login_location, missing_state, query_param, see_other,
    session_token_valid, signed_in, state_of,
};
use crate::http::errors::ApiError;
use crate::state::AppState;
use authsome_services::identities::{self, ClaimError};

/// The live pending claim for `token`; `None` when unknown, used or expired.
pub async fn pending_claim(state: &AppState, token: &str) -> Result<Option<PendingClaim>, ApiError> {
    Ok(identities::pending_claim(state, token).await?)
}

fn claim_path(token: &str) -> String {
    format!("/claim?{}", encode_query(&[("token", token)]))
}

fn expired_page() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Claim link expired",
        "<h1>This claim link has expired</h1><p class=\"error\">The link was already used, has expired, or is not valid.</p>\
         <p>Run <code>authsome onboard</code> again on the agent's machine for a new link, or ask an administrator to issue one.</p>",
        false,
    )
}

/// `GET /claim?token=...`: who is claiming what, and the confirm button.
pub(super) async fn claim_page(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let token = query_param(request, "token").unwrap_or_default();
    if query_param(request, "error").as_deref() == Some("expired") {
        return expired_page();
    }
    let pending = match pending_claim(&state, &token).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return expired_page(),
        Err(error) => return failure_page(error),
    };
    let handle = pending.identity.as_str();
    let here = claim_path(&token);
    let person = match signed_in(request).await {
        Ok(person) => person,
        Err(error) => return failure_page(error),
    };
    let Some(person) = person else {
        let body = format!(
            "<h1>Claim agent <code>{}</code></h1><p>An agent asked to be linked to your authsome account. \
             Sign in, or create an account, to continue.</p>\
             <p><a href=\"{}\">Sign in</a> · <a href=\"{}\">Create an account</a></p>",
            escape_name(handle),
            escape(&login_location(&here)),
            escape(&format!(
                "/login?{}",
                encode_query(&[("next", &here), ("tab", "register")])
            )),
        );
        return page(StatusCode::OK, "Claim agent", &body, false);
    };
    let existing = match state.registries.claims.get(&pending.identity).await {
        Ok(existing) => existing,
        Err(error) => return failure_page(error.into()),
    };
    let email = person
        .caller
        .email
        .as_ref()
        .map(|e| e.as_str().to_owned())
        .unwrap_or_default();
    let body = match existing {
        Some(claim) if claim.principal_id != person.caller.principal_id => format!(
            "<h1>Agent <code>{}</code> is already claimed</h1><p class=\"error\">It belongs to another account. \
             If it is yours, ask an administrator.</p><p><a href=\"/\">Home</a></p>",
            escape_name(handle)
        ),
        Some(claim) if claim.status == ClaimStatus::Accepted => format!(
            "<h1>Agent <code>{}</code> is yours</h1><p class=\"notice\">It is already linked to {}.</p><p><a href=\"/\">Home</a></p>",
            escape_name(handle),
            escape(&email)
        ),
        _ => {
            let error = if query_param(request, "error").as_deref() == Some("claimed") {
                "<p class=\"error\">Another account claimed this agent first.</p>"
            } else {
                ""
            };
            format!(
                "<h1>Claim agent <code>{}</code></h1>{error}<p>Link this agent to <strong>{}</strong>? \
                 It will then use the credentials stored in your vault.</p>\
                 <form method=\"post\" action=\"/api/claim/{}/confirm\">{}<button type=\"submit\">Claim agent</button></form>\
                 <p class=\"muted\">Only confirm if you just ran <code>authsome onboard</code> for this agent.</p>",
                escape_name(handle),
                escape(&email),
                escape(&form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()),
                hidden(CSRF_FIELD, &person.csrf_token),
            )
        }
    };
    page(StatusCode::OK, "Claim agent", &body, false)
}

/// `GET /claim/{token}`: the short form of the claim link.
pub(super) fn claim_redirect(token: &str) -> Response {
    let mut response = StatusCode::TEMPORARY_REDIRECT.into_response();
    if let Ok(location) = HeaderValue::from_str(&claim_path(token)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    super::html::with_page_headers(response)
}

/// `POST /api/claim/{token}/confirm`: claims the agent for the signed-in person. The token is
/// consumed only once the claim can succeed, so a refused claim leaves the link usable.
pub(super) async fn confirm(request: &Request, token: &str) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let expired = || {
        see_other(&format!(
            "/claim?{}",
            encode_query(&[("token", token), ("error", "expired")])
        ))
    };
    // An unusable link says so before asking anyone to sign in.
    match pending_claim(&state, token).await {
        Ok(Some(_)) => {}
        Ok(None) => return expired(),
        Err(error) => return failure_page(error),
    }
    let person = match signed_in(request).await {
        Ok(Some(person)) => person,
        Ok(None) => return see_other(&login_location(&claim_path(token))),
        Err(error) => return failure_page(error),
    };
    let fields = form_fields(request);
    if !session_token_valid(request, &fields, &person) {
        return failure_page(ApiError::detail(StatusCode::FORBIDDEN, "Missing or invalid CSRF token"));
    }
    let claimed_elsewhere = || {
        see_other(&format!(
            "/claim?{}",
            encode_query(&[("token", token), ("error", "claimed")])
        ))
    };
    match identities::confirm_claim(&state, token, &person.caller.principal_id).await {
        Ok(()) => see_other("/"),
        Err(ClaimError::LinkExpired) => expired(),
        Err(ClaimError::ClaimedByAnother) => claimed_elsewhere(),
        Err(ClaimError::Service(error)) => failure_page(error.into()),
    }
}
