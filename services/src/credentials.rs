//! Connections and their credentials: listing, reading, resolving to request headers,
//! exporting, defaults, global fallbacks, logout and revocation. The reference daemon's
//! `CredentialService`, over the encrypted vault.

use std::collections::BTreeMap;
use std::sync::Arc;

use authsome_domain::credential_records::{
    ConnectionRecord, ProviderClientRecord, ProviderMetadataRecord, ProviderStateRecord, SERVER_COLLECTION,
    VaultKeyKind, VaultKeys, client_key,
};
use authsome_domain::provider_definition::{AuthType, ProviderDefinition};
use authsome_domain::{
    ConnectionName, GlobalProviderConnection, GlobalProviderConnectionTarget, ProviderName, Timestamp, VaultId,
};
use secrecy::ExposeSecret;
use serde_json::{Map, Value};

use crate::audit::{self, AuditEventExt};
use crate::catalog::CustomDefinition;
use crate::context::ServiceContext;
use crate::oauth;
use crate::ownership::Caller;
use crate::{AuthsomeError, ServiceError};

/// One vault's records, written on behalf of an identity and principal (the reference stamps
/// every saved record with the saving context).
pub struct VaultScope<'a> {
    state: &'a ServiceContext,
    keys: VaultKeys,
    vault_id: VaultId,
    identity: Option<String>,
    principal_id: Option<String>,
}

impl<'a> VaultScope<'a> {
    /// The caller's default vault.
    pub fn of(state: &'a ServiceContext, caller: &Caller) -> Self {
        Self::new(
            state,
            &caller.vault_id,
            caller.identity_str(),
            Some(caller.principal_id.as_str()),
        )
    }

    /// Any vault, stamping saves with `identity` and `principal_id`.
    pub fn new(
        state: &'a ServiceContext,
        vault_id: &VaultId,
        identity: Option<&str>,
        principal_id: Option<&str>,
    ) -> Self {
        Self {
            state,
            keys: VaultKeys::new(vault_id),
            vault_id: vault_id.clone(),
            identity: identity.map(str::to_owned),
            principal_id: principal_id.map(str::to_owned),
        }
    }

    /// The vault's id.
    pub fn vault_id(&self) -> &VaultId {
        &self.vault_id
    }

    async fn get_text(&self, key: &str) -> Result<Option<String>, ServiceError> {
        let text = self.state.vault.get(&self.keys.collection(), key).await?;
        Ok(text.map(|t| t.expose_secret().to_owned()))
    }

    /// The connection, when stored and readable.
    pub async fn connection(&self, provider: &str, connection: &str) -> Result<Option<ConnectionRecord>, ServiceError> {
        let key = self.keys.connection(provider, connection);
        let text = self.get_text(&key).await?;
        Ok(Self::connection_record(&key, text))
    }

    /// The provider's default connection (the one its metadata names, else `default`) and
    /// that name. The metadata and the `default` connection are read together, so the usual
    /// case costs one round trip; a provider whose default has another name costs two.
    pub async fn default_connection(&self, provider: &str) -> Result<(String, Option<ConnectionRecord>), ServiceError> {
        let (metadata_key, default_key) = (
            self.keys.metadata(provider),
            self.keys.connection(provider, ConnectionName::DEFAULT),
        );
        let mut texts = self
            .state
            .vault
            .get_many(&self.keys.collection(), &[&metadata_key, &default_key])
            .await?
            .into_iter();
        let (metadata, default) = (texts.next().flatten(), texts.next().flatten());
        let name = default_name_in(metadata.and_then(|text| serde_json::from_str(text.expose_secret()).ok()));
        if name == ConnectionName::DEFAULT {
            let record = Self::connection_record(&default_key, default.map(|t| t.expose_secret().to_owned()));
            return Ok((name, record));
        }
        let record = self.connection(provider, &name).await?;
        Ok((name, record))
    }

    fn connection_record(key: &str, text: Option<String>) -> Option<ConnectionRecord> {
        let text = zeroize::Zeroizing::new(text?);
        match ConnectionRecord::from_json(&text) {
            Ok(record) => record,
            Err(error) => {
                // Like the reference: an unreadable record counts as absent (and is logged).
                tracing::warn!(%key, %error, "skipping an unreadable connection record");
                None
            }
        }
    }

