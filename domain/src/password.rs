//! Account passwords: Argon2id hashes in PHC format, with argon2-cffi's default parameters
//! (64 MiB, 3 passes, 4 lanes), so that hashes written by authsome 0.7.2 verify here and
//! hashes written here verify there.
//!
//! Hashing and verifying cost about 0.2 s of CPU and 64 MiB each: callers run them on a
//! blocking thread and bound how many run at once.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::principal::PasswordHash;

/// The longest password accepted (a bound on hashing cost; far above any real password).
pub const MAX_PASSWORD_BYTES: usize = 1024;

fn hasher() -> Argon2<'static> {
    // argon2-cffi's PasswordHasher() defaults; these constants are valid Argon2 parameters.
    let params = Params::new(65_536, 3, 4, Some(32)).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a fresh 16-byte salt.
pub fn hash(password: &SecretString) -> Option<PasswordHash> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).ok()?;
    let hashed = hasher()
        .hash_password_with_salt(password.expose_secret().as_bytes(), &salt)
        .ok()?;
    PasswordHash::from_phc(&hashed.to_string()).ok()
}

/// Whether `password` matches `hash` (any Argon2 variant and parameters the hash names).
pub fn verify(hash: &PasswordHash, password: &SecretString) -> bool {
    if password.expose_secret().len() > MAX_PASSWORD_BYTES {
        return false;
    }
    hasher()
        .verify_password(password.expose_secret().as_bytes(), hash.as_phc())
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn hashes_in_the_reference_format_and_verifies() {
        let hash = hash(&secret("correct horse battery")).expect("hash");
        assert!(
            hash.as_phc().starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
            "{}",
            hash.as_phc()
        );
        assert!(verify(&hash, &secret("correct horse battery")));
        assert!(!verify(&hash, &secret("correct horse batteryX")));
    }

    #[test]
    fn verifies_a_hash_written_by_argon2_cffi() {
        // PasswordHasher().hash("correct-horse-battery") from argon2-cffi 23.1 (authsome 0.7.2).
        let reference = PasswordHash::from_phc(
            "$argon2id$v=19$m=65536,t=3,p=4$U/q0QRZHLF9ymvd2c/C9fw$zLat0AHZh7uqwJ4h8DbIDrF5Xuj8VRKizFop7LVcwWU",
        )
        .expect("phc");
        assert!(verify(&reference, &secret("correct-horse-battery")));
        assert!(!verify(&reference, &secret("wrong")));
    }
}
