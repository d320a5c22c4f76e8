//! Provider names, connection names, global connection pointers and stored provider definitions.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::identity::IdentityHandle;
use crate::principal::PrincipalId;
use crate::timestamp::Timestamp;
use crate::validation::{ValidationError, excerpt};
use crate::vault::VaultId;
use crate::visible_text;

/// The longest provider or connection name accepted.
pub const MAX_NAME_LEN: usize = 128;

/// A provider name: `^[a-zA-Z0-9][a-zA-Z0-9._-]*$`, without `..`, at most [`MAX_NAME_LEN`] bytes.
/// Names are used in file names and vault keys, so the rule keeps them filesystem-safe.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProviderName(String);

impl ProviderName {
    /// Validates a provider name.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let bytes = text.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= MAX_NAME_LEN
            && bytes[0].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            && !text.contains("..");
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::ProviderName(excerpt(text)))
        }
    }

    /// The name text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A connection name (`default` unless the user picks another). Any text without control
/// characters, 1 to [`MAX_NAME_LEN`] bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionName(String);

impl ConnectionName {
    /// The name a connection gets when none is given.
    pub const DEFAULT: &'static str = "default";

    /// Validates a connection name.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let valid = !text.trim().is_empty() && text.len() <= MAX_NAME_LEN && !text.chars().any(char::is_control);
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::ConnectionName(excerpt(text)))
        }
    }

    /// Validates the name of a connection being created: stricter than [`parse`](Self::parse),
    /// which also has to read names stored by older versions. New names are ASCII letters,
    /// digits, spaces and `. _ - @ +` ([`visible_text::is_safe_identifier`]), so that no name
    /// can pass for another (`dеfault` with a Cyrillic `е`) or hide characters.
    pub fn parse_new(text: &str) -> Result<Self, ValidationError> {
        if visible_text::is_safe_identifier(text, MAX_NAME_LEN) {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::NewConnectionName(visible_text::visible(
                &excerpt(text),
                visible_text::Reading::Identifier,
            )))
        }
    }

    /// The `default` connection name.
    pub fn default_name() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    /// The name text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_traits {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
string_newtype_traits!(ProviderName);
string_newtype_traits!(ConnectionName);

/// What a global pointer points at: one connection in one principal's vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalProviderConnectionTarget {
    /// The provider this pointer serves.
    pub provider: ProviderName,
    /// The principal whose vault holds the connection.
    pub owner_principal_id: PrincipalId,
    /// The vault holding the connection.
    pub owner_vault_id: VaultId,
    /// The connection's name in that vault.
    pub connection_name: ConnectionName,
    /// The identity that set the pointer (absent when set from a browser session).
    pub created_by_identity: Option<IdentityHandle>,
}

/// An admin-set pointer making one vault's connection the fallback for every principal
/// without a local connection to the provider. At most one per provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalProviderConnection {
    /// Where the pointer points.
    pub target: GlobalProviderConnectionTarget,
    /// When the pointer was first set for this provider.
    pub created_at: Timestamp,
    /// When it last changed; used for optimistic concurrency on delete.
    pub updated_at: Timestamp,
}

/// A custom provider definition as stored: the provider's name and its JSON document.
///
/// The document's schema is checked by the provider catalog before it is stored; here it is
/// only required to be a JSON object whose `name` equals the row's name.
///
/// The document is shared, not copied, between clones: one read is handed from the database
/// to the replica's memory and on to every resolve that uses it, and two clones of one read
/// compare equal by pointer before their contents are compared.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderDefinitionDocument {
    name: ProviderName,
    document: Arc<Map<String, Value>>,
}

impl ProviderDefinitionDocument {
    /// Wraps a definition document, checking that its `name` field is a valid provider name.
    pub fn new(document: Map<String, Value>) -> Result<Self, ValidationError> {
        let name = match document.get("name") {
            Some(Value::String(name)) => ProviderName::parse(name)?,
            _ => {
                return Err(ValidationError::Document {
                    what: "provider definition",
                    detail: "field 'name' must be a string".to_owned(),
                });
            }
        };
        Ok(Self {
            name,
            document: Arc::new(document),
        })
    }

    /// Reads a stored `definition_json` text.
    pub fn from_json(text: &str) -> Result<Self, ValidationError> {
        let document: Map<String, Value> = serde_json::from_str(text).map_err(|e| ValidationError::Document {
            what: "provider definition",
            detail: e.to_string(),
        })?;
        Self::new(document)
    }

    /// The provider name.
    pub fn name(&self) -> &ProviderName {
        &self.name
    }

    /// The definition document.
    pub fn document(&self) -> &Map<String, Value> {
        &self.document
    }

    /// The text to store: JSON with a two-space indent, as the reference stores it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self.document.as_ref()).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_follow_the_reference_rule() {
        for ok in ["openai", "brave-search-mcp", "a", "x.y_z-1", "OpenAI"] {
            assert!(ProviderName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", ".x", "a..b", "a/b", "a b", "ü", "../etc"] {
            assert!(ProviderName::parse(bad).is_err(), "{bad}");
        }
        assert!(ProviderName::parse(&"a".repeat(MAX_NAME_LEN + 1)).is_err());
    }

    #[test]
    fn connection_names_reject_control_characters_and_blank() {
        assert!(ConnectionName::parse("work account").is_ok());
        for bad in ["", "  ", "a\nb", "a\0b"] {
            assert!(ConnectionName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn definition_document_needs_a_valid_name() {
        let doc = ProviderDefinitionDocument::from_json(r#"{"name":"acme","auth_type":"api_key"}"#).expect("valid");
        assert_eq!(doc.name().as_str(), "acme");
        let again = ProviderDefinitionDocument::from_json(&doc.to_json()).expect("round trip");
        assert_eq!(again, doc);
        assert!(ProviderDefinitionDocument::from_json(r#"{"auth_type":"api_key"}"#).is_err());
        assert!(ProviderDefinitionDocument::from_json(r#"{"name":"../x"}"#).is_err());
        assert!(ProviderDefinitionDocument::from_json("[1]").is_err());
    }
}
