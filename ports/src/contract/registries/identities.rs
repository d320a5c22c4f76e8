//! Contract cases for [`IdentityRegistry`](crate::IdentityRegistry).

use crate::contract::concurrency::race;
use crate::contract::sample;
use crate::{Conflict, Registries, RegistryError};

/// A new registration is stored and found by handle and by DID.
pub async fn identity_register_then_find_by_handle_and_did(r: &Registries) {
    let (handle, did) = (sample::handle(), sample::did());
    let registered = r.identities.register(&handle, &did).await.expect("register");
    assert!(
        registered.created,
        "the first registration reports that it created the row"
    );
    let created = registered.registration;
    assert_eq!(created.handle, handle);
    assert_eq!(created.did, did);
    assert_eq!(created.created_at, created.updated_at);

    let by_handle = r.identities.get(&handle).await.expect("get").expect("present");
    assert_eq!(by_handle, created);
    let by_did = r
        .identities
        .get_by_did(&did)
        .await
        .expect("get_by_did")
        .expect("present");
    assert_eq!(by_did, created);
}

/// Registering the same handle and DID again returns the first registration unchanged.
pub async fn identity_register_same_pair_is_idempotent(r: &Registries) {
    let (handle, did) = (sample::handle(), sample::did());
    let first = r.identities.register(&handle, &did).await.expect("first");
    let again = r.identities.register(&handle, &did).await.expect("again");
    assert!(first.created && !again.created, "only the first call creates");
    assert_eq!(
        first.registration, again.registration,
        "timestamps must not move on an idempotent repeat"
    );
}

/// A handle registered to one DID cannot be taken by another.
pub async fn identity_register_conflicts_on_taken_handle(r: &Registries) {
    let handle = sample::handle();
    r.identities.register(&handle, &sample::did()).await.expect("first");
    let other_did = sample::did();
    let err = r.identities.register(&handle, &other_did).await.expect_err("taken");
    assert!(
        matches!(err, RegistryError::Conflict(Conflict::HandleTaken(ref h)) if *h == handle),
        "{err:?}"
    );
    assert!(
        r.identities.get_by_did(&other_did).await.expect("lookup").is_none(),
        "nothing written"
    );
}

/// A DID registered under one handle cannot be registered under another; the error names the owner.
pub async fn identity_register_conflicts_on_taken_did(r: &Registries) {
    let (owner, did) = (sample::handle(), sample::did());
    r.identities.register(&owner, &did).await.expect("first");
    let other = sample::handle();
    let err = r.identities.register(&other, &did).await.expect_err("taken");
    assert!(
        matches!(err, RegistryError::Conflict(Conflict::DidTaken(ref h)) if *h == owner),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("DID is already registered to identity handle '{owner}'")
    );
    assert!(
        r.identities.get(&other).await.expect("lookup").is_none(),
        "nothing written"
    );
}

/// Lookups of unknown handles and DIDs return `None`.
pub async fn identity_unknown_lookups_return_none(r: &Registries) {
    assert!(r.identities.get(&sample::handle()).await.expect("get").is_none());
    assert!(
        r.identities
            .get_by_did(&sample::did())
            .await
            .expect("get_by_did")
            .is_none()
    );
}

/// Twenty tasks registering one handle with twenty DIDs: exactly one wins, the rest get typed conflicts.
pub async fn identity_concurrent_registration_has_one_winner(r: &Registries) {
    let handle = sample::handle();
    let results = race(r, 20, |_| {
        let (r, handle, did) = (r.clone(), handle.clone(), sample::did());
        async move { (did.clone(), r.identities.register(&handle, &did).await) }
    })
    .await;
    let mut winners = Vec::new();
    let mut conflicts = 0;
    for (did, result) in results {
        match result {
            Ok(registered) => winners.push((did, registered.registration)),
            Err(RegistryError::Conflict(Conflict::HandleTaken(_))) => conflicts += 1,
            Err(other) => panic!("expected a typed conflict, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one registration wins");
    assert_eq!(conflicts, 19);
    let stored = r.identities.get(&handle).await.expect("get").expect("present");
    assert_eq!(stored.did, winners[0].0);
}

/// Twenty tasks registering the same pair at once all succeed with the same registration.
pub async fn identity_concurrent_idempotent_registration_all_succeed(r: &Registries) {
    let (handle, did) = (sample::handle(), sample::did());
    let results = race(r, 20, |_| {
        let (r, handle, did) = (r.clone(), handle.clone(), did.clone());
        async move { r.identities.register(&handle, &did).await }
    })
    .await;
    let seen: Vec<_> = results.into_iter().map(|r| r.expect("every repeat succeeds")).collect();
    assert!(
        seen.windows(2).all(|w| w[0].registration == w[1].registration),
        "all callers see one registration"
    );
    assert_eq!(
        seen.iter().filter(|r| r.created).count(),
        1,
        "exactly one caller created it"
    );
}

/// The ownership lookup follows an identity from registration to claim, principal and vault.
pub async fn identity_ownership_lookup_follows_the_claim(r: &Registries) {
    use authsome_domain::{ClaimStatus, Role};
    assert!(
        r.ownership.lookup(&sample::handle()).await.expect("lookup").is_none(),
        "unknown handle"
    );

    let (handle, did) = (sample::handle(), sample::did());
    let registration = r
        .identities
        .register(&handle, &did)
        .await
        .expect("register")
        .registration;
    let bare = r.ownership.lookup(&handle).await.expect("lookup").expect("registered");
    assert_eq!(bare.registration, registration);
    assert!(bare.claim.is_none() && bare.principal.is_none() && bare.default_vault.is_none());

    let principal = r.principals.create(sample::new_principal()).await.expect("principal");
    r.claims.claim(&handle, &principal.id).await.expect("claim");
    let pending = r.ownership.lookup(&handle).await.expect("lookup").expect("registered");
    assert_eq!(pending.claim.as_ref().map(|c| c.status), Some(ClaimStatus::Pending));
    assert_eq!(pending.principal, Some((Role::Admin, principal.email.clone())));
    assert!(pending.default_vault.is_none(), "no default vault yet");

    let binding = r.bindings.ensure_default_vault(&principal.id).await.expect("vault");
    r.claims.accept(&handle).await.expect("accept");
    let owned = r.ownership.lookup(&handle).await.expect("lookup").expect("registered");
    let claim = owned.claim.expect("claim");
    assert_eq!(
        (claim.principal_id, claim.status),
        (principal.id.clone(), ClaimStatus::Accepted)
    );
    assert_eq!(owned.default_vault, Some(binding.vault_id));

    // A second vault cannot take the default's place, and does not change the answer.
    let extra = r.vaults.create().await.expect("vault");
    let refused = r.bindings.bind_default(&principal.id, &extra.id).await;
    assert!(
        matches!(refused, Err(RegistryError::Conflict(Conflict::DefaultVaultExists(ref id))) if *id == principal.id),
        "{refused:?}"
    );
    assert_eq!(
        r.ownership
            .lookup(&handle)
            .await
            .expect("lookup")
            .expect("registered")
            .default_vault,
        owned.default_vault
    );
}
