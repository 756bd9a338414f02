//! Maintenance (R18) for sqlx backends (compiled inside each backend's module with
//! `#[path]`, see `tenants.rs`): the suspended scopes, each change audited in its
//! transaction.

use async_trait::async_trait;
use onepush_protocol::TenantId;

use super::DbStore;
use super::rows::get;
use super::tenants::insert_audit;
use crate::store::maintenance::{self, MaintenanceRecord, MaintenanceStore, SELECT_ALL};
use crate::store::{NewAudit, StoreError};

#[async_trait]
impl MaintenanceStore for DbStore {
    async fn put_maintenance(
        &self,
        record: &MaintenanceRecord,
        audit: &NewAudit,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        sqlx::query(
            "INSERT INTO maintenance (scope, message, ends_at, started_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (scope) DO UPDATE SET \
             message = excluded.message, ends_at = excluded.ends_at, \
             started_at = excluded.started_at",
        )
        .bind(maintenance::scope(record.tenant_id.as_ref()))
        .bind(record.message.clone())
        .bind(record.ends_at)
        .bind(record.started_at)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        insert_audit(audit, record.started_at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)
    }

    async fn delete_maintenance(
        &self,
        tenant: Option<&TenantId>,
        due: Option<i64>,
        audit: &NewAudit,
        at: i64,
    ) -> Result<bool, StoreError> {
        let scope = maintenance::scope(tenant);
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        let deleted = match due {
            Some(due) => {
                sqlx::query("DELETE FROM maintenance WHERE scope = $1 AND ends_at <= $2")
                    .bind(scope)
                    .bind(due)
                    .execute(&mut *tx)
                    .await
            }
            None => {
                sqlx::query("DELETE FROM maintenance WHERE scope = $1")
                    .bind(scope)
                    .execute(&mut *tx)
                    .await
            }
        }
        .map_err(StoreError::from_sqlx)?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        insert_audit(audit, at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(true)
    }

    async fn maintenance(&self) -> Result<Vec<MaintenanceRecord>, StoreError> {
        let rows = sqlx::query(SELECT_ALL)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows.iter()
            .map(|r| {
                maintenance::record(
                    &get::<String>(r, "scope")?,
                    get(r, "message")?,
                    get(r, "ends_at")?,
                    get(r, "started_at")?,
                )
            })
            .collect()
    }
}
