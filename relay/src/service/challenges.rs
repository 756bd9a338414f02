//! Creating, reading, long-polling and cancelling challenges, and pushing them out.

use std::sync::Arc;
use std::time::Duration;

use onepush_protocol::api::{
    BankChallenge, BindingState, ChallengeCreated, CreateChallenge, DEFAULT_TTL_SECONDS,
    MAX_TTL_SECONDS, MIN_TTL_SECONDS, MaintenanceStatus, PushPayload, TokenKind,
};
use onepush_protocol::challenge::ChallengeEvent;
use onepush_protocol::{ChallengeId, ChallengeStatus, TenantId, UserId};

use super::{EndError, NotActive, Service, random_b64, sha256, views};
use crate::clock::from_unix;
use crate::notify::ChallengeChange;
use crate::push::DeliveryOutcome;
use crate::service::TenantError;
use crate::store::{
    Admission, Admit, ChallengeGate, ChallengeRecord, NewAudit, OutboxMessage, StoreError,
    TenantRecord,
};
use crate::webhook::{PUSH_FATIGUE_EVENT, PushFatigueData, PushFatigueEvent};

/// A user locked out by push fatigue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lockout {
    /// Refused challenges counted (the threshold).
    refused: u32,
    /// When the oldest of them leaves the window (Unix seconds).
    until: i64,
}

