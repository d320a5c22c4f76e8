//! The registry contract suite on a real SQLite file, a fresh one per case.

use std::sync::Arc;

use authsome_ports::Registries;
use authsome_ports::contract::registries::RegistryFixture;
use authsome_sqlite::{SqliteSettings, SqliteStore};

struct Fixture {
    store: Arc<SqliteStore>,
    // Held so the database directory lives as long as the case and is removed after it.
    _dir: tempfile::TempDir,
}

impl RegistryFixture for Fixture {
    fn registries(&self) -> Registries {
        // The ownership lookup on the blocking read path, as the daemon composes it.
        authsome_sqlite::registries(self.store.clone())
    }
}

async fn fresh_database() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = authsome_sqlite::open(&SqliteSettings::new(dir.path().join("server/authsome.db")))
        .await
        .expect("open and migrate a fresh SQLite database");
    Fixture { store, _dir: dir }
}

authsome_ports::registry_contract_tests!(fresh_database);
