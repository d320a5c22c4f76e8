//! Text that people read and must not be fooled by: names that look like other names
//! (`dеfault` with a Cyrillic `е`), characters that show nothing (U+200B) and characters that
//! reverse what follows (U+202E).
//!
//! Two defences. New identifiers (connection names) are limited at the edge to a safe ASCII
//! alphabet ([`is_safe_identifier`]), so no new look-alike can be made. And whatever is shown
//! (including names stored by older versions, and free text such as emails) goes through
//! [`visible`], which writes every invisible or direction-changing character, and for
//! identifiers every non-ASCII one, as a visible `\u{…}` escape.

use std::fmt::Write as _;

/// Characters that draw nothing or change the direction of what follows: controls (C0, C1),
/// zero-width and joiner characters, bidirectional marks, embeddings, overrides and isolates,
/// soft hyphens, word joiners, invisible operators, and the byte-order mark.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Whether `text` is a safe new identifier: 1 to `max_len` bytes of ASCII letters, digits,
/// spaces and `. _ - @ +`, starting with a letter or digit and not ending with a space.
pub fn is_safe_identifier(text: &str, max_len: usize) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max_len
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1] != b' '
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'.' | b'_' | b'-' | b'@' | b'+'))
}

/// How strictly [`visible`] escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// A name that must not pass for another: everything outside printable ASCII is escaped.
    Identifier,
    /// Free text (an email, a message): only invisible and direction-changing characters are
    /// escaped.
    Text,
}

/// `text` with the characters `reading` does not trust written as `\u{XXXX}`.
pub fn visible(text: &str, reading: Reading) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let escape = match reading {
            Reading::Identifier => !(c.is_ascii_graphic() || c == ' '),
            Reading::Text => is_invisible(c),
        };
        if escape {
            let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_and_invisible_characters_are_not_safe_identifiers() {
        for good in ["default", "work", "My Bot-1", "a.b_c@d+e", "9"] {
            assert!(is_safe_identifier(good, 128), "{good:?}");
        }
        for bad in [
            "d\u{0435}fault",
            "default\u{200B}",
            "\u{202E}tluafed",
            "caf\u{00E9}",
            " leading",
            "trailing ",
            "-dash",
            "",
            "tab\there",
            "slash/no",
        ] {
            assert!(!is_safe_identifier(bad, 128), "{bad:?}");
        }
        assert!(!is_safe_identifier(&"a".repeat(129), 128));
    }

    #[test]
    fn what_cannot_be_trusted_is_shown_as_an_escape() {
        assert_eq!(visible("d\u{0435}fault", Reading::Identifier), "d\\u{0435}fault");
        assert_eq!(visible("a\u{200B}b", Reading::Identifier), "a\\u{200B}b");
        assert_eq!(visible("\u{202E}abc", Reading::Text), "\\u{202E}abc");
        assert_eq!(
            visible("jos\u{00E9}@example.com", Reading::Text),
            "jos\u{00E9}@example.com"
        );
        assert_eq!(visible("x\u{FEFF}y\u{2066}z", Reading::Text), "x\\u{FEFF}y\\u{2066}z");
        assert_eq!(visible("plain name", Reading::Identifier), "plain name");
    }
}
