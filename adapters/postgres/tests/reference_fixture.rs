//! A Postgres database written by the real authsome 0.7.2 daemon is adopted and read correctly.
//! Needs `AUTHSOME_TEST_DATABASE_URL`; fails when it is not set.

use authsome_ports::Registries;
use authsome_ports::contract::reference_data::{ReferenceExpectation, reads_reference_rows};
use authsome_postgres::PostgresSettings;
use authsome_postgres::test_schema::TestSchema;
use sqlx::Connection;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/reference-0.7.2");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_and_reads_a_reference_postgres_database() {
    let schema = TestSchema::create().await;
    let dump = std::fs::read_to_string(format!("{FIXTURES}/postgres.sql")).expect("postgres.sql");
    let expected =
        std::fs::read_to_string(format!("{FIXTURES}/expected-postgres.json")).expect("expected-postgres.json");

    let mut connection = sqlx::PgConnection::connect(&schema.url()).await.expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(dump))
        .execute(&mut connection)
        .await
        .expect("load the reference dump");
    connection.close().await.expect("close");

    let store = authsome_postgres::open(&PostgresSettings::new(schema.url()))
        .await
        .expect("adopt: migrate over the reference schema");
    reads_reference_rows(
        &Registries::from_store(store),
        &ReferenceExpectation::from_json(&expected),
    )
    .await;
}
