//! The two SQLite files of an authsome 0.7.2 local home, read for `authsome import-home`:
//! its registry (`server/authsome.db`, the same ten tables as ours) and its disk vault
//! (`server/kv_store/`, py-key-value's `DiskStore` over `diskcache`: a SQLite `cache.db`
//! whose table `Cache` holds `<collection>::<key>` -> entry document, with values of 32 KiB
//! or more in files beside it).
//!
//! Neither is opened where it lies: even a read-only SQLite connection writes the `-shm`
//! index of a database in WAL mode (as diskcache's is), so each database file and its WAL are
//! first copied into a private scratch directory ([`snapshot_database`]) and the copies are
//! read. Value files are read in place. The 0.7.2 home stays as it was, byte for byte, and
//! can still be served by 0.7.2.

use std::fs;
use std::path::{Path, PathBuf};

use authsome_domain::vault_entry::{self, StoredEntry};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::BUSY_TIMEOUT;

/// The registry tables, parents before children (foreign keys are checked as rows arrive).
pub const REGISTRY_TABLES: [&str; 9] = [
    "identity_registrations",
    "principals",
    "vaults",
    "identity_claims",
    "principal_vault_bindings",
    "server_config",
    "custom_provider_definitions",
    "global_provider_connections",
    "audit_events",
];

/// diskcache's `mode` of a value kept in the row itself.
const MODE_RAW: i64 = 1;
/// diskcache's `mode` of a bytes value kept in a file.
const MODE_BINARY: i64 = 2;
/// diskcache's `mode` of a text value kept in a file (UTF-8).
const MODE_TEXT: i64 = 3;
/// The largest value file read: py-key-value entries are small JSON documents, so anything
/// this large is not one.
const MAX_VALUE_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a 0.7.2 home could not be read or copied. Messages name files and keys, never values.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceHomeError {
    /// A SQLite file could not be opened or read.
    #[error("cannot read {path}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// A vault entry's value file could not be read.
    #[error("cannot read the value file {path}")]
    ValueFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A vault row is not what py-key-value writes.
    #[error("the vault entry {key:?} in {path} is not a py-key-value document: {detail}")]
    UnexpectedEntry {
        /// The diskcache file.
        path: PathBuf,
        /// The diskcache key (collection and key, no value).
        key: String,
        /// What is wrong.
        detail: String,
    },
    /// Copying a table into the target registry failed (nothing of the copy was kept).
    #[error(
        "cannot copy table {table} into {target}: the target registry holds data that conflicts with the home \
         being imported (import into a new AUTHSOME_HOME, or into the same home)"
    )]
    Conflict {
        /// The table.
        table: &'static str,
        /// The target database.
        target: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
}

/// One entry of a 0.7.2 disk vault.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceVaultEntry {
    /// The collection (`vault:<vault id>`, `server`, `__vault_meta__`...).
    pub collection: String,
    /// The key within the collection.
    pub key: String,
    /// The stored document (its `value` is the encrypted vault value).
    pub document: StoredEntry,
}

