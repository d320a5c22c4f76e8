//! The records a vault holds, in the reference's JSON shapes (schema version 2), and the keys
//! they live under:
//!
//! | Record | Collection | Key |
//! |---|---|---|
//! | [`ConnectionRecord`] | `vault:<vault_id>` | `vault:<vault_id>:<provider>:connection:<name>` |
//! | [`ProviderMetadataRecord`] | `vault:<vault_id>` | `vault:<vault_id>:<provider>:metadata` |
//! | [`ProviderStateRecord`] | `vault:<vault_id>` | `vault:<vault_id>:<provider>:state` |
//! | [`ProviderClientRecord`] | `server` | `server:provider:<provider>:client` |
//!
//! Records allow extra keys, which are kept. Secret fields are wiped from memory on drop and
//! never shown by `Debug`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroize;

use crate::provider_definition::AuthType;
use crate::timestamp::Timestamp;
use crate::vault::VaultId;

/// The record schema version this code writes and the oldest it reads.
pub const SCHEMA_VERSION: i64 = 2;

/// The server-scope collection (provider client credentials).
pub const SERVER_COLLECTION: &str = "server";

/// A connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum ConnectionStatus {
    NotConnected,
    Connected,
    Expired,
    Revoked,
    Invalid,
}

impl ConnectionStatus {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotConnected => "not_connected",
            Self::Connected => "connected",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Invalid => "invalid",
        }
    }
}

/// Who the account is at the provider, when known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct AccountInfo {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
}

fn schema_version() -> i64 {
    SCHEMA_VERSION
}

fn default_connection_name() -> String {
    "default".to_owned()
}

/// A stored credential for one (vault, provider, connection name).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ConnectionRecord {
    #[serde(default = "schema_version")]
    pub schema_version: i64,
    pub provider: String,
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub vault_id: Option<String>,
    pub connection_name: String,
    pub auth_type: AuthType,
    pub status: ConnectionStatus,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    #[serde(default)]
    pub obtained_at: Option<Timestamp>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub credentials: Option<Map<String, Value>>,
    #[serde(default)]
    pub account: Option<AccountInfo>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ConnectionRecord {
    /// A new connected record of `auth_type`, obtained now, with no secret yet.
    pub fn connected(provider: &str, connection_name: &str, auth_type: AuthType) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            provider: provider.to_owned(),
            identity: None,
            principal_id: None,
            vault_id: None,
            connection_name: connection_name.to_owned(),
            auth_type,
            status: ConnectionStatus::Connected,
            base_url: None,
            api_url: None,
            scopes: None,
            access_token: None,
            refresh_token: None,
            token_type: None,
            expires_at: None,
            obtained_at: Some(Timestamp::now()),
            api_key: None,
            credentials: None,
            account: Some(AccountInfo::default()),
            metadata: Map::new(),
            extra: Map::new(),
        }
    }

    /// A new connected API-key record.
    pub fn api_key(provider: &str, connection_name: &str, key: String) -> Self {
        let mut record = Self::connected(provider, connection_name, AuthType::ApiKey);
        record.api_key = Some(key);
        record
    }

    /// Reads a stored record. `Ok(None)` for a record older than schema version 2, which the
    /// reference also ignores.
    pub fn from_json(text: &str) -> Result<Option<Self>, serde_json::Error> {
        match serde_json::from_str::<PlainConnectionRecord>(text) {
            Ok(record) => Ok(record.into_record()),
            Err(_) => Self::from_json_with_extra_keys(text),
        }
    }

    /// [`Self::from_json`] for any record, extra keys included.
    fn from_json_with_extra_keys(text: &str) -> Result<Option<Self>, serde_json::Error> {
        let value: Value = serde_json::from_str(text)?;
        if value.get("schema_version").and_then(Value::as_i64).unwrap_or(1) < SCHEMA_VERSION {
            return Ok(None);
        }
        serde_json::from_value(value).map(Some)
    }

    /// The JSON text to store.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Whether the record can be used at `now`: connected and not past its expiry.
    pub fn is_usable_at(&self, now: Timestamp) -> bool {
        self.status == ConnectionStatus::Connected && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// A [`ConnectionRecord`] without extra keys, read in one pass: the common case, and the one
/// every credential resolution reads. The general path (a JSON value tree, then the record
/// with its flattened extra keys, which serde buffers once more) cost about three times as
/// much. Anything this shape refuses (an extra or repeated key, an older schema's missing
/// fields, a wrong type) goes the general way, so both give the same answer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainConnectionRecord {
    #[serde(default)]
    schema_version: Option<i64>,
    provider: String,
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    principal_id: Option<String>,
    #[serde(default)]
    vault_id: Option<String>,
    connection_name: String,
    auth_type: AuthType,
    status: ConnectionStatus,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_at: Option<Timestamp>,
    #[serde(default)]
    obtained_at: Option<Timestamp>,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    credentials: Option<Map<String, Value>>,
    #[serde(default)]
    account: Option<AccountInfo>,
    #[serde(default)]
    metadata: Map<String, Value>,
}

