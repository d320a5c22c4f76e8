//! `/api/providers/*`: the provider catalog, custom definitions and OAuth client settings.

use authsome_domain::ProviderName;
use authsome_domain::credential_records::ConnectionRecord;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

use crate::http::api::ApiTags;
use crate::http::api::connections::ProvidersBySourceView;
use crate::http::api::documented::Documented;
use crate::http::api::path_names;
use crate::http::api::stored_shapes::ProviderDefinitionDocument;
use crate::http::api::strict_json::TextOrList;
use crate::http::api::wire_enums::{AuthType, ConnectionStatus, Done, Role};
use crate::http::caller::{AnyCaller, PopCaller};
use crate::http::errors::{ApiResult, Detail, ErrorBody, ReferenceError, ValidationReport};
use crate::state::{AppState, SharedState};
use authsome_services::credentials::{self, VaultScope};
use authsome_services::ownership::Caller;
use authsome_services::{connections, providers};

/// `{"status": "ok", "provider": ...}`.
#[derive(Object)]
pub struct ProviderChanged {
    /// `ok`.
    pub status: Done,
    /// Provider name.
    pub provider: String,
}

/// `PUT /api/providers/{provider}/configuration` response.
#[derive(Object)]
pub struct ConfigurationChanged {
    /// `ok`.
    pub status: Done,
    /// Whether the settings changed (connections were revoked if a client existed).
    pub changed: bool,
    /// Provider name.
    pub provider: String,
}

/// `PUT /api/providers/{provider}/configuration` body; every field optional. An empty or
/// absent `client_secret` keeps the stored one.
#[derive(Object)]
pub struct ConfigurationUpdate {
    /// OAuth client id.
    #[oai(deserialize_with = "crate::http::api::strict_json::optional_text")]
    pub client_id: Option<String>,
    /// OAuth client secret.
    #[oai(deserialize_with = "crate::http::api::strict_json::optional_text")]
    pub client_secret: Option<String>,
    /// Base URL (self-hosted providers).
    #[oai(deserialize_with = "crate::http::api::strict_json::optional_text")]
    pub base_url: Option<String>,
    /// API address (self-hosted providers).
    #[oai(deserialize_with = "crate::http::api::strict_json::optional_text")]
    pub api_url: Option<String>,
    /// Scopes: a comma-separated string or a list.
    pub scopes: Option<TextOrList>,
}

/// `POST /api/providers` body with its options.
#[derive(Object)]
pub struct DefinitionRegistration {
    /// The definition.
    pub definition: ProviderDefinitionDocument,
    /// Replace an existing custom definition of the same name.
    pub force: Option<bool>,
}

/// `POST /api/providers` body: a definition, bare or with options.
#[derive(poem_openapi::Union)]
#[oai(one_of)]
pub enum DefinitionBody {
    /// `{"definition": {...}, "force": bool}`.
    WithOptions(DefinitionRegistration),
    /// The definition itself.
    Bare(ProviderDefinitionDocument),
}

/// An input an admin may set on the provider's OAuth client.
#[derive(Object)]
pub struct ConfigurationField {
    /// The input's name (`client_id`, `client_secret`, `scopes`, `base_url`, `api_url`).
    pub name: String,
    /// Its label.
    pub label: String,
    /// Whether it is secret (never filled in).
    pub secret: bool,
    /// Whether it must be given.
    pub required: bool,
    /// The current value (empty for a secret).
    pub default: String,
}

/// The caller, as the provider detail page shows it.
#[derive(Object)]
pub struct CallerAccount {
    /// The caller's principal.
    pub principal_id: String,
    /// Its role.
    pub role: Role,
    /// Whether it is an admin.
    pub is_admin: bool,
}

/// A provider's OAuth client settings, without the secret.
#[derive(Object)]
pub struct ProviderClientView {
    /// Client id.
    #[oai(nullable)]
    pub client_id: Option<String>,
    /// Never sent back: always null (see `client_secret_set`).
    #[oai(nullable)]
    pub client_secret: Option<String>,
    /// Whether a client secret is stored.
    pub client_secret_set: bool,
    /// Base URL.
    #[oai(nullable)]
    pub base_url: Option<String>,
    /// API address.
    #[oai(nullable)]
    pub api_url: Option<String>,
    /// Scopes.
    pub scopes: Vec<String>,
}

