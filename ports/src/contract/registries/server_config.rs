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
