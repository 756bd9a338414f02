//! Binding state changes, each one conditional statement (issue 22): no binding is read,
//! changed in memory and written back, so concurrent requests (on one relay or several)
//! cannot overwrite each other, and a stale request cannot put a locked, suspended or
//! unregistered binding back to `active`.
//!
//! A binding leaving `active` ends its user's pending challenges in the same transaction
//! ([`EndPrompts`]: each ends `cancelled`, with its webhook queued and its audit event
//! appended), and a challenge is only inserted while its binding is active (checked in
//! the insert's transaction), so no prompt outlives the change.

use std::sync::Arc;

use onepush_protocol::api::BindingState;
use onepush_protocol::{ChallengeId, CredentialId, TenantId, UserId};

use super::{BindingRecord, ChallengeRecord, NewAudit, OutboxMessage, StoreError};

/// What a pending challenge ended by a binding change leaves behind: its webhook (`None`
/// when the tenant has none) and its audit event, written in the change's transaction.
pub type PromptNotice =
    Arc<dyn Fn(&ChallengeRecord) -> (Option<OutboxMessage>, NewAudit) + Send + Sync>;

/// How a binding leaving `active` ends its user's pending challenges: every challenge of
/// the user that is pending and not yet overdue ends `cancelled` (the overdue ones are
/// left to the deadline), except `spare`.
#[derive(Clone)]
pub struct EndPrompts {
    /// A challenge left pending (the one a "not me" denial is ending itself).
    pub spare: Option<ChallengeId>,
    /// What each ended challenge leaves behind.
    pub notice: PromptNotice,
}

impl std::fmt::Debug for EndPrompts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndPrompts")
            .field("spare", &self.spare)
            .finish_non_exhaustive()
    }
}

/// A lifecycle change of one binding, made only from the states in `from`.
#[derive(Debug, Clone, PartialEq)]
pub struct BindingChange {
    /// The bank.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// Only if the binding is (still) to this credential (`None`: whichever).
    pub credential_id: Option<CredentialId>,
    /// The states the change is made from (1 to 4 of them).
    pub from: Vec<BindingState>,
    /// The state after. To `active`, the OTP failures start again from 0; to any other
    /// state, the user's pending challenges end ([`EndPrompts`]).
    pub to: BindingState,
    /// Why locked (stored as given).
    pub lock_reason: Option<String>,
    /// Password-only use allowed until (stored as given).
    pub grace_until: Option<i64>,
    /// Appended in the same transaction when the change is made.
    pub audit: NewAudit,
}

/// A change made: the binding as it now is, and the challenges it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct BindingChanged {
    /// The binding after the change.
    pub binding: BindingRecord,
    /// The pending challenges it ended (`cancelled`), as stored.
    pub ended: Vec<ChallengeRecord>,
}

/// What counting one wrong OTP did.
#[derive(Debug, Clone, PartialEq)]
pub enum OtpFailure {
    /// Counted; the binding stays active with this many consecutive failures.
    Counted(u32),
    /// Counted, and this failure reached the threshold: the binding is now locked
    /// (`otp_failures`) and its pending challenges ended.
    Locked {
        /// The failures, the threshold.
        failures: u32,
        /// The pending challenges ended (`cancelled`).
        ended: Vec<ChallengeRecord>,
    },
    /// Not counted: the binding is no longer active (or no longer bound to the credential).
    NotActive,
}

/// The 4 states of a [`BindingChange::from`] as bound to its statement (`IN ($6, $7,
/// $8, $9)`): the list repeated to fill the 4 places. `Corrupt` when empty or longer.
pub(crate) fn from_states(from: &[BindingState]) -> Result<[&'static str; 4], StoreError> {
    if from.is_empty() || from.len() > 4 {
        return Err(StoreError::Corrupt(format!(
            "a binding change is made from 1 to 4 states, not {}",
            from.len()
        )));
    }
    Ok(std::array::from_fn(|i| {
        super::codec::binding_state_str(from[i % from.len()])
    }))
}

/// The statements both backends run (`$n` parameters, first appearing in order: see
/// `store/plan`).
pub(crate) mod sql {
    /// Binds a user unless it has a binding in a state other than `unregistered`.
    pub const INSERT_BINDING: &str = "INSERT INTO bindings (tenant_id, user_id, credential_id, state, \
         lock_reason, grace_until, failures, drift_steps, enrolled_at, kind) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET credential_id = excluded.credential_id, \
         kind = excluded.kind, state = excluded.state, lock_reason = excluded.lock_reason, grace_until = excluded.grace_until, \
         failures = excluded.failures, drift_steps = excluded.drift_steps, enrolled_at = excluded.enrolled_at \
         WHERE bindings.state = 'unregistered'";

