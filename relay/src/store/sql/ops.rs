//! Fair webhook claims, sealed webhook secrets and retention (issue 22). Each retention
//! delete is one short write of at most `limit` rows (SQLite's one connection is free
//! again between batches).

use onepush_protocol::TenantId;

use crate::store::codec::parse;
use crate::store::decode;
use crate::store::plan::{Conn, Dialect, Mode, run, stmt, text};
use crate::store::{OutboxMessage, SealedSecret, Store, StoreError};

const DUE_TENANTS: &str = "SELECT id FROM tenants t WHERE EXISTS (SELECT 1 FROM webhook_outbox o \
     WHERE o.tenant_id = t.id AND o.state = 'pending' AND o.next_attempt_at <= $1) ORDER BY id";
/// One tenant's due messages, leased (SQLite: one writer at a time, so a plain
/// conditional update is already exclusive).
const CLAIM_TENANT: &str = "UPDATE webhook_outbox SET next_attempt_at = $1 WHERE id IN \
     (SELECT id FROM webhook_outbox WHERE tenant_id = $2 AND state = 'pending' \
     AND next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT $4) \
     RETURNING id, tenant_id, body, created_at, attempts";
/// [`CLAIM_TENANT`] on PostgreSQL: `SKIP LOCKED`, so relays claiming at once take
/// different rows.
const CLAIM_TENANT_SKIP_LOCKED: &str = "UPDATE webhook_outbox SET next_attempt_at = $1 \
     WHERE id IN (SELECT id FROM webhook_outbox WHERE tenant_id = $2 AND state = 'pending' \
     AND next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
     RETURNING id, tenant_id, body, created_at, attempts";
const SET_SECRET: &str =
    "UPDATE tenants SET webhook_secret_sealed = $1, webhook_secret = NULL WHERE id = $2";
const CLEAR_SECRETS: &str =
    "SELECT id, webhook_secret FROM tenants WHERE webhook_secret IS NOT NULL ORDER BY id";
const SEAL_SECRET: &str = "UPDATE tenants SET webhook_secret_sealed = $1, webhook_secret = NULL \
     WHERE id = $2 AND webhook_secret = $3";
/// Concurrent claims of one job serialise on its row: the second sees the first's
/// `held_until` and takes nothing.
const CLAIM_RETENTION: &str = "INSERT INTO retention_leases (job, holder, held_until) \
     VALUES ($1, $2, $3) ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, \
     held_until = excluded.held_until WHERE retention_leases.held_until <= $4 RETURNING job";
const DELETE_CHALLENGES: &str = "DELETE FROM challenges WHERE id IN \
     (SELECT id FROM challenges ORDER BY id LIMIT $1) \
     AND status <> 'pending' AND created_at < $2";
const DELETE_IDEMPOTENCY: &str = "DELETE FROM idempotency_keys WHERE challenge_id IN \
     (SELECT challenge_id FROM idempotency_keys ORDER BY challenge_id LIMIT $1) \
     AND NOT EXISTS (SELECT 1 FROM challenges c \
     WHERE c.id = idempotency_keys.challenge_id AND c.created_at >= $2)";
const DELETE_WEBHOOKS: &str = "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM \
     webhook_outbox WHERE state <> 'pending' AND next_attempt_at < $1 \
     ORDER BY next_attempt_at LIMIT $2)";
const AUDIT_BOUND: &str =
    "UPDATE audit_retention SET delete_before = $1 WHERE id = 1 AND delete_before < $1";
const DELETE_AUDIT: &str = "DELETE FROM audit_events WHERE seq IN \
     (SELECT seq FROM audit_events ORDER BY seq LIMIT $1) AND at < $2";

/// The tenant claim statement of `C`'s dialect.
fn claim_tenant<C: Conn>(_on: &C) -> &'static str {
    match C::DIALECT {
        Dialect::Sqlite => CLAIM_TENANT,
        Dialect::Postgres => CLAIM_TENANT_SKIP_LOCKED,
    }
}

