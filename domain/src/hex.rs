//! Lowercase hexadecimal text of bytes: file names of the disk vault, body and token digests.

/// `bytes` as lowercase hex, in one allocation (some callers run on every request).
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
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
}
