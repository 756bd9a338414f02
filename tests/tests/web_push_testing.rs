//! Web Push against an independent implementation: the npm `web-push-testing` server
//! (it checks the VAPID signature and decrypts `aes128gcm` itself). Subscribed with the
//! relay's VAPID key, the relay's push decrypts there to the challenge; once the server
//! expires the subscription (410), the relay drops it.

use crate::common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use onepush_protocol::api::PushPayload;
use onepush_protocol::webpush::{PushKeys, PushSubscription};
use serde_json::Value;

/// `web-push-testing` started on a free port from a temporary folder (it keeps its
/// state in `.node-persist/` there); stopped on drop.
struct WebPushTesting {
    bin: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
    url: String,
}

impl WebPushTesting {
    fn start() -> Self {
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web-push-testing");
        let bin = folder.join("node_modules/.bin/web-push-testing");
        if !bin.exists() {
            let installed = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&folder)
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                installed,
                "cannot install web-push-testing: run `npm install --prefix tests/web-push-testing`"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = tempfile::tempdir().expect("temp dir");
        let started = Command::new(&bin)
            .args(["--port", &port.to_string(), "start"])
            .current_dir(dir.path())
            .status()
            .expect("web-push-testing runs");
        assert!(started.success(), "web-push-testing start: {started}");
        Self {
            bin,
            port,
            dir,
            url: format!("http://localhost:{port}"),
        }
    }

    async fn call(&self, path: &str, body: reqwest::Body, content_type: &str) -> Value {
        let client = reqwest::Client::new();
        let answer = client
            .post(format!("{}{path}", self.url))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("web-push-testing answers");
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }

    /// `POST /subscribe` with the relay's VAPID key: (subscription, clientHash).
    async fn subscribe(&self, vapid_public_key: &str) -> (PushSubscription, String) {
        let form = format!("userVisibleOnly=true&applicationServerKey={vapid_public_key}");
        // The server may take a moment after `start` to listen.
        let mut last = None;
        for _ in 0..100 {
            let client = reqwest::Client::new();
            match client
                .post(format!("{}/subscribe", self.url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone())
                .send()
                .await
            {
                Ok(answer) => {
                    let data: Value =
                        serde_json::from_slice(&answer.bytes().await.expect("body")).expect("JSON");
                    let data = &data["data"];
                    let subscription = PushSubscription {
                        endpoint: data["endpoint"].as_str().expect("endpoint").to_owned(),
                        keys: PushKeys {
                            p256dh: data["keys"]["p256dh"].as_str().unwrap().to_owned(),
                            auth: data["keys"]["auth"].as_str().unwrap().to_owned(),
                        },
                    };
                    return (
                        subscription,
                        data["clientHash"].as_str().unwrap().to_owned(),
                    );
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("web-push-testing does not answer: {last:?}");
    }

    /// The messages it decrypted for `client_hash`.
    async fn notifications(&self, client_hash: &str) -> Vec<String> {
        let body = serde_json::json!({ "clientHash": client_hash }).to_string();
        let answer = self
            .call("/get-notifications", body.into(), "application/json")
            .await;
        answer["data"]["messages"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for WebPushTesting {
    fn drop(&mut self) {
        let _ = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "stop"])
            .current_dir(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relays_push_passes_an_independent_web_push_server_and_its_410_drops_the_subscription()
{
    let server = WebPushTesting::start();
    let world = common::world().await;
    let phone = world.enrolled_phone("alice").await;
    let (subscription, client_hash) = server.subscribe(phone.vault().vapid_public_key()).await;
    phone
        .client()
        .set_push_subscription(Some(subscription))
        .await
        .expect("the relay takes the subscription");

    let created = world.bank.login("alice").await;
    let mut messages = Vec::new();
    for _ in 0..100 {
        messages = server.notifications(&client_hash).await;
        if !messages.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(messages.len(), 1, "{messages:?}");
    let payload = PushPayload::from_plaintext(messages[0].as_bytes())
        .unwrap_or_else(|e| panic!("{e}: {}", messages[0]));
    assert_eq!(payload.id, created.id);
    assert_eq!(payload.challenge.expect("details").id, created.id);

    // The push service forgets the subscription: the next push gets 410 and the relay
    // drops it.
    server
        .call(
            &format!("/expire-subscription/{client_hash}"),
            reqwest::Body::from(""),
            "application/json",
        )
        .await;
    world.bank.login("alice").await;
    let store = world.relay.relay.service().store();
    let id = phone.vault().credential_id().clone();
    let dropped = tokio::time::timeout(Duration::from_secs(10), async {
        while store
            .credential(&id)
            .await
            .unwrap()
            .push_subscription
            .is_some()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        dropped.is_ok(),
        "the relay dropped the expired subscription"
    );
}
