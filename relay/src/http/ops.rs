//! Operations on the public listener: health, readiness, the OpenAPI document
//! (`/metrics` is on the operations listener, [`super::admin`]).

use axum::Json;
use axum::extract::State;

use super::AppState;
use crate::http::error::ApiError;
use onepush_protocol::api::Problem;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "ok")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// How long `/readyz` waits for the database before answering 503 (shorter than the
/// 5 s a request may wait for a connection, to fit load balancers' check timeouts).
pub const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, description = "ready"), (status = 503, description = "database unreachable", body = Problem, content_type = "application/problem+json")))]
pub async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    let ping = tokio::time::timeout(READY_TIMEOUT, state.service.store().ping()).await;
    match ping {
        Ok(Ok(())) => Ok("ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::Unavailable)
        }
        Err(_) => {
            tracing::warn!("readiness check failed: no database answer in {READY_TIMEOUT:?}");
            Err(ApiError::Unavailable)
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops", responses((status = 200, description = "OpenAPI 3.1")))]
pub async fn openapi(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json((*state.openapi).clone())
}
