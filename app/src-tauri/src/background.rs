//! The background: follows the relay's event stream for the current credential
//! (reconnects with backoff and pulls the pending list after each connect — both in
//! `onepush-device`), and turns what arrives into the UI's `challenge` /
//! `challenge-status` events, a native notification and the window brought forward.
//! Every challenge copy it receives is recorded as shown (what a decision signs); a
//! copy that differs from the one shown raises `challenge-changed`.
//! A focused window pulls the pending list too.

use onepush_device::events::{self, Incoming};
use onepush_device::{RelayClient, Sighting};
use onepush_protocol::ChallengeId;
use onepush_protocol::api::DeviceChallenge;
use tauri::{AppHandle, Emitter as _, Manager as _, Runtime};
use tokio::sync::mpsc;

use crate::backend::Backend;
use crate::dto::{ChallengeEvent, StatusEvent};
use crate::notify;

/// The UI event for a new challenge.
pub const CHALLENGE_EVENT: &str = "challenge";
/// The UI event for a challenge that left `pending`.
pub const STATUS_EVENT: &str = "challenge-status";
/// The UI event for a challenge whose content changed after it was shown.
pub const CHANGED_EVENT: &str = "challenge-changed";

/// Starts the task that follows whichever credential the [`Backend`] names, restarting
/// the stream after setup and stopping it on reset.
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let mut credential = app.state::<Backend>().followed();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let current = credential.borrow_and_update().clone();
            let follower = current.map(|client| Follower::start(app.clone(), client));
            if credential.changed().await.is_err() {
                return;
            }
            drop(follower);
        }
    });
}

/// One credential's stream task and the task that forwards what it reports.
struct Follower {
    stream: tokio::task::JoinHandle<()>,
    forward: tokio::task::JoinHandle<()>,
}

impl Follower {
    fn start<R: Runtime>(app: AppHandle<R>, client: RelayClient) -> Self {
        let (tx, rx) = mpsc::channel(64);
        Self {
            stream: events::follow(client, tx),
            forward: tokio::spawn(forward(app, rx)),
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stream.abort();
        self.forward.abort();
    }
}

async fn forward<R: Runtime>(app: AppHandle<R>, mut rx: mpsc::Receiver<Incoming>) {
    while let Some(incoming) = rx.recv().await {
        match incoming {
            // The copy the stream carried is recorded as shown (a decision signs it);
            // a later copy that differs marks it changed and the UI is told.
            Incoming::Challenge {
                id,
                source,
                challenge,
            } => {
                tracing::info!(%id, source = source.as_str(), "challenge");
                if let Some(copy) = &challenge {
                    record(&app, copy);
                }
                announce(&app, id, challenge, true);
            }
            Incoming::Status { id, status } => {
                tracing::info!(%id, %status, "challenge status");
                app.state::<Backend>().shown_status(id, status);
                emit(
                    &app,
                    STATUS_EVENT,
                    StatusEvent {
                        id: id.to_string(),
                        status,
                    },
                );
            }
            Incoming::Connected { attempt } => {
                tracing::info!(attempt, "event stream connected");
            }
            Incoming::Disconnected { reason, retry_in } => {
                tracing::warn!(%reason, ?retry_in, "event stream dropped; reconnecting");
            }
            Incoming::Stopped { reason } => {
                tracing::warn!(%reason, "the relay refused the event stream for good");
            }
        }
    }
}

/// Records a copy from the relay as shown; one that differs from the copy shown
/// before raises the UI's `challenge-changed` event.
pub(crate) fn record<R: Runtime>(app: &AppHandle<R>, copy: &DeviceChallenge) {
    if let Sighting::Changed(_) = app.state::<Backend>().record_shown(copy) {
        emit(
            app,
            CHANGED_EVENT,
            ChallengeEvent {
                id: copy.id.to_string(),
            },
        );
    }
}

/// Tells the UI about a challenge it has not been told about yet; with `alert`, also a
/// native notification (worded from `details` when the channel carried them, else from
/// a fetch) and the window brought forward.
pub fn announce<R: Runtime>(
    app: &AppHandle<R>,
    id: ChallengeId,
    details: Option<Box<DeviceChallenge>>,
    alert: bool,
) {
    if !app.state::<Backend>().first_sighting(id) {
        return;
    }
    emit(app, CHALLENGE_EVENT, ChallengeEvent { id: id.to_string() });
    if alert {
        bring_forward(app);
        let app = app.clone();
        tauri::async_runtime::spawn(async move { notify::challenge(&app, id, details).await });
    }
}

/// Pulls the pending challenges (the window came to the front) and announces new ones.
pub fn pull<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Ok(client) = app.state::<Backend>().client().await else {
            return;
        };
        match client.pending().await {
            Ok(list) => {
                for challenge in list {
                    record(&app, &challenge);
                    announce(&app, challenge.id, None, false);
                }
            }
            Err(e) => tracing::debug!(error = %e, "pull on focus failed"),
        }
    });
}

fn emit<R: Runtime, P: serde::Serialize + Clone>(app: &AppHandle<R>, event: &str, payload: P) {
    if let Err(e) = app.emit(event, payload) {
        tracing::warn!(error = %e, event, "cannot emit to the UI");
    }
}

/// Shows, un-minimises and focuses the main window (desktop; on phones the
/// notification brings the app).
fn bring_forward<R: Runtime>(app: &AppHandle<R>) {
    #[cfg(desktop)]
    if let Some(window) = app.get_webview_window("main") {
        let shown = window
            .show()
            .and_then(|()| window.unminimize())
            .and_then(|()| window.set_focus());
        if let Err(e) = shown {
            tracing::debug!(error = %e, "cannot bring the window forward");
        }
    }
    #[cfg(mobile)]
    let _ = app;
}