    /// Stores the connection, stamped with this scope's vault, identity and principal.
    pub async fn save_connection(&self, record: &mut ConnectionRecord) -> Result<(), ServiceError> {
        record.identity = self.identity.clone();
        record.principal_id = self.principal_id.clone();
        record.vault_id = Some(self.vault_id.as_str().to_owned());
        let key = self.keys.connection(&record.provider, &record.connection_name);
        let text = zeroize::Zeroizing::new(record.to_json());
        Ok(self.state.vault.put(&self.keys.collection(), &key, &text).await?)
    }

    /// Removes the connection.
    pub async fn delete_connection(&self, provider: &str, connection: &str) -> Result<(), ServiceError> {
        self.state
            .vault
            .delete(&self.keys.collection(), &self.keys.connection(provider, connection))
            .await?;
        Ok(())
    }

    /// The provider's metadata.
    pub async fn metadata(&self, provider: &str) -> Result<Option<ProviderMetadataRecord>, ServiceError> {
        self.read_record(&self.keys.metadata(provider)).await
    }

    /// Stores the provider's metadata, stamped with this scope.
    pub async fn save_metadata(&self, record: &mut ProviderMetadataRecord) -> Result<(), ServiceError> {
        record.identity = self.identity.clone();
        record.principal_id = self.principal_id.clone();
        record.vault_id = Some(self.vault_id.as_str().to_owned());
        self.write_record(&self.keys.metadata(&record.provider), record).await
    }

    /// Removes the provider's metadata.
    pub async fn delete_metadata(&self, provider: &str) -> Result<(), ServiceError> {
        self.state
            .vault
            .delete(&self.keys.collection(), &self.keys.metadata(provider))
            .await?;
        Ok(())
    }

    /// The provider's refresh state in this vault.
    pub async fn provider_state(&self, provider: &str) -> Result<Option<ProviderStateRecord>, ServiceError> {
        self.read_record(&self.keys.state(provider)).await
    }

    /// Stores the provider's refresh state, stamped with this scope.
    pub async fn save_provider_state(&self, record: &mut ProviderStateRecord) -> Result<(), ServiceError> {
        record.identity = self.identity.clone();
        record.principal_id = self.principal_id.clone();
        record.vault_id = Some(self.vault_id.as_str().to_owned());
        self.write_record(&self.keys.state(&record.provider), record).await
    }

    /// A metadata or state record of this vault (unreadable: absent, as the reference reads it).
    async fn read_record<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ServiceError> {
        let Some(text) = self.get_text(key).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_str(&text).ok())
    }

    /// Stores a metadata or state record of this vault.
    async fn write_record<T: serde::Serialize>(&self, key: &str, record: &T) -> Result<(), ServiceError> {
        let text = serde_json::to_string(record).unwrap_or_default();
        Ok(self.state.vault.put(&self.keys.collection(), key, &text).await?)
    }

    /// Every (provider, connection name) stored, in key order.
    pub async fn connection_keys(&self) -> Result<Vec<(String, String)>, ServiceError> {
        let keys = self
            .state
            .vault
            .list(&self.keys.collection(), &self.keys.prefix())
            .await?;
        Ok(keys
            .iter()
            .filter_map(|key| match VaultKeys::parse(key) {
                VaultKeyKind::Connection { provider, connection } => Some((provider, connection)),
                _ => None,
            })
            .collect())
    }

    /// The default connection name: the metadata's, else `default`.
    pub async fn default_connection_name(&self, provider: &str) -> Result<String, ServiceError> {
        Ok(default_name_in(self.metadata(provider).await?))
    }

    /// Records `connection` in the provider's metadata as stored and last used.
    pub async fn note_connection_saved(&self, provider: &str, connection: &str) -> Result<(), ServiceError> {
        let mut metadata = self
            .metadata(provider)
            .await?
            .unwrap_or_else(|| ProviderMetadataRecord::new(provider));
        if !metadata.connection_names.iter().any(|n| n == connection) {
            metadata.connection_names.push(connection.to_owned());
        }
        metadata.last_used_connection = Some(connection.to_owned());
        self.save_metadata(&mut metadata).await
    }
}

/// The default connection name a provider's metadata gives: its own, else `default`.
fn default_name_in(metadata: Option<ProviderMetadataRecord>) -> String {
    metadata.map_or_else(|| ConnectionName::DEFAULT.to_owned(), |m| m.default_connection)
}

