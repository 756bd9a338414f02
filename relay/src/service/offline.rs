//! Offline codes (RFC 6287 OCRA, `onepush_protocol::ocra`): a bank asks for an offline
//! challenge for one transaction and shows its payload as a QR code; the app, offline,
//! shows the transaction and answers an 8-digit code; the bank posts the code here.
//!
//! Refused: a code for an offline challenge already answered (409 `offline-code-used`),
//! typed at or after its deadline (410 `offline-challenge-expired`), or that is not the
//! code of this challenge's question (another transaction's, a guess): 422
//! `code-invalid`, counted toward the binding's OTP lock like a wrong OTP (423
//! `binding-locked` for the failure that locks). Every outcome is audited.

use onepush_protocol::api::{
    BindingState, CreateOfflineChallenge, DEFAULT_OFFLINE_TTL_SECONDS, MAX_OFFLINE_TTL_SECONDS,
    MIN_OFFLINE_TTL_SECONDS, MaintenanceStatus, OfflineChallengeCreated, OfflineCodeVerified,
};
use onepush_protocol::ocra::{self, OcraError, OcraKey, OfflinePayload};
use onepush_protocol::{ChallengeId, CredentialId, UserId};

use super::otp::Counted;
use super::{KeyUnreadable, NotActive, Service};
use crate::clock::from_unix;
use crate::store::{BindingRecord, CredentialRecord, OfflineRecord, StoreError, TenantRecord};

