//! # authsome-sqlite
//!
//! The relational registries of authsome-rs on SQLite: the embedded default, one file under
//! `{home}/server/authsome.db`, needing no service. The registry logic itself is shared
//! (`authsome-sql`); this crate owns what is SQLite's own: connection settings (WAL, foreign
//! keys, a busy timeout, full fsync), write transactions that take the lock up front
//! (`BEGIN IMMEDIATE`), transient-error codes, the embedded migrations, and the blocking
//! read path of the per-request ownership lookup ([`SqliteOwnershipReader`]).
//!
//! It must not depend on the HTTP layer or on any other adapter.

mod ownership_reader;
pub mod reference_home;

pub use ownership_reader::SqliteOwnershipReader;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use authsome_ports::Registries;
use authsome_sql::{PoolSession, SqlBackend, SqlStore, TransactionSession};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};
use std::sync::Arc;

/// The embedded SQLite migrations (`migrations/sqlite`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How long a statement waits for another connection's write lock before failing as busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of the SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteSettings {
    /// The database file; its parent directory is created when missing.
    pub path: PathBuf,
    /// The most connections the pool opens (readers run in parallel, writers take turns).
    pub max_connections: u32,
}

impl SqliteSettings {
    /// Settings for the file at `path` with a pool sized for a small server.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            max_connections: 8,
        }
    }
}

/// Why the SQLite store could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum SqliteOpenError {
    /// The directory for the database file could not be created.
    #[error("cannot create the directory for the SQLite database {path}")]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be opened.
    #[error("cannot open the SQLite database {path}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed; the database is left at the last migration that succeeded.
    #[error("cannot migrate the SQLite database {path}")]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

/// The SQLite side of [`SqlBackend`].
pub struct SqliteBackend {
    pool: SqlitePool,
    path: PathBuf,
}

impl SqliteBackend {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl SqlBackend for SqliteBackend {
    type Row = sqlx::sqlite::SqliteRow;
    type Pooled = PoolSession<Sqlite>;
    type Transaction = TransactionSession<Sqlite>;

    const NAME: &'static str = "sqlite";
    // The write transaction (BEGIN IMMEDIATE) already holds the database's only write lock.
    const LOCK_PRINCIPAL_SQL: &'static str = "SELECT principal_id FROM principals WHERE principal_id = $1";
    const SERIALIZE_PRINCIPAL_CREATION_SQL: Option<&'static str> = None;

    fn pooled(&self) -> Self::Pooled {
        PoolSession(self.pool.clone())
    }

    async fn begin_write(&self) -> Result<Self::Transaction, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map(TransactionSession)
    }

    async fn commit(transaction: Self::Transaction) -> Result<(), sqlx::Error> {
        transaction.commit().await
    }

