//! Tenants and the audit log, for both backends. Compiled inside each backend's module
//! (`#[path]`), where `super::DbStore` is the backend's store and `super::Db` its sqlx
//! database; the SQL here runs unchanged on SQLite and PostgreSQL.

use async_trait::async_trait;
use onepush_protocol::api::AuditEvent;
use onepush_protocol::{TenantId, UserId};

use sqlx::query::Query;

use super::rows::{self, get};
use super::{Db, DbStore};
use crate::store::{AuditStore, NewAudit, StoreError, TenantRecord, TenantStore};

#[async_trait]
impl TenantStore for DbStore {
    async fn insert_tenant(&self, t: &TenantRecord, key_hash: &[u8; 32]) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tenants (id, display_name, api_key_hash, webhook_url, webhook_secret_sealed, \
             otp_lock_threshold, created_at, push_fatigue_threshold, push_fatigue_window_seconds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(t.id.as_str())
        .bind(&t.display_name)
        .bind(&key_hash[..])
        .bind(&t.webhook_url)
        .bind(t.webhook_secret.as_ref().map(|s| s.0.clone()))
        .bind(i64::from(t.otp_lock_threshold))
        .bind(t.created_at)
        .bind(i64::from(t.push_fatigue_threshold))
        .bind(i64::from(t.push_fatigue_window_seconds))
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM tenants ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows.iter().map(rows::tenant).collect()
    }

    async fn tenant(&self, id: &TenantId) -> Result<TenantRecord, StoreError> {
        let row = sqlx::query("SELECT * FROM tenants WHERE id = $1")
            .bind(id.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows::tenant(&row)
    }

    async fn tenant_by_key_hash(
        &self,
        key_hash: &[u8; 32],
    ) -> Result<(TenantRecord, Vec<u8>), StoreError> {
        let row = sqlx::query("SELECT * FROM tenants WHERE api_key_hash = $1")
            .bind(&key_hash[..])
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok((rows::tenant(&row)?, get(&row, "api_key_hash")?))
    }

    async fn set_tenant_push_fatigue(
        &self,
        id: &TenantId,
        threshold: u32,
        window_seconds: u32,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE tenants SET push_fatigue_threshold = $1, push_fatigue_window_seconds = $2 \
             WHERE id = $3",
        )
        .bind(i64::from(threshold))
        .bind(i64::from(window_seconds))
        .bind(id.as_str())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn set_tenant_key(&self, id: &TenantId, key_hash: &[u8; 32]) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE tenants SET api_key_hash = $1 WHERE id = $2")
            .bind(&key_hash[..])
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        if done.rows_affected() == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}

/// The insert of an audit event at `at`, answering its `seq` (also run inside the
/// challenge writes that audit in the same transaction).
pub(super) fn insert_audit(
    e: &NewAudit,
    at: i64,
) -> Query<'static, Db, <Db as sqlx::Database>::Arguments> {
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, at, event, user_id, credential_id, challenge_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
    )
    .bind(e.tenant_id.as_ref().map(|t| t.as_str().to_owned()))
    .bind(at)
    .bind(e.event.clone())
    .bind(e.user_id.as_ref().map(|u| u.as_str().to_owned()))
    .bind(e.credential_id.as_ref().map(|c| c.as_str().to_owned()))
    .bind(e.challenge_id.map(|c| c.to_string()))
    .bind(e.detail.to_string())
}

#[async_trait]
impl AuditStore for DbStore {
    async fn append_audit(&self, e: &NewAudit, at: i64) -> Result<i64, StoreError> {
        let row = insert_audit(e, at)
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        get(&row, "seq")
    }

    async fn audit(
        &self,
        tenant: &TenantId,
        user: Option<&UserId>,
        since: i64,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        // Two query texts, each on its own index (`audit_by_tenant_user`,
        // `audit_by_tenant`): one text for both cases (`$2 IS NULL OR user_id = $2`)
        // could use neither and read the tenant's whole log.
        let query = match user {
            Some(user) => sqlx::query(
                "SELECT * FROM audit_events WHERE tenant_id = $1 AND user_id = $2 \
                 AND seq > $3 ORDER BY seq LIMIT $4",
            )
            .bind(tenant.as_str())
            .bind(user.as_str()),
            None => sqlx::query(
                "SELECT * FROM audit_events WHERE tenant_id = $1 \
                 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(tenant.as_str()),
        };
        let rows = query
            .bind(since)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows.iter().map(rows::audit).collect()
    }
}
