//! Suspend and resume (R13), unregister (R14), lost phone (R16), app reset.

use crate::common;

use common::{Bank, TestDevice};
use onepush_protocol::api::{
    BankChallenge, BindingState, ChallengeCreated, DeviceChallengeList, ReportedLost, UserBinding,
};
use onepush_protocol::{ChallengeStatus, DecisionVerdict};
use onepush_relay::testing::{TestRelay, spawn_relay};
use serde_json::json;

async fn enrolled(dir: &std::path::Path) -> (TestRelay, Bank, TestDevice) {
    let relay = spawn_relay(dir).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    (relay, bank, device)
}

#[tokio::test]
async fn suspended_user_gets_no_pushes_until_resumed_and_sees_the_grace_date() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, _device) = enrolled(dir.path()).await;
    let user: UserBinding = bank
        .post(
            "/v1/users/alice/suspend",
            &json!({ "grace_until": "2030-04-01T00:00:00Z" }),
        )
        .await
        .json(200);
    assert_eq!(user.state, BindingState::Suspended);
    let p = bank
        .login("alice", json!({}))
        .await
        .problem(409, "binding-not-active");
    assert_eq!(p.state, Some(BindingState::Suspended));
    assert_eq!(p.grace_until.unwrap().year(), 2030);
    assert!(p.detail.contains("2030-04-01"), "{}", p.detail);
    bank.post("/v1/users/alice/suspend", &json!({}))
        .await
        .problem(409, "binding-not-active");
    let user: UserBinding = bank
        .post("/v1/users/alice/resume", &json!({}))
        .await
        .json(200);
    assert_eq!((user.state, user.grace_until), (BindingState::Active, None));
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201);
    bank.post("/v1/users/alice/resume", &json!({}))
        .await
        .problem(409, "binding-not-active");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn unregistering_cancels_pending_challenges_and_allows_a_new_phone() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, old) = enrolled(dir.path()).await;
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id;
    let body = json!({ "grace_until": "2030-01-31T00:00:00Z" });
    let user: UserBinding = bank
        .send(
            reqwest::Method::DELETE,
            "/v1/users/alice/enrollment",
            Some(&body),
        )
        .await
        .json(200);
    assert_eq!(user.state, BindingState::Unregistered);
    let ch: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(ch.status, ChallengeStatus::Cancelled);
    bank.login("alice", json!({}))
        .await
        .problem(409, "binding-not-active");
    let new_phone = TestDevice::provisioned(&relay.url, None).await;
    let user: UserBinding = bank.enroll("alice", &new_phone).await.json(201);
    assert_eq!(user.credential_id, new_phone.credential_id());
    // The next login goes to the new phone (the relay last saw alice bound to the old
    // one: the insert refuses that, and the new binding it read is tried instead).
    let next = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id;
    let ch: BankChallenge = bank.get(&format!("/v1/challenges/{next}")).await.json(200);
    assert_eq!(ch.credential_id, new_phone.credential_id());
    assert_eq!(new_phone.challenge(&next.to_string()).await.id, next);
    old.send("GET", &format!("/v1/device/challenges/{next}"), None)
        .await
        .problem(404, "challenge-not-found");
    bank.delete("/v1/users/nobody/enrollment")
        .await
        .problem(404, "user-not-enrolled");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn reporting_a_lost_phone_locks_it_and_cancels_its_challenges_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    bank.enroll(
        "alice-admin",
        &TestDevice {
            url: device.url.clone(),
            public_url: device.public_url.clone(),
            key: onepush_protocol::DeviceKey::from_bytes(&*device.key.to_bytes()).unwrap(),
            provisioned: device.provisioned.clone(),
            now: std::sync::Arc::new(|| time::OffsetDateTime::now_utc().unix_timestamp() + 60),
            client: reqwest::Client::new(),
        },
    )
    .await
    .json::<UserBinding>(201);
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    let cid = device.credential_id().grouped();
    let lost: ReportedLost = bank
        .post(&format!("/v1/credentials/{cid}/report-lost"), &json!({}))
        .await
        .json(200);
    assert_eq!((lost.locked_bindings, lost.cancelled_challenges), (2, 1));
    let user: UserBinding = bank.get("/v1/users/alice-admin").await.json(200);
    assert_eq!(
        (user.state, user.lock_reason.as_deref()),
        (BindingState::Locked, Some("reported_lost"))
    );
    device
        .post_decision(&id, &device.claims(&ch, DecisionVerdict::Approve))
        .await
        .problem(409, "challenge-decided");
    let pending: DeviceChallengeList = device
        .send("GET", "/v1/device/challenges", None)
        .await
        .json(200);
    assert!(pending.challenges.is_empty(), "{pending:?}");
    bank.login("alice", json!({}))
        .await
        .problem(409, "binding-not-active");
    let unknown = onepush_protocol::CredentialId::generate("ONEP").unwrap();
    bank.post(
        &format!("/v1/credentials/{}/report-lost", unknown.as_str()),
        &json!({}),
    )
    .await
    .problem(404, "credential-not-found");
    bank.post("/v1/credentials/ONEP12345670/report-lost", &json!({}))
        .await
        .problem(400, "invalid-request");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn app_reset_revokes_the_credential_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id;
    let answer = device
        .send("DELETE", "/v1/device/credentials/self", None)
        .await;
    assert_eq!(answer.status, 204);
    let user: UserBinding = bank.get("/v1/users/alice").await.json(200);
    assert_eq!(user.state, BindingState::Unregistered);
    let ch: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(ch.status, ChallengeStatus::Cancelled);
    device
        .send("GET", "/v1/device/accounts", None)
        .await
        .problem(401, "proof-invalid");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_audit_log_records_every_state_change_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .json::<serde_json::Value>(200);
    let events: Vec<onepush_protocol::api::AuditEvent> =
        bank.get("/v1/audit?user_id=alice").await.json(200);
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "binding.enrolled",
            "challenge.created",
            "challenge.approved"
        ]
    );
    let since = events[1].seq;
    let later: Vec<onepush_protocol::api::AuditEvent> = bank
        .get(&format!("/v1/audit?since={since}"))
        .await
        .json(200);
    assert_eq!(later.len(), 1);
    bank.get("/v1/audit?since=abc")
        .await
        .problem(400, "invalid-request");
    relay.shutdown().await.unwrap();
}
