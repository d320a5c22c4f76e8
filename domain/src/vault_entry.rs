//! The document a vault value is stored in, in Redis and on disk: py-key-value's entry as
//! authsome 0.7.2 writes it, `{"collection": ..., "created_at": ..., "key": ..., "value":
//! {...}, "version": 1}`, in Python's `json.dumps` spacing, so that either implementation
//! reads what the other wrote. The value inside is the (encrypted) vault value; this module
//! only frames it.

use serde_json::{Map, Value};

use crate::python_json::{self, Separators};
use crate::timestamp::Timestamp;
use crate::validation::ValidationError;

/// What a stored entry holds: the collection and key it names (when it names them) and its
/// value object.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    /// The collection the document says it belongs to.
    pub collection: Option<String>,
    /// The key the document says it is stored under.
    pub key: Option<String>,
    /// The stored value.
    pub value: Map<String, Value>,
}

/// The document for `value` under (`collection`, `key`), created now.
pub fn encode(collection: &str, key: &str, value: &Map<String, Value>) -> String {
    let mut document = Map::new();
    document.insert("collection".to_owned(), Value::String(collection.to_owned()));
    document.insert("created_at".to_owned(), Value::String(Timestamp::now().to_isoformat()));
    document.insert("key".to_owned(), Value::String(key.to_owned()));
    document.insert("value".to_owned(), Value::Object(value.clone()));
    document.insert("version".to_owned(), Value::from(1));
    python_json::to_string(&document, Separators::Default)
}

fn refused(detail: &str) -> ValidationError {
    ValidationError::Document {
        what: "vault entry",
        detail: detail.to_owned(),
    }
}

/// Reads a stored document: a JSON object whose `value` is an object; `collection` and `key`
/// are kept when they are strings.
pub fn decode(bytes: &[u8]) -> Result<StoredEntry, ValidationError> {
    let mut document: Map<String, Value> = serde_json::from_slice(bytes).map_err(|_| refused("not a JSON object"))?;
    let Some(Value::Object(value)) = document.remove("value") else {
        return Err(refused("no object value"));
    };
    let text = |field: Option<Value>| match field {
        Some(Value::String(text)) => Some(text),
        _ => None,
    };
    Ok(StoredEntry {
        collection: text(document.remove("collection")),
        key: text(document.remove("key")),
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_written_in_the_reference_spacing() {
        let mut value = Map::new();
        value.insert("__encryption_version__".to_owned(), Value::from(1));
        let text = encode("vault:v1", "profile:default", &value);
        assert!(
            text.starts_with("{\"collection\": \"vault:v1\", \"created_at\": "),
            "{text}"
        );
        assert!(text.ends_with(", \"version\": 1}"), "{text}");
        let entry = decode(text.as_bytes()).expect("decodes");
        assert_eq!(entry.collection.as_deref(), Some("vault:v1"));
        assert_eq!(entry.key.as_deref(), Some("profile:default"));
        assert_eq!(entry.value, value);
    }

    #[test]
    fn a_document_without_an_object_value_is_refused() {
        for text in ["[]", "{\"key\": \"k\"}", "{\"value\": \"text\"}", "not json", ""] {
            assert!(decode(text.as_bytes()).is_err(), "{text}");
        }
        let unnamed = decode(b"{\"value\": {}, \"key\": 7}").expect("a value is enough");
        assert_eq!((unnamed.collection, unnamed.key), (None, None));
    }
}
