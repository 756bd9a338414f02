//! The webhook outbox.

use crate::store::decode;
use crate::store::plan::{Conn, Dialect, Mode, run, stmt};
use crate::store::{OutboxMessage, OutboxUpdate, Store, StoreError};

const INSERT: &str = "INSERT INTO webhook_outbox (id, tenant_id, body, created_at, attempts, \
     next_attempt_at) VALUES ($1, $2, $3, $4, 0, $5)";
/// Leases due messages (SQLite: one writer at a time, so a plain conditional update is
/// already exclusive).
const CLAIM: &str = "UPDATE webhook_outbox SET next_attempt_at = $1 \
     WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' \
     AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3) \
     RETURNING id, tenant_id, body, created_at, attempts";
/// [`CLAIM`] on PostgreSQL. `SKIP LOCKED`: relays claiming at the same moment take
/// different rows instead of waiting for each other; the lease (`next_attempt_at` moved
/// forward) keeps a row from being claimed again until it runs out.
const CLAIM_SKIP_LOCKED: &str = "UPDATE webhook_outbox SET next_attempt_at = $1 \
     WHERE id IN (SELECT id FROM webhook_outbox WHERE state = 'pending' \
     AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
     RETURNING id, tenant_id, body, created_at, attempts";
const ATTEMPTED: &str = "UPDATE webhook_outbox SET state = $1, attempts = attempts + 1, \
     next_attempt_at = COALESCE($2, next_attempt_at) WHERE id = $3";

/// Puts `m` in the outbox, due at `due_at` (also inside the writes that end challenges).
pub(crate) async fn insert_outbox<C: Conn>(
    c: &mut C,
    m: &OutboxMessage,
    due_at: i64,
) -> Result<(), StoreError> {
    c.execute(stmt!(
        INSERT,
        &m.id,
        m.tenant_id.as_str(),
        &m.body,
        m.created_at,
        due_at
    ))
    .await
    .map(drop)
}

/// The claim statement of `C`'s dialect.
fn claim<C: Conn>(_on: &C) -> &'static str {
    match C::DIALECT {
        Dialect::Sqlite => CLAIM,
        Dialect::Postgres => CLAIM_SKIP_LOCKED,
    }
}

/// The webhook outbox.
impl Store {
    /// Puts a webhook message in the outbox, due at `due_at`.
    pub async fn enqueue_webhook(&self, m: &OutboxMessage, due_at: i64) -> Result<(), StoreError> {
        let m = m.clone();
        run!(self, Mode::Write, |c| insert_outbox(c, &m, due_at).await).await
    }

    /// Messages due at `now`, leased for `lease` seconds so no other worker (in this or
    /// another relay) takes them; a lease that runs out (a killed relay) frees them again.
    pub async fn claim_webhooks(
        &self,
        now: i64,
        lease: i64,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        run!(self, Mode::Write, |c| c
            .rows(stmt!(claim(c), now + lease, now, limit), decode::outbox)
            .await)
        .await
    }

    /// Records the result of an attempt.
    pub async fn webhook_attempted(
        &self,
        id: &str,
        update: OutboxUpdate,
    ) -> Result<(), StoreError> {
        let (state, next) = match update {
            OutboxUpdate::Delivered => ("delivered", None),
            OutboxUpdate::RetryAt(at) => ("pending", Some(at)),
            OutboxUpdate::Failed => ("failed", None),
        };
        self.execute(stmt!(ATTEMPTED, state, next, id))
            .await
            .map(drop)
    }
}
