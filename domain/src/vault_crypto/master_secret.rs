//! The master secret: the root of the vault's key hierarchy.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// The vault master secret. Like the reference, it is used as its UTF-8 text (not decoded).
pub struct MasterSecret(SecretString);

impl MasterSecret {
    /// A master secret from text, trimmed; `None` when blank.
    pub fn from_text(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| Self(SecretString::from(trimmed.to_owned())))
    }

    /// The secret's bytes, for key derivation.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }

    /// The secret text, for storing it in a key file or keyring.
    pub fn expose_text(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for MasterSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterSecret(<redacted>)")
    }
}
