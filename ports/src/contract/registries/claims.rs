//! Contract cases for [`IdentityClaimRegistry`](crate::IdentityClaimRegistry).

use authsome_domain::{ClaimStatus, PrincipalId};

use crate::contract::concurrency::race;
use crate::contract::sample;
use crate::{Conflict, Missing, Registries, RegistryError};

/// A claim starts pending, is accepted, and only accepted claims are listed.
pub async fn claim_pending_then_accepted_and_listed(r: &Registries) {
    let p = r.principals.create(sample::new_principal()).await.expect("principal");
    let handle = sample::handle();
    let pending = r.claims.claim(&handle, &p.id).await.expect("claim");
    assert_eq!(pending.status, ClaimStatus::Pending);
    assert_eq!(pending.principal_id, p.id);
    assert!(
        r.claims
            .list_accepted_for_principal(&p.id)
            .await
            .expect("list")
            .is_empty(),
        "pending is not listed"
    );

    let accepted = r.claims.accept(&handle).await.expect("accept");
    assert_eq!(accepted.status, ClaimStatus::Accepted);
    assert_eq!(accepted.created_at, pending.created_at);
    assert!(accepted.updated_at >= pending.updated_at);
    assert_eq!(r.claims.get(&handle).await.expect("get").expect("present"), accepted);
    assert_eq!(
        r.claims.list_accepted_for_principal(&p.id).await.expect("list"),
        vec![accepted]
    );
}

/// Claiming again for the same principal returns the claim; another principal gets a conflict.
pub async fn claim_is_idempotent_and_exclusive(r: &Registries) {
    let owner = r.principals.create(sample::new_principal()).await.expect("owner");
    let other = r.principals.create(sample::new_principal()).await.expect("other");
    let handle = sample::handle();
    let first = r.claims.claim(&handle, &owner.id).await.expect("claim");
    r.claims.accept(&handle).await.expect("accept");
    let again = r.claims.claim(&handle, &owner.id).await.expect("same principal");
    assert_eq!(
        again.status,
        ClaimStatus::Accepted,
        "the existing claim is returned unchanged"
    );
    assert_eq!(again.created_at, first.created_at);

    let err = r.claims.claim(&handle, &other.id).await.expect_err("other principal");
    assert!(
        matches!(err, RegistryError::Conflict(Conflict::AlreadyClaimed(ref h)) if *h == handle),
        "{err:?}"
    );
    assert_eq!(
        r.claims.get(&handle).await.expect("get").expect("present").principal_id,
        owner.id
    );
}

/// Claims for unknown principals are `NotFound`; unknown handles have no claim.
pub async fn claim_missing_rows(r: &Registries) {
    let handle = sample::handle();
    let ghost = PrincipalId::generate();
    let err = r.claims.claim(&handle, &ghost).await.expect_err("no principal");
    assert!(
        matches!(err, RegistryError::NotFound(Missing::Principal(ref id)) if *id == ghost),
        "{err:?}"
    );
    let err = r
        .claims
        .claim_accepted(&handle, &ghost)
        .await
        .expect_err("no principal");
    assert!(matches!(err, RegistryError::NotFound(Missing::Principal(_))), "{err:?}");
    assert!(r.claims.get(&handle).await.expect("get").is_none());
    for result in [r.claims.accept(&handle).await, r.claims.reject(&handle).await] {
        let err = result.expect_err("no claim");
        assert!(
            matches!(err, RegistryError::NotFound(Missing::Claim(ref h)) if *h == handle),
            "{err:?}"
        );
    }
    assert!(
        r.claims
            .list_accepted_for_principal(&ghost)
            .await
            .expect("list")
            .is_empty()
    );
}

/// A rejected claim is not listed and keeps its owner.
pub async fn claim_reject(r: &Registries) {
    let p = r.principals.create(sample::new_principal()).await.expect("principal");
    let handle = sample::handle();
    r.claims.claim(&handle, &p.id).await.expect("claim");
    let rejected = r.claims.reject(&handle).await.expect("reject");
    assert_eq!(rejected.status, ClaimStatus::Rejected);
    assert_eq!(
        r.claims.get(&handle).await.expect("get").expect("present").status,
        ClaimStatus::Rejected
    );
    assert!(
        r.claims
            .list_accepted_for_principal(&p.id)
            .await
            .expect("list")
            .is_empty()
    );
}

/// `claim_accepted` inserts, upgrades the owner's pending claim, and refuses other principals.
pub async fn claim_accepted_inserts_upgrades_and_refuses(r: &Registries) {
    let owner = r.principals.create(sample::new_principal()).await.expect("owner");
    let other = r.principals.create(sample::new_principal()).await.expect("other");

    let fresh = sample::handle();
    let inserted = r.claims.claim_accepted(&fresh, &owner.id).await.expect("insert");
    assert_eq!(inserted.status, ClaimStatus::Accepted);

    let pending_handle = sample::handle();
    let pending = r.claims.claim(&pending_handle, &owner.id).await.expect("pending");
    let upgraded = r
        .claims
        .claim_accepted(&pending_handle, &owner.id)
        .await
        .expect("upgrade");
    assert_eq!(upgraded.status, ClaimStatus::Accepted);
    assert_eq!(upgraded.created_at, pending.created_at, "created_at is kept");

    let err = r
        .claims
        .claim_accepted(&pending_handle, &other.id)
        .await
        .expect_err("other");
    assert!(
        matches!(err, RegistryError::Conflict(Conflict::AlreadyClaimed(_))),
        "{err:?}"
    );
    let stored = r.claims.get(&pending_handle).await.expect("get").expect("present");
    assert_eq!(
        (stored.principal_id, stored.status),
        (owner.id.clone(), ClaimStatus::Accepted)
    );

    let mut listed: Vec<_> = r
        .claims
        .list_accepted_for_principal(&owner.id)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.identity_handle)
        .collect();
    let mut expected = vec![fresh, pending_handle];
    expected.sort();
    assert_eq!(listed, expected, "ordered by handle");
    listed.clear();
}

/// Two principals racing to claim one identity (ten tasks each): one principal owns it.
pub async fn claim_accepted_concurrent_race_has_one_owner(r: &Registries) {
    let a = r.principals.create(sample::new_principal()).await.expect("a");
    let b = r.principals.create(sample::new_principal()).await.expect("b");
    let handle = sample::handle();
    let results = race(r, 20, |i| {
        let (r, handle) = (r.clone(), handle.clone());
        let principal = if i % 2 == 0 { a.id.clone() } else { b.id.clone() };
        async move { (principal.clone(), r.claims.claim_accepted(&handle, &principal).await) }
    })
    .await;
    let mut winners = std::collections::BTreeSet::new();
    let mut conflicts = 0;
    for result in results {
        match result {
            (principal, Ok(claim)) => {
                assert_eq!(claim.principal_id, principal);
                winners.insert(principal);
            }
            (_, Err(RegistryError::Conflict(Conflict::AlreadyClaimed(_)))) => conflicts += 1,
            (_, Err(other)) => panic!("expected a typed conflict, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "one principal owns the identity");
    assert_eq!(conflicts, 10, "every task of the other principal gets a conflict");
}
