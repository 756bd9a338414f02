//! Web Push payloads: the subscription a device hands the relay (W3C Push API
//! `PushSubscription` JSON), the device's keys that decrypt messages encrypted with
//! `aes128gcm` (RFC 8291 on RFC 8188), and [`encrypt`], the sending side: the relay
//! encrypts every push message with it.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::b64;
use crate::keys::fill_random;

mod ece;

pub use ece::{
    AUTH_SECRET_LEN, ENCRYPT_RECORD_SIZE, HEADER_LEN, MAX_PLAINTEXT_LEN, MIN_RECORD_SIZE, Padding,
    PushDecryptError, PushEncryptError, decrypt, encrypt, max_plaintext_len,
};

/// How long every OnePush push message is, whatever it carries ([`Padding::ToLength`]).
///
/// Half of what RFC 8030 push services must take, so that the message still fits the
/// 4 KiB payload limits of APNs and FCM once a gateway has base64-encoded it
/// (2,732 characters) into their JSON.
pub const PUSH_MESSAGE_LEN: usize = 2048;

/// The largest plaintext a [`PUSH_MESSAGE_LEN`] message holds.
pub const PUSH_PLAINTEXT_LEN: usize = max_plaintext_len(PUSH_MESSAGE_LEN);

/// Longest push endpoint URL accepted, in bytes.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// The keys of a push subscription (W3C Push API `PushSubscription.toJSON().keys`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKeys {
    /// The device's ECDH public key: a 65-byte uncompressed P-256 point, base64url
    /// (RFC 8291 §3.2, `ua_public`).
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url (RFC 8291 §3.2). Not shown by `Debug`.
    pub auth: String,
}

impl fmt::Debug for PushKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushKeys")
            .field("p256dh", &self.p256dh)
            .field("auth", &"<redacted>")
            .finish()
    }
}

/// Where and how to send Web Push messages to a device (W3C Push API
/// `PushSubscription.toJSON()`; `expirationTime` is accepted and ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSubscription {
    /// The push service URL to `POST` messages to (RFC 8030 §5).
    pub endpoint: String,
    /// The keys that encrypt messages for this device.
    pub keys: PushKeys,
}

/// Why a push subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    /// The endpoint is not an http(s) URL.
    #[error(
        "push endpoint must be an https:// (or http://) URL of at most {MAX_ENDPOINT_LEN} bytes, got {0:?}"
    )]
    Endpoint(String),
    /// `p256dh` is not a 65-byte uncompressed P-256 point.
    #[error("push subscription p256dh must be a 65-byte uncompressed P-256 point in base64url")]
    P256dh,
    /// `auth` is not 16 bytes.
    #[error("push subscription auth must be 16 bytes in base64url")]
    Auth,
    /// An APNs `device_token` that is not 1 to 200 hex digits.
    #[error(
        "push subscription device_token must be the APNs device token in hex (at most 200 digits)"
    )]
    DeviceToken,
    /// An FCM `registration_token` that is empty, too long or has other characters.
    #[error(
        "push subscription registration_token must be the FCM registration token (at most 1024 characters of A-Z a-z 0-9 - _ : .)"
    )]
    RegistrationToken,
    /// An APNs alert or FCM notification `language` other than `ja` or `en`.
    #[error("push subscription language must be ja or en, got {0:?}")]
    Language(String),
}

impl PushSubscription {
    /// Checks the endpoint (an http(s) URL with a host, no spaces) and the keys.
    pub fn validate(&self) -> Result<(), SubscriptionError> {
        if !endpoint_is_valid(&self.endpoint) {
            let shown: String = self.endpoint.chars().take(80).collect();
            return Err(SubscriptionError::Endpoint(shown));
        }
        self.keys.p256dh_bytes()?;
        self.keys.auth_bytes()?;
        Ok(())
    }
}

fn endpoint_is_valid(endpoint: &str) -> bool {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http"))
        && !host.is_empty()
        && endpoint.len() <= MAX_ENDPOINT_LEN
        && endpoint.chars().all(|c| c.is_ascii_graphic())
}

