//! The replay cache port: each proof-of-possession token is accepted once.

use async_trait::async_trait;
use authsome_domain::Timestamp;

use crate::StateError;

/// The outcome of presenting a token id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayCheck {
    /// First sighting: the id is now recorded until its expiry.
    Fresh,
    /// The id was recorded before and has not expired: reject the token.
    Replayed,
}

/// Token ids (`jti`) seen, shared by every replica that shares the backend.
#[async_trait]
pub trait ReplayCache: Send + Sync {
    /// Records `jti` until `expires_at`, atomically with the check.
    ///
    /// - MUST return `Fresh` the first time and `Replayed` for every later call with the same
    ///   id before `expires_at`, including calls racing on other replicas: among concurrent
    ///   callers exactly one gets `Fresh`.
    /// - After `expires_at` the id MAY be forgotten (and then reads as `Fresh` again); the
    ///   token's own expiry check rejects it by then.
    /// - When the backend cannot answer, MUST return [`StateError::Unavailable`] (or `Full`
    ///   for a bounded in-memory store), never `Fresh`: callers fail closed.
    async fn check_and_store(&self, jti: &str, expires_at: Timestamp) -> Result<ReplayCheck, StateError>;
}
