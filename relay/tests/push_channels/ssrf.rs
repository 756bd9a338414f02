//! `PUT /v1/device/push-subscription` refuses endpoints the relay must not call (422).

use onepush_protocol::webpush::PushReceiverKeys;
use onepush_relay::Parts;
use onepush_relay::testing::{spawn_relay_with, test_settings};
use serde_json::json;

use crate::common::TestDevice;

#[tokio::test]
async fn internal_and_plain_http_endpoints_are_refused_at_registration() {
    let dir = tempfile::tempdir().unwrap();
    let settings = onepush_relay::Settings {
        push_allow_insecure_endpoints: false,
        push_allow_private_endpoints: false,
        ..test_settings(dir.path())
    };
    let relay = spawn_relay_with(settings, Parts::default(), true).await;
    let mut device = TestDevice::new(&relay.url);
    device.provision(None).await.json::<serde_json::Value>(201);
    let keys = PushReceiverKeys::generate();
    let cases = [
        ("https://127.0.0.1:8443/push/1", "loopback"),
        ("https://[::1]/push/1", "loopback"),
        ("https://10.0.0.8/push/1", "private (RFC 1918)"),
        ("https://[fd00::8]/push/1", "unique local"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://100.64.1.1/push", "CGNAT"),
        ("https://224.0.0.251/push", "multicast"),
        ("https://0.0.0.0/push", "unspecified"),
        ("https://localhost:8443/push/1", "resolves to"),
        (
            "http://push.example/push/1",
            "push_allow_insecure_endpoints",
        ),
    ];
    for (endpoint, why) in cases {
        let body = json!({ "subscription": keys.subscription(endpoint) });
        let problem = device
            .send("PUT", "/v1/device/push-subscription", Some(&body))
            .await
            .problem(422, "push-endpoint-refused");
        let detail = problem.detail;
        assert!(detail.contains(why), "{endpoint}: {detail}");
        assert!(detail.starts_with("subscription.endpoint"), "{detail}");
    }

    // The same guard holds for a subscription handed over at provisioning.
    let mut other = TestDevice::new(&relay.url);
    other
        .provision(Some(keys.subscription("https://localhost/push/2")))
        .await
        .problem(422, "push-endpoint-refused");
    relay.shutdown().await.unwrap();
}
