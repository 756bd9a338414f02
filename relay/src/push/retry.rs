//! Sending one challenge's push until it is accepted, gone, refused, or its deadline
//! comes: exponential backoff that honours `Retry-After` and never sleeps past the deadline.

use std::time::Duration;

use onepush_protocol::PushChannel;
use time::OffsetDateTime;

use super::{PushMessage, PushResult, PushSender};

/// Where a push ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The push service accepted the message.
    Sent,
    /// The subscription is gone (404/410): clear it.
    Gone,
    /// Refused for good (other 4xx), or still failing when the deadline came.
    Failed,
}

/// Waits between attempts: `first`, then doubling, at most `max`; a longer
/// `Retry-After` from the push service wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failed attempt.
    pub first: Duration,
    /// The longest wait the doubling reaches.
    pub max: Duration,
}

impl Default for Backoff {
    /// 0.5 s, 1 s, 2 s, 4 s, 8 s, 16 s, then 30 s.
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait after `retry` failed attempts (`0` = after the first one).
    pub fn delay(&self, retry: u32) -> Duration {
        self.first.saturating_mul(1 << retry.min(20)).min(self.max)
    }
}

/// [`deliver_with_backoff`] with the default [`Backoff`].
///
/// In production pass `&OffsetDateTime::now_utc` as `clock`. Dropping the future (or
/// aborting its task once the challenge is decided) stops the retries at once.
pub async fn deliver_with_retries(
    sender: &dyn PushSender,
    channel: &PushChannel,
    message: &PushMessage<'_>,
    clock: &(dyn Fn() -> OffsetDateTime + Send + Sync),
) -> DeliveryOutcome {
    deliver_with_backoff(sender, channel, message, clock, Backoff::default()).await
}

