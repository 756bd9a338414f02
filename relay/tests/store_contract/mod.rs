//! The store contract: every test here runs against both backends, SQLite (a file in a
//! temporary folder) and PostgreSQL (a fresh database on the test server, dropped after).
//! `contract!` turns each `async fn(Arc<Store>)` of `accounts.rs` and
//! `challenges.rs` into a `sqlite::<name>` and a `postgres::<name>` test.

mod accounts;
mod bindings;
mod challenges;
use crate::common;
mod cut_off;
mod kinds;
mod maintenance;
mod offline;
mod ops;
pub(crate) mod records;
mod upkeep;

use std::future::Future;
use std::sync::Arc;

use onepush_relay::store::{Store, StoreOptions};

async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Arc<Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("contract.db").display());
    let backend = onepush_relay::store::open(&url, &StoreOptions::default())
        .await
        .unwrap();
    test(Arc::new(backend)).await;
}

async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Arc<Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    common::postgres::with_database(|url| async move {
        let backend = onepush_relay::store::open(&url, &StoreOptions::default())
            .await
            .unwrap();
        test(Arc::new(backend)).await;
    })
    .await;
}

macro_rules! contract {
    ($($module:ident::$test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::on_sqlite(super::$module::$test).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                super::on_postgres(super::$module::$test).await;
            })*
        }
    };
}

contract!(
    accounts::tenants_are_found_by_slug_and_by_key_hash,
    accounts::credential_keeps_its_fields_and_revoking_clears_the_push_subscription,
    accounts::a_totp_step_is_used_once_and_only_forward,
    accounts::a_users_binding_is_replaced_only_once_unregistered_and_listed_with_its_bank,
    accounts::a_proof_jti_is_accepted_once_until_it_expires,
    accounts::audit_events_are_kept_in_order_per_tenant_and_user,
    challenges::a_challenge_keeps_every_field,
    challenges::a_decision_reads_its_signer_and_its_challenge_together,
    challenges::a_new_challenge_s_checks_are_read_together,
    challenges::the_insert_reads_the_gate_and_admits_only_what_it_allows,
    challenges::the_pending_limit_is_checked_by_the_insert_itself,
    challenges::an_idempotency_key_keeps_pointing_at_the_first_challenge,
    challenges::a_challenge_ends_once_and_only_the_winner_queues_its_webhook,
    challenges::concurrent_ends_of_one_challenge_have_exactly_one_winner,
    challenges::pending_and_overdue_challenges_are_listed_in_order,
    challenges::a_claimed_webhook_is_leased_until_its_attempt_is_recorded,
    challenges::concurrent_claims_never_hand_out_one_webhook_twice,
    challenges::push_fatigue_counts_denials_and_expiries_since_the_last_approval,
    challenges::wrong_numbers_are_counted_only_while_pending,
    challenges::a_tenants_push_fatigue_setting_is_kept_and_changed,
    bindings::concurrent_enrollments_of_one_user_admit_one,
    bindings::concurrent_wrong_codes_lock_at_exactly_five,
    bindings::a_stale_write_cannot_reactivate_a_locked_binding,
    bindings::a_binding_leaving_active_ends_its_pending_prompts_with_webhook_and_audit,
    bindings::the_otp_lock_ends_the_pending_prompts_in_its_transaction,
    bindings::a_challenge_is_only_inserted_while_its_binding_is_active,
    bindings::no_challenge_created_during_a_suspend_outlives_it,
    bindings::an_approval_needs_the_binding_active_and_bound_to_the_signer,
    bindings::a_decision_ends_nothing_once_its_signer_is_revoked,
    bindings::enrollment_attempts_lock_a_credential_for_a_while,
    bindings::concurrent_enrollment_attempts_are_counted_exactly,
    kinds::a_credential_and_its_binding_keep_their_kind,
    upkeep::the_first_recorded_cluster_value_is_kept,
    upkeep::concurrent_first_relays_agree_on_one_cluster_value,
    upkeep::only_old_credentials_never_bound_are_swept,
    upkeep::the_sweep_deletes_at_most_its_limit,
    ops::webhooks_are_claimed_per_tenant_oldest_first_within_a_limit,
    ops::a_webhook_secret_is_replaced_and_never_kept_in_clear,
    ops::audit_pages_follow_the_cursor_with_and_without_a_user,
    ops::a_retention_job_is_held_by_one_relay_until_its_lease_runs_out,
    ops::retention_deletes_old_ended_challenges_and_their_keys_in_batches,
    ops::retention_deletes_ended_webhooks_and_keeps_pending_ones,
    ops::retention_deletes_audit_below_a_bound_that_only_moves_forward,
    maintenance::suspensions_are_kept_per_scope_replaced_and_audited,
    maintenance::an_end_by_until_is_deleted_once_and_only_when_due,
    offline::an_offline_challenge_keeps_every_field_and_only_its_tenant_reads_it,
    offline::an_offline_challenge_is_used_once_and_never_after_its_deadline,
    offline::concurrent_uses_of_one_offline_challenge_have_one_winner,
    offline::a_credential_without_an_ocra_key_reads_back_without_one,
);