/// Why a challenge could not be created, read or cancelled.
#[derive(Debug, thiserror::Error)]
pub enum ChallengeError {
    /// One-push is suspended for the bank (R18): the suspension in force.
    #[error("one-push is suspended for maintenance")]
    Maintenance(Box<MaintenanceStatus>),
    /// A field of the request is not acceptable; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// The user has no binding in the tenant.
    #[error("user {0} is not enrolled")]
    UnknownUser(UserId),
    /// The user's binding is not active.
    #[error(transparent)]
    NotActive(#[from] NotActive),
    /// The user's token is a code token (`otp`): nothing can be pushed to it (R10, R11).
    #[error("user {0} has a code token")]
    CodeToken(UserId),
    /// The user has this many challenges pending, the most allowed.
    #[error("user has {0} challenges pending")]
    TooManyPending(u32),
    /// Push fatigue by history: `refused` of the user's challenges ended denied or
    /// unanswered within the tenant's window, none approved since; new ones are refused
    /// until `until` (Unix seconds), `retry_after` seconds from now.
    #[error("push-fatigue lockout until {until}")]
    Lockout {
        /// Challenges ended denied or unanswered in the window.
        refused: u32,
        /// The tenant's window, in seconds.
        window_seconds: u32,
        /// When the lockout ends (Unix seconds).
        until: i64,
        /// Seconds until then.
        retry_after: u64,
    },
    /// The Idempotency-Key was used before with another request body.
    #[error("idempotency key reused with another body")]
    IdempotencyKeyReused,
    /// No such challenge in the tenant.
    #[error("challenge not found")]
    NotFound,
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

impl From<EndError> for ChallengeError {
    fn from(e: EndError) -> Self {
        match e {
            EndError::Decided(s) => Self::Decided(s),
            EndError::Expired(s) => Self::Expired(s),
            EndError::Store(e) => Self::Store(e),
        }
    }
}

fn request_hash(req: &CreateChallenge, ttl: u32) -> [u8; 32] {
    let canonical = serde_json::json!({
        "user_id": req.user_id,
        "kind": req.kind,
        "context": req.context.canonical_json(),
        "ttl_seconds": ttl,
        "number_matching": req.number_matching,
    });
    sha256(canonical.to_string().as_bytes())
}

fn random_number() -> u8 {
    let mut b = [0u8; 1];
    loop {
        onepush_protocol::keys::fill_random(&mut b);
        // 180 = 2 × 90: rejection sampling keeps 10–99 uniform.
        if b[0] < 180 {
            return 10 + b[0] % 90;
        }
    }
}

impl Service {
    /// `POST /v1/challenges`.
    pub async fn create_challenge(
        &self,
        tenant: &TenantRecord,
        req: CreateChallenge,
        idempotency_key: Option<String>,
    ) -> Result<ChallengeCreated, ChallengeError> {
        // From memory: the stored suspensions are read by the maintenance poll, not here.
        if let Some(status) = self.maintenance_refusal(&tenant.id) {
            return Err(ChallengeError::Maintenance(status));
        }
        let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
        if !(MIN_TTL_SECONDS..=MAX_TTL_SECONDS).contains(&ttl) {
            return Err(ChallengeError::Invalid(format!(
                "ttl_seconds must be {MIN_TTL_SECONDS} to {MAX_TTL_SECONDS}, got {ttl}"
            )));
        }
        onepush_protocol::transaction::check_context(req.kind, &req.context)
            .map_err(|e| ChallengeError::Invalid(e.to_string()))?;
        // Read and stored only with an Idempotency-Key (without one, `idempotent` refuses
        // the empty key before it looks at the hash): the canonical JSON and its digest
        // are not made for the requests that send none.
        let hash = if idempotency_key.is_some() {
            request_hash(&req, ttl)
        } else {
            [0; 32]
        };
        if let Some(key) = &idempotency_key
            && let Some(existing) = self.idempotent(tenant, key, &hash).await?
        {
            return Ok(existing);
        }
        let now = self.now();
        let admit = Admit {
            max_pending: Some(self.settings.push_fatigue.max_pending_per_user),
            refusals: refusals_query(tenant, now, 0),
        };
        // Addressed to the credential the user was last seen bound to, checked again by
        // the insert, which reads the rest of the gate with it; a user not seen yet is
        // read first.
        let credential = if let Some(credential) = self.bound.get(&tenant.id, &req.user_id) {
            credential
        } else {
            let gate = self
                .store
                .challenge_gate(&tenant.id, &req.user_id, admit.refusals)
                .await?
                .ok_or_else(|| ChallengeError::UnknownUser(req.user_id.clone()))?;
            refusal(tenant, &gate, None, admit, now)?;
            gate.binding.credential_id
        };
        let mut ch = Arc::new(ChallengeRecord {
            id: ChallengeId::new(),
            tenant_id: tenant.id.clone(),
            user_id: req.user_id,
            reached_device: self.notifier.is_connected(&credential),
            credential_id: credential,
            kind: req.kind,
            context: req.context,
            number: req.number_matching.then(random_number),
            nonce: random_b64(16),
            status: ChallengeStatus::Pending,
            created_at: now,
            expires_at: now + i64::from(ttl),
            decided_at: None,
            decision: None,
        });
        let idem = idempotency_key.as_deref().map(|k| (k, &hash));
        let mut tried_another = false;
        let gate = loop {
            // The `challenge.created` audit event is written in the same transaction, and
            // the gate checked in it (so two creates at once cannot both pass the limits).
            match self.store_new(&ch, idem, &created_audit(&ch), admit).await {
                Ok(Admission::Admitted(gate)) => break gate,
                Ok(Admission::NoBinding) => {
                    self.bound.forget(&tenant.id, &ch.user_id);
                    return Err(ChallengeError::UnknownUser(ch.user_id.clone()));
                }
                Ok(Admission::Refused { gate, pending }) => {
                    refusal(tenant, &gate, Some(pending), admit, now)?;
                    // Nothing in what the insert read refuses it: the user is bound to
                    // another credential than the one tried (enrolled again since this
                    // relay saw them). Once, that one.
                    let bound = gate.binding.credential_id;
                    if tried_another || bound == ch.credential_id {
                        return Err(self.binding_changed(tenant, &ch.user_id).await?);
                    }
                    tried_another = true;
                    let mut next = ChallengeRecord::clone(&ch);
                    next.reached_device = self.notifier.is_connected(&bound);
                    next.credential_id = bound;
                    ch = Arc::new(next);
                }
                Err(StoreError::Conflict) => {
                    // Another request with the same key won the race.
                    let key = idempotency_key.as_deref().unwrap_or_default();
                    return self
                        .idempotent(tenant, key, &hash)
                        .await?
                        .ok_or(ChallengeError::IdempotencyKeyReused);
                }
                Err(e) => return Err(e.into()),
            }
        };
        self.bound
            .remember(&tenant.id, &ch.user_id, &ch.credential_id);
        self.announce(&ch, gate.push_subscription);
        Ok(ChallengeCreated {
            id: ch.id,
            status: ch.status,
            expires_at: from_unix(ch.expires_at),
            number: ch.number,
        })
    }

    /// The error for a binding that changed while a challenge was made for it (suspended,
    /// locked...), read again.
    async fn binding_changed(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
    ) -> Result<ChallengeError, ChallengeError> {
        Ok(match self.user_binding(tenant, user).await? {
            Some(now) => NotActive::of(&now).into(),
            None => ChallengeError::UnknownUser(user.clone()),
        })
    }

    /// Stores the new challenge `ch`, remembered on this relay as pending first (so the end
    /// of it is never heard of before it: the bank's long-polls here wait without reading
    /// it back) and forgotten again if it was not stored.
    async fn store_new(
        &self,
        ch: &Arc<ChallengeRecord>,
        idempotency: Option<(&str, &[u8; 32])>,
        audit: &NewAudit,
        admit: Admit,
    ) -> Result<Admission, StoreError> {
        self.notifier.expect(ch.clone(), ch.created_at);
        let inserted = self
            .store
            .insert_challenge_audited(ch, idempotency, Some(audit), admit)
            .await;
        if !matches!(inserted, Ok(Admission::Admitted(_))) {
            self.notifier.forget(&ch.id);
        }
        inserted
    }

    async fn idempotent(
        &self,
        tenant: &TenantRecord,
        key: &str,
        hash: &[u8; 32],
    ) -> Result<Option<ChallengeCreated>, ChallengeError> {
        if key.is_empty() || key.len() > 255 {
            return Err(ChallengeError::Invalid(
                "Idempotency-Key must be 1 to 255 characters".into(),
            ));
        }
        let Some((id, stored)) = self.store.idempotent_challenge(&tenant.id, key).await? else {
            return Ok(None);
        };
        if stored.as_slice() != hash {
            return Err(ChallengeError::IdempotencyKeyReused);
        }
        let ch = self.tenant_challenge(&tenant.id, &id).await?;
        Ok(Some(ChallengeCreated {
            id: ch.id,
            status: ch.status,
            expires_at: from_unix(ch.expires_at),
            number: ch.number,
        }))
    }

    /// Publishes a new challenge to event streams and starts its Web Push delivery to
    /// `subscription`.
    fn announce(
        &self,
        ch: &Arc<ChallengeRecord>,
        subscription: Option<onepush_protocol::PushChannel>,
    ) {
        crate::metrics::challenge_created(ch.kind);
        self.notifier.publish(ChallengeChange {
            challenge_id: ch.id,
            credential_id: ch.credential_id.clone(),
            status: ChallengeStatus::Pending,
            record: Some(ch.clone()),
        });
        if let Some(subscription) = subscription {
            let service = self.clone();
            let ch = Arc::clone(ch);
            tokio::spawn(async move { service.push_challenge(&ch, &subscription).await });
        }
    }

    async fn push_challenge(
        &self,
        ch: &ChallengeRecord,
        subscription: &onepush_protocol::PushChannel,
    ) {
        // The message carries what the signed fetch would answer (when it fits), so
        // the phone shows the prompt without a round trip to the relay.
        let (payload, title) = match self.tenant(&ch.tenant_id).await {
            Ok(tenant) => {
                let title = tenant.display_name.clone();
                let view = views::device_challenge(ch, tenant.display_name);
                (PushPayload::plaintext_for(view), title)
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot load the tenant: the push names only the challenge");
                (PushPayload::challenge(ch.id).to_plaintext(), String::new())
            }
        };
        let collapse_id = ch.id.to_string();
        let message = crate::push::PushMessage {
            payload: &payload,
            collapse_id: &collapse_id,
            title: &title,
            deadline: from_unix(ch.expires_at),
        };
        let clock = self.clock.clone();
        let outcome = crate::push::deliver_with_retries(
            self.push.as_ref(),
            subscription,
            &message,
            &move || clock.now(),
        )
        .await;
        crate::metrics::push_outcome(&outcome);
        let result = match outcome {
            DeliveryOutcome::Sent => self.store.mark_reached_device(&ch.id).await,
            DeliveryOutcome::Gone => {
                tracing::info!(credential = %ch.credential_id.as_str(), "push subscription gone; cleared");
                self.store
                    .set_push_subscription(&ch.credential_id, None)
                    .await
            }
            DeliveryOutcome::Failed => Ok(()),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "cannot record push outcome");
        }
    }

    /// `GET /v1/challenges/{id}?wait=`: waits on the notifier (never polls the store).
    /// A challenge this relay made and knows is not read first: a pending one is waited
    /// on (the change that ends it wakes the waiter, registered before the notifier is
    /// asked), one it ended answered at once. Any other is read from the store, as is a
    /// pending one without a wait. When the notifier releases its waiters (it lost its
    /// feed of changes, e.g. a dropped `LISTEN` connection), reads the store again and
    /// goes on waiting for the time left.
    pub async fn wait_challenge(
        &self,
        tenant: &TenantRecord,
        id: &ChallengeId,
        wait: Duration,
    ) -> Result<BankChallenge, ChallengeError> {
        let started = tokio::time::Instant::now();
        loop {
            let waiter = self.notifier.wait_for(*id);
            let left = wait.saturating_sub(started.elapsed());
            // Every open long-poll keeps this future resident: the store reads are boxed
            // and the record is dropped before waiting, so only the waiter and its timer
            // stay for as long as the bank waits.
            let expires_at = match self.known(&tenant.id, id) {
                Some(ch) if ch.status.is_terminal() => return Ok(views::bank_challenge(&ch)),
                Some(ch) if !left.is_zero() && ch.expires_at > self.now() => ch.expires_at,
                _ => {
                    let ch = Box::pin(self.tenant_challenge(&tenant.id, id)).await?;
                    if ch.status.is_terminal() || wait.saturating_sub(started.elapsed()).is_zero() {
                        return Ok(views::bank_challenge(&ch));
                    }
                    ch.expires_at
                }
            };
            let left = wait.saturating_sub(started.elapsed());
            let until_deadline = u64::try_from(expires_at - self.now()).unwrap_or(0);
            // Wake at the deadline too, so the read below can end the challenge.
            let limit = left.min(Duration::from_secs(until_deadline) + Duration::from_millis(200));
            match tokio::time::timeout(limit, waiter).await {
                // Released: re-read, then wait again.
                Ok(None) => {}
                // Ended by this relay: the change carries the record as stored.
                Ok(Some(ChallengeChange {
                    record: Some(ch), ..
                })) if ch.tenant_id == tenant.id => return Ok(views::bank_challenge(&ch)),
                Ok(Some(_)) | Err(_) => {
                    let ch = Box::pin(self.tenant_challenge(&tenant.id, id)).await?;
                    return Ok(views::bank_challenge(&ch));
                }
            }
        }
    }

    /// The tenant's challenge `id` as this relay knows it (see
    /// [`crate::notify::Notifier::known`]).
    fn known(&self, tenant: &TenantId, id: &ChallengeId) -> Option<Arc<ChallengeRecord>> {
        self.notifier.known(id).filter(|ch| &ch.tenant_id == tenant)
    }

    /// `DELETE /v1/challenges/{id}`.
    pub async fn cancel_challenge(
        &self,
        tenant: &TenantRecord,
        id: &ChallengeId,
    ) -> Result<BankChallenge, ChallengeError> {
        let ch = self.tenant_challenge(&tenant.id, id).await?;
        let done = self
            .finish(&ch, ChallengeEvent::Cancel, None, false)
            .await?;
        if done.status != ChallengeStatus::Cancelled {
            return Err(ChallengeError::Decided(done.status));
        }
        Ok(views::bank_challenge(&done))
    }

    /// Cancels every pending challenge of a credential (optionally only one tenant's or
    /// user's), for `reason` (in the audit event and the webhook).
    pub(crate) async fn cancel_pending(
        &self,
        credential: &onepush_protocol::CredentialId,
        reason: &'static str,
        only: impl Fn(&ChallengeRecord) -> bool,
    ) -> Result<u32, StoreError> {
        let mut cancelled = 0;
        for ch in self.store.pending_for_credential(credential).await? {
            if !only(&ch) {
                continue;
            }
            if let Ok(done) = self
                .finish_because(&ch, ChallengeEvent::Cancel, None, false, Some(reason))
                .await
                && done.status == ChallengeStatus::Cancelled
            {
                cancelled += 1;
            }
        }
        Ok(cancelled)
    }

    /// A tenant's challenge, ended first if overdue; another tenant's is not found.
    async fn tenant_challenge(
        &self,
        tenant: &TenantId,
        id: &ChallengeId,
    ) -> Result<ChallengeRecord, ChallengeError> {
        let ch = match crate::store::found(self.store.challenge(id).await)? {
            Some(ch) if &ch.tenant_id == tenant => ch,
            _ => return Err(ChallengeError::NotFound),
        };
        Ok(self.end_if_overdue(ch).await?)
    }
}

impl Service {
    /// The user's push-fatigue lockout at `now`, if the tenant's limit is reached: the
    /// newest `threshold` challenges that ended denied or expired unanswered within the
    /// window, none approved after them. With `extra` > 0, also answers a lockout when
    /// up to `extra` more are found (`refused` then says how many).
    async fn push_fatigue(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
        now: i64,
        extra: u32,
    ) -> Result<Option<Lockout>, StoreError> {
        let Some((since, limit)) = refusals_query(tenant, now, extra) else {
            return Ok(None);
        };
        let ended = self
            .store
            .recent_refusals_for_user(&tenant.id, user, since, limit)
            .await?;
        Ok(lockout(tenant, &ended))
    }

