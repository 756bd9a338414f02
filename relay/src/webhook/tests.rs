//! Tests of webhook signing (Standard Webhooks test vector), verification, schedule and delivery.

use super::*;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

// The test vector of the Standard Webhooks reference libraries.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TIMESTAMP: i64 = 1_614_265_330;
const BODY: &[u8] = br#"{"test": 2432232314}"#;
const SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn check(header: &str, now: i64) -> bool {
    verify(
        SECRET,
        MSG_ID,
        TIMESTAMP,
        BODY,
        header,
        now,
        DEFAULT_TOLERANCE,
    )
}

#[test]
fn signature_matches_the_published_test_vector() {
    assert_eq!(sign(SECRET, MSG_ID, TIMESTAMP, BODY), SIGNATURE);
    assert!(check(SIGNATURE, TIMESTAMP));
}

#[test]
fn tampered_message_or_other_secret_is_refused() {
    let other = |id: &str, ts: i64, body: &[u8]| {
        verify(SECRET, id, ts, body, SIGNATURE, ts, DEFAULT_TOLERANCE)
    };
    assert!(!other("msg_other", TIMESTAMP, BODY));
    assert!(!other(MSG_ID, TIMESTAMP + 1, BODY));
    assert!(!other(MSG_ID, TIMESTAMP, br#"{"test": 2432232315}"#));
    let secret = new_secret();
    assert!(!verify(
        &secret,
        MSG_ID,
        TIMESTAMP,
        BODY,
        SIGNATURE,
        TIMESTAMP,
        DEFAULT_TOLERANCE
    ));
}

#[test]
fn stale_or_future_timestamps_are_refused() {
    let five_minutes = 300;
    assert!(check(SIGNATURE, TIMESTAMP + five_minutes));
    assert!(check(SIGNATURE, TIMESTAMP - five_minutes));
    assert!(!check(SIGNATURE, TIMESTAMP + five_minutes + 1));
    assert!(!check(SIGNATURE, TIMESTAMP - five_minutes - 1));
    assert!(!check(SIGNATURE, i64::MIN));
}

#[test]
fn one_valid_signature_among_several_is_enough() {
    let wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
    assert!(check(&format!("{wrong} {SIGNATURE}"), TIMESTAMP));
    assert!(check(&format!("v1a,abc {SIGNATURE}"), TIMESTAMP));
    assert!(!check(wrong, TIMESTAMP));
    assert!(!check(&SIGNATURE.replacen("v1,", "v2,", 1), TIMESTAMP));
    assert!(!check("v1,not base64!", TIMESTAMP));
    assert!(!check("", TIMESTAMP));
}

#[test]
fn new_secrets_are_prefixed_random_32_byte_keys() {
    let (a, b) = (new_secret(), new_secret());
    assert_ne!(a, b);
    let key = STANDARD
        .decode(a.strip_prefix(SECRET_PREFIX).unwrap())
        .unwrap();
    assert_eq!(key.len(), 32);
    let signature = sign(&a, "msg_1", 100, b"{}");
    assert!(verify(
        &a,
        "msg_1",
        100,
        b"{}",
        &signature,
        100,
        DEFAULT_TOLERANCE
    ));
}

#[test]
fn retry_schedule_is_the_standard_webhooks_one_then_gives_up() {
    let minutes = |m: u64| Some(Duration::from_secs(m * 60));
    assert_eq!(next_attempt_delay(0), Some(Duration::ZERO));
    assert_eq!(next_attempt_delay(1), Some(Duration::from_secs(5)));
    assert_eq!(next_attempt_delay(2), minutes(5));
    assert_eq!(next_attempt_delay(3), minutes(30));
    assert_eq!(next_attempt_delay(4), minutes(120));
    assert_eq!(next_attempt_delay(5), minutes(300));
    assert_eq!(next_attempt_delay(6), minutes(600));
    assert_eq!(next_attempt_delay(7), minutes(600));
    assert_eq!(next_attempt_delay(8), None);
    assert_eq!(next_attempt_delay(u32::MAX), None);
}

/// A bank's webhook receiver: verifies each message and answers the scripted statuses.
#[derive(Clone, Default)]
struct Receiver {
    statuses: Arc<Mutex<Vec<u16>>>,
    verified: Arc<Mutex<Vec<bool>>>,
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let ok = header("content-type") == "application/json"
        && verify(
            SECRET,
            &header("webhook-id"),
            header("webhook-timestamp").parse().unwrap_or_default(),
            &body,
            &header("webhook-signature"),
            TIMESTAMP,
            DEFAULT_TOLERANCE,
        );
    receiver.verified.lock().unwrap().push(ok);
    let status = receiver.statuses.lock().unwrap().pop().unwrap_or(204);
    if status == 0 {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    StatusCode::from_u16(status.max(200)).unwrap()
}

async fn serve(statuses: &[u16]) -> (String, Receiver) {
    let receiver = Receiver::default();
    receiver
        .statuses
        .lock()
        .unwrap()
        .extend(statuses.iter().rev());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

fn client() -> WebhookClient {
    WebhookClient::new(Duration::from_millis(500)).unwrap()
}

#[tokio::test]
async fn receiver_gets_a_verifiable_message_and_statuses_are_sorted() {
    let (url, receiver) = serve(&[200, 204, 500, 503, 429, 400, 410, 302]).await;
    let client = client();
    let mut results = Vec::new();
    for _ in 0..8 {
        results.push(client.deliver(&url, SECRET, MSG_ID, BODY, TIMESTAMP).await);
    }
    let retry = |s| WebhookResult::Retry { status: Some(s) };
    let failed = |s| WebhookResult::Failed { status: Some(s) };
    let delivered = WebhookResult::Delivered;
    assert_eq!(
        results,
        [
            delivered,
            delivered,
            retry(500),
            retry(503),
            retry(429),
            failed(400),
            failed(410),
            failed(302)
        ]
    );
    assert_eq!(*receiver.verified.lock().unwrap(), [true; 8]);
}

#[tokio::test]
async fn no_answer_is_retried() {
    // A receiver that hangs past the client's timeout.
    let (url, receiver) = serve(&[0]).await;
    assert_eq!(
        client()
            .deliver(&url, SECRET, MSG_ID, BODY, TIMESTAMP)
            .await,
        WebhookResult::Retry { status: None }
    );
    assert_eq!(receiver.verified.lock().unwrap().len(), 1);

    // A closed port: connection refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    assert_eq!(
        client()
            .deliver(&closed, SECRET, MSG_ID, BODY, TIMESTAMP)
            .await,
        WebhookResult::Retry { status: None }
    );
}

#[tokio::test]
async fn unusable_url_fails_without_retry() {
    let result = client()
        .deliver("not a url", SECRET, MSG_ID, BODY, TIMESTAMP)
        .await;
    assert_eq!(result, WebhookResult::Failed { status: None });
}
