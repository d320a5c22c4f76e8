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
    let guide = include_str!("../../docs/guides/self-hosting.md");
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
