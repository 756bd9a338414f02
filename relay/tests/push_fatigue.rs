//! Push fatigue by history (issue 9): after N of a user's challenges ended denied or
//! expired unanswered within the tenant's window (no approval since), new challenges are
//! refused with 429 `push-fatigue-lockout`, and the bank is told once per lockout.

use crate::common;

use std::sync::Arc;

use common::receiver::Receiver;
use common::{Answer, Bank, TestDevice};
use onepush_protocol::api::{AuditEvent, ChallengeCreated, UserBinding};
use onepush_protocol::{ChallengeStatus, DecisionVerdict};
use onepush_relay::Parts;
use onepush_relay::clock::{Clock as _, ManualClock};
use onepush_relay::testing::{TEST_TENANT, TestRelay, spawn_relay_with, test_settings};
use onepush_relay::webhook::{PUSH_FATIGUE_EVENT, PushFatigueEvent};
use serde_json::json;

const LOCKOUT: &str = "push-fatigue-lockout";

async fn relay_at(dir: &std::path::Path, clock: &ManualClock) -> TestRelay {
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    spawn_relay_with(test_settings(dir), parts, true).await
}

fn device_at(relay: &TestRelay, clock: &ManualClock) -> TestDevice {
    let c = clock.clone();
    TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()))
}

async fn enrolled_device(
    relay: &TestRelay,
    bank: &Bank,
    clock: &ManualClock,
    user: &str,
) -> TestDevice {
    let mut device = device_at(relay, clock);
    device.provision(None).await;
    bank.enroll(user, &device).await.json::<UserBinding>(201);
    device
}