/// The server-wide OAuth client record of a provider.
pub async fn client_record(
    state: &ServiceContext,
    provider: &str,
) -> Result<Option<ProviderClientRecord>, ServiceError> {
    let Some(text) = state.vault.get(SERVER_COLLECTION, &client_key(provider)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_str(text.expose_secret()).ok())
}

/// Stores a provider's client record.
pub async fn save_client_record(state: &ServiceContext, record: &ProviderClientRecord) -> Result<(), ServiceError> {
    let text = zeroize::Zeroizing::new(serde_json::to_string(record).unwrap_or_default());
    Ok(state
        .vault
        .put(SERVER_COLLECTION, &client_key(&record.provider), &text)
        .await?)
}

/// Removes a provider's client record.
pub async fn delete_client_record(state: &ServiceContext, provider: &str) -> Result<(), ServiceError> {
    state.vault.delete(SERVER_COLLECTION, &client_key(provider)).await?;
    Ok(())
}

/// One connection in a listing.
#[derive(Debug, Clone)]
pub struct ConnectionSummary {
    /// Name.
    pub connection_name: String,
    /// Whether it is the provider's default.
    pub is_default: bool,
    /// The record itself.
    pub record: Arc<ConnectionRecord>,
}

/// A provider's connections in a vault.
#[derive(Debug, Clone)]
pub struct ProviderConnections {
    /// Provider name.
    pub name: String,
    /// The default connection name.
    pub default_connection: String,
    /// Its connections, in key order.
    pub connections: Vec<ConnectionSummary>,
}

/// Every connection of the scope's vault, grouped by provider (sorted).
pub async fn list_connections(scope: &VaultScope<'_>) -> Result<Vec<ProviderConnections>, ServiceError> {
    let mut groups: BTreeMap<String, ProviderConnections> = BTreeMap::new();
    for (provider, connection) in scope.connection_keys().await? {
        if !groups.contains_key(&provider) {
            let default_connection = scope.default_connection_name(&provider).await?;
            groups.insert(
                provider.clone(),
                ProviderConnections {
                    name: provider.clone(),
                    default_connection,
                    connections: Vec::new(),
                },
            );
        }
        let Some(record) = scope.connection(&provider, &connection).await? else {
            continue;
        };
        if let Some(group) = groups.get_mut(&provider) {
            let is_default = group.default_connection == connection;
            group.connections.push(ConnectionSummary {
                connection_name: connection,
                is_default,
                record: Arc::new(record),
            });
        }
    }
    Ok(groups.into_values().filter(|g| !g.connections.is_empty()).collect())
}

fn not_found(provider: &str, connection: &str, caller: Option<&Caller>) -> ServiceError {
    let who = caller.map_or("account-ui", Caller::actor);
    AuthsomeError::connection_not_found(provider, connection, who).into()
}

/// A connection by name (`None`: the provider's default) in the caller's vault.
pub async fn get_connection(
    state: &ServiceContext,
    caller: &Caller,
    provider: &str,
    connection: Option<&str>,
) -> Result<ConnectionRecord, ServiceError> {
    let scope = VaultScope::of(state, caller);
    let name = match connection.filter(|c| !c.is_empty()) {
        Some(name) => name.to_owned(),
        None => scope.default_connection_name(provider).await?,
    };
    scope
        .connection(provider, &name)
        .await?
        .ok_or_else(|| not_found(provider, &name, Some(caller)))
}

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
    provider: &str,
    connection: Option<&str>,
) -> Result<LocalConnection, ServiceError> {
    let (name, record) = match connection {
        Some(name) => (name.to_owned(), scope.connection(provider, name).await?),
        None => scope.default_connection(provider).await?,
    };
    Ok(LocalConnection {
        name,
        record,
        named_strictly: connection.is_some_and(|name| name != ConnectionName::DEFAULT),
    })
}

