//! Enrollment by credential ID and two consecutive codes (R8), OTP verification with
//! lock-out (R7, R15) and resync (R12).

use onepush_protocol::api::{
    BindingState, CreateEnrollment, OtpResynced, OtpVerified, UserBinding,
};
use onepush_protocol::totp::{self, TotpError, TotpSecret};
use onepush_protocol::{CredentialId, UserId};

use super::{Service, views};
use crate::error::ApiError;
use crate::store::{BindingRecord, CredentialRecord, NewAudit, StoreError, TenantRecord};

fn codes_error(e: &TotpError) -> ApiError {
    ApiError::CodesInvalid(
        match e {
            TotpError::Malformed => "each code must be exactly 6 digits",
            TotpError::NotConsecutive => {
                "the two codes are not consecutive: type one code, wait for the next one to appear, then type that one"
            }
            TotpError::Replayed => "these codes were already used; wait for new codes",
            TotpError::Invalid | TotpError::BadSecret(_) => {
                "the codes do not match this credential within the allowed time; check the credential ID and the phone's clock"
            }
        }
        .to_owned(),
    )
}

impl Service {
    pub(crate) async fn live_credential(
        &self,
        id: &CredentialId,
    ) -> Result<CredentialRecord, ApiError> {
        match self.store.credential(id).await {
            Ok(c) if c.revoked_at.is_none() => Ok(c),
            Ok(_) | Err(StoreError::NotFound) => Err(ApiError::CredentialNotFound(id.grouped())),
            Err(e) => Err(e.into()),
        }
    }

    fn totp_secret(&self, c: &CredentialRecord) -> Result<TotpSecret, ApiError> {
        let plain = self
            .keys
            .open(&c.totp_secret_sealed, c.id.as_str().as_bytes())
            .map_err(|e| ApiError::Internal(format!("credential {}: {e}", c.id.as_str())))?;
        TotpSecret::from_bytes(&plain).map_err(|e| ApiError::Internal(format!("totp secret: {e}")))
    }