async fn login(bank: &Bank, user: &str) -> String {
    bank.login(user, json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string()
}

async fn answer(device: &TestDevice, id: &str, verdict: DecisionVerdict) {
    device
        .answer(id, verdict, None)
        .await
        .json::<serde_json::Value>(200);
}

/// Creates a login for `user` and denies it ("not now", not "not me").
async fn denied_login(bank: &Bank, device: &TestDevice, user: &str) {
    let id = login(bank, user).await;
    answer(device, &id, DecisionVerdict::Deny).await;
}

async fn audit_events(bank: &Bank, user: &str, event: &str) -> Vec<AuditEvent> {
    let all: Vec<AuditEvent> = bank
        .get(&format!("/v1/audit?user_id={user}"))
        .await
        .json(200);
    all.into_iter().filter(|e| e.event == event).collect()
}

fn retry_after(answer: &Answer) -> i64 {
    answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn denials_up_to_the_default_limit_refuse_new_challenges_until_the_window_passes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let relay = relay_at(dir.path(), &clock).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = enrolled_device(&relay, &bank, &clock, "alice").await;
    let tenant = relay.relay.service().list_tenants().await.unwrap();
    assert_eq!(
        (
            tenant[0].push_fatigue_threshold,
            tenant[0].push_fatigue_window_seconds
        ),
        (5, 900),
        "defaults: 5 within 15 minutes"
    );
    for _ in 0..4 {
        denied_login(&bank, &device, "alice").await;
        clock.advance(10);
    }
    // Four are under the limit.
    denied_login(&bank, &device, "alice").await;
    let first_denial = clock.now_unix() - 40;
    clock.advance(10);
    let refused = bank.login("alice", json!({})).await;
    let p = refused.problem(429, LOCKOUT);
    assert_ne!(
        p.slug(),
        "push-fatigue",
        "distinct from the pending-count limit"
    );
    assert!(
        p.detail.contains("5 of this user's challenges"),
        "{}",
        p.detail
    );
    assert!(p.detail.contains("refused until"), "{}", p.detail);
    // The lockout ends when the oldest of the five leaves the 900 s window.
    let until = first_denial + 900;
    assert_eq!(retry_after(&refused), until - clock.now_unix());
    clock.set(until - 1);
    bank.login("alice", json!({})).await.problem(429, LOCKOUT);
    clock.set(until);
    login(&bank, "alice").await;
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn challenges_that_expire_unanswered_count_and_undeliverable_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let relay = relay_at(dir.path(), &clock).await;
    relay
        .relay
        .service()
        .set_push_fatigue(TEST_TENANT, 2, 600)
        .await
        .unwrap();
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = enrolled_device(&relay, &bank, &clock, "alice").await;
    let short = json!({ "ttl_seconds": 30 });
    // Never fetched by the phone: undeliverable, not the user ignoring it.
    for _ in 0..2 {
        bank.login("alice", short.clone())
            .await
            .json::<ChallengeCreated>(201);
    }
    clock.advance(30);
    assert_eq!(relay.relay.expire_overdue().await.unwrap(), 2);
    // Seen by the phone and left unanswered: expired, counted.
    for _ in 0..2 {
        let id = bank
            .login("alice", short.clone())
            .await
            .json::<ChallengeCreated>(201)
            .id;
        assert_eq!(
            device.challenge(&id.to_string()).await.status,
            ChallengeStatus::Pending
        );
    }
    clock.advance(30);
    assert_eq!(relay.relay.expire_overdue().await.unwrap(), 2);
    bank.login("alice", json!({})).await.problem(429, LOCKOUT);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_approval_clears_the_count_even_during_a_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let relay = relay_at(dir.path(), &clock).await;
    relay
        .relay
        .service()
        .set_push_fatigue(TEST_TENANT, 3, 900)
        .await
        .unwrap();
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = enrolled_device(&relay, &bank, &clock, "alice").await;
    // Two denials, an approval, two denials: the approval reset the count.
    denied_login(&bank, &device, "alice").await;
    denied_login(&bank, &device, "alice").await;
    clock.advance(1);
    let id = login(&bank, "alice").await;
    answer(&device, &id, DecisionVerdict::Approve).await;
    clock.advance(1);
    denied_login(&bank, &device, "alice").await;
    denied_login(&bank, &device, "alice").await;
    // A challenge still pending when the third denial locks the user out.
    let pending = login(&bank, "alice").await;
    denied_login(&bank, &device, "alice").await;
    bank.login("alice", json!({})).await.problem(429, LOCKOUT);
    // Approving the one sent before the lockout ends it.
    clock.advance(1);
    answer(&device, &pending, DecisionVerdict::Approve).await;
    login(&bank, "alice").await;
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn other_users_and_other_tenants_are_not_locked_out() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let relay = relay_at(dir.path(), &clock).await;
    let service = relay.relay.service();
    service.set_push_fatigue(TEST_TENANT, 2, 900).await.unwrap();
    let bank = Bank::new(&relay.url, &relay.api_key);
    let other = relay
        .relay
        .add_tenant("bank-b", "Bank B", None)
        .await
        .unwrap();
    service.set_push_fatigue("bank-b", 2, 900).await.unwrap();
    let bank_b = Bank::new(&relay.url, &other.api_key);
    let alice = enrolled_device(&relay, &bank, &clock, "alice").await;
    // Each enrollment spends two steps of the credential's codes.
    clock.advance(60);
    bank_b
        .enroll("alice", &alice)
        .await
        .json::<UserBinding>(201);
    let bob = enrolled_device(&relay, &bank, &clock, "bob").await;
    denied_login(&bank, &alice, "alice").await;
    denied_login(&bank, &alice, "alice").await;
    bank.login("alice", json!({})).await.problem(429, LOCKOUT);
    // Same tenant, another user.
    let id = login(&bank, "bob").await;
    answer(&bob, &id, DecisionVerdict::Deny).await;
    login(&bank, "bob").await;
    // Same user name and phone, another bank.
    login(&bank_b, "alice").await;
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_bank_is_told_once_per_lockout_by_webhook_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let hook = Receiver::start(200).await;
    let relay = relay_at(dir.path(), &clock).await;
    let service = relay.relay.service();
    let tenant = relay
        .relay
        .add_tenant(
            "hook-bank",
            "Hook Bank",
            Some(format!("{}/hooks", hook.url)),
        )
        .await
        .unwrap();
    service.set_push_fatigue("hook-bank", 2, 900).await.unwrap();
    let secret = tenant.webhook_secret.clone().unwrap();
    let bank = Bank::new(&relay.url, &tenant.api_key);
    let device = enrolled_device(&relay, &bank, &clock, "alice").await;
    let late = login(&bank, "alice").await;
    denied_login(&bank, &device, "alice").await;
    denied_login(&bank, &device, "alice").await;
    // Refused several times, and a third denial (of a challenge sent before the lockout):
    // still one lockout.
    for _ in 0..3 {
        bank.login("alice", json!({})).await.problem(429, LOCKOUT);
    }
    answer(&device, &late, DecisionVerdict::Deny).await;
    bank.login("alice", json!({})).await.problem(429, LOCKOUT);
    let audited = audit_events(&bank, "alice", PUSH_FATIGUE_EVENT).await;
    assert_eq!(audited.len(), 1, "{audited:?}");
    assert_eq!(audited[0].detail["refused"], 2);
    assert_eq!(audited[0].detail["window_seconds"], 900);
    // Three challenge.decided messages and one lockout message.
    let got = hook.wait_for(4).await;
    let fatigue: Vec<PushFatigueEvent> = got
        .iter()
        .filter_map(|r| serde_json::from_slice::<PushFatigueEvent>(&r.body).ok())
        .filter(|e| e.kind == PUSH_FATIGUE_EVENT)
        .collect();
    assert_eq!(fatigue.len(), 1, "{fatigue:?}");
    let event = &fatigue[0];
    assert_eq!(event.data.user_id, "alice");
    assert_eq!(event.data.refused, 2);
    assert_eq!(
        event.data.locked_until.unix_timestamp(),
        clock.now_unix() + 900
    );
    let req = got
        .iter()
        .find(|r| r.headers["webhook-id"].to_str().unwrap() == event.id)
        .unwrap();
    let ts: i64 = req.headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        req.headers["webhook-signature"].to_str().unwrap(),
        onepush_relay::webhook::sign(&secret, &event.id, ts, &req.body)
    );
    // After the window a new lockout is a new announcement.
    clock.advance(900);
    denied_login(&bank, &device, "alice").await;
    denied_login(&bank, &device, "alice").await;
    bank.login("alice", json!({})).await.problem(429, LOCKOUT);
    assert_eq!(
        audit_events(&bank, "alice", PUSH_FATIGUE_EVENT).await.len(),
        2
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_tenant_setting_is_respected_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let relay = relay_at(dir.path(), &clock).await;
    let service = relay.relay.service();
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = enrolled_device(&relay, &bank, &clock, "alice").await;
    service.set_push_fatigue(TEST_TENANT, 0, 900).await.unwrap();
    // Off: eight denials in a row are still allowed.
    for _ in 0..8 {
        denied_login(&bank, &device, "alice").await;
    }
    login(&bank, "alice").await;
    // A short window: the same eight denials lock the user out at threshold 8 ...
    service.set_push_fatigue(TEST_TENANT, 8, 60).await.unwrap();
    bank.login("alice", json!({})).await.problem(429, LOCKOUT);
    // ... until they are older than the 60 s window.
    clock.advance(60);
    login(&bank, "alice").await;
    for (threshold, window) in [(1001, 900), (5, 59), (5, 8 * 24 * 3600)] {
        let err = service
            .set_push_fatigue(TEST_TENANT, threshold, window)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("must be"), "{err}");
    }
    assert!(
        service
            .set_push_fatigue("no-such-bank", 5, 900)
            .await
            .is_err()
    );
    relay.shutdown().await.unwrap();
}
