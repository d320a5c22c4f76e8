//! Contract cases for [`PrincipalRegistry`](crate::PrincipalRegistry).

use authsome_domain::{NewPrincipal, Role, RolePolicy};

use crate::contract::concurrency::race;
use crate::contract::sample;
use crate::{Conflict, Missing, Registries, RegistryError};

/// The first principal is admin, later ones are users; both are found by id and email.
pub async fn principal_first_is_admin_then_users(r: &Registries) {
    let first = r.principals.create(sample::new_principal()).await.expect("first");
    let second = r.principals.create(sample::new_principal()).await.expect("second");
    assert_eq!(first.role, Role::Admin);
    assert_eq!(second.role, Role::User);
    assert!(first.id.as_str().starts_with("principal_"));
    assert_eq!(first.created_at, first.updated_at);

    let by_id = r.principals.get(&second.id).await.expect("get").expect("present");
    assert_eq!(by_id, second);
    let by_email = r
        .principals
        .get_by_email(&second.email)
        .await
        .expect("by email")
        .expect("present");
    assert_eq!(by_email, second);
    assert!(by_id.password_hash.is_some());
}

/// A fixed role is applied whatever exists already, and a principal may have no password.
pub async fn principal_fixed_role_and_no_password(r: &Registries) {
    let user = r
        .principals
        .create(NewPrincipal {
            email: sample::email(),
            password_hash: None,
            role: RolePolicy::Fixed(Role::User),
        })
        .await
        .expect("user");
    assert_eq!(user.role, Role::User, "a fixed user role, even as the first principal");
    assert!(user.password_hash.is_none());
    let admin = r
        .principals
        .create(NewPrincipal {
            email: sample::email(),
            password_hash: None,
            role: RolePolicy::Fixed(Role::Admin),
        })
        .await
        .expect("admin");
    assert_eq!(admin.role, Role::Admin);
}

/// A second principal with the same email is a conflict and writes nothing.
pub async fn principal_duplicate_email_conflicts(r: &Registries) {
    let first = r.principals.create(sample::new_principal()).await.expect("first");
    let err = r
        .principals
        .create(NewPrincipal {
            email: first.email.clone(),
            password_hash: None,
            role: RolePolicy::Fixed(Role::Admin),
        })
        .await
        .expect_err("duplicate");
    assert!(
        matches!(err, RegistryError::Conflict(Conflict::EmailTaken(ref e)) if *e == first.email),
        "{err:?}"
    );
    assert_eq!(r.principals.list().await.expect("list").len(), 1);
}

/// Unknown ids and emails return `None`; the list of an empty registry is empty.
pub async fn principal_unknown_lookups_return_none(r: &Registries) {
    assert!(
        r.principals
            .get(&authsome_domain::PrincipalId::generate())
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        r.principals
            .get_by_email(&sample::email())
            .await
            .expect("by email")
            .is_none()
    );
    assert!(r.principals.list().await.expect("list").is_empty());
}

/// The list is ordered by creation time, then id.
pub async fn principal_list_is_ordered_by_creation(r: &Registries) {
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(r.principals.create(sample::new_principal()).await.expect("create"));
    }
    let listed = r.principals.list().await.expect("list");
    let mut expected = created.clone();
    expected.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    assert_eq!(listed, expected);
}

/// Setting a password replaces the hash and moves `updated_at`; unknown principals are `NotFound`.
pub async fn principal_set_password(r: &Registries) {
    let p = r.principals.create(sample::new_principal()).await.expect("create");
    let new_hash = sample::password_hash("bmV3");
    let updated = r.principals.set_password(&p.id, &new_hash).await.expect("set");
    assert_eq!(updated.password_hash.as_ref(), Some(&new_hash));
    assert!(updated.updated_at >= p.updated_at);
    assert_eq!(updated.created_at, p.created_at);
    let stored = r.principals.get(&p.id).await.expect("get").expect("present");
    assert_eq!(stored.password_hash.as_ref(), Some(&new_hash));

    let missing = authsome_domain::PrincipalId::generate();
    let err = r
        .principals
        .set_password(&missing, &new_hash)
        .await
        .expect_err("absent");
    assert!(
        matches!(err, RegistryError::NotFound(Missing::Principal(ref id)) if *id == missing),
        "{err:?}"
    );
}

