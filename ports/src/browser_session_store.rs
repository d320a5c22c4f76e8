//! The browser session port.

use async_trait::async_trait;
use authsome_domain::{BrowserSession, BrowserSessionToken, PrincipalId};

use crate::StateError;

/// Server-side browser sessions, shared by every replica.
#[async_trait]
pub trait BrowserSessionStore: Send + Sync {
    /// Stores `session` under a new token until its `expires_at` and returns the token.
    /// Stores MUST NOT keep the token itself where reading the store would reveal it.
    async fn create(&self, session: &BrowserSession) -> Result<BrowserSessionToken, StateError>;

    /// The live session of `token`; `Ok(None)` when unknown, ended or expired.
    async fn get(&self, token: &BrowserSessionToken) -> Result<Option<BrowserSession>, StateError>;

    /// Ends one session (logout); MUST return whether it was live.
    async fn delete(&self, token: &BrowserSessionToken) -> Result<bool, StateError>;

    /// Ends every session of the principal (password change); returns how many ended.
    async fn delete_for_principal(&self, principal_id: &PrincipalId) -> Result<u64, StateError>;
}
