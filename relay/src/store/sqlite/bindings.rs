//! Binding state changes (see `store/bindings.rs`): the statements PostgreSQL runs, with
//! `?n` parameters, each job one savepoint on the one writer connection.

use async_trait::async_trait;
use onepush_protocol::CredentialId;
use onepush_protocol::api::BindingState;
use rusqlite::{Connection, params};

use super::SqliteStore;
use super::outbox::insert_outbox;
use super::rows::{self, all, exec, get, one};
use super::tenants::insert_audit;
use crate::store::bindings::{from_states, sql};
use crate::store::codec::{binding_state_str, token_kind_str};
use crate::store::{
    BindingChange, BindingChanged, BindingRecord, BindingStore, ChallengeRecord, EndPrompts,
    NewAudit, OtpFailure, StoreError, found,
};

/// A shared statement with SQLite's numbered parameters (`$n` → `?n`).
fn q(statement: &str) -> String {
    statement.replace('$', "?")
}

/// Ends the user's pending challenges (but `prompts.spare`), queueing each one's webhook
/// and appending its audit event.
fn end_prompts(
    conn: &Connection,
    tenant: &str,
    user: &str,
    at: i64,
    prompts: &EndPrompts,
) -> Result<Vec<ChallengeRecord>, StoreError> {
    let spare = prompts.spare.map(|id| id.to_string()).unwrap_or_default();
    let ended = all(
        conn,
        &q(sql::END_PROMPTS),
        params![at, tenant, user, spare],
        rows::challenge,
    )?;
    for ch in &ended {
        let (webhook, audit) = (prompts.notice)(ch);
        if let Some(message) = webhook {
            insert_outbox(conn, &message, at)?;
        }
        insert_audit(conn, &audit, at)?;
    }
    Ok(ended)
}

#[async_trait]
impl BindingStore for SqliteStore {
    async fn insert_binding(&self, b: &BindingRecord, audit: &NewAudit) -> Result<(), StoreError> {
        let (b, audit) = (b.clone(), audit.clone());
        self.write(move |c| {
            let changed = exec(
                c,
                &q(sql::INSERT_BINDING),
                params![
                    b.tenant_id.as_str(),
                    b.user_id.as_str(),
                    b.credential_id.as_str(),
                    binding_state_str(b.state),
                    b.lock_reason,
                    b.grace_until,
                    i64::from(b.failures),
                    b.drift_steps,
                    b.enrolled_at,
                    token_kind_str(b.kind)
                ],
            )?;
            if changed != 1 {
                return Err(StoreError::Conflict);
            }
            exec(
                c,
                &q(sql::CLEAR_ENROLLMENT_ATTEMPTS),
                [b.credential_id.as_str()],
            )?;
            insert_audit(c, &audit, b.enrolled_at).map(drop)
        })
        .await
    }

    async fn change_binding(
        &self,
        change: &BindingChange,
        at: i64,
        prompts: &EndPrompts,
    ) -> Result<Option<BindingChanged>, StoreError> {
        let [s1, s2, s3, s4] = from_states(&change.from)?;
        let (change, prompts) = (change.clone(), prompts.clone());
        self.write(move |c| {
            let read = one(
                c,
                &q(sql::CHANGE_BINDING),
                params![
                    binding_state_str(change.to),
                    change.lock_reason,
                    change.grace_until,
                    change.tenant_id.as_str(),
                    change.user_id.as_str(),
                    s1,
                    s2,
                    s3,
                    s4,
                    change.credential_id.as_ref().map(CredentialId::as_str)
                ],
                rows::binding,
            );
            let Some(binding) = found(read)? else {
                return Ok(None);
            };
            insert_audit(c, &change.audit, at)?;
            let ended = if change.to == BindingState::Active {
                Vec::new()
            } else {
                end_prompts(
                    c,
                    change.tenant_id.as_str(),
                    change.user_id.as_str(),
                    at,
                    &prompts,
                )?
            };
            Ok(Some(BindingChanged { binding, ended }))
        })
        .await
    }

    async fn record_otp_failure(
        &self,
        b: &BindingRecord,
        threshold: u32,
        at: i64,
        lock_audit: &NewAudit,
        prompts: &EndPrompts,
    ) -> Result<OtpFailure, StoreError> {
        let (b, lock_audit, prompts) = (b.clone(), lock_audit.clone(), prompts.clone());
        self.write(move |c| {
            let counted = one(
                c,
                &q(sql::OTP_FAILURE),
                params![
                    i64::from(threshold.max(1)),
                    b.tenant_id.as_str(),
                    b.user_id.as_str(),
                    b.credential_id.as_str()
                ],
                |r| Ok((get::<i64>(r, "failures")?, get::<String>(r, "state")?)),
            );
            let Some((failures, state)) = found(counted)? else {
                return Ok(OtpFailure::NotActive);
            };
            let failures = u32::try_from(failures).unwrap_or(u32::MAX);
            if state != "locked" {
                return Ok(OtpFailure::Counted(failures));
            }
            insert_audit(c, &lock_audit, at)?;
            let ended = end_prompts(c, b.tenant_id.as_str(), b.user_id.as_str(), at, &prompts)?;
            Ok(OtpFailure::Locked { failures, ended })
        })
        .await
    }

    async fn reset_otp_failures(
        &self,
        b: &BindingRecord,
        drift_steps: Option<i64>,
    ) -> Result<bool, StoreError> {
        let b = b.clone();
        let changed = self
            .write(move |c| {
                exec(
                    c,
                    &q(sql::RESET_OTP_FAILURES),
                    params![
                        drift_steps,
                        b.tenant_id.as_str(),
                        b.user_id.as_str(),
                        b.credential_id.as_str()
                    ],
                )
            })
            .await?;
        Ok(changed == 1)
    }

    async fn take_enrollment_attempt(
        &self,
        id: &CredentialId,
        threshold: u32,
        lock_seconds: u32,
        now: i64,
    ) -> Result<bool, StoreError> {
        let id = id.clone();
        let changed = self
            .write(move |c| {
                exec(
                    c,
                    &q(sql::TAKE_ENROLLMENT_ATTEMPT),
                    params![
                        i64::from(threshold.max(1)),
                        now,
                        i64::from(lock_seconds),
                        id.as_str()
                    ],
                )
            })
            .await?;
        Ok(changed == 1)
    }
}
