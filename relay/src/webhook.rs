//! Tenant webhooks signed per Standard Webhooks (<https://www.standardwebhooks.com/>):
//! secrets, `v1` HMAC-SHA256 signatures, their verification (for banks and tests), the
//! HTTP delivery and the retry schedule.
//!
//! Each message is sent (POST) with three headers (spec "Webhook headers"):
//! `webhook-id` (unique per message, the same on every retry, for de-duplication),
//! `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, space-separated when several).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::CONTENT_TYPE;
use ring::rand::{SecureRandom, SystemRandom};

// The signature itself is shared with banks (`onepush-bank`): one implementation, in the
// protocol crate.
pub use onepush_protocol::webhook::{DEFAULT_TOLERANCE, SECRET_PREFIX, sign, verify};

/// Key bytes in a new secret (the spec allows 24 to 64).
const SECRET_BYTES: usize = 32;

/// How much of a receiver's answer body is read before the connection is reused.
const MAX_RESPONSE_BODY: usize = 4096;

/// Waits between attempts, the Standard Webhooks / Svix schedule: the first attempt at
/// once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (8 attempts over ≈ 28 h).
const SCHEDULE: [Duration; 8] = [
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The `user.push_fatigue_locked` webhook body: a user's challenges reached the
/// tenant's push-fatigue limit, so new challenges for them are refused until
/// `data.locked_until`. Sent once per lockout (`webhook-id` stays the same on retries).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PushFatigueEvent {
    /// `msg_fatigue_<id of the challenge whose end reached the limit>`.
    pub id: String,
    /// `user.push_fatigue_locked`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When the limit was reached.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: time::OffsetDateTime,
    /// Who is locked out and until when.
    pub data: PushFatigueData,
}

/// The `data` of a [`PushFatigueEvent`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PushFatigueData {
    /// The bank's user.
    pub user_id: String,
    /// Challenges that ended denied or unanswered within the window (the threshold).
    pub refused: u32,
    /// The tenant's window, in seconds.
    pub window_seconds: u32,
    /// Until when new challenges are refused (unless one approved earlier clears it).
    #[serde(with = "time::serde::rfc3339")]
    pub locked_until: time::OffsetDateTime,
    /// The challenge whose end reached the limit.
    pub challenge_id: String,
}

/// The `type` of a [`PushFatigueEvent`].
pub const PUSH_FATIGUE_EVENT: &str = "user.push_fatigue_locked";

/// A new webhook secret: `whsec_` + standard base64 of 32 random bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; SECRET_BYTES];
    SystemRandom::new()
        .fill(&mut key)
        .expect("the operating system's random source works");
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The wait before the next attempt after `attempts` failed ones (`0` = the first
/// attempt, sent at once); `None` once the schedule is used up: give up.
///
/// | failed attempts | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8+ |
/// | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
/// | next after | 0 | 5 s | 5 min | 30 min | 2 h | 5 h | 10 h | 10 h | give up |
pub fn next_attempt_delay(attempts: u32) -> Option<Duration> {
    SCHEDULE.get(usize::try_from(attempts).ok()?).copied()
}

/// What one delivery attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    /// The receiver answered 2xx.
    Delivered,
    /// Try again per [`next_attempt_delay`]: 429, 5xx, or no answer (refused, timeout).
    Retry {
        /// The HTTP status, `None` when there was no answer.
        status: Option<u16>,
    },
    /// Do not retry: another status (4xx; 3xx, as redirects are not followed), or the
    /// request could not be built (`None`: bad URL or header value).
    Failed {
        /// The HTTP status, `None` when nothing was sent.
        status: Option<u16>,
    },
}

/// Why a [`WebhookClient`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// Sends signed webhook messages over one keep-alive HTTP client.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    client: reqwest::Client,
}

impl WebhookClient {
    /// A client giving each attempt `timeout` in all; redirects are not followed.
    pub fn new(timeout: Duration) -> Result<Self, WebhookError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("onepush-relay/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(WebhookError::Client)?;
        Ok(Self { client })
    }

    /// POSTs `body` (JSON) to `url`, signed with `secret` for message `msg_id` at
    /// `now_unix`. Keep `msg_id` the same across retries; pass the attempt's own time.
    pub async fn deliver(
        &self,
        url: &str,
        secret: &str,
        msg_id: &str,
        body: &[u8],
        now_unix: i64,
    ) -> WebhookResult {
        let request = self
            .client
            .post(url)
            .header("webhook-id", msg_id)
            .header("webhook-timestamp", now_unix.to_string())
            .header("webhook-signature", sign(secret, msg_id, now_unix, body))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) if error.is_builder() => {
                tracing::warn!(msg_id, error = %error, "webhook request cannot be built");
                return WebhookResult::Failed { status: None };
            }
            Err(error) => {
                tracing::warn!(msg_id, timeout = error.is_timeout(), error = %error, "webhook got no answer");
                return WebhookResult::Retry { status: None };
            }
        };
        let status = response.status().as_u16();
        let mut read = 0;
        while read < MAX_RESPONSE_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                Ok(None) | Err(_) => break,
            }
        }
        let result = classify(status);
        if result != WebhookResult::Delivered {
            tracing::warn!(msg_id, status, ?result, "webhook not accepted");
        }
        result
    }
}

fn classify(status: u16) -> WebhookResult {
    match status {
        200..=299 => WebhookResult::Delivered,
        429 | 500..=599 => WebhookResult::Retry {
            status: Some(status),
        },
        _ => WebhookResult::Failed {
            status: Some(status),
        },
    }
}

#[cfg(test)]
mod tests;
