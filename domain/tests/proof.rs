//! Proof-of-possession token verification: what is accepted, and the message for each refusal.

use authsome_domain::DidKey;
use authsome_domain::Timestamp;
use authsome_domain::proof::{
    BoundRequest, ProofError, ProofPolicy, VerifyingKeys, cli_claims, sign, token_from_header, verify, verify_with_keys,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use serde_json::{Map, Value, json};

const NOW: i64 = 1_800_000_000;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn did(key: &SigningKey) -> DidKey {
    DidKey::from_public_key(key.verifying_key().to_bytes())
}

fn request<'a>(body: &'a [u8]) -> BoundRequest<'a> {
    BoundRequest {
        method: "POST",
        path_and_query: "/api/credentials/resolve",
        body,
    }
}

fn claims(key: &SigningKey) -> Map<String, Value> {
    cli_claims(&did(key), "rapid-easily-quickly-2456", request(b"{}"), "jti-1", NOW)
}

fn check(token: &str) -> Result<authsome_domain::proof::ProofClaims, ProofError> {
    verify(
        token,
        request(b"{}"),
        Timestamp::from_unix_seconds(NOW).expect("time"),
        ProofPolicy::default(),
    )
}

fn message(token: &str) -> String {
    check(token).expect_err("refused").to_string()
}

fn with(key: &SigningKey, change: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut c = claims(key);
    change(&mut c);
    sign(key, &c)
}

#[test]
fn a_cli_shaped_token_verifies() {
    let k = key(1);
    let verified = check(&sign(&k, &claims(&k))).expect("valid");
    assert_eq!(verified.subject, "rapid-easily-quickly-2456");
    assert_eq!(verified.jwt_id, "jti-1");
    assert_eq!(verified.expires_at, NOW + 60);
    assert_eq!(verified.issuer, did(&k));
}

#[test]
fn the_header_must_be_pop() {
    assert_eq!(token_from_header("PoP abc"), Ok("abc"));
    for bad in ["Bearer abc", "PoP", "PoP ", "pop abc", ""] {
        assert_eq!(
            token_from_header(bad).expect_err(bad).to_string(),
            "Expected Authorization: PoP <jwt>"
        );
    }
}

#[test]
fn malformed_tokens_say_so() {
    assert_eq!(message("abc"), "Malformed proof JWT: Not enough segments");
    assert_eq!(message("a.b.c.d"), "Malformed proof JWT: Not enough segments");
    assert!(message("!!.e30.sig").starts_with("Malformed proof JWT:"));
    assert!(message(&format!("{}.e30.AA", "x".repeat(10_000))).contains("too long"));
}

#[test]
fn the_issuer_must_be_an_ed25519_did_key() {
    let k = key(1);
    assert_eq!(
        message(&with(&k, |c| {
            c.remove("iss");
        })),
        "Proof JWT missing string claim: iss"
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.insert("iss".into(), json!("did:web:x"));
        })),
        "Only did:key Ed25519 identifiers are supported"
    );
}

#[test]
fn signatures_are_checked_against_the_issuer() {
    let (signer, other) = (key(1), key(2));
    // Signed by another key while naming the first key's DID.
    let forged = sign(&other, &claims(&signer));
    assert_eq!(message(&forged), "Invalid proof JWT: Signature verification failed");
    // Tampered payload.
    let token = sign(&signer, &claims(&signer));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut tampered = claims(&signer);
    tampered.insert("sub".into(), json!("someone-else"));
    parts[1] = URL_SAFE_NO_PAD.encode(Value::Object(tampered).to_string());
    assert_eq!(
        message(&parts.join(".")),
        "Invalid proof JWT: Signature verification failed"
    );
}

#[test]
fn only_eddsa_is_accepted_under_either_name() {
    let k = key(1);
    let token = sign(&k, &claims(&k));
    let rest = token.split_once('.').expect("parts").1;
    use ed25519_dalek::Signer as _;
    for (alg, ok) in [("EdDSA", true), ("Ed25519", true), ("none", false), ("HS256", false)] {
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
        let payload = rest.split_once('.').expect("payload").0;
        let signed = format!("{header}.{payload}");
        let sig = URL_SAFE_NO_PAD.encode(k.sign(signed.as_bytes()).to_bytes());
        assert_eq!(check(&format!("{signed}.{sig}")).is_ok(), ok, "{alg}");
    }
}

#[test]
fn time_rules_allow_skew_but_not_long_lived_or_undated_tokens() {
    let k = key(1);
    // 30 s of clock skew either way is tolerated.
    assert!(
        check(&with(&k, |c| {
            c.insert("iat".into(), json!(NOW + 25));
            c.insert("exp".into(), json!(NOW + 85));
        }))
        .is_ok()
    );
    assert!(
        check(&with(&k, |c| {
            c.insert("iat".into(), json!(NOW - 80));
            c.insert("exp".into(), json!(NOW - 20));
        }))
        .is_ok()
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.insert("iat".into(), json!(NOW + 45));
            c.insert("exp".into(), json!(NOW + 105));
        })),
        "Invalid proof JWT: The token is not yet valid (iat)"
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.insert("iat".into(), json!(NOW - 100));
            c.insert("exp".into(), json!(NOW - 40));
        })),
        "Invalid proof JWT: Signature has expired"
    );
    // The reference accepts tokens without iat and tokens valid for years; we do not.
    assert_eq!(
        message(&with(&k, |c| {
            c.remove("iat");
        })),
        "Invalid proof JWT: Token is missing the \"iat\" claim"
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.insert("exp".into(), json!(NOW + 10 * 365 * 86_400));
        })),
        "Invalid proof JWT: Token lifetime (exp - iat) exceeds the server's limit"
    );
    // A token that expires before, or as, it was issued was never valid.
    for exp in [NOW + 9, NOW + 10] {
        assert_eq!(
            message(&with(&k, |c| {
                c.insert("iat".into(), json!(NOW + 10));
                c.insert("exp".into(), json!(exp));
            })),
            "Invalid proof JWT: Token expires before it was issued (exp <= iat)",
            "exp {exp}"
        );
    }
    assert_eq!(
        message(&with(&k, |c| {
            c.remove("exp");
        })),
        "Proof JWT exp must be an integer"
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.insert("exp".into(), json!(NOW as f64 + 60.5));
        })),
        "Proof JWT exp must be an integer"
    );
}

