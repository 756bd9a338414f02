//! `/v1/device/challenges`: pending list, details, decision.

use axum::Json;
use axum::extract::State;
use onepush_protocol::ChallengeId;
use onepush_protocol::api::{
    DecisionAccepted, DeviceChallenge, DeviceChallengeList, PostDecision, Problem,
};

use crate::error::ApiError;
use crate::http::AppState;
use crate::http::extract::{ApiPath, DecisionPost, Device};

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
    state
        .service
        .decide(post.proven, &id, &post.jws)
        .await
        .map(Json)
}
