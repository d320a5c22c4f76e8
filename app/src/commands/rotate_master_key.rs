//! `authsome rotate-master-key`: re-wrap the vault's data key under a new master secret.

use std::path::PathBuf;

use authsome_domain::vault_crypto::{KdfParams, MasterSecret};

use crate::commands::CommandError;
use crate::master_secret::{self, MasterSecretSource, WhenMissing};
use crate::settings::{EnvironmentVariables, Settings};

/// Rotates the master secret and stores the new one where the current one came from (key
/// file or keyring); reports what the operator still has to do.
pub async fn run(
    settings: &Settings,
    vars: &EnvironmentVariables,
    new_key_file: Option<PathBuf>,
) -> Result<String, CommandError> {
    let new_master = new_secret(vars, new_key_file)?;
    let current = crate::composition::resolve_master_secret(settings, WhenMissing::Fail).await?;
    if current.secret.expose_text() == new_master.expose_text() {
        return Err(CommandError::Usage(
            "the new master secret is the current one".to_owned(),
        ));
    }
    let redis = crate::composition::connect_redis(settings).await?;
    let store = crate::composition::vault_store(settings, redis.as_ref())?;
    authsome_services::vault::rotate_master_secret(store.as_ref(), &current.secret, &new_master, KdfParams::REFERENCE)
        .await?;

    let follow_up = match &current.source {
        MasterSecretSource::File(path) | MasterSecretSource::GeneratedInFile(path) => {
            master_secret::replace_key_file(path, new_master.expose_text()).map_err(|source| {
                CommandError::Filesystem {
                    path: path.clone(),
                    source,
                }
            })?;
            format!("the new secret replaced the one in {}", path.display())
        }
        MasterSecretSource::Keyring | MasterSecretSource::GeneratedInKeyring => {
            master_secret::os_keyring::write(new_master.expose_text()).map_err(|reason| {
                CommandError::Usage(format!(
                    "the data key was re-wrapped, but the new secret could not be stored in the OS keyring ({reason}): \
                     set AUTHSOME_MASTER_KEY to it now"
                ))
            })?;
            "the new secret replaced the one in the OS keyring".to_owned()
        }
        MasterSecretSource::Environment => "set AUTHSOME_MASTER_KEY to the new secret on every replica \
             (keep the old one as AUTHSOME_MASTER_KEY_PREVIOUS until all have restarted)"
            .to_owned(),
    };
    Ok(format!(
        "vault ({}): data key re-wrapped under the new master secret; no value was re-encrypted\nnext: {follow_up}",
        store.backend_name()
    ))
}

fn new_secret(vars: &EnvironmentVariables, new_key_file: Option<PathBuf>) -> Result<MasterSecret, CommandError> {
    match (vars.get("AUTHSOME_NEW_MASTER_KEY"), new_key_file) {
        (Some(_), Some(_)) => Err(CommandError::Usage(
            "give the new master secret once: AUTHSOME_NEW_MASTER_KEY or --new-key-file, not both".to_owned(),
        )),
        (None, None) => Err(CommandError::Usage(
            "give the new master secret in AUTHSOME_NEW_MASTER_KEY or a file named by --new-key-file".to_owned(),
        )),
        (Some(text), None) => MasterSecret::from_text(text)
            .ok_or_else(|| CommandError::Usage("AUTHSOME_NEW_MASTER_KEY is blank".to_owned())),
        (None, Some(path)) => master_secret::read_key_file(&path)
            .map_err(|e| CommandError::Startup(e.into()))?
            .ok_or_else(|| CommandError::Usage(format!("{} is missing or blank", path.display()))),
    }
}
