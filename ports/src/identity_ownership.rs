//! The one-query lookup behind every proof-of-possession request.

use std::sync::Arc;

use async_trait::async_trait;
use authsome_domain::{
    Email, IdentityClaim, IdentityHandle, IdentityRegistration, ProviderDefinitionDocument, ProviderName, Role, VaultId,
};

use crate::{OwnershipGeneration, RegistryError};

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

    /// What this lookup remembers for `handle` (with the custom definition of `provider`,
    /// when one is named), answered without any I/O and not yet known to be current. A
    /// caller MUST NOT act on it, refuse on it or return anything read with it until its
    /// [`confirmation`](RecalledOwnership::confirmation) says it still holds; the point is to
    /// run that confirmation in the same round trip as the request's other reads. `None`
    /// when nothing usable is remembered (the default: a lookup that remembers nothing).
    fn recall(&self, handle: &IdentityHandle, provider: Option<&ProviderName>) -> Option<RecalledOwnership> {
        let _ = (handle, provider);
        None
    }
}

/// A remembered answer of [`IdentityOwnershipLookup::recall`], to be confirmed before use.
#[derive(Clone)]
pub struct RecalledOwnership {
    /// The identity's owner as last read.
    pub ownership: IdentityOwnership,
    /// The custom definition of the provider named to `recall` (`None` when none was named;
    /// `Some(None)` when there is no custom definition).
    pub custom_definition: Option<Option<ProviderDefinitionDocument>>,
    /// Whether the answer still holds.
    pub confirmation: OwnershipConfirmation,
}

/// Confirms a remembered answer: it holds while the shared generation is still the one it was
/// read under.
#[derive(Clone)]
pub struct OwnershipConfirmation {
    generation: Arc<dyn OwnershipGeneration>,
    read_under: u64,
}

impl OwnershipConfirmation {
    /// An answer read under generation `read_under` of `generation`.
    pub fn new(generation: Arc<dyn OwnershipGeneration>, read_under: u64) -> Self {
        Self { generation, read_under }
    }

    /// Whether the generation is still the one the answer was read under; `false` when it
    /// cannot be read (an answer that cannot be confirmed is not used).
    pub async fn holds(&self) -> bool {
        matches!(self.generation.current().await, Ok(now) if now == self.read_under)
    }
}
