//! `/api/connections/*`: the caller's stored connections, defaults, global fallbacks, logout
//! and revocation.

use authsome_domain::credential_records::ConnectionRecord;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use std::collections::BTreeMap;

use serde_json::Value;

use crate::http::api::ApiTags;
use crate::http::api::documented::Documented;
use crate::http::api::path_names;
use crate::http::api::shared_documents::SharedDocuments;
use crate::http::api::stored_shapes::{AccountDocument, ConnectionRecordDocument, ProviderDefinitionDocument};
use crate::http::api::wire_enums::{AuthType, ConnectionStatus, CredentialSource, Done};
use crate::http::caller::{AnyCaller, PopCaller};
use crate::http::errors::{ApiResult, ErrorBody};
use crate::state::{AppState, SharedState};
use authsome_services::connections;
use authsome_services::credentials::{self, VaultScope};
use authsome_services::ownership::Caller;

/// One connection in `GET /api/connections`.
#[derive(Object)]
pub struct ConnectionListEntry {
    /// Name.
    pub connection_name: String,
    /// Whether it is the provider's default in this vault.
    pub is_default: bool,
    /// How requests are authenticated.
    pub auth_type: AuthType,
    /// Where it stands.
    pub status: ConnectionStatus,
    /// Granted scopes; null when none were recorded.
    #[oai(nullable)]
    pub scopes: Option<Vec<String>>,
    /// Provider base URL (self-hosted providers); null otherwise.
    #[oai(nullable)]
    pub base_url: Option<String>,
    /// API address the connection is for; null when the provider's own.
    #[oai(nullable)]
    pub api_url: Option<String>,
    /// Expiry, ISO 8601 with `+00:00`; null when it does not expire.
    #[oai(nullable)]
    pub expires_at: Option<String>,
}

/// A provider's connections.
#[derive(Object)]
pub struct ConnectionGroup {
    /// Provider name.
    pub name: String,
    /// The default connection's name.
    pub default_connection: String,
    /// Connections, in vault order.
    pub connections: Vec<ConnectionListEntry>,
}

/// A global (deployment-wide) fallback connection, without secrets.
#[derive(Object)]
pub struct GlobalConnectionSummary {
    /// Provider name.
    pub provider: String,
    /// Provider display name.
    pub provider_display_name: String,
    /// The target connection's name.
    pub connection_name: String,
    /// Its status.
    pub status: ConnectionStatus,
    /// Its auth type.
    pub auth_type: AuthType,
    /// The account it is, when known.
    #[oai(nullable)]
    pub account_label: Option<String>,
    /// API address.
    #[oai(nullable)]
    pub api_url: Option<String>,
    /// Always `global`.
    pub source: CredentialSource,
}

/// Provider definitions by origin.
#[derive(Object)]
pub struct ProvidersBySourceView {
    /// Every bundled definition.
    pub bundled: SharedDocuments,
    /// Every admin-registered definition.
    pub custom: Vec<Documented<ProviderDefinitionDocument>>,
}

/// `GET /api/connections`.
#[derive(Object)]
pub struct ConnectionsOverview {
    /// The caller's connections, by provider name.
    pub connections: Vec<ConnectionGroup>,
    /// Global fallbacks, by display name.
    pub global_connections: Vec<GlobalConnectionSummary>,
    /// For admins: connections per provider over every principal's default vault.
    pub provider_connection_counts: BTreeMap<String, u64>,
    /// Provider definitions.
    pub by_source: ProvidersBySourceView,
}

/// A connection's secret values.
#[derive(Object)]
pub struct ConnectionSecrets {
    /// OAuth access token.
    #[oai(nullable)]
    pub access_token: Option<String>,
    /// OAuth refresh token.
    #[oai(nullable)]
    pub refresh_token: Option<String>,
    /// API key.
    #[oai(nullable)]
    pub api_key: Option<String>,
    /// Browser cookies.
    pub credentials: BTreeMap<String, Value>,
}

