//! Challenges and idempotency keys.

use async_trait::async_trait;
use onepush_protocol::api::DecisionRecord;
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId, TenantId, UserId};
use rusqlite::params;

use super::SqliteStore;
use super::outbox::insert_outbox;
use super::rows::{self, all, exec, get, one};
use super::tenants::insert_audit;
use crate::store::bindings::sql;
use crate::store::codec::to_json;
use crate::store::{
    Admission, ChallengeRecord, ChallengeStore, NewAudit, OutboxMessage, StoreError, found,
};

/// One challenge, on `conn`.
pub(super) fn read_challenge(
    conn: &rusqlite::Connection,
    id: &ChallengeId,
) -> Result<ChallengeRecord, StoreError> {
    one(
        conn,
        &format!("{} WHERE id = ?1", rows::CHALLENGE_SELECT),
        [id.to_string()],
        rows::challenge,
    )
}

/// How many of a user's challenges are pending and not overdue at `now`, on `conn`.
fn pending_count(
    conn: &rusqlite::Connection,
    tenant: &TenantId,
    user: &UserId,
    now: i64,
) -> Result<u32, StoreError> {
    let n: i64 = one(
        conn,
        "SELECT COUNT(*) AS n FROM challenges \
         WHERE tenant_id = ?1 AND user_id = ?2 AND status = 'pending' AND expires_at > ?3",
        params![tenant.as_str(), user.as_str(), now],
        |r| get(r, "n"),
    )?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A user's recent refusals (see `recent_refusals_for_user`), on `conn`.
pub(super) fn recent_refusals(
    conn: &rusqlite::Connection,
    tenant: &TenantId,
    user: &UserId,
    since: i64,
    limit: u32,
) -> Result<Vec<i64>, StoreError> {
    // Both parts read `challenges_by_user_decided` (tenant, user, status, decided_at).
    // An approval in the same second as a refusal clears it (the approval wins ties).
    all(
        conn,
        "SELECT decided_at FROM challenges \
         WHERE tenant_id = ?1 AND user_id = ?2 AND status IN ('denied', 'expired') \
         AND decided_at >= ?3 \
         AND decided_at > COALESCE((SELECT MAX(decided_at) FROM challenges \
             WHERE tenant_id = ?1 AND user_id = ?2 AND status = 'approved' \
             AND decided_at >= ?3), ?3 - 1) \
         ORDER BY decided_at DESC LIMIT ?4",
        params![tenant.as_str(), user.as_str(), since, i64::from(limit)],
        |r| get(r, "decided_at"),
    )
}

#[async_trait]
impl ChallengeStore for SqliteStore {
    async fn insert_challenge_audited(
        &self,
        c: &ChallengeRecord,
        idempotency: Option<(&str, &[u8; 32])>,
        audit: Option<&NewAudit>,
        max_pending: Option<u32>,
    ) -> Result<Admission, StoreError> {
        // Owned: the write may run in another caller's batch (one transaction: see `writer`).
        let c = c.clone();
        let idempotency = idempotency.map(|(key, hash)| (key.to_owned(), *hash));
        let audit = audit.cloned();
        self.write(move |tx| {
            // On the one writer connection: no other insert or binding change runs
            // between these reads and the insert.
            let binding = found(one(
                tx,
                &sql::BINDING_FOR_CHALLENGE.replace('$', "?"),
                params![c.tenant_id.as_str(), c.user_id.as_str()],
                |r| Ok((get::<String>(r, "state")?, get::<String>(r, "credential_id")?)),
            ))?;
            if !binding.is_some_and(|(state, cred)| {
                state == "active" && cred == c.credential_id.as_str()
            }) {
                return Ok(Admission::BindingNotActive);
            }
            if let Some(limit) = max_pending {
                let pending = pending_count(tx, &c.tenant_id, &c.user_id, c.created_at)?;
                if pending >= limit {
                    return Ok(Admission::TooManyPending(pending));
                }
            }
            if let Some((key, hash)) = idempotency {
                // The primary key (tenant, key) makes a second insert fail: `Conflict`.
                exec(
                    tx,
                    "INSERT INTO idempotency_keys (tenant_id, key, request_hash, challenge_id) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![c.tenant_id.as_str(), key, &hash[..], c.id.to_string()],
                )?;
            }
            exec(
                tx,
                "INSERT INTO challenges (id, tenant_id, user_id, credential_id, kind, context, number, \
                 nonce, status, created_at, expires_at, decided_at, reached_device, decision) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    c.id.to_string(),
                    c.tenant_id.as_str(),
                    c.user_id.as_str(),
                    c.credential_id.as_str(),
                    c.kind.as_str(),
                    c.context.canonical_json(),
                    c.number.map(i64::from),
                    c.nonce,
                    c.status.as_str(),
                    c.created_at,
                    c.expires_at,
                    c.decided_at,
                    c.reached_device,
                    c.decision.as_ref().map(to_json)
                ],
            )?;
            if let Some(event) = audit {
                insert_audit(tx, &event, c.created_at)?;
            }
            Ok(Admission::Admitted)
        })
        .await
    }

    async fn idempotent_challenge(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<Option<(ChallengeId, Vec<u8>)>, StoreError> {
        let (tenant, key) = (tenant.clone(), key.to_owned());
        let found = self
            .read(move |c| {
                one(
                    c,
                    "SELECT challenge_id, request_hash FROM idempotency_keys \
                 WHERE tenant_id = ?1 AND key = ?2",
                    [tenant.as_str(), &key],
                    |r| {
                        let id: String = get(r, "challenge_id")?;
                        let id = id
                            .parse()
                            .map_err(|_| StoreError::Corrupt(format!("challenge id {id:?}")))?;
                        Ok((id, get(r, "request_hash")?))
                    },
                )
            })
            .await;
        match found {
            Ok(found) => Ok(Some(found)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn challenge(&self, id: &ChallengeId) -> Result<ChallengeRecord, StoreError> {
        let id = *id;
        self.read(move |c| read_challenge(c, &id)).await
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
        let signer = decision.map(|d| d.credential_id.as_str().to_owned());
        let decision = decision.map(to_json);
        let id = *id;
        let webhook = webhook.cloned();
        let audit = audit.cloned();
        self.write(move |tx| {
            // Conditional: of two requests ending the challenge, the second updates no row.
            // The webhook (so a crash cannot lose it) and the audit event share its commit.
            // An approval also needs the binding active and bound to the signer, in the
            // same statement.
            let changed = if status == ChallengeStatus::Approved {
                exec(
                    tx,
                    &sql::APPROVE_CHALLENGE.replace('$', "?"),
                    params![status.as_str(), at, decision, id.to_string(), signer],
                )?
            } else {
                exec(
                    tx,
                    &sql::FINISH_CHALLENGE.replace('$', "?"),
                    params![status.as_str(), at, decision, id.to_string()],
                )?
            };
            if changed != 1 {
                return Ok(false);
            }
            if let Some(message) = webhook {
                insert_outbox(tx, &message, at)?;
            }
            if let Some(event) = audit {
                insert_audit(tx, &event, at)?;
            }
            Ok(true)
        })
        .await
    }

    async fn mark_reached_device(&self, id: &ChallengeId) -> Result<(), StoreError> {
        let id = id.to_string();
        self.write(move |c| {
            exec(
                c,
                "UPDATE challenges SET reached_device = TRUE WHERE id = ?1 AND NOT reached_device",
                [id],
            )
            .map(drop)
        })
        .await
    }

    async fn pending_for_credential(
        &self,
        id: &CredentialId,
    ) -> Result<Vec<ChallengeRecord>, StoreError> {
        let id = id.clone();
        self.read(move |c| {
            all(
                c,
                &format!(
                    "{} WHERE credential_id = ?1 AND status = 'pending' ORDER BY created_at, id",
                    rows::CHALLENGE_SELECT
                ),
                [id.as_str()],
                rows::challenge,
            )
        })
        .await
    }

    async fn pending_count_for_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        now: i64,
    ) -> Result<u32, StoreError> {
        let (tenant, user) = (tenant.clone(), user.clone());
        self.read(move |c| pending_count(c, &tenant, &user, now))
            .await
    }

    async fn overdue_challenges(
        &self,
        now: i64,
        limit: u32,
    ) -> Result<Vec<ChallengeRecord>, StoreError> {
        self.read(move |c| {
            all(
                c,
                &format!(
                    "{} WHERE status = 'pending' AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
                    rows::CHALLENGE_SELECT
                ),
                params![now, i64::from(limit)],
                rows::challenge,
            )
        })
        .await
    }

    async fn recent_refusals_for_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
        since: i64,
        limit: u32,
    ) -> Result<Vec<i64>, StoreError> {
        let (tenant, user) = (tenant.clone(), user.clone());
        self.read(move |c| recent_refusals(c, &tenant, &user, since, limit))
            .await
    }

    async fn record_number_miss(&self, id: &ChallengeId) -> Result<u32, StoreError> {
        // One statement: concurrent misses each see their own total.
        let id = id.to_string();
        let misses = self
            .write(move |c| {
                match one(
                    c,
                    "UPDATE challenges SET number_misses = number_misses + 1 \
                 WHERE id = ?1 AND status = 'pending' RETURNING number_misses",
                    [id],
                    |r| get::<i64>(r, "number_misses"),
                ) {
                    Err(StoreError::NotFound) => Ok(0),
                    other => other,
                }
            })
            .await?;
        Ok(u32::try_from(misses).unwrap_or(u32::MAX))
    }
}
