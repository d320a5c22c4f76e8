//! Remembered ownership on two replicas sharing one Postgres and one Redis (each with its own
//! database pool, Redis connection and memory, as two processes have): a change made through
//! one is honoured by the other on its very next read, in a 1 000-step interleaving with
//! zero stale answers; a replica that remembers does not ask the database again; and a writer
//! that dies between its commit and its second announcement leaves a stale answer for at
//! most `MAX_AGE`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use authsome_domain::{
    ClaimStatus, DidKey, Email, IdentityHandle, NewPrincipal, ProviderDefinitionDocument, ProviderName, Role,
    RolePolicy,
};
use authsome_ports::{IdentityOwnership, IdentityOwnershipLookup, OwnershipGeneration, Registries, RegistryError};
use authsome_postgres::PostgresSettings;
use authsome_postgres::test_schema::TestSchema;
use authsome_redis::RedisOwnershipGeneration;
use authsome_redis::test_prefix::TestPrefix;
use authsome_services::ownership_cache::{MAX_AGE, remember_ownership};
use poem::http::Method;
use serde_json::json;

use crate::support::{Agent, Daemon};

/// Counts the lookups that reach the database.
struct Counting {
    inner: Arc<dyn IdentityOwnershipLookup>,
    reads: Arc<AtomicUsize>,
}

#[async_trait]
impl IdentityOwnershipLookup for Counting {
    async fn lookup(&self, handle: &IdentityHandle) -> Result<Option<IdentityOwnership>, RegistryError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.lookup(handle).await
    }
    async fn lookup_with_custom_provider(
        &self,
        handle: &IdentityHandle,
        provider: &ProviderName,
    ) -> Result<Option<(IdentityOwnership, Option<ProviderDefinitionDocument>)>, RegistryError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.lookup_with_custom_provider(handle, provider).await
    }
}

struct Replica {
    /// What the services use: remembered ownership, announced writes.
    registries: Registries,
    /// The same database without the wrapper (a writer that announces nothing).
    raw: Registries,
    generation: Arc<dyn OwnershipGeneration>,
    database_reads: Arc<AtomicUsize>,
}

async fn replica(schema: &TestSchema, prefix: &TestPrefix) -> Replica {
    let store = authsome_postgres::open(&PostgresSettings {
        url: schema.url(),
        min_connections: 1,
        max_connections: 4,
    })
    .await
    .expect("postgres");
    let raw = authsome_postgres::registries(store);
    let database_reads = Arc::new(AtomicUsize::new(0));
    let counted = Registries {
        ownership: Arc::new(Counting {
            inner: raw.ownership.clone(),
            reads: database_reads.clone(),
        }),
        ..raw.clone()
    };
    let generation: Arc<dyn OwnershipGeneration> =
        Arc::new(RedisOwnershipGeneration::new(prefix.connect().await, &prefix.keys()));
    Replica {
        registries: remember_ownership(counted, generation.clone()),
        raw,
        generation,
        database_reads,
    }
}

async fn two_replicas() -> (TestSchema, TestPrefix, Replica, Replica) {
    let schema = TestSchema::create().await;
    let prefix = TestPrefix::new();
    let a = replica(&schema, &prefix).await;
    let b = replica(&schema, &prefix).await;
    (schema, prefix, a, b)
}

fn unique(tag: &str) -> String {
    format!("{tag}-{}", authsome_domain::random_token::hex(12))
}

/// A newly registered identity and a new person (without a vault yet), made through `r`.
async fn identity_and_person(r: &Registries, tag: &str) -> (IdentityHandle, authsome_domain::PrincipalId) {
    let handle = IdentityHandle::parse(&unique("agent")).expect("handle");
    let mut key = [0u8; 32];
    key.copy_from_slice(&authsome_domain::random_token::hex(32).as_bytes()[..32]);
    register_with_person(r, handle, &DidKey::from_public_key(key), tag).await
}

