//! Health of in-process state: there is nothing to reach, so it always answers.

use async_trait::async_trait;
use authsome_ports::{StateError, StateHealth};

/// The health of state held in this process.
#[derive(Debug, Default, Clone, Copy)]
pub struct InProcessHealth;

#[async_trait]
impl StateHealth for InProcessHealth {
    async fn ping(&self) -> Result<(), StateError> {
        Ok(())
    }

    fn probed_backend(&self) -> Option<&'static str> {
        None
    }
}
