//! `/connections/` and `/connections/detail?provider=&connection=`: a person's connections and
//! the global ones, and one connection's details with what may be done to it: reveal its
//! secret (its owner only), make it the default, make or unset it global (an admin's own),
//! log out. The same services as the API's connection routes decide each of these, with the
//! same redaction rule: an admin viewing another principal's connection never sees its secret.

use askama::Template;
use poem::http::StatusCode;
use poem::{Request, Response};

use super::chrome::{self, Chrome, Flash, Section, filters, readable};
use super::forms::encode_query;
use super::{
    SignedIn, checked_form, failure_page, missing_state, query_param, see_other, signed_in_or_sign_in, state_of,
};
use crate::http::api::path_names;
use crate::http::errors::ApiError;
use crate::state::SharedState;
use authsome_domain::credential_records::ConnectionRecord;
use authsome_domain::{ConnectionName, ProviderName};
use authsome_services::connections::{self, ConnectionDetail};
use authsome_services::credentials::{self, VaultScope};

struct ConnectionRow {
    provider_display: String,
    name: String,
    is_default: bool,
    is_global: bool,
    auth_type: &'static str,
    status: &'static str,
    expires_at: Option<String>,
    detail_href: String,
}

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    chrome: Chrome,
    query: String,
    mine: Vec<ConnectionRow>,
    global: Vec<ConnectionRow>,
}

/// A secret value, shown only to its owner who asked for it.
struct SecretField {
    label: String,
    value: String,
}

#[derive(Template)]
#[template(path = "connection.html")]
struct ConnectionPage {
    chrome: Chrome,
    provider: String,
    provider_display: String,
    connection: String,
    principal: Option<String>,
    owned: bool,
    owner: String,
    auth_type: &'static str,
    status: &'static str,
    is_default: bool,
    is_global: bool,
    base_url: Option<String>,
    api_url: Option<String>,
    token_type: Option<String>,
    scopes: Vec<String>,
    obtained_at: Option<String>,
    expires_at: Option<String>,
    last_refresh_at: Option<String>,
    last_refresh_error: Option<String>,
    secrets: Vec<SecretField>,
    can_set_default: bool,
    can_set_global: bool,
}

pub(super) fn detail_href(provider: &str, connection: &str, principal: Option<&str>) -> String {
    let mut pairs = vec![("provider", provider), ("connection", connection)];
    if let Some(principal) = principal {
        pairs.push(("principal", principal));
    }
    format!("/connections/detail?{}", encode_query(&pairs))
}

fn row(record: &ConnectionRecord, display: &str, is_default: bool, is_global: bool, href: String) -> ConnectionRow {
    ConnectionRow {
        provider_display: display.to_owned(),
        name: record.connection_name.clone(),
        is_default,
        is_global,
        auth_type: record.auth_type.as_str(),
        status: record.status.as_str(),
        expires_at: record.expires_at.map(readable),
        detail_href: href,
    }
}