/// `GET /api/connections/{provider}/{connection}/detail`.
#[derive(Object)]
pub struct ConnectionDetail {
    /// Provider name.
    pub provider: String,
    /// Provider display name.
    pub provider_display_name: String,
    /// Connection name.
    pub connection_name: String,
    /// Owning principal.
    #[oai(nullable)]
    pub principal_id: Option<String>,
    /// The identity that stored it.
    #[oai(nullable)]
    pub identity: Option<String>,
    /// The vault holding it.
    #[oai(nullable)]
    pub vault_id: Option<String>,
    /// Status.
    pub status: ConnectionStatus,
    /// Auth type.
    pub auth_type: AuthType,
    /// Provider base URL.
    #[oai(nullable)]
    pub base_url: Option<String>,
    /// API address.
    #[oai(nullable)]
    pub api_url: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// OAuth token type.
    #[oai(nullable)]
    pub token_type: Option<String>,
    /// When the credential was obtained.
    #[oai(nullable)]
    pub obtained_at: Option<String>,
    /// When it expires.
    #[oai(nullable)]
    pub expires_at: Option<String>,
    /// The provider account, when known.
    #[oai(nullable)]
    pub account: Option<Documented<AccountDocument>>,
    /// The secret values: only for the caller's own connections. An admin viewing another
    /// principal's connection gets them empty and `secrets_redacted: true`.
    pub secrets: ConnectionSecrets,
    /// Whether `secrets` was withheld.
    pub secrets_redacted: bool,
    /// Whether the caller may make it the default (it is the caller's own).
    pub can_set_default: bool,
    /// Whether the caller may make it the global fallback (an admin's own).
    pub can_set_global: bool,
    /// Whether it is the provider's global fallback.
    pub is_global: bool,
}

/// `{"status": "ok"}`.
#[derive(Object)]
pub struct StatusOk {
    /// `ok`.
    pub status: Done,
}

fn ok() -> StatusOk {
    StatusOk { status: Done::Ok }
}

/// `POST .../default` response.
#[derive(Object)]
pub struct DefaultSet {
    /// `ok`.
    pub status: Done,
    /// Provider name.
    pub provider: String,
    /// The new default.
    pub default_connection: String,
}

/// `POST .../global` response.
#[derive(Object)]
pub struct GlobalSet {
    /// `ok`.
    pub status: Done,
    /// Provider name.
    pub provider: String,
    /// The connection now global.
    pub connection_name: String,
}

/// `DELETE .../global` response.
#[derive(Object)]
pub struct GlobalUnset {
    /// `ok`.
    pub status: Done,
    /// Provider name.
    pub provider: String,
    /// Whether a global connection was removed.
    pub deleted: bool,
}

operation_success! {
    /// What `GET /api/connections` answers.
    ListConnectionsSuccess {
        /// The caller's connections, the global fallbacks and the catalog.
        200 Overview(ConnectionsOverview),
    }
}

operation_failures! {
    /// Why `GET /api/connections` can fail.
    ListConnectionsFailure authenticated {}
}

operation_success! {
    /// What `GET /api/connections/{provider}/{connection}` answers.
    GetConnectionSuccess {
        /// The stored record, **with its secret values**.
        200 Record(Documented<ConnectionRecordDocument>),
    }
}

operation_failures! {
    /// Why `GET /api/connections/{provider}/{connection}` can fail.
    GetConnectionFailure authenticated {
        /// The request cannot be carried out as sent.
        400 BadRequest(ErrorBody),
        /// No such connection in the calling agent's vault (`ConnectionNotFoundError`).
        404 NotFound(ErrorBody),
    }
}

operation_success! {
    /// What `GET /api/connections/{provider}/{connection}/detail` answers.
    ConnectionDetailSuccess {
        /// The connection; secret values only for the caller's own.
        200 Detail(ConnectionDetail),
    }
}