/// Reads every live entry of the 0.7.2 disk vault in `kv_store_dir` (the directory holding
/// `cache.db` and the value files), from `cache_db`, a [`snapshot_database`] copy of its
/// `cache.db`, in diskcache's row order. Expired rows are left out (the vault never sets an
/// expiry). A row that is not a py-key-value document fails the whole read: an import must
/// not silently drop part of a vault.
pub fn read_disk_vault(kv_store_dir: &Path, cache_db: &Path) -> Result<Vec<ReferenceVaultEntry>, ReferenceHomeError> {
    let path = cache_db.to_path_buf();
    let sqlite_error = |source| ReferenceHomeError::Sqlite {
        path: path.clone(),
        source,
    };
    let unexpected = |key: &str, detail: &str| ReferenceHomeError::UnexpectedEntry {
        path: path.clone(),
        key: key.to_owned(),
        detail: detail.to_owned(),
    };
    // Read-write, so that SQLite can replay the copied write-ahead log into the copy.
    let mut connection = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_error)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_error)?;
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .map_err(sqlite_error)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64());
    let mut rows = Vec::new();
    {
        let mut statement = transaction
            .prepare("SELECT key, raw, expire_time, mode, filename, value FROM Cache ORDER BY rowid")
            .map_err(sqlite_error)?;
        let mut cursor = statement.query([]).map_err(sqlite_error)?;
        while let Some(row) = cursor.next().map_err(sqlite_error)? {
            let key = match row.get_ref(0).map_err(sqlite_error)? {
                ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
                _ => return Err(unexpected("(not text)", "the key is not a text key")),
            };
            let expire_time: Option<f64> = row.get(2).map_err(sqlite_error)?;
            if expire_time.is_some_and(|at| at <= now) {
                continue;
            }
            let mode: i64 = row.get(3).map_err(sqlite_error)?;
            let filename: Option<String> = row.get(4).map_err(sqlite_error)?;
            let inline = match row.get_ref(5).map_err(sqlite_error)? {
                ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(bytes.to_vec()),
                _ => None,
            };
            rows.push((key, mode, filename, inline));
        }
    }
    drop(transaction);

    let mut entries = Vec::with_capacity(rows.len());
    for (stored_key, mode, filename, inline) in rows {
        let bytes = match (mode, filename, inline) {
            (MODE_RAW, _, Some(bytes)) => bytes,
            (MODE_BINARY | MODE_TEXT, Some(filename), _) => {
                read_value_file(kv_store_dir, &filename).map_err(|detail| match detail {
                    ValueFileError::Io(path, source) => ReferenceHomeError::ValueFile { path, source },
                    ValueFileError::Refused(detail) => unexpected(&stored_key, detail),
                })?
            }
            _ => {
                return Err(unexpected(
                    &stored_key,
                    "a value diskcache stores as a pickle or a number",
                ));
            }
        };
        let Some((collection, key)) = stored_key.split_once("::") else {
            return Err(unexpected(&stored_key, "the key has no '<collection>::' prefix"));
        };
        let document = vault_entry::decode(&bytes).map_err(|error| unexpected(&stored_key, &error.to_string()))?;
        if document.collection.as_deref().is_some_and(|named| named != collection)
            || document.key.as_deref().is_some_and(|named| named != key)
        {
            return Err(unexpected(&stored_key, "the document names another collection or key"));
        }
        entries.push(ReferenceVaultEntry {
            collection: collection.to_owned(),
            key: key.to_owned(),
            document,
        });
    }
    Ok(entries)
}

enum ValueFileError {
    Io(PathBuf, std::io::Error),
    Refused(&'static str),
}

/// Reads a value file diskcache wrote under the cache directory; its name comes from the
/// database, so it must stay inside that directory.
fn read_value_file(dir: &Path, filename: &str) -> Result<Vec<u8>, ValueFileError> {
    let relative = Path::new(filename);
    if relative.is_absolute()
        || relative
            .components()
            .any(|part| !matches!(part, std::path::Component::Normal(_)))
    {
        return Err(ValueFileError::Refused(
            "its value file name leaves the vault directory",
        ));
    }
    let path = dir.join(relative);
    let size = fs::metadata(&path)
        .map_err(|source| ValueFileError::Io(path.clone(), source))?
        .len();
    if size > MAX_VALUE_FILE_BYTES {
        return Err(ValueFileError::Refused("its value file is larger than 16 MiB"));
    }
    fs::read(&path).map_err(|source| ValueFileError::Io(path, source))
}

/// Copies the SQLite database at `path` and its write-ahead log (when there is one) into
/// `scratch` (which must exist and be private), returning the copy's path. The `-shm` index
/// is not copied: SQLite rebuilds it from the log. The database must not be written to
/// meanwhile (its daemon stopped), or the copy can mix two moments.
pub fn snapshot_database(path: &Path, scratch: &Path) -> Result<PathBuf, ReferenceHomeError> {
    let name = path.file_name().unwrap_or(std::ffi::OsStr::new("database"));
    let copy = scratch.join(name);
    let copy_file = |from: &Path, to: &Path| {
        private_copy(from, to).map_err(|source| ReferenceHomeError::ValueFile {
            path: from.to_path_buf(),
            source,
        })
    };
    copy_file(path, &copy)?;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    if wal.is_file() {
        let mut wal_copy = copy.as_os_str().to_owned();
        wal_copy.push("-wal");
        copy_file(&wal, Path::new(&wal_copy))?;
    }
    Ok(copy)
}

/// Copies `from` to a new file `to` readable only by its owner (the copies hold password
/// hashes and encrypted values).
fn private_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut target = options.open(to)?;
    std::io::copy(&mut fs::File::open(from)?, &mut target)?;
    Ok(())
}

