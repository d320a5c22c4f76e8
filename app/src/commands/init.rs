//! `authsome init`: a home directory and a migrated database, with no service needed.

use std::path::Path;

use crate::commands::{CommandError, describe_applied};
use crate::settings::{DatabaseSettings, Settings};
use authsome_services::vault::DekOrigin;

/// How long a setup link printed by `init --admin-email` stays valid.
pub const SETUP_LINK_TTL_SECONDS: i64 = 24 * 60 * 60;

/// Creates `{home}/server` (private to the user) and the database, applies migrations, and
/// opens the vault (creating the master secret outside production, and the data key). With
/// `admin_email`, also makes that account an administrator and prints its setup link.
pub async fn run(settings: &Settings, admin_email: Option<&str>) -> Result<String, CommandError> {
    let admin_email = match admin_email {
        Some(text) => {
            Some(authsome_domain::Email::parse(text).map_err(|e| CommandError::Usage(format!("--admin-email: {e}")))?)
        }
        None => None,
    };
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
    let mut report = format!(
        "authsome home: {}\ndatabase: {} at {location}: {}\n{vault_line}",
        settings.home.display(),
        settings.database.backend_name(),
        describe_applied(&applied)
    );
    if let Some(email) = admin_email {
        let registries = crate::composition::open_registries(&settings.database).await?;
        let token = authsome_services::accounts::provision_admin(&registries, &email, SETUP_LINK_TTL_SECONDS)
            .await
            .map_err(|e| {
                CommandError::Failed(format!(
                    "cannot provision the admin account: {}",
                    crate::error_chain(&e)
                ))
            })?;
        match token {
            Some(token) => report.push_str(&format!(
                "\nadmin: {email}\nsetup link (valid 24 hours, use it once): {}/login?setup={token}",
                settings.server.policy.base_url
            )),
            None => report.push_str(&format!(
                "\nadmin: {email} (already has a password; it is an administrator now)"
            )),
        }
    }
    Ok(report)
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
