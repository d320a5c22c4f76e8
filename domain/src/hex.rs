//! Lowercase hexadecimal text of bytes: file names of the disk vault, body and token digests.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

fn digits_of(byte: u8) -> [u8; 2] {
    [DIGITS[usize::from(byte >> 4)], DIGITS[usize::from(byte & 0x0f)]]
}

/// `bytes` as lowercase hex, in one allocation (some callers run on every request).
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let [high, low] = digits_of(*byte);
        out.push(char::from(high));
        out.push(char::from(low));
    }
    out
}

/// Whether `text` is exactly [`encode`]`(bytes)`, compared without building it.
pub fn is_encoding_of(text: &str, bytes: &[u8]) -> bool {
    text.len() == bytes.len() * 2
        && bytes
            .iter()
            .zip(text.as_bytes().chunks_exact(2))
            .all(|(byte, pair)| pair == digits_of(*byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_two_lowercase_digits() {
        let every_byte: Vec<u8> = (0..=255).collect();
        let expected: String = every_byte.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(encode(&every_byte), expected);
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn only_the_exact_lowercase_encoding_matches() {
        let every_byte: Vec<u8> = (0..=255).collect();
        assert!(is_encoding_of(&encode(&every_byte), &every_byte));
        assert!(is_encoding_of("", &[]));
        assert!(!is_encoding_of("0A", &[0x0a]), "uppercase");
        assert!(!is_encoding_of("0a0", &[0x0a]), "longer");
        assert!(!is_encoding_of("0", &[0x0a]), "shorter");
        assert!(!is_encoding_of("0b", &[0x0a]));
    }
}
