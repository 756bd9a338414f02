//! Binding state changes (see `store/bindings.rs`), for both backends. Compiled inside
//! each backend's module (`#[path]`, see `tenants.rs`).

use async_trait::async_trait;
use onepush_protocol::CredentialId;

use super::DbStore;
use super::outbox::insert_outbox;
use super::rows::{self, get};
use super::tenants::insert_audit;
use crate::store::bindings::{from_states, sql};
use crate::store::codec::{binding_state_str, token_kind_str};
use crate::store::{
    BindingChange, BindingChanged, BindingRecord, BindingStore, ChallengeRecord, EndPrompts,
    NewAudit, OtpFailure, StoreError,
};

type Conn = <super::Db as sqlx::Database>::Connection;

/// Ends the user's pending challenges (but `prompts.spare`) on `conn`, queueing each one's
/// webhook and appending its audit event there.
async fn end_prompts(
    conn: &mut Conn,
    tenant: &str,
    user: &str,
    at: i64,
    prompts: &EndPrompts,
) -> Result<Vec<ChallengeRecord>, StoreError> {
    let spare = prompts.spare.map(|id| id.to_string()).unwrap_or_default();
    let ended = sqlx::query(sql::END_PROMPTS)
        .bind(at)
        .bind(tenant)
        .bind(user)
        .bind(spare)
        .fetch_all(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?
        .iter()
        .map(rows::challenge)
        .collect::<Result<Vec<_>, _>>()?;
    for ch in &ended {
        let (webhook, audit) = (prompts.notice)(ch);
        if let Some(message) = webhook {
            insert_outbox(&message, at)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::from_sqlx)?;
        }
        insert_audit(&audit, at)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from_sqlx)?;
    }
    Ok(ended)
}

#[async_trait]
impl BindingStore for DbStore {
    async fn insert_binding(&self, b: &BindingRecord, audit: &NewAudit) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        // A concurrent insert for the same user waits for this one's commit, then finds
        // the row in a state other than `unregistered`: no row, `Conflict`.
        let done = sqlx::query(sql::INSERT_BINDING)
            .bind(b.tenant_id.as_str())
            .bind(b.user_id.as_str())
            .bind(b.credential_id.as_str())
            .bind(binding_state_str(b.state))
            .bind(&b.lock_reason)
            .bind(b.grace_until)
            .bind(i64::from(b.failures))
            .bind(b.drift_steps)
            .bind(b.enrolled_at)
            .bind(token_kind_str(b.kind))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict);
        }
        sqlx::query(sql::CLEAR_ENROLLMENT_ATTEMPTS)
            .bind(b.credential_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        insert_audit(audit, b.enrolled_at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(())
    }

    async fn change_binding(
        &self,
        change: &BindingChange,
        at: i64,
        prompts: &EndPrompts,
    ) -> Result<Option<BindingChanged>, StoreError> {
        let [s1, s2, s3, s4] = from_states(&change.from)?;
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        let row = sqlx::query(sql::CHANGE_BINDING)
            .bind(binding_state_str(change.to))
            .bind(&change.lock_reason)
            .bind(change.grace_until)
            .bind(change.tenant_id.as_str())
            .bind(change.user_id.as_str())
            .bind(s1)
            .bind(s2)
            .bind(s3)
            .bind(s4)
            .bind(change.credential_id.as_ref().map(CredentialId::as_str))
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let binding = rows::binding(&row)?;
        insert_audit(&change.audit, at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        let ended = if change.to == onepush_protocol::api::BindingState::Active {
            Vec::new()
        } else {
            end_prompts(
                &mut tx,
                change.tenant_id.as_str(),
                change.user_id.as_str(),
                at,
                prompts,
            )
            .await?
        };
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(Some(BindingChanged { binding, ended }))
    }

    async fn record_otp_failure(
        &self,
        b: &BindingRecord,
        threshold: u32,
        at: i64,
        lock_audit: &NewAudit,
        prompts: &EndPrompts,
    ) -> Result<OtpFailure, StoreError> {
        let mut tx = self.pool.begin().await.map_err(StoreError::from_sqlx)?;
        // PostgreSQL re-checks `state = 'active'` on the newest row after waiting for a
        // concurrent update's lock: N concurrent failures count N, none past the lock.
        let row = sqlx::query(sql::OTP_FAILURE)
            .bind(i64::from(threshold.max(1)))
            .bind(b.tenant_id.as_str())
            .bind(b.user_id.as_str())
            .bind(b.credential_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        let Some(row) = row else {
            return Ok(OtpFailure::NotActive);
        };
        let failures = u32::try_from(get::<i64>(&row, "failures")?).unwrap_or(u32::MAX);
        let state: String = get(&row, "state")?;
        if state != "locked" {
            tx.commit().await.map_err(StoreError::from_sqlx)?;
            return Ok(OtpFailure::Counted(failures));
        }
        insert_audit(lock_audit, at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from_sqlx)?;
        let ended = end_prompts(
            &mut tx,
            b.tenant_id.as_str(),
            b.user_id.as_str(),
            at,
            prompts,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from_sqlx)?;
        Ok(OtpFailure::Locked { failures, ended })
    }

    async fn reset_otp_failures(
        &self,
        b: &BindingRecord,
        drift_steps: Option<i64>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::RESET_OTP_FAILURES)
            .bind(drift_steps)
            .bind(b.tenant_id.as_str())
            .bind(b.user_id.as_str())
            .bind(b.credential_id.as_str())
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn take_enrollment_attempt(
        &self,
        id: &CredentialId,
        threshold: u32,
        lock_seconds: u32,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::TAKE_ENROLLMENT_ATTEMPT)
            .bind(i64::from(threshold.max(1)))
            .bind(now)
            .bind(i64::from(lock_seconds))
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(done.rows_affected() == 1)
    }
}
