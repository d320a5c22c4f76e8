//! Contract cases for [`ReplayCache`].

use std::sync::Arc;
use std::time::Duration;

use authsome_domain::Timestamp;

use crate::contract::concurrency::race_all;
use crate::contract::eventually;
use crate::{ReplayCache, ReplayCheck};

/// A fresh, isolated replay cache; dropping it cleans the backend up.
pub trait ReplayCacheFixture {
    /// The cache under test.
    fn cache(&self) -> Arc<dyn ReplayCache>;
    /// A second, independent client of the same backend (another replica).
    fn second_client(&self) -> Arc<dyn ReplayCache>;
}

fn unique_jti() -> String {
    authsome_domain::random_token::hex(32)
}

/// A token id is fresh once, then replayed; other ids are unaffected.
pub async fn replay_first_use_is_fresh_then_replayed(f: &dyn ReplayCacheFixture) {
    let cache = f.cache();
    let (jti, other) = (unique_jti(), unique_jti());
    let expires = Timestamp::now().plus_seconds(60);
    assert_eq!(
        cache.check_and_store(&jti, expires).await.expect("first"),
        ReplayCheck::Fresh
    );
    assert_eq!(
        cache.check_and_store(&jti, expires).await.expect("second"),
        ReplayCheck::Replayed
    );
    assert_eq!(
        cache
            .check_and_store(&jti, expires.plus_seconds(600))
            .await
            .expect("third"),
        ReplayCheck::Replayed
    );
    assert_eq!(
        cache.check_and_store(&other, expires).await.expect("other"),
        ReplayCheck::Fresh
    );
}

/// Another replica sees the id as used.
pub async fn replay_is_shared_between_clients(f: &dyn ReplayCacheFixture) {
    let jti = unique_jti();
    let expires = Timestamp::now().plus_seconds(60);
    assert_eq!(
        f.cache().check_and_store(&jti, expires).await.expect("a"),
        ReplayCheck::Fresh
    );
    assert_eq!(
        f.second_client().check_and_store(&jti, expires).await.expect("b"),
        ReplayCheck::Replayed
    );
}

/// Two hundred concurrent uses of one id on two clients: exactly one is fresh.
pub async fn replay_concurrent_use_has_one_winner(f: &dyn ReplayCacheFixture) {
    let clients = [f.cache(), f.second_client()];
    let jti = unique_jti();
    let expires = Timestamp::now().plus_seconds(60);
    let results = race_all(200, |i| {
        let (cache, jti) = (clients[i % 2].clone(), jti.clone());
        async move { cache.check_and_store(&jti, expires).await }
    })
    .await;
    let fresh = results.iter().filter(|r| matches!(r, Ok(ReplayCheck::Fresh))).count();
    let replayed = results
        .iter()
        .filter(|r| matches!(r, Ok(ReplayCheck::Replayed)))
        .count();
    assert_eq!((fresh, replayed), (1, 199), "{results:?}");
}

/// An id is forgotten after its expiry (the backend enforces the time to live).
pub async fn replay_entries_expire(f: &dyn ReplayCacheFixture) {
    let cache = f.cache();
    let jti = unique_jti();
    let expires = Timestamp::now().plus_seconds(1);
    assert_eq!(
        cache.check_and_store(&jti, expires).await.expect("first"),
        ReplayCheck::Fresh
    );
    assert_eq!(
        cache.check_and_store(&jti, expires).await.expect("again"),
        ReplayCheck::Replayed
    );
    eventually(Duration::from_secs(10), || {
        let (cache, jti) = (cache.clone(), jti.clone());
        async move {
            cache
                .check_and_store(&jti, Timestamp::now().plus_seconds(60))
                .await
                .expect("check")
                == ReplayCheck::Fresh
        }
    })
    .await;
}

/// Expands to one `#[tokio::test]` per replay-cache contract case for `$fixture`.
#[macro_export]
macro_rules! replay_cache_contract_tests {
    ($fixture:path) => {
        $crate::replay_cache_contract_tests!(@cases $fixture;
            replay_first_use_is_fresh_then_replayed,
            replay_is_shared_between_clients,
            replay_concurrent_use_has_one_winner,
            replay_entries_expire,
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture().await;
                $crate::contract::replay_cache::$case(&fixture).await;
            }
        )*
    };
}
