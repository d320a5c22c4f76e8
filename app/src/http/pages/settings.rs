//! `/settings/`: the signed-in person's account (principal, vault, role, how the vault is
//! encrypted), security (password, signing out everywhere), for admins the principals and
//! invitations, and what this server is. Invitations are how people join when open sign-up
//! is off: an admin creates a one-time sign-up link for an email and a role.

use askama::Template;
use poem::http::StatusCode;
use poem::{Request, Response};

use super::chrome::{self, Chrome, Flash, Section, filters, readable};
use super::{
    SignedIn, checked_form, failure_page, missing_state, query_param, see_other, signed_in_or_sign_in, state_of,
    with_cookie,
};
use crate::commands::init::SETUP_LINK_TTL_SECONDS;
use crate::http::api::health::encryption_info;
use crate::protocol::PROTOCOL_VERSION;
use crate::state::SharedState;
use authsome_domain::Role;
use authsome_services::accounts::{self, InvitationError};

struct PrincipalRow {
    email: String,
    role: &'static str,
    invited: bool,
    created_at: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    principal_id: String,
    vault_id: String,
    encryption: &'static str,
    password_error: Option<String>,
    min_password_length: usize,
    is_admin: bool,
    principals: Vec<PrincipalRow>,
    open_signup: bool,
    invitation_hours: i64,
    invitation_link: Option<String>,
    invited_email: String,
    invite_email: String,
    invite_role: String,
    invitation_error: Option<String>,
    version: &'static str,
    protocol_version: &'static str,
    base_url: String,
    api_docs: bool,
}

/// What the invitation form shows after a post.
#[derive(Default)]
struct InvitationOutcome {
    link: Option<String>,
    email: String,
    role: String,
    error: Option<String>,
}

async fn settings_page(
    state: &SharedState,
    person: &SignedIn,
    flash: Option<Flash>,
    password_error: Option<String>,
    invitation: InvitationOutcome,
) -> Response {
    let caller = &person.caller;
    let is_admin = caller.is_admin();
    let principals = if is_admin {
        match accounts::list_principals(state, caller).await {
            Ok(principals) => principals
                .into_iter()
                .map(|p| PrincipalRow {
                    email: p.email.as_str().to_owned(),
                    role: p.role.as_str(),
                    invited: p.password_hash.is_none(),
                    created_at: readable(p.created_at),
                })
                .collect(),
            Err(error) => return failure_page(error.into()),
        }
    } else {
        Vec::new()
    };
    let page = SettingsPage {
        chrome: Chrome::new(person, Section::Settings, "Settings").with_flash(flash),
        principal_id: caller.principal_id.as_str().to_owned(),
        vault_id: caller.vault_id.as_str().to_owned(),
        encryption: encryption_info(state).backend,
        password_error,
        min_password_length: state.settings.policy.min_password_length,
        is_admin,
        principals,
        open_signup: state.settings.policy.open_signup,
        invitation_hours: SETUP_LINK_TTL_SECONDS / 3600,
        invitation_link: invitation.link,
        invited_email: invitation.email.clone(),
        invite_email: if invitation.error.is_some() {
            invitation.email
        } else {
            String::new()
        },
        invite_role: if invitation.role.is_empty() {
            "user".to_owned()
        } else {
            invitation.role
        },
        invitation_error: invitation.error,
        version: env!("CARGO_PKG_VERSION"),
        protocol_version: PROTOCOL_VERSION,
        base_url: state.settings.policy.base_url.clone(),
        api_docs: state.settings.api_docs,
    };
    chrome::render(StatusCode::OK, &page)
}

/// `GET /settings/`.
pub(super) async fn settings(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match signed_in_or_sign_in(request).await {
        Ok(person) => person,
        Err(response) => return response,
    };
    let flash = query_param(request, "password_changed")
        .map(|_| Flash::notice("Password changed. Every other session was signed out."));
    let password_error = query_param(request, "password_error");
    settings_page(&state, &person, flash, password_error, InvitationOutcome::default()).await
}

/// The person and the form of a settings post, CSRF-checked.
async fn settings_post(
    request: &Request,
) -> Result<(SharedState, SignedIn, std::collections::HashMap<String, String>), Response> {
    checked_form(request).await
}

/// `POST /settings/invitations` (admins): a one-time sign-up link for an email and a role,
/// shown once on the page (never in a URL). A refusal is shown next to the email, with what
/// was typed kept.
pub(super) async fn invite(request: &Request) -> Response {
    let (state, person, fields) = match settings_post(request).await {
        Ok(post) => post,
        Err(response) => return response,
    };
    if let Err(error) = person.caller.require_admin() {
        return failure_page(error.into());
    }
    let email = fields.get("email").map(|e| e.trim().to_owned()).unwrap_or_default();
    let role_text = fields.get("role").cloned().unwrap_or_else(|| "user".to_owned());
    let role = match role_text.as_str() {
        "admin" => Role::Admin,
        _ => Role::User,
    };
    let outcome = match accounts::invite(&state, &person.caller, &email, role, SETUP_LINK_TTL_SECONDS).await {
        Ok(token) => InvitationOutcome {
            link: Some(state.url(&format!(
                "/login?{}",
                super::encode_query(&[("setup", &token), ("tab", "register")])
            ))),
            email,
            role: role.as_str().to_owned(),
            error: None,
        },
        Err(InvitationError::AlreadyRegistered(_)) => InvitationOutcome {
            error: Some("This email already has an account.".to_owned()),
            email,
            role: role.as_str().to_owned(),
            link: None,
        },
        Err(InvitationError::InvalidEmail(_)) => InvitationOutcome {
            error: Some("Enter an email address, such as name@example.com.".to_owned()),
            email,
            role: role.as_str().to_owned(),
            link: None,
        },
        Err(InvitationError::Service(error)) => return failure_page(error.into()),
    };
    settings_page(&state, &person, None, None, outcome).await
}

/// `POST /settings/sign-out-everywhere`: every session of the account ends, this one too.
pub(super) async fn sign_out_everywhere(request: &Request) -> Response {
    let (state, person, _) = match settings_post(request).await {
        Ok(post) => post,
        Err(response) => return response,
    };
    match accounts::sign_out_everywhere(&state, &person.caller).await {
        Ok(_) => with_cookie(see_other("/login"), &super::cleared_session_cookie()),
        Err(error) => failure_page(error.into()),
    }
}