/// The connection a request should use, given what the caller's own vault holds (`local`,
/// read from `scope`): a named one strictly; `default` or none falls back to the provider's
/// global connection when the vault has no default of its own.
async fn effective_from_local<'a>(
    state: &'a ServiceContext,
    caller: &Caller,
    scope: VaultScope<'a>,
    provider: &str,
    local: LocalConnection,
) -> Result<Effective<'a>, ServiceError> {
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
    let Ok(provider_name) = ProviderName::parse(provider) else {
        return Err(not_found(provider, &local_name, Some(caller)));
    };
    let Some(pointer) = state.registries.global_connections.get(&provider_name).await? else {
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
                    &provider_name,
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
    let now = Timestamp::now();
    match record.auth_type {
        AuthType::ApiKey => {
            let key = record.api_key.clone().ok_or_else(|| {
                AuthsomeError::credential_missing("No API key stored in connection record", &provider)
            })?;
            let (name, value) = match &definition.api_key {
                Some(config) => match config.header_prefix.as_deref().filter(|p| !p.is_empty()) {
                    Some(prefix) => (config.header_name.clone(), format!("{prefix} {key}")),
                    None => (config.header_name.clone(), key),
                },
                None => ("Authorization".to_owned(), format!("Bearer {key}")),
            };
            headers.insert(name, Value::String(value));
        }
        AuthType::Oauth2 => {
            let target = oauth::refresh::Refreshing {
                scope: &effective.scope,
                definition,
                caller,
            };
            let token = oauth::refresh::usable_access_token(state, &target, record).await?;
            headers.insert("Authorization".to_owned(), Value::String(format!("Bearer {token}")));
        }
        AuthType::Browser => {
            let credentials = record
                .credentials
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| AuthsomeError::credential_missing("No browser credentials stored", &provider))?;
            if record.expires_at.is_some_and(|expiry| now >= expiry) {
                return Err(AuthsomeError::token_expired(&provider).into());
            }
            let value_of = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            if let Some(config) = &definition.browser {
                for rule in &config.extract {
                    if let Some(cookie) = credentials.get(&rule.cookie) {
                        headers.insert(
                            rule.header.clone(),
                            Value::String(format!("{}{}", rule.prefix, value_of(cookie))),
                        );
                    }
                }
                for (name, value) in &config.extra_headers {
                    headers.insert(name.clone(), value.clone());
                }
            }
            let cookie_header: Vec<String> = credentials
                .iter()
                .map(|(k, v)| format!("{k}={}", value_of(v)))
                .collect();
            headers.insert("Cookie".to_owned(), Value::String(cookie_header.join("; ")));
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
    provider: &str,
    local: LocalConnection,
    custom_definition: CustomDefinition,
) -> Result<ResolvedCredentials, ServiceError> {
    let mut effective = effective_from_local(state, caller, scope, provider, local).await?;
    let definition = state.catalog.get_with(provider, custom_definition).await?;
    let headers = request_headers(state, caller, &mut effective, &definition).await?;
    Ok(ResolvedCredentials {
        provider: provider.to_owned(),
        connection: effective.record.connection_name.clone(),
        headers,
        expires_at: effective.record.expires_at,
        source: effective.source,
    })
}

/// The global connection summaries every principal sees, dropping pointers whose target is
/// gone; sorted by display name, then connection name.
pub async fn global_connection_summaries(
    state: &ServiceContext,
) -> Result<Vec<(GlobalProviderConnection, Arc<ConnectionRecord>, String)>, ServiceError> {
    let mut rows = Vec::new();
    for pointer in state.registries.global_connections.list().await? {
        let target = &pointer.target;
        let scope = VaultScope::new(
            state,
            &target.owner_vault_id,
            None,
            Some(target.owner_principal_id.as_str()),
        );
        let Some(record) = scope
            .connection(target.provider.as_str(), target.connection_name.as_str())
            .await?
        else {
            state
                .registries
                .global_connections
                .delete_if_target(
                    &target.provider,
                    &target.owner_vault_id,
                    &target.connection_name,
                    Some(pointer.updated_at),
                )
                .await?;
            continue;
        };
        let display = match state.catalog.find(target.provider.as_str()).await? {
            Some(definition) => definition.display_name.clone(),
            None => target.provider.as_str().to_owned(),
        };
        rows.push((pointer, Arc::new(record), display));
    }
    rows.sort_by(|a, b| (a.2.to_lowercase(), &a.1.connection_name).cmp(&(b.2.to_lowercase(), &b.1.connection_name)));
    Ok(rows)
}

/// Makes `connection` the provider's default in the caller's vault.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider, connection = %connection))]
pub async fn set_default_connection(
    state: &ServiceContext,
    caller: &Caller,
    provider: &str,
    connection: &str,
) -> Result<(), ServiceError> {
    let scope = VaultScope::of(state, caller);
    if scope.connection(provider, connection).await?.is_none() {
        return Err(not_found(provider, connection, Some(caller)));
    }
    let mut metadata = scope
        .metadata(provider)
        .await?
        .unwrap_or_else(|| ProviderMetadataRecord::new(provider));
    if !metadata.connection_names.iter().any(|n| n == connection) {
        metadata.connection_names.push(connection.to_owned());
    }
    metadata.default_connection = connection.to_owned();
    metadata.last_used_connection = Some(connection.to_owned());
    scope.save_metadata(&mut metadata).await
}

/// Points the provider's global fallback at one of the (admin) caller's connections.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider, connection = %connection))]
pub async fn set_global_connection(
    state: &ServiceContext,
    caller: &Caller,
    provider: &str,
    connection: &str,
) -> Result<GlobalProviderConnection, ServiceError> {
    caller.require_admin()?;
    let scope = VaultScope::of(state, caller);
    let name = if connection == ConnectionName::DEFAULT {
        scope.default_connection_name(provider).await?
    } else {
        connection.to_owned()
    };
    let record = scope
        .connection(provider, &name)
        .await?
        .ok_or_else(|| not_found(provider, &name, Some(caller)))?;
    let invalid = |e: authsome_domain::ValidationError| ServiceError::from(e);
    let target = GlobalProviderConnectionTarget {
        provider: ProviderName::parse(provider).map_err(invalid)?,
        owner_principal_id: caller.principal_id.clone(),
        owner_vault_id: caller.vault_id.clone(),
        connection_name: ConnectionName::parse(&record.connection_name).map_err(invalid)?,
        created_by_identity: caller.identity.clone(),
    };
    let event = audit::event_by("provider.global_connection_set", caller)
        .provider(provider)
        .connection(&record.connection_name)
        .status("success")
        .with("owner_vault_id", caller.vault_id.as_str());
    audit::recorded(state, event, async {
        Ok(state.registries.global_connections.upsert(&target).await?)
    })
    .await
}

/// Removes the provider's global fallback; returns whether one was removed.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider))]
pub async fn unset_global_connection(
    state: &ServiceContext,
    caller: &Caller,
    provider: &str,
) -> Result<bool, ServiceError> {
    caller.require_admin()?;
    let Ok(provider_name) = ProviderName::parse(provider) else {
        return Ok(false);
    };
    let existing = state.registries.global_connections.get(&provider_name).await?;
    let event = audit::event_by("provider.global_connection_unset", caller)
        .provider(provider)
        .status("success");
    let Some(pointer) = existing else {
        // Nothing to change: the request is still on record, as the reference records it.
        audit::record(state, event.with("deleted", false)).await;
        return Ok(false);
    };
    let event = event
        .with("deleted", true)
        .connection(pointer.target.connection_name.as_str())
        .with("owner_principal_id", pointer.target.owner_principal_id.as_str())
        .with("owner_vault_id", pointer.target.owner_vault_id.as_str());
    audit::recorded(state, event, async {
        Ok(state
            .registries
            .global_connections
            .delete_if_target(
                &provider_name,
                &pointer.target.owner_vault_id,
                &pointer.target.connection_name,
                Some(pointer.updated_at),
            )
            .await?)
    })
    .await
}

/// Logs out of one connection in `scope`: removes it, updates the metadata, and drops a
/// global pointer that targeted it. A missing connection is not an error.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.actor(), provider = %provider, connection = %connection))]
pub async fn logout(
    state: &ServiceContext,
    scope: &VaultScope<'_>,
    actor: &Caller,
    provider: &str,
    connection: &str,
) -> Result<(), ServiceError> {
    let definition = state.catalog.get(provider).await?;
    let Some(record) = scope.connection(provider, connection).await? else {
        return Ok(());
    };
    let provider_name = ProviderName::parse(provider).ok();
    let pointer = match &provider_name {
        Some(name) => state.registries.global_connections.get(name).await?,
        None => None,
    };
    // The reference records no event for a logout; removing a credential is a change like
    // storing one, so it is recorded (and refused when it cannot be).
    let event = audit::event_by("provider.logout", actor)
        .provider(provider)
        .connection(connection)
        .status("success")
        .with("vault_id", scope.vault_id().as_str());
    audit::recorded(state, event, async {
        scope.delete_connection(provider, connection).await?;
        if let Some(mut metadata) = scope.metadata(provider).await? {
            metadata.connection_names.retain(|n| n != connection);
            if metadata.last_used_connection.as_deref() == Some(connection) {
                metadata.last_used_connection = metadata.connection_names.first().cloned();
            }
            scope.save_metadata(&mut metadata).await?;
        }
        Ok::<_, ServiceError>(())
    })
    .await?;
    // Gone here first, then ended at the provider: a provider that does not answer cannot
    // keep a connection someone asked to remove.
    let revocation = oauth::revocation::revoke_tokens(state, &definition, &record).await;
    oauth::revocation::record(state, actor, &record, &revocation).await;
    if let (Some(pointer), Some(name)) = (pointer, provider_name)
        && pointer.target.owner_vault_id == *scope.vault_id()
        && pointer.target.connection_name.as_str() == connection
    {
        let event = audit::event_by("provider.global_connection_unset", actor)
            .provider(provider)
            .connection(connection)
            .status("success")
            .with("owner_vault_id", scope.vault_id().as_str())
            .with("reason", "target_deleted");
        audit::recorded(state, event, async {
            Ok::<_, ServiceError>(
                state
                    .registries
                    .global_connections
                    .delete_if_target(
                        &name,
                        scope.vault_id(),
                        &pointer.target.connection_name,
                        Some(pointer.updated_at),
                    )
                    .await?,
            )
        })
        .await?;
    }
    Ok(())
}

/// Revokes the provider in every vault: logs out of every connection of it (not only those
/// the metadata lists, unlike the reference), removes its metadata and its client record.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider))]
pub async fn revoke(state: &ServiceContext, caller: &Caller, provider: &str) -> Result<(), ServiceError> {
    caller.require_admin()?;
    state.catalog.get(provider).await?;
    let vaults = state.registries.vaults.list().await?;
    let mut connections = Vec::with_capacity(vaults.len());
    for vault in &vaults {
        let scope = VaultScope::new(
            state,
            &vault.id,
            caller.identity_str(),
            Some(caller.principal_id.as_str()),
        );
        let names: Vec<String> = scope
            .connection_keys()
            .await?
            .into_iter()
            .filter(|(p, _)| p == provider)
            .map(|(_, c)| c)
            .collect();
        connections.push((scope, names));
    }
    let event = audit::event_by("provider.revoked", caller)
        .provider(provider)
        .status("success")
        .with("vault_count", vaults.len())
        .with(
            "connection_count",
            connections.iter().map(|(_, names)| names.len()).sum::<usize>(),
        );
    audit::recorded(state, event, async {
        for (scope, names) in &connections {
            for name in names {
                logout(state, scope, caller, provider, name).await?;
            }
            scope.delete_metadata(provider).await?;
        }
        delete_client_record(state, provider).await
    })
    .await
}

/// `<NAME>` of export variables: upper case, runs of other characters as `_`, trimmed.
pub fn export_name_part(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut pending_underscore = false;
    for c in value.to_uppercase().chars() {
        if c.is_ascii_uppercase() || c.is_ascii_digit() {
            if pending_underscore && !out.is_empty() {
                out.push('_');
            }
            pending_underscore = false;
            out.push(c);
        } else {
            pending_underscore = true;
        }
    }
    out
}

/// The exportable values of one connection, in the reference's order.
async fn export_connection(
    state: &ServiceContext,
    caller: &Caller,
    provider: &str,
    connection: &str,
) -> Result<Vec<(String, String)>, ServiceError> {
    let definition = state.catalog.get(provider).await?;
    let record = get_connection(state, caller, provider, Some(connection)).await?;
    let env_map = definition.export.as_ref().map(|e| e.env.clone()).unwrap_or_default();
    let name_for = |field: &str, fallback: String| {
        env_map
            .get(field)
            .and_then(Value::as_str)
            .map_or(fallback, str::to_owned)
    };
    let base = export_name_part(provider);
    let mut values: Vec<(String, String)> = Vec::new();
    // A name set twice keeps its first position, as a Python dict does in the reference.
    let mut put = |name: String, value: String| match values.iter_mut().find(|(n, _)| *n == name) {
        Some(existing) => existing.1 = value,
        None => values.push((name, value)),
    };
    match record.auth_type {
        AuthType::Oauth2 => {
            if let Some(token) = &record.access_token {
                put(name_for("access_token", format!("{base}_ACCESS_TOKEN")), token.clone());
            }
            if let Some(token) = &record.refresh_token {
                put(
                    name_for("refresh_token", format!("{base}_REFRESH_TOKEN")),
                    token.clone(),
                );
            }
        }
        AuthType::ApiKey => {
            if let Some(key) = &record.api_key {
                put(name_for("api_key", format!("{base}_API_KEY")), key.clone());
            }
        }
        AuthType::Browser => {
            for (cookie, value) in record.credentials.iter().flatten() {
                let value = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                put(name_for(cookie, format!("{base}_{}", cookie.to_uppercase())), value);
            }
        }
    }
    if let Some(export) = &definition.export {
        let token = if record.auth_type == AuthType::Oauth2 {
            record.access_token.clone()
        } else {
            record.api_key.clone()
        };
        for (target, source) in &export.extra {
            let Some(source) = source.as_str() else { continue };
            let value = match source.to_uppercase().as_str() {
                "BASE_URL" => record.base_url.clone(),
                "API_URL" => record
                    .api_url
                    .clone()
                    .or_else(|| definition.primary_api_url().map(str::to_owned))
                    .or_else(|| record.base_url.clone()),
                "ACCESS_TOKEN" | "API_TOKEN" => token.clone(),
                _ => None,
            };
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                put(target.clone(), value);
            }
        }
    }
    Ok(values)
}

