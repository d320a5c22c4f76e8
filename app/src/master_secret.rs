//! Finding the vault master secret: the environment, then a key file, then the OS keyring,
//! then (outside production) a new one, kept in the keyring or the key file.
//!
//! The secret is never written to Redis or any other shared store: every replica must be
//! given it (environment or a mounted secret file), which is what production requires.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use authsome_domain::vault_crypto::MasterSecret;
use base64::Engine as _;
use secrecy::ExposeSecret;
use thiserror::Error;

use crate::settings::{DeploymentEnv, MasterKeySettings};

/// The OS keyring entry of the master secret (the reference's names).
pub const KEYRING_SERVICE: &str = "authsome";
/// The keyring user name of the master secret.
pub const KEYRING_USER: &str = "master_key";

/// Where the master secret came from (for the startup log; never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterSecretSource {
    /// `AUTHSOME_MASTER_KEY`.
    Environment,
    /// A key file.
    File(PathBuf),
    /// The OS keyring.
    Keyring,
    /// Generated now and stored in the OS keyring.
    GeneratedInKeyring,
    /// Generated now and stored in this file (mode 0600).
    GeneratedInFile(PathBuf),
}

impl std::fmt::Display for MasterSecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Environment => f.write_str("AUTHSOME_MASTER_KEY"),
            Self::File(path) => write!(f, "key file {}", path.display()),
            Self::Keyring => write!(f, "OS keyring ({KEYRING_SERVICE}/{KEYRING_USER})"),
            Self::GeneratedInKeyring => write!(
                f,
                "new secret stored in the OS keyring ({KEYRING_SERVICE}/{KEYRING_USER})"
            ),
            Self::GeneratedInFile(path) => write!(f, "new secret stored in {}", path.display()),
        }
    }
}

/// The master secret, where it came from, and the previous one during a rotation.
#[derive(Debug)]
pub struct ResolvedMasterSecret {
    /// The secret.
    pub secret: MasterSecret,
    /// Its source.
    pub source: MasterSecretSource,
    /// `AUTHSOME_MASTER_KEY_PREVIOUS`, when set.
    pub previous: Option<MasterSecret>,
}

/// Why no master secret could be had. Messages name the settings, never a secret.
#[derive(Debug, Error)]
pub enum MasterSecretError {
    /// Production and no source holds a secret.
    #[error(
        "no vault master secret: set AUTHSOME_MASTER_KEY, or AUTHSOME_MASTER_KEY_FILE to a file that holds it \
         (looked for {file}; OS keyring: {keyring}). None is generated when AUTHSOME_ENV=prod (every \
         replica must use the same secret) or when a command needs the existing one"
    )]
    Missing {
        /// The key file that was looked for.
        file: PathBuf,
        /// What the keyring said.
        keyring: String,
    },
    /// The key file exists but cannot be read.
    #[error("cannot read the master key file {path}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A new secret could not be stored anywhere.
    #[error("cannot store a new master secret in {path} (and the OS keyring is {keyring})")]
    CannotStore {
        /// The key file.
        path: PathBuf,
        /// What the keyring said.
        keyring: String,
        /// Why the file failed.
        #[source]
        source: io::Error,
    },
}

/// What to do when no source holds a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenMissing {
    /// Generate one and store it (outside production only).
    Generate,
    /// Fail (for commands that need the existing secret, such as rotation).
    Fail,
}

