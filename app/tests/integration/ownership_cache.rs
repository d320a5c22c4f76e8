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
    r.identities
        .register(&handle, &DidKey::from_public_key(key))
        .await
        .expect("register");
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