operation_failures! {
    /// Why `GET /api/connections/{provider}/{connection}/detail` can fail (403 also for
    /// `?principal=` from a non-admin).
    ConnectionDetailFailure authenticated {
        /// The request cannot be carried out as sent.
        400 BadRequest(ErrorBody),
        /// No such provider, connection or principal.
        404 NotFound(ErrorBody),
    }
}

operation_success! {
    /// What `POST /api/connections/{provider}/{connection}/logout` and
    /// `POST /api/connections/{provider}/revoke` answer.
    DoneSuccess {
        /// Done (a connection that did not exist is not an error).
        200 Done(StatusOk),
    }
}

operation_failures! {
    /// Why logging out of a connection can fail (403 also for `?principal=` from a
    /// non-admin).
    LogoutFailure authenticated {
        /// The request cannot be carried out as sent.
        400 BadRequest(ErrorBody),
        /// No such provider or principal.
        404 NotFound(ErrorBody),
    }
}

operation_failures! {
    /// Why revoking a provider everywhere can fail (403 also when the caller is not an
    /// admin).
    RevokeFailure authenticated {
        /// The request cannot be carried out as sent.
        400 BadRequest(ErrorBody),
        /// No such provider (`ProviderNotFoundError`).
        404 NotFound(ErrorBody),
    }
}

operation_success! {
    /// What `POST /api/connections/{provider}/{connection}/default` answers.
    SetDefaultSuccess {
        /// The connection is the provider's default in the caller's vault.
        200 Set(DefaultSet),
    }
}

operation_failures! {
    /// Why setting a default can fail.
    SetDefaultFailure authenticated {
        /// The request cannot be carried out as sent.
        400 BadRequest(ErrorBody),
        /// No such connection (`ConnectionNotFoundError`).
        404 NotFound(ErrorBody),
    }
}

operation_success! {
    /// What `POST /api/connections/{provider}/{connection}/global` answers.
    SetGlobalSuccess {
        /// The connection is the provider's deployment-wide fallback.
        200 Set(GlobalSet),
    }
}

operation_failures! {
    /// Why setting the global fallback can fail (403 also when the caller is not an admin).
    SetGlobalFailure authenticated {
        /// The request cannot be carried out as sent.
        400 BadRequest(ErrorBody),
        /// No such connection in the caller's vault (`ConnectionNotFoundError`).
        404 NotFound(ErrorBody),
    }
}

operation_success! {
    /// What `DELETE /api/connections/{provider}/global` answers.
    UnsetGlobalSuccess {
        /// Whether a fallback was removed.
        200 Unset(GlobalUnset),
    }
}

operation_failures! {
    /// Why removing the global fallback can fail (403 also when the caller is not an admin).
    UnsetGlobalFailure authenticated {
        /// The request cannot be carried out as sent.
        400 BadRequest(ErrorBody),
        /// No such provider (`ProviderNotFoundError`).
        404 NotFound(ErrorBody),
    }
}

/// Stored connections.
pub struct ConnectionsApi;

fn list_entry(connection_name: &str, is_default: bool, record: &ConnectionRecord) -> ConnectionListEntry {
    ConnectionListEntry {
        connection_name: connection_name.to_owned(),
        is_default,
        auth_type: record.auth_type.into(),
        status: record.status.into(),
        scopes: record.scopes.clone(),
        base_url: record.base_url.clone(),
        api_url: record.api_url.clone(),
        expires_at: record.expires_at.map(|t| t.to_isoformat()),
    }
}

