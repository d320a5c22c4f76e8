//! The `authsome` binary's `init` and `migrate`, run as a user would run them.

use std::process::{Command, Output};

use sqlx::Connection;

fn authsome(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_authsome"));
    // No OS keyring: these tests must never touch the developer's real one.
    command
        .env_clear()
        .env("HOME", "/nonexistent-home")
        .env("AUTHSOME_KEYRING", "off")
        .args(args);
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("run authsome")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_the_commands() {
    let out = authsome(&[], &["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for command in ["init", "migrate"] {
        assert!(help.contains(command), "{help}");
    }
}

#[tokio::test]
async fn init_creates_a_private_home_and_a_migrated_sqlite_database_without_any_service() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    let home_str = home.to_str().expect("utf-8 path");
    let out = authsome(&[("AUTHSOME_HOME", home_str)], &["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("applied migrations 1, 2"),
        "{}",
        text(&out.stdout)
    );

    let server = home.join("server");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&server).expect("server dir").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the server directory is private");
    }
    let db = server.join("authsome.db");
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open db");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut connection)
    .await
    .expect("tables");
    assert_eq!(
        tables,
        [
            "audit_events",
            "custom_provider_definitions",
            "global_provider_connections",
            "identity_claims",
            "identity_registrations",
            "principal_vault_bindings",
            "principals",
            "server_config",
            "store_schema_version",
            "vaults",
        ]
    );
    sqlx::query("INSERT INTO vaults (vault_id, handle, created_at, updated_at) VALUES ('vault_0123456789ab', 'default', 't', 't')")
        .execute(&mut connection)
        .await
        .expect("insert");
    connection.close().await.expect("close");

    // Running init again migrates nothing and loses nothing.
    let again = authsome(&[("AUTHSOME_HOME", home_str)], &["init"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stdout).contains("up to date"));
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("reopen");
    let vaults: i64 = sqlx::query_scalar("SELECT count(*) FROM vaults")
        .fetch_one(&mut connection)
        .await
        .expect("count");
    assert_eq!(vaults, 1);
}

#[tokio::test]
async fn migrate_applies_to_postgres_then_reports_up_to_date() {
    let schema = authsome_postgres::test_schema::TestSchema::create().await;
    let url = schema.url();
    let first = authsome(&[("AUTHSOME_DATABASE_URL", &url)], &["migrate"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(
        text(&first.stdout).trim(),
        "database (postgres): applied migrations 1, 2"
    );
    let second = authsome(&[("AUTHSOME_DATABASE_URL", &url)], &["migrate"]);
    assert_eq!(text(&second.stdout).trim(), "database (postgres): up to date");
}

#[test]
fn an_unusable_setting_stops_with_its_name_and_exit_code_2() {
    let out = authsome(&[("AUTHSOME_DATABASE_URL", "mysql://db/x")], &["migrate"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: AUTHSOME_DATABASE_URL:"), "{stderr}");

    let out = authsome(&[("AUTHSOME_ENV", "prod")], &["init"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("AUTHSOME_DATABASE_URL: is required when AUTHSOME_ENV=prod"));
}

#[test]
fn an_unreachable_database_fails_without_showing_the_password() {
    let out = authsome(
        &[(
            "AUTHSOME_DATABASE_URL",
            "postgres://admin:s3cret-pw@127.0.0.1:1/authsome",
        )],
        &["migrate"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot connect to the Postgres database"), "{stderr}");
    assert!(!stderr.contains("s3cret-pw"), "{stderr}");
}

#[tokio::test]
async fn with_postgres_and_a_redis_vault_init_writes_nothing_to_the_local_disk() {
    let schema = authsome_postgres::test_schema::TestSchema::create().await;
    let prefix = authsome_redis::test_prefix::TestPrefix::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home-that-must-not-appear");
    let out = authsome(
        &[
            ("AUTHSOME_HOME", home.to_str().expect("utf8")),
            ("AUTHSOME_DATABASE_URL", &schema.url()),
            ("AUTHSOME_REDIS_URL", prefix.url()),
            ("AUTHSOME_REDIS_KEY_PREFIX", prefix.keys().prefix()),
            ("AUTHSOME_VAULT_BACKEND", "redis"),
            ("AUTHSOME_MASTER_KEY", "a-master-secret-from-the-environment"),
        ],
        &["init"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("vault: redis (data key created); master secret: AUTHSOME_MASTER_KEY"),
        "{stdout}"
    );
    assert!(!home.exists(), "nothing was written under AUTHSOME_HOME");
    assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0, "nor beside it");

    let mut redis = prefix.connect().await;
    let dek: Option<String> = redis::cmd("GET")
        .arg(prefix.keys().blob("__vault_meta__", "__dek__"))
        .query_async(&mut redis)
        .await
        .expect("get");
    assert!(
        dek.expect("the data key record is in Redis")
            .contains("\"wrapped_dek\"")
    );
}

#[test]
fn rotating_the_master_key_replaces_it_in_its_file_and_the_vault_still_opens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    let env = [("AUTHSOME_HOME", home.to_str().expect("utf8"))];
    assert!(authsome(&env, &["init"]).status.success());
    let key_file = home.join("server/master.key");
    let old = std::fs::read_to_string(&key_file).expect("generated key file");

    let usage = authsome(&env, &["rotate-master-key"]);
    assert_eq!(usage.status.code(), Some(2), "the new secret is required");
    assert!(text(&usage.stderr).contains("AUTHSOME_NEW_MASTER_KEY"));

    let new_file = dir.path().join("new.key");
    std::fs::write(&new_file, "the-next-master-secret\n").expect("write");
    let rotated = authsome(
        &env,
        &["rotate-master-key", "--new-key-file", new_file.to_str().expect("utf8")],
    );
    assert!(rotated.status.success(), "{}", text(&rotated.stderr));
    assert!(text(&rotated.stdout).contains("no value was re-encrypted"));
    assert_eq!(
        std::fs::read_to_string(&key_file).expect("key file"),
        "the-next-master-secret"
    );
    assert_ne!(old, "the-next-master-secret");

    let reopened = authsome(&env, &["init"]);
    assert!(reopened.status.success(), "{}", text(&reopened.stderr));
    assert!(
        text(&reopened.stdout).contains("data key unwrapped"),
        "{}",
        text(&reopened.stdout)
    );

    // The old secret no longer opens the vault, and the error says what to check.
    let stale = authsome(&[env[0], ("AUTHSOME_MASTER_KEY", old.trim())], &["init"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        text(&stale.stderr).contains("does not unwrap the vault's data key"),
        "{}",
        text(&stale.stderr)
    );
}
