//! PostgreSQL picks each statement's index from the statistics of the last `ANALYZE` and
//! keeps a prepared plan until they change. Pending challenges are a small and moving
//! part of `challenges`, so the statistics often say that few or none are pending while
//! many are. The statements that look for a pending challenge (a decision's end, a wrong
//! number, a credential's pending prompts, a user's pending count in a new challenge's
//! insert) must then still find it by key, credential or user, never by scanning every
//! pending challenge: only the deadline sweep reads the pending challenges by deadline.

use crate::common;
use crate::store_contract::records::{NOW, challenge, decision, limit, seeded};

use std::time::Duration;

use onepush_protocol::ChallengeStatus;
use onepush_relay::store::postgres::APPLICATION_NAME;
use onepush_relay::store::{Admission, Store, StoreOptions};
use sqlx::{Connection as _, Executor as _, PgConnection};

/// Challenges of other users than the one the test drives: as many ended as pending.
const OTHERS: i64 = 5_000;

async fn open(url: &str) -> Store {
    onepush_relay::store::open(url, &StoreOptions::default())
        .await
        .unwrap()
}

/// Closes `store` and answers how often its statements read the sweep's index: each
/// connection's counters reach `pg_stat_user_indexes` when it ends.
async fn sweep_index_reads(store: Store, url: &str) -> i64 {
    let Store::Postgres(pg) = store else {
        panic!("a PostgreSQL store")
    };
    pg.close().await;
    let mut conn = PgConnection::connect(url).await.unwrap();
    let mut open = -1_i64;
    for _ in 0..200 {
        open = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1",
        )
        .bind(APPLICATION_NAME)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Counters of a connection still open have not been reported: 0 would mean nothing.
    assert_eq!(open, 0, "the store's connections did not close within 5 s");
    sqlx::query_scalar(
        "SELECT idx_scan FROM pg_stat_user_indexes \
         WHERE indexrelname = 'challenges_pending_by_deadline'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_challenge_is_found_by_key_user_or_credential_whatever_the_statistics_say() {
    common::postgres::with_database(|url| async move {
        let store = open(&url).await;
        let cred = seeded(&store).await;
        // Statistics taken while many challenges had ended and none was pending, then as
        // many pending for other users (UUIDv7-shaped IDs and a valid credential ID, as
        // the relay's).
        let mut admin = PgConnection::connect(&url).await.unwrap();
        let other = onepush_protocol::CredentialId::generate("ONEP").unwrap();
        let others = |first: i64, status: &str, decided_at: &str| {
            format!(
                "INSERT INTO challenges (id, tenant_id, user_id, credential_id, kind, context, \
                 number, nonce, status, created_at, expires_at, decided_at) \
                 SELECT lpad(to_hex(g), 8, '0') || '-0000-7000-8000-000000000000', 'bank', \
                 'user-' || (g % 100), '{other}', 'login', '{{}}', NULL, 'bm9uY2U', '{status}', \
                 {NOW}, {NOW} + 600, {decided_at} \
                 FROM generate_series({first}, {last}) AS g",
                other = other.as_str(),
                last = first + OTHERS - 1,
            )
        };
        let ended = others(1, "denied", &(NOW + 1).to_string());
        admin.execute(sqlx::AssertSqlSafe(ended)).await.unwrap();
        admin.execute("ANALYZE").await.unwrap();
        let pending = others(OTHERS + 1, "pending", "NULL");
        admin.execute(sqlx::AssertSqlSafe(pending)).await.unwrap();

        // More than five times each, so each statement runs on its generic plan too.
        for round in 0..8 {
            let ch = challenge("bank", &cred.id, NOW + 60);
            let admitted = store
                .insert_challenge_audited(&ch, None, None, limit(3))
                .await
                .unwrap();
            assert!(matches!(admitted, Admission::Admitted(_)), "{admitted:?}");
            let pending = store.pending_for_credential(&cred.id).await.unwrap();
            assert_eq!(pending.len(), 1);
            assert_eq!(store.record_number_miss(&ch.id).await.unwrap(), 1);
            let (status, signed) = if round % 2 == 0 {
                (ChallengeStatus::Approved, Some(decision(&cred.id)))
            } else {
                (ChallengeStatus::Denied, None)
            };
            let ended = store
                .finish_challenge(&ch.id, status, NOW + 1, signed.as_ref(), None)
                .await
                .unwrap();
            assert!(ended);
        }
        assert_eq!(
            sweep_index_reads(store, &url).await,
            0,
            "a statement other than the deadline sweep scanned the pending challenges"
        );

        // The sweep itself reads that index (so the count above can tell).
        let store = open(&url).await;
        let overdue = store.overdue_challenges(NOW + 600, 10).await.unwrap();
        assert_eq!(overdue.len(), 10);
        assert!(sweep_index_reads(store, &url).await > 0);
    })
    .await;
}
