//! The replay cache on Redis: `SET authsome:pop:jti:<jti> 1 NX EX <ttl>`, as the reference.

use async_trait::async_trait;
use authsome_domain::Timestamp;
use authsome_ports::{ReplayCache, ReplayCheck, StateError};
use redis::aio::ConnectionManager;

use crate::{RedisKeys, unavailable};

/// Token ids shared by every replica on the same Redis.
pub struct RedisReplayCache {
    connection: ConnectionManager,
    keys: RedisKeys,
}

impl RedisReplayCache {
    /// A replay cache on `connection`.
    pub fn new(connection: ConnectionManager, keys: RedisKeys) -> Self {
        Self { connection, keys }
    }
}

#[async_trait]
impl ReplayCache for RedisReplayCache {
    async fn check_and_store(&self, jti: &str, expires_at: Timestamp) -> Result<ReplayCheck, StateError> {
        let ttl = (expires_at.unix_seconds() - Timestamp::now().unix_seconds()).max(1);
        let stored: Option<String> = redis::cmd("SET")
            .arg(self.keys.jti(jti))
            .arg("1")
            .arg("NX")
            .arg("EX")
            .arg(ttl)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(if stored.is_some() {
            ReplayCheck::Fresh
        } else {
            ReplayCheck::Replayed
        })
    }
}
