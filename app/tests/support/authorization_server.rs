//! A real authorization server for the OAuth tests (node-oidc-provider, run by
//! `tests/oauth/authorization-server.mjs`), and the person who signs in at it
//! (`tests/oauth/person.py`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use authsome_outbound::{HttpProviderEndpoints, OutboundSettings};
use authsome_ports::{EndpointBody, EndpointRequest, ProviderEndpoints};
use serde_json::{Map, Value, json};

fn oauth_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/oauth")
}

/// One authorization server process, stopped on drop.
pub struct AuthorizationServer {
    child: Child,
    /// Its issuer, `http://127.0.0.1:<port>`.
    pub issuer: String,
}

impl AuthorizationServer {
    /// Starts one whose static clients may redirect to `redirect_uris`, issuing access tokens
    /// that live `access_token_ttl` seconds.
    pub fn start(redirect_uris: &[&str], access_token_ttl: u64) -> Self {
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
    pub fn definition(&self, name: &str, flow: &str) -> Value {
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

    /// What the server's introspection endpoint says about `token` (asked as a resource
    /// server would).
    pub async fn introspect(&self, token: &str) -> Map<String, Value> {
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
pub fn person(url: &str, cookie: Option<(&str, &str)>, env: &[(&str, &str)]) -> Value {
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
