//! A real authorization server for the OAuth tests (node-oidc-provider, run by
//! `tests/oauth/authorization-server.mjs`), and the person who signs in at it
//! (`tests/oauth/person.py`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use authsome_outbound::{HttpProviderEndpoints, OutboundSettings};
use authsome_ports::{EndpointBody, EndpointRequest, ProviderEndpoints};
use poem::http::Method;
use serde_json::{Map, Value, json};

use super::{Agent, Browser, Daemon};

fn oauth_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/oauth")
}

/// One authorization server process, stopped on drop.
pub(crate) struct AuthorizationServer {
    child: Child,
    /// Its issuer, `http://127.0.0.1:<port>`.
    pub issuer: String,
}

impl AuthorizationServer {
    /// Starts one whose static clients may redirect to `redirect_uris`, issuing access tokens
    /// that live `access_token_ttl` seconds.
    pub(crate) fn start(redirect_uris: &[&str], access_token_ttl: u64) -> Self {
        let dir = oauth_dir();
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "oidc-provider is not installed: run `npm ci` in tests/oauth (scripts/test does)"
        );
        let mut child = Command::new("node")
            .arg(dir.join("authorization-server.mjs"))
            .env("PORT", "0")
            .env("REDIRECT_URIS", redirect_uris.join(","))
            .env("ACCESS_TOKEN_TTL", access_token_ttl.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs (Node.js is needed for the OAuth tests)");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = sender.send(line);
            // Keep reading: the server prints notices later, and a closed pipe would kill it.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("the authorization server starts within 30 s");
        let started: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("unexpected start line {line:?}: {e}"));
        let issuer = started["issuer"].as_str().expect("issuer").to_owned();
        Self { child, issuer }
    }

    /// A custom provider definition for this server: `flow` (`pkce`, `device_code` or
    /// `dcr_pkce`), the token lifetime the server gives, and `prompt=consent` so that it issues
    /// refresh tokens.
    pub(crate) fn definition(&self, name: &str, flow: &str) -> Value {
        let issuer = &self.issuer;
        let mut oauth = json!({
            "authorization_url": format!("{issuer}/auth"),
            "token_url": format!("{issuer}/token"),
            "revocation_url": format!("{issuer}/token/revocation"),
            "device_authorization_url": format!("{issuer}/device/auth"),
            "scopes": ["openid", "offline_access", "api:read"],
            "authorization_params": {"prompt": "consent"},
            "supports_device_code": true,
            "supports_dcr": flow == "dcr_pkce",
        });
        if flow == "dcr_pkce" {
            // Found through discovery; the registration endpoint is not in the definition.
            oauth["scopes"] = json!(["openid", "offline_access"]);
        }
        json!({
            "name": name,
            "display_name": format!("Test OIDC ({flow})"),
            "auth_type": "oauth2",
            "flow": flow,
            "oauth": oauth,
            "api_url": "api.test-oidc.example",
        })
    }

    /// The token endpoint's answers so far for `grant_type`: (successes, errors).
    pub(crate) async fn token_requests(&self, grant_type: &str) -> (u64, u64) {
        let counts = self.test_hook("GET", "/_test/token-requests").await;
        let of = |outcome: &str| counts[grant_type][outcome].as_u64().unwrap_or(0);
        (of("success"), of("error"))
    }

    /// Holds the next token request `ms` before the server sees it, dropping it unseen if its
    /// client goes away meanwhile.
    pub(crate) async fn hold_next_token_request(&self, ms: u64) {
        self.test_hook("POST", &format!("/_test/hold-next-token-request?ms={ms}"))
            .await;
    }

    async fn test_hook(&self, method: &str, path: &str) -> Value {
        let address = self.issuer.trim_start_matches("http://").to_owned();
        let mut stream = tokio::net::TcpStream::connect(&address).await.expect("connect");
        let request =
            format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
            .await
            .expect("send");
        let mut answer = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer)
            .await
            .expect("read");
        let text = String::from_utf8_lossy(&answer);
        let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str(body).unwrap_or_else(|e| panic!("test hook {path}: {e}: {text}"))
    }

    /// Revokes `token` as the client `client` would (RFC 7009): at this server, the grant
    /// with it, as when a person removes the application's access at the provider.
    pub(crate) async fn revoke(&self, token: &str, client: (&str, &str)) {
        let endpoints = HttpProviderEndpoints::new(OutboundSettings::default()).expect("client");
        let url = format!("{}/token/revocation", self.issuer);
        let form = [("token", token)];
        let reply = endpoints
            .send(&EndpointRequest {
                url: &url,
                body: EndpointBody::Form(&form),
                basic_auth: Some(client),
            })
            .await
            .expect("revocation answers");
        assert_eq!(reply.status, 200, "revocation: {reply:?}");
    }

    /// What the server's introspection endpoint says about `token` (asked as a resource
    /// server would).
    pub(crate) async fn introspect(&self, token: &str) -> Map<String, Value> {
        let endpoints = HttpProviderEndpoints::new(OutboundSettings::default()).expect("client");
        let url = format!("{}/token/introspection", self.issuer);
        let form = [("token", token)];
        let reply = endpoints
            .send(&EndpointRequest {
                url: &url,
                body: EndpointBody::Form(&form),
                basic_auth: Some(("resource-server", "resource-server-secret")),
            })
            .await
            .expect("introspection answers");
        reply.json.expect("an introspection answer")
    }
}