/// What copying one registry table did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableCopy {
    /// The table.
    pub table: &'static str,
    /// Rows in the 0.7.2 registry.
    pub in_source: u64,
    /// Rows copied now.
    pub copied: u64,
    /// Rows the target already held, identical (an earlier import).
    pub identical: u64,
    /// Rows the target refused because it already held their key (or another unique
    /// value of theirs) with other contents: the target's rows are kept.
    pub kept_from_target: u64,
}

/// Copies every row of the 0.7.2 registry at `source_db` (a [`snapshot_database`] copy) into the (migrated) registry at
/// `target_db`, in one write transaction: rows whose key is already there are left as they
/// are, so running it again copies nothing. A row that would break a constraint of the target
/// (a foreign key to a row the target refused) rolls the whole copy back. Tables the source
/// lacks count as empty.
pub fn copy_registry(source_db: &Path, target_db: &Path) -> Result<Vec<TableCopy>, ReferenceHomeError> {
    let target_error = |source| ReferenceHomeError::Sqlite {
        path: target_db.to_path_buf(),
        source,
    };
    let source_error = |source| ReferenceHomeError::Sqlite {
        path: source_db.to_path_buf(),
        source,
    };
    // Opening fails clearly when the source is not a database; it also replays a copied log.
    Connection::open_with_flags(source_db, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .and_then(|connection| {
            connection.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get::<_, i64>(0))
        })
        .map_err(source_error)?;

    let mut connection = Connection::open_with_flags(
        target_db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(target_error)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(target_error)?;
    connection
        .execute_batch("PRAGMA foreign_keys = ON")
        .map_err(target_error)?;
    connection
        .execute("ATTACH DATABASE ?1 AS source", [read_only_uri(source_db)])
        .map_err(source_error)?;
    let copies = copy_attached_tables(&mut connection, target_db);
    // Detaching can only fail while a statement is open; the connection is dropped anyway.
    let _ = connection.execute("DETACH DATABASE source", []);
    copies
}

fn copy_attached_tables(connection: &mut Connection, target_db: &Path) -> Result<Vec<TableCopy>, ReferenceHomeError> {
    let target_error = |source| ReferenceHomeError::Sqlite {
        path: target_db.to_path_buf(),
        source,
    };
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(target_error)?;
    let mut copies = Vec::with_capacity(REGISTRY_TABLES.len());
    for table in REGISTRY_TABLES {
        let columns = source_columns(&transaction, table).map_err(target_error)?;
        if columns.is_empty() {
            copies.push(TableCopy {
                table,
                in_source: 0,
                copied: 0,
                identical: 0,
                kept_from_target: 0,
            });
            continue;
        }
        let list = columns
            .iter()
            .map(|column| format!("\"{}\"", column.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(", ");
        let count = |sql: &str| transaction.query_row(sql, [], |row| row.get::<_, i64>(0));
        let in_source = count(&format!("SELECT count(*) FROM source.{table}")).map_err(target_error)?;
        let identical = count(&format!(
            "SELECT count(*) FROM (SELECT {list} FROM source.{table} INTERSECT SELECT {list} FROM main.{table})"
        ))
        .map_err(target_error)?;
        let copied = transaction
            .execute(
                &format!("INSERT OR IGNORE INTO main.{table} ({list}) SELECT {list} FROM source.{table}"),
                [],
            )
            .map_err(|source| ReferenceHomeError::Conflict {
                table,
                target: target_db.to_path_buf(),
                source,
            })?;
        let as_count = |n: i64| u64::try_from(n).unwrap_or(0);
        let copied = copied as u64;
        let in_source = as_count(in_source);
        let identical = as_count(identical);
        copies.push(TableCopy {
            table,
            in_source,
            copied,
            identical,
            kept_from_target: in_source.saturating_sub(copied + identical),
        });
    }
    transaction.commit().map_err(target_error)?;
    Ok(copies)
}

/// The source table's columns (none when the source has no such table).
fn source_columns(connection: &Connection, table: &str) -> Result<Vec<String>, rusqlite::Error> {
    let mut statement = connection.prepare(&format!("SELECT name FROM pragma_table_info('{table}', 'source')"))?;
    let names = statement.query_map([], |row| row.get::<_, String>(0))?;
    names.collect()
}

/// `file:` URI opening `path` read-only, with the characters a URI path cannot hold escaped.
fn read_only_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for character in path.to_string_lossy().chars() {
        match character {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            other => uri.push(other),
        }
    }
    uri.push_str("?mode=ro");
    uri
}
