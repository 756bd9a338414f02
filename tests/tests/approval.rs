//! Approving and denying (R1–R4): what the bank sees for each answer a phone gives,
//! or does not give.

use crate::common;

use common::{announces, next_matching, now, slug, transfer_context, world};
use onepush_device::DeviceError;
use onepush_device::events::{self, Incoming};
use onepush_protocol::jws::verify_decision;
use onepush_protocol::{ChallengeKind, ChallengeStatus, Context, DecisionVerdict, DenyReason};
use serde_json::json;
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread")]
async fn approved_login_lets_the_bank_through_with_a_signature_it_can_check() {
    let world = world().await;
    let mut phone = world.enrolled_phone("alice").await;
    let (tx, mut rx) = mpsc::channel(16);
    let follower = events::follow(phone.client().clone(), tx);
    next_matching(&mut rx, 10, |i| matches!(i, Incoming::Connected { .. })).await;

    let created = world.bank.login("alice").await;
    next_matching(&mut rx, 10, |i| announces(i, created.id)).await;
    let challenge = phone.challenge(created.id).await.unwrap();
    assert_eq!(challenge.kind, ChallengeKind::Login);
    assert_eq!(challenge.tenant_name, "Test Bank");
    phone.approve(&challenge, None, false, now()).await.unwrap();

    let outcome = world.bank.outcome(created.id, 10).await;
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    let decision = outcome.decision.expect("the signed answer");
    let key = world.bank.jwk(phone.vault().credential_id()).await;
    let claims = verify_decision(&decision.jws, &key.jwk, phone.vault().credential_id()).unwrap();
    assert_eq!(claims.dec, DecisionVerdict::Approve);
    assert_eq!(claims.chl, created.id);
    assert_eq!(claims.sub.as_str(), "alice");
    assert_eq!(
        claims.ctx,
        outcome.context.digest_b64(),
        "the bank's own context is what was signed"
    );
    assert_eq!(phone.vault().history.len(), 1);
    assert_eq!(phone.vault().history[0].status, ChallengeStatus::Approved);
    follower.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_login_stops_the_bank() {
    let world = world().await;
    let mut phone = world.enrolled_phone("alice").await;
    let created = world.bank.login("alice").await;
    let challenge = phone.challenge(created.id).await.unwrap();
    phone
        .deny(&challenge, DenyReason::Declined, false, now())
        .await
        .unwrap();

    let outcome = world.bank.outcome(created.id, 10).await;
    assert_eq!(outcome.status, ChallengeStatus::Denied);
    let decision = outcome.decision.expect("the signed answer");
    assert_eq!(decision.verdict, DecisionVerdict::Deny);
    assert_eq!(decision.reason, Some(DenyReason::Declined));
    let (_, user) = world.bank.user("alice").await;
    assert_eq!(
        user["state"], "active",
        "a plain denial does not lock the user"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unanswered_challenge_expires_and_a_late_answer_is_refused() {
    let world = world().await;
    let mut phone = world.enrolled_phone("alice").await;
    let created = world
        .bank
        .challenge("alice", "login", common::login_context(), 10, false)
        .await;
    let challenge = phone.challenge(created.id).await.unwrap();

    let outcome = world.bank.outcome(created.id, 30).await;
    assert_eq!(outcome.status, ChallengeStatus::Expired);
    assert!(outcome.decision.is_none());

    let late = phone
        .approve(&challenge, None, false, now())
        .await
        .unwrap_err();
    let DeviceError::Client(error) = late else {
        panic!("{late}")
    };
    assert_eq!(error.slug(), Some("challenge-expired"), "{error}");
    assert!(
        phone.vault().history.is_empty(),
        "a refused answer is not in the history"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn answer_signed_by_another_phone_ends_in_credential_mismatch() {
    let world = world().await;
    let phone = world.enrolled_phone("alice").await;
    let intruder = world.enrolled_phone("mallory").await;
    let created = world.bank.login("alice").await;
    let challenge = phone.challenge(created.id).await.unwrap();

    let not_yours = intruder.challenge(created.id).await.unwrap_err();
    assert!(
        not_yours.to_string().contains("404"),
        "another phone cannot read it: {not_yours}"
    );
    let forged = intruder
        .sign_approval(&challenge, None, true, now())
        .unwrap();
    let refused = intruder
        .client()
        .post_decision(created.id, &forged)
        .await
        .unwrap_err();
    assert_eq!(refused.slug(), Some("credential-mismatch"), "{refused}");

    let outcome = world.bank.outcome(created.id, 10).await;
    assert_eq!(outcome.status, ChallengeStatus::CredentialMismatch);
    // The intruder's verdict is never shown as the challenge's decision.
    assert_eq!(outcome.decision, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn transaction_is_shown_exactly_as_the_bank_posted_it() {
    let world = world().await;
    let mut phone = world.enrolled_phone("alice").await;
    let posted = transfer_context();
    let created = world
        .bank
        .challenge("alice", "transaction", posted.clone(), 60, false)
        .await;

    let challenge = phone.challenge(created.id).await.unwrap();
    assert_eq!(challenge.kind, ChallengeKind::Transaction);
    assert_eq!(serde_json::to_value(&challenge.context).unwrap(), posted);
    phone.approve(&challenge, None, false, now()).await.unwrap();

    let outcome = world.bank.outcome(created.id, 10).await;
    let key = world.bank.jwk(phone.vault().credential_id()).await;
    let claims = verify_decision(
        &outcome.decision.unwrap().jws,
        &key.jwk,
        phone.vault().credential_id(),
    )
    .unwrap();
    let digest = Context::from_value(posted).unwrap().digest_b64();
    assert_eq!(
        claims.ctx, digest,
        "the signature covers the posted amount and payee"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn number_matching_approves_with_the_right_number_only() {
    let world = world().await;
    let mut phone = world.enrolled_phone("alice").await;

    let created = world
        .bank
        .challenge("alice", "login", common::login_context(), 60, true)
        .await;
    let shown = created.number.expect("the number the bank shows");
    assert!((10..=99).contains(&shown));
    let challenge = phone.challenge(created.id).await.unwrap();
    assert!(challenge.number_matching);
    let missing = phone
        .approve(&challenge, None, false, now())
        .await
        .unwrap_err();
    assert!(
        matches!(missing, DeviceError::NumberRequired { .. }),
        "{missing}"
    );
    let wrong = if shown == 99 { 10 } else { shown + 1 };
    let refused = phone
        .approve(&challenge, Some(wrong), false, now())
        .await
        .unwrap_err();
    let DeviceError::Client(error) = refused else {
        panic!("{refused}")
    };
    assert_eq!(error.slug(), Some("number-mismatch"), "{error}");

    let second = world
        .bank
        .challenge(
            "alice",
            "login",
            json!({"ip": "198.51.100.1", "user_agent": "Edge"}),
            60,
            true,
        )
        .await;
    let challenge = phone.challenge(second.id).await.unwrap();
    phone
        .approve(&challenge, second.number, false, now())
        .await
        .unwrap();
    let outcome = world.bank.outcome(second.id, 10).await;
    assert_eq!(outcome.status, ChallengeStatus::Approved);
}

#[tokio::test(flavor = "multi_thread")]
async fn challenge_for_a_user_never_enrolled_is_refused() {
    let world = world().await;
    let (status, problem) = world
        .bank
        .try_challenge("nobody", "login", common::login_context(), 60, false)
        .await;
    assert_eq!(status, 404);
    assert_eq!(slug(&problem), "user-not-enrolled");
}
