//! Web Push delivery end to end: a local push service receives the real request,
//! checks VAPID and headers and the test decrypts it; gone subscriptions; event stream;
//! webhooks; a push service answering 429 with `Retry-After`, 5xx, or 404 (issue 9).

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::receiver::Receiver;
use common::{Bank, TestDevice};
use onepush_protocol::api::{
    BankChallenge, ChallengeCreated, DeviceEvent, PushPayload, UserBinding, WebhookEvent,
};
use onepush_protocol::webpush::{PUSH_MESSAGE_LEN, PushReceiverKeys};
use onepush_protocol::{ChallengeStatus, DecisionVerdict, DenyReason, Jwk};
use onepush_relay::Parts;
use onepush_relay::clock::{Clock, ManualClock};
use onepush_relay::testing::{TestRelay, spawn_relay_with, test_settings};
use serde_json::json;

async fn setup(
    dir: &std::path::Path,
    clock: &ManualClock,
    push_url: &str,
) -> (TestRelay, Bank, TestDevice, PushReceiverKeys) {
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(test_settings(dir), parts, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let c = clock.clone();
    let mut device = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    let keys = PushReceiverKeys::generate();
    device
        .provision(Some(
            keys.subscription(&format!("{push_url}/push/alice-phone")),
        ))
        .await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    (relay, bank, device, keys)
}

fn check_vapid(authorization: &str, push_origin: &str, vapid_public: &str) {
    let rest = authorization.strip_prefix("vapid ").expect("vapid scheme");
    let mut token = "";
    let mut key = "";
    for part in rest.split(',').map(str::trim) {
        if let Some(t) = part.strip_prefix("t=") {
            token = t;
        } else if let Some(k) = part.strip_prefix("k=") {
            key = k;
        }
    }
    assert_eq!(key, vapid_public, "k= is the relay's VAPID key");
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let point = onepush_protocol::b64::decode(key).unwrap();
    let jwk = Jwk::from_uncompressed_point(&point).unwrap();
    let sig = onepush_protocol::b64::decode(signature).unwrap();
    onepush_protocol::keys::verify_es256(&jwk, signing_input.as_bytes(), &sig)
        .expect("VAPID JWT signature");
    let claims: serde_json::Value = serde_json::from_slice(
        &onepush_protocol::b64::decode(signing_input.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], push_origin);
    assert!(claims["sub"].as_str().unwrap().starts_with("mailto:"));
    assert!(claims["exp"].as_i64().unwrap() > time::OffsetDateTime::now_utc().unix_timestamp());
}

#[tokio::test]
async fn a_challenge_is_pushed_with_its_details_padded_with_vapid_and_the_push_reaching_the_phone_means_expired()
 {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let push = Receiver::start(201).await;
    let (relay, bank, device, keys) = setup(dir.path(), &clock, &push.url).await;
    let created: ChallengeCreated = bank
        .login("alice", json!({ "ttl_seconds": 45 }))
        .await
        .json(201);
    let got = push.wait_for(1).await;
    let request = &got[0];
    assert_eq!(request.path, "/push/alice-phone");
    assert_eq!(request.headers["urgency"], "high");
    let ttl: u32 = request.headers["ttl"].to_str().unwrap().parse().unwrap();
    assert!((40..=45).contains(&ttl), "TTL = seconds left, got {ttl}");
    assert_eq!(request.headers["content-encoding"], "aes128gcm");
    let vapid = device
        .provisioned
        .as_ref()
        .unwrap()
        .vapid_public_key
        .clone();
    check_vapid(
        request.headers["authorization"].to_str().unwrap(),
        &push.url,
        &vapid,
    );
    // Padded: the length says nothing about the details.
    assert_eq!(request.body.len(), PUSH_MESSAGE_LEN);
    let plain = keys.decrypt(&request.body).expect("decrypts");
    let payload = PushPayload::from_plaintext(&plain).unwrap();
    assert_eq!(payload.id, created.id);
    // It carries exactly what the signed fetch answers.
    let carried = payload.challenge.expect("the details fit one message");
    assert_eq!(carried.context.str("location"), Some("Tokyo"));
    assert_eq!(*carried, device.challenge(&created.id.to_string()).await);
    // Nobody answers: the push was accepted, so it ends `expired`, not `undeliverable`.
    tokio::time::sleep(Duration::from_millis(200)).await;
    clock.advance(46);
    relay.relay.expire_overdue().await.unwrap();
    let outcome: BankChallenge = bank
        .get(&format!("/v1/challenges/{}", created.id))
        .await
        .json(200);
    assert_eq!(outcome.status, ChallengeStatus::Expired);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn details_too_large_for_one_message_are_left_for_the_signed_fetch() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let push = Receiver::start(201).await;
    let (relay, bank, device, keys) = setup(dir.path(), &clock, &push.url).await;
    let memo = "x".repeat(3000);
    let created: ChallengeCreated = bank
        .login(
            "alice",
            json!({ "context": { "ip": "203.0.113.7", "user_agent": "Firefox", "memo": memo } }),
        )
        .await
        .json(201);
    let got = push.wait_for(1).await;
    assert_eq!(got[0].body.len(), PUSH_MESSAGE_LEN);
    let payload = PushPayload::from_plaintext(&keys.decrypt(&got[0].body).unwrap()).unwrap();
    assert_eq!(payload, PushPayload::challenge(created.id));
    let fetched = device.challenge(&created.id.to_string()).await;
    assert_eq!(fetched.context.str("memo").map(str::len), Some(3000));
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn gone_subscription_is_cleared_and_the_challenge_ends_undeliverable() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let push = Receiver::start(410).await;
    let (relay, bank, device, _keys) = setup(dir.path(), &clock, &push.url).await;
    let created: ChallengeCreated = bank
        .login("alice", json!({ "ttl_seconds": 30 }))
        .await
        .json(201);
    push.wait_for(1).await;
    let store = relay.relay.service().store().clone();
    let mut cleared = false;
    for _ in 0..100 {
        if store
            .credential(&device.credential_id())
            .await
            .unwrap()
            .push_subscription
            .is_none()
        {
            cleared = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cleared, "a 410 clears the subscription");
    clock.advance(31);
    relay.relay.expire_overdue().await.unwrap();
    let outcome: BankChallenge = bank
        .get(&format!("/v1/challenges/{}", created.id))
        .await
        .json(200);
    assert_eq!(outcome.status, ChallengeStatus::Undeliverable);
    // The next challenge is not pushed at all.
    bank.login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(push.received.lock().unwrap().len(), 1);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_event_stream_announces_challenges_without_any_push_service() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(test_settings(dir.path()), parts, true).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let c = clock.clone();
    let mut device = TestDevice::with_clock(&relay.url, Arc::new(move || c.now_unix()));
    device.provision(None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    let mut stream = device.open_events().await;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let created: ChallengeCreated = bank
        .login("alice", json!({ "ttl_seconds": 20 }))
        .await
        .json(201);
    let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.contains("event: challenge"), "{text}");
    // The event carries the details the signed fetch answers: nothing left to fetch.
    assert_eq!(
        event_data(&text),
        DeviceEvent::Challenge {
            id: created.id,
            challenge: Some(Box::new(device.challenge(&created.id.to_string()).await)),
        }
    );
    bank.delete(&format!("/v1/challenges/{}", created.id))
        .await
        .json::<BankChallenge>(200);
    let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(
        text.contains("event: status") && text.contains("cancelled"),
        "{text}"
    );
    // A challenge created while the stream is open reached the device: expired, not undeliverable.
    let second: ChallengeCreated = bank
        .login("alice", json!({ "ttl_seconds": 20 }))
        .await
        .json(201);
    clock.advance(21);
    relay.relay.expire_overdue().await.unwrap();
    let outcome: BankChallenge = bank
        .get(&format!("/v1/challenges/{}", second.id))
        .await
        .json(200);
    assert_eq!(outcome.status, ChallengeStatus::Expired);
    drop(stream);
    relay.shutdown().await.unwrap();
}

/// The `data` of the one event in `text`.
fn event_data(text: &str) -> DeviceEvent {
    let data = text
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .unwrap_or_else(|| panic!("no data line in {text}"));
    serde_json::from_str(data.trim()).unwrap()
}

#[tokio::test]
async fn an_event_stream_opened_later_sends_the_pending_challenges_with_their_details() {
    let dir = tempfile::tempdir().unwrap();
    let relay = onepush_relay::testing::spawn_relay(dir.path()).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let mut device = TestDevice::new(&relay.url);
    device.provision(None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    let created: ChallengeCreated = bank
        .login("alice", json!({ "number_matching": true }))
        .await
        .json(201);
    let mut stream = device.open_events().await;
    assert_eq!(stream.status(), 200);
    let chunk = tokio::time::timeout(Duration::from_secs(5), stream.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let DeviceEvent::Challenge { id, challenge } = event_data(&String::from_utf8_lossy(&chunk))
    else {
        panic!("a challenge event first");
    };
    assert_eq!(id, created.id);
    let challenge = challenge.expect("the details");
    assert_eq!(*challenge, device.challenge(&id.to_string()).await);
    assert!(challenge.number_matching);
    assert_eq!(challenge.status, ChallengeStatus::Pending);
    drop(stream);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn decided_challenges_are_posted_to_the_webhook_signed() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start(200).await;
    let relay = onepush_relay::testing::spawn_relay(dir.path()).await;
    let tenant = relay
        .relay
        .add_tenant(
            "hook-bank",
            "Hook Bank",
            Some(format!("{}/hooks/onepush", hook.url)),
        )
        .await
        .unwrap();
    let secret = tenant.webhook_secret.clone().expect("secret");
    let bank = Bank::new(&relay.url, &tenant.api_key);
    let device = TestDevice::provisioned(&relay.url, None).await;
    bank.enroll("alice", &device).await.json::<UserBinding>(201);
    let id = bank
        .login("alice", json!({}))
        .await
        .json::<ChallengeCreated>(201)
        .id
        .to_string();
    let ch = device.challenge(&id).await;
    let mut claims = device.claims(&ch, DecisionVerdict::Deny);
    claims.rsn = Some(DenyReason::NotMe);
    device
        .post_decision(&id, &claims)
        .await
        .json::<serde_json::Value>(200);
    let got = hook.wait_for(1).await;
    let req = &got[0];
    let msg_id = req.headers["webhook-id"].to_str().unwrap();
    let ts: i64 = req.headers["webhook-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let signature = req.headers["webhook-signature"].to_str().unwrap();
    assert_eq!(
        signature,
        onepush_relay::webhook::sign(&secret, msg_id, ts, &req.body)
    );
    let event: WebhookEvent = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(event.id, msg_id);
    assert_eq!(event.data.status, ChallengeStatus::Denied);
    assert!(event.binding_locked, "not_me locks the binding and says so");
    relay.shutdown().await.unwrap();
}

/// A push service's answer: status and `Retry-After`.
type Scripted = (u16, Option<&'static str>);
/// A request the push service received: when, and its (encrypted) body.
type Request = (std::time::Instant, Vec<u8>);

/// A push service that answers each request from a script (then 201) and records when
/// each came.
#[derive(Clone, Default)]
struct ScriptedPush {
    url: String,
    script: Arc<std::sync::Mutex<std::collections::VecDeque<Scripted>>>,
    received: Arc<std::sync::Mutex<Vec<Request>>>,
}

impl ScriptedPush {
    async fn start(script: &[Scripted]) -> Self {
        let mut push = Self::default();
        push.script.lock().unwrap().extend(script.iter().copied());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        push.url = format!("http://{}", listener.local_addr().unwrap());
        let state = push.clone();
        let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
            let state = state.clone();
            async move {
                state
                    .received
                    .lock()
                    .unwrap()
                    .push((std::time::Instant::now(), body.to_vec()));
                let (status, retry_after) = state
                    .script
                    .lock()
                    .unwrap()
                    .pop_front()
                    .unwrap_or((201, None));
                let mut response = axum::response::IntoResponse::into_response(
                    axum::http::StatusCode::from_u16(status).unwrap(),
                );
                if let Some(after) = retry_after {
                    response.headers_mut().insert(
                        axum::http::header::RETRY_AFTER,
                        axum::http::HeaderValue::from_static(after),
                    );
                }
                response
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        push
    }

    /// Waits (10 s at most) for `n` requests.
    async fn wait_for(&self, n: usize) -> Vec<Request> {
        for _ in 0..400 {
            let got = self.received.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "expected {n} push requests, got {}",
            self.received.lock().unwrap().len()
        );
    }
}

/// Waits (5 s at most) until the relay has recorded that a channel reached the device.
async fn reached(relay: &TestRelay, id: &onepush_protocol::ChallengeId) {
    let store = relay.relay.service().store().clone();
    for _ in 0..250 {
        if store.challenge(id).await.unwrap().reached_device {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the relay never recorded that the push reached the device");
}

/// The challenge after its deadline has passed and the expiry task ran.
async fn after_deadline(
    relay: &TestRelay,
    bank: &Bank,
    clock: &ManualClock,
    id: &onepush_protocol::ChallengeId,
    ttl: i64,
) -> ChallengeStatus {
    clock.advance(ttl + 1);
    relay.relay.expire_overdue().await.unwrap();
    let outcome: BankChallenge = bank.get(&format!("/v1/challenges/{id}")).await.json(200);
    outcome.status
}

#[tokio::test]
async fn push_service_429_is_retried_after_its_retry_after_and_the_push_reaches_the_phone() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let push = ScriptedPush::start(&[(429, Some("2"))]).await;
    let (relay, bank, _device, keys) = setup(dir.path(), &clock, &push.url).await;
    let created: ChallengeCreated = bank
        .login("alice", json!({ "ttl_seconds": 60 }))
        .await
        .json(201);
    let got = push.wait_for(2).await;
    let waited = got[1].0 - got[0].0;
    assert!(
        waited >= Duration::from_secs(2),
        "the relay waited {waited:?}, less than the push service's Retry-After of 2 s"
    );
    let payload = PushPayload::from_plaintext(&keys.decrypt(&got[1].1).unwrap()).unwrap();
    assert_eq!(payload.id, created.id);
    assert!(
        payload.challenge.is_some(),
        "the retry carries the details too"
    );
    reached(&relay, &created.id).await;
    assert_eq!(
        after_deadline(&relay, &bank, &clock, &created.id, 60).await,
        ChallengeStatus::Expired,
        "the retried push reached the phone"
    );
    assert_eq!(push.received.lock().unwrap().len(), 2);
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn push_service_500_is_retried_with_backoff_and_the_push_reaches_the_phone() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let push = ScriptedPush::start(&[(500, None), (503, None)]).await;
    let (relay, bank, _device, keys) = setup(dir.path(), &clock, &push.url).await;
    let created: ChallengeCreated = bank
        .login("alice", json!({ "ttl_seconds": 60 }))
        .await
        .json(201);
    let got = push.wait_for(3).await;
    // Backoff: at least 0.5 s, then at least 1 s (the waits double).
    assert!(
        got[1].0 - got[0].0 >= Duration::from_millis(500),
        "first wait"
    );
    assert!(got[2].0 - got[1].0 >= Duration::from_secs(1), "second wait");
    for (_, body) in &got {
        let payload = PushPayload::from_plaintext(&keys.decrypt(body).unwrap()).unwrap();
        assert_eq!(payload.id, created.id);
        assert!(payload.challenge.is_some(), "every try carries the details");
    }
    reached(&relay, &created.id).await;
    assert_eq!(
        after_deadline(&relay, &bank, &clock, &created.id, 60).await,
        ChallengeStatus::Expired
    );
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_subscription_is_cleared_and_the_pull_still_brings_the_challenge_to_the_phone() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::starting_now();
    let push = ScriptedPush::start(&[(404, None)]).await;
    let (relay, bank, device, _keys) = setup(dir.path(), &clock, &push.url).await;
    let created: ChallengeCreated = bank
        .login("alice", json!({ "ttl_seconds": 30 }))
        .await
        .json(201);
    push.wait_for(1).await;
    let store = relay.relay.service().store().clone();
    let mut cleared = false;
    for _ in 0..250 {
        if store
            .credential(&device.credential_id())
            .await
            .unwrap()
            .push_subscription
            .is_none()
        {
            cleared = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cleared, "a 404 clears the subscription");
    // The phone opens the app: the pull lists the challenge.
    let list: onepush_protocol::api::DeviceChallengeList = device
        .send("GET", "/v1/device/challenges", None)
        .await
        .json(200);
    assert_eq!(list.challenges.len(), 1);
    assert_eq!(list.challenges[0].id, created.id);
    // Nobody answers: a channel reached the phone, so `expired`, not `undeliverable`.
    assert_eq!(
        after_deadline(&relay, &bank, &clock, &created.id, 30).await,
        ChallengeStatus::Expired
    );
    assert_eq!(push.received.lock().unwrap().len(), 1, "no retry after 404");
    relay.shutdown().await.unwrap();
}
