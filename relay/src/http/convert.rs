//! Each use case's error as the client sees it: one `From` per error, each outcome
//! mapped to its problem (slug, status and detail live on [`ApiError`]).

use crate::http::error::ApiError;
use crate::service::maintenance::MaintenanceError;
use crate::service::{
    AuthError, ChallengeError, CodesRefused, DecisionError, DeviceError, EndError, EnrollmentError,
    KeyUnreadable, LifecycleError, NotActive, OfflineError, OtpError,
};
use crate::store::StoreError;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => Self::DatabaseUnavailable(cause.to_string()),
            other => Self::Internal(format!("store: {other}")),
        }
    }
}

impl From<NotActive> for ApiError {
    fn from(n: NotActive) -> Self {
        Self::not_active(n.state, n.grace_until)
    }
}

impl From<KeyUnreadable> for ApiError {
    fn from(e: KeyUnreadable) -> Self {
        Self::Internal(e.0)
    }
}

impl From<CodesRefused> for ApiError {
    fn from(e: CodesRefused) -> Self {
        Self::CodesInvalid(e.to_string())
    }
}

impl From<EndError> for ApiError {
    fn from(e: EndError) -> Self {
        match e {
            EndError::Decided(s) => Self::ChallengeDecided(s),
            EndError::Expired(s) => Self::ChallengeExpired(s),
            EndError::Store(e) => e.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::UnknownKey => Self::Unauthorized("the API key is not valid"),
            AuthError::Store(e) => e.into(),
        }
    }
}

impl From<MaintenanceError> for ApiError {
    fn from(e: MaintenanceError) -> Self {
        match e {
            MaintenanceError::Invalid(detail) => Self::InvalidRequest(detail),
            MaintenanceError::UnknownTenant(slug) => Self::TenantNotFound(slug),
            MaintenanceError::Store(e) => e.into(),
        }
    }
}

impl From<ChallengeError> for ApiError {
    fn from(e: ChallengeError) -> Self {
        match e {
            ChallengeError::Maintenance(status) => Self::Maintenance(status),
            ChallengeError::Invalid(detail) => Self::InvalidRequest(detail),
            ChallengeError::UnknownUser(user) => Self::UserNotEnrolled(user.to_string()),
            ChallengeError::NotActive(n) => n.into(),
            ChallengeError::CodeToken(user) => Self::CodeToken(user.to_string()),
            ChallengeError::TooManyPending(pending) => Self::PushFatigue(pending),
            ChallengeError::Lockout {
                refused,
                window_seconds,
                until,
                retry_after,
            } => Self::PushFatigueLockout {
                refused,
                window_seconds,
                until,
                retry_after,
            },
            ChallengeError::IdempotencyKeyReused => Self::IdempotencyKeyReused,
            ChallengeError::NotFound => Self::ChallengeNotFound,
            ChallengeError::Decided(s) => Self::ChallengeDecided(s),
            ChallengeError::Expired(s) => Self::ChallengeExpired(s),
            ChallengeError::Store(e) => e.into(),
        }
    }
}

impl From<DecisionError> for ApiError {
    fn from(e: DecisionError) -> Self {
        match e {
            DecisionError::Malformed(detail) => Self::DecisionMalformed(detail),
            DecisionError::SignatureRefused => {
                Self::DecisionSignatureInvalid(crate::service::device_auth::decision_refused())
            }
            DecisionError::Mismatch(detail) => Self::DecisionMismatch(detail),
            DecisionError::NotFound => Self::ChallengeNotFound,
            DecisionError::Decided(s) => Self::ChallengeDecided(s),
            DecisionError::Expired(s) => Self::ChallengeExpired(s),
            DecisionError::Foreign => Self::ForeignDecision,
            DecisionError::CredentialMismatch => Self::CredentialMismatch,
            DecisionError::NumberMismatch { tries_left } => Self::NumberMismatch { tries_left },
            DecisionError::NotActive(n) => n.into(),
            DecisionError::Store(e) => e.into(),
        }
    }
}

impl From<DeviceError> for ApiError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::Invalid(detail) => Self::InvalidRequest(detail),
            e @ DeviceError::ChannelNotConfigured { .. } => {
                Self::PushChannelNotConfigured(e.to_string())
            }
            DeviceError::EndpointRefused(detail) => Self::PushEndpointRefused(detail),
            DeviceError::ChallengeNotFound => Self::ChallengeNotFound,
            e @ DeviceError::ProofReplayed => Self::ProofInvalid(e.to_string()),
            DeviceError::NoFreeId(cause) => Self::Internal(cause),
            DeviceError::Store(e) => e.into(),
        }
    }
}

