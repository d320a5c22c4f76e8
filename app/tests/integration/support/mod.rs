//! A daemon in the test process (SQLite in a temp dir, memory vault and state, the real HTTP
//! endpoint), agents that sign proof-of-possession tokens as the reference CLI does, and a
//! browser with a cookie jar that reads and posts the pages' forms.

pub(crate) mod authorization_server;
pub(crate) mod conformance;
pub(crate) mod faulty_vault;
pub(crate) mod process;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use authsome_app::http;
use authsome_app::settings::{DeploymentEnv, EnvironmentVariables, ServerSettings};
use authsome_app::state::{AppState, SharedState};
use authsome_domain::proof::{self, BoundRequest};
use authsome_domain::vault_crypto::{EnvelopeVersion, KdfParams, MasterSecret};
use authsome_domain::{DidKey, Timestamp};
use authsome_services::ServiceContext;
use authsome_services::vault::Vault;
use ed25519_dalek::SigningKey;
use poem::http::{HeaderMap, Method, StatusCode};
use poem::{Body, Endpoint, EndpointExt, Request};
use serde_json::Value;

/// Small Argon2 parameters for the vault's data key: these tests are about HTTP.
const FAST_KDF: KdfParams = KdfParams {
    memory_kib: 256,
    time_cost: 1,
    parallelism: 1,
};

/// A response, read whole.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub(crate) fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text());
        self
    }
}

/// The daemon over a temporary SQLite database.
pub(crate) struct Daemon {
    pub state: SharedState,
    endpoint: poem::endpoint::BoxEndpoint<'static, poem::Response>,
    _dir: tempfile::TempDir,
}

impl Daemon {
    pub(crate) async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// With extra `AUTHSOME_*` server settings.
    pub(crate) async fn start_with(vars: &[(&str, &str)]) -> Self {
        Self::build(vars, |_| {}).await
    }

    /// With extra settings and a last change to the state (a failing backend, say).
    pub(crate) async fn build(vars: &[(&str, &str)], customize: impl FnOnce(&mut AppState)) -> Self {
        Self::build_on(vars, Arc::new(authsome_memory::MemoryBlobStore::new()), customize).await
    }

    /// [`build`](Self::build) with the vault on `blob_store`.
    pub(crate) async fn build_on(
        vars: &[(&str, &str)],
        blob_store: Arc<dyn authsome_ports::VaultBlobStore>,
        customize: impl FnOnce(&mut AppState),
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = authsome_sqlite::open(&authsome_sqlite::SqliteSettings::new(dir.path().join("authsome.db")))
            .await
            .expect("sqlite");
        let registries = authsome_sqlite::registries(store);
        let runtime = |_: &Vault| authsome_memory::runtime_state(authsome_memory::DEFAULT_CAPACITY);
        Self::assemble(dir, vars, registries, blob_store, runtime, customize).await
    }

    /// A replica over shared registries and a shared vault store, with the runtime state
    /// `runtime` makes for its vault (Redis, say): one of several sharing a deployment.
    pub(crate) async fn replica(
        registries: authsome_ports::Registries,
        blob_store: Arc<dyn authsome_ports::VaultBlobStore>,
        runtime: impl FnOnce(&Vault) -> authsome_ports::RuntimeState,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::assemble(dir, &[], registries, blob_store, runtime, |_| {}).await
    }

    async fn assemble(
        dir: tempfile::TempDir,
        vars: &[(&str, &str)],
        registries: authsome_ports::Registries,
        blob_store: Arc<dyn authsome_ports::VaultBlobStore>,
        runtime: impl FnOnce(&Vault) -> authsome_ports::RuntimeState,
        customize: impl FnOnce(&mut AppState),
    ) -> Self {
        let master = MasterSecret::from_text("http tests master secret").expect("secret");
        let vault = Vault::open(blob_store, &master, None, EnvelopeVersion::V2, FAST_KDF)
            .await
            .expect("vault");
        let mut pairs: Vec<(&str, &str)> = vec![("AUTHSOME_PORT", "7998")];
        pairs.extend_from_slice(vars);
        let settings =
            ServerSettings::from_env(&EnvironmentVariables::from_pairs(pairs), DeploymentEnv::Dev).expect("settings");
        let endpoints = Arc::new(
            authsome_outbound::HttpProviderEndpoints::new(settings.outbound.clone()).expect("outbound client"),
        );
        let runtime = runtime(&vault);
        let services = ServiceContext::new(registries, Arc::new(vault), runtime, endpoints, settings.policy.clone())
            .expect("catalog");
        let mut state = AppState::new(services, settings, DeploymentEnv::Dev, dir.path().to_path_buf());
        customize(&mut state);
        let state = Arc::new(state);
        let endpoint = http::endpoint(state.clone()).boxed();
        Self {
            state,
            endpoint,
            _dir: dir,
        }
    }

