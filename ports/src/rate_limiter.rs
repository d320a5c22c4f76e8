//! The rate limiter port: counting attempts per key in fixed windows, shared by replicas.

use async_trait::async_trait;

use crate::StateError;

/// Counts events per key over fixed time windows.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Records one event for `key` and returns how many events the key has in its current
    /// window (this one included). The window starts at the key's first event and lasts
    /// `window_seconds`; afterwards the count starts again from 1. Among concurrent callers
    /// (on any replica) the counts MUST be distinct and contiguous.
    async fn hit(&self, key: &str, window_seconds: i64) -> Result<u64, StateError>;

    /// The key's count in its current window without recording an event (0 when none).
    async fn count(&self, key: &str) -> Result<u64, StateError>;

    /// Forgets the key (for example after a successful sign-in).
    async fn reset(&self, key: &str) -> Result<(), StateError>;
}
