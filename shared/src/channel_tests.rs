use super::*;
use crate::webpush::PushReceiverKeys;
use serde_json::json;

fn keys_json() -> serde_json::Value {
    let keys = PushReceiverKeys::generate()
        .subscription("https://push.example/x")
        .keys;
    json!({"p256dh": keys.p256dh, "auth": keys.auth})
}

fn parse(value: serde_json::Value) -> Result<PushChannel, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[test]
fn a_browser_subscription_without_type_is_web_push() {
    let keys = keys_json();
    let channel = parse(json!({
        "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
        "expirationTime": null,
        "keys": keys,
    }))
    .unwrap();
    assert_eq!(channel.kind(), "webpush");
    channel.validate().unwrap();
    let stored = serde_json::to_value(&channel).unwrap();
    assert_eq!(stored["type"], "webpush");
    assert_eq!(
        parse(stored).unwrap(),
        channel,
        "the stored form reads back"
    );
}

#[test]
fn apns_and_fcm_forms_read_and_round_trip() {
    let apns = parse(json!({
        "type": "apns",
        "device_token": "a".repeat(64),
        "environment": "sandbox",
        "keys": keys_json(),
        "language": "ja",
    }))
    .unwrap();
    let PushChannel::Apns(sub) = &apns else {
        panic!("{apns:?}")
    };
    assert_eq!(sub.environment, ApnsEnvironment::Sandbox);
    apns.validate().unwrap();
    assert_eq!(parse(serde_json::to_value(&apns).unwrap()).unwrap(), apns);

    let fcm = parse(json!({
        "type": "fcm",
        "registration_token": "dGVzdA:APA91b-x_y.z",
        "keys": keys_json(),
    }))
    .unwrap();
    assert_eq!(fcm.kind(), "fcm");
    fcm.validate().unwrap();
    assert_eq!(parse(serde_json::to_value(&fcm).unwrap()).unwrap(), fcm);
}

#[test]
fn apns_environment_defaults_to_production() {
    let apns = parse(json!({"type": "apns", "device_token": "ab12", "keys": keys_json()})).unwrap();
    let PushChannel::Apns(sub) = apns else {
        panic!()
    };
    assert_eq!(sub.environment, ApnsEnvironment::Production);
}

#[test]
fn bad_forms_name_the_field() {
    let cases = [
        (
            json!({"type": "mqtt", "keys": keys_json()}),
            "webpush, apns or fcm",
        ),
        (json!({"type": "apns", "keys": keys_json()}), "device_token"),
        (
            json!({"type": "fcm", "keys": keys_json()}),
            "registration_token",
        ),
        (
            json!({"type": "apns", "device_token": "ab", "environment": "staging", "keys": keys_json()}),
            "staging",
        ),
        (
            json!({"type": "apns", "device_token": "ab", "endpoint": "https://x", "keys": keys_json()}),
            "endpoint",
        ),
        (json!({"type": "fcm", "registration_token": "t"}), "keys"),
        (json!({"keys": keys_json()}), "endpoint"),
    ];
    for (value, named) in cases {
        let err = parse(value.clone()).unwrap_err();
        assert!(err.contains(named), "{value}: {err}");
    }
}

#[test]
fn bad_tokens_and_keys_are_refused_by_validate() {
    let with = |value: serde_json::Value| parse(value).unwrap().validate().unwrap_err();
    assert_eq!(
        with(json!({"type": "apns", "device_token": "not hex!", "keys": keys_json()})),
        SubscriptionError::DeviceToken
    );
    assert_eq!(
        with(json!({"type": "apns", "device_token": "a".repeat(201), "keys": keys_json()})),
        SubscriptionError::DeviceToken
    );
    assert_eq!(
        with(json!({"type": "apns", "device_token": "ab", "keys": keys_json(), "language": "fr"})),
        SubscriptionError::Language("fr".into())
    );
    assert_eq!(
        with(json!({"type": "fcm", "registration_token": "a b", "keys": keys_json()})),
        SubscriptionError::RegistrationToken
    );
    assert_eq!(
        with(json!({"type": "fcm", "registration_token": "", "keys": keys_json()})),
        SubscriptionError::RegistrationToken
    );
    assert_eq!(
        with(
            json!({"type": "fcm", "registration_token": "t", "keys": {"p256dh": "AAAA", "auth": "AAAA"}})
        ),
        SubscriptionError::P256dh
    );
}

#[test]
fn debug_shortens_device_tokens() {
    let token = "0123456789abcdef".repeat(4);
    let apns = parse(json!({"type": "apns", "device_token": token, "keys": keys_json()})).unwrap();
    let shown = format!("{apns:?}");
    assert!(shown.contains("01234567…"), "{shown}");
    assert!(!shown.contains(&token));
}
