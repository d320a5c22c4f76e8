//! Envelope encryption of a 1 KiB vault value: what every credential read and write costs.
#![allow(missing_docs)]

use std::hint::black_box;

use authsome_domain::vault_crypto::{DataKey, EnvelopeVersion, VaultCipher};
use criterion::{Criterion, criterion_group, criterion_main};

const COLLECTION: &str = "vault:vault_0123456789ab";
const KEY: &str = "vault:vault_0123456789ab:openai:connection:default";

fn one_kib_record() -> String {
    let head = r#"{"schema_version":2,"provider":"openai","auth_type":"api_key","api_key":"sk-"#;
    let filler = "x".repeat(1024 - head.len() - 2);
    format!(r#"{head}{filler}"}}"#)
}

fn envelope(c: &mut Criterion) {
    let record = one_kib_record();
    assert_eq!(record.len(), 1024);
    let dek = DataKey::generate().expect("random");
    for (name, version) in [
        ("v1_aes256gcm", EnvelopeVersion::V1),
        ("v2_aes256gcmsiv_aad", EnvelopeVersion::V2),
    ] {
        let cipher = VaultCipher::new(&dek, version);
        let sealed = cipher.seal(COLLECTION, KEY, &record).expect("seal");
        c.bench_function(&format!("envelope/seal_1kib/{name}"), |b| {
            b.iter(|| {
                cipher
                    .seal(black_box(COLLECTION), black_box(KEY), black_box(&record))
                    .expect("seal")
            })
        });
        c.bench_function(&format!("envelope/open_1kib/{name}"), |b| {
            b.iter(|| {
                cipher
                    .open(black_box(COLLECTION), black_box(KEY), black_box(&sealed))
                    .expect("open")
            })
        });
    }
}

criterion_group!(benches, envelope);
criterion_main!(benches);
