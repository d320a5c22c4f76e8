//! The shared contract suites (feature `contract`).
//!
//! Each case is a `pub async fn case(ports)` that panics when the port breaks its rustdoc
//! contract. Adapters do not call the cases one by one: they invoke the suite macro (for
//! example [`registry_contract_tests!`](crate::registry_contract_tests)) with a fixture
//! constructor, which expands to one `#[tokio::test]` per case, each on a fresh, isolated
//! backend. Adding a case here adds it to every adapter at once.

pub mod blob_store;
pub mod concurrency;
pub mod error_classification;
pub mod ownership_generation;
pub mod reference_data;
pub mod registries;
pub mod replay_cache;
pub mod sample;
pub mod session_stores;

/// Polls `condition` until it holds, failing the case after `deadline`. Used for time-to-live
/// cases instead of a fixed sleep, so that a fast backend passes fast.
pub async fn eventually<Fut>(deadline: std::time::Duration, condition: impl Fn() -> Fut)
where
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while !condition().await {
        assert!(start.elapsed() < deadline, "condition did not hold within {deadline:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