    pub(crate) async fn user_binding(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
    ) -> Result<BindingRecord, ApiError> {
        match self.store.binding(&tenant.id, user).await {
            Ok(b) => Ok(b),
            Err(StoreError::NotFound) => Err(ApiError::UserNotEnrolled(user.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// `POST /v1/enrollments`. An unknown or revoked credential ID is answered exactly
    /// like wrong codes (422 `codes-invalid`, same detail), after the same work against
    /// a throw-away secret, so a bank cannot learn which IDs exist (F1); the real cause
    /// goes to the log and to a relay-wide audit event (`enrollment.refused`, no tenant,
    /// so not in the bank's audit log).
    pub async fn enroll(
        &self,
        tenant: &TenantRecord,
        req: CreateEnrollment,
    ) -> Result<UserBinding, ApiError> {
        let credential = match self.store.credential(&req.credential_id).await {
            Ok(c) if c.revoked_at.is_none() => Ok(c),
            Ok(_) => Err("credential_revoked"),
            Err(StoreError::NotFound) => Err("credential_not_found"),
            Err(e) => return Err(e.into()),
        };
        match self.store.binding(&tenant.id, &req.user_id).await {
            Ok(b) if b.state != BindingState::Unregistered => {
                return Err(ApiError::AlreadyEnrolled(req.user_id.to_string()));
            }
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        let codes = [req.codes[0].as_str(), req.codes[1].as_str()];
        let window = u64::from(self.settings.enrollment_window_steps);
        let credential = match credential {
            Ok(c) => c,
            Err(cause) => {
                // The same work as for a known ID: one AEAD pass, then compute codes.
                let secret = self.throwaway_secret(&req.credential_id)?;
                let outcome = totp::verify_consecutive(&secret, codes, self.now(), 0, window, None);
                tracing::info!(
                    tenant = %tenant.id.as_str(),
                    credential = %req.credential_id.as_str(),
                    cause,
                    "enrollment refused: answered as wrong codes"
                );
                // Written after the answer, so the database write does not show in its time.
                let event = NewAudit {
                    tenant_id: None,
                    event: "enrollment.refused".into(),
                    user_id: None,
                    credential_id: Some(req.credential_id.clone()),
                    challenge_id: None,
                    detail: serde_json::json!({
                        "tenant_id": tenant.id.as_str(),
                        "user_id": req.user_id.as_str(),
                        "cause": cause,
                    }),
                };
                let service = self.clone();
                tokio::spawn(async move { service.audit(event).await });
                return Err(match outcome {
                    Err(TotpError::Malformed) => codes_error(&TotpError::Malformed),
                    _ => codes_error(&TotpError::Invalid),
                });
            }
        };
        let secret = self.totp_secret(&credential)?;
        let step = totp::verify_consecutive(
            &secret,
            codes,
            self.now(),
            0,
            window,
            credential.last_used_step,
        )
        .map_err(|e| codes_error(&e))?;
        if !self.store.use_totp_step(&credential.id, step).await? {
            return Err(codes_error(&TotpError::Replayed));
        }
        let binding = BindingRecord {
            tenant_id: tenant.id.clone(),
            user_id: req.user_id,
            credential_id: credential.id,
            state: BindingState::Active,
            lock_reason: None,
            grace_until: None,
            failures: 0,
            drift_steps: 0,
            enrolled_at: self.now(),
        };
        self.store.put_binding(&binding).await?;
        self.binding_audit(&binding, "binding.enrolled", serde_json::json!({}))
            .await;
        Ok(views::user_binding(&binding))
    }

    /// A random TOTP secret, sealed with the master key on the way (one AEAD pass, as
    /// opening a stored secret is), so refusing an unknown credential ID costs what a
    /// known one does.
    fn throwaway_secret(&self, id: &CredentialId) -> Result<TotpSecret, ApiError> {
        let mut plain = [0u8; totp::SECRET_LEN];
        onepush_protocol::keys::fill_random(&mut plain);
        let sealed = self.keys.seal(&plain, id.as_str().as_bytes());
        std::hint::black_box(sealed);
        TotpSecret::from_bytes(&plain).map_err(|e| ApiError::Internal(format!("totp secret: {e}")))
    }

    /// `POST /v1/users/{id}/otp/verify`.
    pub async fn verify_otp(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
        code: &str,
    ) -> Result<OtpVerified, ApiError> {
        let mut binding = self.user_binding(tenant, user).await?;
        if binding.state != BindingState::Active {
            return Err(ApiError::not_active(binding.state, binding.grace_until));
        }
        let credential = self.live_credential(&binding.credential_id).await?;
        let secret = self.totp_secret(&credential)?;
        let window = u64::from(self.settings.otp_window_steps);
        let result = totp::verify(
            &secret,
            code,
            self.now(),
            binding.drift_steps,
            window,
            credential.last_used_step,
        );
        match result {
            Ok(step) => {
                if !self.store.use_totp_step(&credential.id, step).await? {
                    return Err(self.code_replayed(&binding, Some(step)).await);
                }
                if binding.failures > 0 {
                    binding.failures = 0;
                    self.store.put_binding(&binding).await?;
                }
                self.binding_audit(
                    &binding,
                    "otp.verified",
                    serde_json::json!({ "step": step }),
                )
                .await;
                Ok(OtpVerified { valid: true, step })
            }
            Err(TotpError::Replayed) => Err(self.code_replayed(&binding, None).await),
            Err(TotpError::Malformed) => Err(ApiError::InvalidRequest(
                "code must be exactly 6 digits".into(),
            )),
            Err(_) => self.count_failure(tenant, binding).await,
        }
    }

    /// A replayed OTP code (ASVS 2.8.5): audited `otp.replayed`; not counted as a
    /// failure (the code was right once, so the user is likely just retrying).
    async fn code_replayed(&self, binding: &BindingRecord, step: Option<u64>) -> ApiError {
        let detail = match step {
            Some(step) => serde_json::json!({ "step": step }),
            None => serde_json::json!({}),
        };
        self.binding_audit(binding, "otp.replayed", detail).await;
        ApiError::CodeReplayed
    }

    async fn count_failure(
        &self,
        tenant: &TenantRecord,
        mut binding: BindingRecord,
    ) -> Result<OtpVerified, ApiError> {
        binding.failures += 1;
        let threshold = tenant.otp_lock_threshold.max(1);
        let locked = binding.failures >= threshold;
        if locked {
            binding.state = BindingState::Locked;
            binding.lock_reason = Some("otp_failures".into());
        }
        self.store.put_binding(&binding).await?;
        let detail = serde_json::json!({ "failures": binding.failures });
        self.binding_audit(&binding, "otp.failed", detail.clone())
            .await;
        if locked {
            self.binding_audit(
                &binding,
                "binding.locked",
                serde_json::json!({ "reason": "otp_failures" }),
            )
            .await;
            return Err(ApiError::BindingLocked);
        }
        Err(ApiError::CodeInvalid {
            attempts_left: threshold - binding.failures,
        })
    }

    /// `POST /v1/users/{id}/otp/resync` (R12).
    pub async fn resync_otp(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
        codes: &[String; 2],
    ) -> Result<OtpResynced, ApiError> {
        let mut binding = self.user_binding(tenant, user).await?;
        if binding.state == BindingState::Unregistered {
            return Err(ApiError::not_active(binding.state, binding.grace_until));
        }
        let credential = self.live_credential(&binding.credential_id).await?;
        let secret = self.totp_secret(&credential)?;
        let window = u64::from(self.settings.resync_window_steps);
        let found = totp::resync(
            &secret,
            [&codes[0], &codes[1]],
            self.now(),
            window,
            credential.last_used_step,
        )
        .map_err(|e| codes_error(&e))?;
        if !self.store.use_totp_step(&credential.id, found.step).await? {
            return Err(codes_error(&TotpError::Replayed));
        }
        binding.drift_steps = found.drift_steps;
        binding.failures = 0;
        self.store.put_binding(&binding).await?;
        let detail = serde_json::json!({ "drift_steps": found.drift_steps });
        self.binding_audit(&binding, "otp.resynced", detail).await;
        Ok(OtpResynced {
            drift_steps: found.drift_steps,
        })
    }

    pub(crate) async fn binding_audit(
        &self,
        b: &BindingRecord,
        event: &str,
        detail: serde_json::Value,
    ) {
        self.audit(NewAudit {
            tenant_id: Some(b.tenant_id.clone()),
            event: event.to_owned(),
            user_id: Some(b.user_id.clone()),
            credential_id: Some(b.credential_id.clone()),
            challenge_id: None,
            detail,
        })
        .await;
    }
}
