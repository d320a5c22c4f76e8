//! # authsome-postgres
//!
//! The relational registries of authsome-rs on Postgres, for production deployments where
//! several replicas share one database. The registry logic itself is shared
//! (`authsome-sql`); this crate owns what is Postgres's own: the pool (sized by
//! `AUTHSOME_POSTGRES_POOL_MIN_SIZE` / `..._MAX_SIZE`), row locks and the advisory lock that
//! keep multi-statement operations atomic across replicas, SQLSTATE-based transient-error
//! detection, and the embedded migrations, which run under sqlx's advisory lock so that
//! replicas starting together migrate one at a time; and the per-request ownership lookup on
//! connections of its own ([`PostgresOwnershipReader`]).
//!
//! It must not depend on the HTTP layer or on any other adapter.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use authsome_ports::Registries;
use authsome_sql::{PoolSession, SqlBackend, SqlStore, TransactionSession};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

pub mod ownership_reader;
#[cfg(feature = "test-support")]
pub mod test_schema;

pub use ownership_reader::PostgresOwnershipReader;

/// The embedded Postgres migrations (`migrations/postgres`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// How long a request waits for a pooled connection before the database counts as unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled connection idle for longer than this is pinged before it is handed out.
///
/// sqlx's default pings on *every* acquire, and it also pings on every release: with both, one
/// query costs three round trips. The release ping already proves that a connection going back
/// into the pool is healthy, so only a connection that sat idle for a while is checked again.
/// (Measured in docs/benchmarks.md.)
///
/// "A while" is one second, not the minutes a firewall takes to drop a connection: when
/// Postgres restarts or fails over, every idle connection in the pool is dead, and each would
/// otherwise fail one request before sqlx drops it (tests/blackbox/test_faults.py saw
/// `/ready` still failing 8 s after Postgres was back, through its rarely used connections).
/// Under load a connection is reused within milliseconds and never pinged; at a trickle of
/// requests the ping costs one local round trip (about 0.1 ms).
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// Settings of the Postgres store.
#[derive(Clone)]
pub struct PostgresSettings {
    /// `postgres://` or `postgresql://` URL; it may hold a password, so it is never logged.
    pub url: String,
    /// Connections kept open when idle (`AUTHSOME_POSTGRES_POOL_MIN_SIZE`, default 1).
    pub min_connections: u32,
    /// The most connections (`AUTHSOME_POSTGRES_POOL_MAX_SIZE`, default 10).
    pub max_connections: u32,
}

impl std::fmt::Debug for PostgresSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSettings")
            .field("url", &"<redacted>")
            .field("min_connections", &self.min_connections)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

impl PostgresSettings {
    /// Settings for `url` with the reference's default pool size (1 to 10).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            min_connections: 1,
            max_connections: 10,
        }
    }
}

