//! Who may see and change which connections: the vault a request acts on (the caller's own,
//! or, for an admin, another principal's), what a connection's detail shows (secret values only
//! to their owner), and logging out on behalf of another principal.
//!
//! These are authorization and redaction rules, so they live here and not in the handlers;
//! `app/tests/integration/authorization_rules.rs` tests each at this seam.

use authsome_domain::credential_records::{ConnectionRecord, ProviderStateRecord};
use authsome_domain::provider_definition::ProviderDefinition;
use authsome_domain::{ConnectionName, PrincipalId, ProviderName, VaultId};

use crate::ServiceError;
use crate::context::ServiceContext;
use crate::credentials::{self, VaultScope};
use crate::ownership::Caller;

/// The vault a request acts on, and whose it is. Acting on a vault is not being its owner:
/// the caller stays the actor (audit events name the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultTarget {
    /// The principal whose vault it is.
    pub principal_id: PrincipalId,
    /// The vault (the principal's default).
    pub vault_id: VaultId,
}

impl VaultTarget {
    /// The caller's own default vault.
    pub fn own(caller: &Caller) -> Self {
        Self {
            principal_id: caller.principal_id.clone(),
            vault_id: caller.vault_id.clone(),
        }
    }

    /// Whether this is `caller`'s own vault.
    pub fn is_owned_by(&self, caller: &Caller) -> bool {
        self.principal_id == caller.principal_id
    }

    /// The vault, with saves stamped by `actor`'s identity and this target's principal.
    pub fn scope<'a>(&self, state: &'a ServiceContext, actor: &Caller) -> VaultScope<'a> {
        VaultScope::new(
            state,
            &self.vault_id,
            actor.identity_str(),
            Some(self.principal_id.as_str()),
        )
    }
}

