//! Commands about the device itself: configuration, state, setup, unlock, codes,
//! accounts, reset.

use onepush_device::{Authenticator, VaultError, unix_now};
use onepush_protocol::api::{DeviceAccount, TokenKind};
use tauri::State;

use crate::backend::Backend;
use crate::dto::{AppState, Codes, Config, KeystoreStatus};
use crate::error::{AppError, CommandResult, ErrorKind};
use crate::home::{self, KeyMode};
use crate::pin::{self, PinRecord};

/// What the Setup screen needs: the relay it proposes, the keystore's state (a probe
/// entry is written and removed, off the async runtime), why the vault does not open.
#[tauri::command]
pub async fn get_config(backend: State<'_, Backend>) -> CommandResult<Config> {
    let probe = tauri::async_runtime::spawn_blocking(onepush_device::os_keystore::check_writable)
        .await
        .map_err(|e| AppError::internal("the keystore check failed", &e))?;
    Ok(Config {
        relay_url: backend.config().relay_url.clone(),
        keystore: KeystoreStatus {
            available: probe.is_ok(),
            detail: probe.err().map(|e| e.to_string()),
        },
        vault_problem: backend.vault_problem(),
        qr_scanner: cfg!(mobile),
    })
}

/// Whether the device is set up, and its settings.
#[tauri::command]
pub async fn get_state(backend: State<'_, Backend>) -> CommandResult<AppState> {
    Ok(backend.state().await)
}

/// Creates the credential at `relay_url` (keys made here, vault saved with its key in
/// the OS keystore, or in a key file when `key_mode` is `file`). With `pin`, the PIN
/// seals the vault together with the keystore secret (the app starts locked, `unlock`)
/// and is asked before approvals. Starts following the event stream.
#[tauri::command]
pub async fn setup(
    backend: State<'_, Backend>,
    relay_url: String,
    pin: Option<String>,
    key_mode: Option<KeyMode>,
    token_kind: Option<TokenKind>,
) -> CommandResult<AppState> {
    let relay_url = check_relay_url(&relay_url)?;
    let kind = token_kind.unwrap_or_default();
    if kind == TokenKind::Otp && key_mode == Some(KeyMode::File) {
        return Err(AppError::invalid(
            "a PC token is sealed to this PC's keystore: it cannot keep its key in a file",
        ));
    }
    if let Some(pin) = &pin {
        pin::check_format(pin)?;
    }
    let pin = pin.map(zeroize::Zeroizing::new);
    let sealed = pin.is_some();
    let mut slot = backend.auth().await;
    let home = backend.home();
    if slot.is_some() || home::has_vault(home) {
        let message = match backend.vault_problem() {
            Some(problem) => {
                format!("this device's vault cannot be opened ({problem}): start over to remove it")
            }
            None => "this device already has a credential: reset it first".to_owned(),
        };
        return Err(AppError::new(ErrorKind::AlreadySetUp, message));
    }
    let home_dir = home.clone();
    let mode = key_mode.unwrap_or_default();
    let store = tauri::async_runtime::spawn_blocking(move || home::new_store(&home_dir, mode, pin))
        .await
        .map_err(|e| AppError::internal("the keystore check failed", &e))?
        .map_err(|e| match e {
            VaultError::KeystoreUnavailable(_) if kind == TokenKind::Otp => AppError::new(
                ErrorKind::KeystoreUnavailable,
                format!("{e}: a PC token needs this PC's keystore"),
            ),
            VaultError::KeystoreUnavailable(_) => AppError::new(
                ErrorKind::KeystoreUnavailable,
                format!("{e}: choose to keep the key in a file (weaker) to set up anyway"),
            ),
            other => other.into(),
        })?;
    let auth =
        Authenticator::provision_as(Box::new(store), relay_url.as_str(), kind, unix_now()).await?;
    tracing::info!(credential = %auth.vault().credential_id(), relay = %relay_url, %kind, "set up");
    backend.follow(crate::backend::challenge_client(&auth));
    let auth = slot.insert(auth);
    let mut prefs = backend.prefs().await;
    prefs.prefs.pin_before_approve = sealed;
    prefs.prefs.pin = sealed.then(PinRecord::sealing);
    prefs.save()?;
    Ok(AppState::new(Some(auth.vault()), &prefs.prefs, false))
}

