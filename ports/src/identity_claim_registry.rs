//! The identity claim port (`identity_claims`).

use async_trait::async_trait;
use authsome_domain::{IdentityClaim, IdentityHandle, PrincipalId};

use crate::RegistryError;

/// Which principal each identity belongs to (at most one claim per identity handle).
/// The handle is not a foreign key: a claim can name a handle that is not registered.
#[async_trait]
pub trait IdentityClaimRegistry: Send + Sync {
    /// The claim of `handle`; MUST return `Ok(None)` when there is none.
    async fn get(&self, handle: &IdentityHandle) -> Result<Option<IdentityClaim>, RegistryError>;

    /// The principal's `accepted` claims, ordered by handle (pending and rejected ones are
    /// left out).
    async fn list_accepted_for_principal(
        &self,
        principal_id: &PrincipalId,
    ) -> Result<Vec<IdentityClaim>, RegistryError>;

    /// Claims `handle` for the principal with status `pending`.
    ///
    /// - MUST return an existing claim of the same principal unchanged (whatever its status).
    /// - MUST fail with [`Conflict::AlreadyClaimed`](crate::Conflict::AlreadyClaimed) when
    ///   another principal holds the claim, and with
    ///   [`Missing::Principal`](crate::Missing::Principal) when the principal is absent.
    async fn claim(&self, handle: &IdentityHandle, principal_id: &PrincipalId) -> Result<IdentityClaim, RegistryError>;

    /// Sets an existing claim's status to `accepted` and bumps `updated_at`.
    /// MUST fail with [`Missing::Claim`](crate::Missing::Claim) when there is no claim.
    async fn accept(&self, handle: &IdentityHandle) -> Result<IdentityClaim, RegistryError>;

    /// Sets an existing claim's status to `rejected` and bumps `updated_at`.
    /// MUST fail with `Missing::Claim` when there is no claim.
    async fn reject(&self, handle: &IdentityHandle) -> Result<IdentityClaim, RegistryError>;

    /// Claims `handle` for the principal and accepts it, as one atomic step (what a confirmed
    /// browser claim does).
    ///
    /// - With no claim, MUST insert an `accepted` claim.
    /// - With a claim of the same principal, MUST set it to `accepted` (keeping `created_at`).
    /// - With a claim of another principal, MUST fail with `Conflict::AlreadyClaimed` and
    ///   change nothing; when two principals race, exactly one wins.
    /// - MUST fail with `Missing::Principal` when the principal is absent.
    async fn claim_accepted(
        &self,
        handle: &IdentityHandle,
        principal_id: &PrincipalId,
    ) -> Result<IdentityClaim, RegistryError>;
}
