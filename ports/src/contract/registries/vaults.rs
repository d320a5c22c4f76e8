//! Contract cases for [`VaultRegistry`](crate::VaultRegistry) and
//! [`PrincipalVaultBindingRegistry`](crate::PrincipalVaultBindingRegistry).

use authsome_domain::{PrincipalId, VaultId};

use crate::contract::concurrency::race;
use crate::contract::sample;
use crate::{Conflict, Missing, Registries, RegistryError};

/// Created vaults have the reference's shape and are found by id and in the ordered list.
pub async fn vault_create_get_and_list(r: &Registries) {
    let a = r.vaults.create().await.expect("create a");
    let b = r.vaults.create().await.expect("create b");
    assert!(a.id.as_str().starts_with("vault_"));
    assert_eq!(a.handle, "default");
    assert_ne!(a.id, b.id);
    assert_eq!(r.vaults.get(&a.id).await.expect("get").expect("present"), a);
    let mut expected = vec![a, b];
    expected.sort_by(|x, y| (x.created_at, &x.id).cmp(&(y.created_at, &y.id)));
    assert_eq!(r.vaults.list().await.expect("list"), expected);
}

/// An unknown vault id returns `None`.
pub async fn vault_unknown_returns_none(r: &Registries) {
    assert!(r.vaults.get(&VaultId::generate()).await.expect("get").is_none());
    assert!(r.vaults.list().await.expect("list").is_empty());
}

/// Binding a default vault is idempotent for the same vault and a conflict for another one.
pub async fn binding_bind_default_is_idempotent_then_conflicts(r: &Registries) {
    let p = r.principals.create(sample::new_principal()).await.expect("principal");
    let v = r.vaults.create().await.expect("vault");
    let bound = r.bindings.bind_default(&p.id, &v.id).await.expect("bind");
    assert!(bound.is_default);
    assert_eq!(
        (bound.principal_id.clone(), bound.vault_id.clone()),
        (p.id.clone(), v.id.clone())
    );
    let again = r.bindings.bind_default(&p.id, &v.id).await.expect("idempotent");
    assert_eq!(again, bound);

    let other = r.vaults.create().await.expect("other vault");
    let err = r
        .bindings
        .bind_default(&p.id, &other.id)
        .await
        .expect_err("second default");
    assert!(
        matches!(err, RegistryError::Conflict(Conflict::DefaultVaultExists(ref id)) if *id == p.id),
        "{err:?}"
    );
    assert_eq!(
        r.bindings.get_default(&p.id).await.expect("get").expect("present"),
        bound
    );
    assert_eq!(r.bindings.list_for_principal(&p.id).await.expect("list"), vec![bound]);
}

/// Binding with an unknown principal or vault is `NotFound` naming the missing row.
pub async fn binding_bind_default_with_missing_rows(r: &Registries) {
    let p = r.principals.create(sample::new_principal()).await.expect("principal");
    let v = r.vaults.create().await.expect("vault");
    let ghost_vault = VaultId::generate();
    let err = r
        .bindings
        .bind_default(&p.id, &ghost_vault)
        .await
        .expect_err("no vault");
    assert!(
        matches!(err, RegistryError::NotFound(Missing::Vault(ref id)) if *id == ghost_vault),
        "{err:?}"
    );
    let ghost_principal = PrincipalId::generate();
    let err = r
        .bindings
        .bind_default(&ghost_principal, &v.id)
        .await
        .expect_err("no principal");
    assert!(
        matches!(err, RegistryError::NotFound(Missing::Principal(ref id)) if *id == ghost_principal),
        "{err:?}"
    );
    assert!(r.bindings.get_default(&p.id).await.expect("get").is_none());
}

/// Unknown principals have no bindings.
pub async fn binding_absent_default_is_none(r: &Registries) {
    let p = r.principals.create(sample::new_principal()).await.expect("principal");
    assert!(r.bindings.get_default(&p.id).await.expect("get").is_none());
    assert!(r.bindings.list_for_principal(&p.id).await.expect("list").is_empty());
    assert!(
        r.bindings
            .get_default(&PrincipalId::generate())
            .await
            .expect("get")
            .is_none()
    );
}

/// Ensuring the default vault creates it once and then returns the same binding.
pub async fn binding_ensure_default_vault_creates_once(r: &Registries) {
    let p = r.principals.create(sample::new_principal()).await.expect("principal");
    let first = r.bindings.ensure_default_vault(&p.id).await.expect("ensure");
    assert!(first.is_default);
    assert!(
        r.vaults.get(&first.vault_id).await.expect("vault").is_some(),
        "the vault row exists"
    );
    let second = r.bindings.ensure_default_vault(&p.id).await.expect("ensure again");
    assert_eq!(first, second);
    assert_eq!(r.vaults.list().await.expect("list").len(), 1);
}

/// Ensuring keeps a default vault that was bound explicitly.
pub async fn binding_ensure_default_vault_keeps_existing_binding(r: &Registries) {
    let p = r.principals.create(sample::new_principal()).await.expect("principal");
    let v = r.vaults.create().await.expect("vault");
    let bound = r.bindings.bind_default(&p.id, &v.id).await.expect("bind");
    assert_eq!(r.bindings.ensure_default_vault(&p.id).await.expect("ensure"), bound);
    assert_eq!(r.vaults.list().await.expect("list").len(), 1);
}

/// Ensuring for an unknown principal fails and leaves no orphan vault behind.
pub async fn binding_ensure_default_vault_for_missing_principal_leaves_nothing(r: &Registries) {
    let ghost = PrincipalId::generate();
    let err = r.bindings.ensure_default_vault(&ghost).await.expect_err("no principal");
    assert!(
        matches!(err, RegistryError::NotFound(Missing::Principal(ref id)) if *id == ghost),
        "{err:?}"
    );
    assert!(r.vaults.list().await.expect("list").is_empty(), "no half-written vault");
}

/// Twenty concurrent ensures for one principal give one vault and one binding.
pub async fn binding_concurrent_ensure_default_vault_gives_one_vault(r: &Registries) {
    let p = r.principals.create(sample::new_principal()).await.expect("principal");
    let results = race(r, 20, |_| {
        let (r, id) = (r.clone(), p.id.clone());
        async move { r.bindings.ensure_default_vault(&id).await }
    })
    .await;
    let bindings: Vec<_> = results.into_iter().map(|b| b.expect("every ensure succeeds")).collect();
    assert!(bindings.windows(2).all(|w| w[0] == w[1]), "one binding for everyone");
    assert_eq!(
        r.vaults.list().await.expect("list").len(),
        1,
        "exactly one vault created"
    );
    assert_eq!(r.bindings.list_for_principal(&p.id).await.expect("list").len(), 1);
}
