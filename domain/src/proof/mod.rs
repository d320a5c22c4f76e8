//! Proof-of-possession (PoP) JWTs: the signed token an agent sends with every request.
//!
//! The token is a compact JWS signed by the agent's Ed25519 key, naming the agent's DID
//! (`iss`), handle (`sub`), the audience `authsome-daemon`, the request's method (`htm`),
//! path and query (`htu`) and body hash (`body_sha256`), a unique id (`jti`) and its
//! lifetime (`iat`, `exp`). [`verify`] checks everything that needs no storage, in the
//! reference daemon's order and with its messages, plus the fixes this server makes:
//! `iat` is required and must precede `exp`, the lifetime is capped, `htm` must name the method
//! exactly (case-sensitively), clocks may be off by [`ProofPolicy::leeway_seconds`],
//! the signature is verified strictly, and both `EdDSA` and `Ed25519` name the algorithm.
//! Checking the identity and consuming the `jti` are the caller's (they need the stores).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::did_key::DidKey;
use crate::timestamp::Timestamp;

mod token_json;

use token_json::{Field, Header, Payload, read_object};

/// The only audience this server accepts.
pub const AUDIENCE: &str = "authsome-daemon";
/// The `Authorization` scheme.
pub const SCHEME: &str = "PoP";
/// The longest token accepted (the CLI's are about 600 bytes).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// The longest `jti` accepted (the CLI sends a UUID).
pub const MAX_JTI_LEN: usize = 128;

/// Time rules for tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofPolicy {
    /// The longest `exp - iat` accepted (the CLI uses 60 s).
    pub max_lifetime_seconds: i64,
    /// How far the client's clock may be off, both ways.
    pub leeway_seconds: i64,
}

impl ProofPolicy {
    /// How long a token id must be remembered at most: a token issued up to the leeway in the
    /// future, living the longest lifetime, passes the expiry check until the leeway after its
    /// `exp`.
    pub fn longest_id_retention_seconds(&self) -> i64 {
        self.max_lifetime_seconds + 2 * self.leeway_seconds
    }
}

impl Default for ProofPolicy {
    fn default() -> Self {
        Self {
            max_lifetime_seconds: 120,
            leeway_seconds: 30,
        }
    }
}

/// The request the token must be bound to.
#[derive(Debug, Clone, Copy)]
pub struct BoundRequest<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Percent-decoded path, plus `?` and the raw query when there is one.
    pub path_and_query: &'a str,
    /// The exact body bytes.
    pub body: &'a [u8],
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofClaims {
    /// The agent's DID.
    pub issuer: DidKey,
    /// The identity handle (not yet checked against the registry).
    pub subject: String,
    /// The token id, to be consumed once.
    pub jwt_id: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
}

/// Why a token was refused. `Display` is the message the client sees (HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The header is not `PoP <token>`.
    #[error("Expected Authorization: PoP <jwt>")]
    Scheme,
    /// The token cannot be decoded.
    #[error("Malformed proof JWT: {0}")]
    Malformed(&'static str),
    /// A required string claim is missing or not a non-empty string.
    #[error("Proof JWT missing string claim: {0}")]
    MissingClaim(&'static str),
    /// `iss` is not an Ed25519 `did:key`.
    #[error("{0}")]
    Issuer(String),
    /// Signature, audience or time checks failed.
    #[error("Invalid proof JWT: {0}")]
    Invalid(&'static str),
    /// `htm` is not the request's method.
    #[error("Proof JWT method does not match request")]
    Method,
    /// `htu` is not the request's path and query.
    #[error("Proof JWT URL does not match request")]
    Url,
    /// `body_sha256` is not the hash of the request body.
    #[error("Proof JWT body hash does not match request")]
    BodyHash,
    /// `exp` is not an integer.
    #[error("Proof JWT exp must be an integer")]
    ExpNotInteger,
}

/// Lowercase hex SHA-256 of `body`, as the `body_sha256` claim carries it.
pub fn body_sha256(body: &[u8]) -> String {
    crate::hex::encode(&Sha256::digest(body))
}

fn decode_segment(segment: &str, what: &'static str) -> Result<Vec<u8>, ProofError> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|_| ProofError::Malformed(what))
}

fn required_string<'a>(field: &'a Field<'_>, name: &'static str) -> Result<&'a str, ProofError> {
    field.non_empty_text().ok_or(ProofError::MissingClaim(name))
}

