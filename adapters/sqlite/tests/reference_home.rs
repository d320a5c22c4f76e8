//! Reading an authsome 0.7.2 home for `authsome import-home`: its registry (the dump the real
//! 0.7.2 daemon wrote, `tests/fixtures/reference-0.7.2/sqlite.sql`) is copied once and then
//! found all there, a conflicting target is left untouched, and a diskcache vault is read with
//! its inline values, its value files and its write-ahead log, never outside its directory.
//! (The end-to-end import of a home the real 0.7.2 wrote is `tests/blackbox/test_import_home.py`.)

use std::path::Path;

use authsome_sqlite::SqliteSettings;
use authsome_sqlite::reference_home::{
    REGISTRY_TABLES, ReferenceHomeError, copy_registry, read_disk_vault, snapshot_database,
};
use rusqlite::Connection;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/reference-0.7.2");

fn reference_registry(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("reference.db");
    let dump = std::fs::read_to_string(format!("{FIXTURES}/sqlite.sql")).expect("sqlite.sql");
    Connection::open(&path)
        .expect("create")
        .execute_batch(&dump)
        .expect("load the reference dump");
    path
}

async fn migrated_target(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("target.db");
    authsome_sqlite::migrate(&SqliteSettings::new(&path))
        .await
        .expect("migrate the target");
    path
}

fn rows(path: &Path, table: &str) -> i64 {
    Connection::open(path)
        .expect("open")
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0))
        .expect("count")
}

#[tokio::test]
async fn a_0_7_2_registry_is_copied_once_and_then_found_all_there() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = reference_registry(dir.path());
    let target = migrated_target(dir.path()).await;

    let first = copy_registry(&source, &target).expect("copy");
    assert_eq!(first.len(), REGISTRY_TABLES.len());
    for copy in &first {
        assert_eq!(copy.in_source as i64, rows(&source, copy.table), "{copy:?}");
        assert_eq!(
            (copy.copied, copy.identical, copy.kept_from_target),
            (copy.in_source, 0, 0),
            "{copy:?}"
        );
        assert_eq!(rows(&target, copy.table), rows(&source, copy.table), "{copy:?}");
    }
    assert!(first.iter().any(|copy| copy.table == "audit_events" && copy.copied > 0));

    let again = copy_registry(&source, &target).expect("copy again");
    for copy in &again {
        assert_eq!(
            (copy.copied, copy.identical, copy.kept_from_target),
            (0, copy.in_source, 0),
            "{copy:?}"
        );
    }
}

#[tokio::test]
async fn a_target_that_conflicts_is_left_as_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = reference_registry(dir.path());
    let target = migrated_target(dir.path()).await;
    // Someone else already has the 0.7.2 owner's email here, under another id: the owner's
    // row is refused, and so would be every claim and binding pointing at it.
    let email: String = Connection::open(&source)
        .expect("open")
        .query_row("SELECT email FROM principals ORDER BY created_at LIMIT 1", [], |row| {
            row.get(0)
        })
        .expect("owner");
    Connection::open(&target)
        .expect("open")
        .execute(
            "INSERT INTO principals (principal_id, email, password_hash, role, created_at, updated_at) \
             VALUES ('principal_someoneelse', ?1, NULL, 'admin', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
            [&email],
        )
        .expect("seed");

    let refused = copy_registry(&source, &target).expect_err("conflict");
    assert!(matches!(refused, ReferenceHomeError::Conflict { .. }), "{refused:?}");
    assert!(
        refused.to_string().contains("conflicts with the home being imported"),
        "{refused}"
    );
    assert_eq!(
        rows(&target, "identity_registrations"),
        0,
        "a refused copy left rows behind"
    );
    assert_eq!(rows(&target, "principals"), 1);
}

/// A diskcache directory as py-key-value's DiskStore leaves it: `cache.db` in WAL mode.
fn diskcache(dir: &Path) -> Connection {
    let connection = Connection::open(dir.join("cache.db")).expect("create cache.db");
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE Cache ( rowid INTEGER PRIMARY KEY, key BLOB, raw INTEGER, store_time REAL,
               expire_time REAL, access_time REAL, access_count INTEGER DEFAULT 0, tag BLOB,
               size INTEGER DEFAULT 0, mode INTEGER DEFAULT 0, filename TEXT, value BLOB);",
        )
        .expect("schema");
    connection
}

