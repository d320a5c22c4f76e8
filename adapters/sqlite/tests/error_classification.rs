//! How SQLite's failures reach the ports: a database another writer holds is `Unavailable`
//! (retry later, a 503), never `Backend` (a 500); a constraint violation no operation plans
//! for is `Backend`, never a `Conflict` the caller could act on.

use std::time::{Duration, Instant};

use authsome_ports::RegistryError;
use authsome_ports::contract::{error_classification, sample};
use authsome_sqlite::SqliteSettings;
use sqlx::Connection;

async fn open() -> (tempfile::TempDir, std::path::PathBuf, authsome_ports::Registries) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("server/authsome.db");
    let store = authsome_sqlite::open(&SqliteSettings::new(path.clone()))
        .await
        .expect("open a fresh database");
    (dir, path, authsome_sqlite::registries(store))
}

async fn raw_connection(path: &std::path::Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("a second connection to the same file")
}

#[tokio::test]
async fn a_database_another_writer_holds_is_unavailable() {
    let (_dir, path, registries) = open().await;
    let mut other = raw_connection(&path).await;
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect("take the write lock");

    let started = Instant::now();
    let refused = registries.identities.register(&sample::handle(), &sample::did()).await;
    assert!(matches!(refused, Err(RegistryError::Unavailable(_))), "{refused:?}");
    // It waited for the lock (the busy timeout) before giving up.
    assert!(started.elapsed() >= Duration::from_secs(4), "{:?}", started.elapsed());

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut other)
        .await
        .expect("release the lock");
    registries
        .identities
        .register(&sample::handle(), &sample::did())
        .await
        .expect("the same write succeeds once the lock is released");
}

#[tokio::test]
async fn an_unplanned_constraint_violation_is_a_backend_failure() {
    let (_dir, path, registries) = open().await;
    let mut other = raw_connection(&path).await;
    sqlx::raw_sql(error_classification::UNPLANNED_CONSTRAINT_SQL)
        .execute(&mut other)
        .await
        .expect("add the constraint");
    error_classification::an_unplanned_violation_is_a_backend_failure(&registries).await;
}
