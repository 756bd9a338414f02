//! Push on a phone, everything above the plugin: a fake registrar stands in for the
//! notifications plugin and hands over Web Push endpoints of a receiver served here,
//! which the relay (in process, its event stream blocked by the proxy so challenges
//! reach the app only by push) really pushes to. What the receiver gets is handed to
//! the app's push commands as the plugin's events would be.

use crate::common::{app, bank};

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use app::{TestApp, block_on, wait_for};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bank::{login_context, transfer_context};
use onepush_app::Backend;
use onepush_app::push::{Push, PushAddress, PushRegistrar, Registering};
use onepush_protocol::{ApnsEnvironment, ChallengeId, ChallengeStatus, DecisionVerdict};
use serde_json::{Value, json};
use tauri::Manager as _;

/// What the push service (here: the receiver) got: the endpoint's token and the body.
struct Pushed {
    token: String,
    body: Vec<u8>,
}

/// A push service on loopback: `POST /push/{token}` answers 201 and hands the body on.
struct Receiver {
    base: String,
    rx: Mutex<mpsc::Receiver<Pushed>>,
}

impl Receiver {
    fn start() -> Arc<Self> {
        let (tx, rx) = mpsc::channel();
        let listener = block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let router = axum::Router::new()
            .route("/push/{token}", axum::routing::post(take))
            .with_state(Arc::new(Mutex::new(tx)));
        tauri::async_runtime::spawn(async move { axum::serve(listener, router).await });
        Arc::new(Self {
            base,
            rx: Mutex::new(rx),
        })
    }

    /// The next message the relay pushed, within 15 s.
    fn next(&self) -> Pushed {
        self.rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(15))
            .expect("the relay pushed nothing")
    }
}

async fn take(
    State(tx): State<Arc<Mutex<mpsc::Sender<Pushed>>>>,
    Path(token): Path<String>,
    body: Bytes,
) -> StatusCode {
    let _ = tx.lock().unwrap().send(Pushed {
        token,
        body: body.to_vec(),
    });
    StatusCode::CREATED
}

/// The phone's push plugin, faked: registering gives the receiver's endpoint for
/// the token `first`; a refreshed token gives that token's endpoint, or an APNs
/// (sandbox) or FCM token for `apns:TOKEN` and `fcm:TOKEN`.
struct FakeRegistrar {
    base: String,
}

impl PushRegistrar for FakeRegistrar {
    fn register(&self) -> Registering<'_> {
        let address = self.refreshed("first");
        Box::pin(async move { Ok(address) })
    }

    fn refreshed(&self, token: &str) -> PushAddress {
        if let Some(token) = token.strip_prefix("apns:") {
            return PushAddress::Apns {
                device_token: token.to_owned(),
                environment: ApnsEnvironment::Sandbox,
            };
        }
        if let Some(token) = token.strip_prefix("fcm:") {
            return PushAddress::Fcm {
                registration_token: token.to_owned(),
            };
        }
        PushAddress::WebPush {
            endpoint: format!("{}/push/{token}", self.base),
        }
    }
}

/// An app behind a proxy whose event stream is blocked, pushing to `receiver`.
fn phone(receiver: &Arc<Receiver>) -> TestApp {
    let base = receiver.base.clone();
    let t = TestApp::start_behind_proxy_with_push(Arc::new(move || {
        Push::new(FakeRegistrar { base: base.clone() })
    }));
    t.proxy().block_event_stream(true);
    t
}

/// Sets up and enrolls `yamada`; returns once the push channel is registered.
fn set_up_with_push(t: &TestApp) {
    let registered = t.events("push-registered");
    let cid = t.set_up(None);
    assert_eq!(
        wait_for(&registered, |_| true),
        json!({ "channel": "webpush" })
    );
    t.enroll(&cid, "yamada");
}

fn puts(t: &TestApp) -> usize {
    t.proxy()
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path == "/v1/device/push-subscription")
        .count()
}

fn b64(body: &[u8]) -> String {
    onepush_protocol::b64::encode(body)
}

fn shown(t: &TestApp, id: ChallengeId) -> Option<onepush_protocol::api::DeviceChallenge> {
    t.app.state::<Backend>().shown(id)
}

#[test]
fn a_pushed_challenge_is_decrypted_and_ends_as_the_shown_prompt() {
    let receiver = Receiver::start();
    let t = phone(&receiver);
    let challenges = t.events("challenge");
    set_up_with_push(&t);
    assert_eq!(puts(&t), 1, "{:?}", t.proxy().requests());
    assert_eq!(t.ok("push_status", json!({}))["channel"], "webpush");

    // The relay has the subscription: the challenge is pushed to it.
    let created = block_on(
        t.bank
            .challenge("yamada", "transaction", transfer_context(), true),
    );
    let pushed = receiver.next();
    assert_eq!(pushed.token, "first");
    assert!(
        shown(&t, created.id).is_none(),
        "nothing but the push brings it"
    );

    let receipt = t.ok("push_message", json!({ "message": b64(&pushed.body) }));
    assert_eq!(
        receipt,
        json!({ "id": created.id.to_string(), "dropped": null })
    );
    let id = created.id.to_string();
    wait_for(&challenges, |e| e["id"] == id.as_str());
    let recorded = serde_json::to_value(shown(&t, created.id).expect("recorded as shown")).unwrap();
    assert_eq!(recorded["context"], transfer_context());

    // The prompt shows that challenge, and the decision signs it.
    let prompt = t.show(&id);
    assert_eq!(prompt["context"], recorded["context"]);
    assert_eq!(prompt["number_matching"], true);
    let number = created.number.expect("a number");
    let accepted = t.ok("approve", json!({ "id": id, "number": number }));
    assert_eq!(accepted["status"], "approved");
    let outcome = block_on(t.bank.outcome(created.id, 5));
    assert_eq!(outcome.status, ChallengeStatus::Approved);
    assert_eq!(
        block_on(t.bank.verified_decision(&outcome)).dec,
        DecisionVerdict::Approve
    );
}

