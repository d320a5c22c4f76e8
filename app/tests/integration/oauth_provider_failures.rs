//! What a real authorization server cannot be made to do, from small fakes written for these
//! tests: a device-code token endpoint that says `slow_down`, a token endpoint that answers
//! with an HTML error page, one that never answers. Each login must end with a message a
//! person can act on (never a 500, never a secret), and the polls must slow down when told.
//! Also the browser-cookie flow, as the CLI drives it, and the dashboard's Connect.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::http::Method;
use serde_json::{Value, json};
use support::{Agent, Browser, Daemon};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the fake answers one request: status line, content type, body; `None` hangs.
type Answer = Option<(&'static str, &'static str, String)>;

/// A fake provider on a loopback port: `answer(path, body, nth request to that path)`.
/// Returns its base URL and the log of `(path, when)` of every request.
async fn fake_provider(
    answer: impl Fn(&str, &str, usize) -> Answer + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<(String, Instant)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("address").port());
    let log = Arc::new(Mutex::new(Vec::new()));
    let (answer, seen) = (Arc::new(answer), log.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let (answer, seen) = (answer.clone(), seen.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 8192];
                let (head, body) = loop {
                    let Ok(read) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length: usize = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .and_then(|v| v.trim().parse().ok())
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break (text[..end].to_owned(), text[end + 4..].to_owned());
                        }
                    }
                };
                let path = head
                    .split(' ')
                    .nth(1)
                    .unwrap_or("/")
                    .split('?')
                    .next()
                    .unwrap_or("/")
                    .to_owned();
                let nth = {
                    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                    seen.push((path.clone(), Instant::now()));
                    seen.iter().filter(|(p, _)| *p == path).count()
                };
                match answer(&path, &body, nth) {
                    Some((status, content_type, body)) => {
                        let response = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = socket.write_all(response.as_bytes()).await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(3600)).await,
                }
            });
        }
    });
    (base, log)
}

fn definition(name: &str, flow: &str, base: &str) -> Value {
    json!({"definition": {
        "name": name,
        "display_name": format!("Fake {flow}"),
        "auth_type": "oauth2",
        "flow": flow,
        "oauth": {
            "authorization_url": format!("{base}/authorize"),
            "token_url": format!("{base}/token"),
            "device_authorization_url": format!("{base}/device"),
            "scopes": ["read"],
        },
        "api_url": "api.fake.example",
    }})
}

async fn provider_with_client(daemon: &Daemon, admin: &Agent, name: &str, flow: &str, base: &str) {
    admin
        .post(daemon, "/api/providers", definition(name, flow, base))
        .await
        .expect(200);
    admin
        .call(
            daemon,
            Method::PUT,
            &format!("/api/providers/{name}/configuration"),
            Some(json!({"client_id": "fake-client", "client_secret": "fake-client-secret-value", "scopes": ["read"]})),
        )
        .await
        .expect(200);
}

async fn start(daemon: &Daemon, agent: &Agent, provider: &str) -> Value {
    agent
        .post(
            daemon,
            "/api/auth/sessions",
            json!({"provider": provider, "connection": "default"}),
        )
        .await
        .expect(200)
        .json()
}

async fn session_of(daemon: &Daemon, agent: &Agent, id: &str) -> Value {
    agent
        .get(daemon, &format!("/api/auth/sessions/{id}"))
        .await
        .expect(200)
        .json()
}

