//! Principals: the human accounts that own vaults and claim identities.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::prefixed_id::prefixed_id_type;
use crate::timestamp::Timestamp;
use crate::validation::{ValidationError, excerpt};

prefixed_id_type!(
    /// A principal id: `principal_` followed by 12 lowercase hex digits.
    PrincipalId,
    "principal_",
    12,
    "principal"
);

/// The longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// A normalised email address: trimmed, lowercased, containing `@`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Email(String);

impl Email {
    /// Normalises and validates an address the way the reference does (trim, lowercase,
    /// must contain `@`), with a length bound.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let normalised = text.trim().to_lowercase();
        let (local, domain) = normalised.split_once('@').ok_or(ValidationError::Email)?;
        if local.is_empty() || domain.is_empty() || normalised.len() > MAX_EMAIL_LEN {
            return Err(ValidationError::Email);
        }
        // Invisible and direction-changing characters would make an address that reads as
        // another's (`admin\u{200B}@example.com`).
        if normalised
            .chars()
            .any(|c| c.is_whitespace() || crate::visible_text::is_invisible(c))
        {
            return Err(ValidationError::Email);
        }
        Ok(Self(normalised))
    }

    /// Reads an address stored by the reference, which only trimmed and lowercased it.
    pub fn from_stored(text: &str) -> Result<Self, ValidationError> {
        let normalised = text.trim().to_lowercase();
        if normalised.is_empty() || !normalised.contains('@') {
            return Err(ValidationError::Email);
        }
        Ok(Self(normalised))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a principal may do: `admin` manages providers and sees every vault's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages providers, client credentials, global connections and other principals.
    Admin,
    /// Sees only its own vault and identities.
    User,
}

impl Role {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "admin" => Ok(Self::Admin),
            "user" => Ok(Self::User),
            other => Err(ValidationError::Role(excerpt(other))),
        }
    }
}

/// An Argon2 password hash in PHC string format (`$argon2id$v=19$m=...`).
///
/// It is not the password, but it is still an offline-crackable secret: it never appears in
/// `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Accepts a PHC-formatted hash string (`$<algorithm>$...`).
    pub fn from_phc(text: &str) -> Result<Self, ValidationError> {
        let looks_like_phc = text.starts_with('$')
            && text.len() <= 512
            && text[1..].split('$').next().is_some_and(|alg| !alg.is_empty())
            && text.bytes().all(|b| b.is_ascii_graphic());
        if looks_like_phc {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::PasswordHash)
        }
    }

    /// The PHC string, for storage and verification.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A principal (human account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable id.
    pub id: PrincipalId,
    /// Unique, normalised email address.
    pub email: Email,
    /// Authorisation tier.
    pub role: Role,
    /// Absent for a principal that has never set a password.
    pub password_hash: Option<PasswordHash>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change (password).
    pub updated_at: Timestamp,
}

/// How the role of a new principal is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolePolicy {
    /// `admin` if no principal exists yet, else `user` (the reference's rule), decided
    /// atomically so that two concurrent first sign-ups cannot both become admin.
    FirstPrincipalIsAdmin,
    /// Exactly this role (for example an operator creating the first admin with `authsome init`).
    Fixed(Role),
}

/// The input to create a principal.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    /// Address of the new account.
    pub email: Email,
    /// Initial password hash, if the account has a password from the start.
    pub password_hash: Option<PasswordHash>,
    /// How to decide the role.
    pub role: RolePolicy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_ids_have_the_reference_shape() {
        let id = PrincipalId::generate();
        assert!(id.as_str().starts_with("principal_"));
        assert_eq!(id.as_str().len(), "principal_".len() + 12);
        assert_eq!(PrincipalId::parse(id.as_str()).expect("valid"), id);
        for bad in [
            "principal_",
            "principal_ABCDEF123456",
            "vault_0123456789ab",
            "principal_0123456789abc",
        ] {
            assert!(PrincipalId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_is_trimmed_and_lowercased() {
        let email = Email::parse("  Ada@Example.COM ").expect("valid");
        assert_eq!(email.as_str(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a da@example.com",
            "ada\u{200B}@example.com",
            "\u{202E}moc.elpmaxe@ada",
        ] {
            assert_eq!(
                Email::parse(bad).expect_err(bad).to_string(),
                "A valid email address is required"
            );
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn password_hash_never_shows_in_debug() {
        let hash = PasswordHash::from_phc("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA").expect("phc");
        assert!(!format!("{hash:?}").contains("argon2"));
        assert!(PasswordHash::from_phc("hunter2").is_err());
        assert!(PasswordHash::from_phc("$").is_err());
    }

    #[test]
    fn role_round_trips() {
        assert_eq!(Role::parse("admin"), Ok(Role::Admin));
        assert_eq!(Role::parse(Role::User.as_str()), Ok(Role::User));
        assert!(Role::parse("root").is_err());
    }
}
