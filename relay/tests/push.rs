//! Web Push delivery end to end: a local push service receives the real request,
//! checks VAPID and headers and the test decrypts it; gone subscriptions; event stream;
//! webhooks.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::receiver::Receiver;
use common::{Bank, TestDevice};
use onepush_protocol::api::{
    BankChallenge, ChallengeCreated, PushPayload, UserBinding, WebhookEvent,
};
use onepush_protocol::webpush::PushReceiverKeys;
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
async fn a_challenge_is_pushed_content_free_with_vapid_and_the_push_reaching_the_phone_means_expired()
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
    let plain = keys.decrypt(&request.body).expect("decrypts");
    let payload: PushPayload = serde_json::from_slice(&plain).unwrap();
    assert_eq!(payload, PushPayload::challenge(created.id));
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
    let path = "/v1/device/events";
    let mut stream = device
        .client
        .get(format!("{}{path}", relay.url))
        .header("OnePush-Proof", device.proof("GET", path, b""))
        .send()
        .await
        .unwrap();
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
    assert!(text.contains(&created.id.to_string()), "{text}");
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
