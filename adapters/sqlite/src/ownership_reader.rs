//! The ownership read of every PoP request, on a blocking SQLite connection run in place.
//!
//! sqlx runs each SQLite statement on a worker thread of its own and hands the result back
//! over a channel. For this statement (a few index lookups on pages already in memory, about
//! 10 µs) the two thread wake-ups cost several times the query: profiled under load, the hop
//! and its context switches were a third of the daemon's CPU per request on the local
//! default. So this one read runs synchronously, on the calling task's thread, on a read-only
//! connection of its own. It does not wait for writers: in WAL mode a reader sees the last
//! committed state while a write is in progress. (It can wait in rare cases, such as the WAL
//! recovery after a crash, for at most the 5 s busy timeout.) Every other statement stays on
//! sqlx.
//!
//! It reads the same statements and maps rows with the same code as the sqlx registry
//! (`authsome_sql::ownership_read`), and nothing is cached between calls: every request sees
//! the committed state.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use authsome_domain::{IdentityHandle, ProviderDefinitionDocument, ProviderName};
use authsome_ports::{IdentityOwnership, IdentityOwnershipLookup, RegistryError};
use authsome_sql::SqlRow;
use authsome_sql::ownership_read;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::BUSY_TIMEOUT;

/// Read-only connections beyond this many are closed instead of kept (one per thread that
/// can run a request at once is enough).
const MAX_IDLE_CONNECTIONS: usize = 8;

/// [`IdentityOwnershipLookup`] on read-only blocking connections to the database file.
pub struct SqliteOwnershipReader {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteOwnershipReader {
    /// A reader of the (already migrated) database at `path`; connections open on first use.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> Result<Connection, rusqlite::Error> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        Ok(connection)
    }

    fn read<T>(
        &self,
        statement: &str,
        params: &[(&str, &str)],
        map: impl FnOnce(&TextRow) -> Result<T, RegistryError>,
    ) -> Result<Option<T>, RegistryError> {
        // Never held across the query: the lock only guards the list of idle connections.
        let taken = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let connection = match taken {
            Some(connection) => connection,
            None => self.open().map_err(unavailable)?,
        };
        let row = query_one(&connection, statement, params).map_err(backend);
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if row.is_ok() && idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push(connection);
        }
        drop(idle);
        row?.as_ref().map(map).transpose()
    }
}

/// The first row of `statement`, every column as text (or NULL).
fn query_one(
    connection: &Connection,
    statement: &str,
    params: &[(&str, &str)],
) -> Result<Option<TextRow>, rusqlite::Error> {
    let mut prepared = connection.prepare_cached(statement)?;
    let names: Vec<String> = prepared.column_names().into_iter().map(str::to_owned).collect();
    let bound: Vec<(&str, &dyn rusqlite::ToSql)> = params
        .iter()
        .map(|(name, value)| (*name, value as &dyn rusqlite::ToSql))
        .collect();
    let mut rows = prepared.query(bound.as_slice())?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let mut columns = Vec::with_capacity(names.len());
    for (index, name) in names.into_iter().enumerate() {
        let value = match row.get_ref(index)? {
            ValueRef::Null => None,
            ValueRef::Integer(number) => Some(number.to_string()),
            ValueRef::Real(number) => Some(number.to_string()),
            ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        };
        columns.push((name, value));
    }
    Ok(Some(TextRow { columns }))
}

/// One result row, read out of the statement so that the connection can go back at once.
pub(crate) struct TextRow {
    columns: Vec<(String, Option<String>)>,
}

impl TextRow {
    fn column(&self, name: &str) -> Result<&Option<String>, sqlx::Error> {
        self.columns
            .iter()
            .find(|(column, _)| column == name)
            .map(|(_, value)| value)
            .ok_or_else(|| sqlx::Error::ColumnNotFound(name.to_owned()))
    }
}

impl SqlRow for TextRow {
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.column(column)?.clone().ok_or_else(|| sqlx::Error::ColumnDecode {
            index: column.to_owned(),
            source: "unexpected NULL".into(),
        })
    }

    fn nullable_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.column(column).cloned()
    }

    fn boolean(&self, column: &str) -> Result<bool, sqlx::Error> {
        Ok(self.text(column)? != "0")
    }
}

fn unavailable(error: rusqlite::Error) -> RegistryError {
    RegistryError::Unavailable(Box::new(error))
}

fn backend(error: rusqlite::Error) -> RegistryError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => unavailable(error),
        _ => RegistryError::Backend(Box::new(error)),
    }
}

#[async_trait]
impl IdentityOwnershipLookup for SqliteOwnershipReader {
    async fn lookup(&self, handle: &IdentityHandle) -> Result<Option<IdentityOwnership>, RegistryError> {
        self.read(
            ownership_read::IDENTITY_OWNERSHIP,
            &[("$1", handle.as_str())],
            ownership_read::identity_ownership,
        )
    }

    async fn lookup_with_custom_provider(
        &self,
        handle: &IdentityHandle,
        provider: &ProviderName,
    ) -> Result<Option<(IdentityOwnership, Option<ProviderDefinitionDocument>)>, RegistryError> {
        self.read(
            ownership_read::IDENTITY_OWNERSHIP_WITH_PROVIDER,
            &[("$1", handle.as_str()), ("$2", provider.as_str())],
            ownership_read::identity_ownership_with_custom_provider,
        )
    }
}
