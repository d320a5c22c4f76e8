//! Verifying one proof-of-possession token as the server does on every request: header and
//! claims decoding, did:key decoding, the Ed25519 `verify_strict` check and the claim rules.
#![allow(missing_docs)]

use authsome_domain::proof::{self, BoundRequest, ProofPolicy};
use authsome_domain::{DidKey, Timestamp};
use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;

fn proof_verify(c: &mut Criterion) {
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
    c.bench_function("proof/verify_resolve_token", |b| {
        b.iter(|| proof::verify(&token, request, now, ProofPolicy::default()).expect("valid"))
    });
    // What the daemon runs: the issuer's decompressed key comes from the map after the first use.
    let keys = proof::VerifyingKeys::new(10_000);
    c.bench_function("proof/verify_resolve_token_known_issuer", |b| {
        b.iter(|| proof::verify_with_keys(&token, request, now, ProofPolicy::default(), Some(&keys)).expect("valid"))
    });
}

criterion_group!(benches, proof_verify);
criterion_main!(benches);
