//! Fresh sample values for contract cases, unique per call so that cases never collide.

use authsome_domain::{DidKey, Email, IdentityHandle, NewPrincipal, PasswordHash, Principal, RolePolicy};

use crate::Registries;

fn unique_hex() -> String {
    // Derived from the process-wide counter and the clock; unique within a test run, and
    // distinct across concurrently running test processes with overwhelming probability.
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}{:x}", std::process::id(), nanos, n)
}

/// A new valid identity handle.
pub fn handle() -> IdentityHandle {
    IdentityHandle::parse(&format!("agent-{}", unique_hex())).expect("generated handle is valid")
}

/// A new `did:key` for a key nobody else uses.
pub fn did() -> DidKey {
    let seed = unique_hex();
    let mut key = [0u8; 32];
    for (i, b) in seed.bytes().enumerate() {
        key[i % 32] ^= b.wrapping_mul(31).wrapping_add(i as u8);
    }
    key[31] = key[31].wrapping_add(seed.len() as u8);
    DidKey::from_public_key(key)
}

/// A new email address.
pub fn email() -> Email {
    Email::parse(&format!("user-{}@example.com", unique_hex())).expect("generated email is valid")
}

/// A PHC-shaped password hash (never verified by registries).
pub fn password_hash(tag: &str) -> PasswordHash {
    PasswordHash::from_phc(&format!("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ${tag}")).expect("phc")
}

/// Input for a new principal with the reference's first-is-admin rule.
pub fn new_principal() -> NewPrincipal {
    NewPrincipal {
        email: email(),
        password_hash: Some(password_hash("aGFzaA")),
        role: RolePolicy::FirstPrincipalIsAdmin,
    }
}

/// Registers `handle` with `did`, creates a principal, and has it claim (and accept) the
/// identity with its default vault: an agent ready to make authenticated requests.
pub async fn claimed_identity(r: &Registries, handle: &IdentityHandle, did: &DidKey) -> Principal {
    r.identities.register(handle, did).await.expect("register");
    let principal = r.principals.create(new_principal()).await.expect("principal");
    r.claims.claim(handle, &principal.id).await.expect("claim");
    r.bindings.ensure_default_vault(&principal.id).await.expect("vault");
    r.claims.accept(handle).await.expect("accept");
    principal
}
