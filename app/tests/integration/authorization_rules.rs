//! The services' authorization and redaction rules, tested at the service seam (the services
//! over SQLite and the memory vault, no HTTP): whose vault a request may act on, who sees a
//! connection's secret values, who may log out of another's connection, who sees an agent,
//! the accounts and the walks over every vault.

use std::collections::HashSet;

use crate::support;

use authsome_domain::{BrowserSessionToken, ConnectionName, ProviderName};
use authsome_services::ServiceError;
use authsome_services::audit::{self, AuditRequest, AuditVisibility};
use authsome_services::connections::{self, VaultTarget};
use authsome_services::ownership::{self, Caller};
use authsome_services::{accounts, credentials, identities};
use support::{Browser, Daemon};

const KEY: &str = "sk-proj-abcdefghijklmnopqrstuvwxyz012345";

fn openai() -> ProviderName {
    ProviderName::parse("openai").expect("valid name")
}

fn default_connection() -> ConnectionName {
    ConnectionName::parse(ConnectionName::DEFAULT).expect("valid name")
}

/// The caller behind `browser`'s session.
async fn caller_of(daemon: &Daemon, browser: &Browser) -> Caller {
    let token = BrowserSessionToken::from_cookie(browser.cookie("authsome_ui_session").expect("signed in"));
    let session = daemon
        .state
        .runtime
        .browser_sessions
        .get(&token)
        .await
        .expect("session store")
        .expect("live session");
    ownership::caller_from_browser_session(&daemon.state, &session)
        .await
        .expect("ownership")
        .expect("caller")
}

/// An admin (the first person) and a user, the user with an OpenAI key stored.
async fn admin_and_user(daemon: &Daemon) -> (Caller, Caller) {
    let (_, admin_browser) = daemon.claimed_agent("rules-admin", "rules-admin@example.com").await;
    let (user_agent, user_browser) = daemon.claimed_agent("rules-user", "rules-user@example.com").await;
    user_agent.store_openai_key(daemon, "default", KEY).await;
    let admin = caller_of(daemon, &admin_browser).await;
    let user = caller_of(daemon, &user_browser).await;
    assert!(admin.is_admin() && !user.is_admin());
    (admin, user)
}

#[tokio::test]
async fn only_an_admin_may_act_on_another_principals_vault() {
    let daemon = Daemon::start().await;
    let (admin, user) = admin_and_user(&daemon).await;
    let state = &daemon.state;

    let own = connections::target_vault(state, &user, None).await.expect("own vault");
    assert_eq!(own, VaultTarget::own(&user));
    let named_self = connections::target_vault(state, &user, Some(user.principal_id.as_str()))
        .await
        .expect("own vault by name");
    assert_eq!(named_self, VaultTarget::own(&user));

    let refused = connections::target_vault(state, &user, Some(admin.principal_id.as_str())).await;
    assert!(matches!(refused, Err(ServiceError::Forbidden(_))), "{refused:?}");

    let other = connections::target_vault(state, &admin, Some(user.principal_id.as_str()))
        .await
        .expect("an admin acts on the user's vault");
    assert_eq!(other, VaultTarget::own(&user));
    assert!(!other.is_owned_by(&admin));

    for unknown in ["principal_does_not_exist", "not even an id"] {
        let missing = connections::target_vault(state, &admin, Some(unknown)).await;
        assert!(
            matches!(missing, Err(ServiceError::NotFound(_))),
            "{unknown}: {missing:?}"
        );
    }
}

#[tokio::test]
async fn secret_values_are_shown_to_their_owner_only() {
    let daemon = Daemon::start().await;
    let (admin, user) = admin_and_user(&daemon).await;
    let state = &daemon.state;

    let mine = connections::connection_detail(state, &user, &openai(), &default_connection(), None)
        .await
        .expect("the owner's view");
    assert_eq!(mine.record.api_key.as_deref(), Some(KEY));
    assert!(!mine.secrets_redacted && mine.can_set_default && !mine.can_set_global);

    let theirs = connections::connection_detail(
        state,
        &admin,
        &openai(),
        &default_connection(),
        Some(user.principal_id.as_str()),
    )
    .await
    .expect("the admin's view");
    assert_eq!(theirs.record.api_key, None);
    assert_eq!(
        (
            theirs.record.access_token.as_ref(),
            theirs.record.refresh_token.as_ref(),
            theirs.record.credentials.as_ref()
        ),
        (None, None, None)
    );
    assert!(theirs.secrets_redacted && !theirs.can_set_default && !theirs.can_set_global);
    assert_eq!(theirs.record.connection_name, "default");
    assert!(
        !format!("{theirs:?}").contains(KEY),
        "no secret in the view's Debug either"
    );

    let snooping = connections::connection_detail(
        state,
        &user,
        &openai(),
        &default_connection(),
        Some(admin.principal_id.as_str()),
    )
    .await;
    assert!(matches!(snooping, Err(ServiceError::Forbidden(_))), "{snooping:?}");
}

#[tokio::test]
async fn logging_out_of_another_principals_connection_needs_an_admin() {
    let daemon = Daemon::start().await;
    let (admin, user) = admin_and_user(&daemon).await;
    let state = &daemon.state;

    let refused = connections::logout(
        state,
        &user,
        &openai(),
        &default_connection(),
        Some(admin.principal_id.as_str()),
    )
    .await;
    assert!(matches!(refused, Err(ServiceError::Forbidden(_))), "{refused:?}");

    connections::logout(
        state,
        &admin,
        &openai(),
        &default_connection(),
        Some(user.principal_id.as_str()),
    )
    .await
    .expect("an admin logs the user out");
    let gone = connections::connection_detail(state, &user, &openai(), &default_connection(), None).await;
    assert!(matches!(gone, Err(ServiceError::Authsome(_))), "{gone:?}");
    // A connection that is not there: not an error.
    connections::logout(state, &user, &openai(), &default_connection(), None)
        .await
        .expect("logging out twice");
}

