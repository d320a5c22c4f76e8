//! Migrations on Postgres: replicas starting together migrate one database safely, and a
//! second run applies nothing. Needs `AUTHSOME_TEST_DATABASE_URL`.

use authsome_postgres::PostgresSettings;
use authsome_postgres::test_schema::TestSchema;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_migrating_one_database_at_once_all_succeed_and_apply_each_migration_once() {
    let schema = TestSchema::create().await;
    let settings = PostgresSettings::new(schema.url());
    let runs: Vec<_> = (0..6)
        .map(|_| {
            let settings = settings.clone();
            tokio::spawn(async move { authsome_postgres::migrate(&settings).await })
        })
        .collect();
    let mut applied = Vec::new();
    for run in runs {
        applied.extend(run.await.expect("task").expect("every replica's migration succeeds"));
    }
    applied.sort();
    let all: Vec<i64> = authsome_postgres::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(applied, all, "each migration applied exactly once across the replicas");

    assert!(
        authsome_postgres::migrate(&settings).await.expect("again").is_empty(),
        "nothing left to apply"
    );
    let store = authsome_postgres::open(&settings).await.expect("open");
    use authsome_ports::DatabaseHealth;
    store.ping().await.expect("usable after concurrent migration");
}

#[tokio::test]
async fn a_bad_url_fails_without_echoing_it() {
    let err = authsome_postgres::migrate(&PostgresSettings::new("postgres://user:hunter2@[::1"))
        .await
        .expect_err("invalid URL");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}