/// `GET /connections/`.
pub(super) async fn connections(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match signed_in_or_sign_in(request).await {
        Ok(person) => person,
        Err(response) => return response,
    };
    let caller = &person.caller;
    let scope = VaultScope::of(&state, caller);
    let (groups, globals) = match tokio::try_join!(
        credentials::list_connections(&scope),
        credentials::global_connection_summaries(&state)
    ) {
        Ok(both) => both,
        Err(error) => return failure_page(error.into()),
    };
    let query = query_param(request, "q")
        .map(|q| q.trim().to_owned())
        .unwrap_or_default();
    let needle = query.to_lowercase();
    let matches = |provider: &str, display: &str, connection: &str| {
        needle.is_empty()
            || [provider, display, connection]
                .iter()
                .any(|text| text.to_lowercase().contains(&needle))
    };
    let is_global_target = |provider: &str, connection: &str| {
        globals.iter().any(|(pointer, _, _)| {
            pointer.target.owner_vault_id == caller.vault_id
                && pointer.target.provider.as_str() == provider
                && pointer.target.connection_name.as_str() == connection
        })
    };
    let mut mine = Vec::new();
    for group in &groups {
        let display = match ProviderName::parse(&group.name) {
            Ok(name) => match state.catalog.find(&name).await {
                Ok(Some(definition)) => definition.display_name.clone(),
                Ok(None) => group.name.clone(),
                Err(error) => return failure_page(error.into()),
            },
            Err(_) => group.name.clone(),
        };
        for connection in &group.connections {
            if !matches(&group.name, &display, &connection.connection_name) {
                continue;
            }
            mine.push(row(
                &connection.record,
                &display,
                connection.is_default,
                is_global_target(&group.name, &connection.connection_name),
                detail_href(&group.name, &connection.connection_name, None),
            ));
        }
    }
    let global = globals
        .iter()
        .filter(|(pointer, record, display)| {
            matches(pointer.target.provider.as_str(), display, &record.connection_name)
        })
        .map(|(pointer, record, display)| {
            let target = &pointer.target;
            let href = if target.owner_vault_id == caller.vault_id {
                detail_href(target.provider.as_str(), target.connection_name.as_str(), None)
            } else if caller.is_admin() {
                detail_href(
                    target.provider.as_str(),
                    target.connection_name.as_str(),
                    Some(target.owner_principal_id.as_str()),
                )
            } else {
                String::new()
            };
            row(record, display, false, true, href)
        })
        .collect();
    let flash = match query_param(request, "done").as_deref() {
        Some("logout") => Some(Flash::notice("Logged out of the connection.")),
        _ => None,
    };
    let page = ConnectionsPage {
        chrome: Chrome::new(&person, Section::Connections, "Connections").with_flash(flash),
        query,
        mine,
        global,
    };
    chrome::render(StatusCode::OK, &page)
}

/// The names a request gives (query or form), parsed as the API parses its path.
fn names(
    provider: Option<&String>,
    connection: Option<&String>,
    person: &SignedIn,
) -> Result<(ProviderName, ConnectionName), ApiError> {
    let provider = path_names::provider(provider.map_or("", String::as_str))?;
    let connection = path_names::connection(
        &provider,
        connection.map_or(ConnectionName::DEFAULT, String::as_str),
        &person.caller,
    )?;
    Ok((provider, connection))
}

fn secrets_of(record: &ConnectionRecord) -> Vec<SecretField> {
    let mut secrets = Vec::new();
    for (label, value) in [
        ("API key", &record.api_key),
        ("Access token", &record.access_token),
        ("Refresh token", &record.refresh_token),
    ] {
        if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
            secrets.push(SecretField {
                label: label.to_owned(),
                value: value.clone(),
            });
        }
    }
    for (name, value) in record.credentials.iter().flatten() {
        secrets.push(SecretField {
            label: format!("Cookie {name}"),
            value: value.as_str().map_or_else(|| value.to_string(), str::to_owned),
        });
    }
    secrets
}

/// The detail page; with `reveal`, the secret values too (when the person owns it).
async fn detail_page(
    state: &SharedState,
    person: &SignedIn,
    (provider, connection): (ProviderName, ConnectionName),
    principal: Option<String>,
    reveal: bool,
    flash: Option<Flash>,
) -> Response {
    let detail =
        match connections::connection_detail(state, &person.caller, &provider, &connection, principal.as_deref()).await
        {
            Ok(detail) => detail,
            Err(error) => return failure_page(error.into()),
        };
    let ConnectionDetail {
        definition,
        record,
        secrets_redacted,
        can_set_default,
        can_set_global,
        is_global,
        refresh_state,
    } = detail;
    let owned = !secrets_redacted;
    let default_name = match credentials::VaultScope::of(state, &person.caller)
        .default_connection_name(provider.as_str())
        .await
    {
        Ok(name) => name,
        Err(error) => return failure_page(error.into()),
    };
    let page = ConnectionPage {
        chrome: Chrome::new(
            person,
            Section::Connections,
            format!("{} {}", definition.display_name, record.connection_name),
        )
        .with_flash(flash),
        provider: provider.as_str().to_owned(),
        provider_display: definition.display_name.clone(),
        connection: record.connection_name.clone(),
        owner: record.principal_id.clone().unwrap_or_default(),
        principal: principal.filter(|_| !owned),
        owned,
        auth_type: record.auth_type.as_str(),
        status: record.status.as_str(),
        is_default: owned && default_name == record.connection_name,
        is_global,
        base_url: record.base_url.clone(),
        api_url: record.api_url.clone(),
        token_type: record.token_type.clone(),
        scopes: record.scopes.clone().unwrap_or_default(),
        obtained_at: record.obtained_at.map(readable),
        expires_at: record.expires_at.map(readable),
        last_refresh_at: refresh_state.as_ref().and_then(|s| s.last_refresh_at).map(readable),
        last_refresh_error: refresh_state.and_then(|s| s.last_refresh_error),
        secrets: if reveal && owned {
            secrets_of(&record)
        } else {
            Vec::new()
        },
        can_set_default,
        can_set_global,
    };
    chrome::render(StatusCode::OK, &page)
}

