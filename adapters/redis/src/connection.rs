//! Connecting to Redis.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How to reach Redis.
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://` or `rediss://` (TLS) URL, with the database number as its path. It may hold
    /// a password, so it is never logged.
    pub url: String,
    /// How long one command may take before it fails as unavailable.
    pub response_timeout: Duration,
    /// How long connecting may take.
    pub connection_timeout: Duration,
}

impl RedisSettings {
    /// Settings for `url` with a 2 s response timeout and a 2 s connection timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            response_timeout: Duration::from_secs(2),
            connection_timeout: Duration::from_secs(2),
        }
    }
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &"<redacted>")
            .field("response_timeout", &self.response_timeout)
            .field("connection_timeout", &self.connection_timeout)
            .finish()
    }
}

/// Why Redis could not be reached at startup. Messages never contain the URL.
#[derive(Debug, thiserror::Error)]
pub enum RedisConnectError {
    /// The URL is not a Redis URL.
    #[error("AUTHSOME_REDIS_URL is not a valid Redis URL")]
    Url(#[source] redis::RedisError),
    /// Redis did not accept a connection.
    #[error("cannot connect to Redis")]
    Connect(#[source] redis::RedisError),
}

/// One multiplexed connection that reconnects by itself; clone it freely.
pub async fn connect(settings: &RedisSettings) -> Result<ConnectionManager, RedisConnectError> {
    let client = redis::Client::open(settings.url.as_str()).map_err(RedisConnectError::Url)?;
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(settings.response_timeout))
        .set_connection_timeout(Some(settings.connection_timeout))
        // A failed command is not retried behind the caller's back: it fails fast, and the
        // manager reconnects in the background for the next one.
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_with_config(client, config)
        .await
        .map_err(RedisConnectError::Connect)
}
