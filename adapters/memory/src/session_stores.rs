//! Login sessions, claim tokens, browser sessions and leases in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authsome_domain::{
    AuthSession, AuthSessionId, BrowserSession, BrowserSessionToken, IdentityHandle, PendingClaim, PrincipalId,
    Timestamp,
};
use authsome_ports::{
    AuthSessionStore, BrowserSessionStore, LeaseStore, OPEN_SESSIONS_PER_OWNER, PendingClaimStore, StateError,
};
use sha2::{Digest, Sha256};

use crate::ExpiringMap;

fn full(_: crate::Full) -> StateError {
    StateError::Full
}

/// Login sessions of this process.
pub struct MemoryAuthSessionStore {
    sessions: ExpiringMap<AuthSessionId, AuthSession>,
    by_oauth_state: ExpiringMap<String, AuthSessionId>,
    /// When each scheduled poll is due (Unix seconds), at most `capacity` of them.
    polls: Mutex<HashMap<AuthSessionId, i64>>,
    /// Each owner's sessions with their expiry (ids of ended sessions are pruned lazily). Its
    /// lock is held across a whole save, so that concurrent starts cannot exceed the bound.
    owners: Mutex<HashMap<String, Vec<(Timestamp, AuthSessionId)>>>,
    capacity: usize,
}

impl MemoryAuthSessionStore {
    /// An empty store holding at most `capacity` sessions.
    pub fn new(capacity: usize) -> Self {
        Self {
            sessions: ExpiringMap::new(capacity),
            by_oauth_state: ExpiringMap::new(capacity),
            polls: Mutex::new(HashMap::new()),
            owners: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn owners(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<(Timestamp, AuthSessionId)>>> {
        // Each change leaves every list valid (ids of ended sessions are allowed in it).
        self.owners.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn store(&self, session: &AuthSession) -> Result<(), StateError> {
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

    fn remove(&self, id: &AuthSessionId) -> bool {
        let removed = self.sessions.remove(id);
        if let Some(state) = removed.as_ref().and_then(|s| s.oauth_state.as_ref()) {
            self.by_oauth_state.remove(state);
        }
        self.polls().remove(id);
        removed.is_some()
    }

    fn polls(&self) -> std::sync::MutexGuard<'_, HashMap<AuthSessionId, i64>> {
        // Each change is one insert or remove: a poisoned lock holds nothing half-made.
        self.polls.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl AuthSessionStore for MemoryAuthSessionStore {
    async fn save(&self, session: &AuthSession) -> Result<(), StateError> {
        let Some(owner) = session.owner() else {
            return self.store(session);
        };
        let mut owners = self.owners();
        let is_new = !self.sessions.contains(&session.id);
        self.store(session)?;
        if !is_new {
            return Ok(());
        }
        if owners.len() >= self.capacity && !owners.contains_key(&owner) {
            owners.retain(|_, open| open.iter().any(|(_, id)| self.sessions.contains(id)));
        }
        let open = owners.entry(owner).or_default();
        open.retain(|(_, id)| self.sessions.contains(id));
        open.push((session.expires_at, session.id.clone()));
        while open.len() > OPEN_SESSIONS_PER_OWNER {
            let Some(first) = open
                .iter()
                .enumerate()
                .filter(|(_, (_, id))| *id != session.id)
                .min_by_key(|(_, (expires_at, _))| *expires_at)
                .map(|(index, _)| index)
            else {
                break;
            };
            let (_, evicted) = open.swap_remove(first);
            self.remove(&evicted);
        }
        Ok(())
    }

    async fn get(&self, id: &AuthSessionId) -> Result<Option<AuthSession>, StateError> {
        Ok(self.sessions.get(id))
    }

    async fn delete(&self, id: &AuthSessionId) -> Result<bool, StateError> {
        Ok(self.remove(id))
    }

    async fn take_by_oauth_state(&self, state: &str) -> Result<Option<AuthSession>, StateError> {
        // Removing the index entry is the single use: one caller gets the id.
        let Some(id) = self.by_oauth_state.remove(&state.to_owned()) else {
            return Ok(None);
        };
        // The index may point at a session whose state has changed since.
        Ok(self
            .sessions
            .get(&id)
            .filter(|s| s.oauth_state.as_deref() == Some(state)))
    }

    async fn schedule_poll(&self, id: &AuthSessionId, due: Timestamp) -> Result<(), StateError> {
        let mut polls = self.polls();
        if polls.len() >= self.capacity && !polls.contains_key(id) {
            // Forget polls of sessions that no longer exist before refusing.
            polls.retain(|id, _| self.sessions.get(id).is_some());
            if polls.len() >= self.capacity {
                return Err(StateError::Full);
            }
        }
        polls.insert(id.clone(), due.unix_seconds());
        Ok(())
    }

    async fn due_polls(&self, now: Timestamp, limit: usize) -> Result<Vec<AuthSessionId>, StateError> {
        let now = now.unix_seconds();
        let mut due: Vec<(i64, AuthSessionId)> = self
            .polls()
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, at)| (*at, id.clone()))
            .collect();
        due.sort();
        Ok(due.into_iter().take(limit).map(|(_, id)| id).collect())
    }

    async fn unschedule_poll(&self, id: &AuthSessionId) -> Result<(), StateError> {
        self.polls().remove(id);
        Ok(())
    }
}

/// Leases of this process.
pub struct MemoryLeaseStore {
    leases: Mutex<HashMap<String, (String, Instant)>>,
    capacity: usize,
}

impl MemoryLeaseStore {
    /// No leases, at most `capacity` held at once.
    pub fn new(capacity: usize) -> Self {
        Self {
            leases: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }
}

#[async_trait]
impl LeaseStore for MemoryLeaseStore {
    async fn acquire(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StateError> {
        let now = Instant::now();
        let mut leases = self.leases.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, until)) = leases.get(name)
            && *until > now
        {
            return Ok(false);
        }
        if leases.len() >= self.capacity {
            leases.retain(|_, (_, until)| *until > now);
            if leases.len() >= self.capacity {
                return Err(StateError::Full);
            }
        }
        leases.insert(name.to_owned(), (holder.to_owned(), now + ttl));
        Ok(true)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<bool, StateError> {
        let now = Instant::now();
        let mut leases = self.leases.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match leases.get(name) {
            Some((held_by, until)) if held_by == holder && *until > now => {
                leases.remove(name);
                Ok(true)
            }
            _ => Ok(false),
        }
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
