//! The records the [`Store`](super::Store) keeps and hands out.

use onepush_protocol::api::{BindingState, DecisionRecord, TokenKind};
use onepush_protocol::{
    ChallengeId, ChallengeKind, ChallengeStatus, Context, CredentialId, Jwk, PushChannel, TenantId,
    UserId,
};

/// A bank.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantRecord {
    /// Its slug.
    pub id: TenantId,
    /// Shown on the phone.
    pub display_name: String,
    /// Where decided challenges are `POST`ed, if anywhere.
    pub webhook_url: Option<String>,
    /// Standard Webhooks secret (`whsec_…`), sealed with the master key (associated
    /// data: the tenant; see [`crate::service::tenants::webhook_secret_aad`]).
    pub webhook_secret: Option<SealedSecret>,
    /// OTP failures that lock a binding.
    pub otp_lock_threshold: u32,
    /// Push fatigue: challenges of one user ended denied or expired unanswered within
    /// [`push_fatigue_window_seconds`](Self::push_fatigue_window_seconds) (with no
    /// approval since) after which new ones are refused; 0 = off.
    pub push_fatigue_threshold: u32,
    /// Push fatigue: the window, in seconds.
    pub push_fatigue_window_seconds: u32,
    /// Unix seconds.
    pub created_at: i64,
}

/// An app install's credential.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialRecord {
    /// Its ID.
    pub id: CredentialId,
    /// Its public signing key.
    pub jwk: Jwk,
    /// The TOTP secret, sealed with the master key (see [`crate::keys::RelayKeys::seal`]).
    pub totp_secret_sealed: Vec<u8>,
    /// The OCRA key of offline codes, sealed with the master key (associated data: the
    /// ID and `#ocra`); `None` for credentials provisioned before offline codes.
    pub ocra_key_sealed: Option<Vec<u8>>,
    /// Where to send Web Push messages.
    pub push_subscription: Option<PushChannel>,
    /// The kind of token the device provisioned itself as.
    pub kind: TokenKind,
    /// The newest TOTP step used (replay guard, shared by every binding).
    pub last_used_step: Option<u64>,
    /// When the device revoked it (Unix seconds).
    pub revoked_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A user's binding to a credential in one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct BindingRecord {
    /// The bank.
    pub tenant_id: TenantId,
    /// The bank's user.
    pub user_id: UserId,
    /// The credential.
    pub credential_id: CredentialId,
    /// The credential's kind, recorded at enrollment: read with the binding, so the
    /// challenge gate refuses a code token (`otp`) without another read.
    pub kind: TokenKind,
    /// Its state.
    pub state: BindingState,
    /// Why locked.
    pub lock_reason: Option<String>,
    /// Password-only use allowed until (Unix seconds).
    pub grace_until: Option<i64>,
    /// Consecutive OTP failures.
    pub failures: u32,
    /// Recorded drift, in steps.
    pub drift_steps: i64,
    /// Unix seconds.
    pub enrolled_at: i64,
}

/// A challenge.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeRecord {
    /// Its ID.
    pub id: ChallengeId,
    /// The bank.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// The credential it was sent to.
    pub credential_id: CredentialId,
    /// Its kind.
    pub kind: ChallengeKind,
    /// What is approved.
    pub context: Context,
    /// The number to match.
    pub number: Option<u8>,
    /// Per-challenge nonce the decision echoes.
    pub nonce: String,
    /// Where it stands.
    pub status: ChallengeStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// Deadline, Unix seconds.
    pub expires_at: i64,
    /// When it left pending.
    pub decided_at: Option<i64>,
    /// Whether any channel reached the device (push accepted, event stream, fetch).
    pub reached_device: bool,
    /// The device's signed answer.
    pub decision: Option<DecisionRecord>,
}

/// An audit event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAudit {
    /// The tenant it belongs to (`None` for device-wide events).
    pub tenant_id: Option<TenantId>,
    /// What happened (`challenge.approved`, ...).
    pub event: String,
    /// The user.
    pub user_id: Option<UserId>,
    /// The credential.
    pub credential_id: Option<CredentialId>,
    /// The challenge.
    pub challenge_id: Option<ChallengeId>,
    /// Details.
    pub detail: serde_json::Value,
}

