//! Approving (R1–R3) across the crates: the device library follows the event stream and
//! signs what it shows, the bank SDK checks the signature against the posted context.
//! Each outcome of a challenge (deny, expiry, another credential's answer, number
//! matching, unknown user) is the relay's behaviour, tested once in `relay/tests`.

use crate::common;

use common::{announces, carried, next_matching, now, transfer_context, world};
use onepush_device::events::{self, Incoming, Source};
use onepush_protocol::jws::verify_decision;
use onepush_protocol::{ChallengeKind, ChallengeStatus, Context, DecisionVerdict};
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread")]
async fn approved_login_lets_the_bank_through_with_a_signature_it_can_check() {
    let world = world().await;
    let mut phone = world.enrolled_phone("alice").await;
    assert!(phone.vault().push_endpoint.is_none(), "no Web Push channel");
    let (tx, mut rx) = mpsc::channel(16);
    let follower = events::follow(phone.client().clone(), tx);
    next_matching(&mut rx, 10, |i| matches!(i, Incoming::Connected { .. })).await;

    let created = world.bank.login("alice").await;
    // Without push, the event stream alone brings the challenge, with its details.
    let incoming = next_matching(&mut rx, 10, |i| announces(i, created.id)).await;
    let (id, source, details) = carried(incoming);
    assert_eq!((id, source), (created.id, Source::EventStream));
    assert_eq!(details.status, ChallengeStatus::Pending);
    let challenge = phone.challenge(created.id).await.unwrap();
    assert_eq!(
        details, challenge,
        "the event carries what the signed fetch answers"
    );
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
