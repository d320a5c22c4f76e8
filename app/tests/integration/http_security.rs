//! The security fixes of the HTTP layer, tested through the real endpoint: proof-of-possession
//! hygiene (weakness 4), server-side browser sessions with CSRF tokens and sign-in throttling
//! (6), claims (1, 11), login inputs bound to their owner (3), who becomes admin (2), and the
//! pages themselves (headers, redirects, no open redirects).

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use authsome_domain::Timestamp;
use authsome_ports::{IdQuota, ReplayCache, ReplayCheck, StateError};
use poem::http::Method;
use serde_json::json;
use support::faulty_vault::FaultyWrites;
use support::{Agent, Browser, Daemon, encode, hidden_field, local_path};

const PASSWORD: &str = "a long enough password";

// ---- Proof-of-possession (weakness 4) ----

#[tokio::test]
async fn a_proof_is_single_use_and_bound_to_its_request() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("pop-agent", "pop@example.com").await;
    let proof = agent.proof("GET", "/api/whoami", b"");
    agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &proof)
        .await
        .expect(200);
    let replayed = agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &proof)
        .await
        .expect(401);
    assert_eq!(replayed.json()["detail"], "Proof JWT was already used");

    // Bound to method, path and body.
    let for_other_path = agent.proof("GET", "/api/connections", b"");
    agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &for_other_path)
        .await
        .expect(401);
    let body = br#"{"provider":"openai"}"#.to_vec();
    let for_other_body = agent.proof("POST", "/api/credentials/resolve", b"{}");
    agent
        .call_with_proof(&daemon, Method::POST, "/api/credentials/resolve", body, &for_other_body)
        .await
        .expect(401);
    let missing = daemon.get("/api/proxy/routes").await.expect(401);
    assert_eq!(missing.json()["detail"], "Missing PoP authorization header");
    let neither = daemon.get("/api/whoami").await.expect(401);
    assert_eq!(neither.json()["detail"], "Missing or invalid browser session");
    let malformed = agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), "PoP not.a.jwt")
        .await
        .expect(401);
    assert!(malformed.json()["detail"].is_string());
}

/// The outside probe's loose checks: two `Authorization` headers were served using the first,
/// a lowercase `htm` matched `GET`, and a token expiring before it was issued was accepted.
#[tokio::test]
async fn proofs_must_be_alone_exact_about_the_method_and_issued_before_they_expire() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("strict-agent", "strict@example.com").await;
    let (first, second) = (
        agent.proof("GET", "/api/whoami", b""),
        agent.proof("GET", "/api/whoami", b""),
    );
    let doubled = daemon
        .send(
            poem::Request::builder()
                .method(Method::GET)
                .uri_str("/api/whoami")
                .header("authorization", &first)
                .header("authorization", &second)
                .finish(),
        )
        .await
        .expect(401);
    assert_eq!(doubled.json()["detail"], "Expected exactly one Authorization header");
    // Neither token was spent by the refusal.
    agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &first)
        .await
        .expect(200);

    let now = Timestamp::now().unix_seconds();
    let bound = authsome_domain::proof::BoundRequest {
        method: "GET",
        path_and_query: "/api/whoami",
        body: b"",
    };
    let mut claims = authsome_domain::proof::cli_claims(&agent.did, &agent.handle, bound, "lowercase-htm", now);
    claims.insert("htm".to_owned(), json!("get"));
    let lowercase = agent
        .call_with_proof(
            &daemon,
            Method::GET,
            "/api/whoami",
            Vec::new(),
            &agent.sign_claims(&claims),
        )
        .await
        .expect(401);
    assert_eq!(lowercase.json()["detail"], "Proof JWT method does not match request");

    let mut claims = authsome_domain::proof::cli_claims(&agent.did, &agent.handle, bound, "backwards", now);
    claims.insert("exp".to_owned(), json!(now - 5));
    claims.insert("iat".to_owned(), json!(now));
    let backwards = agent
        .call_with_proof(
            &daemon,
            Method::GET,
            "/api/whoami",
            Vec::new(),
            &agent.sign_claims(&claims),
        )
        .await
        .expect(401);
    assert_eq!(
        backwards.json()["detail"],
        "Invalid proof JWT: Token expires before it was issued (exp <= iat)"
    );
}

#[tokio::test]
async fn proofs_need_iat_a_bounded_lifetime_and_tolerate_small_clock_skew() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("clock-agent", "clock@example.com").await;
    let now = Timestamp::now().unix_seconds();
    // 20 s fast and 20 s slow clocks are within the 30 s leeway.
    for (n, skew) in [20i64, -20].into_iter().enumerate() {
        let proof = agent.proof_with("GET", "/api/whoami", b"", &format!("skew-{n}"), now + skew);
        agent
            .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &proof)
            .await
            .expect(200);
    }
    // A token from the future beyond the leeway, an expired one, one valid for a year, and one
    // without iat are all refused.
    let future = agent.proof_with("GET", "/api/whoami", b"", "future", now + 120);
    agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &future)
        .await
        .expect(401);
    let expired = agent.proof_with("GET", "/api/whoami", b"", "expired", now - 200);
    agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &expired)
        .await
        .expect(401);
    let mut claims = authsome_domain::proof::cli_claims(
        &agent.did,
        &agent.handle,
        authsome_domain::proof::BoundRequest {
            method: "GET",
            path_and_query: "/api/whoami",
            body: b"",
        },
        "forever",
        now,
    );
    claims.insert("exp".to_owned(), json!(now + 365 * 86_400));
    let long_lived = agent.sign_claims(&claims);
    agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &long_lived)
        .await
        .expect(401);
    claims.insert("exp".to_owned(), json!(now + 60));
    claims.remove("iat");
    claims.insert("jti".to_owned(), json!("no-iat"));
    let without_iat = agent.sign_claims(&claims);
    agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &without_iat)
        .await
        .expect(401);
}

