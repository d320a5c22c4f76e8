//! The error every runtime-state and vault-blob port returns.

use thiserror::Error;

use crate::BoxError;

/// What a runtime-state or blob-store operation could not do.
#[derive(Debug, Error)]
pub enum StateError {
    /// The backend did not answer (Redis down, disk unreadable): callers fail closed, HTTP 503.
    #[error("the state backend is unavailable")]
    Unavailable(#[source] BoxError),
    /// A stored item is not what it should be (written by something else, or damaged).
    #[error("stored state is corrupt: {0}")]
    Corrupt(String),
    /// The caller passed a name the store cannot hold (empty, too long, reserved separator).
    #[error("invalid state key: {0}")]
    InvalidKey(String),
    /// An in-memory store reached its size bound and has nothing expired to drop.
    #[error("the in-memory state store is full")]
    Full,
}

impl StateError {
    /// Wraps any backend error as `Unavailable`.
    pub fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(error))
    }
}
