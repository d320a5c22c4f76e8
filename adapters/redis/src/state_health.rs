//! Health of the Redis backend: one `PING` on the shared connection.

use crate::RedisConnection;
use async_trait::async_trait;
use authsome_ports::{StateError, StateHealth};

/// Redis answers `PING`.
#[derive(Clone)]
pub struct RedisHealth {
    connection: RedisConnection,
}

impl RedisHealth {
    /// Health over `connection`.
    pub fn new(connection: RedisConnection) -> Self {
        Self { connection }
    }
}

#[async_trait]
impl StateHealth for RedisHealth {
    async fn ping(&self) -> Result<(), StateError> {
        let mut connection = self.connection.clone();
        let answer: String = redis::cmd("PING")
            .query_async(&mut connection)
            .await
            .map_err(crate::unavailable)?;
        if answer == "PONG" {
            Ok(())
        } else {
            Err(StateError::Corrupt(format!("PING answered {answer:?}")))
        }
    }

    fn probed_backend(&self) -> Option<&'static str> {
        Some("redis")
    }
}
