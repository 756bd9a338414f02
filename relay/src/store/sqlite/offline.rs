//! Offline challenges (RFC 6287 OCRA offline codes).

use async_trait::async_trait;
use onepush_protocol::{ChallengeId, TenantId};
use rusqlite::params;

use super::SqliteStore;
use super::rows::{self, exec, one};
use crate::store::codec::to_json;
use crate::store::{OfflineRecord, OfflineStore, StoreError};

#[async_trait]
impl OfflineStore for SqliteStore {
    async fn insert_offline(&self, c: &OfflineRecord) -> Result<(), StoreError> {
        let c = c.clone();
        self.write(move |tx| {
            exec(
                tx,
                "INSERT INTO offline_challenges (id, tenant_id, user_id, credential_id, kind, \
                 context, nonce, created_at, expires_at, used_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL)",
                params![
                    c.id.to_string(),
                    c.tenant_id.as_str(),
                    c.user_id.as_str(),
                    c.credential_id.as_str(),
                    c.kind.as_str(),
                    to_json(&c.context),
                    c.nonce,
                    c.created_at,
                    c.expires_at
                ],
            )
            .map(drop)
        })
        .await
    }

    async fn offline(
        &self,
        tenant: &TenantId,
        id: &ChallengeId,
    ) -> Result<OfflineRecord, StoreError> {
        let (tenant, id) = (tenant.clone(), id.to_string());
        self.read(move |c| {
            one(
                c,
                "SELECT * FROM offline_challenges WHERE id = ?1 AND tenant_id = ?2",
                params![id, tenant.as_str()],
                rows::offline,
            )
        })
        .await
    }

    async fn use_offline(&self, id: &ChallengeId, at: i64) -> Result<bool, StoreError> {
        let id = id.to_string();
        let changed = self
            .write(move |tx| {
                exec(
                    tx,
                    "UPDATE offline_challenges SET used_at = ?1 \
                     WHERE id = ?2 AND used_at IS NULL AND expires_at > ?1",
                    params![at, id],
                )
            })
            .await?;
        Ok(changed == 1)
    }
}
