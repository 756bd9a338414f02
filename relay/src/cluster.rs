//! The cluster checks itself at start (issue 22, item 5): every relay on one database must
//! hold the same master key (else a TOTP secret sealed by one does not open on another,
//! and its enrollments fail with 500) and the same VAPID key (else a device subscribed
//! through one relay refuses the pushes another signs).
//!
//! The first relay records a check value of its master key (an HMAC of a fixed label
//! under it, never the key) and its VAPID public key in the database; a relay started
//! later with another one refuses to start, naming the setting to fix. A single relay on
//! SQLite gets the same guard against a replaced key file.

use std::path::Path;

use crate::keys::{MASTER_FILE, RelayKeys, VAPID_FILE};
use crate::store::{Store, StoreError};

/// Name of the recorded master key check value.
pub const MASTER_KEY_CHECK: &str = "master_key_check";
/// Name of the recorded VAPID public key.
pub const VAPID_PUBLIC_KEY: &str = "vapid_public_key";

/// Why a relay may not serve on this database.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The master key is not the one the database was first used with.
    #[error(
        "the master key ({source_of}) is not the one this database was first used with: \
         every relay on one database needs the same `master_key` (ONEPUSH_MASTER_KEY), or \
         the secrets sealed by the others do not open"
    )]
    MasterKey {
        /// Where this relay's master key came from.
        source_of: String,
    },
    /// The VAPID key pair is not the one the database was first used with.
    #[error(
        "the VAPID key file {path} is not the one this database was first used with: copy \
         the vapid.key of the first relay into every relay's data folder (devices accept \
         pushes signed by that key only)"
    )]
    VapidKey {
        /// This relay's VAPID key file.
        path: String,
    },
    /// The values could not be read or recorded.
    #[error("cannot check the cluster's keys: {0}")]
    Store(#[from] StoreError),
}

/// Records this relay's key check values, or compares them with the recorded ones.
pub async fn check(
    store: &Store,
    keys: &RelayKeys,
    data_dir: &Path,
    master_from_settings: bool,
    now: i64,
) -> Result<(), ClusterError> {
    let recorded = store
        .record_cluster_value(MASTER_KEY_CHECK, keys.master_check(), now)
        .await?;
    if recorded != keys.master_check() {
        let source_of = if master_from_settings {
            "setting `master_key`".to_owned()
        } else {
            format!(
                "file {}, as setting `master_key` is not set",
                data_dir.join(MASTER_FILE).display()
            )
        };
        return Err(ClusterError::MasterKey { source_of });
    }
    let vapid = keys.vapid_public_b64();
    let recorded = store
        .record_cluster_value(VAPID_PUBLIC_KEY, &vapid, now)
        .await?;
    if recorded != vapid {
        return Err(ClusterError::VapidKey {
            path: data_dir.join(VAPID_FILE).display().to_string(),
        });
    }
    Ok(())
}
