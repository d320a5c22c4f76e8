//! The OS keyring path of the master secret, against a real Secret Service: this test runs
//! itself again inside `dbus-run-session` with an unlocked `gnome-keyring-daemon` (Debian
//! packages `dbus` and `gnome-keyring`), and fails, never skips, when they are missing.

use std::process::Command;

use authsome_app::master_secret::{MasterSecretSource, WhenMissing, os_keyring, resolve};
use authsome_app::settings::{DeploymentEnv, MasterKeySettings};

const CHILD_MARKER: &str = "AUTHSOME_KEYRING_TEST_CHILD";

#[test]
fn the_master_secret_round_trips_through_a_real_secret_service() {
    for tool in ["dbus-run-session", "dbus-send", "gnome-keyring-daemon"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .expect("sh");
        assert!(
            found.status.success(),
            "{tool} is missing: install Debian's dbus and gnome-keyring (.ci/run does)"
        );
    }
    let test_binary = std::env::current_exe().expect("test binary");
    // A keyring of its own: gnome-keyring keeps its files under the data home, which must be
    // neither the developer's real one nor the one a previous run left behind.
    let home = tempfile::tempdir().expect("keyring home");
    let output = Command::new("dbus-run-session")
        .arg("--")
        .arg("sh")
        .arg("-c")
        // --unlock returns before the daemon owns its bus name; a client that calls too early
        // makes D-Bus start a second daemon racing on the same keyring file. Wait for it.
        .arg(
            r#"printf 'test-password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1
for _ in $(seq 100); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true' && break
  sleep 0.05
done
exec "$0" --exact os_keyring::keyring_in_session --include-ignored --nocapture --test-threads=1"#,
        )
        .arg(&test_binary)
        .env(CHILD_MARKER, "1")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .output()
        .expect("run dbus-run-session");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    assert!(report.contains("1 passed"), "the inner test ran: {report}");
}

#[test]
#[ignore = "runs only inside the Secret Service session started by the_master_secret_round_trips_through_a_real_secret_service"]
fn keyring_in_session() {
    assert_eq!(
        std::env::var(CHILD_MARKER).as_deref(),
        Ok("1"),
        "run through the outer test"
    );
    let dir = tempfile::tempdir().expect("dir");
    let settings = MasterKeySettings {
        from_environment: None,
        file: dir.path().join("master.key"),
        previous: None,
        keyring: true,
    };
    assert_eq!(os_keyring::read().expect("a usable keyring"), None, "a fresh keyring");

    let generated = resolve(&settings, DeploymentEnv::Dev, WhenMissing::Generate).expect("generate");
    assert_eq!(generated.source, MasterSecretSource::GeneratedInKeyring);
    assert!(!settings.file.exists(), "stored in the keyring, not in a file");
    assert_eq!(
        os_keyring::read().expect("read").as_deref(),
        Some(generated.secret.expose_text())
    );

    // Production accepts a secret that an operator put in the keyring.
    let found = resolve(&settings, DeploymentEnv::Prod, WhenMissing::Fail).expect("keyring");
    assert_eq!(found.source, MasterSecretSource::Keyring);
    assert_eq!(found.secret.expose_text(), generated.secret.expose_text());
}
