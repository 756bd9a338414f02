//! Deciding a challenge: verify the device's signed answer and compare every claim
//! with the stored challenge before the pure state machine moves it.

use onepush_protocol::api::{BindingState, DecisionAccepted, DecisionRecord};
use onepush_protocol::challenge::ChallengeEvent;
use onepush_protocol::jws::{self, DecisionClaims, JwsError};
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId, DecisionVerdict, DenyReason};
use subtle::ConstantTimeEq as _;

use super::Service;
use crate::error::ApiError;
use crate::store::{ChallengeRecord, CredentialRecord, NewAudit, StoreError};

/// Wrong numbers a challenge takes before it ends `denied` (F3).
pub const MAX_NUMBER_TRIES: u32 = 3;

fn claim_mismatch(ch: &ChallengeRecord, c: &DecisionClaims) -> Option<&'static str> {
    if c.chl != ch.id {
        return Some("challenge ID (chl)");
    }
    if c.tnt != ch.tenant_id {
        return Some("tenant (tnt)");
    }
    if c.sub != ch.user_id {
        return Some("user (sub)");
    }
    if c.knd != ch.kind {
        return Some("kind (knd)");
    }
    if !bool::from(c.ctx.as_bytes().ct_eq(ch.context.digest_b64().as_bytes())) {
        return Some(
            "context digest (ctx): the context shown on the phone is not the one the bank sent",
        );
    }
    if !bool::from(c.nonce.as_bytes().ct_eq(ch.nonce.as_bytes())) {
        return Some("nonce");
    }
    None
}

impl Service {
    /// `POST /v1/device/challenges/{id}/decision` from the device holding `device`.
    pub async fn decide(
        &self,
        device: &CredentialRecord,
        id: &ChallengeId,
        jws_text: &str,
    ) -> Result<DecisionAccepted, ApiError> {
        let (header, _) =
            jws::peek_decision(jws_text).map_err(|e| ApiError::DecisionMalformed(e.to_string()))?;
        let kid: CredentialId = header.kid.parse().map_err(|e: onepush_protocol::IdError| {
            ApiError::DecisionMalformed(format!("decision kid: {e}"))
        })?;
        if kid != device.id {
            return Err(ApiError::DecisionMismatch(
                "the decision is signed by a credential other than the one making the request"
                    .into(),
            ));
        }
        let claims = jws::verify_decision(jws_text, &device.jwk, &kid).map_err(|e| match e {
            JwsError::BadSignature => ApiError::DecisionSignatureInvalid(e.to_string()),
            other => ApiError::DecisionMalformed(other.to_string()),
        })?;
        let ch = match self.store.challenge(id).await {
            Ok(ch) => ch,
            Err(StoreError::NotFound) => return Err(ApiError::ChallengeNotFound),
            Err(e) => return Err(e.into()),
        };
        let ch = self.end_if_overdue(ch).await?;
        match ch.status {
            ChallengeStatus::Pending => {}
            s @ (ChallengeStatus::Expired | ChallengeStatus::Undeliverable) => {
                return Err(ApiError::ChallengeExpired(s));
            }
            s => return Err(ApiError::ChallengeDecided(s)),
        }
        let record = DecisionRecord {
            jws: jws_text.to_owned(),
            credential_id: kid.clone(),
            verdict: claims.dec,
            reason: claims.rsn,
            user_verified: claims.uv,
        };
        if kid != ch.credential_id {
            // A validly signed answer from another credential: R4 (4).
            self.finish(&ch, ChallengeEvent::Mismatch, Some(record), false)
                .await?;
            return Err(ApiError::CredentialMismatch);
        }
        if let Some(what) = claim_mismatch(&ch, &claims) {
            return Err(ApiError::DecisionMismatch(format!(
                "the decision's {what} does not match the challenge"
            )));
        }
        let event = match claims.dec {
            DecisionVerdict::Approve => {
                if ch.number.is_some() && claims.num != ch.number {
                    return Err(self.number_missed(&ch).await?);
                }
                ChallengeEvent::Approve
            }
            DecisionVerdict::Deny => ChallengeEvent::Deny,
        };
        let not_me = claims.dec == DecisionVerdict::Deny && claims.rsn == Some(DenyReason::NotMe);
        if not_me {
            self.lock_for_not_me(&ch).await?;
        }
        let done = self.finish(&ch, event, Some(record), not_me).await?;
        // A decision posted at the same moment (maybe through another relay) may have won
        // the conditional update: then this one was not taken.
        let taken = done.decision.as_ref().is_some_and(|d| d.jws == jws_text);
        match done.status {
            ChallengeStatus::Approved | ChallengeStatus::Denied if taken => Ok(DecisionAccepted {
                id: done.id,
                status: done.status,
            }),
            s @ (ChallengeStatus::Expired | ChallengeStatus::Undeliverable) => {
                Err(ApiError::ChallengeExpired(s))
            }
            s => Err(ApiError::ChallengeDecided(s)),
        }
    }

    /// Counts a wrong number (F3): the challenge ends `denied` at the
    /// [`MAX_NUMBER_TRIES`]-th. Answers the error for the device, with the tries left.
    async fn number_missed(&self, ch: &ChallengeRecord) -> Result<ApiError, ApiError> {
        let misses = self.store.record_number_miss(&ch.id).await?;
        if misses == 0 {
            // Ended meanwhile (another answer, the deadline, a cancel).
            let now = self.store.challenge(&ch.id).await?;
            return Ok(match now.status {
                s @ (ChallengeStatus::Expired | ChallengeStatus::Undeliverable) => {
                    ApiError::ChallengeExpired(s)
                }
                s => ApiError::ChallengeDecided(s),
            });
        }
        let tries_left = MAX_NUMBER_TRIES.saturating_sub(misses);
        self.audit(NewAudit {
            tenant_id: Some(ch.tenant_id.clone()),
            event: "challenge.number_mismatch".into(),
            user_id: Some(ch.user_id.clone()),
            credential_id: Some(ch.credential_id.clone()),
            challenge_id: Some(ch.id),
            detail: serde_json::json!({ "misses": misses, "tries_left": tries_left }),
        })
        .await;
        if tries_left == 0 {
            tracing::warn!(challenge = %ch.id, "wrong number typed {misses} times: challenge denied");
            let done = self.finish(ch, ChallengeEvent::Deny, None, false).await?;
            if done.status != ChallengeStatus::Denied {
                return Ok(ApiError::ChallengeDecided(done.status));
            }
        }
        Ok(ApiError::NumberMismatch { tries_left })
    }

    /// "This wasn't me": lock the user's binding (fraud signal).
    async fn lock_for_not_me(&self, ch: &ChallengeRecord) -> Result<(), ApiError> {
        let mut binding = self.store.binding(&ch.tenant_id, &ch.user_id).await?;
        if binding.credential_id != ch.credential_id || binding.state == BindingState::Unregistered
        {
            return Ok(());
        }
        binding.state = BindingState::Locked;
        binding.lock_reason = Some("not_me".into());
        self.store.put_binding(&binding).await?;
        self.audit(NewAudit {
            tenant_id: Some(ch.tenant_id.clone()),
            event: "binding.locked".into(),
            user_id: Some(ch.user_id.clone()),
            credential_id: Some(ch.credential_id.clone()),
            challenge_id: Some(ch.id),
            detail: serde_json::json!({ "reason": "not_me" }),
        })
        .await;
        Ok(())
    }
}