    /// A daemon whose base URL is its own loopback address (so that OAuth providers can send
    /// a person's browser back to it), served on that address, with its device-code poller
    /// running, as `authsome serve` runs them.
    pub(crate) async fn serve_at_own_address(vars: &[(&str, &str)]) -> (Self, String) {
        Self::serve_at_own_address_on(vars, Arc::new(authsome_memory::MemoryBlobStore::new()), |_| {}).await
    }

    /// [`serve_at_own_address`](Self::serve_at_own_address) with the vault on `blob_store` and
    /// a last change to the state.
    pub(crate) async fn serve_at_own_address_on(
        vars: &[(&str, &str)],
        blob_store: Arc<dyn authsome_ports::VaultBlobStore>,
        customize: impl FnOnce(&mut AppState),
    ) -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://127.0.0.1:{}", listener.local_addr().expect("address").port());
        let mut all: Vec<(&str, &str)> = vec![("AUTHSOME_BASE_URL", &base_url)];
        all.extend_from_slice(vars);
        let daemon = Self::build_on(&all, blob_store, customize).await;
        daemon.serve_on(listener);
        tokio::spawn(authsome_services::oauth::device::run_poller(daemon.state.clone()));
        (daemon, base_url)
    }

    /// Serves this daemon on `listener`; returns its address.
    pub(crate) fn serve_on(&self, listener: tokio::net::TcpListener) -> std::net::SocketAddr {
        let address = listener.local_addr().expect("address");
        let endpoint = http::endpoint(self.state.clone()).boxed();
        let limits = self.state.settings.connections;
        tokio::spawn(async move {
            http::server::serve(
                listener,
                endpoint,
                limits,
                std::future::pending(),
                std::time::Duration::from_secs(1),
            )
            .await
        });
        address
    }

    pub(crate) async fn send(&self, request: Request) -> Reply {
        let (method, uri) = (request.method().clone(), request.uri().to_string());
        let response = self
            .endpoint
            .call(request)
            .await
            .expect("the endpoint answers every request");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().into_vec().await.expect("body");
        conformance::check(&method, &uri, status, &headers, &body);
        Reply { status, headers, body }
    }

    /// An unauthenticated request.
    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut builder = Request::builder().method(method).uri_str(path);
        let body = match body {
            Some(value) => {
                builder = builder.content_type("application/json");
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body)).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    /// A registered agent that a fresh person (the first: an admin) has claimed.
    pub(crate) async fn claimed_agent(&self, handle: &str, email: &str) -> (Agent, Browser) {
        let agent = Agent::new(handle);
        let claim_url = agent.register(self).await;
        let mut browser = Browser::default();
        browser
            .sign_up(self, email, "a long enough password", "/")
            .await
            .expect(303);
        browser.confirm_claim(self, &claim_url).await.expect(303);
        (agent, browser)
    }
}

static JTI: AtomicU64 = AtomicU64::new(0);

/// An agent identity with its Ed25519 key.
pub(crate) struct Agent {
    pub handle: String,
    pub did: DidKey,
    key: SigningKey,
}