    /// A successful enrollment clears the credential's failed attempts.
    pub const CLEAR_ENROLLMENT_ATTEMPTS: &str =
        "UPDATE credentials SET enroll_failures = 0, enroll_locked_until = NULL WHERE id = $1";

    /// A lifecycle change from one of four states (repeated to fill the places).
    pub const CHANGE_BINDING: &str = "UPDATE bindings SET state = $1, lock_reason = $2, grace_until = $3, \
         failures = CASE WHEN $1 = 'active' THEN 0 ELSE failures END \
         WHERE tenant_id = $4 AND user_id = $5 AND state IN ($6, $7, $8, $9) \
         AND ($10 IS NULL OR credential_id = $10) RETURNING *";

    /// One wrong OTP: counted, and the lock decided, in the same statement.
    pub const OTP_FAILURE: &str = "UPDATE bindings SET failures = failures + 1, \
         state = CASE WHEN failures + 1 >= $1 THEN 'locked' ELSE state END, \
         lock_reason = CASE WHEN failures + 1 >= $1 THEN 'otp_failures' ELSE lock_reason END \
         WHERE tenant_id = $2 AND user_id = $3 AND credential_id = $4 AND state = 'active' \
         RETURNING failures, state";

    /// A right code: failures back to 0 (and the drift set) while active.
    pub const RESET_OTP_FAILURES: &str = "UPDATE bindings SET failures = 0, \
         drift_steps = COALESCE($1, drift_steps) \
         WHERE tenant_id = $2 AND user_id = $3 AND credential_id = $4 AND state = 'active'";

    /// Ends the user's pending, not yet overdue challenges but one (`$4`, or `''`).
    pub const END_PROMPTS: &str = "UPDATE challenges SET status = 'cancelled', decided_at = $1 \
         WHERE tenant_id = $2 AND user_id = $3 AND status = 'pending' AND expires_at > $1 \
         AND id <> $4 RETURNING id, tenant_id, user_id, credential_id, kind, context, number, \
         nonce, status, created_at, expires_at, decided_at, reached_device, decision";

    /// One enrollment attempt, unless locked; the threshold-th locks (`$1` threshold, `$2`
    /// now, `$3` lock seconds, `$4` credential).
    pub const TAKE_ENROLLMENT_ATTEMPT: &str = "UPDATE credentials SET \
         enroll_failures = CASE WHEN enroll_failures >= $1 THEN 1 ELSE enroll_failures + 1 END, \
         enroll_locked_until = CASE \
             WHEN (CASE WHEN enroll_failures >= $1 THEN 1 ELSE enroll_failures + 1 END) >= $1 \
             THEN $2 + $3 ELSE NULL END \
         WHERE id = $4 AND (enroll_locked_until IS NULL OR enroll_locked_until <= $2)";

    /// Ends a pending challenge (any status but `approved`). One a device's decision
    /// ends names its signer `$5` (`NULL`: no signer) and ends it only while that
    /// credential is not revoked, read in the same statement: the relay may have
    /// verified the signature with a key it kept.
    pub const FINISH_CHALLENGE: &str = "UPDATE challenges SET status = $1, decided_at = $2, \
         decision = $3 WHERE id = $4 AND status = 'pending' \
         AND (SELECT cr.revoked_at FROM credentials cr WHERE cr.id = $5) IS NULL";

    /// Ends a pending challenge `approved`: only while its binding is active and bound to
    /// its credential, which is the signer `$5` (`NULL`: no signer to check), and that
    /// signer is not revoked (as [`FINISH_CHALLENGE`] checks it). The binding
    /// is read by a scalar subquery (`NULL`, so no row, when the user has none), not
    /// `EXISTS`: PostgreSQL turns `EXISTS` into a join whose credential equality lets it
    /// find the challenge through `challenges_by_credential` (every challenge the
    /// credential ever had) instead of its primary key, while a table's statistics are new.
    pub const APPROVE_CHALLENGE: &str = "UPDATE challenges SET status = $1, decided_at = $2, \
         decision = $3 WHERE id = $4 AND status = 'pending' AND (SELECT b.state = 'active' \
         AND b.credential_id = challenges.credential_id \
         AND b.credential_id = COALESCE($5, challenges.credential_id) FROM bindings b \
         WHERE b.tenant_id = challenges.tenant_id AND b.user_id = challenges.user_id) \
         AND (SELECT cr.revoked_at FROM credentials cr WHERE cr.id = $5) IS NULL";
}
