//! [`FileKeyStore`]: the vault in `<home>/vault.onepush`, AES-256-GCM under a key made
//! from a random 256-bit secret kept in the OS keystore (never beside the vault) and,
//! when there is one, the PIN (Argon2id) — see seal.rs. A copy of the folder on
//! another device or account has no keystore entry and does not open.
//!
//! File-key mode (explicit, weaker: for boxes without a keystore) keeps the secret in
//! `<home>/vault.onepush.key` instead. Files of earlier versions (PIN only, or the
//! app's `vault.key`) are read and re-sealed in the current form on first open.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::keystore::{KeyStore, UnencryptedFileKeyStore, VaultError, io_error, read_file};
use crate::seal::{self, KdfParams, KeySource, LEGACY_VERSION, Layout, SealKey, VAULT_ID_LEN};
use crate::vault::Vault;
use crate::{atomic, os_keystore};

/// The length of a vault's random secret.
const SECRET_LEN: usize = 32;

/// The encrypted vault file of one home folder.
pub struct FileKeyStore {
    path: PathBuf,
    pin: Option<Zeroizing<String>>,
    /// What an earlier version sealed the file with when that was not the PIN.
    legacy_key: Option<Zeroizing<String>>,
    params: KdfParams,
    source: KeySource,
    /// The key of the file last read or written, so a save needs no new derivation.
    key: Mutex<Option<SealKey>>,
}

impl FileKeyStore {
    /// The vault's file name inside the home folder.
    pub const FILE_NAME: &'static str = "vault.onepush";
    /// The key file's name in file-key mode.
    pub const KEY_FILE_NAME: &'static str = "vault.onepush.key";

    /// A store in `home` whose vault opens with the keystore secret and `pin`.
    pub fn new(home: &Path, pin: Zeroizing<String>) -> Result<Self, VaultError> {
        if pin.is_empty() {
            return Err(VaultError::EmptyPin);
        }
        Ok(Self::build(home, Some(pin)))
    }

    /// A store in `home` whose vault opens with the keystore secret alone.
    pub fn without_pin(home: &Path) -> Self {
        Self::build(home, None)
    }

    fn build(home: &Path, pin: Option<Zeroizing<String>>) -> Self {
        Self {
            path: home.join(Self::FILE_NAME),
            pin,
            legacy_key: None,
            params: KdfParams::RECOMMENDED,
            source: KeySource::Keystore,
            key: Mutex::new(None),
        }
    }

    /// Uses other Argon2id costs for vaults this store creates (tests use cheap ones).
    #[must_use]
    pub fn with_params(mut self, params: KdfParams) -> Self {
        self.params = params;
        self
    }

    /// File-key mode: a vault this store creates keeps its secret in
    /// [`FileKeyStore::KEY_FILE_NAME`] beside it, not in the OS keystore. Weaker: a
    /// copy of the folder opens anywhere (with the PIN, if there is one). Only on the
    /// user's explicit choice, where no keystore is available.
    #[must_use]
    pub fn with_key_file(mut self) -> Self {
        self.source = KeySource::KeyFile;
        self
    }

    /// Opens a file of an earlier version sealed with `key` (the app's old `vault.key`)
    /// rather than with the PIN; it is re-sealed in the current form when opened.
    #[must_use]
    pub fn with_legacy_key(mut self, key: Zeroizing<String>) -> Self {
        self.legacy_key = Some(key);
        self
    }

    /// The vault file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key file of file-key mode.
    pub fn key_file(&self) -> PathBuf {
        self.path.with_file_name(Self::KEY_FILE_NAME)
    }

    /// The vault's ID (its keystore account) and where its secret is, from the file's
    /// header; `None` for a file of an earlier version.
    pub fn sealing(&self) -> Result<Option<(KeySource, String)>, VaultError> {
        let file = read_file(&self.path)?.ok_or_else(|| VaultError::NotFound(self.path.clone()))?;
        let header = seal::read_header(&file)?;
        Ok(header
            .layout
            .sealing
            .map(|(source, id)| (source, account(&id))))
    }

    /// Whether the vault last read is still in an earlier version's form (its re-sealing
    /// failed, e.g. for want of a keystore).
    pub fn is_legacy(&self) -> bool {
        self.cached()
            .as_ref()
            .is_some_and(|k| k.layout.version == LEGACY_VERSION)
    }

    /// Checks that a new vault can be sealed here (in the OS keystore: a probe entry is
    /// written and removed), before a credential is created for it.
    pub fn check_can_create(&self) -> Result<(), VaultError> {
        match self.source {
            KeySource::Keystore => os_keystore::check_writable(),
            KeySource::KeyFile => Ok(()),
        }
    }

