//! Deadlines with an injected clock: expired vs undeliverable (R4 (2), (3)), late
//! answers, and a restart in the middle.

use crate::common;

use std::sync::Arc;

use common::{Bank, TestDevice};
use onepush_protocol::api::{BankChallenge, ChallengeCreated, UserBinding};
use onepush_protocol::{ChallengeStatus, DecisionVerdict};
use onepush_relay::Parts;
use onepush_relay::clock::ManualClock;
use onepush_relay::testing::{TestRelay, spawn_relay_with, test_settings};
use serde_json::json;

async fn relay_at(dir: &std::path::Path, clock: &ManualClock, add_tenant: bool) -> TestRelay {
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    spawn_relay_with(test_settings(dir), parts, add_tenant).await
}

fn device_at(url: &str, clock: &ManualClock) -> TestDevice {
    let clock = clock.clone();
    TestDevice::with_clock(
        url,
        Arc::new(move || onepush_relay::clock::Clock::now_unix(&clock)),
    )
}

async fn setup(dir: &std::path::Path, clock: &ManualClock) -> (TestRelay, Bank, TestDevice) {
    let relay = relay_at(dir, clock, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let mut device = device_at(&relay.url, clock);
    device.provision(None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    (relay, bank, device)
}

#[tokio::test]
async fn unanswered_challenge_the_phone_saw_expires() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let (relay, bank, device) = setup(dir.path(), &clock).await;
    let id = bank
        .login("alice", json!({ "ttl_seconds": 30 }))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await; // the pull reaches the device
    clock.advance(29);
    assert_eq!(relay.relay.expire_overdue().await.unwrap(), 0);
    clock.advance(1);
    assert_eq!(relay.relay.expire_overdue().await.unwrap(), 1);
    let outcome: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(outcome.status, ChallengeStatus::Expired);
    // An answer after the deadline does not count.
    let p = device
        .post_decision(&id, &device.claims(&ch, DecisionVerdict::Approve))
        .await
        .problem(410, "challenge-expired");
    assert_eq!(p.challenge_status, Some(ChallengeStatus::Expired));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn challenge_no_channel_reached_is_undeliverable_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let (relay, bank, _device) = setup(dir.path(), &clock).await;
    let id = bank
        .login("alice", json!({ "ttl_seconds": 10 }))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    clock.advance(11);
    // No expiry pass: the read itself ends the overdue challenge.
    let outcome: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(outcome.status, ChallengeStatus::Undeliverable);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn decision_at_the_deadline_is_too_late() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let (relay, bank, device) = setup(dir.path(), &clock).await;
    let id = bank
        .login("alice", json!({ "ttl_seconds": 10 }))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    clock.advance(10);
    device
        .post_decision(&id, &device.claims(&ch, DecisionVerdict::Approve))
        .await
        .problem(410, "challenge-expired");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn restart_keeps_pending_challenges_with_their_deadlines_and_decided_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let (relay, bank, device) = setup(dir.path(), &clock).await;
    let decided = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    device
        .answer(&decided, DecisionVerdict::Approve, None)
        .await
        .json::<serde_json::Value>(200);
    let pending: ChallengeCreated = bank
        .login("alice", json!({ "ttl_seconds": 120 }))
        .await
        .json(201);
    let vapid_before = device
        .provisioned
        .as_ref()
        .unwrap()
        .vapid_public_key
        .clone();
    relay.shutdown().await.unwrap();

    let relay = relay_at(dir.path(), &clock, false).await;
    let bank = Bank::new(&relay.url, &bank.api_key);
    let mut device = TestDevice {
        url: relay.url.clone(),
        ..device
    };
    let before: BankChallenge = bank
        .get(&format!("/v1/challenges/{decided}"))
        .await
        .json(200);
    assert_eq!(before.status, ChallengeStatus::Approved);
    assert!(before.decision.is_some());
    let still: BankChallenge = bank
        .get(&format!("/v1/challenges/{}", pending.id))
        .await
        .json(200);
    assert_eq!(still.status, ChallengeStatus::Pending);
    assert_eq!(still.expires_at, pending.expires_at);
    // The keys were kept: a new device gets the same VAPID key.
    let mut fresh = device_at(&relay.url, &clock);
    fresh.provision(None).await;
    assert_eq!(fresh.provisioned.unwrap().vapid_public_key, vapid_before);
    device.now = {
        let clock = clock.clone();
        Arc::new(move || onepush_relay::clock::Clock::now_unix(&clock))
    };
    let list: onepush_protocol::api::DeviceChallengeList = device
        .send("GET", "/v1/device/challenges", None)
        .await
        .json(200);
    assert_eq!(list.challenges.len(), 1);
    clock.advance(121);
    relay.relay.expire_overdue().await.unwrap();
    let ended: BankChallenge = bank
        .get(&format!("/v1/challenges/{}", pending.id))
        .await
        .json(200);
    assert_eq!(
        ended.status,
        ChallengeStatus::Expired,
        "the pull after the restart reached the device"
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn long_poll_returns_at_the_deadline_with_the_outcome() {
    // A real server must be observed here: a short real TTL.
    let dir = tempfile::tempdir().unwrap();
    let relay = onepush_relay::testing::spawn_relay(dir.path()).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    let id = bank
        .login("alice", json!({ "ttl_seconds": 10 }))
        .await
        .json::<ChallengeCreated>(201)
        .id;
    let started = std::time::Instant::now();
    let outcome: BankChallenge = bank
        .get(&format!("/v1/challenges/{id}?wait=2"))
        .await
        .json(200);
    assert_eq!(
        outcome.status,
        ChallengeStatus::Pending,
        "wait=2 returns before the deadline"
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    let outcome: BankChallenge = bank
        .get(&format!("/v1/challenges/{id}?wait=60"))
        .await
        .json(200);
    assert_eq!(outcome.status, ChallengeStatus::Undeliverable);
    assert!(started.elapsed() < std::time::Duration::from_secs(14));
    relay.shutdown().await.unwrap();
}
