//! Resolving a request to the headers that authenticate it: the caller's own connection,
//! else the provider's global fallback, refreshed when it is an expiring OAuth token.

use std::sync::Arc;

use authsome_domain::credential_headers;
use authsome_domain::credential_records::ConnectionRecord;
use authsome_domain::provider_definition::{AuthType, ProviderDefinition};
use authsome_domain::{ConnectionName, ProviderName, Timestamp};
use serde_json::{Map, Value};

use crate::catalog::CustomDefinition;
use crate::context::ServiceContext;
use crate::oauth;
use crate::ownership::Caller;
use crate::{AuthsomeError, ServiceError};

use super::not_found;
use super::vault_scope::VaultScope;

/// Where a resolved credential came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// The caller's own vault.
    Local,
    /// An admin-set global connection in another vault.
    Global,
}

impl CredentialSource {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Global => "global",
        }
    }
}

/// A connection chosen for use, with where it lives.
pub struct Effective<'a> {
    /// The record.
    pub record: ConnectionRecord,
    /// The vault holding it.
    pub scope: VaultScope<'a>,
    /// Local or global.
    pub source: CredentialSource,
}

/// What the caller's own vault holds for a request: the connection's name and its record,
/// if stored. Only reads, so it may run before the request's token id is consumed.
pub struct LocalConnection {
    name: String,
    record: Option<ConnectionRecord>,
    /// A connection named explicitly (other than `default`) never falls back.
    named_strictly: bool,
}

/// Reads the connection a request names (`default` or none: the provider's default) from
/// `scope`, without looking further.
pub async fn read_local_connection(
    scope: &VaultScope<'_>,
    provider: &ProviderName,
    connection: Option<&ConnectionName>,
) -> Result<LocalConnection, ServiceError> {
    let (name, record) = match connection {
        Some(name) => (
            name.as_str().to_owned(),
            scope.connection(provider.as_str(), name.as_str()).await?,
        ),
        None => scope.default_connection(provider.as_str()).await?,
    };
    Ok(LocalConnection {
        name,
        record,
        named_strictly: connection.is_some_and(|name| name.as_str() != ConnectionName::DEFAULT),
    })
}

/// The connection a request should use, given what the caller's own vault holds (`local`,
/// read from `scope`): a named one strictly; `default` or none falls back to the provider's
/// global connection when the vault has no default of its own.
async fn effective_from_local<'a>(
    state: &'a ServiceContext,
    caller: &Caller,
    scope: VaultScope<'a>,
    provider_name: &ProviderName,
    local: LocalConnection,
) -> Result<Effective<'a>, ServiceError> {
    let provider = provider_name.as_str();
    let LocalConnection {
        name: local_name,
        record,
        named_strictly,
    } = local;
    if let Some(record) = record {
        return Ok(Effective {
            record,
            scope,
            source: CredentialSource::Local,
        });
    }
    if named_strictly {
        return Err(not_found(provider, &local_name, Some(caller)));
    }
    let Some(pointer) = state.registries.global_connections.get(provider_name).await? else {
        return Err(not_found(provider, &local_name, Some(caller)));
    };
    let target = &pointer.target;
    let owner_scope = VaultScope::new(
        state,
        &target.owner_vault_id,
        target.created_by_identity.as_ref().map(|h| h.as_str()),
        Some(target.owner_principal_id.as_str()),
    );
    match owner_scope
        .connection(provider, target.connection_name.as_str())
        .await?
    {
        Some(record) => Ok(Effective {
            record,
            scope: owner_scope,
            source: CredentialSource::Global,
        }),
        None => {
            // The target is gone: drop the pointer unless someone re-pointed it meanwhile.
            state
                .registries
                .global_connections
                .delete_if_target(
                    provider_name,
                    &target.owner_vault_id,
                    &target.connection_name,
                    Some(pointer.updated_at),
                )
                .await?;
            Err(not_found(provider, &local_name, Some(caller)))
        }
    }
}

/// The headers that authenticate a request to the provider with `record`.
pub async fn request_headers(
    state: &ServiceContext,
    caller: &Caller,
    effective: &mut Effective<'_>,
    definition: &Arc<ProviderDefinition>,
) -> Result<Map<String, Value>, ServiceError> {
    let record = &mut effective.record;
    let provider = record.provider.clone();
    let mut headers = Map::new();
    match record.auth_type {
        AuthType::ApiKey => {
            let key = record.api_key.clone().ok_or_else(|| {
                AuthsomeError::credential_missing("No API key stored in connection record", &provider)
            })?;
            let (name, value) = credential_headers::api_key_header(definition.api_key.as_ref(), key);
            headers.insert(name, Value::String(value));
        }
        AuthType::Oauth2 => {
            let target = oauth::refresh::Refreshing {
                scope: &effective.scope,
                definition,
                caller,
            };
            let token = oauth::refresh::usable_access_token(state, &target, record).await?;
            headers.insert(
                "Authorization".to_owned(),
                Value::String(credential_headers::bearer(&token)),
            );
        }
        AuthType::Browser => {
            let cookies = record
                .credentials
                .as_ref()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| AuthsomeError::credential_missing("No browser credentials stored", &provider))?;
            if record.expires_at.is_some_and(|expiry| Timestamp::now() >= expiry) {
                return Err(AuthsomeError::token_expired(&provider).into());
            }
            headers = credential_headers::browser_headers(definition.browser.as_ref(), cookies);
        }
    }
    Ok(headers)
}

/// What `POST /api/credentials/resolve` returns.
pub struct ResolvedCredentials {
    /// Provider name.
    pub provider: String,
    /// The connection used.
    pub connection: String,
    /// Headers to set.
    pub headers: Map<String, Value>,
    /// The credential's expiry.
    pub expires_at: Option<Timestamp>,
    /// Local or global.
    pub source: CredentialSource,
}

/// Resolves the headers for (provider, connection) for the caller, with the caller's own
/// vault already read into `local` (from `scope`, by [`read_local_connection`]). This is where
/// effects start (a token refresh, a stale global pointer dropped): the request's token id
/// must be consumed before it is called.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider))]
pub async fn resolve_credentials(
    state: &ServiceContext,
    caller: &Caller,
    scope: VaultScope<'_>,
    provider: &ProviderName,
    local: LocalConnection,
    custom_definition: CustomDefinition,
) -> Result<ResolvedCredentials, ServiceError> {
    let mut effective = effective_from_local(state, caller, scope, provider, local).await?;
    let definition = state.catalog.get_with(provider, custom_definition).await?;
    let headers = request_headers(state, caller, &mut effective, &definition).await?;
    Ok(ResolvedCredentials {
        provider: provider.as_str().to_owned(),
        connection: effective.record.connection_name.clone(),
        headers,
        expires_at: effective.record.expires_at,
        source: effective.source,
    })
}
