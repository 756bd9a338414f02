//! The APNs sender: token-based provider authentication (an ES256 JWT from the bank's
//! `.p8` key, reused and renewed inside Apple's 20–60 minute window), HTTP/2 over TLS,
//! `POST /3/device/{token}` with a generic visible alert, `mutable-content: 1` and the
//! encrypted message for the app's Notification Service Extension.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use onepush_protocol::{ApnsEnvironment, ApnsSubscription};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::json;

use super::{PushError, PushMessage, PushResult, classify, read_pem, reason_for_log};

/// Apple's production host.
pub const APNS_PRODUCTION: &str = "https://api.push.apple.com";
/// Apple's sandbox host (development builds).
pub const APNS_SANDBOX: &str = "https://api.sandbox.push.apple.com";
/// A provider JWT is renewed once it is this old: Apple refuses one older than 60
/// minutes and one renewed more often than every 20 (`TooManyProviderTokenUpdates`).
pub const APNS_JWT_RENEW_AFTER: Duration = Duration::from_secs(40 * 60);

/// The JSON key of the payload that carries the encrypted message (base64url).
pub const MESSAGE_KEY: &str = "onepush_message";

/// What the APNs sender is configured with (settings `push.apns.*`).
#[derive(Clone)]
pub struct ApnsConfig {
    /// The `.p8` key, PKCS#8 PEM.
    pub key_pem: zeroize::Zeroizing<String>,
    /// The key's ID (the JWT's `kid`).
    pub key_id: String,
    /// The team ID (the JWT's `iss`).
    pub team_id: String,
    /// The app's bundle ID (`apns-topic`).
    pub topic: String,
    /// One base URL for every environment, instead of Apple's two hosts.
    pub base_url: Option<String>,
}

impl std::fmt::Debug for ApnsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsConfig")
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("topic", &self.topic)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Sends challenge announcements through APNs.
pub struct ApnsSender {
    client: reqwest::Client,
    key: EcdsaKeyPair,
    config: ApnsConfig,
    jwt: Mutex<Option<(String, SystemTime)>>,
    jwts_signed: AtomicU64,
}

