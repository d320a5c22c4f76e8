//! Contract cases for [`ProviderDefinitionRepository`](crate::ProviderDefinitionRepository).

use authsome_domain::{ProviderDefinitionDocument, ProviderName};
use serde_json::{Value, json};

use crate::contract::concurrency::race;
use crate::{Conflict, Missing, Registries, RegistryError};

fn definition(name: &str, display: &str) -> ProviderDefinitionDocument {
    let Value::Object(map) = json!({
        "schema_version": 1,
        "name": name,
        "display_name": display,
        "auth_type": "api_key",
        "flow": "api_key",
        "api_key": {"header_name": "Authorization", "header_prefix": "Bearer"},
        "api_url": ["api.example.com"],
    }) else {
        unreachable!("a JSON object literal")
    };
    ProviderDefinitionDocument::new(map).expect("valid definition")
}

/// Definitions are inserted, found, listed by name; a second insert of a name conflicts.
pub async fn provider_insert_get_list_and_conflict(r: &Registries) {
    let zeta = definition("zeta", "Zeta");
    let acme = definition("acme", "Acme");
    r.provider_definitions.insert(&zeta).await.expect("insert zeta");
    r.provider_definitions.insert(&acme).await.expect("insert acme");
    assert_eq!(
        r.provider_definitions
            .get(acme.name())
            .await
            .expect("get")
            .expect("present"),
        acme
    );
    assert_eq!(
        r.provider_definitions.list().await.expect("list"),
        vec![acme.clone(), zeta]
    );

    let err = r
        .provider_definitions
        .insert(&definition("acme", "Changed"))
        .await
        .expect_err("duplicate");
    assert!(
        matches!(err, RegistryError::Conflict(Conflict::ProviderExists(ref n)) if n.as_str() == "acme"),
        "{err:?}"
    );
    assert_eq!(
        r.provider_definitions
            .get(acme.name())
            .await
            .expect("get")
            .expect("present"),
        acme,
        "unchanged"
    );
}

/// Update replaces an existing definition and is `NotFound` for an unknown one; upsert does both.
pub async fn provider_update_and_upsert(r: &Registries) {
    let original = definition("acme", "Acme");
    let err = r.provider_definitions.update(&original).await.expect_err("absent");
    assert!(
        matches!(err, RegistryError::NotFound(Missing::ProviderDefinition(_))),
        "{err:?}"
    );
    assert!(
        r.provider_definitions
            .get(original.name())
            .await
            .expect("get")
            .is_none(),
        "update does not create"
    );

    r.provider_definitions.upsert(&original).await.expect("upsert creates");
    let renamed = definition("acme", "Acme Corp");
    r.provider_definitions.update(&renamed).await.expect("update");
    assert_eq!(
        r.provider_definitions
            .get(original.name())
            .await
            .expect("get")
            .expect("present"),
        renamed
    );
    let again = definition("acme", "Acme Again");
    r.provider_definitions.upsert(&again).await.expect("upsert replaces");
    assert_eq!(
        r.provider_definitions
            .get(original.name())
            .await
            .expect("get")
            .expect("present"),
        again
    );
}

/// Delete reports whether a definition existed; unknown names return `None`.
pub async fn provider_delete_and_absence(r: &Registries) {
    let name = ProviderName::parse("acme").expect("name");
    assert!(r.provider_definitions.get(&name).await.expect("get").is_none());
    assert!(!r.provider_definitions.delete(&name).await.expect("delete absent"));
    r.provider_definitions
        .insert(&definition("acme", "Acme"))
        .await
        .expect("insert");
    assert!(r.provider_definitions.delete(&name).await.expect("delete"));
    assert!(r.provider_definitions.get(&name).await.expect("get").is_none());
    assert!(r.provider_definitions.list().await.expect("list").is_empty());
}

/// Ten concurrent inserts of one name: one succeeds, nine typed conflicts.
pub async fn provider_concurrent_insert_has_one_winner(r: &Registries) {
    let results = race(r, 10, |i| {
        let r = r.clone();
        async move {
            r.provider_definitions
                .insert(&definition("acme", &format!("Acme {i}")))
                .await
        }
    })
    .await;
    let (mut ok, mut conflicts) = (0, 0);
    for result in results {
        match result {
            Ok(()) => ok += 1,
            Err(RegistryError::Conflict(Conflict::ProviderExists(_))) => conflicts += 1,
            Err(other) => panic!("expected a typed conflict, got {other:?}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 9));
}

/// The resolution lookup returns the same ownership as `lookup` and the same definition as
/// `get`, for registered identities only, and sees a definition change at once.
pub async fn ownership_with_custom_provider_matches_the_separate_reads(r: &Registries) {
    use crate::contract::sample;

    let acme = definition("acme", "Acme");
    let (handle, did) = (sample::handle(), sample::did());
    assert!(
        r.ownership
            .lookup_with_custom_provider(&handle, acme.name())
            .await
            .expect("lookup")
            .is_none(),
        "an unknown handle has no answer, whatever the provider"
    );
    sample::claimed_identity(r, &handle, &did).await;
    let separate = r.ownership.lookup(&handle).await.expect("lookup").expect("registered");

    let (ownership, custom) = r
        .ownership
        .lookup_with_custom_provider(&handle, acme.name())
        .await
        .expect("lookup")
        .expect("registered");
    assert_eq!(
        (ownership, custom),
        (separate.clone(), None),
        "no custom definition yet"
    );

    r.provider_definitions.insert(&acme).await.expect("insert");
    r.provider_definitions
        .insert(&definition("zeta", "Zeta"))
        .await
        .expect("insert");
    let (ownership, custom) = r
        .ownership
        .lookup_with_custom_provider(&handle, acme.name())
        .await
        .expect("lookup")
        .expect("registered");
    assert_eq!(ownership, separate);
    assert_eq!(custom, Some(acme.clone()), "the named definition, not another");

    let renamed = definition("acme", "Acme Two");
    r.provider_definitions.update(&renamed).await.expect("update");
    let (_, custom) = r
        .ownership
        .lookup_with_custom_provider(&handle, acme.name())
        .await
        .expect("lookup")
        .expect("registered");
    assert_eq!(custom, Some(renamed), "an update is seen by the next lookup");

    r.provider_definitions.delete(acme.name()).await.expect("delete");
    let (_, custom) = r
        .ownership
        .lookup_with_custom_provider(&handle, acme.name())
        .await
        .expect("lookup")
        .expect("registered");
    assert_eq!(custom, None, "a deletion is seen by the next lookup");
}
