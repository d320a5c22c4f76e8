//! # authsome-sql
//!
//! Every relational registry port, implemented once for any SQL backend that provides a
//! [`SqlBackend`]: a way to run a static statement with positional `$N` parameters (SQLite
//! and Postgres both accept that syntax) on the pool or inside a write transaction, and the
//! few statements where the dialects differ (write-transaction start, row locks).
//!
//! The statements are static text with bind parameters; nothing here builds SQL from input.
//! Backend errors are translated by sqlx's error *kind* (unique and foreign-key violations)
//! and by the backend's own transient-error codes, never by message text.
//!
//! This crate must not depend on a concrete driver (`sqlx` features `sqlite` or `postgres`):
//! those live in `authsome-sqlite` and `authsome-postgres`, which own connection options,
//! pools and migrations.

mod error_translation;
mod registries;
mod row_mapping;
mod session;
mod statements;

pub use registries::SqlStore;

/// The ownership read of every PoP request, for a backend that runs it through another
/// driver on its hot path (SQLite's blocking read path): the statements and the row mapping
/// the registry itself uses, so both paths answer the same.
pub mod ownership_read {
    pub use crate::error_translation::unexpected as database_error;
    pub use crate::row_mapping::{identity_ownership, identity_ownership_with_custom_provider};
    pub use crate::statements::{IDENTITY_OWNERSHIP, IDENTITY_OWNERSHIP_WITH_PROVIDER};
}
pub use session::{Param, PoolSession, SqlBackend, SqlRow, SqlSession, TransactionSession};
