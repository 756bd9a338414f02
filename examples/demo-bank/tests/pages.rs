//! The bank's pages that need no relay, driven with `oneshot`.

use crate::common;

use axum::http::StatusCode;
use common::{Browser, NO_RELAY, bank, signed_in};
use onepush_demo_bank::{Settings, seed};

#[tokio::test]
async fn the_login_page_sets_an_http_only_same_site_cookie_and_a_form_token() {
    let mut browser = Browser::new(bank(NO_RELAY, "k", Settings::default()).await);
    let page = browser.get("/login").await;
    assert_eq!(page.status, StatusCode::OK);
    let cookie = page.set_cookie.clone().expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(page.body.contains("契約者番号") && page.body.contains("Contract number"));
    assert!(!page.csrf().is_empty());
}

#[tokio::test]
async fn a_form_without_the_session_token_is_refused() {
    let mut browser = Browser::new(bank(NO_RELAY, "k", Settings::default()).await);
    browser.get("/login").await;
    let page = browser
        .post(
            "/login",
            &[
                ("csrf", "forged"),
                ("contract", seed::CONTRACT),
                ("user_id", "viewer01"),
                ("password", "x"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("expired"));
}

#[tokio::test]
async fn wrong_login_passwords_lock_after_five_tries() {
    let mut browser = Browser::new(bank(NO_RELAY, "k", Settings::default()).await);
    let csrf = browser.get("/login").await.csrf();
    let form = |pw: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("contract", seed::CONTRACT.into()),
            ("user_id", "viewer01".into()),
            ("password", pw.into()),
        ]
    };
    let mut last = String::new();
    for n in 1..=5 {
        let f = form("wrong-password");
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = browser.post("/login", &pairs).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        if n == 1 {
            assert!(page.body.contains("4 tries left"), "{}", page.body);
        }
        last = page.body;
    }
    assert!(last.contains("now locked"));
    let f = form(seed::LOGIN_PASSWORD);
    let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = browser.post("/login", &pairs).await;
    assert!(
        page.body.contains("ロックされています"),
        "the right password does not open a locked account"
    );
}

#[tokio::test]
async fn an_unknown_user_gets_the_same_message_as_a_wrong_password() {
    let mut browser = Browser::new(bank(NO_RELAY, "k", Settings::default()).await);
    let csrf = browser.get("/login").await.csrf();
    let page = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("contract", seed::CONTRACT),
                ("user_id", "nobody"),
                ("password", "x"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains("wrong contract number, user ID or password")
    );
}

#[tokio::test]
async fn a_right_password_with_the_relay_down_says_the_service_is_unavailable() {
    let mut browser = Browser::new(bank(NO_RELAY, "k", Settings::default()).await);
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
        page.body.contains("authentication service is unavailable"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn pages_behind_the_login_send_strangers_to_it() {
    let mut browser = Browser::new(bank(NO_RELAY, "k", Settings::default()).await);
    for path in ["/dashboard", "/transfer", "/admin", "/transfers"] {
        let page = browser.get(path).await;
        assert_eq!(page.location.as_deref(), Some("/login"), "{path}");
    }
}

#[tokio::test]
async fn the_admin_page_is_for_admins_only() {
    let state = bank(NO_RELAY, "k", Settings::default()).await;
    let mut approver = signed_in(&state, "approver01").await;
    assert_eq!(approver.get("/admin").await.status, StatusCode::FORBIDDEN);
    let mut admin = signed_in(&state, "admin01").await;
    let page = admin.get("/admin").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("viewer01") && page.body.contains("①ロック解除"));
}

#[tokio::test]
async fn inquiry_only_users_cannot_transfer() {
    let state = bank(NO_RELAY, "k", Settings::default()).await;
    let mut viewer = signed_in(&state, "viewer01").await;
    let page = viewer.get("/transfer").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("inquiry-only"));
}

