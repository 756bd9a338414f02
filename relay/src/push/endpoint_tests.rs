//! [`WebPushSender`] against a real local push endpoint (axum on 127.0.0.1:0): the
//! request's VAPID JWT, headers and encrypted body, and how each answer is sorted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header::RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onepush_protocol::webpush::{PushReceiverKeys, PushSubscription};
use time::OffsetDateTime;

use super::*;

const VAPID_KEY: [u8; 32] = [0x42; 32];
const SUBJECT: &str = "mailto:ops@onepush.test";
const PAYLOAD: &[u8] = br#"{"v":1,"type":"challenge","id":"0195f4c2-7d3e-7000-8000-000000000001"}"#;

/// What the endpoint answers to one request.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    RetryAfter(u16, &'static str),
    /// Never answers (until the test ends).
    Hang,
}

#[derive(Default)]
struct Endpoint {
    script: Mutex<VecDeque<Answer>>,
    received: Mutex<Vec<(HeaderMap, Vec<u8>)>>,
}

impl Endpoint {
    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    fn request(&self, index: usize) -> (HeaderMap, Vec<u8>) {
        self.received.lock().unwrap()[index].clone()
    }
}

async fn receive(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    endpoint
        .received
        .lock()
        .unwrap()
        .push((headers, body.to_vec()));
    let answer = endpoint
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Answer::Status(201));
    match answer {
        Answer::Status(status) => StatusCode::from_u16(status).unwrap().into_response(),
        Answer::RetryAfter(status, after) => {
            let mut response = StatusCode::from_u16(status).unwrap().into_response();
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static(after));
            response
        }
        Answer::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

/// Serves a push endpoint answering `script` (then 201); returns its origin.
async fn serve(script: &[Answer]) -> (String, Arc<Endpoint>) {
    let endpoint = Arc::new(Endpoint::default());
    endpoint.script.lock().unwrap().extend(script);
    let app = axum::Router::new()
        .route("/push/{token}", axum::routing::post(receive))
        .with_state(endpoint.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (origin, endpoint)
}

fn sender(timeout: Duration) -> WebPushSender {
    let local = EndpointPolicy {
        allow_insecure: true,
        allow_private: true,
    };
    WebPushSender::new(&VAPID_KEY, SUBJECT.into(), timeout, local, &[]).unwrap()
}

fn subscription(origin: &str) -> (PushReceiverKeys, PushSubscription) {
    let keys = PushReceiverKeys::generate();
    let subscription = keys.subscription(&format!("{origin}/push/abc123"));
    (keys, subscription)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// Checks `Authorization: vapid t=<jwt>, k=<key>` per RFC 8292 and returns the JWT.
fn check_vapid(authorization: &str, public_key: &str, audience: &str) -> String {
    let fields = authorization.strip_prefix("vapid ").expect("vapid scheme");
    let field = |name: &str| {
        fields
            .split(',')
            .find_map(|f| f.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {authorization}"))
    };
    let (jwt, key) = (field("t="), field("k="));
    assert_eq!(key, public_key);

    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let (header, claims) = signed.split_once('.').unwrap();
    let json = |part: &str| -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    assert_eq!(json(header)["alg"], "ES256");
    let key = URL_SAFE_NO_PAD.decode(key).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, key)
        .verify(
            signed.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).unwrap(),
        )
        .expect("the JWT's ES256 signature verifies against k");

    let claims = json(claims);
    assert_eq!(claims["aud"], audience);
    assert_eq!(claims["sub"], SUBJECT);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let exp = claims["exp"].as_i64().expect("numeric exp");
    assert!(
        exp > now + 3600 && exp <= now + 24 * 3600,
        "exp {exp} within 24 h of {now}"
    );
    jwt.to_owned()
}

#[tokio::test]
async fn push_arrives_signed_and_decryptable_by_the_device() {
    let (origin, endpoint) = serve(&[]).await;
    let sender = sender(Duration::from_secs(5));
    let (keys, subscription) = subscription(&origin);

    assert_eq!(
        sender.post(&subscription, PAYLOAD, 42).await,
        PushResult::Sent
    );
    assert_eq!(endpoint.count(), 1);
    let (headers, body) = endpoint.request(0);
    let jwt = check_vapid(
        header(&headers, "authorization"),
        &sender.vapid_public_key_b64(),
        &origin,
    );
    assert_eq!(header(&headers, "ttl"), "42");
    assert_eq!(header(&headers, "urgency"), "high");
    assert_eq!(header(&headers, "content-encoding"), "aes128gcm");
    assert_eq!(
        keys.decrypt(&body).expect("the device decrypts the push"),
        PAYLOAD
    );

    // The second push to the same push service reuses the VAPID JWT.
    assert_eq!(
        sender.post(&subscription, b"second", 41).await,
        PushResult::Sent
    );
    let (headers, body) = endpoint.request(1);
    assert_eq!(
        check_vapid(
            header(&headers, "authorization"),
            &sender.vapid_public_key_b64(),
            &origin
        ),
        jwt
    );
    assert_eq!(keys.decrypt(&body).unwrap(), b"second");
    assert_eq!(sender.jwts_signed(), 1);
}

#[tokio::test]
async fn each_push_service_answer_is_sorted() {
    use Answer::{RetryAfter, Status};
    let script = [
        Status(404),
        Status(410),
        RetryAfter(429, "3"),
        Status(500),
        Status(503),
        Status(400),
        Status(401),
    ];
    let (origin, endpoint) = serve(&script).await;
    let sender = sender(Duration::from_secs(5));
    let (_, subscription) = subscription(&origin);
    let mut results = Vec::new();
    for _ in script {
        results.push(sender.post(&subscription, PAYLOAD, 60).await);
    }
    let retry = |status, after: Option<u64>| PushResult::Retry {
        status: Some(status),
        retry_after: after.map(Duration::from_secs),
    };
    assert_eq!(
        results,
        [
            PushResult::Gone { status: 404 },
            PushResult::Gone { status: 410 },
            retry(429, Some(3)),
            retry(500, None),
            retry(503, None),
            PushResult::Rejected { status: 400 },
            PushResult::Rejected { status: 401 },
        ]
    );
    assert_eq!(endpoint.count(), script.len());
}

async fn deliver(script: &[Answer]) -> (DeliveryOutcome, usize) {
    let (origin, endpoint) = serve(script).await;
    let sender = sender(Duration::from_secs(5));
    let (_, subscription) = subscription(&origin);
    let deadline = OffsetDateTime::now_utc() + time::Duration::minutes(1);
    let quick = Backoff {
        first: Duration::from_millis(10),
        max: Duration::from_millis(10),
    };
    let outcome = deliver_with_backoff(
        &sender,
        &subscription.into(),
        &PushMessage::new(PAYLOAD, deadline),
        &OffsetDateTime::now_utc,
        quick,
    )
    .await;
    (outcome, endpoint.count())
}

#[tokio::test]
async fn delivery_outcomes_with_exact_call_counts() {
    use Answer::Status;
    assert_eq!(deliver(&[]).await, (DeliveryOutcome::Sent, 1));
    assert_eq!(deliver(&[Status(404)]).await, (DeliveryOutcome::Gone, 1));
    assert_eq!(deliver(&[Status(410)]).await, (DeliveryOutcome::Gone, 1));
    assert_eq!(deliver(&[Status(400)]).await, (DeliveryOutcome::Failed, 1));
    assert_eq!(deliver(&[Status(500)]).await, (DeliveryOutcome::Sent, 2));
    assert_eq!(
        deliver(&[Status(503), Answer::RetryAfter(429, "0"), Status(410)]).await,
        (DeliveryOutcome::Gone, 3)
    );
}

#[tokio::test]
async fn push_service_that_hangs_is_retried_after_the_timeout() {
    let (origin, endpoint) = serve(&[Answer::Hang]).await;
    let sender = sender(Duration::from_millis(300));
    let (_, subscription) = subscription(&origin);
    assert_eq!(
        sender.post(&subscription, PAYLOAD, 60).await,
        PushResult::Retry {
            status: None,
            retry_after: None
        }
    );
    assert_eq!(endpoint.count(), 1);
}

#[tokio::test]
async fn refused_connection_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (_, subscription) = subscription(&origin);
    assert_eq!(
        sender(Duration::from_secs(5))
            .post(&subscription, PAYLOAD, 60)
            .await,
        PushResult::Retry {
            status: None,
            retry_after: None
        }
    );
}

