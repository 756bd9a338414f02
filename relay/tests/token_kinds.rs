//! Token kinds (R10, R11; issue 21 item 4): a credential is provisioned as a push token
//! or a code-only token (`otp`, such as a PC token); enrollment records the kind on the
//! binding; a challenge for a code-token user is refused; a user has one kind at a time.
//! Each test runs against a relay on SQLite and on PostgreSQL (`both!`).

use crate::common;

use std::sync::Arc;

use common::{Answer, Bank, TestDevice};
use onepush_protocol::api::{
    AuditEvent, BindingState, ChallengeCreated, OtpResynced, OtpVerified, Provisioned,
    ReportedLost, TokenKind, UserBinding,
};
use onepush_relay::Parts;
use onepush_relay::clock::{Clock as _, ManualClock};
use onepush_relay::settings::Settings;
use onepush_relay::testing::{TestRelay, spawn_relay_with};
use serde_json::{Value, json};

common::backends::both!(
    a_code_token_gets_codes_and_no_push,
    a_push_token_is_the_default_and_checks_codes_too,
    a_live_binding_of_the_other_kind_is_unregistered_first,
    an_enrollment_asking_for_a_kind_refuses_the_other_after_the_codes,
);

/// A relay on `settings`, on a manual clock.
async fn relay(settings: Settings) -> (TestRelay, Bank, ManualClock) {
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(settings, parts, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    (relay, bank, clock)
}

/// A device on `clock` provisioned with `kind` in the request (`None`: no `kind` field).
async fn device(relay: &TestRelay, clock: &ManualClock, kind: Option<&str>) -> TestDevice {
    let c = clock.clone();
    let mut device = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    let mut body = json!({ "jwk": device.key.public_jwk() });
    if let Some(kind) = kind {
        body["kind"] = kind.into();
    }
    let answer = device
        .send("POST", "/v1/device/credentials", Some(&body))
        .await;
    device.provisioned = Some(answer.json::<Provisioned>(201));
    device
}

fn kind_of(device: &TestDevice) -> TokenKind {
    device.provisioned.as_ref().expect("provisioned").kind
}

/// Enrolls `user` with `device`'s codes, the request asking for `kind` if given.
async fn enroll(bank: &Bank, user: &str, device: &TestDevice, kind: Option<&str>) -> Answer {
    let mut body = json!({
        "user_id": user,
        "credential_id": device.credential_id().as_str(),
        "codes": device.enrollment_codes(),
    });
    if let Some(kind) = kind {
        body["kind"] = kind.into();
    }
    bank.post("/v1/enrollments", &body).await
}

async fn verify(bank: &Bank, user: &str, code: String) -> Answer {
    bank.post(
        &format!("/v1/users/{user}/otp/verify"),
        &json!({ "code": code }),
    )
    .await
}

async fn audit(bank: &Bank) -> Vec<AuditEvent> {
    bank.get("/v1/audit?user_id=alice").await.json(200)
}

async fn a_code_token_gets_codes_and_no_push(settings: Settings) {
    let (relay, bank, clock) = relay(settings).await;
    let pc = device(&relay, &clock, Some("otp")).await;
    assert_eq!(kind_of(&pc), TokenKind::Otp);
    let bound: UserBinding = enroll(&bank, "alice", &pc, None).await.json(201);
    assert_eq!(bound.kind, TokenKind::Otp);
    let read: UserBinding = bank.get("/v1/users/alice").await.json(200);
    assert_eq!(
        (read.kind, read.state),
        (TokenKind::Otp, BindingState::Active)
    );
    let raw: Value = bank.get("/v1/users/alice").await.json(200);
    assert_eq!(raw["kind"], "otp");

    // No push: the bank is told to ask for a code instead, and nothing is created.
    let p = bank
        .login("alice", json!({}))
        .await
        .problem(409, "code-token");
    assert!(p.detail.contains("code token"), "{}", p.detail);
    assert!(p.detail.contains("one-time codes"), "{}", p.detail);
    assert!(p.detail.contains("/otp/verify"), "{}", p.detail);
    let events = audit(&bank).await;
    assert!(
        events.iter().all(|e| e.event != "challenge.created"),
        "{events:?}"
    );
    let enrolled = events
        .iter()
        .find(|e| e.event == "binding.enrolled")
        .expect("enrolled");
    assert_eq!(enrolled.detail["kind"], "otp");

    // Codes: verified, replay refused, resync works.
    clock.advance(60);
    let ok: OtpVerified = verify(&bank, "alice", pc.code_at_offset(0)).await.json(200);
    assert!(ok.valid);
    verify(&bank, "alice", pc.code_at_offset(0))
        .await
        .problem(422, "code-replayed");
    clock.advance(60);
    let resynced: OtpResynced = bank
        .post(
            "/v1/users/alice/otp/resync",
            &json!({ "codes": [pc.code_at_offset(-1), pc.code_at_offset(0)] }),
        )
        .await
        .json(200);
    assert_eq!(resynced.drift_steps, 0);

    // A suspended code token is refused as not active (its grace date is what counts).
    bank.post("/v1/users/alice/suspend", &json!({}))
        .await
        .json::<UserBinding>(200);
    bank.login("alice", json!({}))
        .await
        .problem(409, "binding-not-active");
    relay.shutdown().await.unwrap();
}

async fn a_push_token_is_the_default_and_checks_codes_too(settings: Settings) {
    let (relay, bank, clock) = relay(settings).await;
    let phone = device(&relay, &clock, None).await;
    assert_eq!(kind_of(&phone), TokenKind::Push);
    let explicit = device(&relay, &clock, Some("push")).await;
    assert_eq!(kind_of(&explicit), TokenKind::Push);
    let bound: UserBinding = enroll(&bank, "alice", &phone, None).await.json(201);
    assert_eq!(bound.kind, TokenKind::Push);
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201);
    clock.advance(60);
    verify(&bank, "alice", phone.code_at_offset(0))
        .await
        .json::<OtpVerified>(200);

    // A kind the relay does not know is a bad request naming the field.
    let c = clock.clone();
    let stranger = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    let body = json!({ "jwk": stranger.key.public_jwk(), "kind": "sms" });
    let p = stranger
        .send("POST", "/v1/device/credentials", Some(&body))
        .await
        .problem(400, "invalid-request");
    assert!(
        p.detail.contains("kind") || p.detail.contains("sms"),
        "{}",
        p.detail
    );
    relay.shutdown().await.unwrap();
}

