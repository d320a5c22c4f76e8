//! The encrypted vault over real blob stores: the data key is created once even when replicas
//! race, values are bound to their place, and rotation keeps every value readable.

use std::sync::Arc;

use authsome_domain::vault_crypto::{
    DEK_KEY, EnvelopeVersion, KdfParams, META_COLLECTION, MasterSecret, VaultCryptoError,
};
use authsome_ports::VaultBlobStore;
use authsome_redis::RedisBlobStore;
use authsome_redis::test_prefix::TestPrefix;
use authsome_services::vault::{DekOrigin, Vault, VaultError, rotate_master_secret};
use secrecy::ExposeSecret;

/// Small Argon2 parameters: these tests are about the vault, not the KDF's cost.
const FAST: KdfParams = KdfParams {
    memory_kib: 256,
    time_cost: 1,
    parallelism: 1,
};

fn master(text: &str) -> MasterSecret {
    MasterSecret::from_text(text).expect("non-blank")
}

async fn open(store: Arc<dyn VaultBlobStore>, secret: &str) -> Result<Vault, VaultError> {
    Vault::open(store, &master(secret), None, EnvelopeVersion::V2, FAST).await
}

#[tokio::test]
async fn the_data_key_is_created_once_and_unwrapped_afterwards() {
    let store: Arc<dyn VaultBlobStore> = Arc::new(authsome_memory::MemoryBlobStore::new());
    let first = open(store.clone(), "m1").await.expect("create");
    assert_eq!(first.origin(), DekOrigin::Created);
    first
        .put("vault:vault_0123456789ab", "k", "secret value")
        .await
        .expect("put");

    let again = open(store.clone(), "m1").await.expect("reopen");
    assert_eq!(again.origin(), DekOrigin::Unwrapped);
    let value = again
        .get("vault:vault_0123456789ab", "k")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(value.expose_secret(), "secret value");

    let wrong = open(store, "not-the-secret").await.err().expect("wrong master");
    assert!(
        matches!(wrong, VaultError::Crypto(VaultCryptoError::MasterSecretMismatch)),
        "{wrong:?}"
    );
}

/// Six replicas open one empty Redis vault at the same moment: one data key, shared by all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_opening_an_empty_shared_vault_together_agree_on_one_data_key() {
    let prefix = TestPrefix::new();
    let mut replicas = Vec::new();
    for _ in 0..6 {
        let store: Arc<dyn VaultBlobStore> = Arc::new(RedisBlobStore::new(prefix.connect().await, prefix.keys()));
        replicas.push(tokio::spawn(async move { open(store, "shared master").await }));
    }
    let mut vaults = Vec::new();
    for replica in replicas {
        vaults.push(replica.await.expect("task").expect("every replica opens"));
    }
    assert_eq!(
        vaults.iter().filter(|v| v.origin() == DekOrigin::Created).count(),
        1,
        "one creator"
    );
    for (i, writer) in vaults.iter().enumerate() {
        writer
            .put("server", &format!("k{i}"), &format!("value {i}"))
            .await
            .expect("put");
    }
    for reader in &vaults {
        for i in 0..vaults.len() {
            let value = reader
                .get("server", &format!("k{i}"))
                .await
                .expect("get")
                .expect("present");
            assert_eq!(
                value.expose_secret(),
                format!("value {i}"),
                "every replica reads every other's writes"
            );
        }
    }
}

#[tokio::test]
async fn a_value_copied_to_another_key_or_vault_does_not_decrypt() {
    let store: Arc<dyn VaultBlobStore> = Arc::new(authsome_memory::MemoryBlobStore::new());
    let vault = open(store.clone(), "m").await.expect("open");
    let (victim, attacker) = ("vault:vault_aaaaaaaaaaaa", "vault:vault_bbbbbbbbbbbb");
    vault
        .put(
            victim,
            "vault:vault_aaaaaaaaaaaa:openai:connection:default",
            "sk-victim",
        )
        .await
        .expect("put");
    // Someone with write access to the store copies the ciphertext into their own vault.
    let stolen = store
        .get(victim, "vault:vault_aaaaaaaaaaaa:openai:connection:default")
        .await
        .expect("get")
        .expect("present");
    store
        .put(attacker, "vault:vault_bbbbbbbbbbbb:openai:connection:default", &stolen)
        .await
        .expect("copy");
    let err = vault
        .get(attacker, "vault:vault_bbbbbbbbbbbb:openai:connection:default")
        .await
        .expect_err("refused");
    assert!(
        matches!(err, VaultError::Crypto(VaultCryptoError::DecryptionFailed)),
        "{err:?}"
    );
}

