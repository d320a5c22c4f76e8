//! Reading a database written by the real authsome 0.7.2 daemon.
//!
//! `scripts/reference-fixtures.sh` drives the reference daemon and CLI through onboard, a
//! browser sign-up and claim, an API-key import, a global connection, a custom provider and a
//! second sign-up, then dumps the database to `tests/fixtures/reference-0.7.2/` together with
//! what the reference itself reported (`expected-*.json`). Each relational adapter loads its
//! dump, migrates it (adopting the tables as they are) and runs [`reads_reference_rows`].

use authsome_domain::{
    AuditQuery, ClaimStatus, ConnectionName, DidKey, Email, IdentityHandle, NewPrincipal, PrincipalId, ProviderName,
    Role, RolePolicy, ServerConfig, VaultId,
};
use serde_json::Value;

use crate::Registries;
use crate::contract::sample;

/// What the reference reported about the data in a fixture (`expected-*.json`).
pub struct ReferenceExpectation(Value);

impl ReferenceExpectation {
    /// Parses an `expected-*.json` file's text.
    pub fn from_json(text: &str) -> Self {
        Self(serde_json::from_str(text).expect("expected-*.json is JSON"))
    }

    fn text(&self, key: &str) -> &str {
        self.0[key]
            .as_str()
            .unwrap_or_else(|| panic!("expected-*.json lacks {key}"))
    }
}

/// Every registry reads the reference's rows as the reference described them, and accepts
/// new writes on top of them.
pub async fn reads_reference_rows(r: &Registries, expected: &ReferenceExpectation) {
    let agent = IdentityHandle::parse(expected.text("agent")).expect("agent handle");
    let did = DidKey::parse(expected.text("did")).expect("agent did");
    let principal_id = PrincipalId::parse(expected.text("principal_id")).expect("principal id");
    let vault_id = VaultId::parse(expected.text("vault_id")).expect("vault id");

    // Identity registration, with `+00:00` timestamps.
    let identity = r.identities.get(&agent).await.expect("get").expect("agent registered");
    assert_eq!(identity.did, did);
    assert_eq!(
        r.identities
            .get_by_did(&did)
            .await
            .expect("by did")
            .expect("present")
            .handle,
        agent
    );

    // The admin principal and its Argon2id hash, exactly as argon2-cffi wrote it.
    let admin = r
        .principals
        .get(&principal_id)
        .await
        .expect("get")
        .expect("admin present");
    assert_eq!(admin.email.as_str(), expected.text("admin_email"));
    assert_eq!(admin.role, Role::Admin);
    let hash = admin.password_hash.as_ref().expect("admin has a password");
    assert!(
        hash.as_phc().starts_with("$argon2id$v=19$m=65536,t=3,p=4$"),
        "reference Argon2id parameters"
    );
    let second_email = Email::parse(expected.text("second_email")).expect("email");
    let second = r
        .principals
        .get_by_email(&second_email)
        .await
        .expect("by email")
        .expect("second present");
    assert_eq!(second.role, Role::User);
    let listed: Vec<_> = r
        .principals
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(
        listed,
        vec![principal_id.clone(), second.id.clone()],
        "ordered by creation"
    );

    // The claim, the default binding and the vault.
    let claim = r.claims.get(&agent).await.expect("claim").expect("claimed");
    assert_eq!(
        (claim.principal_id.clone(), claim.status),
        (principal_id.clone(), ClaimStatus::Accepted)
    );
    assert!(
        claim.created_at >= identity.created_at,
        "the claim follows the registration"
    );
    let accepted = r.claims.list_accepted_for_principal(&principal_id).await.expect("list");
    assert_eq!(
        accepted.into_iter().map(|c| c.identity_handle).collect::<Vec<_>>(),
        vec![agent.clone()]
    );
    let binding = r
        .bindings
        .get_default(&principal_id)
        .await
        .expect("binding")
        .expect("default vault");
    assert_eq!(binding.vault_id, vault_id);
    assert!(binding.is_default);
    let vault = r.vaults.get(&vault_id).await.expect("vault").expect("present");
    assert_eq!(vault.handle, "default");
    assert_eq!(r.vaults.list().await.expect("vaults").len(), 2);

    // The global pointer and the custom provider.
    let provider = ProviderName::parse(expected.text("global_provider")).expect("provider");
    let global = r.global_connections.get(&provider).await.expect("global").expect("set");
    assert_eq!(global.target.owner_principal_id, principal_id);
    assert_eq!(global.target.owner_vault_id, vault_id);
    assert_eq!(global.target.connection_name, ConnectionName::default_name());
    assert_eq!(global.target.created_by_identity.as_ref(), Some(&agent));
    let custom = ProviderName::parse(expected.text("custom_provider")).expect("custom");
    let definition = r
        .provider_definitions
        .get(&custom)
        .await
        .expect("definition")
        .expect("stored");
    assert_eq!(definition.document()["display_name"], "Acme Fixture");
    assert_eq!(definition.document()["api_key"]["header_name"], "X-Api-Key");

    // The server config row the reference wrote at startup.
    assert_eq!(r.server_config.load().await.expect("config"), ServerConfig::default());

    // Audit events (`Z` timestamps), newest first, and the same order when paged.
    let expected_ids: Vec<String> = expected.0["audit_event_ids_newest_first"]
        .as_array()
        .expect("event ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    let page = r.audit.query(&AuditQuery::new(50)).await.expect("audit");
    let ids: Vec<String> = page
        .entries
        .iter()
        .map(|e| e["event_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, expected_ids);
    for entry in &page.entries {
        let timestamp = entry["timestamp"].as_str().expect("timestamp");
        assert!(timestamp.ends_with('Z'), "{timestamp}");
        authsome_domain::Timestamp::parse(timestamp).expect("parses");
    }
    let mut paged = Vec::new();
    let mut query = AuditQuery::new(2);
    loop {
        let page = r.audit.query(&query).await.expect("page");
        paged.extend(
            page.entries
                .iter()
                .map(|e| e["event_id"].as_str().expect("id").to_owned()),
        );
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(paged, expected_ids);

    // The adopted database takes new writes: a later sign-up is a user, the admin's default
    // vault is kept, and a new agent can be registered and claimed.
    let newcomer = r
        .principals
        .create(NewPrincipal {
            email: sample::email(),
            password_hash: None,
            role: RolePolicy::FirstPrincipalIsAdmin,
        })
        .await
        .expect("new principal");
    assert_eq!(newcomer.role, Role::User);
    assert_eq!(
        r.bindings.ensure_default_vault(&principal_id).await.expect("ensure"),
        binding
    );
    let new_agent = sample::handle();
    r.identities
        .register(&new_agent, &sample::did())
        .await
        .expect("register");
    r.claims.claim_accepted(&new_agent, &principal_id).await.expect("claim");
    assert_eq!(
        r.claims
            .list_accepted_for_principal(&principal_id)
            .await
            .expect("list")
            .len(),
        2
    );
}
