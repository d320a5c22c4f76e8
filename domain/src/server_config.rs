//! The server-wide configuration record (`server_config` row `global`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::validation::ValidationError;

/// The spec version authsome 0.7.2 writes: the minor number of its package version.
pub const REFERENCE_SPEC_VERSION: i64 = 7;

/// The `global` server configuration document. Unknown keys are kept as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// The configuration spec version.
    pub spec_version: i64,
    /// Keys this version does not know, preserved on save.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            spec_version: REFERENCE_SPEC_VERSION,
            extra: Map::new(),
        }
    }
}

impl ServerConfig {
    /// Reads the stored JSON document. A missing `spec_version` takes the default, as in the
    /// reference's model.
    pub fn from_json(text: &str) -> Result<Self, ValidationError> {
        let mut map: Map<String, Value> = serde_json::from_str(text).map_err(|e| ValidationError::Document {
            what: "server config",
            detail: e.to_string(),
        })?;
        let spec_version = match map.remove("spec_version") {
            None => REFERENCE_SPEC_VERSION,
            Some(value) => value.as_i64().ok_or_else(|| ValidationError::Document {
                what: "server config",
                detail: "spec_version must be an integer".to_owned(),
            })?,
        };
        Ok(Self {
            spec_version,
            extra: map,
        })
    }

    /// The compact JSON document to store (the reference's `model_dump_json()` form).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!("{{\"spec_version\":{}}}", self.spec_version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_reference_document_and_keeps_unknown_keys() {
        let config = ServerConfig::from_json(r#"{"spec_version":7,"theme":"dark"}"#).expect("valid");
        assert_eq!(config.spec_version, 7);
        assert_eq!(config.extra.get("theme"), Some(&Value::from("dark")));
        let again = ServerConfig::from_json(&config.to_json()).expect("round trip");
        assert_eq!(again, config);
    }

    #[test]
    fn rejects_non_objects_and_bad_versions() {
        assert!(ServerConfig::from_json("[]").is_err());
        assert!(ServerConfig::from_json(r#"{"spec_version":"seven"}"#).is_err());
        assert_eq!(
            ServerConfig::from_json("{}").expect("default").spec_version,
            REFERENCE_SPEC_VERSION
        );
    }
}