#[tokio::test]
async fn rotation_rewraps_the_key_and_every_value_stays_readable() {
    let store: Arc<dyn VaultBlobStore> = Arc::new(authsome_memory::MemoryBlobStore::new());
    let vault = open(store.clone(), "old master").await.expect("open");
    for i in 0..20 {
        vault
            .put("vault:vault_0123456789ab", &format!("k{i}"), &format!("v{i}"))
            .await
            .expect("put");
    }
    let before = store.get(META_COLLECTION, DEK_KEY).await.expect("get").expect("record");
    rotate_master_secret(store.as_ref(), &master("old master"), &master("new master"), FAST)
        .await
        .expect("rotate");
    let after = store.get(META_COLLECTION, DEK_KEY).await.expect("get").expect("record");
    assert_ne!(before, after, "the record was re-wrapped");

    // The replica that was serving during the rotation still works with its key in memory.
    assert_eq!(
        vault
            .get("vault:vault_0123456789ab", "k0")
            .await
            .expect("get")
            .expect("present")
            .expose_secret(),
        "v0"
    );
    let reopened = open(store.clone(), "new master").await.expect("new master opens");
    for i in 0..20 {
        let value = reopened
            .get("vault:vault_0123456789ab", &format!("k{i}"))
            .await
            .expect("get")
            .expect("present");
        assert_eq!(value.expose_secret(), format!("v{i}"));
    }
    assert!(
        open(store.clone(), "old master").await.is_err(),
        "the old secret no longer opens it"
    );

    // A replica restarted with a stale current secret but the new one as previous still
    // starts: the order in which the two variables are rolled out does not matter.
    let rolling = Vault::open(
        store.clone(),
        &master("stale"),
        Some(&master("new master")),
        EnvelopeVersion::V2,
        FAST,
    )
    .await
    .expect("previous secret opens");
    assert_eq!(rolling.origin(), DekOrigin::UnwrappedWithPrevious);

    let empty: Arc<dyn VaultBlobStore> = Arc::new(authsome_memory::MemoryBlobStore::new());
    let nothing = rotate_master_secret(empty.as_ref(), &master("a"), &master("b"), FAST)
        .await
        .expect_err("empty");
    assert!(matches!(nothing, VaultError::NotInitialised));
}

#[tokio::test]
async fn compat_mode_writes_version_1_and_both_versions_are_read() {
    let store: Arc<dyn VaultBlobStore> = Arc::new(authsome_memory::MemoryBlobStore::new());
    let v1 = Vault::open(store.clone(), &master("m"), None, EnvelopeVersion::V1, FAST)
        .await
        .expect("v1 writer");
    v1.put("c", "old", "from a v1 writer").await.expect("put");
    assert_eq!(
        store.get("c", "old").await.expect("get").expect("present")["__encryption_version__"],
        1
    );
    let v2 = open(store.clone(), "m").await.expect("v2 writer");
    v2.put("c", "new", "from a v2 writer").await.expect("put");
    assert_eq!(
        store.get("c", "new").await.expect("get").expect("present")["__encryption_version__"],
        2
    );
    for vault in [&v1, &v2] {
        assert_eq!(
            vault.get("c", "old").await.expect("get").expect("v1").expose_secret(),
            "from a v1 writer"
        );
        assert_eq!(
            vault.get("c", "new").await.expect("get").expect("v2").expose_secret(),
            "from a v2 writer"
        );
    }
}

/// `authsome import-home`'s vault step: each value is opened with the 0.7.2 vault's key and
/// sealed with ours, what the target holds is never overwritten, a value that does not
/// decrypt is reported by name, the 0.7.2 bookkeeping stays behind, and a second run changes
/// nothing.
#[tokio::test]
async fn importing_a_vault_reseals_every_value_and_never_overwrites() {
    use authsome_services::home_import::import_vault;
    let collection = "vault:vault_0123456789ab";
    let source_store = Arc::new(authsome_memory::MemoryBlobStore::new());
    let source = open(source_store.clone(), "the 0.7.2 master").await.expect("source");
    for (key, text) in [("a", "alpha"), ("b", "beta"), ("c", "gamma")] {
        source.put(collection, key, text).await.expect("put");
    }
    // A value sealed under some other data key: it cannot be opened with the source's.
    let stranger_store = Arc::new(authsome_memory::MemoryBlobStore::new());
    let stranger = open(stranger_store.clone(), "someone else").await.expect("stranger");
    stranger.put(collection, "d", "delta").await.expect("put");
    let foreign = stranger_store
        .get(collection, "d")
        .await
        .expect("get")
        .expect("present");
    source_store.put(collection, "d", &foreign).await.expect("plant");

    let target_store = Arc::new(authsome_memory::MemoryBlobStore::new());
    let target = open(target_store.clone(), "our master").await.expect("target");
    target
        .put(collection, "c", "the target's own gamma")
        .await
        .expect("put");

    let names: Vec<(String, String)> = [
        (collection, "a"),
        (collection, "b"),
        (collection, "c"),
        (collection, "d"),
        (collection, "__index__"),
        (META_COLLECTION, DEK_KEY),
    ]
    .iter()
    .map(|(c, k)| (c.to_string(), k.to_string()))
    .collect();
    let mut seen = Vec::new();
    let first = import_vault(&source, &target, &names, |report| seen.push(report.collection.clone()))
        .await
        .expect("import");
    assert_eq!(seen, vec![collection.to_owned()], "one progress line per collection");
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].imported, first[0].unchanged), (2, 0));
    assert_eq!(first[0].kept_existing, vec!["c".to_owned()]);
    assert_eq!(
        first[0].failed.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        vec!["d"]
    );
    let read = |key: &'static str| {
        let target = &target;
        async move {
            target
                .get(collection, key)
                .await
                .expect("get")
                .map(|v| v.expose_secret().to_owned())
        }
    };
    assert_eq!(read("a").await.as_deref(), Some("alpha"));
    assert_eq!(read("c").await.as_deref(), Some("the target's own gamma"));
    assert_eq!(read("d").await, None);
    let sealed = target_store.get(collection, "a").await.expect("get").expect("present");
    assert_eq!(sealed["__encryption_version__"], 2, "sealed again for its place");
    assert!(target_store.get(collection, "__index__").await.expect("get").is_none());

    let again = import_vault(&source, &target, &names, |_| {}).await.expect("again");
    assert_eq!(
        (again[0].imported, again[0].unchanged, again[0].kept_existing.len()),
        (0, 2, 1)
    );
}