/// A connection to the provider, without secrets.
#[derive(Object)]
pub struct ProviderConnectionSummary {
    /// Provider name.
    pub provider: String,
    /// Provider display name.
    pub provider_display_name: String,
    /// Connection name.
    pub connection_name: String,
    /// Status.
    pub status: ConnectionStatus,
    /// Auth type.
    pub auth_type: AuthType,
    /// The provider account, when known.
    #[oai(nullable)]
    pub account_label: Option<String>,
    /// Owning principal.
    #[oai(nullable)]
    pub principal_id: Option<String>,
}

/// One principal's connections to the provider (admin view).
#[derive(Object)]
pub struct PrincipalUsage {
    /// The principal.
    pub principal_id: String,
    /// Its email.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Its connections to the provider.
    pub connections: Vec<ProviderConnectionSummary>,
}

/// `GET /api/providers/{provider}/detail`.
#[derive(Object)]
pub struct ProviderDetail {
    /// The definition.
    pub provider: Documented<ProviderDefinitionDocument>,
    /// The caller.
    pub account: CallerAccount,
    /// The OAuth client settings (admins), without the secret; null otherwise.
    #[oai(nullable)]
    pub client: Option<ProviderClientView>,
    /// The inputs an admin may set, with current values (never the secret).
    pub configuration_fields: Vec<Documented<ConfigurationField>>,
    /// Shown when changing the settings would revoke connections; null otherwise.
    #[oai(nullable)]
    pub configuration_warning: Option<String>,
    /// Whether to show the OAuth callback address.
    pub show_callback_helper: bool,
    /// The OAuth callback address (admins); null otherwise.
    #[oai(nullable)]
    pub callback_url: Option<String>,
    /// The caller's connections to the provider.
    pub connections: Vec<ProviderConnectionSummary>,
    /// For admins: every principal's connections to the provider.
    pub principal_usage: Vec<PrincipalUsage>,
}

operation_success! {
    /// What `GET /api/providers` answers.
    ListProvidersSuccess {
        /// Every definition, by origin.
        200 Listed(ProvidersBySourceView),
    }
}

operation_failures! {
    /// Why `GET /api/providers` can fail.
    ListProvidersFailure authenticated {}
}

operation_success! {
    /// What `POST /api/providers` and `PUT /api/providers/{provider}` answer.
    ProviderChangedSuccess {
        /// The definition is stored.
        200 Changed(ProviderChanged),
    }
}

operation_failures! {
    /// Why `POST /api/providers` or `PUT /api/providers/{provider}` can fail (403 also when
    /// the caller is not an admin).
    DefinitionFailure authenticated {
        /// The definition is not valid (`InvalidProviderSchemaError`), or a custom provider of
        /// that name (or a case twin) exists (`ProviderAlreadyRegisteredError`).
        400 BadRequest(ReferenceError),
        /// `PUT`: no custom provider has that name (`ProviderNotFoundError`).
        404 NotFound(ReferenceError),
        /// The body is not a JSON object.
        422 Invalid(ValidationReport),
        /// The body is larger than the server accepts (1 MiB).
        413 TooLarge(Detail),
    }
}

operation_success! {
    /// What `GET /api/providers/{provider}` answers.
    ProviderSuccess {
        /// The definition (custom first, then bundled).
        200 Definition(Documented<ProviderDefinitionDocument>),
    }
}

operation_failures! {
    /// Why `GET /api/providers/{provider}` can fail.
    ProviderFailure authenticated {
        /// No such provider (`ProviderNotFoundError`).
        404 NotFound(ReferenceError),
    }
}

operation_success! {
    /// What `DELETE /api/providers/{provider}` answers.
    DeleteProviderSuccess {
        /// Revoked everywhere; a custom definition is removed.
        200 Deleted(ProviderChanged),
    }
}

operation_failures! {
    /// Why `DELETE /api/providers/{provider}` can fail (403 also when the caller is not an
    /// admin).
    DeleteProviderFailure authenticated {
        /// The request cannot be carried out as sent.
        400 BadRequest(ErrorBody),
        /// No such provider (`ProviderNotFoundError`).
        404 NotFound(ErrorBody),
    }
}

operation_success! {
    /// What `GET /api/providers/{provider}/detail` answers.
    ProviderDetailSuccess {
        /// The provider and the caller's connections to it.
        200 Detail(ProviderDetail),
    }
}

operation_failures! {
    /// Why `GET /api/providers/{provider}/detail` can fail.
    ProviderDetailFailure authenticated {
        /// No such provider (`ProviderNotFoundError`).
        404 NotFound(ReferenceError),
    }
}

operation_success! {
    /// What `PUT /api/providers/{provider}/configuration` answers.
    ConfigureSuccess {
        /// Stored (or nothing changed).
        200 Configured(ConfigurationChanged),
    }
}

