//! # authsome-disk
//!
//! The vault blob store on the local disk: the default for a single server, needing nothing
//! but a directory (`{home}/server/vault`, mode 0700).
//!
//! Layout: `<root>/<hex of collection>/<sha256 of key>.json`, each file holding the same
//! document the Redis layout stores (`{"collection", "created_at", "key", "value",
//! "version"}`). File names are derived, never taken from the key, so no key can name a path
//! outside the root; the key inside the file is what listing returns.
//!
//! Writes are atomic and durable: a temporary file in the same directory is written and
//! fsynced, then renamed over the target (or hard-linked, for create-if-absent), then the
//! directory is fsynced. A writer that dies leaves at worst a stray temporary file, which
//! readers ignore and which is removed once it is old. Concurrent writers each write their
//! own temporary file; the last rename wins and no reader sees a partial file.
//!
//! Reads run in place on the calling task's thread; writes, deletes and listings run on the
//! blocking pool. A read is an open, a read and a close of one small file that, on a vault
//! in use, is in the page cache: about 8 µs. Handing it to the blocking pool and back cost
//! more than the read (two thread wake-ups and the pool's lock: 10 % of the daemon's CPU per
//! credential resolution under load, measured in docs/benchmarks.md). Writes fsync, which can
//! take milliseconds, so they stay off the async threads.
//!
//! This crate must not depend on any other adapter or on the HTTP layer.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use authsome_domain::hex;
use authsome_domain::vault_entry::{self, StoredEntry};
use authsome_ports::vault_blob_store::check_name;
use authsome_ports::{StateError, VaultBlobStore};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Temporary files start with this, so that readers and listings skip them.
const TEMP_PREFIX: &str = ".tmp-";
/// Temporary files older than this are leftovers of a writer that died.
const STALE_TEMP_AGE: Duration = Duration::from_secs(600);

/// The vault on disk.
pub struct DiskBlobStore {
    root: PathBuf,
}

impl DiskBlobStore {
    /// Opens (creating, mode 0700) the vault directory and removes stale temporary files.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        create_private_dir(&root)?;
        remove_stale_temp_files(&root);
        Ok(Self { root })
    }

    /// The vault directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn collection_dir(&self, collection: &str) -> PathBuf {
        self.root.join(hex::encode(collection.as_bytes()))
    }

    fn entry_path(&self, collection: &str, key: &str) -> PathBuf {
        let digest = Sha256::digest(key.as_bytes());
        self.collection_dir(collection)
            .join(format!("{}.json", hex::encode(&digest)))
    }
}

fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn remove_stale_temp_files(root: &Path) {
    let Ok(collections) = fs::read_dir(root) else { return };
    for collection in collections.flatten() {
        let Ok(entries) = fs::read_dir(collection.path()) else {
            continue;
        };
        for entry in entries.flatten() {
            let is_temp = entry.file_name().to_str().is_some_and(|n| n.starts_with(TEMP_PREFIX));
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok());
            if is_temp
                && age.is_some_and(|a| a > STALE_TEMP_AGE)
                && let Err(error) = fs::remove_file(entry.path())
            {
                tracing::warn!(%error, path = %entry.path().display(), "cannot remove a stale temporary vault file");
            }
        }
    }
}

/// A stored document's key and value.
type StoredDocument = (String, Map<String, Value>);

/// Parses a stored document into (key, value).
fn parse_document(bytes: &[u8], path: &Path) -> Result<StoredDocument, StateError> {
    match vault_entry::decode(bytes) {
        Ok(StoredEntry {
            key: Some(key), value, ..
        }) => Ok((key, value)),
        Ok(_) => Err(StateError::Corrupt(format!("{}: missing key", path.display()))),
        Err(error) => Err(StateError::Corrupt(format!("{}: {error}", path.display()))),
    }
}

/// Writes `contents` to a new temporary file in `dir`, fsynced; returns its path.
fn write_temp_file(dir: &Path, contents: &[u8]) -> io::Result<PathBuf> {
    create_private_dir(dir)?;
    let path = dir.join(format!("{TEMP_PREFIX}{}", authsome_domain::random_token::hex(16)));
    let mut file = OpenOptions::new().write(true).create_new(true).open(&path)?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(error) = written {
        let _ = fs::remove_file(&path);
        return Err(error);
    }
    Ok(path)
}

