//! Connecting to Redis: one server (`redis://`, `rediss://` for TLS) or the primary of a
//! Sentinel-watched group (`redis+sentinel://`, `rediss+sentinel://`), always through one
//! multiplexed, self-reconnecting connection with a response timeout.
//!
//! With Sentinel, a watcher asks the sentinels for the primary's address every
//! [`SENTINEL_CHECK_INTERVAL`], and at once when a command fails as a lost or refused
//! connection, a timeout or `READONLY` (a demoted primary); when the address changed, new
//! commands go to a connection to the new primary. Commands in flight during a failover fail
//! (callers answer 503 and fail closed); none is retried behind the caller's back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, Weak};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::io::tcp::TcpSettings;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Cmd, ConnectionAddr, IntoConnectionInfo, Pipeline, RedisFuture, TlsMode, Value};

/// How often the sentinels are asked for the primary's address.
pub const SENTINEL_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// How to reach Redis.
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://` or `rediss://` (TLS) URL, with the database number as its path. It may hold
    /// a password, so it is never logged.
    pub url: String,
    /// How long one command may take before it fails as unavailable.
    pub response_timeout: Duration,
    /// How long connecting may take.
    pub connection_timeout: Duration,
    /// PEM certificates of the authorities a TLS Redis (and its sentinels) must be signed
    /// by, in place of the built-in Mozilla roots (a private CA).
    pub tls_roots: Option<Vec<u8>>,
}

impl RedisSettings {
    /// Settings for `url` with a 2 s response timeout and a 2 s connection timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            response_timeout: Duration::from_secs(2),
            connection_timeout: Duration::from_secs(2),
            tls_roots: None,
        }
    }
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &"<redacted>")
            .field("response_timeout", &self.response_timeout)
            .field("connection_timeout", &self.connection_timeout)
            .field("tls_roots", &self.tls_roots.as_ref().map(|pem| pem.len()))
            .finish()
    }
}

/// Why Redis could not be reached at startup. Messages never contain the URL.
#[derive(Debug, thiserror::Error)]
pub enum RedisConnectError {
    /// The URL is not a Redis URL.
    #[error("AUTHSOME_REDIS_URL is not a valid Redis URL")]
    Url(#[source] redis::RedisError),
    /// Redis did not accept a connection.
    #[error("cannot connect to Redis")]
    Connect(#[source] redis::RedisError),
    /// A `redis+sentinel://` URL is malformed (the message names the part, never a password).
    #[error("AUTHSOME_REDIS_URL is not a valid Sentinel URL: {0}")]
    SentinelUrl(String),
}

/// The connection every Redis adapter shares: to one server, or to the current primary of a
/// Sentinel group. Clone it freely (clones share the connection); it reconnects by itself.
#[derive(Clone)]
pub struct RedisConnection(Route);

#[derive(Clone)]
enum Route {
    Direct(ConnectionManager),
    Sentinel(Arc<SentinelRoute>),
}

/// The connection to the primary a Sentinel group names, replaced when the primary moves.
struct SentinelRoute {
    primary: RwLock<(ConnectionAddr, ConnectionManager)>,
    sentinels: tokio::sync::Mutex<SentinelClient>,
    config: ConnectionManagerConfig,
    wake: tokio::sync::Notify,
    check_requested: AtomicBool,
}

impl SentinelRoute {
    /// The primary's address and connection now (hold the guard only to read or clone).
    fn primary(&self) -> RwLockReadGuard<'_, (ConnectionAddr, ConnectionManager)> {
        self.primary.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl RedisConnection {
    fn current(&self) -> ConnectionManager {
        match &self.0 {
            Route::Direct(connection) => connection.clone(),
            Route::Sentinel(route) => route.primary().1.clone(),
        }
    }

    fn after<T>(&self, result: &redis::RedisResult<T>) {
        if let (Route::Sentinel(route), Err(error)) = (&self.0, result)
            && (error.is_connection_dropped()
                || error.is_connection_refusal()
                || error.is_timeout()
                || error.is_io_error()
                || error.code() == Some("READONLY"))
            && !route.check_requested.swap(true, Ordering::AcqRel)
        {
            route.wake.notify_one();
        }
    }

    /// The address commands go to now (`host:port`), for logs and tests.
    pub fn primary_address(&self) -> Option<String> {
        match &self.0 {
            Route::Direct(_) => None,
            Route::Sentinel(route) => Some(route.primary().0.to_string()),
        }
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let result = self.current().req_packed_command(cmd).await;
            self.after(&result);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let result = self.current().req_packed_commands(pipeline, offset, count).await;
            self.after(&result);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.current().get_db()
    }
}

fn manager_config(settings: &RedisSettings) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_response_timeout(Some(settings.response_timeout))
        .set_connection_timeout(Some(settings.connection_timeout))
        // A failed command is not retried behind the caller's back: it fails fast, and the
        // manager reconnects in the background for the next one.
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500))
}