/// Splits an `Authorization` header value into the PoP token.
pub fn token_from_header(authorization: &str) -> Result<&str, ProofError> {
    match authorization.split_once(' ') {
        Some((SCHEME, token)) if !token.is_empty() => Ok(token),
        _ => Err(ProofError::Scheme),
    }
}

/// Verifies a PoP token against the request it came with, at time `now`.
pub fn verify(
    token: &str,
    request: BoundRequest<'_>,
    now: Timestamp,
    policy: ProofPolicy,
) -> Result<ProofClaims, ProofError> {
    verify_with_keys(token, request, now, policy, None)
}

/// Issuers already seen, by their `did:key` text: the parsed DID and its decompressed Ed25519
/// key, for [`verify_with_keys`].
///
/// Decompressing the issuer's point (a field square root) is about a tenth of a
/// verification and decoding the base58 text a few per cent more, and an agent signs every
/// request with the same key. Both are pure functions of the text, so nothing here can go
/// stale or differ between replicas; only issuers that parsed and decompressed are kept. At
/// `capacity` distinct issuers the map starts over.
pub struct VerifyingKeys {
    keys: std::sync::Mutex<std::collections::HashMap<String, (DidKey, VerifyingKey)>>,
    capacity: usize,
}

impl VerifyingKeys {
    /// An empty map holding at most `capacity` issuers.
    pub fn new(capacity: usize) -> Self {
        Self {
            keys: std::sync::Mutex::new(std::collections::HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn known(&self, issuer: &str) -> Option<(DidKey, VerifyingKey)> {
        // A panic while holding the lock leaves at worst a missing entry.
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(issuer)
            .cloned()
    }

    fn remember(&self, issuer: &DidKey, key: VerifyingKey) {
        let mut keys = self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if keys.len() >= self.capacity {
            keys.clear();
        }
        keys.insert(issuer.as_str().to_owned(), (issuer.clone(), key));
    }
}

/// [`verify`], taking the issuer's decompressed key from `keys` when it is there.
pub fn verify_with_keys(
    token: &str,
    request: BoundRequest<'_>,
    now: Timestamp,
    policy: ProofPolicy,
    keys: Option<&VerifyingKeys>,
) -> Result<ProofClaims, ProofError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(ProofError::Malformed("token is too long"));
    }
    let mut segments = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (segments.next(), segments.next(), segments.next(), segments.next())
    else {
        return Err(ProofError::Malformed("Not enough segments"));
    };
    let header_json = decode_segment(header_b64, "Invalid header padding")?;
    let header: Header<'_> = read_object(&header_json).ok_or(ProofError::Malformed("Invalid header string"))?;
    let payload_json = decode_segment(payload_b64, "Invalid payload padding")?;
    let claims: Payload<'_> = read_object(&payload_json).ok_or(ProofError::Malformed("Invalid payload string"))?;
    let signature_bytes = decode_segment(signature_b64, "Invalid crypto padding")?;

    let issuer_text = required_string(&claims.iss, "iss")?;
    let known = keys.and_then(|keys| keys.known(issuer_text));
    let (issuer, known_key) = match known {
        Some((issuer, key)) => (issuer, Some(key)),
        None => (
            DidKey::parse(issuer_text).map_err(|e| ProofError::Issuer(e.to_string()))?,
            None,
        ),
    };

    // Signature first, with the key the token names; then the registered-claim checks.
    match header.alg.text() {
        Some("EdDSA" | "Ed25519") => {}
        _ => return Err(ProofError::Invalid("The specified alg value is not allowed")),
    }
    if !header.crit.is_absent() {
        return Err(ProofError::Invalid("Unsupported critical header"));
    }
    let key = match known_key {
        Some(key) => key,
        None => {
            let key = VerifyingKey::from_bytes(issuer.public_key())
                .map_err(|_| ProofError::Invalid("Signature verification failed"))?;
            if let Some(keys) = keys {
                keys.remember(&issuer, key);
            }
            key
        }
    };
    let signature =
        Signature::from_slice(&signature_bytes).map_err(|_| ProofError::Invalid("Signature verification failed"))?;
    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
    key.verify_strict(signed.as_bytes(), &signature)
        .map_err(|_| ProofError::Invalid("Signature verification failed"))?;

    let now = now.unix_seconds();
    let leeway = policy.leeway_seconds;
    let iat = match claims.iat.numeric_date() {
        None => return Err(ProofError::Invalid("Token is missing the \"iat\" claim")),
        Some(Err(())) => return Err(ProofError::Invalid("Issued At claim (iat) must be an integer.")),
        Some(Ok(iat)) => iat,
    };
    if iat > now + leeway {
        return Err(ProofError::Invalid("The token is not yet valid (iat)"));
    }
    if let Some(nbf) = claims.nbf.numeric_date() {
        match nbf {
            Err(()) => return Err(ProofError::Invalid("Not Before claim (nbf) must be an integer.")),
            Ok(nbf) if nbf > now + leeway => return Err(ProofError::Invalid("The token is not yet valid (nbf)")),
            Ok(_) => {}
        }
    }
    let exp = match claims.exp.numeric_date() {
        None => None,
        Some(Err(())) => return Err(ProofError::Invalid("Expiration Time claim (exp) must be an integer.")),
        Some(Ok(exp)) => {
            if exp <= now - leeway {
                return Err(ProofError::Invalid("Signature has expired"));
            }
            Some(exp)
        }
    };
    match &claims.aud {
        Field::Absent => return Err(ProofError::Invalid("Token is missing the \"aud\" claim")),
        Field::Text(aud) if aud == AUDIENCE => {}
        Field::List(auds) if auds.iter().any(|a| a.text() == Some(AUDIENCE)) => {}
        _ => return Err(ProofError::Invalid("Audience doesn't match")),
    }

    // HTTP methods are case-sensitive (RFC 9110 9.1) and the CLI signs the uppercase name; the
    // reference's case-insensitive match let `get` stand for `GET`.
    let htm = required_string(&claims.htm, "htm")?;
    if htm != request.method {
        return Err(ProofError::Method);
    }
    if required_string(&claims.htu, "htu")? != request.path_and_query {
        return Err(ProofError::Url);
    }
    if !crate::hex::is_encoding_of(
        required_string(&claims.body_sha256, "body_sha256")?,
        &Sha256::digest(request.body),
    ) {
        return Err(ProofError::BodyHash);
    }
    let subject = required_string(&claims.sub, "sub")?.to_owned();
    let jwt_id = required_string(&claims.jti, "jti")?;
    if jwt_id.len() > MAX_JTI_LEN {
        return Err(ProofError::Malformed("jti is too long"));
    }
    let expires_at = match exp {
        Some(exp) if claims.exp.is_integer() => exp,
        _ => return Err(ProofError::ExpNotInteger),
    };
    // A token that expires before (or as) it is issued was never valid: its signer's clock or
    // code is wrong, and accepting it would make the lifetime cap meaningless.
    if expires_at <= iat {
        return Err(ProofError::Invalid("Token expires before it was issued (exp <= iat)"));
    }
    if expires_at - iat > policy.max_lifetime_seconds {
        return Err(ProofError::Invalid(
            "Token lifetime (exp - iat) exceeds the server's limit",
        ));
    }
    Ok(ProofClaims {
        issuer,
        subject,
        jwt_id: jwt_id.to_owned(),
        expires_at,
    })
}

/// Signs a PoP token (for tests, benchmarks and clients written in Rust).
pub fn sign(signing_key: &ed25519_dalek::SigningKey, claims: &Map<String, Value>) -> String {
    use ed25519_dalek::Signer as _;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(Value::Object(claims.clone()).to_string());
    let signed = format!("{header}.{payload}");
    let signature = signing_key.sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// The claims the reference CLI puts in a token for one request, valid 60 s from `now`.
pub fn cli_claims(did: &DidKey, handle: &str, request: BoundRequest<'_>, jti: &str, now: i64) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".to_owned(), Value::from(did.as_str()));
    claims.insert("sub".to_owned(), Value::from(handle));
    claims.insert("aud".to_owned(), Value::from(AUDIENCE));
    claims.insert("iat".to_owned(), Value::from(now));
    claims.insert("exp".to_owned(), Value::from(now + 60));
    claims.insert("jti".to_owned(), Value::from(jti));
    claims.insert("htm".to_owned(), Value::from(request.method.to_ascii_uppercase()));
    claims.insert("htu".to_owned(), Value::from(request.path_and_query));
    claims.insert("body_sha256".to_owned(), Value::from(body_sha256(request.body)));
    claims
}
