//! Proof that the user is there before an approval, when the settings ask for it: the
//! PIN (Argon2id-checked) on desktop, the biometric prompt on phones.

use onepush_device::unix_now;
use tauri::{AppHandle, Runtime};

use crate::backend::Backend;
use crate::error::{AppError, CommandResult};
use crate::pin::{self, Verdict};
use crate::prefs::PrefsFile;

/// Runs the check when "PIN before approve" is on; true when the user was verified
/// (the decision's `uv`), false when no check is asked for.
pub async fn user_present<R: Runtime>(
    app: &AppHandle<R>,
    backend: &Backend,
    pin: Option<String>,
) -> CommandResult<bool> {
    let mut prefs = backend.prefs().await;
    if !prefs.prefs.pin_before_approve {
        return Ok(false);
    }
    platform::verify(app, &mut prefs, pin).await?;
    Ok(true)
}

/// Checks `pin` against the stored hash, counts wrong tries (and the lock) and saves
/// the count. `pin_required` when no PIN is set or none is given.
pub async fn check_pin(prefs: &mut PrefsFile, pin: Option<String>) -> CommandResult<()> {
    let (Some(mut record), Some(pin)) = (prefs.prefs.pin.clone(), pin) else {
        return Err(AppError::new(
            crate::error::ErrorKind::PinRequired,
            "enter the PIN",
        ));
    };
    let now = unix_now();
    let pin = zeroize::Zeroizing::new(pin);
    let (record, verdict) = tauri::async_runtime::spawn_blocking(move || {
        let verdict = record.check(&pin, now);
        (record, verdict)
    })
    .await
    .map_err(|e| AppError::internal("the PIN could not be checked", &e))?;
    prefs.prefs.pin = Some(record);
    prefs.save()?;
    match verdict {
        Verdict::Right => Ok(()),
        other => Err(pin::refusal(other, now)),
    }
}

#[cfg(desktop)]
mod platform {
    use super::{AppHandle, CommandResult, PrefsFile, Runtime, check_pin};

    /// Desktop: the PIN the user typed in the app.
    pub async fn verify<R: Runtime>(
        _app: &AppHandle<R>,
        prefs: &mut PrefsFile,
        pin: Option<String>,
    ) -> CommandResult<()> {
        check_pin(prefs, pin).await
    }
}

#[cfg(mobile)]
mod platform {
    use tauri_plugin_biometric::{AuthOptions, BiometricExt as _};

    use super::{AppError, AppHandle, CommandResult, PrefsFile, Runtime, check_pin};
    use crate::error::ErrorKind;

    /// Phones: the PIN when the UI sent one, else the system's biometric prompt (with
    /// the device passcode as fallback), run here, never trusted from the UI.
    pub async fn verify<R: Runtime>(
        app: &AppHandle<R>,
        prefs: &mut PrefsFile,
        pin: Option<String>,
    ) -> CommandResult<()> {
        if pin.is_some() {
            return check_pin(prefs, pin).await;
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
            AppError::new(ErrorKind::PinInvalid, "the identity check did not pass")
        })
    }
}
