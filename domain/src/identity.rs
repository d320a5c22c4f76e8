//! Identity handles and their registrations (handle -> did:key).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::did_key::DidKey;
use crate::timestamp::Timestamp;
use crate::validation::{ValidationError, excerpt};

/// The longest handle we accept. The reference has no limit; generated handles are about 30
/// characters, and a bound keeps hostile input from reaching the database and the logs.
pub const MAX_HANDLE_LEN: usize = 255;

/// A validated identity handle: `^[a-z0-9][a-z0-9-]*[a-z0-9]$`, at most [`MAX_HANDLE_LEN`] bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdentityHandle(String);

impl IdentityHandle {
    /// Parses a handle with the reference's rule (and a length bound).
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let bytes = text.as_bytes();
        let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        let valid = bytes.len() >= 2
            && bytes.len() <= MAX_HANDLE_LEN
            && edge_ok(bytes[0])
            && edge_ok(bytes[bytes.len() - 1])
            && bytes.iter().all(|&b| edge_ok(b) || b == b'-');
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::IdentityHandle(excerpt(text)))
        }
    }

    /// The handle text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdentityHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for IdentityHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for IdentityHandle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for IdentityHandle {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A registered identity: the binding of a handle to the agent's public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRegistration {
    /// The handle, unique across the server.
    pub handle: IdentityHandle,
    /// The agent's key, unique across the server.
    pub did: DidKey,
    /// When the handle was first registered.
    pub created_at: Timestamp,
    /// When the row last changed (equal to `created_at`: registrations are never updated).
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_generated_and_short_handles() {
        for ok in ["rapid-easily-quickly-2456", "a1", "00", "a-b"] {
            assert!(IdentityHandle::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_like_the_reference() {
        for bad in ["", "a", "-ab", "ab-", "Ab", "a_b", "a b", "é1", "ab\n"] {
            let err = IdentityHandle::parse(bad).expect_err(bad);
            assert_eq!(err.to_string(), format!("Invalid identity handle: {bad}"));
        }
    }

    #[test]
    fn bounds_length() {
        assert!(IdentityHandle::parse(&"a".repeat(MAX_HANDLE_LEN)).is_ok());
        let err = IdentityHandle::parse(&"a".repeat(10_000)).expect_err("too long");
        assert!(err.to_string().len() < 200, "error text must not echo megabytes");
    }
}
