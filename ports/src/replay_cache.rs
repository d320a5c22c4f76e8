//! The replay cache port: each proof-of-possession token is accepted once, and no one signer
//! can fill the cache that every signer depends on.

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
    /// The id was not recorded, because its holder already has as many recorded ids as its
    /// quota allows: refuse the request as too many (the token may be presented again later,
    /// since nothing was done with it).
    OverQuota,
}

/// Whose token id is presented, and how many recorded ids that holder may have.
///
/// The holder is the identity that signed the token. Each holder's quota is counted apart
/// from every other's, so one signer flooding the cache with fresh ids runs into its own
/// quota long before it could crowd out anybody else's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdQuota<'a> {
    /// Names the holder (the signing identity's handle).
    pub holder: &'a str,
    /// How many ids the holder may have recorded in one window.
    pub ids: u64,
    /// The window, in seconds: at least as long as any id is remembered, so that a holder
    /// never has more than twice `ids` unexpired ids.
    pub window_seconds: i64,
}

/// Token ids (`jti`) seen, shared by every replica that shares the backend.
#[async_trait]
pub trait ReplayCache: Send + Sync {
    /// Records `jti` until `expires_at`, atomically with the check, against `quota`.
    ///
    /// - MUST return `Fresh` the first time and `Replayed` for every later call with the same
    ///   id before `expires_at` (whatever the holder, and even when the holder is over its
    ///   quota), including calls racing on other replicas: among concurrent callers exactly one
    ///   gets `Fresh`.
    /// - MUST return `OverQuota`, and record nothing, for a new id whose holder has already had
    ///   `quota.ids` ids recorded within its current window and none of them has expired. The
    ///   window starts with the holder's first recorded id and lasts `quota.window_seconds`;
    ///   once it has passed and the holder's ids have expired, the holder MUST be able to
    ///   record again. Other holders are unaffected by one holder's quota. Among concurrent
    ///   callers for one holder, at most `quota.ids` are recorded.
    /// - After `expires_at` the id MAY be forgotten (and then reads as `Fresh` again); the
    ///   token's own expiry check rejects it by then.
    /// - When the backend cannot answer, MUST return [`StateError::Unavailable`] (or `Full`
    ///   for a bounded in-memory store), never `Fresh`: callers fail closed.
    async fn check_and_store(
        &self,
        jti: &str,
        expires_at: Timestamp,
        quota: IdQuota<'_>,
    ) -> Result<ReplayCheck, StateError>;
}