#[tokio::test]
async fn unusable_subscription_is_rejected_without_a_request() {
    let (origin, endpoint) = serve(&[]).await;
    let sender = sender(Duration::from_secs(5));
    let (_, mut bad_keys) = subscription(&origin);
    bad_keys.keys.p256dh = "not-a-point".into();
    let (_, mut bad_url) = subscription(&origin);
    bad_url.endpoint = "ftp://push.test/x".into();
    let (_, too_large) = subscription(&origin);
    for subscription in [&bad_keys, &bad_url] {
        assert_eq!(
            sender.post(subscription, PAYLOAD, 60).await,
            PushResult::Rejected { status: 0 }
        );
    }
    assert_eq!(
        sender.post(&too_large, &[b'x'; 4000], 60).await,
        PushResult::Rejected { status: 0 }
    );
    assert_eq!(endpoint.count(), 0);
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_when_connecting_not_retried() {
    // DNS rebinding: the name passed (or skipped) the registration check, and resolves to
    // loopback when the push is sent. The guard sits in the resolver, so nothing connects.
    let (origin, endpoint) = serve(&[]).await;
    let port = origin.rsplit(':').next().unwrap();
    let insecure_only = EndpointPolicy {
        allow_insecure: true,
        allow_private: false,
    };
    let sender = WebPushSender::new(
        &VAPID_KEY,
        SUBJECT.into(),
        Duration::from_secs(5),
        insecure_only,
        &[],
    )
    .unwrap();
    let (_, by_name) = subscription(&format!("http://localhost:{port}"));
    let (_, literal) = subscription(&origin);
    for subscription in [&by_name, &literal] {
        assert_eq!(
            sender.post(subscription, PAYLOAD, 60).await,
            PushResult::Rejected { status: 0 },
            "{}",
            subscription.endpoint
        );
    }
    assert_eq!(
        endpoint.count(),
        0,
        "no request reached the loopback server"
    );
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let (origin, endpoint) = serve(&[]).await;
    let private_only = EndpointPolicy {
        allow_insecure: false,
        allow_private: true,
    };
    let sender = WebPushSender::new(
        &VAPID_KEY,
        SUBJECT.into(),
        Duration::from_secs(5),
        private_only,
        &[],
    )
    .unwrap();
    let (_, subscription) = subscription(&origin);
    assert_eq!(
        sender.post(&subscription, PAYLOAD, 60).await,
        PushResult::Rejected { status: 0 }
    );
    assert_eq!(endpoint.count(), 0);
}
