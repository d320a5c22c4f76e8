//! The identity registry port (`identity_registrations`).

use async_trait::async_trait;
use authsome_domain::{DidKey, IdentityHandle, IdentityRegistration};

use crate::RegistryError;

/// The outcome of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The stored registration.
    pub registration: IdentityRegistration,
    /// `true` when this call created it, `false` for an idempotent repeat.
    pub created: bool,
}

/// Registered identities: the binding of each handle to one `did:key`.
///
/// Both the handle and the DID are unique across the server. Registrations are never
/// updated or deleted.
#[async_trait]
pub trait IdentityRegistry: Send + Sync {
    /// Registers `handle` for `did`.
    ///
    /// - MUST insert the registration with `created_at == updated_at == now` when neither the
    ///   handle nor the DID is registered, and return it with `created: true`.
    /// - MUST be idempotent: when `handle` is already registered to this same `did`, it MUST
    ///   return the existing registration unchanged (same timestamps) with `created: false`;
    ///   among concurrent registrations of one pair exactly one reports `created: true`.
    /// - MUST fail with [`Conflict::HandleTaken`](crate::Conflict::HandleTaken) when the
    ///   handle is registered to another DID, and with
    ///   [`Conflict::DidTaken`](crate::Conflict::DidTaken) (naming the other handle) when the
    ///   DID is registered under another handle.
    /// - MUST be atomic under concurrency: when many callers register the same handle at
    ///   once with different DIDs, exactly one succeeds and every other gets a typed
    ///   conflict (never a backend error).
    async fn register(&self, handle: &IdentityHandle, did: &DidKey) -> Result<Registered, RegistryError>;

    /// The registration of `handle`; MUST return `Ok(None)` when it is not registered.
    async fn get(&self, handle: &IdentityHandle) -> Result<Option<IdentityRegistration>, RegistryError>;

    /// The registration whose DID is `did`; MUST return `Ok(None)` when there is none.
    async fn get_by_did(&self, did: &DidKey) -> Result<Option<IdentityRegistration>, RegistryError>;
}
