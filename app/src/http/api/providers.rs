//! `/api/providers/*`: the provider catalog, custom definitions and OAuth client settings.

use authsome_domain::credential_records::ConnectionRecord;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value, json};

use crate::http::api::ApiTags;
use crate::http::api::connections::ProvidersBySourceView;
use crate::http::caller::{AnyCaller, PopCaller};
use crate::http::errors::{ApiError, ApiResult};
use crate::services::credentials::{self, VaultScope};
use crate::services::ownership::Caller;
use crate::services::providers;
use crate::state::{AppState, SharedState};

/// `{"status": "ok", "provider": ...}`.
#[derive(Object)]
pub struct ProviderChanged {
    /// `ok`.
    pub status: String,
    /// Provider name.
    pub provider: String,
}

/// `PUT /api/providers/{provider}/configuration` response.
#[derive(Object)]
pub struct ConfigurationChanged {
    /// `ok`.
    pub status: String,
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
    pub client_id: Option<String>,
    /// OAuth client secret.
    pub client_secret: Option<String>,
    /// Base URL (self-hosted providers).
    pub base_url: Option<String>,
    /// API address (self-hosted providers).
    pub api_url: Option<String>,
    /// Scopes: a comma-separated string or a list.
    pub scopes: Option<Value>,
}

/// A provider's OAuth client settings, without the secret.
#[derive(Object)]
pub struct ProviderClientView {
    /// Client id.
    pub client_id: Option<String>,
    /// Never sent back: always null (see `client_secret_set`).
    pub client_secret: Option<String>,
    /// Whether a client secret is stored.
    pub client_secret_set: bool,
    /// Base URL.
    pub base_url: Option<String>,
    /// API address.
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
    pub status: String,
    /// Auth type.
    pub auth_type: String,
    /// The provider account, when known.
    pub account_label: Option<String>,
    /// Owning principal.
    pub principal_id: Option<String>,
}

/// One principal's connections to the provider (admin view).
#[derive(Object)]
pub struct PrincipalUsage {
    /// The principal.
    pub principal_id: String,
    /// Its email.
    pub email: Option<String>,
    /// Its connections to the provider.
    pub connections: Vec<ProviderConnectionSummary>,
}

/// `GET /api/providers/{provider}/detail`.
#[derive(Object)]
pub struct ProviderDetail {
    /// The definition.
    pub provider: Value,
    /// `{"principal_id", "role", "is_admin"}` of the caller.
    pub account: Value,
    /// The OAuth client settings (admins), without the secret.
    pub client: Option<ProviderClientView>,
    /// The inputs an admin may set, with current values (never the secret).
    pub configuration_fields: Vec<Value>,
    /// Shown when changing the settings would revoke connections.
    pub configuration_warning: Option<String>,
    /// Whether to show the OAuth callback address.
    pub show_callback_helper: bool,
    /// The OAuth callback address (admins).
    pub callback_url: Option<String>,
    /// The caller's connections to the provider.
    pub connections: Vec<ProviderConnectionSummary>,
    /// For admins: every principal's connections to the provider.
    pub principal_usage: Vec<PrincipalUsage>,
}

/// Provider definitions.
pub struct ProvidersApi;

fn changed(provider: &str) -> Json<ProviderChanged> {
    Json(ProviderChanged {
        status: "ok".to_owned(),
        provider: provider.to_owned(),
    })
}

fn summary(record: &ConnectionRecord, display_name: &str) -> ProviderConnectionSummary {
    ProviderConnectionSummary {
        provider: record.provider.clone(),
        provider_display_name: display_name.to_owned(),
        connection_name: record.connection_name.clone(),
        status: record.status.as_str().to_owned(),
        auth_type: record.auth_type.as_str().to_owned(),
        account_label: record.account.as_ref().and_then(|a| a.label.clone()),
        principal_id: record.principal_id.clone(),
    }
}

/// The provider's connections in `scope`, by connection name.
async fn connections_in(
    scope: &VaultScope<'_>,
    provider: &str,
    display_name: &str,
) -> ApiResult<Vec<ProviderConnectionSummary>> {
    let mut rows = Vec::new();
    for (stored_provider, connection) in scope.connection_keys().await? {
        if stored_provider != provider {
            continue;
        }
        if let Some(record) = scope.connection(provider, &connection).await? {
            rows.push(summary(&record, display_name));
        }
    }
    rows.sort_by(|a, b| a.connection_name.cmp(&b.connection_name));
    Ok(rows)
}

async fn principal_usage(
    state: &AppState,
    caller: &Caller,
    provider: &str,
    display_name: &str,
) -> ApiResult<Vec<PrincipalUsage>> {
    let mut usage = Vec::new();
    if !caller.is_admin() {
        return Ok(usage);
    }
    for principal in state.registries.principals.list().await? {
        let Some(binding) = state.registries.bindings.get_default(&principal.id).await? else {
            continue;
        };
        let scope = VaultScope::new(state, &binding.vault_id, None, Some(principal.id.as_str()));
        let connections = connections_in(&scope, provider, display_name).await?;
        if !connections.is_empty() {
            usage.push(PrincipalUsage {
                principal_id: principal.id.as_str().to_owned(),
                email: Some(principal.email.as_str().to_owned()),
                connections,
            });
        }
    }
    Ok(usage)
}

