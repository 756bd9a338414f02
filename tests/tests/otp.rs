//! Security codes used as one-time passwords (R7, R12, R15): each code once, lock after
//! five failures, unlock by the bank, resync after clock drift.

use crate::common;

use common::{code_at, slug};
use onepush_device::Authenticator;
use onepush_protocol::totp;
use reqwest::Method;
use serde_json::json;

/// A six-digit code that no step near now gives this phone.
fn wrong_code(phone: &Authenticator) -> String {
    let near: Vec<String> = (-3..=3).map(|offset| code_at(phone, offset)).collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .expect("a wrong code")
}

#[tokio::test(flavor = "multi_thread")]
async fn code_used_twice_is_refused() {
    let world = common::world().await;
    let phone = world.enrolled_phone("alice").await;
    let code = code_at(&phone, 1);

    let (status, body) = world.bank.verify_otp("alice", &code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["valid"], true);
    let (status, problem) = world.bank.verify_otp("alice", &code).await;
    assert_eq!(
        (status.as_u16(), slug(&problem)),
        (422, "code-replayed"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn five_wrong_codes_lock_the_user_and_unlock_restores_codes() {
    let world = common::world().await;
    let phone = world.enrolled_phone("alice").await;
    let wrong = wrong_code(&phone);

    for attempts_left in (1..=4).rev() {
        let (status, problem) = world.bank.verify_otp("alice", &wrong).await;
        assert_eq!(
            (status.as_u16(), slug(&problem)),
            (422, "code-invalid"),
            "{problem}"
        );
        assert_eq!(problem["attempts_left"], attempts_left, "{problem}");
    }
    let (status, problem) = world.bank.verify_otp("alice", &wrong).await;
    assert_eq!(
        (status.as_u16(), slug(&problem)),
        (423, "binding-locked"),
        "{problem}"
    );
    let (_, user) = world.bank.user("alice").await;
    assert_eq!(
        (user["state"].as_str(), user["lock_reason"].as_str()),
        (Some("locked"), Some("otp_failures"))
    );

    let right = code_at(&phone, 1);
    let (status, problem) = world.bank.verify_otp("alice", &right).await;
    assert_eq!(
        (status.as_u16(), slug(&problem)),
        (409, "binding-not-active"),
        "locked means locked: {problem}"
    );

    let (status, user) = world
        .bank
        .call(Method::POST, "/v1/users/alice/unlock", None)
        .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        (user["state"].as_str(), user["failures"].as_u64()),
        (Some("active"), Some(0))
    );
    let (status, body) = world.bank.verify_otp("alice", &right).await;
    assert_eq!(status, 200, "a good code works again after unlock: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn resync_with_two_codes_puts_a_drifted_phone_back_in_step() {
    let world = common::world().await;
    let phone = world.enrolled_phone("alice").await;
    // The phone's clock runs five steps (2.5 minutes) ahead of the relay's.
    let base = totp::step_at(common::now());
    let ahead = |steps: u64| totp::code_at_step(phone.vault().totp_secret(), base + steps);

    let (status, problem) = world.bank.verify_otp("alice", &ahead(5)).await;
    assert_eq!(
        (status.as_u16(), slug(&problem)),
        (422, "code-invalid"),
        "out of the normal window: {problem}"
    );

    let body = json!({ "codes": [ahead(5), ahead(6)] });
    let (status, resynced) = world
        .bank
        .call(Method::POST, "/v1/users/alice/otp/resync", Some(body))
        .await;
    assert_eq!(status, 200, "{resynced}");
    let drift = resynced["drift_steps"].as_i64().unwrap();
    assert!(
        (5..=6).contains(&drift),
        "drift measured from the second code: {resynced}"
    );

    let (status, body) = world.bank.verify_otp("alice", &ahead(7)).await;
    assert_eq!(
        status, 200,
        "the drifted phone's next code is accepted: {body}"
    );
    let (_, user) = world.bank.user("alice").await;
    assert_eq!(user["drift_steps"].as_i64(), Some(drift));
}
