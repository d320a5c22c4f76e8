//! # authsome-ports
//!
//! The ports of authsome-rs: one `#[async_trait]` trait per store the application needs,
//! held as `Arc<dyn Port>` and chosen once at startup by the composition root.
//!
//! **Each trait's rustdoc is its contract.** Every "MUST" in it has a case in the shared
//! contract suite (module `contract`, behind the `contract` feature), and every adapter runs that
//! suite against its real backend. An adapter that passes the suite is interchangeable with
//! any other.
//!
//! This crate depends only on `authsome-domain`; it must not name a database, a cache, an
//! HTTP framework or any adapter.

pub mod audit_event_log;
pub mod auth_session_store;
pub mod browser_session_store;
pub mod global_connection_registry;
pub mod identity_claim_registry;
pub mod identity_ownership;
pub mod identity_registry;
pub mod lease_store;
pub mod ownership_generation;
pub mod pending_claim_store;
pub mod principal_registry;
pub mod principal_vault_binding_registry;
pub mod provider_definition_repository;
pub mod provider_endpoints;
pub mod rate_limiter;
pub mod registries;
pub mod registry_error;
pub mod replay_cache;
pub mod runtime_state;
pub mod server_config_repository;
pub mod state_error;
pub mod state_health;
pub mod vault_blob_store;
pub mod vault_registry;

#[cfg(feature = "contract")]
pub mod contract;

pub use audit_event_log::AuditEventLog;
pub use auth_session_store::{AuthSessionStore, OPEN_SESSIONS_PER_OWNER};
pub use browser_session_store::BrowserSessionStore;
pub use global_connection_registry::GlobalProviderConnectionRegistry;
pub use identity_claim_registry::IdentityClaimRegistry;
pub use identity_ownership::{IdentityOwnership, IdentityOwnershipLookup, OwnershipConfirmation, RecalledOwnership};
pub use identity_registry::{IdentityRegistry, Registered};
pub use lease_store::LeaseStore;
pub use ownership_generation::OwnershipGeneration;
pub use pending_claim_store::PendingClaimStore;
pub use principal_registry::PrincipalRegistry;
pub use principal_vault_binding_registry::PrincipalVaultBindingRegistry;
pub use provider_definition_repository::ProviderDefinitionRepository;
pub use provider_endpoints::{EndpointBody, EndpointError, EndpointReply, EndpointRequest, ProviderEndpoints};
pub use rate_limiter::RateLimiter;
pub use registries::{DatabaseHealth, Registries, RelationalStore};
pub use registry_error::{BoxError, Conflict, Missing, RegistryError, StorageFull};
pub use replay_cache::{IdQuota, ReplayCache, ReplayCheck};
pub use runtime_state::RuntimeState;
pub use server_config_repository::ServerConfigRepository;
pub use state_error::StateError;
pub use state_health::StateHealth;
pub use vault_blob_store::VaultBlobStore;
pub use vault_registry::VaultRegistry;
