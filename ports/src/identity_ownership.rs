//! The one-query lookup behind every proof-of-possession request.

use async_trait::async_trait;
use authsome_domain::{
    Email, IdentityClaim, IdentityHandle, IdentityRegistration, ProviderDefinitionDocument, ProviderName, Role, VaultId,
};

use crate::RegistryError;

/// An identity with everything needed to authorise its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityOwnership {
    /// The registration (handle and DID).
    pub registration: IdentityRegistration,
    /// Its claim, if any.
    pub claim: Option<IdentityClaim>,
    /// The claiming principal's role and email, when that principal exists.
    pub principal: Option<(Role, Email)>,
    /// The claiming principal's default vault, when it has one.
    pub default_vault: Option<VaultId>,
}

/// Resolves an identity handle to its owner in one round trip.
#[async_trait]
pub trait IdentityOwnershipLookup: Send + Sync {
    /// The identity's registration, claim, claiming principal and that principal's default
    /// vault, read together (one consistent snapshot); `Ok(None)` when the handle is not
    /// registered. Missing parts are `None`.
    async fn lookup(&self, handle: &IdentityHandle) -> Result<Option<IdentityOwnership>, RegistryError>;

    /// [`lookup`](Self::lookup) and the custom provider definition named `provider` (as
    /// `ProviderDefinitionRepository::get` would return it), read in the same round trip:
    /// resolving a credential needs both, on the hottest path there is. `Ok(None)` when the
    /// handle is not registered; the definition is `None` when there is no custom one.
    async fn lookup_with_custom_provider(
        &self,
        handle: &IdentityHandle,
        provider: &ProviderName,
    ) -> Result<Option<(IdentityOwnership, Option<ProviderDefinitionDocument>)>, RegistryError>;
}