/// The caller's connections, the global fallbacks and the provider catalog.
pub async fn overview(state: &AppState, caller: &Caller) -> ApiResult<ConnectionsOverview> {
    let groups = credentials::list_connections(&VaultScope::of(state, caller)).await?;
    let connections = groups
        .iter()
        .map(|group| ConnectionGroup {
            name: group.name.clone(),
            default_connection: group.default_connection.clone(),
            connections: group
                .connections
                .iter()
                .map(|c| list_entry(&c.connection_name, c.is_default, &c.record))
                .collect(),
        })
        .collect();
    let global_connections = credentials::global_connection_summaries(state)
        .await?
        .into_iter()
        .map(|(_, record, display)| GlobalConnectionSummary {
            provider: record.provider.clone(),
            provider_display_name: display,
            connection_name: record.connection_name.clone(),
            status: record.status.into(),
            auth_type: record.auth_type.into(),
            account_label: record.account.as_ref().and_then(|a| a.label.clone()),
            api_url: record.api_url.clone(),
            source: CredentialSource::Global,
        })
        .collect();
    let by_source = state.catalog.list_by_source().await?;
    Ok(ConnectionsOverview {
        connections,
        global_connections,
        provider_connection_counts: connections::connection_counts_by_provider(state, caller, &groups).await?,
        by_source: ProvidersBySourceView {
            bundled: by_source.bundled.into(),
            custom: by_source.custom.iter().map(|d| Documented::new(d.to_value())).collect(),
        },
    })
}

/// The record as the reference serialises it (every field, timestamps with `Z`).
pub fn record_json(record: &ConnectionRecord) -> Value {
    serde_json::to_value(record).unwrap_or(Value::Null)
}

#[OpenApi(tag = "ApiTags::Connections")]
impl ConnectionsApi {
    /// The caller's connections grouped by provider, the global fallbacks, per-provider
    /// counts (admins) and the provider catalog.
    #[oai(path = "/api/connections", method = "get", operation_id = "list_connections")]
    async fn list(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
    ) -> Result<ListConnectionsSuccess, ListConnectionsFailure> {
        Ok(ListConnectionsSuccess::Overview(Json(
            overview(state.0, &caller.0).await?,
        )))
    }

