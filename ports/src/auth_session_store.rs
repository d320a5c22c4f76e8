//! The login (auth) session store port.

use async_trait::async_trait;
use authsome_domain::{AuthSession, AuthSessionId};

use crate::StateError;

/// Login sessions, shared by every replica, each living until its `expires_at`.
#[async_trait]
pub trait AuthSessionStore: Send + Sync {
    /// Stores the session (new or changed) until its `expires_at`, replacing any previous
    /// version, and indexes it by its `oauth_state` when set.
    /// Secret inputs (`session.secrets`) MUST NOT reach a shared backend in clear text.
    async fn save(&self, session: &AuthSession) -> Result<(), StateError>;

    /// The session; MUST return `Ok(None)` when it is unknown or has expired, and MUST return
    /// its secrets intact.
    async fn get(&self, id: &AuthSessionId) -> Result<Option<AuthSession>, StateError>;

    /// Removes the session and its OAuth-state index entry; MUST return whether it existed.
    async fn delete(&self, id: &AuthSessionId) -> Result<bool, StateError>;

    /// The live session whose `oauth_state` is `state`; `Ok(None)` when none.
    async fn find_by_oauth_state(&self, state: &str) -> Result<Option<AuthSession>, StateError>;
}
