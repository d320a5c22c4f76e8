//! Vaults (credential namespaces) and the bindings that give a principal its default vault.

use crate::prefixed_id::prefixed_id_type;
use crate::principal::PrincipalId;
use crate::timestamp::Timestamp;

prefixed_id_type!(
    /// A vault id: `vault_` followed by 12 lowercase hex digits.
    VaultId,
    "vault_",
    12,
    "vault"
);

/// The only vault handle the reference ever writes.
pub const DEFAULT_VAULT_HANDLE: &str = "default";

/// A vault row. The credentials themselves live in the vault blob store, keyed by the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vault {
    /// Stable id, used in every blob-store key of the vault.
    pub id: VaultId,
    /// Human handle; always `default` in data written by authsome 0.7.2.
    pub handle: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A principal's access to a vault. At most one binding per principal is the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalVaultBinding {
    /// The principal.
    pub principal_id: PrincipalId,
    /// The vault.
    pub vault_id: VaultId,
    /// Whether this is the vault PoP requests of the principal's identities use.
    pub is_default: bool,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}
