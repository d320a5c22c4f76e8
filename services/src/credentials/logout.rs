//! Logging out of a connection and revoking a provider in every vault.

use authsome_domain::{ConnectionName, ProviderName};

use crate::ServiceError;
use crate::audit::{self, AuditEventExt};
use crate::context::ServiceContext;
use crate::oauth;
use crate::ownership::Caller;

use super::vault_scope::{VaultScope, delete_client_record};

/// Logs out of one connection in `scope`: removes it, updates the metadata, and drops a
/// global pointer that targeted it. A missing connection is not an error.
#[tracing::instrument(level = "debug", skip_all, fields(actor = actor.actor(), provider = %provider_name, connection = %connection_name))]
pub async fn logout(
    state: &ServiceContext,
    scope: &VaultScope<'_>,
    actor: &Caller,
    provider_name: &ProviderName,
    connection_name: &ConnectionName,
) -> Result<(), ServiceError> {
    let (provider, connection) = (provider_name.as_str(), connection_name.as_str());
    let definition = state.catalog.get(provider_name).await?;
    let Some(record) = scope.connection(provider, connection).await? else {
        return Ok(());
    };
    let pointer = state.registries.global_connections.get(provider_name).await?;
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
    if let Some(pointer) = pointer
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
                        provider_name,
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
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider_name))]
pub async fn revoke(state: &ServiceContext, caller: &Caller, provider_name: &ProviderName) -> Result<(), ServiceError> {
    caller.require_admin()?;
    let provider = provider_name.as_str();
    state.catalog.get(provider_name).await?;
    let vaults = state.registries.vaults.list().await?;
    let mut connections = Vec::with_capacity(vaults.len());
    for vault in &vaults {
        let scope = VaultScope::new(
            state,
            &vault.id,
            caller.identity_str(),
            Some(caller.principal_id.as_str()),
        );
        // A stored name that no longer parses cannot be named by anyone, so it is left as is.
        let names: Vec<ConnectionName> = scope
            .connection_keys()
            .await?
            .into_iter()
            .filter(|(p, _)| p == provider)
            .filter_map(|(_, c)| ConnectionName::parse(&c).ok())
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
                logout(state, scope, caller, provider_name, name).await?;
            }
            scope.delete_metadata(provider).await?;
        }
        delete_client_record(state, provider).await
    })
    .await
}
