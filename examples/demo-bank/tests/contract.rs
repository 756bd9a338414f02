//! Ending the contract (R14) against a real relay: every user's token is
//! unregistered, without grace, and their pending challenges are cancelled.

use crate::common;

use axum::http::StatusCode;
use common::Browser;
use common::world::{enroll, phone, world};
use onepush_demo_bank::seed;
use onepush_protocol::api::BindingState;

#[tokio::test]
async fn ending_the_contract_unregisters_every_token_and_cancels_pending_pushes() {
    let w = world().await;
    let approver = phone(&w, "approver").await;
    let admin = phone(&w, "admin").await;
    enroll(&w, "approver01", &approver).await;
    enroll(&w, "admin01", &admin).await;
    // A login waits on the approver's phone.
    let mut user = Browser::new(w.state.clone());
    let csrf = user.get("/login").await.csrf();
    user.post(
        "/login",
        &[
            ("csrf", &csrf),
            ("contract", seed::CONTRACT),
            ("user_id", "approver01"),
            ("password", seed::LOGIN_PASSWORD),
        ],
    )
    .await;
    assert_eq!(approver.pending().await.unwrap().len(), 1);

    let mut staff = Browser::new(w.state.clone());
    let csrf = staff.get("/staff").await.csrf();
    let refused = staff.post("/staff/contract-end", &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "staff only");
    staff
        .post(
            "/staff/login",
            &[
                ("csrf", &csrf),
                ("password", &w.state.settings.staff_password),
            ],
        )
        .await;
    let done = staff.post("/staff/contract-end", &[("csrf", &csrf)]).await;
    assert_eq!(done.location.as_deref(), Some("/staff"), "{}", done.body);
    let page = staff.get("/staff").await;
    assert!(
        page.body
            .contains("contract ended: 2 token(s) unregistered"),
        "{}",
        page.body
    );
    for user_id in ["approver01", "admin01"] {
        let binding = w
            .state
            .relay
            .user(&format!("{}.{user_id}", seed::CONTRACT).parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(binding.state, BindingState::Unregistered, "{user_id}");
        assert_eq!(binding.grace_until, None, "{user_id}: no grace");
    }
    assert!(approver.pending().await.unwrap().is_empty(), "cancelled");
}
