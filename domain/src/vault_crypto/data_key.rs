//! The data-encryption key (DEK) and the key-encryption key derived from the master secret.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{MasterSecret, VaultCryptoError, random_bytes};

/// Key length of every key in the hierarchy.
pub(super) const KEY_BYTES: usize = 32;

/// The 32-byte key that encrypts every vault value. Zeroized on drop; never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_BYTES]);

impl DataKey {
    /// A new random key.
    pub fn generate() -> Result<Self, VaultCryptoError> {
        let mut key = [0u8; KEY_BYTES];
        random_bytes(&mut key)?;
        Ok(Self(key))
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, VaultCryptoError> {
        let key: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| VaultCryptoError::MalformedDekRecord("the unwrapped key is not 32 bytes".to_owned()))?;
        Ok(Self(key))
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// Argon2id parameters of the key-encryption key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub time_cost: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// What authsome 0.7.2 writes (and assumes when reading): 64 MiB, 3 passes, 4 lanes.
    pub const REFERENCE: Self = Self {
        memory_kib: 65_536,
        time_cost: 3,
        parallelism: 4,
    };

    /// The most memory a stored record may ask for (1 GiB): a record written by someone else
    /// must not be able to exhaust the server's memory at startup.
    const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    const MAX_TIME_COST: u32 = 64;
    const MAX_PARALLELISM: u32 = 64;

    pub(crate) fn checked(self) -> Result<Params, VaultCryptoError> {
        if self.memory_kib > Self::MAX_MEMORY_KIB
            || self.time_cost > Self::MAX_TIME_COST
            || self.parallelism > Self::MAX_PARALLELISM
        {
            return Err(VaultCryptoError::UnsafeKdfParams(format!("{self:?}")));
        }
        Params::new(self.memory_kib, self.time_cost, self.parallelism, Some(KEY_BYTES))
            .map_err(|e| VaultCryptoError::UnsafeKdfParams(e.to_string()))
    }
}

/// Derives the key-encryption key: Argon2id(master secret, salt, params), 32 bytes.
pub(crate) fn derive_kek(
    master: &MasterSecret,
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; KEY_BYTES]>, VaultCryptoError> {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.checked()?);
    let mut kek = Zeroizing::new([0u8; KEY_BYTES]);
    argon2
        .hash_password_into(master.bytes(), salt, kek.as_mut())
        .map_err(|e| VaultCryptoError::UnsafeKdfParams(e.to_string()))?;
    Ok(kek)
}
