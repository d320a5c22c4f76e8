//! Black-box tests of every operation in the OpenAPI document, through the real HTTP endpoint:
//! status codes and JSON shapes the reference CLI depends on, the authorisation rules, and the
//! refusals (4xx JSON, never a 500) for bad input.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use poem::http::Method;
use serde_json::{Value, json};
use support::{Agent, Browser, Daemon, encode};

const OPENAI_KEY: &str = "sk-proj-abcdefghijklmnopqrstuvwxyz012345";

/// Every documented operation and the test below that exercises it. The last test checks this
/// table against the committed document, so a new operation without a test fails the build.
const TESTED_OPERATIONS: &[(&str, &str, &str)] = &[
    ("get", "/health", "health_reports_the_protocol_and_the_backends"),
    ("get", "/api/health", "health_reports_the_protocol_and_the_backends"),
    ("get", "/ready", "readiness_probes_every_backend"),
    ("get", "/api/ready", "readiness_probes_every_backend"),
    ("get", "/api/whoami", "whoami_describes_agents_and_people"),
    ("post", "/api/session", "whoami_describes_agents_and_people"),
    (
        "post",
        "/api/identities/register",
        "registration_hands_the_claim_link_only_to_the_registering_request",
    ),
    (
        "get",
        "/api/identities/{handle}",
        "registration_hands_the_claim_link_only_to_the_registering_request",
    ),
    (
        "get",
        "/api/identities/by-did/{did}",
        "identities_are_found_by_did_and_listed_for_their_owner",
    ),
    (
        "get",
        "/api/identities",
        "identities_are_found_by_did_and_listed_for_their_owner",
    ),
    (
        "get",
        "/api/identities/{handle}/detail",
        "identities_are_found_by_did_and_listed_for_their_owner",
    ),
    (
        "post",
        "/api/identities/{handle}/claim-link",
        "admins_can_issue_a_fresh_claim_link",
    ),
    ("get", "/api/claim/{token}", "admins_can_issue_a_fresh_claim_link"),
    ("get", "/api/principals", "principals_are_listed_for_admins_only"),
    ("get", "/api/audit/events", "the_audit_log_pages_and_scopes_events"),
    ("post", "/api/audit/events", "the_audit_log_pages_and_scopes_events"),
    (
        "post",
        "/api/auth/sessions",
        "an_api_key_login_is_started_resumed_and_read",
    ),
    (
        "get",
        "/api/auth/sessions/{session_id}",
        "an_api_key_login_is_started_resumed_and_read",
    ),
    (
        "post",
        "/api/auth/sessions/{session_id}/resume",
        "an_api_key_login_is_started_resumed_and_read",
    ),
    (
        "get",
        "/api/auth/sessions/{session_id}/input",
        "login_session_views_belong_to_their_owner",
    ),
    (
        "get",
        "/api/auth/sessions/{session_id}/status",
        "login_session_views_belong_to_their_owner",
    ),
    (
        "get",
        "/api/auth/sessions/{session_id}/device",
        "login_session_views_belong_to_their_owner",
    ),
    ("get", "/api/connections", "connections_are_listed_read_and_detailed"),
    (
        "get",
        "/api/connections/{provider}/{connection}",
        "connections_are_listed_read_and_detailed",
    ),
    (
        "get",
        "/api/connections/{provider}/{connection}/detail",
        "connections_are_listed_read_and_detailed",
    ),
    (
        "post",
        "/api/connections/{provider}/{connection}/default",
        "defaults_and_logout_change_the_callers_vault",
    ),
    (
        "post",
        "/api/connections/{provider}/{connection}/logout",
        "defaults_and_logout_change_the_callers_vault",
    ),
    (
        "post",
        "/api/connections/{provider}/{connection}/global",
        "a_global_connection_serves_every_principal_until_unset",
    ),
    (
        "delete",
        "/api/connections/{provider}/global",
        "a_global_connection_serves_every_principal_until_unset",
    ),
    (
        "post",
        "/api/connections/{provider}/revoke",
        "revoke_removes_a_provider_from_every_vault",
    ),
    (
        "post",
        "/api/credentials/resolve",
        "credentials_resolve_to_the_providers_headers",
    ),
    (
        "post",
        "/api/credentials/export",
        "credentials_export_as_env_shell_and_json",
    ),
    (
        "get",
        "/api/proxy/routes",
        "proxy_routes_follow_connections_and_the_catalog",
    ),
    ("get", "/api/providers", "providers_are_listed_and_read"),
    ("get", "/api/providers/{provider}", "providers_are_listed_and_read"),
    (
        "get",
        "/api/providers/{provider}/detail",
        "providers_are_listed_and_read",
    ),
    ("post", "/api/providers", "custom_providers_are_managed_by_admins"),
    (
        "put",
        "/api/providers/{provider}",
        "custom_providers_are_managed_by_admins",
    ),
    (
        "delete",
        "/api/providers/{provider}",
        "custom_providers_are_managed_by_admins",
    ),
    (
        "put",
        "/api/providers/{provider}/configuration",
        "provider_configuration_needs_an_admin_and_an_oauth_provider",
    ),
];

#[tokio::test]
async fn health_reports_the_protocol_and_the_backends() {
    let daemon = Daemon::start().await;
    for path in ["/health", "/api/health"] {
        let health = daemon.get(path).await.expect(200).json();
        assert_eq!(health["status"], "ok");
        assert_eq!(
            health["version"], "0.7.2",
            "the CLI restarts a daemon whose version differs"
        );
        assert_eq!(health["implementation"], "authsome-rs");
        assert_eq!(health["store_backend"], "sqlite");
        assert_eq!(health["vault_backend"], "memory");
        assert_eq!(health["configured_encryption_mode"], "aes-256-gcm-siv");
    }
    let reply = daemon.get("/health").await;
    assert!(
        reply.headers.contains_key("x-request-id"),
        "every response carries its request id"
    );
}

/// Stalls forever once `stalled` is set: a backend that accepts and never answers.
struct Stalling<T> {
    inner: T,
    stalled: Arc<AtomicBool>,
}

