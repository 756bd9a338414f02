//! `set_settings`: language, "PIN before approve" and the PIN itself.

use onepush_device::Authenticator;
use tauri::State;

use crate::backend::Backend;
use crate::commands::device::hash_pin;
use crate::dto::AppState;
use crate::error::{AppError, CommandResult, ErrorKind};
use crate::prefs::Language;
use crate::verify::check_pin;

/// Applies only the fields given. Changing or switching off a PIN needs the current
/// one; switching "PIN before approve" on needs a PIN set already or `pin` with it.
#[tauri::command]
pub async fn set_settings(
    backend: State<'_, Backend>,
    language: Option<String>,
    pin_before_approve: Option<bool>,
    pin: Option<String>,
    current_pin: Option<String>,
) -> CommandResult<AppState> {
    let language = language.as_deref().map(parse_language).transpose()?;
    let new_pin = match pin {
        Some(pin) => Some(hash_pin(pin).await?),
        None => None,
    };
    let auth = backend.auth().await;
    let mut prefs = backend.prefs().await;
    let had_pin = prefs.prefs.pin.is_some();
    if had_pin && (new_pin.is_some() || pin_before_approve == Some(false)) {
        check_pin(&mut prefs, current_pin).await?;
    }
    if pin_before_approve == Some(true) && !had_pin && new_pin.is_none() {
        return Err(AppError::new(
            ErrorKind::PinRequired,
            "choose a PIN to ask for it before approving",
        ));
    }
    if let Some(record) = new_pin {
        prefs.prefs.pin = Some(record);
    }
    if let Some(on) = pin_before_approve {
        prefs.prefs.pin_before_approve = on;
    }
    if let Some(language) = language {
        prefs.prefs.language = language;
    }
    prefs.save()?;
    Ok(AppState::new(
        auth.as_ref().map(Authenticator::vault),
        &prefs.prefs,
    ))
}

fn parse_language(text: &str) -> CommandResult<Language> {
    match text {
        "ja" => Ok(Language::Ja),
        "en" => Ok(Language::En),
        "system" => Ok(Language::System),
        _ => Err(AppError::invalid("the language is ja, en or system")),
    }
}
