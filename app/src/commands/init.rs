//! `authsome init`: a home directory and a migrated database, with no service needed.

use std::path::Path;

use crate::commands::{CommandError, describe_applied};
use crate::settings::{DatabaseSettings, Settings};

/// Creates `{home}/server` (private to the user) and the database, and applies migrations.
pub async fn run(settings: &Settings) -> Result<String, CommandError> {
    let server_dir = settings.server_dir();
    create_private_dir(&server_dir)?;
    let applied = crate::composition::migrate(&settings.database).await?;
    let location = match &settings.database {
        DatabaseSettings::Sqlite { path } => path.display().to_string(),
        DatabaseSettings::Postgres { .. } => "AUTHSOME_DATABASE_URL".to_owned(),
    };
    Ok(format!(
        "authsome home: {}\ndatabase: {} at {location}: {}",
        settings.home.display(),
        settings.database.backend_name(),
        describe_applied(&applied)
    ))
}

/// Creates a directory (and its parents) readable only by the current user; the server
/// directory will hold the master key file and the SQLite database.
fn create_private_dir(path: &Path) -> Result<(), CommandError> {
    let failed = |source| CommandError::Filesystem {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(path).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
    }
    Ok(())
}
