//! Use cases: what the relay does, independent of HTTP. Handlers call these; these
//! call the [`Store`], the [`Notifier`] and the [`PushSender`].

mod bound;
pub mod challenges;
mod decisions;
mod device;
pub mod device_auth;
mod enrollment;
pub mod lifecycle;
pub mod maintenance;
mod offline;
mod otp;
mod signers;
mod tenant_cache;
pub mod tenants;
mod views;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use onepush_protocol::api::{BindingState, DecisionRecord};
use onepush_protocol::challenge::{self, ChallengeEvent};
use onepush_protocol::{ChallengeStatus, TenantId, UserId};

use crate::clock::Clock;
use crate::keys::RelayKeys;
use crate::notify::{ChallengeChange, Notifier};
use crate::push::PushSender;
use crate::settings::Settings;
use crate::store::{BindingRecord, ChallengeRecord, NewAudit, Store, StoreError, TenantRecord};

pub use challenges::ChallengeError;
pub use decisions::{DecisionError, PeekedDecision, decision_signer};
pub use device::DeviceError;
pub use enrollment::{CodesRefused, EnrollmentError};
pub use lifecycle::{Lifecycle, LifecycleError};
pub use offline::OfflineError;
pub use otp::OtpError;
pub use tenants::{API_KEY_PREFIX, AuthError, NewTenant, TenantError};

/// A binding that is not active where a use case needs an active one: its state and,
/// when the bank set one, until when password-only use is allowed (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the user's one-push binding is {state:?}")]
pub struct NotActive {
    /// The binding's state.
    pub state: BindingState,
    /// The grace date of a suspended or unregistered binding (Unix seconds).
    pub grace_until: Option<i64>,
}

impl NotActive {
    /// The state of `binding`.
    pub fn of(binding: &BindingRecord) -> Self {
        Self {
            state: binding.state,
            grace_until: binding.grace_until,
        }
    }
}