/// Export output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// `K=V` lines.
    Env,
    /// `export K=V` lines.
    Shell,
    /// A JSON object, two-space indent.
    Json,
}

impl ExportFormat {
    /// Parses `env`, `shell` or `json`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "env" => Some(Self::Env),
            "shell" => Some(Self::Shell),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Exports credentials as text: one connection, or every connection when `provider` is `None`
/// (name collisions get `_<PROVIDER>_<CONNECTION>`, then `_2`, `_3`...).
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = provider.unwrap_or("*"), connection = %connection))]
pub async fn export(
    state: &ServiceContext,
    caller: &Caller,
    provider: Option<&str>,
    connection: &str,
    format: ExportFormat,
) -> Result<String, ServiceError> {
    let values = match provider {
        Some(provider) => export_connection(state, caller, provider, connection).await?,
        None => {
            let mut values: Vec<(String, String)> = Vec::new();
            for group in list_connections(&VaultScope::of(state, caller)).await? {
                for summary in &group.connections {
                    for (name, value) in export_connection(state, caller, &group.name, &summary.connection_name).await?
                    {
                        let name = if values.iter().any(|(n, _)| *n == name) {
                            disambiguate(&name, &group.name, &summary.connection_name, &values)
                        } else {
                            name
                        };
                        values.push((name, value));
                    }
                }
            }
            values
        }
    };
    Ok(match format {
        ExportFormat::Env => values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n"),
        ExportFormat::Shell => values
            .iter()
            .map(|(k, v)| format!("export {k}={v}"))
            .collect::<Vec<_>>()
            .join("\n"),
        ExportFormat::Json => {
            if values.is_empty() {
                "{}".to_owned()
            } else {
                let lines: Vec<String> = values
                    .iter()
                    .map(|(k, v)| format!("  {}: {}", Value::String(k.clone()), Value::String(v.clone())))
                    .collect();
                format!("{{\n{}\n}}", lines.join(",\n"))
            }
        }
    })
}

