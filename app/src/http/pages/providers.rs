//! `/providers/` and `/providers/detail?provider=`: the catalog (bundled and custom, with a
//! type filter and a search), and one provider with Connect, the person's connections to it,
//! and for admins its OAuth client settings (the secret write-only), everyone's usage and
//! revoking it everywhere. The same services as the API's provider routes decide.

use std::collections::HashMap;

use askama::Template;
use poem::http::StatusCode;
use poem::{Request, Response};
use serde_json::{Map, Value};

use super::chrome::{self, Chrome, Flash, Section, filters};
use super::forms::encode_query;
use super::{
    SignedIn, checked_form, failure_page, missing_state, query_param, see_other, signed_in_or_sign_in, state_of,
};
use crate::http::api::path_names;
use crate::http::errors::ApiError;
use crate::state::SharedState;
use authsome_domain::provider_definition::{AuthType, ProviderDefinition};
use authsome_domain::{ConnectionName, ProviderName};
use authsome_services::credentials::{self, VaultScope};
use authsome_services::{ServiceError, connections, providers};

struct ProviderRow {
    name: String,
    display_name: String,
    auth_type: &'static str,
    source: &'static str,
    connected: usize,
    detail_href: String,
}

#[derive(Template)]
#[template(path = "providers.html")]
struct ProvidersPage {
    chrome: Chrome,
    is_admin: bool,
    query: String,
    kind: String,
    type_options: Vec<(&'static str, &'static str)>,
    providers: Vec<ProviderRow>,
}

/// An input of the OAuth client form.
struct ClientField {
    name: String,
    label: String,
    secret: bool,
    value: String,
}

#[derive(Template)]
#[template(path = "provider.html")]
struct ProviderPage {
    chrome: Chrome,
    name: String,
    display_name: String,
    description: Option<String>,
    auth_type: &'static str,
    flow: &'static str,
    source: &'static str,
    api_url: Option<String>,
    docs_url: Option<String>,
    browser_only: bool,
    connect_name: String,
    connect_error: Option<String>,
    editable: bool,
    connections: Vec<(String, String)>,
    is_admin: bool,
    callback_url: Option<String>,
    fields: Vec<ClientField>,
    has_client: bool,
    client_secret_set: bool,
    configuration_error: Option<String>,
    usage: Vec<(String, String)>,
}

fn detail_href(provider: &str) -> String {
    format!("/providers/detail?{}", encode_query(&[("provider", provider)]))
}

/// `GET /providers/?q=&type=`.
pub(super) async fn providers(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match signed_in_or_sign_in(request).await {
        Ok(person) => person,
        Err(response) => return response,
    };
    let scope = VaultScope::of(&state, &person.caller);
    let (all, groups) = match tokio::try_join!(
        async { state.catalog.list_marking_custom().await.map_err(ServiceError::from) },
        credentials::list_connections(&scope),
    ) {
        Ok(all) => all,
        Err(error) => return failure_page(error.into()),
    };
    let connected: HashMap<&str, usize> = groups.iter().map(|g| (g.name.as_str(), g.connections.len())).collect();
    let query = query_param(request, "q")
        .map(|q| q.trim().to_owned())
        .unwrap_or_default();
    let needle = query.to_lowercase();
    let kind = query_param(request, "type")
        .filter(|k| ["api_key", "oauth2", "browser"].contains(&k.as_str()))
        .unwrap_or_default();
    let rows = all
        .iter()
        .filter(|(d, _)| kind.is_empty() || d.auth_type.as_str() == kind)
        .filter(|(d, _)| {
            needle.is_empty()
                || d.name.to_lowercase().contains(&needle)
                || d.display_name.to_lowercase().contains(&needle)
        })
        .map(|(d, is_custom)| ProviderRow {
            name: d.name.clone(),
            display_name: d.display_name.clone(),
            auth_type: d.auth_type.as_str(),
            source: if *is_custom { "custom" } else { "bundled" },
            connected: connected.get(d.name.as_str()).copied().unwrap_or(0),
            detail_href: detail_href(&d.name),
        })
        .collect();
    let flash = match query_param(request, "done").as_deref() {
        Some("deleted") => Some(Flash::notice(
            "Provider deleted, and every connection to it logged out.",
        )),
        _ => None,
    };
    let page = ProvidersPage {
        is_admin: person.caller.is_admin(),
        chrome: Chrome::new(&person, Section::Providers, "Providers").with_flash(flash),
        query,
        kind,
        type_options: vec![
            ("", "Any type"),
            ("api_key", "API key"),
            ("oauth2", "OAuth"),
            ("browser", "Browser"),
        ],
        providers: rows,
    };
    chrome::render(StatusCode::OK, &page)
}

