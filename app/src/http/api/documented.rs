//! JSON the server keeps as it is (records and definitions serialised by the domain's serde
//! forms, unknown fields included) but documents with a typed schema.
//!
//! The reference's stored shapes carry fields this server does not know (kept in their
//! `extra` maps and given back unchanged); a poem-openapi object would drop them. A
//! [`Documented<S>`] is the value itself on the wire and `S`'s schema in the document; the
//! conformance tests check each such value against that schema.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// A JSON value documented with the schema of `S`.
pub struct Documented<S> {
    value: Value,
    schema: PhantomData<fn() -> S>,
}

impl<S> Documented<S> {
    /// `value`, documented as an `S`.
    pub fn new(value: Value) -> Self {
        Self {
            value,
            schema: PhantomData,
        }
    }

    /// The value.
    pub fn into_value(self) -> Value {
        self.value
    }

    /// The value, borrowed.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

impl<S: Type> Type for Documented<S> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Value;
    type RawElementValueType = Value;

    fn name() -> Cow<'static, str> {
        S::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        S::schema_ref()
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.value)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(&self.value))
    }
}

impl<S: Type> ToJSON for Documented<S> {
    fn to_json(&self) -> Option<Value> {
        Some(self.value.clone())
    }
}

impl<S: Type> ParseFromJSON for Documented<S> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ok(Self::new(value.unwrap_or_default()))
    }
}
