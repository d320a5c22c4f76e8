//! The vault blob store on Redis, in the reference's `<collection>::<key>` layout.

use std::collections::BTreeSet;

use async_trait::async_trait;
use authsome_domain::Timestamp;
use authsome_domain::python_json::{self, Separators};
use authsome_ports::vault_blob_store::check_name;
use authsome_ports::{StateError, VaultBlobStore};
use redis::aio::ConnectionManager;
use serde_json::{Map, Value};

use crate::{RedisKeys, unavailable};

/// Keys asked for per SCAN step; the loop runs until the cursor returns to 0, with no cap.
const SCAN_COUNT: usize = 1000;

/// Vault entries stored as py-key-value documents:
/// `{"collection": ..., "created_at": ..., "key": ..., "value": {...}, "version": 1}`,
/// written with Python's `json.dumps(sort_keys=True)` formatting.
pub struct RedisBlobStore {
    connection: ConnectionManager,
    keys: RedisKeys,
}

impl RedisBlobStore {
    /// A blob store on `connection`.
    pub fn new(connection: ConnectionManager, keys: RedisKeys) -> Self {
        Self { connection, keys }
    }

    fn document(collection: &str, key: &str, value: &Map<String, Value>) -> String {
        let mut document = Map::new();
        document.insert("collection".to_owned(), Value::String(collection.to_owned()));
        document.insert("created_at".to_owned(), Value::String(Timestamp::now().to_isoformat()));
        document.insert("key".to_owned(), Value::String(key.to_owned()));
        document.insert("value".to_owned(), Value::Object(value.clone()));
        document.insert("version".to_owned(), Value::from(1));
        python_json::to_string(&document, Separators::Default)
    }
}

/// The `value` object of a stored document.
pub(crate) fn document_value(text: &str) -> Result<Map<String, Value>, StateError> {
    let document: Value =
        serde_json::from_str(text).map_err(|e| StateError::Corrupt(format!("vault entry is not JSON: {e}")))?;
    match document.get("value") {
        Some(Value::Object(value)) => Ok(value.clone()),
        _ => Err(StateError::Corrupt("vault entry has no object value".to_owned())),
    }
}

#[async_trait]
impl VaultBlobStore for RedisBlobStore {
    async fn get(&self, collection: &str, key: &str) -> Result<Option<Map<String, Value>>, StateError> {
        check_name(collection, key)?;
        let text: Option<String> = redis::cmd("GET")
            .arg(self.keys.blob(collection, key))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        text.as_deref().map(document_value).transpose()
    }

    async fn get_many(&self, collection: &str, keys: &[&str]) -> Result<Vec<Option<Map<String, Value>>>, StateError> {
        for key in keys {
            check_name(collection, key)?;
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut command = redis::cmd("MGET");
        for key in keys {
            command.arg(self.keys.blob(collection, key));
        }
        let texts: Vec<Option<String>> = command
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        if texts.len() != keys.len() {
            return Err(StateError::Corrupt(
                "MGET answered a different number of values".to_owned(),
            ));
        }
        texts
            .iter()
            .map(|text| text.as_deref().map(document_value).transpose())
            .collect()
    }

    async fn put(&self, collection: &str, key: &str, value: &Map<String, Value>) -> Result<(), StateError> {
        check_name(collection, key)?;
        let () = redis::cmd("SET")
            .arg(self.keys.blob(collection, key))
            .arg(Self::document(collection, key, value))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn put_if_absent(&self, collection: &str, key: &str, value: &Map<String, Value>) -> Result<bool, StateError> {
        check_name(collection, key)?;
        let stored: Option<String> = redis::cmd("SET")
            .arg(self.keys.blob(collection, key))
            .arg(Self::document(collection, key, value))
            .arg("NX")
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(stored.is_some())
    }

    async fn delete(&self, collection: &str, key: &str) -> Result<bool, StateError> {
        check_name(collection, key)?;
        let deleted: u64 = redis::cmd("DEL")
            .arg(self.keys.blob(collection, key))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(deleted > 0)
    }

    async fn list_keys(&self, collection: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        check_name(collection, "listing")?;
        let pattern = self.keys.blob_pattern(collection, prefix);
        let strip = self.keys.blob_collection_prefix(collection);
        let mut connection = self.connection.clone();
        // SCAN may repeat keys across steps: collect into a set.
        let mut found = BTreeSet::new();
        let mut cursor = 0u64;
        loop {
            let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
                .cursor_arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            found.extend(
                page.into_iter()
                    .filter_map(|k| k.strip_prefix(&strip).map(str::to_owned)),
            );
            if next == 0 {
                break;
            }
            cursor = next;
        }
        Ok(found.into_iter().collect())
    }

    async fn ping(&self) -> Result<(), StateError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "redis"
    }
}
