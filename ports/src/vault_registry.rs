//! The vault registry port (`vaults`).

use async_trait::async_trait;
use authsome_domain::{Vault, VaultId};

use crate::RegistryError;

/// Vault rows. A vault is a namespace in the vault blob store; vaults are never deleted.
#[async_trait]
pub trait VaultRegistry: Send + Sync {
    /// Creates a vault with a fresh `vault_` id, handle `default` and
    /// `created_at == updated_at == now`, bound to no principal.
    async fn create(&self) -> Result<Vault, RegistryError>;

    /// The vault with this id; MUST return `Ok(None)` when absent.
    async fn get(&self, id: &VaultId) -> Result<Option<Vault>, RegistryError>;

    /// Every vault, ordered by `created_at`, then id.
    async fn list(&self) -> Result<Vec<Vault>, RegistryError>;
}