fn disambiguate(name: &str, provider: &str, connection: &str, existing: &[(String, String)]) -> String {
    let suffix: Vec<String> = [export_name_part(provider), export_name_part(connection)]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    let suffix = suffix.join("_");
    let taken = |candidate: &str| existing.iter().any(|(n, _)| n == candidate);
    let mut candidate = if suffix.is_empty() {
        name.to_owned()
    } else {
        format!("{name}_{suffix}")
    };
    let mut counter = 2;
    while taken(&candidate) {
        candidate = if suffix.is_empty() {
            format!("{name}_{counter}")
        } else {
            format!("{name}_{suffix}_{counter}")
        };
        counter += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_names_follow_the_reference() {
        assert_eq!(export_name_part("brave-search-mcp"), "BRAVE_SEARCH_MCP");
        assert_eq!(export_name_part("  my conn!! "), "MY_CONN");
        assert_eq!(export_name_part("a.b_c"), "A_B_C");
        let existing = vec![
            ("X".to_owned(), "1".to_owned()),
            ("X_OPENAI_WORK".to_owned(), "2".to_owned()),
        ];
        assert_eq!(disambiguate("X", "openai", "work", &existing), "X_OPENAI_WORK_2");
    }

    #[test]
    fn formats_parse() {
        assert_eq!(ExportFormat::parse("shell"), Some(ExportFormat::Shell));
        assert_eq!(ExportFormat::parse("yaml"), None);
    }
}
