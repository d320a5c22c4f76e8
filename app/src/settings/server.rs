//! Settings of the HTTP daemon (`authsome serve`).

use authsome_domain::TrustedProxies;
use authsome_domain::proof::ProofPolicy;
use authsome_outbound::OutboundSettings;
use authsome_services::ServicePolicy;

use super::{DeploymentEnv, EnvironmentVariables, SettingsError};

/// The request body limit (HTTP 413 above it).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How the daemon listens and behaves.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `AUTHSOME_HOST` (default `127.0.0.1`).
    pub host: String,
    /// `AUTHSOME_PORT` (default `7998`).
    pub port: u16,
    /// The values the services' rules read: `AUTHSOME_BASE_URL` (the external URL in claim,
    /// input and success links; default `http://<host>:<port>`, with `127.0.0.1` for an
    /// all-interfaces host; no trailing `/`), `AUTHSOME_UI_BOOTSTRAP_TTL_SECONDS` (claim tokens,
    /// 300), `AUTHSOME_UI_SESSION_TTL_SECONDS` (browser sessions, 3600),
    /// `AUTHSOME_AUTH_SESSION_TTL_SECONDS` (login sessions, 300),
    /// `AUTHSOME_TOKEN_NEAR_EXPIRY_SECONDS` (OAuth refresh window, 300),
    /// `AUTHSOME_MIN_PASSWORD_LENGTH` (8), `AUTHSOME_OPEN_SIGNUP` (on, except when
    /// `AUTHSOME_ENV=prod`), `AUTHSOME_LOGIN_MAX_FAILURES` (failed sign-ins per email per 15
    /// minutes before further attempts are refused, 10), `AUTHSOME_REGISTRATIONS_PER_HOUR`
    /// (identity registrations per client address, an IPv4 address or an IPv6 /64, per hour,
    /// 100; past it, 429), and the outbound timeout of [`outbound`](Self::outbound).
    pub policy: ServicePolicy,
    /// `AUTHSOME_POP_MAX_LIFETIME_SECONDS` (default 120) and `AUTHSOME_POP_LEEWAY_SECONDS`
    /// (default 30).
    pub pop: ProofPolicy,
    /// `AUTHSOME_API_DOCS`: serve Swagger UI at `/docs` (default on).
    pub api_docs: bool,
    /// Serve Prometheus metrics at `/metrics` (`AUTHSOME_METRICS`).
    pub metrics: bool,
    /// `AUTHSOME_SHUTDOWN_GRACE_SECONDS`: how long in-flight requests may take to finish after
    /// SIGTERM or SIGINT (default 30).
    pub shutdown_grace_seconds: u64,
    /// `AUTHSOME_POP_IDS_PER_IDENTITY`: how many token ids one claimed identity may have
    /// recorded in the replay cache per window of [`ProofPolicy::longest_id_retention_seconds`]
    /// (default 100 000: about 550 requests per second sustained, in bursts of up to the whole
    /// quota); past it, its requests get 429. Identities that may not act (unclaimed, pending,
    /// rejected) have [`REFUSED_IDENTITY_IDS`].
    pub pop_ids_per_identity: u64,
    /// How connections are bounded.
    pub connections: ConnectionLimits,
    /// `AUTHSOME_TRUSTED_PROXIES`: reverse proxies (addresses and CIDR networks, comma
    /// separated) whose `X-Forwarded-For` names the client for per-client limits (default
    /// none: the peer address is the client).
    pub trusted_proxies: TrustedProxies,
    /// How providers' OAuth endpoints are reached: `AUTHSOME_OUTBOUND_TIMEOUT_SECONDS` (15),
    /// `AUTHSOME_OUTBOUND_CONNECT_TIMEOUT_SECONDS` (5), `AUTHSOME_OUTBOUND_ALLOW_HTTP` (off:
    /// plain http only to loopback hosts), `AUTHSOME_OUTBOUND_CA_FILE` (extra CA certificates,
    /// PEM) and `AUTHSOME_OUTBOUND_PROXY` (none).
    pub outbound: OutboundSettings,
}

/// How many token ids an identity that may not act (unclaimed, pending or rejected claim) may
/// have recorded per window. Each of its requests is refused (403) but its token id is still
/// spent, so that the token cannot succeed once the identity is claimed; this bounds what such
/// an identity, which anyone can register, can make the replay cache hold.
pub const REFUSED_IDENTITY_IDS: u64 = 30;

/// Bounds on client connections, so that idle, slow or abandoned connections cannot hold the
/// server's sockets and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// `AUTHSOME_HTTP_HEADER_TIMEOUT_SECONDS` (default 10): a connection must deliver each
    /// request's complete head within this long of opening, or of the end of its previous
    /// response (so it is also the keep-alive idle limit); otherwise it is closed.
    pub header_timeout_seconds: u64,
    /// `AUTHSOME_HTTP_BODY_TIMEOUT_SECONDS` (default 30): a request body must arrive whole
    /// within this long of its head (408 otherwise).
    pub body_timeout_seconds: u64,
    /// `AUTHSOME_HTTP_IDLE_TIMEOUT_SECONDS` (default 60): a connection on which nothing is read
    /// or written for this long while no request is being handled (a response its client does
    /// not read) is closed.
    pub idle_timeout_seconds: u64,
    /// `AUTHSOME_MAX_CONNECTIONS` (default 10 000, and never more than the open-file limit
    /// leaves room for): connections served at once; further ones wait in the listen backlog
    /// until one closes.
    pub max_connections: usize,
}

