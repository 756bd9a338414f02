//! Each outcome of a challenge, driven over HTTP (R1–R4).

use crate::common;

use common::{Bank, TestDevice};
use onepush_protocol::api::{BankChallenge, ChallengeCreated, DecisionAccepted, UserBinding};
use onepush_protocol::jws::sign_decision;
use onepush_protocol::{ChallengeStatus, DecisionVerdict, DenyReason, Jwk};
use onepush_relay::testing::{TestRelay, spawn_relay};
use serde_json::json;

async fn enrolled(dir: &std::path::Path) -> (TestRelay, Bank, TestDevice) {
    let relay = spawn_relay(dir).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    (relay, bank, device)
}

/// A login with number matching: its ID, the number the bank shows, and a wrong one.
async fn number_matching_login(bank: &Bank) -> (String, u8, u8) {
    let created: ChallengeCreated = bank
        .login("alice", json!({ "number_matching": true }))
        .await
        .json(201);
    let number = created.number.expect("number");
    let wrong = if number == 99 { 98 } else { number + 1 };
    (created.id.to_string(), number, wrong)
}

#[tokio::test]
async fn approve_lets_the_login_through_and_wakes_the_long_poll() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let created: ChallengeCreated = bank.login("alice", json!({})).await.json(201);
    assert_eq!(created.status, ChallengeStatus::Pending);
    let id = created.id.to_string();
    let poll = {
        let bank = bank.clone();
        let id = id.clone();
        tokio::spawn(async move { bank.get(&format!("/v1/challenges/{id}?wait=30")).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let accepted: DecisionAccepted = device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .json(200);
    assert_eq!(accepted.status, ChallengeStatus::Approved);
    let started = std::time::Instant::now();
    let outcome: BankChallenge = poll.await.unwrap().json(200);
    assert!(
        started.elapsed().as_secs() < 5,
        "the long-poll must wake on the decision"
    );
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    let decision = outcome.decision.expect("decision");
    // The bank can verify the JWS itself with the credential's key.
    let key: serde_json::Value = bank
        .get(&format!(
            "/v1/credentials/{}/jwk",
            device.credential_id().as_str()
        ))
        .await
        .json(200);
    let jwk: Jwk = serde_json::from_value(key["jwk"].clone()).unwrap();
    let claims =
        onepush_protocol::jws::verify_decision(&decision.jws, &jwk, &device.credential_id())
            .unwrap();
    assert_eq!(claims.chl, created.id);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn deny_stops_the_login() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let created: ChallengeCreated = bank.login("alice", json!({})).await.json(201);
    let id = created.id.to_string();
    device
        .answer(&id, DecisionVerdict::Deny, None)
        .await
        .json::<DecisionAccepted>(200);
    let outcome: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(outcome.status, ChallengeStatus::Denied);
    let decision = outcome.decision.expect("the signed answer");
    assert_eq!(decision.verdict, DecisionVerdict::Deny);
    assert_eq!(decision.reason, Some(DenyReason::Declined));
    let user: UserBinding = bank.get("/v1/users/alice").await.json(200);
    assert_eq!(
        user.state,
        onepush_protocol::api::BindingState::Active,
        "a plain deny does not lock"
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn not_me_locks_the_binding_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    let mut claims = device.claims(&ch, DecisionVerdict::Deny);
    claims.rsn = Some(DenyReason::NotMe);
    device
        .post_decision(&id, &claims)
        .await
        .json::<DecisionAccepted>(200);
    let user: UserBinding = bank.get("/v1/users/alice").await.json(200);
    assert_eq!(user.state, onepush_protocol::api::BindingState::Locked);
    assert_eq!(user.lock_reason.as_deref(), Some("not_me"));
    let problem = bank
        .login("alice", json!({}))
        .await
        .problem(409, "binding-not-active");
    assert_eq!(
        problem.state,
        Some(onepush_protocol::api::BindingState::Locked)
    );
    let audit: Vec<onepush_protocol::api::AuditEvent> =
        bank.get("/v1/audit?user_id=alice").await.json(200);
    assert!(
        audit
            .iter()
            .any(|e| e.event == "binding.locked" && e.detail["reason"] == "not_me")
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn bank_cancel_ends_the_challenge_and_a_late_answer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    let cancelled: BankChallenge = bank.delete(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(cancelled.status, ChallengeStatus::Cancelled);
    let problem = device
        .post_decision(&id, &device.claims(&ch, DecisionVerdict::Approve))
        .await
        .problem(409, "challenge-decided");
    assert_eq!(problem.challenge_status, Some(ChallengeStatus::Cancelled));
    bank.delete(&format!("/v1/challenges/{id}"))
        .await
        .problem(409, "challenge-decided");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn answer_signed_by_another_credential_is_credential_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let other = TestDevice::provisioned(&relay.url, None).await;
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    // The other phone cannot even read it...
    other
        .send("GET", &format!("/v1/device/challenges/{id}"), None)
        .await
        .problem(404, "challenge-not-found");
    // ...but if it answers anyway with a valid signature of its own, the bank is told.
    let mut claims = device.claims(&ch, DecisionVerdict::Approve);
    claims.cid = other.credential_id();
    other
        .post_decision(&id, &claims)
        .await
        .problem(403, "credential-mismatch");
    let outcome: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(outcome.status, ChallengeStatus::CredentialMismatch);
    // Its verdict is not the challenge's decision; its signer is in the audit log.
    assert_eq!(outcome.decision, None);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn number_matching_needs_the_number_shown_to_the_bank() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let (id, number, wrong) = number_matching_login(&bank).await;
    assert!((10..=99).contains(&number));
    device
        .answer(&id, DecisionVerdict::Approve, Some(wrong))
        .await
        .problem(422, "number-mismatch");
    device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .problem(422, "number-mismatch");
    let ok: DecisionAccepted = device
        .answer(&id, DecisionVerdict::Approve, Some(number))
        .await
        .json(200);
    assert_eq!(ok.status, ChallengeStatus::Approved);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn three_wrong_numbers_end_the_challenge_denied() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let (id, number, wrong) = number_matching_login(&bank).await;
    for tries_left in [2, 1] {
        let p = device
            .answer(&id, DecisionVerdict::Approve, Some(wrong))
            .await
            .problem(422, "number-mismatch");
        assert_eq!(p.attempts_left, Some(tries_left));
        assert!(
            p.detail.contains(&format!("{tries_left} tr")),
            "{}",
            p.detail
        );
        assert_eq!(
            bank.get(&format!("/v1/challenges/{id}"))
                .await
                .json::<BankChallenge>(200)
                .status,
            ChallengeStatus::Pending
        );
    }
    let p = device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .problem(422, "number-mismatch");
    assert_eq!(p.attempts_left, Some(0));
    assert_eq!(p.challenge_status, Some(ChallengeStatus::Denied));
    assert!(p.detail.contains("ended denied"), "{}", p.detail);
    let ended: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(ended.status, ChallengeStatus::Denied);
    assert!(ended.decision.is_none(), "the device never denied it");
    // The right number comes too late.
    device
        .answer(&id, DecisionVerdict::Approve, Some(number))
        .await
        .problem(409, "challenge-decided");
    let audit: Vec<onepush_protocol::api::AuditEvent> =
        bank.get("/v1/audit?user_id=alice").await.json(200);
    let misses: Vec<_> = audit
        .iter()
        .filter(|e| e.event == "challenge.number_mismatch")
        .map(|e| e.detail["tries_left"].as_u64().unwrap())
        .collect();
    assert_eq!(misses, [2, 1, 0]);
    assert!(audit.iter().any(|e| e.event == "challenge.denied"));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn tampered_or_wrong_decisions_are_refused_and_the_challenge_stays_pending() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let id = bank
        .post("/v1/challenges", &json!({ "user_id": "alice", "kind": "transaction", "context": {
            "amount": "1200000", "currency": "JPY", "payee_name": "ヤマダ タロウ", "payee_account": "0001-123-4567890" } }))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    let mut tampered = device.claims(&ch, DecisionVerdict::Approve);
    tampered.ctx = onepush_protocol::Context::from_value(json!({ "amount": "1" }))
        .unwrap()
        .digest_b64();
    let p = device
        .post_decision(&id, &tampered)
        .await
        .problem(422, "decision-mismatch");
    assert!(p.detail.contains("context"), "{}", p.detail);
    let mut nonce = device.claims(&ch, DecisionVerdict::Approve);
    nonce.nonce = "AAAAAAAAAAAAAAAAAAAAAA".into();
    device
        .post_decision(&id, &nonce)
        .await
        .problem(422, "decision-mismatch");
    // Signed by a key that is not the credential's.
    let stranger = onepush_protocol::DeviceKey::generate();
    let forged = sign_decision(&stranger, &device.claims(&ch, DecisionVerdict::Approve));
    device
        .post_jws(&id, &forged)
        .await
        .problem(401, "decision-signature-invalid");
    device
        .post_jws(&id, "not.a.jws")
        .await
        .problem(400, "decision-malformed");
    let status: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(status.status, ChallengeStatus::Pending);
    // Posted twice: the second is refused.
    device
        .post_decision(&id, &device.claims(&ch, DecisionVerdict::Approve))
        .await
        .json::<DecisionAccepted>(200);
    device
        .post_decision(&id, &device.claims(&ch, DecisionVerdict::Deny))
        .await
        .problem(409, "challenge-decided");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn idempotency_key_returns_the_same_challenge_or_refuses_another_body() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, _device) = enrolled(dir.path()).await;
    let body = json!({ "user_id": "alice", "kind": "login", "context": { "ip": "1.2.3.4", "user_agent": "x" } });
    let headers = [
        ("authorization", format!("Bearer {}", bank.api_key)),
        ("content-type", "application/json".into()),
        ("idempotency-key", "k-1".into()),
    ];
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first: ChallengeCreated = bank
        .raw(
            reqwest::Method::POST,
            "/v1/challenges",
            &body.to_string(),
            &h,
        )
        .await
        .json(201);
    let again: ChallengeCreated = bank
        .raw(
            reqwest::Method::POST,
            "/v1/challenges",
            &body.to_string(),
            &h,
        )
        .await
        .json(201);
    assert_eq!(first.id, again.id);
    let other = json!({ "user_id": "alice", "kind": "login", "context": { "ip": "9.9.9.9", "user_agent": "x" } });
    bank.raw(
        reqwest::Method::POST,
        "/v1/challenges",
        &other.to_string(),
        &h,
    )
    .await
    .problem(409, "idempotency-key-reused");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn challenges_need_the_context_fields_of_their_kind_and_an_enrolled_active_user() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, _device) = enrolled(dir.path()).await;
    let p = bank
        .post(
            "/v1/challenges",
            &json!({ "user_id": "alice", "kind": "transaction", "context": { "amount": "5" } }),
        )
        .await
        .problem(400, "invalid-request");
    assert!(p.detail.contains("currency"), "{}", p.detail);
    let p = bank
        .post(
            "/v1/challenges",
            &json!({ "user_id": "alice", "kind": "admin", "context": { "operation": "unlock" } }),
        )
        .await
        .problem(400, "invalid-request");
    assert!(p.detail.contains("target_user_id"), "{}", p.detail);
    let p = bank
        .login("alice", json!({ "ttl_seconds": 5 }))
        .await
        .problem(400, "invalid-request");
    assert!(p.detail.contains("ttl_seconds"), "{}", p.detail);
    bank.login("alice", json!({ "ttl_seconds": 601 }))
        .await
        .problem(400, "invalid-request");
    bank.login("bob", json!({}))
        .await
        .problem(404, "user-not-enrolled");
    let p = bank
        .login(
            "alice",
            json!({ "context": { "ip": 1.5, "user_agent": "x" } }),
        )
        .await
        .problem(400, "invalid-request");
    assert!(p.detail.contains("decimal string"), "{}", p.detail);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn maintenance_mode_refuses_new_challenges_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, _device) = enrolled(dir.path()).await;
    relay.relay.service().set_local_maintenance(true);
    let answer = bank.login("alice", json!({})).await;
    answer.problem(503, "maintenance");
    assert_eq!(answer.headers.get("retry-after").unwrap(), "300");
    relay.relay.service().set_local_maintenance(false);
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn too_many_pending_challenges_are_push_fatigue() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, _device) = enrolled(dir.path()).await;
    for _ in 0..5 {
        bank.login("alice", json!({}))
            .await
            .json::<ChallengeCreated>(201);
    }
    bank.login("alice", json!({}))
        .await
        .problem(429, "push-fatigue");
    relay.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_at_the_same_moment_cannot_pass_the_pending_limit_together() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, _device) = enrolled(dir.path()).await;
    let answers = futures::future::join_all((0..12).map(|_| bank.login("alice", json!({})))).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    assert_eq!(created, 5, "the limit is 5 pending");
    for refused in answers.into_iter().filter(|a| a.status != 201) {
        refused.problem(429, "push-fatigue");
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn another_tenants_challenge_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, _device) = enrolled(dir.path()).await;
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id;
    let other = relay
        .relay
        .add_tenant("other-bank", "Other", None)
        .await
        .unwrap();
    let other = Bank::new(&relay.url, &other.api_key);
    other
        .get(&format!("/v1/challenges/{id}"))
        .await
        .problem(404, "challenge-not-found");
    other
        .delete(&format!("/v1/challenges/{id}"))
        .await
        .problem(404, "challenge-not-found");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn each_challenge_carries_a_fresh_128_bit_nonce() {
    // SP 800-63B 5.1.3.2: the out-of-band secret is ≥ 20 bits from an approved RBG; the
    // nonce the phone signs is 16 random bytes, never repeated.
    let dir = tempfile::tempdir().unwrap();
    let (_relay, bank, device) = enrolled(dir.path()).await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let created: ChallengeCreated = bank.login("alice", json!({})).await.json(201);
        let ch = device.challenge(&created.id.to_string()).await;
        let bytes = onepush_protocol::b64::decode(&ch.nonce).expect("base64url nonce");
        assert_eq!(bytes.len(), 16, "nonce {}", ch.nonce);
        assert!(seen.insert(bytes), "a nonce came twice: {}", ch.nonce);
    }
}

