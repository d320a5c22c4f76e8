//! The lease port: short exclusive holds on a named piece of work, shared by every replica
//! (one device-code poll at a time; one token refresh per connection).

use std::time::Duration;

use async_trait::async_trait;

use crate::StateError;

/// Named leases, each held by at most one holder until it is released or its time runs out.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease `name` for `holder` (a random token naming this attempt) for `ttl`,
    /// unless another holder has it. Among concurrent callers on any replica, MUST give it to
    /// exactly one. A lease whose time has run out MUST be free again (a holder that died
    /// releases by expiry).
    async fn acquire(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StateError>;

    /// Releases the lease if `holder` still has it (never another holder's, even after this
    /// holder's time ran out and someone else took it); returns whether it did.
    async fn release(&self, name: &str, holder: &str) -> Result<bool, StateError>;
}
