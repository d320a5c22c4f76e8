//! Login (auth) sessions: the short-lived state machine of one provider login.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::identity::IdentityHandle;
use crate::principal::PrincipalId;
use crate::provider::{ConnectionName, ProviderName};
use crate::timestamp::Timestamp;
use crate::validation::{ValidationError, excerpt};

/// A session id: `sess_` followed by 12 to 64 lowercase hex digits. The reference uses 12;
/// we generate 32 (128 random bits), and accept the reference's form.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AuthSessionId(String);

impl AuthSessionId {
    /// A new random id.
    pub fn generate() -> Self {
        Self(format!("sess_{}", crate::random_token::hex(32)))
    }

    /// Parses an id from a URL or a request.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let valid = text.strip_prefix("sess_").is_some_and(|hex| {
            (12..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::Id {
                kind: "auth session",
                value: excerpt(text),
            })
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthSessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AuthSessionId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Where a login session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthSessionState {
    /// Created, nothing asked yet.
    Pending,
    /// Waiting for the person (a form, a browser redirect, a device code).
    WaitingForUser,
    /// Finishing (exchanging a code, validating a key).
    Processing,
    /// The connection was stored.
    Completed,
    /// The login failed; `error_message` says why.
    Failed,
    /// The session timed out.
    Expired,
    /// The session was abandoned.
    Cancelled,
}

impl AuthSessionState {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::WaitingForUser => "waiting_for_user",
            Self::Processing => "processing",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }
}

/// The secret inputs of a session (a submitted API key, a PKCE verifier, a client secret),
/// kept apart from the rest so that stores can encrypt them and logs never see them.
#[derive(Clone, Default)]
pub struct SessionSecrets(BTreeMap<String, SecretString>);

impl SessionSecrets {
    /// Stores a secret under `name`.
    pub fn insert(&mut self, name: impl Into<String>, value: SecretString) {
        self.0.insert(name.into(), value);
    }

    /// The secret named `name`.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.0.get(name)
    }

    /// Removes and returns the secret named `name`.
    pub fn remove(&mut self, name: &str) -> Option<SecretString> {
        self.0.remove(name)
    }

    /// Every secret, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &SecretString)> {
        self.0.iter()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SessionSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// One provider login in progress.
#[derive(Debug, Clone)]
pub struct AuthSession {
    /// Id, used in URLs.
    pub id: AuthSessionId,
    /// The provider being connected.
    pub provider: ProviderName,
    /// The identity that started it (none for a browser-started session).
    pub identity: Option<IdentityHandle>,
    /// The principal whose vault receives the connection.
    pub principal_id: Option<PrincipalId>,
    /// The connection name being written.
    pub connection_name: ConnectionName,
    /// The flow (`api_key`, `pkce`, ...).
    pub flow_type: String,
    /// Where the session is.
    pub state: AuthSessionState,
    /// Human message about the state.
    pub status_message: Option<String>,
    /// Why it failed.
    pub error_message: Option<String>,
    /// The OAuth `state` parameter, when an authorization redirect is under way; sessions
    /// are found by it on the callback.
    pub oauth_state: Option<String>,
    /// Non-secret flow data.
    pub payload: Map<String, Value>,
    /// Secret flow data.
    pub secrets: SessionSecrets,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last save.
    pub updated_at: Timestamp,
    /// When the session stops existing.
    pub expires_at: Timestamp,
}

impl AuthSession {
    /// A new pending session living `ttl_seconds`.
    pub fn new(
        provider: ProviderName,
        identity: Option<IdentityHandle>,
        principal_id: Option<PrincipalId>,
        connection_name: ConnectionName,
        flow_type: impl Into<String>,
        ttl_seconds: i64,
    ) -> Self {
        let now = Timestamp::now();
        Self {
            id: AuthSessionId::generate(),
            provider,
            identity,
            principal_id,
            connection_name,
            flow_type: flow_type.into(),
            state: AuthSessionState::Pending,
            status_message: None,
            error_message: None,
            oauth_state: None,
            payload: Map::new(),
            secrets: SessionSecrets::default(),
            created_at: now,
            updated_at: now,
            expires_at: now.plus_seconds(ttl_seconds),
        }
    }

    /// Whether the session has outlived its time at `now`.
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }

    /// Who the session counts against when open sessions are bounded: the principal whose
    /// vault receives the connection (so that many agents of one person share one bound),
    /// else the identity that started it; `None` for a session with neither.
    pub fn owner(&self) -> Option<String> {
        match (&self.principal_id, &self.identity) {
            (Some(principal), _) => Some(format!("principal:{principal}")),
            (None, Some(identity)) => Some(format!("identity:{identity}")),
            (None, None) => None,
        }
    }
}
