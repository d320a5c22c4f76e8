//! A fresh Postgres schema per test, dropped when the test ends (feature `test-support`).
//!
//! Tests read the server from `AUTHSOME_TEST_DATABASE_URL` and fail, loudly, when it is not
//! set: a Postgres suite that silently runs nowhere proves nothing.

use sqlx::Connection;

/// The environment variable naming the Postgres server tests use.
pub const TEST_DATABASE_URL_VAR: &str = "AUTHSOME_TEST_DATABASE_URL";

/// The test server URL; panics with instructions when it is not set.
pub fn test_database_url() -> String {
    match std::env::var(TEST_DATABASE_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{TEST_DATABASE_URL_VAR} is not set: the Postgres suites need a server, for example \
             {TEST_DATABASE_URL_VAR}=postgres://root@127.0.0.1:5432/test (scripts/test sets it)"
        ),
    }
}

/// An empty schema on the test server, dropped (with everything in it) on drop.
pub struct TestSchema {
    server_url: String,
    name: String,
}

impl TestSchema {
    /// Creates a schema with a random name on the server named by `AUTHSOME_TEST_DATABASE_URL`.
    pub async fn create() -> Self {
        let server_url = test_database_url();
        let name = format!("authsome_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = sqlx::PgConnection::connect(&server_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {TEST_DATABASE_URL_VAR}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut connection)
            .await
            .expect("create test schema");
        let _ = connection.close().await;
        Self { server_url, name }
    }

    /// A connection URL whose `search_path` is this schema, so that unqualified table names
    /// (and sqlx's migration table) live in it.
    pub fn url(&self) -> String {
        let separator = if self.server_url.contains('?') { '&' } else { '?' };
        format!("{}{separator}options[search_path]={}", self.server_url, self.name)
    }

    /// The schema name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let (url, name) = (self.server_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which may be shutting down: clean up on a
        // thread with its own small runtime.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut connection) = sqlx::PgConnection::connect(&url).await {
                    let drop_schema = sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
                    let _ = sqlx::raw_sql(drop_schema).execute(&mut connection).await;
                    let _ = connection.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
