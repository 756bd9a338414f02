//! The event stream follower: keeps `GET /v1/device/events` (Server-Sent Events) open
//! with a new proof per connection, reconnects with backoff, and pulls the pending
//! challenges after each (re)connect so nothing announced while it was away is lost.

use std::time::Duration;

use onepush_protocol::api::{DeviceChallenge, DeviceEvent};
use onepush_protocol::{ChallengeId, ChallengeStatus};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::client::{ClientError, RelayClient, error_chain};

/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait before reconnecting.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The longest line the stream may send.
const MAX_LINE: usize = 64 * 1024;

/// How a challenge reached the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Announced on the event stream.
    EventStream,
    /// Found by pulling the pending list (after a (re)connect).
    Pull,
    /// Announced by a Web Push message.
    WebPush,
}

impl Source {
    /// The name printed by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventStream => "event-stream",
            Self::Pull => "pull",
            Self::WebPush => "web-push",
        }
    }
}

/// What the watchers report.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A challenge to show (it may already be answered: fetch it to see).
    Challenge {
        /// The challenge.
        id: ChallengeId,
        /// How it arrived.
        source: Source,
        /// Its details when the channel carried them (the event stream and a pull do, a
        /// Web Push does unless they were too large for one message): then there is
        /// nothing to fetch.
        challenge: Option<Box<DeviceChallenge>>,
    },
    /// A challenge left `pending` (answered elsewhere, cancelled, expired).
    Status {
        /// The challenge.
        id: ChallengeId,
        /// Its state now.
        status: ChallengeStatus,
    },
    /// The event stream is connected and the pending challenges were pulled (and
    /// reported before this); `attempt` counts earlier connection attempts.
    Connected {
        /// 0 for the first connection.
        attempt: u32,
    },
    /// The event stream dropped or could not connect; the next try is after `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
        /// The wait before the next try.
        retry_in: Duration,
    },
    /// The relay refused the stream for good (credential revoked, ...): no more tries.
    Stopped {
        /// The relay's reason.
        reason: String,
    },
}

/// Follows the event stream in a task, reporting to `tx` until `tx` is closed or the
/// relay refuses the credential.
pub fn follow(client: RelayClient, tx: mpsc::Sender<Incoming>) -> JoinHandle<()> {
    tokio::spawn(run(client, tx))
}

async fn run(client: RelayClient, tx: mpsc::Sender<Incoming>) {
    let mut backoff = MIN_BACKOFF;
    let mut attempt = 0u32;
    loop {
        let reason = match client.open_events().await {
            Ok(response) => {
                backoff = MIN_BACKOFF;
                if !pull(&client, &tx).await
                    || tx.send(Incoming::Connected { attempt }).await.is_err()
                {
                    return;
                }
                match read_stream(response, &tx).await {
                    Some(reason) => reason,
                    None => return,
                }
            }
            Err(e) if is_final(&e) => {
                let _ = tx
                    .send(Incoming::Stopped {
                        reason: e.to_string(),
                    })
                    .await;
                return;
            }
            Err(e) => e.to_string(),
        };
        let retry_in = jitter(backoff);
        if tx
            .send(Incoming::Disconnected { reason, retry_in })
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(retry_in).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        attempt += 1;
    }
}

/// A refusal that waiting will not change (4xx other than 408 / 429).
fn is_final(error: &ClientError) -> bool {
    error
        .status()
        .is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429)
}

/// Reports every pending challenge; false when the receiver is gone.
async fn pull(client: &RelayClient, tx: &mpsc::Sender<Incoming>) -> bool {
    match client.pending().await {
        Ok(challenges) => {
            for challenge in challenges {
                let incoming = Incoming::Challenge {
                    id: challenge.id,
                    source: Source::Pull,
                    challenge: Some(Box::new(challenge)),
                };
                if tx.send(incoming).await.is_err() {
                    return false;
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not pull the pending challenges"),
    }
    true
}

/// Reads events until the stream ends; `Some(reason)` to reconnect, `None` to stop.
async fn read_stream(
    mut response: reqwest::Response,
    tx: &mpsc::Sender<Incoming>,
) -> Option<String> {
    let mut parser = SseParser::default();
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Some("the relay closed the event stream".to_owned()),
            Err(e) => return Some(error_chain(&e)),
        };
        let events = match parser.push(&chunk) {
            Ok(events) => events,
            Err(reason) => return Some(reason),
        };
        for event in events {
            let Some(incoming) = to_incoming(&event) else {
                continue;
            };
            if tx.send(incoming).await.is_err() {
                return None;
            }
        }
    }
}

fn to_incoming(event: &SseEvent) -> Option<Incoming> {
    if !matches!(event.event.as_str(), "challenge" | "status" | "message") {
        return None;
    }
    match serde_json::from_str::<DeviceEvent>(&event.data) {
        Ok(DeviceEvent::Challenge { id, challenge }) => Some(Incoming::Challenge {
            id,
            source: Source::EventStream,
            challenge,
        }),
        Ok(DeviceEvent::Status { id, status }) => Some(Incoming::Status { id, status }),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable event from the relay");
            None
        }
    }
}

