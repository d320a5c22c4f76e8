//! The encrypted vault: envelope encryption over a vault blob store.
//!
//! Opening a vault derives the key-encryption key once (Argon2id, on a blocking thread) and
//! keeps only the DEK, in memory. The DEK is created at most once per store, even when
//! several replicas open an empty store at the same moment: creation is a create-if-absent,
//! and a replica that loses the race adopts the winner's record.

use std::sync::Arc;

use authsome_domain::vault_crypto::{
    DEK_KEY, DekRecord, EnvelopeVersion, KdfParams, META_COLLECTION, MasterSecret, VaultCipher, VaultCryptoError,
};
use authsome_ports::{StateError, VaultBlobStore};
use secrecy::SecretString;
use thiserror::Error;

/// What went wrong with the vault.
#[derive(Debug, Error)]
pub enum VaultError {
    /// Key material or a stored value failed a cryptographic check.
    #[error(transparent)]
    Crypto(#[from] VaultCryptoError),
    /// The blob store failed.
    #[error(transparent)]
    Store(#[from] StateError),
    /// Rotation was asked for on a store that has no DEK yet.
    #[error(
        "the vault has no data key yet: there is nothing to rotate (start the server or run `authsome init` first)"
    )]
    NotInitialised,
    /// A blocking task died.
    #[error("a background task failed: {0}")]
    Task(String),
}

/// How a vault was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DekOrigin {
    /// This process created the DEK.
    Created,
    /// The DEK existed and the current master secret unwrapped it.
    Unwrapped,
    /// Only `AUTHSOME_MASTER_KEY_PREVIOUS` unwrapped it (a rotation is rolling out).
    UnwrappedWithPrevious,
}

/// Vault values, encrypted at rest.
pub struct Vault {
    store: Arc<dyn VaultBlobStore>,
    cipher: Arc<VaultCipher>,
    origin: DekOrigin,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, VaultCryptoError> + Send + 'static,
) -> Result<T, VaultError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| VaultError::Task(e.to_string()))?
        .map_err(VaultError::from)
}

fn copy(secret: &MasterSecret) -> MasterSecret {
    // A second handle on the same secret for a blocking task; both zeroize on drop.
    MasterSecret::from_text(secret.expose_text()).unwrap_or_else(|| unreachable!("a MasterSecret is never blank"))
}

impl Vault {
    /// Opens the vault in `store`: unwraps its DEK with `master` (or `previous`), creating the
    /// DEK (wrapped with `kdf` parameters) when the store has none.
    pub async fn open(
        store: Arc<dyn VaultBlobStore>,
        master: &MasterSecret,
        previous: Option<&MasterSecret>,
        write_version: EnvelopeVersion,
        kdf: KdfParams,
    ) -> Result<Self, VaultError> {
        let (dek, origin) = match store.get(META_COLLECTION, DEK_KEY).await? {
            Some(value) => Self::unwrap_record(&value, master, previous).await?,
            None => {
                let new_master = copy(master);
                let (record, dek) = blocking(move || DekRecord::generate(&new_master, kdf)).await?;
                if store
                    .put_if_absent(META_COLLECTION, DEK_KEY, &record.to_value())
                    .await?
                {
                    (dek, DekOrigin::Created)
                } else {
                    // Another replica created it between our read and our write: use theirs.
                    let value = store
                        .get(META_COLLECTION, DEK_KEY)
                        .await?
                        .ok_or_else(|| StateError::Corrupt("the data key record vanished".to_owned()))?;
                    Self::unwrap_record(&value, master, previous).await?
                }
            }
        };
        Ok(Self {
            store,
            cipher: Arc::new(VaultCipher::new(&dek, write_version)),
            origin,
        })
    }

