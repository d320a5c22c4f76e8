//! Pre-signs proof-of-possession tokens for load tests, one per line, each with its own `jti`,
//! bound to one method, path and body exactly as the reference CLI binds them (valid `ttl`
//! seconds from now). Signing happens here, before the measured run, so the load generator
//! spends nothing on it.
//!
//! Usage: pop_tokens SEED_HEX HANDLE METHOD PATH BODY COUNT TTL_SECONDS > tokens.txt
//! (SEED_HEX: the agent's 32-byte Ed25519 seed in hex; BODY may be empty.)

use std::io::{BufWriter, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use authsome_domain::DidKey;
use authsome_domain::proof::{self, BoundRequest};
use ed25519_dalek::SigningKey;

fn seed_from_hex(text: &str) -> Option<[u8; 32]> {
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect();
    bytes?.try_into().ok()
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [seed, handle, method, path, body, count, ttl] = args.as_slice() else {
        eprintln!("usage: pop_tokens SEED_HEX HANDLE METHOD PATH BODY COUNT TTL_SECONDS");
        return std::process::ExitCode::from(2);
    };
    let (Some(seed), Ok(count), Ok(ttl)) = (seed_from_hex(seed), count.parse::<u64>(), ttl.parse::<i64>()) else {
        eprintln!("SEED_HEX must be 64 hex digits, COUNT and TTL_SECONDS numbers");
        return std::process::ExitCode::from(2);
    };
    let key = SigningKey::from_bytes(&seed);
    let did = DidKey::from_public_key(key.verifying_key().to_bytes());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let run = std::process::id();
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for n in 0..count {
        let jti = format!("bench-{run}-{now}-{n}");
        let request = BoundRequest {
            method,
            path_and_query: path,
            body: body.as_bytes(),
        };
        let mut claims = proof::cli_claims(&did, handle, request, &jti, now);
        claims.insert("exp".to_owned(), serde_json::Value::from(now + ttl));
        if writeln!(out, "{}", proof::sign(&key, &claims)).is_err() {
            return std::process::ExitCode::FAILURE;
        }
    }
    if out.flush().is_err() {
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
