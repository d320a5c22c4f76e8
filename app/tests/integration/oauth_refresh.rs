//! Token refresh in `POST /api/credentials/resolve`, against a real authorization server
//! (node-oidc-provider) that rotates refresh tokens and, like real providers, ends the whole
//! grant when a used refresh token comes back: one refresh grant however many requests ask at
//! once, the rotated token kept, refusals and silences answered clearly, and logouts ending
//! the tokens at the provider. On the local default (memory leases); the two-replica Postgres +
//! Redis case is tests/blackbox/test_oauth_refresh.py.
//!
//! The authorization server's test hooks (tests/oauth/authorization-server.mjs) count its token
//! endpoint's answers and can hold one request back, as a slow network would; nothing else in
//! it is a fake.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authsome_ports::{LeaseStore, StateError};
use poem::http::Method;
use serde_json::{Value, json};
use support::authorization_server::{AuthorizationServer, connect_with_pkce, resolved_token};
use support::faulty_vault::FaultyWrites;
use support::{Agent, Browser, Daemon};

const CALLBACK: &str = "/api/auth/callback/oauth";
const PROVIDER: &str = "test-refresh";
/// Seconds the authorization server's access tokens live: due for refresh after half of it.
const TOKEN_SECONDS: u64 = 2;

struct Setup {
    daemon: Arc<Daemon>,
    server: AuthorizationServer,
    agent: Arc<Agent>,
    browser: Browser,
}

/// A daemon (with `vars`, its vault on `blob_store`, and `customize` applied), a live PKCE
/// connection of the admin's agent, and the authorization server that issued it.
async fn connected(
    handle: &str,
    vars: &[(&str, &str)],
    blob_store: Arc<dyn authsome_ports::VaultBlobStore>,
    customize: impl FnOnce(&mut authsome_app::state::AppState),
) -> Setup {
    let (daemon, base_url) = Daemon::serve_at_own_address_on(vars, blob_store, customize).await;
    let server = AuthorizationServer::start(&[&format!("{base_url}{CALLBACK}")], TOKEN_SECONDS);
    let (agent, browser) = daemon.claimed_agent(handle, &format!("{handle}@example.com")).await;
    connect_with_pkce(&daemon, &base_url, &server, &agent, &browser, PROVIDER).await;
    Setup {
        daemon: Arc::new(daemon),
        server,
        agent: Arc::new(agent),
        browser,
    }
}

async fn memory_connected(handle: &str, vars: &[(&str, &str)]) -> Setup {
    connected(handle, vars, Arc::new(authsome_memory::MemoryBlobStore::new()), |_| {}).await
}

/// The stored connection, as the agent reads it.
async fn stored(setup: &Setup) -> Value {
    setup
        .agent
        .get(&setup.daemon, &format!("/api/connections/{PROVIDER}/default"))
        .await
        .expect(200)
        .json()
}

async fn resolve(setup: &Setup) -> support::Reply {
    setup
        .agent
        .post(&setup.daemon, "/api/credentials/resolve", json!({"provider": PROVIDER}))
        .await
}

