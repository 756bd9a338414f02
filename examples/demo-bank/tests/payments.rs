//! The payment screens against a real relay and an emulated phone (R2): each
//! transaction type is approved with number matching, applied and listed; a
//! denied one is not.

use crate::common;

use common::signed_in;
use common::world::{enroll, now, number_on, pending_one, phone, status, world};
use onepush_demo_bank::seed;
use onepush_protocol::DenyReason;

/// The form of each payment screen, filled.
fn payment_form(kind: &str) -> Vec<(&'static str, &'static str)> {
    match kind {
        "bulk_transfer" => vec![(
            "lines",
            "カ）ヤマダ,さくら銀行 本店 普通 1111111,120000\nスズキ,みどり銀行 駅前 普通 2222222,80000",
        )],
        "payroll_transfer" => vec![
            ("payment_date", "2999-12-25"),
            ("lines", "ヤマダ タロウ,さくら銀行 本店 普通 3333333,300000"),
        ],
        "tax_payment" => vec![
            ("payee_institution_number", "00100"),
            ("customer_number", "12345678901234567890"),
            ("confirmation_number", "123456"),
            ("amount", "350,000"),
        ],
        "direct_debit" => vec![
            ("creditor", "東京電力エナジーパートナー"),
            ("amount", "15800"),
            ("debit_date", "2999-12-27"),
        ],
        "settings_change" => vec![("new_email", "keiri-new@example.co.jp")],
        other => panic!("no form for {other}"),
    }
}

#[tokio::test]
async fn every_payment_screen_is_approved_with_number_matching_and_listed() {
    let w = world().await;
    let mut device = phone(&w, "phone").await;
    enroll(&w, "approver01", &device).await;
    let mut browser = signed_in(&w.state, "approver01").await;
    let kinds = [
        "bulk_transfer",
        "payroll_transfer",
        "tax_payment",
        "direct_debit",
        "settings_change",
    ];
    for kind in kinds {
        let path = format!("/payments/{kind}");
        let csrf = browser.get(&path).await.csrf();
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("approval_password", seed::APPROVAL_PASSWORD),
        ];
        form.extend(payment_form(kind));
        let page = browser.post(&path, &form).await;
        let waiting = page
            .location
            .clone()
            .unwrap_or_else(|| panic!("{kind}: {}", page.body));
        let challenge = pending_one(&device).await;
        assert_eq!(challenge.context.str("type"), Some(kind));
        assert!(challenge.number_matching, "{kind}");
        let shown = browser.get(&waiting).await.body;
        let number = number_on(&shown);
        device
            .approve(&challenge, Some(number), false, now())
            .await
            .unwrap();
        let result = format!("{waiting}/result");
        assert_eq!(
            status(&mut browser, &waiting).await["location"],
            result.as_str()
        );
        let page = browser.get(&result).await;
        assert!(
            page.body.contains(r#"data-status="approved""#),
            "{kind}: {}",
            page.body
        );
        assert!(page.body.contains("署名を検証しました"), "{kind}");
        assert!(
            page.body.contains(r#"href="/payments" id="next""#),
            "{kind}: back to the menu"
        );
    }
    let bulk = "2件 合計 ¥200,000";
    let list = browser.get("/payments").await.body;
    for needle in [
        bulk,
        "¥300,000 支払日 2999-12-25",
        "確認番号 123456 ¥350,000",
        "東京電力エナジーパートナー ¥15,800",
        "keiri-new@example.co.jp",
    ] {
        assert!(list.contains(needle), "{needle} in {list}");
    }
    let user = w
        .state
        .store
        .user(seed::CONTRACT, "approver01")
        .await
        .unwrap();
    assert_eq!(
        user.email.as_deref(),
        Some("keiri-new@example.co.jp"),
        "the settings change applied"
    );
}

#[tokio::test]
async fn a_denied_payment_is_not_applied_or_listed() {
    let w = world().await;
    let mut device = phone(&w, "phone").await;
    enroll(&w, "approver01", &device).await;
    let mut browser = signed_in(&w.state, "approver01").await;
    let before = w
        .state
        .store
        .user(seed::CONTRACT, "approver01")
        .await
        .unwrap()
        .email;
    let csrf = browser.get("/payments/settings_change").await.csrf();
    let page = browser
        .post(
            "/payments/settings_change",
            &[
                ("csrf", &csrf),
                ("approval_password", seed::APPROVAL_PASSWORD),
                ("new_email", "attacker@example.com"),
            ],
        )
        .await;
    let waiting = page.location.clone().unwrap();
    let challenge = pending_one(&device).await;
    assert_eq!(
        challenge.context.str("new_value"),
        Some("attacker@example.com")
    );
    device
        .deny(&challenge, DenyReason::Declined, false, now())
        .await
        .unwrap();
    assert_eq!(status(&mut browser, &waiting).await["status"], "denied");
    let after = w
        .state
        .store
        .user(seed::CONTRACT, "approver01")
        .await
        .unwrap()
        .email;
    assert_eq!(after, before);
    assert!(browser.get("/payments").await.body.contains("none yet"));
}