/// Why an event could not end a pending challenge.
#[derive(Debug, thiserror::Error)]
pub enum EndError {
    /// The challenge had ended already, in this status.
    #[error("challenge is already {0}")]
    Decided(ChallengeStatus),
    /// The challenge's deadline had passed; it ended in this status.
    #[error("challenge deadline passed; it is {0}")]
    Expired(ChallengeStatus),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A credential's sealed key that does not open (another master key, a damaged row):
/// a fault of the relay, not of the request.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyUnreadable(pub String);

/// Everything a use case needs; cheap to clone.
#[derive(Clone)]
pub struct Service {
    pub(crate) store: Arc<Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) push: Arc<dyn PushSender>,
    pub(crate) keys: Arc<RelayKeys>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) webhook_wake: Arc<tokio::sync::Notify>,
    /// This relay's `maintenance` setting (R18), apart from the stored suspensions.
    local_maintenance: Arc<AtomicBool>,
    /// The stored suspensions as last read ([`maintenance`]).
    maintenance_rows: Arc<maintenance::MaintenanceCache>,
    tenants: Arc<tenant_cache::TenantCache>,
    /// The credential each user was last seen bound to ([`bound`]).
    bound: Arc<bound::BoundCredentials>,
    /// The keys of credentials whose decisions this relay verified ([`signers`]).
    signer_keys: Arc<signers::SignerKeys>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Assembles the service.
    pub fn new(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        notifier: Arc<dyn Notifier>,
        push: Arc<dyn PushSender>,
        keys: Arc<RelayKeys>,
        settings: Arc<Settings>,
    ) -> Self {
        let local_maintenance = Arc::new(AtomicBool::new(settings.maintenance.enabled));
        Self {
            store,
            clock,
            notifier,
            push,
            keys,
            settings,
            webhook_wake: Arc::new(tokio::sync::Notify::new()),
            local_maintenance,
            maintenance_rows: Arc::default(),
            tenants: Arc::default(),
            bound: Arc::default(),
            signer_keys: Arc::default(),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The current time, Unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    /// Turns this relay's own maintenance switch (the `maintenance` setting, R18) on or
    /// off: this relay only, not stored. The stored suspensions every relay honours are
    /// [`maintenance_on`](Self::maintenance_on) and [`maintenance_off`](Self::maintenance_off).
    pub fn set_local_maintenance(&self, on: bool) {
        self.local_maintenance.store(on, Ordering::SeqCst);
    }

    /// Whether this relay's own maintenance switch is on.
    pub fn local_maintenance(&self) -> bool {
        self.local_maintenance.load(Ordering::SeqCst)
    }

    /// Appends an audit event, logging (not failing) if the store refuses.
    pub(crate) async fn audit(&self, event: NewAudit) {
        if let Err(e) = self.store.append_audit(&event, self.now()).await {
            tracing::error!(error = %e, event = %event.event, "cannot append audit event");
        }
    }

    /// Applies `event` to a pending challenge, saves, audits, notifies and queues the
    /// webhook. Answers the challenge as it now stands (someone else's end if it lost a race).
    pub(crate) async fn finish(
        &self,
        ch: &ChallengeRecord,
        event: ChallengeEvent,
        decision: Option<DecisionRecord>,
        binding_locked: bool,
    ) -> Result<ChallengeRecord, EndError> {
        self.finish_because(ch, event, decision, binding_locked, None)
            .await
    }

    /// [`finish`](Self::finish) with the `reason` the audit event and the webhook give
    /// (a cancel's cause: `reported_lost`, `credential_revoked`...).
    pub(crate) async fn finish_because(
        &self,
        ch: &ChallengeRecord,
        event: ChallengeEvent,
        decision: Option<DecisionRecord>,
        binding_locked: bool,
        reason: Option<&'static str>,
    ) -> Result<ChallengeRecord, EndError> {
        match challenge::apply(ch.status, ch.expires_at, event, self.now()) {
            Ok(status) => Ok(self
                .save_end(ch, status, decision, binding_locked, reason)
                .await?),
            Err(challenge::TransitionError::AlreadyDecided(s)) => Err(EndError::Decided(s)),
            Err(challenge::TransitionError::PastDeadline) => {
                let ended = self.end_if_overdue(ch.clone()).await?;
                Err(EndError::Expired(ended.status))
            }
            Err(challenge::TransitionError::BeforeDeadline) => Ok(ch.clone()),
        }
    }

    async fn save_end(
        &self,
        ch: &ChallengeRecord,
        status: ChallengeStatus,
        decision: Option<DecisionRecord>,
        binding_locked: bool,
        reason: Option<&'static str>,
    ) -> Result<ChallengeRecord, StoreError> {
        let now = self.now();
        let mut done = ch.clone();
        done.status = status;
        done.decided_at = Some(now);
        done.decision = decision;
        // Queued in the same transaction as the end, so no relay can die between the two.
        let tenant = self.tenant(&done.tenant_id).await?;
        let webhook = webhook_for(&tenant, &done, binding_locked, reason);
        // So is the `challenge.<status>` audit event (only the winner's).
        let audit = end_audit(&done, binding_locked, reason);
        if !self
            .store
            .finish_challenge_audited(
                &ch.id,
                status,
                now,
                done.decision.as_ref(),
                webhook.as_ref(),
                Some(&audit),
            )
            .await?
        {
            // Another request (maybe on another relay) ended it first.
            return self.store.challenge(&ch.id).await;
        }
        if webhook.is_some() {
            self.webhook_wake.notify_one();
        }
        self.after_finish(&done).await;
        Ok(done)
    }

    async fn after_finish(&self, done: &ChallengeRecord) {
        let latency = (done.decided_at.unwrap_or(done.created_at) - done.created_at).max(0);
        crate::metrics::challenge_ended(done.kind, done.status, latency);
        self.notifier.publish(ChallengeChange {
            challenge_id: done.id,
            credential_id: done.credential_id.clone(),
            status: done.status,
            record: Some(Arc::new(done.clone())),
        });
        self.after_refusal(done).await;
    }

    /// Ends `ch` with the deadline event if it is pending and overdue; answers it as it stands.
    pub(crate) async fn end_if_overdue(
        &self,
        ch: ChallengeRecord,
    ) -> Result<ChallengeRecord, StoreError> {
        let now = self.now();
        if ch.status != ChallengeStatus::Pending || now < ch.expires_at {
            return Ok(ch);
        }
        // Re-read so a channel that reached the device a moment ago counts.
        let fresh = self.store.challenge(&ch.id).await?;
        let event = ChallengeEvent::Deadline {
            reached_device: fresh.reached_device,
        };
        match challenge::apply(fresh.status, fresh.expires_at, event, now) {
            Ok(status) => self.save_end(&fresh, status, None, false, None).await,
            Err(_) => Ok(fresh),
        }
    }

    /// Ends every overdue pending challenge; answers how many were ended.
    pub async fn expire_overdue(&self) -> Result<usize, StoreError> {
        let mut ended = 0;
        loop {
            let batch = self.store.overdue_challenges(self.now(), 200).await?;
            if batch.is_empty() {
                return Ok(ended);
            }
            for ch in batch {
                self.end_if_overdue(ch).await?;
                ended += 1;
            }
        }
    }

    /// The tenant `id` (from the [`tenant_cache`] when read less than a second ago).
    pub(crate) async fn tenant(&self, id: &TenantId) -> Result<TenantRecord, StoreError> {
        if let Some(tenant) = self.tenants.by_id(id) {
            return Ok(tenant);
        }
        let tenant = self.store.tenant(id).await?;
        self.tenants.keep(&tenant, None);
        Ok(tenant)
    }

    /// Tells everyone about challenges a binding change ended in the store (the webhooks
    /// and audit events were written with the change): metrics, event streams and
    /// long-polls, and the webhook sender.
    pub(crate) async fn prompts_ended(&self, ended: &[ChallengeRecord]) {
        for done in ended {
            self.after_finish(done).await;
        }
        if !ended.is_empty() {
            self.webhook_wake.notify_one();
        }
    }

    /// Makes `change` (a compare-and-set on the binding's state) and, in the same
    /// transaction, ends the user's pending challenges for `reason` (`spare` left
    /// pending); then sends what ending them owes (webhooks, streams). `None`: the
    /// binding was no longer in a `from` state, nothing changed.
    pub(crate) async fn apply_binding_change(
        &self,
        change: &crate::store::BindingChange,
        reason: &'static str,
        binding_locked: bool,
        spare: Option<onepush_protocol::ChallengeId>,
    ) -> Result<Option<crate::store::BindingChanged>, StoreError> {
        let prompts = self
            .end_prompts(&change.tenant_id, reason, binding_locked, spare)
            .await?;
        let done = self
            .store
            .change_binding(change, self.now(), &prompts)
            .await?;
        if let Some(done) = &done {
            self.prompts_ended(&done.ended).await;
        }
        Ok(done)
    }

    /// How a binding change about to be made in `tenant` ends the user's pending
    /// challenges: each `cancelled` for `reason`, with its webhook and its
    /// `challenge.cancelled` audit event (both naming the reason), `spare` left pending.
    pub(crate) async fn end_prompts(
        &self,
        tenant: &TenantId,
        reason: &'static str,
        binding_locked: bool,
        spare: Option<onepush_protocol::ChallengeId>,
    ) -> Result<crate::store::EndPrompts, StoreError> {
        let tenant = self.tenant(tenant).await?;
        let notice: crate::store::PromptNotice = Arc::new(move |ch: &ChallengeRecord| {
            (
                webhook_for(&tenant, ch, binding_locked, Some(reason)),
                end_audit(ch, binding_locked, Some(reason)),
            )
        });
        Ok(crate::store::EndPrompts { spare, notice })
    }

    /// The binding of `user` in `tenant`, `None` if the user has none.
    pub(crate) async fn user_binding(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
    ) -> Result<Option<BindingRecord>, StoreError> {
        crate::store::found(self.store.binding(&tenant.id, user).await)
    }
}

/// Random bytes as base64url.
pub(crate) fn random_b64(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    onepush_protocol::keys::fill_random(&mut bytes);
    onepush_protocol::b64::encode(bytes)
}

/// SHA-256.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The `challenge.<status>` audit event of the ended `ch`; a `credential_mismatch` names
/// the credential that signed the foreign answer.
fn end_audit(ch: &ChallengeRecord, binding_locked: bool, reason: Option<&str>) -> NewAudit {
    let mut detail = serde_json::json!({ "binding_locked": binding_locked });
    if let Some(reason) = reason {
        detail["reason"] = reason.into();
    }
    if ch.status == ChallengeStatus::CredentialMismatch
        && let Some(d) = &ch.decision
    {
        detail["signed_by"] = d.credential_id.as_str().into();
    }
    NewAudit {
        tenant_id: Some(ch.tenant_id.clone()),
        event: format!("challenge.{}", ch.status),
        user_id: Some(ch.user_id.clone()),
        credential_id: Some(ch.credential_id.clone()),
        challenge_id: Some(ch.id),
        detail,
    }
}

/// The "challenge decided" webhook message for the ended `ch`, if `tenant` has a webhook.
fn webhook_for(
    tenant: &TenantRecord,
    ch: &ChallengeRecord,
    binding_locked: bool,
    reason: Option<&str>,
) -> Option<crate::store::OutboxMessage> {
    tenant.webhook_url.as_ref()?;
    let event = onepush_protocol::api::WebhookEvent {
        id: format!("msg_{}", ch.id),
        kind: "challenge.decided".to_owned(),
        timestamp: crate::clock::from_unix(ch.decided_at.unwrap_or(ch.created_at)),
        data: views::bank_challenge(ch),
        binding_locked,
        reason: reason.map(str::to_owned),
    };
    let body = serde_json::to_vec(&event).expect("webhook events serialise");
    Some(crate::store::OutboxMessage {
        id: event.id,
        tenant_id: ch.tenant_id.clone(),
        body,
        created_at: event.timestamp.unix_timestamp(),
        attempts: 0,
    })
}
