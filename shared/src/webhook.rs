//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): the relay signs
//! each webhook with them, and a bank verifies them (crate `onepush-bank`).
//!
//! A message carries `webhook-id` (unique per message, the same on every retry),
//! `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`:
//! `v1,<standard base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}">`, several
//! space-separated during a secret rotation. The key is the base64 after `whsec_`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

/// The prefix of a webhook secret (`whsec_` + standard base64 of the key bytes).
pub const SECRET_PREFIX: &str = "whsec_";

/// How far a `webhook-timestamp` may be from the receiver's clock (the spec's suggestion).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The `webhook-signature` value for one message.
///
/// A secret whose part after `whsec_` is not valid base64 is used as raw bytes, as the
/// reference libraries do for unprefixed secrets.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = hmac::sign(&key(secret), &signed_content(msg_id, timestamp, body));
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

/// Whether `signature_header` holds a valid `v1` signature of this message and
/// `timestamp` is within `tolerance` of `now` (both Unix seconds). One valid signature
/// of the space-separated list is enough. Tags are compared in constant time.
pub fn verify(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    signature_header: &str,
    now: i64,
    tolerance: Duration,
) -> bool {
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return false;
    }
    let key = key(secret);
    let content = signed_content(msg_id, timestamp, body);
    signature_header
        .split(' ')
        .filter_map(|signature| signature.strip_prefix("v1,"))
        .filter_map(|tag| STANDARD.decode(tag).ok())
        .any(|tag| hmac::verify(&key, &content, &tag).is_ok())
}

fn key(secret: &str) -> hmac::Key {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let bytes = STANDARD
        .decode(encoded)
        .unwrap_or_else(|_| encoded.as_bytes().to_vec());
    hmac::Key::new(hmac::HMAC_SHA256, &bytes)
}

fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{msg_id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification (its "Verifying webhooks"
    /// section and the reference libraries' tests).
    #[test]
    fn the_specification_example_verifies() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let timestamp = 1_614_265_330;
        let body = br#"{"test": 2432232314}"#;
        let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert_eq!(sign(secret, id, timestamp, body), signature);
        assert!(verify(
            secret,
            id,
            timestamp,
            body,
            signature,
            timestamp,
            DEFAULT_TOLERANCE
        ));
    }

    #[test]
    fn a_changed_body_an_old_timestamp_or_another_secret_fail() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let signature = sign(secret, "msg_1", 1_000, b"{}");
        let ok = |s: &str, body: &[u8], now| {
            verify(s, "msg_1", 1_000, body, &signature, now, DEFAULT_TOLERANCE)
        };
        assert!(ok(secret, b"{}", 1_000));
        assert!(!ok(secret, b"{ }", 1_000));
        assert!(!ok(secret, b"{}", 1_000 + 301));
        assert!(!ok("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", b"{}", 1_000));
    }

    #[test]
    fn one_valid_signature_in_a_rotation_list_is_enough() {
        let new = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let old = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let header = format!("{} {}", sign(old, "m", 5, b"x"), sign(new, "m", 5, b"x"));
        assert!(verify(new, "m", 5, b"x", &header, 5, DEFAULT_TOLERANCE));
    }
}