/// The vault a request acts on: the caller's own, or (admins only) the default vault of the
/// principal named by `principal`. A non-admin naming another principal is refused; a
/// principal that does not exist (or has no vault) is not found.
pub async fn target_vault(
    state: &ServiceContext,
    caller: &Caller,
    principal: Option<&str>,
) -> Result<VaultTarget, ServiceError> {
    let Some(requested) = principal.filter(|p| *p != caller.principal_id.as_str()) else {
        return Ok(VaultTarget::own(caller));
    };
    caller.require_admin()?;
    let not_found = || ServiceError::NotFound("Principal not found".to_owned());
    let Ok(principal_id) = PrincipalId::parse(requested) else {
        return Err(not_found());
    };
    if state.registries.principals.get(&principal_id).await?.is_none() {
        return Err(not_found());
    }
    let binding = state
        .registries
        .bindings
        .get_default(&principal_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(VaultTarget {
        principal_id,
        vault_id: binding.vault_id,
    })
}

/// A connection as its detail view shows it.
#[derive(Debug)]
pub struct ConnectionDetail {
    /// The provider's definition.
    pub definition: std::sync::Arc<ProviderDefinition>,
    /// The stored record; its secret values are removed unless the caller owns it.
    pub record: ConnectionRecord,
    /// Whether the secret values were withheld.
    pub secrets_redacted: bool,
    /// Whether the caller may make it the provider's default (it is theirs).
    pub can_set_default: bool,
    /// Whether the caller may make it the global fallback (an admin's own).
    pub can_set_global: bool,
    /// Whether it is the provider's global fallback.
    pub is_global: bool,
    /// The provider's last token refresh in that vault (when, and its error), if any.
    pub refresh_state: Option<ProviderStateRecord>,
}

/// A connection's detail, in the caller's vault or (admins, `principal`) another's. Secret
/// values are shown only to the connection's owner: an admin viewing another principal's
/// connection sees everything else.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider_name, connection = %connection_name))]
pub async fn connection_detail(
    state: &ServiceContext,
    caller: &Caller,
    provider_name: &ProviderName,
    connection_name: &ConnectionName,
    principal: Option<&str>,
) -> Result<ConnectionDetail, ServiceError> {
    let (provider, connection) = (provider_name.as_str(), connection_name.as_str());
    let target = target_vault(state, caller, principal).await?;
    let definition = state.catalog.get(provider_name).await?;
    let scope = target.scope(state, caller);
    let own = target.is_owned_by(caller);
    let mut record = match scope.connection(provider, connection).await? {
        Some(record) => record,
        None => {
            let who = if own {
                caller.actor()
            } else {
                target.principal_id.as_str()
            };
            return Err(crate::AuthsomeError::connection_not_found(provider, connection, who).into());
        }
    };
    let is_global = state
        .registries
        .global_connections
        .get(provider_name)
        .await?
        .is_some_and(|pointer| {
            pointer.target.owner_principal_id == target.principal_id
                && pointer.target.owner_vault_id == target.vault_id
                && pointer.target.connection_name.as_str() == record.connection_name
        });
    if !own {
        record.clear_secrets();
    }
    let refresh_state = scope.provider_state(provider).await?;
    Ok(ConnectionDetail {
        definition,
        record,
        secrets_redacted: !own,
        can_set_default: own,
        can_set_global: own && caller.is_admin(),
        is_global,
        refresh_state,
    })
}

/// Logs out of a connection in the caller's vault or (admins, `principal`) another's. A
/// connection that does not exist is not an error.
#[tracing::instrument(level = "debug", skip_all, fields(actor = caller.actor(), provider = %provider, connection = %connection))]
pub async fn logout(
    state: &ServiceContext,
    caller: &Caller,
    provider: &ProviderName,
    connection: &ConnectionName,
    principal: Option<&str>,
) -> Result<(), ServiceError> {
    let target = target_vault(state, caller, principal).await?;
    credentials::logout(state, &target.scope(state, caller), caller, provider, connection).await
}

/// How many connections each provider has over every principal's default vault (admins;
/// empty for anyone else). The caller's own vault, already listed as `own`, is counted from
/// that listing rather than read again.
pub async fn connection_counts_by_provider(
    state: &ServiceContext,
    caller: &Caller,
    own: &[credentials::ProviderConnections],
) -> Result<std::collections::BTreeMap<String, u64>, ServiceError> {
    let mut counts = std::collections::BTreeMap::new();
    if !caller.is_admin() {
        return Ok(counts);
    }
    let mut count = |groups: &[credentials::ProviderConnections]| {
        for group in groups {
            *counts.entry(group.name.clone()).or_insert(0) += group.connections.len() as u64;
        }
    };
    for (principal, vault) in default_vaults(state).await? {
        if vault == caller.vault_id {
            count(own);
            continue;
        }
        let scope = VaultScope::new(state, &vault, None, Some(principal.id.as_str()));
        count(&credentials::list_connections(&scope).await?);
    }
    Ok(counts)
}

/// One principal's connections to a provider.
#[derive(Debug)]
pub struct ProviderUsage {
    /// The principal.
    pub principal: authsome_domain::Principal,
    /// Its connections to the provider, by name.
    pub connections: Vec<ConnectionRecord>,
}

/// Every principal's connections to `provider` (admins; empty for anyone else), principals
/// without any left out.
pub async fn provider_usage(
    state: &ServiceContext,
    caller: &Caller,
    provider: &ProviderName,
) -> Result<Vec<ProviderUsage>, ServiceError> {
    let mut usage = Vec::new();
    if !caller.is_admin() {
        return Ok(usage);
    }
    for (principal, vault) in default_vaults(state).await? {
        let scope = VaultScope::new(state, &vault, None, Some(principal.id.as_str()));
        let connections = connections_to(&scope, provider).await?;
        if !connections.is_empty() {
            usage.push(ProviderUsage { principal, connections });
        }
    }
    Ok(usage)
}

/// The provider's connections in `scope`, by connection name.
pub async fn connections_to(
    scope: &VaultScope<'_>,
    provider: &ProviderName,
) -> Result<Vec<ConnectionRecord>, ServiceError> {
    let provider = provider.as_str();
    let mut records = Vec::new();
    for (stored_provider, connection) in scope.connection_keys().await? {
        if stored_provider != provider {
            continue;
        }
        if let Some(record) = scope.connection(provider, &connection).await? {
            records.push(record);
        }
    }
    records.sort_by(|a, b| a.connection_name.cmp(&b.connection_name));
    Ok(records)
}

/// Every principal with its default vault (principals without one left out).
async fn default_vaults(state: &ServiceContext) -> Result<Vec<(authsome_domain::Principal, VaultId)>, ServiceError> {
    let mut vaults = Vec::new();
    for principal in state.registries.principals.list().await? {
        if let Some(binding) = state.registries.bindings.get_default(&principal.id).await? {
            vaults.push((principal, binding.vault_id));
        }
    }
    Ok(vaults)
}
