//! The vault blob store on Redis, in the reference's `<collection>::<key>` layout, plus a
//! listing index of our own.
//!
//! The reference lists a collection by SCANning the whole keyspace for `<collection>::*`. The
//! keyspace also holds one replay id per request for two and a half minutes, so at a thousand
//! requests per second every listing walks 150 000 keys (GET /api/connections costs about
//! 1 ms of Redis CPU at only 7 000 keys). Here every write also maintains a sorted set of the
//! collection's keys, in the same MULTI as the entry itself, and a listing is one ZRANGEBYLEX.
//!
//! Entries written without the index (by authsome 0.7.2, before a takeover) are added by
//! [`RedisBlobStore::build_listing_index`], which the daemon runs in the background at start.
//! Until it has finished once (it then sets `authsome:vault-index:v1:built`), listings SCAN
//! as the reference does, so they are complete at every moment. While 0.7.2 replicas still
//! write to the same Redis, [`RedisBlobStore::scanning`] lists by SCAN and
//! [`RedisBlobStore::forget_listing_index`] clears the mark, so that no replica trusts an
//! index those writes bypass.

use std::collections::BTreeSet;

use crate::RedisConnection;
use async_trait::async_trait;
use authsome_domain::{Timestamp, vault_entry};
use authsome_ports::vault_blob_store::check_name;
use authsome_ports::{StateError, VaultBlobStore};
use serde_json::{Map, Value};

use crate::{RedisKeys, unavailable};

/// Keys asked for per SCAN step; the loop runs until the cursor returns to 0, with no cap.
const SCAN_COUNT: usize = 1000;

/// Adds each entry to its collection's index only if the entry still exists, atomically per
/// call: an entry deleted while the build runs is never left behind in the index.
/// KEYS: entry, index, entry, index, ...; ARGV: the members (entry keys without collection).
const INDEX_IF_PRESENT: &str = r"
local added = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[2 * i - 1]) == 1 then
    added = added + redis.call('ZADD', KEYS[2 * i], 0, ARGV[i])
  end
end
return added
";

/// What [`RedisBlobStore::build_listing_index`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexBuild {
    /// The index was already complete; nothing was scanned.
    pub already_built: bool,
    /// Keys the SCAN visited.
    pub scanned: usize,
    /// Entries added to an index (0 when every entry was already indexed).
    pub added: usize,
}

/// Vault entries stored as py-key-value documents:
/// `{"collection": ..., "created_at": ..., "key": ..., "value": {...}, "version": 1}`,
/// written with Python's `json.dumps(sort_keys=True)` formatting.
pub struct RedisBlobStore {
    connection: RedisConnection,
    keys: RedisKeys,
    read_index: bool,
}

impl RedisBlobStore {
    /// A blob store on `connection`, listing from the index once it is built.
    pub fn new(connection: RedisConnection, keys: RedisKeys) -> Self {
        Self {
            connection,
            keys,
            read_index: true,
        }
    }

    /// A blob store that always lists by SCAN, for while authsome 0.7.2 replicas, which do
    /// not maintain the index, write to the same Redis. Writes still maintain the index.
    pub fn scanning(connection: RedisConnection, keys: RedisKeys) -> Self {
        Self {
            read_index: false,
            ..Self::new(connection, keys)
        }
    }

