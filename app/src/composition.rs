//! The composition root: the only code that picks concrete adapters, from
//! [`Settings`](crate::settings::Settings).

use authsome_ports::Registries;
use authsome_postgres::PostgresSettings;
use authsome_sqlite::SqliteSettings;
use thiserror::Error;

use crate::settings::{DatabaseSettings, expose_database_url};

/// Why the backends could not be brought up. Messages never contain secrets.
#[derive(Debug, Error)]
pub enum StartupError {
    /// The SQLite database could not be opened or migrated.
    #[error(transparent)]
    Sqlite(#[from] authsome_sqlite::SqliteOpenError),
    /// The Postgres database could not be reached or migrated.
    #[error(transparent)]
    Postgres(#[from] authsome_postgres::PostgresOpenError),
}

fn postgres_settings(url: &secrecy::SecretString, min_connections: u32, max_connections: u32) -> PostgresSettings {
    PostgresSettings {
        url: expose_database_url(url).to_owned(),
        min_connections,
        max_connections,
    }
}

/// Opens the configured database, applies pending migrations, and returns every registry port.
pub async fn open_registries(database: &DatabaseSettings) -> Result<Registries, StartupError> {
    match database {
        DatabaseSettings::Sqlite { path } => {
            let store = authsome_sqlite::open(&SqliteSettings::new(path)).await?;
            Ok(authsome_sqlite::registries(store))
        }
        DatabaseSettings::Postgres {
            url,
            min_connections,
            max_connections,
        } => {
            let store = authsome_postgres::open(&postgres_settings(url, *min_connections, *max_connections)).await?;
            Ok(authsome_postgres::registries(store))
        }
    }
}

/// Applies pending migrations to the configured database; returns the versions applied now.
pub async fn migrate(database: &DatabaseSettings) -> Result<Vec<i64>, StartupError> {
    match database {
        DatabaseSettings::Sqlite { path } => Ok(authsome_sqlite::migrate(&SqliteSettings::new(path)).await?),
        DatabaseSettings::Postgres { url, .. } => {
            // Migration needs one connection, whatever the serving pool size.
            Ok(authsome_postgres::migrate(&postgres_settings(url, 1, 1)).await?)
        }
    }
}