impl std::fmt::Debug for ApnsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsSender")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ApnsSender {
    /// A sender with `config`, HTTP/2 only, trusting the system's roots and `extra_roots`.
    pub fn new(
        config: ApnsConfig,
        request_timeout: Duration,
        extra_roots: &[reqwest::Certificate],
    ) -> Result<Self, PushError> {
        let der = read_pem(&config.key_pem, "PRIVATE KEY").ok_or(PushError::Setting {
            key: "push.apns.key_file",
            message: "not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)".into(),
        })?;
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
                .map_err(|e| PushError::Setting {
                    key: "push.apns.key_file",
                    message: format!("not a P-256 key: {e}"),
                })?;
        let client = super::client_builder(request_timeout, extra_roots)
            .http2_prior_knowledge()
            .https_only(true)
            .build()
            .map_err(PushError::Client)?;
        Ok(Self {
            client,
            key,
            config,
            jwt: Mutex::new(None),
            jwts_signed: AtomicU64::new(0),
        })
    }

    /// How many provider JWTs this sender has signed.
    pub fn jwts_signed(&self) -> u64 {
        self.jwts_signed.load(Ordering::Relaxed)
    }

    /// The provider JWT, reused until [`APNS_JWT_RENEW_AFTER`] (or `renew`).
    fn provider_jwt(&self, now: SystemTime, renew: bool) -> Result<String, String> {
        let mut cached = self
            .jwt
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((jwt, issued)) = cached.as_ref()
            && !renew
            && now.duration_since(*issued).unwrap_or_default() < APNS_JWT_RENEW_AFTER
        {
            return Ok(jwt.clone());
        }
        let iat = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let header = json!({"alg": "ES256", "kid": self.config.key_id});
        let claims = json!({"iss": self.config.team_id, "iat": iat});
        let jwt = super::sign_jwt(&header, &claims, |input| {
            self.key
                .sign(&SystemRandom::new(), input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| "ES256 signing failed".to_owned())
        })?;
        self.jwts_signed.fetch_add(1, Ordering::Relaxed);
        *cached = Some((jwt.clone(), now));
        Ok(jwt)
    }

    fn url(&self, subscription: &ApnsSubscription) -> String {
        let base = self
            .config
            .base_url
            .as_deref()
            .unwrap_or(match subscription.environment {
                ApnsEnvironment::Production => APNS_PRODUCTION,
                ApnsEnvironment::Sandbox => APNS_SANDBOX,
            });
        format!(
            "{}/3/device/{}",
            base.trim_end_matches('/'),
            subscription.device_token
        )
    }

    /// Sends one announcement; a 403 for the provider token renews it and tries once more.
    pub async fn post(
        &self,
        subscription: &ApnsSubscription,
        message: &PushMessage<'_>,
    ) -> PushResult {
        let body = match body(subscription, message) {
            Ok(body) => body,
            Err(reason) => {
                tracing::warn!(%reason, "APNs push refused before sending");
                return PushResult::Rejected { status: 0 };
            }
        };
        let mut renew = false;
        loop {
            let jwt = match self.provider_jwt(SystemTime::now(), renew) {
                Ok(jwt) => jwt,
                Err(reason) => {
                    tracing::error!(%reason, "cannot sign the APNs provider token");
                    return PushResult::Rejected { status: 0 };
                }
            };
            let request = self
                .client
                .post(self.url(subscription))
                .bearer_auth(jwt)
                .header("apns-topic", &self.config.topic)
                .header("apns-push-type", "alert")
                .header("apns-priority", "10")
                .header(
                    "apns-expiration",
                    message.deadline.unix_timestamp().to_string(),
                )
                .header("apns-collapse-id", message.collapse_id)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
            let (status, headers, reason) = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let answer = super::read_json(response).await;
                    let reason = answer["reason"].as_str().map(reason_for_log);
                    (status, headers, reason.unwrap_or_default())
                }
                Err(error) => {
                    tracing::warn!(timeout = error.is_timeout(), connect = error.is_connect(), error = %error.without_url(), "APNs request got no answer");
                    return PushResult::Retry {
                        status: None,
                        retry_after: None,
                    };
                }
            };
            let result = sort(status, &reason, &headers);
            if result == Sorted::RenewToken && !renew {
                tracing::info!(%reason, "APNs refused the provider token; signing a new one");
                renew = true;
                continue;
            }
            let result = match result {
                Sorted::Result(result) => result,
                Sorted::RenewToken => PushResult::Rejected {
                    status: status.as_u16(),
                },
            };
            if result != PushResult::Sent {
                tracing::warn!(status = status.as_u16(), %reason, result = result.label(), "APNs refused the push");
            }
            return result;
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Sorted {
    Result(PushResult),
    RenewToken,
}

/// Sorts APNs's answer (Apple, "Handling notification responses from APNs").
fn sort(status: StatusCode, reason: &str, headers: &reqwest::header::HeaderMap) -> Sorted {
    let code = status.as_u16();
    Sorted::Result(match code {
        200 => PushResult::Sent,
        400 if reason == "BadDeviceToken" => PushResult::Gone { status: code },
        410 => PushResult::Gone { status: code },
        403 if matches!(reason, "ExpiredProviderToken" | "InvalidProviderToken") => {
            return Sorted::RenewToken;
        }
        429 | 500..=599 => classify(code, headers),
        _ => PushResult::Rejected { status: code },
    })
}

/// The language of the generic alert text (APNs alert, FCM notification).
pub(super) fn alert_body(language: Option<&str>) -> &'static str {
    match language {
        Some("ja") => "承認のリクエストがあります",
        _ => "Approval request",
    }
}

