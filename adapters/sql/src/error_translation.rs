//! sqlx errors to [`RegistryError`], by error kind and backend error code.

use authsome_ports::{RegistryError, StorageFull};
use sqlx::error::ErrorKind;

use crate::session::SqlBackend;

/// What a failed statement means for the operation that ran it.
pub(crate) enum Failure {
    /// A unique or primary-key constraint refused the write.
    UniqueViolation(sqlx::Error),
    /// A foreign-key constraint refused the write (a referenced row is missing).
    ForeignKeyViolation(sqlx::Error),
    /// Anything else, already translated.
    Other(RegistryError),
}

/// Classifies a sqlx error for backend `B`.
pub(crate) fn classify<B: SqlBackend>(error: sqlx::Error) -> Failure {
    let (kind, transient, full) = match error.as_database_error() {
        Some(database_error) => (
            Some(database_error.kind()),
            B::is_transient(database_error),
            B::is_storage_full(database_error),
        ),
        None => (None, false, false),
    };
    match kind {
        Some(ErrorKind::UniqueViolation) => Failure::UniqueViolation(error),
        Some(ErrorKind::ForeignKeyViolation) => Failure::ForeignKeyViolation(error),
        _ if full => Failure::Other(RegistryError::Unavailable(Box::new(StorageFull(Box::new(error))))),
        _ if transient => Failure::Other(RegistryError::Unavailable(Box::new(error))),
        _ => Failure::Other(unexpected(error)),
    }
}

/// Translates an error where no constraint violation is planned for.
pub(crate) fn translate<B: SqlBackend>(error: sqlx::Error) -> RegistryError {
    match classify::<B>(error) {
        Failure::Other(translated) => translated,
        // A violation the operation did not plan for comes from a bug or a foreign writer:
        // a backend failure, not a conflict the caller could act on.
        Failure::UniqueViolation(error) | Failure::ForeignKeyViolation(error) => {
            RegistryError::Backend(Box::new(error))
        }
    }
}

/// Translation that needs no backend knowledge: connection-level failures are `Unavailable`,
/// everything else is `Backend`.
pub fn unexpected(error: sqlx::Error) -> RegistryError {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => RegistryError::Unavailable(Box::new(error)),
        other => RegistryError::Backend(Box::new(other)),
    }
}
