//! The seam between the shared registry code and a concrete sqlx driver.
//!
//! The generic sessions here are the only code that names sqlx's per-database trait bounds;
//! everything else talks to [`SqlSession`]. Statements report what they changed through
//! `RETURNING` rows (both SQLite and Postgres support it), which keeps the seam free of
//! driver-specific result types.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Transaction, Type};

/// A bind parameter. The registries only ever store text, nullable text, booleans and integers.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    /// A `TEXT` value.
    Text(&'a str),
    /// A nullable `TEXT` value.
    NullableText(Option<&'a str>),
    /// A boolean (`BOOLEAN` on Postgres, `INTEGER` 0/1 on SQLite).
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
}

/// Read access to one result row, by column name.
pub trait SqlRow: Send + Sync + 'static {
    /// A non-null text column.
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    /// A nullable text column.
    fn nullable_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    /// A boolean column (SQLite stores it as an integer).
    fn boolean(&self, column: &str) -> Result<bool, sqlx::Error>;
}

impl<R> SqlRow for R
where
    R: sqlx::Row + 'static,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }

    fn nullable_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }

    fn boolean(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.try_get(column)
    }
}

/// Somewhere statements run: the pool (each statement on its own) or an open transaction.
#[async_trait]
pub trait SqlSession: Send {
    /// The driver's row type.
    type Row: SqlRow;

    /// Runs a statement whose result rows do not matter.
    async fn execute(&mut self, sql: &'static str, params: &[Param<'_>]) -> Result<(), sqlx::Error>;

    /// Runs a query and returns its first row, if any.
    async fn fetch_optional(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> Result<Option<Self::Row>, sqlx::Error>;

    /// Runs a query and returns every row.
    async fn fetch_all(&mut self, sql: &'static str, params: &[Param<'_>]) -> Result<Vec<Self::Row>, sqlx::Error>;
}

/// What a concrete backend provides to [`SqlStore`](crate::SqlStore).
#[async_trait]
pub trait SqlBackend: Send + Sync + 'static {
    /// The driver's row type.
    type Row: SqlRow;
    /// Statements on the pool, each in its own implicit transaction.
    type Pooled: SqlSession<Row = Self::Row>;
    /// An open write transaction; dropped without [`commit`](Self::commit) it rolls back.
    type Transaction: SqlSession<Row = Self::Row>;

    /// The name `/health` reports (`sqlite` or `postgres`).
    const NAME: &'static str;

    /// Locks one principal row (`$1` = principal id) until the transaction ends, returning the
    /// row when it exists. Postgres needs `FOR UPDATE`; SQLite's write transaction already
    /// excludes every other writer.
    const LOCK_PRINCIPAL_SQL: &'static str;

    /// Serialises "is this the first principal?" decisions across concurrent transactions, or
    /// `None` when a write transaction already does (SQLite).
    const SERIALIZE_PRINCIPAL_CREATION_SQL: Option<&'static str>;

    /// A session on the pool.
    fn pooled(&self) -> Self::Pooled;

    /// Starts a transaction that may write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so that a read followed by a write cannot be overtaken.
    async fn begin_write(&self) -> Result<Self::Transaction, sqlx::Error>;

    /// Commits a transaction.
    async fn commit(transaction: Self::Transaction) -> Result<(), sqlx::Error>;

    /// Whether a database error is transient (busy, locked, serialization failure, shutting
    /// down): the caller may retry, and the HTTP layer answers 503 rather than 500.
    fn is_transient(error: &(dyn sqlx::error::DatabaseError + 'static)) -> bool;

    /// Whether a database error says the disk is full (SQLite's `SQLITE_FULL`, Postgres's
    /// `53100 disk_full`).
    fn is_storage_full(error: &(dyn sqlx::error::DatabaseError + 'static)) -> bool;
}

/// Statements on a sqlx pool.
pub struct PoolSession<DB: Database>(pub Pool<DB>);

/// An open sqlx transaction.
pub struct TransactionSession<DB: Database>(pub Transaction<'static, DB>);

impl<DB: Database> TransactionSession<DB> {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.0.commit().await
    }
}

/// A sqlx query with the parameters bound in order.
fn bound<'q, DB>(sql: &'static str, params: &[Param<'q>]) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
{
    let mut query = sqlx::query::<DB>(sql);
    for param in params {
        query = match *param {
            Param::Text(text) => query.bind(text),
            Param::NullableText(text) => query.bind(text),
            Param::Bool(flag) => query.bind(flag),
            Param::Int(number) => query.bind(number),
        };
    }
    query
}

macro_rules! session_impl {
    ($session:ident, $executor:ident => $get_executor:expr) => {
        #[async_trait]
        impl<DB> SqlSession for $session<DB>
        where
            DB: Database,
            for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
            DB::Arguments: IntoArguments<DB>,
            DB::Row: SqlRow,
            for<'q> &'q str: Encode<'q, DB> + Type<DB>,
            for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
            for<'q> bool: Encode<'q, DB> + Type<DB>,
            for<'q> i64: Encode<'q, DB> + Type<DB>,
        {
            type Row = DB::Row;

            async fn execute(&mut self, sql: &'static str, params: &[Param<'_>]) -> Result<(), sqlx::Error> {
                let $executor = self;
                bound::<DB>(sql, params).execute($get_executor).await.map(|_| ())
            }

            async fn fetch_optional(
                &mut self,
                sql: &'static str,
                params: &[Param<'_>],
            ) -> Result<Option<DB::Row>, sqlx::Error> {
                let $executor = self;
                bound::<DB>(sql, params).fetch_optional($get_executor).await
            }

            async fn fetch_all(
                &mut self,
                sql: &'static str,
                params: &[Param<'_>],
            ) -> Result<Vec<DB::Row>, sqlx::Error> {
                let $executor = self;
                bound::<DB>(sql, params).fetch_all($get_executor).await
            }
        }
    };
}

session_impl!(PoolSession, session => &session.0);
session_impl!(TransactionSession, session => &mut *session.0);
