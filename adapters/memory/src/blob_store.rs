//! The vault blob store in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use async_trait::async_trait;
use authsome_ports::vault_blob_store::check_name;
use authsome_ports::{StateError, VaultBlobStore};
use serde_json::{Map, Value};

type Collection = BTreeMap<String, Map<String, Value>>;

/// Vault values in a map of sorted maps. Lost when the process ends: for tests and
/// throwaway servers only.
#[derive(Default)]
pub struct MemoryBlobStore {
    collections: RwLock<HashMap<String, Collection>>,
}

impl MemoryBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Collection>> {
        self.collections.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Collection>> {
        self.collections
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl VaultBlobStore for MemoryBlobStore {
    async fn get(&self, collection: &str, key: &str) -> Result<Option<Map<String, Value>>, StateError> {
        check_name(collection, key)?;
        Ok(self.read().get(collection).and_then(|c| c.get(key)).cloned())
    }

    async fn put(&self, collection: &str, key: &str, value: &Map<String, Value>) -> Result<(), StateError> {
        check_name(collection, key)?;
        self.write()
            .entry(collection.to_owned())
            .or_default()
            .insert(key.to_owned(), value.clone());
        Ok(())
    }

    async fn put_if_absent(&self, collection: &str, key: &str, value: &Map<String, Value>) -> Result<bool, StateError> {
        check_name(collection, key)?;
        let mut collections = self.write();
        let entries = collections.entry(collection.to_owned()).or_default();
        if entries.contains_key(key) {
            return Ok(false);
        }
        entries.insert(key.to_owned(), value.clone());
        Ok(true)
    }

    async fn delete(&self, collection: &str, key: &str) -> Result<bool, StateError> {
        check_name(collection, key)?;
        Ok(self
            .write()
            .get_mut(collection)
            .is_some_and(|c| c.remove(key).is_some()))
    }

    async fn list_keys(&self, collection: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        check_name(collection, "listing")?;
        Ok(self
            .read()
            .get(collection)
            .map(|entries| {
                entries
                    .range(prefix.to_owned()..)
                    .take_while(|(k, _)| k.starts_with(prefix))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn ping(&self) -> Result<(), StateError> {
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "memory"
    }
}
