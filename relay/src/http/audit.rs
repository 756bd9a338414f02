//! `/v1/audit`: the tenant's append-only audit log, paged by sequence number.

use axum::Json;
use axum::extract::State;
use onepush_protocol::UserId;
use onepush_protocol::api::{AuditEvent, Problem};
use serde::Deserialize;

use super::AppState;
use super::extract::{ApiQuery, Bank};
use crate::http::error::ApiError;

/// Events per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most events one page may hold.
pub const MAX_LIMIT: u32 = 1000;

/// `?user_id=&since=&limit=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this user's events.
    #[param(value_type = Option<String>)]
    pub user_id: Option<UserId>,
    /// The cursor: only events after this sequence number (the last `seq` of the
    /// previous page; 0 or absent for the first page).
    #[serde(default)]
    pub since: i64,
    /// Events per page: 1 to 1000, default 100. A page shorter than `limit` is the last
    /// one for now.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Audit events, oldest first, one page (`limit`, default 100, at most 1000) after the
/// cursor `since`: the next page is `since=<seq of the last event>`.
#[utoipa::path(get, path = "/v1/audit", tag = "bank", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEvent>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    Bank(tenant): Bank,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidRequest(format!(
            "limit must be 1 to {MAX_LIMIT}, got {limit}"
        )));
    }
    if query.since < 0 {
        return Err(ApiError::InvalidRequest(format!(
            "since must be a sequence number (0 or more), got {}",
            query.since
        )));
    }
    state
        .service
        .audit_page(&tenant, query.user_id.as_ref(), query.since, limit)
        .await
        .map(Json)
        .map_err(ApiError::from)
}
