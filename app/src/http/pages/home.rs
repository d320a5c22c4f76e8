//! `/`: the signed-in person's account, agents and connections (no secrets), with sign-out
//! and password change.

use poem::http::StatusCode;
use poem::{Request, Response};

use super::html::{escape, escape_name, hidden, page};
use super::{CSRF_FIELD, failure_page, login_location, missing_state, query_param, see_other, signed_in, state_of};
use authsome_services::credentials::{self, VaultScope};

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
    let agents = match state
        .registries
        .claims
        .list_accepted_for_principal(&caller.principal_id)
        .await
    {
        Ok(agents) => agents,
        Err(error) => return failure_page(error.into()),
    };
    let groups = match credentials::list_connections(&VaultScope::of(&state, caller)).await {
        Ok(groups) => groups,
        Err(error) => return failure_page(error.into()),
    };
    let email = caller.email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default();
    let mut body = format!(
        "<nav><h1>authsome</h1><form method=\"post\" action=\"/api/logout\">{}{}<button class=\"secondary\" type=\"submit\">Sign out</button></form></nav>\
         <p>Signed in as <strong>{}</strong> ({}).</p>",
        hidden(CSRF_FIELD, &person.csrf_token),
        hidden("return_url", "/login"),
        escape(&email),
        escape(caller.role.as_str()),
    );
    if query_param(request, "password_changed").is_some() {
        body.push_str("<p class=\"notice\">Password changed. Every other session was signed out.</p>");
    }
    if let Some(error) = query_param(request, "password_error") {
        body.push_str(&format!("<p class=\"error\">{}</p>", escape(&error)));
    }
    body.push_str("<h2>Agents</h2>");
    if agents.is_empty() {
        body.push_str("<p class=\"muted\">No agents yet. Run <code>authsome onboard</code> on an agent's machine and open the link it prints.</p>");
    } else {
        body.push_str("<table><tr><th>Handle</th><th>Claimed</th></tr>");
        for claim in &agents {
            body.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{}</td></tr>",
                escape_name(claim.identity_handle.as_str()),
                escape(&claim.created_at.to_json_form())
            ));
        }
        body.push_str("</table>");
    }
    body.push_str("<h2>Connections</h2>");
    if groups.is_empty() {
        body.push_str("<p class=\"muted\">No connections yet. An agent adds one with <code>authsome login &lt;provider&gt;</code>.</p>");
    } else {
        body.push_str("<table><tr><th>Provider</th><th>Connection</th><th>Type</th><th>Status</th></tr>");
        for group in &groups {
            for connection in &group.connections {
                let default = if connection.is_default { " (default)" } else { "" };
                body.push_str(&format!(
                    "<tr><td>{}</td><td><code>{}</code>{default}</td><td>{}</td><td>{}</td></tr>",
                    escape_name(&group.name),
                    escape_name(&connection.connection_name),
                    escape(connection.record.auth_type.as_str()),
                    escape(connection.record.status.as_str()),
                ));
            }
        }
        body.push_str("</table>");
    }
    body.push_str(&format!(
        "<h2>Change password</h2><form method=\"post\" action=\"/api/auth/password\">{}{}\
         <label for=\"current-password\">Current password</label><input id=\"current-password\" type=\"password\" name=\"current_password\" autocomplete=\"current-password\" required>\
         <label for=\"new-password\">New password</label><input id=\"new-password\" type=\"password\" name=\"new_password\" autocomplete=\"new-password\" minlength=\"{}\" required>\
         <button type=\"submit\">Change password</button></form>",
        hidden(CSRF_FIELD, &person.csrf_token),
        hidden("next", "/"),
        state.settings.policy.min_password_length,
    ));
    page(StatusCode::OK, "Home", &body, true)
}
