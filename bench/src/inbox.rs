//! [`Inbox`]: the challenges a device has learned of, by ID, with when, whichever way
//! they came (its event stream or a Web Push to the bench's endpoint); and the
//! lifecycles waiting for one. The event may come before the bank's create call has
//! returned, so either side may come first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use onepush_protocol::ChallengeId;
use onepush_protocol::api::DeviceChallenge;
use tokio::sync::oneshot;

use crate::http::Failure;

/// How a device learned of a challenge.
#[derive(Debug)]
pub struct Arrival {
    /// When.
    pub at: Instant,
    /// Its details, when the channel carried them (the event stream does, and Web Push
    /// when they fit one message; otherwise the device fetches them).
    pub challenge: Option<Box<DeviceChallenge>>,
}

enum Slot {
    Waiting(oneshot::Sender<Arrival>),
    Arrived(Arrival),
}

/// Challenges a device has learned of, and lifecycles waiting for one.
#[derive(Default)]
pub struct Inbox {
    slots: Mutex<HashMap<ChallengeId, Slot>>,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbox").finish_non_exhaustive()
    }
}

impl Inbox {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ChallengeId, Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The device learned of `id` at `at`, with its details or not.
    pub fn deliver(&self, id: ChallengeId, at: Instant, challenge: Option<Box<DeviceChallenge>>) {
        let arrival = Arrival { at, challenge };
        let mut slots = self.lock();
        match slots.remove(&id) {
            Some(Slot::Waiting(tx)) => {
                let _ = tx.send(arrival);
            }
            Some(arrived @ Slot::Arrived(_)) => {
                slots.insert(id, arrived); // a second channel: keep the first time
            }
            None => {
                slots.insert(id, Slot::Arrived(arrival));
            }
        }
    }

    /// Waits until the device has learned of `id`; answers when and how it did.
    pub async fn wait(&self, id: ChallengeId, timeout: Duration) -> Result<Arrival, Failure> {
        let rx = {
            let mut slots = self.lock();
            match slots.remove(&id) {
                Some(Slot::Arrived(arrival)) => return Ok(arrival),
                Some(Slot::Waiting(_)) | None => {
                    let (tx, rx) = oneshot::channel();
                    slots.insert(id, Slot::Waiting(tx));
                    rx
                }
            }
        };
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(arrival)) => Ok(arrival),
            Ok(Err(_)) => Err(Failure::new(
                "delivery-lost",
                "the inbox dropped the waiter",
            )),
            Err(_) => {
                self.lock().remove(&id);
                Err(Failure::new(
                    "delivery-timeout",
                    format!("challenge {id} did not reach the device within {timeout:?}"),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn an_event_before_the_wait_is_kept_and_one_after_wakes_it() {
        let inbox = Inbox::default();
        let early = ChallengeId::new();
        let at = Instant::now();
        inbox.deliver(early, at, None);
        inbox.deliver(early, at + Duration::from_secs(1), None); // a second channel: first kept
        assert_eq!(
            inbox.wait(early, Duration::from_secs(1)).await.unwrap().at,
            at
        );

        let inbox = Arc::new(inbox);
        let late = ChallengeId::new();
        let feeder = inbox.clone();
        let sent = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let at = Instant::now();
            feeder.deliver(late, at, None);
            at
        });
        let got = inbox.wait(late, Duration::from_secs(5)).await.unwrap().at;
        assert_eq!(got, sent.await.unwrap());
    }

    #[tokio::test]
    async fn a_challenge_that_never_arrives_times_out() {
        let inbox = Inbox::default();
        let err = inbox
            .wait(ChallengeId::new(), Duration::from_millis(10))
            .await
            .unwrap_err();
        assert_eq!(err.kind, "delivery-timeout");
        assert!(inbox.lock().is_empty(), "the waiter is removed");
    }
}
