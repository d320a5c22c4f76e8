//! Contract cases for [`GlobalProviderConnectionRegistry`](crate::GlobalProviderConnectionRegistry).

use authsome_domain::{
    ConnectionName, GlobalProviderConnectionTarget, IdentityHandle, PrincipalId, ProviderName, VaultId,
};

use crate::contract::sample;
use crate::{Missing, Registries, RegistryError};

async fn owner_target(r: &Registries, provider: &str, connection: &str) -> GlobalProviderConnectionTarget {
    let p = r.principals.create(sample::new_principal()).await.expect("principal");
    let binding = r.bindings.ensure_default_vault(&p.id).await.expect("vault");
    GlobalProviderConnectionTarget {
        provider: ProviderName::parse(provider).expect("provider"),
        owner_principal_id: p.id,
        owner_vault_id: binding.vault_id,
        connection_name: ConnectionName::parse(connection).expect("connection"),
        created_by_identity: Some(IdentityHandle::parse("admin-agent-1").expect("handle")),
    }
}

/// A pointer is stored, found, listed by provider, and re-pointed keeping `created_at`.
pub async fn global_upsert_get_list_and_repoint(r: &Registries) {
    let openai = owner_target(r, "openai", "default").await;
    let created = r.global_connections.upsert(&openai).await.expect("upsert");
    assert_eq!(created.target, openai);
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(
        r.global_connections
            .get(&openai.provider)
            .await
            .expect("get")
            .expect("present"),
        created
    );

    let anthropic = owner_target(r, "anthropic", "work").await;
    r.global_connections.upsert(&anthropic).await.expect("second provider");
    let listed: Vec<_> = r
        .global_connections
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|g| g.target.provider)
        .collect();
    assert_eq!(
        listed,
        vec![anthropic.provider.clone(), openai.provider.clone()],
        "ordered by provider"
    );

    let repointed_target = GlobalProviderConnectionTarget {
        provider: openai.provider.clone(),
        created_by_identity: None,
        ..anthropic.clone()
    };
    let repointed = r.global_connections.upsert(&repointed_target).await.expect("repoint");
    assert_eq!(repointed.target, repointed_target);
    assert_eq!(repointed.created_at, created.created_at, "created_at is kept");
    assert!(repointed.updated_at >= created.updated_at);
    assert_eq!(
        r.global_connections
            .get(&openai.provider)
            .await
            .expect("get")
            .expect("present"),
        repointed
    );
}

/// Deleting reports whether a pointer existed.
pub async fn global_delete_reports_presence(r: &Registries) {
    let target = owner_target(r, "openai", "default").await;
    r.global_connections.upsert(&target).await.expect("upsert");
    assert!(r.global_connections.delete(&target.provider).await.expect("delete"));
    assert!(
        !r.global_connections
            .delete(&target.provider)
            .await
            .expect("delete again")
    );
    assert!(r.global_connections.get(&target.provider).await.expect("get").is_none());
    assert!(r.global_connections.list().await.expect("list").is_empty());
}

/// Conditional delete only removes a pointer that still points at the target and is unchanged.
pub async fn global_delete_if_target_is_conditional(r: &Registries) {
    let target = owner_target(r, "openai", "default").await;
    let stored = r.global_connections.upsert(&target).await.expect("upsert");

    let other_connection = ConnectionName::parse("other").expect("name");
    let removed = r
        .global_connections
        .delete_if_target(&target.provider, &target.owner_vault_id, &other_connection, None)
        .await
        .expect("wrong connection");
    assert!(!removed);
    let removed = r
        .global_connections
        .delete_if_target(&target.provider, &VaultId::generate(), &target.connection_name, None)
        .await
        .expect("wrong vault");
    assert!(!removed);
    let stale = stored.updated_at.plus_seconds(-60);
    let removed = r
        .global_connections
        .delete_if_target(
            &target.provider,
            &target.owner_vault_id,
            &target.connection_name,
            Some(stale),
        )
        .await
        .expect("stale");
    assert!(!removed, "a pointer changed since the given time stays");
    assert!(r.global_connections.get(&target.provider).await.expect("get").is_some());

    let removed = r
        .global_connections
        .delete_if_target(
            &target.provider,
            &target.owner_vault_id,
            &target.connection_name,
            Some(stored.updated_at),
        )
        .await
        .expect("matching");
    assert!(removed);
    assert!(r.global_connections.get(&target.provider).await.expect("get").is_none());

    r.global_connections.upsert(&target).await.expect("upsert again");
    let removed = r
        .global_connections
        .delete_if_target(&target.provider, &target.owner_vault_id, &target.connection_name, None)
        .await
        .expect("unconditional on time");
    assert!(removed);
}

/// A pointer to an unknown principal or vault is `NotFound`.
pub async fn global_upsert_with_missing_owner(r: &Registries) {
    let target = owner_target(r, "openai", "default").await;
    let ghost_vault = GlobalProviderConnectionTarget {
        owner_vault_id: VaultId::generate(),
        ..target.clone()
    };
    let err = r.global_connections.upsert(&ghost_vault).await.expect_err("no vault");
    assert!(matches!(err, RegistryError::NotFound(Missing::Vault(_))), "{err:?}");
    let ghost_principal = GlobalProviderConnectionTarget {
        owner_principal_id: PrincipalId::generate(),
        ..target.clone()
    };
    let err = r
        .global_connections
        .upsert(&ghost_principal)
        .await
        .expect_err("no principal");
    assert!(matches!(err, RegistryError::NotFound(Missing::Principal(_))), "{err:?}");
    assert!(r.global_connections.get(&target.provider).await.expect("get").is_none());
}
