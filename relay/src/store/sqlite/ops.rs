//! Fair webhook claims, sealed webhook secrets and retention (issue 22). Each retention
//! delete is one short write of at most `limit` rows: the one connection is free again
//! between batches.

use async_trait::async_trait;
use onepush_protocol::TenantId;
use rusqlite::params;

use super::SqliteStore;
use super::rows::{self, all, exec, get};
use crate::store::codec::parse;
use crate::store::{OpsStore, OutboxMessage, SealedSecret, StoreError};

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[async_trait]
impl OpsStore for SqliteStore {
    async fn tenants_with_due_webhooks(&self, now: i64) -> Result<Vec<TenantId>, StoreError> {
        self.read(move |c| {
            all(
                c,
                "SELECT id FROM tenants t WHERE EXISTS (SELECT 1 FROM webhook_outbox o \
                 WHERE o.tenant_id = t.id AND o.state = 'pending' AND o.next_attempt_at <= ?1) \
                 ORDER BY id",
                [now],
                |r| parse(&get::<String>(r, "id")?, "tenant id"),
            )
        })
        .await
    }

    async fn claim_tenant_webhooks(
        &self,
        tenant: &TenantId,
        now: i64,
        lease: i64,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let tenant = tenant.clone();
        // One writer at a time: a plain conditional update is already exclusive.
        self.write(move |c| {
            all(
                c,
                "UPDATE webhook_outbox SET next_attempt_at = ?1 WHERE id IN \
                 (SELECT id FROM webhook_outbox WHERE tenant_id = ?2 AND state = 'pending' \
                 AND next_attempt_at <= ?3 ORDER BY next_attempt_at LIMIT ?4) \
                 RETURNING id, tenant_id, body, created_at, attempts",
                params![now + lease, tenant.as_str(), now, i64::from(limit)],
                rows::outbox,
            )
        })
        .await
    }

    async fn set_webhook_secret(
        &self,
        tenant: &TenantId,
        sealed: &SealedSecret,
    ) -> Result<(), StoreError> {
        let (tenant, sealed) = (tenant.clone(), sealed.clone());
        let changed = self
            .write(move |c| {
                exec(
                    c,
                    "UPDATE tenants SET webhook_secret_sealed = ?1, webhook_secret = NULL \
                     WHERE id = ?2",
                    params![sealed.0, tenant.as_str()],
                )
            })
            .await?;
        if changed == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn clear_webhook_secrets(&self) -> Result<Vec<(TenantId, String)>, StoreError> {
        self.read(|c| {
            all(
                c,
                "SELECT id, webhook_secret FROM tenants WHERE webhook_secret IS NOT NULL \
                 ORDER BY id",
                [],
                |r| {
                    Ok((
                        parse(&get::<String>(r, "id")?, "tenant id")?,
                        get(r, "webhook_secret")?,
                    ))
                },
            )
        })
        .await
    }

    async fn seal_webhook_secret(
        &self,
        tenant: &TenantId,
        clear: &str,
        sealed: &SealedSecret,
    ) -> Result<bool, StoreError> {
        let (tenant, clear, sealed) = (tenant.clone(), clear.to_owned(), sealed.clone());
        let changed = self
            .write(move |c| {
                exec(
                    c,
                    "UPDATE tenants SET webhook_secret_sealed = ?1, webhook_secret = NULL \
                     WHERE id = ?2 AND webhook_secret = ?3",
                    params![sealed.0, tenant.as_str(), clear],
                )
            })
            .await?;
        Ok(changed == 1)
    }

    async fn claim_retention(
        &self,
        job: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let (job, holder) = (job.to_owned(), holder.to_owned());
        let claimed = self
            .write(move |c| {
                all(
                    c,
                    "INSERT INTO retention_leases (job, holder, held_until) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, \
                     held_until = excluded.held_until WHERE retention_leases.held_until <= ?4 \
                     RETURNING job",
                    params![job, holder, until, now],
                    |r| get::<String>(r, "job"),
                )
            })
            .await?;
        Ok(!claimed.is_empty())
    }

    async fn delete_old_challenges(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.write(move |c| {
            exec(
                c,
                "DELETE FROM challenges WHERE id IN (SELECT id FROM challenges ORDER BY id \
                 LIMIT ?1) AND status <> 'pending' AND created_at < ?2",
                params![i64::from(limit), before],
            )
            .map(count)
        })
        .await
    }

    async fn delete_old_idempotency_keys(
        &self,
        before: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.write(move |c| {
            exec(
                c,
                "DELETE FROM idempotency_keys WHERE challenge_id IN \
                 (SELECT challenge_id FROM idempotency_keys ORDER BY challenge_id LIMIT ?1) \
                 AND NOT EXISTS (SELECT 1 FROM challenges c \
                 WHERE c.id = idempotency_keys.challenge_id AND c.created_at >= ?2)",
                params![i64::from(limit), before],
            )
            .map(count)
        })
        .await
    }

    async fn delete_ended_webhooks(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.write(move |c| {
            exec(
                c,
                "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox \
                 WHERE state <> 'pending' AND next_attempt_at < ?1 ORDER BY next_attempt_at \
                 LIMIT ?2)",
                params![before, i64::from(limit)],
            )
            .map(count)
        })
        .await
    }

    async fn delete_old_audit(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        // One write job: one transaction for the bound and the delete.
        self.write(move |c| {
            exec(
                c,
                "UPDATE audit_retention SET delete_before = ?1 WHERE id = 1 \
                 AND delete_before < ?1",
                [before],
            )?;
            exec(
                c,
                "DELETE FROM audit_events WHERE seq IN (SELECT seq FROM audit_events \
                 ORDER BY seq LIMIT ?1) AND at < ?2",
                params![i64::from(limit), before],
            )
            .map(count)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::tenants::{AUDIT_OF_TENANT, AUDIT_OF_USER};
    use super::*;

    /// The query plan's lines for `sql` (parameters unbound: planned as for any value).
    fn plan(conn: &rusqlite::Connection, sql: &str) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows.join(" | ")
    }

    #[tokio::test]
    async fn audit_pages_read_an_index_in_both_forms_and_never_sort() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let store = SqliteStore::open(&url, &crate::store::StoreOptions::default())
            .await
            .unwrap();
        let plans = store
            .read(|c| Ok((plan(c, AUDIT_OF_TENANT), plan(c, AUDIT_OF_USER))))
            .await
            .unwrap();
        assert!(plans.0.contains("INDEX audit_by_tenant "), "{}", plans.0);
        assert!(
            plans.1.contains("INDEX audit_by_tenant_user"),
            "{}",
            plans.1
        );
        for p in [&plans.0, &plans.1] {
            assert!(
                !p.contains("TEMP B-TREE"),
                "no sort of the tenant's log: {p}"
            );
        }
    }
}