impl ServerSettings {
    /// Reads the daemon settings.
    pub fn from_env(vars: &EnvironmentVariables, env: DeploymentEnv) -> Result<Self, SettingsError> {
        let host = vars
            .get("AUTHSOME_HOST")
            .map_or_else(|| "127.0.0.1".to_owned(), |h| h.trim().to_owned());
        let port = integer(vars, "AUTHSOME_PORT", 7998, 1, 65_535)?;
        let port = u16::try_from(port).map_err(|_| SettingsError::new("AUTHSOME_PORT", "must be 1 to 65535"))?;
        let base_url = match vars.get("AUTHSOME_BASE_URL") {
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                if authsome_domain::provider_definition::http_host(&url).is_none() {
                    return Err(SettingsError::new(
                        "AUTHSOME_BASE_URL",
                        "must be an http:// or https:// URL",
                    ));
                }
                url
            }
            None => {
                let public_host = match host.as_str() {
                    "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
                    other => other,
                };
                let public_host = if public_host.contains(':') && !public_host.starts_with('[') {
                    format!("[{public_host}]")
                } else {
                    public_host.to_owned()
                };
                format!("http://{public_host}:{port}")
            }
        };
        let outbound = outbound(vars)?;
        let policy = ServicePolicy {
            base_url,
            claim_ttl_seconds: integer(vars, "AUTHSOME_UI_BOOTSTRAP_TTL_SECONDS", 300, 30, 86_400)?,
            browser_session_ttl_seconds: integer(vars, "AUTHSOME_UI_SESSION_TTL_SECONDS", 3600, 60, 30 * 86_400)?,
            auth_session_ttl_seconds: integer(vars, "AUTHSOME_AUTH_SESSION_TTL_SECONDS", 300, 30, 86_400)?,
            token_near_expiry_seconds: integer(vars, "AUTHSOME_TOKEN_NEAR_EXPIRY_SECONDS", 300, 0, 86_400)?,
            min_password_length: usize::try_from(integer(vars, "AUTHSOME_MIN_PASSWORD_LENGTH", 8, 1, 1024)?)
                .unwrap_or(8),
            open_signup: boolean(vars, "AUTHSOME_OPEN_SIGNUP", env != DeploymentEnv::Prod)?,
            login_max_failures: u64::try_from(integer(vars, "AUTHSOME_LOGIN_MAX_FAILURES", 10, 1, 10_000)?)
                .unwrap_or(10),
            registrations_per_hour: count(vars, "AUTHSOME_REGISTRATIONS_PER_HOUR", 100, 1, 1_000_000)?,
            outbound_timeout: outbound.timeout,
        };
        Ok(Self {
            host,
            port,
            policy,
            pop: ProofPolicy {
                max_lifetime_seconds: integer(vars, "AUTHSOME_POP_MAX_LIFETIME_SECONDS", 120, 1, 3600)?,
                leeway_seconds: integer(vars, "AUTHSOME_POP_LEEWAY_SECONDS", 30, 0, 300)?,
            },
            api_docs: boolean(vars, "AUTHSOME_API_DOCS", true)?,
            metrics: boolean(vars, "AUTHSOME_METRICS", true)?,
            shutdown_grace_seconds: u64::try_from(integer(vars, "AUTHSOME_SHUTDOWN_GRACE_SECONDS", 30, 0, 3600)?)
                .unwrap_or(30),
            pop_ids_per_identity: count(vars, "AUTHSOME_POP_IDS_PER_IDENTITY", 100_000, 10, 1_000_000_000)?,
            connections: ConnectionLimits {
                header_timeout_seconds: count(vars, "AUTHSOME_HTTP_HEADER_TIMEOUT_SECONDS", 10, 1, 3600)?,
                body_timeout_seconds: count(vars, "AUTHSOME_HTTP_BODY_TIMEOUT_SECONDS", 30, 1, 3600)?,
                idle_timeout_seconds: count(vars, "AUTHSOME_HTTP_IDLE_TIMEOUT_SECONDS", 60, 1, 3600)?,
                max_connections: usize::try_from(count(vars, "AUTHSOME_MAX_CONNECTIONS", 10_000, 1, 1_000_000)?)
                    .unwrap_or(10_000),
            },
            outbound,
            trusted_proxies: match vars.get("AUTHSOME_TRUSTED_PROXIES") {
                None => TrustedProxies::default(),
                Some(text) => TrustedProxies::parse(text).map_err(|entry| {
                    SettingsError::new(
                        "AUTHSOME_TRUSTED_PROXIES",
                        format!("must be comma-separated addresses or CIDR networks ({entry:?} is neither)"),
                    )
                })?,
            },
        })
    }

    /// Whether cookies must be `Secure` (the external URL is HTTPS).
    pub fn secure_cookies(&self) -> bool {
        self.policy.base_url.starts_with("https://")
    }
}

