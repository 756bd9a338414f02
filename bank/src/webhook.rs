//! Receiving the relay's webhooks: [`Verifier`] checks the Standard Webhooks signature
//! and timestamp before the body is read, then hands back the event.

use std::time::Duration;

use onepush_protocol::api::WebhookEvent;
use onepush_protocol::webhook;

/// The `type` of a webhook that reports a decided challenge.
pub const CHALLENGE_DECIDED: &str = "challenge.decided";
/// The `type` of a webhook that reports a user locked out by push fatigue.
pub const PUSH_FATIGUE_LOCKED: &str = "user.push_fatigue_locked";

/// Why a webhook was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A `webhook-id`, `webhook-timestamp` or `webhook-signature` header is missing or
    /// not readable.
    #[error("the {0} header is missing or unreadable")]
    Header(&'static str),
    /// No signature verifies with the secret, or the timestamp is too far off.
    #[error("the webhook signature does not verify (or its timestamp is too old)")]
    Signature,
    /// Signed, but the body is not an event of the relay's shape.
    #[error("the webhook body is not a OnePush event: {0}")]
    Body(String),
}

/// A verified webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// `webhook-id`: the same on every retry, so the bank can drop duplicates.
    pub id: String,
    /// The event's `type` ([`CHALLENGE_DECIDED`], [`PUSH_FATIGUE_LOCKED`]).
    pub kind: String,
    /// The whole body.
    pub body: serde_json::Value,
}

impl Webhook {
    /// The decided challenge, for a [`CHALLENGE_DECIDED`] event.
    pub fn challenge_decided(&self) -> Result<Option<WebhookEvent>, WebhookError> {
        if self.kind != CHALLENGE_DECIDED {
            return Ok(None);
        }
        serde_json::from_value(self.body.clone())
            .map(Some)
            .map_err(|e| WebhookError::Body(e.to_string()))
    }
}

/// Verifies webhooks signed with the tenant's webhook secret(s).
#[derive(Clone)]
pub struct Verifier {
    secrets: Vec<String>,
    tolerance: Duration,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.secrets.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Verifier {
    /// A verifier for `secret` (`whsec_…`, as the relay printed it), with the
    /// specification's 5 minute timestamp tolerance.
    pub fn new(secret: impl Into<String>) -> Self {
        Self {
            secrets: vec![secret.into()],
            tolerance: webhook::DEFAULT_TOLERANCE,
        }
    }

    /// Also accepts `secret`: during a rotation, the old and the new one.
    #[must_use]
    pub fn also(mut self, secret: impl Into<String>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// Another timestamp tolerance.
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Verifies one delivery: `header` looks up a request header by its lower-case
    /// name (`|name| headers.get(name)?.to_str().ok()` with `http::HeaderMap`), `body`
    /// is the raw body as received, `now` the bank's clock in Unix seconds.
    pub fn verify<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
        now: i64,
    ) -> Result<Webhook, WebhookError> {
        let id = header("webhook-id").ok_or(WebhookError::Header("webhook-id"))?;
        let timestamp = header("webhook-timestamp")
            .and_then(|t| t.trim().parse::<i64>().ok())
            .ok_or(WebhookError::Header("webhook-timestamp"))?;
        let signature =
            header("webhook-signature").ok_or(WebhookError::Header("webhook-signature"))?;
        let signed = self.secrets.iter().any(|secret| {
            webhook::verify(secret, id, timestamp, body, signature, now, self.tolerance)
        });
        if !signed {
            return Err(WebhookError::Signature);
        }
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))?;
        let kind = value
            .get("type")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| WebhookError::Body("no \"type\"".into()))?
            .to_owned();
        Ok(Webhook {
            id: id.to_owned(),
            kind,
            body: value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> impl Fn(&str) -> Option<&'a str> {
        move |name| match name {
            "webhook-id" => Some(id),
            "webhook-timestamp" => Some(ts),
            "webhook-signature" => Some(sig),
            _ => None,
        }
    }

    #[test]
    fn a_signed_event_is_read_and_a_tampered_one_refused() {
        let body = br#"{"id":"msg_1","type":"user.push_fatigue_locked","data":{}}"#;
        let sig = webhook::sign(SECRET, "msg_1", 1_000, body);
        let hook = Verifier::new(SECRET)
            .verify(headers("msg_1", "1000", &sig), body, 1_010)
            .unwrap();
        assert_eq!(hook.kind, PUSH_FATIGUE_LOCKED);
        assert_eq!(hook.challenge_decided().unwrap(), None);
        let tampered = br#"{"id":"msg_1","type":"user.push_fatigue_locked","data":{"x":1}}"#;
        assert_eq!(
            Verifier::new(SECRET).verify(headers("msg_1", "1000", &sig), tampered, 1_010),
            Err(WebhookError::Signature)
        );
    }

    #[test]
    fn a_missing_header_is_named() {
        let err = Verifier::new(SECRET)
            .verify(|_| None, b"{}", 0)
            .unwrap_err();
        assert_eq!(err, WebhookError::Header("webhook-id"));
    }

    #[test]
    fn the_old_secret_still_verifies_during_a_rotation() {
        let old = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let body = br#"{"type":"x"}"#;
        let sig = webhook::sign(old, "m", 7, body);
        let verifier = Verifier::new(SECRET).also(old);
        assert!(verifier.verify(headers("m", "7", &sig), body, 7).is_ok());
        assert!(!format!("{verifier:?}").contains("AAAA"));
    }
}