/// `agent` registered and a new person (without a vault yet), made through `r`.
async fn identity_and_person_for(r: &Registries, agent: &Agent) -> (IdentityHandle, authsome_domain::PrincipalId) {
    let handle = IdentityHandle::parse(&agent.handle).expect("handle");
    register_with_person(r, handle, &agent.did, "late").await
}

async fn register_with_person(
    r: &Registries,
    handle: IdentityHandle,
    did: &DidKey,
    tag: &str,
) -> (IdentityHandle, authsome_domain::PrincipalId) {
    r.identities.register(&handle, did).await.expect("register");
    let principal = r
        .principals
        .create(NewPrincipal {
            email: Email::parse(&format!("{}@example.com", unique(tag))).expect("email"),
            password_hash: None,
            role: RolePolicy::Fixed(Role::User),
        })
        .await
        .expect("principal");
    (handle, principal.id)
}

/// An identity claimed by a new person with a default vault, made through `r`.
async fn claimed(r: &Registries) -> (IdentityHandle, authsome_domain::PrincipalId) {
    let (handle, principal) = identity_and_person(r, "owner").await;
    r.bindings.ensure_default_vault(&principal).await.expect("vault");
    r.claims.claim_accepted(&handle, &principal).await.expect("claim");
    (handle, principal)
}

async fn owner(r: &Registries, handle: &IdentityHandle) -> IdentityOwnership {
    r.ownership.lookup(handle).await.expect("lookup").expect("registered")
}

fn definition(name: &ProviderName, header: &str) -> ProviderDefinitionDocument {
    ProviderDefinitionDocument::from_json(&format!(
        r#"{{"schema_version": 1, "name": "{name}", "display_name": "Acme", "auth_type": "api_key", "flow": "api_key",
            "api_key": {{"header_name": "{header}", "header_prefix": null, "env_var": "ACME_KEY"}},
            "api_url": ["api.acme.example"]}}"#
    ))
    .expect("definition")
}