impl PlainConnectionRecord {
    /// The record, or `None` for an older schema (absent or null counts as version 1).
    fn into_record(self) -> Option<ConnectionRecord> {
        let schema_version = self.schema_version.unwrap_or(1);
        if schema_version < SCHEMA_VERSION {
            return None;
        }
        Some(ConnectionRecord {
            schema_version,
            provider: self.provider,
            identity: self.identity,
            principal_id: self.principal_id,
            vault_id: self.vault_id,
            connection_name: self.connection_name,
            auth_type: self.auth_type,
            status: self.status,
            base_url: self.base_url,
            api_url: self.api_url,
            scopes: self.scopes,
            access_token: self.access_token,
            refresh_token: self.refresh_token,
            token_type: self.token_type,
            expires_at: self.expires_at,
            obtained_at: self.obtained_at,
            api_key: self.api_key,
            credentials: self.credentials,
            account: self.account,
            metadata: self.metadata,
            extra: Map::new(),
        })
    }
}

impl fmt::Debug for ConnectionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionRecord")
            .field("provider", &self.provider)
            .field("connection_name", &self.connection_name)
            .field("auth_type", &self.auth_type)
            .field("status", &self.status)
            .field("secrets", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl ConnectionRecord {
    /// Removes every secret value (tokens, key, cookies), wiping each first: for a view of the
    /// record that must not carry them.
    pub fn clear_secrets(&mut self) {
        self.wipe_secrets();
        self.access_token = None;
        self.refresh_token = None;
        self.api_key = None;
        self.credentials = None;
    }

    fn wipe_secrets(&mut self) {
        for secret in [&mut self.access_token, &mut self.refresh_token, &mut self.api_key]
            .into_iter()
            .flatten()
        {
            secret.zeroize();
        }
        if let Some(credentials) = &mut self.credentials {
            for value in credentials.values_mut() {
                if let Value::String(text) = value {
                    text.zeroize();
                }
            }
        }
    }
}

impl Drop for ConnectionRecord {
    fn drop(&mut self) {
        self.wipe_secrets();
    }
}

/// Which connections of a provider a vault has, and which is the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ProviderMetadataRecord {
    #[serde(default = "schema_version")]
    pub schema_version: i64,
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub vault_id: Option<String>,
    pub provider: String,
    #[serde(default = "default_connection_name")]
    pub default_connection: String,
    #[serde(default)]
    pub connection_names: Vec<String>,
    #[serde(default)]
    pub last_used_connection: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProviderMetadataRecord {
    /// Empty metadata for `provider`.
    pub fn new(provider: &str) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            identity: None,
            principal_id: None,
            vault_id: None,
            provider: provider.to_owned(),
            default_connection: default_connection_name(),
            connection_names: Vec::new(),
            last_used_connection: None,
            metadata: Map::new(),
            extra: Map::new(),
        }
    }
}

/// Refresh bookkeeping for a provider in a vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ProviderStateRecord {
    #[serde(default = "schema_version")]
    pub schema_version: i64,
    pub provider: String,
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub vault_id: Option<String>,
    #[serde(default)]
    pub last_refresh_at: Option<Timestamp>,
    #[serde(default)]
    pub last_refresh_error: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProviderStateRecord {
    /// An empty state record for `provider`.
    pub fn new(provider: &str) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            provider: provider.to_owned(),
            identity: None,
            principal_id: None,
            vault_id: None,
            last_refresh_at: None,
            last_refresh_error: None,
            metadata: Map::new(),
            extra: Map::new(),
        }
    }
}

/// A provider's OAuth client, shared by the whole server.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct ProviderClientRecord {
    #[serde(default = "schema_version")]
    pub schema_version: i64,
    pub provider: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProviderClientRecord {
    /// An empty client record for `provider`.
    pub fn new(provider: &str) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            provider: provider.to_owned(),
            client_id: None,
            client_secret: None,
            base_url: None,
            api_url: None,
            scopes: None,
            metadata: Map::new(),
            extra: Map::new(),
        }
    }
}

