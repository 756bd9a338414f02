//! The LISTEN/NOTIFY notifier: relays on one PostgreSQL database wake each other's
//! long-polls and event streams, and a lost `LISTEN` connection releases its waiters.

use crate::common;
use crate::store_contract::records;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::postgres::with_database;
use futures::StreamExt as _;
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId};
use onepush_relay::notify::postgres::{LISTENER_APPLICATION_NAME, PgNotifier};
use onepush_relay::notify::{ChallengeChange, CredentialStream, Notifier};
use onepush_relay::shutdown::{Trigger, channel};
use onepush_relay::store::{Store, StoreOptions};
use sqlx::{Connection as _, PgConnection};

const PATIENCE: Duration = Duration::from_secs(5);

/// A relay's notifier on `url`; it runs until the trigger is dropped.
async fn notifier(url: &str) -> (PgNotifier, Trigger) {
    let Store::Postgres(store) = onepush_relay::store::open(url, &StoreOptions::default())
        .await
        .unwrap()
    else {
        panic!("a postgres URL opens the PostgreSQL backend");
    };
    let (trigger, shutdown) = channel();
    let notifier = PgNotifier::start(store, shutdown).await.unwrap();
    (notifier, trigger)
}

fn change(
    challenge_id: ChallengeId,
    credential_id: &CredentialId,
    status: ChallengeStatus,
) -> ChallengeChange {
    ChallengeChange {
        challenge_id,
        credential_id: credential_id.clone(),
        status,
        record: None,
    }
}

async fn next(stream: &mut CredentialStream) -> Option<ChallengeChange> {
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("a change in time")
}

fn credential() -> CredentialId {
    CredentialId::generate(CredentialId::DEFAULT_PREFIX).unwrap()
}

#[tokio::test]
async fn a_decision_published_on_one_relay_wakes_a_long_poll_on_another() {
    with_database(|url| async move {
        let (a, _a) = notifier(&url).await;
        let (b, _b) = notifier(&url).await;
        let (id, cid) = (ChallengeId::new(), credential());
        let waiter = b.wait_for(id);
        let started = Instant::now();
        a.publish(change(id, &cid, ChallengeStatus::Approved));
        let woke = tokio::time::timeout(PATIENCE, waiter).await.expect("woken");
        assert_eq!(woke.map(|c| c.status), Some(ChallengeStatus::Approved));
        eprintln!(
            "LISTEN/NOTIFY wake-up across notifiers: {:?}",
            started.elapsed()
        );
        assert_eq!(b.local().waiter_count(), 0);
    })
    .await;
}

#[tokio::test]
async fn each_relays_event_streams_get_a_change_exactly_once() {
    with_database(|url| async move {
        let (a, _a) = notifier(&url).await;
        let (b, _b) = notifier(&url).await;
        let cid = credential();
        let mut on_a = a.subscribe_credential(&cid);
        let mut on_b = b.subscribe_credential(&cid);
        let first = change(ChallengeId::new(), &cid, ChallengeStatus::Pending);
        a.publish(first.clone());
        assert_eq!(next(&mut on_b).await, Some(first.clone()));
        // `first` has been sent (B got it), so a copy echoed back to A would come before
        // a change B publishes now: A must see its own change once, then B's.
        let second = change(ChallengeId::new(), &cid, ChallengeStatus::Denied);
        b.publish(second.clone());
        assert_eq!(next(&mut on_a).await, Some(first));
        assert_eq!(next(&mut on_a).await, Some(second.clone()));
        assert_eq!(next(&mut on_b).await, Some(second));
    })
    .await;
}

#[tokio::test]
async fn a_challenge_made_on_one_relay_is_forgotten_there_once_another_ends_it() {
    with_database(|url| async move {
        let (a, _a) = notifier(&url).await;
        let (b, _b) = notifier(&url).await;
        let cid = credential();
        let ch = Arc::new(records::challenge("bank", &cid, records::NOW + 60));
        a.expect(ch.clone(), records::NOW);
        let waiter = a.wait_for(ch.id);
        assert_eq!(a.known(&ch.id), Some(ch.clone()));
        b.publish(change(ch.id, &cid, ChallengeStatus::Denied));
        // The end heard over LISTEN wakes the waiter, and A forgets it first.
        let woke = tokio::time::timeout(PATIENCE, waiter).await.expect("woken");
        assert_eq!(woke.map(|c| c.status), Some(ChallengeStatus::Denied));
        assert_eq!(a.known(&ch.id), None);
    })
    .await;
}

#[tokio::test]
async fn a_lost_listen_connection_releases_waiters_and_ends_streams_then_listens_again() {
    with_database(|url| async move {
        let (a, _a) = notifier(&url).await;
        let (b, _b) = notifier(&url).await;
        let (id, cid) = (ChallengeId::new(), credential());
        let waiter = b.wait_for(id);
        let mut stream = b.subscribe_credential(&cid);
        let made_on_b = Arc::new(records::challenge("bank", &cid, records::NOW + 60));
        b.expect(made_on_b.clone(), records::NOW);
        let mut admin = PgConnection::connect(&url).await.unwrap();
        let killed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND datname = current_database()) AS t",
        )
        .bind(LISTENER_APPLICATION_NAME)
        .fetch_one(&mut admin)
        .await
        .unwrap();
        assert_eq!(killed, 2, "both relays' listeners");
        // The waiter is released (to read the store again), the stream ends (to reconnect).
        let released = tokio::time::timeout(PATIENCE, waiter)
            .await
            .expect("released");
        assert_eq!(released, None);
        let ended = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .expect("ended");
        assert_eq!(ended, None);
        // An end may have gone unheard: nothing is known any more.
        assert_eq!(b.known(&made_on_b.id), None);
        assert!(b.resyncs() >= 1);
        // And B listens again: a change from A still reaches it.
        let later = ChallengeId::new();
        let waiter = b.wait_for(later);
        a.publish(change(later, &cid, ChallengeStatus::Denied));
        let woke = tokio::time::timeout(PATIENCE, waiter).await.expect("woken");
        assert_eq!(woke.map(|c| c.status), Some(ChallengeStatus::Denied));
    })
    .await;
}
