//! A vault store whose writes fail when a test says so (a full disk, a connection reset), for
//! the tests of what the server does when a write it depends on cannot be made.

use std::sync::Arc;

use authsome_ports::StateError;
use serde_json::{Map, Value};

type Entry = Map<String, Value>;

/// The memory vault store, failing a write (put, put-if-absent, delete) whenever `fails`
/// says so for its key, with `message` as the backend's error.
pub(crate) struct FaultyWrites {
    inner: authsome_memory::MemoryBlobStore,
    fails: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    message: &'static str,
}

impl FaultyWrites {
    pub(crate) fn new(message: &'static str, fails: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        Self {
            inner: authsome_memory::MemoryBlobStore::new(),
            fails: Arc::new(fails),
            message,
        }
    }

    fn check(&self, key: &str) -> Result<(), StateError> {
        if (self.fails)(key) {
            return Err(StateError::unavailable(std::io::Error::other(self.message)));
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl authsome_ports::VaultBlobStore for FaultyWrites {
    async fn get(&self, collection: &str, key: &str) -> Result<Option<Entry>, StateError> {
        self.inner.get(collection, key).await
    }
    async fn put(&self, collection: &str, key: &str, value: &Entry) -> Result<(), StateError> {
        self.check(key)?;
        self.inner.put(collection, key, value).await
    }
    async fn put_if_absent(&self, collection: &str, key: &str, value: &Entry) -> Result<bool, StateError> {
        self.check(key)?;
        self.inner.put_if_absent(collection, key, value).await
    }
    async fn delete(&self, collection: &str, key: &str) -> Result<bool, StateError> {
        self.check(key)?;
        self.inner.delete(collection, key).await
    }
    async fn list_keys(&self, collection: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        self.inner.list_keys(collection, prefix).await
    }
    async fn ping(&self) -> Result<(), StateError> {
        self.inner.ping().await
    }
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
}