impl<T> Stalling<T> {
    async fn gate(&self) {
        if self.stalled.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait::async_trait]
impl authsome_ports::DatabaseHealth for Stalling<Arc<dyn authsome_ports::DatabaseHealth>> {
    async fn ping(&self) -> Result<(), authsome_ports::RegistryError> {
        self.gate().await;
        self.inner.ping().await
    }
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
}

type Entry = serde_json::Map<String, Value>;

#[async_trait::async_trait]
impl authsome_ports::VaultBlobStore for Stalling<authsome_memory::MemoryBlobStore> {
    async fn get(&self, collection: &str, key: &str) -> Result<Option<Entry>, authsome_ports::StateError> {
        self.gate().await;
        self.inner.get(collection, key).await
    }
    async fn put(&self, collection: &str, key: &str, value: &Entry) -> Result<(), authsome_ports::StateError> {
        self.gate().await;
        self.inner.put(collection, key, value).await
    }
    async fn put_if_absent(
        &self,
        collection: &str,
        key: &str,
        value: &Entry,
    ) -> Result<bool, authsome_ports::StateError> {
        self.gate().await;
        self.inner.put_if_absent(collection, key, value).await
    }
    async fn delete(&self, collection: &str, key: &str) -> Result<bool, authsome_ports::StateError> {
        self.gate().await;
        self.inner.delete(collection, key).await
    }
    async fn list_keys(&self, collection: &str, prefix: &str) -> Result<Vec<String>, authsome_ports::StateError> {
        self.gate().await;
        self.inner.list_keys(collection, prefix).await
    }
    async fn ping(&self) -> Result<(), authsome_ports::StateError> {
        self.gate().await;
        self.inner.ping().await
    }
    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
}

/// The outside probe saw `/ready` take 5 s to say Postgres was down, longer than the 3 s
/// `authsome healthcheck --ready` waits. Each probe is bounded and they run together: with the
/// database and the vault both hanging, the answer is a 503 naming both, in about one bound.
#[tokio::test]
async fn readiness_reports_hanging_backends_within_its_bound() {
    let stalled = Arc::new(AtomicBool::new(false));
    let vault_store = Arc::new(Stalling {
        inner: authsome_memory::MemoryBlobStore::new(),
        stalled: stalled.clone(),
    });
    let daemon = Daemon::build_on(&[], vault_store, |state| {
        state.registries.health = Arc::new(Stalling {
            inner: state.registries.health.clone(),
            stalled: stalled.clone(),
        });
    })
    .await;
    daemon.get("/ready").await.expect(200);
    stalled.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let probe = tokio::time::timeout(Duration::from_secs(10), daemon.get("/ready"))
        .await
        .expect("/ready answers although its backends hang")
        .expect(503)
        .json();
    let elapsed = started.elapsed();
    assert_eq!(probe["checks"]["store"], "failed");
    assert_eq!(probe["checks"]["vault"], "failed");
    let bound = authsome_services::readiness::PROBE_TIMEOUT;
    assert!(
        elapsed >= bound && elapsed < bound + Duration::from_millis(700),
        "answered in {elapsed:?}; each probe is bounded by {bound:?} and they run at once"
    );
}

#[tokio::test]
async fn readiness_probes_every_backend() {
    let daemon = Daemon::start().await;
    let probe = daemon.get("/ready").await.expect(200).json();
    assert_eq!(probe["status"], "ready");
    assert_eq!(probe["checks"]["store"], "ok");
    assert_eq!(probe["checks"]["vault"], "ok");

    daemon.get("/api/ready").await.expect(401);
    let (agent, _) = daemon.claimed_agent("ready-agent", "ready@example.com").await;
    let ready = agent.get(&daemon, "/api/ready").await.expect(200).json();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["issues"], json!([]));
    assert_eq!(ready["warnings"], json!(["no active provider connections found"]));
    for check in ["store", "vault", "providers", "connections", "integrity"] {
        assert_eq!(ready["checks"][check], "ok", "{check}");
    }
}

#[tokio::test]
async fn whoami_describes_agents_and_people() {
    let daemon = Daemon::start().await;
    let (agent, mut browser) = daemon.claimed_agent("who-agent", "who@example.com").await;
    let me = agent.get(&daemon, "/api/whoami").await.expect(200).json();
    assert_eq!(me["identity"], "who-agent");
    assert_eq!(me["did"], agent.did.as_str());
    assert_eq!(
        me["principal_role"], "admin",
        "the first account on an open server is the admin"
    );
    assert!(me["vault_id"].as_str().is_some_and(|v| v.starts_with("vault_")));
    assert_eq!(me["daemon_url"], "http://127.0.0.1:7998");

    let person = browser
        .api(&daemon, Method::GET, "/api/whoami", None, None)
        .await
        .expect(200)
        .json();
    assert_eq!(person["account_email"], "who@example.com");
    assert_eq!(person["identity"], "");
    assert_eq!(person["principal_id"], me["principal_id"]);

    let session = agent.post(&daemon, "/api/session", json!({})).await.expect(200).json();
    assert_eq!(session["url"], "http://127.0.0.1:7998/");
    daemon
        .call(Method::POST, "/api/session", Some(json!({})))
        .await
        .expect(401);
}

#[tokio::test]
async fn registration_hands_the_claim_link_only_to_the_registering_request() {
    let daemon = Daemon::start().await;
    let agent = Agent::new("quiet-otter-1234");
    let body = json!({"handle": agent.handle, "did": agent.did.as_str()});
    let first = daemon
        .call(Method::POST, "/api/identities/register", Some(body.clone()))
        .await
        .expect(200)
        .json();
    assert_eq!(first["status"], "registered");
    assert_eq!(first["registration_status"], "claim_required");
    assert!(
        first["claim_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:7998/claim?token="))
    );

    // Weakness 1: neither a repeated registration nor a status poll mints a claim link.
    let again = daemon
        .call(Method::POST, "/api/identities/register", Some(body))
        .await
        .expect(200)
        .json();
    assert_eq!(again["registration_status"], "claim_required");
    assert!(again.get("claim_url").is_none());
    let status = daemon.get("/api/identities/quiet-otter-1234").await.expect(200).json();
    assert_eq!(status["registration_status"], "claim_required");
    assert!(status.get("claim_url").is_none());

    // Conflicts and bad input are typed 4xx JSON.
    let other = Agent::new("quiet-otter-1234");
    let taken = daemon
        .call(
            Method::POST,
            "/api/identities/register",
            Some(json!({"handle": other.handle, "did": other.did.as_str()})),
        )
        .await
        .expect(409);
    assert!(
        taken.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("quiet-otter-1234"))
    );
    daemon
        .call(
            Method::POST,
            "/api/identities/register",
            Some(json!({"handle": "Bad Handle!", "did": other.did.as_str()})),
        )
        .await
        .expect(400);
    daemon
        .call(
            Method::POST,
            "/api/identities/register",
            Some(json!({"handle": "ok-handle", "did": "did:key:nope"})),
        )
        .await
        .expect(400);
    let missing = daemon
        .call(Method::POST, "/api/identities/register", Some(json!({"handle": "x"})))
        .await
        .expect(422);
    assert!(missing.json()["detail"].is_array(), "FastAPI-style validation report");
    daemon.get("/api/identities/nobody-here").await.expect(404);
}