/// The JSON body: a generic visible alert (the bank's name, "approval request"),
/// `mutable-content: 1`, and the encrypted message, base64url, for the app to decrypt.
fn body(subscription: &ApnsSubscription, message: &PushMessage<'_>) -> Result<Vec<u8>, String> {
    let sealed = super::seal(&subscription.keys, message.payload)?;
    let body = json!({
        "aps": {
            "alert": {
                "title": message.title,
                "body": alert_body(subscription.language.as_deref()),
            },
            "sound": "default",
            "mutable-content": 1,
        },
        MESSAGE_KEY: onepush_protocol::b64::encode(sealed),
    });
    Ok(body.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    #[test]
    fn apns_answers_are_sorted_as_apple_documents_them() {
        let h = HeaderMap::new();
        let s = |code, reason| sort(StatusCode::from_u16(code).unwrap(), reason, &h);
        assert_eq!(s(200, ""), Sorted::Result(PushResult::Sent));
        assert_eq!(
            s(400, "BadDeviceToken"),
            Sorted::Result(PushResult::Gone { status: 400 })
        );
        assert_eq!(
            s(410, "Unregistered"),
            Sorted::Result(PushResult::Gone { status: 410 })
        );
        assert_eq!(s(403, "ExpiredProviderToken"), Sorted::RenewToken);
        assert_eq!(s(403, "InvalidProviderToken"), Sorted::RenewToken);
        assert_eq!(
            s(403, "BadCertificate"),
            Sorted::Result(PushResult::Rejected { status: 403 })
        );
        assert_eq!(
            s(400, "BadTopic"),
            Sorted::Result(PushResult::Rejected { status: 400 })
        );
        for code in [429, 500, 503] {
            assert!(matches!(
                s(code, "TooManyRequests"),
                Sorted::Result(PushResult::Retry { .. })
            ));
        }
    }

    fn sender() -> ApnsSender {
        let rng = SystemRandom::new();
        let p8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, p8.as_ref());
        let config = ApnsConfig {
            key_pem: zeroize::Zeroizing::new(format!(
                "-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"
            )),
            key_id: "ABC123DEFG".into(),
            team_id: "DEF123GHIJ".into(),
            topic: "dev.onepush.app".into(),
            base_url: None,
        };
        ApnsSender::new(config, Duration::from_secs(5), &[]).unwrap()
    }

    #[test]
    fn the_provider_jwt_is_reused_for_40_minutes_then_renewed() {
        let sender = sender();
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let first = sender.provider_jwt(start, false).unwrap();
        let reused = sender
            .provider_jwt(start + Duration::from_secs(39 * 60), false)
            .unwrap();
        assert_eq!(first, reused);
        assert_eq!(sender.jwts_signed(), 1);
        let renewed = sender
            .provider_jwt(start + APNS_JWT_RENEW_AFTER, false)
            .unwrap();
        assert_ne!(first, renewed);
        let forced = sender
            .provider_jwt(start + APNS_JWT_RENEW_AFTER, true)
            .unwrap();
        assert_ne!(renewed, forced);
        assert_eq!(sender.jwts_signed(), 3);
        let claims = renewed.split('.').nth(1).unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&onepush_protocol::b64::decode(claims).unwrap()).unwrap();
        assert_eq!(claims["iss"], "DEF123GHIJ");
        assert_eq!(claims["iat"], 1_800_000_000 + 40 * 60);
    }

    #[test]
    fn a_key_that_is_not_p256_pkcs8_names_the_setting() {
        let mut config = ApnsConfig {
            key_pem: zeroize::Zeroizing::new("not a key".into()),
            key_id: "K".into(),
            team_id: "T".into(),
            topic: "t".into(),
            base_url: None,
        };
        let err = ApnsSender::new(config.clone(), Duration::from_secs(1), &[]).unwrap_err();
        assert!(err.to_string().contains("push.apns.key_file"), "{err}");
        config.key_pem = zeroize::Zeroizing::new(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----".into(),
        );
        let err = ApnsSender::new(config, Duration::from_secs(1), &[]).unwrap_err();
        assert!(err.to_string().contains("not a P-256 key"), "{err}");
    }

    #[test]
    fn the_alert_is_generic_in_the_users_language() {
        assert_eq!(alert_body(Some("ja")), "承認のリクエストがあります");
        assert_eq!(alert_body(Some("en")), "Approval request");
        assert_eq!(alert_body(None), "Approval request");
    }
}
