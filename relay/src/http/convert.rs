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
