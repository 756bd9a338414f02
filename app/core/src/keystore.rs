//! Where the vault is kept: the [`KeyStore`] trait, the PIN-encrypted
//! [`FileKeyStore`] (Argon2id + AES-256-GCM, atomic writes, mode 0600) and the
//! [`UnencryptedFileKeyStore`] for emulators and tests only.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::atomic;
pub use crate::seal::KdfParams;
use crate::seal::{self, DerivedKey};
use crate::vault::Vault;

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
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_file(path: &Path) -> Result<Option<Vec<u8>>, VaultError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

// ---------------------------------------------------------------------------
// Encrypted
// ---------------------------------------------------------------------------

/// The vault in `<home>/vault.onepush`, encrypted with a key derived from a PIN.
pub struct FileKeyStore {
    path: PathBuf,
    pin: Zeroizing<String>,
    params: KdfParams,
    /// The key of the file last read or written, so a save needs no new derivation.
    key: Mutex<Option<DerivedKey>>,
}

impl FileKeyStore {
    /// The vault's file name inside the home folder.
    pub const FILE_NAME: &'static str = "vault.onepush";

    /// A store in `home`, unlocked with `pin`.
    pub fn new(home: &Path, pin: Zeroizing<String>) -> Result<Self, VaultError> {
        if pin.is_empty() {
            return Err(VaultError::EmptyPin);
        }
        Ok(Self {
            path: home.join(Self::FILE_NAME),
            pin,
            params: KdfParams::RECOMMENDED,
            key: Mutex::new(None),
        })
    }

    /// Uses other Argon2id costs for vaults this store creates (tests use cheap ones).
    #[must_use]
    pub fn with_params(mut self, params: KdfParams) -> Self {
        self.params = params;
        self
    }

    /// The vault file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn unencrypted_path(&self) -> PathBuf {
        self.path.with_file_name(UnencryptedFileKeyStore::FILE_NAME)
    }

    /// Encrypts the vault into the bytes of a file.
    fn seal(&self, vault: &Vault) -> Result<Vec<u8>, VaultError> {
        let plain = vault.to_bytes()?;
        let mut cached = self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached.is_none() {
            *cached = Some(DerivedKey::new(self.pin.as_bytes(), self.params)?);
        }
        let key = cached.as_ref().expect("set above");
        seal::seal(key, &plain)
    }

    /// Writes the new vault next to the old one without the rename that would make it
    /// current: what a crash between the two leaves behind. Tests only.
    #[doc(hidden)]
    pub fn simulate_crash_before_rename(&self, vault: &Vault) -> Result<PathBuf, VaultError> {
        let file = self.seal(vault)?;
        atomic::write_temp(&self.path, &file).map_err(io_error(&self.path))
    }
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
        let mut cached = self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let reuse = cached
            .as_ref()
            .is_some_and(|k| k.salt == header.salt && k.params == header.params);
        if !reuse {
            *cached = Some(DerivedKey::derive(
                self.pin.as_bytes(),
                header.salt,
                header.params,
            )?);
        }
        let key = cached.as_ref().expect("set above");
        let plain = seal::open(key, &header, &file)?;
        Vault::from_bytes(&plain)
    }

    fn save(&self, vault: &Vault) -> Result<(), VaultError> {
        let file = self.seal(vault)?;
        atomic::write_atomic(&self.path, &file).map_err(io_error(&self.path))
    }

    fn delete(&self) -> Result<(), VaultError> {
        *self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        atomic::remove(&self.path).map_err(io_error(&self.path))
    }

    fn verify_pin(&self, pin: &str) -> bool {
        bool::from(pin.as_bytes().ct_eq(self.pin.as_bytes()))
    }

    fn verifies_user(&self) -> bool {
        true
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

impl std::fmt::Debug for FileKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileKeyStore")
            .field("path", &self.path)
            .field("params", &self.params)
            .field("pin", &"<redacted>")
            .finish_non_exhaustive()
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
