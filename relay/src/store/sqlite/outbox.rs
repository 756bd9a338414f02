//! The webhook outbox.

use async_trait::async_trait;
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::rows::{self, all, exec};
use crate::store::{OutboxMessage, OutboxStore, OutboxUpdate, StoreError};

/// Puts `m` in the outbox due at `due_at` on `conn` (also inside `finish_challenge`).
pub(super) fn insert_outbox(
    conn: &Connection,
    m: &OutboxMessage,
    due_at: i64,
) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO webhook_outbox (id, tenant_id, body, created_at, attempts, next_attempt_at) \
         VALUES (?1, ?2, ?3, ?4, 0, ?5)",
        params![m.id, m.tenant_id.as_str(), m.body, m.created_at, due_at],
    )
    .map(drop)
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue_webhook(&self, m: &OutboxMessage, due_at: i64) -> Result<(), StoreError> {
        let m = m.clone();
        self.write(move |c| insert_outbox(c, &m, due_at)).await
    }

    async fn claim_webhooks(
        &self,
        now: i64,
        lease: i64,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        // One writer at a time: a plain conditional update is already exclusive.
        self.write(move |c| {
            all(
                c,
                "UPDATE webhook_outbox SET next_attempt_at = ?1 \
                 WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' \
                 AND next_attempt_at <= ?2 ORDER BY next_attempt_at LIMIT ?3) \
                 RETURNING id, tenant_id, body, created_at, attempts",
                params![now + lease, now, i64::from(limit)],
                rows::outbox,
            )
        })
        .await
    }

    async fn webhook_attempted(&self, id: &str, update: OutboxUpdate) -> Result<(), StoreError> {
        let (state, next) = match update {
            OutboxUpdate::Delivered => ("delivered", None),
            OutboxUpdate::RetryAt(at) => ("pending", Some(at)),
            OutboxUpdate::Failed => ("failed", None),
        };
        let id = id.to_owned();
        self.write(move |c| {
            exec(
                c,
                "UPDATE webhook_outbox SET state = ?1, attempts = attempts + 1, \
                 next_attempt_at = COALESCE(?2, next_attempt_at) WHERE id = ?3",
                params![state, next, id],
            )
            .map(drop)
        })
        .await
    }
}