    /// Marks the index incomplete, so that listings SCAN on every replica and the next start
    /// with the index on rebuilds it (entries written meanwhile by 0.7.2 are not in it).
    pub async fn forget_listing_index(&self) -> Result<(), StateError> {
        let _: u64 = redis::cmd("DEL")
            .arg(self.keys.blob_index_built())
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Adds every entry written without the index (by authsome 0.7.2, or by a version of
    /// authsome-rs before the index) to it, then marks the index complete. Safe to run from
    /// several replicas at once and while others write: every step is idempotent.
    pub async fn build_listing_index(&self) -> Result<IndexBuild, StateError> {
        let mut connection = self.connection.clone();
        let built: bool = redis::cmd("EXISTS")
            .arg(self.keys.blob_index_built())
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        if built {
            return Ok(IndexBuild {
                already_built: true,
                scanned: 0,
                added: 0,
            });
        }
        let script = redis::Script::new(INDEX_IF_PRESENT);
        let pattern = self.keys.every_blob_pattern();
        let (mut scanned, mut added, mut cursor) = (0usize, 0usize, 0u64);
        loop {
            let (next, page) = scan_step(&mut connection, cursor, &pattern).await?;
            scanned += page.len();
            if !page.is_empty() {
                // MGET answers nil for keys that are not strings (an index itself, say).
                let texts: Vec<Option<String>> = redis::cmd("MGET")
                    .arg(&page)
                    .query_async(&mut connection)
                    .await
                    .map_err(unavailable)?;
                let mut invocation = script.prepare_invoke();
                let mut entries = 0usize;
                for (redis_key, text) in page.iter().zip(texts) {
                    let Some((collection, key)) = text.as_deref().and_then(document_address) else {
                        continue;
                    };
                    // Only what this store would have written under that exact name.
                    if check_name(&collection, &key).is_err() || self.keys.blob(&collection, &key) != *redis_key {
                        continue;
                    }
                    invocation
                        .key(redis_key)
                        .key(self.keys.blob_index(&collection))
                        .arg(key);
                    entries += 1;
                }
                if entries > 0 {
                    let count: usize = invocation.invoke_async(&mut connection).await.map_err(unavailable)?;
                    added += count;
                }
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let () = redis::cmd("SET")
            .arg(self.keys.blob_index_built())
            .arg(Timestamp::now().to_isoformat())
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(IndexBuild {
            already_built: false,
            scanned,
            added,
        })
    }

    /// Every key of `collection` starting with `prefix`, by SCANning the whole keyspace (the
    /// reference's way; used until the index is built).
    async fn list_keys_by_scan(&self, collection: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        let pattern = self.keys.blob_pattern(collection, prefix);
        let strip = self.keys.blob_collection_prefix(collection);
        let mut connection = self.connection.clone();
        // SCAN may repeat keys across steps: collect into a set.
        let mut found = BTreeSet::new();
        let mut cursor = 0u64;
        loop {
            let (next, page) = scan_step(&mut connection, cursor, &pattern).await?;
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
}

/// One SCAN step over keys matching `pattern`: the next cursor (0 when done) and a page.
async fn scan_step(
    connection: &mut RedisConnection,
    cursor: u64,
    pattern: &str,
) -> Result<(u64, Vec<String>), StateError> {
    redis::cmd("SCAN")
        .cursor_arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(SCAN_COUNT)
        .query_async(connection)
        .await
        .map_err(unavailable)
}

/// The `collection` and `key` a stored document names, when it is one of ours.
fn document_address(text: &str) -> Option<(String, String)> {
    let entry = vault_entry::decode(text.as_bytes()).ok()?;
    Some((entry.collection?, entry.key?))
}

/// The ZRANGEBYLEX bounds of the members starting with `prefix`. Members are UTF-8, which
/// never contains the byte 0xFF, so `prefix + 0xFF` is above every member with that prefix.
fn lex_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    if prefix.is_empty() {
        return (b"-".to_vec(), b"+".to_vec());
    }
    let mut min = b"[".to_vec();
    min.extend_from_slice(prefix.as_bytes());
    let mut max = b"(".to_vec();
    max.extend_from_slice(prefix.as_bytes());
    max.push(0xFF);
    (min, max)
}

/// The `value` object of a stored document.
pub(crate) fn document_value(text: &str) -> Result<Map<String, Value>, StateError> {
    vault_entry::decode(text.as_bytes())
        .map(|entry| entry.value)
        .map_err(|error| StateError::Corrupt(error.to_string()))
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
        let () = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(self.keys.blob(collection, key))
            .arg(vault_entry::encode(collection, key, value))
            .ignore()
            .cmd("ZADD")
            .arg(self.keys.blob_index(collection))
            .arg(0)
            .arg(key)
            .ignore()
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn put_if_absent(&self, collection: &str, key: &str, value: &Map<String, Value>) -> Result<bool, StateError> {
        check_name(collection, key)?;
        // The entry exists after this either way, so indexing it unconditionally is right
        // (and heals an entry written without the index).
        let (stored,): (Option<String>,) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(self.keys.blob(collection, key))
            .arg(vault_entry::encode(collection, key, value))
            .arg("NX")
            .cmd("ZADD")
            .arg(self.keys.blob_index(collection))
            .arg(0)
            .arg(key)
            .ignore()
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(stored.is_some())
    }

    async fn delete(&self, collection: &str, key: &str) -> Result<bool, StateError> {
        check_name(collection, key)?;
        let (deleted,): (u64,) = redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(self.keys.blob(collection, key))
            .cmd("ZREM")
            .arg(self.keys.blob_index(collection))
            .arg(key)
            .ignore()
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(deleted > 0)
    }

    async fn list_keys(&self, collection: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        check_name(collection, "listing")?;
        if !self.read_index {
            return self.list_keys_by_scan(collection, prefix).await;
        }
        let (min, max) = lex_range(prefix);
        let (built, keys): (bool, Vec<String>) = redis::pipe()
            .cmd("EXISTS")
            .arg(self.keys.blob_index_built())
            .cmd("ZRANGEBYLEX")
            .arg(self.keys.blob_index(collection))
            .arg(min)
            .arg(max)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        if built {
            // Sorted by bytes, as `str`'s order; one member per key.
            return Ok(keys);
        }
        self.list_keys_by_scan(collection, prefix).await
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