    /// After a challenge ended: when it ended denied or expired unanswered and so brought
    /// its user exactly to the tenant's push-fatigue limit, tells the bank once (audit
    /// `user.push_fatigue_locked` and the webhook of the same name).
    pub(crate) async fn after_refusal(&self, done: &ChallengeRecord) {
        if !matches!(
            done.status,
            ChallengeStatus::Denied | ChallengeStatus::Expired
        ) {
            return;
        }
        if let Err(e) = self.announce_lockout(done).await {
            tracing::error!(error = %e, "cannot check or announce a push-fatigue lockout");
        }
    }

    async fn announce_lockout(&self, done: &ChallengeRecord) -> Result<(), StoreError> {
        let tenant = self.tenant(&done.tenant_id).await?;
        let at = done.decided_at.unwrap_or_else(|| self.now());
        // One more than the limit: only the end that reaches it exactly starts a lockout
        // (ends after it, of challenges created before it, do not announce it again).
        let Some(lockout) = self.push_fatigue(&tenant, &done.user_id, at, 1).await? else {
            return Ok(());
        };
        if lockout.refused != tenant.push_fatigue_threshold {
            return Ok(());
        }
        tracing::warn!(
            tenant = %tenant.id.as_str(),
            user = %done.user_id.as_str(),
            until = lockout.until,
            "push-fatigue lockout: new challenges for the user are refused"
        );
        self.audit(NewAudit {
            tenant_id: Some(tenant.id.clone()),
            event: PUSH_FATIGUE_EVENT.into(),
            user_id: Some(done.user_id.clone()),
            credential_id: Some(done.credential_id.clone()),
            challenge_id: Some(done.id),
            detail: serde_json::json!({
                "refused": lockout.refused,
                "window_seconds": tenant.push_fatigue_window_seconds,
                "locked_until": from_unix(lockout.until)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            }),
        })
        .await;
        if tenant.webhook_url.is_none() {
            return Ok(());
        }
        let event = PushFatigueEvent {
            id: format!("msg_fatigue_{}", done.id),
            kind: PUSH_FATIGUE_EVENT.to_owned(),
            timestamp: from_unix(at),
            data: PushFatigueData {
                user_id: done.user_id.to_string(),
                refused: lockout.refused,
                window_seconds: tenant.push_fatigue_window_seconds,
                locked_until: from_unix(lockout.until),
                challenge_id: done.id.to_string(),
            },
        };
        let message = OutboxMessage {
            body: serde_json::to_vec(&event).expect("webhook events serialise"),
            id: event.id,
            tenant_id: tenant.id.clone(),
            created_at: at,
            attempts: 0,
        };
        match self.store.enqueue_webhook(&message, at).await {
            // The same challenge's end announced by another relay already.
            Ok(()) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e),
        }
        self.webhook_wake.notify_one();
        Ok(())
    }

