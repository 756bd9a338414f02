//! Enrollment (R8), security codes (R7), lock-out (R15) and resync (R12).

use crate::common;

use std::sync::Arc;

use common::{Bank, TestDevice};
use onepush_protocol::api::{BindingState, OtpResynced, OtpVerified, UserBinding};
use onepush_relay::Parts;
use onepush_relay::clock::{Clock, ManualClock};
use onepush_relay::testing::{TestRelay, spawn_relay, spawn_relay_with, test_settings};
use serde_json::json;

async fn setup(dir: &std::path::Path) -> (TestRelay, Bank, TestDevice) {
    let relay = spawn_relay(dir).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    (relay, bank, device)
}

#[tokio::test]
async fn two_consecutive_codes_bind_the_credential_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = setup(dir.path()).await;
    let binding: UserBinding = bank.enroll("alice", &device).await.json(201);
    assert_eq!(binding.state, BindingState::Active);
    assert_eq!(binding.credential_id, device.credential_id());
    // Again for the same user: already enrolled (R9, R10).
    bank.enroll("alice", &device)
        .await
        .problem(409, "already-enrolled");
    // The same codes for another user: replayed.
    let codes = device.enrollment_codes();
    let body = json!({ "user_id": "bob", "credential_id": device.credential_id().grouped(), "codes": codes });
    let p = bank
        .post("/v1/enrollments", &body)
        .await
        .problem(422, "codes-invalid");
    assert!(p.detail.contains("already used"), "{}", p.detail);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_credential_serves_several_users_and_tenants() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(test_settings(dir.path()), parts, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let c = clock.clone();
    let mut device = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    device.provision(None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    clock.advance(60);
    bank.enroll("alice-admin", &device)
        .await
        .json::<UserBinding>(201);
    clock.advance(60);
    let other = relay
        .relay
        .add_tenant("second-bank", "Second Bank", None)
        .await
        .unwrap();
    Bank::new(&relay.url, &other.api_key)
        .enroll("a.yamada", &device)
        .await
        .json::<UserBinding>(201);
    let accounts: onepush_protocol::api::DeviceAccounts = device
        .send("GET", "/v1/device/accounts", None)
        .await
        .json(200);
    assert_eq!(accounts.accounts.len(), 3);
    assert!(
        accounts
            .accounts
            .iter()
            .any(|a| a.tenant_name == "Second Bank")
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn enrollment_codes_must_be_right_and_consecutive() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = setup(dir.path()).await;
    let cid = device.credential_id().as_str().to_owned();
    let same = device.code_at_offset(0);
    let p = bank
        .post(
            "/v1/enrollments",
            &json!({ "user_id": "alice", "credential_id": cid, "codes": [same, same] }),
        )
        .await
        .problem(422, "codes-invalid");
    assert!(p.detail.contains("consecutive"), "{}", p.detail);
    let gap = [device.code_at_offset(-2), device.code_at_offset(0)];
    bank.post(
        "/v1/enrollments",
        &json!({ "user_id": "alice", "credential_id": cid, "codes": gap }),
    )
    .await
    .problem(422, "codes-invalid");
    let wrong = if device.code_at_offset(0) == "000000" {
        "000001"
    } else {
        "000000"
    };
    bank.post("/v1/enrollments", &json!({ "user_id": "alice", "credential_id": cid, "codes": [device.code_at_offset(-1), wrong] })).await.problem(422, "codes-invalid");
    let p = bank.post("/v1/enrollments", &json!({ "user_id": "alice", "credential_id": "ONEP12345670", "codes": ["123456", "234567"] })).await.problem(400, "invalid-request");
    assert!(p.detail.contains("check digit"), "{}", p.detail);
    let unknown = onepush_protocol::CredentialId::generate("ONEP").unwrap();
    // An unknown ID is answered like wrong codes (SECURITY.md F1).
    bank.post("/v1/enrollments", &json!({ "user_id": "alice", "credential_id": unknown.as_str(), "codes": ["123456", "234567"] })).await.problem(422, "codes-invalid");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_code_works_once_and_old_codes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(test_settings(dir.path()), parts, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let c = clock.clone();
    let mut device = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    device.provision(None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    clock.advance(30);
    let code = device.code_at_offset(0);
    let ok: OtpVerified = bank
        .post("/v1/users/alice/otp/verify", &json!({ "code": code }))
        .await
        .json(200);
    assert!(ok.valid);
    bank.post("/v1/users/alice/otp/verify", &json!({ "code": code }))
        .await
        .problem(422, "code-replayed");
    let old = device.code_at_offset(-1);
    bank.post("/v1/users/alice/otp/verify", &json!({ "code": old }))
        .await
        .problem(422, "code-replayed");
    bank.post("/v1/users/alice/otp/verify", &json!({ "code": "12345" }))
        .await
        .problem(400, "invalid-request");
    bank.post("/v1/users/nobody/otp/verify", &json!({ "code": "123456" }))
        .await
        .problem(404, "user-not-enrolled");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn five_wrong_codes_lock_the_token_until_the_bank_unlocks_it() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = setup(dir.path()).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    let good = device.code_at_offset(1);
    let wrong = if good == "000000" { "000001" } else { "000000" };
    for left in (1..=4).rev() {
        let p = bank
            .post("/v1/users/alice/otp/verify", &json!({ "code": wrong }))
            .await
            .problem(422, "code-invalid");
        assert_eq!(p.attempts_left, Some(left));
    }
    bank.post("/v1/users/alice/otp/verify", &json!({ "code": wrong }))
        .await
        .problem(423, "binding-locked");
    let p = bank
        .post("/v1/users/alice/otp/verify", &json!({ "code": good }))
        .await
        .problem(409, "binding-not-active");
    assert_eq!(p.state, Some(BindingState::Locked));
    let user: UserBinding = bank.get("/v1/users/alice").await.json(200);
    assert_eq!(
        (user.state, user.lock_reason.as_deref()),
        (BindingState::Locked, Some("otp_failures"))
    );
    bank.login("alice", json!({}))
        .await
        .problem(409, "binding-not-active");
    let user: UserBinding = bank
        .post("/v1/users/alice/unlock", &json!({}))
        .await
        .json(200);
    assert_eq!((user.state, user.failures), (BindingState::Active, 0));
    bank.post("/v1/users/alice/otp/verify", &json!({ "code": good }))
        .await
        .json::<OtpVerified>(200);
    bank.post("/v1/users/alice/unlock", &json!({}))
        .await
        .problem(409, "binding-not-active");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn resync_brings_a_drifted_token_back_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(test_settings(dir.path()), parts, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let c = clock.clone();
    let mut device = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    device.provision(None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    // The phone's clock runs 5 minutes ahead: its codes are 10 steps early.
    let c = clock.clone();
    device.now = Arc::new(move || c.now_unix() + 300);
    bank.post(
        "/v1/users/alice/otp/verify",
        &json!({ "code": device.code_at_offset(0) }),
    )
    .await
    .problem(422, "code-invalid");
    let codes = [device.code_at_offset(-1), device.code_at_offset(0)];
    let r: OtpResynced = bank
        .post("/v1/users/alice/otp/resync", &json!({ "codes": codes }))
        .await
        .json(200);
    assert_eq!(r.drift_steps, 10);
    clock.advance(30);
    bank.post(
        "/v1/users/alice/otp/verify",
        &json!({ "code": device.code_at_offset(0) }),
    )
    .await
    .json::<OtpVerified>(200);
    let user: UserBinding = bank.get("/v1/users/alice").await.json(200);
    assert_eq!((user.drift_steps, user.failures), (10, 0));
    let bad = [device.code_at_offset(1), device.code_at_offset(3)];
    bank.post("/v1/users/alice/otp/resync", &json!({ "codes": bad }))
        .await
        .problem(422, "codes-invalid");
    relay.shutdown().await.unwrap();
}
