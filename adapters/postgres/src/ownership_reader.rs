//! The ownership read of every PoP request, on connections of its own that skip sqlx's
//! per-release ping.
//!
//! sqlx's pool pings every connection it takes back (`return_to_pool`), unconditionally, so
//! each pooled query costs two round trips: on the hot path that is a second wake-up of a
//! Postgres backend, a second TLS record each way and a second pair of system calls per
//! request. This reader keeps a small set of plain `PgConnection`s for the one statement every
//! PoP request runs, and returns a connection to the set only when its query finished: a
//! request dropped mid-query drops (closes) its connection instead of handing a connection in
//! an unknown state to the next request, which is what sqlx's release ping guards against.
//! A connection idle for longer than 30 s (as in the main pool) is pinged before use, and a
//! query that fails on a reused connection for a connection-level reason is retried once on
//! a new one (the statement only reads). Connecting, the idle ping and the statement are each
//! bounded by 5 s, so a server that stops answering fails requests as unavailable (503)
//! instead of holding them.
//!
//! Open connections are bounded by the same maximum as the main pool
//! (`AUTHSOME_POSTGRES_POOL_MAX_SIZE`), so a replica holds at most twice that many. Nothing
//! is cached between calls: every request reads the committed state.

use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;
use authsome_domain::{IdentityHandle, ProviderDefinitionDocument, ProviderName};
use authsome_ports::{IdentityOwnership, IdentityOwnershipLookup, RegistryError};
use authsome_sql::ownership_read;
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{Connection, PgConnection};
use tokio::sync::Semaphore;

use crate::{ACQUIRE_TIMEOUT, PING_WHEN_IDLE_FOR};

/// The `application_name` of this reader's connections.
pub const APPLICATION_NAME: &str = "authsome-rs (ownership)";

struct IdleConnection {
    connection: PgConnection,
    since: Instant,
}

/// [`IdentityOwnershipLookup`] on its own small set of Postgres connections.
pub struct PostgresOwnershipReader {
    options: PgConnectOptions,
    slots: Semaphore,
    idle: Mutex<Vec<IdleConnection>>,
}

impl PostgresOwnershipReader {
    /// A reader opening at most `max_connections` connections with `options`, on first use.
    pub fn new(options: PgConnectOptions, max_connections: u32) -> Self {
        Self {
            // Told apart from the main pool in pg_stat_activity.
            options: options.application_name(APPLICATION_NAME),
            slots: Semaphore::new(max_connections.max(1) as usize),
            idle: Mutex::new(Vec::new()),
        }
    }

    fn take_idle(&self) -> Option<IdleConnection> {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop()
    }

    fn put_back(&self, connection: PgConnection) {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(IdleConnection {
                connection,
                since: Instant::now(),
            });
    }

    /// A new connection, within the pool's acquire timeout: a server that accepts the TCP
    /// connection but never answers (or packets that vanish) must not hold the request.
    async fn open(&self) -> Result<PgConnection, RegistryError> {
        match tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(&self.options)).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(error)) => Err(RegistryError::Unavailable(Box::new(error))),
            Err(elapsed) => Err(RegistryError::Unavailable(Box::new(elapsed))),
        }
    }

    /// A reused connection (`true`) or a new one (`false`).
    async fn connection(&self) -> Result<(PgConnection, bool), RegistryError> {
        while let Some(IdleConnection { mut connection, since }) = self.take_idle() {
            if since.elapsed() <= PING_WHEN_IDLE_FOR {
                return Ok((connection, true));
            }
            if let Ok(Ok(())) = tokio::time::timeout(ACQUIRE_TIMEOUT, connection.ping()).await {
                return Ok((connection, true));
            }
            // Dropped by the server or the network while idle: try the next one.
        }
        Ok((self.open().await?, false))
    }

    async fn fetch(&self, statement: &'static str, params: &[&str]) -> Result<Option<PgRow>, RegistryError> {
        let _slot = tokio::time::timeout(ACQUIRE_TIMEOUT, self.slots.acquire())
            .await
            .map_err(|elapsed| RegistryError::Unavailable(Box::new(elapsed)))?
            .map_err(|closed| RegistryError::Unavailable(Box::new(closed)))?;
        let (mut connection, reused) = self.connection().await?;
        match bounded_run(&mut connection, statement, params).await? {
            Ok(row) => {
                self.put_back(connection);
                Ok(row)
            }
            Err(error) if reused && is_connection_failure(&error) => {
                drop(connection);
                let mut connection = self.open().await?;
                let row = bounded_run(&mut connection, statement, params)
                    .await?
                    .map_err(ownership_read::database_error)?;
                self.put_back(connection);
                Ok(row)
            }
            Err(error) => Err(ownership_read::database_error(error)),
        }
    }
}

/// Far above the lookup's cost (a few index probes, well under a millisecond).
const QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// [`run`] within [`QUERY_TIMEOUT`]: a server that stops answering mid-query fails the request
/// as unavailable (not retried: a new connection would wait as long), and the connection,
/// whose state is then unknown, is dropped by the caller instead of reused.
async fn bounded_run(
    connection: &mut PgConnection,
    statement: &'static str,
    params: &[&str],
) -> Result<Result<Option<PgRow>, sqlx::Error>, RegistryError> {
    tokio::time::timeout(QUERY_TIMEOUT, run(connection, statement, params))
        .await
        .map_err(|elapsed| RegistryError::Unavailable(Box::new(elapsed)))
}

async fn run(
    connection: &mut PgConnection,
    statement: &'static str,
    params: &[&str],
) -> Result<Option<PgRow>, sqlx::Error> {
    let mut query = sqlx::query(statement);
    for param in params {
        query = query.bind(*param);
    }
    query.fetch_optional(connection).await
}

/// Failures of the connection rather than of the statement: worth one retry on a new one.
/// A connection the server terminated while it sat idle answers its next query with the
/// FATAL it queued (SQLSTATE 57P01 on `pg_terminate_backend` or a shutdown, class 08 for
/// connection exceptions), not with an I/O error.
fn is_connection_failure(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(database) => database
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

#[async_trait]
impl IdentityOwnershipLookup for PostgresOwnershipReader {
    async fn lookup(&self, handle: &IdentityHandle) -> Result<Option<IdentityOwnership>, RegistryError> {
        self.fetch(ownership_read::IDENTITY_OWNERSHIP, &[handle.as_str()])
            .await?
            .as_ref()
            .map(ownership_read::identity_ownership)
            .transpose()
    }

    async fn lookup_with_custom_provider(
        &self,
        handle: &IdentityHandle,
        provider: &ProviderName,
    ) -> Result<Option<(IdentityOwnership, Option<ProviderDefinitionDocument>)>, RegistryError> {
        self.fetch(
            ownership_read::IDENTITY_OWNERSHIP_WITH_PROVIDER,
            &[handle.as_str(), provider.as_str()],
        )
        .await?
        .as_ref()
        .map(ownership_read::identity_ownership_with_custom_provider)
        .transpose()
    }
}
