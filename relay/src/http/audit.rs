//! `/v1/audit`: the tenant's append-only audit log.

use axum::Json;
use axum::extract::State;
use onepush_protocol::UserId;
use onepush_protocol::api::{AuditEvent, Problem};
use serde::Deserialize;

use super::AppState;
use super::extract::{ApiQuery, Bank};
use crate::error::ApiError;

/// `?user_id=&since=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this user's events.
    #[param(value_type = Option<String>)]
    pub user_id: Option<UserId>,
    /// Only events after this sequence number.
    #[serde(default)]
    pub since: i64,
}

/// Audit events, oldest first (at most 1000 per call: page with `since`).
#[utoipa::path(get, path = "/v1/audit", tag = "bank", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEvent>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    state
        .service
        .audit_log(&tenant, query.user_id.as_ref(), query.since)
        .await
        .map(Json)
}