/// Sends `message` to `channel` with `TTL` = whole seconds left before its `deadline`
/// (read from `clock` before each attempt), and retries [`PushResult::Retry`] answers
/// after [`Backoff::delay`] or the `Retry-After`, whichever is longer. Gives up with
/// [`DeliveryOutcome::Failed`] when the next attempt would come after the deadline, or
/// less than a second before it.
///
/// Waits with `tokio::time::sleep`, so tests run it under `tokio::time::pause()` with a
/// `clock` derived from `tokio::time::Instant`.
pub async fn deliver_with_backoff(
    sender: &dyn PushSender,
    channel: &PushChannel,
    message: &PushMessage<'_>,
    clock: &(dyn Fn() -> OffsetDateTime + Send + Sync),
    backoff: Backoff,
) -> DeliveryOutcome {
    let deadline = message.deadline;
    let mut retries = 0;
    loop {
        let ttl_seconds = u32::try_from((deadline - clock()).whole_seconds()).unwrap_or(0);
        if ttl_seconds == 0 {
            tracing::info!(attempts = retries, "push not delivered before the deadline");
            return DeliveryOutcome::Failed;
        }
        let retry_after = match sender.send(channel, message, ttl_seconds).await {
            PushResult::Sent => return DeliveryOutcome::Sent,
            PushResult::Gone { .. } => return DeliveryOutcome::Gone,
            PushResult::Rejected { .. } => return DeliveryOutcome::Failed,
            PushResult::Retry { retry_after, .. } => retry_after,
        };
        let wait = backoff.delay(retries).max(retry_after.unwrap_or_default());
        let left = Duration::try_from(deadline - clock()).unwrap_or_default();
        if wait >= left {
            tracing::info!(
                attempts = retries + 1,
                ?wait,
                "push still failing, the deadline comes first"
            );
            return DeliveryOutcome::Failed;
        }
        tokio::time::sleep(wait).await;
        retries += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::RecordingPush;
    use onepush_protocol::webpush::PushKeys;
    use time::macros::datetime;
    use tokio::time::Instant;

    const START: OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

    /// A wall clock that follows tokio's (paused) clock from `START`.
    fn paused_clock() -> impl Fn() -> OffsetDateTime + Send + Sync {
        let origin = Instant::now();
        move || START + (Instant::now() - origin)
    }

    fn subscription() -> PushChannel {
        PushChannel::WebPush(onepush_protocol::PushSubscription {
            endpoint: "https://push.test/sub".into(),
            keys: PushKeys {
                p256dh: "p256dh".into(),
                auth: "auth".into(),
            },
        })
    }

    fn retry(status: u16, after: Option<u64>) -> PushResult {
        PushResult::Retry {
            status: Some(status),
            retry_after: after.map(Duration::from_secs),
        }
    }

    async fn deliver(push: &RecordingPush, seconds_left: i64) -> (DeliveryOutcome, Duration) {
        let clock = paused_clock();
        let started = Instant::now();
        let deadline = START + time::Duration::seconds(seconds_left);
        let message = PushMessage::new(b"{}", deadline);
        let outcome = deliver_with_retries(push, &subscription(), &message, &clock).await;
        (outcome, started.elapsed())
    }

    fn ttls(push: &RecordingPush) -> Vec<u32> {
        push.calls().iter().map(|call| call.ttl_seconds).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn accepted_push_is_sent_once_with_the_seconds_left_as_ttl() {
        let push = RecordingPush::new();
        assert_eq!(
            deliver(&push, 60).await,
            (DeliveryOutcome::Sent, Duration::ZERO)
        );
        assert_eq!(ttls(&push), [60]);
    }

    #[tokio::test(start_paused = true)]
    async fn gone_subscription_is_reported_without_retrying() {
        for status in [404, 410] {
            let push = RecordingPush::scripted([PushResult::Gone { status }]);
            assert_eq!(deliver(&push, 60).await.0, DeliveryOutcome::Gone);
            assert_eq!(push.call_count(), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn rejected_push_fails_without_retrying() {
        let push = RecordingPush::scripted([PushResult::Rejected { status: 400 }]);
        assert_eq!(deliver(&push, 60).await.0, DeliveryOutcome::Failed);
        assert_eq!(push.call_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn server_errors_are_retried_with_doubling_waits_and_shrinking_ttl() {
        let push = RecordingPush::scripted([retry(500, None), retry(503, None), retry(502, None)]);
        let (outcome, elapsed) = deliver(&push, 60).await;
        assert_eq!(outcome, DeliveryOutcome::Sent);
        assert_eq!(elapsed, Duration::from_millis(500 + 1000 + 2000));
        assert_eq!(ttls(&push), [60, 59, 58, 56]);
    }

    #[tokio::test(start_paused = true)]
    async fn network_errors_are_retried() {
        let push = RecordingPush::scripted([PushResult::Retry {
            status: None,
            retry_after: None,
        }]);
        assert_eq!(
            deliver(&push, 60).await,
            (DeliveryOutcome::Sent, Duration::from_millis(500))
        );
        assert_eq!(push.call_count(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured() {
        let push = RecordingPush::scripted([retry(429, Some(10))]);
        assert_eq!(
            deliver(&push, 60).await,
            (DeliveryOutcome::Sent, Duration::from_secs(10))
        );
        assert_eq!(ttls(&push), [60, 50]);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_before_the_deadline() {
        let push = RecordingPush::scripted(std::iter::repeat_n(retry(503, None), 100));
        let (outcome, elapsed) = deliver(&push, 10).await;
        assert_eq!(outcome, DeliveryOutcome::Failed);
        // Attempts at 0, 0.5, 1.5, 3.5, 7.5 s; the next wait (8 s) would pass the deadline.
        assert_eq!(push.call_count(), 5);
        assert_eq!(elapsed, Duration::from_millis(7500));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_beyond_the_deadline_fails_at_once() {
        let push = RecordingPush::scripted([retry(429, Some(120))]);
        assert_eq!(
            deliver(&push, 60).await,
            (DeliveryOutcome::Failed, Duration::ZERO)
        );
        assert_eq!(push.call_count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_sent_after_the_deadline() {
        let push = RecordingPush::new();
        assert_eq!(deliver(&push, 0).await.0, DeliveryOutcome::Failed);
        assert_eq!(deliver(&push, -5).await.0, DeliveryOutcome::Failed);
        assert_eq!(push.call_count(), 0);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let waits: Vec<Duration> = (0..8)
            .map(|retry| Backoff::default().delay(retry))
            .collect();
        let expected =
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000].map(Duration::from_millis);
        assert_eq!(waits, expected);
        assert_eq!(Backoff::default().delay(u32::MAX), Duration::from_secs(30));
    }
}
