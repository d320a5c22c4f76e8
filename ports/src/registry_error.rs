//! The error every registry port returns, with semantic variants the HTTP layer maps to
//! status codes. Adapters build it from backend error *codes*, never from message text.

use authsome_domain::{Email, IdentityHandle, PrincipalId, ProviderName, ValidationError, VaultId};
use thiserror::Error;

/// A boxed backend error, kept as the `source` of [`RegistryError::Unavailable`] and
/// [`RegistryError::Backend`] so that logs show the whole chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The disk (or the database server's disk) holding the registries is full: kept as the
/// source of [`RegistryError::Unavailable`] (retryable once there is space), so that the
/// services can tell a person *why* nothing was changed.
#[derive(Debug, Error)]
#[error("the disk holding the database is full")]
pub struct StorageFull(#[source] pub BoxError);

/// What a registry operation could not do.
#[derive(Debug, Error)]
pub enum RegistryError {
    /// The write would break a uniqueness rule; nothing was written.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// A row the operation needs (or refers to) does not exist; nothing was written.
    #[error(transparent)]
    NotFound(#[from] Missing),
    /// A stored row does not hold what its table promises (written by something else).
    #[error("stored {what} is invalid")]
    Corrupt {
        /// Which kind of row.
        what: &'static str,
        /// What is wrong with it.
        #[source]
        source: ValidationError,
    },
    /// The database could not be reached or did not answer in time (retryable; HTTP 503).
    #[error("the database is unavailable")]
    Unavailable(#[source] BoxError),
    /// Any other database failure (HTTP 500).
    #[error("the database failed")]
    Backend(#[source] BoxError),
}

/// A uniqueness rule a write would have broken. Messages are the reference daemon's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Conflict {
    /// The handle is registered to another DID.
    #[error("Identity handle '{0}' is already registered")]
    HandleTaken(IdentityHandle),
    /// The DID is registered under another handle (named here).
    #[error("DID is already registered to identity handle '{0}'")]
    DidTaken(IdentityHandle),
    /// A principal with this email exists.
    #[error("Account '{0}' is already registered")]
    EmailTaken(Email),
    /// The principal already has a password (it cannot be set as an initial password).
    #[error("Account '{0}' is already registered")]
    PasswordAlreadySet(Email),
    /// The identity is claimed by another principal.
    #[error("Identity '{0}' is already claimed")]
    AlreadyClaimed(IdentityHandle),
    /// The principal's default vault is another vault.
    #[error("Principal '{0}' already has a default vault")]
    DefaultVaultExists(PrincipalId),
    /// A custom provider definition with this name exists.
    #[error("Provider '{0}' already registered")]
    ProviderExists(ProviderName),
}

/// The row that was not there.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Missing {
    /// No principal with this id.
    #[error("Principal '{0}' not found")]
    Principal(PrincipalId),
    /// No vault with this id.
    #[error("Vault '{0}' not found")]
    Vault(VaultId),
    /// No claim for this identity.
    #[error("No claim found for identity '{0}'")]
    Claim(IdentityHandle),
    /// No custom provider definition with this name.
    #[error("Provider '{0}' not found")]
    ProviderDefinition(ProviderName),
}

impl RegistryError {
    /// The conflict, if this is one.
    pub fn as_conflict(&self) -> Option<&Conflict> {
        match self {
            Self::Conflict(conflict) => Some(conflict),
            _ => None,
        }
    }

    /// The missing row, if this is a not-found error.
    pub fn as_missing(&self) -> Option<&Missing> {
        match self {
            Self::NotFound(missing) => Some(missing),
            _ => None,
        }
    }
}

impl RegistryError {
    /// Whether the operation failed because the database's disk is full.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Self::Unavailable(source) if source.downcast_ref::<StorageFull>().is_some())
    }
}

#[cfg(test)]
mod storage_full_tests {
    use super::*;

    #[test]
    fn only_an_unavailable_database_whose_disk_is_full_says_so() {
        let full = RegistryError::Unavailable(Box::new(StorageFull("SQLITE_FULL".into())));
        assert!(full.is_storage_full());
        assert!(!RegistryError::Unavailable("timed out".into()).is_storage_full());
        assert!(!RegistryError::Backend(Box::new(StorageFull("x".into()))).is_storage_full());
    }
}
