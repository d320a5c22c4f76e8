//! The JSON of a token's header and payload, read in one pass into the few fields the checks
//! look at. Strings borrow from the decoded bytes when they hold no escapes, and unknown
//! members are skipped without being built, so reading a CLI token allocates almost nothing
//! (a general JSON tree cost about twenty allocations per request).
//!
//! Each field keeps what the checks need to give the reference's messages: whether the member
//! was absent, a string, a number (integer or not), a list (for `aud`) or something else.
//! One difference from a general JSON reader: a member named twice makes the whole segment
//! malformed instead of the last one silently winning.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One member's value.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) enum Field<'a> {
    /// The member is not there.
    #[default]
    Absent,
    /// A string.
    Text(Cow<'a, str>),
    /// An integer that fits in `i64`.
    Integer(i64),
    /// An integer above `i64::MAX`.
    LargeInteger(u64),
    /// A number with a fraction or exponent.
    Fractional(f64),
    /// An array; members that are not strings are kept as [`Field::Other`].
    List(Vec<Field<'a>>),
    /// `null`, a boolean or an object.
    Other,
}

impl<'a> Field<'a> {
    /// The value when it is a non-empty string.
    pub(super) fn non_empty_text(&self) -> Option<&str> {
        match self {
            Field::Text(text) if !text.is_empty() => Some(text),
            _ => None,
        }
    }

    /// The value when it is a string, empty or not.
    pub(super) fn text(&self) -> Option<&str> {
        match self {
            Field::Text(text) => Some(text),
            _ => None,
        }
    }

    pub(super) fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }

    /// A JWT `NumericDate` as whole seconds: `None` when absent, `Some(Err)` when present but
    /// not a number. Fractions are floored; integers beyond `i64` saturate.
    pub(super) fn numeric_date(&self) -> Option<Result<i64, ()>> {
        match self {
            Field::Absent => None,
            Field::Integer(n) => Some(Ok(*n)),
            // As a float, then floored: what a float-capable reader makes of it.
            Field::LargeInteger(n) => Some(Ok(*n as f64 as i64)),
            Field::Fractional(f) => Some(Ok(f.floor() as i64)),
            _ => Some(Err(())),
        }
    }

    /// Whether the value is a JSON integer (no fraction, no exponent).
    pub(super) fn is_integer(&self) -> bool {
        matches!(self, Field::Integer(_) | Field::LargeInteger(_))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Borrowed(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Field::Integer(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(value).map_or(Field::LargeInteger(value), Field::Integer))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Field::Fractional(value))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Field<'de>>()? {
            items.push(match item {
                text @ Field::Text(_) => text,
                _ => Field::Other,
            });
        }
        Ok(Field::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }
}

/// The header members the checks read.
#[derive(Debug, Deserialize)]
pub(super) struct Header<'a> {
    #[serde(default, borrow)]
    pub alg: Field<'a>,
    #[serde(default, borrow)]
    pub crit: Field<'a>,
}

/// The payload members the checks read.
#[derive(Debug, Deserialize)]
pub(super) struct Payload<'a> {
    #[serde(default, borrow)]
    pub iss: Field<'a>,
    #[serde(default, borrow)]
    pub sub: Field<'a>,
    #[serde(default, borrow)]
    pub aud: Field<'a>,
    #[serde(default, borrow)]
    pub iat: Field<'a>,
    #[serde(default, borrow)]
    pub nbf: Field<'a>,
    #[serde(default, borrow)]
    pub exp: Field<'a>,
    #[serde(default, borrow)]
    pub jti: Field<'a>,
    #[serde(default, borrow)]
    pub htm: Field<'a>,
    #[serde(default, borrow)]
    pub htu: Field<'a>,
    #[serde(default, borrow)]
    pub body_sha256: Field<'a>,
}

/// Reads `bytes` as a JSON object into `T`; `None` when it is not exactly one JSON object
/// (a struct reader would also take an array).
pub(super) fn read_object<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    let first = bytes.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))?;
    if *first != b'{' {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_borrow_unless_escaped_and_unknown_members_are_skipped() {
        let payload: Payload<'_> = read_object(
            br#"{"iss":"did:key:z6Mk","sub":"a\"b","extra":{"deep":[1,{"x":null}]},"aud":["x",3,"authsome-daemon"]}"#,
        )
        .expect("object");
        assert!(matches!(payload.iss, Field::Text(Cow::Borrowed("did:key:z6Mk"))));
        assert_eq!(payload.sub.text(), Some("a\"b"));
        assert_eq!(
            payload.aud,
            Field::List(vec![
                Field::Text("x".into()),
                Field::Other,
                Field::Text("authsome-daemon".into())
            ])
        );
        assert!(payload.jti.is_absent());
    }

    #[test]
    fn numbers_keep_whether_they_are_integers() {
        let payload: Payload<'_> =
            read_object(br#"{"iat":1.5,"exp":18446744073709551615,"nbf":-3,"jti":null}"#).expect("object");
        assert_eq!(payload.iat.numeric_date(), Some(Ok(1)));
        assert!(!payload.iat.is_integer());
        assert!(payload.exp.is_integer());
        assert_eq!(payload.exp.numeric_date(), Some(Ok(i64::MAX)));
        assert_eq!(payload.nbf.numeric_date(), Some(Ok(-3)));
        assert_eq!(payload.jti, Field::Other, "null is present, not absent");
        assert_eq!(payload.jti.numeric_date(), Some(Err(())));
    }

    #[test]
    fn only_one_object_is_read() {
        assert!(read_object::<Payload<'_>>(b"[\"did\"]").is_none());
        assert!(read_object::<Payload<'_>>(b"  {} ").is_some());
        assert!(read_object::<Payload<'_>>(b"{} {}").is_none());
        assert!(read_object::<Payload<'_>>(b"").is_none());
        assert!(read_object::<Payload<'_>>(br#"{"iss":"a","iss":"b"}"#).is_none());
        assert!(read_object::<Header<'_>>(br#"{"alg":"EdDSA","crit":null}"#).is_some_and(|h| !h.crit.is_absent()));
    }
}
