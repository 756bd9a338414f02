//! PostgreSQL only: a store method cut off half-way through its transaction (its request
//! went away) leaves nothing open behind it. Its pooled connection is closed at once
//! rather than given back with the transaction open, so the transaction is rolled back,
//! the rows it locked are free again at once, and the next method gets a clean
//! connection. (On SQLite a method is one writer job that runs to its end: nothing to cut.)

use crate::common;

use std::time::Duration;

use onepush_protocol::ChallengeStatus;
use onepush_protocol::api::BindingState;
use onepush_relay::store::{Admission, Admit, StoreOptions};
use sqlx::{Connection as _, Executor as _, PgConnection};

use super::bindings::{lock, no_prompts};
use super::records::{NOW, binding, challenge, seeded};

const ALICES_BINDING: &str =
    "SELECT state FROM bindings WHERE tenant_id = 'bank' AND user_id = 'alice' FOR UPDATE";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_cut_off_mid_transaction_leaves_no_lock_and_no_change_behind() {
    common::postgres::with_database(|url| async move {
        let store = onepush_relay::store::open(&url, &StoreOptions::default())
            .await
            .unwrap();
        let cred = seeded(&store).await;
        let alice = binding("bank", "alice", &cred.id);
        let prompt = challenge("bank", &cred.id, NOW + 300);
        let admitted = store
            .insert_challenge_audited(&prompt, None, None, Admit::default())
            .await
            .unwrap();
        assert!(matches!(admitted, Admission::Admitted(_)));

        // Another session holds alice's prompt, so locking alice (a transaction: the
        // binding changed and locked first, then her prompts ended) waits inside its
        // transaction, holding her binding, and is cut off there.
        let mut holder = PgConnection::connect(&url).await.unwrap();
        holder.execute("BEGIN").await.unwrap();
        sqlx::query("SELECT 1 FROM challenges WHERE id = $1 FOR UPDATE")
            .bind(prompt.id.to_string())
            .execute(&mut holder)
            .await
            .unwrap();
        let cut = tokio::time::timeout(
            Duration::from_millis(300),
            store.change_binding(&lock(&alice, "not_me"), NOW, &no_prompts()),
        )
        .await;
        assert!(cut.is_err(), "the change waited for the prompt: {cut:?}");
        holder.execute("COMMIT").await.unwrap();

        // Its transaction must not keep alice's binding (as a connection given back to the
        // pool mid-transaction would, until it was next taken).
        let mut next = PgConnection::connect(&url).await.unwrap();
        next.execute("SET lock_timeout = '3s'").await.unwrap();
        next.execute("BEGIN").await.unwrap();
        next.execute(ALICES_BINDING)
            .await
            .expect("alice's binding is free again");
        next.execute("COMMIT").await.unwrap();

        // It was rolled back: alice is still active, her prompt still pending.
        let now = store
            .binding(&alice.tenant_id, &alice.user_id)
            .await
            .unwrap();
        assert_eq!(now.state, BindingState::Active);
        let pending = store.challenge(&prompt.id).await.unwrap();
        assert_eq!(pending.status, ChallengeStatus::Pending);

        // And the store goes on working, on a clean connection.
        let changed = store
            .change_binding(&lock(&alice, "not_me"), NOW, &no_prompts())
            .await
            .unwrap()
            .expect("alice was active");
        assert_eq!(changed.binding.state, BindingState::Locked);
        assert_eq!(changed.ended.len(), 1);
    })
    .await;
}
