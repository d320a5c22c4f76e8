//! The principal-vault binding port (`principal_vault_bindings`).

use async_trait::async_trait;
use authsome_domain::{PrincipalId, PrincipalVaultBinding, VaultId};

use crate::RegistryError;

/// Which vaults a principal may use. At most one binding per principal is the default.
#[async_trait]
pub trait PrincipalVaultBindingRegistry: Send + Sync {
    /// The principal's bindings, ordered by `created_at`, then vault id; empty when none.
    async fn list_for_principal(&self, principal_id: &PrincipalId)
    -> Result<Vec<PrincipalVaultBinding>, RegistryError>;

    /// The principal's default binding; MUST return `Ok(None)` when it has none.
    async fn get_default(&self, principal_id: &PrincipalId) -> Result<Option<PrincipalVaultBinding>, RegistryError>;

    /// Makes `vault_id` the principal's default vault.
    ///
    /// - MUST be idempotent when that vault already is the default (returns the existing row).
    /// - MUST fail with [`Conflict::DefaultVaultExists`](crate::Conflict::DefaultVaultExists)
    ///   when another vault is the default, writing nothing.
    /// - MUST fail with [`Missing::Principal`](crate::Missing::Principal) or
    ///   [`Missing::Vault`](crate::Missing::Vault) when either row is absent.
    async fn bind_default(
        &self,
        principal_id: &PrincipalId,
        vault_id: &VaultId,
    ) -> Result<PrincipalVaultBinding, RegistryError>;

    /// Returns the principal's default binding, creating a new vault and binding it as the
    /// default when there is none.
    ///
    /// - MUST be atomic: a failure leaves neither a new vault nor a new binding behind, and
    ///   when many callers ensure the same principal's default vault at once, all of them get
    ///   the same single binding and exactly one vault is created.
    /// - MUST fail with `Missing::Principal` when the principal is absent.
    async fn ensure_default_vault(&self, principal_id: &PrincipalId) -> Result<PrincipalVaultBinding, RegistryError>;
}
