//! OAuth logins against a real, OpenID Certified authorization server (node-oidc-provider):
//! the authorization code flow with PKCE, the device authorization grant and dynamic client
//! registration, each completed by a person in a browser (`tests/oauth/person.py`), after which
//! the agent's credential resolves to a token the authorization server itself accepts.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::authorization_server::{
    AuthorizationServer, configure_client, person, register_provider, resolved_token, session_cookie, session_of,
    start_login,
};
use support::{Agent, Browser, Daemon};

const CALLBACK: &str = "/api/auth/callback/oauth";

/// A daemon on its own address, an authorization server that may send people back to it, an
/// admin's claimed agent and the admin's browser.
async fn setup(handle: &str) -> (Daemon, String, AuthorizationServer, Agent, Browser) {
    let (daemon, base_url) = Daemon::serve_at_own_address(&[]).await;
    let server = AuthorizationServer::start(&[&format!("{base_url}{CALLBACK}")], 3600);
    let (agent, browser) = daemon.claimed_agent(handle, &format!("{handle}@example.com")).await;
    (daemon, base_url, server, agent, browser)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pkce_login_completes_in_the_browser_and_resolves_to_a_live_token() {
    let (daemon, base_url, server, admin, browser) = setup("pkce-admin").await;
    register_provider(&daemon, &admin, server.definition("test-pkce", "pkce")).await;
    configure_client(&daemon, &admin, "test-pkce", "authsome-pkce", "pkce-client-secret").await;

    let started = start_login(&daemon, &admin, "test-pkce").await;
    assert_eq!(started["status"], "waiting_for_user", "{started}");
    let url = started["next_action"]["url"].as_str().expect("the authorization URL");
    assert!(
        url.starts_with(&format!("{}/auth?prompt=consent&response_type=code", server.issuer)),
        "{url}"
    );
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("client_id=authsome-pkce"),
        "{url}"
    );

    let walked = person(url, Some((&base_url, &session_cookie(&browser))), &[]);
    let last = walked["url"].as_str().unwrap_or_default();
    assert!(
        last.starts_with(&format!("{base_url}/auth/success?session=")),
        "{walked}"
    );
    let session = session_of(&daemon, &admin, started["id"].as_str().expect("id")).await;
    assert_eq!(session["status"], "completed", "{session}");
    assert_eq!(session["message"], "Login successful");

    let token = resolved_token(&daemon, &admin, "test-pkce").await;
    let introspected = server.introspect(&token).await;
    assert_eq!(introspected.get("active"), Some(&json!(true)), "{introspected:?}");
    assert_eq!(introspected.get("client_id"), Some(&json!("authsome-pkce")));

    // The callback works once: replaying it changes nothing.
    let callback = walked["pages"]
        .as_array()
        .and_then(|pages| pages.iter().filter_map(Value::as_str).find(|p| p.contains(CALLBACK)))
        .expect("the callback was visited")
        .to_owned();
    let replayed = person(&callback, Some((&base_url, &session_cookie(&browser))), &[]);
    assert!(
        replayed["url"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/auth/success?error=session_expired"),
        "{replayed}"
    );
    assert_eq!(
        resolved_token(&daemon, &admin, "test-pkce").await,
        token,
        "the connection is untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_consent_fails_the_login_with_the_providers_reason() {
    let (daemon, base_url, server, admin, browser) = setup("denied-admin").await;
    register_provider(&daemon, &admin, server.definition("test-denied", "pkce")).await;
    configure_client(&daemon, &admin, "test-denied", "authsome-pkce", "pkce-client-secret").await;
    let started = start_login(&daemon, &admin, "test-denied").await;
    let walked = person(
        started["next_action"]["url"].as_str().expect("url"),
        Some((&base_url, &session_cookie(&browser))),
        &[("PERSON_DENY", "1")],
    );
    assert!(
        walked["url"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("{base_url}/auth/success")),
        "{walked}"
    );
    let session = session_of(&daemon, &admin, started["id"].as_str().expect("id")).await;
    assert_eq!(session["status"], "failed", "{session}");
    assert!(
        session["error"].as_str().is_some_and(|e| e.contains("access_denied")),
        "{session}"
    );
    admin
        .post(&daemon, "/api/credentials/resolve", json!({"provider": "test-denied"}))
        .await
        .expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_in_a_strangers_browser_does_not_land_in_the_strangers_vault() {
    let (daemon, base_url, server, admin, _) = setup("owner-admin").await;
    register_provider(&daemon, &admin, server.definition("test-csrf", "pkce")).await;
    configure_client(&daemon, &admin, "test-csrf", "authsome-pkce", "pkce-client-secret").await;
    // The admin's agent starts a login; a stranger (another account) is tricked into finishing it.
    let started = start_login(&daemon, &admin, "test-csrf").await;
    let mut stranger = Browser::default();
    stranger
        .sign_up(&daemon, "stranger@example.com", "a long enough password", "/")
        .await
        .expect(303);
    let walked = person(
        started["next_action"]["url"].as_str().expect("url"),
        Some((&base_url, &session_cookie(&stranger))),
        &[("PERSON_LOGIN", "stranger")],
    );
    assert!(
        walked["url"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/auth/success?error=wrong_account"),
        "{walked}"
    );
    let session = session_of(&daemon, &admin, started["id"].as_str().expect("id")).await;
    assert_eq!(session["status"], "failed", "{session}");
    admin
        .post(&daemon, "/api/credentials/resolve", json!({"provider": "test-csrf"}))
        .await
        .expect(404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_code_login_is_polled_to_completion() {
    let (daemon, base_url, server, admin, browser) = setup("device-admin").await;
    register_provider(&daemon, &admin, server.definition("test-device", "device_code")).await;
    configure_client(
        &daemon,
        &admin,
        "test-device",
        "authsome-device",
        "device-client-secret",
    )
    .await;
    let started = start_login(&daemon, &admin, "test-device").await;
    assert_eq!(started["status"], "waiting_for_user", "{started}");
    let id = started["id"].as_str().expect("id").to_owned();
    assert_eq!(
        started["next_action"]["url"],
        format!("{base_url}/auth/device?session={id}")
    );
    assert!(
        started["user_code"].as_str().is_some_and(|c| !c.is_empty()),
        "{started}"
    );
    assert!(
        started["verification_uri"]
            .as_str()
            .is_some_and(|u| u.starts_with(&server.issuer))
    );

    // The person opens the device page, follows its link and approves.
    let walked = person(
        started["next_action"]["url"].as_str().expect("url"),
        Some((&base_url, &session_cookie(&browser))),
        &[],
    );
    assert!(
        walked["pages"]
            .as_array()
            .is_some_and(|p| p.iter().any(|u| u.as_str().is_some_and(|u| u.contains("user_code=")))),
        "{walked}"
    );
    let deadline = Instant::now() + Duration::from_secs(40);
    let session = loop {
        let session = session_of(&daemon, &admin, &id).await;
        if session["status"] != "waiting_for_user" || Instant::now() > deadline {
            break session;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(session["status"], "completed", "{session}");
    let token = resolved_token(&daemon, &admin, "test-device").await;
    assert_eq!(server.introspect(&token).await.get("active"), Some(&json!(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dcr_login_registers_a_client_once_and_a_person_who_is_not_admin_can_finish_it() {
    let (daemon, base_url, server, admin, _) = setup("dcr-admin").await;
    register_provider(&daemon, &admin, server.definition("test-dcr", "dcr_pkce")).await;
    // A second person (not an admin) and their agent.
    let (user, user_browser) = daemon.claimed_agent("dcr-user", "dcr-user@example.com").await;

    let started = user
        .post(
            &daemon,
            "/api/auth/sessions",
            json!({"connection": "default", "flow": null, "force": false, "provider": "test-dcr", "scopes": ["openid", "offline_access"], "base_url": null}),
        )
        .await
        .expect(200)
        .json();
    let url = started["next_action"]["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{}/auth?response_type=code", server.issuer)),
        "no authorization_params with a registered client: {url}"
    );
    let walked = person(url, Some((&base_url, &session_cookie(&user_browser))), &[]);
    assert!(
        walked["url"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("{base_url}/auth/success")),
        "{walked}"
    );
    assert_eq!(
        session_of(&daemon, &user, started["id"].as_str().expect("id")).await["status"],
        "completed"
    );
    let token = resolved_token(&daemon, &user, "test-dcr").await;
    assert_eq!(server.introspect(&token).await.get("active"), Some(&json!(true)));

    // The registered client is kept, and the next login uses it.
    let detail = admin
        .get(&daemon, "/api/providers/test-dcr/detail")
        .await
        .expect(200)
        .json();
    let client_id = detail["client"]["client_id"]
        .as_str()
        .expect("a kept client")
        .to_owned();
    let again = start_login(&daemon, &admin, "test-dcr").await;
    assert!(
        again["next_action"]["url"]
            .as_str()
            .is_some_and(|u| u.contains(&format!("client_id={client_id}"))),
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_without_a_client_asks_an_admin_for_it_and_refuses_others_at_once() {
    let (daemon, base_url, server, admin, mut browser) = setup("input-admin").await;
    register_provider(&daemon, &admin, server.definition("test-input", "pkce")).await;
    let (user, _) = daemon.claimed_agent("input-user", "input-user@example.com").await;

    // A person who is not an admin learns at once that an admin must configure the client.
    let refused = user
        .post(
            &daemon,
            "/api/auth/sessions",
            json!({"connection": "default", "provider": "test-input"}),
        )
        .await
        .expect(400)
        .json();
    assert_eq!(refused["error"], "OperationNotAllowedError");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("configuration requires an admin")),
        "{refused}"
    );

    // An admin gets the input page, enters the client, and is sent on to the provider.
    let started = start_login(&daemon, &admin, "test-input").await;
    let input_url = started["next_action"]["url"].as_str().expect("url").to_owned();
    assert!(
        input_url.starts_with(&format!("{base_url}/auth/input?session=")),
        "{started}"
    );
    let page = browser
        .follow(&daemon, &support::local_path(&input_url))
        .await
        .expect(200)
        .text();
    assert!(
        page.contains(&format!("{base_url}{CALLBACK}")),
        "the page names the callback URL to register"
    );
    let action = support::form_action(&page, "/auth/input");
    let csrf = support::hidden_field(&page, "csrf_token");
    let submitted = browser
        .post_form(
            &daemon,
            &action,
            &[
                ("client_id", "authsome-pkce"),
                ("client_secret", "pkce-client-secret"),
                ("scopes", "openid,offline_access,api:read"),
                ("csrf_token", &csrf),
            ],
        )
        .await
        .expect(200);
    // Not a 303: browsers hold a form's redirects to the page's `form-action 'self'`, so the
    // answer is a page that moves on to the provider by itself, with a link.
    let refresh = submitted
        .headers
        .get("refresh")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let authorization = refresh.strip_prefix("0; url=").unwrap_or_default().to_owned();
    assert!(
        authorization.starts_with(&format!("{}/auth?", server.issuer)),
        "{refresh}"
    );
    assert!(
        submitted.text().contains(&authorization.replace('&', "&amp;")),
        "the page links there too"
    );
    let walked = person(&authorization, Some((&base_url, &session_cookie(&browser))), &[]);
    assert!(
        walked["url"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("{base_url}/auth/success")),
        "{walked}"
    );
    let token = resolved_token(&daemon, &admin, "test-input").await;
    assert_eq!(server.introspect(&token).await.get("active"), Some(&json!(true)));
    // The client is configured now: the other person's login goes straight to the provider.
    let next = start_login(&daemon, &user, "test-input").await;
    assert!(
        next["next_action"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&server.issuer)),
        "{next}"
    );
}