#[tokio::test]
async fn an_unknown_identity_does_not_use_up_the_token_id() {
    let daemon = Daemon::start().await;
    let agent = Agent::new("late-agent");
    let proof = agent.proof("GET", "/api/whoami", b"");
    let unknown = agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &proof)
        .await
        .expect(401);
    assert_eq!(
        unknown.json()["detail"],
        "Unknown identity handle",
        "the CLI re-registers on exactly this"
    );
    // Registered and claimed now: the very same token still works once, so the refusal above
    // stored nothing.
    let claim_url = agent.register(&daemon).await;
    let mut browser = Browser::default();
    browser
        .sign_up(&daemon, "late@example.com", PASSWORD, "/")
        .await
        .expect(303);
    browser.confirm_claim(&daemon, &claim_url).await.expect(303);
    agent
        .call_with_proof(&daemon, Method::GET, "/api/whoami", Vec::new(), &proof)
        .await
        .expect(200);

    // Someone else's key cannot speak for the handle.
    let impostor = Agent::new("late-agent");
    let refused = impostor.get(&daemon, "/api/whoami").await.expect(401);
    assert_eq!(
        refused.json()["detail"],
        "Identity issuer does not match registered DID"
    );
}

#[tokio::test]
async fn an_unclaimed_identity_is_forbidden() {
    let daemon = Daemon::start().await;
    let agent = Agent::new("unclaimed-agent");
    agent.register(&daemon).await;
    let refused = agent.get(&daemon, "/api/whoami").await.expect(403);
    assert_eq!(refused.json()["detail"], "Identity 'unclaimed-agent' is not claimed");
}

/// The status poll is open to anyone who knows (or guesses) a handle: it says whether the
/// agent is claimed, not by whom.
#[tokio::test]
async fn an_identitys_open_status_does_not_name_its_owner() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("owned-quietly", "owner@example.com").await;
    let status = daemon.get("/api/identities/owned-quietly").await.expect(200).json();
    assert_eq!(status["registration_status"], "claimed");
    assert!(status.get("principal_id").is_none(), "{status}");
    let again = daemon
        .call(
            Method::POST,
            "/api/identities/register",
            Some(json!({"handle": agent.handle, "did": agent.did.as_str()})),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(again["registration_status"], "claimed");
    assert!(again.get("principal_id").is_none(), "{again}");
}

/// Past its quota of token ids an identity is told to slow down (429 with `Retry-After`),
/// and other identities are not.
#[tokio::test]
async fn an_identity_past_its_quota_gets_429_and_others_do_not() {
    let daemon = Daemon::start_with(&[("AUTHSOME_POP_IDS_PER_IDENTITY", "10")]).await;
    let (busy, _) = daemon.claimed_agent("busy-agent", "busy@example.com").await;
    let (calm, _) = daemon.claimed_agent("calm-agent", "calm@example.com").await;
    for _ in 0..10 {
        busy.get(&daemon, "/api/whoami").await.expect(200);
    }
    let refused = busy.get(&daemon, "/api/whoami").await.expect(429);
    assert_eq!(
        refused.headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("30")
    );
    assert_eq!(
        refused.json()["detail"],
        "Identity 'busy-agent' has sent more than 10 signed requests in 180 s; retry later"
    );
    calm.get(&daemon, "/api/whoami").await.expect(200);
}

/// A flood of login starts by one person's agent holds a bounded number of sessions: the
/// earliest go (their links answer 404), the latest 32 can still be finished.
#[tokio::test]
async fn an_owner_keeps_at_most_32_logins_open_and_the_oldest_give_way() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("eager-agent", "eager@example.com").await;
    let mut started = Vec::new();
    for _ in 0..40 {
        started.push(agent.start_openai_login(&daemon, "default").await);
    }
    let status = |resume: &str| resume.trim_end_matches("/resume").to_owned();
    for resume in &started[..8] {
        agent.get(&daemon, &status(resume)).await.expect(404);
    }
    for resume in &started[8..] {
        agent.get(&daemon, &status(resume)).await.expect(200);
    }
    let resumed = agent
        .post(
            &daemon,
            &started[8],
            json!({"data": {"api_key": "sk-proj-stillopenstillopenstillop01"}}),
        )
        .await
        .expect(200);
    assert_eq!(resumed.json()["status"], "completed");
}

struct UnreachableReplayCache;

#[async_trait::async_trait]
impl ReplayCache for UnreachableReplayCache {
    async fn check_and_store(
        &self,
        _jti: &str,
        _expires_at: Timestamp,
        _quota: IdQuota<'_>,
    ) -> Result<ReplayCheck, StateError> {
        Err(StateError::unavailable(std::io::Error::other("connection refused")))
    }
}

