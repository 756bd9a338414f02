//! Unit tests of Web Push receipt and the local endpoint (driven with `oneshot`).

use axum::body::Body;
use axum::http::Request;
use onepush_protocol::ChallengeId;
use onepush_protocol::api::DeviceChallenge;
use onepush_protocol::webpush::{PUSH_MESSAGE_LEN, Padding, encrypt};
use tower::ServiceExt as _;

use super::*;
use crate::authenticator::tests::transfer;

const VAPID: &str = "BAvapidkey";

fn keys() -> Arc<PushReceiverKeys> {
    Arc::new(PushReceiverKeys::generate())
}

fn message(keys: &PushReceiverKeys, payload: &[u8]) -> Vec<u8> {
    encrypt(
        payload,
        &keys.public_key(),
        keys.auth_secret(),
        Padding::ToLength(PUSH_MESSAGE_LEN),
    )
    .unwrap()
}

/// A message carrying `challenge`'s details, as the relay sends it.
fn carrying(keys: &PushReceiverKeys, challenge: &DeviceChallenge) -> Vec<u8> {
    message(keys, &PushPayload::plaintext_for(challenge.clone()))
}

/// A client of a relay that is not there: any fetch fails.
fn unreachable_relay() -> RelayClient {
    let key = Arc::new(onepush_protocol::keys::DeviceKey::generate());
    RelayClient::new(
        "http://127.0.0.1:9",
        key,
        Some("ONEP12345674".parse().unwrap()),
    )
    .unwrap()
}

fn announcement(keys: &PushReceiverKeys, id: ChallengeId) -> Vec<u8> {
    message(keys, &PushPayload::challenge(id).to_plaintext())
}

fn state(keys: Arc<PushReceiverKeys>) -> (Arc<EndpointState>, mpsc::Receiver<Incoming>) {
    let (tx, rx) = mpsc::channel(4);
    let state = EndpointState {
        token: "tok".into(),
        keys,
        vapid_public_key: Some(VAPID.into()),
        tx,
        received: AtomicU64::new(0),
    };
    (Arc::new(state), rx)
}

fn push_request(path: &str, vapid_k: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(path)
        .header("content-encoding", "aes128gcm")
        .header("ttl", "60")
        .header("urgency", "high")
        .header("authorization", format!("vapid t=eyJ.x.y, k={vapid_k}"))
        .body(Body::from(body))
        .unwrap()
}

#[test]
fn push_message_decrypts_to_the_announced_challenge() {
    let keys = keys();
    let id = ChallengeId::new();
    assert_eq!(
        open_push(&keys, &announcement(&keys, id)).unwrap(),
        PushPayload::challenge(id)
    );
    let challenge = transfer();
    let payload = open_push(&keys, &carrying(&keys, &challenge)).unwrap();
    assert_eq!(payload.id, challenge.id);
    assert_eq!(payload.challenge.as_deref(), Some(&challenge));
}

#[tokio::test]
async fn receipt_shows_carried_details_without_asking_the_relay() {
    let keys = keys();
    let challenge = transfer();
    let got = receive(&keys, &unreachable_relay(), &carrying(&keys, &challenge))
        .await
        .unwrap();
    assert_eq!(got, challenge);
}

#[tokio::test]
async fn receipt_fetches_details_the_message_does_not_carry() {
    let keys = keys();
    let err = receive(
        &keys,
        &unreachable_relay(),
        &announcement(&keys, ChallengeId::new()),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, PushError::Client(_)), "{err}");
}

#[test]
fn push_for_another_device_or_with_other_content_is_refused() {
    let keys = keys();
    let other = PushReceiverKeys::generate();
    let id = ChallengeId::new();
    assert!(matches!(
        open_push(&keys, &announcement(&other, id)),
        Err(PushError::Decrypt)
    ));
    let odd = message(&keys, br#"{"v":1,"type":"challenge","id":"x"}"#);
    assert!(matches!(open_push(&keys, &odd), Err(PushError::Payload(_))));
    let mut mismatched = PushPayload::challenge(id);
    mismatched.challenge = Some(Box::new(transfer()));
    assert!(matches!(
        open_push(&keys, &message(&keys, &mismatched.to_plaintext())),
        Err(PushError::Payload(_))
    ));
    let wrong_kind = format!(r#"{{"v":1,"type":"news","id":"{id}"}}"#);
    assert!(matches!(
        open_push(&keys, &message(&keys, wrong_kind.as_bytes())),
        Err(PushError::Payload(_))
    ));
}

#[tokio::test]
async fn endpoint_answers_201_and_hands_the_challenge_on() {
    let keys = keys();
    let (state, mut rx) = state(keys.clone());
    let id = ChallengeId::new();
    let response = router(state)
        .oneshot(push_request("/push/tok", VAPID, announcement(&keys, id)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()[header::LOCATION], "/push/tok/messages/0");
    assert_eq!(
        rx.recv().await,
        Some(Incoming::Challenge {
            id,
            source: Source::WebPush,
            challenge: None,
        })
    );
}

#[tokio::test]
async fn endpoint_hands_carried_details_on() {
    let keys = keys();
    let (state, mut rx) = state(keys.clone());
    let challenge = transfer();
    let response = router(state)
        .oneshot(push_request(
            "/push/tok",
            VAPID,
            carrying(&keys, &challenge),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        rx.recv().await,
        Some(Incoming::Challenge {
            id: challenge.id,
            source: Source::WebPush,
            challenge: Some(Box::new(challenge)),
        })
    );
}

#[tokio::test]
async fn endpoint_refuses_bad_pushes() {
    let keys = keys();
    let id = ChallengeId::new();
    let cases = [
        (
            push_request("/push/nope", VAPID, announcement(&keys, id)),
            StatusCode::NOT_FOUND,
        ),
        (
            push_request("/push/tok", "BAother", announcement(&keys, id)),
            StatusCode::UNAUTHORIZED,
        ),
        (
            push_request("/push/tok", VAPID, b"garbage".to_vec()),
            StatusCode::BAD_REQUEST,
        ),
        (
            Request::post("/push/tok")
                .header("authorization", format!("vapid t=a, k={VAPID}"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            push_request("/push/tok", VAPID, vec![0; MAX_BODY + 1]),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (request, expected) in cases {
        let (state, mut rx) = state(keys.clone());
        let response = router(state).oneshot(request).await.unwrap();
        assert_eq!(response.status(), expected);
        assert!(rx.try_recv().is_err(), "nothing handed on for {expected}");
    }
}

#[test]
fn vapid_key_is_read_from_the_authorization_header() {
    assert_eq!(
        vapid_key("vapid t=a.b.c, k=BKey=="),
        Some("BKey".to_owned())
    );
    assert_eq!(vapid_key("vapid k=BKey,t=a.b.c"), Some("BKey".to_owned()));
    assert_eq!(vapid_key("WebPush a.b.c"), None);
}

#[tokio::test]
async fn served_endpoint_gives_a_subscription_for_its_url() {
    let keys = keys();
    let (tx, _rx) = mpsc::channel(1);
    let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let endpoint = PushEndpoint::serve(listener, None, keys.clone(), None, tx).unwrap();
    let port = endpoint.local_addr().port();
    assert!(
        endpoint
            .url()
            .starts_with(&format!("http://127.0.0.1:{port}/push/")),
        "{}",
        endpoint.url()
    );
    let subscription = endpoint.subscription();
    assert_eq!(subscription.endpoint, endpoint.url());
    assert_eq!(
        subscription.keys.p256dh,
        onepush_protocol::b64::encode(keys.public_key())
    );
    endpoint.shutdown().await;
}
