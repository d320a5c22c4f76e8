//! Verifies one resolve-shaped PoP token N times (the first argument, default 1000), for
//! repeatable instruction counts of the verification path under callgrind:
//! `valgrind --tool=callgrind target/release/examples/verify_loop 1001`, minus a run with 1,
//! divided by 1000 (see docs/benchmarks.md).
#![allow(missing_docs)]
use authsome_domain::proof::{self, BoundRequest, ProofPolicy};
use authsome_domain::{DidKey, Timestamp};
use ed25519_dalek::SigningKey;
fn main() {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let did = DidKey::from_public_key(key.verifying_key().to_bytes());
    let body = br#"{"connection":null,"provider":"openai"}"#;
    let request = BoundRequest {
        method: "POST",
        path_and_query: "/api/credentials/resolve",
        body,
    };
    let now = Timestamp::now();
    let claims = proof::cli_claims(&did, "bench-agent", request, "bench-jti", now.unix_seconds());
    let token = proof::sign(&key, &claims);
    let keys = proof::VerifyingKeys::new(10_000);
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    for _ in 0..n {
        std::hint::black_box(
            proof::verify_with_keys(&token, request, now, ProofPolicy::default(), Some(&keys)).expect("valid"),
        );
    }
}