/// Opens the PIN-sealed vault with `pin` (the app started locked). A wrong PIN is
/// `pin_invalid` and counts towards the lock (`pin_locked`) like an approval's; a vault
/// whose keystore entry is not on this device is `vault_key_missing`.
#[tauri::command]
pub async fn unlock(backend: State<'_, Backend>, pin: String) -> CommandResult<AppState> {
    backend.unlock(pin).await?;
    Ok(backend.state().await)
}

/// The security codes now (offline: the vault's TOTP secret and the clock).
#[tauri::command]
pub async fn codes(backend: State<'_, Backend>) -> CommandResult<Codes> {
    let slot = backend.auth().await;
    let auth = slot.as_ref().ok_or_else(|| backend.missing())?;
    Ok(auth.codes(unix_now()).into())
}

/// The banks and users this credential serves, fresh from the relay.
#[tauri::command]
pub async fn accounts(backend: State<'_, Backend>) -> CommandResult<Vec<DeviceAccount>> {
    let mut slot = backend.auth().await;
    let auth = slot.as_mut().ok_or_else(|| backend.missing())?;
    Ok(auth.refresh_accounts().await?.to_vec())
}

/// Revokes the credential at the relay (every binding, R6), then forgets it here. When
/// the relay cannot be reached nothing changes. A vault still locked (PIN forgotten)
/// or unreadable is removed here only: the relay cannot be asked without its key.
#[tauri::command]
pub async fn reset(backend: State<'_, Backend>) -> CommandResult<AppState> {
    let mut slot = backend.auth().await;
    let home = backend.home();
    if let Some(auth) = slot.as_ref() {
        // Revoked first with the vault kept open: a relay that cannot be reached
        // leaves the app as it was (a PIN-sealed vault could not be reopened here).
        match auth.client().delete_self().await {
            Ok(()) => {}
            Err(e) if e.status() == Some(401) => {
                tracing::info!("the relay no longer knows this credential");
            }
            Err(e) => return Err(e.into()),
        }
        let auth = slot.take().expect("checked above");
        let credential = auth.vault().credential_id().clone();
        auth.forget()?;
        tracing::info!(%credential, "reset: credential revoked and forgotten");
    } else {
        // A vault that cannot be opened (its key lost, or copied from elsewhere) or
        // still locked: start over. The relay is not asked: the credential may belong
        // to another device.
        home::remove_unreadable_vault(home)
            .map_err(|e| AppError::internal("the old vault could not be removed", &e))?;
    }
    backend.set_vault_problem(None);
    backend.set_locked(false);
    backend.follow(None);
    home::remove_legacy_key(home)
        .map_err(|e| AppError::internal("the old vault key could not be removed", &e))?;
    let mut prefs = backend.prefs().await;
    prefs.prefs.pin = None;
    prefs.prefs.pin_before_approve = false;
    prefs.save()?;
    Ok(AppState::new(None, &prefs.prefs, false))
}

/// The relay URL, if acceptable: `https://`, or `http://` to this machine only.
pub fn check_relay_url(input: &str) -> CommandResult<url::Url> {
    let bad = || {
        AppError::invalid(
            "the relay URL must start with https:// (plain http:// only for localhost)",
        )
    };
    let url = url::Url::parse(input.trim()).map_err(|_| bad())?;
    let local = matches!(
        url.host(),
        Some(
            url::Host::Domain("localhost")
                | url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST)
                | url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST)
        )
    );
    let ok = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => local,
        _ => false,
    };
    if ok && url.query().is_none() && url.fragment().is_none() && url.username().is_empty() {
        Ok(url)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_url_must_be_https_or_local_http() {
        for good in [
            "https://relay.example.jp",
            "https://relay.example.jp:8443/base/",
            "http://127.0.0.1:8420",
            "http://localhost:8420",
            "http://[::1]:8420",
            " http://127.0.0.1:8420 ",
        ] {
            assert!(check_relay_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://relay.example.jp",
            "http://192.168.1.5:8420",
            "ftp://relay.example.jp",
            "relay.example.jp",
            "",
            "https://relay.example.jp/?x=1",
            "https://user@relay.example.jp",
        ] {
            let err = check_relay_url(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidInput, "{bad}");
        }
    }
}
