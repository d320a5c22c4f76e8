//! The replay cache in memory.

use async_trait::async_trait;
use authsome_domain::Timestamp;
use authsome_ports::{ReplayCache, ReplayCheck, StateError};

use crate::ExpiringMap;

/// Token ids seen by this process, forgotten at their expiry, at most `capacity` at a time.
/// When full of unexpired ids it answers `Full` (the caller fails closed) rather than
/// forgetting an id early, which would let that token be replayed.
pub struct MemoryReplayCache {
    seen: ExpiringMap<String, ()>,
}

impl MemoryReplayCache {
    /// An empty cache holding at most `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        Self {
            seen: ExpiringMap::new(capacity),
        }
    }
}

#[async_trait]
impl ReplayCache for MemoryReplayCache {
    async fn check_and_store(&self, jti: &str, expires_at: Timestamp) -> Result<ReplayCheck, StateError> {
        match self.seen.insert_if_absent(jti.to_owned(), (), expires_at) {
            Ok(true) => Ok(ReplayCheck::Fresh),
            Ok(false) => Ok(ReplayCheck::Replayed),
            Err(_) => Err(StateError::Full),
        }
    }
}
