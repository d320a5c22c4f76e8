//! The registry contract suite: every case every relational adapter must pass.

mod audit;
mod claims;
mod global_connections;
mod identities;
mod principals;
mod provider_definitions;
mod server_config;
mod vaults;

pub use audit::*;
pub use claims::*;
pub use global_connections::*;
pub use identities::*;
pub use principals::*;
pub use provider_definitions::*;
pub use server_config::*;
pub use vaults::*;

use crate::Registries;

/// A fresh, isolated backend for one contract case; dropping it cleans the backend up.
pub trait RegistryFixture {
    /// The registry ports of this backend.
    fn registries(&self) -> Registries;
}

/// Expands to one `#[tokio::test]` per registry contract case.
///
/// `$fixture` is an async function (or path to one) returning a [`RegistryFixture`]; it is
/// called once per case, so each case runs on its own fresh backend.
#[macro_export]
macro_rules! registry_contract_tests {
    ($fixture:path) => {
        $crate::registry_contract_tests!(@cases $fixture;
            identity_register_then_find_by_handle_and_did,
            identity_register_same_pair_is_idempotent,
            identity_register_conflicts_on_taken_handle,
            identity_register_conflicts_on_taken_did,
            identity_unknown_lookups_return_none,
            identity_concurrent_registration_has_one_winner,
            identity_concurrent_idempotent_registration_all_succeed,
            identity_ownership_lookup_follows_the_claim,
            principal_first_is_admin_then_users,
            principal_fixed_role_and_no_password,
            principal_duplicate_email_conflicts,
            principal_unknown_lookups_return_none,
            principal_list_is_ordered_by_creation,
            principal_set_password,
            principal_set_initial_password_only_once,
            principal_set_role,
            principal_concurrent_first_principals_make_one_admin,
            principal_concurrent_same_email_has_one_winner,
            vault_create_get_and_list,
            vault_unknown_returns_none,
            binding_bind_default_is_idempotent_then_conflicts,
            binding_bind_default_with_missing_rows,
            binding_absent_default_is_none,
            binding_ensure_default_vault_creates_once,
            binding_ensure_default_vault_keeps_existing_binding,
            binding_ensure_default_vault_for_missing_principal_leaves_nothing,
            binding_concurrent_ensure_default_vault_gives_one_vault,
            claim_pending_then_accepted_and_listed,
            claim_is_idempotent_and_exclusive,
            claim_missing_rows,
            claim_reject,
            claim_accepted_inserts_upgrades_and_refuses,
            claim_accepted_concurrent_race_has_one_owner,
            global_upsert_get_list_and_repoint,
            global_delete_reports_presence,
            global_delete_if_target_is_conditional,
            global_upsert_with_missing_owner,
            server_config_defaults_then_saves,
            server_config_concurrent_first_load,
            server_config_concurrent_updates_keep_every_change,
            provider_insert_get_list_and_conflict,
            provider_update_and_upsert,
            provider_delete_and_absence,
            provider_concurrent_insert_has_one_winner,
            ownership_with_custom_provider_matches_the_separate_reads,
            audit_append_then_query_newest_first,
            audit_append_is_idempotent,
            audit_query_filters_by_principal_and_identity,
            audit_query_filters_by_provider_and_event,
            audit_cursor_walks_every_event_once,
            audit_page_boundaries,
            health_ping_answers,
        );
    };
    (@cases $fixture:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture().await;
                let registries = $crate::contract::registries::RegistryFixture::registries(&fixture);
                $crate::contract::registries::$case(&registries).await;
            }
        )*
    };
}
