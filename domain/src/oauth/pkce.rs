//! Proof Key for Code Exchange (RFC 7636), always with the S256 method, and the `state` value.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::random_token;

/// A PKCE code verifier: 86 characters of base64url (64 random bytes, as the reference's
/// `token_urlsafe(64)`), within RFC 7636's 43 to 128. Secret until the code is exchanged.
pub struct PkceVerifier(SecretString);

impl PkceVerifier {
    /// A fresh verifier.
    pub fn generate() -> Self {
        Self(SecretString::from(random_token::url_safe(64)))
    }

    /// A verifier kept in a login session.
    pub fn from_stored(verifier: SecretString) -> Self {
        Self(verifier)
    }

    /// The S256 challenge: base64url, unpadded, of the verifier's SHA-256.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.expose_secret().as_bytes()))
    }

    /// The verifier, for the token request and for storing.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl std::fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PkceVerifier(<redacted>)")
    }
}

/// A fresh `state` parameter: 43 characters of base64url (32 random bytes).
pub fn new_state() -> String {
    random_token::url_safe(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636s_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let verifier = PkceVerifier::from_stored(SecretString::from("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert_eq!(verifier.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let fresh = PkceVerifier::generate();
        assert_eq!(fresh.secret().expose_secret().len(), 86);
        assert!(!format!("{fresh:?}").contains(fresh.secret().expose_secret()));
        assert_eq!(new_state().len(), 43);
        assert_ne!(new_state(), new_state());
    }
}
