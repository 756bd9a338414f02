//! The [`OpsStore`] part of the store (issue 22): fair webhook claims, sealed webhook
//! secrets and retention. Implemented once, in `sql/ops.rs`.

use async_trait::async_trait;
use onepush_protocol::TenantId;

use super::{OutboxMessage, SealedSecret, StoreError};

/// Operations (issue 22): fair webhook claims, sealed webhook secrets and retention.
/// Every retention delete removes at most `limit` rows per statement, so the SQLite
/// writer is released between batches.
#[async_trait]
pub trait OpsStore: Send + Sync + 'static {
    /// The tenants with at least one webhook message due at `now`, by slug.
    async fn tenants_with_due_webhooks(&self, now: i64) -> Result<Vec<TenantId>, StoreError>;
    /// Up to `limit` of `tenant`'s messages due at `now`, oldest first, leased for `lease`
    /// seconds as [`claim_webhooks`](super::OutboxStore::claim_webhooks) does.
    async fn claim_tenant_webhooks(
        &self,
        tenant: &TenantId,
        now: i64,
        lease: i64,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Replaces a tenant's webhook secret with `sealed` (and forgets any clear one);
    /// `NotFound` if no such tenant.
    async fn set_webhook_secret(
        &self,
        tenant: &TenantId,
        sealed: &SealedSecret,
    ) -> Result<(), StoreError>;
    /// The tenants whose webhook secret is still stored in clear (written before
    /// migration 0008 / 0007), with that secret.
    async fn clear_webhook_secrets(&self) -> Result<Vec<(TenantId, String)>, StoreError>;
    /// Stores `sealed` in place of the clear secret `clear`, only if `clear` is still the
    /// stored one (of relays sealing at once, one wins; the others change nothing).
    async fn seal_webhook_secret(
        &self,
        tenant: &TenantId,
        clear: &str,
        sealed: &SealedSecret,
    ) -> Result<bool, StoreError>;
    /// Takes the retention job `job` for `holder` until `until` if no one holds it at
    /// `now`; false when another relay (or this one) holds it. One lease row per job.
    async fn claim_retention(
        &self,
        job: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError>;
    /// Deletes ended (not pending) challenges created before `before`, among the `limit`
    /// oldest (by ID, a `UUIDv7`: creation order); answers how many.
    async fn delete_old_challenges(&self, before: i64, limit: u32) -> Result<u64, StoreError>;
    /// Deletes idempotency keys whose challenge was created before `before` (or is gone),
    /// among the `limit` oldest; answers how many.
    async fn delete_old_idempotency_keys(&self, before: i64, limit: u32)
    -> Result<u64, StoreError>;
    /// Deletes up to `limit` delivered or given-up webhook messages whose last attempt was
    /// before `before`; answers how many.
    async fn delete_ended_webhooks(&self, before: i64, limit: u32) -> Result<u64, StoreError>;
    /// Moves the audit log's deletion bound forward to `before` and, in the same
    /// transaction, deletes the events before it among the `limit` oldest; answers how
    /// many. The append-only trigger refuses any other delete.
    async fn delete_old_audit(&self, before: i64, limit: u32) -> Result<u64, StoreError>;
}