impl Drop for AuthorizationServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A person at a browser opens `url` and does what the pages ask (signs in at the
/// authorization server, consents, confirms a device code), with `cookie` (`name=value`) for
/// the vault's pages at `origin`; `env` adds `PERSON_*` settings. Returns the pages visited
/// and where it stopped.
pub(crate) fn person(url: &str, cookie: Option<(&str, &str)>, env: &[(&str, &str)]) -> Value {
    let mut command = Command::new("python3");
    command.arg(oauth_dir().join("person.py")).arg(url);
    if let Some((origin, cookie)) = cookie {
        command.env("PERSON_COOKIE", cookie).env("PERSON_COOKIE_ORIGIN", origin);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("python3 runs");
    assert!(
        out.status.success(),
        "the person script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("person output: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `authsome_ui_session=<token>` of a signed-in browser.
pub(crate) fn session_cookie(browser: &Browser) -> String {
    format!(
        "authsome_ui_session={}",
        browser.cookie("authsome_ui_session").expect("signed in")
    )
}

/// The admin registers a custom provider.
pub(crate) async fn register_provider(daemon: &Daemon, admin: &Agent, definition: Value) {
    admin
        .post(daemon, "/api/providers", json!({"definition": definition}))
        .await
        .expect(200);
}

/// The admin configures the provider's OAuth client.
pub(crate) async fn configure_client(daemon: &Daemon, admin: &Agent, provider: &str, client_id: &str, secret: &str) {
    admin
        .call(
            daemon,
            Method::PUT,
            &format!("/api/providers/{provider}/configuration"),
            Some(json!({"client_id": client_id, "client_secret": secret, "scopes": ["openid", "offline_access", "api:read"]})),
        )
        .await
        .expect(200);
}

/// `authsome login <provider>` as the CLI sends it.
pub(crate) async fn start_login(daemon: &Daemon, agent: &Agent, provider: &str) -> Value {
    agent
        .post(
            daemon,
            "/api/auth/sessions",
            json!({"base_url": null, "connection": "default", "flow": null, "force": false, "provider": provider, "scopes": null}),
        )
        .await
        .expect(200)
        .json()
}

/// The login session as the CLI polls it.
pub(crate) async fn session_of(daemon: &Daemon, agent: &Agent, id: &str) -> Value {
    agent
        .get(daemon, &format!("/api/auth/sessions/{id}"))
        .await
        .expect(200)
        .json()
}

/// The agent resolves its connection; the bearer token it gets.
pub(crate) async fn resolved_token(daemon: &Daemon, agent: &Agent, provider: &str) -> String {
    let resolved = agent
        .post(daemon, "/api/credentials/resolve", json!({"provider": provider}))
        .await
        .expect(200)
        .json();
    let header = resolved["headers"]["Authorization"]
        .as_str()
        .expect("a bearer header")
        .to_owned();
    header.strip_prefix("Bearer ").expect("Bearer").to_owned()
}

/// A PKCE login of `provider` (registered at `server`, with the `authsome-pkce` client)
/// completed by the admin in the browser, for the daemon at `base_url`.
pub(crate) async fn connect_with_pkce(
    daemon: &Daemon,
    base_url: &str,
    server: &AuthorizationServer,
    admin: &Agent,
    browser: &Browser,
    provider: &str,
) {
    register_provider(daemon, admin, server.definition(provider, "pkce")).await;
    configure_client(daemon, admin, provider, "authsome-pkce", "pkce-client-secret").await;
    let started = start_login(daemon, admin, provider).await;
    let url = started["next_action"]["url"].as_str().expect("the authorization URL");
    person(url, Some((base_url, &session_cookie(browser))), &[]);
    let session = session_of(daemon, admin, started["id"].as_str().expect("id")).await;
    assert_eq!(session["status"], "completed", "{session}");
}
