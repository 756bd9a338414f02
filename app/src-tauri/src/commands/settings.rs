//! `set_settings`: language, "PIN before approve" and the PIN itself.

use onepush_device::Authenticator;
use tauri::{AppHandle, Runtime, State};

use crate::backend::Backend;
use crate::dto::AppState;
use crate::error::{AppError, CommandResult, ErrorKind};
use crate::pin::{self, PinRecord};
use crate::prefs::Language;
use crate::verify::check_pin;

/// Applies only the fields given. Changing or switching off a PIN needs the current
/// one; switching "PIN before approve" on needs a PIN set already or `pin` with it.
/// A new PIN seals the vault again (with the same keystore secret): from then on the
/// app opens with it. Switching "PIN before approve" off keeps the PIN sealing the vault.
/// `start_at_login` (desktop) adds or removes the login item; the setting is saved only
/// when that worked.
#[tauri::command]
#[allow(
    clippy::too_many_arguments,
    reason = "one optional argument per setting"
)]
pub async fn set_settings<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
    language: Option<String>,
    pin_before_approve: Option<bool>,
    pin: Option<String>,
    current_pin: Option<String>,
    start_at_login: Option<bool>,
) -> CommandResult<AppState> {
    let language = language.as_deref().map(parse_language).transpose()?;
    if let Some(pin) = &pin {
        pin::check_format(pin)?;
    }
    let new_pin = pin.map(zeroize::Zeroizing::new);
    let mut auth = backend.auth().await;
    if new_pin.is_some() && auth.is_none() {
        return Err(backend.missing());
    }
    let mut prefs = backend.prefs().await;
    let had_pin = prefs.prefs.pin.is_some();
    if had_pin && (new_pin.is_some() || pin_before_approve == Some(false)) {
        check_pin(&mut prefs, auth.as_mut(), current_pin).await?;
    }
    if pin_before_approve == Some(true) && !had_pin && new_pin.is_none() {
        return Err(AppError::new(
            ErrorKind::PinRequired,
            "choose a PIN to ask for it before approving",
        ));
    }
    if let Some(new_pin) = new_pin {
        let sealing = auth.take().expect("checked above");
        let (sealed, outcome) = tauri::async_runtime::spawn_blocking(move || {
            let mut sealing = sealing;
            let outcome = sealing.change_pin(new_pin);
            (sealing, outcome)
        })
        .await
        .map_err(|e| AppError::internal("the vault could not be sealed", &e))?;
        *auth = Some(sealed);
        outcome?;
        prefs.prefs.pin = Some(PinRecord::sealing());
    }
    if let Some(on) = pin_before_approve {
        prefs.prefs.pin_before_approve = on;
    }
    if let Some(language) = language {
        prefs.prefs.language = language;
    }
    if let Some(on) = start_at_login {
        apply_start_at_login(&app, on)?;
        prefs.prefs.start_at_login = on;
    }
    prefs.save()?;
    Ok(AppState::new(
        auth.as_ref().map(Authenticator::vault),
        &prefs.prefs,
        backend.is_locked(),
    ))
}

/// Adds (or removes) the login item that starts the app into the tray.
#[cfg(desktop)]
fn apply_start_at_login<R: Runtime>(app: &AppHandle<R>, on: bool) -> CommandResult<()> {
    use tauri_plugin_autostart::ManagerExt as _;
    // Linux: the login item goes to ~/.config/autostart, whose parent the plugin
    // expects to exist (a fresh account may not have it yet).
    #[cfg(target_os = "linux")]
    if on && let Some(home) = std::env::home_dir() {
        std::fs::create_dir_all(home.join(".config"))
            .map_err(|e| AppError::internal("the login item could not be changed", &e))?;
    }
    let login = app.autolaunch();
    let done = if on { login.enable() } else { login.disable() };
    done.map_err(|e| AppError::internal("the login item could not be changed", &e))?;
    tracing::info!(on, "start at login");
    Ok(())
}

/// Phones have no login item.
#[cfg(mobile)]
fn apply_start_at_login<R: Runtime>(_app: &AppHandle<R>, _on: bool) -> CommandResult<()> {
    Err(AppError::invalid("start at login is a desktop setting"))
}

fn parse_language(text: &str) -> CommandResult<Language> {
    match text {
        "ja" => Ok(Language::Ja),
        "en" => Ok(Language::En),
        "system" => Ok(Language::System),
        _ => Err(AppError::invalid("the language is ja, en or system")),
    }
}
