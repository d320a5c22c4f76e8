//! How Postgres's failures reach the ports: a lock wait that times out (SQLSTATE 55P03) is
//! `Unavailable` (retry later, a 503), never `Backend` (a 500); a constraint violation no
//! operation plans for is `Backend`, never a `Conflict`. Needs `AUTHSOME_TEST_DATABASE_URL`.

use authsome_ports::RegistryError;
use authsome_ports::contract::{error_classification, sample};
use authsome_postgres::PostgresSettings;
use authsome_postgres::test_schema::TestSchema;
use sqlx::Connection;

/// The registries over `url` (a URL of a schema the caller keeps alive).
async fn open(url: String) -> authsome_ports::Registries {
    let mut settings = PostgresSettings::new(url);
    settings.max_connections = 2;
    let store = authsome_postgres::open(&settings).await.expect("open a fresh schema");
    authsome_postgres::registries(store)
}

#[tokio::test]
async fn a_lock_wait_that_times_out_is_unavailable() {
    let schema = TestSchema::create().await;
    // The store's sessions give up on a lock after 200 ms, as an operator's lock_timeout would.
    let registries = open(format!("{}&options[lock_timeout]=200ms", schema.url())).await;
    let mut other = sqlx::PgConnection::connect(&schema.url())
        .await
        .expect("a second session");
    sqlx::raw_sql("BEGIN; LOCK TABLE identity_registrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut other)
        .await
        .expect("hold the table");

    let refused = registries.identities.register(&sample::handle(), &sample::did()).await;
    assert!(matches!(refused, Err(RegistryError::Unavailable(_))), "{refused:?}");

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut other)
        .await
        .expect("release the table");
    registries
        .identities
        .register(&sample::handle(), &sample::did())
        .await
        .expect("the same write succeeds once the lock is released");
}

#[tokio::test]
async fn an_unplanned_constraint_violation_is_a_backend_failure() {
    let schema = TestSchema::create().await;
    let registries = open(schema.url()).await;
    let mut other = sqlx::PgConnection::connect(&schema.url())
        .await
        .expect("a second session");
    sqlx::raw_sql(error_classification::UNPLANNED_CONSTRAINT_SQL)
        .execute(&mut other)
        .await
        .expect("add the constraint");
    error_classification::an_unplanned_violation_is_a_backend_failure(&registries).await;
}