impl From<EnrollmentError> for ApiError {
    fn from(e: EnrollmentError) -> Self {
        match e {
            EnrollmentError::AlreadyEnrolled { user, kind } => Self::AlreadyEnrolled {
                user: user.to_string(),
                kind,
            },
            EnrollmentError::TokenKindConflict {
                user,
                has,
                wants,
                state,
            } => Self::TokenKindConflict {
                user: user.to_string(),
                has,
                wants,
                state,
            },
            EnrollmentError::TokenKindMismatch {
                credential,
                is,
                required,
            } => Self::TokenKindMismatch {
                credential: credential.grouped(),
                is,
                required,
            },
            EnrollmentError::Codes(refused) => refused.into(),
            EnrollmentError::KeyUnreadable(e) => e.into(),
            EnrollmentError::Store(e) => e.into(),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(e: LifecycleError) -> Self {
        match e {
            LifecycleError::UnknownUser(user) => Self::UserNotEnrolled(user.to_string()),
            LifecycleError::NotActive(n) => n.into(),
            LifecycleError::UnknownCredential(id) => Self::CredentialNotFound(id.grouped()),
            // A 503 with Retry-After: the request may well pass on a second try.
            e @ LifecycleError::KeptChanging(_) => Self::DatabaseUnavailable(e.to_string()),
            LifecycleError::Store(e) => e.into(),
        }
    }
}

impl From<OtpError> for ApiError {
    fn from(e: OtpError) -> Self {
        match e {
            OtpError::UnknownUser(user) => Self::UserNotEnrolled(user.to_string()),
            OtpError::NotActive(n) => n.into(),
            OtpError::UnknownCredential(id) => Self::CredentialNotFound(id.grouped()),
            e @ OtpError::Malformed => Self::InvalidRequest(e.to_string()),
            OtpError::Replayed => Self::CodeReplayed,
            OtpError::Wrong { attempts_left } => Self::CodeInvalid { attempts_left },
            OtpError::Locked => Self::BindingLocked,
            OtpError::Codes(refused) => refused.into(),
            OtpError::CodesWrong {
                refused,
                attempts_left,
            } => Self::CodesInvalid(format!(
                "{refused}; {attempts_left} attempts left before the token locks"
            )),
            OtpError::KeyUnreadable(e) => e.into(),
            OtpError::Store(e) => e.into(),
        }
    }
}

impl From<OfflineError> for ApiError {
    fn from(e: OfflineError) -> Self {
        match e {
            OfflineError::Maintenance(status) => Self::Maintenance(status),
            OfflineError::Invalid(detail) => Self::InvalidRequest(detail),
            OfflineError::UnknownUser(user) => Self::UserNotEnrolled(user.to_string()),
            OfflineError::NotActive(n) => n.into(),
            OfflineError::UnknownCredential(id) => Self::CredentialNotFound(id.grouped()),
            OfflineError::Unavailable => Self::OfflineUnavailable,
            OfflineError::NotFound => Self::ChallengeNotFound,
            OfflineError::Used => Self::OfflineUsed,
            OfflineError::Expired(deadline) => Self::OfflineExpired(
                crate::clock::from_unix(deadline)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            ),
            OfflineError::CredentialMismatch => Self::CredentialMismatch,
            OfflineError::Wrong { attempts_left } => Self::CodeInvalid { attempts_left },
            OfflineError::Locked => Self::BindingLocked,
            OfflineError::KeyUnreadable(e) => e.into(),
            e @ OfflineError::Question(_) => Self::Internal(e.to_string()),
            OfflineError::Store(e) => e.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse as _;
    use onepush_protocol::api::{BindingState, TokenKind};

    use super::*;

    fn answer(e: impl Into<ApiError>) -> (u16, &'static str, String) {
        let e = e.into();
        (e.status().as_u16(), e.slug(), e.problem().detail)
    }

    #[test]
    fn a_resync_counted_wrong_says_what_is_wrong_and_the_attempts_left() {
        let (status, slug, detail) = answer(OtpError::CodesWrong {
            refused: CodesRefused::NotConsecutive,
            attempts_left: 2,
        });
        assert_eq!((status, slug), (422, "codes-invalid"));
        assert!(
            detail.starts_with("the two codes are not consecutive"),
            "{detail}"
        );
        assert!(
            detail.ends_with("; 2 attempts left before the token locks"),
            "{detail}"
        );
    }

    #[test]
    fn a_suspended_binding_names_its_state_and_grace_date() {
        let (status, slug, detail) = answer(LifecycleError::NotActive(NotActive {
            state: BindingState::Suspended,
            grace_until: Some(0),
        }));
        assert_eq!((status, slug), (409, "binding-not-active"));
        assert_eq!(
            detail,
            "the user's one-push binding is suspended; password-only use is allowed until 1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn an_unconfigured_channel_names_the_field_and_the_setting() {
        let (status, slug, detail) = answer(DeviceError::ChannelNotConfigured {
            field: "subscription",
            kind: "apns",
            setting: "push.apns.key_file",
        });
        assert_eq!((status, slug), (409, "push-channel-not-configured"));
        assert_eq!(
            detail,
            "subscription: this relay does not send apns pushes; its operator must set `push.apns.key_file`"
        );
    }

    #[test]
    fn a_binding_that_keeps_changing_is_a_503_to_retry_without_its_cause() {
        let user: onepush_protocol::UserId = "alice".parse().unwrap();
        let e = ApiError::from(LifecycleError::KeptChanging(user));
        assert_eq!(
            (e.status().as_u16(), e.slug()),
            (503, "database-unavailable")
        );
        assert!(!e.problem().detail.contains("alice"));
        let response = e.into_response();
        assert_eq!(response.headers()["retry-after"], "5");
    }

    #[test]
    fn enrollment_refusals_keep_their_slugs() {
        let user: onepush_protocol::UserId = "alice".parse().unwrap();
        let (status, slug, detail) = answer(EnrollmentError::AlreadyEnrolled {
            user,
            kind: Some(TokenKind::Otp),
        });
        assert_eq!((status, slug), (409, "already-enrolled"));
        assert!(detail.contains("with a code token (otp)"), "{detail}");
        assert_eq!(answer(CodesRefused::NoMatch).1, "codes-invalid");
        assert_eq!(
            answer(DecisionError::SignatureRefused),
            (
                401,
                "decision-signature-invalid",
                crate::service::device_auth::decision_refused()
            )
        );
    }

    #[test]
    fn every_problem_answered_is_counted_by_its_slug() {
        crate::metrics::install();
        let _ = ApiError::from(OfflineError::Used).into_response();
        let text = crate::metrics::render();
        assert!(
            text.contains("onepush_problems_total{slug=\"offline-code-used\"}"),
            "{text}"
        );
    }
}
