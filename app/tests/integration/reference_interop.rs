//! What we write in version-1 (compat) mode is read by the reference's own code: the
//! authsome 0.7.2 package's DEK manager and AES-GCM wrapper decrypt it, and py-key-value's
//! Redis document loader accepts our Redis entries.
//!
//! Needs the reference venv (`scripts/install-reference.sh`, which `scripts/test` runs), at
//! `AUTHSOME_REFERENCE_VENV` or `.venv-reference` in the repository; fails when it is missing.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use authsome_domain::vault_crypto::{DEK_KEY, EnvelopeVersion, KdfParams, META_COLLECTION, MasterSecret};
use authsome_ports::VaultBlobStore;
use authsome_redis::RedisBlobStore;
use authsome_redis::test_prefix::TestPrefix;
use authsome_services::vault::Vault;
use serde_json::{Value, json};

fn reference_python() -> std::path::PathBuf {
    let venv = std::env::var("AUTHSOME_REFERENCE_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-reference"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "the reference venv is missing at {}: run scripts/install-reference.sh (scripts/test does)",
        venv.display()
    );
    python
}

/// Runs the reference's code on our stored data and returns what it printed.
fn reference_decrypts(input: &Value) -> String {
    const SCRIPT: &str = r#"
import asyncio, json, sys
from authsome.vault.crypto import DekManager, AesGcmEncryptionWrapper
from key_value.aio._utils.serialization import BasicSerializationAdapter

class DictStore:
    """The two calls the reference's vault code makes on its raw store."""
    def __init__(self):
        self.entries = {}
    async def get(self, key, *, collection=None):
        return self.entries.get((collection, key))
    async def put(self, key, value, *, collection=None, ttl=None):
        self.entries[(collection, key)] = value

async def main():
    data = json.load(sys.stdin)
    raw = DictStore()
    if "redis_documents" in data:
        # Entries as our Redis store wrote them, through py-key-value's own loader.
        adapter = BasicSerializationAdapter()
        for doc_text in data["redis_documents"]:
            doc = json.loads(doc_text)
            entry = adapter.load_json(json_str=doc_text)
            await raw.put(key=doc["key"], value=entry.value_as_dict, collection=doc["collection"])
    else:
        await raw.put(key="__dek__", value=data["dek_record"], collection="__vault_meta__")
        await raw.put(key=data["key"], value=data["value"], collection=data["collection"])
    dek = await DekManager().load_or_create(data["master"], raw)
    vault = AesGcmEncryptionWrapper(raw, dek=dek)
    print((await vault.get(data["key"], collection=data["collection"]))["data"])

asyncio.run(main())
"#;
    let mut child = Command::new(reference_python())
        .arg("-c")
        .arg(SCRIPT)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the reference's python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf8").trim_end().to_owned()
}

const MASTER: &str = "interop-master-secret";
const COLLECTION: &str = "vault:vault_0123456789ab";
const KEY: &str = "vault:vault_0123456789ab:openai:connection:default";

fn connection_record() -> String {
    json!({"schema_version": 2, "provider": "openai", "connection_name": "default", "auth_type": "api_key",
           "status": "connected", "api_key": "sk-written-by-authsome-rs-é"})
    .to_string()
}

async fn compat_vault(store: Arc<dyn VaultBlobStore>) -> Vault {
    // The reference derives its key with fixed parameters: a store it must read uses them.
    Vault::open(
        store,
        &MasterSecret::from_text(MASTER).expect("master"),
        None,
        EnvelopeVersion::V1,
        KdfParams::REFERENCE,
    )
    .await
    .expect("open")
}

#[tokio::test]
async fn the_reference_decrypts_a_value_we_wrote_in_version_1_mode() {
    let store: Arc<dyn VaultBlobStore> = Arc::new(authsome_memory::MemoryBlobStore::new());
    compat_vault(store.clone())
        .await
        .put(COLLECTION, KEY, &connection_record())
        .await
        .expect("put");
    let input = json!({
        "master": MASTER,
        "dek_record": store.get(META_COLLECTION, DEK_KEY).await.expect("get").expect("dek"),
        "collection": COLLECTION,
        "key": KEY,
        "value": store.get(COLLECTION, KEY).await.expect("get").expect("value"),
    });
    assert_eq!(reference_decrypts(&input), connection_record());
}

#[tokio::test]
async fn the_reference_reads_our_redis_entries() {
    let prefix = TestPrefix::new();
    let mut connection = prefix.connect().await;
    let store: Arc<dyn VaultBlobStore> = Arc::new(RedisBlobStore::new(connection.clone(), prefix.keys()));
    compat_vault(store)
        .await
        .put(COLLECTION, KEY, &connection_record())
        .await
        .expect("put");
    let mut documents = Vec::new();
    for redis_key in [
        prefix.keys().blob(META_COLLECTION, DEK_KEY),
        prefix.keys().blob(COLLECTION, KEY),
    ] {
        let text: String = redis::cmd("GET")
            .arg(redis_key)
            .query_async(&mut connection)
            .await
            .expect("get");
        documents.push(text);
    }
    let input = json!({"master": MASTER, "collection": COLLECTION, "key": KEY, "redis_documents": documents});
    assert_eq!(reference_decrypts(&input), connection_record());
}
