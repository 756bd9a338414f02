//! The resync page against a real relay (R12): two consecutive codes from a phone
//! whose clock is ahead are accepted and the drift is said; codes out of order
//! are refused.

use crate::common;

use axum::http::StatusCode;
use common::signed_in;
use common::world::{enroll, now, phone, world};

#[tokio::test]
async fn a_phone_ahead_of_time_is_resynchronised_and_told_how_far() {
    let w = world().await;
    let device = phone(&w, "phone").await;
    enroll(&w, "approver01", &device).await;
    let mut browser = signed_in(&w.state, "approver01").await;
    let csrf = browser.get("/resync").await.csrf();
    // The phone's clock runs two minutes ahead.
    let ahead = device.codes(now() + 120);
    let reversed = browser
        .post(
            "/resync",
            &[
                ("csrf", &csrf),
                ("code1", &ahead.next),
                ("code2", &ahead.current),
            ],
        )
        .await;
    assert_eq!(reversed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reversed.body.contains("not consecutive"),
        "{}",
        reversed.body
    );
    let page = browser
        .post(
            "/resync",
            &[
                ("csrf", &csrf),
                ("code1", &ahead.current),
                ("code2", &ahead.next),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("s ahead: corrected"), "{}", page.body);
    let short = browser
        .post(
            "/resync",
            &[("csrf", &csrf), ("code1", "12345"), ("code2", "x")],
        )
        .await;
    assert!(short.body.contains("two 6-digit codes"), "{}", short.body);
}

#[tokio::test]
async fn a_user_without_a_token_is_told_so() {
    let w = world().await;
    let mut browser = signed_in(&w.state, "viewer01").await;
    let csrf = browser.get("/resync").await.csrf();
    let page = browser
        .post(
            "/resync",
            &[("csrf", &csrf), ("code1", "123456"), ("code2", "654321")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("no token"), "{}", page.body);
}
