//! What each fuzz target does with its input, shared by the libFuzzer targets
//! (`fuzz_targets/*.rs`, run by `scripts/fuzz` on nightly) and by the stable regression test
//! that replays the committed corpus and every input that once failed
//! (`domain/tests/fuzz_regressions.rs`). Each body feeds hostile bytes to one parser of
//! network or stored input and must return, never panic, whatever the bytes.

use std::sync::OnceLock;

use authsome_domain::credential_records::ConnectionRecord;
use authsome_domain::proof::{self, BoundRequest, ProofPolicy};
use authsome_domain::provider_definition::{ProviderDefinition, http_host, url_path};
use authsome_domain::vault_crypto::{DataKey, DekRecord, EnvelopeVersion, VaultCipher};
use authsome_domain::vault_entry;
use authsome_domain::{AuditCursor, DidKey, ProviderDefinitionDocument, ServerConfig, Timestamp};
use serde_json::{Map, Value};

/// What a target does with one input.
pub(crate) type Body = fn(&[u8]);

/// The targets by name, as `scripts/fuzz` and the regression test list them.
pub(crate) const TARGETS: &[(&str, Body)] = &[
    ("pop_token", pop_token),
    ("did_key", did_key),
    ("envelope", envelope),
    ("dek_record", dek_record),
    ("provider_definition", provider_definition),
    ("stored_documents", stored_documents),
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn object(data: &[u8]) -> Option<Map<String, Value>> {
    serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|value| match value {
            Value::Object(map) => Some(map),
            _ => None,
        })
}

/// An `Authorization` header and a PoP token, verified against a fixed request at a fixed time.
pub(crate) fn pop_token(data: &[u8]) {
    let header = text(data);
    let token = proof::token_from_header(&header).unwrap_or(&header);
    let request = BoundRequest {
        method: "POST",
        path_and_query: "/api/credentials/resolve",
        body: b"{\"provider\":\"openai\"}",
    };
    let now = Timestamp::from_unix_seconds(1_800_000_000).unwrap_or_else(Timestamp::now);
    let _ = proof::verify(token, request, now, ProofPolicy::default());
}

/// A `did:key` identifier.
pub(crate) fn did_key(data: &[u8]) {
    if let Ok(did) = DidKey::parse(&text(data)) {
        assert_eq!(DidKey::from_public_key(*did.public_key()).as_str(), did.as_str());
    }
}

fn data_key() -> &'static DataKey {
    static KEY: OnceLock<DataKey> = OnceLock::new();
    KEY.get_or_init(|| DataKey::generate().expect("the OS random source"))
}

/// A stored vault value (an envelope of either version) opened with a data key.
pub(crate) fn envelope(data: &[u8]) {
    if let Some(stored) = object(data) {
        for version in [EnvelopeVersion::V1, EnvelopeVersion::V2] {
            let _ = VaultCipher::new(data_key(), version).open("vault:fuzz", "fuzz-key", &stored);
        }
    }
}

/// The stored data-key record (its KDF parameters and wrapped key), parsed.
pub(crate) fn dek_record(data: &[u8]) {
    if let Some(stored) = object(data)
        && let Ok(record) = DekRecord::from_value(&stored)
    {
        let _ = record.kdf_params();
        let _ = record.to_value();
    }
}

/// A custom provider definition as the API takes it, validated, and its URLs read.
pub(crate) fn provider_definition(data: &[u8]) {
    if let Ok(value) = serde_json::from_slice::<Value>(data)
        && let Ok(definition) = ProviderDefinition::from_value(value)
    {
        let _ = definition.validate();
        for url in definition.api_urls() {
            let _ = http_host(url);
            let _ = url_path(url);
        }
        let _ = definition.to_stored_document();
    }
}

/// Documents read back from the stores: a vault entry (Redis and disk), a connection record,
/// a stored provider definition, the server configuration and an audit cursor.
pub(crate) fn stored_documents(data: &[u8]) {
    if let Ok(entry) = vault_entry::decode(data)
        && let (Some(collection), Some(key)) = (&entry.collection, &entry.key)
    {
        let again = vault_entry::decode(vault_entry::encode(collection, key, &entry.value).as_bytes());
        assert_eq!(again.ok().map(|e| e.value), Some(entry.value.clone()));
    }
    let text = text(data);
    let _ = ConnectionRecord::from_json(&text);
    let _ = ProviderDefinitionDocument::from_json(&text);
    let _ = ServerConfig::from_json(&text);
    if let Ok(cursor) = AuditCursor::decode(&text) {
        assert_eq!(AuditCursor::decode(&cursor.encode()).ok(), Some(cursor));
    }
}
