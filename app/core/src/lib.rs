//! The OnePush authenticator without a UI: what the phone app does, as a library.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`vault`] | the [`Vault`]: credential, keys, TOTP secret, accounts, history, settings |
//! | [`keystore`] | the [`KeyStore`] trait; the encrypted [`FileKeyStore`] (its key in the OS keystore) and the emulator-only file store |
//! | [`os_keystore`] | the OS keystore (keyring): one entry per vault, service `onepush` |
//! | [`client`] | [`RelayClient`]: the relay's device API, every request signed |
//! | [`events`] | the Server-Sent Events follower with reconnect and pull |
//! | [`push`] | Web Push receipt and the local RFC 8030 receiving endpoint |
//! | [`authenticator`] | [`Authenticator`]: provision, approve / deny (signed decisions), codes |
//! | [`shown`] | what you see is what you sign: the shown copy of each challenge, [`ShownLog`] |
//! | `testing` | (feature `testing`) a device with every part open and raw requests, for tests of the relay |
//!
//! Secrets (signing key, TOTP secret, push keys, PIN) never appear in `Debug` output
//! and are zeroized when dropped.

pub mod authenticator;
pub mod client;
pub mod events;
pub mod keystore;
pub mod offline;
pub mod os_keystore;
pub mod push;
pub mod shown;
#[cfg(feature = "testing")]
pub mod testing;
pub mod vault;

mod atomic;
mod seal;
mod shown_log;
mod vault_file;

pub use authenticator::{Answered, Authenticator, Codes, DeviceError};
pub use client::{ClientError, RelayClient};
pub use events::{Incoming, Source};
pub use keystore::{FileKeyStore, KeyStore, UnencryptedFileKeyStore, VaultError};
pub use offline::OfflinePrompt;
pub use shown::{ShownChallenges, ShownError, ShownLog, Sighting};
pub use vault::{HistoryEntry, Settings, Vault};

/// The current time, Unix seconds: read only at the edges (CLI, client, watchers);
/// everything below takes `now` as an argument.
pub fn unix_now() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}