#[tokio::test]
async fn an_agent_is_seen_by_its_owner_and_admins_only() {
    let daemon = Daemon::start().await;
    let (admin, user) = admin_and_user(&daemon).await;
    let state = &daemon.state;

    let own = identities::agent_detail(state, &user, "rules-user")
        .await
        .expect("the owner sees it");
    assert_eq!(own.registration.handle.as_str(), "rules-user");
    assert_eq!(
        own.principal_email.as_ref().map(|e| e.as_str()),
        Some("rules-user@example.com")
    );
    let by_admin = identities::agent_detail(state, &admin, "rules-user")
        .await
        .expect("an admin sees it");
    assert_eq!(by_admin.registration.did, own.registration.did);

    // Someone else's agent, an unknown one and an invalid handle get the same answer.
    for handle in ["rules-admin", "nobody-here", "Not A Handle!"] {
        let hidden = identities::agent_detail(state, &user, handle).await;
        assert!(
            matches!(&hidden, Err(ServiceError::NotFound(message)) if message == "Identity not found"),
            "{handle}: {hidden:?}"
        );
    }
}

#[tokio::test]
async fn accounts_and_the_walks_over_every_vault_are_for_admins() {
    let daemon = Daemon::start().await;
    let (admin, user) = admin_and_user(&daemon).await;
    let state = &daemon.state;

    let refused = accounts::list_principals(state, &user).await;
    assert!(matches!(refused, Err(ServiceError::Forbidden(_))), "{refused:?}");
    let listed = accounts::list_principals(state, &admin)
        .await
        .expect("an admin lists accounts");
    assert_eq!(listed.len(), 2);

    let own = credentials::list_connections(&VaultTarget::own(&admin).scope(state, &admin))
        .await
        .expect("the admin's connections");
    let counts = connections::connection_counts_by_provider(state, &admin, &own)
        .await
        .expect("counts");
    assert_eq!(counts.get("openai"), Some(&1), "the user's key is counted: {counts:?}");
    let hidden = connections::connection_counts_by_provider(state, &user, &own)
        .await
        .expect("counts");
    assert!(hidden.is_empty(), "{hidden:?}");

    let usage = connections::provider_usage(state, &admin, &openai())
        .await
        .expect("usage");
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].principal.id, user.principal_id);
    assert!(
        connections::provider_usage(state, &user, &openai())
            .await
            .expect("usage")
            .is_empty()
    );
}

#[tokio::test]
async fn the_audit_log_shows_an_admin_everything_and_a_user_their_own() {
    let daemon = Daemon::start().await;
    let (admin, user) = admin_and_user(&daemon).await;
    let state = &daemon.state;
    let everything = |limit| AuditRequest {
        limit,
        ..AuditRequest::default()
    };

    let all = audit::events_for(state, &admin, everything(500))
        .await
        .expect("admin's listing");
    assert_eq!(all.visibility, AuditVisibility::Everyone);
    let principals: HashSet<_> = all
        .page
        .entries
        .iter()
        .filter_map(|e| e.get("principal_id").and_then(|p| p.as_str()))
        .collect();
    assert!(principals.contains(user.principal_id.as_str()), "{principals:?}");
    assert!(principals.contains(admin.principal_id.as_str()), "{principals:?}");

    let own = audit::events_for(state, &user, everything(500))
        .await
        .expect("user's listing");
    assert_eq!(own.visibility, AuditVisibility::OwnPrincipal);
    assert!(!own.page.entries.is_empty());
    assert!(
        own.page
            .entries
            .iter()
            .all(|e| e.get("principal_id").and_then(|p| p.as_str()) == Some(user.principal_id.as_str())),
        "a user sees only their own principal's events"
    );

    // An identity filter: the user's own agent is fine; the admin's, an unknown one or an
    // invalid handle are all refused alike.
    let mine = audit::events_for(
        state,
        &user,
        AuditRequest {
            identity: Some("rules-user".to_owned()),
            ..everything(50)
        },
    )
    .await
    .expect("own identity");
    assert!(
        mine.page
            .entries
            .iter()
            .all(|e| e.get("identity").and_then(|i| i.as_str()) == Some("rules-user"))
    );
    for other in ["rules-admin", "nobody-has-this", "not a handle"] {
        let refused = audit::events_for(
            state,
            &user,
            AuditRequest {
                identity: Some(other.to_owned()),
                ..everything(50)
            },
        )
        .await;
        assert!(
            matches!(refused, Err(ServiceError::Forbidden(_))),
            "{other}: {refused:?}"
        );
    }
    let admin_filter = audit::events_for(
        state,
        &admin,
        AuditRequest {
            identity: Some("rules-user".to_owned()),
            ..everything(50)
        },
    )
    .await
    .expect("an admin filters by anyone's identity");
    assert!(!admin_filter.page.entries.is_empty());

    // Paging: one event per page walks the same events in the same order.
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = audit::events_for(
            state,
            &user,
            AuditRequest {
                limit: 1,
                after,
                ..AuditRequest::default()
            },
        )
        .await
        .expect("page");
        walked.extend(page.page.entries.iter().filter_map(|e| e.get("event_id").cloned()));
        match page.page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    let listed: Vec<_> = own
        .page
        .entries
        .iter()
        .filter_map(|e| e.get("event_id").cloned())
        .collect();
    assert_eq!(walked, listed);
}