    /// One of the calling agent's connections, with its secret values (the CLI's
    /// `connections inspect` and the onboard drift check read them).
    #[oai(
        path = "/api/connections/:provider/:connection",
        method = "get",
        operation_id = "get_connection"
    )]
    async fn get(
        &self,
        state: Data<&SharedState>,
        caller: PopCaller,
        provider: Path<String>,
        connection: Path<String>,
    ) -> Result<GetConnectionSuccess, GetConnectionFailure> {
        let provider = path_names::provider(&provider.0)?;
        let connection = path_names::connection(&provider, &connection.0, &caller.0)?;
        let record = credentials::get_connection(state.0, &caller.0, &provider, Some(&connection)).await?;
        Ok(GetConnectionSuccess::Record(Json(Documented::new(record_json(
            &record,
        )))))
    }

    /// A connection's details. `?principal=` (admins) views another principal's connection,
    /// whose secret values are withheld.
    #[oai(
        path = "/api/connections/:provider/:connection/detail",
        method = "get",
        operation_id = "connection_detail"
    )]
    async fn detail(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
        connection: Path<String>,
        /// Another principal's vault (admins).
        principal: Query<Option<String>>,
    ) -> Result<ConnectionDetailSuccess, ConnectionDetailFailure> {
        let provider = path_names::provider(&provider.0)?;
        let connection = path_names::connection(&provider, &connection.0, &caller.0)?;
        let caller = caller.0;
        let detail =
            connections::connection_detail(state.0, &caller, &provider, &connection, principal.0.as_deref()).await?;
        let record = &detail.record;
        let secrets = ConnectionSecrets {
            access_token: record.access_token.clone(),
            refresh_token: record.refresh_token.clone(),
            api_key: record.api_key.clone(),
            credentials: record.credentials.clone().unwrap_or_default().into_iter().collect(),
        };
        Ok(ConnectionDetailSuccess::Detail(Json(ConnectionDetail {
            provider: record.provider.clone(),
            provider_display_name: detail.definition.display_name.clone(),
            connection_name: record.connection_name.clone(),
            principal_id: record.principal_id.clone(),
            identity: record.identity.clone(),
            vault_id: record.vault_id.clone(),
            status: record.status.into(),
            auth_type: record.auth_type.into(),
            base_url: record.base_url.clone(),
            api_url: record.api_url.clone(),
            scopes: record.scopes.clone().unwrap_or_default(),
            token_type: record.token_type.clone(),
            obtained_at: record.obtained_at.map(|t| t.to_json_form()),
            expires_at: record.expires_at.map(|t| t.to_json_form()),
            account: record
                .account
                .as_ref()
                .and_then(|a| serde_json::to_value(a).ok())
                .map(Documented::new),
            secrets,
            secrets_redacted: detail.secrets_redacted,
            can_set_default: detail.can_set_default,
            can_set_global: detail.can_set_global,
            is_global: detail.is_global,
        })))
    }

    /// Logs out of a connection (a missing connection is not an error). `?principal=`
    /// (admins) acts on another principal's vault.
    #[oai(
        path = "/api/connections/:provider/:connection/logout",
        method = "post",
        operation_id = "logout_connection"
    )]
    async fn logout(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
        connection: Path<String>,
        /// Another principal's vault (admins).
        principal: Query<Option<String>>,
    ) -> Result<DoneSuccess, LogoutFailure> {
        let provider = path_names::provider(&provider.0)?;
        let connection = path_names::connection(&provider, &connection.0, &caller.0)?;
        connections::logout(state.0, &caller.0, &provider, &connection, principal.0.as_deref()).await?;
        Ok(DoneSuccess::Done(Json(ok())))
    }

    /// Revokes a provider in every vault (admins).
    #[oai(
        path = "/api/connections/:provider/revoke",
        method = "post",
        operation_id = "revoke_provider"
    )]
    async fn revoke(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
    ) -> Result<DoneSuccess, RevokeFailure> {
        let provider = path_names::provider(&provider.0)?;
        credentials::revoke(state.0, &caller.0, &provider).await?;
        Ok(DoneSuccess::Done(Json(ok())))
    }

    /// Makes a connection the provider's default in the caller's vault.
    #[oai(
        path = "/api/connections/:provider/:connection/default",
        method = "post",
        operation_id = "set_default_connection"
    )]
    async fn set_default(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
        connection: Path<String>,
    ) -> Result<SetDefaultSuccess, SetDefaultFailure> {
        let provider_name = path_names::provider(&provider.0)?;
        let connection_name = path_names::connection(&provider_name, &connection.0, &caller.0)?;
        credentials::set_default_connection(state.0, &caller.0, &provider_name, &connection_name).await?;
        Ok(SetDefaultSuccess::Set(Json(DefaultSet {
            status: Done::Ok,
            provider: provider.0,
            default_connection: connection.0,
        })))
    }

    /// Makes one of the (admin) caller's connections the provider's deployment-wide fallback.
    #[oai(
        path = "/api/connections/:provider/:connection/global",
        method = "post",
        operation_id = "set_global_connection"
    )]
    async fn set_global(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
        connection: Path<String>,
    ) -> Result<SetGlobalSuccess, SetGlobalFailure> {
        let provider = path_names::provider(&provider.0)?;
        let connection = path_names::connection(&provider, &connection.0, &caller.0)?;
        let pointer = credentials::set_global_connection(state.0, &caller.0, &provider, &connection).await?;
        Ok(SetGlobalSuccess::Set(Json(GlobalSet {
            status: Done::Ok,
            provider: pointer.target.provider.as_str().to_owned(),
            connection_name: pointer.target.connection_name.as_str().to_owned(),
        })))
    }

    /// Removes the provider's global fallback (admins).
    #[oai(
        path = "/api/connections/:provider/global",
        method = "delete",
        operation_id = "unset_global_connection"
    )]
    async fn unset_global(
        &self,
        state: Data<&SharedState>,
        caller: AnyCaller,
        provider: Path<String>,
    ) -> Result<UnsetGlobalSuccess, UnsetGlobalFailure> {
        let provider_name = path_names::provider(&provider.0)?;
        let deleted = credentials::unset_global_connection(state.0, &caller.0, &provider_name).await?;
        Ok(UnsetGlobalSuccess::Unset(Json(GlobalUnset {
            status: Done::Ok,
            provider: provider.0,
            deleted,
        })))
    }
}