impl Agent {
    pub(crate) fn new(handle: &str) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("random");
        let key = SigningKey::from_bytes(&seed);
        let did = DidKey::from_public_key(key.verifying_key().to_bytes());
        Self {
            handle: handle.to_owned(),
            did,
            key,
        }
    }

    /// `Authorization: PoP ...` for one request, exactly as the CLI builds it.
    pub(crate) fn proof(&self, method: &str, path_and_query: &str, body: &[u8]) -> String {
        let jti = format!("jti-{}-{}", std::process::id(), JTI.fetch_add(1, Ordering::Relaxed));
        self.proof_with(method, path_and_query, body, &jti, Timestamp::now().unix_seconds())
    }

    pub(crate) fn proof_with(&self, method: &str, path_and_query: &str, body: &[u8], jti: &str, now: i64) -> String {
        let claims = proof::cli_claims(
            &self.did,
            &self.handle,
            BoundRequest {
                method,
                path_and_query,
                body,
            },
            jti,
            now,
        );
        format!("PoP {}", proof::sign(&self.key, &claims))
    }

    pub(crate) fn sign_claims(&self, claims: &serde_json::Map<String, Value>) -> String {
        format!("PoP {}", proof::sign(&self.key, claims))
    }

    /// Registers the identity; returns the claim link.
    pub(crate) async fn register(&self, daemon: &Daemon) -> String {
        let reply = daemon
            .call(
                Method::POST,
                "/api/identities/register",
                Some(serde_json::json!({"handle": self.handle, "did": self.did.as_str()})),
            )
            .await
            .expect(200);
        reply.json()["claim_url"]
            .as_str()
            .expect("claim_url on first registration")
            .to_owned()
    }

    /// A signed request; the body is sent exactly as signed.
    pub(crate) async fn call(&self, daemon: &Daemon, method: Method, path: &str, body: Option<Value>) -> Reply {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let proof = self.proof(method.as_str(), path, &bytes);
        self.call_with_proof(daemon, method, path, bytes, &proof).await
    }

    pub(crate) async fn call_with_proof(
        &self,
        daemon: &Daemon,
        method: Method,
        path: &str,
        body: Vec<u8>,
        proof: &str,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri_str(path)
            .header("authorization", proof);
        if !body.is_empty() {
            builder = builder.content_type("application/json");
        }
        daemon.send(builder.body(body)).await
    }

    pub(crate) async fn get(&self, daemon: &Daemon, path: &str) -> Reply {
        self.call(daemon, Method::GET, path, None).await
    }

    /// Starts an API-key login to OpenAI for `connection`; returns the path its key is posted
    /// to (`/api/auth/sessions/{id}/resume`).
    pub(crate) async fn start_openai_login(&self, daemon: &Daemon, connection: &str) -> String {
        let session = self
            .post(
                daemon,
                "/api/auth/sessions",
                serde_json::json!({"provider": "openai", "connection": connection, "flow": "api_key", "force": true}),
            )
            .await
            .expect(200)
            .json();
        format!(
            "/api/auth/sessions/{}/resume",
            session["id"].as_str().expect("session id")
        )
    }

    /// Stores `key` as the agent's OpenAI `connection` through the API-key login flow.
    pub(crate) async fn store_openai_key(&self, daemon: &Daemon, connection: &str, key: &str) {
        let resume = self.start_openai_login(daemon, connection).await;
        let resumed = self
            .post(daemon, &resume, serde_json::json!({"data": {"api_key": key}}))
            .await
            .expect(200)
            .json();
        assert_eq!(resumed["status"], "completed");
    }

    pub(crate) async fn post(&self, daemon: &Daemon, path: &str, body: Value) -> Reply {
        self.call(daemon, Method::POST, path, Some(body)).await
    }
}

