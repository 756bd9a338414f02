//! The OTP login of a code-token user (R10, R11) against a real relay: a PC token
//! (`onepush-device`'s library, provisioned as `otp`) is registered on the bank's page;
//! after the password its user is asked for the code, checked by the relay.

use crate::common;

use axum::http::StatusCode;
use common::Browser;
use common::world::{World, login, now, world};
use onepush_device::{Authenticator, UnencryptedFileKeyStore};
use onepush_protocol::api::TokenKind;
use onepush_protocol::totp;

/// A code-only token registered for `user` with the codes of the previous and the
/// current step (so the next step's code is free for the login).
async fn registered_pc_token(w: &World, user: &str) -> Authenticator {
    let home = w.dir.path().join("pc");
    std::fs::create_dir_all(&home).unwrap();
    let pc = Authenticator::provision_as(
        Box::new(UnencryptedFileKeyStore::new(&home)),
        &w.relay.url,
        TokenKind::Otp,
        now(),
    )
    .await
    .unwrap();
    let mut browser = common::signed_in(&w.state, user).await;
    let csrf = browser.get("/register").await.csrf();
    let step = totp::step_at(now());
    let secret = pc.vault().totp_secret();
    let (code1, code2) = (
        totp::code_at_step(secret, step - 1),
        totp::code_at_step(secret, step),
    );
    let cid = pc.vault().credential_id().grouped();
    let page = browser
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("credential_id", &cid),
                ("code1", &code1),
                ("code2", &code2),
            ],
        )
        .await;
    assert!(
        page.body.contains("one-push is registered"),
        "{}",
        page.body
    );
    pc
}

fn next_code(pc: &Authenticator) -> String {
    totp::code_at_step(pc.vault().totp_secret(), totp::step_at(now()) + 1)
}

async fn submit(browser: &mut Browser, code: &str) -> common::Page {
    let csrf = browser.get("/login/otp").await.csrf();
    browser
        .post("/login/otp", &[("csrf", &csrf), ("code", code)])
        .await
}

#[tokio::test]
async fn a_code_token_user_signs_in_with_the_code_after_the_password() {
    let w = world().await;
    let pc = registered_pc_token(&w, "approver01").await;

    let (mut browser, next) = login(&w, "approver01").await;
    assert_eq!(next, "/login/otp", "no push for a code token");
    let form = browser.get("/login/otp").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("承認 太郎"), "{}", form.body);
    // Not signed in until the code is checked.
    let early = browser.get("/dashboard").await;
    assert_eq!(early.location.as_deref(), Some("/login"));

    let code = next_code(&pc);
    let wrong = ["000000", "111111"]
        .into_iter()
        .find(|c| *c != code)
        .unwrap();
    let refused = submit(&mut browser, wrong).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("wrong code (4 tries left)"),
        "{}",
        refused.body
    );
    let malformed = submit(&mut browser, "12ab").await;
    assert!(
        malformed.body.contains("enter the 6-digit code"),
        "{}",
        malformed.body
    );

    let done = submit(&mut browser, &code).await;
    assert_eq!(
        done.location.as_deref(),
        Some("/dashboard"),
        "{}",
        done.body
    );
    let dashboard = browser.get("/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(
        dashboard.body.contains("signed in with a one-time code"),
        "{}",
        dashboard.body
    );
    assert!(dashboard.body.contains("code token"), "{}", dashboard.body);

    // The same code again: used once only.
    let (mut again, _) = login(&w, "approver01").await;
    let replayed = submit(&mut again, &code).await;
    assert!(
        replayed.body.contains("code already used"),
        "{}",
        replayed.body
    );
}

#[tokio::test]
async fn the_code_form_needs_a_right_password_first() {
    let w = world().await;
    let mut browser = Browser::new(w.state.clone());
    let page = browser.get("/login/otp").await;
    assert_eq!(page.location.as_deref(), Some("/login"));
    let csrf = browser.get("/login").await.csrf();
    let posted = browser
        .post("/login/otp", &[("csrf", &csrf), ("code", "123456")])
        .await;
    assert_eq!(posted.location.as_deref(), Some("/login"));
}
