//! The one error type for values that fail validation.
//!
//! Messages match the reference daemon's wording where a client may show them to a user.

use thiserror::Error;

/// A value from outside (the network, a stored row, a setting) that is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// An identity handle that does not match `^[a-z0-9][a-z0-9-]*[a-z0-9]$` or is too long.
    #[error("Invalid identity handle: {0}")]
    IdentityHandle(String),
    /// A DID that is not a `did:key:z...` identifier.
    #[error("Only did:key Ed25519 identifiers are supported")]
    DidNotDidKey,
    /// A `did:key` whose multibase payload is not base58btc.
    #[error("Malformed did:key value")]
    DidMalformed,
    /// A `did:key` whose multicodec prefix is not Ed25519 (`0xed 0x01`).
    #[error("did:key does not use the Ed25519 multicodec prefix")]
    DidNotEd25519,
    /// A `did:key` whose key is not 32 bytes long.
    #[error("Ed25519 did:key public key must be 32 bytes")]
    DidKeyLength,
    /// An email address without `@`, or longer than any real address.
    #[error("A valid email address is required")]
    Email,
    /// An id that does not have the `<prefix>_<12 lowercase hex>` form.
    #[error("Invalid {kind} id: {value}")]
    Id {
        /// Which kind of id (`principal`, `vault`, `audit event`).
        kind: &'static str,
        /// The rejected value, shortened.
        value: String,
    },
    /// A role other than `admin` or `user`.
    #[error("Invalid principal role: {0}")]
    Role(String),
    /// A claim status other than `pending`, `accepted` or `rejected`.
    #[error("Invalid claim status: {0}")]
    ClaimStatus(String),
    /// A timestamp that is not ISO 8601 / RFC 3339 with an offset.
    #[error("Invalid timestamp: {0}")]
    Timestamp(String),
    /// A provider name outside `^[a-zA-Z0-9][a-zA-Z0-9._-]*$`, containing `..`, or too long.
    #[error("Invalid provider name: {0}")]
    ProviderName(String),
    /// A connection name that is empty, too long, or contains characters that break key layouts.
    #[error("Invalid connection name: {0}")]
    ConnectionName(String),
    /// A new connection name outside the safe alphabet (shown with its untrusted characters
    /// escaped).
    #[error(
        "Invalid connection name: '{0}': use ASCII letters, digits, spaces and . _ - @ +, starting with a letter or digit"
    )]
    NewConnectionName(String),
    /// A password hash that is not a PHC string.
    #[error("Invalid password hash format")]
    PasswordHash,
    /// An audit cursor that did not come from this server.
    #[error("Invalid audit cursor")]
    AuditCursor,
    /// A stored JSON document that is not what its column promises.
    #[error("Invalid {what}: {detail}")]
    Document {
        /// What the document should have been.
        what: &'static str,
        /// Why it is not.
        detail: String,
    },
}

/// Shortens an untrusted value before it is echoed in an error, so that an error can never
/// carry a megabyte of attacker-controlled text into a log line or a response.
pub fn excerpt(value: &str) -> String {
    const LIMIT: usize = 80;
    if value.len() <= LIMIT {
        return value.to_owned();
    }
    let mut end = LIMIT;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &value[..end])
}