#[tokio::test]
async fn without_replay_protection_requests_are_refused_with_503() {
    let daemon = Daemon::build(&[], |state| state.runtime.replay = Arc::new(UnreachableReplayCache)).await;
    let (agent, _) = daemon.claimed_agent("fail-closed", "closed@example.com").await;
    let refused = agent.get(&daemon, "/api/whoami").await.expect(503);
    assert!(
        refused.json()["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Replay protection is unavailable"))
    );
    assert!(
        !refused.text().contains("connection refused"),
        "backend details stay in the log"
    );
}

/// Refuses (as unreachable) the token ids that start with `unreachable-`, remembers the rest.
struct PartlyUnreachableReplayCache(Arc<dyn ReplayCache>);

#[async_trait::async_trait]
impl ReplayCache for PartlyUnreachableReplayCache {
    async fn check_and_store(
        &self,
        jti: &str,
        expires_at: Timestamp,
        quota: IdQuota<'_>,
    ) -> Result<ReplayCheck, StateError> {
        if jti.starts_with("unreachable-") {
            return Err(StateError::unavailable(std::io::Error::other("connection refused")));
        }
        self.0.check_and_store(jti, expires_at, quota).await
    }
}

/// Resolve reads the caller's vault while it consumes the token id; a replayed token, or one
/// whose id could not be stored, still gets no credential.
#[tokio::test]
async fn a_resolve_proof_returns_the_credential_once() {
    let daemon = Daemon::build(&[], |state| {
        let remembering = state.runtime.replay.clone();
        state.runtime.replay = Arc::new(PartlyUnreachableReplayCache(remembering));
    })
    .await;
    let (agent, _) = daemon.claimed_agent("resolve-once", "resolve-once@example.com").await;
    const KEY: &str = "sk-proj-resolve-once-0123456789abcdefghij";
    agent.store_openai_key(&daemon, "default", KEY).await;

    let path = "/api/credentials/resolve";
    let body = br#"{"provider":"openai"}"#.to_vec();
    let proof = agent.proof("POST", path, &body);
    let first = agent
        .call_with_proof(&daemon, Method::POST, path, body.clone(), &proof)
        .await
        .expect(200);
    assert_eq!(first.json()["headers"]["Authorization"], format!("Bearer {KEY}"));
    let replayed = agent
        .call_with_proof(&daemon, Method::POST, path, body.clone(), &proof)
        .await
        .expect(401);
    assert_eq!(replayed.json()["detail"], "Proof JWT was already used");
    assert!(!replayed.text().contains(KEY));

    let now = Timestamp::now().unix_seconds();
    let unstored = agent.proof_with("POST", path, &body, "unreachable-1", now);
    let refused = agent
        .call_with_proof(&daemon, Method::POST, path, body, &unstored)
        .await
        .expect(503);
    assert!(!refused.text().contains(KEY), "{}", refused.text());
}

// ---- Browser sessions, CSRF, throttling (weakness 6) ----

#[tokio::test]
async fn forms_without_their_csrf_token_change_nothing() {
    let daemon = Daemon::start().await;
    let mut browser = Browser::default();
    let forged = browser
        .post_form(
            &daemon,
            "/api/auth/register",
            &[("email", "victim@example.com"), ("password", PASSWORD), ("next", "/")],
        )
        .await
        .expect(303);
    assert!(forged.location().contains("error="), "{}", forged.location());
    assert!(browser.cookie("authsome_ui_session").is_none());

    let (_, mut owner) = daemon.claimed_agent("csrf-agent", "csrf@example.com").await;
    let forged_logout = owner
        .post_form(&daemon, "/api/logout", &[("return_url", "/")])
        .await
        .expect(403);
    assert!(forged_logout.text().contains("CSRF"));
    owner.get(&daemon, "/").await.expect(200);
    let forged_password = owner
        .post_form(
            &daemon,
            "/api/auth/password",
            &[("current_password", PASSWORD), ("new_password", "attacker's choice")],
        )
        .await
        .expect(403);
    assert!(forged_password.text().contains("CSRF"));
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let daemon = Daemon::start().await;
    let (_, mut browser) = daemon.claimed_agent("logout-agent", "logout@example.com").await;
    let stolen = browser.clone();
    let csrf = browser.session_csrf(&daemon).await;
    let out = browser
        .post_form(
            &daemon,
            "/api/logout",
            &[("return_url", "/login"), ("csrf_token", &csrf)],
        )
        .await
        .expect(303);
    assert_eq!(out.location(), "/login");
    assert!(
        out.headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    // A copy of the old cookie is dead too: the session is gone from the store.
    let mut stolen = stolen;
    stolen
        .api(&daemon, Method::GET, "/api/whoami", None, None)
        .await
        .expect(401);
    assert!(
        stolen
            .get(&daemon, "/")
            .await
            .expect(303)
            .location()
            .starts_with("/login")
    );
}

#[tokio::test]
async fn a_password_change_signs_out_every_other_session() {
    let daemon = Daemon::start().await;
    let (_, mut laptop) = daemon.claimed_agent("password-agent", "password@example.com").await;
    let mut phone = Browser::default();
    phone
        .sign_in(&daemon, "password@example.com", PASSWORD)
        .await
        .expect(303);
    phone
        .api(&daemon, Method::GET, "/api/whoami", None, None)
        .await
        .expect(200);

    let csrf = laptop.session_csrf(&daemon).await;
    let wrong = laptop
        .post_form(
            &daemon,
            "/api/auth/password",
            &[
                ("current_password", "not it"),
                ("new_password", "a brand new password"),
                ("next", "/"),
                ("csrf_token", &csrf),
            ],
        )
        .await
        .expect(303);
    assert!(wrong.location().contains("password_error="));
    let changed = laptop
        .post_form(
            &daemon,
            "/api/auth/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new password"),
                ("next", "/"),
                ("csrf_token", &csrf),
            ],
        )
        .await
        .expect(303);
    assert_eq!(changed.location(), "/?password_changed=1");
    laptop
        .api(&daemon, Method::GET, "/api/whoami", None, None)
        .await
        .expect(200);
    phone
        .api(&daemon, Method::GET, "/api/whoami", None, None)
        .await
        .expect(401);
    let mut again = Browser::default();
    assert!(
        again
            .sign_in(&daemon, "password@example.com", PASSWORD)
            .await
            .location()
            .contains("error=")
    );
    assert_eq!(
        again
            .sign_in(&daemon, "password@example.com", "a brand new password")
            .await
            .location(),
        "/"
    );
}

