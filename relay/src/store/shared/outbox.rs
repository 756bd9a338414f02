//! The webhook outbox, for both backends. Compiled inside each backend's module
//! (`#[path]`, see `tenants.rs`); claiming differs per backend (`super::CLAIM_WEBHOOKS`).

use async_trait::async_trait;
use sqlx::query::Query;

use super::rows;
use super::{CLAIM_WEBHOOKS, Db, DbStore};
use crate::store::{OutboxMessage, OutboxStore, OutboxUpdate, StoreError};

/// The insert of a new outbox message due at `due_at` (also run inside `finish_challenge`).
pub(super) fn insert_outbox(
    m: &OutboxMessage,
    due_at: i64,
) -> Query<'static, Db, <Db as sqlx::Database>::Arguments> {
    sqlx::query(
        "INSERT INTO webhook_outbox (id, tenant_id, body, created_at, attempts, next_attempt_at) \
         VALUES ($1, $2, $3, $4, 0, $5)",
    )
    .bind(&m.id)
    .bind(m.tenant_id.as_str())
    .bind(&m.body)
    .bind(m.created_at)
    .bind(due_at)
}

#[async_trait]
impl OutboxStore for DbStore {
    async fn enqueue_webhook(&self, m: &OutboxMessage, due_at: i64) -> Result<(), StoreError> {
        insert_outbox(m, due_at)
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn claim_webhooks(
        &self,
        now: i64,
        lease: i64,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let rows = sqlx::query(CLAIM_WEBHOOKS)
            .bind(now + lease)
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows.iter().map(rows::outbox).collect()
    }

    async fn webhook_attempted(&self, id: &str, update: OutboxUpdate) -> Result<(), StoreError> {
        let (state, next) = match update {
            OutboxUpdate::Delivered => ("delivered", None),
            OutboxUpdate::RetryAt(at) => ("pending", Some(at)),
            OutboxUpdate::Failed => ("failed", None),
        };
        sqlx::query(
            "UPDATE webhook_outbox SET state = $1, attempts = attempts + 1, \
             next_attempt_at = COALESCE($2, next_attempt_at) WHERE id = $3",
        )
        .bind(state)
        .bind(next)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }
}