/// The socket options of every connection to Redis and to the sentinels.
///
/// `TCP_NODELAY`, which the client leaves off: one multiplexed connection carries every
/// request's commands, so with Nagle's algorithm a request's write waits behind the previous
/// one until the server acknowledges it, and under load that wait (up to the peer's delayed
/// acknowledgement) lands in the tail latency of unrelated requests.
fn tcp_settings() -> TcpSettings {
    TcpSettings::default().set_nodelay(true)
}

/// Where and how to connect for a `redis://` or `rediss://` URL.
fn connection_info(url: &str) -> redis::RedisResult<redis::ConnectionInfo> {
    Ok(url.into_connection_info()?.set_tcp_settings(tcp_settings()))
}

/// Connects to the server or Sentinel group `settings.url` names.
pub async fn connect(settings: &RedisSettings) -> Result<RedisConnection, RedisConnectError> {
    if let Some(sentinel_url) = SentinelUrl::parse(&settings.url)? {
        return connect_through_sentinels(settings, sentinel_url).await;
    }
    let info = connection_info(&settings.url).map_err(RedisConnectError::Url)?;
    let client = match &settings.tls_roots {
        None => redis::Client::open(info),
        Some(pem) => redis::Client::build_with_tls(info, roots(pem)),
    }
    .map_err(RedisConnectError::Url)?;
    ConnectionManager::new_with_config(client, manager_config(settings))
        .await
        .map(|connection| RedisConnection(Route::Direct(connection)))
        .map_err(RedisConnectError::Connect)
}

async fn connect_through_sentinels(
    settings: &RedisSettings,
    url: SentinelUrl,
) -> Result<RedisConnection, RedisConnectError> {
    let mut sentinels = url
        .client(settings.tls_roots.as_deref())
        .map_err(RedisConnectError::Url)?;
    let config = manager_config(settings);
    let (address, primary) = connect_to_primary(&mut sentinels, &config, settings.connection_timeout)
        .await
        .map_err(RedisConnectError::Connect)?;
    let route = Arc::new(SentinelRoute {
        primary: RwLock::new((address, primary)),
        sentinels: tokio::sync::Mutex::new(sentinels),
        config,
        wake: tokio::sync::Notify::new(),
        check_requested: AtomicBool::new(false),
    });
    tokio::spawn(watch_primary(Arc::downgrade(&route), settings.connection_timeout));
    Ok(RedisConnection(Route::Sentinel(route)))
}

/// Asks the sentinels for the primary and connects to it.
async fn connect_to_primary(
    sentinels: &mut SentinelClient,
    config: &ConnectionManagerConfig,
    timeout: Duration,
) -> redis::RedisResult<(ConnectionAddr, ConnectionManager)> {
    let client = ask_for_primary(sentinels, timeout).await?;
    let address = client.get_connection_info().addr().clone();
    let connection = ConnectionManager::new_with_config(client, config.clone()).await?;
    Ok((address, connection))
}

async fn ask_for_primary(sentinels: &mut SentinelClient, timeout: Duration) -> redis::RedisResult<redis::Client> {
    // Three sentinels tried one after another, each with the connection timeout.
    match tokio::time::timeout(timeout * 4, sentinels.async_get_client()).await {
        Ok(answer) => answer,
        Err(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "the sentinels did not name a primary in time",
        ))),
    }
}

