//! The shared contract suites (feature `contract`).
//!
//! Each case is a `pub async fn case(ports)` that panics when the port breaks its rustdoc
//! contract. Adapters do not call the cases one by one: they invoke the suite macro (for
//! example [`registry_contract_tests!`](crate::registry_contract_tests)) with a fixture
//! constructor, which expands to one `#[tokio::test]` per case, each on a fresh, isolated
//! backend. Adding a case here adds it to every adapter at once.

pub mod concurrency;
pub mod reference_data;
pub mod registries;
pub mod sample;
