//! `/v1/device/challenges`: pending list, details, decision.

use axum::Json;
use axum::extract::State;
use std::time::Instant;

use onepush_protocol::api::{
    DecisionAccepted, DeviceChallenge, DeviceChallengeList, PostDecision, Problem,
};
use onepush_protocol::jws;
use onepush_protocol::{ChallengeId, CredentialId};

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::{ApiPath, DecisionPost, Device};
use crate::service::DecisionError;

/// Pending challenges of every binding of this credential.
#[utoipa::path(get, path = "/v1/device/challenges", tag = "device",
    responses((status = 200, body = DeviceChallengeList), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    device: Device,
) -> Result<Json<DeviceChallengeList>, ApiError> {
    state
        .service
        .device_pending(&device.credential)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// One challenge sent to this credential, in any status.
#[utoipa::path(get, path = "/v1/device/challenges/{id}", tag = "device", params(("id" = String, Path)),
    responses((status = 200, body = DeviceChallenge), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ChallengeId>,
    device: Device,
) -> Result<Json<DeviceChallenge>, ApiError> {
    state
        .service
        .device_challenge(&device.credential, &id)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Post the signed decision. The decision JWS authenticates the request: no `OnePush-Proof`
/// is needed (one sent is verified, and must be by the decision's credential).
#[utoipa::path(post, path = "/v1/device/challenges/{id}/decision", tag = "device", params(("id" = String, Path)),
    request_body = PostDecision, responses((status = 200, body = DecisionAccepted),
        (status = 422, description = "`decision-mismatch`, or `number-mismatch` with `attempts_left`: the third wrong number ends the challenge `denied` (`challenge_status`)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn decide(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<ChallengeId>,
    post: DecisionPost,
) -> Result<Json<DecisionAccepted>, ApiError> {
    // Without a request proof, the decision's signer is known once `decide` verified it:
    // its allowance is looked at first and taken after, unless the signature failed (so
    // no one can use up another's allowance with decisions they cannot sign).
    // Read once, here and for `decide`.
    let peeked = jws::peek_decision(&post.jws);
    let signer = match &post.proven {
        Some(_) => None,
        None => peeked
            .as_ref()
            .ok()
            .and_then(|(header, _)| header.kid.parse::<CredentialId>().ok()),
    };
    if let Some(kid) = &signer {
        state
            .credential_limiter
            .peek(kid, Instant::now())
            .map_err(ApiError::CredentialRateLimited)?;
    }
    let decided = state
        .service
        .decide(post.proven, &id, &post.jws, &peeked)
        .await;
    if let Some(kid) = &signer
        && !matches!(
            decided,
            Err(DecisionError::SignatureRefused | DecisionError::Malformed(_))
        )
    {
        let _ = state.credential_limiter.check(kid, Instant::now());
    }
    decided.map(Json).map_err(ApiError::from)
}