    fn is_transient(error: &(dyn sqlx::error::DatabaseError + 'static)) -> bool {
        const SQLITE_BUSY: i64 = 5;
        const SQLITE_LOCKED: i64 = 6;
        // The code is SQLite's extended result code; its low byte is the primary code.
        let primary = error
            .code()
            .and_then(|code| code.parse::<i64>().ok())
            .map(|code| code & 0xff);
        matches!(primary, Some(SQLITE_BUSY | SQLITE_LOCKED))
    }

    fn is_storage_full(error: &(dyn sqlx::error::DatabaseError + 'static)) -> bool {
        const SQLITE_FULL: i64 = 13;
        error
            .code()
            .and_then(|code| code.parse::<i64>().ok())
            .is_some_and(|code| code & 0xff == SQLITE_FULL)
    }
}

/// The registries on one SQLite database.
pub type SqliteStore = SqlStore<SqliteBackend>;

/// Opens (creating when missing) the database file and applies every pending migration.
pub async fn open(settings: &SqliteSettings) -> Result<Arc<SqliteStore>, SqliteOpenError> {
    let pool = connect(settings).await?;
    migrate_pool(&pool, &settings.path).await?;
    Ok(Arc::new(SqlStore::new(SqliteBackend {
        pool,
        path: settings.path.clone(),
    })))
}

/// Applies every pending migration to the database file (creating it when missing), and
/// returns the versions that were applied by this call.
pub async fn migrate(settings: &SqliteSettings) -> Result<Vec<i64>, SqliteOpenError> {
    let pool = connect(settings).await?;
    let applied = migrate_pool(&pool, &settings.path).await;
    pool.close().await;
    applied
}

/// The registry ports of an opened store, the ownership lookup on its blocking read path.
pub fn registries(store: Arc<SqliteStore>) -> Registries {
    let ownership = Arc::new(SqliteOwnershipReader::new(store.backend().path()));
    Registries {
        ownership,
        ..Registries::from_store(store)
    }
}

async fn connect(settings: &SqliteSettings) -> Result<SqlitePool, SqliteOpenError> {
    if let Some(parent) = settings.path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // The database holds password hashes: its directory is private to the user.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(parent)
            .map_err(|source| SqliteOpenError::CreateDirectory {
                path: parent.to_path_buf(),
                source,
            })?;
    }
    let options = SqliteConnectOptions::new()
        .filename(&settings.path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    SqlitePoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .after_release(|connection, _| Box::pin(may_be_reused(connection)))
        .connect_with(options)
        .await
        .map_err(|source| SqliteOpenError::Open {
            path: settings.path.clone(),
            source,
        })
}

/// Whether a connection going back to the pool may be reused: not when sqlx still counts it as
/// inside a transaction.
///
/// When SQLite meets a full disk (`SQLITE_FULL`) or an I/O error inside a transaction, it may
/// roll the whole transaction back by itself. The dropped sqlx transaction then queues a
/// `ROLLBACK` that fails ("no transaction is active"), and sqlx never lowers its transaction
/// depth: every later `BEGIN IMMEDIATE` on that connection fails with "non-zero transaction
/// depth", so the store would refuse writes after the disk has room again. The ping first lets
/// the queued rollback run, so that a connection whose rollback succeeded is kept.
async fn may_be_reused(connection: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    connection.ping().await?;
    Ok(!connection.is_in_transaction())
}

async fn migrate_pool(pool: &SqlitePool, path: &Path) -> Result<Vec<i64>, SqliteOpenError> {
    let before = applied_versions(pool).await;
    MIGRATOR.run(pool).await.map_err(|source| SqliteOpenError::Migrate {
        path: path.to_path_buf(),
        source,
    })?;
    let after = applied_versions(pool).await;
    Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
}

/// The versions sqlx has recorded as applied (none when its table does not exist yet).
async fn applied_versions(pool: &SqlitePool) -> Vec<i64> {
    sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Executor;

    /// One connection, so that the next write is sure to get the connection the failure left.
    async fn one_connection_backend(dir: &Path) -> SqliteBackend {
        let settings = SqliteSettings {
            path: dir.join("authsome.db"),
            max_connections: 1,
        };
        let pool = connect(&settings).await.expect("the database opens");
        SqliteBackend {
            pool,
            path: settings.path,
        }
    }

    #[tokio::test]
    async fn a_transaction_sqlite_rolled_back_by_itself_does_not_block_later_writes() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let backend = one_connection_backend(dir.path()).await;
        let mut transaction = backend.begin_write().await.expect("the first write begins");
        // What SQLite does on SQLITE_FULL mid-transaction: the transaction ends under sqlx.
        (&mut *transaction.0)
            .execute("ROLLBACK")
            .await
            .expect("the transaction ends behind sqlx's back");
        drop(transaction);
        let next = backend
            .begin_write()
            .await
            .expect("a later write begins on a fresh connection");
        SqliteBackend::commit(next).await.expect("and commits");
    }

    #[tokio::test]
    async fn a_connection_whose_transaction_was_rolled_back_normally_is_kept() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let backend = one_connection_backend(dir.path()).await;
        (&backend.pool)
            .execute("CREATE TEMP TABLE kept_connection (n INTEGER)")
            .await
            .expect("a table that lives as long as this connection");
        drop(backend.begin_write().await.expect("a write begins"));
        let next = backend.begin_write().await.expect("the next write begins");
        SqliteBackend::commit(next).await.expect("and commits");
        (&backend.pool)
            .execute("SELECT n FROM kept_connection")
            .await
            .expect("the same connection was reused: its temporary table is still there");
    }
}