#[tokio::test]
async fn repeated_failed_sign_ins_lock_the_account_for_a_while() {
    let daemon = Daemon::start_with(&[("AUTHSOME_LOGIN_MAX_FAILURES", "3")]).await;
    daemon.claimed_agent("throttle-agent", "throttle@example.com").await;
    let mut attacker = Browser::default();
    for _ in 0..3 {
        let failed = attacker
            .sign_in(&daemon, "throttle@example.com", "guess")
            .await
            .expect(303);
        assert!(
            failed.location().contains("Invalid+email+or+password"),
            "{}",
            failed.location()
        );
    }
    let locked = attacker
        .sign_in(&daemon, "throttle@example.com", PASSWORD)
        .await
        .expect(303);
    assert!(locked.location().contains("Too+many"), "{}", locked.location());
    assert!(
        attacker.cookie("authsome_ui_session").is_none(),
        "even the right password waits out the window"
    );
}

#[tokio::test]
async fn sign_in_redirects_stay_on_this_server() {
    let daemon = Daemon::start().await;
    let mut browser = Browser::default();
    let page = browser
        .get(&daemon, "/login?next=//evil.example/steal")
        .await
        .expect(200);
    assert_eq!(hidden_field(&page.text(), "next"), "/");
    let signed = browser
        .sign_up(&daemon, "redirect@example.com", PASSWORD, "https://evil.example/")
        .await
        .expect(303);
    assert_eq!(signed.location(), "/");
    // Browsers drop tabs and newlines from a Location and read `\` as `/`: each of these
    // would land on evil.example. (The tab one did: found when the page_inputs fuzz target checked return paths against WHATWG's URL parser.)
    let mut browser = Browser::default();
    for hostile in ["/%09/evil.example/steal", "/%5Cevil.example", "/%0A/evil.example"] {
        let page = browser
            .get(&daemon, &format!("/login?next={hostile}"))
            .await
            .expect(200);
        assert_eq!(hidden_field(&page.text(), "next"), "/", "{hostile}");
    }
    let page = browser.get(&daemon, "/login").await.expect(200);
    let csrf = hidden_field(&page.text(), "csrf_token");
    let signed = browser
        .post_form(
            &daemon,
            "/api/auth/login",
            &[
                ("email", "redirect@example.com"),
                ("password", PASSWORD),
                ("next", "/\t/evil.example/steal"),
                ("csrf_token", &csrf),
            ],
        )
        .await
        .expect(303);
    assert_eq!(signed.location(), "/");
}

// ---- Claims (weaknesses 1 and 11) ----

#[tokio::test]
async fn a_claim_is_confirmed_once_by_a_signed_in_person() {
    let daemon = Daemon::start().await;
    let agent = Agent::new("claim-agent");
    let claim_url = agent.register(&daemon).await;
    let path = local_path(&claim_url);
    let token = claim_url.rsplit('=').next().expect("token").to_owned();

    let short = daemon.get(&format!("/claim/{token}")).await.expect(307);
    assert_eq!(short.location(), format!("/claim?token={token}"));
    let mut browser = Browser::default();
    let anonymous = browser.get(&daemon, &path).await.expect(200);
    assert!(anonymous.text().contains("claim-agent"));
    assert!(
        anonymous.text().contains(&encode(&path)),
        "sign-in links come back to the claim"
    );
    let unsigned = browser
        .post_form(&daemon, &format!("/api/claim/{token}/confirm"), &[])
        .await
        .expect(303);
    assert!(unsigned.location().starts_with("/login?next="));

    browser
        .sign_up(&daemon, "claimer@example.com", PASSWORD, &path)
        .await
        .expect(303);
    let no_csrf = browser
        .post_form(&daemon, &format!("/api/claim/{token}/confirm"), &[])
        .await
        .expect(403);
    assert!(no_csrf.text().contains("CSRF"));
    let confirmed = browser.confirm_claim(&daemon, &claim_url).await.expect(303);
    assert_eq!(confirmed.location(), "/");
    assert_eq!(
        agent.get(&daemon, "/api/whoami").await.expect(200).json()["identity"],
        "claim-agent"
    );
    let home = browser.get(&daemon, "/").await.expect(200);
    assert!(home.text().contains("claim-agent"));
    // Used up.
    browser.get(&daemon, &path).await.expect(404);
    let reused = browser
        .post_form(&daemon, &format!("/api/claim/{token}/confirm"), &[])
        .await
        .expect(303);
    assert!(reused.location().ends_with("error=expired"));
}

