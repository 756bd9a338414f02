//! Offline codes (issue 24 item 4, RFC 6287 OCRA `OCRA-1:HOTP-SHA256-8:QH64-T1M`): the
//! bank creates an offline challenge, the device answers its payload with an 8-digit code
//! computed from the payload alone, the bank verifies it. Refused: a replay, a late code,
//! another transaction's code, a wrong code (counted toward the OTP lock).

use crate::common;

use std::sync::Arc;

use common::{Bank, TestDevice};
use onepush_protocol::api::{
    AuditEvent, OfflineChallengeCreated, OfflineCodeVerified, UserBinding,
};
use onepush_protocol::ocra::{self, OcraKey, OfflinePayload};
use onepush_relay::Parts;
use onepush_relay::clock::{Clock, ManualClock};
use onepush_relay::testing::{TestRelay, spawn_relay_with, test_settings};
use serde_json::{Value, json};

struct Setup {
    relay: TestRelay,
    bank: Bank,
    device: TestDevice,
    clock: ManualClock,
}

async fn setup(dir: &std::path::Path) -> Setup {
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(test_settings(dir), parts, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let c = clock.clone();
    let mut device = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    device.provision(None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    Setup {
        relay,
        bank,
        device,
        clock,
    }
}

fn transfer(amount: &str) -> Value {
    json!({ "user_id": "alice", "kind": "transaction", "context": {
        "amount": amount, "currency": "JPY", "payee_name": "ヤマダ タロウ",
        "payee_account": "0001-001-1234567" } })
}

/// What the app does: reads the payload, derives the question itself, answers at `now`.
fn device_code(device: &TestDevice, payload: &str, now: i64) -> String {
    let key = device
        .provisioned
        .as_ref()
        .and_then(|p| p.ocra_key.as_deref())
        .expect("the relay provisions an OCRA key");
    let key = OcraKey::from_base32(key).unwrap();
    let payload = OfflinePayload::decode(payload).unwrap();
    ocra::response(&key, &payload.question().unwrap(), now).unwrap()
}

async fn create(bank: &Bank, body: &Value) -> OfflineChallengeCreated {
    bank.post("/v1/offline-challenges", body).await.json(201)
}

fn verify_path(id: impl std::fmt::Display) -> String {
    format!("/v1/offline-challenges/{id}/verify")
}

#[tokio::test]
async fn a_right_code_verifies_once_and_the_payload_carries_the_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path()).await;
    let created = create(&s.bank, &transfer("150000")).await;
    assert_eq!(created.suite, "OCRA-1:HOTP-SHA256-8:QH64-T1M");
    assert_eq!(created.question.len(), 64);
    let payload = OfflinePayload::decode(&created.payload).unwrap();
    assert_eq!(payload.i, created.id);
    assert_eq!(payload.u, "alice");
    assert_eq!(payload.c.str("amount"), Some("150000"));
    assert_eq!(payload.question().unwrap(), created.question);
    assert!(
        created.payload.len() < 600,
        "compact: {}",
        created.payload.len()
    );

    // The user takes a minute and a half to read and type.
    s.clock.advance(90);
    let code = device_code(&s.device, &created.payload, s.clock.now_unix());
    assert_eq!(code.len(), 8);
    let ok: OfflineCodeVerified = s
        .bank
        .post(&verify_path(created.id), &json!({ "code": code }))
        .await
        .json(200);
    assert!(ok.valid);
    assert_eq!(ok.id, created.id);
    assert_eq!(ok.step, ocra::step_at(s.clock.now_unix()));

    // Replayed: refused, not counted.
    let p = s
        .bank
        .post(&verify_path(created.id), &json!({ "code": code }))
        .await
        .problem(409, "offline-code-used");
    assert!(p.detail.contains("works once"), "{}", p.detail);

    let audit: Vec<AuditEvent> = s.bank.get("/v1/audit?user_id=alice").await.json(200);
    let events: Vec<&str> = audit.iter().map(|e| e.event.as_str()).collect();
    assert!(events.contains(&"offline.created"), "{events:?}");
    assert!(events.contains(&"offline.verified"), "{events:?}");
    assert!(events.contains(&"offline.replayed"), "{events:?}");
    s.relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_late_code_is_refused_after_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path()).await;
    let mut body = transfer("5000");
    body["ttl_seconds"] = json!(60);
    let created = create(&s.bank, &body).await;
    let code = device_code(&s.device, &created.payload, s.clock.now_unix());
    s.clock.advance(60);
    let p = s
        .bank
        .post(&verify_path(created.id), &json!({ "code": code }))
        .await
        .problem(410, "offline-challenge-expired");
    assert!(p.detail.contains("deadline passed"), "{}", p.detail);
    s.relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn another_transactions_code_is_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path()).await;
    let small = create(&s.bank, &transfer("1000")).await;
    let large = create(&s.bank, &transfer("9000000")).await;
    // The user approved the small one; someone posts its code for the large one.
    let small_code = device_code(&s.device, &small.payload, s.clock.now_unix());
    let p = s
        .bank
        .post(&verify_path(large.id), &json!({ "code": small_code }))
        .await
        .problem(422, "code-invalid");
    assert_eq!(p.attempts_left, Some(4));
    // The small one's code still verifies the small one.
    s.bank
        .post(&verify_path(small.id), &json!({ "code": small_code }))
        .await
        .json::<OfflineCodeVerified>(200);
    s.relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn wrong_codes_count_toward_the_otp_lock() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path()).await;
    let created = create(&s.bank, &transfer("20000")).await;
    let right = device_code(&s.device, &created.payload, s.clock.now_unix());
    let wrong = if right == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    for left in (1..=4).rev() {
        let p = s
            .bank
            .post(&verify_path(created.id), &json!({ "code": wrong }))
            .await
            .problem(422, "code-invalid");
        assert_eq!(p.attempts_left, Some(left));
    }
    s.bank
        .post(&verify_path(created.id), &json!({ "code": wrong }))
        .await
        .problem(423, "binding-locked");
    // Locked: even the right code is refused, and no new offline challenge is made.
    s.bank
        .post(&verify_path(created.id), &json!({ "code": right }))
        .await
        .problem(409, "binding-not-active");
    s.bank
        .post("/v1/offline-challenges", &transfer("1"))
        .await
        .problem(409, "binding-not-active");
    let audit: Vec<AuditEvent> = s.bank.get("/v1/audit?user_id=alice").await.json(200);
    assert_eq!(
        audit.iter().filter(|e| e.event == "offline.failed").count(),
        5
    );
    s.relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_requests_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let s = setup(dir.path()).await;
    let mut missing = transfer("1000");
    missing["context"]
        .as_object_mut()
        .unwrap()
        .remove("payee_account");
    let p = s
        .bank
        .post("/v1/offline-challenges", &missing)
        .await
        .problem(400, "invalid-request");
    assert!(p.detail.contains("payee_account"), "{}", p.detail);
    let mut long = transfer("1000");
    long["ttl_seconds"] = json!(3600);
    s.bank
        .post("/v1/offline-challenges", &long)
        .await
        .problem(400, "invalid-request");
    let mut bob = transfer("1000");
    bob["user_id"] = json!("bob");
    s.bank
        .post("/v1/offline-challenges", &bob)
        .await
        .problem(404, "user-not-enrolled");
    let created = create(&s.bank, &transfer("1000")).await;
    let p = s
        .bank
        .post(&verify_path(created.id), &json!({ "code": "1234" }))
        .await
        .problem(400, "invalid-request");
    assert!(p.detail.contains("8 digits"), "{}", p.detail);
    s.bank
        .post(
            &verify_path(onepush_protocol::ChallengeId::new()),
            &json!({ "code": "12345678" }),
        )
        .await
        .problem(404, "challenge-not-found");
    // Another bank cannot verify this bank's offline challenge.
    let other = s
        .relay
        .relay
        .add_tenant("other-bank", "Other Bank", None)
        .await
        .unwrap();
    Bank::new(&s.relay.url, &other.api_key)
        .post(&verify_path(created.id), &json!({ "code": "12345678" }))
        .await
        .problem(404, "challenge-not-found");
    s.relay.shutdown().await.unwrap();
}