    async fn unwrap_record(
        value: &serde_json::Map<String, serde_json::Value>,
        master: &MasterSecret,
        previous: Option<&MasterSecret>,
    ) -> Result<(authsome_domain::vault_crypto::DataKey, DekOrigin), VaultError> {
        let record = DekRecord::from_value(value)?;
        let (current, record_copy) = (copy(master), record.clone());
        match blocking(move || record_copy.unwrap(&current)).await {
            Ok(dek) => Ok((dek, DekOrigin::Unwrapped)),
            Err(VaultError::Crypto(VaultCryptoError::MasterSecretMismatch)) if previous.is_some() => {
                let previous = previous.map(copy).unwrap_or_else(|| unreachable!("checked above"));
                let dek = blocking(move || record.unwrap(&previous)).await?;
                Ok((dek, DekOrigin::UnwrappedWithPrevious))
            }
            Err(error) => Err(error),
        }
    }

    /// How the DEK was obtained.
    pub fn origin(&self) -> DekOrigin {
        self.origin
    }

    /// The cipher (for sealing secrets of runtime state with the same key).
    pub fn cipher(&self) -> Arc<VaultCipher> {
        self.cipher.clone()
    }

    /// The blob store's backend name.
    pub fn backend_name(&self) -> &'static str {
        self.store.backend_name()
    }

    /// The decrypted text stored at (`collection`, `key`).
    pub async fn get(&self, collection: &str, key: &str) -> Result<Option<SecretString>, VaultError> {
        match self.store.get(collection, key).await? {
            None => Ok(None),
            Some(stored) => Ok(Some(self.cipher.open(collection, key, &stored)?)),
        }
    }

    /// The decrypted texts of several keys of `collection`, in order (one round trip where the
    /// store allows it).
    pub async fn get_many(&self, collection: &str, keys: &[&str]) -> Result<Vec<Option<SecretString>>, VaultError> {
        let stored = self.store.get_many(collection, keys).await?;
        stored
            .iter()
            .zip(keys)
            .map(|(value, key)| {
                value
                    .as_ref()
                    .map(|value| self.cipher.open(collection, key, value))
                    .transpose()
                    .map_err(VaultError::from)
            })
            .collect()
    }

    /// Encrypts and stores `text` at (`collection`, `key`).
    pub async fn put(&self, collection: &str, key: &str, text: &str) -> Result<(), VaultError> {
        let sealed = self.cipher.seal(collection, key, text)?;
        Ok(self.store.put(collection, key, &sealed).await?)
    }

    /// Removes the value; returns whether it existed.
    pub async fn delete(&self, collection: &str, key: &str) -> Result<bool, VaultError> {
        Ok(self.store.delete(collection, key).await?)
    }

    /// The keys of `collection` starting with `prefix`, sorted.
    pub async fn list(&self, collection: &str, prefix: &str) -> Result<Vec<String>, VaultError> {
        Ok(self.store.list_keys(collection, prefix).await?)
    }

    /// One round trip to the blob store.
    pub async fn ping(&self) -> Result<(), VaultError> {
        Ok(self.store.ping().await?)
    }
}

/// Re-wraps the store's DEK under `new_master` (fresh salt and nonce) without touching any
/// stored value. Afterwards only `new_master` unwraps it; replicas already serving keep the
/// same DEK in memory and are not disturbed, and replicas that restart with the old secret as
/// `AUTHSOME_MASTER_KEY_PREVIOUS` and the new one as `AUTHSOME_MASTER_KEY` start cleanly.
pub async fn rotate_master_secret(
    store: &dyn VaultBlobStore,
    current: &MasterSecret,
    new_master: &MasterSecret,
    kdf: KdfParams,
) -> Result<(), VaultError> {
    let value = store
        .get(META_COLLECTION, DEK_KEY)
        .await?
        .ok_or(VaultError::NotInitialised)?;
    let record = DekRecord::from_value(&value)?;
    let (current, new_master) = (copy(current), copy(new_master));
    let rewrapped = blocking(move || {
        let dek = record.unwrap(&current)?;
        DekRecord::wrap(&dek, &new_master, kdf)
    })
    .await?;
    Ok(store.put(META_COLLECTION, DEK_KEY, &rewrapped.to_value()).await?)
}