/// What the client form shows: the configuration fields with their values (what was typed
/// when `typed` is given, the stored settings otherwise; never the secret).
fn client_fields(
    definition: &ProviderDefinition,
    stored: &[Value],
    typed: Option<&HashMap<String, String>>,
) -> Vec<ClientField> {
    stored
        .iter()
        .filter_map(|field| {
            let name = field.get("name")?.as_str()?.to_owned();
            let secret = field.get("secret").and_then(Value::as_bool).unwrap_or(false);
            let stored_value = field.get("default").and_then(Value::as_str).unwrap_or("").to_owned();
            let value = match typed {
                _ if secret => String::new(),
                Some(typed) => typed.get(&name).cloned().unwrap_or(stored_value),
                None => stored_value,
            };
            Some(ClientField {
                label: field.get("label").and_then(Value::as_str).unwrap_or(&name).to_owned(),
                name,
                secret,
                value,
            })
        })
        .filter(|_| definition.auth_type == AuthType::Oauth2)
        .collect()
}

/// The detail page of `provider`; `typed` and `configuration_error` refill the client form
/// after a refused change.
async fn detail_page(
    state: &SharedState,
    person: &SignedIn,
    provider: &ProviderName,
    flash: Option<Flash>,
    typed: Option<&HashMap<String, String>>,
    configuration_error: Option<String>,
    connect_refill: Option<(String, String)>,
) -> Response {
    let caller = &person.caller;
    let definition = match state.catalog.get(provider).await {
        Ok(definition) => definition,
        Err(error) => return failure_page(error.into()),
    };
    let is_custom = match state.catalog.is_custom(provider).await {
        Ok(custom) => custom,
        Err(error) => return failure_page(error.into()),
    };
    let own = match connections::connections_to(&VaultScope::of(state, caller), provider).await {
        Ok(own) => own,
        Err(error) => return failure_page(error.into()),
    };
    let is_admin = caller.is_admin();
    let client = if is_admin {
        match credentials::client_record(state, provider.as_str()).await {
            Ok(client) => client,
            Err(error) => return failure_page(error.into()),
        }
    } else {
        None
    };
    let usage = match connections::provider_usage(state, caller, provider).await {
        Ok(usage) => usage,
        Err(error) => return failure_page(error.into()),
    };
    let stored_fields = if is_admin {
        providers::configuration_fields(&definition, client.as_ref())
    } else {
        Vec::new()
    };
    let page = ProviderPage {
        chrome: Chrome::new(person, Section::Providers, definition.display_name.clone()).with_flash(flash),
        name: definition.name.clone(),
        display_name: definition.display_name.clone(),
        description: definition.description.clone(),
        auth_type: definition.auth_type.as_str(),
        flow: definition.flow.as_str(),
        source: if is_custom { "custom" } else { "bundled" },
        api_url: definition.primary_api_url().map(str::to_owned),
        docs_url: definition
            .docs_url
            .clone()
            .filter(|url| url.starts_with("https://") || url.starts_with("http://")),
        browser_only: definition.auth_type == AuthType::Browser,
        connect_name: connect_refill
            .as_ref()
            .map_or_else(|| ConnectionName::DEFAULT.to_owned(), |(name, _)| name.clone()),
        connect_error: connect_refill.as_ref().map(|(_, error)| error.clone()),
        editable: is_admin && is_custom,
        connections: own
            .iter()
            .map(|record| {
                let href = format!(
                    "/connections/detail?{}",
                    encode_query(&[("provider", provider.as_str()), ("connection", &record.connection_name)])
                );
                (record.connection_name.clone(), href)
            })
            .collect(),
        is_admin,
        callback_url: (is_admin && definition.auth_type == AuthType::Oauth2)
            .then(|| state.url("/api/auth/callback/oauth")),
        fields: client_fields(&definition, &stored_fields, typed),
        has_client: client.is_some(),
        client_secret_set: client
            .as_ref()
            .is_some_and(|c| c.client_secret.as_ref().is_some_and(|s| !s.is_empty())),
        configuration_error,
        usage: usage
            .iter()
            .map(|row| {
                let names: Vec<&str> = row.connections.iter().map(|c| c.connection_name.as_str()).collect();
                (row.principal.email.as_str().to_owned(), names.join(", "))
            })
            .collect(),
    };
    let status = if page.connect_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    chrome::render(status, &page)
}