fn scopes_input(scopes: Option<Value>) -> ApiResult<Option<String>> {
    match scopes {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(text) => names.push(text),
                    _ => {
                        return Err(ApiError::validation(
                            &["body", "scopes"],
                            "Scopes must be strings",
                            "string_type",
                        ));
                    }
                }
            }
            Ok(Some(names.join(",")))
        }
        Some(_) => Err(ApiError::validation(
            &["body", "scopes"],
            "Scopes must be a comma-separated string or a list of strings",
            "string_type",
        )),
    }
}

#[OpenApi(tag = "ApiTags::Providers")]
impl ProvidersApi {
    /// Every provider definition: `bundled` (all of them, even those a custom definition
    /// shadows) and `custom`, each sorted by name.
    #[oai(path = "/api/providers", method = "get")]
    async fn list(&self, state: Data<&SharedState>, _caller: PopCaller) -> ApiResult<Json<ProvidersBySourceView>> {
        let by_source = state.0.catalog.list_by_source().await?;
        Ok(Json(ProvidersBySourceView {
            bundled: by_source.bundled.into(),
            custom: by_source.custom.iter().map(|d| d.to_value()).collect(),
        }))
    }

    /// Registers a custom provider (admins): `{"definition": {...}, "force": bool}` or the
    /// definition itself. `force` replaces an existing custom definition.
    #[oai(path = "/api/providers", method = "post")]
    async fn register(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        body: Json<Value>,
    ) -> ApiResult<Json<ProviderChanged>> {
        caller.0.require_admin()?;
        let (definition, force) = providers::definition_from_body(&super::json_object(body.0)?)?;
        providers::register(state.0, &caller.0, &definition, force).await?;
        Ok(changed(&definition.name))
    }

    /// A provider definition (custom first, then bundled).
    #[oai(path = "/api/providers/:provider", method = "get")]
    async fn get(
        &self,
        state: Data<&SharedState>,
        _caller: PopCaller,
        provider: Path<String>,
    ) -> ApiResult<Json<Value>> {
        Ok(Json(state.0.catalog.get(&provider.0).await?.to_value()))
    }

    /// Replaces a custom provider definition (admins); the name must match the path.
    #[oai(path = "/api/providers/:provider", method = "put")]
    async fn update(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
        body: Json<Value>,
    ) -> ApiResult<Json<ProviderChanged>> {
        caller.0.require_admin()?;
        let (definition, _) = providers::definition_from_body(&super::json_object(body.0)?)?;
        providers::update(state.0, &caller.0, &provider.0, &definition).await?;
        Ok(changed(&definition.name))
    }

    /// Revokes the provider in every vault and removes its custom definition (admins). A
    /// bundled definition stays.
    #[oai(path = "/api/providers/:provider", method = "delete")]
    async fn delete(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
    ) -> ApiResult<Json<ProviderChanged>> {
        providers::delete(state.0, &caller.0, &provider.0).await?;
        Ok(changed(&provider.0))
    }

    /// A provider with the caller's connections to it; for admins also its OAuth client
    /// settings (never the secret) and every principal's usage.
    #[oai(path = "/api/providers/:provider/detail", method = "get")]
    async fn detail(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
    ) -> ApiResult<Json<ProviderDetail>> {
        let state = state.0;
        let caller = caller.0;
        let definition = state.catalog.get(&provider.0).await?;
        let is_admin = caller.is_admin();
        let client = if is_admin {
            credentials::client_record(state, &definition.name).await?
        } else {
            None
        };
        let configuration_fields = if is_admin {
            providers::configuration_fields(&definition, client.as_ref())
        } else {
            Vec::new()
        };
        let connections = connections_in(
            &VaultScope::of(state, &caller),
            &definition.name,
            &definition.display_name,
        )
        .await?;
        Ok(Json(ProviderDetail {
            provider: definition.to_value(),
            account: json!({
                "principal_id": caller.principal_id.as_str(),
                "role": caller.role.as_str(),
                "is_admin": is_admin,
            }),
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
            principal_usage: principal_usage(state, &caller, &definition.name, &definition.display_name).await?,
        }))
    }

    /// Sets a provider's OAuth client settings (admins). A change revokes every existing
    /// connection to the provider.
    #[oai(path = "/api/providers/:provider/configuration", method = "put")]
    async fn configure(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
        body: Json<ConfigurationUpdate>,
    ) -> ApiResult<Json<ConfigurationChanged>> {
        caller.0.require_admin()?;
        let body = body.0;
        let mut inputs = Map::new();
        for (name, value) in [
            ("client_id", body.client_id),
            ("client_secret", body.client_secret),
            ("base_url", body.base_url),
            ("api_url", body.api_url),
            ("scopes", scopes_input(body.scopes)?),
        ] {
            if let Some(value) = value {
                inputs.insert(name.to_owned(), Value::String(value));
            }
        }
        let changed = providers::update_configuration(state.0, &caller.0, &provider.0, &inputs).await?;
        Ok(Json(ConfigurationChanged {
            status: "ok".to_owned(),
            changed,
            provider: provider.0,
        }))
    }
}
