//! PostgreSQL only: a store method cut off half-way (its request went away) leaves
//! nothing open behind it. Its pooled connection is closed at once rather than given back
//! with a transaction open, so the rows it locked are free again at once and the next
//! method gets a clean connection. (On SQLite a method is one writer job that runs to its
//! end: nothing to cut.)

use crate::common;

use std::time::Duration;

use onepush_relay::store::{Admission, StoreOptions};
use sqlx::{Connection as _, Executor as _, PgConnection};

use super::records::{NOW, challenge, seeded};

const ALICES_BINDING: &str =
    "SELECT state FROM bindings WHERE tenant_id = 'bank' AND user_id = 'alice' FOR UPDATE";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_cut_off_mid_transaction_leaves_no_lock_and_no_row_behind() {
    common::postgres::with_database(|url| async move {
        let store = onepush_relay::store::open(&url, &StoreOptions::default())
            .await
            .unwrap()
            .store();
        let cred = seeded(store.as_ref()).await;
        let expires = NOW + 300;

        // Another session holds alice's binding, so the challenge insert (a transaction
        // that locks it first) waits inside its transaction, and is cut off there.
        let mut holder = PgConnection::connect(&url).await.unwrap();
        holder.execute("BEGIN").await.unwrap();
        holder.execute(ALICES_BINDING).await.unwrap();
        let first = challenge("bank", &cred.id, expires);
        let cut = tokio::time::timeout(
            Duration::from_millis(300),
            store.insert_challenge_audited(&first, None, None, Some(5)),
        )
        .await;
        assert!(cut.is_err(), "the insert waited for the lock: {cut:?}");
        holder.execute("COMMIT").await.unwrap();

        // The cut-off method's transaction got the lock once the holder let go; it must
        // not keep it (as a connection given back to the pool mid-transaction would).
        let mut next = PgConnection::connect(&url).await.unwrap();
        next.execute("SET lock_timeout = '3s'").await.unwrap();
        next.execute("BEGIN").await.unwrap();
        next.execute(ALICES_BINDING)
            .await
            .expect("the binding is free again");
        next.execute("COMMIT").await.unwrap();

        // It made no challenge, and the store goes on working on a clean connection.
        assert!(store.challenge(&first.id).await.is_err());
        let second = challenge("bank", &cred.id, expires);
        assert!(matches!(
            store
                .insert_challenge_audited(&second, None, None, Some(5))
                .await
                .unwrap(),
            Admission::Admitted
        ));
        assert_eq!(store.challenge(&second.id).await.unwrap().id, second.id);
    })
    .await;
}
