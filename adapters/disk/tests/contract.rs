//! The blob-store contract suite on a real directory, plus what only the disk must show:
//! interrupted writes never damage stored values, and files stay inside the vault directory.

use std::sync::Arc;

use authsome_disk::DiskBlobStore;
use authsome_ports::VaultBlobStore;
use authsome_ports::contract::blob_store::BlobStoreFixture;
use serde_json::{Map, Value, json};

struct Disk {
    store: Arc<DiskBlobStore>,
    second: Arc<DiskBlobStore>,
    _dir: tempfile::TempDir,
}

async fn fresh() -> Disk {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("vault");
    Disk {
        store: Arc::new(DiskBlobStore::open(&root).expect("open")),
        // A second store on the same directory: another process on this machine.
        second: Arc::new(DiskBlobStore::open(&root).expect("open again")),
        _dir: dir,
    }
}

impl BlobStoreFixture for Disk {
    fn store(&self) -> Arc<dyn VaultBlobStore> {
        self.store.clone()
    }
    fn second_client(&self) -> Arc<dyn VaultBlobStore> {
        self.second.clone()
    }
    fn listing_scale(&self) -> usize {
        // Every write is fsynced; a few hundred keys prove listing without minutes of I/O.
        300
    }
}

mod blob_store {
    use super::fresh;
    authsome_ports::blob_store_contract_tests!(fresh);
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!(),
    }
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        if entry.path().is_dir() {
            found.extend(files_under(&entry.path()));
        } else {
            found.push(entry.path());
        }
    }
    found
}

#[tokio::test]
async fn an_interrupted_write_leaves_the_stored_value_intact() {
    let fixture = fresh().await;
    let store = &fixture.store;
    store
        .put("c", "k", &object(json!({"v": "original"})))
        .await
        .expect("put");

    // A writer that died half way: a partial temporary file beside the entry.
    let entry_dir = files_under(store.root())[0].parent().expect("dir").to_path_buf();
    std::fs::write(
        entry_dir.join(".tmp-deadbeef"),
        b"{\"collection\": \"c\", \"key\": \"k\", \"val",
    )
    .expect("stray");

    assert_eq!(
        store.get("c", "k").await.expect("get"),
        Some(object(json!({"v": "original"})))
    );
    assert_eq!(store.list_keys("c", "").await.expect("list"), vec!["k".to_owned()]);
    store
        .put("c", "k", &object(json!({"v": "next"})))
        .await
        .expect("a later write still works");
    assert_eq!(
        store.get("c", "k").await.expect("get"),
        Some(object(json!({"v": "next"})))
    );

    // A restart removes leftovers once they are old; a fresh one is left for its writer.
    let old = entry_dir.join(".tmp-0ld");
    std::fs::write(&old, b"partial").expect("old stray");
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .expect("open")
        .set_modified(past)
        .expect("age it");
    DiskBlobStore::open(store.root()).expect("reopen");
    assert!(!old.exists(), "stale temporary file removed");
    assert!(entry_dir.join(".tmp-deadbeef").exists(), "recent temporary file kept");
}

#[tokio::test]
async fn a_damaged_file_is_reported_as_corrupt_and_skipped_by_listing() {
    let fixture = fresh().await;
    let store = &fixture.store;
    store.put("c", "good", &object(json!({"v": 1}))).await.expect("put");
    store.put("c", "bad", &object(json!({"v": 2}))).await.expect("put");
    let bad_file = files_under(store.root())
        .into_iter()
        .find(|p| std::fs::read_to_string(p).expect("read").contains("\"bad\""))
        .expect("file of 'bad'");
    std::fs::write(&bad_file, b"\x00\x01 not json").expect("damage");
    assert!(matches!(
        store.get("c", "bad").await,
        Err(authsome_ports::StateError::Corrupt(_))
    ));
    assert_eq!(store.list_keys("c", "").await.expect("list"), vec!["good".to_owned()]);
}

#[tokio::test]
async fn every_file_stays_inside_the_vault_directory_and_is_private() {
    let fixture = fresh().await;
    let store = &fixture.store;
    for (collection, key) in [
        ("../../outside", "../../../etc/passwd"),
        ("/abs", "/abs/key"),
        ("c", "k"),
    ] {
        store.put(collection, key, &object(json!({}))).await.expect("put");
    }
    let root = store.root().canonicalize().expect("root");
    let parent_entries: Vec<_> = std::fs::read_dir(root.parent().expect("parent"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        parent_entries,
        vec![std::ffi::OsString::from("vault")],
        "nothing written beside the vault"
    );
    for file in files_under(&root) {
        assert!(
            file.canonicalize().expect("canonical").starts_with(&root),
            "{}",
            file.display()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&root).expect("meta").permissions().mode() & 0o777,
            0o700
        );
    }
}