#[tokio::test]
async fn a_decision_authenticates_itself_and_counts_only_for_the_challenge_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let login = |bank: Bank| async move {
        bank.login("alice", json!({}))
            .await
            .json::<ChallengeCreated>(201)
            .id
            .to_string()
    };
    let (a, b) = (login(bank.clone()).await, login(bank.clone()).await);
    let ch_a = device.challenge(&a).await;
    // The app posts no request proof with a decision (`post_jws`): its signature is
    // the authentication. Posted to another challenge's URL, it is refused there and
    // neither challenge moves.
    let approve_a = sign_decision(&device.key, &device.claims(&ch_a, DecisionVerdict::Approve));
    let p = device
        .post_jws(&b, &approve_a)
        .await
        .problem(422, "decision-mismatch");
    assert!(p.detail.contains("challenge ID (chl)"), "{}", p.detail);
    for id in [&a, &b] {
        let ch: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
        assert_eq!(ch.status, ChallengeStatus::Pending);
    }
    // A decision dated before its challenge existed (made for an earlier one, or by a
    // phone whose clock is off) is not an answer.
    let mut stale = device.claims(&ch_a, DecisionVerdict::Approve);
    stale.iat -= 3600;
    let p = device
        .post_decision(&a, &stale)
        .await
        .problem(422, "decision-mismatch");
    // 3600 less the seconds between the challenge's creation and the claims (the clock
    // may have ticked in between on a busy machine).
    let behind: i64 = p
        .detail
        .split(" seconds behind")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", p.detail));
    assert!((3590..=3600).contains(&behind), "{}", p.detail);
    // Clients that still send a proof with it are served as before.
    let accepted: DecisionAccepted = device.post_jws_with_proof(&a, &approve_a).await.json(200);
    assert_eq!(accepted.status, ChallengeStatus::Approved);
    let accepted: DecisionAccepted = device
        .answer(&b, DecisionVerdict::Deny, None)
        .await
        .json(200);
    assert_eq!(accepted.status, ChallengeStatus::Denied);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_replayed_wrong_number_decision_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let (id, number, wrong) = number_matching_login(&bank).await;
    let ch = device.challenge(&id).await;
    let mut claims = device.claims(&ch, DecisionVerdict::Approve);
    claims.num = Some(wrong);
    let wrong = sign_decision(&device.key, &claims);
    let p = device
        .post_jws(&id, &wrong)
        .await
        .problem(422, "number-mismatch");
    assert_eq!(p.attempts_left, Some(2));
    // The same decision again (someone who saw it on the wire replays it, or with its
    // signature's other valid form s' = n - s): not a second miss.
    for replay in [wrong.clone(), other_signature_form(&wrong)] {
        let p = device
            .post_jws(&id, &replay)
            .await
            .problem(422, "decision-mismatch");
        assert!(p.detail.contains("already counted"), "{}", p.detail);
    }
    let accepted: DecisionAccepted = device
        .answer(&id, DecisionVerdict::Approve, Some(number))
        .await
        .json(200);
    assert_eq!(accepted.status, ChallengeStatus::Approved);
    relay.shutdown().await.unwrap();
}

