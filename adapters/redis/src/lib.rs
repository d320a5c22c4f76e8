//! # authsome-redis
//!
//! The vault blob store and every runtime-state port on Redis, so that any number of
//! replicas share one vault, one replay cache, and the same login, claim and browser
//! sessions. Key names follow the reference daemon (`<collection>::<key>` for the vault,
//! `authsome:pop:jti:<jti>`, `authsome:auth-session:*`, `authsome:ui-session:pending-claim:*`),
//! so that data written by authsome 0.7.2 is read here and the other way round.
//!
//! Every command goes through one multiplexed, self-reconnecting connection with a response
//! timeout: when Redis does not answer, operations fail with `StateError::Unavailable`
//! within that timeout and callers fail closed. Secret session inputs are sealed with the
//! vault cipher before they reach Redis; browser session tokens are stored only as hashes.
//!
//! This crate must not depend on any other adapter or on the HTTP layer.

mod blob_store;
mod connection;
mod keys;
mod ownership_generation;
mod replay_cache;
mod session_stores;
mod state_health;
#[cfg(feature = "test-support")]
pub mod test_prefix;

pub use blob_store::{IndexBuild, RedisBlobStore};
pub use connection::{RedisConnectError, RedisConnection, RedisSettings, SENTINEL_CHECK_INTERVAL, connect};
pub use keys::RedisKeys;
pub use ownership_generation::RedisOwnershipGeneration;
pub use replay_cache::RedisReplayCache;
pub use state_health::RedisHealth;

pub use session_stores::{
    RedisAuthSessionStore, RedisBrowserSessionStore, RedisLeaseStore, RedisPendingClaimStore, RedisRateLimiter,
};

use std::sync::Arc;

use authsome_domain::vault_crypto::VaultCipher;
use authsome_ports::RuntimeState;

/// Every runtime-state port on one Redis connection; `cipher` seals secret session inputs.
pub fn runtime_state(connection: RedisConnection, keys: RedisKeys, cipher: Arc<VaultCipher>) -> RuntimeState {
    RuntimeState {
        replay: Arc::new(RedisReplayCache::new(connection.clone(), keys.clone())),
        auth_sessions: Arc::new(RedisAuthSessionStore::new(connection.clone(), keys.clone(), cipher)),
        pending_claims: Arc::new(RedisPendingClaimStore::new(connection.clone(), keys.clone())),
        browser_sessions: Arc::new(RedisBrowserSessionStore::new(connection.clone(), keys.clone())),
        rate_limiter: Arc::new(RedisRateLimiter::new(connection.clone(), keys.clone())),
        ownership_generation: Arc::new(RedisOwnershipGeneration::new(connection.clone(), &keys)),
        leases: Arc::new(RedisLeaseStore::new(connection.clone(), keys)),
        health: Arc::new(RedisHealth::new(connection)),
    }
}

/// Any Redis failure: the backend did not answer properly, so callers fail closed.
pub(crate) fn unavailable(error: redis::RedisError) -> authsome_ports::StateError {
    authsome_ports::StateError::unavailable(error)
}