    /// Sets a tenant's push-fatigue limit: `threshold` challenges ended denied or
    /// unanswered within `window_seconds` (0 = off).
    pub async fn set_push_fatigue(
        &self,
        slug: &str,
        threshold: u32,
        window_seconds: u32,
    ) -> Result<(), TenantError> {
        crate::settings::check_push_fatigue(threshold, window_seconds)
            .map_err(TenantError::Invalid)?;
        let id: onepush_protocol::TenantId = slug
            .parse()
            .map_err(|_| TenantError::NotFound(slug.to_owned()))?;
        let changed = self
            .store
            .set_tenant_push_fatigue(&id, threshold, window_seconds)
            .await;
        self.tenants.clear();
        match changed {
            Err(StoreError::NotFound) => Err(TenantError::NotFound(slug.to_owned())),
            other => other.map_err(TenantError::from),
        }
    }
}

/// The `(since, limit)` of the refusals that decide a push-fatigue lockout at `now` (up
/// to `extra` beyond the threshold); `None` when the tenant has push fatigue off.
fn refusals_query(tenant: &TenantRecord, now: i64, extra: u32) -> Option<(i64, u32)> {
    let threshold = tenant.push_fatigue_threshold;
    (threshold > 0).then(|| {
        let window = i64::from(tenant.push_fatigue_window_seconds);
        (now - window + 1, threshold.saturating_add(extra))
    })
}