/// How providers' OAuth endpoints are reached.
fn outbound(vars: &EnvironmentVariables) -> Result<OutboundSettings, SettingsError> {
    Ok(OutboundSettings {
        connect_timeout: std::time::Duration::from_secs(count(
            vars,
            "AUTHSOME_OUTBOUND_CONNECT_TIMEOUT_SECONDS",
            5,
            1,
            120,
        )?),
        timeout: std::time::Duration::from_secs(count(vars, "AUTHSOME_OUTBOUND_TIMEOUT_SECONDS", 15, 1, 300)?),
        max_answer_bytes: OutboundSettings::default().max_answer_bytes,
        allow_plain_http: boolean(vars, "AUTHSOME_OUTBOUND_ALLOW_HTTP", false)?,
        extra_ca_file: vars
            .get("AUTHSOME_OUTBOUND_CA_FILE")
            .map(str::trim)
            .filter(|path| !path.is_empty())
            .map(std::path::PathBuf::from),
        proxy: match vars
            .get("AUTHSOME_OUTBOUND_PROXY")
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            None => None,
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => Some(url.to_owned()),
            Some(_) => {
                return Err(SettingsError::new(
                    "AUTHSOME_OUTBOUND_PROXY",
                    "must be an http:// or https:// proxy URL",
                ));
            }
        },
    })
}

/// A positive [`integer`].
fn count(
    vars: &EnvironmentVariables,
    variable: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, SettingsError> {
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let value = integer(vars, variable, clamp(default), clamp(min), clamp(max))?;
    Ok(u64::try_from(value).unwrap_or(default))
}

fn integer(
    vars: &EnvironmentVariables,
    variable: &'static str,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, SettingsError> {
    match vars.get(variable) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(value) if (min..=max).contains(&value) => Ok(value),
            _ => Err(SettingsError::new(
                variable,
                format!("must be an integer from {min} to {max} (got {raw:?})"),
            )),
        },
    }
}

/// `on`/`off` style booleans.
pub(super) fn boolean(
    vars: &EnvironmentVariables,
    variable: &'static str,
    default: bool,
) -> Result<bool, SettingsError> {
    match vars.get(variable).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if matches!(v.as_str(), "on" | "true" | "1" | "yes") => Ok(true),
        Some(v) if matches!(v.as_str(), "off" | "false" | "0" | "no") => Ok(false),
        Some(other) => Err(SettingsError::new(
            variable,
            format!("must be on or off (got {other:?})"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(pairs: &[(&str, &str)], env: DeploymentEnv) -> Result<ServerSettings, SettingsError> {
        ServerSettings::from_env(&EnvironmentVariables::from_pairs(pairs.iter().copied()), env)
    }

    #[test]
    fn defaults_follow_the_reference() {
        let s = server(&[], DeploymentEnv::Dev).expect("defaults");
        assert_eq!(
            (s.host.as_str(), s.port, s.policy.base_url.as_str()),
            ("127.0.0.1", 7998, "http://127.0.0.1:7998")
        );
        assert_eq!(
            (
                s.policy.claim_ttl_seconds,
                s.policy.browser_session_ttl_seconds,
                s.policy.min_password_length
            ),
            (300, 3600, 8)
        );
        assert!(s.policy.open_signup, "open sign-up on a developer machine");
        assert!(
            !server(&[], DeploymentEnv::Prod).expect("prod").policy.open_signup,
            "closed in production"
        );
    }

    #[test]
    fn the_base_url_follows_the_listen_address_unless_set() {
        let s = server(
            &[("AUTHSOME_HOST", "0.0.0.0"), ("AUTHSOME_PORT", "8080")],
            DeploymentEnv::Dev,
        )
        .expect("valid");
        assert_eq!(s.policy.base_url, "http://127.0.0.1:8080");
        let s = server(
            &[("AUTHSOME_BASE_URL", "https://vault.example.com/")],
            DeploymentEnv::Dev,
        )
        .expect("valid");
        assert_eq!(s.policy.base_url, "https://vault.example.com");
        assert!(s.secure_cookies());
        let err = server(&[("AUTHSOME_BASE_URL", "vault.example.com")], DeploymentEnv::Dev).expect_err("no scheme");
        assert_eq!(err.variable, "AUTHSOME_BASE_URL");
        assert_eq!(
            server(&[("AUTHSOME_PORT", "99999")], DeploymentEnv::Dev)
                .expect_err("port")
                .variable,
            "AUTHSOME_PORT"
        );
        assert_eq!(
            server(&[("AUTHSOME_OPEN_SIGNUP", "maybe")], DeploymentEnv::Dev)
                .expect_err("bool")
                .variable,
            "AUTHSOME_OPEN_SIGNUP"
        );
    }
}