fn document(collection: &str, key: &str, marker: &str) -> String {
    format!(
        "{{\"collection\": \"{collection}\", \"created_at\": \"2026-12-02T17:56:42.958792+00:00\", \"key\": \"{key}\", \
         \"value\": {{\"__encrypted_data__\": \"{marker}\", \"__encryption_version__\": 1}}, \"version\": 1}}"
    )
}

fn insert(
    connection: &Connection,
    key: &str,
    mode: i64,
    filename: Option<&str>,
    value: Option<&str>,
    expire: Option<f64>,
) {
    connection
        .execute(
            "INSERT INTO Cache (key, raw, store_time, expire_time, access_time, mode, filename, value) \
             VALUES (?1, 1, 0, ?2, 0, ?3, ?4, ?5)",
            rusqlite::params![key, expire, mode, filename, value],
        )
        .expect("insert");
}

#[test]
fn a_diskcache_vault_is_read_with_its_files_and_its_log_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kv_store = dir.path().join("kv_store");
    std::fs::create_dir_all(kv_store.join("d3/19")).expect("dirs");
    let connection = diskcache(&kv_store);
    let (vault, key) = (
        "vault:vault_0123456789ab",
        "vault:vault_0123456789ab:openai:connection:default",
    );
    insert(
        &connection,
        &format!("{vault}::{key}"),
        1,
        None,
        Some(&document(vault, key, "inline")),
        None,
    );
    let big_key = "vault:vault_0123456789ab:anthropic:connection:default";
    std::fs::write(kv_store.join("d3/19/0d3b.val"), document(vault, big_key, "in-a-file")).expect("value file");
    insert(
        &connection,
        &format!("{vault}::{big_key}"),
        3,
        Some("d3/19/0d3b.val"),
        None,
        None,
    );
    insert(
        &connection,
        "vault:old::gone",
        1,
        None,
        Some(&document("vault:old", "gone", "x")),
        Some(1.0),
    );
    // The connection stays open, so these rows are only in the write-ahead log.
    let wal = kv_store.join("cache.db-wal");
    assert!(std::fs::metadata(&wal).expect("wal").len() > 0);
    let before: Vec<(String, Vec<u8>)> = ["cache.db", "cache.db-wal", "cache.db-shm"]
        .iter()
        .map(|name| (name.to_string(), std::fs::read(kv_store.join(name)).expect("read")))
        .collect();

    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).expect("scratch");
    let snapshot = snapshot_database(&kv_store.join("cache.db"), &scratch).expect("snapshot");
    let entries = read_disk_vault(&kv_store, &snapshot).expect("read");
    let names: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.collection.as_str(), e.key.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![(vault, key), (vault, big_key)],
        "the expired row is left out"
    );
    assert_eq!(entries[0].document.value["__encrypted_data__"], "inline");
    assert_eq!(entries[1].document.value["__encrypted_data__"], "in-a-file");

    for (name, bytes) in before {
        assert_eq!(
            std::fs::read(kv_store.join(&name)).expect("read"),
            bytes,
            "{name} was modified"
        );
    }
    drop(connection);
}

#[test]
fn a_value_file_outside_the_vault_directory_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kv_store = dir.path().join("kv_store");
    std::fs::create_dir_all(&kv_store).expect("dir");
    std::fs::write(dir.path().join("elsewhere.val"), document("vault:v", "k", "x")).expect("outside file");
    let connection = diskcache(&kv_store);
    insert(&connection, "vault:v::k", 3, Some("../elsewhere.val"), None, None);
    drop(connection);

    let refused = read_disk_vault(&kv_store, &kv_store.join("cache.db")).expect_err("refused");
    assert!(refused.to_string().contains("leaves the vault directory"), "{refused}");
    assert!(refused.to_string().contains("vault:v::k"), "{refused}");
}

#[test]
fn a_row_that_is_not_a_py_key_value_document_fails_the_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let connection = diskcache(dir.path());
    insert(&connection, "vault:v::k", 1, None, Some("not json"), None);
    drop(connection);
    let refused = read_disk_vault(dir.path(), &dir.path().join("cache.db")).expect_err("refused");
    assert!(
        matches!(refused, ReferenceHomeError::UnexpectedEntry { .. }),
        "{refused:?}"
    );
}
