//! JSON text exactly as Python's `json.dumps` writes it, so that records we store are
//! byte-for-byte what the reference daemon would have stored.
//!
//! Two forms matter: the key-value store's entry documents (`json.dumps(obj, sort_keys=True)`:
//! `", "` and `": "` separators) and the encrypted payloads (`json.dumps(v, separators=(",", ":"))`).
//! Both escape every non-ASCII character as `\uXXXX` (Python's default `ensure_ascii=True`).
//! Keys come out sorted because `serde_json::Map` is ordered by key.

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

/// Python's separators: `(", ", ": ")` by default, `(",", ":")` for compact output.
#[derive(Debug, Clone, Copy)]
pub enum Separators {
    /// `json.dumps(...)` defaults.
    Default,
    /// `separators=(",", ":")`.
    Compact,
}

struct PythonFormatter {
    separators: Separators,
}

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(self.item_separator())
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(self.item_separator())
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(match self.separators {
            Separators::Default => b": ",
            Separators::Compact => b":",
        })
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        if fragment.is_ascii() {
            return writer.write_all(fragment.as_bytes());
        }
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + io::Write>(&mut self, writer: &mut W, escape: CharEscape) -> io::Result<()> {
        // Python writes control characters as \u00XX except the usual short escapes.
        let text: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(writer, "\\u{byte:04x}"),
        };
        writer.write_all(text)
    }
}

impl PythonFormatter {
    fn item_separator(&self) -> &'static [u8] {
        match self.separators {
            Separators::Default => b", ",
            Separators::Compact => b",",
        }
    }
}

/// Serialises `value` as Python's `json.dumps` would (with sorted keys for maps).
pub fn to_string<T: Serialize + ?Sized>(value: &T, separators: Separators) -> String {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter { separators });
    // Serialising plain JSON values into a Vec cannot fail.
    if value.serialize(&mut serializer).is_err() {
        return String::new();
    }
    // The formatter only ever writes ASCII.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_python_default_and_compact_output() {
        let value = json!({"value": {"b": [1, 2], "a": null}, "key": "k", "version": 1});
        // python3 -c 'import json; print(json.dumps({...}, sort_keys=True))'
        assert_eq!(
            to_string(&value, Separators::Default),
            r#"{"key": "k", "value": {"a": null, "b": [1, 2]}, "version": 1}"#
        );
        assert_eq!(
            to_string(&value, Separators::Compact),
            r#"{"key":"k","value":{"a":null,"b":[1,2]},"version":1}"#
        );
    }

    #[test]
    fn escapes_like_ensure_ascii() {
        // json.dumps("é😀\u0001\"\\/") == '"\\u00e9\\ud83d\\ude00\\u0001\\"\\\\/"'
        assert_eq!(
            to_string(&json!("é😀\u{1}\"\\/"), Separators::Compact),
            r#""\u00e9\ud83d\ude00\u0001\"\\/""#
        );
    }
}
