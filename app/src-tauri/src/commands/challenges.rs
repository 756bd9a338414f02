//! Commands about challenges: the pending list, one challenge, approve, deny, history.
//!
//! What you see is what you sign: every copy of a challenge the backend hands to the
//! UI is recorded in the [`Backend`] (`onepush_device::shown`), and a decision is
//! signed over that recorded copy with no new fetch — never over anything the UI
//! sends, nor over a later copy from the relay. A later copy that differs marks the
//! challenge changed (`challenge_changed`); an ID never shown is refused
//! (`challenge_not_shown`).

use onepush_device::{Sighting, unix_now};
use onepush_protocol::api::{DecisionAccepted, DeviceChallenge, TokenKind};
use onepush_protocol::{ChallengeId, DenyReason};
use tauri::{AppHandle, Runtime, State};

use crate::backend::Backend;
use crate::dto::HistoryEntry;
use crate::error::{AppError, CommandResult, ErrorKind};
use crate::verify;

/// The pending challenges of every account, oldest first: each as first shown (a
/// changed one too: opening it with `get_challenge` reports the change). A code token
/// (PC token) has none.
#[tauri::command]
pub async fn pending(backend: State<'_, Backend>) -> CommandResult<Vec<DeviceChallenge>> {
    if backend.token_kind().await == Some(TokenKind::Otp) {
        return Ok(Vec::new()); // a code token: codes only
    }
    let list = backend.client().await?.pending().await?;
    Ok(list
        .into_iter()
        .map(|copy| as_shown(&backend, copy).0)
        .collect())
}

/// One challenge, in any state: the copy shown first, with its current status;
/// `challenge_changed` when the relay's copy now differs from it.
#[tauri::command]
pub async fn get_challenge(
    backend: State<'_, Backend>,
    id: String,
) -> CommandResult<DeviceChallenge> {
    let id = parse_id(&id)?;
    let copy = backend.client().await?.challenge(id).await?;
    match as_shown(&backend, copy) {
        (_, Sighting::Changed(parts)) => {
            Err(onepush_device::ShownError::Changed { id, parts }.into())
        }
        (shown, _) => Ok(shown),
    }
}

/// Records `copy` as seen; the copy to show (the one shown first, with the status
/// `copy` brings) and how it compares.
fn as_shown(backend: &Backend, copy: DeviceChallenge) -> (DeviceChallenge, Sighting) {
    let sighting = backend.record_shown(&copy);
    let shown = backend.shown(copy.id).unwrap_or(copy);
    (shown, sighting)
}

/// Approves the challenge as shown, after the check the settings ask for (desktop:
/// the PIN; phones: the biometric prompt, run here); `number` is the two digits typed
/// for number matching. One signed request: the decision.
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
    backend.to_sign(id)?;
    let verified = verify::user_present(&app, &backend, pin).await?;
    let mut slot = backend.auth().await;
    let auth = slot.as_mut().ok_or_else(|| backend.missing())?;
    // Taken again after the check: a copy that arrived meanwhile may have changed it.
    let challenge = backend.to_sign(id)?;
    let answered = auth
        .approve(&challenge, number, verified, unix_now())
        .await?;
    backend.shown_status(id, answered.status);
    Ok(DecisionAccepted {
        id,
        status: answered.status,
    })
}

/// Denies the challenge as shown; `not_me` reports a request the user did not start
/// (the relay locks the binding). No check runs, so the decision's `uv` is false.
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
    let challenge = backend.to_sign(id)?;
    let mut slot = backend.auth().await;
    let auth = slot.as_mut().ok_or_else(|| backend.missing())?;
    let answered = auth.deny(&challenge, reason, false, unix_now()).await?;
    backend.shown_status(id, answered.status);
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
