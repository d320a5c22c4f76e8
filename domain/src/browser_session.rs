//! Browser (dashboard) sessions, held server-side so that logout and a password change end
//! them on every replica.

use std::fmt;

use secrecy::SecretString;

use crate::principal::{Email, PrincipalId};
use crate::timestamp::Timestamp;

/// The cookie value that names a browser session (256 random bits). Stores keep only its
/// SHA-256, so that reading the store does not hand out sessions.
pub struct BrowserSessionToken(SecretString);

impl BrowserSessionToken {
    /// A new random token.
    pub fn generate() -> Self {
        Self(SecretString::from(crate::random_token::url_safe(32)))
    }

    /// A token presented by a browser.
    pub fn from_cookie(value: &str) -> Self {
        Self(SecretString::from(value.to_owned()))
    }

    /// The token text, for the `Set-Cookie` header.
    pub fn expose(&self) -> &str {
        secrecy::ExposeSecret::expose_secret(&self.0)
    }
}

impl fmt::Debug for BrowserSessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BrowserSessionToken(<redacted>)")
    }
}

/// A signed-in person in a browser.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// Who.
    pub principal_id: PrincipalId,
    /// Their email at sign-in.
    pub email: Email,
    /// The token forms must echo (CSRF protection).
    pub csrf_token: SecretString,
    /// Sign-in time.
    pub created_at: Timestamp,
    /// When the session ends.
    pub expires_at: Timestamp,
}

impl BrowserSession {
    /// A new session for `principal_id`, valid `ttl_seconds`, with a fresh CSRF token.
    pub fn new(principal_id: PrincipalId, email: Email, ttl_seconds: i64) -> Self {
        let now = Timestamp::now();
        Self {
            principal_id,
            email,
            csrf_token: SecretString::from(crate::random_token::url_safe(32)),
            created_at: now,
            expires_at: now.plus_seconds(ttl_seconds),
        }
    }
}
