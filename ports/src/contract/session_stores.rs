//! Contract cases for [`AuthSessionStore`], [`PendingClaimStore`], [`BrowserSessionStore`],
//! [`RateLimiter`] and [`LeaseStore`].

use std::sync::Arc;
use std::time::Duration;

use authsome_domain::{
    AuthSession, AuthSessionId, AuthSessionState, BrowserSession, BrowserSessionToken, ConnectionName, PrincipalId,
    ProviderName, Timestamp,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::contract::concurrency::race_all;
use crate::contract::{eventually, sample};
use crate::{
    AuthSessionStore, BrowserSessionStore, LeaseStore, OPEN_SESSIONS_PER_OWNER, PendingClaimStore, RateLimiter,
};

/// Fresh, isolated session stores; dropping the fixture cleans the backend up.
pub trait SessionStoresFixture {
    /// Login sessions.
    fn auth_sessions(&self) -> Arc<dyn AuthSessionStore>;
    /// Login sessions through a second, independent client of the same backend.
    fn auth_sessions_second_client(&self) -> Arc<dyn AuthSessionStore>;
    /// Claim tokens.
    fn pending_claims(&self) -> Arc<dyn PendingClaimStore>;
    /// Claim tokens through a second, independent client of the same backend.
    fn pending_claims_second_client(&self) -> Arc<dyn PendingClaimStore>;
    /// Browser sessions.
    fn browser_sessions(&self) -> Arc<dyn BrowserSessionStore>;
    /// Attempt counters.
    fn rate_limiter(&self) -> Arc<dyn RateLimiter>;
    /// Attempt counters through a second, independent client of the same backend.
    fn rate_limiter_second_client(&self) -> Arc<dyn RateLimiter>;
    /// Leases.
    fn leases(&self) -> Arc<dyn LeaseStore>;
    /// Leases through a second, independent client of the same backend.
    fn leases_second_client(&self) -> Arc<dyn LeaseStore>;
    /// The backend's health.
    fn health(&self) -> Arc<dyn crate::StateHealth>;
}

fn login_session(ttl_seconds: i64) -> AuthSession {
    let mut session = AuthSession::new(
        ProviderName::parse("openai").expect("provider"),
        Some(sample::handle()),
        Some(PrincipalId::generate()),
        ConnectionName::default_name(),
        "api_key",
        ttl_seconds,
    );
    session
        .payload
        .insert("input_fields".to_owned(), json!([{"name": "api_key", "secret": true}]));
    session
        .secrets
        .insert("api_key", SecretString::from("sk-contract-0123456789abcdef".to_owned()));
    session
}

fn assert_same_session(actual: &AuthSession, expected: &AuthSession) {
    assert_eq!(actual.id, expected.id);
    assert_eq!(actual.provider, expected.provider);
    assert_eq!(actual.identity, expected.identity);
    assert_eq!(actual.principal_id, expected.principal_id);
    assert_eq!(actual.connection_name, expected.connection_name);
    assert_eq!(actual.flow_type, expected.flow_type);
    assert_eq!(actual.state, expected.state);
    assert_eq!(actual.status_message, expected.status_message);
    assert_eq!(actual.error_message, expected.error_message);
    assert_eq!(actual.oauth_state, expected.oauth_state);
    assert_eq!(actual.payload, expected.payload);
    assert_eq!(
        (actual.created_at, actual.expires_at),
        (expected.created_at, expected.expires_at)
    );
    let names = |s: &AuthSession| {
        s.secrets
            .iter()
            .map(|(k, v)| (k.clone(), v.expose_secret().to_owned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(actual), names(expected), "secrets survive the round trip");
}

/// A saved session comes back whole, secrets included; changes replace it.
pub async fn auth_session_save_get_and_update(f: &dyn SessionStoresFixture) {
    let store = f.auth_sessions();
    let mut session = login_session(300);
    store.save(&session).await.expect("save");
    assert_same_session(&store.get(&session.id).await.expect("get").expect("present"), &session);

    session.state = AuthSessionState::Completed;
    session.status_message = Some("Login successful".to_owned());
    session.secrets.remove("api_key");
    store.save(&session).await.expect("update");
    assert_same_session(&store.get(&session.id).await.expect("get").expect("present"), &session);
    assert!(store.get(&AuthSessionId::generate()).await.expect("unknown").is_none());
}

/// Deleting a session removes it and reports whether it existed.
pub async fn auth_session_delete(f: &dyn SessionStoresFixture) {
    let store = f.auth_sessions();
    let session = login_session(300);
    store.save(&session).await.expect("save");
    assert!(store.delete(&session.id).await.expect("delete"));
    assert!(!store.delete(&session.id).await.expect("delete again"));
    assert!(store.get(&session.id).await.expect("get").is_none());
}

/// One owner keeps at most [`OPEN_SESSIONS_PER_OWNER`] login sessions open, however many
/// starts race through two clients: the sessions that expire first go (with their OAuth state),
/// the newest stays, another owner's sessions are untouched, saving an open session again
/// evicts nothing, and ended sessions do not count.
pub async fn auth_session_an_owner_keeps_a_bounded_number_open(f: &dyn SessionStoresFixture) {
    let store = f.auth_sessions();
    let owner = PrincipalId::generate();
    let of_owner = |ttl_seconds: i64| {
        let mut session = login_session(ttl_seconds);
        session.principal_id = Some(owner.clone());
        session
    };
    let neighbour = login_session(60);
    store.save(&neighbour).await.expect("save");
    let mut oldest = of_owner(60);
    oldest.oauth_state = Some(authsome_domain::random_token::url_safe(32));
    store.save(&oldest).await.expect("save");

    let extra = 8;
    let started: Vec<AuthSession> = (0..OPEN_SESSIONS_PER_OWNER + extra).map(|_| of_owner(600)).collect();
    let clients = [f.auth_sessions(), f.auth_sessions_second_client()];
    let saves = race_all(started.len(), |i| {
        let (store, session) = (clients[i % 2].clone(), started[i].clone());
        async move { store.save(&session).await }
    })
    .await;
    assert!(saves.iter().all(Result::is_ok), "every save succeeds: {saves:?}");
    let newest = of_owner(900);
    store.save(&newest).await.expect("save");

    let mut open = Vec::new();
    for session in &started {
        if store.get(&session.id).await.expect("get").is_some() {
            open.push(session.clone());
        }
    }
    assert_eq!(open.len(), OPEN_SESSIONS_PER_OWNER - 1, "the bound, with the newest");
    assert!(store.get(&newest.id).await.expect("get").is_some(), "the newest stays");
    assert!(
        store.get(&oldest.id).await.expect("get").is_none(),
        "the first to expire goes"
    );
    let state = oldest.oauth_state.clone().expect("state");
    assert!(store.take_by_oauth_state(&state).await.expect("take").is_none());
    assert!(
        store.get(&neighbour.id).await.expect("get").is_some(),
        "another owner's stays"
    );

    // Saving an open session again (its next step) removes nothing.
    store.save(&open[0]).await.expect("save again");
    for session in &open {
        assert!(store.get(&session.id).await.expect("get").is_some());
    }
    // Ended sessions leave room: after ending five, five new ones evict nobody.
    for session in &open[..5] {
        assert!(store.delete(&session.id).await.expect("delete"));
    }
    for _ in 0..5 {
        store.save(&of_owner(900)).await.expect("save");
    }
    for session in open[5..].iter().chain([&newest]) {
        assert!(
            store.get(&session.id).await.expect("get").is_some(),
            "nobody open was evicted"
        );
    }
}

/// A session is found by its current OAuth state, once: the state is spent by finding it.
pub async fn auth_session_oauth_state_is_taken_once(f: &dyn SessionStoresFixture) {
    let store = f.auth_sessions();
    let mut session = login_session(300);
    session.oauth_state = Some(authsome_domain::random_token::url_safe(32));
    store.save(&session).await.expect("save");
    let state = session.oauth_state.clone().expect("state");
    assert_same_session(
        &store.take_by_oauth_state(&state).await.expect("take").expect("present"),
        &session,
    );
    assert!(
        store.take_by_oauth_state(&state).await.expect("again").is_none(),
        "a state is good once"
    );
    assert!(
        f.auth_sessions_second_client()
            .take_by_oauth_state(&state)
            .await
            .expect("elsewhere")
            .is_none(),
        "on every replica"
    );
    assert!(
        store.get(&session.id).await.expect("get").is_some(),
        "the session itself stays"
    );
    assert!(
        store
            .take_by_oauth_state("unknown-state")
            .await
            .expect("unknown")
            .is_none()
    );

    // A state replaced by a later save no longer finds the session.
    let mut other = login_session(300);
    other.oauth_state = Some("first-state".to_owned());
    store.save(&other).await.expect("save");
    other.oauth_state = Some("second-state".to_owned());
    store.save(&other).await.expect("save");
    assert!(store.take_by_oauth_state("first-state").await.expect("old").is_none());
    assert!(store.take_by_oauth_state("second-state").await.expect("new").is_some());

    // Deleting the session takes its state with it.
    let mut deleted = login_session(300);
    deleted.oauth_state = Some("deleted-state".to_owned());
    store.save(&deleted).await.expect("save");
    store.delete(&deleted.id).await.expect("delete");
    assert!(
        store
            .take_by_oauth_state("deleted-state")
            .await
            .expect("after delete")
            .is_none()
    );
}

/// Fifty callbacks with one state at once, on two clients: exactly one gets the session.
pub async fn auth_session_concurrent_takes_have_one_winner(f: &dyn SessionStoresFixture) {
    let clients = [f.auth_sessions(), f.auth_sessions_second_client()];
    let mut session = login_session(300);
    session.oauth_state = Some(authsome_domain::random_token::url_safe(32));
    clients[0].save(&session).await.expect("save");
    let state = session.oauth_state.clone().expect("state");
    let results = race_all(50, |i| {
        let (store, state) = (clients[i % 2].clone(), state.clone());
        async move { store.take_by_oauth_state(&state).await.expect("take").is_some() }
    })
    .await;
    assert_eq!(results.iter().filter(|won| **won).count(), 1);
}

/// Polls come due at their time, on every client, earliest first, and are removed by
/// unscheduling (or deleting the session); rescheduling moves a poll.
pub async fn auth_session_polls_are_scheduled_and_come_due(f: &dyn SessionStoresFixture) {
    let (store, other) = (f.auth_sessions(), f.auth_sessions_second_client());
    let now = Timestamp::now();
    let (soon, later, gone) = (login_session(300), login_session(300), login_session(300));
    for session in [&soon, &later, &gone] {
        store.save(session).await.expect("save");
    }
    store
        .schedule_poll(&later.id, now.plus_seconds(-1))
        .await
        .expect("schedule");
    store
        .schedule_poll(&soon.id, now.plus_seconds(-5))
        .await
        .expect("schedule");
    store
        .schedule_poll(&gone.id, now.plus_seconds(60))
        .await
        .expect("schedule");
    assert_eq!(
        other.due_polls(now, 10).await.expect("due"),
        vec![soon.id.clone(), later.id.clone()],
        "due ones, earliest first, seen from another client"
    );
    assert_eq!(other.due_polls(now, 1).await.expect("due"), vec![soon.id.clone()]);
    assert_eq!(other.due_polls(now.plus_seconds(120), 10).await.expect("due").len(), 3);
    store
        .schedule_poll(&soon.id, now.plus_seconds(30))
        .await
        .expect("reschedule");
    assert_eq!(other.due_polls(now, 10).await.expect("due"), vec![later.id.clone()]);
    other.unschedule_poll(&later.id).await.expect("unschedule");
    store.unschedule_poll(&later.id).await.expect("twice is fine");
    assert!(store.due_polls(now, 10).await.expect("due").is_empty());
    store.delete(&gone.id).await.expect("delete");
    assert_eq!(
        store.due_polls(now.plus_seconds(120), 10).await.expect("due"),
        vec![soon.id.clone()],
        "deleting a session drops its poll"
    );
}

/// A lease has one holder at a time; only its holder releases it.
pub async fn lease_has_one_holder_and_only_it_releases(f: &dyn SessionStoresFixture) {
    let (leases, other) = (f.leases(), f.leases_second_client());
    let name = format!("refresh:{}", authsome_domain::random_token::hex(12));
    let ttl = Duration::from_secs(30);
    assert!(leases.acquire(&name, "holder-a", ttl).await.expect("acquire"));
    assert!(
        !other.acquire(&name, "holder-b", ttl).await.expect("held"),
        "held elsewhere"
    );
    assert!(
        !leases.acquire(&name, "holder-a", ttl).await.expect("again"),
        "not re-entrant"
    );
    assert!(
        !other.release(&name, "holder-b").await.expect("release"),
        "not b's to release"
    );
    assert!(!other.acquire(&name, "holder-b", ttl).await.expect("still held"));
    assert!(leases.release(&name, "holder-a").await.expect("release"));
    assert!(!leases.release(&name, "holder-a").await.expect("released twice"));
    assert!(other.acquire(&name, "holder-b", ttl).await.expect("free"));
    assert!(
        leases
            .acquire(&format!("{name}-other"), "holder-a", ttl)
            .await
            .expect("another name")
    );
}

/// A hundred tries at once, on two clients: one holder.
pub async fn lease_concurrent_acquire_has_one_winner(f: &dyn SessionStoresFixture) {
    let clients = [f.leases(), f.leases_second_client()];
    let name = format!("device-poll:{}", authsome_domain::random_token::hex(12));
    let results = race_all(100, |i| {
        let (leases, name) = (clients[i % 2].clone(), name.clone());
        async move {
            leases
                .acquire(&name, &format!("holder-{i}"), Duration::from_secs(30))
                .await
                .expect("acquire")
        }
    })
    .await;
    assert_eq!(results.iter().filter(|won| **won).count(), 1);
}

/// A lease whose holder never releases it is free once its time runs out; the old holder
/// cannot then release the new holder's lease.
pub async fn lease_expires(f: &dyn SessionStoresFixture) {
    let leases = f.leases();
    let name = format!("device-poll:{}", authsome_domain::random_token::hex(12));
    assert!(
        leases
            .acquire(&name, "dead-holder", Duration::from_millis(300))
            .await
            .expect("acquire")
    );
    eventually(Duration::from_secs(10), || {
        let (leases, name) = (leases.clone(), name.clone());
        async move {
            leases
                .acquire(&name, "next-holder", Duration::from_secs(30))
                .await
                .expect("acquire")
        }
    })
    .await;
    assert!(!leases.release(&name, "dead-holder").await.expect("release"));
    assert!(
        !leases
            .acquire(&name, "third", Duration::from_secs(30))
            .await
            .expect("held")
    );
}

/// A session disappears once it expires.
pub async fn auth_session_expires(f: &dyn SessionStoresFixture) {
    let store = f.auth_sessions();
    let session = login_session(1);
    store.save(&session).await.expect("save");
    assert!(store.get(&session.id).await.expect("get").is_some());
    eventually(Duration::from_secs(10), || {
        let (store, id) = (store.clone(), session.id.clone());
        async move { store.get(&id).await.expect("get").is_none() }
    })
    .await;
}

/// A claim token is readable until consumed, and consumed once.
pub async fn pending_claim_create_get_consume(f: &dyn SessionStoresFixture) {
    let store = f.pending_claims();
    let identity = sample::handle();
    let claim = store.create(&identity, 300).await.expect("create");
    assert!(claim.token.starts_with("claim_"));
    assert_eq!(claim.identity, identity);
    assert_eq!(store.get(&claim.token).await.expect("get"), Some(claim.clone()));
    assert_eq!(store.consume(&claim.token).await.expect("consume"), Some(claim.clone()));
    assert!(store.consume(&claim.token).await.expect("consume again").is_none());
    assert!(store.get(&claim.token).await.expect("get after").is_none());
    assert!(store.get("claim_unknown").await.expect("unknown").is_none());
    let second = store.create(&identity, 300).await.expect("another");
    assert_ne!(second.token, claim.token, "tokens are unique");
}

/// Twenty consumers on two clients race for one token: exactly one gets it.
pub async fn pending_claim_concurrent_consume_has_one_winner(f: &dyn SessionStoresFixture) {
    let clients = [f.pending_claims(), f.pending_claims_second_client()];
    let claim = clients[0].create(&sample::handle(), 300).await.expect("create");
    let results = race_all(20, |i| {
        let (store, token) = (clients[i % 2].clone(), claim.token.clone());
        async move { store.consume(&token).await }
    })
    .await;
    let winners = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(winners, 1);
}

/// A claim token stops working after its time to live.
pub async fn pending_claim_expires(f: &dyn SessionStoresFixture) {
    let store = f.pending_claims();
    let claim = store.create(&sample::handle(), 1).await.expect("create");
    eventually(Duration::from_secs(10), || {
        let (store, token) = (store.clone(), claim.token.clone());
        async move { store.get(&token).await.expect("get").is_none() }
    })
    .await;
    assert!(store.consume(&claim.token).await.expect("consume").is_none());
}

fn browser_session(principal_id: &PrincipalId, ttl_seconds: i64) -> BrowserSession {
    BrowserSession::new(principal_id.clone(), sample::email(), ttl_seconds)
}

/// A browser session is found by its token; unknown tokens find nothing.
pub async fn browser_session_create_and_get(f: &dyn SessionStoresFixture) {
    let store = f.browser_sessions();
    let session = browser_session(&PrincipalId::generate(), 3600);
    let token = store.create(&session).await.expect("create");
    let got = store.get(&token).await.expect("get").expect("present");
    assert_eq!(
        (got.principal_id, got.email),
        (session.principal_id.clone(), session.email.clone())
    );
    assert_eq!(got.csrf_token.expose_secret(), session.csrf_token.expose_secret());
    assert_eq!(got.expires_at, session.expires_at);
    assert!(
        store
            .get(&BrowserSessionToken::generate())
            .await
            .expect("unknown")
            .is_none()
    );
    let other = store.create(&session).await.expect("second sign-in");
    assert_ne!(other.expose(), token.expose(), "each sign-in gets its own token");
}

/// Logout ends one session.
pub async fn browser_session_logout_ends_it(f: &dyn SessionStoresFixture) {
    let store = f.browser_sessions();
    let principal = PrincipalId::generate();
    let token = store.create(&browser_session(&principal, 3600)).await.expect("create");
    let kept = store
        .create(&browser_session(&principal, 3600))
        .await
        .expect("another device");
    assert!(store.delete(&token).await.expect("logout"));
    assert!(!store.delete(&token).await.expect("logout again"));
    assert!(store.get(&token).await.expect("get").is_none());
    assert!(
        store.get(&kept).await.expect("other device").is_some(),
        "other sessions stay"
    );
}

/// A password change ends every session of that principal, and only those.
pub async fn browser_session_revoke_all_for_principal(f: &dyn SessionStoresFixture) {
    let store = f.browser_sessions();
    let (alice, bob) = (PrincipalId::generate(), PrincipalId::generate());
    let mut alice_tokens = Vec::new();
    for _ in 0..3 {
        alice_tokens.push(store.create(&browser_session(&alice, 3600)).await.expect("alice"));
    }
    let bob_token = store.create(&browser_session(&bob, 3600)).await.expect("bob");
    assert_eq!(store.delete_for_principal(&alice).await.expect("revoke"), 3);
    for token in &alice_tokens {
        assert!(store.get(token).await.expect("get").is_none());
    }
    assert!(store.get(&bob_token).await.expect("bob").is_some());
    assert_eq!(store.delete_for_principal(&alice).await.expect("again"), 0);
}

/// A browser session ends at its expiry.
pub async fn browser_session_expires(f: &dyn SessionStoresFixture) {
    let store = f.browser_sessions();
    let token = store
        .create(&browser_session(&PrincipalId::generate(), 1))
        .await
        .expect("create");
    eventually(Duration::from_secs(10), || {
        let store = store.clone();
        let token = BrowserSessionToken::from_cookie(token.expose());
        async move { store.get(&token).await.expect("get").is_none() }
    })
    .await;
}

/// Counts grow per key, are independent between keys, and reset on demand.
pub async fn rate_limiter_counts_per_key_and_resets(f: &dyn SessionStoresFixture) {
    let limiter = f.rate_limiter();
    let (a, b) = (
        format!("login:{}", sample::email()),
        format!("login:{}", sample::email()),
    );
    assert_eq!(limiter.count(&a).await.expect("count"), 0);
    for expected in 1..=3 {
        assert_eq!(limiter.hit(&a, 900).await.expect("hit"), expected);
    }
    assert_eq!(limiter.hit(&b, 900).await.expect("other key"), 1);
    assert_eq!(limiter.count(&a).await.expect("count"), 3);
    limiter.reset(&a).await.expect("reset");
    assert_eq!(limiter.count(&a).await.expect("count"), 0);
    assert_eq!(limiter.hit(&a, 900).await.expect("hit"), 1);
}

/// Forty hits on two clients at once get forty distinct counts.
pub async fn rate_limiter_concurrent_hits_are_all_counted(f: &dyn SessionStoresFixture) {
    let clients = [f.rate_limiter(), f.rate_limiter_second_client()];
    let key = format!("login:{}", sample::email());
    let results = race_all(40, |i| {
        let (limiter, key) = (clients[i % 2].clone(), key.clone());
        async move { limiter.hit(&key, 900).await }
    })
    .await;
    let mut counts: Vec<u64> = results.into_iter().map(|r| r.expect("hit")).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=40).collect::<Vec<u64>>());
}

/// A window ends: the count starts again.
pub async fn rate_limiter_windows_expire(f: &dyn SessionStoresFixture) {
    let limiter = f.rate_limiter();
    let key = format!("login:{}", sample::email());
    limiter.hit(&key, 1).await.expect("hit");
    limiter.hit(&key, 1).await.expect("hit");
    eventually(Duration::from_secs(10), || {
        let (limiter, key) = (limiter.clone(), key.clone());
        async move { limiter.count(&key).await.expect("count") == 0 }
    })
    .await;
    assert_eq!(limiter.hit(&key, 900).await.expect("hit"), 1);
}

/// A backend that is up answers its ping, every time.
pub async fn health_answers_while_the_backend_is_up<F: SessionStoresFixture>(fixture: &F) {
    let health = fixture.health();
    for _ in 0..3 {
        health.ping().await.expect("a live backend answers its ping");
    }
}

/// Expands to one `#[tokio::test]` per session-store contract case for `$fixture`.
#[macro_export]
macro_rules! session_stores_contract_tests {
    ($fixture:path) => {
        $crate::session_stores_contract_tests!(@cases $fixture;
            auth_session_save_get_and_update,
            auth_session_delete,
            auth_session_an_owner_keeps_a_bounded_number_open,
            auth_session_oauth_state_is_taken_once,
            auth_session_concurrent_takes_have_one_winner,
            auth_session_polls_are_scheduled_and_come_due,
            lease_has_one_holder_and_only_it_releases,
            lease_concurrent_acquire_has_one_winner,
            lease_expires,
            auth_session_expires,
            pending_claim_create_get_consume,
            pending_claim_concurrent_consume_has_one_winner,
            pending_claim_expires,
            browser_session_create_and_get,
            browser_session_logout_ends_it,
            browser_session_revoke_all_for_principal,
            browser_session_expires,
            rate_limiter_counts_per_key_and_resets,
            rate_limiter_concurrent_hits_are_all_counted,
            rate_limiter_windows_expire,
            health_answers_while_the_backend_is_up,
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture().await;
                $crate::contract::session_stores::$case(&fixture).await;
            }
        )*
    };
}