/// Waits until the stored access token has expired.
async fn until_expired() {
    tokio::time::sleep(Duration::from_millis(TOKEN_SECONDS * 1000 + 300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_resolves_of_an_expired_token_cause_one_refresh_grant() {
    let setup = memory_connected("refresh-crowd", &[]).await;
    let before = stored(&setup).await;
    until_expired().await;
    // The provider takes half a second over the grant, so that all 100 requests are in while
    // it is out (a fast grant would serve late arrivals a token already fresh).
    setup.server.hold_next_token_request(500).await;

    let started = Instant::now();
    let mut resolves = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (daemon, agent) = (setup.daemon.clone(), setup.agent.clone());
        resolves.spawn(async move {
            let reply = agent
                .post(&daemon, "/api/credentials/resolve", json!({"provider": PROVIDER}))
                .await;
            (reply.status.as_u16(), reply.json())
        });
    }
    let mut tokens = std::collections::BTreeSet::new();
    while let Some(joined) = resolves.join_next().await {
        let (status, body) = joined.expect("resolve task");
        assert_eq!(status, 200, "{body}");
        tokens.insert(body["headers"]["Authorization"].as_str().expect("bearer").to_owned());
    }
    let all_served = started.elapsed();
    assert_eq!(
        setup.server.token_requests("refresh_token").await,
        (1, 0),
        "exactly one refresh grant"
    );
    assert_eq!(tokens.len(), 1, "every request got the one refreshed token: {tokens:?}");
    let token = tokens.pop_first().expect("a token");
    let token = token.strip_prefix("Bearer ").expect("Bearer");
    assert_ne!(Some(token), before["access_token"].as_str(), "a new token");
    let introspected = setup.server.introspect(token).await;
    assert_eq!(introspected.get("active"), Some(&json!(true)), "{introspected:?}");
    let after = stored(&setup).await;
    assert_ne!(
        after["refresh_token"], before["refresh_token"],
        "the rotated refresh token is kept"
    );
    assert_eq!(after["status"], "connected");
    println!("100 concurrent resolves of an expired token: all served in {all_served:?}, one refresh grant");

    // The rotated refresh token works for the next refresh (a second use of the old one would
    // have ended the grant).
    until_expired().await;
    let next = resolved_token(&setup.daemon, &setup.agent, PROVIDER).await;
    assert_ne!(next, token);
    assert_eq!(setup.server.token_requests("refresh_token").await, (2, 0));
    let introspected = setup.server.introspect(&next).await;
    assert_eq!(introspected.get("active"), Some(&json!(true)), "{introspected:?}");

    let metrics = setup.daemon.get("/metrics").await.expect(200).text();
    assert!(
        metrics.contains(&format!(
            "authsome_oauth_refreshes_total{{provider=\"{PROVIDER}\",outcome=\"succeeded\"}} 2"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "authsome_oauth_refreshes_total{{provider=\"{PROVIDER}\",outcome=\"waited\"}} 99"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "authsome_oauth_upstream_seconds_count{{provider=\"{PROVIDER}\",endpoint=\"token\"}} 2"
        )),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_token_is_served_without_asking_the_provider() {
    let setup = memory_connected("refresh-fresh", &[]).await;
    let first = resolved_token(&setup.daemon, &setup.agent, PROVIDER).await;
    let second = resolved_token(&setup.daemon, &setup.agent, PROVIDER).await;
    assert_eq!(first, second);
    assert_eq!(
        setup.server.token_requests("refresh_token").await,
        (0, 0),
        "a 2 s token is not refreshed in its first second (0.7.2 refreshed tokens under 300 s on every use)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_grant_fails_the_refresh_and_the_connection_reads_expired() {
    let setup = memory_connected("refresh-revoked", &[]).await;
    let before = stored(&setup).await;
    // The person removes the application's access at the provider.
    setup
        .server
        .revoke(
            before["refresh_token"].as_str().expect("a refresh token"),
            ("authsome-pkce", "pkce-client-secret"),
        )
        .await;
    until_expired().await;

    let refused = resolve(&setup).await.expect(400).json();
    assert_eq!(refused["error"], "RefreshFailedError", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "[{PROVIDER}] Token refresh failed: the provider refused: invalid_grant"
        )),
        "{message}"
    );
    assert!(!message.contains(before["refresh_token"].as_str().unwrap_or("-")));
    assert_eq!(stored(&setup).await["status"], "expired");

    // The requests right behind it are answered the same way, without another grant.
    let again = resolve(&setup).await.expect(400).json();
    assert_eq!(again["error"], "RefreshFailedError");
    assert_eq!(setup.server.token_requests("refresh_token").await, (0, 1));

    let events = setup
        .agent
        .get(&setup.daemon, "/api/audit/events?limit=50")
        .await
        .expect(200)
        .json();
    let failed: Vec<&Value> = events["entries"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["event"] == "provider.refresh_failed")
        .collect();
    assert_eq!(failed.len(), 1, "{events}");
    assert_eq!(failed[0]["provider"], PROVIDER);
    assert_eq!(failed[0]["fallback_available"], false, "{}", failed[0]);

    // The owner's dashboard says so and offers to connect again, which starts a new login
    // at the provider; the connection's page shows the refresh's error.
    let mut browser = setup.browser.clone();
    let home = browser.get(&setup.daemon, "/").await.expect(200).text();
    assert!(home.contains("<strong>expired</strong>"), "{home}");
    assert!(
        home.contains(&format!("action=\"/api/auth/providers/{PROVIDER}/connect\""))
            && home.contains("name=\"force\" value=\"1\""),
        "{home}"
    );
    let csrf = support::hidden_field(&home, "csrf_token");
    // (A form that leads off the site answers with a page that moves on by itself, since the
    // pages' CSP allows forms to post only to this site.)
    let again = browser
        .post_form(
            &setup.daemon,
            &format!("/api/auth/providers/{PROVIDER}/connect"),
            &[("connection", "default"), ("force", "1"), ("csrf_token", &csrf)],
        )
        .await
        .expect(200)
        .text();
    assert!(
        again.contains(&format!("href=\"{}/auth?", setup.server.issuer)),
        "{again}"
    );
    let detail = browser
        .get(
            &setup.daemon,
            &format!("/connections/detail?provider={PROVIDER}&connection=default"),
        )
        .await
        .expect(200)
        .text();
    assert!(detail.contains("invalid_grant"), "the last refresh's error: {detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_does_not_answer_is_a_504_and_the_connection_survives_it() {
    let setup = memory_connected("refresh-silent", &[("AUTHSOME_OUTBOUND_TIMEOUT_SECONDS", "1")]).await;
    until_expired().await;
    setup.server.hold_next_token_request(3_000).await;

    let started = Instant::now();
    let reply = resolve(&setup).await.expect(504).json();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by the outbound timeout"
    );
    assert_eq!(reply["error"], "RefreshFailedError");
    assert_eq!(
        reply["message"],
        format!("[{PROVIDER}] Token refresh failed: the provider did not answer within 1 s")
    );
    assert_eq!(
        stored(&setup).await["status"],
        "connected",
        "a silence does not end the connection"
    );
    // Other connections and requests are not held up meanwhile.
    setup.agent.get(&setup.daemon, "/api/whoami").await.expect(200);

    // Once the provider answers again (the held request was dropped unseen when we gave up on
    // it), the same refresh token refreshes.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let token = resolved_token(&setup.daemon, &setup.agent, PROVIDER).await;
    assert_eq!(setup.server.token_requests("refresh_token").await, (1, 0));
    let introspected = setup.server.introspect(&token).await;
    assert_eq!(introspected.get("active"), Some(&json!(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_whose_holder_dies_is_taken_over_after_its_lease() {
    let setup = memory_connected("refresh-orphan", &[("AUTHSOME_OUTBOUND_TIMEOUT_SECONDS", "1")]).await;
    let longest_wait = authsome_services::oauth::refresh::longest_wait(&setup.daemon.state);
    until_expired().await;
    // The first request takes the lease and sends its grant, then dies before an answer
    // comes: its future is dropped, as a replica killed mid-request leaves the lease behind.
    setup.server.hold_next_token_request(10_000).await;
    let dying = tokio::time::timeout(Duration::from_millis(500), resolve(&setup)).await;
    assert!(dying.is_err(), "the first request was still waiting for the provider");

    let started = Instant::now();
    let token = resolved_token(&setup.daemon, &setup.agent, PROVIDER).await;
    let waited = started.elapsed();
    let lease = authsome_services::oauth::refresh::lease_duration(&setup.daemon.state);
    assert!(
        waited >= lease - Duration::from_secs(1) && waited < longest_wait,
        "waited {waited:?}: until the dead holder's lease ({lease:?}) ran out, within {longest_wait:?}"
    );
    assert_eq!(
        setup.server.token_requests("refresh_token").await,
        (1, 0),
        "one grant reached the provider"
    );
    let introspected = setup.server.introspect(&token).await;
    assert_eq!(introspected.get("active"), Some(&json!(true)));
}

/// The lease store, refusing every call (Redis down).
struct LeasesDown;

#[async_trait::async_trait]
impl LeaseStore for LeasesDown {
    async fn acquire(&self, _name: &str, _holder: &str, _ttl: Duration) -> Result<bool, StateError> {
        Err(StateError::unavailable(std::io::Error::other("connection refused")))
    }
    async fn release(&self, _name: &str, _holder: &str) -> Result<bool, StateError> {
        Err(StateError::unavailable(std::io::Error::other("connection refused")))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_lease_store_a_due_refresh_is_a_503_and_no_grant_is_sent() {
    let leases_down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let switch = leases_down.clone();
    let setup = connected(
        "refresh-no-leases",
        &[],
        Arc::new(authsome_memory::MemoryBlobStore::new()),
        move |state| {
            let working = state.runtime.leases.clone();
            state.runtime.leases = Arc::new(Switchable { working, down: switch });
        },
    )
    .await;
    let before = stored(&setup).await;
    until_expired().await;
    leases_down.store(true, Ordering::SeqCst);
    let reply = resolve(&setup).await.expect(503).json();
    assert!(reply["detail"].as_str().is_some_and(|d| !d.is_empty()), "{reply}");
    assert_eq!(setup.server.token_requests("refresh_token").await, (0, 0));
    assert_eq!(stored(&setup).await, before, "nothing was written");

    leases_down.store(false, Ordering::SeqCst);
    let token = resolved_token(&setup.daemon, &setup.agent, PROVIDER).await;
    assert_eq!(setup.server.token_requests("refresh_token").await, (1, 0));
    assert_eq!(setup.server.introspect(&token).await.get("active"), Some(&json!(true)));
}

/// Leases that work, or refuse every call while `down` is set.
struct Switchable {
    working: Arc<dyn LeaseStore>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait::async_trait]
impl LeaseStore for Switchable {
    async fn acquire(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StateError> {
        if self.down.load(Ordering::SeqCst) {
            return LeasesDown.acquire(name, holder, ttl).await;
        }
        self.working.acquire(name, holder, ttl).await
    }
    async fn release(&self, name: &str, holder: &str) -> Result<bool, StateError> {
        if self.down.load(Ordering::SeqCst) {
            return LeasesDown.release(name, holder).await;
        }
        self.working.release(name, holder).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refreshed_token_that_cannot_be_stored_at_once_is_stored_from_the_same_grant() {
    // The next `failures` writes of connection records fail.
    let failures = Arc::new(AtomicUsize::new(0));
    let left = failures.clone();
    let store = Arc::new(FaultyWrites::new("connection reset", move |key| {
        key.contains(":connection:")
            && left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
    }));
    let setup = connected("refresh-flaky", &[], store, |_| {}).await;
    until_expired().await;
    failures.store(3, Ordering::SeqCst);
    let token = resolved_token(&setup.daemon, &setup.agent, PROVIDER).await;
    assert_eq!(failures.load(Ordering::SeqCst), 0, "three writes failed first");
    assert_eq!(
        setup.server.token_requests("refresh_token").await,
        (1, 0),
        "never a second grant"
    );
    assert_eq!(stored(&setup).await["access_token"], token.as_str());

    // What was stored is the rotated refresh token: the next refresh works.
    until_expired().await;
    let next = resolved_token(&setup.daemon, &setup.agent, PROVIDER).await;
    assert_eq!(setup.server.token_requests("refresh_token").await, (2, 0));
    assert_eq!(setup.server.introspect(&next).await.get("active"), Some(&json!(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_out_revokes_the_tokens_at_the_provider() {
    let setup = memory_connected("refresh-logout", &[]).await;
    let record = stored(&setup).await;
    let access = record["access_token"].as_str().expect("access token").to_owned();
    let refresh = record["refresh_token"].as_str().expect("refresh token").to_owned();
    assert_eq!(setup.server.introspect(&access).await.get("active"), Some(&json!(true)));

    let revoked = log_out(&setup.daemon, &setup.agent).await;
    assert_eq!(revoked["status"], "success", "{revoked}");
    assert_eq!(
        setup.server.introspect(&access).await.get("active"),
        Some(&json!(false))
    );
    assert_eq!(
        setup.server.introspect(&refresh).await.get("active"),
        Some(&json!(false))
    );
}

/// The agent logs out of its connection, which is then gone; returns the
/// `provider.token_revoked` event the logout left.
async fn log_out(daemon: &Daemon, agent: &Agent) -> Value {
    let reply = agent
        .call(
            daemon,
            Method::POST,
            &format!("/api/connections/{PROVIDER}/default/logout"),
            None,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    agent
        .get(daemon, &format!("/api/connections/{PROVIDER}/default"))
        .await
        .expect(404);
    let events = agent.get(daemon, "/api/audit/events?limit=20").await.expect(200).json();
    events["entries"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["event"] == "provider.token_revoked")
        .cloned()
        .unwrap_or_else(|| panic!("no provider.token_revoked event: {events}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_revocation_still_removes_the_connection_and_is_recorded() {
    let setup = memory_connected("refresh-logout-down", &[]).await;
    // The provider is gone when the person logs out.
    drop(setup.server);
    let revoked = log_out(&setup.daemon, &setup.agent).await;
    assert_eq!(revoked["status"], "failure", "{revoked}");
    let error = revoked["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("refresh_token: cannot reach the provider"), "{error}");
}
