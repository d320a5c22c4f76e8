//! One vault's records (connections, provider metadata and refresh state) and the
//! server-wide OAuth client records: reading and writing them through the encrypted vault,
//! stamped with who saved them.

use authsome_domain::credential_records::{
    ConnectionRecord, ProviderClientRecord, ProviderMetadataRecord, ProviderStateRecord, SERVER_COLLECTION,
    VaultKeyKind, VaultKeys, client_key,
};
use authsome_domain::{ConnectionName, VaultId};
use secrecy::ExposeSecret;

use crate::ServiceError;
use crate::context::ServiceContext;
use crate::ownership::Caller;

/// One vault's records, written on behalf of an identity and principal (the reference stamps
/// every saved record with the saving context).
pub struct VaultScope<'a> {
    state: &'a ServiceContext,
    keys: VaultKeys,
    vault_id: VaultId,
    identity: Option<String>,
    principal_id: Option<String>,
}

impl<'a> VaultScope<'a> {
    /// The caller's default vault.
    pub fn of(state: &'a ServiceContext, caller: &Caller) -> Self {
        Self::new(
            state,
            &caller.vault_id,
            caller.identity_str(),
            Some(caller.principal_id.as_str()),
        )
    }

    /// Any vault, stamping saves with `identity` and `principal_id`.
    pub fn new(
        state: &'a ServiceContext,
        vault_id: &VaultId,
        identity: Option<&str>,
        principal_id: Option<&str>,
    ) -> Self {
        Self {
            state,
            keys: VaultKeys::new(vault_id),
            vault_id: vault_id.clone(),
            identity: identity.map(str::to_owned),
            principal_id: principal_id.map(str::to_owned),
        }
    }

    /// The vault's id.
    pub fn vault_id(&self) -> &VaultId {
        &self.vault_id
    }

    async fn get_text(&self, key: &str) -> Result<Option<String>, ServiceError> {
        let text = self.state.vault.get(&self.keys.collection(), key).await?;
        Ok(text.map(|t| t.expose_secret().to_owned()))
    }

    /// The connection, when stored and readable.
    pub async fn connection(&self, provider: &str, connection: &str) -> Result<Option<ConnectionRecord>, ServiceError> {
        let key = self.keys.connection(provider, connection);
        let text = self.get_text(&key).await?;
        Ok(Self::connection_record(&key, text))
    }

    /// The provider's default connection (the one its metadata names, else `default`) and
    /// that name. The metadata and the `default` connection are read together, so the usual
    /// case costs one round trip; a provider whose default has another name costs two.
    pub async fn default_connection(&self, provider: &str) -> Result<(String, Option<ConnectionRecord>), ServiceError> {
        let (metadata_key, default_key) = (
            self.keys.metadata(provider),
            self.keys.connection(provider, ConnectionName::DEFAULT),
        );
        let mut texts = self
            .state
            .vault
            .get_many(&self.keys.collection(), &[&metadata_key, &default_key])
            .await?
            .into_iter();
        let (metadata, default) = (texts.next().flatten(), texts.next().flatten());
        let name = default_name_in(metadata.and_then(|text| serde_json::from_str(text.expose_secret()).ok()));
        if name == ConnectionName::DEFAULT {
            let record = Self::connection_record(&default_key, default.map(|t| t.expose_secret().to_owned()));
            return Ok((name, record));
        }
        let record = self.connection(provider, &name).await?;
        Ok((name, record))
    }

    fn connection_record(key: &str, text: Option<String>) -> Option<ConnectionRecord> {
        let text = zeroize::Zeroizing::new(text?);
        match ConnectionRecord::from_json(&text) {
            Ok(record) => record,
            Err(error) => {
                // Like the reference: an unreadable record counts as absent (and is logged).
                tracing::warn!(%key, %error, "skipping an unreadable connection record");
                None
            }
        }
    }

    /// Stores the connection, stamped with this scope's vault, identity and principal.
    pub async fn save_connection(&self, record: &mut ConnectionRecord) -> Result<(), ServiceError> {
        record.identity = self.identity.clone();
        record.principal_id = self.principal_id.clone();
        record.vault_id = Some(self.vault_id.as_str().to_owned());
        let key = self.keys.connection(&record.provider, &record.connection_name);
        let text = zeroize::Zeroizing::new(record.to_json());
        Ok(self.state.vault.put(&self.keys.collection(), &key, &text).await?)
    }

    /// Removes the connection.
    pub async fn delete_connection(&self, provider: &str, connection: &str) -> Result<(), ServiceError> {
        self.state
            .vault
            .delete(&self.keys.collection(), &self.keys.connection(provider, connection))
            .await?;
        Ok(())
    }

