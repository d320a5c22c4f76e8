//! The stored DEK record, in the reference's JSON shape.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::data_key::{KEY_BYTES, derive_kek};
use super::{DataKey, KdfParams, MasterSecret, VaultCryptoError, random_bytes};

const SALT_BYTES: usize = 16;
const NONCE_BYTES: usize = 12;

/// `{"version":1,"kdf":{...},"wrapped_dek":{...}}`: the DEK wrapped under the KEK.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DekRecord {
    version: i64,
    kdf: KdfSection,
    wrapped_dek: WrappedSection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct KdfSection {
    alg: String,
    salt: String,
    memory_cost: u32,
    time_cost: u32,
    parallelism: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct WrappedSection {
    alg: String,
    nonce: String,
    ciphertext: String,
}

impl DekRecord {
    /// A new random DEK and its record, wrapped under `master` with `params` and a fresh salt.
    pub fn generate(master: &MasterSecret, params: KdfParams) -> Result<(Self, DataKey), VaultCryptoError> {
        let dek = DataKey::generate()?;
        let record = Self::wrap(&dek, master, params)?;
        Ok((record, dek))
    }

    /// A record wrapping `dek` under `master` with a fresh salt and nonce (for key rotation:
    /// the DEK, and so every stored value, stays the same).
    pub fn wrap(dek: &DataKey, master: &MasterSecret, params: KdfParams) -> Result<Self, VaultCryptoError> {
        let mut salt = [0u8; SALT_BYTES];
        random_bytes(&mut salt)?;
        let mut nonce = [0u8; NONCE_BYTES];
        random_bytes(&mut nonce)?;
        let kek = derive_kek(master, &salt, params)?;
        let cipher = Aes256Gcm::new_from_slice(kek.as_ref()).map_err(|_| VaultCryptoError::RandomSource)?;
        let wrapped = cipher
            .encrypt(&Nonce::from(nonce), dek.bytes().as_slice())
            .map_err(|_| VaultCryptoError::RandomSource)?;
        Ok(Self {
            version: 1,
            kdf: KdfSection {
                alg: "argon2id".to_owned(),
                salt: STANDARD.encode(salt),
                memory_cost: params.memory_kib,
                time_cost: params.time_cost,
                parallelism: params.parallelism,
            },
            wrapped_dek: WrappedSection {
                alg: "AES-256-GCM".to_owned(),
                nonce: STANDARD.encode(nonce),
                ciphertext: STANDARD.encode(wrapped),
            },
        })
    }

    /// The key-derivation parameters this record was written with.
    pub fn kdf_params(&self) -> KdfParams {
        KdfParams {
            memory_kib: self.kdf.memory_cost,
            time_cost: self.kdf.time_cost,
            parallelism: self.kdf.parallelism,
        }
    }

    /// Unwraps the DEK with `master`, deriving the KEK with the parameters stored in the
    /// record (the reference ignores them and assumes its constants; it writes the same ones).
    pub fn unwrap(&self, master: &MasterSecret) -> Result<DataKey, VaultCryptoError> {
        let malformed = |what: &str| VaultCryptoError::MalformedDekRecord(what.to_owned());
        if self.kdf.alg != "argon2id" || self.wrapped_dek.alg != "AES-256-GCM" {
            return Err(malformed("unknown algorithm"));
        }
        let salt = STANDARD
            .decode(&self.kdf.salt)
            .map_err(|_| malformed("salt is not base64"))?;
        let nonce: [u8; NONCE_BYTES] = STANDARD
            .decode(&self.wrapped_dek.nonce)
            .map_err(|_| malformed("nonce is not base64"))?
            .try_into()
            .map_err(|_| malformed("nonce is not 12 bytes"))?;
        let wrapped = STANDARD
            .decode(&self.wrapped_dek.ciphertext)
            .map_err(|_| malformed("ciphertext is not base64"))?;
        if wrapped.len() != KEY_BYTES + 16 {
            return Err(malformed("wrapped key is not 48 bytes"));
        }
        let kek = derive_kek(master, &salt, self.kdf_params())?;
        let cipher = Aes256Gcm::new_from_slice(kek.as_ref()).map_err(|_| malformed("bad key length"))?;
        let dek = zeroize::Zeroizing::new(
            cipher
                .decrypt(&Nonce::from(nonce), wrapped.as_slice())
                .map_err(|_| VaultCryptoError::MasterSecretMismatch)?,
        );
        DataKey::from_bytes(&dek)
    }

    /// The record as the JSON object stored in the vault.
    pub fn to_value(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// Reads a stored record.
    pub fn from_value(value: &Map<String, Value>) -> Result<Self, VaultCryptoError> {
        serde_json::from_value(Value::Object(value.clone()))
            .map_err(|e| VaultCryptoError::MalformedDekRecord(e.to_string()))
    }
}
