//! Where the vault is kept: the [`KeyStore`] trait, the encrypted [`FileKeyStore`]
//! (`vault_file.rs`: its key in the OS keystore, with or without a PIN) and the
//! [`UnencryptedFileKeyStore`] for emulators and tests only.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use zeroize::Zeroizing;

use crate::atomic;
pub use crate::seal::{KdfParams, KeySource};
use crate::vault::Vault;
pub use crate::vault_file::{FileKeyStore, legacy_vault_file};

/// Why the vault could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// There is no vault yet.
    #[error("no vault at {}: this device is not set up yet", .0.display())]
    NotFound(PathBuf),
    /// There is already a vault where a new one was to be created.
    #[error("a vault already exists at {0}: reset this device first")]
    AlreadyExists(String),
    /// The PIN did not decrypt the vault.
    #[error("wrong PIN: the vault could not be unlocked")]
    WrongPin,
    /// An empty PIN was given.
    #[error("the PIN must not be empty")]
    EmptyPin,
    /// The vault is PIN-encrypted but was opened without a PIN.
    #[error("the vault at {} is locked with a PIN, and no PIN was given", .0.display())]
    Locked(PathBuf),
    /// The vault is an unencrypted emulator vault but was opened with a PIN.
    #[error("the vault at {} is an unencrypted emulator vault; open it in insecure mode", .0.display())]
    Unencrypted(PathBuf),
    /// The file is not a readable vault.
    #[error("the vault is damaged: {0}")]
    Corrupt(String),
    /// The file was written by a newer version.
    #[error("the vault has format version {0}, which this version cannot read")]
    UnsupportedFormat(u32),
    /// The vault's key is sealed in the OS keystore, and this device's keystore has no
    /// entry for it.
    #[error(
        "this vault's key is not in this device's keystore: the folder was copied from another device or account"
    )]
    NotInKeystore,
    /// There is no usable OS keystore here.
    #[error("no OS keystore is available on this device ({0})")]
    KeystoreUnavailable(String),
    /// The OS keystore failed.
    #[error("the OS keystore failed: {0}")]
    Keystore(String),
    /// The vault was sealed with a key file (file-key mode), and the file is gone.
    #[error("the vault's key file {} is missing", .0.display())]
    KeyFileMissing(PathBuf),
    /// The vault has no PIN, but one was given.
    #[error("the vault at {} has no PIN: open it without one", .0.display())]
    NoPin(PathBuf),
    /// The key derivation failed.
    #[error("the PIN key derivation failed: {0}")]
    Kdf(String),
    /// A file system error.
    #[error("cannot access the vault at {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Keeps one vault.
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// Whether a vault is stored.
    fn exists(&self) -> bool;
    /// Reads and unlocks the vault.
    fn load(&self) -> Result<Vault, VaultError>;
    /// Stores the vault, replacing the previous one atomically.
    fn save(&self, vault: &Vault) -> Result<(), VaultError>;
    /// Removes the vault.
    fn delete(&self) -> Result<(), VaultError>;
    /// Whether `pin` is the PIN this store was unlocked with (always false without one).
    fn verify_pin(&self, pin: &str) -> bool;
    /// Whether unlocking this store proved the user knows the PIN.
    fn verifies_user(&self) -> bool;
    /// Where the vault is kept, for messages.
    fn location(&self) -> String;
    /// Seals `vault` again under `pin` (with the same keystore secret or key file), so
    /// from now on opening it needs the new PIN. Stores without PINs refuse.
    fn change_pin(&mut self, _vault: &Vault, _pin: Zeroizing<String>) -> Result<(), VaultError> {
        Err(VaultError::Unencrypted(PathBuf::from(self.location())))
    }
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn read_file(path: &Path) -> Result<Option<Vec<u8>>, VaultError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

// ---------------------------------------------------------------------------
// Unencrypted, emulators and tests only
// ---------------------------------------------------------------------------

/// The vault in `<home>/vault.insecure.json`, NOT encrypted: for emulators and tests
/// only. Prints a warning to stderr the first time it is used.
#[derive(Debug)]
pub struct UnencryptedFileKeyStore {
    path: PathBuf,
    warned: AtomicBool,
}

impl UnencryptedFileKeyStore {
    /// The vault's file name inside the home folder.
    pub const FILE_NAME: &'static str = "vault.insecure.json";

    /// A store in `home`.
    pub fn new(home: &Path) -> Self {
        Self {
            path: home.join(Self::FILE_NAME),
            warned: AtomicBool::new(false),
        }
    }

    /// The vault file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn warn(&self) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            eprintln!(
                "warning: the vault at {} is NOT encrypted (insecure mode, for emulators and tests only)",
                self.path.display()
            );
        }
    }
}

impl KeyStore for UnencryptedFileKeyStore {
    fn exists(&self) -> bool {
        self.path.exists()
    }

    fn load(&self) -> Result<Vault, VaultError> {
        self.warn();
        let Some(bytes) = read_file(&self.path)? else {
            let encrypted = self.path.with_file_name(FileKeyStore::FILE_NAME);
            if encrypted.exists() {
                return Err(VaultError::Locked(encrypted));
            }
            return Err(VaultError::NotFound(self.path.clone()));
        };
        let bytes = Zeroizing::new(bytes);
        Vault::from_bytes(&bytes)
    }

    fn save(&self, vault: &Vault) -> Result<(), VaultError> {
        self.warn();
        let bytes = vault.to_bytes()?;
        atomic::write_atomic(&self.path, &bytes).map_err(io_error(&self.path))
    }

    fn delete(&self) -> Result<(), VaultError> {
        atomic::remove(&self.path).map_err(io_error(&self.path))
    }

    fn verify_pin(&self, _pin: &str) -> bool {
        false
    }

    fn verifies_user(&self) -> bool {
        false
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

#[cfg(test)]
#[path = "keystore_tests.rs"]
mod tests;
