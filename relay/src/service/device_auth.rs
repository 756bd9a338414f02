//! One answer for every bad device credential (issue 22, item 3). A proof or a decision
//! whose credential is unknown, revoked, or not the key that signed it gets the same 401
//! (`proof-invalid`, or `decision-signature-invalid` for a decision) with the same detail,
//! after the same work: the signature is verified against a throw-away key when there is
//! no credential to verify it with. So no one learns without the key which credential IDs
//! exist (enrollment's F1, kept on the device API). The real cause goes to the log and to
//! a relay-wide audit event (`device.refused`, no tenant: in no bank's audit log).

use std::sync::OnceLock;
use std::time::Instant;

use onepush_protocol::jws::{self, JwsError};
use onepush_protocol::{CredentialId, Jwk, ProofError};

use super::{DecisionError, Service};
use crate::ratelimit::RateLimiter;
use crate::store::{CredentialRecord, NewAudit, StoreError};

/// Refusals audited per minute in this process at most (each is a database write that
/// anyone can cause): past it they are only logged and counted
/// (`onepush_limit_refusals_total{limit="refusal_audits"}`).
pub const REFUSAL_AUDITS_PER_MINUTE: u32 = 600;

/// Why a device credential was refused (logged and audited, never answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credential has this ID (never provisioned, or deleted).
    Unknown,
    /// The credential was revoked.
    Revoked,
    /// The credential exists, but its key did not sign this.
    WrongKey,
}

impl Refusal {
    /// The cause as the log and the audit event name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "credential_not_found",
            Self::Revoked => "credential_revoked",
            Self::WrongKey => "signature_invalid",
        }
    }
}

/// The one detail of a refused proof (what a wrong key gets from the proof check).
pub fn proof_refused() -> String {
    ProofError::BadSignature.to_string()
}

/// The one detail of a refused decision (what a wrong key gets from the decision check).
pub fn decision_refused() -> String {
    JwsError::BadSignature.to_string()
}

/// A key no device holds, to verify against when there is no credential (the same work
/// as a real verification: one ES256 check with a parsed P-256 key).
pub fn throwaway_jwk() -> &'static Jwk {
    static KEY: OnceLock<Jwk> = OnceLock::new();
    KEY.get_or_init(|| onepush_protocol::DeviceKey::generate().public_jwk())
}

/// The credential as read if it may sign device requests, else why not.
pub fn usable(read: Option<CredentialRecord>) -> Result<CredentialRecord, Refusal> {
    match read {
        Some(c) if c.revoked_at.is_none() => Ok(c),
        Some(_) => Err(Refusal::Revoked),
        None => Err(Refusal::Unknown),
    }
}

impl Service {
    /// The credential `kid` names if it may sign device requests and decisions, else why
    /// not (for a proof, the caller verifies against [`throwaway_jwk`] then, and answers
    /// [`proof_refused`]).
    pub async fn usable_signer(
        &self,
        kid: &CredentialId,
    ) -> Result<Result<CredentialRecord, Refusal>, StoreError> {
        Ok(usable(crate::store::found(
            self.store.credential(kid).await,
        )?))
    }

    /// Logs and audits a refused device credential; `what` is `proof` or `decision`.
    /// The audit is written after the answer, so its write does not show in the time;
    /// past [`REFUSAL_AUDITS_PER_MINUTE`] it is left out (a flood of bad requests must not
    /// become a flood of writes).
    pub fn device_refused(&self, kid: &CredentialId, cause: Refusal, what: &'static str) {
        static BUDGET: OnceLock<RateLimiter<()>> = OnceLock::new();
        tracing::info!(
            credential = %kid.as_str(),
            cause = cause.as_str(),
            "device {what} refused: answered as a bad signature"
        );
        let budget = BUDGET.get_or_init(|| RateLimiter::new(REFUSAL_AUDITS_PER_MINUTE));
        if budget.check(&(), Instant::now()).is_err() {
            crate::metrics::limit_refused("refusal_audits");
            return;
        }
        let event = NewAudit {
            tenant_id: None,
            event: "device.refused".into(),
            user_id: None,
            credential_id: Some(kid.clone()),
            challenge_id: None,
            detail: serde_json::json!({ "cause": cause.as_str(), "request": what }),
        };
        let service = self.clone();
        tokio::spawn(async move { service.audit(event).await });
    }

    /// The signer of a decision, read as `read`, if it may sign; else the decision is
    /// verified against a throw-away key (the same work) and refused like a wrong key.
    pub fn decision_signer_usable(
        &self,
        kid: &CredentialId,
        read: Option<CredentialRecord>,
        jws_text: &str,
    ) -> Result<CredentialRecord, DecisionError> {
        match usable(read) {
            Ok(c) => Ok(c),
            Err(cause) => {
                let outcome = jws::verify_decision(jws_text, throwaway_jwk(), kid);
                self.device_refused(kid, cause, "decision");
                // Mapped as `decide` maps a known signer's outcome.
                Err(match outcome {
                    Err(JwsError::BadSignature) | Ok(_) => DecisionError::SignatureRefused,
                    Err(other) => DecisionError::Malformed(other.to_string()),
                })
            }
        }
    }

    /// A decision whose signature did not verify with its credential's key: logged,
    /// audited, and answered as every refused decision.
    pub fn decision_key_refused(&self, kid: &CredentialId) -> DecisionError {
        self.device_refused(kid, Refusal::WrongKey, "decision");
        DecisionError::SignatureRefused
    }
}
