//! Push delivery: the one-method [`PushSender`] trait, how a push service's answer is
//! sorted ([`classify`]), the senders ([`WebPushSender`], [`apns::ApnsSender`],
//! [`fcm::FcmSender`], behind [`Channels`]), the SSRF guard for Web Push endpoints
//! ([`guard`]), the retry loop up to a challenge's deadline ([`deliver_with_retries`]),
//! and, with the `testing` feature, a recording sender for tests (`RecordingPush`).
//!
//! The shape follows rust-web-push: a pure request builder and response classifier around
//! a client trait, so the protocol is testable without a network.

pub mod apns;
mod channels;
pub mod fcm;
pub mod guard;
#[cfg(any(test, feature = "testing"))]
mod recording;
mod retry;
mod webpush;

#[cfg(test)]
mod endpoint_tests;

use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use onepush_protocol::PushChannel;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use time::OffsetDateTime;

pub use channels::Channels;
pub use guard::{EndpointPolicy, EndpointRefused};
#[cfg(any(test, feature = "testing"))]
pub use recording::{RecordedPush, RecordingPush};
pub use retry::{Backoff, DeliveryOutcome, deliver_with_backoff, deliver_with_retries};
pub use webpush::{VAPID_JWT_LIFETIME, VAPID_JWT_REFRESH_MARGIN, WebPushSender};

/// One challenge announcement, before it is encrypted for a channel.
#[derive(Debug, Clone, Copy)]
pub struct PushMessage<'a> {
    /// The plaintext (a `PushPayload`): encrypted to the channel's keys (RFC 8291,
    /// padded to `PUSH_MESSAGE_LEN`), the same message on every channel.
    pub payload: &'a [u8],
    /// The challenge ID: APNs `apns-collapse-id`, FCM `collapse_key`.
    pub collapse_id: &'a str,
    /// The bank's display name: the visible title of an APNs alert.
    pub title: &'a str,
    /// The challenge's deadline: after it the message is useless (`apns-expiration`).
    pub deadline: OffsetDateTime,
}

impl<'a> PushMessage<'a> {
    /// A message with `payload` and `deadline`, no collapse ID and no title.
    pub fn new(payload: &'a [u8], deadline: OffsetDateTime) -> Self {
        Self {
            payload,
            collapse_id: "",
            title: "",
            deadline,
        }
    }
}

/// Sends one push message to a channel.
pub trait PushSender: Send + Sync + 'static {
    /// Encrypts `message` for `channel` (RFC 8291, `aes128gcm`) and hands it to the
    /// channel's push service with a lifetime of `ttl_seconds`.
    ///
    /// Never fails: every outcome, network errors included, is a [`PushResult`].
    fn send<'a>(
        &'a self,
        channel: &'a PushChannel,
        message: &'a PushMessage<'a>,
        ttl_seconds: u32,
    ) -> BoxFuture<'a, PushResult>;
}

/// What one push attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushResult {
    /// The push service accepted the message (201 Created, or 202 Accepted).
    Sent,
    /// The subscription no longer exists (404 Not Found / 410 Gone, RFC 8030 §7.3):
    /// clear it, never send to it again.
    Gone {
        /// The HTTP status the push service answered.
        status: u16,
    },
    /// Try again later: 429 Too Many Requests, a 5xx, or no answer at all (connection
    /// refused, reset, DNS failure, timeout).
    Retry {
        /// The HTTP status, `None` when the request got no answer.
        status: Option<u16>,
        /// The push service's `Retry-After` (RFC 9110 §10.2.3), when it sent one.
        retry_after: Option<Duration>,
    },
    /// Refused for good (another 4xx, e.g. 400, 401 bad VAPID, 413 too large); logged,
    /// not retried. Status `0` means the message was refused before sending: the
    /// subscription's keys or endpoint cannot be used, or the payload is too large.
    Rejected {
        /// The HTTP status, or `0` when refused before sending.
        status: u16,
    },
}

impl PushResult {
    /// A short name for logs and metric labels: `sent`, `gone`, `retry`, `rejected`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Gone { .. } => "gone",
            Self::Retry { .. } => "retry",
            Self::Rejected { .. } => "rejected",
        }
    }
}

/// Why a [`WebPushSender`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The VAPID private key is not a 32-byte P-256 scalar.
    #[error("the VAPID private key is not a valid 32-byte P-256 private key")]
    InvalidVapidKey,
    /// The VAPID subject is not a `mailto:` or `https:` URI (RFC 8292 §2.1).
    #[error("the VAPID subject must be a mailto: or https: URI, not {0:?}")]
    InvalidSubject(String),
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// A push setting cannot be used (a key file that does not read or parse...).
    #[error("setting `{key}`: {message}")]
    Setting {
        /// The setting.
        key: &'static str,
        /// Why.
        message: String,
    },
}

/// Upper bound on the connection set-up part of a request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client settings every sender shares: the request timeout, keep-alive, no
/// redirects (push services answer directly; following one would only widen what the
/// relay can be made to call), and the system's trust anchors plus `extra_roots`
/// (`push.ca_file`).
fn client_builder(
    request_timeout: Duration,
    extra_roots: &[reqwest::Certificate],
) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(request_timeout)
        .connect_timeout(request_timeout.min(CONNECT_TIMEOUT))
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_keepalive(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge(extra_roots.iter().cloned())
        .user_agent(concat!("onepush-relay/", env!("CARGO_PKG_VERSION")))
}

