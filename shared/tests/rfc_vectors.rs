//! The published RFC test vectors (`tests/vectors/rfc.json`, copied from the RFC texts),
//! checked through the crate's public API only.

use onepush_protocol::{b64, totp, webpush};
use serde_json::Value;

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/rfc.json")).expect("rfc.json is JSON")
}

fn text<'v>(value: &'v Value, name: &str) -> &'v str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is a string"))
}

#[test]
fn rfc6238_appendix_b_sha1() {
    let all = vectors();
    let v = &all["rfc6238_totp_sha1"];
    let secret = totp::TotpSecret::from_bytes(text(v, "secret_ascii").as_bytes()).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for case in cases {
        let now = case["unix_time"].as_i64().unwrap();
        let step = u64::from_str_radix(text(case, "step_hex"), 16).unwrap();
        let totp8 = text(case, "totp8");
        assert_eq!(totp::step_at(now), step, "T for {now}");
        assert_eq!(
            totp::hotp(secret.as_bytes(), step, 8),
            totp8,
            "8 digits at {now}"
        );
        assert_eq!(totp::code(&secret, now), totp8[2..], "6 digits at {now}");
        assert_eq!(
            totp::verify(&secret, &totp8[2..], now, 0, 1, None),
            Ok(step)
        );
    }
}

#[test]
fn rfc4226_appendix_d_hotp() {
    let all = vectors();
    let v = &all["rfc4226_hotp"];
    let secret = text(v, "secret_ascii").as_bytes();
    let codes = v["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    for (counter, code) in (0u64..).zip(codes) {
        assert_eq!(
            totp::hotp(secret, counter, 6),
            code.as_str().unwrap(),
            "counter {counter}"
        );
    }
}

#[test]
fn rfc8291_appendix_a_decrypts() {
    let all = vectors();
    let v = &all["rfc8291_webpush_aes128gcm"];
    let bytes = |name: &str| b64::decode(text(v, name)).unwrap();
    let body = bytes("body");
    assert!(body.starts_with(&bytes("header")));
    assert!(body.ends_with(&bytes("ciphertext")));
    let plaintext = webpush::decrypt(&body, &bytes("ua_private"), &bytes("auth_secret")).unwrap();
    assert_eq!(plaintext, text(v, "plaintext_utf8").as_bytes());

    let keys =
        webpush::PushReceiverKeys::from_bytes(&bytes("ua_private"), &bytes("auth_secret")).unwrap();
    assert_eq!(keys.public_key().as_slice(), bytes("ua_public").as_slice());
    let subscription =
        keys.subscription("https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV");
    assert_eq!(subscription.keys.p256dh, text(v, "ua_public"));
    assert_eq!(subscription.keys.auth, text(v, "auth_secret"));
    subscription.validate().unwrap();
}
