//! The FCM HTTP v1 sender: an OAuth 2 access token from the bank's service-account key
//! (an RS256 JWT assertion posted to its `token_uri`, RFC 7523), cached until shortly
//! before it expires; `POST {base}/v1/projects/{project}/messages:send` with a data
//! message carrying the encrypted message, high priority, `ttl` = seconds left.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use onepush_protocol::FcmSubscription;
use reqwest::header::HeaderMap;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use super::{PushError, PushMessage, PushResult, classify, read_pem, reason_for_log};

/// Google's FCM host.
pub const FCM_BASE: &str = "https://fcm.googleapis.com";
/// The OAuth scope FCM needs.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// An access token is replaced this long before it expires.
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The fields of a Google service-account key file the sender uses.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    /// The Firebase project.
    pub project_id: String,
    /// The service account (the assertion's `iss`).
    pub client_email: String,
    /// Its RSA key, PKCS#8 PEM (wiped once the key is loaded).
    pub private_key: String,
    /// Where access tokens are issued (the assertion's `aud`).
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

/// Sends challenge announcements through FCM.
pub struct FcmSender {
    client: reqwest::Client,
    key: RsaKeyPair,
    account: ServiceAccount,
    base_url: String,
    token: Mutex<Option<(String, SystemTime)>>,
}

impl std::fmt::Debug for FcmSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmSender")
            .field("account", &self.account)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

