//! The pending claim token port.

use async_trait::async_trait;
use authsome_domain::{IdentityHandle, PendingClaim};

use crate::StateError;

/// Short-lived claim tokens, shared by every replica.
#[async_trait]
pub trait PendingClaimStore: Send + Sync {
    /// Creates and stores a new token for `identity`, valid `ttl_seconds`.
    async fn create(&self, identity: &IdentityHandle, ttl_seconds: i64) -> Result<PendingClaim, StateError>;

    /// The live token; `Ok(None)` when unknown or expired.
    async fn get(&self, token: &str) -> Result<Option<PendingClaim>, StateError>;

    /// Removes and returns the live token. MUST be atomic: among concurrent consumers of one
    /// token (on any replica) exactly one gets it.
    async fn consume(&self, token: &str) -> Result<Option<PendingClaim>, StateError>;
}
