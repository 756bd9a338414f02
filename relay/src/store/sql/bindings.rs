//! Binding state changes (see `store/bindings.rs`, which holds their statements), each
//! with its audit event and the prompts it ends in one transaction.

use onepush_protocol::CredentialId;
use onepush_protocol::api::BindingState;

use super::outbox::insert_outbox;
use super::tenants::insert_audit;
use crate::store::bindings::{from_states, sql};
use crate::store::codec::{binding_state_str, token_kind_str};
use crate::store::decode;
use crate::store::plan::{Conn, Mode, count, run, stmt, text};
use crate::store::{
    BindingChange, BindingChanged, BindingRecord, ChallengeRecord, EndPrompts, NewAudit,
    OtpFailure, Store, StoreError,
};

/// Ends the user's pending challenges (but `prompts.spare`), queueing each one's webhook
/// and appending its audit event.
async fn end_prompts(
    c: &mut impl Conn,
    tenant: &str,
    user: &str,
    at: i64,
    prompts: &EndPrompts,
) -> Result<Vec<ChallengeRecord>, StoreError> {
    let spare = prompts.spare.map(|id| id.to_string()).unwrap_or_default();
    let ended = c
        .rows(
            stmt!(sql::END_PROMPTS, at, tenant, user, spare),
            decode::challenge,
        )
        .await?;
    for ch in &ended {
        let (webhook, audit) = (prompts.notice)(ch);
        if let Some(message) = webhook {
            insert_outbox(c, &message, at).await?;
        }
        insert_audit(c, &audit, at).await?;
    }
    Ok(ended)
}

/// Bindings: enrolling, counting OTP failures, lifecycle changes; and the enrollment
/// attempts counted per credential.
impl Store {
    /// Binds a user (a new binding, or over an `unregistered` one) and appends `audit`, in
    /// one transaction that also clears the credential's failed enrollment attempts.
    /// `Conflict` (and nothing written) if the user has a binding in any other state: of
    /// two concurrent enrollments of one user, one gets `Conflict`.
    pub async fn insert_binding(
        &self,
        b: &BindingRecord,
        audit: &NewAudit,
    ) -> Result<(), StoreError> {
        let (b, audit) = (b.clone(), audit.clone());
        run!(self, Mode::Transaction, |c| {
            // A concurrent insert for the same user waits for this one's commit, then finds
            // the row in a state other than `unregistered`: no row, `Conflict`.
            let inserted = c
                .execute(stmt!(
                    sql::INSERT_BINDING,
                    b.tenant_id.as_str(),
                    b.user_id.as_str(),
                    b.credential_id.as_str(),
                    binding_state_str(b.state),
                    &b.lock_reason,
                    b.grace_until,
                    b.failures,
                    b.drift_steps,
                    b.enrolled_at,
                    token_kind_str(b.kind),
                ))
                .await?;
            if inserted != 1 {
                return Err(StoreError::Conflict);
            }
            c.execute(stmt!(
                sql::CLEAR_ENROLLMENT_ATTEMPTS,
                b.credential_id.as_str()
            ))
            .await?;
            insert_audit(c, &audit, b.enrolled_at).await
        })
        .await
    }

    /// Makes `change` if the binding is in one of its `from` states (one conditional
    /// update) and, in the same transaction, appends its audit event and, when it leaves
    /// the binding in a state other than `active`, ends the user's pending challenges.
    /// `None` (nothing written) when the binding is not in a `from` state or is missing.
    pub async fn change_binding(
        &self,
        change: &BindingChange,
        at: i64,
        prompts: &EndPrompts,
    ) -> Result<Option<BindingChanged>, StoreError> {
        let [s1, s2, s3, s4] = from_states(&change.from)?;
        let (change, prompts) = (change.clone(), prompts.clone());
        run!(self, Mode::Transaction, |c| {
            let changed = stmt!(
                sql::CHANGE_BINDING,
                binding_state_str(change.to),
                &change.lock_reason,
                change.grace_until,
                change.tenant_id.as_str(),
                change.user_id.as_str(),
                s1,
                s2,
                s3,
                s4,
                change.credential_id.as_ref().map(CredentialId::as_str),
            );
            let Some(binding) = c.optional(changed, decode::binding).await? else {
                return Ok(None);
            };
            insert_audit(c, &change.audit, at).await?;
            let ended = if change.to == BindingState::Active {
                Vec::new()
            } else {
                let (tenant, user) = (change.tenant_id.as_str(), change.user_id.as_str());
                end_prompts(c, tenant, user, at, &prompts).await?
            };
            Ok(Some(BindingChanged { binding, ended }))
        })
        .await
    }

