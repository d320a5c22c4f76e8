//! What only the Redis adapter must show: nothing secret in clear in Redis, the reference's
//! document format, and failing closed when Redis goes away. Needs `AUTHSOME_TEST_REDIS_URL`.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use authsome_domain::vault_crypto::{DataKey, EnvelopeVersion, VaultCipher};
use authsome_domain::{
    AuthSession, BrowserSession, ConnectionName, Email, IdentityHandle, PrincipalId, ProviderName, Timestamp,
};
use authsome_ports::{StateError, VaultBlobStore};
use authsome_redis::test_prefix::TestPrefix;
use authsome_redis::{RedisBlobStore, RedisKeys, RedisSettings};
use secrecy::SecretString;
use serde_json::{Value, json};

async fn all_values(connection: &mut authsome_redis::RedisConnection, prefix: &str) -> String {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(connection)
        .await
        .expect("keys");
    let mut dump = String::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(connection)
            .await
            .expect("type");
        let value: String = if kind == "string" {
            redis::cmd("GET").arg(&key).query_async(connection).await.expect("get")
        } else if kind == "zset" {
            let members: Vec<String> = redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query_async(connection)
                .await
                .expect("members");
            members.join(",")
        } else {
            let members: Vec<String> = redis::cmd("SMEMBERS")
                .arg(&key)
                .query_async(connection)
                .await
                .expect("members");
            members.join(",")
        };
        dump.push_str(&format!("{key} = {value}\n"));
    }
    dump
}

#[tokio::test]
async fn secrets_and_session_tokens_never_reach_redis_in_clear() {
    let prefix = TestPrefix::new();
    let mut connection = prefix.connect().await;
    let cipher = Arc::new(VaultCipher::new(
        &DataKey::generate().expect("key"),
        EnvelopeVersion::V1,
    ));
    let state = authsome_redis::runtime_state(connection.clone(), prefix.keys(), cipher);

    let api_key = "sk-live-THIS-MUST-NOT-BE-STORED-IN-CLEAR";
    let mut session = AuthSession::new(
        ProviderName::parse("openai").expect("provider"),
        Some(IdentityHandle::parse("agent-one").expect("handle")),
        Some(PrincipalId::generate()),
        ConnectionName::default_name(),
        "api_key",
        300,
    );
    session
        .secrets
        .insert("api_key", SecretString::from(api_key.to_owned()));
    session.secrets.insert(
        "code_verifier",
        SecretString::from("pkce-verifier-secret-value".to_owned()),
    );
    state.auth_sessions.save(&session).await.expect("save");
    let browser = BrowserSession::new(
        PrincipalId::generate(),
        Email::parse("a@example.com").expect("email"),
        3600,
    );
    let token = state.browser_sessions.create(&browser).await.expect("create");

    let dump = all_values(&mut connection, prefix.keys().prefix()).await;
    assert!(dump.contains("authsome:auth-session:session:"), "{dump}");
    for secret in [api_key, "pkce-verifier-secret-value", token.expose()] {
        assert!(!dump.contains(secret), "{secret} found in Redis:\n{dump}");
    }
    // Sealed with version 2 even when the vault writes version 1 for reference replicas.
    assert!(dump.contains(r#""__encryption_version__":2"#), "{dump}");
}

#[tokio::test]
async fn vault_entries_are_written_in_the_reference_document_format() {
    let prefix = TestPrefix::new();
    let mut connection = prefix.connect().await;
    let store = RedisBlobStore::new(connection.clone(), prefix.keys());
    let value = json!({"__encrypted_data__": "AAAA", "__encryption_version__": 1});
    let Value::Object(value) = value else { unreachable!() };
    store
        .put(
            "vault:vault_0123456789ab",
            "vault:vault_0123456789ab:openai:metadata",
            &value,
        )
        .await
        .expect("put");

    let key = prefix
        .keys()
        .blob("vault:vault_0123456789ab", "vault:vault_0123456789ab:openai:metadata");
    let text: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .expect("get");
    // json.dumps(..., sort_keys=True) with Python's default separators.
    let created_at = serde_json::from_str::<Value>(&text).expect("json")["created_at"]
        .as_str()
        .expect("created_at")
        .to_owned();
    assert!(created_at.ends_with("+00:00"), "{created_at}");
    assert_eq!(
        text,
        format!(
            r#"{{"collection": "vault:vault_0123456789ab", "created_at": "{created_at}", "key": "vault:vault_0123456789ab:openai:metadata", "value": {{"__encrypted_data__": "AAAA", "__encryption_version__": 1}}, "version": 1}}"#
        )
    );
}

/// Reads the reference's own Redis dump (tests/fixtures/reference-0.7.2/redis-vault.json)
/// through the blob store, as a replica taking over that Redis would.
#[tokio::test]
async fn reads_vault_entries_the_reference_wrote() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/reference-0.7.2");
    let dump: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}/redis-vault.json")).expect("fixture"))
            .expect("json");
    let prefix = TestPrefix::new();
    let mut connection = prefix.connect().await;
    for (key, text) in &dump {
        let () = redis::cmd("SET")
            .arg(format!("{}{key}", prefix.keys().prefix()))
            .arg(text.as_str().expect("text"))
            .query_async(&mut connection)
            .await
            .expect("load");
    }
    let store = RedisBlobStore::new(connection.clone(), prefix.keys());
    let dek = store
        .get("__vault_meta__", "__dek__")
        .await
        .expect("get")
        .expect("dek record");
    assert_eq!(dek["kdf"]["alg"], "argon2id");
    let vault_collection = dump
        .keys()
        .find_map(|k| {
            k.split_once("::")
                .map(|(c, _)| c)
                .filter(|c| c.starts_with("vault:vault_"))
        })
        .expect("a vault collection");
    // Before the listing index is built, listings SCAN as the reference does.
    let keys = store.list_keys(vault_collection, "").await.expect("list");
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.iter().any(|k| k.ends_with(":openai:connection:default")));
    assert!(keys.iter().any(|k| k.ends_with(":openai:metadata")));
    for key in &keys {
        let value = store.get(vault_collection, key).await.expect("get").expect("present");
        assert_eq!(value["__encryption_version__"], 1);
    }

    // Taking over: the background build indexes every entry the reference wrote, once.
    let build = store.build_listing_index().await.expect("build");
    assert!(!build.already_built);
    assert_eq!(build.added, dump.len(), "every reference entry is indexed: {build:?}");
    assert_eq!(store.list_keys(vault_collection, "").await.expect("list"), keys);
    let again = store.build_listing_index().await.expect("second build");
    assert!(again.already_built, "{again:?}");

    // From now on listings read the index, which writes and deletes keep exact. Prove the
    // index is what answers: an entry set behind the store's back (as 0.7.2 would write it
    // in a mixed fleet, which is why AUTHSOME_REDIS_LISTING_INDEX=off exists) is not
    // listed, while one written through the store is.
    let raw_key = format!(
        "{}{vault_collection}::{vault_collection}:github:metadata",
        prefix.keys().prefix()
    );
    let () = redis::cmd("SET")
        .arg(&raw_key)
        .arg(
            json!({
                "collection": vault_collection,
                "created_at": "2026-11-29T00:00:00+00:00",
                "key": format!("{vault_collection}:github:metadata"),
                "value": {"default_connection": "default"},
                "version": 1,
            })
            .to_string(),
        )
        .query_async(&mut connection)
        .await
        .expect("raw set");
    let new_key = format!("{vault_collection}:anthropic:metadata");
    let mut value = serde_json::Map::new();
    value.insert("default_connection".to_owned(), json!("default"));
    store.put(vault_collection, &new_key, &value).await.expect("put");
    let listed = store.list_keys(vault_collection, "").await.expect("list");
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(listed.contains(&new_key));
    assert!(!listed.iter().any(|k| k.ends_with(":github:metadata")), "{listed:?}");
    assert!(store.delete(vault_collection, &new_key).await.expect("delete"));
    assert_eq!(store.list_keys(vault_collection, "").await.expect("list"), keys);
    let prefix_only = store
        .list_keys(vault_collection, &format!("{vault_collection}:openai:connection:"))
        .await
        .expect("list by prefix");
    assert_eq!(prefix_only.len(), 1, "{prefix_only:?}");

    // A mixed fleet (0.7.2 replicas still writing): AUTHSOME_REDIS_LISTING_INDEX=off lists by
    // SCAN and clears the mark, so every replica scans and sees what 0.7.2 wrote...
    let scanning = RedisBlobStore::scanning(connection.clone(), prefix.keys());
    let with_raw = scanning.list_keys(vault_collection, "").await.expect("scan");
    assert_eq!(with_raw.len(), 3, "{with_raw:?}");
    scanning.forget_listing_index().await.expect("forget");
    assert_eq!(store.list_keys(vault_collection, "").await.expect("list"), with_raw);
    // ... and the next start with the index on indexes it.
    let rebuilt = store.build_listing_index().await.expect("rebuild");
    assert_eq!((rebuilt.already_built, rebuilt.added), (false, 1), "{rebuilt:?}");
    assert_eq!(store.list_keys(vault_collection, "").await.expect("list"), with_raw);
}