impl fmt::Debug for ProviderClientRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderClientRecord")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Drop for ProviderClientRecord {
    fn drop(&mut self) {
        if let Some(secret) = &mut self.client_secret {
            secret.zeroize();
        }
    }
}

/// Vault key names of one vault.
#[derive(Debug, Clone)]
pub struct VaultKeys {
    vault_id: String,
}

/// What a vault key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultKeyKind {
    /// A connection.
    Connection {
        /// Provider name.
        provider: String,
        /// Connection name.
        connection: String,
    },
    /// A provider's metadata.
    Metadata {
        /// Provider name.
        provider: String,
    },
    /// A provider's refresh state.
    State {
        /// Provider name.
        provider: String,
    },
    /// Anything else.
    Other,
}

impl VaultKeys {
    /// Keys of the vault `vault_id`.
    pub fn new(vault_id: &VaultId) -> Self {
        Self {
            vault_id: vault_id.as_str().to_owned(),
        }
    }

    /// The vault's collection.
    pub fn collection(&self) -> String {
        format!("vault:{}", self.vault_id)
    }

    /// The prefix every key of the vault starts with.
    pub fn prefix(&self) -> String {
        format!("vault:{}:", self.vault_id)
    }

    /// A connection's key.
    pub fn connection(&self, provider: &str, connection: &str) -> String {
        format!("vault:{}:{provider}:connection:{connection}", self.vault_id)
    }

    /// A provider's metadata key.
    pub fn metadata(&self, provider: &str) -> String {
        format!("vault:{}:{provider}:metadata", self.vault_id)
    }

    /// A provider's state key.
    pub fn state(&self, provider: &str) -> String {
        format!("vault:{}:{provider}:state", self.vault_id)
    }

    /// What `key` names, parsed the reference's way.
    pub fn parse(key: &str) -> VaultKeyKind {
        let Some(rest) = key.strip_prefix("vault:") else {
            return VaultKeyKind::Other;
        };
        let Some((_, remainder)) = rest.split_once(':') else {
            return VaultKeyKind::Other;
        };
        if let Some(provider) = remainder.strip_suffix(":metadata") {
            return VaultKeyKind::Metadata {
                provider: provider.to_owned(),
            };
        }
        if let Some(provider) = remainder.strip_suffix(":state") {
            return VaultKeyKind::State {
                provider: provider.to_owned(),
            };
        }
        if remainder.ends_with(":client") {
            return VaultKeyKind::Other;
        }
        match remainder.split_once(":connection:") {
            Some((provider, connection)) => VaultKeyKind::Connection {
                provider: provider.to_owned(),
                connection: connection.to_owned(),
            },
            None => VaultKeyKind::Other,
        }
    }
}

