//! A SQLite database written by the real authsome 0.7.2 daemon is adopted and read correctly.

use authsome_ports::Registries;
use authsome_ports::contract::reference_data::{ReferenceExpectation, reads_reference_rows};
use authsome_sqlite::SqliteSettings;
use sqlx::Connection;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/reference-0.7.2");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_and_reads_a_reference_sqlite_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("authsome.db");
    let dump = std::fs::read_to_string(format!("{FIXTURES}/sqlite.sql")).expect("sqlite.sql");
    let expected = std::fs::read_to_string(format!("{FIXTURES}/expected-sqlite.json")).expect("expected-sqlite.json");

    // Recreate the reference's database file exactly as its dump describes it.
    let mut connection = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .expect("create database file");
    sqlx::raw_sql(sqlx::AssertSqlSafe(dump))
        .execute(&mut connection)
        .await
        .expect("load the reference dump");
    connection.close().await.expect("close");

    let store = authsome_sqlite::open(&SqliteSettings::new(&path))
        .await
        .expect("adopt: migrate over the reference schema");
    reads_reference_rows(
        &Registries::from_store(store),
        &ReferenceExpectation::from_json(&expected),
    )
    .await;
}
