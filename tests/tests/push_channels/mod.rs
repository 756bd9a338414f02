//! APNs and FCM end to end: a relay configured with a local APNs and FCM over TLS and
//! HTTP/2 (trusted through `push_ca_file`), a phone registered with a device or
//! registration token, and its `open_push` decrypting what the service received to the
//! exact challenge. One test per answer class, asserting what the bank sees.

mod cli;
use crate::common;
mod fake;

use std::sync::Arc;

use common::{Bank, enroll, login_context, now};
use fake::{Fake, Push};
use onepush_device::push::open_push;
use onepush_device::{Authenticator, UnencryptedFileKeyStore};
use onepush_protocol::{
    ApnsEnvironment, ApnsSubscription, ChallengeId, ChallengeStatus, FcmSubscription, PushChannel,
};
use onepush_relay::Parts;
use onepush_relay::clock::ManualClock;
use onepush_relay::testing::{TestRelay, spawn_relay_with, test_settings};
use serde_json::json;

const DEVICE_TOKEN: &str = "4f0d9a2b7c6e5d4c3b2a19080706050403020100ffeeddccbbaa998877665544";
const REGISTRATION_TOKEN: &str = "cK3x_test:APA91bH-fcm.token";

struct Ctx {
    _dir: tempfile::TempDir,
    fake: Fake,
    relay: TestRelay,
    bank: Bank,
    phone: Authenticator,
    clock: ManualClock,
}

/// A relay whose APNs and FCM senders go to a fresh [`Fake`] (trusted via `push_ca_file`).
async fn relay_with_fake() -> (tempfile::TempDir, Fake, TestRelay, ManualClock) {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::start(dir.path()).await;
    let settings = {
        let mut s = test_settings(&dir.path().join("relay"));
        s.push.ca_file = Some(fake.ca_file.clone());
        s.push.apns.key_file = Some(fake.apns_key_file.clone());
        s.push.apns.key_id = Some(fake::KEY_ID.into());
        s.push.apns.team_id = Some(fake::TEAM_ID.into());
        s.push.apns.topic = Some(fake::TOPIC.into());
        s.push.apns.base_url = Some(fake.url.clone());
        s.push.fcm.service_account_file = Some(fake.service_account_file.clone());
        s.push.fcm.base_url = Some(fake.url.clone());
        s
    };
    let clock = ManualClock::starting_now();
    let parts = Parts {
        clock: Some(Arc::new(clock.clone())),
        ..Parts::default()
    };
    let relay = spawn_relay_with(settings, parts, true).await;
    (dir, fake, relay, clock)
}

async fn setup(kind: &str) -> Ctx {
    let (dir, fake, relay, clock) = relay_with_fake().await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    let store = UnencryptedFileKeyStore::new(&dir.path().join("phone"));
    let phone = Authenticator::provision(Box::new(store), &relay.url, now())
        .await
        .expect("provision");
    enroll(&bank, &phone, "alice").await;
    let keys = phone.vault().push_keys().subscription("").keys;
    let channel = match kind {
        "apns" => PushChannel::Apns(ApnsSubscription {
            device_token: DEVICE_TOKEN.into(),
            environment: ApnsEnvironment::Sandbox,
            keys,
            language: Some("ja".into()),
        }),
        _ => PushChannel::Fcm(FcmSubscription {
            registration_token: REGISTRATION_TOKEN.into(),
            keys,
            language: Some("ja".into()),
        }),
    };
    phone
        .client()
        .set_push_subscription(Some(channel))
        .await
        .expect("the relay takes the registration");
    Ctx {
        _dir: dir,
        fake,
        relay,
        bank,
        phone,
        clock,
    }
}

impl Ctx {
    /// The phone opens what the push service received: the exact challenge.
    fn opens_to(&self, push: &Push, message: &serde_json::Value, id: ChallengeId) {
        opens_to(&self.phone, push, message, id);
    }

    async fn subscription_kept(&self) -> bool {
        let id = self.phone.vault().credential_id().clone();
        let store = self.relay.relay.service().store();
        store
            .credential(&id)
            .await
            .unwrap()
            .push_subscription
            .is_some()
    }

