//! Login sessions, claim tokens and browser sessions on Redis.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::RedisConnection;
use async_trait::async_trait;
use authsome_domain::vault_crypto::{EnvelopeVersion, VaultCipher};
use authsome_domain::{
    AuthSession, AuthSessionId, AuthSessionState, BrowserSession, BrowserSessionToken, ConnectionName, Email,
    IdentityHandle, PendingClaim, PrincipalId, ProviderName, SessionSecrets, Timestamp,
};
use authsome_ports::{AuthSessionStore, BrowserSessionStore, OPEN_SESSIONS_PER_OWNER, PendingClaimStore, StateError};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{RedisKeys, unavailable};

/// Seconds left until `expires_at`, at least 1 (Redis refuses a zero expiry).
fn ttl_seconds(expires_at: Timestamp) -> i64 {
    (expires_at.unix_seconds() - Timestamp::now().unix_seconds()).max(1)
}

fn corrupt(what: &str) -> impl Fn(serde_json::Error) -> StateError + '_ {
    move |e| StateError::Corrupt(format!("stored {what} is unreadable: {e}"))
}

/// The associated-data collection for sealed session secrets.
const SEALED_SECRETS_COLLECTION: &str = "authsome:auth-session";

/// The stored form of a login session: the reference's field names, with the secret inputs
/// sealed (AES-256-GCM-SIV bound to the session id) instead of sitting in the payload.
#[derive(Serialize, Deserialize)]
struct StoredAuthSession {
    session_id: AuthSessionId,
    provider: ProviderName,
    identity: Option<IdentityHandle>,
    principal_id: Option<PrincipalId>,
    connection_name: ConnectionName,
    flow_type: String,
    state: AuthSessionState,
    status_message: Option<String>,
    error_message: Option<String>,
    oauth_state: Option<String>,
    payload: Map<String, Value>,
    sealed_secrets: Option<Map<String, Value>>,
    created_at: Timestamp,
    updated_at: Timestamp,
    expires_at: Timestamp,
}

/// Saves a session of an owner and keeps the owner's open sessions within the bound, in one
/// step on the server (so racing starts on any number of replicas cannot exceed it).
///
/// KEYS: the session, the owner's sorted set, the OAuth-state index entry, the session's
/// state entry, the device-poll schedule. ARGV: the stored text, the TTL, the session id, its
/// expiry and now (Unix seconds), the bound, the OAuth state (empty when none), and the key
/// prefixes of sessions, session states and OAuth states (to remove an evicted session's
/// entries). A session saved again (already in the set) evicts nothing. Returns how many
/// sessions were evicted.
const SAVE_OWNED_SESSION: &str = r"
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
if ARGV[7] ~= '' then
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ttl)
  redis.call('SET', KEYS[4], ARGV[7], 'EX', ttl)
end
local added = redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
if redis.call('TTL', KEYS[2]) < ttl then
  redis.call('EXPIRE', KEYS[2], ttl)
end
if added == 0 then
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
local limit = tonumber(ARGV[6])
if redis.call('ZCARD', KEYS[2]) <= limit then
  return 0
end
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if redis.call('EXISTS', ARGV[8] .. id) == 0 then
    redis.call('ZREM', KEYS[2], id)
  end
end
local excess = redis.call('ZCARD', KEYS[2]) - limit
local evicted = 0
if excess > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, excess)) do
    if evicted < excess and id ~= ARGV[3] then
      redis.call('ZREM', KEYS[2], id)
      redis.call('DEL', ARGV[8] .. id)
      local state = redis.call('GET', ARGV[9] .. id)
      if state then
        redis.call('DEL', ARGV[10] .. state)
      end
      redis.call('DEL', ARGV[9] .. id)
      redis.call('ZREM', KEYS[5], id)
      evicted = evicted + 1
    end
  end
end
return evicted
";

/// Login sessions shared by every replica.
pub struct RedisAuthSessionStore {
    connection: RedisConnection,
    keys: RedisKeys,
    cipher: Arc<VaultCipher>,
    save_owned: redis::Script,
}