operation_failures! {
    /// Why `PUT /api/providers/{provider}/configuration` can fail (403 also when the caller is
    /// not an admin).
    ConfigureFailure authenticated {
        /// A setting is not valid.
        400 BadRequest(ErrorBody),
        /// No such provider (`ProviderNotFoundError`).
        404 NotFound(ReferenceError),
        /// The body is not a configuration.
        422 Invalid(ValidationReport),
        /// The body is larger than the server accepts (1 MiB).
        413 TooLarge(Detail),
    }
}

/// Provider definitions.
pub struct ProvidersApi;

fn changed(provider: &str) -> Json<ProviderChanged> {
    Json(ProviderChanged {
        status: Done::Ok,
        provider: provider.to_owned(),
    })
}

fn summary(record: &ConnectionRecord, display_name: &str) -> ProviderConnectionSummary {
    ProviderConnectionSummary {
        provider: record.provider.clone(),
        provider_display_name: display_name.to_owned(),
        connection_name: record.connection_name.clone(),
        status: record.status.into(),
        auth_type: record.auth_type.into(),
        account_label: record.account.as_ref().and_then(|a| a.label.clone()),
        principal_id: record.principal_id.clone(),
    }
}

/// The provider's connections in `scope`, as summaries.
async fn connections_in(
    scope: &VaultScope<'_>,
    provider: &ProviderName,
    display_name: &str,
) -> ApiResult<Vec<ProviderConnectionSummary>> {
    Ok(connections::connections_to(scope, provider)
        .await?
        .iter()
        .map(|record| summary(record, display_name))
        .collect())
}

/// Every principal's connections to the provider (admin view).
async fn principal_usage(
    state: &AppState,
    caller: &Caller,
    provider: &ProviderName,
    display_name: &str,
) -> ApiResult<Vec<PrincipalUsage>> {
    Ok(connections::provider_usage(state, caller, provider)
        .await?
        .into_iter()
        .map(|usage| PrincipalUsage {
            principal_id: usage.principal.id.as_str().to_owned(),
            email: Some(usage.principal.email.as_str().to_owned()),
            connections: usage
                .connections
                .iter()
                .map(|record| summary(record, display_name))
                .collect(),
        })
        .collect())
}

fn scopes_input(scopes: Option<TextOrList>) -> Option<String> {
    match scopes? {
        TextOrList::Text(text) => Some(text),
        TextOrList::List(names) => Some(names.join(",")),
    }
}

/// The body as the service reads it (a JSON object); 422 otherwise.
fn definition_body(body: Documented<DefinitionBody>) -> ApiResult<Map<String, Value>> {
    super::json_object(body.into_value())
}

#[OpenApi(tag = "ApiTags::Providers")]
impl ProvidersApi {
    /// Every provider definition: `bundled` (all of them, even those a custom definition
    /// shadows) and `custom`, each sorted by name.
    #[oai(path = "/api/providers", method = "get", operation_id = "list_providers")]
    async fn list(
        &self,
        state: Data<&SharedState>,
        _caller: PopCaller,
    ) -> Result<ListProvidersSuccess, ListProvidersFailure> {
        let by_source = state.0.catalog.list_by_source().await?;
        Ok(ListProvidersSuccess::Listed(Json(ProvidersBySourceView {
            bundled: by_source.bundled.into(),
            custom: by_source.custom.iter().map(|d| Documented::new(d.to_value())).collect(),
        })))
    }

    /// Registers a custom provider (admins): `{"definition": {...}, "force": bool}` or the
    /// definition itself. `force` replaces an existing custom definition.
    #[oai(path = "/api/providers", method = "post", operation_id = "register_provider")]
    async fn register(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        body: Json<Documented<DefinitionBody>>,
    ) -> Result<ProviderChangedSuccess, DefinitionFailure> {
        caller.0.require_admin()?;
        let (definition, force) = providers::definition_from_body(&definition_body(body.0)?)?;
        providers::register(state.0, &caller.0, &definition, force).await?;
        Ok(ProviderChangedSuccess::Changed(changed(&definition.name)))
    }

    /// A provider definition (custom first, then bundled).
    #[oai(path = "/api/providers/:provider", method = "get", operation_id = "get_provider")]
    async fn get(
        &self,
        state: Data<&SharedState>,
        _caller: PopCaller,
        provider: Path<String>,
    ) -> Result<ProviderSuccess, ProviderFailure> {
        let provider = path_names::provider(&provider.0)?;
        let definition = state.0.catalog.get(&provider).await?;
        Ok(ProviderSuccess::Definition(Json(Documented::new(
            definition.to_value(),
        ))))
    }

