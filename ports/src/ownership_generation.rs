//! The ownership generation: one counter that every replica reads and that every write able to
//! change who owns an identity raises, so that a replica may remember ownership between
//! requests and still never answer from state another replica has already changed.
//!
//! The protocol (docs/architecture.md, "Remembering ownership"): a writer raises the
//! generation before its database commit and again after it; a reader reads the generation,
//! then the database, and keeps what it read tagged with the generation it read first; a
//! remembered answer is used only while the generation is still the one it is tagged with.

use async_trait::async_trait;

use crate::StateError;

/// A shared, monotonic counter of ownership changes.
#[async_trait]
pub trait OwnershipGeneration: Send + Sync {
    /// The current generation: at least what the latest completed [`bump`](Self::bump) of
    /// any client returned (0 before the first). MUST fail with
    /// [`StateError::Unavailable`] when a remote backend does not answer, never guess: a
    /// reader that cannot learn the generation must not trust what it remembers.
    async fn current(&self) -> Result<u64, StateError>;

    /// Raises the generation by one and returns the new value. MUST be atomic across
    /// clients: n bumps, however concurrent and from however many clients, raise it by
    /// exactly n, each returning a different value.
    async fn bump(&self) -> Result<u64, StateError>;
}