impl RedisAuthSessionStore {
    /// A session store on `connection` that seals secrets with `cipher`.
    pub fn new(connection: RedisConnection, keys: RedisKeys, cipher: Arc<VaultCipher>) -> Self {
        Self {
            connection,
            keys,
            cipher,
            save_owned: redis::Script::new(SAVE_OWNED_SESSION),
        }
    }

    fn encode(&self, session: &AuthSession) -> Result<String, StateError> {
        let sealed_secrets = if session.secrets.is_empty() {
            None
        } else {
            let plain: BTreeMap<&str, &str> = session
                .secrets
                .iter()
                .map(|(k, v)| (k.as_str(), v.expose_secret()))
                .collect();
            let text = zeroize::Zeroizing::new(serde_json::to_string(&plain).map_err(corrupt("session secrets"))?);
            let sealed = self
                .cipher
                .seal_with(
                    EnvelopeVersion::V2,
                    SEALED_SECRETS_COLLECTION,
                    session.id.as_str(),
                    &text,
                )
                .map_err(|e| StateError::Corrupt(e.to_string()))?;
            Some(sealed)
        };
        let stored = StoredAuthSession {
            session_id: session.id.clone(),
            provider: session.provider.clone(),
            identity: session.identity.clone(),
            principal_id: session.principal_id.clone(),
            connection_name: session.connection_name.clone(),
            flow_type: session.flow_type.clone(),
            state: session.state,
            status_message: session.status_message.clone(),
            error_message: session.error_message.clone(),
            oauth_state: session.oauth_state.clone(),
            payload: session.payload.clone(),
            sealed_secrets,
            created_at: session.created_at,
            updated_at: Timestamp::now(),
            expires_at: session.expires_at,
        };
        serde_json::to_string(&stored).map_err(corrupt("login session"))
    }

    fn decode(&self, text: &str) -> Result<AuthSession, StateError> {
        let stored: StoredAuthSession = serde_json::from_str(text).map_err(corrupt("login session"))?;
        let mut secrets = SessionSecrets::default();
        if let Some(sealed) = &stored.sealed_secrets {
            let text = self
                .cipher
                .open(SEALED_SECRETS_COLLECTION, stored.session_id.as_str(), sealed)
                .map_err(|e| StateError::Corrupt(format!("session secrets: {e}")))?;
            let plain: BTreeMap<String, String> =
                serde_json::from_str(text.expose_secret()).map_err(corrupt("session secrets"))?;
            for (name, value) in plain {
                secrets.insert(name, SecretString::from(value));
            }
        }
        Ok(AuthSession {
            id: stored.session_id,
            provider: stored.provider,
            identity: stored.identity,
            principal_id: stored.principal_id,
            connection_name: stored.connection_name,
            flow_type: stored.flow_type,
            state: stored.state,
            status_message: stored.status_message,
            error_message: stored.error_message,
            oauth_state: stored.oauth_state,
            payload: stored.payload,
            secrets,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            expires_at: stored.expires_at,
        })
    }
}

