//! OTP verification with lock-out (R7, R15) and resync (R12): every failure counted in
//! one statement that also decides the lock (issue 22), so N concurrent wrong codes
//! count N and the lock threshold is exact; the lock ends the user's pending prompts.

use onepush_protocol::UserId;
use onepush_protocol::api::{BindingState, OtpResynced, OtpVerified};
use onepush_protocol::totp::{self, TotpError};

use super::Service;
use super::enrollment::codes_error;
use super::lifecycle::binding_event;
use crate::error::ApiError;
use crate::store::{BindingRecord, OtpFailure, TenantRecord};

impl Service {
    /// `POST /v1/users/{id}/otp/verify`.
    pub async fn verify_otp(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
        code: &str,
    ) -> Result<OtpVerified, ApiError> {
        let binding = self.user_binding(tenant, user).await?;
        if binding.state != BindingState::Active {
            return Err(ApiError::not_active(binding.state, binding.grace_until));
        }
        let credential = self.live_credential(&binding.credential_id).await?;
        let secret = self.totp_secret(&credential)?;
        let window = u64::from(self.settings.otp.window_steps);
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
                // Failures back to 0, only while still active: a lock made meanwhile
                // (by concurrent wrong codes) stands, and the code does not count.
                if !self.store.reset_otp_failures(&binding, None).await? {
                    return Err(self.no_longer_active(tenant, user).await);
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
            Err(_) => Err(self.count_failure(tenant, &binding, "otp.failed").await?),
        }
    }

    /// The binding-not-active answer for a binding that changed during the request.
    async fn no_longer_active(&self, tenant: &TenantRecord, user: &UserId) -> ApiError {
        match self.user_binding(tenant, user).await {
            Ok(now) => ApiError::not_active(now.state, now.grace_until),
            Err(e) => e,
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

    /// Counts one wrong code (or failed resync) on `binding` in one statement that also
    /// decides the lock; audits it as `event`. Answers the error for the bank:
    /// `code-invalid` with the attempts left, `binding-locked` for the failure that
    /// locked, `binding-not-active` when the binding left `active` meanwhile.
    pub(super) async fn count_failure(
        &self,
        tenant: &TenantRecord,
        binding: &BindingRecord,
        event: &str,
    ) -> Result<ApiError, ApiError> {
        let threshold = tenant.otp_lock_threshold.max(1);
        let lock_audit = binding_event(
            binding,
            "binding.locked",
            serde_json::json!({ "reason": "otp_failures" }),
        );
        let prompts = self
            .end_prompts(&tenant.id, "otp_failures", true, None)
            .await?;
        let counted = self
            .store
            .record_otp_failure(binding, threshold, self.now(), &lock_audit, &prompts)
            .await?;
        Ok(match counted {
            OtpFailure::Counted(failures) => {
                let detail = serde_json::json!({ "failures": failures });
                self.binding_audit(binding, event, detail).await;
                ApiError::CodeInvalid {
                    attempts_left: threshold.saturating_sub(failures),
                }
            }
            OtpFailure::Locked { failures, ended } => {
                let detail = serde_json::json!({ "failures": failures });
                self.binding_audit(binding, event, detail).await;
                self.prompts_ended(&ended).await;
                ApiError::BindingLocked
            }
            OtpFailure::NotActive => {
                let detail = serde_json::json!({ "counted": false });
                self.binding_audit(binding, event, detail).await;
                self.no_longer_active(tenant, &binding.user_id).await
            }
        })
    }

    /// `POST /v1/users/{id}/otp/resync` (R12): only on an `active` binding; codes that
    /// do not match count toward the OTP lock like a wrong code.
    pub async fn resync_otp(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
        codes: &[String; 2],
    ) -> Result<OtpResynced, ApiError> {
        let binding = self.user_binding(tenant, user).await?;
        if binding.state != BindingState::Active {
            return Err(ApiError::not_active(binding.state, binding.grace_until));
        }
        let credential = self.live_credential(&binding.credential_id).await?;
        let secret = self.totp_secret(&credential)?;
        let window = u64::from(self.settings.otp.resync_window_steps);
        let found = match totp::resync(
            &secret,
            [&codes[0], &codes[1]],
            self.now(),
            window,
            credential.last_used_step,
        ) {
            Ok(found) => found,
            Err(e @ TotpError::Malformed) => return Err(codes_error(&e)),
            Err(TotpError::Replayed) => {
                self.code_replayed(&binding, None).await;
                return Err(codes_error(&TotpError::Replayed));
            }
            Err(e) => {
                return Err(
                    match self
                        .count_failure(tenant, &binding, "otp.resync_failed")
                        .await?
                    {
                        ApiError::CodeInvalid { attempts_left } => ApiError::CodesInvalid(format!(
                            "{}; {attempts_left} attempts left before the token locks",
                            codes_error(&e)
                        )),
                        other => other,
                    },
                );
            }
        };
        if !self.store.use_totp_step(&credential.id, found.step).await? {
            self.code_replayed(&binding, Some(found.step)).await;
            return Err(codes_error(&TotpError::Replayed));
        }
        if !self
            .store
            .reset_otp_failures(&binding, Some(found.drift_steps))
            .await?
        {
            return Err(self.no_longer_active(tenant, user).await);
        }
        let detail = serde_json::json!({ "drift_steps": found.drift_steps });
        self.binding_audit(&binding, "otp.resynced", detail).await;
        Ok(OtpResynced {
            drift_steps: found.drift_steps,
        })
    }
}
