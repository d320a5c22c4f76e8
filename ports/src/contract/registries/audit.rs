//! Contract cases for [`AuditEventLog`](crate::AuditEventLog) and
//! [`DatabaseHealth`](crate::DatabaseHealth).

use authsome_domain::{AuditEvent, AuditEventId, AuditQuery, AuditSource, IdentityHandle, PrincipalId, Timestamp};
use serde_json::Value;

use crate::Registries;

fn event_at(seconds: i64, micros_tag: &str) -> AuditEvent {
    let mut event = AuditEvent::new("identity.created");
    let base = Timestamp::from_unix_seconds(1_800_000_000 + seconds).expect("in range");
    event.timestamp = if micros_tag.is_empty() {
        base
    } else {
        Timestamp::parse(&format!("{}.{micros_tag}Z", base.to_json_form().trim_end_matches('Z'))).expect("ts")
    };
    event
}

fn ids(entries: &[serde_json::Map<String, Value>]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["event_id"].as_str().expect("event_id").to_owned())
        .collect()
}

/// Appended events come back newest first, as flattened payloads.
pub async fn audit_append_then_query_newest_first(r: &Registries) {
    let mut old = event_at(0, "");
    old.metadata.insert("host".to_owned(), Value::from("example.com"));
    old.source = AuditSource::External;
    old.status = Some("success".to_owned());
    // A whole-second timestamp right before a fractional one: text order must still be time order.
    let newer = event_at(1, "");
    let newest = event_at(1, "5");
    r.audit
        .append(&[old.clone(), newest.clone(), newer.clone()])
        .await
        .expect("append");

    let page = r.audit.query(&AuditQuery::new(50)).await.expect("query");
    assert_eq!(
        ids(&page.entries),
        vec![newest.event_id.as_str(), newer.event_id.as_str(), old.event_id.as_str()]
    );
    assert!(page.next_cursor.is_none());
    let stored_old = &page.entries[2];
    assert_eq!(stored_old, &old.flattened_payload());
    assert_eq!(stored_old["host"], "example.com");
    assert_eq!(stored_old["source"], "external");
    assert_eq!(stored_old["timestamp"], old.timestamp.to_json_form());
}

/// Appending an event id twice stores it once (the first version wins).
pub async fn audit_append_is_idempotent(r: &Registries) {
    let event = event_at(0, "");
    r.audit.append(std::slice::from_ref(&event)).await.expect("append");
    let mut changed = event.clone();
    changed.event = "something.else".to_owned();
    r.audit.append(&[changed]).await.expect("append again");
    r.audit.append(&[]).await.expect("empty append");
    let page = r.audit.query(&AuditQuery::new(50)).await.expect("query");
    assert_eq!(page.entries.len(), 1);
    assert_eq!(page.entries[0]["event"], "identity.created");
}

