//! Enrollment by credential ID and two consecutive codes (R8), its attempts counted per
//! credential (issue 22). OTP verification and resync: [`super::otp`].

use onepush_protocol::api::{BindingState, CreateEnrollment, UserBinding};
use onepush_protocol::totp::{self, TotpError, TotpSecret};
use onepush_protocol::{CredentialId, UserId};

use super::lifecycle::binding_event;
use super::{Service, views};
use crate::error::ApiError;
use crate::store::{BindingRecord, CredentialRecord, NewAudit, StoreError, TenantRecord};

/// A relay-wide audit event (no tenant: not in the bank's log, which must not tell known
/// credential IDs from unknown ones) about an enrollment with `req`.
fn enrollment_event(
    tenant: &TenantRecord,
    req: &CreateEnrollment,
    event: &str,
    cause: &str,
) -> NewAudit {
    NewAudit {
        tenant_id: None,
        event: event.to_owned(),
        user_id: None,
        credential_id: Some(req.credential_id.clone()),
        challenge_id: None,
        detail: serde_json::json!({
            "tenant_id": tenant.id.as_str(),
            "user_id": req.user_id.as_str(),
            "cause": cause,
        }),
    }
}

/// Whether `code` has the form of a TOTP code (6 ASCII digits).
fn is_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn codes_error(e: &TotpError) -> ApiError {
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

    pub(super) fn totp_secret(&self, c: &CredentialRecord) -> Result<TotpSecret, ApiError> {
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
    ///
    /// Attempts count per credential (issue 22): each attempt with a live credential's ID
    /// is counted before its codes are checked, and the
    /// [`enrollment.lock_threshold`](crate::settings::Enrollment::lock_threshold)-th since
    /// the last lock or successful enrollment locks the credential for enrollment for
    /// [`enrollment.lock_seconds`](crate::settings::Enrollment::lock_seconds). A locked
    /// credential is answered like wrong codes too (even with the right ones), so the
    /// count reveals nothing either; its failures are audited relay-wide
    /// (`enrollment.failed`, `enrollment.refused` with cause `credential_locked`).
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
        // One kind of token per user (R10): a live binding (active, suspended or locked)
        // is unregistered before another token, of either kind, is enrolled. The answer
        // names the kind bound, and is `token-kind-conflict` when the bank asked for the
        // other kind; it never depends on the credential ID sent, whose existence and
        // kind the codes have not proven yet (F1).
        match self.store.binding(&tenant.id, &req.user_id).await {
            Ok(b) if b.state != BindingState::Unregistered => {
                return Err(match req.kind {
                    Some(wants) if wants != b.kind => ApiError::TokenKindConflict {
                        user: req.user_id.to_string(),
                        has: b.kind,
                        wants,
                        state: b.state,
                    },
                    _ => ApiError::AlreadyEnrolled {
                        user: req.user_id.to_string(),
                        kind: Some(b.kind),
                    },
                });
            }
            Ok(_) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        let codes = [req.codes[0].as_str(), req.codes[1].as_str()];
        if !codes.iter().all(|c| is_code(c)) {
            // Not an attempt: answered alike for every ID, nothing counted.
            return Err(codes_error(&TotpError::Malformed));
        }
        let now = self.now();
        let credential = match credential {
            Ok(credential) => {
                self.enrollment_step(tenant, &req, &credential, now).await?;
                credential
            }
            Err(cause) => return Err(self.refuse_unknown(tenant, &req, cause).await),
        };
        let binding = BindingRecord {
            tenant_id: tenant.id.clone(),
            user_id: req.user_id,
            credential_id: credential.id,
            kind: credential.kind,
            state: BindingState::Active,
            lock_reason: None,
            grace_until: None,
            failures: 0,
            drift_steps: 0,
            enrolled_at: now,
        };
        let audit = binding_event(
            &binding,
            "binding.enrolled",
            serde_json::json!({ "kind": binding.kind }),
        );
        match self.store.insert_binding(&binding, &audit).await {
            Ok(()) => Ok(views::user_binding(&binding)),
            // Another enrollment of the user won.
            Err(StoreError::Conflict) => Err(ApiError::AlreadyEnrolled {
                user: binding.user_id.to_string(),
                kind: None,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The answer to an enrollment with an unknown or revoked credential ID (`cause`):
    /// the same work as for a known ID (one AEAD pass, then compute codes, and one write:
    /// this audit event, where a known ID's attempt is counted), then wrong codes.
    async fn refuse_unknown(
        &self,
        tenant: &TenantRecord,
        req: &CreateEnrollment,
        cause: &'static str,
    ) -> ApiError {
        let codes = [req.codes[0].as_str(), req.codes[1].as_str()];
        let window = u64::from(self.settings.enrollment.window_steps);
        match self.throwaway_secret(&req.credential_id) {
            Ok(secret) => {
                let outcome = totp::verify_consecutive(&secret, codes, self.now(), 0, window, None);
                std::hint::black_box(outcome.is_ok());
            }
            Err(e) => return e,
        }
        tracing::info!(
            tenant = %tenant.id.as_str(),
            credential = %req.credential_id.as_str(),
            cause,
            "enrollment refused: answered as wrong codes"
        );
        self.audit(enrollment_event(tenant, req, "enrollment.refused", cause))
            .await;
        codes_error(&TotpError::Invalid)
    }

    /// Counts the attempt against `credential`, then checks the codes and uses up the
    /// step they prove. A credential locked for enrollment is answered
    /// like wrong codes, whatever the codes.
    async fn enrollment_step(
        &self,
        tenant: &TenantRecord,
        req: &CreateEnrollment,
        credential: &CredentialRecord,
        now: i64,
    ) -> Result<(), ApiError> {
        let codes = [req.codes[0].as_str(), req.codes[1].as_str()];
        let window = u64::from(self.settings.enrollment.window_steps);
        let admitted = self
            .store
            .take_enrollment_attempt(
                &credential.id,
                self.settings.enrollment.lock_threshold,
                self.settings.enrollment.lock_seconds,
                now,
            )
            .await?;
        let secret = self.totp_secret(credential)?;
        let outcome =
            totp::verify_consecutive(&secret, codes, now, 0, window, credential.last_used_step);
        // Audited after the answer: the attempt's count was this path's write.
        let later = |event: NewAudit| {
            let service = self.clone();
            tokio::spawn(async move { service.audit(event).await });
        };
        if !admitted {
            let mut event =
                enrollment_event(tenant, req, "enrollment.refused", "credential_locked");
            event.detail["codes"] = outcome
                .as_ref()
                .map_or_else(ToString::to_string, |_| "right".into())
                .into();
            tracing::info!(credential = %credential.id.as_str(), "enrollment refused: credential locked for enrollment");
            later(event);
            return Err(codes_error(&TotpError::Invalid));
        }
        let step = match outcome {
            Ok(step) => step,
            Err(e) => {
                later(enrollment_event(
                    tenant,
                    req,
                    "enrollment.failed",
                    &e.to_string(),
                ));
                return Err(codes_error(&e));
            }
        };
        // The codes proved the credential: its kind may be told. Checked before the step
        // is used, so the same codes enroll once the bank asks for the right kind.
        if let Some(required) = req.kind
            && required != credential.kind
        {
            later(enrollment_event(
                tenant,
                req,
                "enrollment.failed",
                "token_kind_mismatch",
            ));
            return Err(ApiError::TokenKindMismatch {
                credential: credential.id.grouped(),
                is: credential.kind,
                required,
            });
        }
        if !self.store.use_totp_step(&credential.id, step).await? {
            let cause = TotpError::Replayed.to_string();
            later(enrollment_event(tenant, req, "enrollment.failed", &cause));
            return Err(codes_error(&TotpError::Replayed));
        }
        Ok(())
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

    pub(crate) async fn binding_audit(
        &self,
        b: &BindingRecord,
        event: &str,
        detail: serde_json::Value,
    ) {
        self.audit(binding_event(b, event, detail)).await;
    }
}
