//! `authsome import-home PATH`: takes over the local home of an authsome 0.7.2 install (its
//! SQLite registry and its diskcache vault) into this server's local default.
//!
//! The 0.7.2 home is only read. The registry's rows are copied into ours (or, when both are
//! the same file, adopted in place as `serve` would); every vault value is decrypted with the
//! 0.7.2 data key, which the 0.7.2 master secret unwraps (`AUTHSOME_MASTER_KEY`, the OS
//! keyring, or `PATH/server/master.key`, as 0.7.2 looks for it), and sealed again with ours.
//! Running it again changes nothing; what the target already holds is never overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use authsome_domain::vault_crypto::{DEK_KEY, EnvelopeVersion, KdfParams, META_COLLECTION, MasterSecret};
use authsome_ports::VaultBlobStore;
use authsome_services::home_import::{self, CollectionImport};
use authsome_services::vault::{Vault, VaultError};
use authsome_sqlite::reference_home::{self, ReferenceVaultEntry, TableCopy};
use secrecy::ExposeSecret;

use crate::commands::CommandError;
use crate::master_secret::{self, MasterSecretSource};
use crate::settings::{DatabaseSettings, Settings};

/// Imports the 0.7.2 home at `source_home`; prints a line per registry table and vault
/// collection as it goes and returns the summary.
pub async fn run(settings: &Settings, source_home: &Path) -> Result<String, CommandError> {
    let source = SourceHome::at(source_home)?;
    let DatabaseSettings::Sqlite { path: target_db } = &settings.database else {
        return Err(CommandError::Usage(
            "import-home brings a 0.7.2 home into the local default (SQLite under AUTHSOME_HOME): unset \
             AUTHSOME_DATABASE_URL. To move it to Postgres + Redis, see docs/guides/self-hosting.md"
                .to_owned(),
        ));
    };
    source.refuse_if_served()?;
    progress(&format!("importing the authsome 0.7.2 home {}", source.home.display()));

    let scratch = ScratchDir::create(&settings.server_dir())?;
    let registry = import_registry(settings, &source, target_db, scratch.path()).await?;
    let vault = import_vault(settings, &source, scratch.path()).await?;
    drop(scratch);

    let failed: usize = vault.iter().map(|collection| collection.failed.len()).sum();
    let summary = summarise(&source, &registry, &vault);
    if failed > 0 {
        return Err(CommandError::Failed(format!(
            "{summary}\n{failed} value(s) could not be decrypted and were not imported (listed above); \
             everything else was imported, and running the command again keeps it"
        )));
    }
    Ok(summary)
}

/// The registry step's outcome.
enum RegistryImport {
    /// Source and target are the same database file.
    InPlace(PathBuf),
    /// Rows were copied table by table.
    Copied(Vec<TableCopy>),
}

/// The paths of a 0.7.2 home.
struct SourceHome {
    home: PathBuf,
    registry: PathBuf,
    kv_store: PathBuf,
    master_key_file: PathBuf,
}

impl SourceHome {
    fn at(home: &Path) -> Result<Self, CommandError> {
        let server = home.join("server");
        let source = Self {
            home: home.to_path_buf(),
            registry: server.join("authsome.db"),
            kv_store: server.join("kv_store"),
            master_key_file: server.join("master.key"),
        };
        if !source.registry.is_file() {
            return Err(CommandError::Usage(format!(
                "{} is not an authsome 0.7.2 home: it has no server/authsome.db (give the directory 0.7.2 used as \
                 AUTHSOME_HOME, by default ~/.authsome)",
                home.display()
            )));
        }
        Ok(source)
    }

    /// A 0.7.2 daemon still serving the home could write after the snapshot: refuse.
    fn refuse_if_served(&self) -> Result<(), CommandError> {
        let pid_file = self.home.join("server").join("daemon").join("daemon.pid");
        let Ok(text) = std::fs::read_to_string(&pid_file) else {
            return Ok(());
        };
        let Ok(pid) = text.trim().parse::<u32>() else {
            return Ok(());
        };
        if Path::new("/proc").join(pid.to_string()).exists() {
            return Err(CommandError::Usage(format!(
                "an authsome 0.7.2 daemon (pid {pid}, {}) is serving this home: stop it first (`authsome daemon stop` \
                 with the 0.7.2 CLI), then import",
                pid_file.display()
            )));
        }
        Ok(())
    }
}