/// Why the Postgres store could not be opened or migrated. Messages never contain the URL.
#[derive(Debug, thiserror::Error)]
pub enum PostgresOpenError {
    /// The URL is not a valid Postgres connection URL.
    #[error("AUTHSOME_DATABASE_URL is not a valid Postgres URL")]
    Url(#[source] sqlx::Error),
    /// The database did not accept a connection.
    #[error("cannot connect to the Postgres database")]
    Connect(#[source] sqlx::Error),
    /// A migration failed; the database is left at the last migration that succeeded.
    #[error("cannot migrate the Postgres database")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// The Postgres side of [`SqlBackend`].
pub struct PostgresBackend {
    pool: PgPool,
    // For the ownership reader's own connections: same server, options and bound.
    options: PgConnectOptions,
    max_connections: u32,
}

#[async_trait]
impl SqlBackend for PostgresBackend {
    type Row = sqlx::postgres::PgRow;
    type Pooled = PoolSession<Postgres>;
    type Transaction = TransactionSession<Postgres>;

    const NAME: &'static str = "postgres";
    const LOCK_PRINCIPAL_SQL: &'static str = "SELECT principal_id FROM principals WHERE principal_id = $1 FOR UPDATE";
    // Key: the bytes of "authsome" as a big-endian integer; distinct from the reference's
    // schema-migration lock. Held until the transaction ends.
    const SERIALIZE_PRINCIPAL_CREATION_SQL: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock(7022647185916259685)");

    fn pooled(&self) -> Self::Pooled {
        PoolSession(self.pool.clone())
    }

    async fn begin_write(&self) -> Result<Self::Transaction, sqlx::Error> {
        self.pool.begin().await.map(TransactionSession)
    }

    async fn commit(transaction: Self::Transaction) -> Result<(), sqlx::Error> {
        transaction.commit().await
    }

    fn is_transient(error: &(dyn sqlx::error::DatabaseError + 'static)) -> bool {
        let Some(code) = error.code() else {
            return false;
        };
        // SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57P0x operator
        // intervention (shutdown, crash), plus serialization failure, deadlock and lock timeout.
        code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("57P0")
            || matches!(code.as_ref(), "40001" | "40P01" | "55P03")
    }

    fn is_storage_full(error: &(dyn sqlx::error::DatabaseError + 'static)) -> bool {
        error.code().is_some_and(|code| code == "53100")
    }
}

/// The registries on one Postgres database.
pub type PostgresStore = SqlStore<PostgresBackend>;

/// Connects and applies every pending migration (under sqlx's advisory lock).
pub async fn open(settings: &PostgresSettings) -> Result<Arc<PostgresStore>, PostgresOpenError> {
    let pool = connect(settings).await?;
    MIGRATOR.run(&pool).await.map_err(PostgresOpenError::Migrate)?;
    Ok(Arc::new(SqlStore::new(PostgresBackend {
        pool,
        options: connect_options(settings)?,
        max_connections: settings.max_connections.max(1),
    })))
}

/// Applies every pending migration and returns the versions this call applied. Safe to run
/// from several replicas at once: they take turns under sqlx's advisory lock, which this
/// call holds across its before/after reads so that the report is exact.
pub async fn migrate(settings: &PostgresSettings) -> Result<Vec<i64>, PostgresOpenError> {
    use sqlx::Connection as _;
    use sqlx::migrate::Migrate as _;
    let options = connect_options(settings)?;
    let mut connection = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(PostgresOpenError::Connect)?;
    // Session advisory locks nest: the migrator below takes the same lock again and releases
    // its own hold, ours is released after the second read.
    connection.lock().await.map_err(PostgresOpenError::Migrate)?;
    let before = applied_versions(&mut connection).await;
    let result = MIGRATOR
        .run_direct(None, &mut connection, false)
        .await
        .map_err(PostgresOpenError::Migrate);
    let after = applied_versions(&mut connection).await;
    let unlocked = connection.unlock().await.map_err(PostgresOpenError::Migrate);
    let _ = connection.close().await;
    result?;
    unlocked?;
    Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
}

/// The registry ports of an opened store, the ownership lookup on its own connections.
pub fn registries(store: Arc<PostgresStore>) -> Registries {
    let backend = store.backend();
    let ownership = Arc::new(PostgresOwnershipReader::new(
        backend.options.clone(),
        backend.max_connections,
    ));
    Registries {
        ownership,
        ..Registries::from_store(store)
    }
}

fn connect_options(settings: &PostgresSettings) -> Result<PgConnectOptions, PostgresOpenError> {
    Ok(PgConnectOptions::from_str(&settings.url)
        .map_err(PostgresOpenError::Url)?
        .application_name("authsome-rs"))
}

async fn connect(settings: &PostgresSettings) -> Result<PgPool, PostgresOpenError> {
    let options = connect_options(settings)?;
    let max = settings.max_connections.max(1);
    PgPoolOptions::new()
        .min_connections(settings.min_connections.min(max))
        .max_connections(max)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_WHEN_IDLE_FOR {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .map_err(PostgresOpenError::Connect)
}

/// The versions sqlx has recorded as applied (none when its table does not exist yet).
async fn applied_versions(connection: &mut sqlx::PgConnection) -> Vec<i64> {
    sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(connection)
        .await
        .unwrap_or_default()
}