/// Follows the primary until the connection is dropped.
async fn watch_primary(route: Weak<SentinelRoute>, timeout: Duration) {
    while let Some(route) = route.upgrade() {
        let _ = tokio::time::timeout(SENTINEL_CHECK_INTERVAL, route.wake.notified()).await;
        route.check_requested.store(false, Ordering::Release);
        let mut sentinels = route.sentinels.lock().await;
        let named = match ask_for_primary(&mut sentinels, timeout).await {
            Ok(client) => client,
            // No sentinel answered: keep the current connection (it may still work).
            Err(_) => continue,
        };
        let address = named.get_connection_info().addr().clone();
        if address == route.primary().0 {
            continue;
        }
        // The group failed over: connect to the new primary, then move new commands to it.
        if let Ok(connection) = ConnectionManager::new_with_config(named, route.config.clone()).await {
            *route.primary.write().unwrap_or_else(PoisonError::into_inner) = (address, connection);
        }
    }
}

/// A parsed `redis+sentinel://[user:password@]host:port[,host:port...]/service[/db]` URL
/// (`rediss+sentinel://` for TLS to the sentinels and the primary). The credentials are the
/// primary's; `?sentinel_username=...&sentinel_password=...` are the sentinels', when they
/// ask for any.
#[derive(PartialEq, Eq)]
struct SentinelUrl {
    tls: bool,
    sentinels: Vec<(String, u16)>,
    service: String,
    db: i64,
    username: Option<String>,
    password: Option<String>,
    sentinel_username: Option<String>,
    sentinel_password: Option<String>,
}

impl std::fmt::Debug for SentinelUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelUrl")
            .field("tls", &self.tls)
            .field("sentinels", &self.sentinels)
            .field("service", &self.service)
            .field("db", &self.db)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("sentinel_username", &self.sentinel_username)
            .field(
                "sentinel_password",
                &self.sentinel_password.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The port sentinels listen on unless told otherwise.
const DEFAULT_SENTINEL_PORT: u16 = 26379;

impl SentinelUrl {
    /// `None` for a URL that is not a Sentinel URL.
    fn parse(url: &str) -> Result<Option<Self>, RedisConnectError> {
        let bad = |what: &str| RedisConnectError::SentinelUrl(what.to_owned());
        let (tls, rest) = if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("rediss+sentinel://") {
            (true, rest)
        } else {
            return Ok(None);
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("no /<service name> after the hosts"))?;
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => (Some(userinfo), hosts),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let user = percent_decode(user).ok_or_else(|| bad("bad %-escape in the user name"))?;
                let password = percent_decode(password).ok_or_else(|| bad("bad %-escape in the password"))?;
                (
                    Some(user).filter(|u| !u.is_empty()),
                    Some(password).filter(|p| !p.is_empty()),
                )
            }
        };
        let mut sentinels = Vec::new();
        for host in hosts.split(',') {
            let (name, port) = match host.strip_prefix('[') {
                // [IPv6 address] or [IPv6 address]:port
                Some(bracketed) => {
                    let (name, after) = bracketed.split_once(']').ok_or_else(|| bad("a [ without ]"))?;
                    match after.strip_prefix(':') {
                        Some(port) => (name, port),
                        None if after.is_empty() => (name, ""),
                        None => return Err(bad("text after a ]")),
                    }
                }
                None => host.rsplit_once(':').unwrap_or((host, "")),
            };
            let port = if port.is_empty() {
                DEFAULT_SENTINEL_PORT
            } else {
                port.parse::<u16>()
                    .map_err(|_| bad("a sentinel port is not a number"))?
            };
            if name.is_empty() {
                return Err(bad("a sentinel host is empty"));
            }
            sentinels.push((name.to_owned(), port));
        }
        let mut segments = path.split('/');
        let service = segments.next().unwrap_or_default();
        if service.is_empty() {
            return Err(bad(
                "no service name (the name the sentinels monitor, such as mymaster)",
            ));
        }
        let db = match segments.next() {
            None | Some("") => 0,
            Some(db) => db
                .parse::<i64>()
                .map_err(|_| bad("the database number is not a number"))?,
        };
        if segments.next().is_some() {
            return Err(bad("the path is /<service name>[/<database number>]"));
        }
        let (mut sentinel_username, mut sentinel_password) = (None, None);
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value).ok_or_else(|| bad("bad %-escape in a query value"))?;
            match name {
                "sentinel_username" => sentinel_username = Some(value),
                "sentinel_password" => sentinel_password = Some(value),
                _ => {
                    return Err(bad(
                        "unknown query parameter (sentinel_username and sentinel_password are known)",
                    ));
                }
            }
        }
        Ok(Some(Self {
            tls,
            sentinels,
            service: service.to_owned(),
            db,
            username,
            password,
            sentinel_username,
            sentinel_password,
        }))
    }

    fn client(&self, tls_roots: Option<&[u8]>) -> redis::RedisResult<SentinelClient> {
        let addresses = self.sentinels.iter().map(|(host, port)| {
            if self.tls {
                ConnectionAddr::TcpTls {
                    host: host.clone(),
                    port: *port,
                    insecure: false,
                    tls_params: None,
                }
            } else {
                ConnectionAddr::Tcp(host.clone(), *port)
            }
        });
        let mut builder = SentinelClientBuilder::new(addresses, &self.service, SentinelServerType::Master)?
            .set_client_to_redis_db(self.db)
            .set_client_to_redis_tcp_settings(tcp_settings())
            .set_client_to_sentinel_tcp_settings(tcp_settings());
        if self.tls {
            builder = builder
                .set_client_to_redis_tls_mode(TlsMode::Secure)
                .set_client_to_sentinel_tls_mode(TlsMode::Secure);
            if let Some(pem) = tls_roots {
                builder = builder
                    .set_client_to_redis_certificates(roots(pem))
                    .set_client_to_sentinel_certificates(roots(pem));
            }
        }
        if let Some(username) = &self.username {
            builder = builder.set_client_to_redis_username(username);
        }
        if let Some(password) = &self.password {
            builder = builder.set_client_to_redis_password(password);
        }
        if let Some(username) = &self.sentinel_username {
            builder = builder.set_client_to_sentinel_username(username);
        }
        if let Some(password) = &self.sentinel_password {
            builder = builder.set_client_to_sentinel_password(password);
        }
        builder.build()
    }
}

