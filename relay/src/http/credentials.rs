//! `/v1/credentials/{cid}`: lost-device report (R16) and the public key for the bank.

use axum::Json;
use axum::extract::State;
use onepush_protocol::api::{CredentialKey, Problem, ReportedLost};

use super::AppState;
use super::extract::{ApiPath, Bank, credential_path};
use crate::http::error::ApiError;

/// Lock every binding of this credential in the tenant and cancel its pending challenges.
#[utoipa::path(post, path = "/v1/credentials/{cid}/report-lost", tag = "bank", params(("cid" = String, Path)),
    responses((status = 200, body = ReportedLost), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn report_lost(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(cid): ApiPath<String>,
) -> Result<Json<ReportedLost>, ApiError> {
    let cid = credential_path(&cid)?;
    state
        .service
        .report_lost(&tenant, &cid)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// The credential's public key, to verify decision JWSs independently.
#[utoipa::path(get, path = "/v1/credentials/{cid}/jwk", tag = "bank", params(("cid" = String, Path)),
    responses((status = 200, body = CredentialKey), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn jwk(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiPath(cid): ApiPath<String>,
) -> Result<Json<CredentialKey>, ApiError> {
    let cid = credential_path(&cid)?;
    state
        .service
        .credential_key(&tenant, &cid)
        .await
        .map(Json)
        .map_err(ApiError::from)
}
