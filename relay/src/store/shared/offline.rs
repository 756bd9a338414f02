//! Offline challenges (RFC 6287 OCRA offline codes), for the sqlx backends. Compiled
//! inside each backend's module (`#[path]`, see `tenants.rs`).

use async_trait::async_trait;
use onepush_protocol::{ChallengeId, TenantId};

use super::DbStore;
use super::rows;
use crate::store::codec::to_json;
use crate::store::{OfflineRecord, OfflineStore, StoreError};

#[async_trait]
impl OfflineStore for DbStore {
    async fn insert_offline(&self, c: &OfflineRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO offline_challenges (id, tenant_id, user_id, credential_id, kind, \
             context, nonce, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
        )
        .bind(c.id.to_string())
        .bind(c.tenant_id.as_str())
        .bind(c.user_id.as_str())
        .bind(c.credential_id.as_str())
        .bind(c.kind.as_str())
        .bind(to_json(&c.context))
        .bind(&c.nonce)
        .bind(c.created_at)
        .bind(c.expires_at)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn offline(
        &self,
        tenant: &TenantId,
        id: &ChallengeId,
    ) -> Result<OfflineRecord, StoreError> {
        let row = sqlx::query("SELECT * FROM offline_challenges WHERE id = $1 AND tenant_id = $2")
            .bind(id.to_string())
            .bind(tenant.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows::offline(&row)
    }

    async fn use_offline(&self, id: &ChallengeId, at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE offline_challenges SET used_at = $1 \
             WHERE id = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(at)
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }
}
