//! `/v1/challenges`: create, long-poll, cancel.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use onepush_protocol::ChallengeId;
use onepush_protocol::api::{
    BankChallenge, ChallengeCreated, CreateChallenge, IDEMPOTENCY_HEADER, MAX_WAIT_SECONDS, Problem,
};
use serde::Deserialize;

use super::AppState;
use super::extract::{ApiJson, ApiPath, ApiQuery, Bank};
use crate::error::ApiError;

/// Ask a user to approve a login, transaction or admin operation.
///
/// Push fatigue: 429 `push-fatigue` when the user has `max_pending_per_user` challenges
/// pending; 429 `push-fatigue-lockout` (with `Retry-After`) when the tenant's limit of
/// challenges ended denied or expired unanswered within its window is reached (no
/// approval since). The bank is told of a lockout once, by the audit event and webhook
/// `user.push_fatigue_locked`.
#[utoipa::path(post, path = "/v1/challenges", tag = "bank", request_body = CreateChallenge,
    params(("Idempotency-Key" = Option<String>, Header, description = "same key + same body → same challenge")),
    responses((status = 201, body = ChallengeCreated),
        (status = 429, description = "`push-fatigue` (too many pending) or `push-fatigue-lockout` (too many denied or unanswered within the tenant's window; the detail says how many and until when)",
            body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "push-fatigue-lockout: seconds until new challenges are accepted"))),
        (status = "4XX", body = Problem, content_type = "application/problem+json"), (status = 503, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateChallenge>,
) -> Result<(StatusCode, Json<ChallengeCreated>), ApiError> {
    let key = match headers.get(IDEMPOTENCY_HEADER) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    ApiError::InvalidRequest("Idempotency-Key must be visible ASCII".into())
                })?
                .to_owned(),
        ),
        None => None,
    };
    let created = state.service.create_challenge(&tenant, req, key).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `?wait=SECONDS`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Seconds to wait while the challenge is pending (0–60).
    #[serde(default)]
    pub wait: u32,
}

/// A challenge's status; with `wait`, returns as soon as it is no longer pending. A
/// tenant has at most `long_polls_per_tenant` waiting at once per relay (default 1,000):
/// past it, 503 `overloaded` with `Retry-After`.
#[utoipa::path(get, path = "/v1/challenges/{id}", tag = "bank", params(("id" = String, Path), WaitQuery),
    responses((status = 200, body = BankChallenge), (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`overloaded`: the tenant has as many long-polls waiting as allowed", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "seconds")))))]
pub async fn get(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(id): ApiPath<ChallengeId>,
    ApiQuery(query): ApiQuery<WaitQuery>,
) -> Result<Json<BankChallenge>, ApiError> {
    if query.wait > MAX_WAIT_SECONDS {
        return Err(ApiError::InvalidRequest(format!(
            "wait must be at most {MAX_WAIT_SECONDS} seconds"
        )));
    }
    let wait = Duration::from_secs(u64::from(query.wait));
    // A waiting request holds one of the tenant's long-poll places (503 past its cap).
    let _slot = if wait.is_zero() {
        None
    } else {
        Some(state.caps.wait_slot(&tenant.id)?)
    };
    let service = &state.service;
    tokio::select! {
        result = service.wait_challenge(&tenant, &id, wait) => result.map(Json),
        // Boxed: this branch runs once, at shutdown, and should not enlarge every waiting request.
        () = state.shutdown.wait() => Box::pin(service.wait_challenge(&tenant, &id, Duration::ZERO)).await.map(Json),
    }
}

/// Withdraw a pending challenge.
#[utoipa::path(delete, path = "/v1/challenges/{id}", tag = "bank", params(("id" = String, Path)),
    responses((status = 200, body = BankChallenge), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(id): ApiPath<ChallengeId>,
) -> Result<Json<BankChallenge>, ApiError> {
    state.service.cancel_challenge(&tenant, &id).await.map(Json)
}
