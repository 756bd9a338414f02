//! Challenges and idempotency keys, for both backends. Compiled inside each backend's
//! module (`#[path]`, see `tenants.rs`).

use async_trait::async_trait;
use onepush_protocol::api::DecisionRecord;
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId, TenantId, UserId};
use sqlx::AssertSqlSafe;

use super::DbStore;
use super::outbox::insert_outbox;
use super::rows::{self, CHALLENGE_SELECT, get};
use super::tenants::insert_audit;
use crate::store::bindings::sql;
use crate::store::codec::to_json;
use crate::store::{
    Admission, ChallengeRecord, ChallengeStore, NewAudit, OutboxMessage, StoreError,
};

/// How many of a user's challenges are pending and not overdue at `now`.
async fn pending_count<'c, E>(
    executor: E,
    tenant: &TenantId,
    user: &UserId,
    now: i64,
) -> Result<u32, StoreError>
where
    E: sqlx::Executor<'c, Database = super::Db>,
{
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM challenges \
         WHERE tenant_id = $1 AND user_id = $2 AND status = 'pending' AND expires_at > $3",
    )
    .bind(tenant.as_str())
    .bind(user.as_str())
    .bind(now)
    .fetch_one(executor)
    .await
    .map_err(StoreError::from_sqlx)?;
    Ok(u32::try_from(get::<i64>(&row, "n")?).unwrap_or(u32::MAX))
}