/// Why `gate` refuses a new challenge for its user, if it does, in the order a bank is
/// told: the binding's state, a code token, the push-fatigue lockout, then the pending
/// limit (`pending` of the user's challenges, when they were counted). The store decides
/// with [`Admit::admits`]; this names the reason.
fn refusal(
    tenant: &TenantRecord,
    gate: &ChallengeGate,
    pending: Option<u32>,
    admit: Admit,
    now: i64,
) -> Result<(), ChallengeError> {
    let binding = &gate.binding;
    if binding.state != BindingState::Active {
        return Err(NotActive::of(binding).into());
    }
    // A code token (R10, R11) answers with one-time codes, never a push; its kind came
    // with the binding, in the same read.
    if binding.kind == TokenKind::Otp {
        return Err(ChallengeError::CodeToken(binding.user_id.clone()));
    }
    if let Some(lockout) = lockout(tenant, &gate.refusals) {
        return Err(ChallengeError::Lockout {
            refused: lockout.refused,
            window_seconds: tenant.push_fatigue_window_seconds,
            until: lockout.until,
            retry_after: u64::try_from(lockout.until - now).unwrap_or(0),
        });
    }
    if let Some(pending) = pending
        && admit.max_pending.is_some_and(|most| pending >= most)
    {
        return Err(ChallengeError::TooManyPending(pending));
    }
    Ok(())
}

/// The lockout that the refusals `ended` (newest first, from [`refusals_query`]) make, if
/// they reach the tenant's threshold.
fn lockout(tenant: &TenantRecord, ended: &[i64]) -> Option<Lockout> {
    let n = tenant.push_fatigue_threshold as usize;
    if n == 0 || ended.len() < n {
        return None;
    }
    // The lockout ends when the threshold-th newest leaves the window.
    Some(Lockout {
        refused: u32::try_from(ended.len()).unwrap_or(u32::MAX),
        until: ended[n - 1] + i64::from(tenant.push_fatigue_window_seconds),
    })
}

/// The `challenge.created` audit event, stored with the challenge.
fn created_audit(ch: &ChallengeRecord) -> NewAudit {
    NewAudit {
        tenant_id: Some(ch.tenant_id.clone()),
        event: "challenge.created".into(),
        user_id: Some(ch.user_id.clone()),
        credential_id: Some(ch.credential_id.clone()),
        challenge_id: Some(ch.id),
        detail: serde_json::json!({ "kind": ch.kind, "number_matching": ch.number.is_some() }),
    }
}