async fn a_live_binding_of_the_other_kind_is_unregistered_first(settings: Settings) {
    let (relay, bank, clock) = relay(settings).await;
    let phone = device(&relay, &clock, Some("push")).await;
    let pc = device(&relay, &clock, Some("otp")).await;
    enroll(&bank, "alice", &phone, None)
        .await
        .json::<UserBinding>(201);
    clock.advance(60);

    // Active push binding: the code token is refused, the detail saying what to do.
    let p = enroll(&bank, "alice", &pc, None)
        .await
        .problem(409, "already-enrolled");
    assert!(p.detail.contains("push token"), "{}", p.detail);
    assert!(p.detail.contains("unregister first"), "{}", p.detail);
    let p = enroll(&bank, "alice", &pc, Some("otp"))
        .await
        .problem(409, "token-kind-conflict");
    assert!(p.detail.contains("unregister it first"), "{}", p.detail);
    assert!(p.detail.contains("a push token"), "{}", p.detail);
    assert!(p.detail.contains("a code token"), "{}", p.detail);
    assert_eq!(p.state, Some(BindingState::Active));

    // Suspended and locked bindings are still the user's token: refused alike.
    bank.post("/v1/users/alice/suspend", &json!({}))
        .await
        .json::<UserBinding>(200);
    let p = enroll(&bank, "alice", &pc, Some("otp"))
        .await
        .problem(409, "token-kind-conflict");
    assert_eq!(p.state, Some(BindingState::Suspended));
    bank.post("/v1/users/alice/resume", &json!({}))
        .await
        .json::<UserBinding>(200);
    let lost = format!(
        "/v1/credentials/{}/report-lost",
        phone.credential_id().as_str()
    );
    bank.post(&lost, &json!({})).await.json::<ReportedLost>(200);
    let locked: UserBinding = bank.get("/v1/users/alice").await.json(200);
    assert_eq!(locked.state, BindingState::Locked);
    let p = enroll(&bank, "alice", &pc, Some("otp"))
        .await
        .problem(409, "token-kind-conflict");
    assert_eq!(p.state, Some(BindingState::Locked));

    // Unregistered: the code token takes its place, and pushes stop.
    bank.delete("/v1/users/alice/enrollment")
        .await
        .json::<UserBinding>(200);
    let bound: UserBinding = enroll(&bank, "alice", &pc, Some("otp")).await.json(201);
    assert_eq!(
        (bound.kind, bound.credential_id.clone()),
        (TokenKind::Otp, pc.credential_id())
    );
    bank.login("alice", json!({}))
        .await
        .problem(409, "code-token");

    // And back: a push token over the code token needs unregistering too.
    clock.advance(60);
    let p = enroll(&bank, "alice", &phone, Some("push"))
        .await
        .problem(409, "token-kind-conflict");
    assert!(
        p.detail.contains("has a code token (otp) bound"),
        "{}",
        p.detail
    );
    bank.delete("/v1/users/alice/enrollment")
        .await
        .json::<UserBinding>(200);
    let phone2 = device(&relay, &clock, None).await;
    let bound: UserBinding = enroll(&bank, "alice", &phone2, None).await.json(201);
    assert_eq!(bound.kind, TokenKind::Push);
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201);
    relay.shutdown().await.unwrap();
}

async fn an_enrollment_asking_for_a_kind_refuses_the_other_after_the_codes(settings: Settings) {
    let (relay, bank, clock) = relay(settings).await;
    let pc = device(&relay, &clock, Some("otp")).await;
    // The bank's page enrolls push tokens only: the codes prove a code token.
    let p = enroll(&bank, "alice", &pc, Some("push"))
        .await
        .problem(409, "token-kind-mismatch");
    assert!(p.detail.contains("is a code token (otp)"), "{}", p.detail);
    assert!(p.detail.contains("requires a push token"), "{}", p.detail);
    bank.get("/v1/users/alice")
        .await
        .problem(404, "user-not-enrolled");
    // The codes were not used up: the same ones enroll where the kind fits.
    let bound: UserBinding = enroll(&bank, "alice", &pc, Some("otp")).await.json(201);
    assert_eq!(bound.kind, TokenKind::Otp);

    // Wrong codes with a kind are wrong codes (the kind is not told before the codes).
    let phone = device(&relay, &clock, None).await;
    let body = json!({
        "user_id": "bob",
        "credential_id": phone.credential_id().as_str(),
        "codes": ["000000", "000001"],
        "kind": "otp",
    });
    bank.post("/v1/enrollments", &body)
        .await
        .problem(422, "codes-invalid");
    relay.shutdown().await.unwrap();
}