#[async_trait]
impl AuthSessionStore for RedisAuthSessionStore {
    async fn save(&self, session: &AuthSession) -> Result<(), StateError> {
        let ttl = ttl_seconds(session.expires_at);
        let text = self.encode(session)?;
        if let Some(owner) = session.owner() {
            let state = session.oauth_state.as_deref().unwrap_or_default();
            let _evicted: u64 = self
                .save_owned
                .key(self.keys.auth_session(session.id.as_str()))
                .key(self.keys.auth_session_owner(&owner))
                .key(self.keys.oauth_state(state))
                .key(self.keys.session_state(session.id.as_str()))
                .key(self.keys.device_polls())
                .arg(text)
                .arg(ttl)
                .arg(session.id.as_str())
                .arg(session.expires_at.unix_seconds())
                .arg(Timestamp::now().unix_seconds())
                .arg(OPEN_SESSIONS_PER_OWNER)
                .arg(state)
                .arg(self.keys.auth_session(""))
                .arg(self.keys.session_state(""))
                .arg(self.keys.oauth_state(""))
                .invoke_async(&mut self.connection.clone())
                .await
                .map_err(unavailable)?;
            return Ok(());
        }
        let mut pipeline = redis::pipe();
        pipeline
            .atomic()
            .cmd("SET")
            .arg(self.keys.auth_session(session.id.as_str()))
            .arg(text)
            .arg("EX")
            .arg(ttl);
        if let Some(state) = &session.oauth_state {
            pipeline
                .cmd("SET")
                .arg(self.keys.oauth_state(state))
                .arg(session.id.as_str())
                .arg("EX")
                .arg(ttl)
                .cmd("SET")
                .arg(self.keys.session_state(session.id.as_str()))
                .arg(state)
                .arg("EX")
                .arg(ttl);
        }
        let () = pipeline
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, id: &AuthSessionId) -> Result<Option<AuthSession>, StateError> {
        let text: Option<String> = redis::cmd("GET")
            .arg(self.keys.auth_session(id.as_str()))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        let Some(text) = text else { return Ok(None) };
        let session = self.decode(&text)?;
        Ok((!session.is_expired_at(Timestamp::now())).then_some(session))
    }

    async fn delete(&self, id: &AuthSessionId) -> Result<bool, StateError> {
        let mut connection = self.connection.clone();
        let state: Option<String> = redis::cmd("GET")
            .arg(self.keys.session_state(id.as_str()))
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        let deleted_session: u64 = redis::cmd("DEL")
            .arg(self.keys.auth_session(id.as_str()))
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        let mut index = redis::cmd("DEL");
        index.arg(self.keys.session_state(id.as_str()));
        if let Some(state) = state {
            index.arg(self.keys.oauth_state(&state));
        }
        let _: u64 = index.query_async(&mut connection).await.map_err(unavailable)?;
        self.unschedule_poll(id).await?;
        Ok(deleted_session > 0)
    }

    async fn take_by_oauth_state(&self, state: &str) -> Result<Option<AuthSession>, StateError> {
        // GETDEL is the single use: of any number of callers on any replica, one gets the id.
        let id: Option<String> = redis::cmd("GETDEL")
            .arg(self.keys.oauth_state(state))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        let Some(id) = id.and_then(|id| AuthSessionId::parse(&id).ok()) else {
            return Ok(None);
        };
        // The index may outlive a change of the session's state.
        Ok(self.get(&id).await?.filter(|s| s.oauth_state.as_deref() == Some(state)))
    }

    async fn schedule_poll(&self, id: &AuthSessionId, due: Timestamp) -> Result<(), StateError> {
        let _: u64 = redis::cmd("ZADD")
            .arg(self.keys.device_polls())
            .arg(due.unix_seconds())
            .arg(id.as_str())
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn due_polls(&self, now: Timestamp, limit: usize) -> Result<Vec<AuthSessionId>, StateError> {
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.keys.device_polls())
            .arg("-inf")
            .arg(now.unix_seconds())
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(ids.iter().filter_map(|id| AuthSessionId::parse(id).ok()).collect())
    }

