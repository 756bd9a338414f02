//! Where the app keeps its data (the app home) and the relay it proposes, and how the
//! vault there is opened: an encrypted `FileKeyStore` under a random key in
//! `vault.key` (owner-only), so the app starts without asking for anything.

use std::path::{Path, PathBuf};

use onepush_device::FileKeyStore;
use onepush_device::keystore::KdfParams;
use onepush_protocol::b64;
use zeroize::Zeroizing;

/// The relay proposed on the Setup screen when nothing else is configured.
pub const DEFAULT_RELAY_URL: &str = "http://127.0.0.1:8420";
/// Overrides the app home (tests, several installs side by side).
pub const HOME_ENV: &str = "ONEPUSH_APP_HOME";
/// Overrides the relay proposed on the Setup screen.
pub const RELAY_ENV: &str = "ONEPUSH_RELAY_URL";

/// Argon2id costs of the vault file. The "PIN" of this store is a 256-bit random key,
/// not something a person chose, so a costly derivation would add nothing.
const VAULT_KEY_KDF: KdfParams = KdfParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

/// Where the app lives and which relay it proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// The app home: vault, its key, the app settings.
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

/// The vault key file in `home`.
fn key_path(home: &Path) -> PathBuf {
    home.join("vault.key")
}

/// The store of an existing vault, when its key is there.
pub fn existing_store(home: &Path) -> std::io::Result<Option<FileKeyStore>> {
    let text = match std::fs::read_to_string(key_path(home)) {
        Ok(text) => Zeroizing::new(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let key = Zeroizing::new(text.trim().to_owned());
    let store = FileKeyStore::new(home, key).map_err(std::io::Error::other)?;
    Ok(Some(store.with_params(VAULT_KEY_KDF)))
}

/// A store for a new vault under a fresh random key, written to `vault.key` first.
pub fn new_store(home: &Path) -> std::io::Result<FileKeyStore> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    onepush_protocol::keys::fill_random(bytes.as_mut());
    let key = Zeroizing::new(b64::encode(bytes.as_ref()));
    crate::prefs::write_private(&key_path(home), key.as_bytes())?;
    let store = FileKeyStore::new(home, key).map_err(std::io::Error::other)?;
    Ok(store.with_params(VAULT_KEY_KDF))
}

/// Removes the vault key (after the vault is gone, or when setup failed).
pub fn remove_key(home: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(key_path(home)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes a vault whose key is lost or that cannot be read (reset of a broken install).
pub fn remove_vault_file(home: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(home.join(FileKeyStore::FILE_NAME)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use onepush_device::KeyStore as _;

    use super::*;

    #[test]
    fn new_key_opens_again_and_is_private() {
        let home = tempfile::tempdir().unwrap();
        assert!(existing_store(home.path()).unwrap().is_none());
        let store = new_store(home.path()).unwrap();
        assert!(!store.exists());
        let again = existing_store(home.path()).unwrap().unwrap();
        assert_eq!(again.path(), store.path());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(key_path(home.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        remove_key(home.path()).unwrap();
        remove_key(home.path()).unwrap();
        assert!(existing_store(home.path()).unwrap().is_none());
    }
}
