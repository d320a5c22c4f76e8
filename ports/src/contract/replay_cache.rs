//! Contract cases for [`ReplayCache`].

use std::sync::Arc;
use std::time::Duration;

use authsome_domain::Timestamp;

use crate::contract::concurrency::race_all;
use crate::contract::eventually;
use crate::{IdQuota, ReplayCache, ReplayCheck};

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

/// A quota large enough never to matter, for the cases about replays.
fn roomy(holder: &str) -> IdQuota<'_> {
    IdQuota {
        holder,
        ids: 1_000_000,
        window_seconds: 180,
    }
}

/// A holder name no other case uses.
fn unique_holder() -> String {
    format!("holder-{}", authsome_domain::random_token::hex(8))
}

/// A token id is fresh once, then replayed; other ids are unaffected.
pub async fn replay_first_use_is_fresh_then_replayed(f: &dyn ReplayCacheFixture) {
    let cache = f.cache();
    let (jti, other) = (unique_jti(), unique_jti());
    let expires = Timestamp::now().plus_seconds(60);
    assert_eq!(
        cache
            .check_and_store(&jti, expires, roomy("agent"))
            .await
            .expect("first"),
        ReplayCheck::Fresh
    );
    assert_eq!(
        cache
            .check_and_store(&jti, expires, roomy("agent"))
            .await
            .expect("second"),
        ReplayCheck::Replayed
    );
    assert_eq!(
        cache
            .check_and_store(&jti, expires.plus_seconds(600), roomy("agent"))
            .await
            .expect("third"),
        ReplayCheck::Replayed
    );
    assert_eq!(
        cache
            .check_and_store(&other, expires, roomy("agent"))
            .await
            .expect("other"),
        ReplayCheck::Fresh
    );
}

/// Another replica sees the id as used.
pub async fn replay_is_shared_between_clients(f: &dyn ReplayCacheFixture) {
    let jti = unique_jti();
    let expires = Timestamp::now().plus_seconds(60);
    assert_eq!(
        f.cache()
            .check_and_store(&jti, expires, roomy("agent"))
            .await
            .expect("a"),
        ReplayCheck::Fresh
    );
    assert_eq!(
        f.second_client()
            .check_and_store(&jti, expires, roomy("agent"))
            .await
            .expect("b"),
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
        async move { cache.check_and_store(&jti, expires, roomy("agent")).await }
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
        cache
            .check_and_store(&jti, expires, roomy("agent"))
            .await
            .expect("first"),
        ReplayCheck::Fresh
    );
    assert_eq!(
        cache
            .check_and_store(&jti, expires, roomy("agent"))
            .await
            .expect("again"),
        ReplayCheck::Replayed
    );
    eventually(Duration::from_secs(10), || {
        let (cache, jti) = (cache.clone(), jti.clone());
        async move {
            cache
                .check_and_store(&jti, Timestamp::now().plus_seconds(60), roomy("agent"))
                .await
                .expect("check")
                == ReplayCheck::Fresh
        }
    })
    .await;
}

/// A holder that has had its quota of ids recorded gets `OverQuota` for the next one; that
/// id is not recorded (another holder can still present it as fresh) and other holders are
/// served as before.
pub async fn replay_quota_stops_one_holder_and_records_nothing(f: &dyn ReplayCacheFixture) {
    let cache = f.cache();
    let (flooder, bystander) = (unique_holder(), unique_holder());
    let quota = IdQuota {
        holder: &flooder,
        ids: 5,
        window_seconds: 180,
    };
    let expires = Timestamp::now().plus_seconds(60);
    for n in 0..5 {
        assert_eq!(
            cache
                .check_and_store(&unique_jti(), expires, quota)
                .await
                .expect("within quota"),
            ReplayCheck::Fresh,
            "id {n}"
        );
    }
    let refused = unique_jti();
    assert_eq!(
        cache
            .check_and_store(&refused, expires, quota)
            .await
            .expect("over quota"),
        ReplayCheck::OverQuota
    );
    assert_eq!(
        f.second_client()
            .check_and_store(&unique_jti(), expires, quota)
            .await
            .expect("on another replica too"),
        ReplayCheck::OverQuota
    );
    let bystander_quota = IdQuota {
        holder: &bystander,
        ..quota
    };
    assert_eq!(
        cache
            .check_and_store(&refused, expires, bystander_quota)
            .await
            .expect("the refused id was not recorded"),
        ReplayCheck::Fresh
    );
    for _ in 0..4 {
        assert_eq!(
            cache
                .check_and_store(&unique_jti(), expires, bystander_quota)
                .await
                .expect("another holder"),
            ReplayCheck::Fresh
        );
    }
}

