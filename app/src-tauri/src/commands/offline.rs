//! Offline codes (RFC 6287 OCRA; `onepush_device::offline`): the phone has no network,
//! the bank shows a payload (desktop: pasted or typed; phones: scanned). The payload is
//! read and shown like a push prompt; after ✓ (and the check the settings ask for) the
//! 8-digit code is computed over the payload that was shown, kept here — never over
//! anything the UI sends back.

use onepush_device::unix_now;
use onepush_protocol::api::DeviceChallenge;
use serde::Serialize;
use tauri::{AppHandle, Runtime, State};

use crate::backend::Backend;
use crate::error::{AppError, CommandResult, ErrorKind};
use crate::verify;

/// The code to type into the bank's page.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineCode {
    /// Eight digits.
    pub code: String,
    /// The offline challenge it answers.
    pub id: String,
    /// The deadline, Unix seconds: the bank refuses the code after it.
    pub expires_at: i64,
}

/// Reads an offline payload and answers the transaction to show, in the form of a push
/// challenge (the prompt's view renders it). Needs no network.
#[tauri::command]
pub async fn offline_read(
    backend: State<'_, Backend>,
    payload: String,
) -> CommandResult<DeviceChallenge> {
    let slot = backend.auth().await;
    let auth = slot.as_ref().ok_or_else(AppError::not_set_up)?;
    let prompt = auth.read_offline(&payload, unix_now())?;
    let challenge = prompt.challenge.clone();
    backend.set_offline(Some(prompt));
    Ok(challenge)
}

/// After ✓ on the offline prompt `id`: the user check the settings ask for, then the
/// code. `id` must be the payload shown last.
#[tauri::command]
pub async fn offline_code<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
    id: String,
    pin: Option<String>,
) -> CommandResult<OfflineCode> {
    let prompt = backend
        .offline()
        .filter(|p| p.challenge.id.to_string() == id)
        .ok_or_else(|| {
            AppError::new(
                ErrorKind::ChallengeNotShown,
                "this offline request was not shown on this device: read the bank's code again",
            )
        })?;
    verify::user_present(&app, &backend, pin).await?;
    let slot = backend.auth().await;
    let auth = slot.as_ref().ok_or_else(AppError::not_set_up)?;
    let code = auth.offline_code(&prompt, unix_now())?;
    backend.set_offline(None);
    Ok(OfflineCode {
        code,
        id,
        expires_at: prompt.payload.e,
    })
}