struct PrivateRedis {
    child: Child,
    url: String,
}

impl PrivateRedis {
    /// A throwaway redis-server on a free loopback port, so that a test can stop it.
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("free port")
            .local_addr()
            .expect("addr")
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let url = format!("redis://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while authsome_redis::connect(&RedisSettings::new(&url)).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "private redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, url }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn when_redis_stops_every_operation_fails_as_unavailable_never_as_fresh() {
    let mut server = PrivateRedis::start().await;
    let mut settings = RedisSettings::new(&server.url);
    settings.response_timeout = Duration::from_millis(500);
    let connection = authsome_redis::connect(&settings).await.expect("connect");
    let keys = RedisKeys::unprefixed();
    let cipher = Arc::new(VaultCipher::new(
        &DataKey::generate().expect("key"),
        EnvelopeVersion::V2,
    ));
    let state = authsome_redis::runtime_state(connection.clone(), keys.clone(), cipher);
    let blobs = RedisBlobStore::new(connection, keys);
    let later = Timestamp::now().plus_seconds(60);
    let quota = authsome_ports::IdQuota {
        holder: "agent",
        ids: 100,
        window_seconds: 180,
    };
    assert!(state.replay.check_and_store("before", later, quota).await.is_ok());

    server.child.kill().expect("stop redis");
    server.child.wait().expect("stopped");

    let started = std::time::Instant::now();
    for attempt in 0..3 {
        let outcome = state
            .replay
            .check_and_store(&format!("after-{attempt}"), later, quota)
            .await;
        assert!(
            matches!(outcome, Err(StateError::Unavailable(_))),
            "attempt {attempt}: {outcome:?}"
        );
    }
    assert!(matches!(blobs.get("c", "k").await, Err(StateError::Unavailable(_))));
    assert!(matches!(blobs.ping().await, Err(StateError::Unavailable(_))));
    assert!(matches!(
        state.pending_claims.consume("claim_abcdefghijklmnopqrstuvwx").await,
        Err(StateError::Unavailable(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "failures come fast, not after a hang: {:?}",
        started.elapsed()
    );
}