#[async_trait]
impl ChallengeStore for DbStore {
    async fn insert_challenge_audited(
        &self,
        c: &ChallengeRecord,
        idempotency: Option<(&str, &[u8; 32])>,
        audit: Option<&NewAudit>,
        max_pending: Option<u32>,
    ) -> Result<Admission, StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        // The user's binding row, locked to the commit: a concurrent insert for the same
        // user (on any relay) waits here, then counts this one; a concurrent binding
        // change waits for this commit, then ends this challenge too (or, first, makes
        // this read see the binding no longer active).
        let binding = sqlx::query(AssertSqlSafe(format!(
            "{} FOR UPDATE",
            sql::BINDING_FOR_CHALLENGE
        )))
        .bind(c.tenant_id.as_str())
        .bind(c.user_id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        let active = match binding {
            Some(row) => {
                get::<String>(&row, "state")? == "active"
                    && get::<String>(&row, "credential_id")? == c.credential_id.as_str()
            }
            None => false,
        };
        if !active {
            return Ok(Admission::BindingNotActive);
        }
        if let Some(limit) = max_pending {
            let pending = pending_count(&mut *tx, &c.tenant_id, &c.user_id, c.created_at).await?;
            if pending >= limit {
                return Ok(Admission::TooManyPending(pending));
            }
        }
        if let Some((key, hash)) = idempotency {
            // The primary key (tenant, key) makes a second relay's insert fail: `Conflict`.
            sqlx::query(
                "INSERT INTO idempotency_keys (tenant_id, key, request_hash, challenge_id) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(c.tenant_id.as_str())
            .bind(key)
            .bind(&hash[..])
            .bind(c.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        }
        sqlx::query(
            "INSERT INTO challenges (id, tenant_id, user_id, credential_id, kind, context, number, \
             nonce, status, created_at, expires_at, decided_at, reached_device, decision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(c.id.to_string())
        .bind(c.tenant_id.as_str())
        .bind(c.user_id.as_str())
        .bind(c.credential_id.as_str())
        .bind(c.kind.as_str())
        .bind(c.context.canonical_json())
        .bind(c.number.map(i64::from))
        .bind(&c.nonce)
        .bind(c.status.as_str())
        .bind(c.created_at)
        .bind(c.expires_at)
        .bind(c.decided_at)
        .bind(c.reached_device)
        .bind(c.decision.as_ref().map(to_json))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from_sqlx)?;
        if let Some(event) = audit {
            insert_audit(event, c.created_at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(Admission::Admitted)
    }

    async fn idempotent_challenge(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<Option<(ChallengeId, Vec<u8>)>, StoreError> {
        let row = sqlx::query(
            "SELECT challenge_id, request_hash FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
        )
        .bind(tenant.as_str())
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        row.map(|r| {
            let id: String = get(&r, "challenge_id")?;
            let id = id
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("challenge id {id:?}")))?;
            Ok((id, get(&r, "request_hash")?))
        })
        .transpose()
    }

    async fn challenge(&self, id: &ChallengeId) -> Result<ChallengeRecord, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("{CHALLENGE_SELECT} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows::challenge(&row)
    }

    async fn finish_challenge_audited(
        &self,
        id: &ChallengeId,
        status: ChallengeStatus,
        at: i64,
        decision: Option<&DecisionRecord>,
        webhook: Option<&OutboxMessage>,
        audit: Option<&NewAudit>,
    ) -> Result<bool, StoreError> {
        // Conditional: of two relays ending the challenge at once, the second updates no
        // row (PostgreSQL re-checks the condition after waiting for the first one's lock).
        // An approval also needs the binding active and bound to the signer, in the
        // same statement (a binding locked a moment ago cannot be approved through).
        let approve = status == ChallengeStatus::Approved;
        let statement = if approve {
            sql::APPROVE_CHALLENGE
        } else {
            sql::FINISH_CHALLENGE
        };
        let mut update = sqlx::query(statement)
            .bind(status.as_str())
            .bind(at)
            .bind(decision.map(to_json))
            .bind(id.to_string());
        if approve {
            update = update.bind(decision.map(|d| d.credential_id.as_str().to_owned()));
        }
        if webhook.is_none() && audit.is_none() {
            let done = update
                .execute(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
            return Ok(done.rows_affected() == 1);
        }
        // With the webhook in the same transaction, a relay killed right after the update
        // cannot lose the bank's notification; the audit rides along in the same commit.
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        let done = update
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(message) = webhook {
            insert_outbox(message, at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        if let Some(event) = audit {
            insert_audit(event, at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(true)
    }

    async fn mark_reached_device(&self, id: &ChallengeId) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE challenges SET reached_device = TRUE WHERE id = $1 AND NOT reached_device",
        )
        .bind(id.to_string())
        .execute(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn pending_for_credential(
        &self,
        id: &CredentialId,
    ) -> Result<Vec<ChallengeRecord>, StoreError> {
        let sql = format!(
            "{CHALLENGE_SELECT} WHERE credential_id = $1 AND status = 'pending' ORDER BY created_at, id"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows.iter().map(rows::challenge).collect()
    }

    async fn pending_count_for_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: i64,
    ) -> Result<u32, StoreError> {
        pending_count(&self.pool, tenant, user, now).await
    }

    async fn overdue_challenges(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<ChallengeRecord>, StoreError> {
        // Several relays may read the same rows; `finish_challenge` lets one of them end each.
        let sql = format!(
            "{CHALLENGE_SELECT} WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        rows.iter().map(rows::challenge).collect()
    }

    async fn recent_refusals_for_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        since: i64,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        // Both parts read `challenges_by_user_decided` (tenant, user, status, decided_at).
        // An approval in the same second as a refusal clears it (the approval wins ties).
        let rows = sqlx::query(
            "SELECT decided_at FROM challenges \
             WHERE tenant_id = $1 AND user_id = $2 AND status IN ('denied', 'expired') \
             AND decided_at >= $3 \
             AND decided_at > COALESCE((SELECT MAX(decided_at) FROM challenges \
                 WHERE tenant_id = $1 AND user_id = $2 AND status = 'approved' \
                 AND decided_at >= $3), $3 - 1) \
             ORDER BY decided_at DESC LIMIT $4",
        )
        .bind(tenant.as_str())
        .bind(user.as_str())
        .bind(since)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.iter().map(|r| get::<i64>(r, "decided_at")).collect()
    }

    async fn record_number_miss(&self, id: &ChallengeId) -> Result<u32, StoreError> {
        // One statement: two relays counting misses at once each see their own total.
        let row = sqlx::query(
            "UPDATE challenges SET number_misses = number_misses + 1 \
             WHERE id = $1 AND status = 'pending' RETURNING number_misses",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        match row {
            Some(r) => Ok(u32::try_from(get::<i64>(&r, "number_misses")?).unwrap_or(u32::MAX)),
            None => Ok(0),
        }
    }
}
