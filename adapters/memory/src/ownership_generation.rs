//! The ownership generation of a single process: an atomic counter (one server has no other
//! replica to tell).

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use authsome_ports::{OwnershipGeneration, StateError};

/// [`OwnershipGeneration`] in this process.
#[derive(Debug, Default)]
pub struct InProcessOwnershipGeneration(AtomicU64);

#[async_trait]
impl OwnershipGeneration for InProcessOwnershipGeneration {
    async fn current(&self) -> Result<u64, StateError> {
        Ok(self.0.load(Ordering::Acquire))
    }

    async fn bump(&self) -> Result<u64, StateError> {
        Ok(self.0.fetch_add(1, Ordering::AcqRel) + 1)
    }
}
