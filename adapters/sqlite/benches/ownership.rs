//! The database side of one credential resolution on SQLite: the ownership lookup alone, and
//! with the custom provider definition read in the same statement (what the hot path runs),
//! on the blocking read path the daemon uses and, for comparison, through sqlx.
#![allow(missing_docs)]

use authsome_domain::ProviderName;
use authsome_ports::contract::sample;
use criterion::{Criterion, criterion_group, criterion_main};

fn ownership(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let directory = tempfile::tempdir().expect("temp dir");
    let registries = runtime.block_on(async {
        let store = authsome_sqlite::open(&authsome_sqlite::SqliteSettings::new(directory.path().join("bench.db")))
            .await
            .expect("open");
        let through_sqlx = authsome_ports::Registries::from_store(store.clone());
        let registries = authsome_sqlite::registries(store);
        let (handle, did) = (sample::handle(), sample::did());
        sample::claimed_identity(&registries, &handle, &did).await;
        (registries, through_sqlx, handle)
    });
    let (registries, through_sqlx, handle) = registries;
    let provider = ProviderName::parse("openai").expect("name");
    c.bench_function("ownership/sqlite/lookup", |b| {
        b.iter(|| runtime.block_on(registries.ownership.lookup(&handle)).expect("lookup"))
    });
    c.bench_function("ownership/sqlite/lookup_with_custom_provider", |b| {
        b.iter(|| {
            runtime
                .block_on(registries.ownership.lookup_with_custom_provider(&handle, &provider))
                .expect("lookup")
        })
    });
    c.bench_function("ownership/sqlite-through-sqlx/lookup_with_custom_provider", |b| {
        b.iter(|| {
            runtime
                .block_on(through_sqlx.ownership.lookup_with_custom_provider(&handle, &provider))
                .expect("lookup")
        })
    });
}

criterion_group!(benches, ownership);
criterion_main!(benches);
