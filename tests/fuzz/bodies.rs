//! What each fuzz target does with its input, shared by the libFuzzer targets
//! (`fuzz_targets/*.rs`, run by `scripts/fuzz` on nightly) and by the stable regression test
//! that replays the committed corpus and every input that once failed
//! (`domain/tests/fuzz_regressions.rs`). Each body feeds hostile bytes to one parser of
//! network or stored input and must return, never panic, whatever the bytes.

use std::sync::OnceLock;

use authsome_domain::credential_records::ConnectionRecord;
use authsome_domain::proof::{self, BoundRequest, ProofPolicy};
use authsome_domain::provider_definition::{ProviderDefinition, http_host, url_path};
use authsome_domain::return_path::ReturnPath;
use authsome_domain::vault_crypto::{DataKey, DekRecord, EnvelopeVersion, VaultCipher};
use authsome_domain::vault_entry;
use authsome_domain::{
    AuditCursor, ConnectionName, DidKey, Email, IdentityHandle, ProviderDefinitionDocument, ProviderName, ServerConfig,
    Timestamp,
};
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
    ("page_inputs", page_inputs),
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

/// A page's query string or URL-encoded form body, as the pages decode it: every field, and the
/// raw text too, is tried as the return path (`next=`) and as each name a page parses. A
/// return path that is kept must resolve, the way a browser resolves a `Location` (the `url`
/// crate implements WHATWG's URL parser, which drops tabs and newlines and reads `\` as
/// `/`), to this server and to the very path that was given; an accepted name must come
/// back unchanged through a form round trip.
pub(crate) fn page_inputs(data: &[u8]) {
    let raw = text(data);
    let fields: Vec<(String, String)> = form_urlencoded::parse(data)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    for value in fields.iter().map(|(_, value)| value).chain(std::iter::once(&raw)) {
        stays_on_this_server(value);
        let accepted = [
            ProviderName::parse(value).is_ok(),
            ConnectionName::parse(value).is_ok(),
            IdentityHandle::parse(value).is_ok(),
            Email::parse(value).is_ok(),
        ];
        if accepted.contains(&true) {
            let encoded = form_urlencoded::Serializer::new(String::new())
                .append_pair("name", value)
                .finish();
            let decoded: Vec<_> = form_urlencoded::parse(encoded.as_bytes()).collect();
            assert_eq!(decoded.len(), 1);
            assert_eq!(decoded[0].1, value.as_str(), "a name changed in a form round trip");
        }
    }
}

fn stays_on_this_server(candidate: &str) {
    static BASE: OnceLock<url::Url> = OnceLock::new();
    let base = BASE.get_or_init(|| url::Url::parse("https://authsome.example/login?next=x").expect("a constant URL"));
    let kept = ReturnPath::parse(Some(candidate));
    assert!(
        kept.as_str() == "/" || kept.as_str() == candidate,
        "{candidate:?} was changed, not refused"
    );
    let landed = base
        .join(kept.as_str())
        .unwrap_or_else(|error| panic!("{:?} kept but does not resolve: {error}", kept.as_str()));
    assert_eq!(
        landed.origin(),
        base.origin(),
        "{candidate:?} sends the browser to {landed}"
    );
}
