//! The bundle of registry ports the application is built on, and the database health port.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    AuditEventLog, GlobalProviderConnectionRegistry, IdentityClaimRegistry, IdentityOwnershipLookup, IdentityRegistry,
    PrincipalRegistry, PrincipalVaultBindingRegistry, ProviderDefinitionRepository, RegistryError,
    ServerConfigRepository, VaultRegistry,
};

/// Liveness of the relational database, for readiness probes.
#[async_trait]
pub trait DatabaseHealth: Send + Sync {
    /// One round trip to the database (`SELECT 1`). MUST fail with
    /// [`RegistryError::Unavailable`] when the database does not answer.
    async fn ping(&self) -> Result<(), RegistryError>;

    /// The backend's name as reported by `/health` (`sqlite` or `postgres`).
    fn backend_name(&self) -> &'static str;
}

/// A relational store implementing every registry port (what an adapter crate provides).
pub trait RelationalStore:
    IdentityRegistry
    + IdentityOwnershipLookup
    + PrincipalRegistry
    + VaultRegistry
    + IdentityClaimRegistry
    + PrincipalVaultBindingRegistry
    + GlobalProviderConnectionRegistry
    + ServerConfigRepository
    + ProviderDefinitionRepository
    + AuditEventLog
    + DatabaseHealth
    + 'static
{
}

impl<T> RelationalStore for T where
    T: IdentityRegistry
        + IdentityOwnershipLookup
        + PrincipalRegistry
        + VaultRegistry
        + IdentityClaimRegistry
        + PrincipalVaultBindingRegistry
        + GlobalProviderConnectionRegistry
        + ServerConfigRepository
        + ProviderDefinitionRepository
        + AuditEventLog
        + DatabaseHealth
        + 'static
{
}

/// Every registry port, as trait objects. Cheap to clone.
#[derive(Clone)]
pub struct Registries {
    /// Identity registrations.
    pub identities: Arc<dyn IdentityRegistry>,
    /// Identity to owner, in one round trip (every PoP request).
    pub ownership: Arc<dyn IdentityOwnershipLookup>,
    /// Principals.
    pub principals: Arc<dyn PrincipalRegistry>,
    /// Vault rows.
    pub vaults: Arc<dyn VaultRegistry>,
    /// Identity claims.
    pub claims: Arc<dyn IdentityClaimRegistry>,
    /// Principal-vault bindings.
    pub bindings: Arc<dyn PrincipalVaultBindingRegistry>,
    /// Global provider connection pointers.
    pub global_connections: Arc<dyn GlobalProviderConnectionRegistry>,
    /// The server configuration document.
    pub server_config: Arc<dyn ServerConfigRepository>,
    /// Custom provider definitions.
    pub provider_definitions: Arc<dyn ProviderDefinitionRepository>,
    /// The audit log.
    pub audit: Arc<dyn AuditEventLog>,
    /// Database liveness.
    pub health: Arc<dyn DatabaseHealth>,
}

impl Registries {
    /// Every port served by one store.
    pub fn from_store<S: RelationalStore>(store: Arc<S>) -> Self {
        Self {
            identities: store.clone(),
            ownership: store.clone(),
            principals: store.clone(),
            vaults: store.clone(),
            claims: store.clone(),
            bindings: store.clone(),
            global_connections: store.clone(),
            server_config: store.clone(),
            provider_definitions: store.clone(),
            audit: store.clone(),
            health: store,
        }
    }
}