#[tokio::test]
async fn a_transfer_with_a_wrong_approval_password_is_refused() {
    let state = bank(NO_RELAY, "k", Settings::default()).await;
    let mut browser = signed_in(&state, "approver01").await;
    let csrf = browser.get("/transfer").await.csrf();
    let page = browser
        .post(
            "/transfer",
            &[
                ("csrf", &csrf),
                ("payee_name", "カ）ヤマダ"),
                ("payee_account", "さくら銀行 本店 普通 7654321"),
                ("amount", "50000"),
                ("approval_password", "nope"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("wrong password: 4 tries left"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("7654321"),
        "the form keeps what was typed"
    );
}

#[tokio::test]
async fn payment_screens_refuse_bad_forms_and_wrong_passwords_before_any_push() {
    let state = bank(NO_RELAY, "k", Settings::default()).await;
    let mut browser = signed_in(&state, "approver01").await;
    let menu = browser.get("/payments").await;
    for kind in [
        "bulk_transfer",
        "payroll_transfer",
        "tax_payment",
        "direct_debit",
        "settings_change",
    ] {
        assert!(
            menu.body.contains(&format!("/payments/{kind}")),
            "{kind} on the menu"
        );
    }
    let csrf = browser.get("/payments/tax_payment").await.csrf();
    let bad = browser
        .post(
            "/payments/tax_payment",
            &[
                ("csrf", &csrf),
                ("payee_institution_number", "0010"),
                ("customer_number", "1234"),
                ("confirmation_number", "99"),
                ("amount", "5000"),
                ("approval_password", seed::APPROVAL_PASSWORD),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("must be 5 digits"), "{}", bad.body);
    assert!(
        bad.body.contains(r#"value="1234""#),
        "the form keeps what was typed"
    );
    let wrong = browser
        .post(
            "/payments/tax_payment",
            &[
                ("csrf", &csrf),
                ("payee_institution_number", "00100"),
                ("customer_number", "1234"),
                ("confirmation_number", "99"),
                ("amount", "5000"),
                ("approval_password", "nope"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("wrong password: 4 tries left"),
        "{}",
        wrong.body
    );
    assert_eq!(
        browser.get("/payments/refund").await.status,
        StatusCode::NOT_FOUND
    );
    let mut viewer = signed_in(&state, "viewer01").await;
    assert_eq!(
        viewer.get("/payments/direct_debit").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn admin_form_errors_are_shown() {
    let state = bank(NO_RELAY, "k", Settings::default()).await;
    let mut admin = signed_in(&state, "admin01").await;
    let csrf = admin.get("/admin").await.csrf();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("operation", "unlock_passwords"),
                ("target_user_id", "ghost"),
            ],
            "no such user",
        ),
        (
            &[
                ("operation", "reset_passwords"),
                ("target_user_id", "viewer01"),
            ],
            "at least one new password",
        ),
        (
            &[
                ("operation", "reset_passwords"),
                ("target_user_id", "viewer01"),
                ("new_login_password", "newpass123"),
                ("new_login_password2", "newpass124"),
            ],
            "the two entries differ",
        ),
        (
            &[
                ("operation", "unregister_token"),
                ("target_user_id", "approver01"),
            ],
            "needs your approval password",
        ),
    ];
    for (fields, expected) in cases {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let page = admin.post("/admin", &form).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{expected}");
        assert!(page.body.contains(expected), "{expected}: {}", page.body);
    }
}

#[tokio::test]
async fn an_admin_reset_by_otp_with_a_bad_code_is_refused_before_the_relay() {
    let state = bank(NO_RELAY, "k", Settings::default()).await;
    let mut admin = signed_in(&state, "admin01").await;
    let csrf = admin.get("/admin").await.csrf();
    let page = admin
        .post(
            "/admin",
            &[
                ("csrf", &csrf),
                ("operation", "unlock_passwords"),
                ("target_user_id", "viewer01"),
                ("method", "otp"),
                ("otp", "12"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("enter your 6-digit code"));
}

#[tokio::test]
async fn the_outbox_starts_empty_and_the_staff_page_needs_its_password() {
    let mut browser = Browser::new(bank(NO_RELAY, "k", Settings::default()).await);
    assert!(browser.get("/outbox").await.body.contains("no mail yet"));
    let csrf = browser.get("/staff").await.csrf();
    let page = browser
        .post("/staff/login", &[("csrf", &csrf), ("password", "wrong")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("wrong staff password"));
    let page = browser
        .post(
            "/staff/action",
            &[
                ("csrf", &csrf),
                ("user_id", "viewer01"),
                ("action", "unlock"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn registration_checks_the_credential_id_and_codes_before_asking_the_relay() {
    let state = bank(NO_RELAY, "k", Settings::default()).await;
    let mut browser = signed_in(&state, "approver01").await;
    let csrf = browser.get("/register").await.csrf();
    let page = browser
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("credential_id", "ONEP12345675"),
                ("code1", "123456"),
                ("code2", "234567"),
            ],
        )
        .await;
    assert!(page.body.contains("check digit"), "{}", page.body);
    let page = browser
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("credential_id", "ONEP 1234 5674"),
                ("code1", "123456"),
                ("code2", "123456"),
            ],
        )
        .await;
    assert!(
        page.body
            .contains("two different consecutive 6-digit codes")
    );
}

#[tokio::test]
async fn the_stylesheet_and_health_check_are_served() {
    let mut browser = Browser::new(bank(NO_RELAY, "k", Settings::default()).await);
    assert!(
        browser
            .get("/static/style.css")
            .await
            .body
            .contains("--navy")
    );
    assert_eq!(browser.get("/healthz").await.body, "ok");
}