    async fn unschedule_poll(&self, id: &AuthSessionId) -> Result<(), StateError> {
        let _: u64 = redis::cmd("ZREM")
            .arg(self.keys.device_polls())
            .arg(id.as_str())
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// Releases a lease only for its holder: deletes the key if it still holds `holder`.
const RELEASE_LEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Leases shared by every replica: `SET <lease> <holder> NX PX <ttl>`, released by a script
/// that compares the holder before deleting.
pub struct RedisLeaseStore {
    connection: RedisConnection,
    keys: RedisKeys,
    release: redis::Script,
}

impl RedisLeaseStore {
    /// Leases on `connection`.
    pub fn new(connection: RedisConnection, keys: RedisKeys) -> Self {
        Self {
            connection,
            keys,
            release: redis::Script::new(RELEASE_LEASE),
        }
    }
}

#[async_trait]
impl authsome_ports::LeaseStore for RedisLeaseStore {
    async fn acquire(&self, name: &str, holder: &str, ttl: std::time::Duration) -> Result<bool, StateError> {
        let taken: Option<String> = redis::cmd("SET")
            .arg(self.keys.lease(name))
            .arg(holder)
            .arg("NX")
            .arg("PX")
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(taken.is_some())
    }

    async fn release(&self, name: &str, holder: &str) -> Result<bool, StateError> {
        let deleted: u64 = self
            .release
            .key(self.keys.lease(name))
            .arg(holder)
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(deleted > 0)
    }
}

/// The reference's stored claim token: `{"token","identity","created_at","expires_at"}`.
#[derive(Serialize, Deserialize)]
struct StoredPendingClaim {
    token: String,
    identity: IdentityHandle,
    created_at: Timestamp,
    expires_at: Timestamp,
}

/// Claim tokens shared by every replica; consumed with `GETDEL`, so exactly once.
pub struct RedisPendingClaimStore {
    connection: RedisConnection,
    keys: RedisKeys,
}

impl RedisPendingClaimStore {
    /// A claim-token store on `connection`.
    pub fn new(connection: RedisConnection, keys: RedisKeys) -> Self {
        Self { connection, keys }
    }

    fn decode(text: &str) -> Result<Option<PendingClaim>, StateError> {
        let stored: StoredPendingClaim = serde_json::from_str(text).map_err(corrupt("claim token"))?;
        let claim = PendingClaim {
            token: stored.token,
            identity: stored.identity,
            created_at: stored.created_at,
            expires_at: stored.expires_at,
        };
        Ok((Timestamp::now() < claim.expires_at).then_some(claim))
    }
}

#[async_trait]
impl PendingClaimStore for RedisPendingClaimStore {
    async fn create(&self, identity: &IdentityHandle, ttl_seconds: i64) -> Result<PendingClaim, StateError> {
        let claim = PendingClaim::new(identity.clone(), ttl_seconds);
        let stored = StoredPendingClaim {
            token: claim.token.clone(),
            identity: claim.identity.clone(),
            created_at: claim.created_at,
            expires_at: claim.expires_at,
        };
        let text = serde_json::to_string(&stored).map_err(corrupt("claim token"))?;
        let () = redis::cmd("SET")
            .arg(self.keys.pending_claim(&claim.token))
            .arg(text)
            .arg("EX")
            .arg(ttl_seconds.max(1))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(claim)
    }

    async fn get(&self, token: &str) -> Result<Option<PendingClaim>, StateError> {
        let text: Option<String> = redis::cmd("GET")
            .arg(self.keys.pending_claim(token))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        text.map_or(Ok(None), |t| Self::decode(&t))
    }

    async fn consume(&self, token: &str) -> Result<Option<PendingClaim>, StateError> {
        let text: Option<String> = redis::cmd("GETDEL")
            .arg(self.keys.pending_claim(token))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        text.map_or(Ok(None), |t| Self::decode(&t))
    }
}

#[derive(Serialize, Deserialize)]
struct StoredBrowserSession {
    principal_id: PrincipalId,
    email: String,
    csrf_token: String,
    created_at: Timestamp,
    expires_at: Timestamp,
}

/// Browser sessions shared by every replica. Keyed by the SHA-256 of the cookie token, with
/// a per-principal set so that a password change can end them all.
pub struct RedisBrowserSessionStore {
    connection: RedisConnection,
    keys: RedisKeys,
}

/// Stores the session and adds it to the principal's set, extending the set's life to the
/// session's when shorter.
const CREATE_BROWSER_SESSION: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return 1
";

/// Deletes every session in the principal's set and the set; returns how many were live.
const DELETE_PRINCIPAL_SESSIONS: &str = r"
local ended = 0
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  ended = ended + redis.call('DEL', ARGV[1] .. hash)
end
redis.call('DEL', KEYS[1])
return ended
";

impl RedisBrowserSessionStore {
    /// A browser-session store on `connection`.
    pub fn new(connection: RedisConnection, keys: RedisKeys) -> Self {
        Self { connection, keys }
    }

    fn digest(token: &BrowserSessionToken) -> String {
        authsome_domain::hex::encode(&Sha256::digest(token.expose().as_bytes()))
    }

    async fn read(&self, hash: &str) -> Result<Option<BrowserSession>, StateError> {
        let text: Option<String> = redis::cmd("GET")
            .arg(self.keys.browser_session(hash))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        let Some(text) = text else { return Ok(None) };
        let stored: StoredBrowserSession = serde_json::from_str(&text).map_err(corrupt("browser session"))?;
        let session = BrowserSession {
            principal_id: stored.principal_id,
            email: Email::from_stored(&stored.email).map_err(|e| StateError::Corrupt(e.to_string()))?,
            csrf_token: SecretString::from(stored.csrf_token),
            created_at: stored.created_at,
            expires_at: stored.expires_at,
        };
        Ok((Timestamp::now() < session.expires_at).then_some(session))
    }
}

#[async_trait]
impl BrowserSessionStore for RedisBrowserSessionStore {
    async fn create(&self, session: &BrowserSession) -> Result<BrowserSessionToken, StateError> {
        let token = BrowserSessionToken::generate();
        let hash = Self::digest(&token);
        let stored = StoredBrowserSession {
            principal_id: session.principal_id.clone(),
            email: session.email.as_str().to_owned(),
            csrf_token: session.csrf_token.expose_secret().to_owned(),
            created_at: session.created_at,
            expires_at: session.expires_at,
        };
        let text = serde_json::to_string(&stored).map_err(corrupt("browser session"))?;
        let _: i64 = redis::Script::new(CREATE_BROWSER_SESSION)
            .key(self.keys.browser_session(&hash))
            .key(self.keys.principal_browser_sessions(session.principal_id.as_str()))
            .arg(text)
            .arg(ttl_seconds(session.expires_at))
            .arg(&hash)
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(token)
    }

    async fn get(&self, token: &BrowserSessionToken) -> Result<Option<BrowserSession>, StateError> {
        self.read(&Self::digest(token)).await
    }

    async fn delete(&self, token: &BrowserSessionToken) -> Result<bool, StateError> {
        let hash = Self::digest(token);
        let session = self.read(&hash).await?;
        let mut connection = self.connection.clone();
        let deleted: u64 = redis::cmd("DEL")
            .arg(self.keys.browser_session(&hash))
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        if let Some(session) = session {
            let _: u64 = redis::cmd("SREM")
                .arg(self.keys.principal_browser_sessions(session.principal_id.as_str()))
                .arg(&hash)
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
        }
        Ok(deleted > 0)
    }

    async fn delete_for_principal(&self, principal_id: &PrincipalId) -> Result<u64, StateError> {
        let ended: u64 = redis::Script::new(DELETE_PRINCIPAL_SESSIONS)
            .key(self.keys.principal_browser_sessions(principal_id.as_str()))
            .arg(self.keys.browser_session(""))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(ended)
    }
}

/// Attempt counters shared by every replica: `INCR`, with the window set on the first hit.
pub struct RedisRateLimiter {
    connection: RedisConnection,
    keys: RedisKeys,
}

/// Increments the counter and starts its window on the first hit, atomically.
const HIT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
";

impl RedisRateLimiter {
    /// A rate limiter on `connection`.
    pub fn new(connection: RedisConnection, keys: RedisKeys) -> Self {
        Self { connection, keys }
    }
}

#[async_trait]
impl authsome_ports::RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, window_seconds: i64) -> Result<u64, StateError> {
        redis::Script::new(HIT)
            .key(self.keys.rate_limit(key))
            .arg(window_seconds.max(1))
            .invoke_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)
    }

    async fn count(&self, key: &str) -> Result<u64, StateError> {
        let count: Option<u64> = redis::cmd("GET")
            .arg(self.keys.rate_limit(key))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(count.unwrap_or(0))
    }

    async fn reset(&self, key: &str) -> Result<(), StateError> {
        let _: u64 = redis::cmd("DEL")
            .arg(self.keys.rate_limit(key))
            .query_async(&mut self.connection.clone())
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