/// Operations (issue 22): fair webhook claims, sealed webhook secrets and retention.
/// Every retention delete removes at most `limit` rows per statement, so the SQLite
/// writer is released between batches.
impl Store {
    /// The tenants with at least one webhook message due at `now`, by slug.
    pub async fn tenants_with_due_webhooks(&self, now: i64) -> Result<Vec<TenantId>, StoreError> {
        self.rows(Mode::Read, stmt!(DUE_TENANTS, now), |r| {
            parse(&text(r, "id")?, "tenant id")
        })
        .await
    }

    /// Up to `limit` of `tenant`'s messages due at `now`, oldest first, leased for `lease`
    /// seconds as [`claim_webhooks`](super::Store::claim_webhooks) does.
    pub async fn claim_tenant_webhooks(
        &self,
        tenant: &TenantId,
        now: i64,
        lease: i64,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let tenant = tenant.clone();
        run!(self, Mode::Write, |c| {
            let claim = stmt!(claim_tenant(c), now + lease, tenant.as_str(), now, limit);
            c.rows(claim, decode::outbox).await
        })
        .await
    }

    /// Replaces a tenant's webhook secret with `sealed` (and forgets any clear one);
    /// `NotFound` if no such tenant.
    pub async fn set_webhook_secret(
        &self,
        tenant: &TenantId,
        sealed: &SealedSecret,
    ) -> Result<(), StoreError> {
        self.changes_one(stmt!(SET_SECRET, &sealed.0, tenant.as_str()))
            .await
    }

    /// The tenants whose webhook secret is still stored in clear (written before
    /// migration 0008 / 0007), with that secret.
    pub async fn clear_webhook_secrets(&self) -> Result<Vec<(TenantId, String)>, StoreError> {
        self.rows(Mode::Read, stmt!(CLEAR_SECRETS), |r| {
            Ok((
                parse(&text(r, "id")?, "tenant id")?,
                text(r, "webhook_secret")?,
            ))
        })
        .await
    }

    /// Stores `sealed` in place of the clear secret `clear`, only if `clear` is still the
    /// stored one (of relays sealing at once, one wins; the others change nothing).
    pub async fn seal_webhook_secret(
        &self,
        tenant: &TenantId,
        clear: &str,
        sealed: &SealedSecret,
    ) -> Result<bool, StoreError> {
        let seal = stmt!(SEAL_SECRET, &sealed.0, tenant.as_str(), clear);
        Ok(self.execute(seal).await? == 1)
    }

    /// Takes the retention job `job` for `holder` until `until` if no one holds it at
    /// `now`; false when another relay (or this one) holds it. One lease row per job.
    pub async fn claim_retention(
        &self,
        job: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let claim = stmt!(CLAIM_RETENTION, job, holder, until, now);
        let claimed = self.optional(Mode::Write, claim, |r| text(r, "job"));
        Ok(claimed.await?.is_some())
    }

    /// Deletes ended (not pending) challenges created before `before`, among the `limit`
    /// oldest (by ID, a `UUIDv7`: creation order); answers how many.
    pub async fn delete_old_challenges(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.execute(stmt!(DELETE_CHALLENGES, limit, before)).await
    }

    /// Deletes idempotency keys whose challenge was created before `before` (or is gone),
    /// among the `limit` oldest; answers how many.
    pub async fn delete_old_idempotency_keys(
        &self,
        before: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.execute(stmt!(DELETE_IDEMPOTENCY, limit, before)).await
    }

    /// Deletes up to `limit` delivered or given-up webhook messages whose last attempt was
    /// before `before`; answers how many.
    pub async fn delete_ended_webhooks(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.execute(stmt!(DELETE_WEBHOOKS, before, limit)).await
    }

    /// Moves the audit log's deletion bound forward to `before` and, in the same
    /// transaction, deletes the events before it among the `limit` oldest; answers how
    /// many. The append-only trigger refuses any other delete.
    pub async fn delete_old_audit(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        // One transaction for the bound and the delete.
        run!(self, Mode::Transaction, |c| {
            c.execute(stmt!(AUDIT_BOUND, before)).await?;
            c.execute(stmt!(DELETE_AUDIT, limit, before)).await
        })
        .await
    }
}