/// Makes a rename or unlink in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn unavailable(error: io::Error) -> StateError {
    StateError::unavailable(error)
}

/// How much of a vault file the first read asks for. Stored documents are a few hundred
/// bytes to a few KiB; a larger file is read on until its end.
const FIRST_READ_BYTES: usize = 8 * 1024;

/// The entry stored at `path`, checked to be the one for `key`.
fn read_entry(path: &Path, key: &str) -> Result<Option<Map<String, Value>>, StateError> {
    let Some((stored_key, value)) = read_document(path)? else {
        return Ok(None);
    };
    if stored_key != key {
        return Err(StateError::Corrupt(format!("{} holds another key", path.display())));
    }
    Ok(Some(value))
}

/// The (key, value) stored at `path`; `None` when there is no such file, `Corrupt` when it
/// holds no document.
///
/// Reads with as few system calls as the common case allows: open, one read into a buffer on
/// the stack, close. `fs::read` also asks for the file's size, reads once more to see the end
/// and allocates (an 8 KiB heap buffer made glibc consolidate its free lists): four more calls
/// and an allocation per credential resolution, about 3 % of the daemon's CPU under load
/// (docs/benchmarks.md).
fn read_document(path: &Path) -> Result<Option<StoredDocument>, StateError> {
    use std::io::Read;
    let absent_or_unavailable = |error: io::Error| match error.kind() {
        io::ErrorKind::NotFound => Ok(None),
        _ => Err(unavailable(error)),
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) => return absent_or_unavailable(error),
    };
    let mut first = [0u8; FIRST_READ_BYTES];
    let read = loop {
        match file.read(&mut first) {
            Ok(read) => break read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return absent_or_unavailable(error),
        }
    };
    let document = if read < first.len() {
        // A short read of a regular file means its end, so this is the whole document. Should
        // it ever not be (a read cut short by a signal), the prefix is not a JSON object and
        // the file is read again to its end: a prefix that parses is the same object.
        match parse_document(&first[..read], path) {
            Ok(document) => document,
            Err(_) => match fs::read(path) {
                Ok(bytes) => parse_document(&bytes, path)?,
                Err(error) => return absent_or_unavailable(error),
            },
        }
    } else {
        let mut bytes = first.to_vec();
        if let Err(error) = file.read_to_end(&mut bytes) {
            return absent_or_unavailable(error);
        }
        parse_document(&bytes, path)?
    };
    Ok(Some(document))
}

/// Runs blocking file work off the async worker threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StateError> + Send + 'static,
) -> Result<T, StateError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StateError::unavailable(io::Error::other(e.to_string())))?
}

#[async_trait]
impl VaultBlobStore for DiskBlobStore {
    async fn get(&self, collection: &str, key: &str) -> Result<Option<Map<String, Value>>, StateError> {
        check_name(collection, key)?;
        read_entry(&self.entry_path(collection, key), key)
    }

    async fn get_many(&self, collection: &str, keys: &[&str]) -> Result<Vec<Option<Map<String, Value>>>, StateError> {
        for key in keys {
            check_name(collection, key)?;
        }
        keys.iter()
            .map(|key| read_entry(&self.entry_path(collection, key), key))
            .collect()
    }

    async fn put(&self, collection: &str, key: &str, value: &Map<String, Value>) -> Result<(), StateError> {
        check_name(collection, key)?;
        let (dir, path) = (self.collection_dir(collection), self.entry_path(collection, key));
        let contents = vault_entry::encode(collection, key, value);
        blocking(move || {
            let temp = write_temp_file(&dir, contents.as_bytes()).map_err(unavailable)?;
            if let Err(error) = fs::rename(&temp, &path) {
                let _ = fs::remove_file(&temp);
                return Err(unavailable(error));
            }
            sync_dir(&dir).map_err(unavailable)
        })
        .await
    }

    async fn put_if_absent(&self, collection: &str, key: &str, value: &Map<String, Value>) -> Result<bool, StateError> {
        check_name(collection, key)?;
        let (dir, path) = (self.collection_dir(collection), self.entry_path(collection, key));
        let contents = vault_entry::encode(collection, key, value);
        blocking(move || {
            let temp = write_temp_file(&dir, contents.as_bytes()).map_err(unavailable)?;
            // link() fails when the target exists: an atomic create-if-absent that, unlike
            // O_EXCL on the target, never exposes a half-written file.
            let linked = fs::hard_link(&temp, &path);
            let _ = fs::remove_file(&temp);
            match linked {
                Ok(()) => sync_dir(&dir).map(|()| true).map_err(unavailable),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(error) => Err(unavailable(error)),
            }
        })
        .await
    }