#[tokio::test]
async fn identities_are_found_by_did_and_listed_for_their_owner() {
    let daemon = Daemon::start().await;
    let (agent, mut owner) = daemon.claimed_agent("owned-agent", "owner@example.com").await;
    let found = daemon
        .get(&format!("/api/identities/by-did/{}", agent.did.as_str()))
        .await
        .expect(200)
        .json();
    assert_eq!(found, json!({"identity": "owned-agent", "did": agent.did.as_str()}));
    daemon
        .get("/api/identities/by-did/did:key:z6MkUnknown")
        .await
        .expect(404);

    let listed = agent.get(&daemon, "/api/identities").await.expect(200).json();
    assert_eq!(
        listed,
        json!({"identities": [{"handle": "owned-agent", "status": "accepted"}]})
    );
    let detail = owner
        .api(&daemon, Method::GET, "/api/identities/owned-agent/detail", None, None)
        .await
        .expect(200)
        .json();
    assert_eq!(detail["registration_status"], "claimed");
    assert_eq!(detail["principal_email"], "owner@example.com");
    assert_eq!(detail["is_active"], false, "a browser is not the agent");
    let as_agent = agent
        .get(&daemon, "/api/identities/owned-agent/detail")
        .await
        .expect(200)
        .json();
    assert_eq!(as_agent["is_active"], true);

    // Another (non-admin) person sees neither the agent's detail nor it in their list.
    let mut stranger = Browser::default();
    stranger
        .sign_up(&daemon, "stranger@example.com", "another long password", "/")
        .await
        .expect(303);
    stranger
        .api(&daemon, Method::GET, "/api/identities/owned-agent/detail", None, None)
        .await
        .expect(404);
    let theirs = stranger
        .api(&daemon, Method::GET, "/api/identities", None, None)
        .await
        .expect(200)
        .json();
    assert_eq!(theirs["identities"], json!([]));
}

#[tokio::test]
async fn admins_can_issue_a_fresh_claim_link() {
    let daemon = Daemon::start().await;
    let (_admin_agent, mut admin) = daemon.claimed_agent("admin-agent", "admin@example.com").await;
    let lost = Agent::new("lost-link-agent");
    let original = lost.register(&daemon).await;
    let token = original.rsplit('=').next().expect("token");

    let status = daemon.get(&format!("/api/claim/{token}")).await.expect(200).json();
    assert_eq!(status["identity"], "lost-link-agent");
    assert_eq!(status["expired"], false);
    assert_eq!(status["authenticated"], false);
    let signed_in = admin
        .api(&daemon, Method::GET, &format!("/api/claim/{token}"), None, None)
        .await
        .expect(200)
        .json();
    assert_eq!(
        (signed_in["authenticated"].clone(), signed_in["email"].clone()),
        (json!(true), json!("admin@example.com"))
    );
    let unknown = daemon.get("/api/claim/claim_unknowntoken").await.expect(200).json();
    assert_eq!(unknown["expired"], true);
    assert!(unknown.get("email").is_none());

    let csrf = admin.session_csrf(&daemon).await;
    let fresh = admin
        .api(
            &daemon,
            Method::POST,
            "/api/identities/lost-link-agent/claim-link",
            Some(json!({})),
            Some(&csrf),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(fresh["identity"], "lost-link-agent");
    assert_ne!(fresh["claim_url"].as_str(), Some(original.as_str()));
    // Without the CSRF header a cookie-authenticated write is refused.
    admin
        .api(
            &daemon,
            Method::POST,
            "/api/identities/lost-link-agent/claim-link",
            Some(json!({})),
            None,
        )
        .await
        .expect(403);
    // Non-admins may not; a claimed identity has no claim link to give.
    let mut user = Browser::default();
    user.sign_up(&daemon, "user@example.com", "a user's long password", "/")
        .await
        .expect(303);
    let user_csrf = user.session_csrf(&daemon).await;
    user.api(
        &daemon,
        Method::POST,
        "/api/identities/lost-link-agent/claim-link",
        Some(json!({})),
        Some(&user_csrf),
    )
    .await
    .expect(403);
    admin
        .api(
            &daemon,
            Method::POST,
            "/api/identities/admin-agent/claim-link",
            Some(json!({})),
            Some(&csrf),
        )
        .await
        .expect(409);
}

#[tokio::test]
async fn principals_are_listed_for_admins_only() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("principal-agent", "first@example.com").await;
    let mut second = Browser::default();
    second
        .sign_up(&daemon, "second@example.com", "second long password", "/")
        .await
        .expect(303);
    let listed = agent.get(&daemon, "/api/principals").await.expect(200).json();
    let rows = listed["principals"].as_array().expect("principals");
    let emails: Vec<&str> = rows.iter().filter_map(|p| p["email"].as_str()).collect();
    assert_eq!(emails.len(), 2);
    assert!(emails.contains(&"first@example.com") && emails.contains(&"second@example.com"));
    let roles: Vec<(&str, &str)> = rows
        .iter()
        .map(|p| (p["email"].as_str().unwrap_or(""), p["role"].as_str().unwrap_or("")))
        .collect();
    assert!(roles.contains(&("first@example.com", "admin")) && roles.contains(&("second@example.com", "user")));
    second
        .api(&daemon, Method::GET, "/api/principals", None, None)
        .await
        .expect(403);
}