    /// Counts one wrong OTP on `binding` (its tenant, user and credential) while it is
    /// `active`: `failures + 1`, and locked (`otp_failures`) when that reaches
    /// `threshold`, in one statement; when it locks, appends `lock_audit` and ends the
    /// user's pending challenges in the same transaction. Of N concurrent wrong codes,
    /// exactly N are counted until the lock and the rest answer `NotActive`.
    pub async fn record_otp_failure(
        &self,
        b: &BindingRecord,
        threshold: u32,
        at: i64,
        lock_audit: &NewAudit,
        prompts: &EndPrompts,
    ) -> Result<OtpFailure, StoreError> {
        let (b, lock_audit, prompts) = (b.clone(), lock_audit.clone(), prompts.clone());
        run!(self, Mode::Transaction, |c| {
            // PostgreSQL re-checks `state = 'active'` on the newest row after waiting for a
            // concurrent update's lock: N concurrent failures count N, none past the lock.
            let failure = stmt!(
                sql::OTP_FAILURE,
                threshold.max(1),
                b.tenant_id.as_str(),
                b.user_id.as_str(),
                b.credential_id.as_str(),
            );
            let counted = c
                .optional(failure, |r| Ok((count(r, "failures")?, text(r, "state")?)))
                .await?;
            let Some((failures, state)) = counted else {
                return Ok(OtpFailure::NotActive);
            };
            if state != "locked" {
                return Ok(OtpFailure::Counted(failures));
            }
            insert_audit(c, &lock_audit, at).await?;
            let (tenant, user) = (b.tenant_id.as_str(), b.user_id.as_str());
            let ended = end_prompts(c, tenant, user, at, &prompts).await?;
            Ok(OtpFailure::Locked { failures, ended })
        })
        .await
    }

    /// A right OTP (or resync) on `binding` while it is `active`: its failures start
    /// again from 0 and, with `drift_steps`, its drift is set. False (nothing written)
    /// when the binding is no longer active or bound to the credential.
    pub async fn reset_otp_failures(
        &self,
        b: &BindingRecord,
        drift_steps: Option<i64>,
    ) -> Result<bool, StoreError> {
        let reset = stmt!(
            sql::RESET_OTP_FAILURES,
            drift_steps,
            b.tenant_id.as_str(),
            b.user_id.as_str(),
            b.credential_id.as_str(),
        );
        Ok(self.execute(reset).await? == 1)
    }

    /// Counts an enrollment attempt against credential `id` before its codes are checked:
    /// false (nothing counted) while the credential is locked for enrollment. The
    /// `threshold`-th attempt since the last lock or successful enrollment locks it for
    /// `lock_seconds` from `now`; after that the count starts again. One statement, so
    /// concurrent attempts are counted exactly. [`insert_binding`](Self::insert_binding)
    /// clears the count.
    pub async fn take_enrollment_attempt(
        &self,
        id: &CredentialId,
        threshold: u32,
        lock_seconds: u32,
        now: i64,
    ) -> Result<bool, StoreError> {
        let take = stmt!(
            sql::TAKE_ENROLLMENT_ATTEMPT,
            threshold.max(1),
            now,
            lock_seconds,
            id.as_str(),
        );
        Ok(self.execute(take).await? == 1)
    }
}