/// The provider's page after Connect was refused (a connection name that is not allowed, a
/// login that cannot start): the reason next to the name field, the name as typed.
pub(super) async fn connect_refused(
    state: &SharedState,
    person: &SignedIn,
    provider: &ProviderName,
    typed_name: &str,
    reason: String,
) -> Response {
    detail_page(
        state,
        person,
        provider,
        None,
        None,
        None,
        Some((typed_name.to_owned(), reason)),
    )
    .await
}

/// `GET /providers/detail?provider=`.
pub(super) async fn provider(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match signed_in_or_sign_in(request).await {
        Ok(person) => person,
        Err(response) => return response,
    };
    let provider = match path_names::provider(&query_param(request, "provider").unwrap_or_default()) {
        Ok(provider) => provider,
        Err(error) => return failure_page(error),
    };
    let flash = match query_param(request, "done").as_deref() {
        Some("configured") => Some(Flash::notice("Client settings saved.")),
        Some("unchanged") => Some(Flash::notice("Nothing changed.")),
        Some("revoked") => Some(Flash::notice(
            "Revoked everywhere: every connection to it was logged out.",
        )),
        Some("registered") => Some(Flash::notice("Provider registered.")),
        Some("saved") => Some(Flash::notice("Definition saved.")),
        Some("kept") => Some(Flash::notice("Nothing was deleted: tick the box to confirm.")),
        _ => None,
    };
    detail_page(&state, &person, &provider, flash, None, None, None).await
}

/// An admin's form post on a provider, CSRF-checked.
async fn admin_action(
    request: &Request,
) -> Result<(SharedState, SignedIn, ProviderName, HashMap<String, String>), Response> {
    let (state, person, fields) = admin_form(request).await?;
    let provider = path_names::provider(fields.get("provider").map_or("", String::as_str)).map_err(failure_page)?;
    Ok((state, person, provider, fields))
}

fn back(provider: &ProviderName, done: &str) -> Response {
    see_other(&format!("{}&done={done}", detail_href(provider.as_str())))
}

