//! Login sessions, claim tokens and browser sessions in memory.

use async_trait::async_trait;
use authsome_domain::{
    AuthSession, AuthSessionId, BrowserSession, BrowserSessionToken, IdentityHandle, PendingClaim, PrincipalId,
    Timestamp,
};
use authsome_ports::{AuthSessionStore, BrowserSessionStore, PendingClaimStore, StateError};
use sha2::{Digest, Sha256};

use crate::ExpiringMap;

fn full(_: crate::Full) -> StateError {
    StateError::Full
}

/// Login sessions of this process.
pub struct MemoryAuthSessionStore {
    sessions: ExpiringMap<AuthSessionId, AuthSession>,
    by_oauth_state: ExpiringMap<String, AuthSessionId>,
}

impl MemoryAuthSessionStore {
    /// An empty store holding at most `capacity` sessions.
    pub fn new(capacity: usize) -> Self {
        Self {
            sessions: ExpiringMap::new(capacity),
            by_oauth_state: ExpiringMap::new(capacity),
        }
    }
}

#[async_trait]
impl AuthSessionStore for MemoryAuthSessionStore {
    async fn save(&self, session: &AuthSession) -> Result<(), StateError> {
        let mut stored = session.clone();
        stored.updated_at = Timestamp::now();
        if let Some(state) = &session.oauth_state {
            self.by_oauth_state
                .insert(state.clone(), session.id.clone(), session.expires_at)
                .map_err(full)?;
        }
        self.sessions
            .insert(session.id.clone(), stored, session.expires_at)
            .map_err(full)
    }

    async fn get(&self, id: &AuthSessionId) -> Result<Option<AuthSession>, StateError> {
        Ok(self.sessions.get(id))
    }

    async fn delete(&self, id: &AuthSessionId) -> Result<bool, StateError> {
        let removed = self.sessions.remove(id);
        if let Some(state) = removed.as_ref().and_then(|s| s.oauth_state.as_ref()) {
            self.by_oauth_state.remove(state);
        }
        Ok(removed.is_some())
    }

    async fn find_by_oauth_state(&self, state: &str) -> Result<Option<AuthSession>, StateError> {
        let Some(id) = self.by_oauth_state.get(&state.to_owned()) else {
            return Ok(None);
        };
        // The index may point at a session whose state has changed since.
        Ok(self
            .sessions
            .get(&id)
            .filter(|s| s.oauth_state.as_deref() == Some(state)))
    }
}

/// Claim tokens of this process.
pub struct MemoryPendingClaimStore {
    claims: ExpiringMap<String, PendingClaim>,
}

impl MemoryPendingClaimStore {
    /// An empty store holding at most `capacity` tokens.
    pub fn new(capacity: usize) -> Self {
        Self {
            claims: ExpiringMap::new(capacity),
        }
    }
}

#[async_trait]
impl PendingClaimStore for MemoryPendingClaimStore {
    async fn create(&self, identity: &IdentityHandle, ttl_seconds: i64) -> Result<PendingClaim, StateError> {
        let claim = PendingClaim::new(identity.clone(), ttl_seconds);
        self.claims
            .insert(claim.token.clone(), claim.clone(), claim.expires_at)
            .map_err(full)?;
        Ok(claim)
    }

    async fn get(&self, token: &str) -> Result<Option<PendingClaim>, StateError> {
        Ok(self.claims.get(&token.to_owned()))
    }

    async fn consume(&self, token: &str) -> Result<Option<PendingClaim>, StateError> {
        Ok(self.claims.remove(&token.to_owned()))
    }
}

/// Browser sessions of this process, keyed by the SHA-256 of their token.
pub struct MemoryBrowserSessionStore {
    sessions: ExpiringMap<[u8; 32], BrowserSession>,
}

impl MemoryBrowserSessionStore {
    /// An empty store holding at most `capacity` sessions.
    pub fn new(capacity: usize) -> Self {
        Self {
            sessions: ExpiringMap::new(capacity),
        }
    }
}

fn token_digest(token: &BrowserSessionToken) -> [u8; 32] {
    Sha256::digest(token.expose().as_bytes()).into()
}

#[async_trait]
impl BrowserSessionStore for MemoryBrowserSessionStore {
    async fn create(&self, session: &BrowserSession) -> Result<BrowserSessionToken, StateError> {
        let token = BrowserSessionToken::generate();
        self.sessions
            .insert(token_digest(&token), session.clone(), session.expires_at)
            .map_err(full)?;
        Ok(token)
    }

    async fn get(&self, token: &BrowserSessionToken) -> Result<Option<BrowserSession>, StateError> {
        Ok(self.sessions.get(&token_digest(token)))
    }

    async fn delete(&self, token: &BrowserSessionToken) -> Result<bool, StateError> {
        Ok(self.sessions.remove(&token_digest(token)).is_some())
    }

    async fn delete_for_principal(&self, principal_id: &PrincipalId) -> Result<u64, StateError> {
        Ok(self.sessions.remove_where(|s| s.principal_id == *principal_id) as u64)
    }
}

/// Attempt counters of this process, in fixed windows.
pub struct MemoryRateLimiter {
    counts: ExpiringMap<String, u64>,
    // Serialises read-increment-write so that concurrent hits get distinct counts.
    lock: std::sync::Mutex<()>,
}

impl MemoryRateLimiter {
    /// An empty limiter tracking at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            counts: ExpiringMap::new(capacity),
            lock: std::sync::Mutex::new(()),
        }
    }
}

#[async_trait]
impl authsome_ports::RateLimiter for MemoryRateLimiter {
    async fn hit(&self, key: &str, window_seconds: i64) -> Result<u64, StateError> {
        let _guard = self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = key.to_owned();
        let count = match self.counts.get_with_deadline(&key) {
            Some((count, deadline)) => {
                self.counts.insert(key, count + 1, deadline).map_err(full)?;
                count + 1
            }
            None => {
                self.counts
                    .insert(key, 1, Timestamp::now().plus_seconds(window_seconds))
                    .map_err(full)?;
                1
            }
        };
        Ok(count)
    }

    async fn count(&self, key: &str) -> Result<u64, StateError> {
        Ok(self.counts.get(&key.to_owned()).unwrap_or(0))
    }

    async fn reset(&self, key: &str) -> Result<(), StateError> {
        self.counts.remove(&key.to_owned());
        Ok(())
    }
}
