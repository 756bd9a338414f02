//! A [`PushSender`] for tests: records every call and answers from a script.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use futures::future::BoxFuture;
use onepush_protocol::PushChannel;
use tokio::sync::watch;

use super::{PushMessage, PushResult, PushSender};

/// One call to [`RecordingPush::send`](PushSender::send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPush {
    /// The Web Push endpoint URL, `apns:<device token>` or `fcm:<registration token>`.
    pub endpoint: String,
    /// The plaintext payload (before encryption).
    pub payload: Vec<u8>,
    /// The `TTL` the message was sent with, in seconds.
    pub ttl_seconds: u32,
}

/// Records pushes instead of sending them; answers each call with the next scripted
/// [`PushResult`], or [`PushResult::Sent`] once the script is used up.
#[derive(Debug)]
pub struct RecordingPush {
    state: Mutex<State>,
    count: watch::Sender<usize>,
}

#[derive(Debug, Default)]
struct State {
    calls: Vec<RecordedPush>,
    script: VecDeque<PushResult>,
}

impl Default for RecordingPush {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordingPush {
    /// A recorder that answers [`PushResult::Sent`] to every call.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
            count: watch::Sender::new(0),
        }
    }

    /// A recorder that answers `results` in order, then [`PushResult::Sent`].
    pub fn scripted(results: impl IntoIterator<Item = PushResult>) -> Self {
        let recorder = Self::new();
        recorder.lock().script.extend(results);
        recorder
    }

    /// Adds `result` to the end of the script.
    pub fn push_result(&self, result: PushResult) {
        self.lock().script.push_back(result);
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<RecordedPush> {
        self.lock().calls.clone()
    }

    /// How many calls were made.
    pub fn call_count(&self) -> usize {
        self.lock().calls.len()
    }

    /// Resolves once at least `n` calls were made (pushes are often sent from a task
    /// the test does not hold). Wrap it in a timeout.
    pub async fn wait_for_calls(&self, n: usize) {
        let mut count = self.count.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = count.wait_for(|count| *count >= n).await;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PushSender for RecordingPush {
    fn send<'a>(
        &'a self,
        channel: &'a PushChannel,
        message: &'a PushMessage<'a>,
        ttl_seconds: u32,
    ) -> BoxFuture<'a, PushResult> {
        let endpoint = match channel {
            PushChannel::WebPush(s) => s.endpoint.clone(),
            PushChannel::Apns(s) => format!("apns:{}", s.device_token),
            PushChannel::Fcm(s) => format!("fcm:{}", s.registration_token),
        };
        let (result, count) = {
            let mut state = self.lock();
            state.calls.push(RecordedPush {
                endpoint,
                payload: message.payload.to_vec(),
                ttl_seconds,
            });
            (
                state.script.pop_front().unwrap_or(PushResult::Sent),
                state.calls.len(),
            )
        };
        self.count.send_replace(count);
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onepush_protocol::webpush::PushKeys;
    use std::time::Duration;

    pub(crate) fn subscription(endpoint: &str) -> PushChannel {
        PushChannel::WebPush(onepush_protocol::PushSubscription {
            endpoint: endpoint.to_owned(),
            keys: PushKeys {
                p256dh: "p256dh".into(),
                auth: "auth".into(),
            },
        })
    }

    fn message(payload: &[u8]) -> PushMessage<'_> {
        PushMessage::new(payload, time::OffsetDateTime::UNIX_EPOCH)
    }

    #[tokio::test]
    async fn records_calls_and_answers_from_the_script_then_sent() {
        let push = RecordingPush::scripted([PushResult::Gone { status: 410 }]);
        push.push_result(PushResult::Rejected { status: 400 });
        let sub = subscription("https://push.test/a");
        assert_eq!(
            push.send(&sub, &message(b"one"), 60).await,
            PushResult::Gone { status: 410 }
        );
        assert_eq!(
            push.send(&sub, &message(b"two"), 59).await,
            PushResult::Rejected { status: 400 }
        );
        assert_eq!(
            push.send(&sub, &message(b"three"), 58).await,
            PushResult::Sent
        );
        assert_eq!(push.call_count(), 3);
        assert_eq!(
            push.calls()[1],
            RecordedPush {
                endpoint: "https://push.test/a".into(),
                payload: b"two".to_vec(),
                ttl_seconds: 59
            }
        );
    }

    #[tokio::test]
    async fn wait_for_calls_wakes_when_a_task_pushes() {
        let push = std::sync::Arc::new(RecordingPush::new());
        let task = {
            let push = push.clone();
            tokio::spawn(async move {
                let sub = subscription("https://push.test/b");
                push.send(&sub, &message(b"x"), 30).await;
                push.send(&sub, &message(b"y"), 30).await;
            })
        };
        tokio::time::timeout(Duration::from_secs(5), push.wait_for_calls(2))
            .await
            .unwrap();
        assert_eq!(push.call_count(), 2);
        task.await.unwrap();
    }
}
