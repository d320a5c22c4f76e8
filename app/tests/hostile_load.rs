//! Floods, as the outside probe ran them, against the production server loop on a real socket:
//! one identity (unclaimed, then claimed) signing fresh tokens as fast as it can, and one
//! client address registering identities, while another agent resolves its credential. The
//! other agent must be served exactly as when the server is quiet (no 503, no 429), and what
//! the flood makes the server hold (replay-cache entries, log lines) must stay bounded.
//!
//! The replay cache is sized down (20 000 ids) and the per-identity quota with it (2 000), so
//! that a flood larger than the cache fits in a test run: before the quotas, an unclaimed
//! identity's 24 000 fresh tokens filled the cache and the other agent got 503. Each scenario
//! prints its figures.

// The integration binary's support, of which this flood uses a small part.
#[path = "integration/support/mod.rs"]
#[allow(dead_code)]
mod support;

#[path = "hostile_load/http1.rs"]
mod http1;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use authsome_memory::MemoryReplayCache;
use authsome_redis::test_prefix::TestPrefix;
use http1::{Http1, quantile};
use serde_json::json;
use support::{Agent, Daemon};

const CACHE_CAPACITY: usize = 20_000;
const QUOTA: &str = "2000";
const FLOOD_CONNECTIONS: usize = 8;
const FLOOD_REQUESTS_PER_CONNECTION: usize = 3_000;
const VICTIM_REQUESTS: usize = 200;
/// At most this many while a flood runs: with the quiet ones, below the victim's own quota.
const VICTIM_REQUESTS_DURING_FLOOD: usize = 1_500;
const VICTIM_KEY: &str = "sk-proj-victim-0123456789abcdefghijklmn";

/// Lines and bytes the server logs, at the production default level (info).
#[derive(Default)]
struct LogTally {
    lines: AtomicU64,
    warnings: AtomicU64,
    bytes: AtomicU64,
}