#[tokio::test]
async fn the_audit_log_pages_and_scopes_events() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("audit-agent", "audit@example.com").await;
    for n in 0..3 {
        let recorded = agent
            .post(
                &daemon,
                "/api/audit/events",
                json!({"event": {"event": "proxy_deny", "provider": "openai", "host": format!("h{n}.example"), "source": "forged"}}),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(recorded["status"], "ok");
    }
    let page = agent.get(&daemon, "/api/audit/events?limit=2").await.expect(200).json();
    assert_eq!(page["scope"], "global");
    let entries = page["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["event"], "proxy_deny");
    assert_eq!(entries[0]["source"], "external", "a client cannot claim another source");
    assert_eq!(entries[0]["identity"], "audit-agent");
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let next = agent
        .get(&daemon, &format!("/api/audit/events?limit=2&cursor={}", encode(cursor)))
        .await
        .expect(200)
        .json();
    assert_eq!(next["entries"].as_array().map(Vec::len), Some(2));
    assert_ne!(next["entries"][0]["event_id"], entries[0]["event_id"]);

    agent.get(&daemon, "/api/audit/events?limit=lots").await.expect(422);
    agent.get(&daemon, "/api/audit/events?cursor=garbage").await.expect(422);
    agent
        .post(&daemon, "/api/audit/events", json!({"event": 7}))
        .await
        .expect(422);
    agent
        .post(&daemon, "/api/audit/events", json!([1, 2]))
        .await
        .expect(422);

    // A non-admin sees only their own principal's events.
    let (_, mut user) = daemon.claimed_agent("user-agent", "user@example.com").await;
    let theirs = user
        .api(&daemon, Method::GET, "/api/audit/events?limit=100", None, None)
        .await
        .expect(200)
        .json();
    assert_eq!(theirs["scope"], "principal");
    assert!(
        theirs["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .all(|e| e["identity"] != "audit-agent")
    );
    user.api(
        &daemon,
        Method::GET,
        "/api/audit/events?identity=audit-agent",
        None,
        None,
    )
    .await
    .expect(403);
}

#[tokio::test]
async fn an_api_key_login_is_started_resumed_and_read() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("login-agent", "login@example.com").await;
    let started = agent
        .post(
            &daemon,
            "/api/auth/sessions",
            json!({"base_url": null, "connection": "default", "flow": null, "force": false, "provider": "openai", "scopes": null}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(started["status"], "waiting_for_user");
    let id = started["id"].as_str().expect("id").to_owned();
    assert_eq!(
        started["next_action"],
        json!({"type": "open_url", "url": format!("http://127.0.0.1:7998/auth/input?session={id}")})
    );
    let read = agent
        .get(&daemon, &format!("/api/auth/sessions/{id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(read["provider"], "openai");

    let refused = agent
        .post(
            &daemon,
            &format!("/api/auth/sessions/{id}/resume"),
            json!({"data": {"api_key": "wrong-format"}}),
        )
        .await
        .expect(400)
        .json();
    assert_eq!(refused["error"], "AuthenticationFailedError");
    let failed = agent
        .get(&daemon, &format!("/api/auth/sessions/{id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(failed["status"], "failed");
    let done = agent
        .post(
            &daemon,
            &format!("/api/auth/sessions/{id}/resume"),
            json!({"data": {"api_key": OPENAI_KEY}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["error"], Value::Null, "a successful retry clears the old error");
    assert_eq!(done["next_action"], json!({"type": "none"}));

    // Unknown providers, flows and shapes are 4xx JSON.
    let unknown = agent
        .post(&daemon, "/api/auth/sessions", json!({"provider": "no-such-provider"}))
        .await
        .expect(404)
        .json();
    assert_eq!(unknown["error"], "ProviderNotFoundError");
    let flow = agent
        .post(
            &daemon,
            "/api/auth/sessions",
            json!({"provider": "openai", "flow": "telepathy"}),
        )
        .await
        .expect(400)
        .json();
    assert_eq!(flow["error"], "UnsupportedFlowError");
    agent
        .post(&daemon, "/api/auth/sessions", json!({"connection": "x"}))
        .await
        .expect(422);
    agent
        .post(
            &daemon,
            &format!("/api/auth/sessions/{id}/resume"),
            json!({"data": "not an object"}),
        )
        .await
        .expect(422);
    agent
        .get(&daemon, "/api/auth/sessions/sess_doesnotexist")
        .await
        .expect(404);
    // Another agent cannot read or resume it.
    let (other, _) = daemon
        .claimed_agent("other-login-agent", "other-login@example.com")
        .await;
    other
        .get(&daemon, &format!("/api/auth/sessions/{id}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn login_session_views_belong_to_their_owner() {
    let daemon = Daemon::start().await;
    let (agent, mut owner) = daemon.claimed_agent("view-agent", "view@example.com").await;
    let started = agent
        .post(&daemon, "/api/auth/sessions", json!({"provider": "anthropic"}))
        .await
        .expect(200)
        .json();
    let id = started["id"].as_str().expect("id").to_owned();

    let input = owner
        .api(
            &daemon,
            Method::GET,
            &format!("/api/auth/sessions/{id}/input"),
            None,
            None,
        )
        .await
        .expect(200)
        .json();
    assert_eq!(input["provider"], "anthropic");
    assert_eq!(input["display_name"], "Anthropic");
    assert_eq!(input["fields"][0]["name"], "api_key");
    assert_eq!(input["fields"][0]["secret"], true);
    let status = owner
        .api(
            &daemon,
            Method::GET,
            &format!("/api/auth/sessions/{id}/status"),
            None,
            None,
        )
        .await
        .expect(200)
        .json();
    assert_eq!(status["status"], "waiting_for_user");
    let device = owner
        .api(
            &daemon,
            Method::GET,
            &format!("/api/auth/sessions/{id}/device"),
            None,
            None,
        )
        .await
        .expect(400);
    assert!(
        device.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("device code"))
    );

    // Weakness 3: the session id alone opens nothing.
    daemon.get(&format!("/api/auth/sessions/{id}/input")).await.expect(401);
    let mut stranger = Browser::default();
    stranger
        .sign_up(&daemon, "nosy@example.com", "nosy long password", "/")
        .await
        .expect(303);
    for view in ["input", "status", "device"] {
        stranger
            .api(
                &daemon,
                Method::GET,
                &format!("/api/auth/sessions/{id}/{view}"),
                None,
                None,
            )
            .await
            .expect(404);
    }
}

#[tokio::test]
async fn connections_are_listed_read_and_detailed() {
    let daemon = Daemon::start().await;
    let (agent, mut owner) = daemon.claimed_agent("conn-agent", "conn@example.com").await;
    agent.store_openai_key(&daemon, "default", OPENAI_KEY).await;
    agent
        .store_openai_key(&daemon, "work", "sk-proj-workworkworkworkworkwork0001")
        .await;

    let listed = agent.get(&daemon, "/api/connections").await.expect(200).json();
    let groups = listed["connections"].as_array().expect("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["name"], "openai");
    assert_eq!(groups[0]["default_connection"], "default");
    let names: Vec<(&str, bool)> = groups[0]["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| {
            (
                c["connection_name"].as_str().unwrap_or(""),
                c["is_default"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(names, vec![("default", true), ("work", false)]);
    assert_eq!(listed["provider_connection_counts"], json!({"openai": 2}));
    assert!(listed["by_source"]["bundled"].as_array().is_some_and(|b| b.len() >= 47));
    assert!(
        listed["connections"].to_string().find(OPENAI_KEY).is_none(),
        "listings carry no secrets"
    );

    let record = agent
        .get(&daemon, "/api/connections/openai/default")
        .await
        .expect(200)
        .json();
    assert_eq!(
        record["api_key"], OPENAI_KEY,
        "the CLI's inspect and drift check read the key"
    );
    assert_eq!(record["identity"], "conn-agent");
    let missing = agent
        .get(&daemon, "/api/connections/openai/nope")
        .await
        .expect(404)
        .json();
    assert_eq!(missing["error"], "ConnectionNotFoundError");

    let detail = owner
        .api(&daemon, Method::GET, "/api/connections/openai/work/detail", None, None)
        .await
        .expect(200)
        .json();
    assert_eq!(detail["provider_display_name"], "OpenAI");
    assert_eq!(detail["secrets"]["api_key"], "sk-proj-workworkworkworkworkwork0001");
    assert_eq!(detail["secrets_redacted"], false);
    assert_eq!(
        (detail["can_set_default"].clone(), detail["can_set_global"].clone()),
        (json!(true), json!(true))
    );

    // Weakness 5: an admin looking at another principal's connection does not get its secret.
    let (other_agent, _) = daemon.claimed_agent("second-conn-agent", "second@example.com").await;
    other_agent
        .store_openai_key(&daemon, "default", "sk-proj-secondsecondsecondsecond02")
        .await;
    let other_principal = other_agent.get(&daemon, "/api/whoami").await.expect(200).json()["principal_id"]
        .as_str()
        .expect("principal")
        .to_owned();
    let viewed = owner
        .api(
            &daemon,
            Method::GET,
            &format!("/api/connections/openai/default/detail?principal={other_principal}"),
            None,
            None,
        )
        .await
        .expect(200)
        .json();
    assert_eq!(viewed["principal_id"], other_principal.as_str());
    assert_eq!(viewed["secrets"]["api_key"], Value::Null);
    assert_eq!(viewed["secrets_redacted"], true);
    assert_eq!(viewed["can_set_default"], false);
    let admin_counts = agent.get(&daemon, "/api/connections").await.expect(200).json();
    assert_eq!(admin_counts["provider_connection_counts"], json!({"openai": 3}));
    // A non-admin may not look at other principals at all.
    let own_principal = agent.get(&daemon, "/api/whoami").await.expect(200).json()["principal_id"].clone();
    other_agent
        .get(
            &daemon,
            &format!(
                "/api/connections/openai/default/detail?principal={}",
                own_principal.as_str().unwrap_or("")
            ),
        )
        .await
        .expect(403);
    owner
        .api(
            &daemon,
            Method::GET,
            "/api/connections/openai/default/detail?principal=principal_000000000000",
            None,
            None,
        )
        .await
        .expect(404);
    let nonadmin = other_agent.get(&daemon, "/api/connections").await.expect(200).json();
    assert_eq!(nonadmin["provider_connection_counts"], json!({}));
}

#[tokio::test]
async fn defaults_and_logout_change_the_callers_vault() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("default-agent", "default@example.com").await;
    agent.store_openai_key(&daemon, "default", OPENAI_KEY).await;
    agent
        .store_openai_key(&daemon, "work", "sk-proj-workworkworkworkworkwork0001")
        .await;

    let set = agent
        .post(&daemon, "/api/connections/openai/work/default", json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        set,
        json!({"status": "ok", "provider": "openai", "default_connection": "work"})
    );
    let resolved = agent
        .post(&daemon, "/api/credentials/resolve", json!({"provider": "openai"}))
        .await
        .expect(200)
        .json();
    assert_eq!(resolved["connection"], "work");
    agent
        .post(&daemon, "/api/connections/openai/missing/default", json!({}))
        .await
        .expect(404);

    let out = agent
        .post(&daemon, "/api/connections/openai/work/logout", json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(out, json!({"status": "ok"}));
    agent.get(&daemon, "/api/connections/openai/work").await.expect(404);
    // Logging out of a missing connection is a no-op; of an unknown provider, a 404.
    agent
        .post(&daemon, "/api/connections/openai/work/logout", json!({}))
        .await
        .expect(200);
    let unknown = agent
        .post(&daemon, "/api/connections/nope-provider/x/logout", json!({}))
        .await
        .expect(404)
        .json();
    assert_eq!(unknown["error"], "ProviderNotFoundError");
}

#[tokio::test]
async fn a_global_connection_serves_every_principal_until_unset() {
    let daemon = Daemon::start().await;
    let (admin, _) = daemon.claimed_agent("global-admin", "gadmin@example.com").await;
    let (user, _) = daemon.claimed_agent("global-user", "guser@example.com").await;
    admin.store_openai_key(&daemon, "shared", OPENAI_KEY).await;

    user.post(&daemon, "/api/connections/openai/shared/global", json!({}))
        .await
        .expect(403);
    let set = admin
        .post(&daemon, "/api/connections/openai/shared/global", json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        set,
        json!({"status": "ok", "provider": "openai", "connection_name": "shared"})
    );
    let resolved = user
        .post(&daemon, "/api/credentials/resolve", json!({"provider": "openai"}))
        .await
        .expect(200)
        .json();
    assert_eq!(resolved["source"], "global");
    assert_eq!(resolved["headers"]["Authorization"], format!("Bearer {OPENAI_KEY}"));
    let listed = user.get(&daemon, "/api/connections").await.expect(200).json();
    assert_eq!(listed["global_connections"][0]["connection_name"], "shared");
    assert_eq!(listed["global_connections"][0]["source"], "global");
    // A named connection never falls back.
    user.post(
        &daemon,
        "/api/credentials/resolve",
        json!({"provider": "openai", "connection": "shared"}),
    )
    .await
    .expect(404);

    user.call(&daemon, Method::DELETE, "/api/connections/openai/global", None)
        .await
        .expect(403);
    let unset = admin
        .call(&daemon, Method::DELETE, "/api/connections/openai/global", None)
        .await
        .expect(200)
        .json();
    assert_eq!(unset, json!({"status": "ok", "provider": "openai", "deleted": true}));
    let again = admin
        .call(&daemon, Method::DELETE, "/api/connections/openai/global", None)
        .await
        .expect(200)
        .json();
    assert_eq!(again["deleted"], false);
    user.post(&daemon, "/api/credentials/resolve", json!({"provider": "openai"}))
        .await
        .expect(404);
    admin
        .post(&daemon, "/api/connections/openai/missing/global", json!({}))
        .await
        .expect(404);
}

#[tokio::test]
async fn revoke_removes_a_provider_from_every_vault() {
    let daemon = Daemon::start().await;
    let (admin, _) = daemon.claimed_agent("revoke-admin", "radmin@example.com").await;
    let (user, _) = daemon.claimed_agent("revoke-user", "ruser@example.com").await;
    admin.store_openai_key(&daemon, "default", OPENAI_KEY).await;
    user.store_openai_key(&daemon, "default", "sk-proj-useruseruseruseruseruser0001")
        .await;
    user.store_openai_key(&daemon, "extra", "sk-proj-extraextraextraextraextra0001")
        .await;

    user.post(&daemon, "/api/connections/openai/revoke", json!({}))
        .await
        .expect(403);
    let revoked = admin
        .post(&daemon, "/api/connections/openai/revoke", json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(revoked, json!({"status": "ok"}));
    for (agent, connection) in [(&admin, "default"), (&user, "default"), (&user, "extra")] {
        agent
            .get(&daemon, &format!("/api/connections/openai/{connection}"))
            .await
            .expect(404);
    }
    admin
        .post(&daemon, "/api/connections/no-such-provider/revoke", json!({}))
        .await
        .expect(404);
}

#[tokio::test]
async fn credentials_resolve_to_the_providers_headers() {
    let daemon = Daemon::start().await;
    let (agent, mut owner) = daemon.claimed_agent("resolve-agent", "resolve@example.com").await;
    agent.store_openai_key(&daemon, "default", OPENAI_KEY).await;
    let resolved = agent
        .post(
            &daemon,
            "/api/credentials/resolve",
            json!({"connection": null, "provider": "openai"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        resolved,
        json!({"provider": "openai", "connection": "default", "headers": {"Authorization": format!("Bearer {OPENAI_KEY}")},
               "expires_at": null, "source": "local"})
    );
    // Anthropic's header is x-api-key, with no prefix.
    let session = agent
        .post(&daemon, "/api/auth/sessions", json!({"provider": "anthropic"}))
        .await
        .expect(200)
        .json();
    let input = session["next_action"]["url"].as_str().expect("input url").to_owned();
    owner
        .fill_input(&daemon, &input, "sk-ant-api03-abcdefghijklmnopqrstuvwxyz")
        .await
        .expect(303);
    let anthropic = agent
        .post(&daemon, "/api/credentials/resolve", json!({"provider": "anthropic"}))
        .await
        .expect(200)
        .json();
    assert_eq!(
        anthropic["headers"],
        json!({"x-api-key": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"})
    );

    let missing = agent
        .post(&daemon, "/api/credentials/resolve", json!({"provider": "groq"}))
        .await
        .expect(404)
        .json();
    assert_eq!(missing["error"], "ConnectionNotFoundError");
    agent
        .post(&daemon, "/api/credentials/resolve", json!({"connection": "x"}))
        .await
        .expect(422);
    // Browser sessions cannot resolve: this route is for agents only.
    owner
        .api(
            &daemon,
            Method::POST,
            "/api/credentials/resolve",
            Some(json!({"provider": "openai"})),
            None,
        )
        .await
        .expect(401);
}

#[tokio::test]
async fn credentials_export_as_env_shell_and_json() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("export-agent", "export@example.com").await;
    agent.store_openai_key(&daemon, "default", OPENAI_KEY).await;
    agent
        .store_openai_key(&daemon, "work", "sk-proj-workworkworkworkworkwork0001")
        .await;

    let env = agent
        .post(
            &daemon,
            "/api/credentials/export",
            json!({"provider": "openai", "connection": "default", "format": "env"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(env["output"], format!("OPENAI_API_KEY={OPENAI_KEY}"));
    let shell = agent
        .post(
            &daemon,
            "/api/credentials/export",
            json!({"provider": "openai", "format": "shell"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(shell["output"], format!("export OPENAI_API_KEY={OPENAI_KEY}"));
    let all = agent
        .post(
            &daemon,
            "/api/credentials/export",
            json!({"provider": null, "format": "json"}),
        )
        .await
        .expect(200)
        .json();
    let parsed: Value = serde_json::from_str(all["output"].as_str().expect("text")).expect("json output");
    assert_eq!(
        parsed,
        json!({"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_API_KEY_OPENAI_WORK": "sk-proj-workworkworkworkworkwork0001"})
    );
    // Weakness 12: an unknown format is a 422, not a 500.
    agent
        .post(
            &daemon,
            "/api/credentials/export",
            json!({"provider": "openai", "format": "yaml"}),
        )
        .await
        .expect(422);
    agent
        .post(&daemon, "/api/credentials/export", json!({"provider": 5}))
        .await
        .expect(422);
}

#[tokio::test]
async fn proxy_routes_follow_connections_and_the_catalog() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("routes-agent", "routes@example.com").await;
    let empty = agent.get(&daemon, "/api/proxy/routes").await.expect(200).json();
    assert_eq!(empty, json!({"routes": []}));
    agent.store_openai_key(&daemon, "default", OPENAI_KEY).await;
    let connected = agent
        .get(&daemon, "/api/proxy/routes?scope=connected")
        .await
        .expect(200)
        .json();
    let api_url = agent.get(&daemon, "/api/providers/openai").await.expect(200).json()["api_url"].clone();
    assert_eq!(
        connected,
        json!({"routes": [{"provider": "openai", "connection": "default", "api_url": api_url, "auth_endpoint_paths": []}]})
    );
    let configured = agent
        .get(&daemon, "/api/proxy/routes?scope=configured")
        .await
        .expect(200)
        .json();
    let routes: Vec<(bool, &str)> = configured["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .filter_map(|r| Some((r["api_url"].as_str()?.starts_with("regex:"), r["provider"].as_str()?)))
        .collect();
    let providers: Vec<&str> = routes.iter().map(|(_, p)| *p).collect();
    assert!(providers.contains(&"openai") && providers.contains(&"anthropic") && providers.contains(&"github"));
    let mut sorted = routes.clone();
    sorted.sort_unstable();
    assert_eq!(routes, sorted, "non-regex routes first, each part sorted by provider");
    assert!(
        routes.iter().any(|(regex, _)| *regex),
        "the catalog has regex routes (Google's)"
    );
    agent
        .get(&daemon, "/api/proxy/routes?scope=everything")
        .await
        .expect(422);
}

#[tokio::test]
async fn providers_are_listed_and_read() {
    let daemon = Daemon::start().await;
    let (agent, mut owner) = daemon.claimed_agent("providers-agent", "providers@example.com").await;
    let listed = agent.get(&daemon, "/api/providers").await.expect(200).json();
    let bundled = listed["bundled"].as_array().expect("bundled");
    assert_eq!(bundled.len(), 88, "the whole 0.7.2 catalog");
    let count = |kind: &str| bundled.iter().filter(|p| p["auth_type"] == kind).count();
    assert_eq!((count("api_key"), count("oauth2"), count("browser")), (47, 39, 2));
    assert_eq!(listed["custom"], json!([]));
    let openai = agent.get(&daemon, "/api/providers/openai").await.expect(200).json();
    assert_eq!(openai["api_key"]["header_name"], "Authorization");
    assert_eq!(openai["api_key"]["header_prefix"], "Bearer");
    let missing = agent
        .get(&daemon, "/api/providers/no-such-provider")
        .await
        .expect(404)
        .json();
    assert_eq!(missing["error"], "ProviderNotFoundError");
    // The browser needs the detail route; the plain ones are for agents.
    owner
        .api(&daemon, Method::GET, "/api/providers/openai", None, None)
        .await
        .expect(401);

    agent.store_openai_key(&daemon, "default", OPENAI_KEY).await;
    let detail = owner
        .api(&daemon, Method::GET, "/api/providers/openai/detail", None, None)
        .await
        .expect(200)
        .json();
    assert_eq!(detail["provider"]["name"], "openai");
    assert_eq!(detail["account"]["is_admin"], true);
    assert_eq!(detail["connections"][0]["connection_name"], "default");
    assert_eq!(detail["principal_usage"][0]["email"], "providers@example.com");
    assert_eq!(detail["client"], Value::Null);
    assert_eq!(
        detail["configuration_fields"],
        json!([]),
        "API-key providers have no client settings"
    );
    assert_eq!(detail["callback_url"], "http://127.0.0.1:7998/api/auth/callback/oauth");
    assert!(!detail.to_string().contains(OPENAI_KEY));
}

fn custom_definition(name: &str, header: &str) -> Value {
    json!({
        "name": name,
        "display_name": "Internal API",
        "auth_type": "api_key",
        "flow": "api_key",
        "api_key": {"header_name": header, "header_prefix": "", "env_var": "INTERNAL_API_KEY"},
        "api_url": "https://api.internal.example"
    })
}

#[tokio::test]
async fn custom_providers_are_managed_by_admins() {
    let daemon = Daemon::start().await;
    let (admin, _) = daemon.claimed_agent("custom-admin", "cadmin@example.com").await;
    let (user, _) = daemon.claimed_agent("custom-user", "cuser@example.com").await;

    user.post(
        &daemon,
        "/api/providers",
        json!({"definition": custom_definition("internal", "X-Key")}),
    )
    .await
    .expect(403);
    let created = admin
        .post(
            &daemon,
            "/api/providers",
            json!({"definition": custom_definition("internal", "X-Key"), "force": false}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(created, json!({"status": "ok", "provider": "internal"}));
    let duplicate = admin
        .post(&daemon, "/api/providers", custom_definition("internal", "X-Key"))
        .await
        .expect(400)
        .json();
    assert_eq!(duplicate["error"], "ProviderAlreadyRegisteredError");
    assert_eq!(
        user.get(&daemon, "/api/providers/internal").await.expect(200).json()["api_key"]["header_name"],
        "X-Key"
    );
    assert_eq!(
        user.get(&daemon, "/api/providers").await.expect(200).json()["custom"][0]["name"],
        "internal"
    );

    // Weakness 12: a definition missing fields or breaking the rules is a 400, not a 500.
    let incomplete = admin
        .post(&daemon, "/api/providers", json!({"definition": {"name": "broken"}}))
        .await
        .expect(400)
        .json();
    assert_eq!(incomplete["error"], "InvalidProviderSchemaError");
    let bad_name = admin
        .post(&daemon, "/api/providers", custom_definition("../escape", "X"))
        .await
        .expect(400)
        .json();
    assert_eq!(bad_name["error"], "InvalidProviderSchemaError");
    admin
        .post(&daemon, "/api/providers", json!("a string"))
        .await
        .expect(422);

    let updated = admin
        .call(
            &daemon,
            Method::PUT,
            "/api/providers/internal",
            Some(json!({"definition": custom_definition("internal", "X-Other")})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(updated, json!({"status": "ok", "provider": "internal"}));
    assert_eq!(
        admin.get(&daemon, "/api/providers/internal").await.expect(200).json()["api_key"]["header_name"],
        "X-Other"
    );
    let renamed = admin
        .call(
            &daemon,
            Method::PUT,
            "/api/providers/internal",
            Some(custom_definition("other", "X")),
        )
        .await
        .expect(400)
        .json();
    assert!(
        renamed["message"]
            .as_str()
            .is_some_and(|m| m.contains("must match route provider"))
    );
    admin
        .call(
            &daemon,
            Method::PUT,
            "/api/providers/openai",
            Some(custom_definition("openai", "X")),
        )
        .await
        .expect(404);
    user.call(
        &daemon,
        Method::PUT,
        "/api/providers/internal",
        Some(custom_definition("internal", "X")),
    )
    .await
    .expect(403);

    user.call(&daemon, Method::DELETE, "/api/providers/internal", None)
        .await
        .expect(403);
    let deleted = admin
        .call(&daemon, Method::DELETE, "/api/providers/internal", None)
        .await
        .expect(200)
        .json();
    assert_eq!(deleted, json!({"status": "ok", "provider": "internal"}));
    admin.get(&daemon, "/api/providers/internal").await.expect(404);
    // Deleting a bundled provider revokes its connections; the definition stays.
    admin
        .call(&daemon, Method::DELETE, "/api/providers/openai", None)
        .await
        .expect(200);
    admin.get(&daemon, "/api/providers/openai").await.expect(200);
}

#[tokio::test]
async fn provider_configuration_needs_an_admin_and_an_oauth_provider() {
    let daemon = Daemon::start().await;
    let (admin, _) = daemon.claimed_agent("config-admin", "config@example.com").await;
    let (user, _) = daemon.claimed_agent("config-user", "config-user@example.com").await;
    let body = json!({"client_id": "abc", "client_secret": "shh", "scopes": ["a", "b"]});
    user.call(
        &daemon,
        Method::PUT,
        "/api/providers/openai/configuration",
        Some(body.clone()),
    )
    .await
    .expect(403);
    let unchanged = admin
        .call(&daemon, Method::PUT, "/api/providers/openai/configuration", Some(body))
        .await
        .expect(200)
        .json();
    assert_eq!(
        unchanged,
        json!({"status": "ok", "changed": false, "provider": "openai"})
    );
    admin
        .call(
            &daemon,
            Method::PUT,
            "/api/providers/openai/configuration",
            Some(json!({"scopes": 7})),
        )
        .await
        .expect(422);
    admin
        .call(
            &daemon,
            Method::PUT,
            "/api/providers/nope/configuration",
            Some(json!({})),
        )
        .await
        .expect(404);
}

#[tokio::test]
async fn every_request_failure_is_json_with_the_right_status() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("errors-agent", "errors@example.com").await;
    // Unknown API paths and methods: JSON, not an HTML page.
    let unknown = daemon.get("/api/does-not-exist").await.expect(404);
    assert_eq!(unknown.json(), json!({"detail": "Not Found"}));
    daemon.call(Method::DELETE, "/api/whoami", None).await.expect(405);
    // Malformed JSON and oversized bodies.
    let bad_json = agent
        .call_with_proof(
            &daemon,
            Method::POST,
            "/api/credentials/resolve",
            b"{not json".to_vec(),
            &agent.proof("POST", "/api/credentials/resolve", b"{not json"),
        )
        .await
        .expect(422);
    assert!(bad_json.json()["detail"].is_array());
    let huge = vec![b'a'; 1024 * 1024 + 1];
    let too_large = daemon
        .send(
            poem::Request::builder()
                .method(Method::POST)
                .uri_str("/api/identities/register")
                .content_type("application/json")
                .body(huge),
        )
        .await
        .expect(413);
    assert!(
        too_large.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("larger than"))
    );
}

/// The committed document lists every operation the code serves, and each is tested above.
#[test]
fn every_documented_operation_has_a_black_box_test() {
    let committed: Value = serde_json::from_str(include_str!("../../../openapi/openapi.json")).expect("committed spec");
    let source = include_str!("http_api.rs");
    let mut missing = Vec::new();
    for (path, item) in committed["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("operations").keys() {
            match TESTED_OPERATIONS.iter().find(|(m, p, _)| m == method && p == path) {
                Some((_, _, test)) => assert!(source.contains(&format!("async fn {test}(")), "no test named {test}"),
                None => missing.push(format!("{} {path}", method.to_uppercase())),
            }
        }
    }
    assert!(missing.is_empty(), "operations without a black-box test: {missing:?}");
}

/// `openapi/openapi.json` is exactly what the code generates (regenerate with
/// `cargo run -p authsome-app -- openapi > openapi/openapi.json`).
#[test]
fn the_committed_openapi_document_matches_the_code() {
    let generated = authsome_app::http::api::document();
    let committed = include_str!("../../../openapi/openapi.json");
    assert!(
        generated.trim_end() == committed.trim_end(),
        "openapi/openapi.json is stale: run `cargo run -p authsome-app -- openapi > openapi/openapi.json`"
    );
}

/// A name in a path that is not a valid name names nothing: every route answers it as not
/// found, the same as an unknown name, and echoes it escaped.
#[tokio::test]
async fn an_invalid_name_in_a_path_is_not_found_on_every_route() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("names-agent", "names@example.com").await;
    agent.store_openai_key(&daemon, "default", OPENAI_KEY).await;
    let bad_provider = "Open%E2%80%8BAI";
    for (method, path) in [
        (Method::GET, format!("/api/connections/{bad_provider}/default")),
        (Method::GET, format!("/api/connections/{bad_provider}/default/detail")),
        (Method::POST, format!("/api/connections/{bad_provider}/default/logout")),
        (Method::POST, format!("/api/connections/{bad_provider}/default/default")),
        (Method::POST, format!("/api/connections/{bad_provider}/default/global")),
        (Method::POST, format!("/api/connections/{bad_provider}/revoke")),
        (Method::DELETE, format!("/api/connections/{bad_provider}/global")),
        (Method::GET, format!("/api/providers/{bad_provider}")),
        (Method::GET, format!("/api/providers/{bad_provider}/detail")),
        (Method::DELETE, format!("/api/providers/{bad_provider}")),
    ] {
        let reply = call_encoded(&daemon, &agent, method.clone(), &path).await;
        assert_eq!(reply.status.as_u16(), 404, "{method} {path}: {}", reply.text());
        let body = reply.json();
        assert_eq!(body["error"], "ProviderNotFoundError", "{method} {path}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains("\\u{200B}")),
            "{body}"
        );
    }
    // A connection name with a control character: not found, as an unknown connection.
    for (method, path) in [
        (Method::GET, "/api/connections/openai/de%01fault".to_owned()),
        (Method::POST, "/api/connections/openai/de%01fault/default".to_owned()),
    ] {
        let reply = call_encoded(&daemon, &agent, method.clone(), &path).await;
        assert_eq!(reply.status.as_u16(), 404, "{method} {path}: {}", reply.text());
        assert_eq!(reply.json()["error"], "ConnectionNotFoundError");
    }
}

/// A name in a body that is not a valid name gets the answer its route gives an unknown one:
/// resolve reads the vault first, so a missing connection; export and login start read the
/// catalog first, so a missing provider. The name is echoed escaped.
#[tokio::test]
async fn an_invalid_name_in_a_body_is_answered_as_an_unknown_one() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("body-names-agent", "body-names@example.com").await;
    agent.store_openai_key(&daemon, "default", OPENAI_KEY).await;
    let bad_provider = "Open\u{200B}AI";
    for (path, body, error) in [
        (
            "/api/credentials/resolve",
            json!({"provider": bad_provider}),
            "ConnectionNotFoundError",
        ),
        (
            "/api/credentials/resolve",
            json!({"provider": "unknown-provider"}),
            "ConnectionNotFoundError",
        ),
        (
            "/api/credentials/export",
            json!({"provider": bad_provider, "format": "env"}),
            "ProviderNotFoundError",
        ),
        (
            "/api/auth/sessions",
            json!({"provider": bad_provider}),
            "ProviderNotFoundError",
        ),
        (
            "/api/auth/sessions",
            json!({"provider": "unknown-provider"}),
            "ProviderNotFoundError",
        ),
    ] {
        let reply = agent.post(&daemon, path, body.clone()).await;
        assert_eq!(reply.status.as_u16(), 404, "{path} {body}: {}", reply.text());
        let answer = reply.json();
        assert_eq!(answer["error"], error, "{path} {body}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(!message.contains('\u{200B}'), "{answer}");
    }
    // A connection name with a control character: a missing connection, on both routes.
    for path in ["/api/credentials/resolve", "/api/credentials/export"] {
        let reply = agent
            .post(
                &daemon,
                path,
                json!({"provider": "openai", "connection": "de\u{1}fault"}),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 404, "{path}: {}", reply.text());
        assert_eq!(reply.json()["error"], "ConnectionNotFoundError", "{path}");
    }
    // The valid names still resolve.
    let reply = agent
        .post(&daemon, "/api/credentials/resolve", json!({"provider": "openai"}))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
}

/// A signed request to a percent-encoded path: the proof names the decoded path, as the CLI
/// signs it.
async fn call_encoded(daemon: &Daemon, agent: &Agent, method: Method, path: &str) -> support::Reply {
    let decoded = path.replace("%E2%80%8B", "\u{200B}").replace("%01", "\u{1}");
    let proof = agent.proof(method.as_str(), &decoded, b"");
    agent.call_with_proof(daemon, method, path, Vec::new(), &proof).await
}
