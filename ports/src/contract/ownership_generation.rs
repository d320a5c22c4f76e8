//! Contract cases for [`OwnershipGeneration`].

use std::sync::Arc;

use crate::OwnershipGeneration;
use crate::contract::concurrency::race_all;

/// A fresh, isolated generation counter; dropping it cleans the backend up.
pub trait OwnershipGenerationFixture {
    /// The counter under test.
    fn generation(&self) -> Arc<dyn OwnershipGeneration>;
    /// A second, independent client of the same counter (another replica).
    fn generation_second_client(&self) -> Arc<dyn OwnershipGeneration>;
}

/// A bump returns the next value, which `current` then reports; it starts at 0.
pub async fn generation_starts_at_zero_and_bumps_by_one(f: &dyn OwnershipGenerationFixture) {
    let generation = f.generation();
    assert_eq!(generation.current().await.expect("current"), 0);
    assert_eq!(generation.bump().await.expect("bump"), 1);
    assert_eq!(generation.bump().await.expect("bump"), 2);
    assert_eq!(generation.current().await.expect("current"), 2);
}

/// What one client bumped, another reads at once (a replica sees another's change).
pub async fn generation_is_shared_between_clients(f: &dyn OwnershipGenerationFixture) {
    let (first, second) = (f.generation(), f.generation_second_client());
    let before = second.current().await.expect("current");
    let bumped = first.bump().await.expect("bump");
    assert_eq!(bumped, before + 1);
    assert_eq!(second.current().await.expect("current"), bumped);
    assert_eq!(second.bump().await.expect("bump"), bumped + 1);
    assert_eq!(first.current().await.expect("current"), bumped + 1);
}

/// Concurrent bumps from two clients each count, and each returns its own value.
pub async fn generation_concurrent_bumps_all_count(f: &dyn OwnershipGenerationFixture) {
    const BUMPS: usize = 40;
    let clients = [f.generation(), f.generation_second_client()];
    let before = clients[0].current().await.expect("current");
    let mut values = race_all(BUMPS, |i| {
        let client = clients[i % 2].clone();
        async move { client.bump().await.expect("bump") }
    })
    .await;
    values.sort_unstable();
    let expected: Vec<u64> = (before + 1..=before + BUMPS as u64).collect();
    assert_eq!(values, expected, "each bump counts once and returns its own value");
    assert_eq!(clients[1].current().await.expect("current"), before + BUMPS as u64);
}

/// Expands to one `#[tokio::test]` per ownership-generation contract case for `$fixture`.
#[macro_export]
macro_rules! ownership_generation_contract_tests {
    ($fixture:path) => {
        $crate::ownership_generation_contract_tests!(@cases $fixture;
            generation_starts_at_zero_and_bumps_by_one,
            generation_is_shared_between_clients,
            generation_concurrent_bumps_all_count,
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture().await;
                $crate::contract::ownership_generation::$case(&fixture).await;
            }
        )*
    };
}
