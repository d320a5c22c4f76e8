//! The self-hosting guide documents every setting the program reads.

use authsome_app::settings::KNOWN_VARIABLES;

/// Read by the reference CLI or by the test suites, not by the server.
const NOT_SERVER_SETTINGS: &[&str] = &[
    "AUTHSOME_IDENTITY",
    "AUTHSOME_IDENTITY_PRIVATE_KEY",
    "AUTHSOME_PROXY_MODE",
    "AUTHSOME_TEST_DATABASE_URL",
    "AUTHSOME_TEST_REDIS_URL",
];

/// Read outside `KNOWN_VARIABLES` (aliases and OpenTelemetry's own variables).
const OTHER_SETTINGS: &[&str] = &[
    "DATABASE_URL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
];

#[test]
fn the_self_hosting_guide_lists_every_setting() {
    let guide = include_str!("../../../docs/guides/self-hosting.md");
    let reference = &guide[guide
        .find("## Environment variables")
        .expect("an environment variable section")..];
    let missing: Vec<&str> = KNOWN_VARIABLES
        .iter()
        .chain(OTHER_SETTINGS)
        .filter(|name| !NOT_SERVER_SETTINGS.contains(name))
        .filter(|name| !reference.contains(&format!("`{name}`")))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "docs/guides/self-hosting.md does not document: {missing:?}"
    );
}

/// A fresh clone must run the README's test command as it is: a tracked symlink to a path
/// outside the repository dangles on every other machine (a tracked `.venv-reference` did, and
/// `python3 -m venv` refused to create the reference venv over it).
#[test]
fn the_repository_tracks_no_symlink_leading_outside_it() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let listing = std::process::Command::new("git")
        .args(["ls-files", "-s"])
        .current_dir(&root)
        .output()
        .expect("git runs");
    assert!(listing.status.success(), "git ls-files failed");
    let escaping: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|line| line.starts_with("120000 "))
        .filter_map(|line| line.split_once('\t').map(|(_, path)| path.to_owned()))
        .filter(|path| {
            let target = std::fs::read_link(root.join(path)).unwrap_or_default();
            let resolved = root.join(path).parent().map(|dir| dir.join(&target));
            target.is_absolute()
                || resolved
                    .and_then(|p| p.canonicalize().ok())
                    .is_none_or(|p| !p.starts_with(root.canonicalize().unwrap_or_default()))
        })
        .collect();
    assert!(
        escaping.is_empty(),
        "tracked symlinks leading outside the repository: {escaping:?}"
    );
}