    /// Waits (at most 5 s) until the relay recorded that the push service took the
    /// message: the relay does so after reading the answer the test service sent.
    async fn reached_the_phone(&self, id: ChallengeId) {
        let store = self.relay.relay.service().store();
        let reached = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while !store.challenge(&id).await.unwrap().reached_device {
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(reached.is_ok(), "the accepted push is recorded");
    }

    /// Waits (at most 5 s) until the relay cleared the phone's push subscription, as it
    /// does after a push service's answer that the token is gone.
    async fn subscription_cleared(&self) {
        let cleared = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while self.subscription_kept().await {
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(cleared.is_ok(), "the subscription is cleared");
    }

    /// Past the deadline, the expiry ends the challenge; the bank's view of it.
    async fn after_deadline(&self, id: ChallengeId) -> ChallengeStatus {
        self.clock.advance(61);
        self.relay.relay.expire_overdue().await.unwrap();
        self.bank.outcome(id, 0).await.status
    }
}

/// `phone` opens what the push service received: the exact challenge.
fn opens_to(phone: &Authenticator, push: &Push, message: &serde_json::Value, id: ChallengeId) {
    let sealed =
        onepush_protocol::b64::decode(message.as_str().expect("message field")).expect("base64url");
    assert_eq!(sealed.len(), 2048, "padded to PUSH_MESSAGE_LEN");
    let payload = open_push(phone.vault().push_keys(), &sealed)
        .unwrap_or_else(|e| panic!("{}: {e}", push.path));
    assert_eq!(payload.id, id);
    let challenge = payload.challenge.expect("the details travel with the push");
    assert_eq!(challenge.id, id);
    assert_eq!(challenge.context.canonical_json(), {
        let context = onepush_protocol::Context::from_value(login_context()).unwrap();
        context.canonical_json()
    });
}

fn header<'a>(push: &'a Push, name: &str) -> &'a str {
    push.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apns_push_is_authenticated_generic_and_decrypts_to_the_challenge_on_the_phone() {
    let ctx = setup("apns").await;
    let created = ctx.bank.login("alice").await;
    let push = ctx.fake.service.wait_for_pushes(1).await.remove(0);
    assert!(push.http2, "APNs is spoken over HTTP/2");
    assert_eq!(push.path, format!("/3/device/{DEVICE_TOKEN}"));
    assert_eq!(header(&push, "apns-topic"), fake::TOPIC);
    assert_eq!(header(&push, "apns-push-type"), "alert");
    assert_eq!(header(&push, "apns-priority"), "10");
    assert_eq!(header(&push, "apns-collapse-id"), created.id.to_string());
    assert_eq!(
        header(&push, "apns-expiration"),
        created.expires_at.unix_timestamp().to_string()
    );
    let aps = &push.body["aps"];
    assert_eq!(aps["mutable-content"], 1);
    assert_eq!(aps["alert"]["title"], "Test Bank");
    assert_eq!(aps["alert"]["body"], "承認のリクエストがあります");
    let visible = aps.to_string();
    assert!(!visible.contains("Tokyo") && !visible.contains(&created.id.to_string()));
    ctx.opens_to(&push, &push.body["onepush_message"], created.id);

    // The provider token is reused for the next push.
    let second = ctx.bank.login("alice").await;
    let pushes = ctx.fake.service.wait_for_pushes(2).await;
    assert_eq!(pushes[1].bearer, push.bearer);
    ctx.opens_to(&pushes[1], &pushes[1].body["onepush_message"], second.id);
    ctx.reached_the_phone(created.id).await;
    assert_eq!(
        ctx.after_deadline(created.id).await,
        ChallengeStatus::Expired
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apns_unregistered_clears_the_subscription_and_the_bank_sees_undeliverable() {
    for answer in [
        (410, json!({"reason": "Unregistered"}), None),
        (400, json!({"reason": "BadDeviceToken"}), None),
    ] {
        let ctx = setup("apns").await;
        ctx.fake.service.script([answer]);
        let created = ctx.bank.login("alice").await;
        ctx.fake.service.wait_for_pushes(1).await;
        ctx.subscription_cleared().await;
        assert_eq!(ctx.fake.service.pushes().len(), 1, "not retried");
        assert_eq!(
            ctx.after_deadline(created.id).await,
            ChallengeStatus::Undeliverable
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apns_expired_provider_token_is_renewed_and_the_push_sent_again() {
    let ctx = setup("apns").await;
    ctx.fake
        .service
        .script([(403, json!({"reason": "ExpiredProviderToken"}), None)]);
    let created = ctx.bank.login("alice").await;
    let pushes = ctx.fake.service.wait_for_pushes(2).await;
    assert_ne!(pushes[0].bearer, pushes[1].bearer, "a new provider JWT");
    ctx.opens_to(&pushes[1], &pushes[1].body["onepush_message"], created.id);
    assert!(ctx.subscription_kept().await);
    ctx.reached_the_phone(created.id).await;
    assert_eq!(
        ctx.after_deadline(created.id).await,
        ChallengeStatus::Expired
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apns_throttling_and_server_errors_are_retried_until_delivered() {
    let ctx = setup("apns").await;
    ctx.fake.service.script([
        (429, json!({"reason": "TooManyRequests"}), None),
        (503, json!({"reason": "ServiceUnavailable"}), None),
    ]);
    let created = ctx.bank.login("alice").await;
    let pushes = ctx.fake.service.wait_for_pushes(3).await;
    ctx.opens_to(&pushes[2], &pushes[2].body["onepush_message"], created.id);
    ctx.reached_the_phone(created.id).await;
    assert_eq!(
        ctx.after_deadline(created.id).await,
        ChallengeStatus::Expired
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apns_retries_stop_at_the_deadline_and_the_bank_sees_undeliverable() {
    let ctx = setup("apns").await;
    ctx.fake.service.script(std::iter::repeat_n(
        (503, json!({"reason": "ServiceUnavailable"}), None),
        50,
    ));
    let created = ctx
        .bank
        .challenge("alice", "login", login_context(), 10, false)
        .await;
    // Each failed attempt takes the relay's clock 4 s on: attempts at 0, 0.5 and 1.5 s
    // of waiting, then the next wait (2 s) comes after the 10 s deadline.
    for n in 1..=3 {
        ctx.fake.service.wait_for_pushes(n).await;
        ctx.clock.advance(4);
    }
    let stopped = ctx.fake.service.pushes().len();
    assert_eq!(stopped, 3);
    ctx.relay.relay.expire_overdue().await.unwrap();
    assert_eq!(
        ctx.bank.outcome(created.id, 0).await.status,
        ChallengeStatus::Undeliverable
    );
    assert_eq!(
        ctx.fake.service.pushes().len(),
        stopped,
        "no attempt after the deadline"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_push_is_authorised_by_oauth_and_decrypts_to_the_challenge_on_the_phone() {
    let ctx = setup("fcm").await;
    let created = ctx.bank.login("alice").await;
    let push = ctx.fake.service.wait_for_pushes(1).await.remove(0);
    assert_eq!(
        push.path,
        format!("/v1/projects/{}/messages:send", fake::PROJECT)
    );
    assert_eq!(push.bearer, "ya29.test-1");
    let message = &push.body["message"];
    assert_eq!(message["token"], REGISTRATION_TOKEN);
    assert_eq!(message["android"]["priority"], "HIGH");
    assert_eq!(message["android"]["collapse_key"], created.id.to_string());
    let ttl = message["android"]["ttl"].as_str().unwrap();
    assert!(ttl == "60s" || ttl == "59s", "{ttl}");
    // A generic notification Android shows when the app is not running: the bank's
    // name and "approval request" in the subscription's language, nothing of the context.
    assert_eq!(
        message["notification"]["body"],
        "承認のリクエストがあります"
    );
    assert_eq!(
        message["android"]["notification"]["tag"],
        created.id.to_string()
    );
    assert!(
        !message["notification"].to_string().contains("203.0.113"),
        "no context in the visible text: {message}"
    );
    ctx.opens_to(&push, &message["data"]["onepush_message"], created.id);

    // The access token is cached.
    let second = ctx.bank.login("alice").await;
    let pushes = ctx.fake.service.wait_for_pushes(2).await;
    assert_eq!(pushes[1].bearer, "ya29.test-1");
    assert_eq!(ctx.fake.service.tokens_issued(), 1);
    ctx.opens_to(
        &pushes[1],
        &pushes[1].body["message"]["data"]["onepush_message"],
        second.id,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_unregistered_token_clears_the_subscription_and_the_bank_sees_undeliverable() {
    let unregistered = json!({"error": {"code": 404, "status": "NOT_FOUND",
        "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}});
    let invalid = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
        "message": "The registration token is not a valid FCM registration token"}});
    for answer in [(404, unregistered), (400, invalid)] {
        let ctx = setup("fcm").await;
        ctx.fake.service.script([(answer.0, answer.1, None)]);
        let created = ctx.bank.login("alice").await;
        ctx.fake.service.wait_for_pushes(1).await;
        ctx.subscription_cleared().await;
        assert_eq!(
            ctx.after_deadline(created.id).await,
            ChallengeStatus::Undeliverable
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_refused_access_token_is_replaced_and_the_push_sent_again() {
    let ctx = setup("fcm").await;
    ctx.fake.service.script([(
        401,
        json!({"error": {"code": 401, "status": "UNAUTHENTICATED"}}),
        None,
    )]);
    let created = ctx.bank.login("alice").await;
    let pushes = ctx.fake.service.wait_for_pushes(2).await;
    assert_eq!(ctx.fake.service.tokens_issued(), 2);
    assert_eq!(pushes[1].bearer, "ya29.test-2");
    ctx.opens_to(
        &pushes[1],
        &pushes[1].body["message"]["data"]["onepush_message"],
        created.id,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fcm_throttling_is_retried_after_its_retry_after_until_delivered() {
    let ctx = setup("fcm").await;
    ctx.fake.service.script([
        (
            429,
            json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}),
            Some("1"),
        ),
        (
            503,
            json!({"error": {"code": 503, "status": "UNAVAILABLE"}}),
            None,
        ),
    ]);
    let created = ctx.bank.login("alice").await;
    let pushes = ctx.fake.service.wait_for_pushes(3).await;
    ctx.opens_to(
        &pushes[2],
        &pushes[2].body["message"]["data"]["onepush_message"],
        created.id,
    );
    ctx.reached_the_phone(created.id).await;
    assert_eq!(
        ctx.after_deadline(created.id).await,
        ChallengeStatus::Expired
    );
}