/// What B answers for (`handle`, `provider`) against what the database holds now.
async fn compare(b: &Replica, truth: &Registries, handle: &IdentityHandle, provider: &ProviderName) -> Option<String> {
    let seen = b
        .registries
        .ownership
        .lookup_with_custom_provider(handle, provider)
        .await
        .expect("lookup");
    let actual = truth
        .ownership
        .lookup_with_custom_provider(handle, provider)
        .await
        .expect("lookup");
    (seen != actual).then(|| format!("B saw {seen:?}, the database holds {actual:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_replica_is_honoured_by_the_other_on_its_next_read() {
    let (_schema, _prefix, a, b) = two_replicas().await;
    let (handle, principal) = claimed(&a.registries).await;
    let provider = ProviderName::parse("acme-remembered").expect("name");

    let mut stale = Vec::new();
    let mut role = Role::User;
    let mut reads = 0;
    for step in 0..1_000 {
        // B reads first (so that it remembers), then A writes one kind of change or another,
        // then B must answer what the database holds.
        if let Some(difference) = compare(&b, &a.raw, &handle, &provider).await {
            stale.push((step, difference));
        }
        let checked = match step % 4 {
            0 => {
                role = if role == Role::User { Role::Admin } else { Role::User };
                a.registries.principals.set_role(&principal, role).await.expect("role");
                handle.clone()
            }
            1 => {
                if step % 8 == 1 {
                    a.registries.claims.reject(&handle).await.expect("reject");
                } else {
                    a.registries.claims.accept(&handle).await.expect("accept");
                }
                handle.clone()
            }
            2 => {
                if step % 8 == 2 {
                    let header = format!("X-Key-{step}");
                    a.registries
                        .provider_definitions
                        .upsert(&definition(&provider, &header))
                        .await
                        .expect("upsert");
                } else {
                    a.registries
                        .provider_definitions
                        .delete(&provider)
                        .await
                        .expect("delete");
                }
                handle.clone()
            }
            _ => {
                // A new person claims a new identity before having a vault; B remembers it
                // vault-less, then the vault is made.
                let (fresh, person) = identity_and_person(&a.registries, "late").await;
                a.registries
                    .claims
                    .claim_accepted(&fresh, &person)
                    .await
                    .expect("claim");
                if let Some(difference) = compare(&b, &a.raw, &fresh, &provider).await {
                    stale.push((step, difference));
                }
                a.registries
                    .bindings
                    .ensure_default_vault(&person)
                    .await
                    .expect("vault");
                fresh
            }
        };
        if let Some(difference) = compare(&b, &a.raw, &checked, &provider).await {
            stale.push((step, difference));
        }
        reads += 2;
    }
    assert!(
        stale.is_empty(),
        "{} stale answers in {reads} reads, first: {:?}",
        stale.len(),
        stale.first()
    );
    let claim = owner(&b.registries, &handle).await.claim.expect("claim");
    assert!(matches!(claim.status, ClaimStatus::Accepted | ClaimStatus::Rejected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_remembers_does_not_ask_the_database_again() {
    let (_schema, _prefix, a, b) = two_replicas().await;
    let (handle, principal) = claimed(&a.registries).await;
    let provider = ProviderName::parse("openai").expect("name");
    for _ in 0..100 {
        b.registries
            .ownership
            .lookup_with_custom_provider(&handle, &provider)
            .await
            .expect("lookup")
            .expect("registered");
    }
    assert_eq!(b.database_reads.load(Ordering::Relaxed), 1, "one read, then remembered");

    // An unknown handle is never remembered: each ask reaches the database.
    let unknown = IdentityHandle::parse(&unique("nobody")).expect("handle");
    for _ in 0..3 {
        assert!(b.registries.ownership.lookup(&unknown).await.expect("lookup").is_none());
    }
    assert_eq!(b.database_reads.load(Ordering::Relaxed), 4);

    // A change anywhere is announced: the next read asks the database again.
    a.registries
        .principals
        .set_role(&principal, Role::Admin)
        .await
        .expect("role");
    assert_eq!(
        owner(&b.registries, &handle).await.principal.expect("principal").0,
        Role::Admin
    );
    assert_eq!(b.database_reads.load(Ordering::Relaxed), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_dies_before_its_second_announcement_is_outlived_within_the_bound() {
    let (_schema, _prefix, a, b) = two_replicas().await;
    let (handle, principal) = claimed(&a.registries).await;
    // The writer announces, B reads (the old state) during the write, the writer commits
    // and dies before announcing again.
    a.generation.bump().await.expect("first announcement");
    assert_eq!(
        owner(&b.registries, &handle).await.principal.expect("principal").0,
        Role::User
    );
    a.raw
        .principals
        .set_role(&principal, Role::Admin)
        .await
        .expect("commit");

    let started = std::time::Instant::now();
    let mut stale_for = std::time::Duration::ZERO;
    loop {
        let role = owner(&b.registries, &handle).await.principal.expect("principal").0;
        if role == Role::Admin {
            break;
        }
        stale_for = started.elapsed();
        assert!(
            stale_for < MAX_AGE + std::time::Duration::from_millis(500),
            "stale past the bound"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(stale_for < MAX_AGE, "stale for {stale_for:?}");
}

/// Two replicas serving HTTP over one Postgres schema and one Redis prefix (replay cache,
/// sessions, vault and generation all in Redis, as in production), each with its own pool,
/// connections and memory.
async fn two_serving_replicas() -> (TestSchema, TestPrefix, (Daemon, Replica), (Daemon, Replica)) {
    let schema = TestSchema::create().await;
    let prefix = TestPrefix::new();
    let mut serving = Vec::new();
    for _ in 0..2 {
        let replica = replica(&schema, &prefix).await;
        let connection = prefix.connect().await;
        let blob_store = Arc::new(authsome_redis::RedisBlobStore::new(connection.clone(), prefix.keys()));
        let keys = prefix.keys();
        let daemon = Daemon::replica(replica.registries.clone(), blob_store, |vault| {
            authsome_redis::runtime_state(connection, keys, vault.cipher())
        })
        .await;
        serving.push((daemon, replica));
    }
    let b = serving.pop().expect("two");
    let a = serving.pop().expect("two");
    (schema, prefix, a, b)
}

/// What a resolve answered, in the terms the race compares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Resolved {
    /// 200 with this header name and value.
    Header(String, String),
    /// Another status.
    Refused(u16),
}

async fn resolve(daemon: &Daemon, agent: &Agent, provider: &str) -> Resolved {
    let reply = agent
        .post(daemon, "/api/credentials/resolve", json!({ "provider": provider }))
        .await;
    match reply.status.as_u16() {
        200 => {}
        // A refused identity's small quota of token ids runs out after a few refusals (the
        // daemon chose that quota because it found the identity refused): still a 403.
        429 => return Resolved::Refused(403),
        status => return Resolved::Refused(status),
    }
    let headers = reply.json()["headers"].as_object().cloned().unwrap_or_default();
    let (name, value) = headers.into_iter().next().expect("one header");
    Resolved::Header(name, value.as_str().unwrap_or_default().to_owned())
}

async fn role_seen(daemon: &Daemon, agent: &Agent) -> String {
    let reply = agent.get(daemon, "/api/whoami").await.expect(200);
    reply.json()["principal_role"].as_str().unwrap_or_default().to_owned()
}

/// Stores `key` for the custom API-key provider `provider` through the login flow.
async fn store_key(daemon: &Daemon, agent: &Agent, provider: &str, key: &str) {
    let session = agent
        .post(
            daemon,
            "/api/auth/sessions",
            json!({"provider": provider, "connection": "default", "flow": "api_key", "force": true}),
        )
        .await
        .expect(200)
        .json();
    let resume = format!("/api/auth/sessions/{}/resume", session["id"].as_str().expect("id"));
    agent
        .post(daemon, &resume, json!({"data": {"api_key": key}}))
        .await
        .expect(200);
}

/// The race over HTTP: replica B answers agents from what it remembers, confirmed in the same
/// Redis round trip as the replay check and the vault read, and must still honour every change
/// made through replica A on its very next request: claim status, role, custom definition and a
/// default vault appearing, 1 000 steps, zero stale answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_a_change_through_one_replica_is_honoured_by_the_other_on_its_next_request() {
    let (_schema, _prefix, (a, a_parts), (b, b_parts)) = two_serving_replicas().await;
    let provider = ProviderName::parse("acme-raced").expect("name");
    a_parts
        .registries
        .provider_definitions
        .upsert(&definition(&provider, "X-Key-0"))
        .await
        .expect("definition");
    let (agent, _browser) = a.claimed_agent("raced-agent", "raced@example.com").await;
    store_key(&a, &agent, provider.as_str(), "raced-secret-value").await;
    let handle = IdentityHandle::parse(&agent.handle).expect("handle");
    let principal = owner(&a_parts.raw, &handle).await.claim.expect("claimed").principal_id;

    let mut expected_resolve = Resolved::Header("X-Key-0".into(), "raced-secret-value".into());
    let mut expected_role = "admin".to_owned();
    let mut accepted = true;
    // What the raced agent's resolve must answer: refused while its claim is rejected.
    let expected_for = |accepted: bool, when_accepted: &Resolved| {
        if accepted {
            when_accepted.clone()
        } else {
            Resolved::Refused(403)
        }
    };
    let mut stale = Vec::new();
    let mut requests = 0;
    for step in 1..=1_000 {
        // B answers first (so that it remembers), then A changes one thing, then B's very next
        // request must see the change.
        let check = |seen: Resolved, expected: &Resolved, stale: &mut Vec<String>| {
            if &seen != expected {
                stale.push(format!("step {step}: B answered {seen:?}, expected {expected:?}"));
            }
        };
        let expected = expected_for(accepted, &expected_resolve);
        check(resolve(&b, &agent, provider.as_str()).await, &expected, &mut stale);
        requests += 1;
        match step % 4 {
            0 => {
                let role = if expected_role == "admin" {
                    Role::User
                } else {
                    Role::Admin
                };
                a_parts
                    .registries
                    .principals
                    .set_role(&principal, role)
                    .await
                    .expect("role");
                expected_role = role.as_str().to_owned();
                if accepted {
                    let seen = role_seen(&b, &agent).await;
                    if seen != expected_role {
                        stale.push(format!("step {step}: B saw role {seen}, expected {expected_role}"));
                    }
                    requests += 1;
                }
            }
            1 => {
                accepted = !accepted;
                if accepted {
                    a_parts.registries.claims.accept(&handle).await.expect("accept");
                } else {
                    a_parts.registries.claims.reject(&handle).await.expect("reject");
                }
            }
            2 => {
                let header = format!("X-Key-{step}");
                a_parts
                    .registries
                    .provider_definitions
                    .upsert(&definition(&provider, &header))
                    .await
                    .expect("upsert");
                expected_resolve = Resolved::Header(header, "raced-secret-value".into());
            }
            _ => {
                // A new agent of a new person without a vault: B remembers it vault-less, then
                // the vault appears (empty: the connection is not found).
                let fresh = Agent::new(&unique("late"));
                let (fresh_handle, person) = identity_and_person_for(&a_parts.registries, &fresh).await;
                a_parts
                    .registries
                    .claims
                    .claim_accepted(&fresh_handle, &person)
                    .await
                    .expect("claim");
                check(
                    resolve(&b, &fresh, provider.as_str()).await,
                    &Resolved::Refused(403),
                    &mut stale,
                );
                a_parts
                    .registries
                    .bindings
                    .ensure_default_vault(&person)
                    .await
                    .expect("vault");
                check(
                    resolve(&b, &fresh, provider.as_str()).await,
                    &Resolved::Refused(404),
                    &mut stale,
                );
                requests += 2;
            }
        }
        let expected = expected_for(accepted, &expected_resolve);
        check(resolve(&b, &agent, provider.as_str()).await, &expected, &mut stale);
        requests += 1;
    }
    assert!(
        stale.is_empty(),
        "{} stale answers in {requests} requests, first: {:?}",
        stale.len(),
        stale.first()
    );
    // B answered from memory whenever nothing had changed since its last read: fewer database
    // reads than requests.
    let reads = b_parts.database_reads.load(Ordering::Relaxed);
    assert!(reads < requests, "{reads} database reads for {requests} requests");
}

/// Over HTTP, a replica that remembers an agent's owner answers it without the database, and
/// every answer is still a verified, single-use, decrypted resolve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_a_remembered_owner_is_served_without_the_database() {
    let (_schema, _prefix, (a, _), (b, b_parts)) = two_serving_replicas().await;
    let (agent, _browser) = a.claimed_agent("remembered-agent", "remembered@example.com").await;
    agent
        .store_openai_key(&a, "default", "sk-proj-rememberedrememberedremem01")
        .await;
    let before = b_parts.database_reads.load(Ordering::Relaxed);
    for _ in 0..50 {
        let reply = agent
            .post(&b, "/api/credentials/resolve", json!({"provider": "openai"}))
            .await
            .expect(200);
        assert!(reply.text().contains("sk-proj-rememberedrememberedremem01"));
    }
    assert_eq!(
        b_parts.database_reads.load(Ordering::Relaxed) - before,
        1,
        "one database read, then remembered"
    );
    // Each token is still single-use on the remembered path.
    let body = json!({"provider": "openai"}).to_string().into_bytes();
    let proof = agent.proof("POST", "/api/credentials/resolve", &body);
    for expected in [200, 401] {
        agent
            .call_with_proof(&b, Method::POST, "/api/credentials/resolve", body.clone(), &proof)
            .await
            .expect(expected);
    }
}
