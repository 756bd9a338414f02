//! [`ApiError`] answered as `application/problem+json` (RFC 9457).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use onepush_protocol::ChallengeStatus;
use onepush_protocol::api::Problem;

use crate::http::error::ApiError;

/// `Retry-After` of a 503 `database-unavailable`, in seconds.
pub const DATABASE_RETRY_AFTER_SECONDS: u64 = 5;

/// `Retry-After` of a 503 `overloaded` (a cap of the relay reached), in seconds.
pub const OVERLOADED_RETRY_AFTER_SECONDS: u64 = 5;

/// The base of every problem `type`.
pub const PROBLEM_BASE: &str = "https://onepush.dev/problems/";

impl ApiError {
    /// The problem document a client gets.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            Self::Internal(_) => {
                "the relay could not complete the request; it logged the cause".to_owned()
            }
            other => other.to_string(),
        };
        let mut problem = Problem {
            kind: format!("{PROBLEM_BASE}{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            state: None,
            grace_until: None,
            challenge_status: None,
            attempts_left: None,
            maintenance: None,
        };
        match self {
            Self::BindingNotActive {
                state, grace_until, ..
            } => {
                problem.state = Some(*state);
                problem.grace_until = *grace_until;
            }
            Self::TokenKindConflict { state, .. } => problem.state = Some(*state),
            Self::ChallengeDecided(s) | Self::ChallengeExpired(s) => {
                problem.challenge_status = Some(*s);
            }
            Self::CodeInvalid { attempts_left } => problem.attempts_left = Some(*attempts_left),
            Self::Maintenance(status) => problem.maintenance = Some((**status).clone()),
            Self::BindingLocked => problem.attempts_left = Some(0),
            Self::NumberMismatch { tries_left } => {
                problem.attempts_left = Some(*tries_left);
                if *tries_left == 0 {
                    problem.challenge_status = Some(ChallengeStatus::Denied);
                }
            }
            _ => {}
        }
        problem
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(cause) => tracing::error!(cause = %cause, "internal error"),
            Self::DatabaseUnavailable(cause) => {
                tracing::warn!(cause = %cause, "database unavailable");
            }
            _ => {}
        }
        crate::metrics::problem(self.slug());
        let problem = self.problem();
        let body = serde_json::to_vec(&problem).expect("problems serialise");
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        let retry_after = match self {
            Self::Maintenance(status) => Some(status.retry_after_seconds.unwrap_or(1).max(1)),
            Self::RateLimited(s) | Self::CredentialRateLimited(s) => Some(s),
            Self::PushFatigueLockout { retry_after, .. } => Some(retry_after.max(1)),
            Self::DatabaseUnavailable(_) => Some(DATABASE_RETRY_AFTER_SECONDS),
            Self::Overloaded(_) => Some(OVERLOADED_RETRY_AFTER_SECONDS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
