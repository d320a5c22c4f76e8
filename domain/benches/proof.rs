//! Verifying one proof-of-possession token as the server does on every request: header and
//! claims decoding, did:key decoding, the Ed25519 `verify_strict` check and the claim rules.
#![allow(missing_docs)]

#[path = "fixtures/resolve_token.rs"]
mod resolve_token;

use authsome_domain::Timestamp;
use authsome_domain::proof::{self, ProofPolicy};
use criterion::{Criterion, criterion_group, criterion_main};

fn proof_verify(c: &mut Criterion) {
    let now = Timestamp::now();
    let (token, request) = (resolve_token::token(now), resolve_token::request());
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
