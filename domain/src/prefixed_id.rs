//! Ids of the form `<prefix>_<lowercase hex>`, as the reference generates them
//! (`principal_` + 12 hex, `vault_` + 12 hex, `audit_` + 32 hex), from a random UUID.

use crate::validation::{ValidationError, excerpt};

/// Checks that `text` is `prefix` followed by exactly `hex_len` lowercase hex digits.
pub(crate) fn validate(text: &str, prefix: &str, hex_len: usize, kind: &'static str) -> Result<(), ValidationError> {
    let valid = text.strip_prefix(prefix).is_some_and(|hex| {
        hex.len() == hex_len && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if valid {
        Ok(())
    } else {
        Err(ValidationError::Id {
            kind,
            value: excerpt(text),
        })
    }
}

/// A new random id: `prefix` followed by the first `hex_len` hex digits of a v4 UUID.
pub(crate) fn generate(prefix: &str, hex_len: usize) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{}", &hex[..hex_len.min(hex.len())])
}

/// Declares a newtype around a validated prefixed id with parse, generate, display and serde.
macro_rules! prefixed_id_type {
    ($(#[$meta:meta])* $name:ident, $prefix:literal, $hex_len:literal, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses an id, checking its prefix and hex length.
            pub fn parse(text: &str) -> Result<Self, $crate::validation::ValidationError> {
                $crate::prefixed_id::validate(text, $prefix, $hex_len, $kind)?;
                Ok(Self(text.to_owned()))
            }

            /// A new random id.
            pub fn generate() -> Self {
                Self($crate::prefixed_id::generate($prefix, $hex_len))
            }

            /// The id text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use prefixed_id_type;