    fn cached(&self) -> MutexGuard<'_, Option<SealKey>> {
        self.key.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn unencrypted_path(&self) -> PathBuf {
        self.path.with_file_name(UnencryptedFileKeyStore::FILE_NAME)
    }

    /// The secret of a v2 vault, from where its header says it is.
    fn secret(&self, source: KeySource, id: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let secret = match source {
            KeySource::Keystore => {
                os_keystore::read(&account(id))?.ok_or(VaultError::NotInKeystore)?
            }
            KeySource::KeyFile => read_file(&self.key_file())?
                .map(Zeroizing::new)
                .ok_or_else(|| VaultError::KeyFileMissing(self.key_file()))?,
        };
        if secret.len() == SECRET_LEN {
            Ok(secret)
        } else {
            Err(VaultError::Corrupt(
                "the vault's stored key has the wrong length".into(),
            ))
        }
    }

    /// The key of a new vault: a new vault ID and secret, the secret stored first.
    fn new_key(&self) -> Result<SealKey, VaultError> {
        let layout = Layout::new_v2(self.source, self.pin.as_ref().map(|_| self.params));
        let (source, id) = layout.sealing.expect("a v2 layout");
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        onepush_protocol::keys::fill_random(secret.as_mut());
        match source {
            KeySource::Keystore => os_keystore::write(&account(&id), secret.as_ref())?,
            KeySource::KeyFile => atomic::write_atomic(&self.key_file(), secret.as_ref())
                .map_err(io_error(&self.key_file()))?,
        }
        let pin = self.pin.as_ref().map(|p| p.as_bytes());
        SealKey::derive(layout, Some(secret.as_ref()), pin)
    }

    /// Encrypts the vault into the bytes of a file (a new key when none is cached).
    fn seal(&self, vault: &Vault) -> Result<Vec<u8>, VaultError> {
        let plain = vault.to_bytes()?;
        let mut cached = self.cached();
        if cached.is_none() {
            *cached = Some(self.new_key()?);
        }
        seal::seal(cached.as_ref().expect("set above"), &plain)
    }

    /// The key for a file's layout, derived (and the secret fetched) only when the
    /// cached one is for another layout.
    fn key_for(&self, layout: Layout) -> Result<MutexGuard<'_, Option<SealKey>>, VaultError> {
        let mut cached = self.cached();
        if cached.as_ref().is_some_and(|k| k.layout == layout) {
            return Ok(cached);
        }
        let legacy = layout.version == LEGACY_VERSION;
        let pin = if legacy {
            self.legacy_key.as_ref().or(self.pin.as_ref())
        } else {
            self.pin.as_ref()
        };
        match (layout.pin.is_some(), pin.is_some()) {
            (true, false) => return Err(VaultError::Locked(self.path.clone())),
            (false, true) => return Err(VaultError::NoPin(self.path.clone())),
            _ => {}
        }
        let secret = match layout.sealing {
            Some((source, id)) => Some(self.secret(source, &id)?),
            None => None,
        };
        let pin = pin.map(|p| p.as_bytes());
        *cached = Some(SealKey::derive(
            layout,
            secret.as_deref().map(Vec::as_slice),
            pin,
        )?);
        Ok(cached)
    }

    /// Re-seals a vault read from an earlier version's file in the current form. When
    /// that fails (no keystore here), the file stays as it was and still opens.
    fn migrate(&self, vault: &Vault) {
        let old = self.cached().take();
        let resealed = self
            .seal(vault)
            .and_then(|file| atomic::write_atomic(&self.path, &file).map_err(io_error(&self.path)));
        match resealed {
            Ok(()) => {
                tracing::info!(vault = %self.path.display(), "vault re-sealed with its key in the OS keystore");
            }
            Err(e) => {
                tracing::warn!(vault = %self.path.display(), error = %e, "the vault stays in its earlier form");
                *self.cached() = old;
            }
        }
    }

    /// Writes the new vault next to the old one without the rename that would make it
    /// current: what a crash between the two leaves behind. Tests only.
    #[doc(hidden)]
    pub fn simulate_crash_before_rename(&self, vault: &Vault) -> Result<PathBuf, VaultError> {
        let file = self.seal(vault)?;
        atomic::write_temp(&self.path, &file).map_err(io_error(&self.path))
    }
}

