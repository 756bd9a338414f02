//! Tests of the in-process notifier: wake-ups, clean-up, event streams, scale.

use super::*;
use futures::{FutureExt as _, StreamExt as _};

fn credential() -> CredentialId {
    CredentialId::generate(CredentialId::DEFAULT_PREFIX).unwrap()
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

#[tokio::test]
async fn waiter_created_before_the_decision_wakes_with_it() {
    let notifier = InProcessNotifier::new();
    let (id, cid) = (ChallengeId::new(), credential());
    let waiter = notifier.wait_for(id);
    notifier.publish(change(id, &cid, ChallengeStatus::Approved));
    assert_eq!(
        waiter.await.map(|c| c.status),
        Some(ChallengeStatus::Approved)
    );
    assert_eq!(notifier.waiter_count(), 0);
}

#[test]
fn waiter_created_after_a_change_does_not_see_it() {
    let notifier = InProcessNotifier::new();
    let (id, cid) = (ChallengeId::new(), credential());
    notifier.publish(change(id, &cid, ChallengeStatus::Denied));
    let mut late = notifier.wait_for(id);
    assert_eq!((&mut late).now_or_never(), None);
    notifier.publish(change(id, &cid, ChallengeStatus::Expired));
    assert_eq!(
        late.now_or_never().map(|c| c.map(|c| c.status)),
        Some(Some(ChallengeStatus::Expired))
    );
}

#[test]
fn new_challenge_does_not_end_a_long_poll() {
    let notifier = InProcessNotifier::new();
    let (id, cid) = (ChallengeId::new(), credential());
    let mut waiter = notifier.wait_for(id);
    notifier.publish(change(id, &cid, ChallengeStatus::Pending));
    assert_eq!((&mut waiter).now_or_never(), None);
}

#[test]
fn every_waiter_of_a_challenge_wakes_and_others_keep_waiting() {
    let notifier = InProcessNotifier::new();
    let (id, other, cid) = (ChallengeId::new(), ChallengeId::new(), credential());
    let waiters: Vec<_> = (0..3).map(|_| notifier.wait_for(id)).collect();
    let mut unrelated = notifier.wait_for(other);
    notifier.publish(change(id, &cid, ChallengeStatus::Cancelled));
    for waiter in waiters {
        assert_eq!(
            waiter.now_or_never().map(|c| c.map(|c| c.status)),
            Some(Some(ChallengeStatus::Cancelled))
        );
    }
    assert_eq!((&mut unrelated).now_or_never(), None);
    assert_eq!(notifier.waiter_count(), 1);
}

#[test]
fn dropped_waiters_leave_nothing_behind() {
    let notifier = InProcessNotifier::new();
    let id = ChallengeId::new();
    let waiters: Vec<_> = (0..3)
        .map(|_| notifier.wait_for(id))
        .chain([notifier.wait_for(ChallengeId::new())])
        .collect();
    assert_eq!(
        (notifier.waiter_count(), notifier.hub.waiters.keys()),
        (4, 2)
    );
    drop(waiters);
    assert_eq!(
        (notifier.waiter_count(), notifier.hub.waiters.keys()),
        (0, 0)
    );
}

#[test]
fn released_waiters_wake_without_a_status() {
    let notifier = InProcessNotifier::new();
    let waiter = notifier.wait_for(ChallengeId::new());
    notifier.release_all_waiters();
    assert_eq!(waiter.now_or_never(), Some(None));
    assert_eq!(notifier.waiter_count(), 0);
}

#[test]
fn event_stream_gets_only_its_credentials_changes() {
    let notifier = InProcessNotifier::new();
    let (mine, theirs) = (credential(), credential());
    let mut stream = notifier.subscribe_credential(&mine);
    let mut other_stream = notifier.subscribe_credential(&theirs);
    let (a, b) = (ChallengeId::new(), ChallengeId::new());
    notifier.publish(change(a, &mine, ChallengeStatus::Pending));
    notifier.publish(change(b, &theirs, ChallengeStatus::Pending));
    notifier.publish(change(a, &mine, ChallengeStatus::Approved));
    let next = |s: &mut CredentialStream| s.next().now_or_never().flatten();
    assert_eq!(
        next(&mut stream),
        Some(change(a, &mine, ChallengeStatus::Pending))
    );
    assert_eq!(
        next(&mut stream),
        Some(change(a, &mine, ChallengeStatus::Approved))
    );
    assert_eq!(
        stream.next().now_or_never(),
        None,
        "nothing more, still open"
    );
    assert_eq!(
        next(&mut other_stream),
        Some(change(b, &theirs, ChallengeStatus::Pending))
    );
}

#[test]
fn connected_while_any_stream_of_the_credential_is_open() {
    let notifier = InProcessNotifier::new();
    let cid = credential();
    assert!(!notifier.is_connected(&cid));
    let first = notifier.subscribe_credential(&cid);
    let second = notifier.subscribe_credential(&cid);
    assert!(notifier.is_connected(&cid));
    drop(first);
    assert!(notifier.is_connected(&cid));
    drop(second);
    assert!(!notifier.is_connected(&cid));
    assert_eq!(
        (notifier.subscriber_count(), notifier.hub.subscribers.keys()),
        (0, 0)
    );
}

#[test]
fn stream_that_falls_behind_is_disconnected() {
    let notifier = InProcessNotifier::new();
    let cid = credential();
    let mut stream = notifier.subscribe_credential(&cid);
    for _ in 0..=STREAM_BUFFER {
        notifier.publish(change(ChallengeId::new(), &cid, ChallengeStatus::Pending));
    }
    assert!(!notifier.is_connected(&cid));
    let buffered = std::iter::from_fn(|| stream.next().now_or_never().flatten()).count();
    assert_eq!(buffered, STREAM_BUFFER);
    assert_eq!(
        stream.next().now_or_never(),
        Some(None),
        "the stream has ended"
    );
}

#[test]
fn a_hundred_thousand_long_polls_are_woken() {
    const N: usize = 100_000;
    let notifier = InProcessNotifier::new();
    let cid = credential();
    let waiters: Vec<(ChallengeId, ChallengeWaiter)> = (0..N)
        .map(|_| {
            let id = ChallengeId::new();
            (id, notifier.wait_for(id))
        })
        .collect();
    assert_eq!(notifier.waiter_count(), N);
    for (id, _) in &waiters {
        notifier.publish(change(*id, &cid, ChallengeStatus::Approved));
    }
    let woken = waiters
        .into_iter()
        .map(|(_, waiter)| waiter.now_or_never().map(|c| c.map(|c| c.status)))
        .filter(|woke| *woke == Some(Some(ChallengeStatus::Approved)))
        .count();
    assert_eq!(woken, N);
    assert_eq!(
        (notifier.waiter_count(), notifier.hub.waiters.keys()),
        (0, 0)
    );
}

fn pending_record(credential_id: &CredentialId, expires_at: i64) -> Arc<ChallengeRecord> {
    use onepush_protocol::{ChallengeKind, Context, TenantId, UserId};
    Arc::new(ChallengeRecord {
        id: ChallengeId::new(),
        tenant_id: "bank".parse::<TenantId>().unwrap(),
        user_id: "alice".parse::<UserId>().unwrap(),
        credential_id: credential_id.clone(),
        kind: ChallengeKind::Login,
        context: Context::from_value(serde_json::json!({})).unwrap(),
        number: None,
        nonce: "bm9uY2U".into(),
        status: ChallengeStatus::Pending,
        created_at: 1_000,
        expires_at,
        decided_at: None,
        reached_device: false,
        decision: None,
    })
}

#[test]
fn a_challenge_made_here_is_known_pending_then_as_this_relay_ended_it() {
    let notifier = InProcessNotifier::new();
    let cid = credential();
    let ch = pending_record(&cid, 2_000);
    notifier.expect(ch.clone(), 1_000);
    assert_eq!(notifier.known(&ch.id), Some(ch.clone()));
    // Its own announcement does not change it.
    notifier.publish(change(ch.id, &cid, ChallengeStatus::Pending));
    assert_eq!(notifier.known(&ch.id), Some(ch.clone()));
    // Ended here: known as ended.
    let mut ended = ChallengeRecord::clone(&ch);
    ended.status = ChallengeStatus::Approved;
    ended.decided_at = Some(1_010);
    let ended = Arc::new(ended);
    notifier.publish(ChallengeChange {
        record: Some(ended.clone()),
        ..change(ch.id, &cid, ChallengeStatus::Approved)
    });
    assert_eq!(notifier.known(&ch.id), Some(ended));
    // Dropped once it has been ended for a while (at the next challenge made).
    let later = pending_record(&cid, 3_000);
    notifier.expect(later.clone(), 1_010 + known::KEEP_ENDED);
    assert_eq!(notifier.known(&ch.id), None);
    assert_eq!(notifier.known(&later.id), Some(later));
}

#[test]
fn an_end_heard_from_elsewhere_forgets_the_challenge() {
    let notifier = InProcessNotifier::new();
    let cid = credential();
    let ch = pending_record(&cid, 2_000);
    notifier.expect(ch.clone(), 1_000);
    // Another relay's end comes without the record.
    notifier.publish(change(ch.id, &cid, ChallengeStatus::Denied));
    assert_eq!(notifier.known(&ch.id), None);
    assert_eq!(notifier.known_count(), 0);
}

#[test]
fn a_challenge_not_stored_and_every_challenge_after_a_lost_feed_are_forgotten() {
    let notifier = InProcessNotifier::new();
    let cid = credential();
    let (refused, kept) = (pending_record(&cid, 2_000), pending_record(&cid, 2_000));
    notifier.expect(refused.clone(), 1_000);
    notifier.expect(kept.clone(), 1_000);
    notifier.forget(&refused.id);
    assert_eq!(notifier.known(&refused.id), None);
    assert_eq!(notifier.known(&kept.id), Some(kept.clone()));
    // A feed that may have missed an end: nothing is known any more.
    notifier.release_all_waiters();
    assert_eq!(notifier.known(&kept.id), None);
    assert_eq!(notifier.known_count(), 0);
}

#[test]
fn past_capacity_the_overdue_go_first_and_then_new_challenges_are_not_remembered() {
    let notifier = InProcessNotifier::new();
    let cid = credential();
    let template = pending_record(&cid, 1_500);
    let copy = |expires_at| {
        let mut ch = ChallengeRecord::clone(&template);
        ch.id = ChallengeId::new();
        ch.expires_at = expires_at;
        Arc::new(ch)
    };
    // Full: half of them overdue at 1,002.
    for i in 0..known::CAPACITY {
        notifier.expect(copy(if i % 2 == 0 { 1_001 } else { 3_000 }), 1_000);
    }
    assert_eq!(notifier.known_count(), known::CAPACITY);
    let late = copy(3_000);
    notifier.expect(late.clone(), 1_002);
    assert_eq!(notifier.known(&late.id), Some(late));
    assert_eq!(notifier.known_count(), known::CAPACITY / 2 + 1);
    // Full of challenges that are not overdue: a new one is not remembered.
    for _ in 0..known::CAPACITY / 2 - 1 {
        notifier.expect(copy(3_000), 1_002);
    }
    let refused = copy(3_000);
    notifier.expect(refused.clone(), 1_002);
    assert_eq!(notifier.known(&refused.id), None);
    assert_eq!(notifier.known_count(), known::CAPACITY);
}
