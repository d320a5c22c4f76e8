//! Listing a vault's connections and reading one by name.

use std::collections::BTreeMap;
use std::sync::Arc;

use authsome_domain::credential_records::ConnectionRecord;
use authsome_domain::{ConnectionName, ProviderName};

use crate::ServiceError;
use crate::context::ServiceContext;
use crate::ownership::Caller;

use super::not_found;
use super::vault_scope::VaultScope;

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

/// A connection by name (`None`: the provider's default) in the caller's vault.
pub async fn get_connection(
    state: &ServiceContext,
    caller: &Caller,
    provider: &ProviderName,
    connection: Option<&ConnectionName>,
) -> Result<ConnectionRecord, ServiceError> {
    let provider = provider.as_str();
    let scope = VaultScope::of(state, caller);
    let name = match connection {
        Some(name) => name.as_str().to_owned(),
        None => scope.default_connection_name(provider).await?,
    };
    scope
        .connection(provider, &name)
        .await?
        .ok_or_else(|| not_found(provider, &name, Some(caller)))
}
