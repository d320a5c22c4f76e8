//! `did:key` identifiers for Ed25519 public keys.
//!
//! The form is `did:key:z` followed by base58btc (Bitcoin alphabet) of the multicodec prefix
//! `0xed 0x01` and the 32 raw public-key bytes, so every valid value starts `did:key:z6Mk`.
//! Decoding follows the reference daemon's checks and messages exactly.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::validation::ValidationError;

const DID_KEY_PREFIX: &str = "did:key:z";
const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];
const ED25519_KEY_BYTES: usize = 32;
/// The longest text that can be a did:key for a 34-byte payload, with room to spare; anything
/// longer is rejected before base58 decoding so that decoding cost stays bounded.
const MAX_DID_LEN: usize = 128;

/// A validated `did:key` naming an Ed25519 public key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DidKey {
    text: String,
    public_key: [u8; ED25519_KEY_BYTES],
}

impl DidKey {
    /// Parses and validates a `did:key` string.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let Some(encoded) = text.strip_prefix(DID_KEY_PREFIX) else {
            return Err(ValidationError::DidNotDidKey);
        };
        if text.len() > MAX_DID_LEN {
            return Err(ValidationError::DidKeyLength);
        }
        let decoded = bs58::decode(encoded)
            .into_vec()
            .map_err(|_| ValidationError::DidMalformed)?;
        let Some(raw_key) = decoded.strip_prefix(&ED25519_MULTICODEC) else {
            return Err(ValidationError::DidNotEd25519);
        };
        let public_key: [u8; ED25519_KEY_BYTES] = raw_key.try_into().map_err(|_| ValidationError::DidKeyLength)?;
        Ok(Self {
            text: text.to_owned(),
            public_key,
        })
    }

    /// The `did:key` for a raw 32-byte Ed25519 public key.
    pub fn from_public_key(public_key: [u8; ED25519_KEY_BYTES]) -> Self {
        let mut payload = Vec::with_capacity(ED25519_MULTICODEC.len() + ED25519_KEY_BYTES);
        payload.extend_from_slice(&ED25519_MULTICODEC);
        payload.extend_from_slice(&public_key);
        let text = format!("{DID_KEY_PREFIX}{}", bs58::encode(payload).into_string());
        Self { text, public_key }
    }

    /// The identifier text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The raw Ed25519 public key bytes.
    pub fn public_key(&self) -> &[u8; ED25519_KEY_BYTES] {
        &self.public_key
    }
}

impl fmt::Debug for DidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Display for DidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for DidKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for DidKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes_the_same_key() {
        let key = [7u8; 32];
        let did = DidKey::from_public_key(key);
        assert!(did.as_str().starts_with("did:key:z6Mk"), "{did}");
        let parsed = DidKey::parse(did.as_str()).expect("round trip");
        assert_eq!(parsed.public_key(), &key);
        assert_eq!(parsed, did);
    }

    #[test]
    fn known_vector_from_the_did_key_spec() {
        // Test vector from the W3C did:key method specification (Ed25519 section).
        let did = DidKey::parse("did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp").expect("spec vector");
        assert_eq!(did.public_key()[0], 0x3b);
    }

    #[test]
    fn rejects_with_the_reference_messages() {
        let cases = [
            ("did:web:example.com", "Only did:key Ed25519 identifiers are supported"),
            ("did:key:6Mk", "Only did:key Ed25519 identifiers are supported"),
            ("did:key:z0OIl", "Malformed did:key value"),
            ("did:key:z", "did:key does not use the Ed25519 multicodec prefix"),
            // 0xe7 0x01 is secp256k1, not Ed25519.
            (
                "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
                "did:key does not use the Ed25519 multicodec prefix",
            ),
        ];
        for (input, message) in cases {
            let err = DidKey::parse(input).expect_err(input);
            assert_eq!(err.to_string(), message, "{input}");
        }
        let short = {
            let mut payload = ED25519_MULTICODEC.to_vec();
            payload.extend_from_slice(&[1u8; 31]);
            format!("did:key:z{}", bs58::encode(payload).into_string())
        };
        assert_eq!(
            DidKey::parse(&short).expect_err("31 bytes").to_string(),
            "Ed25519 did:key public key must be 32 bytes"
        );
    }

    #[test]
    fn oversized_input_is_rejected_without_decoding() {
        let long = format!("did:key:z{}", "1".repeat(10_000));
        assert_eq!(
            DidKey::parse(&long).expect_err("too long"),
            ValidationError::DidKeyLength
        );
    }
}
