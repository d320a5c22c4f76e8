//! `authsome init`: a home directory and a migrated database, with no service needed.

use std::path::Path;

use crate::commands::{CommandError, describe_applied};
use crate::settings::{DatabaseSettings, Settings};
use crate::vault::DekOrigin;

/// Creates `{home}/server` (private to the user) and the database, applies migrations, and
/// opens the vault (creating the master secret outside production, and the data key).
pub async fn run(settings: &Settings) -> Result<String, CommandError> {
    // Local files only when something is stored locally: with Postgres, Redis and a master
    // secret from the environment, init writes nothing under the home directory.
    let stores_locally = matches!(settings.database, DatabaseSettings::Sqlite { .. })
        || matches!(settings.vault.backend, crate::settings::VaultBackend::Disk { .. });
    if stores_locally {
        create_private_dir(&settings.server_dir())?;
    }
    let applied = crate::composition::migrate(&settings.database).await?;
    let redis = crate::composition::connect_redis(settings).await?;
    let (vault, master_source) = crate::composition::open_vault(settings, redis.as_ref()).await?;
    let vault_line = format!(
        "vault: {} ({}); master secret: {master_source}",
        vault.backend_name(),
        match vault.origin() {
            DekOrigin::Created => "data key created",
            DekOrigin::Unwrapped => "data key unwrapped",
            DekOrigin::UnwrappedWithPrevious => "data key unwrapped with AUTHSOME_MASTER_KEY_PREVIOUS",
        }
    );
    let location = match &settings.database {
        DatabaseSettings::Sqlite { path } => path.display().to_string(),
        DatabaseSettings::Postgres { .. } => "AUTHSOME_DATABASE_URL".to_owned(),
    };
    Ok(format!(
        "authsome home: {}\ndatabase: {} at {location}: {}\n{vault_line}",
        settings.home.display(),
        settings.database.backend_name(),
        describe_applied(&applied)
    ))
}

/// Creates the server directory readable only by the current user (it holds the master key
/// file, the SQLite database and the disk vault), tightening an existing one.
fn create_private_dir(path: &Path) -> Result<(), CommandError> {
    let failed = |source| CommandError::Filesystem {
        path: path.to_path_buf(),
        source,
    };
    crate::master_secret::create_private_dirs(path).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
    }
    Ok(())
}
