//! Envelope encryption of vault values, compatible with authsome 0.7.2.
//!
//! ```text
//! master secret (UTF-8 text)
//!   -> Argon2id(salt, parameters from the stored record)  = KEK   (once per process start)
//!   -> AES-256-GCM unwrap of the stored wrapped DEK         = DEK   (kept in memory only)
//!   -> per value: version 1 AES-256-GCM, no associated data (read, and written in compat mode)
//!                 version 2 AES-256-GCM-SIV, associated data = collection and key (default)
//! ```
//!
//! The DEK record lives unencrypted (only the DEK inside is wrapped) at collection
//! [`META_COLLECTION`], key [`DEK_KEY`], in the reference's JSON shape ([`DekRecord`]).
//! Every value is stored as `{"__encrypted_data__": base64(nonce || ciphertext || tag),
//! "__encryption_version__": N}` around the JSON text `{"data": "<value>"}`.
//!
//! Key material lives in types that zeroize on drop and never print.

mod data_key;
mod dek_record;
mod envelope;
mod master_secret;

pub use data_key::{DataKey, KdfParams};
pub use dek_record::DekRecord;
pub use envelope::{EnvelopeVersion, VaultCipher};
pub use master_secret::MasterSecret;

use thiserror::Error;

/// The collection holding the DEK record.
pub const META_COLLECTION: &str = "__vault_meta__";
/// The key of the DEK record.
pub const DEK_KEY: &str = "__dek__";

/// What went wrong with vault key material or a stored value. Messages never contain secrets.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum VaultCryptoError {
    /// The master secret does not unwrap the stored DEK.
    #[error(
        "the master secret does not unwrap the vault's data key (is AUTHSOME_MASTER_KEY the one this vault was created with?)"
    )]
    MasterSecretMismatch,
    /// The DEK record is not in the expected shape.
    #[error("the vault's data key record is malformed: {0}")]
    MalformedDekRecord(String),
    /// The DEK record asks for key-derivation parameters outside the safe range.
    #[error("the vault's data key record asks for unsafe key-derivation parameters: {0}")]
    UnsafeKdfParams(String),
    /// A value was written with an encryption version this build does not know.
    #[error("unsupported encryption version {0}")]
    UnsupportedVersion(i64),
    /// A value is not an encryption envelope.
    #[error("malformed encrypted value: {0}")]
    MalformedEnvelope(&'static str),
    /// A value failed authentication: tampered with, or moved from another key or vault.
    #[error("decryption failed: the value was tampered with or does not belong to this key")]
    DecryptionFailed,
    /// The operating system's random source failed.
    #[error("the system random source failed")]
    RandomSource,
}

/// Fills `buffer` from the operating system's random source.
pub(crate) fn random_bytes(buffer: &mut [u8]) -> Result<(), VaultCryptoError> {
    getrandom::fill(buffer).map_err(|_| VaultCryptoError::RandomSource)
}
