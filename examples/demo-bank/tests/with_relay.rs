//! The bank against a real relay (served on 127.0.0.1:0) and an emulated phone
//! (`onepush-device`'s library): enrollment, login, transfer, admin, R17.

use crate::common;

use axum::http::StatusCode;
use common::world::{enroll, login, now, number_on, pending_one, phone, status, world};
use common::{Browser, signed_in};
use onepush_demo_bank::seed;
use onepush_protocol::DenyReason;

#[tokio::test]
async fn enrolled_user_logs_in_with_number_matching_and_the_bank_verifies_the_signature() {
    let w = world().await;
    let mut device = phone(&w, "phone").await;
    enroll(&w, "approver01", &device).await;

    let (mut browser, waiting) = login(&w, "approver01").await;
    assert!(waiting.starts_with("/approval/"), "{waiting}");
    let page = browser.get(&waiting).await;
    let number = number_on(&page.body);
    let challenge = pending_one(&device).await;
    assert_eq!(
        challenge.context.str("user_name"),
        Some("承認 太郎 (Taro Shonin)")
    );
    device
        .approve(&challenge, Some(number), false, now())
        .await
        .unwrap();

    let s = status(&mut browser, &waiting).await;
    assert_eq!(s["status"], "approved");
    assert_eq!(s["location"], "/dashboard");
    let dashboard = browser.get("/dashboard").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(
        dashboard
            .body
            .contains("署名を検証しました / signature verified"),
        "{}",
        dashboard.body
    );
    assert!(
        dashboard
            .body
            .contains(&device.vault().signing_key().public_jwk().thumbprint())
    );
    w.relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn deny_stops_the_login_and_says_so() {
    let w = world().await;
    let mut device = phone(&w, "phone").await;
    enroll(&w, "approver01", &device).await;
    let (mut browser, waiting) = login(&w, "approver01").await;
    let challenge = pending_one(&device).await;
    device
        .deny(&challenge, DenyReason::Declined, false, now())
        .await
        .unwrap();
    let s = status(&mut browser, &waiting).await;
    assert_eq!(s["status"], "denied");
    let result = browser.get(s["location"].as_str().unwrap()).await;
    assert!(
        result.body.contains(r#"data-status="denied""#)
            && result.body.contains("Denied on the phone")
    );
    assert_eq!(
        browser.get("/dashboard").await.location.as_deref(),
        Some("/login")
    );
}

#[tokio::test]
async fn cancel_on_the_waiting_page_withdraws_the_push() {
    let w = world().await;
    let device = phone(&w, "phone").await;
    enroll(&w, "approver01", &device).await;
    let (mut browser, waiting) = login(&w, "approver01").await;
    let csrf = browser.get(&waiting).await.csrf();
    let page = browser
        .post(&format!("{waiting}/cancel"), &[("csrf", &csrf)])
        .await;
    let result = browser.get(page.location.as_deref().unwrap()).await;
    assert!(
        result.body.contains(r#"data-status="cancelled""#),
        "{}",
        result.body
    );
    assert!(device.pending().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_approved_transfer_carries_its_exact_details_and_is_listed() {
    let w = world().await;
    let mut device = phone(&w, "phone").await;
    enroll(&w, "approver01", &device).await;
    let mut browser = signed_in(&w.state, "approver01").await;
    let csrf = browser.get("/transfer").await.csrf();
    let page = browser
        .post(
            "/transfer",
            &[
                ("csrf", &csrf),
                ("payee_name", "カ）ヤマダショウジ"),
                ("payee_account", "さくら銀行 本店 普通 7654321"),
                ("amount", "1,234,567"),
                ("approval_password", seed::APPROVAL_PASSWORD),
            ],
        )
        .await;
    let waiting = page
        .location
        .clone()
        .unwrap_or_else(|| panic!("{}", page.body));
    let challenge = pending_one(&device).await;
    assert_eq!(challenge.context.str("type"), Some("transfer"));
    assert_eq!(challenge.context.str("amount"), Some("1234567"));
    assert_eq!(challenge.context.str("currency"), Some("JPY"));
    assert_eq!(
        challenge.context.str("payee_name"),
        Some("カ）ヤマダショウジ")
    );
    assert!(
        challenge.number_matching,
        "transfers use number matching too"
    );
    let number = number_on(&browser.get(&waiting).await.body);
    device
        .approve(&challenge, Some(number), false, now())
        .await
        .unwrap();
    assert_eq!(
        status(&mut browser, &waiting).await["location"],
        "/transfers"
    );
    let list = browser.get("/transfers").await;
    assert!(
        list.body.contains("¥1,234,567") && list.body.contains("カ）ヤマダショウジ"),
        "{}",
        list.body
    );
    assert!(list.body.contains("署名を検証しました"));
}

#[tokio::test]
async fn admin_unregisters_a_token_with_a_push_and_every_user_is_mailed() {
    let w = world().await;
    let target_phone = phone(&w, "target").await;
    enroll(&w, "approver01", &target_phone).await;
    let mut admin_phone = phone(&w, "admin").await;
    enroll(&w, "admin01", &admin_phone).await;

    let mut admin = signed_in(&w.state, "admin01").await;
    let csrf = admin.get("/admin").await.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("operation", "unregister_token"),
        ("target_user_id", "approver01"),
        ("method", "push"),
        ("approval_password", "wrong-one"),
    ];
    let page = admin.post("/admin", &form).await;
    assert!(
        page.body.contains("wrong password"),
        "a wrong approval password is refused"
    );
    let mut form = form;
    form[4].1 = seed::APPROVAL_PASSWORD;
    let page = admin.post("/admin", &form).await;
    let waiting = page
        .location
        .clone()
        .unwrap_or_else(|| panic!("{}", page.body));
    let challenge = pending_one(&admin_phone).await;
    assert_eq!(challenge.context.str("operation"), Some("unregister_token"));
    assert_eq!(challenge.context.str("target_user_id"), Some("approver01"));
    admin_phone
        .approve(&challenge, None, false, now())
        .await
        .unwrap();
    assert_eq!(status(&mut admin, &waiting).await["location"], "/admin");

    let binding = w
        .state
        .relay
        .user(&"1234567.approver01".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        binding.state,
        onepush_protocol::api::BindingState::Unregistered
    );
    let mails = w.state.store.mails().await.unwrap();
    assert_eq!(mails.len(), 4, "every user with an address");
    assert!(mails.iter().all(|m| m.body.contains("approver01")));
}

#[tokio::test]
async fn r17_approvers_without_a_token_are_refused_after_the_grace_date_but_inquiry_users_are_not()
{
    let w = world().await;
    w.state
        .store
        .set_password_only_until(seed::CONTRACT, "approver01", Some(now() - 60))
        .await
        .unwrap();
    let mut browser = Browser::new(w.state.clone());
    {
        let csrf = browser.get("/login").await.csrf();
        let page = browser
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("contract", seed::CONTRACT),
                    ("user_id", "approver01"),
                    ("password", seed::LOGIN_PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.body.contains("password-only period has ended"),
            "{}",
            page.body
        );
    }
    let (_, location) = login(&w, "viewer01").await;
    assert_eq!(location, "/dashboard");
    assert_eq!(
        browser.get("/dashboard").await.location.as_deref(),
        Some("/login")
    );
}

#[tokio::test]
async fn registering_with_wrong_codes_says_so() {
    let w = world().await;
    let device = phone(&w, "phone").await;
    let mut browser = signed_in(&w.state, "approver01").await;
    let csrf = browser.get("/register").await.csrf();
    let cid = device.vault().credential_id().as_str().to_owned();
    let page = browser
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("credential_id", &cid),
                ("code1", "000000"),
                ("code2", "000001"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("the codes are wrong"), "{}", page.body);
}

/// The bank verifies against the key pinned when the user registered on its page: a
/// token bound to the user at the relay behind the bank's back (here through the
/// relay's API with the bank's own key) gets its challenge, but its approval does not
/// sign the user in.
#[tokio::test]
async fn a_token_bound_behind_the_banks_back_cannot_approve_for_the_user() {
    use onepush_protocol::api::{CreateEnrollment, GraceUntil};
    let w = world().await;
    let registered = phone(&w, "registered").await;
    enroll(&w, "approver01", &registered).await;

    let user = onepush_demo_bank::store::relay_user_id(seed::CONTRACT, "approver01").unwrap();
    let relay = &w.state.relay;
    relay
        .unregister(&user, &GraceUntil::default())
        .await
        .unwrap();
    let mut other = phone(&w, "other").await;
    let codes = other.codes(now());
    relay
        .enroll(&CreateEnrollment {
            user_id: user.clone(),
            credential_id: other.vault().credential_id().clone(),
            codes: [codes.current, codes.next],
            kind: None,
        })
        .await
        .unwrap();

    let (mut browser, waiting) = login(&w, "approver01").await;
    let number = number_on(&browser.get(&waiting).await.body);
    let challenge = pending_one(&other).await;
    other
        .approve(&challenge, Some(number), false, now())
        .await
        .unwrap();
    let s = status(&mut browser, &waiting).await;
    assert_eq!(s["status"], "verification_failed", "{s}");
    assert_ne!(browser.get("/dashboard").await.status, StatusCode::OK);
    let approval = w
        .state
        .store
        .approval(&challenge.id.to_string())
        .await
        .unwrap();
    let why = approval.detail.unwrap_or_default();
    assert!(
        why.contains("the token registered at this bank is")
            && why.contains(&registered.vault().credential_id().to_string()),
        "{why}"
    );
    w.relay.shutdown().await.unwrap();
}
