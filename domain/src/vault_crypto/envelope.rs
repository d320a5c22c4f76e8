//! Sealing and opening vault values.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use aes_gcm_siv::Aes256GcmSiv;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::SecretString;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::{DataKey, VaultCryptoError, random_bytes};
use crate::python_json::{self, Separators};

const ENCRYPTED_DATA: &str = "__encrypted_data__";
const ENCRYPTION_VERSION: &str = "__encryption_version__";
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
/// Domain separation for version-2 associated data.
const AAD_LABEL: &[u8] = b"authsome/vault/v2\0";

/// How a value is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeVersion {
    /// AES-256-GCM without associated data: what authsome 0.7.2 reads and writes.
    V1,
    /// AES-256-GCM-SIV bound to the value's collection and key: a ciphertext copied to another
    /// key or vault no longer decrypts.
    V2,
}

impl EnvelopeVersion {
    fn number(self) -> i64 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }
}

/// Seals and opens vault values with the DEK. Built once per process; cheap to share.
pub struct VaultCipher {
    v1: Aes256Gcm,
    v2: Aes256GcmSiv,
    write_version: EnvelopeVersion,
}

impl VaultCipher {
    /// A cipher for `dek` that writes `write_version` envelopes (and reads both versions).
    pub fn new(dek: &DataKey, write_version: EnvelopeVersion) -> Self {
        let key = dek.bytes();
        Self {
            v1: Aes256Gcm::new(key.into()),
            v2: Aes256GcmSiv::new(key.into()),
            write_version,
        }
    }

    /// The version new values are written with.
    pub fn write_version(&self) -> EnvelopeVersion {
        self.write_version
    }

    /// Encrypts `text` for (`collection`, `key`) with the configured version.
    pub fn seal(&self, collection: &str, key: &str, text: &str) -> Result<Map<String, Value>, VaultCryptoError> {
        self.seal_with(self.write_version, collection, key, text)
    }

    /// Encrypts `text` for (`collection`, `key`) with an explicit version.
    pub fn seal_with(
        &self,
        version: EnvelopeVersion,
        collection: &str,
        key: &str,
        text: &str,
    ) -> Result<Map<String, Value>, VaultCryptoError> {
        let mut wrapper = Map::new();
        wrapper.insert("data".to_owned(), Value::String(text.to_owned()));
        let plaintext = Zeroizing::new(python_json::to_string(&wrapper, Separators::Compact));
        let mut nonce = [0u8; NONCE_BYTES];
        random_bytes(&mut nonce)?;
        let ciphertext = match version {
            EnvelopeVersion::V1 => self.v1.encrypt(&Nonce::from(nonce), plaintext.as_bytes()),
            EnvelopeVersion::V2 => {
                let aad = associated_data(collection, key);
                self.v2.encrypt(
                    &aes_gcm_siv::Nonce::from(nonce),
                    Payload {
                        msg: plaintext.as_bytes(),
                        aad: &aad,
                    },
                )
            }
        }
        .map_err(|_| VaultCryptoError::RandomSource)?;
        let mut sealed = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        let mut envelope = Map::new();
        envelope.insert(ENCRYPTED_DATA.to_owned(), Value::String(STANDARD.encode(sealed)));
        envelope.insert(ENCRYPTION_VERSION.to_owned(), Value::from(version.number()));
        Ok(envelope)
    }

    /// Decrypts a stored value of (`collection`, `key`) and returns its text.
    ///
    /// Unlike the reference, a value that is not an envelope is refused rather than passed
    /// through: nothing but the DEK record is ever stored unencrypted, so a plaintext value
    /// can only have been planted.
    pub fn open(
        &self,
        collection: &str,
        key: &str,
        stored: &Map<String, Value>,
    ) -> Result<SecretString, VaultCryptoError> {
        let version = match stored.get(ENCRYPTION_VERSION) {
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or(VaultCryptoError::MalformedEnvelope("version is not an integer"))?,
            Some(_) => return Err(VaultCryptoError::MalformedEnvelope("version is not an integer")),
            None => return Err(VaultCryptoError::MalformedEnvelope("not an encrypted value")),
        };
        let Some(Value::String(data)) = stored.get(ENCRYPTED_DATA) else {
            return Err(VaultCryptoError::MalformedEnvelope("missing encrypted data"));
        };
        let sealed = STANDARD
            .decode(data)
            .map_err(|_| VaultCryptoError::MalformedEnvelope("encrypted data is not base64"))?;
        if sealed.len() < NONCE_BYTES + TAG_BYTES {
            return Err(VaultCryptoError::MalformedEnvelope("encrypted data is too short"));
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let plaintext = Zeroizing::new(
            match version {
                1 => self.v1.decrypt(
                    &Nonce::try_from(nonce).map_err(|_| VaultCryptoError::DecryptionFailed)?,
                    ciphertext,
                ),
                2 => {
                    let aad = associated_data(collection, key);
                    self.v2.decrypt(
                        &aes_gcm_siv::Nonce::try_from(nonce).map_err(|_| VaultCryptoError::DecryptionFailed)?,
                        Payload {
                            msg: ciphertext,
                            aad: &aad,
                        },
                    )
                }
                other => return Err(VaultCryptoError::UnsupportedVersion(other)),
            }
            .map_err(|_| VaultCryptoError::DecryptionFailed)?,
        );
        let mut wrapper: Map<String, Value> = serde_json::from_slice(&plaintext)
            .map_err(|_| VaultCryptoError::MalformedEnvelope("plaintext is not JSON"))?;
        match wrapper.remove("data") {
            Some(Value::String(text)) => Ok(SecretString::from(text)),
            _ => Err(VaultCryptoError::MalformedEnvelope("plaintext has no data string")),
        }
    }
}

/// Length-prefixed collection and key, so that no two (collection, key) pairs share bytes.
fn associated_data(collection: &str, key: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + 8 + collection.len() + key.len());
    aad.extend_from_slice(AAD_LABEL);
    for part in [collection, key] {
        aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}
