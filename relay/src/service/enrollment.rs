//! Enrollment by credential ID and two consecutive codes (R8), its attempts counted per
//! credential (issue 22). OTP verification and resync: [`super::otp`].

use onepush_protocol::api::{BindingState, CreateEnrollment, TokenKind, UserBinding};
use onepush_protocol::totp::{self, TotpError, TotpSecret};
use onepush_protocol::{CredentialId, UserId};

use super::lifecycle::binding_event;
use super::{KeyUnreadable, Service, views};
use crate::store::{BindingRecord, CredentialRecord, NewAudit, StoreError, TenantRecord};

/// Why two codes were not accepted (enrollment, resync); the message is the advice a
/// user gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodesRefused {
    /// Not two codes of 6 digits.
    #[error("each code must be exactly 6 digits")]
    Malformed,
    /// The two codes are not of consecutive time steps.
    #[error(
        "the two codes are not consecutive: type one code, wait for the next one to appear, then type that one"
    )]
    NotConsecutive,
    /// The codes were used before (or are older than the last used).
    #[error("these codes were already used; wait for new codes")]
    Replayed,
    /// No pair of steps in the window gives these codes (or the credential ID is unknown:
    /// the same answer, F1).
    #[error(
        "the codes do not match this credential within the allowed time; check the credential ID and the phone's clock"
    )]
    NoMatch,
}

impl From<&TotpError> for CodesRefused {
    fn from(e: &TotpError) -> Self {
        match e {
            TotpError::Malformed => Self::Malformed,
            TotpError::NotConsecutive => Self::NotConsecutive,
            TotpError::Replayed => Self::Replayed,
            TotpError::Invalid | TotpError::BadSecret(_) => Self::NoMatch,
        }
    }
}

/// Why a user could not be enrolled.
#[derive(Debug, thiserror::Error)]
pub enum EnrollmentError {
    /// The user has a live binding (active, suspended or locked), of `kind` when known.
    #[error("user {user} is already enrolled")]
    AlreadyEnrolled {
        /// The user.
        user: UserId,
        /// The kind of token bound, when known.
        kind: Option<TokenKind>,
    },
    /// The bank enrolls a token of one kind and the user has a live binding of the
    /// other (R10).
    #[error("user {user} has a token of the other kind bound")]
    TokenKindConflict {
        /// The user.
        user: UserId,
        /// The kind bound now.
        has: TokenKind,
        /// The kind being enrolled.
        wants: TokenKind,
        /// The bound token's state.
        state: BindingState,
    },
    /// The codes proved a credential of another kind than the bank asked for.
    #[error("credential {} is of another kind", .credential.grouped())]
    TokenKindMismatch {
        /// The credential.
        credential: CredentialId,
        /// Its kind.
        is: TokenKind,
        /// The kind the bank asked for.
        required: TokenKind,
    },
    /// The codes were not accepted.
    #[error(transparent)]
    Codes(#[from] CodesRefused),
    /// The credential's secret does not open.
    #[error(transparent)]
    KeyUnreadable(#[from] KeyUnreadable),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

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

impl Service {
    /// The credential `id` unless it is unknown or revoked (`None`).
    pub(crate) async fn live_credential(
        &self,
        id: &CredentialId,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        Ok(
            crate::store::found(self.store.credential(id).await)?
                .filter(|c| c.revoked_at.is_none()),
        )
    }

    pub(super) fn totp_secret(&self, c: &CredentialRecord) -> Result<TotpSecret, KeyUnreadable> {
        let plain = self
            .keys
            .open(&c.totp_secret_sealed, c.id.as_str().as_bytes())
            .map_err(|e| KeyUnreadable(format!("credential {}: {e}", c.id.as_str())))?;
        TotpSecret::from_bytes(&plain).map_err(|e| KeyUnreadable(format!("totp secret: {e}")))
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
    ) -> Result<UserBinding, EnrollmentError> {
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
                    Some(wants) if wants != b.kind => EnrollmentError::TokenKindConflict {
                        user: req.user_id,
                        has: b.kind,
                        wants,
                        state: b.state,
                    },
                    _ => EnrollmentError::AlreadyEnrolled {
                        user: req.user_id,
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
            return Err(CodesRefused::Malformed.into());
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
            Err(StoreError::Conflict) => Err(EnrollmentError::AlreadyEnrolled {
                user: binding.user_id,
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
    ) -> EnrollmentError {
        let codes = [req.codes[0].as_str(), req.codes[1].as_str()];
        let window = u64::from(self.settings.enrollment.window_steps);
        match self.throwaway_secret(&req.credential_id) {
            Ok(secret) => {
                let outcome = totp::verify_consecutive(&secret, codes, self.now(), 0, window, None);
                std::hint::black_box(outcome.is_ok());
            }
            Err(e) => return e.into(),
        }
        tracing::info!(
            tenant = %tenant.id.as_str(),
            credential = %req.credential_id.as_str(),
            cause,
            "enrollment refused: answered as wrong codes"
        );
        self.audit(enrollment_event(tenant, req, "enrollment.refused", cause))
            .await;
        CodesRefused::NoMatch.into()
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
    ) -> Result<(), EnrollmentError> {
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
            return Err(CodesRefused::NoMatch.into());
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
                return Err(CodesRefused::from(&e).into());
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
            return Err(EnrollmentError::TokenKindMismatch {
                credential: credential.id.clone(),
                is: credential.kind,
                required,
            });
        }
        if !self.store.use_totp_step(&credential.id, step).await? {
            let cause = TotpError::Replayed.to_string();
            later(enrollment_event(tenant, req, "enrollment.failed", &cause));
            return Err(CodesRefused::Replayed.into());
        }
        Ok(())
    }

    /// A random TOTP secret, sealed with the master key on the way (one AEAD pass, as
    /// opening a stored secret is), so refusing an unknown credential ID costs what a
    /// known one does.
    fn throwaway_secret(&self, id: &CredentialId) -> Result<TotpSecret, KeyUnreadable> {
        let mut plain = [0u8; totp::SECRET_LEN];
        onepush_protocol::keys::fill_random(&mut plain);
        let sealed = self.keys.seal(&plain, id.as_str().as_bytes());
        std::hint::black_box(sealed);
        TotpSecret::from_bytes(&plain).map_err(|e| KeyUnreadable(format!("totp secret: {e}")))
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