/// A person's browser: a cookie jar and form handling.
#[derive(Default, Clone)]
pub(crate) struct Browser {
    cookies: HashMap<String, String>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, reply: &Reply) {
        for value in reply.headers.get_all("set-cookie") {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    pub(crate) fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub(crate) async fn request(
        &mut self,
        daemon: &Daemon,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri_str(path);
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("accept")) {
            builder = builder.header("accept", "text/html");
        }
        if !self.cookies.is_empty() {
            builder = builder.header("cookie", self.cookie_header());
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let reply = daemon.send(builder.body(body)).await;
        self.remember(&reply);
        reply
    }

    pub(crate) async fn get(&mut self, daemon: &Daemon, path: &str) -> Reply {
        self.request(daemon, Method::GET, path, &[], Body::empty()).await
    }

    /// A JSON API call with the session cookie (and its CSRF token on writes).
    pub(crate) async fn api(
        &mut self,
        daemon: &Daemon,
        method: Method,
        path: &str,
        body: Option<Value>,
        csrf: Option<&str>,
    ) -> Reply {
        let mut headers = vec![("accept", "application/json")];
        if let Some(token) = csrf {
            headers.push(("x-csrf-token", token));
        }
        let body = match body {
            Some(value) => {
                headers.push(("content-type", "application/json"));
                Body::from(value.to_string())
            }
            None => Body::empty(),
        };
        let mut builder = Request::builder().method(method).uri_str(path);
        if !self.cookies.is_empty() {
            builder = builder.header("cookie", self.cookie_header());
        }
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let reply = daemon.send(builder.body(body)).await;
        self.remember(&reply);
        reply
    }

    pub(crate) async fn post_form(&mut self, daemon: &Daemon, action: &str, fields: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.request(
            daemon,
            Method::POST,
            action,
            &[("content-type", "application/x-www-form-urlencoded")],
            Body::from(body),
        )
        .await
    }

    /// Follows redirects from `path` to a page.
    pub(crate) async fn follow(&mut self, daemon: &Daemon, path: &str) -> Reply {
        let mut reply = self.get(daemon, path).await;
        for _ in 0..10 {
            if !reply.status.is_redirection() {
                return reply;
            }
            let next = reply.location();
            reply = self.get(daemon, &next).await;
        }
        panic!("too many redirects from {path}");
    }

    pub(crate) async fn sign_up(&mut self, daemon: &Daemon, email: &str, password: &str, next: &str) -> Reply {
        let page = self
            .get(daemon, &format!("/login?next={}&tab=register", encode(next)))
            .await
            .expect(200);
        let csrf = hidden_field(&page.text(), "csrf_token");
        self.post_form(
            daemon,
            "/api/auth/register",
            &[
                ("email", email),
                ("password", password),
                ("next", next),
                ("csrf_token", &csrf),
            ],
        )
        .await
    }

    /// Completes an account an operator created, with its setup link's token.
    pub(crate) async fn sign_up_with_setup(&mut self, daemon: &Daemon, email: &str, token: &str) -> Reply {
        let page = self
            .get(daemon, &format!("/login?setup={}", encode(token)))
            .await
            .expect(200);
        let html = page.text();
        let csrf = hidden_field(&html, "csrf_token");
        let setup = hidden_field(&html, "setup_token");
        self.post_form(
            daemon,
            "/api/auth/register",
            &[
                ("email", email),
                ("password", "a long enough password"),
                ("next", "/"),
                ("csrf_token", &csrf),
                ("setup_token", &setup),
            ],
        )
        .await
    }

    pub(crate) async fn sign_in(&mut self, daemon: &Daemon, email: &str, password: &str) -> Reply {
        let page = self.get(daemon, "/login").await.expect(200);
        let csrf = hidden_field(&page.text(), "csrf_token");
        self.post_form(
            daemon,
            "/api/auth/login",
            &[
                ("email", email),
                ("password", password),
                ("next", "/"),
                ("csrf_token", &csrf),
            ],
        )
        .await
    }

    /// The CSRF token of the signed-in session (read from the home page's forms).
    pub(crate) async fn session_csrf(&mut self, daemon: &Daemon) -> String {
        let home = self.get(daemon, "/").await.expect(200);
        hidden_field(&home.text(), "csrf_token")
    }

    pub(crate) async fn confirm_claim(&mut self, daemon: &Daemon, claim_url: &str) -> Reply {
        let path = local_path(claim_url);
        let page = self.follow(daemon, &path).await.expect(200);
        let html = page.text();
        let action = form_action(&html, "/api/claim/");
        let csrf = hidden_field(&html, "csrf_token");
        self.post_form(daemon, &action, &[("csrf_token", &csrf)]).await
    }

    pub(crate) async fn fill_input(&mut self, daemon: &Daemon, input_url: &str, api_key: &str) -> Reply {
        let page = self.follow(daemon, &local_path(input_url)).await.expect(200);
        let html = page.text();
        let action = form_action(&html, "/auth/input");
        let csrf = hidden_field(&html, "csrf_token");
        self.post_form(daemon, &action, &[("api_key", api_key), ("csrf_token", &csrf)])
            .await
    }
}

pub(crate) fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The path and query of an absolute URL.
pub(crate) fn local_path(url: &str) -> String {
    match url.find("://") {
        Some(scheme_end) => {
            let rest = &url[scheme_end + 3..];
            rest.find('/').map_or_else(|| "/".to_owned(), |i| rest[i..].to_owned())
        }
        None => url.to_owned(),
    }
}

pub(crate) fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].replace("&amp;", "&")
}

pub(crate) fn form_action(html: &str, prefix: &str) -> String {
    let marker = format!("action=\"{prefix}");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no form posting to {prefix} in {html}"))
        + "action=\"".len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].replace("&amp;", "&")
}

/// Prints a figure a suite measured, and appends it to `figures.txt` in cargo's scratch folder
/// for integration tests, which `scripts/test` prints after the run: cargo shows a passing
/// test's output only with `--nocapture`, and a regression should show as a number in CI.
pub(crate) fn report_figure(line: &str) {
    use std::io::Write;
    println!("{line}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("figures.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(file, "{line}");
    }
}