#[tokio::test]
async fn a_claim_conflict_is_a_page_and_leaves_the_link_usable() {
    let daemon = Daemon::start().await;
    let (owner_agent, mut admin) = daemon.claimed_agent("contested-agent", "first-owner@example.com").await;
    // An admin issues a fresh link for an already claimed agent: refused (409).
    let csrf = admin.session_csrf(&daemon).await;
    admin
        .api(
            &daemon,
            Method::POST,
            "/api/identities/contested-agent/claim-link",
            Some(json!({})),
            Some(&csrf),
        )
        .await
        .expect(409);

    // A link for an unclaimed agent, opened by two people: the second finds it claimed.
    let agent = Agent::new("raced-agent");
    let claim_url = agent.register(&daemon).await;
    let mut first = Browser::default();
    first
        .sign_up(&daemon, "winner@example.com", PASSWORD, "/")
        .await
        .expect(303);
    let page = first.follow(&daemon, &local_path(&claim_url)).await.expect(200);
    let mut second = Browser::default();
    second
        .sign_up(&daemon, "loser@example.com", PASSWORD, "/")
        .await
        .expect(303);
    let second_page = second.follow(&daemon, &local_path(&claim_url)).await.expect(200);
    let action = support::form_action(&page.text(), "/api/claim/");
    let csrf = hidden_field(&page.text(), "csrf_token");
    first
        .post_form(&daemon, &action, &[("csrf_token", &csrf)])
        .await
        .expect(303);
    let second_csrf = hidden_field(&second_page.text(), "csrf_token");
    let lost = second
        .post_form(&daemon, &action, &[("csrf_token", &second_csrf)])
        .await
        .expect(303);
    assert!(
        lost.location().contains("error="),
        "a conflict is a redirect, never a 500"
    );
    let _ = owner_agent;
}

// ---- Login inputs bound to the owner (weakness 3) ----

#[tokio::test]
async fn the_api_key_form_belongs_to_the_agents_owner() {
    let daemon = Daemon::start().await;
    let (agent, mut owner) = daemon.claimed_agent("form-agent", "form@example.com").await;
    let started = agent
        .post(&daemon, "/api/auth/sessions", json!({"provider": "openai"}))
        .await
        .expect(200)
        .json();
    let input_url = started["next_action"]["url"].as_str().expect("url").to_owned();
    let id = started["id"].as_str().expect("id").to_owned();

    // Not signed in: sent to sign in, and back.
    let mut anonymous = Browser::default();
    let redirected = anonymous.get(&daemon, &local_path(&input_url)).await.expect(303);
    assert!(redirected.location().starts_with("/login?next=%2Fauth%2Finput"));
    // Another person: nothing to see or fill.
    let mut stranger = Browser::default();
    stranger
        .sign_up(&daemon, "stranger@example.com", PASSWORD, "/")
        .await
        .expect(303);
    stranger.get(&daemon, &local_path(&input_url)).await.expect(404);
    let stranger_csrf = stranger.session_csrf(&daemon).await;
    stranger
        .post_form(
            &daemon,
            &format!("/api/auth/sessions/{id}/input"),
            &[
                ("api_key", "sk-proj-injectedinjectedinjected0001"),
                ("csrf_token", &stranger_csrf),
            ],
        )
        .await
        .expect(404);

    // The owner: a bad key re-renders the form with the reason; a good one completes.
    let page = owner.get(&daemon, &local_path(&input_url)).await.expect(200);
    assert!(page.text().contains("form-agent") && page.text().contains("OpenAI"));
    let refused = owner.fill_input(&daemon, &input_url, "nope").await.expect(400);
    assert!(refused.text().contains("class=\"error\""));
    let owner_csrf = owner.session_csrf(&daemon).await;
    let json_reply = owner
        .request(
            &daemon,
            Method::POST,
            &format!("/api/auth/sessions/{id}/input"),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "application/json"),
                ("x-csrf-token", &owner_csrf),
            ],
            poem::Body::from("api_key=sk-proj-abcdefghijklmnopqrstuvwxyz0123"),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(json_reply["status"], "completed");
    let done = agent
        .get(&daemon, &format!("/api/auth/sessions/{id}"))
        .await
        .expect(200)
        .json();
    assert_eq!(done["status"], "completed");
    let success = owner.follow(&daemon, &local_path(&input_url)).await.expect(200);
    assert!(success.text().contains("Connected"));
}

// ---- Who becomes admin (weakness 2) ----

