//! Where the emulated phone lives and how its vault is unlocked: the home folder,
//! the PIN (from a file, `ONEPUSH_DEVICE_PIN` or a prompt) together with the vault's
//! secret in the OS keystore, the explicit file-key mode, or the insecure mode.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use onepush_device::{FileKeyStore, KeyStore, UnencryptedFileKeyStore, VaultError};
use zeroize::Zeroizing;

/// How the CLI was told to unlock the vault.
#[derive(Debug, Clone)]
pub struct Unlock {
    /// The phone's folder.
    pub home: PathBuf,
    /// `--pin-file`.
    pub pin_file: Option<PathBuf>,
    /// `ONEPUSH_DEVICE_PIN`.
    pub pin_env: Option<Zeroizing<String>>,
    /// `--insecure-no-pin` / `ONEPUSH_DEVICE_INSECURE=1`.
    pub insecure: bool,
    /// `--file-key`: a new vault keeps its key in a file, not the OS keystore.
    pub file_key: bool,
}

/// The default home: `~/.onepush-device`.
pub fn default_home() -> PathBuf {
    std::env::home_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".onepush-device")
}

impl Unlock {
    /// The store for an existing vault.
    pub fn open_store(&self) -> Result<Box<dyn KeyStore>> {
        self.store(false)
    }

    /// The store for a vault about to be created (a prompted PIN is asked twice).
    pub fn new_store(&self) -> Result<Box<dyn KeyStore>> {
        self.store(true)
    }

    fn store(&self, creating: bool) -> Result<Box<dyn KeyStore>> {
        if self.insecure {
            return Ok(Box::new(UnencryptedFileKeyStore::new(&self.home)));
        }
        let encrypted = self.home.join(FileKeyStore::FILE_NAME);
        let unencrypted = self.home.join(UnencryptedFileKeyStore::FILE_NAME);
        if !creating && !encrypted.exists() {
            if unencrypted.exists() {
                return Err(VaultError::Unencrypted(unencrypted).into());
            }
            return Err(VaultError::NotFound(encrypted).into());
        }
        if creating && !self.file_key {
            // Before the PIN is asked and the relay creates a credential.
            FileKeyStore::without_pin(&self.home)
                .check_can_create()
                .map_err(|e| match e {
                    VaultError::KeystoreUnavailable(_) => anyhow::Error::new(e).context(
                        "cannot seal a new vault: give --file-key to keep its key in a file beside it (weaker: a copy of the folder then opens with the PIN alone), or --insecure-no-pin for an emulator",
                    ),
                    other => other.into(),
                })?;
        }
        let pin = self.pin(creating)?;
        let store = FileKeyStore::new(&self.home, pin)?;
        Ok(Box::new(if self.file_key {
            store.with_key_file()
        } else {
            store
        }))
    }

    /// The PIN: `--pin-file`, then `ONEPUSH_DEVICE_PIN`, then a prompt on the terminal.
    pub fn pin(&self, creating: bool) -> Result<Zeroizing<String>> {
        if let Some(file) = &self.pin_file {
            return read_pin_file(file);
        }
        if let Some(pin) = &self.pin_env {
            return Ok(pin.clone());
        }
        if !std::io::stdin().is_terminal() {
            if creating {
                bail!(
                    "no PIN for the new vault and no terminal to ask: give --pin-file FILE or ONEPUSH_DEVICE_PIN (or --insecure-no-pin for an emulator vault)"
                );
            }
            return Err(VaultError::Locked(self.home.join(FileKeyStore::FILE_NAME)))
                .context("cannot unlock the vault: give --pin-file FILE or ONEPUSH_DEVICE_PIN (no terminal to ask)");
        }
        let pin = prompt("PIN: ")?;
        if creating && *prompt("PIN again: ")? != *pin {
            bail!("the two PINs differ");
        }
        Ok(pin)
    }

    /// Asks for the PIN again (before an approval, when the settings say so).
    pub fn ask_pin_again() -> Result<Zeroizing<String>> {
        prompt("PIN to approve: ")
    }
}

fn prompt(text: &str) -> Result<Zeroizing<String>> {
    let pin = rpassword::prompt_password(text).map(Zeroizing::new).map_err(|_| {
        anyhow::anyhow!(
            "the vault is locked and there is no terminal to ask for the PIN: give --pin-file FILE or ONEPUSH_DEVICE_PIN (or --insecure-no-pin for emulator vaults)"
        )
    })?;
    if pin.is_empty() {
        bail!("the PIN must not be empty");
    }
    Ok(pin)
}

fn read_pin_file(file: &Path) -> Result<Zeroizing<String>> {
    let text = Zeroizing::new(
        std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the PIN file {}", file.display()))?,
    );
    let pin = Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned());
    if pin.is_empty() {
        bail!("the PIN file {} is empty", file.display());
    }
    Ok(pin)
}
