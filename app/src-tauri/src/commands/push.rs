//! Push on phones (app/ui/COMMANDS.md, "Push"): the UI forwards what the
//! notifications plugin reports — a renewed token, an incoming message, a tapped
//! notification — to these commands, which run [`crate::push`].

use serde::Serialize;
use tauri::{AppHandle, Runtime};

use crate::error::{AppError, CommandResult, ErrorKind};
use crate::push;

/// What `push_status` answers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushStatus {
    /// True where the notifications plugin reports push events (phones): the UI
    /// forwards them to the commands below.
    pub plugin_events: bool,
    /// The channel registered last for this credential: `apns`, `fcm`, `webpush`.
    pub channel: Option<&'static str>,
}

/// What an incoming or tapped push came to: the challenge's ID, or why the message
/// was dropped (also logged).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushReceipt {
    /// The challenge the message announced (recorded as shown).
    pub id: Option<String>,
    /// Why nothing was taken.
    pub dropped: Option<String>,
}

impl From<Result<onepush_protocol::ChallengeId, push::Dropped>> for PushReceipt {
    fn from(taken: Result<onepush_protocol::ChallengeId, push::Dropped>) -> Self {
        match taken {
            Ok(id) => Self {
                id: Some(id.to_string()),
                dropped: None,
            },
            Err(e) => Self {
                id: None,
                dropped: Some(e.to_string()),
            },
        }
    }
}

/// Whether the UI should forward plugin events, and the channel registered.
#[tauri::command]
#[allow(
    clippy::needless_pass_by_value,
    reason = "Tauri hands commands their AppHandle by value"
)]
pub fn push_status<R: Runtime>(app: AppHandle<R>) -> PushStatus {
    PushStatus {
        plugin_events: cfg!(mobile),
        channel: push::registered(&app),
    }
}

/// The platform renewed its push token (`push-token`): registered again when it
/// changed. The channel registered, or `null` when the token was the one registered.
#[tauri::command]
pub async fn push_token<R: Runtime>(
    app: AppHandle<R>,
    token: String,
) -> CommandResult<Option<&'static str>> {
    Ok(push::token_refreshed(&app, &token)
        .await?
        .map(|channel| channel.kind()))
}

/// A push message arrived while the app runs (`push-message`): `message` is the
/// base64url `onepush_message`. Announced like a challenge from the event stream.
#[tauri::command]
pub async fn push_message<R: Runtime>(app: AppHandle<R>, message: String) -> PushReceipt {
    push::incoming(&app, &message, true).await.into()
}

/// A push notification was tapped (the app may have been closed): it carries the
/// message itself (`message`, APNs) or the challenge's ID (`challengeId`, the app's own
/// notification). The challenge to open; the UI opens its prompt.
#[tauri::command]
pub async fn push_opened<R: Runtime>(
    app: AppHandle<R>,
    message: Option<String>,
    challenge_id: Option<String>,
) -> CommandResult<PushReceipt> {
    match (message, challenge_id) {
        (Some(message), _) => Ok(push::incoming(&app, &message, false).await.into()),
        (None, Some(id)) => {
            let id = id.parse().map_err(|_| {
                AppError::new(ErrorKind::InvalidInput, "the notification names no request")
            })?;
            Ok(Ok(id).into())
        }
        (None, None) => Err(AppError::new(
            ErrorKind::InvalidInput,
            "give the push message or the challenge ID",
        )),
    }
}
