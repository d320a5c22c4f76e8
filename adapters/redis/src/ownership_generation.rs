//! The ownership generation in Redis: one integer key, `INCR` to bump, `GET` to read, shared by
//! every replica.

use async_trait::async_trait;
use authsome_ports::{OwnershipGeneration, StateError};

use crate::{RedisConnection, RedisKeys};

/// [`OwnershipGeneration`] on Redis.
#[derive(Clone)]
pub struct RedisOwnershipGeneration {
    connection: RedisConnection,
    key: String,
}

impl RedisOwnershipGeneration {
    /// The counter under `keys`' prefix.
    pub fn new(connection: RedisConnection, keys: &RedisKeys) -> Self {
        Self {
            connection,
            key: keys.ownership_generation(),
        }
    }
}

#[async_trait]
impl OwnershipGeneration for RedisOwnershipGeneration {
    async fn current(&self) -> Result<u64, StateError> {
        let value: Option<u64> = redis::cmd("GET")
            .arg(&self.key)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(crate::unavailable)?;
        Ok(value.unwrap_or(0))
    }

    async fn bump(&self) -> Result<u64, StateError> {
        redis::cmd("INCR")
            .arg(&self.key)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(crate::unavailable)
    }
}