#[tokio::test]
async fn with_sign_up_closed_only_a_setup_link_creates_an_account() {
    let daemon = Daemon::start_with(&[("AUTHSOME_OPEN_SIGNUP", "false")]).await;
    let mut walk_in = Browser::default();
    let page = walk_in.get(&daemon, "/login").await.expect(200);
    assert!(page.text().contains("Sign-up is closed"));
    let csrf = hidden_field(&page.text(), "csrf_token");
    let refused = walk_in
        .post_form(
            &daemon,
            "/api/auth/register",
            &[
                ("email", "walkin@example.com"),
                ("password", PASSWORD),
                ("next", "/"),
                ("csrf_token", &csrf),
            ],
        )
        .await
        .expect(303);
    assert!(refused.location().contains("Sign-up+is+closed"));

    // What `authsome init --admin-email` does: an admin account without a password, and a link.
    let email = authsome_domain::Email::parse("ops@example.com").expect("email");
    let token = authsome_services::accounts::provision_admin(&daemon.state.registries, &email, 3600)
        .await
        .expect("provision")
        .expect("a setup token");
    // The link is for that email only, and signing up "first" with the email does not take it over.
    let mut squatter = Browser::default();
    let squat = squatter
        .sign_up(&daemon, "ops@example.com", PASSWORD, "/")
        .await
        .expect(303);
    assert!(squat.location().contains("error="));
    let mut ops = Browser::default();
    let wrong_email = ops
        .sign_up_with_setup(&daemon, "someone@example.com", &token)
        .await
        .expect(303);
    assert!(wrong_email.location().contains("error="));
    let created = ops
        .sign_up_with_setup(&daemon, "ops@example.com", &token)
        .await
        .expect(303);
    assert_eq!(created.location(), "/");
    let me = ops
        .api(&daemon, Method::GET, "/api/whoami", None, None)
        .await
        .expect(200)
        .json();
    assert_eq!(me["principal_role"], "admin");
    // Used once.
    let mut replay = Browser::default();
    assert!(
        replay
            .sign_up_with_setup(&daemon, "ops@example.com", &token)
            .await
            .location()
            .contains("error=")
    );
}

#[tokio::test]
async fn on_an_open_server_the_first_account_is_the_admin() {
    let daemon = Daemon::start().await;
    let (first_agent, _) = daemon.claimed_agent("first-agent", "first@example.com").await;
    let (second_agent, _) = daemon.claimed_agent("second-agent", "second@example.com").await;
    assert_eq!(
        first_agent.get(&daemon, "/api/whoami").await.expect(200).json()["principal_role"],
        "admin"
    );
    assert_eq!(
        second_agent.get(&daemon, "/api/whoami").await.expect(200).json()["principal_role"],
        "user"
    );
}

// ---- Pages ----

#[tokio::test]
async fn pages_forbid_framing_scripts_and_referrers() {
    let daemon = Daemon::start().await;
    let mut browser = Browser::default();
    let page = browser.get(&daemon, "/login").await.expect(200);
    let header = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-security-policy").contains("default-src 'none'"));
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(
        header("referrer-policy"),
        "no-referrer",
        "claim and setup tokens sit in URLs"
    );
    assert_eq!(header("cache-control"), "no-store");
    assert!(!page.text().contains("<script"), "no scripts");
    assert!(
        !page.text().contains("http://") && !page.text().contains("https://"),
        "no external assets"
    );
    let cookie = header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let missing = browser.get(&daemon, "/no/such/page").await.expect(404);
    assert!(
        missing.text().contains("<!doctype html>"),
        "browsers get a page, the API gets JSON"
    );
    let callback = browser.get(&daemon, "/api/auth/callback/oauth").await.expect(303);
    assert_eq!(callback.location(), "/auth/success?error=missing_state");
    browser.get(&daemon, &callback.location()).await.expect(400);
}

#[tokio::test]
async fn the_swagger_ui_and_the_live_document_are_served() {
    let daemon = Daemon::start().await;
    let spec = daemon.get("/openapi.json").await.expect(200).json();
    assert!(spec["paths"]["/api/credentials/resolve"]["post"].is_object());
    let ui = daemon.get("/docs").await.expect(200);
    assert!(ui.text().to_lowercase().contains("swagger"));
    let hidden = Daemon::start_with(&[("AUTHSOME_API_DOCS", "false")]).await;
    hidden.get("/docs").await.expect(404);
}