/// A private directory for the copies of the 0.7.2 databases, removed when dropped (the
/// copies hold password hashes and encrypted values).
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create(server_dir: &Path) -> Result<Self, CommandError> {
        let path = server_dir.join(format!(".import-home-{}", authsome_domain::random_token::hex(8)));
        master_secret::create_private_dirs(&path).map_err(|source| CommandError::Filesystem {
            path: path.clone(),
            source,
        })?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(dir = %self.0.display(), %error, "could not remove the import's scratch copies; delete them");
        }
    }
}

fn progress(line: &str) {
    // Progress is for the operator watching; a closed stdout must not stop the import.
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

async fn import_registry(
    settings: &Settings,
    source: &SourceHome,
    target_db: &Path,
    scratch: &Path,
) -> Result<RegistryImport, CommandError> {
    crate::composition::migrate(&settings.database).await?;
    if same_file(&source.registry, target_db) {
        progress(&format!(
            "registry: {} is this server's database: adopted in place",
            target_db.display()
        ));
        return Ok(RegistryImport::InPlace(target_db.to_path_buf()));
    }
    let (from, to, scratch) = (source.registry.clone(), target_db.to_path_buf(), scratch.to_path_buf());
    let copies = tokio::task::spawn_blocking(move || {
        let snapshot = reference_home::snapshot_database(&from, &scratch)?;
        reference_home::copy_registry(&snapshot, &to)
    })
    .await
    .map_err(|e| CommandError::Failed(format!("the registry copy stopped: {e}")))?
    .map_err(|e| CommandError::Failed(crate::error_chain(&e)))?;
    for copy in &copies {
        progress(&format!(
            "registry {}: {} row(s): {} copied, {} already here{}",
            copy.table,
            copy.in_source,
            copy.copied,
            copy.identical,
            if copy.kept_from_target > 0 {
                format!(", {} kept as this server has them (they differ)", copy.kept_from_target)
            } else {
                String::new()
            }
        ));
    }
    Ok(RegistryImport::Copied(copies))
}

async fn import_vault(
    settings: &Settings,
    source: &SourceHome,
    scratch: &Path,
) -> Result<Vec<CollectionImport>, CommandError> {
    if !source.kv_store.join("cache.db").is_file() {
        progress(&format!(
            "vault: {} has no disk vault (server/kv_store/cache.db): nothing to import (a 0.7.2 vault on Redis is \
             read where it is: point AUTHSOME_REDIS_URL at it)",
            source.home.display()
        ));
        return Ok(Vec::new());
    }
    let (kv_store, scratch) = (source.kv_store.clone(), scratch.to_path_buf());
    let entries = tokio::task::spawn_blocking(move || {
        let snapshot = reference_home::snapshot_database(&kv_store.join("cache.db"), &scratch)?;
        reference_home::read_disk_vault(&kv_store, &snapshot)
    })
    .await
    .map_err(|e| CommandError::Failed(format!("reading the 0.7.2 vault stopped: {e}")))?
    .map_err(|e| CommandError::Failed(crate::error_chain(&e)))?;
    let names: Vec<(String, String)> = entries
        .iter()
        .map(|entry| (entry.collection.clone(), entry.key.clone()))
        .collect();
    let source_vault = open_source_vault(settings, source, entries).await?;
    let redis = crate::composition::connect_redis(settings).await?;
    let (target_vault, _) = crate::composition::open_vault(settings, redis.as_ref()).await?;
    let target_name = match &settings.vault.backend {
        crate::settings::VaultBackend::Disk { dir } => format!("disk vault {}", dir.display()),
        other => format!("{} vault", other.name()),
    };
    let reports = home_import::import_vault(&source_vault, &target_vault, &names, |report| {
        progress(&describe_collection(report, &target_name));
        for (key, reason) in &report.failed {
            progress(&format!("  not imported: {key}: {reason}"));
        }
        for key in &report.kept_existing {
            progress(&format!("  kept this server's value (it differs from 0.7.2's): {key}"));
        }
    })
    .await?;
    Ok(reports)
}

fn describe_collection(report: &CollectionImport, target: &str) -> String {
    format!(
        "vault {} -> {target}: {} imported, {} unchanged, {} kept, {} failed",
        report.collection,
        report.imported,
        report.unchanged,
        report.kept_existing.len(),
        report.failed.len()
    )
}

/// The 0.7.2 vault in memory, its data key unwrapped by the first of 0.7.2's master secret
/// sources that holds the right secret.
async fn open_source_vault(
    settings: &Settings,
    source: &SourceHome,
    entries: Vec<ReferenceVaultEntry>,
) -> Result<Vault, CommandError> {
    let store: Arc<dyn VaultBlobStore> = Arc::new(authsome_memory::MemoryBlobStore::new());
    let mut has_data_key = false;
    for entry in entries {
        has_data_key |= entry.collection == META_COLLECTION && entry.key == DEK_KEY;
        store
            .put(&entry.collection, &entry.key, &entry.document.value)
            .await
            .map_err(|e| CommandError::Failed(format!("the 0.7.2 vault entry {:?}: {e}", entry.key)))?;
    }
    if !has_data_key {
        return Err(CommandError::Failed(format!(
            "the 0.7.2 vault in {} has no data key record (__vault_meta__/__dek__): it holds nothing that can be \
             decrypted",
            source.kv_store.display()
        )));
    }
    let candidates = source_master_secrets(settings, source).await?;
    if candidates.is_empty() {
        return Err(CommandError::Failed(format!(
            "no 0.7.2 master secret found: set AUTHSOME_MASTER_KEY to the one 0.7.2 used, or put its key file at {}",
            source.master_key_file.display()
        )));
    }
    let mut tried = Vec::new();
    for (secret, origin) in candidates {
        match Vault::open(store.clone(), &secret, None, EnvelopeVersion::V2, KdfParams::REFERENCE).await {
            Ok(vault) => {
                progress(&format!(
                    "vault: the 0.7.2 data key unwrapped with the secret from {origin}"
                ));
                return Ok(vault);
            }
            Err(VaultError::Crypto(authsome_domain::vault_crypto::VaultCryptoError::MasterSecretMismatch)) => {
                tried.push(origin.to_string());
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(CommandError::Failed(format!(
        "none of the master secrets found ({}) unwraps the 0.7.2 vault's data key: set AUTHSOME_MASTER_KEY to the \
         one 0.7.2 used",
        tried.join(", ")
    )))
}

/// 0.7.2's sources, in its order: the environment, the OS keyring, the home's key file.
async fn source_master_secrets(
    settings: &Settings,
    source: &SourceHome,
) -> Result<Vec<(MasterSecret, MasterSecretSource)>, CommandError> {
    let mut candidates = Vec::new();
    if let Some(secret) = settings
        .master_key
        .from_environment
        .as_ref()
        .and_then(|text| MasterSecret::from_text(text.expose_secret()))
    {
        candidates.push((secret, MasterSecretSource::Environment));
    }
    let (use_keyring, file) = (settings.master_key.keyring, source.master_key_file.clone());
    let (keyring, from_file) = tokio::task::spawn_blocking(move || {
        let keyring = if use_keyring {
            master_secret::os_keyring::read()
                .ok()
                .flatten()
                .and_then(|text| MasterSecret::from_text(&text))
        } else {
            None
        };
        (keyring, master_secret::read_key_file(&file))
    })
    .await
    .map_err(|e| CommandError::Failed(format!("reading the master secret stopped: {e}")))?;
    if let Some(secret) = keyring {
        candidates.push((secret, MasterSecretSource::Keyring));
    }
    if let Some(secret) = from_file.map_err(crate::composition::StartupError::from)? {
        candidates.push((secret, MasterSecretSource::File(source.master_key_file.clone())));
    }
    Ok(candidates)
}

fn summarise(source: &SourceHome, registry: &RegistryImport, vault: &[CollectionImport]) -> String {
    let registry = match registry {
        RegistryImport::InPlace(path) => format!("registry adopted in place ({})", path.display()),
        RegistryImport::Copied(copies) => {
            let copied: u64 = copies.iter().map(|copy| copy.copied).sum();
            let identical: u64 = copies.iter().map(|copy| copy.identical).sum();
            let kept: u64 = copies.iter().map(|copy| copy.kept_from_target).sum();
            format!("registry: {copied} row(s) copied, {identical} already here, {kept} kept as they were")
        }
    };
    let count = |pick: fn(&CollectionImport) -> u64| vault.iter().map(pick).sum::<u64>();
    format!(
        "imported {}: {registry}; vault: {} collection(s), {} value(s) imported, {} unchanged, {} kept, {} failed\n\
         next: `authsome serve`; agents keep their keys and point their CLI at this server",
        source.home.display(),
        vault.len(),
        count(|c| c.imported),
        count(|c| c.unchanged),
        count(|c| c.kept_existing.len() as u64),
        count(|c| c.failed.len() as u64),
    )
}