#[test]
fn a_refreshed_token_replaces_the_subscription() {
    let receiver = Receiver::start();
    let t = phone(&receiver);
    set_up_with_push(&t);

    assert_eq!(t.ok("push_token", json!({ "token": "second" })), "webpush");
    assert_eq!(puts(&t), 2);
    // The same token again is not registered again.
    assert_eq!(
        t.ok("push_token", json!({ "token": "second" })),
        Value::Null
    );
    assert_eq!(puts(&t), 2);

    let created = block_on(t.bank.challenge("yamada", "login", login_context(), false));
    let pushed = receiver.next();
    assert_eq!(pushed.token, "second", "pushed to the new endpoint only");
    let receipt = t.ok("push_message", json!({ "message": b64(&pushed.body) }));
    assert_eq!(receipt["id"], created.id.to_string());
    let remembered: Value =
        serde_json::from_slice(&std::fs::read(t.home.join("push.json")).unwrap()).unwrap();
    assert_eq!(
        remembered["address"]["endpoint"],
        format!("{}/push/second", receiver.base)
    );
}

#[test]
fn apns_and_fcm_tokens_reach_the_relay_as_their_channels() {
    // The test relay has no APNs or FCM sender: it refuses each channel naming the
    // setting it lacks, which shows the app sent that channel.
    let receiver = Receiver::start();
    let t = phone(&receiver);
    set_up_with_push(&t);
    let apns = format!("apns:{}", "0a".repeat(32));
    let refused = t
        .invoke("push_token", json!({ "token": apns }))
        .expect_err("no APNs sender");
    assert_eq!(refused["kind"], "relay", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("push.apns.key_file"),
        "{refused}"
    );
    let refused = t
        .invoke("push_token", json!({ "token": "fcm:dGVzdA:APA91b" }))
        .expect_err("no FCM sender");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("push.fcm.service_account_file"),
        "{refused}"
    );
    assert_eq!(puts(&t), 3);
    // A token the phone cannot have is refused before asking the relay.
    assert_eq!(
        t.fails("push_token", json!({ "token": "apns:not hex" })),
        "invalid_input"
    );
    assert_eq!(puts(&t), 3);
    // The Web Push subscription stays the one registered.
    assert_eq!(t.ok("push_status", json!({}))["channel"], "webpush");
}

#[test]
fn a_tampered_or_foreign_push_is_dropped_with_the_reason() {
    let receiver = Receiver::start();
    let t = phone(&receiver);
    set_up_with_push(&t);
    let created = block_on(t.bank.challenge("yamada", "login", login_context(), false));
    let mut body = receiver.next().body;

    let last = body.len() - 1;
    body[last] ^= 0x01;
    let receipt = t.ok("push_message", json!({ "message": b64(&body) }));
    assert_eq!(receipt["id"], Value::Null);
    assert!(
        receipt["dropped"]
            .as_str()
            .is_some_and(|r| r.contains("does not decrypt")),
        "{receipt}"
    );
    let receipt = t.ok("push_message", json!({ "message": "not base64!" }));
    assert_eq!(receipt["dropped"], "the push message is not base64url");
    assert!(shown(&t, created.id).is_none(), "nothing was shown");
    assert_eq!(
        t.fails("approve", json!({ "id": created.id.to_string() })),
        "challenge_not_shown"
    );
}

#[test]
fn tapping_a_push_that_arrived_while_closed_opens_its_prompt() {
    let receiver = Receiver::start();
    let mut t = phone(&receiver);
    set_up_with_push(&t);
    t.app.cleanup_before_exit();

    // The app is closed: the push service holds the message; the phone shows the
    // relay's alert. Tapping it starts the app with the message.
    let created = block_on(
        t.bank
            .challenge("yamada", "transaction", transfer_context(), true),
    );
    let pushed = receiver.next();
    let _challenges = t.restart_listening("challenge");
    let receipt = t.ok("push_opened", json!({ "message": b64(&pushed.body) }));
    let id = created.id.to_string();
    assert_eq!(receipt["id"], id.as_str());
    assert!(shown(&t, created.id).is_some(), "recorded as shown");
    let prompt = t.show(&id);
    assert_eq!(prompt["context"]["amount"], "1250000");
    let number = created.number.expect("a number");
    let accepted = t.ok("approve", json!({ "id": id, "number": number }));
    assert_eq!(accepted["status"], "approved");

    // The app's own notification (FCM) carries the challenge ID.
    let receipt = t.ok("push_opened", json!({ "challengeId": id }));
    assert_eq!(receipt["id"], id.as_str());
    assert_eq!(
        t.fails("push_opened", json!({ "challengeId": "nonsense" })),
        "invalid_input"
    );
}

#[test]
fn without_a_registrar_nothing_registers() {
    let t = TestApp::start();
    t.set_up(None);
    assert_eq!(
        t.ok("push_status", json!({})),
        json!({ "pluginEvents": false, "channel": null })
    );
    assert_eq!(
        t.fails("push_token", json!({ "token": "abc" })),
        "invalid_input"
    );
}