/// The provider sends the person back with `code` (as its redirect would).
async fn callback(daemon: &Daemon, browser: &mut Browser, authorization_url: &str, code: &str) -> support::Reply {
    let state = authorization_url
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("state="))
        .expect("a state in the authorization URL");
    browser
        .get(daemon, &format!("/api/auth/callback/oauth?state={state}&code={code}"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_polls_slow_down_when_told_and_then_complete() {
    let (base, log) = fake_provider(|path, _, nth| match (path, nth) {
        ("/device", _) => Some((
            "200 OK",
            "application/json",
            json!({"device_code": "fake-device-code", "user_code": "WDJB-MJHT", "verification_uri": "https://fake.example/device", "interval": 1, "expires_in": 120}).to_string(),
        )),
        ("/token", 1) => Some(("400 Bad Request", "application/json", json!({"error": "authorization_pending"}).to_string())),
        ("/token", 2) => Some(("400 Bad Request", "application/json", json!({"error": "slow_down"}).to_string())),
        ("/token", _) => Some(("200 OK", "application/json", json!({"access_token": "fake-access-token", "token_type": "Bearer", "expires_in": 3600}).to_string())),
        _ => Some(("404 Not Found", "text/plain", String::new())),
    })
    .await;
    let (daemon, _) = Daemon::serve_at_own_address(&[]).await;
    let (admin, _) = daemon.claimed_agent("slow-admin", "slow@example.com").await;
    provider_with_client(&daemon, &admin, "fake-device", "device_code", &base).await;
    let started = start(&daemon, &admin, "fake-device").await;
    assert_eq!(started["user_code"], "WDJB-MJHT");
    let id = started["id"].as_str().expect("id").to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while session_of(&daemon, &admin, &id).await["status"] == "waiting_for_user" {
        assert!(Instant::now() < deadline, "the device login never finished");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(session_of(&daemon, &admin, &id).await["status"], "completed");
    let polls: Vec<Instant> = log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|(path, _)| path == "/token")
        .map(|(_, at)| *at)
        .collect();
    assert_eq!(polls.len(), 3, "pending, slow_down, token");
    let (after_pending, after_slow_down) = (polls[1] - polls[0], polls[2] - polls[1]);
    println!("device polls: {after_pending:?} after pending, {after_slow_down:?} after slow_down");
    assert!(after_pending >= Duration::from_millis(900), "{after_pending:?}");
    assert!(
        after_slow_down >= Duration::from_millis(5_900),
        "slow_down adds 5 s: {after_slow_down:?}"
    );
    let resolved = admin
        .post(&daemon, "/api/credentials/resolve", json!({"provider": "fake-device"}))
        .await
        .expect(200)
        .json();
    assert_eq!(resolved["headers"]["Authorization"], "Bearer fake-access-token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_login_refused_or_left_to_expire_fails_with_the_reason() {
    // node-oidc-provider can refuse (tested there), but its codes cannot be made to expire
    // within a test, and it never says `expired_token` before its 10 minutes: a fake says both.
    let device = |error: &'static str| {
        move |path: &str, _: &str, _: usize| {
            match path {
            "/device" => Some((
                "200 OK",
                "application/json",
                json!({"device_code": "fake-device-code", "user_code": "QWER-TYUI", "verification_uri": "https://fake.example/device", "interval": 1, "expires_in": 120}).to_string(),
            )),
            "/token" => Some(("400 Bad Request", "application/json", json!({"error": error}).to_string())),
            _ => Some(("404 Not Found", "text/plain", String::new())),
        }
        }
    };
    let (refusing, _) = fake_provider(device("access_denied")).await;
    let (expiring, _) = fake_provider(device("expired_token")).await;
    let (daemon, _) = Daemon::serve_at_own_address(&[]).await;
    let (admin, _) = daemon.claimed_agent("ended-admin", "ended@example.com").await;
    for (name, base, reason) in [
        ("fake-refused", &refusing, "OAuth error: access_denied"),
        (
            "fake-expired",
            &expiring,
            "OAuth error: expired_token (the code was not entered in time)",
        ),
    ] {
        provider_with_client(&daemon, &admin, name, "device_code", base).await;
        let id = start(&daemon, &admin, name).await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        while session_of(&daemon, &admin, &id).await["status"] == "waiting_for_user" {
            assert!(Instant::now() < deadline, "{name}: the device login never ended");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let session = session_of(&daemon, &admin, &id).await;
        assert_eq!(session["status"], "failed", "{session}");
        assert!(
            session["error"].as_str().is_some_and(|e| e.ends_with(reason)),
            "{session}"
        );
        assert!(
            !session.to_string().contains("fake-device-code"),
            "the device code stays secret"
        );
        admin
            .post(&daemon, "/api/credentials/resolve", json!({"provider": name}))
            .await
            .expect(404);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_answering_html_fails_the_login_clearly() {
    let (base, _) = fake_provider(|path, _, _| match path {
        "/token" => Some((
            "502 Bad Gateway",
            "text/html",
            "<html><body>upstream is down</body></html>".to_owned(),
        )),
        _ => Some(("404 Not Found", "text/plain", String::new())),
    })
    .await;
    let daemon = Daemon::start().await;
    let (admin, mut browser) = daemon.claimed_agent("html-admin", "html@example.com").await;
    provider_with_client(&daemon, &admin, "fake-html", "pkce", &base).await;
    let started = start(&daemon, &admin, "fake-html").await;
    let url = started["next_action"]["url"].as_str().expect("url").to_owned();
    let back = callback(&daemon, &mut browser, &url, "one-time-code-value")
        .await
        .expect(303);
    let page = browser.follow(&daemon, &back.location()).await.expect(200).text();
    assert!(page.contains("answered HTTP 502 with text/html"), "{page}");
    let session = session_of(&daemon, &admin, started["id"].as_str().expect("id")).await;
    assert_eq!(session["status"], "failed");
    let error = session["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Token exchange failed: the provider answered HTTP 502 with text/html"),
        "{error}"
    );
    for secret in ["one-time-code-value", "fake-client-secret-value", "upstream is down"] {
        assert!(!error.contains(secret) && !page.contains(secret), "{secret} leaked");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_never_answers_fails_the_login_after_the_timeout() {
    let (base, _) = fake_provider(|path, _, _| match path {
        "/token" => None,
        _ => Some(("404 Not Found", "text/plain", String::new())),
    })
    .await;
    let daemon = Daemon::start_with(&[("AUTHSOME_OUTBOUND_TIMEOUT_SECONDS", "1")]).await;
    let (admin, mut browser) = daemon.claimed_agent("hung-admin", "hung@example.com").await;
    provider_with_client(&daemon, &admin, "fake-hung", "pkce", &base).await;
    let started = start(&daemon, &admin, "fake-hung").await;
    let url = started["next_action"]["url"].as_str().expect("url").to_owned();
    let began = Instant::now();
    // While the exchange hangs, the daemon keeps serving (the reference's blocking call held a
    // worker, §11.10).
    let served_meanwhile = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let asked = Instant::now();
        admin.get(&daemon, "/api/whoami").await.expect(200);
        asked.elapsed()
    };
    let (back, whoami_took) = tokio::join!(callback(&daemon, &mut browser, &url, "code"), served_meanwhile);
    back.expect(303);
    let took = began.elapsed();
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        took > Duration::from_millis(900),
        "the callback waited for the timeout: {took:?}"
    );
    assert!(
        whoami_took < Duration::from_millis(500),
        "whoami took {whoami_took:?} during the hang"
    );
    let session = session_of(&daemon, &admin, started["id"].as_str().expect("id")).await;
    assert_eq!(session["status"], "failed");
    assert!(
        session["error"]
            .as_str()
            .is_some_and(|e| e.contains("did not answer within 1 s")),
        "{session}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_cookie_login_stores_the_cookies_the_cli_read() {
    let daemon = Daemon::start().await;
    let (agent, _) = daemon.claimed_agent("cookie-agent", "cookie@example.com").await;
    let started = start(&daemon, &agent, "linkedin-browser").await;
    assert_eq!(started["status"], "waiting_for_user");
    let action = &started["next_action"];
    assert_eq!(action["type"], "browser");
    assert_eq!(action["entry_url"], "https://www.linkedin.com/login");
    assert_eq!(action["auth_cookies"], json!(["li_at"]));
    assert_eq!(action["ttl_from_cookie"], "li_at");
    let id = started["id"].as_str().expect("id");
    let resume = format!("/api/auth/sessions/{id}/resume");

    // Without the session cookie the login fails, saying which cookie is missing.
    let missing = agent
        .post(
            &daemon,
            &resume,
            json!({"data": {"credentials": {"JSESSIONID": "ajax:1"}}}),
        )
        .await;
    assert_eq!(missing.status.as_u16(), 400, "{}", missing.text());
    assert!(missing.text().contains("li_at"), "{}", missing.text());

    let expires = authsome_domain::Timestamp::now()
        .plus_seconds(7 * 86_400)
        .unix_seconds();
    let done = agent
        .post(
            &daemon,
            &resume,
            json!({"data": {"credentials": {"li_at": "li-at-value", "JSESSIONID": "ajax:123", "__cookie_expires_at__": expires.to_string()}}}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(done["status"], "completed", "{done}");
    let resolved = agent
        .post(
            &daemon,
            "/api/credentials/resolve",
            json!({"provider": "linkedin-browser"}),
        )
        .await
        .expect(200)
        .json();
    let cookie = resolved["headers"]["Cookie"].as_str().unwrap_or_default();
    assert!(
        cookie.contains("li_at=li-at-value") && cookie.contains("JSESSIONID=ajax:123"),
        "{resolved}"
    );
    assert!(
        !cookie.contains("__cookie_expires_at__"),
        "the reserved key is not a cookie"
    );
    assert_eq!(
        resolved["headers"]["csrf-token"], "ajax:123",
        "JSESSIONID becomes the csrf-token header"
    );
    let stored_expiry =
        authsome_domain::Timestamp::parse(resolved["expires_at"].as_str().expect("expiry")).expect("time");
    assert_eq!(stored_expiry.unix_seconds(), expires, "the cookie's own expiry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboards_connect_starts_a_login_for_the_signed_in_person() {
    let daemon = Daemon::start().await;
    let (_, mut browser) = daemon.claimed_agent("connect-agent", "connect@example.com").await;
    let csrf = browser.session_csrf(&daemon).await;
    // An API-key provider: on to the input form.
    let started = browser
        .post_form(
            &daemon,
            "/api/auth/providers/openai/connect",
            &[("connection", "work"), ("return_url", "/"), ("csrf_token", &csrf)],
        )
        .await
        .expect(303);
    assert!(
        started.location().starts_with("/auth/input?session="),
        "{}",
        started.location()
    );
    let saved = browser
        .fill_input(&daemon, &started.location(), "sk-proj-connect-0123456789abcdefghijk")
        .await
        .expect(303);
    assert_eq!(saved.location(), "/", "back where the person started");
    let home = browser.get(&daemon, "/").await.expect(200).text();
    assert!(home.contains("<code>work</code>"), "{home}");
    // Without the form's CSRF token, nothing starts.
    let forged = browser
        .post_form(
            &daemon,
            "/api/auth/providers/openai/connect",
            &[("connection", "other")],
        )
        .await;
    assert_eq!(forged.status.as_u16(), 403);
    // A browser-cookie login runs on the agent's machine.
    let cookies = browser
        .post_form(
            &daemon,
            "/api/auth/providers/x-browser/connect",
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(cookies.status.as_u16(), 400);
    assert!(
        cookies.text().contains("authsome login x-browser"),
        "{}",
        cookies.text()
    );
}
