//! A credential's push channel: where the relay sends each challenge announcement.
//! Three kinds, one message: Web Push (browsers, `UnifiedPush`, FCM's Web Push endpoint),
//! APNs (iOS) and FCM HTTP v1 (Android). Every kind carries the same RFC 8291
//! `aes128gcm` message encrypted to the device's [`PushKeys`] and padded to
//! [`crate::webpush::PUSH_MESSAGE_LEN`] bytes, so Apple and Google see only ciphertext.
//!
//! On the wire (`PUT /v1/device/push-subscription`, the provisioning request) a channel
//! is a JSON object with a `type` of `webpush`, `apns` or `fcm`; an object without
//! `type` is the W3C `PushSubscription.toJSON()` a browser hands over, i.e. `webpush`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::webpush::{PushKeys, PushSubscription, SubscriptionError};

/// Longest APNs device token accepted, in hex digits (Apple's are 64 today).
pub const MAX_DEVICE_TOKEN_LEN: usize = 200;
/// Longest FCM registration token accepted, in characters (Google's are about 160).
pub const MAX_REGISTRATION_TOKEN_LEN: usize = 1024;

/// Which APNs host serves a device token: tokens of development builds only work with
/// the sandbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ApnsEnvironment {
    /// `api.push.apple.com`: App Store, `TestFlight` and ad-hoc builds.
    #[default]
    Production,
    /// `api.sandbox.push.apple.com`: development builds.
    Sandbox,
}

/// An iOS device registered with APNs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApnsSubscription {
    /// The device token from `registerForRemoteNotifications`, hex (64 digits today).
    pub device_token: String,
    /// The APNs environment the token belongs to (default `production`).
    #[serde(default)]
    pub environment: ApnsEnvironment,
    /// The keys the message is encrypted to (RFC 8291), decrypted by the app's
    /// Notification Service Extension.
    pub keys: PushKeys,
    /// The language of the visible alert text (`ja` or `en`; default `en`), which is
    /// generic: the bank's name and "approval request", nothing of the challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// An Android device registered with Firebase Cloud Messaging.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FcmSubscription {
    /// The registration token from `FirebaseMessaging.getToken()`.
    pub registration_token: String,
    /// The keys the message is encrypted to (RFC 8291).
    pub keys: PushKeys,
    /// The language of the visible notification text (`ja` or `en`; default `en`), which
    /// is generic like APNs' alert: Android shows it even when the app is not running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// The visible text of an APNs alert or an FCM notification is in `ja` or `en`.
fn check_language(language: Option<&str>) -> Result<(), SubscriptionError> {
    match language {
        Some(l) if !matches!(l, "ja" | "en") => {
            Err(SubscriptionError::Language(l.chars().take(16).collect()))
        }
        _ => Ok(()),
    }
}

/// Where a credential's challenge announcements go.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PushChannel {
    /// Web Push (RFC 8030) to `endpoint`, VAPID-signed (RFC 8292). `type` may be left out.
    #[serde(rename = "webpush")]
    WebPush(PushSubscription),
    /// APNs (token-based provider authentication, HTTP/2).
    Apns(ApnsSubscription),
    /// FCM HTTP v1.
    Fcm(FcmSubscription),
}

impl From<PushSubscription> for PushChannel {
    fn from(subscription: PushSubscription) -> Self {
        Self::WebPush(subscription)
    }
}

impl PushChannel {
    /// `webpush`, `apns` or `fcm`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::WebPush(_) => "webpush",
            Self::Apns(_) => "apns",
            Self::Fcm(_) => "fcm",
        }
    }

    /// The keys every message on this channel is encrypted to.
    pub fn keys(&self) -> &PushKeys {
        match self {
            Self::WebPush(s) => &s.keys,
            Self::Apns(s) => &s.keys,
            Self::Fcm(s) => &s.keys,
        }
    }

    /// The Web Push subscription, when this is one.
    pub fn web_push(&self) -> Option<&PushSubscription> {
        match self {
            Self::WebPush(s) => Some(s),
            _ => None,
        }
    }

    /// Checks the address and the keys; the error names the field.
    pub fn validate(&self) -> Result<(), SubscriptionError> {
        match self {
            Self::WebPush(s) => return s.validate(),
            Self::Apns(s) => {
                let token = &s.device_token;
                if token.is_empty()
                    || token.len() > MAX_DEVICE_TOKEN_LEN
                    || !token.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(SubscriptionError::DeviceToken);
                }
                check_language(s.language.as_deref())?;
            }
            Self::Fcm(s) => {
                let token = &s.registration_token;
                if token.is_empty()
                    || token.len() > MAX_REGISTRATION_TOKEN_LEN
                    || !token
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_:.".contains(&b))
                {
                    return Err(SubscriptionError::RegistrationToken);
                }
                check_language(s.language.as_deref())?;
            }
        }
        self.keys().p256dh_bytes()?;
        self.keys().auth_bytes()?;
        Ok(())
    }
}

impl fmt::Debug for PushChannel {
    /// Device tokens are shown shortened: they address one phone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |t: &str| format!("{}…", t.chars().take(8).collect::<String>());
        match self {
            Self::WebPush(s) => f.debug_tuple("WebPush").field(s).finish(),
            Self::Apns(s) => f
                .debug_struct("Apns")
                .field("device_token", &short(&s.device_token))
                .field("environment", &s.environment)
                .field("keys", &s.keys)
                .field("language", &s.language)
                .finish(),
            Self::Fcm(s) => f
                .debug_struct("Fcm")
                .field("registration_token", &short(&s.registration_token))
                .field("keys", &s.keys)
                .field("language", &s.language)
                .finish(),
        }
    }
}

impl fmt::Debug for ApnsSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&PushChannel::Apns(self.clone()), f)
    }
}

impl fmt::Debug for FcmSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&PushChannel::Fcm(self.clone()), f)
    }
}

/// The wire form before the `type` is known; `type` absent means `webpush` (the
/// browser's `PushSubscription.toJSON()`, whose `expirationTime` is ignored).
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

impl<'de> Deserialize<'de> for PushChannel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let wire = Wire::deserialize(deserializer)?;
        let value = serde_json::Value::Object(wire.rest);
        let kind = wire.kind.as_deref().unwrap_or("webpush");
        let parsed = match kind {
            "webpush" => serde_json::from_value(value).map(Self::WebPush),
            "apns" => serde_json::from_value(value).map(Self::Apns),
            "fcm" => serde_json::from_value(value).map(Self::Fcm),
            other => {
                return Err(D::Error::custom(format!(
                    "push subscription type must be webpush, apns or fcm, not {other:?}"
                )));
            }
        };
        parsed.map_err(|e| D::Error::custom(format!("{kind} push subscription: {e}")))
    }
}

#[cfg(test)]
#[path = "channel_tests.rs"]
mod tests;
