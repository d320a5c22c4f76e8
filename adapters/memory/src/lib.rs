//! # authsome-memory
//!
//! Every runtime-state port (replay cache, login sessions, claim tokens, browser sessions,
//! rate limits, leases)
//! and the vault blob store, held in this process's memory. It is the local default for a
//! single server (state is lost on restart, which for these short-lived items only means
//! logging in again) and the test double for service and HTTP tests. It passes the same
//! contract suites as the Redis adapter.
//!
//! Entries that expire sit in an [`ExpiringMap`]: expiry costs O(log n) per expired entry,
//! not a scan per request, and every map has a size bound.
//!
//! This crate must not depend on any other adapter or on the HTTP layer.

mod blob_store;
mod expiring_map;
mod ownership_generation;
mod replay_cache;
mod session_stores;
mod state_health;

pub use blob_store::MemoryBlobStore;
pub use expiring_map::{ExpiringMap, Full};
pub use ownership_generation::InProcessOwnershipGeneration;
pub use replay_cache::MemoryReplayCache;
pub use session_stores::{
    MemoryAuthSessionStore, MemoryBrowserSessionStore, MemoryLeaseStore, MemoryPendingClaimStore, MemoryRateLimiter,
};
pub use state_health::InProcessHealth;

use std::sync::Arc;

use authsome_ports::RuntimeState;

/// Default bound on entries per in-memory map: at the CLI's 60 s token lifetime this holds
/// about 16 000 requests per second of replay-cache entries (about 60 MB at the bound).
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// Every runtime-state port in memory, each bounded to `capacity` entries.
pub fn runtime_state(capacity: usize) -> RuntimeState {
    RuntimeState {
        replay: Arc::new(MemoryReplayCache::new(capacity)),
        auth_sessions: Arc::new(MemoryAuthSessionStore::new(capacity)),
        pending_claims: Arc::new(MemoryPendingClaimStore::new(capacity)),
        browser_sessions: Arc::new(MemoryBrowserSessionStore::new(capacity)),
        rate_limiter: Arc::new(MemoryRateLimiter::new(capacity)),
        leases: Arc::new(MemoryLeaseStore::new(capacity)),
        ownership_generation: Arc::new(InProcessOwnershipGeneration::default()),
        health: Arc::new(InProcessHealth),
    }
}
