//! The login (auth) session store port.

use async_trait::async_trait;
use authsome_domain::{AuthSession, AuthSessionId, Timestamp};

use crate::StateError;

/// The most login sessions one owner ([`AuthSession::owner`]) keeps open at once. A person
/// finishes a login in minutes; 32 open at once is far beyond any real use, and bounds what a
/// flood of login starts by one identity (within its quota of signed requests) can hold: about
/// 32 × 4 KiB, instead of hundreds of thousands of sessions.
pub const OPEN_SESSIONS_PER_OWNER: usize = 32;

/// Login sessions, shared by every replica, each living until its `expires_at`.
#[async_trait]
pub trait AuthSessionStore: Send + Sync {
    /// Stores the session (new or changed) until its `expires_at`, replacing any previous
    /// version, and indexes it by its `oauth_state` when set.
    /// Secret inputs (`session.secrets`) MUST NOT reach a shared backend in clear text.
    ///
    /// Saving a *new* session of an owner that already has [`OPEN_SESSIONS_PER_OWNER`] live
    /// sessions MUST remove that owner's sessions that expire first (never the one being
    /// saved) until that many remain, as [`delete`](Self::delete) would, atomically on every
    /// replica: however many starts race, no owner ever keeps more. Saving an existing session
    /// again removes nothing.
    async fn save(&self, session: &AuthSession) -> Result<(), StateError>;

    /// The session; MUST return `Ok(None)` when it is unknown or has expired, and MUST return
    /// its secrets intact.
    async fn get(&self, id: &AuthSessionId) -> Result<Option<AuthSession>, StateError>;

    /// Removes the session, its OAuth-state index entry and any scheduled poll; MUST return
    /// whether it existed.
    async fn delete(&self, id: &AuthSessionId) -> Result<bool, StateError>;

    /// Takes the OAuth `state` out of the index and returns the live session it named, whose
    /// `oauth_state` is still `state`. A state is good once: later calls with it, and all but
    /// one of concurrent calls on any replica, MUST return `Ok(None)`. So a replayed or forged
    /// callback finds nothing.
    async fn take_by_oauth_state(&self, state: &str) -> Result<Option<AuthSession>, StateError>;

    /// Schedules the session's next poll (device-code logins) at `due`, replacing an earlier
    /// schedule.
    async fn schedule_poll(&self, id: &AuthSessionId, due: Timestamp) -> Result<(), StateError>;

    /// Up to `limit` sessions whose poll is due at `now`, earliest first, on every replica's
    /// schedule (a poll does not depend on the replica that scheduled it staying up).
    async fn due_polls(&self, now: Timestamp, limit: usize) -> Result<Vec<AuthSessionId>, StateError>;

    /// Removes the session's scheduled poll; nothing when there is none.
    async fn unschedule_poll(&self, id: &AuthSessionId) -> Result<(), StateError>;
}