    /// The provider's metadata.
    pub async fn metadata(&self, provider: &str) -> Result<Option<ProviderMetadataRecord>, ServiceError> {
        self.read_record(&self.keys.metadata(provider)).await
    }

    /// Stores the provider's metadata, stamped with this scope.
    pub async fn save_metadata(&self, record: &mut ProviderMetadataRecord) -> Result<(), ServiceError> {
        record.identity = self.identity.clone();
        record.principal_id = self.principal_id.clone();
        record.vault_id = Some(self.vault_id.as_str().to_owned());
        self.write_record(&self.keys.metadata(&record.provider), record).await
    }

    /// Removes the provider's metadata.
    pub async fn delete_metadata(&self, provider: &str) -> Result<(), ServiceError> {
        self.state
            .vault
            .delete(&self.keys.collection(), &self.keys.metadata(provider))
            .await?;
        Ok(())
    }

    /// The provider's refresh state in this vault.
    pub async fn provider_state(&self, provider: &str) -> Result<Option<ProviderStateRecord>, ServiceError> {
        self.read_record(&self.keys.state(provider)).await
    }

    /// Stores the provider's refresh state, stamped with this scope.
    pub async fn save_provider_state(&self, record: &mut ProviderStateRecord) -> Result<(), ServiceError> {
        record.identity = self.identity.clone();
        record.principal_id = self.principal_id.clone();
        record.vault_id = Some(self.vault_id.as_str().to_owned());
        self.write_record(&self.keys.state(&record.provider), record).await
    }

    /// A metadata or state record of this vault (unreadable: absent, as the reference reads it).
    async fn read_record<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ServiceError> {
        let Some(text) = self.get_text(key).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_str(&text).ok())
    }

    /// Stores a metadata or state record of this vault.
    async fn write_record<T: serde::Serialize>(&self, key: &str, record: &T) -> Result<(), ServiceError> {
        let text = serde_json::to_string(record).unwrap_or_default();
        Ok(self.state.vault.put(&self.keys.collection(), key, &text).await?)
    }

    /// Every (provider, connection name) stored, in key order.
    pub async fn connection_keys(&self) -> Result<Vec<(String, String)>, ServiceError> {
        let keys = self
            .state
            .vault
            .list(&self.keys.collection(), &self.keys.prefix())
            .await?;
        Ok(keys
            .iter()
            .filter_map(|key| match VaultKeys::parse(key) {
                VaultKeyKind::Connection { provider, connection } => Some((provider, connection)),
                _ => None,
            })
            .collect())
    }

    /// The default connection name: the metadata's, else `default`.
    pub async fn default_connection_name(&self, provider: &str) -> Result<String, ServiceError> {
        Ok(default_name_in(self.metadata(provider).await?))
    }

    /// Records `connection` in the provider's metadata as stored and last used.
    pub async fn note_connection_saved(&self, provider: &str, connection: &str) -> Result<(), ServiceError> {
        let mut metadata = self
            .metadata(provider)
            .await?
            .unwrap_or_else(|| ProviderMetadataRecord::new(provider));
        if !metadata.connection_names.iter().any(|n| n == connection) {
            metadata.connection_names.push(connection.to_owned());
        }
        metadata.last_used_connection = Some(connection.to_owned());
        self.save_metadata(&mut metadata).await
    }
}

/// The default connection name a provider's metadata gives: its own, else `default`.
fn default_name_in(metadata: Option<ProviderMetadataRecord>) -> String {
    metadata.map_or_else(|| ConnectionName::DEFAULT.to_owned(), |m| m.default_connection)
}

/// The server-wide OAuth client record of a provider.
pub async fn client_record(
    state: &ServiceContext,
    provider: &str,
) -> Result<Option<ProviderClientRecord>, ServiceError> {
    let Some(text) = state.vault.get(SERVER_COLLECTION, &client_key(provider)).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_str(text.expose_secret()).ok())
}

/// Stores a provider's client record.
pub async fn save_client_record(state: &ServiceContext, record: &ProviderClientRecord) -> Result<(), ServiceError> {
    let text = zeroize::Zeroizing::new(serde_json::to_string(record).unwrap_or_default());
    Ok(state
        .vault
        .put(SERVER_COLLECTION, &client_key(&record.provider), &text)
        .await?)
}

/// Removes a provider's client record.
pub async fn delete_client_record(state: &ServiceContext, provider: &str) -> Result<(), ServiceError> {
    state.vault.delete(SERVER_COLLECTION, &client_key(provider)).await?;
    Ok(())
}
