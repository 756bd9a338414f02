//! `GET /v1/device/events`: Server-Sent Events fed by the notifier, with keep-alive.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt as _, stream};
use onepush_protocol::ChallengeStatus;
use onepush_protocol::api::{DeviceEvent, Problem};

use crate::error::ApiError;
use crate::http::AppState;
use crate::http::extract::Device;

/// Keep-alive comment interval.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn sse(event: &DeviceEvent) -> Event {
    let name = match event {
        DeviceEvent::Challenge { .. } => "challenge",
        DeviceEvent::Status { .. } => "status",
    };
    Event::default()
        .event(name)
        .data(serde_json::to_string(event).expect("events serialise"))
}

/// New challenges (`event: challenge`) and status changes (`event: status`) of this
/// credential; pending challenges are sent first.
#[utoipa::path(get, path = "/v1/device/events", tag = "device",
    responses((status = 200, content_type = "text/event-stream", body = DeviceEvent), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn events(
    State(state): State<AppState>,
    device: Device,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before listing, so nothing falls between the two.
    let changes = state
        .service
        .notifier
        .subscribe_credential(&device.credential.id);
    let pending = state
        .service
        .device_connected(&device.credential.id)
        .await?;
    let first = stream::iter(pending.into_iter().map(|challenge| {
        Ok(sse(&DeviceEvent::Challenge {
            id: challenge.id,
            challenge: Some(Box::new(challenge)),
        }))
    }));
    let service = state.service.clone();
    let live = changes.then(move |change| {
        let service = service.clone();
        async move {
            let event = if change.status == ChallengeStatus::Pending {
                // Without its details (a store error), the app fetches the challenge.
                let challenge = match service.streamed_challenge(&change).await {
                    Ok(challenge) => Some(Box::new(challenge)),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot prepare a challenge event");
                        None
                    }
                };
                DeviceEvent::Challenge {
                    id: change.challenge_id,
                    challenge,
                }
            } else {
                DeviceEvent::Status {
                    id: change.challenge_id,
                    status: change.status,
                }
            };
            Ok(sse(&event))
        }
    });
    let shutdown = state.shutdown.clone();
    let stream = first
        .chain(live)
        .take_until(async move { shutdown.wait().await });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
