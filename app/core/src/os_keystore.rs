//! The OS keystore, where each vault's random secret lives: service `onepush`,
//! account = the vault's ID (in the vault file's header). Through the `keyring`
//! ecosystem: Secret Service (Linux, BSD), Keychain (macOS), Credential Manager
//! (Windows); on phones the Android native store and Apple's protected-data Keychain.
//!
//! Every call runs on a thread of its own: the Secret Service client blocks on D-Bus,
//! and must not do so on an async runtime's worker.

use zeroize::Zeroizing;

use crate::keystore::VaultError;

/// The keystore service name of every OnePush vault secret.
pub const SERVICE: &str = "onepush";
/// The account read by [`status`]; [`check_writable`] adds a random suffix, so that
/// checks running at the same time do not meet on one entry.
const PROBE_ACCOUNT: &str = "onepush-probe";

#[cfg(not(any(target_os = "android", target_os = "ios")))]
mod platform {
    pub(super) use keyring::{Entry, Error};

    pub(super) fn entry(account: &str) -> Result<Entry, Error> {
        Entry::new(super::SERVICE, account)
    }

    /// Why the platform store could not be set up, if it could not.
    pub(super) fn store_problem() -> Option<String> {
        Entry::store_status().as_ref().err().map(describe)
    }

    fn describe(error: &Error) -> String {
        match error {
            Error::PlatformFailure(inner) | Error::NoStorageAccess(inner) => inner.to_string(),
            other => other.to_string(),
        }
    }
}

#[cfg(any(target_os = "android", target_os = "ios"))]
mod platform {
    use std::sync::LazyLock;

    pub(super) use keyring_core::{Entry, Error};

    /// Sets the platform store as keyring-core's default, once per process.
    static STORE: LazyLock<Result<(), String>> = LazyLock::new(|| {
        #[cfg(target_os = "android")]
        let store = android_native_keyring_store::Store::new();
        #[cfg(target_os = "ios")]
        let store = apple_native_keyring_store::protected::Store::new();
        match store {
            Ok(store) => {
                keyring_core::set_default_store(store);
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    });

    pub(super) fn entry(account: &str) -> Result<Entry, Error> {
        if STORE.is_err() {
            return Err(Error::NoDefaultStore);
        }
        Entry::new(super::SERVICE, account)
    }

    pub(super) fn store_problem() -> Option<String> {
        STORE.as_ref().err().cloned()
    }
}

/// Runs `f` on its own thread (see the module's note).
fn on_own_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(f)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn unavailable(detail: impl Into<String>) -> VaultError {
    VaultError::KeystoreUnavailable(detail.into())
}

fn map_error(error: platform::Error) -> VaultError {
    use platform::Error;
    match error {
        Error::NoDefaultStore => {
            unavailable(platform::store_problem().unwrap_or_else(|| "no store".into()))
        }
        Error::NoStorageAccess(inner) => unavailable(format!("access refused: {inner}")),
        Error::PlatformFailure(inner) => VaultError::Keystore(inner.to_string()),
        other => VaultError::Keystore(other.to_string()),
    }
}

fn entry(account: &str) -> Result<platform::Entry, VaultError> {
    platform::entry(account).map_err(map_error)
}

/// The secret stored for `account`; `None` when there is no such entry.
pub fn read(account: &str) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
    on_own_thread(|| match entry(account)?.get_secret() {
        Ok(secret) => Ok(Some(Zeroizing::new(secret))),
        Err(platform::Error::NoEntry) => Ok(None),
        Err(e) => Err(map_error(e)),
    })
}

/// Stores `secret` for `account`, replacing any previous one.
pub fn write(account: &str, secret: &[u8]) -> Result<(), VaultError> {
    on_own_thread(|| entry(account)?.set_secret(secret).map_err(map_error))
}

/// Removes the entry of `account` (done when there is none).
pub fn remove(account: &str) -> Result<(), VaultError> {
    on_own_thread(|| match entry(account)?.delete_credential() {
        Ok(()) | Err(platform::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_error(e)),
    })
}

/// Whether this device has a keystore that can be read: `Err` says why not.
pub fn status() -> Result<(), VaultError> {
    read(PROBE_ACCOUNT).map(drop)
}

/// Whether a new entry can be stored (a write and a removal of a probe entry): checked
/// before a credential is created, so a refusal comes before the relay is asked.
pub fn check_writable() -> Result<(), VaultError> {
    let mut suffix = [0u8; 9];
    onepush_protocol::keys::fill_random(&mut suffix);
    let account = format!("{PROBE_ACCOUNT}-{}", onepush_protocol::b64::encode(suffix));
    write(&account, b"probe")?;
    remove(&account)
}

/// For tests that need the keystore: `true` when it is there. Without it, the test
/// fails when `CI=true` (a CI run must not skip these) and is skipped otherwise, with
/// the reason printed.
#[doc(hidden)]
pub fn available_for_test(test: &str) -> bool {
    match status() {
        Ok(()) => true,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{test} needs the OS keystore, which CI must provide (scripts/with-keyring): {e}"
        ),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}; run it through scripts/with-keyring");
            false
        }
    }
}