    /// Replaces a custom provider definition (admins); the name must match the path.
    #[oai(path = "/api/providers/:provider", method = "put", operation_id = "update_provider")]
    async fn update(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
        body: Json<Documented<DefinitionBody>>,
    ) -> Result<ProviderChangedSuccess, DefinitionFailure> {
        let provider = path_names::provider(&provider.0)?;
        caller.0.require_admin()?;
        let (definition, _) = providers::definition_from_body(&definition_body(body.0)?)?;
        providers::update(state.0, &caller.0, &provider, &definition).await?;
        Ok(ProviderChangedSuccess::Changed(changed(&definition.name)))
    }

    /// Revokes the provider in every vault and removes its custom definition (admins). A
    /// bundled definition stays.
    #[oai(
        path = "/api/providers/:provider",
        method = "delete",
        operation_id = "delete_provider"
    )]
    async fn delete(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
    ) -> Result<DeleteProviderSuccess, DeleteProviderFailure> {
        let provider = path_names::provider(&provider.0)?;
        providers::delete(state.0, &caller.0, &provider).await?;
        Ok(DeleteProviderSuccess::Deleted(changed(provider.as_str())))
    }

    /// A provider with the caller's connections to it; for admins also its OAuth client
    /// settings (never the secret) and every principal's usage.
    #[oai(
        path = "/api/providers/:provider/detail",
        method = "get",
        operation_id = "provider_detail"
    )]
    async fn detail(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
    ) -> Result<ProviderDetailSuccess, ProviderDetailFailure> {
        let provider = path_names::provider(&provider.0)?;
        let state = state.0;
        let caller = caller.0;
        let definition = state.catalog.get(&provider).await?;
        let is_admin = caller.is_admin();
        let client = if is_admin {
            credentials::client_record(state, &definition.name).await?
        } else {
            None
        };
        let configuration_fields = if is_admin {
            providers::configuration_fields(&definition, client.as_ref())
                .into_iter()
                .map(Documented::new)
                .collect()
        } else {
            Vec::new()
        };
        let connections = connections_in(&VaultScope::of(state, &caller), &provider, &definition.display_name).await?;
        Ok(ProviderDetailSuccess::Detail(Json(ProviderDetail {
            provider: Documented::new(definition.to_value()),
            account: CallerAccount {
                principal_id: caller.principal_id.as_str().to_owned(),
                role: caller.role.into(),
                is_admin,
            },
            configuration_warning: client
                .as_ref()
                .map(|_| "Changing these credentials will revoke existing connections for this provider.".to_owned()),
            client: client.as_ref().map(|c| ProviderClientView {
                client_id: c.client_id.clone(),
                client_secret: None,
                client_secret_set: c.client_secret.as_ref().is_some_and(|s| !s.is_empty()),
                base_url: c.base_url.clone(),
                api_url: c.api_url.clone(),
                scopes: c.scopes.clone().unwrap_or_default(),
            }),
            configuration_fields,
            show_callback_helper: is_admin,
            callback_url: is_admin.then(|| state.url("/api/auth/callback/oauth")),
            connections,
            principal_usage: principal_usage(state, &caller, &provider, &definition.display_name).await?,
        })))
    }

    /// Sets a provider's OAuth client settings (admins). A change revokes every existing
    /// connection to the provider.
    #[oai(
        path = "/api/providers/:provider/configuration",
        method = "put",
        operation_id = "configure_provider"
    )]
    async fn configure(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
        body: Json<ConfigurationUpdate>,
    ) -> Result<ConfigureSuccess, ConfigureFailure> {
        let provider_name = path_names::provider(&provider.0)?;
        caller.0.require_admin()?;
        let body = body.0;
        let mut inputs = Map::new();
        for (name, value) in [
            ("client_id", body.client_id),
            ("client_secret", body.client_secret),
            ("base_url", body.base_url),
            ("api_url", body.api_url),
            ("scopes", scopes_input(body.scopes)),
        ] {
            if let Some(value) = value {
                inputs.insert(name.to_owned(), Value::String(value));
            }
        }
        let changed = providers::update_configuration(state.0, &caller.0, &provider_name, &inputs).await?;
        Ok(ConfigureSuccess::Configured(Json(ConfigurationChanged {
            status: Done::Ok,
            changed,
            provider: provider.0,
        })))
    }
}
