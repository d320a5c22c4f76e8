//! The ownership reader's own connections (it bypasses sqlx's pool): it recovers when the
//! server drops them, and it never opens more than its bound. Its own test binary, because it
//! terminates every connection of the reader's `application_name` in its database (other
//! databases on the server, a benchmark's say, may run readers of their own: they are not counted).
//! Needs `AUTHSOME_TEST_DATABASE_URL`; fails when it is not set.

use std::sync::Arc;

use authsome_ports::IdentityOwnershipLookup;
use authsome_ports::contract::sample;
use authsome_postgres::PostgresSettings;
use authsome_postgres::test_schema::TestSchema;
use sqlx::Connection;

async fn reader_connections(schema: &TestSchema) -> i64 {
    let mut admin = sqlx::PgConnection::connect(&schema.url()).await.expect("connect");
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(authsome_postgres::ownership_reader::APPLICATION_NAME)
    .fetch_one(&mut admin)
    .await
    .expect("count")
}

/// The cases here terminate or block the reader's own backends: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn survives_the_server_dropping_its_connections_and_stays_within_its_bound() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let schema = TestSchema::create().await;
    let mut settings = PostgresSettings::new(schema.url());
    settings.max_connections = 2;
    let store = authsome_postgres::open(&settings).await.expect("open");
    let registries = authsome_postgres::registries(store);
    let (handle, did) = (sample::handle(), sample::did());
    let principal = sample::claimed_identity(&registries, &handle, &did).await;

    let ownership: Arc<dyn IdentityOwnershipLookup> = registries.ownership.clone();
    let mut lookups = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (ownership, handle) = (ownership.clone(), handle.clone());
        lookups.spawn(async move { ownership.lookup(&handle).await });
    }
    while let Some(done) = lookups.join_next().await {
        let found = done.expect("task").expect("lookup").expect("registered");
        assert_eq!(found.registration.did, did);
    }
    let open = reader_connections(&schema).await;
    assert!(
        (1..=2).contains(&open),
        "32 concurrent lookups opened {open} connections (bound 2)"
    );

    // The server (a restart, an idle timeout, a proxy) drops every connection of the reader.
    let mut admin = sqlx::PgConnection::connect(&schema.url()).await.expect("connect");
    let terminated: Vec<bool> =
        sqlx::query_scalar("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()")
            .bind(authsome_postgres::ownership_reader::APPLICATION_NAME)
            .fetch_all(&mut admin)
            .await
            .expect("terminate");
    assert!(!terminated.is_empty());
    // Until the server has ended them, the reconnection path would not be exercised.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let left = reader_connections(&schema).await;
        if left == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{left} terminated backends still there after 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // The next lookups still answer: a dead idle connection is replaced, not reported.
    for _ in 0..3 {
        let found = ownership
            .lookup(&handle)
            .await
            .expect("lookup after the drop")
            .expect("registered");
        assert_eq!(found.claim.map(|c| c.principal_id), Some(principal.id.clone()));
    }
}

/// A server that accepts the connection and then says nothing (a hung database, a proxy with
/// no backend) fails the lookup as unavailable within the acquire timeout instead of holding
/// the request until TCP gives up.
#[tokio::test]
async fn a_silent_server_fails_as_unavailable_within_the_acquire_timeout() {
    use std::str::FromStr;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let options = sqlx::postgres::PgConnectOptions::from_str(&format!(
        "postgres://nobody@127.0.0.1:{}/none?sslmode=disable",
        address.port()
    ))
    .expect("options");
    let reader = authsome_postgres::PostgresOwnershipReader::new(options, 1);
    let started = std::time::Instant::now();
    let result = tokio::time::timeout(std::time::Duration::from_secs(20), reader.lookup(&sample::handle()))
        .await
        .expect("the lookup gave up on its own");
    let waited = started.elapsed();
    assert!(
        matches!(result, Err(authsome_ports::RegistryError::Unavailable(_))),
        "{result:?}"
    );
    assert!(
        waited < std::time::Duration::from_secs(8),
        "waited {waited:?} for a silent server"
    );
    silent.abort();
}

/// A statement the server does not answer (here: blocked behind an exclusive table lock, as
/// a stuck server or a long migration would leave it) fails as unavailable after the query
/// timeout; the blocked connection is not reused, and lookups work again once the server does.
#[tokio::test]
async fn a_statement_the_server_does_not_answer_times_out_and_the_next_lookup_recovers() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let schema = TestSchema::create().await;
    let store = authsome_postgres::open(&PostgresSettings::new(schema.url()))
        .await
        .expect("open");
    let registries = authsome_postgres::registries(store);
    let (handle, did) = (sample::handle(), sample::did());
    registries.identities.register(&handle, &did).await.expect("register");
    assert!(registries.ownership.lookup(&handle).await.expect("lookup").is_some());

    let mut locker = sqlx::PgConnection::connect(&schema.url()).await.expect("connect");
    sqlx::query("BEGIN").execute(&mut locker).await.expect("begin");
    sqlx::query("LOCK TABLE identity_registrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .expect("lock");
    let started = std::time::Instant::now();
    let blocked = tokio::time::timeout(std::time::Duration::from_secs(20), registries.ownership.lookup(&handle))
        .await
        .expect("the lookup gave up on its own");
    assert!(
        matches!(blocked, Err(authsome_ports::RegistryError::Unavailable(_))),
        "{blocked:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    sqlx::query("ROLLBACK").execute(&mut locker).await.expect("rollback");

    let found = registries
        .ownership
        .lookup(&handle)
        .await
        .expect("lookup after the lock");
    assert_eq!(found.map(|o| o.registration.did), Some(did));
}
