//! The registry contract suite on a real Postgres server, a fresh schema per case.
//! Needs `AUTHSOME_TEST_DATABASE_URL`; fails when it is not set.

use std::sync::Arc;

use authsome_ports::Registries;
use authsome_ports::contract::registries::RegistryFixture;
use authsome_postgres::test_schema::TestSchema;
use authsome_postgres::{PostgresSettings, PostgresStore};

struct Fixture {
    store: Arc<PostgresStore>,
    // Dropped after the store: the schema outlives every statement of the case.
    _schema: TestSchema,
}

impl RegistryFixture for Fixture {
    fn registries(&self) -> Registries {
        // The ownership lookup on its own connections, as the daemon composes it.
        authsome_postgres::registries(self.store.clone())
    }
}

async fn fresh_schema() -> Fixture {
    let schema = TestSchema::create().await;
    let mut settings = PostgresSettings::new(schema.url());
    settings.max_connections = 5;
    let store = authsome_postgres::open(&settings)
        .await
        .expect("open and migrate a fresh schema");
    Fixture { store, _schema: schema }
}

authsome_ports::registry_contract_tests!(fresh_schema);