#[test]
fn the_audience_must_be_the_daemon() {
    let k = key(1);
    assert_eq!(
        message(&with(&k, |c| {
            c.remove("aud");
        })),
        "Invalid proof JWT: Token is missing the \"aud\" claim"
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.insert("aud".into(), json!("elsewhere"));
        })),
        "Invalid proof JWT: Audience doesn't match"
    );
    assert!(
        check(&with(&k, |c| {
            c.insert("aud".into(), json!(["x", "authsome-daemon"]));
        }))
        .is_ok()
    );
}

#[test]
fn the_token_is_bound_to_method_url_and_body() {
    let k = key(1);
    // The reference matched the method case-insensitively; HTTP methods are case-sensitive.
    assert_eq!(
        message(&with(&k, |c| {
            c.insert("htm".into(), json!("post"));
        })),
        "Proof JWT method does not match request"
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.insert("htm".into(), json!("GET"));
        })),
        "Proof JWT method does not match request"
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.remove("htm");
        })),
        "Proof JWT missing string claim: htm"
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.insert("htu".into(), json!("/api/credentials/resolve?x=1"));
        })),
        "Proof JWT URL does not match request"
    );
    let token = sign(&k, &claims(&k));
    let other_body = verify(
        &token,
        request(b"{\"provider\":\"x\"}"),
        Timestamp::from_unix_seconds(NOW).expect("t"),
        ProofPolicy::default(),
    );
    assert_eq!(
        other_body.expect_err("body").to_string(),
        "Proof JWT body hash does not match request"
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.remove("jti");
        })),
        "Proof JWT missing string claim: jti"
    );
    assert_eq!(
        message(&with(&k, |c| {
            c.remove("sub");
        })),
        "Proof JWT missing string claim: sub"
    );
}

#[test]
fn the_empty_body_hash_is_the_sha256_of_nothing() {
    assert_eq!(
        authsome_domain::proof::body_sha256(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

/// The cache of decompressed keys changes nothing but the cost: with a key already in it
/// (and after it starts over at its bound), forged, tampered and valid tokens are judged
/// exactly as without it.
#[test]
fn cached_issuer_keys_judge_tokens_exactly_as_fresh_ones() {
    let keys = VerifyingKeys::new(2);
    let at = Timestamp::from_unix_seconds(NOW).expect("time");
    let judge = |token: &str| {
        verify_with_keys(token, request(b"{}"), at, ProofPolicy::default(), Some(&keys)).map_err(|e| e.to_string())
    };
    let (signer, other, third) = (key(1), key(2), key(3));
    let valid = sign(&signer, &claims(&signer));
    let forged = sign(&other, &claims(&signer));
    for round in 0..3 {
        assert_eq!(judge(&valid).map(|c| c.issuer), Ok(did(&signer)), "round {round}");
        assert_eq!(
            judge(&forged).map(|c| c.issuer),
            Err("Invalid proof JWT: Signature verification failed".to_owned()),
            "round {round}: the signer's cached key must not accept another key's signature"
        );
        // Fill the map past its bound with other issuers: it starts over, answers unchanged.
        assert!(judge(&sign(&other, &claims(&other))).is_ok());
        assert!(judge(&sign(&third, &claims(&third))).is_ok());
    }
    // Same answers as the uncached path for every token above.
    for token in [&valid, &forged] {
        assert_eq!(
            judge(token).map(|c| c.jwt_id),
            check(token).map(|c| c.jwt_id).map_err(|e| e.to_string())
        );
    }
}

/// Payloads that are not one JSON object with each claim once are refused as malformed, before
/// any signature work: a list of claims, and a claim named twice (a reader that kept the last
/// one could be told one thing by the signer's tooling and another by ours).
#[test]
fn payloads_must_be_one_object_naming_each_claim_once() {
    use ed25519_dalek::Signer as _;
    let k = key(1);
    let signed_token = |payload: &str| {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = URL_SAFE_NO_PAD.encode(k.sign(signed.as_bytes()).to_bytes());
        format!("{signed}.{signature}")
    };
    let valid = Value::Object(claims(&k)).to_string();
    assert!(check(&signed_token(&valid)).is_ok());
    let twice = valid.replacen('{', r#"{"sub":"someone-else","#, 1);
    assert_eq!(
        message(&signed_token(&twice)),
        "Malformed proof JWT: Invalid payload string"
    );
    assert_eq!(
        message(&signed_token(&format!("[{valid}]"))),
        "Malformed proof JWT: Invalid payload string"
    );
    // Escaped strings are read as their text.
    let escaped = valid.replace("rapid-easily-quickly-2456", r"rapid-easily-quickly-\u0032456");
    assert_eq!(
        check(&signed_token(&escaped)).expect("valid").subject,
        "rapid-easily-quickly-2456"
    );
}