/// Resolves the master secret. Blocking (file and keyring I/O): call it at startup or in
/// `spawn_blocking`.
pub fn resolve(
    settings: &MasterKeySettings,
    env: DeploymentEnv,
    when_missing: WhenMissing,
) -> Result<ResolvedMasterSecret, MasterSecretError> {
    let previous = settings
        .previous
        .as_ref()
        .and_then(|p| MasterSecret::from_text(p.expose_secret()));
    let found = |secret, source| {
        Ok(ResolvedMasterSecret {
            secret,
            source,
            previous: previous_copy(&previous),
        })
    };

    if let Some(secret) = settings
        .from_environment
        .as_ref()
        .and_then(|s| MasterSecret::from_text(s.expose_secret()))
    {
        return found(secret, MasterSecretSource::Environment);
    }
    if let Some(secret) = read_key_file(&settings.file)? {
        return found(secret, MasterSecretSource::File(settings.file.clone()));
    }
    let keyring_status = if settings.keyring {
        match os_keyring::read() {
            Ok(Some(text)) => {
                if let Some(secret) = MasterSecret::from_text(&text) {
                    return found(secret, MasterSecretSource::Keyring);
                }
                "holds a blank entry".to_owned()
            }
            Ok(None) => "has no entry".to_owned(),
            Err(reason) => format!("not available ({reason})"),
        }
    } else {
        "disabled by AUTHSOME_KEYRING=off".to_owned()
    };
    if env == DeploymentEnv::Prod || when_missing == WhenMissing::Fail {
        return Err(MasterSecretError::Missing {
            file: settings.file.clone(),
            keyring: keyring_status,
        });
    }

    let generated = generate_text();
    if settings.keyring && os_keyring::write(&generated).is_ok() {
        tracing::warn!("generated a new vault master secret and stored it in the OS keyring");
        let secret = MasterSecret::from_text(&generated).ok_or_else(|| blank_generated(&settings.file))?;
        return found(secret, MasterSecretSource::GeneratedInKeyring);
    }
    match write_new_key_file(&settings.file, &generated) {
        Ok(()) => {
            tracing::warn!(file = %settings.file.display(), "generated a new vault master secret; back this file up");
            let secret = MasterSecret::from_text(&generated).ok_or_else(|| blank_generated(&settings.file))?;
            found(secret, MasterSecretSource::GeneratedInFile(settings.file.clone()))
        }
        // Another process created the file first: use its secret, so both agree.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => match read_key_file(&settings.file)? {
            Some(secret) => found(secret, MasterSecretSource::File(settings.file.clone())),
            None => Err(MasterSecretError::CannotStore {
                path: settings.file.clone(),
                keyring: keyring_status,
                source: error,
            }),
        },
        Err(source) => Err(MasterSecretError::CannotStore {
            path: settings.file.clone(),
            keyring: keyring_status,
            source,
        }),
    }
}

fn previous_copy(previous: &Option<MasterSecret>) -> Option<MasterSecret> {
    previous.as_ref().and_then(|p| MasterSecret::from_text(p.expose_text()))
}

fn blank_generated(path: &Path) -> MasterSecretError {
    MasterSecretError::CannotStore {
        path: path.to_path_buf(),
        keyring: "unused".to_owned(),
        source: io::Error::other("generated secret is blank"),
    }
}

/// Base64 of 32 random bytes, the reference's format for generated secrets.
pub fn generate_text() -> String {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    if getrandom::fill(bytes.as_mut()).is_err() {
        // The OS random source never fails on supported platforms; fall back to UUIDs, which
        // draw from it through another path, rather than to a constant.
        let extra = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
        bytes[..16].copy_from_slice(extra[0].as_bytes());
        bytes[16..].copy_from_slice(extra[1].as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes.as_ref())
}

/// The secret in `path`; `None` when the file does not exist or is blank.
pub fn read_key_file(path: &Path) -> Result<Option<MasterSecret>, MasterSecretError> {
    match fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            Ok(MasterSecret::from_text(&zeroize::Zeroizing::new(text)))
        }
        // No such file, including a path through something that is not a directory.
        Err(error) if matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => Ok(None),
        Err(source) => Err(MasterSecretError::Unreadable {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = fs::metadata(path)
            && metadata.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(file = %path.display(), "the master key file is readable by other users; chmod 600 it");
        }
    }
}

/// Creates `path` (mode 0600, parents 0700) holding `text`; fails if it already exists.
pub fn write_new_key_file(path: &Path, text: &str) -> io::Result<()> {
    write_key_file(path, text, true)
}

/// Replaces the secret in `path` atomically (temporary file, fsync, rename), mode 0600.
pub fn replace_key_file(path: &Path, text: &str) -> io::Result<()> {
    write_key_file(path, text, false)
}

fn write_key_file(path: &Path, text: &str, create_new: bool) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_private_dirs(dir)?;
    let temp = dir.join(format!(".master-key-{}", authsome_domain::random_token::hex(16)));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    let placed = written.and_then(|()| {
        if create_new {
            fs::hard_link(&temp, path)
        } else {
            fs::rename(&temp, path)
        }
    });
    let _ = fs::remove_file(&temp);
    placed?;
    fs::File::open(dir)?.sync_all()
}

/// Creates `dir` and any missing parents readable only by the current user.
pub fn create_private_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
pub mod os_keyring {
    use super::{KEYRING_SERVICE, KEYRING_USER};

    /// The stored secret; `Ok(None)` when the keyring has no entry; `Err` (with the reason)
    /// when there is no usable keyring, as in most containers.
    pub fn read() -> Result<Option<String>, String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, KEYRING_USER).map_err(|e| e.to_string())?;
        match entry.get_password() {
            Ok(text) => Ok(Some(text)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(error) => Err(error.to_string()),
        }
    }

    /// Stores the secret.
    pub fn write(text: &str) -> Result<(), String> {
        let entry = keyring::Entry::new(KEYRING_SERVICE, KEYRING_USER).map_err(|e| e.to_string())?;
        entry.set_password(text).map_err(|e| e.to_string())
    }
}