    async fn delete(&self, collection: &str, key: &str) -> Result<bool, StateError> {
        check_name(collection, key)?;
        let (dir, path) = (self.collection_dir(collection), self.entry_path(collection, key));
        blocking(move || match fs::remove_file(&path) {
            Ok(()) => sync_dir(&dir).map(|()| true).map_err(unavailable),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(unavailable(error)),
        })
        .await
    }

    async fn list_keys(&self, collection: &str, prefix: &str) -> Result<Vec<String>, StateError> {
        check_name(collection, "listing")?;
        let dir = self.collection_dir(collection);
        let prefix = prefix.to_owned();
        blocking(move || {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(error) => return Err(unavailable(error)),
            };
            let mut keys = Vec::new();
            for entry in entries {
                let entry = entry.map_err(unavailable)?;
                let name = entry.file_name();
                if name.to_str().is_none_or(|n| n.starts_with(TEMP_PREFIX))
                    || entry.path().extension() != Some(OsStr::new("json"))
                {
                    continue;
                }
                match read_document(&entry.path()) {
                    Ok(Some((key, _))) if key.starts_with(&prefix) => keys.push(key),
                    // Not for this prefix, or deleted between the directory read and this read.
                    Ok(_) => {}
                    // One damaged file must not hide the rest of the vault.
                    Err(error @ StateError::Corrupt(_)) => {
                        tracing::warn!(%error, "skipping an unreadable vault file");
                    }
                    Err(error) => return Err(error),
                }
            }
            keys.sort();
            Ok(keys)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StateError> {
        let root = self.root.clone();
        blocking(move || {
            let probe = write_temp_file(&root, b"ping").map_err(unavailable)?;
            fs::remove_file(probe).map_err(unavailable)
        })
        .await
    }

    fn backend_name(&self) -> &'static str {
        "disk"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_their_layout() {
        // Vaults written by earlier versions must stay readable: same hex, same digest.
        let store = DiskBlobStore {
            root: PathBuf::from("/vault"),
        };
        assert_eq!(
            store.entry_path("c", "k"),
            PathBuf::from("/vault/63/8254c329a92850f6d539dd376f4816ee2764517da5e0235514af433164480d7a.json")
        );
    }

    fn value_of(size: usize) -> Map<String, Value> {
        let mut value = Map::new();
        value.insert("blob".to_owned(), Value::String("x".repeat(size)));
        value
    }

    #[tokio::test]
    async fn entries_of_any_size_read_back_whole() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = DiskBlobStore::open(dir.path().join("vault")).expect("vault directory");
        // Values smaller than the first read, just around its size, and several times it.
        for (index, size) in [10, FIRST_READ_BYTES, FIRST_READ_BYTES + 1, 5 * FIRST_READ_BYTES]
            .into_iter()
            .enumerate()
        {
            let key = format!("entry-{index}");
            let value = value_of(size);
            store.put("c", &key, &value).await.expect("stored");
            assert_eq!(
                store.get("c", &key).await.expect("read"),
                Some(value),
                "value of {size} bytes"
            );
        }
        // A file exactly the first read's size (JSON allows the trailing blanks).
        let value = value_of(10);
        let text = vault_entry::encode("c", "exact", &value);
        let padded = format!("{text}{}", " ".repeat(FIRST_READ_BYTES - text.len()));
        fs::write(store.entry_path("c", "exact"), padded).expect("written");
        assert_eq!(store.get("c", "exact").await.expect("read"), Some(value));
    }

    #[tokio::test]
    async fn truncated_and_empty_files_are_reported_corrupt() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = DiskBlobStore::open(dir.path().join("vault")).expect("vault directory");
        store.put("c", "k", &value_of(100)).await.expect("stored");
        let path = store.entry_path("c", "k");
        let full = fs::read(&path).expect("file");
        for cut in [0, 1, full.len() / 2, full.len() - 1] {
            fs::write(&path, &full[..cut]).expect("truncated");
            assert!(
                matches!(store.get("c", "k").await, Err(StateError::Corrupt(_))),
                "a file cut to {cut} bytes must not read as an entry"
            );
        }
    }
}
