//! Envelope encryption: round trips, binding to collection and key, tamper detection, and
//! decryption of data written by the real authsome 0.7.2.

use authsome_domain::vault_crypto::{
    DataKey, DekRecord, EnvelopeVersion, KdfParams, MasterSecret, VaultCipher, VaultCryptoError,
};
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

/// Small Argon2 parameters: the tests are about the envelope, not the KDF cost.
const FAST: KdfParams = KdfParams {
    memory_kib: 64,
    time_cost: 1,
    parallelism: 1,
};

fn master(text: &str) -> MasterSecret {
    MasterSecret::from_text(text).expect("non-blank")
}

fn cipher(version: EnvelopeVersion) -> VaultCipher {
    VaultCipher::new(&DataKey::generate().expect("random"), version)
}

#[test]
fn a_dek_record_unwraps_only_with_its_master_secret() {
    let (record, dek) = DekRecord::generate(&master("correct horse"), FAST).expect("generate");
    let unwrapped = record.unwrap(&master("correct horse")).expect("unwrap");
    let sealed = VaultCipher::new(&dek, EnvelopeVersion::V2)
        .seal("c", "k", "secret")
        .expect("seal");
    let opened = VaultCipher::new(&unwrapped, EnvelopeVersion::V2)
        .open("c", "k", &sealed)
        .expect("same key");
    assert_eq!(opened.expose_secret(), "secret");
    assert_eq!(
        record.unwrap(&master("wrong")).expect_err("wrong master"),
        VaultCryptoError::MasterSecretMismatch
    );
}

#[test]
fn rewrapping_keeps_the_data_key_so_values_stay_readable() {
    let old = master("old secret");
    let new = master("new secret");
    let (record, dek) = DekRecord::generate(&old, FAST).expect("generate");
    let sealed = VaultCipher::new(&dek, EnvelopeVersion::V2)
        .seal("c", "k", "value")
        .expect("seal");
    let rewrapped = DekRecord::wrap(&record.unwrap(&old).expect("unwrap"), &new, FAST).expect("rewrap");
    assert_ne!(rewrapped, record, "fresh salt and nonce");
    let dek_again = rewrapped.unwrap(&new).expect("new master");
    let opened = VaultCipher::new(&dek_again, EnvelopeVersion::V2)
        .open("c", "k", &sealed)
        .expect("open");
    assert_eq!(opened.expose_secret(), "value");
    assert_eq!(
        rewrapped.unwrap(&old).expect_err("old master"),
        VaultCryptoError::MasterSecretMismatch
    );
}

#[test]
fn the_record_has_the_reference_shape_and_round_trips() {
    let (record, _) = DekRecord::generate(&master("m"), KdfParams::REFERENCE).expect("generate");
    let value = Value::Object(record.to_value());
    assert_eq!(value["version"], 1);
    assert_eq!(value["kdf"]["alg"], "argon2id");
    assert_eq!(value["kdf"]["memory_cost"], 65536);
    assert_eq!(value["kdf"]["time_cost"], 3);
    assert_eq!(value["kdf"]["parallelism"], 4);
    assert_eq!(value["wrapped_dek"]["alg"], "AES-256-GCM");
    let Value::Object(map) = value else { unreachable!() };
    assert_eq!(DekRecord::from_value(&map).expect("parse"), record);
}

#[test]
fn a_record_asking_for_absurd_kdf_cost_is_refused_before_deriving() {
    let (record, _) = DekRecord::generate(&master("m"), FAST).expect("generate");
    let mut value = record.to_value();
    value["kdf"]["memory_cost"] = json!(8 * 1024 * 1024); // 8 GiB
    let hostile = DekRecord::from_value(&value).expect("parse");
    assert!(matches!(
        hostile.unwrap(&master("m")),
        Err(VaultCryptoError::UnsafeKdfParams(_))
    ));
    let mut missing = record.to_value();
    missing.remove("wrapped_dek");
    assert!(matches!(
        DekRecord::from_value(&missing),
        Err(VaultCryptoError::MalformedDekRecord(_))
    ));
}