/// The same ES256 signature in its other valid form: (r, n - s).
fn other_signature_form(jws: &str) -> String {
    let (input, sig) = jws.rsplit_once('.').unwrap();
    let raw = onepush_protocol::b64::decode(sig).unwrap();
    let (r, s) = p256::ecdsa::Signature::from_slice(&raw)
        .unwrap()
        .split_scalars();
    let other = p256::ecdsa::Signature::from_scalars(r, -s).unwrap();
    format!(
        "{input}.{}",
        onepush_protocol::b64::encode(other.to_bytes())
    )
}

#[tokio::test]
async fn a_decision_from_a_revoked_or_unknown_credential_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, device) = enrolled(dir.path()).await;
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    let approve = sign_decision(&device.key, &device.claims(&ch, DecisionVerdict::Approve));
    // A key that was never provisioned, naming a made-up credential.
    let mut claims = device.claims(&ch, DecisionVerdict::Approve);
    claims.cid = onepush_protocol::CredentialId::generate("ONEP").unwrap();
    let stranger = onepush_protocol::DeviceKey::generate();
    let p = device
        .post_jws(&id, &sign_decision(&stranger, &claims))
        .await
        .problem(401, "decision-signature-invalid");
    // The same answer as a wrong key (issue 22): nothing says the ID does not exist.
    assert_eq!(
        p.detail,
        "decision signature does not verify with the credential's public key"
    );
    let gone = device
        .send("DELETE", "/v1/device/credentials/self", None)
        .await;
    assert_eq!(gone.status, 204);
    let p = device
        .post_jws(&id, &approve)
        .await
        .problem(401, "decision-signature-invalid");
    assert_eq!(
        p.detail,
        "decision signature does not verify with the credential's public key"
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_store_decides_every_answer_even_when_an_end_goes_unannounced() {
    let dir = tempfile::tempdir().unwrap();
    let (relay, bank, _device) = enrolled(dir.path()).await;
    let created: ChallengeCreated = bank.login("alice", json!({})).await.json(201);
    let id = created.id.to_string();
    // Ended in the store behind the relay's back: no change is published for it, so this
    // relay still counts it among the challenges it made and knows to be pending.
    let store = relay.relay.service().store().clone();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ended = store
        .finish_challenge_audited(
            &created.id,
            ChallengeStatus::Cancelled,
            now,
            None,
            None,
            None,
        )
        .await
        .unwrap();
    assert!(ended);
    // A plain read always asks the store.
    let now: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    assert_eq!(now.status, ChallengeStatus::Cancelled);
    // A long-poll waits, as nothing it can hear of ended it, then answers what the store holds.
    let polled: BankChallenge = bank
        .get(&format!("/v1/challenges/{id}?wait=1"))
        .await
        .json(200);
    assert_eq!(polled.status, ChallengeStatus::Cancelled);
    relay.shutdown().await.unwrap();
}
