//! Contract cases for [`ServerConfigRepository`](crate::ServerConfigRepository).

use authsome_domain::ServerConfig;
use serde_json::Value;

use crate::Registries;
use crate::contract::concurrency::race;

/// The first load stores the default; a save replaces the document and keeps unknown keys.
pub async fn server_config_defaults_then_saves(r: &Registries) {
    let loaded = r.server_config.load().await.expect("first load");
    assert_eq!(loaded, ServerConfig::default());
    assert_eq!(r.server_config.load().await.expect("second load"), loaded);

    let mut changed = loaded.clone();
    changed.spec_version = 8;
    changed.extra.insert("theme".to_owned(), Value::from("dark"));
    r.server_config.save(&changed).await.expect("save");
    assert_eq!(r.server_config.load().await.expect("reload"), changed);
    changed.extra.clear();
    r.server_config.save(&changed).await.expect("save again");
    assert_eq!(
        r.server_config.load().await.expect("reload"),
        changed,
        "the document is replaced, not merged"
    );
}

/// Concurrent first loads all succeed with the same document.
pub async fn server_config_concurrent_first_load(r: &Registries) {
    let results = race(r, 10, |_| {
        let r = r.clone();
        async move { r.server_config.load().await }
    })
    .await;
    for result in results {
        assert_eq!(result.expect("load"), ServerConfig::default());
    }
}

/// Concurrent updates each adding their own key all land: none is lost to another's write,
/// and a change that alters nothing stores nothing.
pub async fn server_config_concurrent_updates_keep_every_change(r: &Registries) {
    let results = race(r, 12, |n| {
        let r = r.clone();
        async move {
            r.server_config
                .update(&move |config: &mut ServerConfig| {
                    config.extra.insert(format!("writer-{n}"), Value::from(n as u64));
                })
                .await
        }
    })
    .await;
    for result in results {
        result.expect("update");
    }
    let stored = r.server_config.load().await.expect("load");
    for n in 0..12 {
        assert_eq!(
            stored.extra.get(&format!("writer-{n}")),
            Some(&Value::from(n as u64)),
            "writer {n}'s change survived: {stored:?}"
        );
    }
    let unchanged = r
        .server_config
        .update(&|_config: &mut ServerConfig| {})
        .await
        .expect("no-op");
    assert_eq!(unchanged, stored);
}
