//! Unguessable tokens from the operating system's random source.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `bytes` random bytes as base64url without padding (like Python's `secrets.token_urlsafe`).
/// Falls back to two v4 UUIDs' worth of randomness only if the OS source fails, which
/// `getrandom` reports instead of returning weak bytes.
pub fn url_safe(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    if getrandom::fill(&mut buffer).is_err() {
        // uuid draws from the same OS source through its own path; used only as a last resort.
        for (chunk, uuid) in buffer.chunks_mut(16).zip(std::iter::repeat_with(uuid::Uuid::new_v4)) {
            chunk.copy_from_slice(&uuid.as_bytes()[..chunk.len()]);
        }
    }
    URL_SAFE_NO_PAD.encode(&buffer)
}

/// `chars` lowercase hex characters of randomness.
pub fn hex(chars: usize) -> String {
    let mut out = String::with_capacity(chars);
    while out.len() < chars {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(chars);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_have_the_requested_size_and_differ() {
        let a = super::url_safe(24);
        assert_eq!(a.len(), 32);
        assert_ne!(a, super::url_safe(24));
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(super::hex(32).len(), 32);
    }
}
