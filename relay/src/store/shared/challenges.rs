//! Challenges and idempotency keys, for both backends. Compiled inside each backend's
//! module (`#[path]`, see `tenants.rs`).

use std::fmt::Write as _;
use std::sync::LazyLock;

use async_trait::async_trait;
use onepush_protocol::api::DecisionRecord;
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId, TenantId, UserId};
use sqlx::AssertSqlSafe;
use sqlx::query::Query;

use super::DbStore;
use super::rows::{self, CHALLENGE_SELECT, get};
use crate::store::bindings::sql;
use crate::store::codec::to_json;
use crate::store::{
    Admission, ChallengeRecord, ChallengeStore, NewAudit, OutboxMessage, StoreError,
};

/// The user's binding as a challenge insert checks it, locked to the commit.
static LOCK_BINDING_FOR_CHALLENGE: LazyLock<String> =
    LazyLock::new(|| format!("{} FOR UPDATE", sql::BINDING_FOR_CHALLENGE));

/// The audit columns (`$AT` the event's time) of an insert fed by `source`: six
/// parameters from `$first`, bound by [`bind_audit`].
fn audit_insert(first: usize, at: &str, source: &str) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "INSERT INTO audit_events (tenant_id, at, event, user_id, credential_id, challenge_id, \
         detail) SELECT {}, {at}, {}, {}, {}, {}, {} FROM {source}",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5)
    )
}

/// Binds an audit event's six parameters (see [`audit_insert`]).
fn bind_audit<'q>(q: DbQuery<'q>, e: &NewAudit) -> DbQuery<'q> {
    q.bind(e.tenant_id.as_ref().map(|t| t.as_str().to_owned()))
        .bind(e.event.clone())
        .bind(e.user_id.as_ref().map(|u| u.as_str().to_owned()))
        .bind(e.credential_id.as_ref().map(|c| c.as_str().to_owned()))
        .bind(e.challenge_id.map(|c| c.to_string()))
        .bind(e.detail.to_string())
}

type DbQuery<'q> = Query<'q, super::Db, <super::Db as sqlx::Database>::Arguments>;

/// A challenge insert in one statement: the user's pending, not overdue challenges
/// counted (`n`), and the challenge inserted only below the limit `$15` (`made`: 1 or
/// 0), with its idempotency key (`$16`, `$17`) and audit event when asked for. Indexed
/// by `idempotency + 2 * audit`.
static INSERT_CHALLENGE: LazyLock<[String; 4]> = LazyLock::new(|| {
    [(false, false), (true, false), (false, true), (true, true)].map(|(idem, audit)| {
        let mut sql = String::from(
            "WITH pending AS (SELECT COUNT(*) AS n FROM challenges WHERE tenant_id = $2 \
             AND user_id = $3 AND status = 'pending' AND expires_at > $10), \
             made AS (INSERT INTO challenges (id, tenant_id, user_id, credential_id, kind, \
             context, number, nonce, status, created_at, expires_at, decided_at, \
             reached_device, decision) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14 FROM pending WHERE pending.n < $15 RETURNING id)",
        );
        let mut next = 16;
        if idem {
            sql.push_str(
                ", idem AS (INSERT INTO idempotency_keys (tenant_id, key, request_hash, \
                 challenge_id) SELECT $2, $16, $17, $1 FROM made)",
            );
            next += 2;
        }
        if audit {
            write!(sql, ", audited AS ({})", audit_insert(next, "$10", "made"))
                .expect("writing to a String cannot fail");
        }
        sql.push_str(" SELECT n, (SELECT COUNT(*) FROM made) AS made FROM pending");
        sql
    })
});

fn insert_challenge_sql(idempotency: bool, audit: bool) -> &'static str {
    &INSERT_CHALLENGE[usize::from(idempotency) + 2 * usize::from(audit)]
}

/// A challenge's end in one statement (`n`: 1 if it ended, 0 if it was not pending, or,
/// for an approval, its binding not active and bound to the signer), with its webhook
/// (due at once) and audit event when asked for. Indexed by `approve + 2 * webhook + 4 *
/// audit`.
static FINISH_CHALLENGE: LazyLock<[String; 8]> = LazyLock::new(|| {
    std::array::from_fn(|i| {
        let (approve, webhook, audit) = (i & 1 == 1, i & 2 == 2, i & 4 == 4);
        let update = if approve {
            sql::APPROVE_CHALLENGE
        } else {
            sql::FINISH_CHALLENGE
        };
        let mut sql = format!("WITH done AS ({update} RETURNING id)");
        let mut next = if approve { 6 } else { 5 };
        if webhook {
            write!(
                sql,
                ", hook AS (INSERT INTO webhook_outbox (id, tenant_id, body, created_at, \
                 attempts, next_attempt_at) SELECT ${}, ${}, ${}, ${}, 0, $2 FROM done)",
                next,
                next + 1,
                next + 2,
                next + 3
            )
            .expect("writing to a String cannot fail");
            next += 4;
        }
        if audit {
            write!(sql, ", audited AS ({})", audit_insert(next, "$2", "done"))
                .expect("writing to a String cannot fail");
        }
        sql.push_str(" SELECT COUNT(*) AS n FROM done");
        sql
    })
});

fn finish_challenge_sql(approve: bool, webhook: bool, audit: bool) -> &'static str {
    &FINISH_CHALLENGE[usize::from(approve) + 2 * usize::from(webhook) + 4 * usize::from(audit)]
}

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
        let binding = sqlx::query(LOCK_BINDING_FOR_CHALLENGE.as_str())
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
        // The count, the inserts and the audit event in one statement, after the lock (a
        // statement of its own, so its snapshot sees what the lock waited for).
        let mut insert = sqlx::query(insert_challenge_sql(idempotency.is_some(), audit.is_some()))
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
            .bind(max_pending.map_or(i64::MAX, i64::from));
        if let Some((key, hash)) = idempotency {
            // The primary key (tenant, key) makes a second relay's insert fail: `Conflict`.
            insert = insert.bind(key).bind(&hash[..]);
        }
        if let Some(event) = audit {
            insert = bind_audit(insert, event);
        }
        let row = insert
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        if get::<i64>(&row, "made")? != 1 {
            let pending = u32::try_from(get::<i64>(&row, "n")?).unwrap_or(u32::MAX);
            return Ok(Admission::TooManyPending(pending));
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
        // One statement, so one implicit transaction: the webhook and the audit event are
        // inserted only if the update ended the challenge, and a relay killed after it
        // cannot lose the bank's notification. Conditional: of two relays ending the
        // challenge at once, the second updates no row (PostgreSQL re-checks the
        // condition after waiting for the first one's lock). An approval also needs the
        // binding active and bound to the signer, in the same statement (a binding
        // locked a moment ago cannot be approved through).
        let approve = status == ChallengeStatus::Approved;
        let mut update = sqlx::query(finish_challenge_sql(
            approve,
            webhook.is_some(),
            audit.is_some(),
        ))
        .bind(status.as_str())
        .bind(at)
        .bind(decision.map(to_json))
        .bind(id.to_string());
        if approve {
            update = update.bind(decision.map(|d| d.credential_id.as_str().to_owned()));
        }
        if let Some(m) = webhook {
            update = update
                .bind(&m.id)
                .bind(m.tenant_id.as_str())
                .bind(&m.body)
                .bind(m.created_at);
        }
        if let Some(event) = audit {
            update = bind_audit(update, event);
        }
        let row = update
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(get::<i64>(&row, "n")? == 1)
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