/// `GET /connections/detail?provider=&connection=[&principal=]`.
pub(super) async fn connection(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match signed_in_or_sign_in(request).await {
        Ok(person) => person,
        Err(response) => return response,
    };
    let named = names(
        query_param(request, "provider").as_ref(),
        query_param(request, "connection").as_ref(),
        &person,
    );
    let named = match named {
        Ok(named) => named,
        Err(error) => return failure_page(error),
    };
    let flash = match query_param(request, "done").as_deref() {
        Some("connected") => Some(Flash::notice("Connected. Your agents can use it now.")),
        Some("already") => Some(Flash::notice(
            "Already connected: nothing changed. Use a new connection name to add another.",
        )),
        Some("default") => Some(Flash::notice("It is now the default connection for this provider.")),
        Some("global") => Some(Flash::notice("It is now every principal's fallback for this provider.")),
        Some("unglobal") => Some(Flash::notice("It is no longer offered to everyone.")),
        _ => None,
    };
    let principal = query_param(request, "principal").filter(|p| !p.is_empty());
    detail_page(&state, &person, named, principal, false, flash).await
}

/// What a connection action asks for: the person, the connection and the form, once the
/// session's CSRF token was checked.
async fn action(
    request: &Request,
) -> Result<(SharedState, SignedIn, (ProviderName, ConnectionName), Option<String>), Response> {
    let (state, person, fields) = checked_form(request).await?;
    let named = names(fields.get("provider"), fields.get("connection"), &person).map_err(failure_page)?;
    let principal = fields.get("principal").filter(|p| !p.is_empty()).cloned();
    Ok((state, person, named, principal))
}

/// `POST /connections/reveal`: the detail page with the secret values (their owner only).
pub(super) async fn reveal(request: &Request) -> Response {
    match action(request).await {
        Ok((state, person, named, principal)) => detail_page(&state, &person, named, principal, true, None).await,
        Err(response) => response,
    }
}

/// Back to the detail page, saying what changed.
fn back_to_detail(named: &(ProviderName, ConnectionName), done: &str) -> Response {
    see_other(&format!(
        "{}&done={done}",
        detail_href(named.0.as_str(), named.1.as_str(), None)
    ))
}

/// `POST /connections/default`.
pub(super) async fn set_default(request: &Request) -> Response {
    let (state, person, named, _) = match action(request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    match credentials::set_default_connection(&state, &person.caller, &named.0, &named.1).await {
        Ok(()) => back_to_detail(&named, "default"),
        Err(error) => failure_page(error.into()),
    }
}

/// `POST /connections/global` (an admin's own connection).
pub(super) async fn set_global(request: &Request) -> Response {
    let (state, person, named, _) = match action(request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    match credentials::set_global_connection(&state, &person.caller, &named.0, &named.1).await {
        Ok(_) => back_to_detail(&named, "global"),
        Err(error) => failure_page(error.into()),
    }
}

/// `POST /connections/global/unset` (admins).
pub(super) async fn unset_global(request: &Request) -> Response {
    let (state, person, named, _) = match action(request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    match credentials::unset_global_connection(&state, &person.caller, &named.0).await {
        Ok(_) => back_to_detail(&named, "unglobal"),
        Err(error) => failure_page(error.into()),
    }
}

/// `POST /connections/logout` (one's own, or for an admin another principal's).
pub(super) async fn logout(request: &Request) -> Response {
    let (state, person, named, principal) = match action(request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    match connections::logout(&state, &person.caller, &named.0, &named.1, principal.as_deref()).await {
        Ok(()) => see_other("/connections/?done=logout"),
        Err(error) => failure_page(error.into()),
    }
}