/// An initial password is set once; a second attempt is a conflict that changes nothing.
pub async fn principal_set_initial_password_only_once(r: &Registries) {
    let p = r
        .principals
        .create(NewPrincipal {
            email: sample::email(),
            password_hash: None,
            role: RolePolicy::FirstPrincipalIsAdmin,
        })
        .await
        .expect("create");
    let first = sample::password_hash("Zmlyc3Q");
    let updated = r
        .principals
        .set_initial_password(&p.id, &first)
        .await
        .expect("first set");
    assert_eq!(updated.password_hash.as_ref(), Some(&first));

    let err = r
        .principals
        .set_initial_password(&p.id, &sample::password_hash("c2Vjb25k"))
        .await
        .expect_err("already set");
    assert!(
        matches!(err, RegistryError::Conflict(Conflict::PasswordAlreadySet(_))),
        "{err:?}"
    );
    let stored = r.principals.get(&p.id).await.expect("get").expect("present");
    assert_eq!(
        stored.password_hash.as_ref(),
        Some(&first),
        "unchanged after the conflict"
    );

    let err = r
        .principals
        .set_initial_password(&authsome_domain::PrincipalId::generate(), &first)
        .await
        .expect_err("absent");
    assert!(matches!(err, RegistryError::NotFound(Missing::Principal(_))), "{err:?}");
}

/// Roles can be changed; unknown principals are `NotFound`.
pub async fn principal_set_role(r: &Registries) {
    let admin = r.principals.create(sample::new_principal()).await.expect("admin");
    let user = r.principals.create(sample::new_principal()).await.expect("user");
    let promoted = r.principals.set_role(&user.id, Role::Admin).await.expect("promote");
    assert_eq!(promoted.role, Role::Admin);
    let demoted = r.principals.set_role(&admin.id, Role::User).await.expect("demote");
    assert_eq!(demoted.role, Role::User);
    assert_eq!(
        r.principals.get(&user.id).await.expect("get").expect("present").role,
        Role::Admin
    );
    let err = r
        .principals
        .set_role(&authsome_domain::PrincipalId::generate(), Role::User)
        .await
        .expect_err("absent");
    assert!(matches!(err, RegistryError::NotFound(Missing::Principal(_))), "{err:?}");
}

/// Twenty first principals created at once: exactly one becomes admin.
pub async fn principal_concurrent_first_principals_make_one_admin(r: &Registries) {
    let created = race(r, 20, |_| {
        let r = r.clone();
        async move { r.principals.create(sample::new_principal()).await }
    })
    .await;
    let mut admins = 0;
    for principal in created {
        if principal.expect("every distinct email is created").role == Role::Admin {
            admins += 1;
        }
    }
    assert_eq!(admins, 1, "exactly one admin");
    let listed = r.principals.list().await.expect("list");
    assert_eq!(listed.len(), 20);
    assert_eq!(listed.iter().filter(|p| p.role == Role::Admin).count(), 1);
}

/// Twenty sign-ups with one email at once: one account, nineteen typed conflicts.
pub async fn principal_concurrent_same_email_has_one_winner(r: &Registries) {
    let email = sample::email();
    let results = race(r, 20, |_| {
        let (r, email) = (r.clone(), email.clone());
        async move {
            r.principals
                .create(NewPrincipal {
                    email,
                    password_hash: None,
                    role: RolePolicy::FirstPrincipalIsAdmin,
                })
                .await
        }
    })
    .await;
    let (mut ok, mut conflicts) = (0, 0);
    for result in results {
        match result {
            Ok(_) => ok += 1,
            Err(RegistryError::Conflict(Conflict::EmailTaken(_))) => conflicts += 1,
            Err(other) => panic!("expected a typed conflict, got {other:?}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 19));
}
