//! Proof that the user is there before an approval, when the settings ask for it: the
//! PIN (Argon2id-checked) on desktop, the biometric prompt on phones
//! ([`ApprovalCheck`]).

use onepush_device::{Authenticator, unix_now};
use serde::Serialize;
use tauri::{AppHandle, Runtime};

use crate::backend::Backend;
use crate::error::{AppError, CommandResult};
use crate::pin::{self, PinRecord, Verdict};
use crate::prefs::{Prefs, PrefsFile};

/// The check the backend runs before an approval (`AppState.approvalCheck`), so the UI
/// shows its path: the PIN dialog, the system's biometric prompt, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalCheck {
    /// Desktop: the PIN typed in the app, checked here (Argon2id).
    Pin,
    /// Phones: the system's biometric prompt (device passcode as fallback), run here.
    Biometric,
    /// "Check before approve" is off: no check, and the decision's `uv` is false.
    None,
}

impl ApprovalCheck {
    /// The check for these settings on this platform.
    pub fn for_prefs(prefs: &Prefs) -> Self {
        if !prefs.pin_before_approve {
            Self::None
        } else if cfg!(mobile) {
            Self::Biometric
        } else {
            Self::Pin
        }
    }
}

/// Runs the [`ApprovalCheck`] the settings ask for; true when the user was verified
/// (the decision's `uv`): only after a check passed, false when none is asked for.
pub async fn user_present<R: Runtime>(
    app: &AppHandle<R>,
    backend: &Backend,
    pin: Option<String>,
) -> CommandResult<bool> {
    // The vault first, then the settings: the order every command takes them in.
    let mut auth = backend.auth().await;
    let mut prefs = backend.prefs().await;
    match ApprovalCheck::for_prefs(&prefs.prefs) {
        ApprovalCheck::None => Ok(false),
        ApprovalCheck::Pin => check_pin(&mut prefs, auth.as_mut(), pin)
            .await
            .map(|()| true),
        ApprovalCheck::Biometric => platform::biometric(app, &mut prefs, auth.as_mut(), pin)
            .await
            .map(|()| true),
    }
}

/// Checks `pin`, counts wrong tries (and the lock) and saves the count. A PIN that
/// seals the vault is checked against the one the open vault was unlocked with (`auth`);
/// an earlier version's PIN against its Argon2id hash, and once right it seals the
/// vault (the hash goes). `pin_required` when no PIN is set or none is given.
pub async fn check_pin(
    prefs: &mut PrefsFile,
    auth: Option<&mut Authenticator>,
    pin: Option<String>,
) -> CommandResult<()> {
    let (Some(mut record), Some(pin)) = (prefs.prefs.pin.clone(), pin) else {
        return Err(AppError::new(
            crate::error::ErrorKind::PinRequired,
            "enter the PIN",
        ));
    };
    let now = unix_now();
    let pin = zeroize::Zeroizing::new(pin);
    let verdict = if record.seals_vault() {
        if let Some(until) = record.locked(now) {
            Verdict::Locked(until)
        } else {
            let right = auth.as_ref().is_some_and(|a| a.store().verify_pin(&pin));
            record.count(right, now)
        }
    } else {
        let checked = pin.clone();
        let (checked_record, verdict) = tauri::async_runtime::spawn_blocking(move || {
            let verdict = record.check(&checked, now);
            (record, verdict)
        })
        .await
        .map_err(|e| AppError::internal("the PIN could not be checked", &e))?;
        record = checked_record;
        if verdict == Verdict::Right
            && let Some(auth) = auth
        {
            match auth.change_pin(pin) {
                Ok(()) => {
                    tracing::info!("the PIN now seals the vault; its hash is removed");
                    record = PinRecord::sealing();
                }
                Err(e) => tracing::warn!(error = %e, "the vault stays sealed without the PIN"),
            }
        }
        verdict
    };
    prefs.prefs.pin = Some(record);
    prefs.save()?;
    match verdict {
        Verdict::Right => Ok(()),
        other => Err(pin::refusal(other, now)),
    }
}

#[cfg(desktop)]
mod platform {
    use super::{AppError, AppHandle, CommandResult, PrefsFile, Runtime};

    /// Desktop has no biometric prompt: [`super::ApprovalCheck::for_prefs`] never
    /// picks it here, so reaching this is a bug, and nothing is approved. (`async` as
    /// the phones' version is.)
    #[allow(clippy::unused_async, reason = "the same signature as on phones")]
    pub async fn biometric<R: Runtime>(
        _app: &AppHandle<R>,
        _prefs: &mut PrefsFile,
        _auth: Option<&mut onepush_device::Authenticator>,
        _pin: Option<String>,
    ) -> CommandResult<()> {
        Err(AppError::internal(
            "no biometric check on desktop",
            &"ApprovalCheck::Biometric on desktop",
        ))
    }
}

#[cfg(mobile)]
mod platform {
    use tauri_plugin_biometric::{AuthOptions, BiometricExt as _};

    use super::{AppError, AppHandle, CommandResult, PrefsFile, Runtime, check_pin};
    use crate::error::ErrorKind;
    use onepush_device::Authenticator;

    /// Phones: the PIN when the UI sent one, else the system's biometric prompt (with
    /// the device passcode as fallback), run here, never trusted from the UI.
    pub async fn biometric<R: Runtime>(
        app: &AppHandle<R>,
        prefs: &mut PrefsFile,
        auth: Option<&mut Authenticator>,
        pin: Option<String>,
    ) -> CommandResult<()> {
        if pin.is_some() {
            return check_pin(prefs, auth, pin).await;
        }
        let app = app.clone();
        let reason = match prefs.prefs.language.resolved() {
            crate::prefs::Language::Ja => "承認するには本人確認をしてください",
            _ => "Confirm it is you to approve",
        };
        let options = AuthOptions {
            allow_device_credential: true,
            ..AuthOptions::default()
        };
        tauri::async_runtime::spawn_blocking(move || {
            app.biometric().authenticate(reason.to_owned(), options)
        })
        .await
        .map_err(|e| AppError::internal("the biometric prompt failed", &e))?
        .map_err(|e| {
            tracing::info!(error = %e, "biometric check not passed");
            AppError::new(
                ErrorKind::BiometricFailed,
                "the identity check did not pass",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desktop_asks_for_the_pin_only_when_the_setting_is_on() {
        let mut prefs = Prefs::default();
        assert_eq!(ApprovalCheck::for_prefs(&prefs), ApprovalCheck::None);
        prefs.pin_before_approve = true;
        let expected = if cfg!(mobile) {
            ApprovalCheck::Biometric
        } else {
            ApprovalCheck::Pin
        };
        assert_eq!(ApprovalCheck::for_prefs(&prefs), expected);
        assert_eq!(
            serde_json::to_value(ApprovalCheck::Biometric).unwrap(),
            "biometric"
        );
    }
}