/// Queries filter by provider and by event kind, alone and together with the principal.
pub async fn audit_query_filters_by_provider_and_event(r: &Registries) {
    let alice = PrincipalId::generate();
    let mut events = Vec::new();
    for (i, (kind, provider)) in [
        ("credential.resolved", Some("github")),
        ("credential.resolved", Some("openai")),
        ("connection.created", Some("github")),
        ("identity.claimed", None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = event_at(i as i64, "");
        e.event = kind.to_owned();
        e.provider = provider.map(str::to_owned);
        e.principal_id = Some(alice.clone());
        events.push(e);
    }
    r.audit.append(&events).await.expect("append");

    let mut github = AuditQuery::new(50);
    github.provider = Some("github".to_owned());
    assert_eq!(
        ids(&r.audit.query(&github).await.expect("github").entries),
        vec![events[2].event_id.as_str(), events[0].event_id.as_str()]
    );
    let mut resolves = AuditQuery::new(50);
    resolves.event = Some("credential.resolved".to_owned());
    assert_eq!(
        ids(&r.audit.query(&resolves).await.expect("resolves").entries),
        vec![events[1].event_id.as_str(), events[0].event_id.as_str()]
    );
    let mut github_resolves = resolves.clone();
    github_resolves.provider = Some("github".to_owned());
    github_resolves.principal_id = Some(alice);
    assert_eq!(
        ids(&r.audit.query(&github_resolves).await.expect("both").entries),
        vec![events[0].event_id.as_str()]
    );
    let mut unknown = AuditQuery::new(50);
    unknown.event = Some("no.such.event".to_owned());
    assert!(r.audit.query(&unknown).await.expect("unknown").entries.is_empty());
}

/// Queries filter by principal and by identity.
pub async fn audit_query_filters_by_principal_and_identity(r: &Registries) {
    let alice = PrincipalId::generate();
    let bob = PrincipalId::generate();
    let agent = IdentityHandle::parse("agent-one").expect("handle");
    let mut events = Vec::new();
    for (i, (principal, identity)) in [
        (Some(&alice), Some(&agent)),
        (Some(&alice), None),
        (Some(&bob), Some(&agent)),
        (None, None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = event_at(i as i64, "");
        e.principal_id = principal.cloned();
        e.identity = identity.cloned();
        events.push(e);
    }
    r.audit.append(&events).await.expect("append");

    let mut by_alice = AuditQuery::new(50);
    by_alice.principal_id = Some(alice.clone());
    assert_eq!(
        ids(&r.audit.query(&by_alice).await.expect("alice").entries),
        vec![events[1].event_id.as_str(), events[0].event_id.as_str()]
    );
    let mut by_agent = AuditQuery::new(50);
    by_agent.identity = Some(agent.as_str().to_owned());
    assert_eq!(
        ids(&r.audit.query(&by_agent).await.expect("agent").entries),
        vec![events[2].event_id.as_str(), events[0].event_id.as_str()]
    );
    let mut both = by_agent.clone();
    both.principal_id = Some(bob);
    assert_eq!(
        ids(&r.audit.query(&both).await.expect("both").entries),
        vec![events[2].event_id.as_str()]
    );
    let mut nobody = AuditQuery::new(50);
    nobody.principal_id = Some(PrincipalId::generate());
    assert!(r.audit.query(&nobody).await.expect("nobody").entries.is_empty());
}

/// Walking pages with the cursor returns every event once, in order, ties broken by id.
pub async fn audit_cursor_walks_every_event_once(r: &Registries) {
    let mut events = Vec::new();
    for i in 0..7 {
        // Pairs of events share a timestamp, so the id must break the tie.
        let mut e = event_at(i / 2, "");
        e.event_id = AuditEventId::parse(&format!("audit_{i:032x}")).expect("id");
        events.push(e);
    }
    r.audit.append(&events).await.expect("append");

    let mut expected: Vec<_> = events
        .iter()
        .map(|e| (e.timestamp, e.event_id.as_str().to_owned()))
        .collect();
    expected.sort();
    expected.reverse();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    let mut walked = Vec::new();
    let mut query = AuditQuery::new(3);
    let mut pages = 0;
    loop {
        let page = r.audit.query(&query).await.expect("page");
        assert!(page.entries.len() <= 3);
        walked.extend(ids(&page.entries));
        pages += 1;
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
        assert!(pages < 10, "paging must end");
    }
    assert_eq!(walked, expected);
    assert_eq!(pages, 3);
}

/// An exactly full last page has no cursor; an empty log gives an empty page.
pub async fn audit_page_boundaries(r: &Registries) {
    let empty = r.audit.query(&AuditQuery::new(10)).await.expect("empty");
    assert!(empty.entries.is_empty());
    assert!(empty.next_cursor.is_none());
    let events: Vec<_> = (0..4).map(|i| event_at(i, "")).collect();
    r.audit.append(&events).await.expect("append");
    let full = r.audit.query(&AuditQuery::new(4)).await.expect("full");
    assert_eq!(full.entries.len(), 4);
    assert!(full.next_cursor.is_none(), "no cursor when nothing follows");
    let one = r.audit.query(&AuditQuery::new(1)).await.expect("one");
    assert_eq!(one.entries.len(), 1);
    assert!(one.next_cursor.is_some());
}

/// The database answers a ping and names its backend.
pub async fn health_ping_answers(r: &Registries) {
    r.health.ping().await.expect("ping");
    assert!(["sqlite", "postgres"].contains(&r.health.backend_name()));
}