// ---- Operations ----

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_without_identifiers() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("metrics-agent", "metrics@example.com").await;
    daemon.get("/health").await.expect(200);
    daemon.get("/health").await.expect(200);
    agent
        .get(&daemon, "/api/connections/openai/secret-connection-name")
        .await
        .expect(404);
    daemon.get("/api/no/such/thing").await.expect(404);
    let scraped = daemon.get("/metrics").await.expect(200);
    assert!(
        scraped
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain"))
    );
    let text = scraped.text();
    assert!(
        text.contains(r#"authsome_http_requests_total{method="GET",route="/health",status="200"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"authsome_http_requests_total{method="GET",route="/api/connections/:param0/:param1",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404"} 1"#), "{text}");
    assert!(
        text.contains(r#"authsome_http_request_duration_seconds_count{method="GET",route="/health"} 2"#),
        "{text}"
    );
    assert!(text.contains(r#"authsome_backend_up{backend="store"} 1"#), "{text}");
    assert!(text.contains(r#"authsome_backend_up{backend="vault"} 1"#), "{text}");
    assert!(
        !text.contains("metrics-agent") && !text.contains("secret-connection-name"),
        "{text}"
    );

    let off = Daemon::start_with(&[("AUTHSOME_METRICS", "false")]).await;
    off.get("/metrics").await.expect(404);
}

// ---- The audit log (outside probe, finding 3) ----

/// The audit log, failing every append while `failing` is set (a full disk, a lost database).
struct FailingAuditLog {
    inner: Arc<dyn authsome_ports::AuditEventLog>,
    failing: Arc<AtomicBool>,
}

#[async_trait::async_trait]
impl authsome_ports::AuditEventLog for FailingAuditLog {
    async fn append(&self, events: &[authsome_domain::AuditEvent]) -> Result<(), authsome_ports::RegistryError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(authsome_ports::RegistryError::Unavailable(Box::new(
                std::io::Error::other("database or disk is full"),
            )));
        }
        self.inner.append(events).await
    }
    async fn query(
        &self,
        query: &authsome_domain::AuditQuery,
    ) -> Result<authsome_domain::AuditPage, authsome_ports::RegistryError> {
        self.inner.query(query).await
    }
}

fn refused_for_the_audit_log(reply: &support::Reply) {
    assert_eq!(reply.status.as_u16(), 503, "{}", reply.text());
    assert!(
        reply
            .text()
            .contains("The audit log cannot be written, so nothing was changed"),
        "{}",
        reply.text()
    );
    assert!(!reply.text().contains("disk is full"), "the cause stays in the log");
}

/// With the audit log unwritable, a credential is neither stored nor removed, and a claim is
/// not accepted (the link stays usable); once it is writable again, each goes through.
#[tokio::test]
async fn a_change_that_cannot_be_audited_is_not_made() {
    const KEY: &str = "sk-proj-audited-0123456789abcdefghijklmn";
    let failing = Arc::new(AtomicBool::new(false));
    let switch = failing.clone();
    let daemon = Daemon::build(&[], move |state| {
        state.registries.audit = Arc::new(FailingAuditLog {
            inner: state.registries.audit.clone(),
            failing: switch,
        });
    })
    .await;
    let (agent, mut owner) = daemon.claimed_agent("audited-agent", "audited@example.com").await;
    let resolve = json!({"provider": "openai"});

    // Storing a key.
    let resume = agent.start_openai_login(&daemon, "default").await;
    failing.store(true, Ordering::SeqCst);
    let refused = agent.post(&daemon, &resume, json!({"data": {"api_key": KEY}})).await;
    refused_for_the_audit_log(&refused);
    failing.store(false, Ordering::SeqCst);
    let missing = agent.post(&daemon, "/api/credentials/resolve", resolve.clone()).await;
    assert_ne!(
        missing.status.as_u16(),
        200,
        "the key was not stored: {}",
        missing.text()
    );
    agent.store_openai_key(&daemon, "default", KEY).await;

    // Removing it.
    failing.store(true, Ordering::SeqCst);
    let refused = agent
        .post(&daemon, "/api/connections/openai/default/logout", json!({}))
        .await;
    refused_for_the_audit_log(&refused);
    failing.store(false, Ordering::SeqCst);
    let still_there = agent
        .post(&daemon, "/api/credentials/resolve", resolve.clone())
        .await
        .expect(200);
    assert_eq!(still_there.json()["headers"]["Authorization"], format!("Bearer {KEY}"));
    agent
        .post(&daemon, "/api/connections/openai/default/logout", json!({}))
        .await
        .expect(200);
    let events = agent
        .get(&daemon, "/api/audit/events?limit=20")
        .await
        .expect(200)
        .json();
    let names: Vec<&str> = events["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(names.contains(&"provider.logout"), "logouts are recorded: {names:?}");

    // Claiming an agent.
    let newcomer = Agent::new("audited-newcomer");
    let claim_url = newcomer.register(&daemon).await;
    failing.store(true, Ordering::SeqCst);
    let refused = owner.confirm_claim(&daemon, &claim_url).await;
    assert_eq!(refused.status.as_u16(), 503, "{}", refused.text());
    failing.store(false, Ordering::SeqCst);
    newcomer.get(&daemon, "/api/whoami").await.expect(403);
    owner.confirm_claim(&daemon, &claim_url).await.expect(303);
    newcomer.get(&daemon, "/api/whoami").await.expect(200);
}

/// An event is recorded before its change; when the change then fails, a second event with
/// status `failure` says so.
#[tokio::test]
async fn a_recorded_change_that_fails_is_recorded_as_failed() {
    let failing = Arc::new(AtomicBool::new(false));
    let switch = failing.clone();
    let store = Arc::new(FaultyWrites::new("no space left on device", move |_| {
        switch.load(Ordering::SeqCst)
    }));
    let daemon = Daemon::build_on(&[], store, |_| {}).await;
    let (agent, _) = daemon.claimed_agent("unlucky-agent", "unlucky@example.com").await;
    let resume = agent.start_openai_login(&daemon, "default").await;
    failing.store(true, Ordering::SeqCst);
    let failed = agent
        .post(
            &daemon,
            &resume,
            json!({"data": {"api_key": "sk-proj-unlucky-0123456789abcdefghijkl"}}),
        )
        .await;
    assert_eq!(failed.status.as_u16(), 503, "{}", failed.text());
    failing.store(false, Ordering::SeqCst);
    let events = agent.get(&daemon, "/api/audit/events?limit=5").await.expect(200).json();
    let logins: Vec<(&str, &str)> = events["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["event"] == "provider.login")
        .map(|e| (e["status"].as_str().unwrap_or(""), e["event_id"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(logins.len(), 2, "{events}");
    let failure = events["entries"]
        .as_array()
        .and_then(|entries| {
            entries
                .iter()
                .find(|e| e["event"] == "provider.login" && e["status"] == "failure")
        })
        .expect("a failure event");
    let success_id = logins
        .iter()
        .find(|(status, _)| *status == "success")
        .map(|(_, id)| *id);
    assert_eq!(failure["recorded_event_id"].as_str(), success_id, "{failure}");
    assert!(failure["error"].as_str().is_some(), "{failure}");
}

// ---- Names that pass for others (outside probe, finding 6) ----

/// New connection names are limited to a safe alphabet: a Cyrillic `е`, a zero-width space or
/// a right-to-left override is refused with the offending characters shown as escapes.
#[tokio::test]
async fn look_alike_and_invisible_connection_names_are_refused() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("naming-agent", "naming@example.com").await;
    let start =
        |connection: &str| json!({"provider": "openai", "connection": connection, "flow": "api_key", "force": true});
    for (name, shown) in [
        ("d\u{0435}fault", "d\\u{0435}fault"),
        ("work\u{200B}", "work\\u{200B}"),
        ("\u{202E}tluafed", "\\u{202E}tluafed"),
    ] {
        let refused = agent.post(&daemon, "/api/auth/sessions", start(name)).await.expect(400);
        let detail = refused.json()["detail"].as_str().unwrap_or_default().to_owned();
        assert!(detail.contains(shown), "{name:?}: {detail}");
        assert!(!detail.contains(name), "the raw name is not echoed: {detail}");
    }
    for fine in ["default", "Work Account", "bot-2", "ops@team+x"] {
        agent.post(&daemon, "/api/auth/sessions", start(fine)).await.expect(200);
    }
}

/// A name an older version stored with such characters is still usable, and pages show it
/// with its untrusted characters escaped.
#[tokio::test]
async fn stored_look_alike_names_are_shown_escaped() {
    let daemon = Daemon::start().await;
    let (agent, mut owner) = daemon.claimed_agent("legacy-agent", "legacy@example.com").await;
    let whoami = agent.get(&daemon, "/api/whoami").await.expect(200).json();
    let vault_id = authsome_domain::VaultId::parse(whoami["vault_id"].as_str().expect("vault")).expect("vault id");
    let scope = authsome_services::credentials::VaultScope::new(
        &daemon.state,
        &vault_id,
        Some("legacy-agent"),
        whoami["principal_id"].as_str(),
    );
    let mut record = authsome_domain::credential_records::ConnectionRecord::api_key(
        "openai",
        "d\u{0435}fault\u{202E}",
        "sk-proj-legacy-0123456789abcdefghijklmnop".to_owned(),
    );
    scope
        .save_connection(&mut record)
        .await
        .expect("stored by an older version");
    scope
        .note_connection_saved("openai", "d\u{0435}fault\u{202E}")
        .await
        .expect("metadata");
    let home = owner.get(&daemon, "/").await.expect(200).text();
    assert!(home.contains("d\\u{0435}fault\\u{202E}"), "{home}");
    assert!(!home.contains('\u{0435}') && !home.contains('\u{202E}'), "nothing raw");
    // Logging into it again keeps its name.
    agent
        .post(
            &daemon,
            "/api/auth/sessions",
            json!({"provider": "openai", "connection": "d\u{0435}fault\u{202E}", "flow": "api_key", "force": true}),
        )
        .await
        .expect(200);
}

/// A custom provider whose name differs from an existing one only in letter case would look
/// like it in every listing; it is refused. The same name stays allowed (it overrides the
/// bundled definition, as in the reference).
#[tokio::test]
async fn a_custom_provider_cannot_differ_from_another_only_in_case() {
    let daemon = Daemon::start().await;
    let (admin, _) = daemon.claimed_agent("case-admin", "case@example.com").await;
    let definition = |name: &str| {
        json!({"definition": {
            "name": name,
            "display_name": "Look-alike",
            "auth_type": "api_key",
            "flow": "api_key",
            "api_key": {"header_name": "Authorization", "header_prefix": "Bearer ", "env_var": "LOOKALIKE_KEY"},
            "api_url": "https://api.lookalike.example"
        }})
    };
    let refused = admin
        .post(&daemon, "/api/providers", definition("OpenAI"))
        .await
        .expect(400)
        .json();
    assert_eq!(refused["error"], "ProviderAlreadyRegisteredError");
    assert!(
        refused["message"].as_str().is_some_and(|m| m.contains("'openai'")),
        "{refused}"
    );
    admin
        .post(&daemon, "/api/providers", definition("internal-api"))
        .await
        .expect(200);
    admin
        .post(&daemon, "/api/providers", definition("Internal-API"))
        .await
        .expect(400);
}

/// Sign-up refuses an email with invisible characters (it would read as someone else's).
#[tokio::test]
async fn an_email_with_invisible_characters_is_refused() {
    let daemon = Daemon::start().await;
    let mut browser = Browser::default();
    browser
        .sign_up(&daemon, "admin@example.com", PASSWORD, "/")
        .await
        .expect(303);
    let mut other = Browser::default();
    let refused = other.sign_up(&daemon, "admin\u{200B}@example.com", PASSWORD, "/").await;
    assert!(
        refused.location().contains("error="),
        "refused with a message: {} {}",
        refused.status,
        refused.location()
    );
    assert!(other.cookie("authsome_ui_session").is_none(), "no account, no session");
}