/// Why an offline challenge could not be created, or its code was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
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
    /// The bound credential is gone or revoked.
    #[error("credential {} not found", .0.grouped())]
    UnknownCredential(CredentialId),
    /// The user's credential has no OCRA key (provisioned before offline codes).
    #[error("the credential has no offline-code key")]
    Unavailable,
    /// No such offline challenge in the tenant.
    #[error("offline challenge not found")]
    NotFound,
    /// The offline challenge was answered already: its code works once.
    #[error("offline challenge already answered")]
    Used,
    /// The offline challenge's deadline (Unix seconds) passed.
    #[error("offline challenge deadline passed at {0}")]
    Expired(i64),
    /// The user set up another app since the challenge: the old app's code is refused.
    #[error("the user's credential changed since the offline challenge")]
    CredentialMismatch,
    /// A wrong code, counted toward the OTP lock: this many attempts are left.
    #[error("code is wrong; {attempts_left} attempts left")]
    Wrong {
        /// Attempts left before the lock.
        attempts_left: u32,
    },
    /// This wrong code locked the binding.
    #[error("too many wrong codes: the token is now locked")]
    Locked,
    /// The credential's OCRA key does not open.
    #[error(transparent)]
    KeyUnreadable(#[from] KeyUnreadable),
    /// The OCRA question cannot be computed from the stored challenge.
    #[error("ocra question: {0}")]
    Question(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Counted> for OfflineError {
    fn from(c: Counted) -> Self {
        match c {
            Counted::Wrong { attempts_left } => Self::Wrong { attempts_left },
            Counted::Locked => Self::Locked,
            Counted::NotActive(n) => Self::NotActive(n),
            Counted::UnknownUser(u) => Self::UnknownUser(u),
        }
    }
}

/// The associated data the OCRA key is sealed with: the credential ID and `#ocra` (not
/// the TOTP secret's, so one sealed value cannot stand for the other).
pub(super) fn ocra_aad(id: &CredentialId) -> String {
    format!("{}#ocra", id.as_str())
}

/// The payload (and question) of an offline challenge.
fn payload(c: &OfflineRecord) -> OfflinePayload {
    OfflinePayload {
        v: ocra::PAYLOAD_VERSION,
        i: c.id,
        t: c.tenant_id.as_str().to_owned(),
        u: c.user_id.as_str().to_owned(),
        k: c.kind,
        c: c.context.clone(),
        n: c.nonce.clone(),
        e: c.expires_at,
    }
}

impl Service {
    fn ocra_key(&self, c: &CredentialRecord) -> Result<OcraKey, OfflineError> {
        let sealed = c
            .ocra_key_sealed
            .as_ref()
            .ok_or(OfflineError::Unavailable)?;
        let plain = self
            .keys
            .open(sealed, ocra_aad(&c.id).as_bytes())
            .map_err(|e| KeyUnreadable(format!("credential {}: {e}", c.id.as_str())))?;
        Ok(OcraKey::from_bytes(&plain).map_err(|e| KeyUnreadable(format!("ocra key: {e}")))?)
    }

    /// The user's binding.
    async fn binding_of(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
    ) -> Result<BindingRecord, OfflineError> {
        self.user_binding(tenant, user)
            .await?
            .ok_or_else(|| OfflineError::UnknownUser(user.clone()))
    }

    /// The credential `id`, unless it is gone or revoked.
    async fn credential_of(&self, id: &CredentialId) -> Result<CredentialRecord, OfflineError> {
        self.live_credential(id)
            .await?
            .ok_or_else(|| OfflineError::UnknownCredential(id.clone()))
    }

    /// `POST /v1/offline-challenges`.
    pub async fn create_offline(
        &self,
        tenant: &TenantRecord,
        req: CreateOfflineChallenge,
    ) -> Result<OfflineChallengeCreated, OfflineError> {
        if let Some(status) = self.maintenance_refusal(&tenant.id) {
            return Err(OfflineError::Maintenance(status));
        }
        let ttl = req.ttl_seconds.unwrap_or(DEFAULT_OFFLINE_TTL_SECONDS);
        if !(MIN_OFFLINE_TTL_SECONDS..=MAX_OFFLINE_TTL_SECONDS).contains(&ttl) {
            return Err(OfflineError::Invalid(format!(
                "ttl_seconds must be {MIN_OFFLINE_TTL_SECONDS} to {MAX_OFFLINE_TTL_SECONDS}, got {ttl}"
            )));
        }
        onepush_protocol::transaction::check_context(req.kind, &req.context)
            .map_err(|e| OfflineError::Invalid(e.to_string()))?;
        let binding = self.binding_of(tenant, &req.user_id).await?;
        if binding.state != BindingState::Active {
            return Err(NotActive::of(&binding).into());
        }
        let credential = self.credential_of(&binding.credential_id).await?;
        self.ocra_key(&credential)?;
        let now = self.now();
        let record = OfflineRecord {
            id: ChallengeId::new(),
            tenant_id: tenant.id.clone(),
            user_id: req.user_id,
            credential_id: binding.credential_id.clone(),
            kind: req.kind,
            context: req.context,
            nonce: super::random_b64(ocra::NONCE_LEN),
            created_at: now,
            expires_at: now + i64::from(ttl),
            used_at: None,
        };
        let payload = payload(&record);
        let question = payload
            .question()
            .map_err(|e| OfflineError::Question(e.to_string()))?;
        let text = payload.encode();
        if text.len() > ocra::MAX_PAYLOAD_CHARS {
            return Err(OfflineError::Invalid(format!(
                "context is too large for an offline code: the QR payload would be {} characters, at most {} fit",
                text.len(),
                ocra::MAX_PAYLOAD_CHARS
            )));
        }
        self.store.insert_offline(&record).await?;
        self.binding_audit(
            &binding,
            "offline.created",
            serde_json::json!({ "offline_challenge_id": record.id, "kind": record.kind,
                "expires_at": record.expires_at }),
        )
        .await;
        Ok(OfflineChallengeCreated {
            id: record.id,
            payload: text,
            suite: ocra::SUITE.to_owned(),
            question,
            expires_at: from_unix(record.expires_at),
        })
    }

    /// `POST /v1/offline-challenges/{id}/verify`.
    pub async fn verify_offline(
        &self,
        tenant: &TenantRecord,
        id: &ChallengeId,
        code: &str,
    ) -> Result<OfflineCodeVerified, OfflineError> {
        let record = crate::store::found(self.store.offline(&tenant.id, id).await)?
            .ok_or(OfflineError::NotFound)?;
        if code.len() != ocra::DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OfflineError::Invalid(
                "code must be exactly 8 digits".into(),
            ));
        }
        let binding = self.binding_of(tenant, &record.user_id).await?;
        let detail = |extra: serde_json::Value| {
            let mut d = serde_json::json!({ "offline_challenge_id": record.id });
            if let (Some(d), Some(extra)) = (d.as_object_mut(), extra.as_object()) {
                d.extend(extra.clone());
            }
            d
        };
        if record.used_at.is_some() {
            self.binding_audit(&binding, "offline.replayed", detail(serde_json::json!({})))
                .await;
            return Err(OfflineError::Used);
        }
        let now = self.now();
        if now >= record.expires_at {
            self.binding_audit(&binding, "offline.late", detail(serde_json::json!({})))
                .await;
            return Err(OfflineError::Expired(record.expires_at));
        }
        if binding.state != BindingState::Active {
            return Err(NotActive::of(&binding).into());
        }
        if binding.credential_id != record.credential_id {
            // The user set up another app since: the old app's code is not accepted.
            return Err(OfflineError::CredentialMismatch);
        }
        let credential = self.credential_of(&record.credential_id).await?;
        let key = self.ocra_key(&credential)?;
        let question = payload(&record)
            .question()
            .map_err(|e| OfflineError::Question(e.to_string()))?;
        // From a step before creation (a phone clock a little behind) to a step after
        // now (a little ahead); never past the deadline's step.
        let low = ocra::step_at(record.created_at).saturating_sub(1);
        let high = ocra::step_at(now.min(record.expires_at)) + 1;
        match ocra::verify(&key, &question, code, low..=high) {
            Ok(step) => {
                if !self.store.use_offline(&record.id, now).await? {
                    self.binding_audit(&binding, "offline.replayed", detail(serde_json::json!({})))
                        .await;
                    return Err(OfflineError::Used);
                }
                if !self.store.reset_otp_failures(&binding, None).await? {
                    let now = self.no_longer_active(tenant, &record.user_id).await?;
                    return Err(now.into());
                }
                self.binding_audit(
                    &binding,
                    "offline.verified",
                    detail(serde_json::json!({ "step": step })),
                )
                .await;
                Ok(OfflineCodeVerified {
                    valid: true,
                    id: record.id,
                    user_id: record.user_id,
                    kind: record.kind,
                    context: record.context,
                    step,
                })
            }
            Err(OcraError::Malformed) => Err(OfflineError::Invalid(
                "code must be exactly 8 digits".into(),
            )),
            Err(_) => Err(self
                .count_failure(tenant, &binding, "offline.failed")
                .await?
                .into()),
        }
    }
}
