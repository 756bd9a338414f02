//! What a stolen phone, a phished code or a second credential cannot do once the lock
//! semantics hold (issue 22, items 1, 2, 10, 11), each tried against a relay on SQLite
//! and on PostgreSQL (`both!` makes a `sqlite::<name>` and a `postgres::<name>` test).

use crate::common;

use std::sync::Arc;

use common::receiver::Receiver;
use common::{Bank, TestDevice};
use onepush_protocol::api::{
    AuditEvent, BankChallenge, BindingState, ChallengeCreated, DecisionAccepted, UserBinding,
    WebhookEvent,
};
use onepush_protocol::{ChallengeStatus, DecisionVerdict, DenyReason};
use onepush_relay::Parts;
use onepush_relay::clock::{Clock as _, ManualClock};
use onepush_relay::settings::Settings;
use onepush_relay::testing::{TestRelay, spawn_relay_with};
use serde_json::json;

common::backends::both!(
    concurrent_wrong_codes_lock_at_exactly_five,
    a_stale_write_cannot_reactivate_a_locked_binding,
    not_me_cancels_the_other_pending_prompt,
    suspend_cancels_pending_prompts,
    the_otp_lock_cancels_pending_prompts,
    concurrent_enrollments_of_one_user_admit_one,
    a_foreign_decision_without_the_nonce_is_refused_and_the_challenge_stays_pending,
    a_foreign_decision_with_the_nonce_ends_the_challenge_without_showing_its_verdict,
    enrollment_guesses_lock_the_credential_for_a_while_and_answer_alike,
    resync_guesses_count_toward_the_otp_lock_and_need_an_active_binding,
);