/// `POST /providers/configure` (admins): the OAuth client settings. A refused change comes
/// back on the form, filled with what was typed (the secret excepted).
pub(super) async fn configure(request: &Request) -> Response {
    let (state, person, provider, fields) = match admin_action(request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    let mut inputs = Map::new();
    for name in ["client_id", "client_secret", "base_url", "api_url", "scopes"] {
        if let Some(value) = fields.get(name) {
            // An empty secret keeps the stored one.
            if name == "client_secret" && value.is_empty() {
                continue;
            }
            inputs.insert(name.to_owned(), Value::String(value.trim().to_owned()));
        }
    }
    match providers::update_configuration(&state, &person.caller, &provider, &inputs).await {
        Ok(true) => back(&provider, "configured"),
        Ok(false) => back(&provider, "unchanged"),
        Err(error) => {
            let error = ApiError::from(error);
            if error.status().is_client_error() {
                let message = error.message().unwrap_or("These settings were refused").to_owned();
                detail_page(&state, &person, &provider, None, Some(&fields), Some(message), None).await
            } else {
                failure_page(error)
            }
        }
    }
}

/// `POST /providers/revoke` (admins, with the confirmation box ticked).
pub(super) async fn revoke(request: &Request) -> Response {
    let (state, person, provider, fields) = match admin_action(request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    if fields.get("confirm").map(String::as_str) != Some("yes") {
        return detail_page(
            &state,
            &person,
            &provider,
            Some(Flash::notice("Nothing was revoked: tick the box to confirm.")),
            None,
            None,
            None,
        )
        .await;
    }
    match credentials::revoke(&state, &person.caller, &provider).await {
        Ok(()) => back(&provider, "revoked"),
        Err(error) => failure_page(error.into()),
    }
}

/// A complete API-key definition, as a starting point for a new one.
const EXAMPLE_DEFINITION: &str = r#"{
  "name": "my-service",
  "display_name": "My Service",
  "auth_type": "api_key",
  "flow": "api_key",
  "api_key": {
    "header_name": "Authorization",
    "header_prefix": "Bearer"
  },
  "api_url": "api.example.com"
}"#;

#[derive(Template)]
#[template(path = "provider_form.html")]
struct ProviderFormPage {
    chrome: Chrome,
    editing: bool,
    name: String,
    action: &'static str,
    back_href: String,
    definition: String,
    force: bool,
    error: Option<String>,
}

/// The create or edit form, refilled with what was typed after a refusal.
fn provider_form(
    person: &SignedIn,
    editing: Option<&ProviderName>,
    definition: String,
    force: bool,
    error: Option<String>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ProviderFormPage {
        chrome: Chrome::new(person, Section::Providers, "Custom provider"),
        editing: editing.is_some(),
        name: editing.map(|p| p.as_str().to_owned()).unwrap_or_default(),
        action: if editing.is_some() {
            "/providers/edit"
        } else {
            "/providers/new"
        },
        back_href: editing.map_or_else(|| "/providers/".to_owned(), |p| detail_href(p.as_str())),
        definition,
        force,
        error,
    };
    chrome::render(status, &page)
}

/// The admin signed in, or the page that refuses anyone else.
async fn admin_or_refusal(request: &Request) -> Result<SignedIn, Response> {
    let person = signed_in_or_sign_in(request).await?;
    person.caller.require_admin().map_err(|e| failure_page(e.into()))?;
    Ok(person)
}

/// `GET /providers/new` (admins).
pub(super) async fn new_provider(request: &Request) -> Response {
    match admin_or_refusal(request).await {
        Ok(person) => provider_form(&person, None, EXAMPLE_DEFINITION.to_owned(), false, None),
        Err(response) => response,
    }
}

/// The typed definition as the API's body: a JSON object, or why not.
fn typed_definition(fields: &HashMap<String, String>) -> Result<(String, Map<String, Value>), (String, String)> {
    let text = fields.get("definition").cloned().unwrap_or_default();
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(document)) => Ok((text, document)),
        Ok(_) => Err((text, "The definition must be a JSON object ({ ... }).".to_owned())),
        Err(error) => Err((text, format!("This is not valid JSON: {error}."))),
    }
}

/// Where a refusal is shown.
enum Refusal {
    /// The person's mistake: its message goes next to the field.
    OnTheForm(String),
    /// A server failure: the error page.
    Page(Response),
}

/// How a service's refusal of a definition is shown.
fn refusal(error: ServiceError) -> Refusal {
    let error = ApiError::from(error);
    if error.status().is_client_error() {
        Refusal::OnTheForm(error.message().unwrap_or("This definition was refused").to_owned())
    } else {
        Refusal::Page(failure_page(error))
    }
}

