//! Verifies one resolve-shaped PoP token N times (the first argument, default 1000), for
//! repeatable instruction counts of the verification path under callgrind:
//! `valgrind --tool=callgrind target/release/examples/verify_loop 1001`, minus a run with 1,
//! divided by 1000 (see docs/benchmarks.md). The token is the criterion bench's.
#![allow(missing_docs)]

#[path = "../benches/fixtures/resolve_token.rs"]
mod resolve_token;

use authsome_domain::Timestamp;
use authsome_domain::proof::{self, ProofPolicy};

fn main() {
    let now = Timestamp::now();
    let (token, request) = (resolve_token::token(now), resolve_token::request());
    let keys = proof::VerifyingKeys::new(10_000);
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    for _ in 0..n {
        std::hint::black_box(
            proof::verify_with_keys(&token, request, now, ProofPolicy::default(), Some(&keys)).expect("valid"),
        );
    }
}
