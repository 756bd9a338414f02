//! OTP verification with lock-out (R7, R15) and resync (R12): every failure counted in
//! one statement that also decides the lock (issue 22), so N concurrent wrong codes
//! count N and the lock threshold is exact; the lock ends the user's pending prompts.

use onepush_protocol::api::{BindingState, OtpResynced, OtpVerified};
use onepush_protocol::totp::{self, TotpError};
use onepush_protocol::{CredentialId, UserId};

use super::lifecycle::binding_event;
use super::{CodesRefused, KeyUnreadable, NotActive, Service};
use crate::store::{BindingRecord, OtpFailure, StoreError, TenantRecord};

/// Why an OTP code (or a resync's two codes) was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum OtpError {
    /// The user has no binding in the tenant.
    #[error("user {0} is not enrolled")]
    UnknownUser(UserId),
    /// The user's binding is not active (or left `active` during the request).
    #[error(transparent)]
    NotActive(#[from] NotActive),
    /// The bound credential is gone or revoked.
    #[error("credential {} not found", .0.grouped())]
    UnknownCredential(CredentialId),
    /// The code is not 6 digits.
    #[error("code must be exactly 6 digits")]
    Malformed,
    /// The code was used before (or is older than the last used); not counted.
    #[error("code was already used")]
    Replayed,
    /// A wrong code, counted: this many attempts are left before the token locks.
    #[error("code is wrong; {attempts_left} attempts left")]
    Wrong {
        /// Attempts left before the lock.
        attempts_left: u32,
    },
    /// This wrong code (or failed resync) locked the binding (R15).
    #[error("too many wrong codes: the token is now locked")]
    Locked,
    /// A resync's codes were not accepted, and not counted.
    #[error(transparent)]
    Codes(CodesRefused),
    /// A resync's codes did not match, counted: this many attempts are left.
    #[error("{refused}; {attempts_left} attempts left")]
    CodesWrong {
        /// Why the codes were refused.
        refused: CodesRefused,
        /// Attempts left before the lock.
        attempts_left: u32,
    },
    /// The credential's secret does not open.
    #[error(transparent)]
    KeyUnreadable(#[from] KeyUnreadable),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What counting one wrong code did to the binding.
#[derive(Debug)]
pub(super) enum Counted {
    /// Counted: this many attempts are left before the token locks.
    Wrong {
        /// Attempts left.
        attempts_left: u32,
    },
    /// This failure locked the binding.
    Locked,
    /// The binding had left `active`: not counted.
    NotActive(NotActive),
    /// The binding is gone: not counted.
    UnknownUser(UserId),
}

impl From<Counted> for OtpError {
    fn from(c: Counted) -> Self {
        match c {
            Counted::Wrong { attempts_left } => Self::Wrong { attempts_left },
            Counted::Locked => Self::Locked,
            Counted::NotActive(n) => Self::NotActive(n),
            Counted::UnknownUser(u) => Self::UnknownUser(u),
        }
    }
}

impl Service {
    /// `POST /v1/users/{id}/otp/verify`.
    pub async fn verify_otp(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
        code: &str,
    ) -> Result<OtpVerified, OtpError> {
        let binding = self.active_binding(tenant, user).await?;
        let credential = self
            .live_credential(&binding.credential_id)
            .await?
            .ok_or_else(|| OtpError::UnknownCredential(binding.credential_id.clone()))?;
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
                    return Err(self.no_longer_active(tenant, user).await?.into());
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
            Err(TotpError::Malformed) => Err(OtpError::Malformed),
            Err(_) => Err(self
                .count_failure(tenant, &binding, "otp.failed")
                .await?
                .into()),
        }
    }

    /// The user's binding if it is active.
    async fn active_binding(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
    ) -> Result<BindingRecord, OtpError> {
        match self.user_binding(tenant, user).await? {
            Some(b) if b.state == BindingState::Active => Ok(b),
            Some(b) => Err(NotActive::of(&b).into()),
            None => Err(OtpError::UnknownUser(user.clone())),
        }
    }

    /// The binding as it is now, after a change refused because it left `active` during
    /// the request.
    pub(super) async fn no_longer_active(
        &self,
        tenant: &TenantRecord,
        user: &UserId,
    ) -> Result<Counted, StoreError> {
        Ok(match self.user_binding(tenant, user).await? {
            Some(now) => Counted::NotActive(NotActive::of(&now)),
            None => Counted::UnknownUser(user.clone()),
        })
    }

    /// A replayed OTP code (ASVS 2.8.5): audited `otp.replayed`; not counted as a
    /// failure (the code was right once, so the user is likely just retrying).
    async fn code_replayed(&self, binding: &BindingRecord, step: Option<u64>) -> OtpError {
        let detail = match step {
            Some(step) => serde_json::json!({ "step": step }),
            None => serde_json::json!({}),
        };
        self.binding_audit(binding, "otp.replayed", detail).await;
        OtpError::Replayed
    }

    /// Counts one wrong code (or failed resync) on `binding` in one statement that also
    /// decides the lock; audits it as `event`. Answers what the count did: attempts
    /// left, the lock, or nothing counted because the binding left `active` meanwhile.
    pub(super) async fn count_failure(
        &self,
        tenant: &TenantRecord,
        binding: &BindingRecord,
        event: &str,
    ) -> Result<Counted, StoreError> {
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
                Counted::Wrong {
                    attempts_left: threshold.saturating_sub(failures),
                }
            }
            OtpFailure::Locked { failures, ended } => {
                let detail = serde_json::json!({ "failures": failures });
                self.binding_audit(binding, event, detail).await;
                self.prompts_ended(&ended).await;
                Counted::Locked
            }
            OtpFailure::NotActive => {
                let detail = serde_json::json!({ "counted": false });
                self.binding_audit(binding, event, detail).await;
                self.no_longer_active(tenant, &binding.user_id).await?
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
    ) -> Result<OtpResynced, OtpError> {
        let binding = self.active_binding(tenant, user).await?;
        let credential = self
            .live_credential(&binding.credential_id)
            .await?
            .ok_or_else(|| OtpError::UnknownCredential(binding.credential_id.clone()))?;
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
            Err(TotpError::Malformed) => return Err(OtpError::Codes(CodesRefused::Malformed)),
            Err(TotpError::Replayed) => {
                self.code_replayed(&binding, None).await;
                return Err(OtpError::Codes(CodesRefused::Replayed));
            }
            Err(e) => {
                let counted = self
                    .count_failure(tenant, &binding, "otp.resync_failed")
                    .await?;
                return Err(match counted {
                    Counted::Wrong { attempts_left } => OtpError::CodesWrong {
                        refused: CodesRefused::from(&e),
                        attempts_left,
                    },
                    other => other.into(),
                });
            }
        };
        if !self.store.use_totp_step(&credential.id, found.step).await? {
            self.code_replayed(&binding, Some(found.step)).await;
            return Err(OtpError::Codes(CodesRefused::Replayed));
        }
        if !self
            .store
            .reset_otp_failures(&binding, Some(found.drift_steps))
            .await?
        {
            return Err(self.no_longer_active(tenant, user).await?.into());
        }
        let detail = serde_json::json!({ "drift_steps": found.drift_steps });
        self.binding_audit(&binding, "otp.resynced", detail).await;
        Ok(OtpResynced {
            drift_steps: found.drift_steps,
        })
    }
}
