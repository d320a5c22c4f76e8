//! Resolving the vault master secret from its sources, in order, without a keyring.

use std::path::PathBuf;

use authsome_app::master_secret::{MasterSecretError, MasterSecretSource, WhenMissing, resolve};
use authsome_app::settings::{DeploymentEnv, MasterKeySettings};
use secrecy::SecretString;

fn settings(env_value: Option<&str>, file: PathBuf) -> MasterKeySettings {
    MasterKeySettings {
        from_environment: env_value.map(|v| SecretString::from(v.to_owned())),
        file,
        previous: None,
        keyring: false,
    }
}

#[test]
fn the_environment_wins_over_the_key_file() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("master.key");
    std::fs::write(&file, "from-file\n").expect("write");
    let resolved = resolve(
        &settings(Some("from-env"), file.clone()),
        DeploymentEnv::Prod,
        WhenMissing::Fail,
    )
    .expect("env");
    assert_eq!(
        (resolved.secret.expose_text(), resolved.source),
        ("from-env", MasterSecretSource::Environment)
    );
    let resolved = resolve(&settings(None, file.clone()), DeploymentEnv::Prod, WhenMissing::Fail).expect("file");
    assert_eq!(resolved.secret.expose_text(), "from-file", "trimmed");
    assert_eq!(resolved.source, MasterSecretSource::File(file));
}

#[test]
fn outside_production_a_new_secret_is_generated_once_into_the_configured_file() {
    let dir = tempfile::tempdir().expect("dir");
    // A configured path in a directory that does not exist yet (the reference wrote the
    // generated secret to its default path instead of the configured one).
    let file = dir.path().join("secrets/custom.key");
    let first = resolve(&settings(None, file.clone()), DeploymentEnv::Dev, WhenMissing::Generate).expect("generate");
    assert_eq!(first.source, MasterSecretSource::GeneratedInFile(file.clone()));
    assert_eq!(first.secret.expose_text().len(), 44, "base64 of 32 random bytes");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).expect("file").permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(file.parent().expect("dir"))
                .expect("dir")
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }
    let second = resolve(&settings(None, file.clone()), DeploymentEnv::Dev, WhenMissing::Generate).expect("again");
    assert_eq!(
        second.secret.expose_text(),
        first.secret.expose_text(),
        "the same secret next time"
    );
    assert_eq!(second.source, MasterSecretSource::File(file));
}

#[test]
fn production_never_generates_and_names_the_variables() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("master.key");
    let err = resolve(
        &settings(None, file.clone()),
        DeploymentEnv::Prod,
        WhenMissing::Generate,
    )
    .expect_err("prod");
    assert!(matches!(err, MasterSecretError::Missing { .. }));
    let message = err.to_string();
    for needle in [
        "AUTHSOME_MASTER_KEY",
        "AUTHSOME_MASTER_KEY_FILE",
        "AUTHSOME_KEYRING=off",
        file.to_str().expect("utf8"),
    ] {
        assert!(message.contains(needle), "{needle} missing from: {message}");
    }
    assert!(!file.exists(), "nothing written");
    // A blank key file counts as missing too.
    std::fs::write(&file, "  \n").expect("blank");
    assert!(resolve(&settings(None, file), DeploymentEnv::Prod, WhenMissing::Generate).is_err());
}

#[test]
fn without_a_session_bus_the_keyring_is_reported_unavailable_not_hung() {
    let dir = tempfile::tempdir().expect("dir");
    let mut with_keyring = settings(None, dir.path().join("master.key"));
    with_keyring.keyring = true;
    // Test processes have no session bus here, as in a container: the keyring must say so
    // at once and resolution must go on to the next source.
    let started = std::time::Instant::now();
    let err = std::thread::spawn(move || {
        resolve(&with_keyring, DeploymentEnv::Prod, WhenMissing::Generate).expect_err("no keyring, no secret")
    })
    .join()
    .expect("thread");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered quickly"
    );
    let message = err.to_string();
    assert!(
        message.contains("OS keyring: not available") || message.contains("OS keyring: has no entry"),
        "{message}"
    );
}