/// The bytes of a vault file as versions before the OS keystore wrote it: sealed by
/// Argon2id of `password` alone (the PIN, or the app's `vault.key`). Migration tests only.
#[doc(hidden)]
pub fn legacy_vault_file(vault: &Vault, password: &str) -> Result<Vec<u8>, VaultError> {
    let mut salt = [0u8; 16];
    onepush_protocol::keys::fill_random(&mut salt);
    let layout = Layout {
        version: LEGACY_VERSION,
        pin: Some(KdfParams::FAST_FOR_TESTS),
        salt,
        sealing: None,
    };
    let key = SealKey::derive(layout, None, Some(password.as_bytes()))?;
    seal::seal(&key, &vault.to_bytes()?)
}

/// The keystore account of a vault ID.
fn account(id: &[u8]) -> String {
    debug_assert_eq!(id.len(), VAULT_ID_LEN);
    format!("vault-{}", onepush_protocol::b64::encode(id))
}

impl KeyStore for FileKeyStore {
    fn exists(&self) -> bool {
        self.path.exists()
    }

    fn load(&self) -> Result<Vault, VaultError> {
        let Some(file) = read_file(&self.path)? else {
            if self.unencrypted_path().exists() {
                return Err(VaultError::Unencrypted(self.unencrypted_path()));
            }
            return Err(VaultError::NotFound(self.path.clone()));
        };
        let header = seal::read_header(&file)?;
        let layout = header.layout;
        let plain = {
            let cached = self.key_for(layout)?;
            let key = cached.as_ref().expect("set by key_for");
            seal::open(key, &header, &file).map_err(|e| match e {
                // Without a PIN, a failed check means the file or the stored key changed.
                VaultError::WrongPin if layout.pin.is_none() => VaultError::Corrupt(
                    "the vault does not decrypt with its stored key (the file was altered)".into(),
                ),
                other => other,
            })?
        };
        let vault = Vault::from_bytes(&plain)?;
        if layout.version == LEGACY_VERSION {
            self.migrate(&vault);
        }
        Ok(vault)
    }

    fn save(&self, vault: &Vault) -> Result<(), VaultError> {
        let file = self.seal(vault)?;
        atomic::write_atomic(&self.path, &file).map_err(io_error(&self.path))
    }

    /// Removes the vault's secret first (every copy of the file is then unreadable),
    /// then the file.
    fn delete(&self) -> Result<(), VaultError> {
        *self.cached() = None;
        match self.sealing() {
            Ok(Some((KeySource::Keystore, account))) => {
                if let Err(e) = os_keystore::remove(&account) {
                    tracing::warn!(error = %e, "the vault's keystore entry could not be removed");
                }
            }
            Ok(Some((KeySource::KeyFile, _))) => {
                atomic::remove(&self.key_file()).map_err(io_error(&self.key_file()))?;
            }
            Ok(None) | Err(_) => {}
        }
        atomic::remove(&self.path).map_err(io_error(&self.path))
    }

    fn verify_pin(&self, pin: &str) -> bool {
        self.pin
            .as_ref()
            .is_some_and(|own| bool::from(pin.as_bytes().ct_eq(own.as_bytes())))
    }

    fn verifies_user(&self) -> bool {
        self.pin.is_some()
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// Keeps the vault ID and its secret (keystore entry or key file): only the PIN
    /// part of the key and the salt change, and the file is replaced in one rename,
    /// so a crash leaves either the old or the new file, each with what opens it.
    fn change_pin(&mut self, vault: &Vault, pin: Zeroizing<String>) -> Result<(), VaultError> {
        if pin.is_empty() {
            return Err(VaultError::EmptyPin);
        }
        let sealing = self.cached().as_ref().and_then(|k| k.layout.sealing);
        let key = if let Some((source, id)) = sealing {
            let secret = self.secret(source, &id)?;
            let mut layout = Layout::new_v2(source, Some(self.params));
            layout.sealing = Some((source, id));
            SealKey::derive(layout, Some(secret.as_slice()), Some(pin.as_bytes()))?
        } else {
            // Never read or written here, or still an earlier version's file: a new
            // secret, as for a new vault.
            self.pin = Some(pin.clone());
            self.new_key()?
        };
        let file = seal::seal(&key, &vault.to_bytes()?)?;
        atomic::write_atomic(&self.path, &file).map_err(io_error(&self.path))?;
        *self.cached() = Some(key);
        self.pin = Some(pin);
        Ok(())
    }
}

impl std::fmt::Debug for FileKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileKeyStore")
            .field("path", &self.path)
            .field("params", &self.params)
            .field("source", &self.source)
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[path = "vault_file_tests.rs"]
mod tests;
