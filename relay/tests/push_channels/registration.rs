//! `PUT /v1/device/push-subscription`: the three forms, each bad field (400), a sender not
//! configured (409), endpoints the relay must not call (422), and their OpenAPI entry.

use onepush_protocol::webpush::PushReceiverKeys;
use onepush_relay::Parts;
use onepush_relay::testing::{spawn_relay_with, test_settings};
use serde_json::json;

use crate::common::TestDevice;

#[tokio::test]
async fn internal_and_plain_http_endpoints_are_refused_at_registration() {
    let dir = tempfile::tempdir().unwrap();
    let settings = {
        let mut s = test_settings(dir.path());
        s.push.webpush.allow_insecure_endpoints = false;
        s.push.webpush.allow_private_endpoints = false;
        s
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
            "push.webpush.allow_insecure_endpoints",
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

#[tokio::test]
async fn apns_and_fcm_subscriptions_are_refused_while_their_sender_is_not_configured() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay_with(test_settings(dir.path()), Parts::default(), true).await;
    let mut device = TestDevice::new(&relay.url);
    device.provision(None).await.json::<serde_json::Value>(201);
    let keys = PushReceiverKeys::generate()
        .subscription("https://x.test/")
        .keys;
    let cases = [
        (
            json!({"type": "apns", "device_token": "ab".repeat(32), "environment": "sandbox", "keys": keys}),
            "push.apns.key_file",
        ),
        (
            json!({"type": "fcm", "registration_token": "fcm-token:1", "keys": keys}),
            "push.fcm.service_account_file",
        ),
    ];
    for (subscription, setting) in cases {
        let body = json!({ "subscription": subscription });
        let problem = device
            .send("PUT", "/v1/device/push-subscription", Some(&body))
            .await
            .problem(409, "push-channel-not-configured");
        assert!(problem.detail.contains(setting), "{}", problem.detail);
    }
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn each_bad_field_of_a_subscription_is_named_in_a_400() {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay_with(test_settings(dir.path()), Parts::default(), true).await;
    let mut device = TestDevice::new(&relay.url);
    device.provision(None).await.json::<serde_json::Value>(201);
    let keys = PushReceiverKeys::generate()
        .subscription("https://x.test/")
        .keys;
    let cases = [
        (
            json!({"type": "carrier-pigeon", "keys": keys}),
            "webpush, apns or fcm",
        ),
        (json!({"type": "apns", "keys": keys}), "device_token"),
        (
            json!({"type": "apns", "device_token": "not hex", "keys": keys}),
            "device_token",
        ),
        (
            json!({"type": "apns", "device_token": "ab", "environment": "staging", "keys": keys}),
            "staging",
        ),
        (
            json!({"type": "fcm", "registration_token": "has space", "keys": keys}),
            "registration_token",
        ),
        (
            json!({"type": "fcm", "registration_token": "t", "keys": {"p256dh": "AA", "auth": keys.auth}}),
            "p256dh",
        ),
        (
            json!({"endpoint": "https://push.example/1", "keys": {"p256dh": keys.p256dh, "auth": "AA"}}),
            "auth",
        ),
    ];
    for (subscription, field) in cases {
        let body = json!({ "subscription": subscription });
        let problem = device
            .send("PUT", "/v1/device/push-subscription", Some(&body))
            .await
            .problem(400, "invalid-request");
        assert!(
            problem.detail.contains(field),
            "{subscription}: {}",
            problem.detail
        );
    }
    relay.shutdown().await.unwrap();
}

#[test]
fn openapi_documents_the_three_subscription_forms_and_their_errors() {
    let doc = serde_json::to_value(onepush_relay::http::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let channel = schemas["PushChannel"].to_string();
    for form in ["webpush", "apns", "fcm"] {
        assert!(channel.contains(form), "{form} in {channel}");
    }
    for schema in ["ApnsSubscription", "FcmSubscription", "PushSubscription"] {
        assert!(schemas.get(schema).is_some(), "{schema}");
    }
    let responses = &doc["paths"]["/v1/device/push-subscription"]["put"]["responses"];
    for status in ["204", "400", "409", "422"] {
        assert!(responses.get(status).is_some(), "{status} in {responses}");
    }
}
