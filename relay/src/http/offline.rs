//! `/v1/offline-challenges`: offline codes (RFC 6287 OCRA) for a phone without network.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onepush_protocol::ChallengeId;
use onepush_protocol::api::{
    CreateOfflineChallenge, OfflineChallengeCreated, OfflineCodeVerified, Problem,
    VerifyOfflineCode,
};

use super::AppState;
use super::extract::{ApiJson, ApiPath, Bank};
use crate::http::error::ApiError;

/// Ask for an offline code: the user's phone has no network. The answer's `payload` is
/// what the bank shows as a QR code (or text to paste into the desktop app): base64url of
/// a compact JSON with the tenant, the user, the kind, the context, a nonce and the
/// deadline. The app shows the context exactly as a push prompt and, after ✓, an 8-digit
/// code (suite `OCRA-1:HOTP-SHA256-8:QH64-T1M`) over the question
/// `SHA-256("onepush-ocra-v1" ‖ 0 ‖ tenant ‖ 0 ‖ user ‖ 0 ‖ kind ‖ 0 ‖ context digest ‖
/// nonce)`. Same context rules as `POST /v1/challenges` (400 naming the field); 409
/// `binding-not-active`; 409 `offline-code-unavailable` when the user's app was set up
/// before offline codes.
#[utoipa::path(post, path = "/v1/offline-challenges", tag = "bank",
    request_body(content = CreateOfflineChallenge, example = json!({"user_id": "1234567.keiri01", "kind": "transaction",
        "context": {"amount": "150000", "currency": "JPY", "payee_name": "ヤマダ タロウ", "payee_account": "0001-001-1234567"}, "ttl_seconds": 300})),
    responses((status = 201, body = OfflineChallengeCreated),
        (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiJson(req): ApiJson<CreateOfflineChallenge>,
) -> Result<(StatusCode, Json<OfflineChallengeCreated>), ApiError> {
    let created = state.service.create_offline(&tenant, req).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Check the 8-digit code the user typed. Each offline challenge is answered once: 409
/// `offline-code-used` after a right code; 410 `offline-challenge-expired` after its
/// deadline; 422 `code-invalid` (with `attempts_left`) for a wrong code or another
/// transaction's code, counted toward the binding's OTP lock; 423 `binding-locked` for
/// the failure that locks; 404 `challenge-not-found`.
#[utoipa::path(post, path = "/v1/offline-challenges/{id}/verify", tag = "bank",
    params(("id" = String, Path, format = Uuid)),
    request_body(content = VerifyOfflineCode, example = json!({"code": "12345678"})),
    responses((status = 200, body = OfflineCodeVerified),
        (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn verify(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(id): ApiPath<ChallengeId>,
    ApiJson(req): ApiJson<VerifyOfflineCode>,
) -> Result<Json<OfflineCodeVerified>, ApiError> {
    state
        .service
        .verify_offline(&tenant, &id, &req.code)
        .await
        .map(Json)
        .map_err(ApiError::from)
}
