//! Contract cases for [`VaultBlobStore`].

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::contract::concurrency::race_all;
use crate::{StateError, VaultBlobStore};

/// A fresh, isolated blob store; dropping it cleans the backend up.
pub trait BlobStoreFixture {
    /// The store under test.
    fn store(&self) -> Arc<dyn VaultBlobStore>;
    /// A second, independent client of the same backend (another replica). Stores whose
    /// state lives in the process return the same store.
    fn second_client(&self) -> Arc<dyn VaultBlobStore>;
    /// How many keys the listing case writes: enough to cross the reference's silent
    /// 10 000-key cap on backends where writes are cheap.
    fn listing_scale(&self) -> usize;
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// `get_many` answers, in the order asked, what `get` answers for each key (absent keys and
/// other collections included), and refuses a bad name like `get`.
pub async fn blob_get_many_answers_like_get_in_order(f: &dyn BlobStoreFixture) {
    let store = f.store();
    let first = object(json!({"n": 1, "text": "één"}));
    let second = object(json!({"n": 2, "nested": {"a": [1, 2]}}));
    store.put("many", "first", &first).await.expect("put");
    store.put("many", "second", &second).await.expect("put");
    store.put("other", "absent-here", &first).await.expect("put");
    let values = store
        .get_many("many", &["second", "missing", "first", "absent-here", "second"])
        .await
        .expect("get_many");
    assert_eq!(
        values,
        vec![Some(second.clone()), None, Some(first), None, Some(second)]
    );
    assert_eq!(
        store.get_many("many", &[]).await.expect("empty"),
        Vec::<Option<Map<String, Value>>>::new()
    );
    assert!(matches!(
        store.get_many("many", &["fine", ""]).await,
        Err(StateError::InvalidKey(_))
    ));
}

/// A stored object comes back equal, nested values and non-ASCII text included.
pub async fn blob_put_then_get_round_trips(f: &dyn BlobStoreFixture) {
    let store = f.store();
    let value = object(
        json!({"__encrypted_data__": "abc+/=", "__encryption_version__": 2, "nested": {"list": [1, "é😀", null]}}),
    );
    store
        .put(
            "vault:vault_0123456789ab",
            "vault:vault_0123456789ab:openai:connection:default",
            &value,
        )
        .await
        .expect("put");
    let got = store
        .get(
            "vault:vault_0123456789ab",
            "vault:vault_0123456789ab:openai:connection:default",
        )
        .await
        .expect("get")
        .expect("present");
    assert_eq!(got, value);
    assert!(
        store
            .get("vault:vault_0123456789ab", "other")
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        store
            .get("other-collection", "vault:vault_0123456789ab:openai:connection:default")
            .await
            .expect("get")
            .is_none()
    );
}

/// A put replaces the previous object; a delete reports whether one was there.
pub async fn blob_put_replaces_and_delete_reports_presence(f: &dyn BlobStoreFixture) {
    let store = f.store();
    store.put("c", "k", &object(json!({"v": 1}))).await.expect("put 1");
    store.put("c", "k", &object(json!({"v": 2}))).await.expect("put 2");
    assert_eq!(store.get("c", "k").await.expect("get"), Some(object(json!({"v": 2}))));
    assert!(store.delete("c", "k").await.expect("delete"));
    assert!(!store.delete("c", "k").await.expect("delete again"));
    assert!(store.get("c", "k").await.expect("get").is_none());
    assert!(!store.delete("never", "written").await.expect("delete absent"));
}

/// `put_if_absent` stores once and never overwrites.
pub async fn blob_put_if_absent_never_overwrites(f: &dyn BlobStoreFixture) {
    let store = f.store();
    assert!(
        store
            .put_if_absent("__vault_meta__", "__dek__", &object(json!({"first": true})))
            .await
            .expect("first")
    );
    assert!(
        !store
            .put_if_absent("__vault_meta__", "__dek__", &object(json!({"second": true})))
            .await
            .expect("second")
    );
    assert_eq!(
        store.get("__vault_meta__", "__dek__").await.expect("get"),
        Some(object(json!({"first": true})))
    );
}

/// Twenty writers on two clients race to create one key: exactly one stores.
pub async fn blob_concurrent_put_if_absent_has_one_winner(f: &dyn BlobStoreFixture) {
    let clients = [f.store(), f.second_client()];
    let results = race_all(20, |i| {
        let store = clients[i % 2].clone();
        async move {
            (
                i,
                store
                    .put_if_absent("__vault_meta__", "__dek__", &object(json!({"writer": i})))
                    .await,
            )
        }
    })
    .await;
    let winners: Vec<usize> = results
        .iter()
        .filter(|(_, r)| matches!(r, Ok(true)))
        .map(|(i, _)| *i)
        .collect();
    assert!(results.iter().all(|(_, r)| r.is_ok()), "no errors: {results:?}");
    assert_eq!(winners.len(), 1, "exactly one writer stores");
    let stored = clients[1]
        .get("__vault_meta__", "__dek__")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        stored,
        object(json!({"writer": winners[0]})),
        "the winner's value is what everyone reads"
    );
}