impl FcmSender {
    /// A sender for the service account in `json` (the key file's text).
    pub fn new(
        json: &str,
        base_url: Option<String>,
        request_timeout: Duration,
        extra_roots: &[reqwest::Certificate],
    ) -> Result<Self, PushError> {
        let setting = |message: String| PushError::Setting {
            key: "push.fcm.service_account_file",
            message,
        };
        let mut account: ServiceAccount = serde_json::from_str(json)
            .map_err(|e| setting(format!("not a service-account key: {e}")))?;
        let der = read_pem(&account.private_key, "PRIVATE KEY");
        zeroize::Zeroize::zeroize(&mut account.private_key);
        let der = der.ok_or_else(|| setting("private_key is not a PKCS#8 PEM key".into()))?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| setting(format!("private_key is not an RSA key: {e}")))?;
        let client = super::client_builder(request_timeout, extra_roots)
            .https_only(true)
            .build()
            .map_err(PushError::Client)?;
        Ok(Self {
            client,
            key,
            account,
            base_url: base_url.unwrap_or_else(|| FCM_BASE.to_owned()),
            token: Mutex::new(None),
        })
    }

    /// The access token, from the cache while it has more than [`TOKEN_REFRESH_MARGIN`]
    /// left (or `renew`), else a new one from the token endpoint.
    async fn access_token(&self, renew: bool) -> Result<String, PushResult> {
        let mut cached = self.token.lock().await;
        let now = SystemTime::now();
        if let Some((token, refresh_at)) = cached.as_ref()
            && !renew
            && now < *refresh_at
        {
            return Ok(token.clone());
        }
        let iat = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let claims = json!({
            "iss": self.account.client_email,
            "scope": FCM_SCOPE,
            "aud": self.account.token_uri,
            "iat": iat,
            "exp": iat + 3600,
        });
        let assertion = super::sign_jwt(&header, &claims, |input| {
            let mut signature = vec![0; self.key.public().modulus_len()];
            self.key
                .sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    input,
                    &mut signature,
                )
                .map_err(|_| "RS256 signing failed".to_owned())?;
            Ok(signature)
        })
        .map_err(|reason| {
            tracing::error!(%reason, "cannot sign the OAuth assertion");
            PushResult::Rejected { status: 0 }
        })?;
        let answer = self
            .client
            .post(&self.account.token_uri)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            // The assertion is base64url and dots: nothing to escape.
            .body(format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
            ))
            .send()
            .await;
        let response = match answer {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                let status = r.status().as_u16();
                tracing::warn!(
                    status,
                    "the OAuth token endpoint refused the service account"
                );
                return Err(classify(status, r.headers()));
            }
            Err(error) => {
                tracing::warn!(error = %error.without_url(), "the OAuth token endpoint got no answer");
                return Err(PushResult::Retry {
                    status: None,
                    retry_after: None,
                });
            }
        };
        let token: TokenAnswer =
            serde_json::from_value(super::read_json(response).await).map_err(|_| {
                tracing::warn!("the OAuth token endpoint's answer is not a token");
                PushResult::Retry {
                    status: None,
                    retry_after: None,
                }
            })?;
        *cached = Some((
            token.access_token.clone(),
            refresh_at(now, token.expires_in),
        ));
        Ok(token.access_token)
    }

    /// Sends one announcement; a 401 fetches a new access token and tries once more.
    pub async fn post(
        &self,
        subscription: &FcmSubscription,
        message: &PushMessage<'_>,
        ttl_seconds: u32,
    ) -> PushResult {
        let body = match body(subscription, message, ttl_seconds) {
            Ok(body) => body,
            Err(reason) => {
                tracing::warn!(%reason, "FCM push refused before sending");
                return PushResult::Rejected { status: 0 };
            }
        };
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.base_url.trim_end_matches('/'),
            self.account.project_id
        );
        let mut renew = false;
        loop {
            let token = match self.access_token(renew).await {
                Ok(token) => token,
                Err(result) => return result,
            };
            let answer = self
                .client
                .post(&url)
                .bearer_auth(token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let response = match answer {
                Ok(response) => response,
                Err(error) => {
                    tracing::warn!(timeout = error.is_timeout(), error = %error.without_url(), "FCM request got no answer");
                    return PushResult::Retry {
                        status: None,
                        retry_after: None,
                    };
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let error = super::read_json(response).await;
            if status == 401 && !renew {
                tracing::info!("FCM refused the access token; fetching a new one");
                renew = true;
                continue;
            }
            let result = sort(status, &error, &headers);
            if result != PushResult::Sent {
                let reason = reason_for_log(error["error"]["status"].as_str().unwrap_or(""));
                tracing::warn!(status, %reason, result = result.label(), "FCM refused the push");
            }
            return result;
        }
    }
}

/// When a token issued at `now` for `expires_in` seconds is replaced:
/// [`TOKEN_REFRESH_MARGIN`] before it expires, or half-way for a short-lived one.
fn refresh_at(now: SystemTime, expires_in: u64) -> SystemTime {
    let lifetime = Duration::from_secs(expires_in);
    now + lifetime
        .saturating_sub(TOKEN_REFRESH_MARGIN)
        .max(lifetime / 2)
}

/// Sorts FCM's answer (Firebase, "FCM error codes"): `UNREGISTERED` (404) and an
/// `INVALID_ARGUMENT` about the token mean the token is gone.
fn sort(status: u16, error: &serde_json::Value, headers: &HeaderMap) -> PushResult {
    match status {
        200 => PushResult::Sent,
        404 => PushResult::Gone { status },
        400 if about_the_token(error) => PushResult::Gone { status },
        429 | 500..=599 => classify(status, headers),
        _ => PushResult::Rejected { status },
    }
}

/// Whether a 400 `INVALID_ARGUMENT` names `message.token` (a `BadRequest` field
/// violation) or says the registration token is not valid.
fn about_the_token(error: &serde_json::Value) -> bool {
    let error = &error["error"];
    if error["status"] != "INVALID_ARGUMENT" {
        return false;
    }
    let names_token = error["details"].as_array().is_some_and(|details| {
        details.iter().any(|d| {
            d["fieldViolations"]
                .as_array()
                .is_some_and(|v| v.iter().any(|f| f["field"] == "message.token"))
        })
    });
    names_token
        || error["message"]
            .as_str()
            .is_some_and(|m| m.contains("registration token"))
}

/// The JSON body: the encrypted message as data, and a generic visible notification (the
/// bank's name, "approval request", nothing of the challenge) that Android shows itself
/// when the app is not running — a data-only message would wake nothing then. Its `tag`
/// is the challenge ID, so a repeated push replaces the notification; a tap opens the
/// app with the data.
fn body(
    subscription: &FcmSubscription,
    message: &PushMessage<'_>,
    ttl_seconds: u32,
) -> Result<Vec<u8>, String> {
    let sealed = super::seal(&subscription.keys, message.payload)?;
    let body = json!({
        "message": {
            "token": subscription.registration_token,
            "data": { super::apns::MESSAGE_KEY: onepush_protocol::b64::encode(sealed) },
            "notification": {
                "title": message.title,
                "body": super::apns::alert_body(subscription.language.as_deref()),
            },
            "android": {
                "priority": "HIGH",
                "ttl": format!("{ttl_seconds}s"),
                "collapse_key": message.collapse_id,
                "notification": { "tag": message.collapse_id },
            },
        }
    });
    Ok(body.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_carries_a_generic_notification_and_only_ciphertext() {
        let keys = onepush_protocol::webpush::PushReceiverKeys::generate();
        let subscription = FcmSubscription {
            registration_token: "token-1".into(),
            keys: keys.subscription("").keys,
            language: Some("ja".into()),
        };
        let payload = br#"{"context":{"payee":"Secret Payee Ltd"}}"#;
        let message = PushMessage {
            payload,
            collapse_id: "0190c0de-0000-7000-8000-000000000001",
            title: "Demo Bank",
            deadline: time::OffsetDateTime::UNIX_EPOCH,
        };
        let body: serde_json::Value =
            serde_json::from_slice(&body(&subscription, &message, 60).unwrap()).unwrap();
        let m = &body["message"];
        assert_eq!(m["notification"]["title"], "Demo Bank");
        assert_eq!(m["notification"]["body"], "承認のリクエストがあります");
        assert_eq!(m["android"]["notification"]["tag"], message.collapse_id);
        assert_eq!(m["android"]["ttl"], "60s");
        assert!(
            !body.to_string().contains("Secret Payee"),
            "only ciphertext"
        );
        assert!(m["data"][super::super::apns::MESSAGE_KEY].is_string());
    }

    #[test]
    fn an_access_token_is_kept_until_five_minutes_before_it_expires() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(refresh_at(now, 3599), now + Duration::from_secs(3299));
        assert_eq!(refresh_at(now, 400), now + Duration::from_secs(200));
        assert_eq!(refresh_at(now, 0), now);
    }

    #[test]
    fn fcm_answers_are_sorted_as_google_documents_them() {
        let h = HeaderMap::new();
        let invalid_token = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "message": "The registration token is not a valid FCM registration token"}});
        let field = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid value",
            "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "message.token", "description": "bad"}]}]}});
        let other = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
            "message": "Invalid value at 'message.android.ttl'"}});
        let unregistered = json!({"error": {"code": 404, "status": "NOT_FOUND",
            "details": [{"errorCode": "UNREGISTERED"}]}});
        assert_eq!(sort(200, &json!({}), &h), PushResult::Sent);
        assert_eq!(
            sort(404, &unregistered, &h),
            PushResult::Gone { status: 404 }
        );
        assert_eq!(
            sort(400, &invalid_token, &h),
            PushResult::Gone { status: 400 }
        );
        assert_eq!(sort(400, &field, &h), PushResult::Gone { status: 400 });
        assert_eq!(sort(400, &other, &h), PushResult::Rejected { status: 400 });
        assert_eq!(
            sort(403, &json!({}), &h),
            PushResult::Rejected { status: 403 }
        );
        for status in [429, 500, 503] {
            assert!(matches!(
                sort(status, &json!({}), &h),
                PushResult::Retry { .. }
            ));
        }
    }
}
