//! The provider's default connection in a vault and its deployment-wide global fallback.

use std::sync::Arc;

use authsome_domain::credential_records::{ConnectionRecord, ProviderMetadataRecord};
use authsome_domain::{ConnectionName, GlobalProviderConnection, GlobalProviderConnectionTarget, ProviderName};

use crate::ServiceError;
use crate::audit::{self, AuditEventExt};
use crate::context::ServiceContext;
use crate::ownership::Caller;

use super::not_found;
use super::vault_scope::VaultScope;

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
        let display = match state.catalog.find(&target.provider).await? {
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
    provider: &ProviderName,
    connection: &ConnectionName,
) -> Result<(), ServiceError> {
    let (provider, connection) = (provider.as_str(), connection.as_str());
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
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider_name, connection = %connection))]
pub async fn set_global_connection(
    state: &ServiceContext,
    caller: &Caller,
    provider_name: &ProviderName,
    connection: &ConnectionName,
) -> Result<GlobalProviderConnection, ServiceError> {
    caller.require_admin()?;
    let provider = provider_name.as_str();
    let scope = VaultScope::of(state, caller);
    let name = if connection.as_str() == ConnectionName::DEFAULT {
        scope.default_connection_name(provider).await?
    } else {
        connection.as_str().to_owned()
    };
    let record = scope
        .connection(provider, &name)
        .await?
        .ok_or_else(|| not_found(provider, &name, Some(caller)))?;
    let target = GlobalProviderConnectionTarget {
        provider: provider_name.clone(),
        owner_principal_id: caller.principal_id.clone(),
        owner_vault_id: caller.vault_id.clone(),
        connection_name: ConnectionName::parse(&record.connection_name).map_err(ServiceError::from)?,
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
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider_name))]
pub async fn unset_global_connection(
    state: &ServiceContext,
    caller: &Caller,
    provider_name: &ProviderName,
) -> Result<bool, ServiceError> {
    caller.require_admin()?;
    let provider = provider_name.as_str();
    let existing = state.registries.global_connections.get(provider_name).await?;
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
                provider_name,
                &pointer.target.owner_vault_id,
                &pointer.target.connection_name,
                Some(pointer.updated_at),
            )
            .await?)
    })
    .await
}
