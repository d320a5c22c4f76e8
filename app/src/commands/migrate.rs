//! `authsome migrate`.

use crate::commands::{CommandError, describe_applied};
use crate::settings::Settings;

/// Applies pending migrations and reports what was applied.
pub async fn run(settings: &Settings) -> Result<String, CommandError> {
    let applied = crate::composition::migrate(&settings.database).await?;
    Ok(format!(
        "database ({}): {}",
        settings.database.backend_name(),
        describe_applied(&applied)
    ))
}
