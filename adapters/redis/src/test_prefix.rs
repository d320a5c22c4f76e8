//! A fresh key prefix on the test Redis per test, with its keys deleted afterwards (feature
//! `test-support`).
//!
//! Tests read the server from `AUTHSOME_TEST_REDIS_URL` and fail, loudly, when it is not set.

use crate::RedisConnection;

use crate::{RedisKeys, RedisSettings};

/// The environment variable naming the Redis server tests use.
pub const TEST_REDIS_URL_VAR: &str = "AUTHSOME_TEST_REDIS_URL";

/// The test server URL; panics with instructions when it is not set.
pub fn test_redis_url() -> String {
    match std::env::var(TEST_REDIS_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{TEST_REDIS_URL_VAR} is not set: the Redis suites need a server, for example \
             {TEST_REDIS_URL_VAR}=redis://127.0.0.1:6379 (scripts/test sets it)"
        ),
    }
}

/// A random key prefix whose keys are deleted on drop.
pub struct TestPrefix {
    url: String,
    keys: RedisKeys,
}

impl TestPrefix {
    /// A new prefix on the server named by `AUTHSOME_TEST_REDIS_URL`.
    pub fn new() -> Self {
        Self {
            url: test_redis_url(),
            keys: RedisKeys::with_prefix(format!("authsome-test:{}:", uuid::Uuid::new_v4().simple())),
        }
    }

    /// Key names under this prefix.
    pub fn keys(&self) -> RedisKeys {
        self.keys.clone()
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new, independent connection to the test server.
    pub async fn connect(&self) -> RedisConnection {
        crate::connect(&RedisSettings::new(&self.url))
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {TEST_REDIS_URL_VAR}: {e}"))
    }
}

impl Default for TestPrefix {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestPrefix {
    fn drop(&mut self) {
        let (url, pattern) = (self.url.clone(), format!("{}*", self.keys.prefix()));
        // Drop runs inside the test's runtime, which may be shutting down: clean up on a
        // thread with its own small runtime.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                let Ok(mut connection) = crate::connect(&RedisSettings::new(&url)).await else {
                    return;
                };
                let mut cursor = 0u64;
                loop {
                    let Ok((next, keys)): Result<(u64, Vec<String>), _> = redis::cmd("SCAN")
                        .cursor_arg(cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut connection)
                        .await
                    else {
                        return;
                    };
                    if !keys.is_empty() {
                        let _: Result<u64, _> = redis::cmd("DEL").arg(keys).query_async(&mut connection).await;
                    }
                    if next == 0 {
                        return;
                    }
                    cursor = next;
                }
            });
        });
        let _ = cleanup.join();
    }
}