/// Concurrent puts of whole objects leave one of them, never a mix or a broken record.
pub async fn blob_concurrent_puts_leave_one_whole_value(f: &dyn BlobStoreFixture) {
    let clients = [f.store(), f.second_client()];
    let big = "x".repeat(64 * 1024);
    let results = race_all(16, |i| {
        let (store, big) = (clients[i % 2].clone(), big.clone());
        async move {
            store
                .put("c", "contended", &object(json!({"writer": i, "padding": big})))
                .await
        }
    })
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let stored = clients[0].get("c", "contended").await.expect("get").expect("present");
    let writer = stored["writer"].as_u64().expect("writer") as usize;
    assert!(writer < 16);
    assert_eq!(stored["padding"].as_str().map(str::len), Some(64 * 1024));
}

/// Listing returns every key of the collection with the prefix, sorted, and nothing else.
pub async fn blob_list_keys_is_complete_sorted_and_scoped(f: &dyn BlobStoreFixture) {
    let store = f.store();
    let collection = "vault:vault_0123456789ab";
    let scale = f.listing_scale();
    let mut expected = Vec::with_capacity(scale);
    for i in 0..scale {
        let key = format!("vault:vault_0123456789ab:p{:02}:connection:c{i:05}", i % 7);
        store
            .put(collection, &key, &object(json!({"i": i})))
            .await
            .expect("put");
        expected.push(key);
    }
    store
        .put(collection, "vault:vault_0123456789ab:p01:metadata", &object(json!({})))
        .await
        .expect("put");
    store
        .put(
            "vault:vault_ba9876543210",
            "vault:vault_ba9876543210:p01:metadata",
            &object(json!({})),
        )
        .await
        .expect("put");

    let mut all_p01: Vec<String> = expected.iter().filter(|k| k.contains(":p01:")).cloned().collect();
    all_p01.push("vault:vault_0123456789ab:p01:metadata".to_owned());
    all_p01.sort();
    let listed = store
        .list_keys(collection, "vault:vault_0123456789ab:p01:")
        .await
        .expect("list prefix");
    assert_eq!(listed, all_p01);

    let everything = store.list_keys(collection, "").await.expect("list all");
    assert_eq!(everything.len(), scale + 1, "no cap on the count");
    assert!(everything.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
    assert!(
        store
            .list_keys("vault:vault_ffffffffffff", "")
            .await
            .expect("empty")
            .is_empty()
    );
}

/// Keys that look like paths or patterns are just keys.
pub async fn blob_keys_are_opaque_text(f: &dyn BlobStoreFixture) {
    let store = f.store();
    let keys = [
        "../../../../etc/passwd",
        "a/b\\c",
        "*?[]{}",
        "ünïcødé:😀",
        ".",
        "..",
        "k::with::separators",
        &"long".repeat(200),
    ];
    for (i, key) in keys.iter().enumerate() {
        store.put("odd", key, &object(json!({"i": i}))).await.expect(key);
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            store.get("odd", key).await.expect(key),
            Some(object(json!({"i": i}))),
            "{key}"
        );
    }
    let mut sorted: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    sorted.sort();
    assert_eq!(store.list_keys("odd", "").await.expect("list"), sorted);
    assert_eq!(
        store.list_keys("odd", "*").await.expect("glob chars are literal"),
        vec!["*?[]{}".to_owned()]
    );
    // A collection that looks like a path stays inside the store as well.
    store
        .put("../escape", "k", &object(json!({"inside": true})))
        .await
        .expect("put");
    assert_eq!(
        store.get("../escape", "k").await.expect("get"),
        Some(object(json!({"inside": true})))
    );
}

/// Names the layout cannot hold are refused with `InvalidKey`.
pub async fn blob_invalid_names_are_refused(f: &dyn BlobStoreFixture) {
    let store = f.store();
    let value = object(json!({}));
    let long_key = "k".repeat(2000);
    for (collection, key) in [
        ("", "k"),
        ("c", ""),
        ("a::b", "k"),
        ("c", long_key.as_str()),
        ("c", "line\nbreak"),
    ] {
        let result = store.put(collection, key, &value).await;
        assert!(
            matches!(result, Err(StateError::InvalidKey(_))),
            "{collection:?} {key:?}: {result:?}"
        );
        assert!(matches!(
            store.get(collection, key).await,
            Err(StateError::InvalidKey(_))
        ));
    }
}

/// The backend answers a ping.
pub async fn blob_ping_answers(f: &dyn BlobStoreFixture) {
    f.store().ping().await.expect("ping");
    assert!(["memory", "disk", "redis"].contains(&f.store().backend_name()));
}

/// Expands to one `#[tokio::test]` per blob-store contract case for `$fixture`, an async
/// function returning a [`BlobStoreFixture`].
#[macro_export]
macro_rules! blob_store_contract_tests {
    ($fixture:path) => {
        $crate::blob_store_contract_tests!(@cases $fixture;
            blob_put_then_get_round_trips,
            blob_get_many_answers_like_get_in_order,
            blob_put_replaces_and_delete_reports_presence,
            blob_put_if_absent_never_overwrites,
            blob_concurrent_put_if_absent_has_one_winner,
            blob_concurrent_puts_leave_one_whole_value,
            blob_list_keys_is_complete_sorted_and_scoped,
            blob_keys_are_opaque_text,
            blob_invalid_names_are_refused,
            blob_ping_answers,
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture().await;
                $crate::contract::blob_store::$case(&fixture).await;
            }
        )*
    };
}
