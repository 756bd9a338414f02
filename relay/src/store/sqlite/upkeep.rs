//! The cluster identity and the sweep of never-bound credentials.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteStore;
use super::rows::{exec, get, one};
use crate::store::StoreError;
use crate::store::upkeep::{ClusterStore, CredentialSweep, NEVER_BOUND};

/// Credentials deleted per write: other writes go between the slices.
const SWEEP_SLICE: u32 = 200;

#[async_trait]
impl ClusterStore for SqliteStore {
    async fn record_cluster_value(
        &self,
        name: &str,
        value: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        let (name, value) = (name.to_owned(), value.to_owned());
        self.write(move |c| {
            exec(
                c,
                "INSERT INTO cluster_identity (name, value, recorded_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (name) DO NOTHING",
                params![name, value, now],
            )?;
            one(
                c,
                "SELECT value FROM cluster_identity WHERE name = ?1",
                [name.as_str()],
                |r| get(r, "value"),
            )
        })
        .await
    }
}

#[async_trait]
impl CredentialSweep for SqliteStore {
    async fn delete_unbound_credentials(
        &self,
        created_before: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut deleted = 0_u64;
        while deleted < u64::from(limit) {
            let slice = SWEEP_SLICE.min(limit - u32::try_from(deleted).unwrap_or(limit));
            let changed = self
                .write(move |c| {
                    exec(
                        c,
                        &format!(
                            "DELETE FROM credentials WHERE id IN (SELECT id FROM credentials \
                             WHERE created_at < ?1 AND {NEVER_BOUND} LIMIT ?2)"
                        ),
                        params![created_before, i64::from(slice)],
                    )
                })
                .await?;
            deleted += u64::try_from(changed).unwrap_or(u64::MAX);
            if u64::try_from(changed).unwrap_or(u64::MAX) < u64::from(slice) {
                break;
            }
        }
        Ok(deleted)
    }
}
