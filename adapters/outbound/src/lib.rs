//! # authsome-outbound
//!
//! The one HTTP client authsome-rs uses to reach the outside world: providers' OAuth token,
//! device, registration, discovery and revocation endpoints ([`ProviderEndpoints`]). It is
//! asynchronous on the shared runtime (the reference made blocking calls on request threads),
//! and bounded in every way a hostile or broken provider could exploit:
//!
//! - a connect timeout and a total timeout that covers the whole answer;
//! - a size bound on the answer, checked as it arrives;
//! - a connection of its own for each exchange (never one the provider may be closing);
//! - no redirects (a token endpoint that redirects is answered as it is: a code or a refresh
//!   token is never re-sent to wherever a `Location` points);
//! - https, with plain http refused before connecting unless the host is a loopback address
//!   (local development, tests) or the operator allows it;
//! - TLS through rustls, trusting the platform's roots and Mozilla's, plus an operator CA
//!   file; no proxy unless the operator names one (the `HTTP_PROXY` family of variables is
//!   not read, so an environment cannot silently route tokens through a proxy).
//!
//! This crate must not depend on any other adapter or on the HTTP server layer.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use authsome_ports::{EndpointBody, EndpointError, EndpointReply, EndpointRequest, ProviderEndpoints};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::{Map, Value};

/// How the client behaves; every field has an operator setting.
#[derive(Debug, Clone)]
pub struct OutboundSettings {
    /// Longest time to open a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Longest time for a whole exchange, answer included.
    pub timeout: Duration,
    /// Largest answer read.
    pub max_answer_bytes: usize,
    /// Whether plain-http endpoints on hosts other than loopback addresses may be used.
    pub allow_plain_http: bool,
    /// A PEM file of extra CA certificates to trust (a company's internal CA).
    pub extra_ca_file: Option<PathBuf>,
    /// An HTTP(S) proxy for every outbound request.
    pub proxy: Option<String>,
}

impl Default for OutboundSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            max_answer_bytes: 256 * 1024,
            allow_plain_http: false,
            extra_ca_file: None,
            proxy: None,
        }
    }
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum OutboundSetupError {
    /// The CA file could not be read or holds no certificate.
    #[error("cannot use the CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The proxy URL is not usable.
    #[error("the outbound proxy URL is not usable: {0}")]
    Proxy(String),
    /// The TLS or HTTP stack refused the configuration.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// [`ProviderEndpoints`] over HTTPS.
pub struct HttpProviderEndpoints {
    client: reqwest::Client,
    settings: OutboundSettings,
}

impl HttpProviderEndpoints {
    /// A client with `settings`.
    pub fn new(settings: OutboundSettings) -> Result<Self, OutboundSetupError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("authsome-rs/", env!("CARGO_PKG_VERSION")))
            // Each exchange on a connection of its own: a pooled connection may be one the
            // provider is closing (a device poll every 5 s meets Node's 5 s keep-alive timeout
            // exactly), and a token request must not be sent twice to find out.
            .pool_max_idle_per_host(0)
            .https_only(false);
        builder = match &settings.proxy {
            Some(url) => builder.proxy(reqwest::Proxy::all(url).map_err(|e| OutboundSetupError::Proxy(e.to_string()))?),
            None => builder.no_proxy(),
        };
        if let Some(path) = &settings.extra_ca_file {
            let pem = std::fs::read(path).map_err(|e| OutboundSetupError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| OutboundSetupError::CaFile {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            if certificates.is_empty() {
                return Err(OutboundSetupError::CaFile {
                    path: path.clone(),
                    reason: "no PEM certificate in it".to_owned(),
                });
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let client = builder.build().map_err(|e| OutboundSetupError::Client(e.to_string()))?;
        Ok(Self { client, settings })
    }

    /// Refuses URLs this client must not send to.
    fn check(&self, url: &reqwest::Url) -> Result<(), EndpointError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.settings.allow_plain_http || is_loopback(url) => Ok(()),
            "http" => Err(EndpointError::Refused(format!(
                "plain http to {} is refused: use https, or allow it with AUTHSOME_OUTBOUND_ALLOW_HTTP",
                url.host_str().unwrap_or("the provider")
            ))),
            other => Err(EndpointError::Refused(format!(
                "'{other}' URLs are not provider endpoints"
            ))),
        }
    }

    async fn exchange(&self, request: &EndpointRequest<'_>) -> Result<EndpointReply, EndpointError> {
        let url = reqwest::Url::parse(request.url)
            .map_err(|_| EndpointError::Refused("the provider endpoint is not a valid URL".to_owned()))?;
        self.check(&url)?;
        let mut builder = match request.body {
            EndpointBody::Empty => self.client.get(url),
            EndpointBody::Form(fields) => {
                let mut form = form_urlencoded::Serializer::new(String::new());
                form.extend_pairs(fields.iter().copied());
                self.client
                    .post(url)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.finish())
            }
            EndpointBody::Json(document) => self
                .client
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .body(document.to_string()),
        };
        builder = builder.header(ACCEPT, "application/json");
        if let Some((id, secret)) = request.basic_auth {
            builder = builder.basic_auth(id, Some(secret));
        }
        let mut response = builder.send().await.map_err(|e| self.transport(e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let limit = self.settings.max_answer_bytes;
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(EndpointError::TooLarge(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(e))? {
            if body.len() + chunk.len() > limit {
                return Err(EndpointError::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(EndpointReply {
            status,
            json: read_object(content_type.as_deref(), &body),
            content_type,
        })
    }

    fn transport(&self, error: reqwest::Error) -> EndpointError {
        if error.is_timeout() {
            EndpointError::TimedOut(self.settings.timeout)
        } else {
            EndpointError::Unreachable(Box::new(error.without_url()))
        }
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The answer as an object: JSON (whatever the content type says, when it parses as an
/// object), or form fields (`application/x-www-form-urlencoded`, as GitHub answers a client
/// that does not ask for JSON). Anything else is `None`.
fn read_object(content_type: Option<&str>, body: &[u8]) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
        return Some(object);
    }
    let is_form = content_type.is_some_and(|kind| kind.trim_start().starts_with("application/x-www-form-urlencoded"));
    is_form.then(|| {
        form_urlencoded::parse(body)
            .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
            .collect()
    })
}

/// `outer: inner: ...`, each cause once.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[async_trait]
impl ProviderEndpoints for HttpProviderEndpoints {
    async fn send(&self, request: &EndpointRequest<'_>) -> Result<EndpointReply, EndpointError> {
        let started = Instant::now();
        let outcome = self.exchange(request).await;
        // The URL's host and path only: endpoints carry no secret, but a query could.
        let endpoint = reqwest::Url::parse(request.url)
            .map(|url| format!("{}{}", url.host_str().unwrap_or_default(), url.path()))
            .unwrap_or_default();
        match &outcome {
            Ok(reply) => tracing::debug!(
                %endpoint,
                status = reply.status,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "provider endpoint answered"
            ),
            Err(error) => tracing::info!(
                %endpoint,
                error = %chain(error),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "provider endpoint failed"
            ),
        }
        outcome
    }
}
