//! `/v1/enrollments`: bind a credential to a user with two consecutive codes (R8).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onepush_protocol::api::{CreateEnrollment, Problem, UserBinding};

use super::AppState;
use super::extract::{ApiJson, Bank};
use crate::http::error::ApiError;

/// Enroll a user with the credential ID and two consecutive codes from the app.
///
/// An unknown or revoked credential ID is answered exactly like wrong codes (422
/// `codes-invalid`), so the answer does not tell which IDs exist.
#[utoipa::path(post, path = "/v1/enrollments", tag = "bank", request_body = CreateEnrollment,
    responses((status = 201, body = UserBinding),
        (status = 409, description = "`already-enrolled`: the user has a live binding (active, suspended or locked; the detail names its kind): unregister first; `token-kind-conflict`: the request asks for one `kind` and the user has a live binding of the other (unregister first); `token-kind-mismatch`: the request asks for one `kind` and the codes prove a credential of the other", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`codes-invalid`: wrong, not consecutive, replayed or outside the window, or an unknown or revoked credential ID (same detail)", body = Problem, content_type = "application/problem+json"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiJson(req): ApiJson<CreateEnrollment>,
) -> Result<(StatusCode, Json<UserBinding>), ApiError> {
    let binding = state.service.enroll(&tenant, req).await?;
    Ok((StatusCode::CREATED, Json(binding)))
}
