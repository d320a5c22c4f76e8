//! The vault blob store port: where encrypted vault values live.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::StateError;

/// The longest collection name a store must accept.
pub const MAX_COLLECTION_LEN: usize = 256;
/// The longest key a store must accept.
pub const MAX_KEY_LEN: usize = 1024;

/// Checks a (collection, key) pair against the rules every store shares: both non-empty,
/// within the length bounds, no control characters, and no `::` in the collection (the
/// separator of the Redis layout `<collection>::<key>`).
pub fn check_name(collection: &str, key: &str) -> Result<(), StateError> {
    let bad = |what: &str| Err(StateError::InvalidKey(what.to_owned()));
    if collection.is_empty() || collection.len() > MAX_COLLECTION_LEN || collection.contains("::") {
        return bad("collection must be 1 to 256 bytes without '::'");
    }
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return bad("key must be 1 to 1024 bytes");
    }
    if collection.chars().chain(key.chars()).any(char::is_control) {
        return bad("names must not contain control characters");
    }
    Ok(())
}

/// A key-value store of JSON objects grouped in collections: the reference daemon's vault
/// layout (`<collection>::<key>` in Redis). Values arrive already encrypted, except the DEK
/// record (whose key inside is wrapped).
///
/// Every method MUST refuse names that break [`check_name`] with
/// [`StateError::InvalidKey`], and MUST answer [`StateError::Unavailable`] (never a wrong
/// answer) when the backend cannot be reached.
#[async_trait]
pub trait VaultBlobStore: Send + Sync {
    /// The stored object; MUST return `Ok(None)` when absent.
    async fn get(&self, collection: &str, key: &str) -> Result<Option<Map<String, Value>>, StateError>;

    /// The stored objects of several keys of one collection, in the order asked, `None` where
    /// absent: what [`get`](Self::get) would answer for each. Stores that can read several
    /// keys in one round trip (Redis `MGET`) SHOULD override this; the default reads one by one.
    async fn get_many(&self, collection: &str, keys: &[&str]) -> Result<Vec<Option<Map<String, Value>>>, StateError> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get(collection, key).await?);
        }
        Ok(values)
    }

    /// Stores `value`, replacing any previous one. MUST be atomic: a reader sees the old or
    /// the new object, never a mix, even if the writer dies half way.
    async fn put(&self, collection: &str, key: &str, value: &Map<String, Value>) -> Result<(), StateError>;

    /// Stores `value` only if nothing is stored under the key; MUST return whether it stored.
    /// Among concurrent callers (on any replica) exactly one MUST store.
    async fn put_if_absent(&self, collection: &str, key: &str, value: &Map<String, Value>) -> Result<bool, StateError>;

    /// Removes the object; MUST return whether one was there.
    async fn delete(&self, collection: &str, key: &str) -> Result<bool, StateError>;

    /// Every key of `collection` that starts with `prefix`, sorted, with no cap on the count.
    async fn list_keys(&self, collection: &str, prefix: &str) -> Result<Vec<String>, StateError>;

    /// One round trip to the backend, for readiness probes.
    async fn ping(&self) -> Result<(), StateError>;

    /// `memory`, `disk` or `redis`.
    fn backend_name(&self) -> &'static str;
}