/// `POST /providers/new` (admins): registers the definition; a refusal comes back on the
/// form with the JSON as typed.
pub(super) async fn create_provider(request: &Request) -> Response {
    let (state, person, fields) = match admin_form(request).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let force = fields.get("force").map(String::as_str) == Some("yes");
    let (text, document) = match typed_definition(&fields) {
        Ok(typed) => typed,
        Err((text, error)) => return provider_form(&person, None, text, force, Some(error)),
    };
    let registered = match providers::definition_from_body(&document) {
        Ok((definition, _)) => providers::register(&state, &person.caller, &definition, force)
            .await
            .map(|()| definition.name),
        Err(error) => Err(error),
    };
    match registered {
        Ok(name) => see_other(&format!("{}&done=registered", detail_href(&name))),
        Err(error) => match refusal(error) {
            Refusal::OnTheForm(message) => provider_form(&person, None, text, force, Some(message)),
            Refusal::Page(response) => response,
        },
    }
}

/// `GET /providers/edit?provider=` (admins, custom providers).
pub(super) async fn edit_provider(request: &Request) -> Response {
    let Some(state) = state_of(request) else {
        return missing_state();
    };
    let person = match admin_or_refusal(request).await {
        Ok(person) => person,
        Err(response) => return response,
    };
    let provider = match path_names::provider(&query_param(request, "provider").unwrap_or_default()) {
        Ok(provider) => provider,
        Err(error) => return failure_page(error),
    };
    match state.catalog.is_custom(&provider).await {
        Ok(true) => {}
        Ok(false) => {
            return failure_page(ApiError::detail(
                StatusCode::NOT_FOUND,
                "Only custom providers can be edited; bundled ones come with the server",
            ));
        }
        Err(error) => return failure_page(error.into()),
    }
    let definition = match state.catalog.get(&provider).await {
        Ok(definition) => definition,
        Err(error) => return failure_page(error.into()),
    };
    let text = serde_json::to_string_pretty(&Value::Object(definition.to_stored_document())).unwrap_or_default();
    provider_form(&person, Some(&provider), text, false, None)
}

/// `POST /providers/edit` (admins): replaces the custom definition; its name must stay.
pub(super) async fn save_provider(request: &Request) -> Response {
    let (state, person, fields) = match admin_form(request).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let provider = match path_names::provider(fields.get("provider").map_or("", String::as_str)) {
        Ok(provider) => provider,
        Err(error) => return failure_page(error),
    };
    let (text, document) = match typed_definition(&fields) {
        Ok(typed) => typed,
        Err((text, error)) => return provider_form(&person, Some(&provider), text, false, Some(error)),
    };
    let saved = match providers::definition_from_body(&document) {
        Ok((definition, _)) => providers::update(&state, &person.caller, &provider, &definition).await,
        Err(error) => Err(error),
    };
    match saved {
        Ok(()) => back(&provider, "saved"),
        Err(error) => match refusal(error) {
            Refusal::OnTheForm(message) => provider_form(&person, Some(&provider), text, false, Some(message)),
            Refusal::Page(response) => response,
        },
    }
}

/// `POST /providers/delete` (admins, with the box ticked): revokes it everywhere and removes
/// the custom definition.
pub(super) async fn delete_provider(request: &Request) -> Response {
    let (state, person, provider, fields) = match admin_action(request).await {
        Ok(action) => action,
        Err(response) => return response,
    };
    if fields.get("confirm").map(String::as_str) != Some("yes") {
        return back(&provider, "kept");
    }
    match providers::delete(&state, &person.caller, &provider).await {
        Ok(()) => see_other("/providers/?done=deleted"),
        Err(error) => failure_page(error.into()),
    }
}

/// An admin's form post, CSRF-checked, before its provider is read.
async fn admin_form(request: &Request) -> Result<(SharedState, SignedIn, HashMap<String, String>), Response> {
    let (state, person, fields) = checked_form(request).await?;
    person.caller.require_admin().map_err(|e| failure_page(e.into()))?;
    Ok((state, person, fields))
}
