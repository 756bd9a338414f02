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
    MIN_OFFLINE_TTL_SECONDS, OfflineChallengeCreated, OfflineCodeVerified,
};
use onepush_protocol::ocra::{self, OcraError, OcraKey, OfflinePayload};
use onepush_protocol::{ChallengeId, CredentialId};

use super::Service;
use super::challenges::check_context;
use crate::clock::from_unix;
use crate::error::ApiError;
use crate::store::{CredentialRecord, OfflineRecord, StoreError, TenantRecord};

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
    fn ocra_key(&self, c: &CredentialRecord) -> Result<OcraKey, ApiError> {
        let sealed = c
            .ocra_key_sealed
            .as_ref()
            .ok_or(ApiError::OfflineUnavailable)?;
        let plain = self
            .keys
            .open(sealed, ocra_aad(&c.id).as_bytes())
            .map_err(|e| ApiError::Internal(format!("credential {}: {e}", c.id.as_str())))?;
        OcraKey::from_bytes(&plain).map_err(|e| ApiError::Internal(format!("ocra key: {e}")))
    }

    /// `POST /v1/offline-challenges`.
    pub async fn create_offline(
        &self,
        tenant: &TenantRecord,
        req: CreateOfflineChallenge,
    ) -> Result<OfflineChallengeCreated, ApiError> {
        if let Some(refusal) = self.maintenance_refusal(&tenant.id) {
            return Err(refusal);
        }
        let ttl = req.ttl_seconds.unwrap_or(DEFAULT_OFFLINE_TTL_SECONDS);
        if !(MIN_OFFLINE_TTL_SECONDS..=MAX_OFFLINE_TTL_SECONDS).contains(&ttl) {
            return Err(ApiError::InvalidRequest(format!(
                "ttl_seconds must be {MIN_OFFLINE_TTL_SECONDS} to {MAX_OFFLINE_TTL_SECONDS}, got {ttl}"
            )));
        }
        check_context(req.kind, &req.context)?;
        let binding = self.user_binding(tenant, &req.user_id).await?;
        if binding.state != BindingState::Active {
            return Err(ApiError::not_active(binding.state, binding.grace_until));
        }
        let credential = self.live_credential(&binding.credential_id).await?;
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
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let text = payload.encode();
        if text.len() > ocra::MAX_PAYLOAD_CHARS {
            return Err(ApiError::InvalidRequest(format!(
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
    ) -> Result<OfflineCodeVerified, ApiError> {
        let record = match self.store.offline(&tenant.id, id).await {
            Ok(r) => r,
            Err(StoreError::NotFound) => return Err(ApiError::ChallengeNotFound),
            Err(e) => return Err(e.into()),
        };
        if code.len() != ocra::DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::InvalidRequest(
                "code must be exactly 8 digits".into(),
            ));
        }
        let binding = self.user_binding(tenant, &record.user_id).await?;
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
            return Err(ApiError::OfflineUsed);
        }
        let now = self.now();
        if now >= record.expires_at {
            self.binding_audit(&binding, "offline.late", detail(serde_json::json!({})))
                .await;
            return Err(ApiError::OfflineExpired(
                from_unix(record.expires_at)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            ));
        }
        if binding.state != BindingState::Active {
            return Err(ApiError::not_active(binding.state, binding.grace_until));
        }
        if binding.credential_id != record.credential_id {
            // The user set up another app since: the old app's code is not accepted.
            return Err(ApiError::CredentialMismatch);
        }
        let credential = self.live_credential(&record.credential_id).await?;
        let key = self.ocra_key(&credential)?;
        let question = payload(&record)
            .question()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        // From a step before creation (a phone clock a little behind) to a step after
        // now (a little ahead); never past the deadline's step.
        let low = ocra::step_at(record.created_at).saturating_sub(1);
        let high = ocra::step_at(now.min(record.expires_at)) + 1;
        match ocra::verify(&key, &question, code, low..=high) {
            Ok(step) => {
                if !self.store.use_offline(&record.id, now).await? {
                    self.binding_audit(&binding, "offline.replayed", detail(serde_json::json!({})))
                        .await;
                    return Err(ApiError::OfflineUsed);
                }
                if !self.store.reset_otp_failures(&binding, None).await? {
                    let now = self.user_binding(tenant, &record.user_id).await?;
                    return Err(ApiError::not_active(now.state, now.grace_until));
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
            Err(OcraError::Malformed) => Err(ApiError::InvalidRequest(
                "code must be exactly 8 digits".into(),
            )),
            Err(_) => Err(self
                .count_failure(tenant, &binding, "offline.failed")
                .await?),
        }
    }
}