/// Spreads reconnects of many devices: ±20 %.
fn jitter(base: Duration) -> Duration {
    let mut byte = [0u8; 1];
    onepush_protocol::keys::fill_random(&mut byte);
    let percent = 80 + u32::from(byte[0]) * 40 / 255;
    base * percent / 100
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, `message` when absent.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// An incremental parser of `text/event-stream` (WHATWG HTML, "Server-sent events").
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    event: String,
    data: String,
    has_data: bool,
}

impl SseParser {
    /// Feeds bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, String> {
        let mut events = Vec::new();
        for &byte in bytes {
            if byte != b'\n' {
                self.line.push(byte);
                if self.line.len() > MAX_LINE {
                    return Err("the event stream sent a line over 64 KiB".to_owned());
                }
                continue;
            }
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
            if let Some(event) = self.line_done(&line) {
                events.push(event);
            }
        }
        Ok(events)
    }

    fn line_done(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            if !std::mem::take(&mut self.has_data) {
                return None;
            }
            let event = if event.is_empty() {
                "message".to_owned()
            } else {
                event
            };
            return Some(SseEvent { event, data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_are_parsed() {
        let id = ChallengeId::new();
        let text = format!(
            ": keep-alive\n\nevent: challenge\ndata: {{\"type\":\"challenge\",\"id\":\"{id}\"}}\n\n"
        );
        let (a, b) = text.as_bytes().split_at(30);
        let mut parser = SseParser::default();
        assert!(parser.push(a).unwrap().is_empty());
        let events = parser.push(b).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "challenge");
        assert_eq!(
            to_incoming(&events[0]),
            Some(Incoming::Challenge {
                id,
                source: Source::EventStream,
                challenge: None,
            })
        );
    }

    #[test]
    fn crlf_multi_line_data_and_defaults_follow_the_spec() {
        let mut parser = SseParser::default();
        let events = parser
            .push(b"data:a\r\ndata: b\r\n\r\nevent: x\n\ndata\n\n")
            .unwrap();
        assert_eq!(
            events,
            vec![
                SseEvent {
                    event: "message".into(),
                    data: "a\nb".into()
                },
                SseEvent {
                    event: "message".into(),
                    data: String::new()
                },
            ]
        );
    }

    #[test]
    fn status_event_is_reported() {
        let id = ChallengeId::new();
        let data = format!("{{\"type\":\"status\",\"id\":\"{id}\",\"status\":\"cancelled\"}}");
        let event = SseEvent {
            event: "status".into(),
            data,
        };
        assert_eq!(
            to_incoming(&event),
            Some(Incoming::Status {
                id,
                status: ChallengeStatus::Cancelled
            })
        );
    }

    #[test]
    fn unknown_events_and_bad_data_are_skipped() {
        assert_eq!(
            to_incoming(&SseEvent {
                event: "hello".into(),
                data: "{}".into()
            }),
            None
        );
        assert_eq!(
            to_incoming(&SseEvent {
                event: "challenge".into(),
                data: "{".into()
            }),
            None
        );
    }

    #[test]
    fn endless_line_is_refused() {
        let mut parser = SseParser::default();
        assert!(parser.push(&vec![b'x'; MAX_LINE + 1]).is_err());
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for _ in 0..100 {
            let d = jitter(Duration::from_secs(10));
            assert!(
                d >= Duration::from_secs(8) && d <= Duration::from_secs(12),
                "{d:?}"
            );
        }
    }
}