/// The server-scope key of a provider's client record.
pub fn client_key(provider: &str) -> String {
    format!("server:provider:{provider}:client")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_reference_connection_and_keeps_unknown_keys() {
        let text = r#"{"schema_version":2,"provider":"openai","identity":"a-1","principal_id":"principal_0123456789ab",
            "vault_id":"vault_0123456789ab","connection_name":"default","auth_type":"api_key","status":"connected",
            "base_url":null,"api_url":null,"scopes":null,"access_token":null,"refresh_token":null,"token_type":null,
            "expires_at":null,"obtained_at":"2026-11-28T22:56:04.437113Z","api_key":"sk-x","credentials":null,
            "account":{"id":null,"label":null},"metadata":{},"future_field":1}"#;
        let record = ConnectionRecord::from_json(text).expect("json").expect("v2");
        assert_eq!(record.api_key.as_deref(), Some("sk-x"));
        assert_eq!(record.extra["future_field"], 1);
        assert!(!format!("{record:?}").contains("sk-x"), "secrets never in Debug");
        let again = ConnectionRecord::from_json(&record.to_json())
            .expect("json")
            .expect("v2");
        assert_eq!(again, record);
        assert!(
            ConnectionRecord::from_json(r#"{"schema_version":1,"provider":"x"}"#)
                .expect("json")
                .is_none()
        );
    }

    #[test]
    fn the_one_pass_read_answers_like_the_general_one() {
        let full = r#""provider":"openai","identity":"a-1","principal_id":"p","vault_id":"v","connection_name":"default",
            "auth_type":"api_key","status":"connected","base_url":null,"api_url":"https://api.example","scopes":["a"],
            "access_token":null,"refresh_token":null,"token_type":null,"expires_at":"2026-11-28T22:56:04Z",
            "obtained_at":"2026-11-28T22:56:04.437113Z","api_key":"sk-x","credentials":{"k":"v"},
            "account":{"id":"1","label":null},"metadata":{"m":[1,2]}"#;
        let minimal = r#""provider":"openai","connection_name":"work","auth_type":"oauth2","status":"expired""#;
        let texts = [
            format!(r#"{{"schema_version":2,{full}}}"#),
            format!(r#"{{"schema_version":3,{minimal}}}"#),
            format!(r#"{{"schema_version":2,{minimal},"future_field":{{"x":1}}}}"#),
            // Repeated keys: the general read keeps the last one.
            format!(r#"{{"schema_version":2,{minimal},"provider":"github"}}"#),
            // Older, missing or odd schema versions.
            format!(r#"{{"schema_version":1,{full}}}"#),
            format!(r#"{{{full}}}"#),
            format!(r#"{{"schema_version":null,{full}}}"#),
            format!(r#"{{"schema_version":"2",{full}}}"#),
            format!(r#"{{"schema_version":2.0,{full}}}"#),
            r#"{"schema_version":1,"provider":"x"}"#.to_owned(),
            // Wrong types and missing fields.
            r#"{"schema_version":2,"provider":"x"}"#.to_owned(),
            format!(r#"{{"schema_version":2,{minimal},"metadata":null}}"#),
            format!(r#"{{"schema_version":2,{minimal},"scopes":"a"}}"#),
            format!(r#"{{"schema_version":2,{minimal},"status":"unknown"}}"#),
            "[]".to_owned(),
            "{".to_owned(),
        ];
        for text in &texts {
            let general = ConnectionRecord::from_json_with_extra_keys(text);
            match (ConnectionRecord::from_json(text), general) {
                (Ok(one_pass), Ok(general)) => assert_eq!(one_pass, general, "{text}"),
                (Err(_), Err(_)) => {}
                (one_pass, general) => panic!("{text}: {:?} against {:?}", one_pass.is_ok(), general.is_ok()),
            }
        }
        let read = ConnectionRecord::from_json(&texts[3]).expect("json").expect("v2");
        assert_eq!(read.provider, "github");
        assert!(ConnectionRecord::from_json(&texts[1]).expect("json").is_some());
        assert!(
            ConnectionRecord::from_json(&texts[2])
                .expect("json")
                .is_some_and(|r| r.extra.contains_key("future_field"))
        );
        assert!(ConnectionRecord::from_json(&texts[5]).expect("json").is_none());
        // What this code writes takes the one-pass read.
        let written = ConnectionRecord::api_key("openai", "default", "sk-y".to_owned()).to_json();
        assert!(
            serde_json::from_str::<PlainConnectionRecord>(&written).is_ok(),
            "{written}"
        );
        // So does an OAuth connection as a login stores it.
        let mut oauth = ConnectionRecord::connected("github", "default", AuthType::Oauth2);
        oauth.access_token = Some("gho_a".to_owned());
        oauth.refresh_token = Some("ghr_b".to_owned());
        oauth.token_type = Some("Bearer".to_owned());
        oauth.scopes = Some(vec!["repo".to_owned()]);
        oauth.expires_at = Some(Timestamp::now().plus_seconds(3600));
        oauth
            .metadata
            .insert("callback_handled_by".to_owned(), Value::from("runtime"));
        let written = oauth.to_json();
        let one_pass = serde_json::from_str::<PlainConnectionRecord>(&written);
        assert!(one_pass.is_ok(), "{written}: {:?}", one_pass.err());
    }

    #[test]
    fn keys_build_and_parse_like_the_reference() {
        let keys = VaultKeys::new(&VaultId::parse("vault_0123456789ab").expect("id"));
        assert_eq!(keys.collection(), "vault:vault_0123456789ab");
        let key = keys.connection("openai", "work:main");
        assert_eq!(key, "vault:vault_0123456789ab:openai:connection:work:main");
        assert_eq!(
            VaultKeys::parse(&key),
            VaultKeyKind::Connection {
                provider: "openai".into(),
                connection: "work:main".into()
            }
        );
        assert_eq!(
            VaultKeys::parse(&keys.metadata("openai")),
            VaultKeyKind::Metadata {
                provider: "openai".into()
            }
        );
        assert_eq!(VaultKeys::parse("server:provider:x:client"), VaultKeyKind::Other);
        assert_eq!(client_key("github"), "server:provider:github:client");
    }
}
