//! `GET /v1/device/events`: Server-Sent Events fed by the notifier, with keep-alive.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt as _, stream};
use onepush_protocol::ChallengeStatus;
use onepush_protocol::api::{DeviceEvent, Problem};

use crate::http::AppState;
use crate::http::error::ApiError;
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
/// credential; pending challenges are sent first. A credential keeps at most
/// `limits.event_streams_per_credential` streams (default 3): one more ends the oldest. Past
/// the relay's `limits.event_streams_max`, 503 `overloaded` with `Retry-After`.
#[utoipa::path(get, path = "/v1/device/events", tag = "device",
    responses((status = 200, content_type = "text/event-stream", body = DeviceEvent), (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`overloaded`: the relay has as many event streams open as it allows", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "seconds")))))]
pub async fn events(
    State(state): State<AppState>,
    device: Device,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // A place among the streams first (the credential's oldest closes at its cap; 503 at
    // the relay's).
    let mut slot = state.caps.open_stream(&device.credential.id)?;
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
    // Ends at shutdown, or when a newer stream of the credential takes its place; the
    // slot is freed with the stream (client gone, or ended).
    let stream = first.chain(live).take_until(async move {
        tokio::select! {
            () = shutdown.wait() => {}
            () = slot.closed() => {}
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
