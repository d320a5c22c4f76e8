//! Pending claim tokens: the short-lived link a person opens to claim an identity.

use crate::identity::IdentityHandle;
use crate::timestamp::Timestamp;

/// A claim token (`claim_` + 32 URL-safe characters, 192 random bits) for one identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingClaim {
    /// The token, used in the claim URL.
    pub token: String,
    /// The identity it claims.
    pub identity: IdentityHandle,
    /// Creation time.
    pub created_at: Timestamp,
    /// When the token stops working.
    pub expires_at: Timestamp,
}

impl PendingClaim {
    /// A new token for `identity`, valid for `ttl_seconds`.
    pub fn new(identity: IdentityHandle, ttl_seconds: i64) -> Self {
        let now = Timestamp::now();
        Self {
            token: format!("claim_{}", crate::random_token::url_safe(24)),
            identity,
            created_at: now,
            expires_at: now.plus_seconds(ttl_seconds),
        }
    }

    /// Whether a string has the shape of a claim token (cheap check before any lookup).
    pub fn is_token_shaped(text: &str) -> bool {
        text.strip_prefix("claim_").is_some_and(|rest| {
            (16..=128).contains(&rest.len())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }
}
