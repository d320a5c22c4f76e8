//! Strict parsing of JSON strings in request bodies.
//!
//! poem-openapi's `String` accepts a number or a boolean and turns it into text; the
//! reference (pydantic) refuses them with a 422, and so do we: a client that sends
//! `{"provider": 5}` has a bug it should hear about.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// A JSON string, and only a string.
pub fn text(value: Option<Value>) -> ParseResult<String> {
    match value {
        Some(Value::String(text)) => Ok(text),
        other => Err(ParseError::expected_type(other.unwrap_or_default())),
    }
}

/// A JSON string, null or absent.
pub fn optional_text(value: Option<Value>) -> ParseResult<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(ParseError::expected_type(other)),
    }
}

/// A string that parses only from a JSON string (for union variants, where a field
/// attribute cannot say so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictText(pub String);

impl Type for StrictText {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        String::schema_ref()
    }

    fn register(registry: &mut Registry) {
        String::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl ParseFromJSON for StrictText {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        text(value).map(Self).map_err(ParseError::propagate)
    }
}

impl ToJSON for StrictText {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_strings_parse() {
        assert_eq!(text(Some(Value::from("a"))).ok().as_deref(), Some("a"));
        assert!(text(Some(Value::from(5))).is_err());
        assert!(text(None).is_err());
        assert_eq!(optional_text(Some(Value::Null)).ok(), Some(None));
        assert!(optional_text(Some(Value::Bool(true))).is_err());
        assert!(StrictText::parse_from_json(Some(Value::from(7))).is_err());
    }
}

/// One string or a list of strings (scopes, API addresses). poem-openapi's unions document
/// themselves as objects, which a string is not; this type documents exactly
/// `oneOf: [string, array of strings]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextOrList {
    /// One string.
    Text(String),
    /// A list.
    List(Vec<String>),
}

impl TextOrList {
    const NAME: &'static str = "TextOrList";
}

impl Type for TextOrList {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        Cow::Borrowed(Self::NAME)
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(Self::NAME.to_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(Self::NAME.to_owned(), |registry| {
            String::register(registry);
            <Vec<String>>::register(registry);
            poem_openapi::registry::MetaSchema {
                ty: "",
                description: Some("One string, or a list of strings."),
                one_of: vec![String::schema_ref(), <Vec<String>>::schema_ref()],
                ..poem_openapi::registry::MetaSchema::ANY
            }
        });
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ParseFromJSON for TextOrList {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) => Ok(Self::Text(text)),
            Some(Value::Array(items)) => {
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(text) => list.push(text),
                        other => return Err(ParseError::expected_type(other)),
                    }
                }
                Ok(Self::List(list))
            }
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for TextOrList {
    fn to_json(&self) -> Option<Value> {
        Some(match self {
            Self::Text(text) => Value::String(text.clone()),
            Self::List(list) => Value::Array(list.iter().cloned().map(Value::String).collect()),
        })
    }
}
