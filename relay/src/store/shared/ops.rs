//! Fair webhook claims, sealed webhook secrets and retention (issue 22), for PostgreSQL.
//! Compiled inside its module (`#[path]`, see `tenants.rs`); the claim takes
//! `FOR UPDATE SKIP LOCKED`, so relays claiming at once take different rows.

use async_trait::async_trait;
use onepush_protocol::TenantId;

use super::DbStore;
use super::rows::{self, get};
use crate::store::{OpsStore, OutboxMessage, SealedSecret, StoreError};

fn affected(done: &<super::Db as sqlx::Database>::QueryResult) -> u64 {
    done.rows_affected()
}

#[async_trait]
impl OpsStore for DbStore {
    async fn tenants_with_due_webhooks(&self, now: i64) -> Result<Vec<TenantId>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM tenants t WHERE EXISTS (SELECT 1 FROM webhook_outbox o \
             WHERE o.tenant_id = t.id AND o.state = 'pending' AND o.next_attempt_at <= $1) \
             ORDER BY id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter()
            .map(|r| crate::store::codec::parse(&get::<String>(r, "id")?, "tenant id"))
            .collect()
    }

    async fn claim_tenant_webhooks(
        &self,
        tenant: &TenantId,
        now: i64,
        lease: i64,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(
            "UPDATE webhook_outbox SET next_attempt_at = $1 WHERE id IN \
             (SELECT id FROM webhook_outbox WHERE tenant_id = $2 AND state = 'pending' \
             AND next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
             RETURNING id, tenant_id, body, created_at, attempts",
        )
        .bind(now + lease)
        .bind(tenant.as_str())
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter().map(rows::outbox).collect()
    }

    async fn set_webhook_secret(
        &self,
        tenant: &TenantId,
        sealed: &SealedSecret,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE tenants SET webhook_secret_sealed = $1, webhook_secret = NULL WHERE id = $2",
        )
        .bind(&sealed.0)
        .bind(tenant.as_str())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        if affected(&done) == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn clear_webhook_secrets(&self) -> Result<Vec<(TenantId, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, webhook_secret FROM tenants WHERE webhook_secret IS NOT NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter()
            .map(|r| {
                Ok((
                    crate::store::codec::parse(&get::<String>(r, "id")?, "tenant id")?,
                    get(r, "webhook_secret")?,
                ))
            })
            .collect()
    }

    async fn seal_webhook_secret(
        &self,
        tenant: &TenantId,
        clear: &str,
        sealed: &SealedSecret,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE tenants SET webhook_secret_sealed = $1, webhook_secret = NULL \
             WHERE id = $2 AND webhook_secret = $3",
        )
        .bind(&sealed.0)
        .bind(tenant.as_str())
        .bind(clear)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(affected(&done) == 1)
    }

    async fn claim_retention(
        &self,
        job: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        // Concurrent claims of one job serialise on its row: the second sees the first's
        // `held_until` and takes nothing.
        let row = sqlx::query(
            "INSERT INTO retention_leases (job, holder, held_until) VALUES ($1, $2, $3) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, \
             held_until = excluded.held_until WHERE retention_leases.held_until <= $4 \
             RETURNING job",
        )
        .bind(job)
        .bind(holder)
        .bind(until)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(row.is_some())
    }

    async fn delete_old_challenges(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM challenges WHERE id IN (SELECT id FROM challenges ORDER BY id LIMIT $1) \
             AND status <> 'pending' AND created_at < $2",
        )
        .bind(i64::from(limit))
        .bind(before)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(affected(&done))
    }

    async fn delete_old_idempotency_keys(
        &self,
        before: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM idempotency_keys WHERE challenge_id IN \
             (SELECT challenge_id FROM idempotency_keys ORDER BY challenge_id LIMIT $1) \
             AND NOT EXISTS (SELECT 1 FROM challenges c \
             WHERE c.id = idempotency_keys.challenge_id AND c.created_at >= $2)",
        )
        .bind(i64::from(limit))
        .bind(before)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(affected(&done))
    }

    async fn delete_ended_webhooks(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox \
             WHERE state <> 'pending' AND next_attempt_at < $1 ORDER BY next_attempt_at LIMIT $2)",
        )
        .bind(before)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(affected(&done))
    }

    async fn delete_old_audit(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        sqlx::query(
            "UPDATE audit_retention SET delete_before = $1 WHERE id = 1 AND delete_before < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        let done = sqlx::query(
            "DELETE FROM audit_events WHERE seq IN (SELECT seq FROM audit_events ORDER BY seq \
             LIMIT $1) AND at < $2",
        )
        .bind(i64::from(limit))
        .bind(before)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(affected(&done))
    }
}
