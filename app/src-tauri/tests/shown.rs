//! What you see is what you sign, through the app's commands (mock runtime): the app
//! talks to the relay through a compromised-relay stand-in that can swap a
//! challenge's context after it was shown. Nothing the user did not see is signed,
//! and an approval is one signed request.

use crate::common::{app, bank};

use app::{TestApp, block_on, wait_for};
use bank::transfer_context;
use onepush_protocol::ChallengeStatus;
use onepush_relay::testing::tampering::Forwarded;
use serde_json::{Value, json};

/// What the stand-in serves once told to: the same bank and user, another payee.
fn swapped_transfer() -> Value {
    json!({
        "amount": "99000000", "currency": "JPY",
        "payee_name": "ワルモノ", "payee_account": "9999-999-9999999",
    })
}

/// An app behind the stand-in, set up and enrolled for `yamada`, with a transfer the
/// UI has shown (`get_challenge`); the transfer's ID.
fn shown_transfer(t: &TestApp) -> onepush_protocol::ChallengeId {
    let challenges = t.events("challenge");
    let cid = t.set_up(None);
    t.enroll(&cid, "yamada");
    let created = block_on(
        t.bank
            .challenge("yamada", "transaction", transfer_context(), false),
    );
    let id = created.id.to_string();
    wait_for(&challenges, |e| e["id"] == id.as_str());
    let shown = t.show(&id);
    assert_eq!(shown["context"], transfer_context());
    created.id
}

fn pending_at_the_bank(t: &TestApp, id: onepush_protocol::ChallengeId) {
    let outcome = block_on(t.bank.outcome(id, 0));
    assert_eq!(outcome.status, ChallengeStatus::Pending, "nothing approved");
}

#[test]
fn approving_signs_the_copy_shown_with_one_signed_request() {
    let t = TestApp::start_behind_proxy();
    let id = shown_transfer(&t);
    t.proxy().clear();
    let accepted = t.ok("approve", json!({ "id": id.to_string() }));
    assert_eq!(accepted["status"], "approved");

    let requests = t.proxy().requests();
    assert_eq!(requests.len(), 1, "the decision only: {requests:?}");
    assert!(
        requests[0].is_decision() && requests[0].signed,
        "{requests:?}"
    );
    let outcome = block_on(t.bank.outcome(id, 5));
    let claims = block_on(t.bank.verified_decision(&outcome));
    assert!(!claims.uv, "no check ran, so uv is false");
    // Answered already: refused from the status kept, without asking the relay.
    t.proxy().clear();
    assert_eq!(
        t.fails("approve", json!({ "id": id.to_string() })),
        "challenge_decided"
    );
    assert!(
        t.proxy().requests().is_empty(),
        "{:?}",
        t.proxy().requests()
    );
}

#[test]
fn a_request_changed_after_it_was_shown_is_never_signed() {
    let t = TestApp::start_behind_proxy();
    let id = shown_transfer(&t);
    t.proxy().swap_context(swapped_transfer());

    // A refresh brings the other copy: the list keeps what was shown ...
    let pending = t.ok("pending", json!({}));
    assert_eq!(pending[0]["context"], transfer_context(), "{pending}");
    // ... and opening it, approving or denying it say it changed.
    let args = json!({ "id": id.to_string() });
    assert_eq!(t.fails("get_challenge", args.clone()), "challenge_changed");
    assert_eq!(t.fails("approve", args), "challenge_changed");
    assert_eq!(
        t.fails("deny", json!({ "id": id.to_string(), "notMe": true })),
        "challenge_changed"
    );
    assert!(
        !t.proxy().requests().iter().any(Forwarded::is_decision),
        "nothing posted: {:?}",
        t.proxy().requests()
    );
    pending_at_the_bank(&t, id);
}

#[test]
fn a_fetch_that_differs_from_the_event_stream_copy_is_refused() {
    let t = TestApp::start_behind_proxy();
    let challenges = t.events("challenge");
    let cid = t.set_up(None);
    t.enroll(&cid, "yamada");
    // The stream (or the pull when the stream connects) announces the real transfer,
    // and the app records it before it tells the UI; every fetch then serves another
    // payee. (Swapped only once the app was told: a pull made while the stream connects
    // would otherwise bring the swapped copy first.)
    let created = block_on(
        t.bank
            .challenge("yamada", "transaction", transfer_context(), false),
    );
    let id = created.id.to_string();
    wait_for(&challenges, |e| e["id"] == id.as_str());
    t.proxy().swap_context(swapped_transfer());
    assert_eq!(
        t.fails("get_challenge", json!({ "id": id })),
        "challenge_changed"
    );
    assert_eq!(t.fails("approve", json!({ "id": id })), "challenge_changed");
    pending_at_the_bank(&t, created.id);
}

#[test]
fn a_request_never_shown_is_refused_until_it_is_shown() {
    let t = TestApp::start_behind_proxy();
    // No event stream: the app learns of challenges only by fetching them.
    t.proxy().block_event_stream(true);
    let cid = t.set_up(None);
    t.enroll(&cid, "yamada");
    let created = block_on(
        t.bank
            .challenge("yamada", "transaction", transfer_context(), false),
    );
    let id = created.id.to_string();
    assert_eq!(
        t.fails("approve", json!({ "id": id })),
        "challenge_not_shown"
    );
    assert_eq!(
        t.fails("deny", json!({ "id": id, "notMe": false })),
        "challenge_not_shown"
    );
    assert!(!t.proxy().requests().iter().any(Forwarded::is_decision));
    pending_at_the_bank(&t, created.id);

    t.show(&id);
    assert_eq!(t.ok("approve", json!({ "id": id }))["status"], "approved");
}