/// A replayed id is reported as replayed even when its holder is over its quota.
pub async fn replay_quota_does_not_hide_a_replay(f: &dyn ReplayCacheFixture) {
    let cache = f.cache();
    let holder = unique_holder();
    let quota = IdQuota {
        holder: &holder,
        ids: 2,
        window_seconds: 180,
    };
    let expires = Timestamp::now().plus_seconds(60);
    let first = unique_jti();
    assert_eq!(
        cache.check_and_store(&first, expires, quota).await.expect("first"),
        ReplayCheck::Fresh
    );
    assert_eq!(
        cache
            .check_and_store(&unique_jti(), expires, quota)
            .await
            .expect("second"),
        ReplayCheck::Fresh
    );
    assert_eq!(
        cache.check_and_store(&first, expires, quota).await.expect("replay"),
        ReplayCheck::Replayed
    );
}

/// Two hundred new ids of one holder at once, on two clients, against a quota of 50: exactly
/// 50 are recorded.
pub async fn replay_quota_holds_under_concurrency(f: &dyn ReplayCacheFixture) {
    let clients = [f.cache(), f.second_client()];
    let holder = unique_holder();
    let expires = Timestamp::now().plus_seconds(60);
    let results = race_all(200, |i| {
        let (cache, holder) = (clients[i % 2].clone(), holder.clone());
        async move {
            let quota = IdQuota {
                holder: &holder,
                ids: 50,
                window_seconds: 180,
            };
            cache.check_and_store(&unique_jti(), expires, quota).await
        }
    })
    .await;
    let fresh = results.iter().filter(|r| matches!(r, Ok(ReplayCheck::Fresh))).count();
    let over = results
        .iter()
        .filter(|r| matches!(r, Ok(ReplayCheck::OverQuota)))
        .count();
    assert_eq!((fresh, over), (50, 150), "{results:?}");
}

/// Once its window has passed and its ids have expired, a holder records again.
pub async fn replay_quota_makes_room_again_after_its_window(f: &dyn ReplayCacheFixture) {
    let cache = f.cache();
    let holder = unique_holder();
    let quota = IdQuota {
        holder: &holder,
        ids: 3,
        window_seconds: 1,
    };
    for _ in 0..3 {
        assert_eq!(
            cache
                .check_and_store(&unique_jti(), Timestamp::now().plus_seconds(1), quota)
                .await
                .expect("within quota"),
            ReplayCheck::Fresh
        );
    }
    assert_eq!(
        cache
            .check_and_store(&unique_jti(), Timestamp::now().plus_seconds(1), quota)
            .await
            .expect("over"),
        ReplayCheck::OverQuota
    );
    eventually(Duration::from_secs(10), || {
        let (cache, holder) = (cache.clone(), holder.clone());
        async move {
            let quota = IdQuota {
                holder: &holder,
                ids: 3,
                window_seconds: 1,
            };
            cache
                .check_and_store(&unique_jti(), Timestamp::now().plus_seconds(1), quota)
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
            replay_quota_stops_one_holder_and_records_nothing,
            replay_quota_does_not_hide_a_replay,
            replay_quota_holds_under_concurrency,
            replay_quota_makes_room_again_after_its_window,
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
