//! `/v1/users/{user_id}`: state, OTP verify and resync, suspend/resume/unlock/unregister.

use axum::Json;
use axum::extract::State;
use onepush_protocol::UserId;
use onepush_protocol::api::{
    GraceUntil, OtpResynced, OtpVerified, Problem, ResyncOtp, UserBinding, VerifyOtp,
};

use super::AppState;
use super::extract::{ApiJson, ApiPath, Bank, OptionalJson};
use crate::http::error::ApiError;
use crate::service::Lifecycle;

/// The user's binding: state, credential, grace date, failures.
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "bank", params(("user_id" = String, Path)),
    responses((status = 200, body = UserBinding), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(user): ApiPath<UserId>,
) -> Result<Json<UserBinding>, ApiError> {
    state
        .service
        .get_user(&tenant, &user)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Check a security code (R7); wrong codes count toward the lock (R15).
#[utoipa::path(post, path = "/v1/users/{user_id}/otp/verify", tag = "bank", params(("user_id" = String, Path)),
    request_body = VerifyOtp, responses((status = 200, body = OtpVerified), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn verify_otp(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(user): ApiPath<UserId>,
    ApiJson(req): ApiJson<VerifyOtp>,
) -> Result<Json<OtpVerified>, ApiError> {
    state
        .service
        .verify_otp(&tenant, &user, &req.code)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Put the code sequence back in step with two consecutive codes (R12).
#[utoipa::path(post, path = "/v1/users/{user_id}/otp/resync", tag = "bank", params(("user_id" = String, Path)),
    request_body = ResyncOtp, responses((status = 200, body = OtpResynced), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn resync_otp(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(user): ApiPath<UserId>,
    ApiJson(req): ApiJson<ResyncOtp>,
) -> Result<Json<OtpResynced>, ApiError> {
    state
        .service
        .resync_otp(&tenant, &user, &req.codes)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Suspend one-push for the user (R13).
#[utoipa::path(post, path = "/v1/users/{user_id}/suspend", tag = "bank", params(("user_id" = String, Path)),
    request_body = GraceUntil, responses((status = 200, body = UserBinding), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn suspend(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(user): ApiPath<UserId>,
    OptionalJson(req): OptionalJson<GraceUntil>,
) -> Result<Json<UserBinding>, ApiError> {
    state
        .service
        .change_binding(&tenant, &user, Lifecycle::Suspend, req.grace_until)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Resume a suspended binding (R13).
#[utoipa::path(post, path = "/v1/users/{user_id}/resume", tag = "bank", params(("user_id" = String, Path)),
    responses((status = 200, body = UserBinding), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn resume(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(user): ApiPath<UserId>,
) -> Result<Json<UserBinding>, ApiError> {
    state
        .service
        .change_binding(&tenant, &user, Lifecycle::Resume, None)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Unlock a locked binding; failures reset (R15).
#[utoipa::path(post, path = "/v1/users/{user_id}/unlock", tag = "bank", params(("user_id" = String, Path)),
    responses((status = 200, body = UserBinding), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn unlock(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(user): ApiPath<UserId>,
) -> Result<Json<UserBinding>, ApiError> {
    state
        .service
        .change_binding(&tenant, &user, Lifecycle::Unlock, None)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Unregister the user's token (R14); their pending challenges are cancelled.
#[utoipa::path(delete, path = "/v1/users/{user_id}/enrollment", tag = "bank", params(("user_id" = String, Path)),
    request_body = GraceUntil, responses((status = 200, body = UserBinding), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn unregister(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(user): ApiPath<UserId>,
    OptionalJson(req): OptionalJson<GraceUntil>,
) -> Result<Json<UserBinding>, ApiError> {
    state
        .service
        .change_binding(&tenant, &user, Lifecycle::Unregister, req.grace_until)
        .await
        .map(Json)
        .map_err(ApiError::from)
}
