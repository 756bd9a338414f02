//! Commands about challenges: the pending list, one challenge, approve, deny, history.
//!
//! Decisions are signed over the challenge as fetched here from the relay, never over
//! anything the UI sends.

use onepush_device::unix_now;
use onepush_protocol::api::{DecisionAccepted, DeviceChallenge};
use onepush_protocol::{ChallengeId, DenyReason};
use tauri::{AppHandle, Runtime, State};

use crate::backend::Backend;
use crate::dto::HistoryEntry;
use crate::error::{AppError, CommandResult, ErrorKind};
use crate::verify;

/// The pending challenges of every account, oldest first.
#[tauri::command]
pub async fn pending(backend: State<'_, Backend>) -> CommandResult<Vec<DeviceChallenge>> {
    Ok(backend.client().await?.pending().await?)
}

/// One challenge, in any state.
#[tauri::command]
pub async fn get_challenge(
    backend: State<'_, Backend>,
    id: String,
) -> CommandResult<DeviceChallenge> {
    let id = parse_id(&id)?;
    Ok(backend.client().await?.challenge(id).await?)
}

/// Approves, after the PIN (phones: the biometric prompt) when the settings ask for
/// it; `number` is the two digits typed for number matching.
#[tauri::command]
pub async fn approve<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
    id: String,
    number: Option<i64>,
    pin: Option<String>,
) -> CommandResult<DecisionAccepted> {
    let id = parse_id(&id)?;
    let number = number.map(check_number).transpose()?;
    let verified = verify::user_present(&app, &backend, pin).await?;
    let mut slot = backend.auth().await;
    let auth = slot.as_mut().ok_or_else(AppError::not_set_up)?;
    let challenge = auth.challenge(id).await?;
    let answered = auth
        .approve(&challenge, number, verified, unix_now())
        .await?;
    Ok(DecisionAccepted {
        id,
        status: answered.status,
    })
}

/// Denies; `not_me` reports a request the user did not start (the relay locks the binding).
#[tauri::command]
pub async fn deny(
    backend: State<'_, Backend>,
    id: String,
    not_me: bool,
) -> CommandResult<DecisionAccepted> {
    let id = parse_id(&id)?;
    let reason = if not_me {
        DenyReason::NotMe
    } else {
        DenyReason::Declined
    };
    let mut slot = backend.auth().await;
    let auth = slot.as_mut().ok_or_else(AppError::not_set_up)?;
    let challenge = auth.challenge(id).await?;
    let answered = auth.deny(&challenge, reason, false, unix_now()).await?;
    Ok(DecisionAccepted {
        id,
        status: answered.status,
    })
}

/// The answered challenges kept on this device, newest first.
#[tauri::command]
pub async fn history(backend: State<'_, Backend>) -> CommandResult<Vec<HistoryEntry>> {
    let slot = backend.auth().await;
    Ok(slot
        .as_ref()
        .map(|auth| auth.vault().history.iter().rev().map(Into::into).collect())
        .unwrap_or_default())
}

/// A challenge ID from the UI; one that cannot be an ID cannot be found either.
fn parse_id(id: &str) -> CommandResult<ChallengeId> {
    id.parse()
        .map_err(|_| AppError::new(ErrorKind::NotFound, "there is no such request"))
}

/// The number-matching digits: 10 to 99.
fn check_number(number: i64) -> CommandResult<u8> {
    u8::try_from(number)
        .ok()
        .filter(|n| (10..=99).contains(n))
        .ok_or_else(|| AppError::invalid("the number has two digits, 10 to 99"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_is_two_digits() {
        assert_eq!(check_number(10).unwrap(), 10);
        assert_eq!(check_number(99).unwrap(), 99);
        for bad in [9, 100, -5, 300] {
            assert_eq!(check_number(bad).unwrap_err().kind, ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn unparsable_id_is_not_found() {
        assert_eq!(parse_id("nope").unwrap_err().kind, ErrorKind::NotFound);
    }
}
