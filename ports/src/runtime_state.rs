//! The bundle of runtime-state ports every replica must share.

use std::sync::Arc;

use crate::{
    AuthSessionStore, BrowserSessionStore, LeaseStore, OwnershipGeneration, PendingClaimStore, RateLimiter,
    ReplayCache, StateHealth,
};

/// The state that makes requests safe across replicas: seen token ids, login sessions,
/// claim tokens, browser sessions, rate limits and leases. Cheap to clone.
#[derive(Clone)]
pub struct RuntimeState {
    /// Proof-of-possession token ids already used.
    pub replay: Arc<dyn ReplayCache>,
    /// Login sessions.
    pub auth_sessions: Arc<dyn AuthSessionStore>,
    /// Claim tokens.
    pub pending_claims: Arc<dyn PendingClaimStore>,
    /// Browser sessions.
    pub browser_sessions: Arc<dyn BrowserSessionStore>,
    /// Attempt counters (sign-in throttling).
    pub rate_limiter: Arc<dyn RateLimiter>,
    /// Exclusive holds on a piece of work (a device-code poll, a token refresh).
    pub leases: Arc<dyn LeaseStore>,
    /// The ownership generation (remembered ownership is trusted only while it holds).
    pub ownership_generation: Arc<dyn OwnershipGeneration>,
    /// Whether the backend answers (readiness).
    pub health: Arc<dyn StateHealth>,
}
