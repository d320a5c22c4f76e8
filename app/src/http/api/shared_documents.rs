//! A JSON array that is built once and shared by every response that returns it (the
//! bundled provider catalog: 47 definitions, constant for the life of the process).
//!
//! poem-openapi answers with a `serde_json::Value` tree that it builds per response; with a
//! `Vec<Value>` field each request first serialised every definition into such a tree and
//! then copied it. This type keeps the tree behind an `Arc`, so a response pays for one copy
//! only. Its OpenAPI schema is that of a list of provider definitions.

use std::borrow::Cow;
use std::sync::Arc;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

use crate::http::api::stored_shapes::ProviderDefinitionDocument;

/// The documented element type.
type Schema = Vec<ProviderDefinitionDocument>;

/// An immutable, shared JSON array.
#[derive(Debug, Clone, Default)]
pub struct SharedDocuments(Arc<[Value]>);

impl From<Vec<Value>> for SharedDocuments {
    fn from(documents: Vec<Value>) -> Self {
        Self(documents.into())
    }
}

impl From<Arc<[Value]>> for SharedDocuments {
    fn from(documents: Arc<[Value]>) -> Self {
        Self(documents)
    }
}

impl Type for SharedDocuments {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Value;

    fn name() -> Cow<'static, str> {
        <Schema as Type>::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        <Schema as Type>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Schema as Type>::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.0.iter())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ToJSON for SharedDocuments {
    fn to_json(&self) -> Option<Value> {
        Some(Value::Array(self.0.to_vec()))
    }
}

impl ParseFromJSON for SharedDocuments {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Vec::<Value>::parse_from_json(value)
            .map(Self::from)
            .map_err(poem_openapi::types::ParseError::propagate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_like_a_vector_with_the_definition_schema() {
        let documents = vec![serde_json::json!({"name": "a"}), serde_json::json!({"name": "b"})];
        let shared = SharedDocuments::from(documents.clone());
        assert_eq!(shared.to_json(), documents.to_json());
        assert_eq!(
            serde_json::to_string(&SharedDocuments::schema_ref()).ok(),
            serde_json::to_string(&<Schema as Type>::schema_ref()).ok()
        );
    }
}
