//! Where the app keeps its data (the app home) and the relay it proposes, and how the
//! vault there is opened: an encrypted `FileKeyStore` whose key is in the OS keystore
//! (never in the app's folder), so the app starts without asking for anything and a
//! copy of the folder opens nowhere else. Key file only on explicit choice.

use std::path::{Path, PathBuf};

use onepush_device::{FileKeyStore, KeyStore as _, VaultError};
use zeroize::Zeroizing;

/// The relay proposed on the Setup screen when nothing else is configured.
pub const DEFAULT_RELAY_URL: &str = "http://127.0.0.1:8420";
/// Overrides the app home (tests, several installs side by side).
pub const HOME_ENV: &str = "ONEPUSH_APP_HOME";
/// Overrides the relay proposed on the Setup screen.
pub const RELAY_ENV: &str = "ONEPUSH_RELAY_URL";

/// Where the app lives and which relay it proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// The app home: the vault and the app settings.
    pub home: PathBuf,
    /// The relay URL proposed on the Setup screen.
    pub relay_url: String,
}

impl AppConfig {
    /// From `ONEPUSH_APP_HOME` (else `app_data_dir`) and `ONEPUSH_RELAY_URL` (else the
    /// URL built in with `ONEPUSH_DEFAULT_RELAY_URL` at compile time, else
    /// [`DEFAULT_RELAY_URL`]).
    pub fn from_env(app_data_dir: impl FnOnce() -> Option<PathBuf>) -> Option<Self> {
        let home = non_empty_env(HOME_ENV)
            .map(PathBuf::from)
            .or_else(app_data_dir)?;
        let relay_url = non_empty_env(RELAY_ENV).unwrap_or_else(|| {
            option_env!("ONEPUSH_DEFAULT_RELAY_URL")
                .unwrap_or(DEFAULT_RELAY_URL)
                .to_owned()
        });
        Some(Self { home, relay_url })
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The key file of earlier versions: the vault's key beside the vault. Moved into the
/// OS keystore (and deleted) the first time such a vault is opened.
const LEGACY_KEY_FILE: &str = "vault.key";

/// How a new vault is sealed: the Setup screen's choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyMode {
    /// The OS keystore (the default).
    #[default]
    Keystore,
    /// A key file beside the vault: only on the user's explicit choice, where the
    /// device has no keystore. Weaker: a copy of the app's folder opens anywhere.
    File,
}

/// Whether there is a vault file in `home`.
pub fn has_vault(home: &Path) -> bool {
    home.join(FileKeyStore::FILE_NAME).exists()
}

/// The store of the vault in `home` (sealed by the OS keystore, or by a key file in
/// file-key mode, as its header says), able to read an earlier version's vault with
/// its `vault.key`.
pub fn existing_store(home: &Path) -> std::io::Result<FileKeyStore> {
    let store = FileKeyStore::without_pin(home);
    match std::fs::read_to_string(home.join(LEGACY_KEY_FILE)) {
        Ok(text) => Ok(store.with_legacy_key(Zeroizing::new(text.trim().to_owned()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(store),
        Err(e) => Err(e),
    }
}

/// After `store` opened: the earlier version's key file goes once the vault no longer
/// needs it (re-sealed with the keystore, or already in the current form).
pub fn finish_migration(home: &Path, store: &FileKeyStore) {
    if store.is_legacy() {
        tracing::warn!(
            "no OS keystore: the vault stays sealed by vault.key beside it until it can move into the keystore"
        );
        return;
    }
    match std::fs::remove_file(home.join(LEGACY_KEY_FILE)) {
        Ok(()) => tracing::info!("vault.key removed: the vault's key is in the OS keystore"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::error!(error = %e, "cannot remove the old vault.key"),
    }
}

/// A store for a new vault, checked to be able to seal it (the keystore answers, or
/// file-key mode was chosen) before a credential is made. With `pin`, opening the
/// vault needs both the PIN and the keystore secret (or key file).
pub fn new_store(
    home: &Path,
    mode: KeyMode,
    pin: Option<Zeroizing<String>>,
) -> Result<FileKeyStore, VaultError> {
    let store = match pin {
        Some(pin) => FileKeyStore::new(home, pin)?,
        None => FileKeyStore::without_pin(home),
    };
    let store = match mode {
        KeyMode::Keystore => store,
        KeyMode::File => store.with_key_file(),
    };
    store.check_can_create()?;
    Ok(store)
}

/// Removes a vault that cannot be opened (its key lost, or copied from elsewhere): its
/// keystore entry or key file when its header names one, then the file; and the key
/// file of earlier versions.
pub fn remove_unreadable_vault(home: &Path) -> Result<(), VaultError> {
    FileKeyStore::without_pin(home).delete()?;
    remove_legacy_key(home)
}

/// Removes an earlier version's `vault.key`, if any.
pub fn remove_legacy_key(home: &Path) -> Result<(), VaultError> {
    let path = home.join(LEGACY_KEY_FILE);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(VaultError::Io { path, source: e })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "home_tests.rs"]
mod tests;