#[test]
fn version_2_is_bound_to_collection_and_key() {
    let cipher = cipher(EnvelopeVersion::V2);
    let sealed = cipher
        .seal("vault:vault_aaaaaaaaaaaa", "k1", "api-key-1")
        .expect("seal");
    assert_eq!(sealed["__encryption_version__"], 2);
    assert_eq!(
        cipher
            .open("vault:vault_aaaaaaaaaaaa", "k1", &sealed)
            .expect("open")
            .expose_secret(),
        "api-key-1"
    );
    for (collection, key) in [("vault:vault_aaaaaaaaaaaa", "k2"), ("vault:vault_bbbbbbbbbbbb", "k1")] {
        assert_eq!(
            cipher.open(collection, key, &sealed).expect_err("moved"),
            VaultCryptoError::DecryptionFailed,
            "{collection} {key}"
        );
    }
    // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
    let split = cipher.seal("ab", "c", "x").expect("seal");
    assert!(cipher.open("a", "bc", &split).is_err());
}

#[test]
fn version_1_round_trips_and_is_what_compat_mode_writes() {
    let cipher = cipher(EnvelopeVersion::V1);
    let sealed = cipher.seal("c", "k", "é and 😀").expect("seal");
    assert_eq!(sealed["__encryption_version__"], 1);
    assert_eq!(
        cipher.open("c", "k", &sealed).expect("open").expose_secret(),
        "é and 😀"
    );
    // Version 1 has no associated data: this is the weakness version 2 fixes.
    assert!(cipher.open("other", "key", &sealed).is_ok());
}

#[test]
fn tampering_unknown_versions_and_plaintext_values_are_refused() {
    let cipher = cipher(EnvelopeVersion::V2);
    let sealed = cipher.seal("c", "k", "value").expect("seal");

    let mut flipped = sealed.clone();
    let data = flipped["__encrypted_data__"].as_str().expect("data").to_owned();
    let mut bytes = base64_decode(&data);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    flipped["__encrypted_data__"] = Value::String(base64_encode(&bytes));
    assert_eq!(
        cipher.open("c", "k", &flipped).expect_err("tampered"),
        VaultCryptoError::DecryptionFailed
    );

    let mut future = sealed.clone();
    future["__encryption_version__"] = json!(3);
    assert_eq!(
        cipher.open("c", "k", &future).expect_err("v3"),
        VaultCryptoError::UnsupportedVersion(3)
    );

    let mut plaintext = Map::new();
    plaintext.insert("data".to_owned(), json!("planted"));
    assert!(matches!(
        cipher.open("c", "k", &plaintext),
        Err(VaultCryptoError::MalformedEnvelope(_))
    ));
    let mut short = sealed;
    short["__encrypted_data__"] = json!("AAAA");
    assert!(matches!(
        cipher.open("c", "k", &short),
        Err(VaultCryptoError::MalformedEnvelope(_))
    ));
}

#[test]
fn key_material_never_prints() {
    let dek = DataKey::generate().expect("random");
    assert_eq!(format!("{dek:?}"), "DataKey(<redacted>)");
    assert_eq!(format!("{:?}", master("hunter2")), "MasterSecret(<redacted>)");
    assert!(MasterSecret::from_text("   ").is_none());
}

/// A DEK record and an API-key connection written into Redis by the real authsome 0.7.2
/// (tests/fixtures/reference-0.7.2/redis-vault.json) decrypt with our code.
#[test]
fn decrypts_what_the_reference_wrote() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/reference-0.7.2");
    let entries: Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}/redis-vault.json")).expect("fixture"))
            .expect("json");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{fixtures}/expected-postgres.json")).expect("expected"))
            .expect("json");
    let entry = |redis_key: &str| -> Map<String, Value> {
        let text = entries[redis_key].as_str().expect("stored text");
        let document: Value = serde_json::from_str(text).expect("entry json");
        document["value"].as_object().expect("value object").clone()
    };
    let record = DekRecord::from_value(&entry("__vault_meta__::__dek__")).expect("dek record");
    assert_eq!(record.kdf_params(), KdfParams::REFERENCE);
    let dek = record
        .unwrap(&master(expected["master_key"].as_str().expect("master")))
        .expect("unwrap with the reference's master key");

    let vault = expected["vault_id"].as_str().expect("vault");
    let collection = format!("vault:{vault}");
    let key = format!("vault:{vault}:openai:connection:default");
    let stored = entry(&format!("{collection}::{key}"));
    let text = VaultCipher::new(&dek, EnvelopeVersion::V2)
        .open(&collection, &key, &stored)
        .expect("decrypt the reference's version-1 value");
    let connection: Value = serde_json::from_str(text.expose_secret()).expect("connection json");
    assert_eq!(connection["api_key"], expected["openai_api_key"]);
    assert_eq!(connection["provider"], "openai");
    assert_eq!(connection["schema_version"], 2);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
