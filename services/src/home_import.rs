//! Bringing the vault of an authsome 0.7.2 home into this server's vault
//! (`authsome import-home`).
//!
//! Every value is decrypted with the 0.7.2 vault's own data key and sealed again with ours,
//! so the import works whatever data key and master secret the target already has, and every
//! value is proven to decrypt on the way. What the target already holds is never
//! overwritten: an equal value counts as unchanged (running the import again changes
//! nothing), a different one is kept and reported. A value that does not decrypt is reported
//! by name and the rest carry on; a failing target store stops the import (nothing after it
//! is written, everything before it is complete and may be imported again).

use std::collections::BTreeMap;

use secrecy::ExposeSecret;

use crate::vault::{Vault, VaultError};

/// The 0.7.2 vault's bookkeeping, which is not carried over: the data-key record and the
/// integrity probe (`__vault_meta__`), the readiness probe's collection, and the disk
/// backend's key index (`__index__` in every collection; our stores keep their own).
pub fn is_carried_over(collection: &str, key: &str) -> bool {
    collection != authsome_domain::vault_crypto::META_COLLECTION
        && collection != "vault:__ready__"
        && key != "__index__"
}

/// What happened to the values of one collection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectionImport {
    /// The collection (`vault:<vault id>`, `server`...).
    pub collection: String,
    /// Values written into the target now.
    pub imported: u64,
    /// Values the target already held, equal (an earlier import).
    pub unchanged: u64,
    /// Keys the target already held with another value: the target's is kept.
    pub kept_existing: Vec<String>,
    /// Keys whose 0.7.2 value could not be decrypted, with the reason (never the value).
    pub failed: Vec<(String, String)>,
}

/// Copies the values named by `entries` (collection, key; others than
/// [`is_carried_over`] are skipped) from `source` into `target`, one collection at a time
/// in name order, calling `progress` after each.
pub async fn import_vault(
    source: &Vault,
    target: &Vault,
    entries: &[(String, String)],
    mut progress: impl FnMut(&CollectionImport),
) -> Result<Vec<CollectionImport>, VaultError> {
    let mut by_collection: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (collection, key) in entries {
        if is_carried_over(collection, key) {
            by_collection.entry(collection).or_default().push(key);
        }
    }
    let mut reports = Vec::with_capacity(by_collection.len());
    for (collection, mut keys) in by_collection {
        keys.sort_unstable();
        keys.dedup();
        let mut report = CollectionImport {
            collection: collection.to_owned(),
            ..CollectionImport::default()
        };
        for key in keys {
            let value = match source.get(collection, key).await {
                Ok(Some(value)) => value,
                Ok(None) => continue,
                Err(VaultError::Crypto(error)) => {
                    report.failed.push((key.to_owned(), error.to_string()));
                    continue;
                }
                Err(error) => return Err(error),
            };
            match target.get(collection, key).await? {
                Some(existing) if existing.expose_secret() == value.expose_secret() => report.unchanged += 1,
                Some(_) => report.kept_existing.push(key.to_owned()),
                None => {
                    target.put(collection, key, value.expose_secret()).await?;
                    report.imported += 1;
                }
            }
        }
        progress(&report);
        reports.push(report);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_vaults_bookkeeping_stays_behind() {
        assert!(is_carried_over(
            "vault:vault_1",
            "vault:vault_1:openai:connection:default"
        ));
        assert!(is_carried_over("server", "server:provider:github:client"));
        assert!(!is_carried_over("__vault_meta__", "__dek__"));
        assert!(!is_carried_over("__vault_meta__", "__integrity_probe__"));
        assert!(!is_carried_over("vault:vault_1", "__index__"));
        assert!(!is_carried_over("vault:__ready__", "__ready_test__:0b1c"));
    }
}