impl PushKeys {
    /// `p256dh` decoded and checked to be on the curve.
    pub fn p256dh_bytes(&self) -> Result<[u8; 65], SubscriptionError> {
        let point: [u8; 65] = b64::decode_array(&self.p256dh).ok_or(SubscriptionError::P256dh)?;
        if point[0] != 0x04 || p256::PublicKey::from_sec1_bytes(&point).is_err() {
            return Err(SubscriptionError::P256dh);
        }
        Ok(point)
    }

    /// `auth` decoded.
    pub fn auth_bytes(&self) -> Result<[u8; AUTH_SECRET_LEN], SubscriptionError> {
        b64::decode_array(&self.auth).ok_or(SubscriptionError::Auth)
    }
}

/// The device's Web Push keys: a P-256 ECDH private key and a 16-byte auth secret.
///
/// Both are zeroized on drop and never shown by `Debug`. The public key is computed once
/// (every message's key derivation needs it, and a P-256 base-point multiplication costs
/// more than the AES-GCM of a whole message).
#[derive(Clone)]
pub struct PushReceiverKeys {
    private: p256::SecretKey,
    public: [u8; ece::POINT_LEN],
    auth: Zeroizing<[u8; AUTH_SECRET_LEN]>,
}

impl PushReceiverKeys {
    /// New random keys.
    pub fn generate() -> Self {
        let mut auth = Zeroizing::new([0u8; AUTH_SECRET_LEN]);
        fill_random(auth.as_mut());
        loop {
            let mut private = Zeroizing::new([0u8; 32]);
            fill_random(private.as_mut());
            // Fails only for 0 or a value >= n: about 2^-32 of the time.
            if let Ok(keys) = Self::from_bytes(private.as_ref(), auth.as_ref()) {
                return keys;
            }
        }
    }

    /// Keys from a 32-byte private scalar and a 16-byte auth secret (as stored).
    pub fn from_bytes(private: &[u8], auth: &[u8]) -> Result<Self, PushDecryptError> {
        if private.len() != 32 {
            return Err(PushDecryptError::ReceiverKey(
                "private key must be 32 bytes",
            ));
        }
        let private = p256::SecretKey::from_slice(private)
            .map_err(|_| PushDecryptError::ReceiverKey("private key is not a P-256 scalar"))?;
        let auth: [u8; AUTH_SECRET_LEN] = auth
            .try_into()
            .map_err(|_| PushDecryptError::ReceiverKey("auth secret must be 16 bytes"))?;
        Ok(Self {
            public: ece::uncompressed(&private.public_key()),
            private,
            auth: Zeroizing::new(auth),
        })
    }

    /// The 32-byte private scalar, for the device's vault.
    pub fn private_bytes(&self) -> Zeroizing<[u8; 32]> {
        let scalar = Zeroizing::new(self.private.to_bytes());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(scalar.as_slice());
        out
    }

    /// The 16-byte auth secret.
    pub fn auth_secret(&self) -> &[u8; AUTH_SECRET_LEN] {
        &self.auth
    }

    /// The public key, a 65-byte uncompressed point (the subscription's `p256dh`).
    pub fn public_key(&self) -> [u8; 65] {
        self.public
    }

    /// The subscription to hand the relay for a push service `endpoint`.
    pub fn subscription(&self, endpoint: &str) -> PushSubscription {
        PushSubscription {
            endpoint: endpoint.to_owned(),
            keys: PushKeys {
                p256dh: b64::encode(self.public_key()),
                auth: b64::encode(self.auth.as_ref()),
            },
        }
    }

    /// Decrypts one `aes128gcm` push message body (see [`decrypt`]).
    pub fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, PushDecryptError> {
        ece::decrypt_with(body, &self.private, &self.public, &self.auth)
    }
}

impl fmt::Debug for PushReceiverKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushReceiverKeys")
            .field("public_key", &b64::encode(self.public_key()))
            .field("private", &"<redacted>")
            .field("auth", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests;
