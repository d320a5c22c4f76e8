//! The global provider connection port (`global_provider_connections`).

use async_trait::async_trait;
use authsome_domain::{
    ConnectionName, GlobalProviderConnection, GlobalProviderConnectionTarget, ProviderName, Timestamp, VaultId,
};

use crate::RegistryError;

/// Admin-set pointers, one per provider, to the connection every principal falls back to.
#[async_trait]
pub trait GlobalProviderConnectionRegistry: Send + Sync {
    /// The provider's pointer; MUST return `Ok(None)` when unset.
    async fn get(&self, provider: &ProviderName) -> Result<Option<GlobalProviderConnection>, RegistryError>;

    /// Every pointer, ordered by provider name.
    async fn list(&self) -> Result<Vec<GlobalProviderConnection>, RegistryError>;

    /// Sets the provider's pointer to `target`, atomically.
    ///
    /// - MUST keep `created_at` of an existing pointer and set `updated_at` to now (a new
    ///   pointer has `created_at == updated_at`).
    /// - MUST fail with [`Missing::Principal`](crate::Missing::Principal) or
    ///   [`Missing::Vault`](crate::Missing::Vault) when the owner rows are absent.
    async fn upsert(&self, target: &GlobalProviderConnectionTarget) -> Result<GlobalProviderConnection, RegistryError>;

    /// Removes the provider's pointer; MUST return whether one was removed.
    async fn delete(&self, provider: &ProviderName) -> Result<bool, RegistryError>;

    /// Removes the provider's pointer only if it still points at this vault and connection
    /// and, when `expected_updated_at` is given, was not changed since that time. MUST return
    /// whether it was removed; a pointer changed in the meantime MUST be left in place.
    async fn delete_if_target(
        &self,
        provider: &ProviderName,
        owner_vault_id: &VaultId,
        connection_name: &ConnectionName,
        expected_updated_at: Option<Timestamp>,
    ) -> Result<bool, RegistryError>;
}