/// A webhook message waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    /// `webhook-id`, stable across retries.
    pub id: String,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The body to POST.
    pub body: Vec<u8>,
    /// When the event happened (Unix seconds).
    pub created_at: i64,
    /// Attempts so far.
    pub attempts: u32,
}

/// What happened to one webhook attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxUpdate {
    /// Delivered: done.
    Delivered,
    /// Try again at this time (Unix seconds).
    RetryAt(i64),
    /// Give up.
    Failed,
}

/// What a new challenge must pass besides its user's binding (active, for push, bound to
/// its credential), checked where it is inserted (see
/// [`Store::insert_challenge_audited`](super::Store::insert_challenge_audited)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Admit {
    /// The most challenges the user may have pending and not overdue: at this many, a new
    /// one is refused.
    pub max_pending: Option<u32>,
    /// The push-fatigue rule: the user's recent refusals `(since, limit)` (as
    /// [`recent_refusals_for_user`](super::Store::recent_refusals_for_user)
    /// reads them) are read with the binding, and at `limit` of them a new one is refused.
    pub refusals: Option<(i64, u32)>,
}

impl Admit {
    /// Whether a challenge for `credential` may be made, given the `gate` read for its
    /// user and `pending` of their challenges pending. (PostgreSQL's insert checks the
    /// same in its SQL: `relay/src/store/sql/challenges.rs`.)
    pub fn admits(&self, gate: &ChallengeGate, pending: u32, credential: &CredentialId) -> bool {
        let binding = &gate.binding;
        binding.state == BindingState::Active
            && binding.kind == TokenKind::Push
            && &binding.credential_id == credential
            && self
                .refusals
                .is_none_or(|(_, limit)| gate.refusals.len() < limit as usize)
            && self.max_pending.is_none_or(|most| pending < most)
    }
}

/// Whether [`Store::insert_challenge_audited`](super::Store::insert_challenge_audited)
/// inserted the challenge, and what it was checked against.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// Inserted, with its idempotency key and audit event.
    Admitted(ChallengeGate),
    /// Nothing written: the user has no binding.
    NoBinding,
    /// Nothing written: [`Admit::admits`] refused it, given `gate` and `pending` (the
    /// user's challenges pending and not overdue; 0 when no limit was asked for).
    Refused {
        /// What was read for the user.
        gate: ChallengeGate,
        /// How many of their challenges were pending.
        pending: u32,
    },
}

/// What creating a challenge checks first, read together (see
/// [`Store::challenge_gate`](super::Store::challenge_gate)).
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeGate {
    /// The user's binding.
    pub binding: BindingRecord,
    /// The user's recent refusals, newest first, as
    /// [`recent_refusals_for_user`](super::Store::recent_refusals_for_user)
    /// answers them (empty when they were not asked for).
    pub refusals: Vec<i64>,
    /// The bound credential's push subscription, if it has one.
    pub push_subscription: Option<PushChannel>,
}

/// A secret sealed with the master key ([`crate::keys::RelayKeys::seal`]): nonce ‖
/// ciphertext ‖ tag. Never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(pub Vec<u8>);

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSecret(<redacted>)")
    }
}

/// An offline challenge (RFC 6287 OCRA): the question a bank's QR payload asks about one
/// transaction, answered at most once before its deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineRecord {
    /// Its ID.
    pub id: ChallengeId,
    /// The bank.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// The credential bound when it was made (whose OCRA key answers).
    pub credential_id: CredentialId,
    /// What kind of approval.
    pub kind: ChallengeKind,
    /// What is approved.
    pub context: Context,
    /// 16 random bytes, base64url.
    pub nonce: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The deadline, Unix seconds.
    pub expires_at: i64,
    /// When a right code used it (Unix seconds).
    pub used_at: Option<i64>,
}