fn roots(pem: &[u8]) -> redis::TlsCertificates {
    redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem.to_vec()),
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_to_redis_and_the_sentinels_send_without_waiting_for_acknowledgements() {
        for url in ["redis://127.0.0.1:6379/2", "rediss://cache.example:6380"] {
            assert!(connection_info(url).expect("valid").tcp_settings().nodelay(), "{url}");
        }
        assert!(tcp_settings().nodelay());
    }

    #[test]
    fn a_sentinel_url_names_its_sentinels_service_database_and_credentials() {
        let url = SentinelUrl::parse(
            "redis+sentinel://app:p%40ss@10.0.0.1:26379,10.0.0.2,[::1]:26381/mymaster/3?sentinel_password=s%2Fecret",
        )
        .expect("valid")
        .expect("a sentinel URL");
        assert!(!url.tls);
        assert_eq!(
            url.sentinels,
            vec![
                ("10.0.0.1".to_owned(), 26379),
                ("10.0.0.2".to_owned(), DEFAULT_SENTINEL_PORT),
                ("::1".to_owned(), 26381)
            ]
        );
        assert_eq!((url.service.as_str(), url.db), ("mymaster", 3));
        assert_eq!(url.username.as_deref(), Some("app"));
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        assert_eq!(url.sentinel_password.as_deref(), Some("s/ecret"));
        assert!(!format!("{url:?}").contains("p@ss"), "a password reached Debug");
        let tls = SentinelUrl::parse("rediss+sentinel://h:1/m")
            .expect("valid")
            .expect("sentinel");
        assert!(tls.tls);
        assert_eq!(tls.db, 0);
    }

    #[test]
    fn plain_urls_pass_and_broken_sentinel_urls_are_refused_without_their_password() {
        assert!(SentinelUrl::parse("redis://127.0.0.1:6379/0").expect("fine").is_none());
        assert!(
            SentinelUrl::parse("rediss://cache.example:6380")
                .expect("fine")
                .is_none()
        );
        for broken in [
            "redis+sentinel://h:26379",
            "redis+sentinel://h:26379/",
            "redis+sentinel://h:port/m",
            "redis+sentinel://u:secret-pw@h:1/m/db",
            "redis+sentinel://u:secret-pw@h:1/m?other=1",
            "redis+sentinel://u:secret%zz@h:1/m",
        ] {
            let error = SentinelUrl::parse(broken).expect_err(broken);
            assert!(!error.to_string().contains("secret"), "{error}");
        }
    }
}
