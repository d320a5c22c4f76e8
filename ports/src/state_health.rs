//! Liveness of the runtime-state backend, for readiness probes.

use async_trait::async_trait;

use crate::StateError;

/// Whether the backend behind the runtime-state ports answers.
#[async_trait]
pub trait StateHealth: Send + Sync {
    /// One round trip to the backend. MUST fail with [`StateError::Unavailable`] when a
    /// remote backend does not answer; an in-process backend always answers.
    async fn ping(&self) -> Result<(), StateError>;

    /// The backend's name as readiness reports it (`redis`), or `None` for an in-process
    /// backend that has nothing to probe.
    fn probed_backend(&self) -> Option<&'static str>;
}