/// A relay on `settings` (on a manual clock) with alice enrolled.
async fn enrolled(settings: Settings) -> (TestRelay, Bank, TestDevice, ManualClock) {
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(settings, parts, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let c = clock.clone();
    let mut device = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    device.provision(None).await.json::<serde_json::Value>(201);
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    clock.advance(60);
    (relay, bank, device, clock)
}

/// A code that is none of `device`'s near the current time.
fn wrong_codes(device: &TestDevice, n: usize) -> Vec<String> {
    let near: Vec<String> = (-25..=25).map(|o| device.code_at_offset(o)).collect();
    (0..1_000_000)
        .map(|i| format!("{i:06}"))
        .filter(|c| !near.contains(c))
        .take(n)
        .collect()
}

async fn login(bank: &Bank) -> String {
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string()
}

async fn challenge_of(bank: &Bank, id: &str) -> BankChallenge {
    bank.get(&format!("/v1/challenges/{id}")).await.json(200)
}

async fn audit(bank: &Bank) -> Vec<AuditEvent> {
    bank.get("/v1/audit?user_id=alice").await.json(200)
}

async fn concurrent_wrong_codes_lock_at_exactly_five(settings: Settings) {
    let (relay, bank, device, _clock) = enrolled(settings).await;
    let guesses = wrong_codes(&device, 200);
    let tasks: Vec<_> = guesses
        .into_iter()
        .map(|code| {
            let bank = bank.clone();
            tokio::spawn(async move {
                bank.post("/v1/users/alice/otp/verify", &json!({ "code": code }))
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        if answer.status == 409 {
            let p = answer.problem(409, "binding-not-active");
            assert_eq!(p.state, Some(BindingState::Locked));
        }
        statuses.push(answer.status);
    }
    let count = |s: u16| statuses.iter().filter(|&&x| x == s).count();
    assert_eq!(
        (count(422), count(423), count(409)),
        (4, 1, 195),
        "exactly the threshold counted, the rest refused as locked"
    );
    let alice: UserBinding = bank.get("/v1/users/alice").await.json(200);
    assert_eq!(
        (alice.state, alice.failures, alice.lock_reason.as_deref()),
        (BindingState::Locked, 5, Some("otp_failures"))
    );
    let locks = audit(&bank)
        .await
        .into_iter()
        .filter(|e| e.event == "binding.locked")
        .count();
    assert_eq!(locks, 1);
    relay.shutdown().await.unwrap();
}

async fn a_stale_write_cannot_reactivate_a_locked_binding(settings: Settings) {
    let (relay, bank, device, clock) = enrolled(settings).await;
    for code in wrong_codes(&device, 5) {
        bank.post("/v1/users/alice/otp/verify", &json!({ "code": code }))
            .await;
    }
    // The right code, a resync with right codes: neither unlocks or resets anything.
    bank.post(
        "/v1/users/alice/otp/verify",
        &json!({ "code": device.code_at_offset(0) }),
    )
    .await
    .problem(409, "binding-not-active");
    clock.advance(30);
    let codes = [device.code_at_offset(0), device.code_at_offset(1)];
    bank.post("/v1/users/alice/otp/resync", &json!({ "codes": codes }))
        .await
        .problem(409, "binding-not-active");
    let alice: UserBinding = bank.get("/v1/users/alice").await.json(200);
    assert_eq!((alice.state, alice.failures), (BindingState::Locked, 5));
    // Only the bank's unlock reactivates it.
    let alice: UserBinding = bank
        .post("/v1/users/alice/unlock", &json!({}))
        .await
        .json(200);
    assert_eq!((alice.state, alice.failures), (BindingState::Active, 0));
    relay.shutdown().await.unwrap();
}

async fn not_me_cancels_the_other_pending_prompt(settings: Settings) {
    let hook = Receiver::start(200).await;
    let (relay, _bank, device, _clock) = enrolled(settings).await;
    // A tenant with a webhook, alice enrolled there too.
    let tenant = relay
        .relay
        .add_tenant("hook-bank", "Hook Bank", Some(format!("{}/hook", hook.url)))
        .await
        .unwrap();
    let bank = Bank::new(&relay.url, &tenant.api_key);
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    // The attacker, with alice's password, starts two logins; alice sees the first.
    let first = login(&bank).await;
    let second = login(&bank).await;
    let ch = device.challenge(&first).await;
    let mut claims = device.claims(&ch, DecisionVerdict::Deny);
    claims.rsn = Some(DenyReason::NotMe);
    device
        .post_decision(&first, &claims)
        .await
        .json::<DecisionAccepted>(200);
    // The second prompt ended with the lock; approving it now is refused.
    assert_eq!(
        challenge_of(&bank, &second).await.status,
        ChallengeStatus::Cancelled
    );
    device
        .answer(&second, DecisionVerdict::Approve, None)
        .await
        .problem(409, "challenge-decided");
    let events = audit(&bank).await;
    assert!(events.iter().any(|e| e.event == "challenge.cancelled"
        && e.challenge_id.map(|c| c.to_string()) == Some(second.clone())
        && e.detail["reason"] == "not_me"));
    // The bank hears of both: the denial (binding locked) and the cancel (reason).
    let got = hook.wait_for(2).await;
    let events: Vec<WebhookEvent> = got
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let cancel = events
        .iter()
        .find(|e| e.data.id.to_string() == second)
        .expect("the cancel's webhook");
    assert_eq!(cancel.data.status, ChallengeStatus::Cancelled);
    assert_eq!(
        (cancel.reason.as_deref(), cancel.binding_locked),
        (Some("not_me"), true)
    );
    relay.shutdown().await.unwrap();
}

async fn suspend_cancels_pending_prompts(settings: Settings) {
    let (relay, bank, device, _clock) = enrolled(settings).await;
    let id = login(&bank).await;
    let ch = device.challenge(&id).await;
    bank.post("/v1/users/alice/suspend", &json!({}))
        .await
        .json::<UserBinding>(200);
    assert_eq!(
        challenge_of(&bank, &id).await.status,
        ChallengeStatus::Cancelled
    );
    device
        .post_decision(&id, &device.claims(&ch, DecisionVerdict::Approve))
        .await
        .problem(409, "challenge-decided");
    assert!(
        audit(&bank)
            .await
            .iter()
            .any(|e| e.event == "challenge.cancelled" && e.detail["reason"] == "suspended")
    );
    relay.shutdown().await.unwrap();
}

async fn the_otp_lock_cancels_pending_prompts(settings: Settings) {
    let (relay, bank, device, _clock) = enrolled(settings).await;
    let id = login(&bank).await;
    let answers: Vec<u16> = {
        let mut v = Vec::new();
        for code in wrong_codes(&device, 5) {
            v.push(
                bank.post("/v1/users/alice/otp/verify", &json!({ "code": code }))
                    .await
                    .status,
            );
        }
        v
    };
    assert_eq!(answers, [422, 422, 422, 422, 423]);
    assert_eq!(
        challenge_of(&bank, &id).await.status,
        ChallengeStatus::Cancelled
    );
    device
        .answer(&id, DecisionVerdict::Approve, None)
        .await
        .problem(409, "challenge-decided");
    relay.shutdown().await.unwrap();
}

async fn concurrent_enrollments_of_one_user_admit_one(settings: Settings) {
    let (relay, bank, _device, clock) = enrolled(settings).await;
    let mut phones = Vec::new();
    for _ in 0..8 {
        let c = clock.clone();
        let mut phone = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
        phone.provision(None).await.json::<serde_json::Value>(201);
        phones.push(phone);
    }
    let tasks: Vec<_> = phones
        .iter()
        .map(|phone| {
            let (bank, body) = (
                bank.clone(),
                json!({
                    "user_id": "bob",
                    "credential_id": phone.credential_id().as_str(),
                    "codes": phone.enrollment_codes(),
                }),
            );
            tokio::spawn(async move { bank.post("/v1/enrollments", &body).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        if answer.status != 201 {
            answer.problem(409, "already-enrolled");
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 1);
    let enrolled = bank
        .get("/v1/audit?user_id=bob")
        .await
        .json::<Vec<AuditEvent>>(200)
        .into_iter()
        .filter(|e| e.event == "binding.enrolled")
        .count();
    assert_eq!(enrolled, 1);
    relay.shutdown().await.unwrap();
}

async fn a_foreign_decision_without_the_nonce_is_refused_and_the_challenge_stays_pending(
    settings: Settings,
) {
    let (relay, bank, device, clock) = enrolled(settings).await;
    let c = clock.clone();
    let mut other = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    other.provision(None).await.json::<serde_json::Value>(201);
    let id = login(&bank).await;
    let ch = device.challenge(&id).await;
    // The other credential learnt the challenge ID, not what was sent to alice's phone.
    let mut claims = device.claims(&ch, DecisionVerdict::Deny);
    claims.cid = other.credential_id();
    claims.nonce = "bm90LXRoZS1ub25jZQ".into();
    let p = other
        .post_decision(&id, &claims)
        .await
        .problem(403, "foreign-decision");
    assert!(p.detail.contains("nonce"), "{}", p.detail);
    let now = challenge_of(&bank, &id).await;
    assert_eq!((now.status, now.decision), (ChallengeStatus::Pending, None));
    assert!(
        audit(&bank)
            .await
            .iter()
            .any(|e| e.event == "decision.refused"
                && e.detail["signed_by"] == other.credential_id().as_str())
    );
    // Alice's own answer still counts.
    let accepted: DecisionAccepted = device
        .post_decision(&id, &device.claims(&ch, DecisionVerdict::Approve))
        .await
        .json(200);
    assert_eq!(accepted.status, ChallengeStatus::Approved);
    relay.shutdown().await.unwrap();
}

async fn a_foreign_decision_with_the_nonce_ends_the_challenge_without_showing_its_verdict(
    settings: Settings,
) {
    let (relay, bank, device, clock) = enrolled(settings).await;
    let c = clock.clone();
    let mut other = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    other.provision(None).await.json::<serde_json::Value>(201);
    let id = login(&bank).await;
    let ch = device.challenge(&id).await;
    // Signed by another credential, with what was sent: R4 (4) ends it.
    let mut claims = device.claims(&ch, DecisionVerdict::Approve);
    claims.cid = other.credential_id();
    other
        .post_decision(&id, &claims)
        .await
        .problem(403, "credential-mismatch");
    let now = challenge_of(&bank, &id).await;
    assert_eq!(now.status, ChallengeStatus::CredentialMismatch);
    assert_eq!(
        now.decision, None,
        "the foreign verdict is not the decision"
    );
    let events = audit(&bank).await;
    let mismatch = events
        .iter()
        .find(|e| e.event == "challenge.credential_mismatch")
        .expect("audited");
    assert_eq!(mismatch.detail["signed_by"], other.credential_id().as_str());
    relay.shutdown().await.unwrap();
}

async fn enrollment_guesses_lock_the_credential_for_a_while_and_answer_alike(settings: Settings) {
    let (relay, bank, _alice, clock) = enrolled(settings).await;
    let c = clock.clone();
    let mut phone = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    phone.provision(None).await.json::<serde_json::Value>(201);
    let wrong = wrong_codes(&phone, 2);
    let guess =
        |cid: String| json!({ "user_id": "bob", "credential_id": cid, "codes": wrong.clone() });
    let unknown = onepush_protocol::CredentialId::generate("ONEP")
        .unwrap()
        .to_string();
    let refused = bank
        .post("/v1/enrollments", &guess(unknown))
        .await
        .problem(422, "codes-invalid");
    // Five wrong guesses at the phone's ID (the default threshold)...
    for _ in 0..5 {
        let p = bank
            .post("/v1/enrollments", &guess(phone.credential_id().to_string()))
            .await
            .problem(422, "codes-invalid");
        assert_eq!(p, refused);
    }
    // ...and even the right codes are answered like wrong ones, as an unknown ID is.
    let right = json!({
        "user_id": "bob",
        "credential_id": phone.credential_id().as_str(),
        "codes": phone.enrollment_codes(),
    });
    let p = bank
        .post("/v1/enrollments", &right)
        .await
        .problem(422, "codes-invalid");
    assert_eq!(p, refused);
    // Nothing of it is in the bank's audit log.
    let log: Vec<AuditEvent> = bank.get("/v1/audit").await.json(200);
    assert!(log.iter().all(|e| !e.event.starts_with("enrollment")));
    // After the lock period (900 s by default), the owner enrolls.
    clock.advance(900);
    let right = json!({
        "user_id": "bob",
        "credential_id": phone.credential_id().as_str(),
        "codes": phone.enrollment_codes(),
    });
    bank.post("/v1/enrollments", &right)
        .await
        .json::<UserBinding>(201);
    relay.shutdown().await.unwrap();
}

async fn resync_guesses_count_toward_the_otp_lock_and_need_an_active_binding(settings: Settings) {
    let (relay, bank, device, _clock) = enrolled(settings).await;
    let wrong = wrong_codes(&device, 6);
    for code in &wrong[..3] {
        bank.post("/v1/users/alice/otp/verify", &json!({ "code": code }))
            .await
            .problem(422, "code-invalid");
    }
    // A resync with codes that do not match is the fourth failure...
    let p = bank
        .post(
            "/v1/users/alice/otp/resync",
            &json!({ "codes": [wrong[3], wrong[4]] }),
        )
        .await
        .problem(422, "codes-invalid");
    assert!(p.detail.contains("1 attempts left"), "{}", p.detail);
    // ...and the fifth locks, as a wrong code would.
    bank.post(
        "/v1/users/alice/otp/resync",
        &json!({ "codes": [wrong[5], wrong[0]] }),
    )
    .await
    .problem(423, "binding-locked");
    let failed = audit(&bank)
        .await
        .into_iter()
        .filter(|e| e.event == "otp.resync_failed")
        .count();
    assert_eq!(failed, 2);
    // Locked: resync is refused before any code is checked (it used to reset the lock's
    // failures).
    bank.post(
        "/v1/users/alice/otp/resync",
        &json!({ "codes": [device.code_at_offset(0), device.code_at_offset(1)] }),
    )
    .await
    .problem(409, "binding-not-active");
    let alice: UserBinding = bank.get("/v1/users/alice").await.json(200);
    assert_eq!((alice.state, alice.failures), (BindingState::Locked, 5));
    relay.shutdown().await.unwrap();
}