/// Encrypts `payload` to a device's push keys: RFC 8291 `aes128gcm`, padded to
/// [`PUSH_MESSAGE_LEN`](onepush_protocol::webpush::PUSH_MESSAGE_LEN) bytes. The same
/// message travels on every channel.
fn seal(keys: &onepush_protocol::PushKeys, payload: &[u8]) -> Result<Vec<u8>, String> {
    use onepush_protocol::webpush;
    let p256dh: [u8; 65] = onepush_protocol::b64::decode_array(&keys.p256dh)
        .ok_or("the subscription's p256dh is not 65 bytes of base64url")?;
    let auth: [u8; 16] = onepush_protocol::b64::decode_array(&keys.auth)
        .ok_or("the subscription's auth is not 16 bytes of base64url")?;
    webpush::encrypt(
        payload,
        &p256dh,
        &auth,
        webpush::Padding::ToLength(webpush::PUSH_MESSAGE_LEN),
    )
    .map_err(|e| format!("cannot build the message: {e}"))
}

/// The DER inside the first PEM block labelled `label` (`-----BEGIN <label>-----`).
fn read_pem(text: &str, label: &str) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    use base64::Engine as _;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let b64: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .map(zeroize::Zeroizing::new)
}

/// A push service's JSON answer (at most 64 KiB of it); `null` when it is not JSON.
async fn read_json(mut response: reqwest::Response) -> serde_json::Value {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > 64 * 1024 {
            return serde_json::Value::Null;
        }
    }
    serde_json::from_slice(&body).unwrap_or_default()
}

/// A compact JWS: base64url(header) . base64url(claims) . base64url(`sign`(input)).
fn sign_jwt(
    header: &serde_json::Value,
    claims: &serde_json::Value,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<String, String> {
    use onepush_protocol::b64::encode;
    let input = format!(
        "{}.{}",
        encode(header.to_string()),
        encode(claims.to_string())
    );
    let signature = sign(input.as_bytes())?;
    Ok(format!("{input}.{}", encode(signature)))
}

/// A push service's error code as it may be logged: a short identifier, else a mark
/// (an answer is never logged verbatim).
fn reason_for_log(reason: &str) -> String {
    if !reason.is_empty()
        && reason.len() <= 64
        && reason
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        reason.to_owned()
    } else if reason.is_empty() {
        String::new()
    } else {
        "<unexpected>".to_owned()
    }
}

/// Sorts a push service's answer (RFC 8030 §5, §7.3; DESIGN.md "Delivery").
///
/// | status | result |
/// | --- | --- |
/// | 200–299 | [`PushResult::Sent`] (201 is the normal answer, 202 when receipts are asked) |
/// | 404, 410 | [`PushResult::Gone`] |
/// | 429, 500–599 | [`PushResult::Retry`] with the `Retry-After` header, if any |
/// | anything else | [`PushResult::Rejected`] |
pub fn classify(status: u16, headers: &HeaderMap) -> PushResult {
    match status {
        200..=299 => PushResult::Sent,
        404 | 410 => PushResult::Gone { status },
        429 | 500..=599 => PushResult::Retry {
            status: Some(status),
            retry_after: retry_after(headers, SystemTime::now()),
        },
        _ => PushResult::Rejected { status },
    }
}

/// The `Retry-After` header as a wait from `now`: either delay seconds or an HTTP date
/// (RFC 9110 §10.2.3). A date in the past is a zero wait; a value that is neither is
/// ignored.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn created_and_accepted_are_sent() {
        assert_eq!(classify(201, &HeaderMap::new()), PushResult::Sent);
        assert_eq!(classify(202, &HeaderMap::new()), PushResult::Sent);
    }

    #[test]
    fn not_found_and_gone_clear_the_subscription() {
        assert_eq!(
            classify(404, &HeaderMap::new()),
            PushResult::Gone { status: 404 }
        );
        assert_eq!(
            classify(410, &HeaderMap::new()),
            PushResult::Gone { status: 410 }
        );
    }

    #[test]
    fn too_many_requests_and_server_errors_are_retried() {
        for status in [429, 500, 502, 503, 504] {
            assert_eq!(
                classify(status, &HeaderMap::new()),
                PushResult::Retry {
                    status: Some(status),
                    retry_after: None
                },
                "{status}"
            );
        }
        assert_eq!(
            classify(429, &with_retry_after("7")),
            PushResult::Retry {
                status: Some(429),
                retry_after: Some(Duration::from_secs(7))
            }
        );
    }

    #[test]
    fn other_client_errors_are_rejected_not_retried() {
        for status in [400, 401, 403, 413, 418] {
            assert_eq!(
                classify(status, &HeaderMap::new()),
                PushResult::Rejected { status }
            );
        }
        assert_eq!(
            classify(301, &HeaderMap::new()),
            PushResult::Rejected { status: 301 }
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        // 1994-11-06T08:49:37Z, the example date of RFC 9110 §5.6.7.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let in_two_minutes = with_retry_after("Sun, 06 Nov 1994 08:51:37 GMT");
        assert_eq!(
            retry_after(&in_two_minutes, now),
            Some(Duration::from_secs(120))
        );
        let past = with_retry_after("Sun, 06 Nov 1994 08:00:00 GMT");
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(
            retry_after(&with_retry_after(" 30 "), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after(&with_retry_after("soon"), now), None);
        assert_eq!(retry_after(&with_retry_after("-5"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
