//! Migrations on SQLite: a missing file and directory are created, and a second run applies nothing.

use authsome_sqlite::SqliteSettings;

#[tokio::test]
async fn migrate_creates_the_database_then_is_idempotent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = SqliteSettings::new(dir.path().join("nested/server/authsome.db"));
    let applied = authsome_sqlite::migrate(&settings).await.expect("first run");
    let all: Vec<i64> = authsome_sqlite::MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(applied, all);
    assert!(settings.path.exists(), "the database file was created");
    assert!(
        authsome_sqlite::migrate(&settings)
            .await
            .expect("second run")
            .is_empty()
    );
}

#[tokio::test]
async fn an_unwritable_location_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"x").expect("file");
    let err = authsome_sqlite::migrate(&SqliteSettings::new(blocker.join("authsome.db")))
        .await
        .expect_err("parent is a file");
    assert!(err.to_string().contains("not-a-directory"), "{err}");
}