impl LogTally {
    fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.lines.load(Ordering::Relaxed),
            self.warnings.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

struct TallyWriter(&'static LogTally);

impl Write for TallyWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let lines = text.matches('\n').count() as u64;
        self.0.lines.fetch_add(lines, Ordering::Relaxed);
        if text.contains("WARN") {
            self.0.warnings.fetch_add(lines.max(1), Ordering::Relaxed);
        }
        self.0.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_tally() -> &'static LogTally {
    static TALLY: OnceLock<&'static LogTally> = OnceLock::new();
    TALLY.get_or_init(|| {
        let tally: &'static LogTally = Box::leak(Box::default());
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(move || TallyWriter(tally))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        tally
    })
}

/// Where the token ids are held, and how many there are.
enum Held {
    Memory(Arc<MemoryReplayCache>),
    /// A Redis key prefix of its own; ids are the keys under `pattern`.
    Redis {
        connection: authsome_redis::RedisConnection,
        pattern: String,
        _prefix: TestPrefix,
    },
}

impl Held {
    async fn count(&self) -> usize {
        match self {
            Self::Memory(cache) => cache.len(),
            Self::Redis {
                connection, pattern, ..
            } => {
                let (mut connection, mut cursor, mut count) = (connection.clone(), 0u64, 0usize);
                loop {
                    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                        .cursor_arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut connection)
                        .await
                        .expect("scan");
                    count += keys.len();
                    if next == 0 {
                        return count;
                    }
                    cursor = next;
                }
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Memory(_) => format!("in memory, capacity {CACHE_CAPACITY}"),
            Self::Redis { .. } => "on Redis".to_owned(),
        }
    }
}

/// A daemon with the small in-memory replay cache, serving on a real socket.
async fn daemon() -> (Daemon, Held, SocketAddr) {
    let cache = Arc::new(MemoryReplayCache::new(CACHE_CAPACITY));
    let shared = cache.clone();
    let daemon = Daemon::build(&[("AUTHSOME_POP_IDS_PER_IDENTITY", QUOTA)], move |state| {
        state.runtime.replay = shared;
    })
    .await;
    let address = serve_tcp(&daemon).await;
    (daemon, Held::Memory(cache), address)
}

/// A daemon whose replay cache is on the test Redis, under a prefix of its own.
async fn daemon_on_redis() -> (Daemon, Held, SocketAddr) {
    let prefix = TestPrefix::new();
    let connection = prefix.connect().await;
    let cache = Arc::new(authsome_redis::RedisReplayCache::new(connection.clone(), prefix.keys()));
    let daemon = Daemon::build(&[("AUTHSOME_POP_IDS_PER_IDENTITY", QUOTA)], move |state| {
        state.runtime.replay = cache;
    })
    .await;
    let address = serve_tcp(&daemon).await;
    let pattern = format!("{}*", prefix.keys().jti(""));
    let held = Held::Redis {
        connection,
        pattern,
        _prefix: prefix,
    };
    (daemon, held, address)
}

/// A claimed agent with an OpenAI key, which the flood must not disturb.
async fn victim(daemon: &Daemon) -> Agent {
    let (agent, _) = daemon.claimed_agent("bystander-agent", "bystander@example.com").await;
    agent.store_openai_key(daemon, "default", VICTIM_KEY).await;
    agent
}

/// Registers `agent` on `connection` (no authentication, as the CLI does).
async fn register_over(connection: &mut Http1, agent: &Agent) -> http1::Answer {
    let body = json!({"handle": agent.handle, "did": agent.did.as_str()}).to_string();
    connection
        .send(
            "POST",
            "/api/identities/register",
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await
}

/// One credential resolve by `agent` on `connection`: its status and latency.
async fn resolve(connection: &mut Http1, agent: &Agent) -> (u16, Duration) {
    let body = br#"{"provider":"openai"}"#;
    let proof = agent.proof("POST", "/api/credentials/resolve", body);
    let started = Instant::now();
    let answer = connection
        .send(
            "POST",
            "/api/credentials/resolve",
            &[("authorization", &proof), ("content-type", "application/json")],
            body,
        )
        .await;
    let latency = started.elapsed();
    if answer.status == 200 {
        assert!(answer.text().contains(VICTIM_KEY), "{}", answer.text());
    }
    (answer.status, latency)
}

/// `requests` credential resolves by `agent` on one connection: every status, and latencies.
async fn resolves(address: SocketAddr, agent: &Agent, requests: usize) -> (Vec<u16>, Vec<Duration>) {
    let mut connection = Http1::connect(address).await;
    let mut outcomes = Vec::with_capacity(requests);
    for _ in 0..requests {
        outcomes.push(resolve(&mut connection, agent).await);
    }
    outcomes.into_iter().unzip()
}

/// Outcomes of a flood: how many requests, how long, and the count of each status.
struct Flood {
    requests: usize,
    elapsed: Duration,
    by_status: std::collections::BTreeMap<u16, usize>,
}

/// How long the test agents' tokens live (`proof::cli_claims`): a recorded id leaves the
/// cache when its token expires, and its place in the holder's quota with it.
const TOKEN_LIFETIME: Duration = Duration::from_secs(60);

impl Flood {
    /// How many of the flooder's ids the cache may have recorded: exactly `quota` when the
    /// flood was over within one token lifetime (seconds, on a quiet machine); on a machine so
    /// loaded that the flood outlasted its first tokens, the quota once more per lifetime.
    fn recorded_allowed(&self, quota: usize) -> std::ops::RangeInclusive<usize> {
        let lifetimes = (self.elapsed.as_secs() / TOKEN_LIFETIME.as_secs()) as usize + 1;
        quota..=quota * lifetimes
    }
}

/// `flooder` signs a fresh token for every request, on several connections at once.
async fn flood(address: SocketAddr, flooder: Arc<Agent>) -> Flood {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..FLOOD_CONNECTIONS {
        let flooder = flooder.clone();
        tasks.spawn(async move {
            let mut connection = Http1::connect(address).await;
            let mut statuses = Vec::with_capacity(FLOOD_REQUESTS_PER_CONNECTION);
            for _ in 0..FLOOD_REQUESTS_PER_CONNECTION {
                let proof = flooder.proof("GET", "/api/whoami", b"");
                let answer = connection
                    .send("GET", "/api/whoami", &[("authorization", &proof)], b"")
                    .await;
                statuses.push(answer.status);
            }
            statuses
        });
    }
    let mut by_status = std::collections::BTreeMap::new();
    let mut requests = 0;
    while let Some(statuses) = tasks.join_next().await {
        for status in statuses.expect("flood task") {
            *by_status.entry(status).or_insert(0) += 1;
            requests += 1;
        }
    }
    Flood {
        requests,
        elapsed: started.elapsed(),
        by_status,
    }
}

fn report_latencies(label: &str, mut quiet: Vec<Duration>, mut loaded: Vec<Duration>) {
    support::report_figure(&format!(
        "{label}: other agent p50 {:?} / p99 {:?} quiet, p50 {:?} / p99 {:?} during the flood ({} resolves)",
        quantile(&mut quiet, 0.5),
        quantile(&mut quiet, 0.99),
        quantile(&mut loaded, 0.5),
        quantile(&mut loaded, 0.99),
        loaded.len(),
    ));
}

/// Floods from `flooder` while the victim resolves; asserts the victim is served throughout
/// and returns the flood's outcomes.
async fn flood_beside_the_victim(
    label: &str,
    daemon: &Daemon,
    held: &Held,
    address: SocketAddr,
    flooder: Agent,
) -> Flood {
    let tally = log_tally();
    let victim = victim(daemon).await;
    let (_, quiet) = resolves(address, &victim, VICTIM_REQUESTS).await;
    let logs_before = tally.snapshot();
    let flooder = Arc::new(flooder);
    let flooding = tokio::spawn(flood(address, flooder));
    // Resolve for as long as the flood runs, so that the victim meets the cache at its
    // fullest: every 10 ms, an agent's steady pace, well within its own quota.
    let (mut statuses, mut loaded) = (Vec::new(), Vec::new());
    let mut connection = Http1::connect(address).await;
    let mut pace = tokio::time::interval(Duration::from_millis(10));
    while !flooding.is_finished() && statuses.len() < VICTIM_REQUESTS_DURING_FLOOD {
        pace.tick().await;
        let (status, latency) = resolve(&mut connection, &victim).await;
        statuses.push(status);
        loaded.push(latency);
    }
    let flood = flooding.await.expect("flood");
    let logs_after = tally.snapshot();
    let refused: Vec<_> = statuses.iter().filter(|s| **s != 200).collect();
    support::report_figure(&format!(
        "{label}: {} flood requests in {:.1} s ({:.0}/s), outcomes {:?}; the replay cache ({}) holds {} \
         ids; {} log lines ({} warnings, {} bytes) during the flood",
        flood.requests,
        flood.elapsed.as_secs_f64(),
        flood.requests as f64 / flood.elapsed.as_secs_f64(),
        flood.by_status,
        held.describe(),
        held.count().await,
        logs_after.0 - logs_before.0,
        logs_after.1 - logs_before.1,
        logs_after.2 - logs_before.2,
    ));
    report_latencies(label, quiet, loaded);
    assert!(
        refused.is_empty(),
        "{label}: the other agent was refused {} of {} times: {refused:?}",
        refused.len(),
        statuses.len()
    );
    assert!(
        logs_after.1 - logs_before.1 <= 10,
        "{label}: the flood's refusals are summarised, not logged one by one"
    );
    flood
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_an_unclaimed_identity_leaves_other_agents_served() {
    let (daemon, held, address) = daemon().await;
    unclaimed_flood("unclaimed flooder", &daemon, &held, address).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_redis_an_unclaimed_identitys_flood_leaves_a_bounded_number_of_keys() {
    let (daemon, held, address) = daemon_on_redis().await;
    unclaimed_flood("unclaimed flooder, Redis", &daemon, &held, address).await;
}

async fn unclaimed_flood(label: &str, daemon: &Daemon, held: &Held, address: SocketAddr) {
    let flooder = Agent::new("unclaimed-flooder");
    flooder.register(daemon).await;
    let flood = flood_beside_the_victim(label, daemon, held, address, flooder).await;
    let refused_for_state = flood.by_status.get(&403).copied().unwrap_or(0);
    assert!(
        flood
            .recorded_allowed(authsome_app::settings::REFUSED_IDENTITY_IDS as usize)
            .contains(&refused_for_state),
        "an unclaimed identity's ids are recorded up to its small quota: {:?} in {:?}",
        flood.by_status,
        flood.elapsed
    );
    assert_eq!(
        flood.by_status.get(&429).copied().unwrap_or(0),
        flood.requests - refused_for_state,
        "the rest are refused as too many, and not recorded"
    );
    let bound =
        authsome_app::settings::REFUSED_IDENTITY_IDS as usize + VICTIM_REQUESTS + VICTIM_REQUESTS_DURING_FLOOD + 20;
    let count = held.count().await;
    assert!(
        count <= bound,
        "the cache holds {count} ids: the flooder's 30 and the other agent's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_a_claimed_identity_leaves_other_agents_served() {
    let (daemon, held, address) = daemon().await;
    let (flooder, _) = daemon.claimed_agent("claimed-flooder", "flooder@example.com").await;
    let flood = flood_beside_the_victim("claimed flooder", &daemon, &held, address, flooder).await;
    let quota: usize = QUOTA.parse().expect("quota");
    // The flooder's own setup (claim and whoami) made no signed requests, so it gets exactly
    // its quota.
    let served = flood.by_status.get(&200).copied().unwrap_or(0);
    assert!(
        flood.recorded_allowed(quota).contains(&served),
        "{:?} in {:?}",
        flood.by_status,
        flood.elapsed
    );
    assert_eq!(flood.by_status.get(&429).copied().unwrap_or(0), flood.requests - served);
    let bound = quota + VICTIM_REQUESTS + VICTIM_REQUESTS_DURING_FLOOD + 20;
    let count = held.count().await;
    assert!(
        count <= bound,
        "the cache holds {count} ids: the flooder's quota and the other agent's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_from_one_address_are_throttled_without_touching_others() {
    let (daemon, held, address) = daemon().await;
    let limit: usize = 100;
    let attacker_address = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut connection = Http1::connect_from(address, Some(attacker_address)).await;
    let (mut registered, mut throttled, mut flooders) = (0, 0, Vec::new());
    let started = Instant::now();
    for n in 0..3 * limit {
        let agent = Agent::new(&format!("mass-registered-{n}"));
        let answer = register_over(&mut connection, &agent).await;
        match answer.status {
            200 => {
                registered += 1;
                flooders.push(agent);
            }
            429 => throttled += 1,
            other => panic!("registration {n}: {other} {}", answer.text()),
        }
    }
    support::report_figure(&format!(
        "registrations from one address: {registered} registered, {throttled} refused (429) in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    assert_eq!((registered, throttled), (limit, 2 * limit));

    // Each identity it did register can hold only the small quota of an unclaimed one.
    for flooder in &flooders {
        let mut connection = Http1::connect(address).await;
        for _ in 0..40 {
            let proof = flooder.proof("GET", "/api/whoami", b"");
            let answer = connection
                .send("GET", "/api/whoami", &[("authorization", &proof)], b"")
                .await;
            assert!(matches!(answer.status, 403 | 429), "{}", answer.status);
        }
    }
    let count = held.count().await;
    support::report_figure(&format!(
        "{limit} unclaimed identities, 40 signed requests each: the replay cache holds {count} ids"
    ));
    assert!(count as u64 <= limit as u64 * authsome_app::settings::REFUSED_IDENTITY_IDS);

    // Another address registers, and another agent is served.
    let newcomer = Agent::new("newcomer-agent");
    let answer = register_over(&mut Http1::connect(address).await, &newcomer).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let victim = victim(&daemon).await;
    let (statuses, _) = resolves(address, &victim, 20).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

/// Behind a trusted reverse proxy, registrations are counted per forwarded client; a peer
/// that is not a trusted proxy cannot pick its own address with the header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_behind_a_trusted_proxy_are_counted_per_forwarded_client() {
    let daemon = Daemon::start_with(&[
        ("AUTHSOME_TRUSTED_PROXIES", "127.0.0.1"),
        ("AUTHSOME_REGISTRATIONS_PER_HOUR", "3"),
    ])
    .await;
    let address = serve_tcp(&daemon).await;
    let register = |n: usize| {
        let agent = Agent::new(&format!("proxied-{n}"));
        json!({"handle": agent.handle, "did": agent.did.as_str()}).to_string()
    };
    let mut proxy = Http1::connect(address).await;
    let mut statuses = Vec::new();
    for (n, client) in ["198.51.100.1"; 4].iter().chain(&["198.51.100.2"]).enumerate() {
        let answer = proxy
            .send(
                "POST",
                "/api/identities/register",
                &[("content-type", "application/json"), ("x-forwarded-for", client)],
                register(n).as_bytes(),
            )
            .await;
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 200], "per forwarded client");

    let mut stranger = Http1::connect_from(address, Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)))).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        let forged = format!("203.0.113.{n}");
        let answer = stranger
            .send(
                "POST",
                "/api/identities/register",
                &[("content-type", "application/json"), ("x-forwarded-for", &forged)],
                register(10 + n).as_bytes(),
            )
            .await;
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429], "an untrusted peer is counted as itself");
}

/// Serves `daemon` on a real loopback socket, through the production server loop and its
/// connection limits (from the settings), until the test ends; returns its address.
async fn serve_tcp(daemon: &Daemon) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    daemon.serve_on(listener)
}
