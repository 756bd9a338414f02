//! Maintenance at run time (R18): the bank's read `GET /v1/maintenance` on the public
//! listener, and the operator's `GET/PUT/DELETE /maintenance[/{tenant}]` on the
//! operations listener only ([`admin_routes`]): no bank key can switch it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onepush_protocol::api::{MaintenanceOverview, MaintenanceStatus, Problem, SetMaintenance};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::extract::{ApiPath, Bank, OptionalJson};
use crate::http::error::ApiError;
use crate::service::maintenance::Operator;

/// Whether one-push is suspended for this bank now, with the announcement to show its
/// customers and when it ends (read from memory: as cheap as any request).
#[utoipa::path(get, path = "/v1/maintenance", tag = "bank",
    responses((status = 200, body = MaintenanceStatus), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn bank_status(
    State(state): State<AppState>,
    Bank(tenant): Bank,
) -> Json<MaintenanceStatus> {
    Json(state.service.maintenance_for(&tenant.id))
}

/// The OpenAPI frame of the operations listener's own routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "OnePush relay: operations listener", description = "Routes served only on `http.admin_listen` (loopback 127.0.0.1:8421 by default), for the relay's operator: no authentication beyond reaching the listener. See docs/api.md \"Operations listener\"."),
    tags((name = "operator", description = "Maintenance at run time (R18)"))
)]
struct AdminDoc;

/// The operator routes with their OpenAPI description (served by
/// [`admin_router`](super::admin::admin_router), with `/openapi.json`).
pub fn admin_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(AdminDoc::openapi())
        .routes(routes!(overview, put_relay, delete_relay))
        .routes(routes!(get_tenant, put_tenant, delete_tenant))
}

/// Every suspension in force: relay-wide and per bank (read from the database now).
#[utoipa::path(get, path = "/maintenance", tag = "operator",
    responses((status = 200, body = MaintenanceOverview), (status = "5XX", body = Problem, content_type = "application/problem+json")))]
pub async fn overview(
    State(state): State<AppState>,
) -> Result<Json<MaintenanceOverview>, ApiError> {
    Ok(Json(state.service.maintenance_overview().await?))
}

/// Suspend one-push for every bank (or change the announcement or end); audited
/// `maintenance.on` relay-wide. Every relay on the database refuses new challenges
/// within a second. An empty body turns it on with no message and no end.
#[utoipa::path(put, path = "/maintenance", tag = "operator", request_body = SetMaintenance,
    responses((status = 200, body = MaintenanceStatus), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn put_relay(
    State(state): State<AppState>,
    OptionalJson(set): OptionalJson<SetMaintenance>,
) -> Result<Json<MaintenanceStatus>, ApiError> {
    Ok(Json(
        state
            .service
            .maintenance_on(None, set, Operator::AdminRoute)
            .await?,
    ))
}

/// End the relay-wide suspension (204 whether or not it was on; audited when it was).
#[utoipa::path(delete, path = "/maintenance", tag = "operator",
    responses((status = 204, description = "off"), (status = "5XX", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_relay(State(state): State<AppState>) -> Result<StatusCode, ApiError> {
    state
        .service
        .maintenance_off(None, Operator::AdminRoute)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The bank's own suspension (not the relay-wide one; `GET /maintenance` has both).
#[utoipa::path(get, path = "/maintenance/{tenant}", tag = "operator", params(("tenant" = String, Path)),
    responses((status = 200, body = MaintenanceStatus), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn get_tenant(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
) -> Result<Json<MaintenanceStatus>, ApiError> {
    let overview = state.service.maintenance_overview().await?;
    if let Some(own) = overview
        .tenants
        .into_iter()
        .find(|t| t.tenant_id.as_str() == tenant)
    {
        return Ok(Json(own.status));
    }
    // Not suspended: still 404 for a bank that does not exist.
    state.service.check_tenant(&tenant).await?;
    Ok(Json(MaintenanceStatus::default()))
}

/// Suspend one-push for one bank; audited `maintenance.on` in that bank's log.
#[utoipa::path(put, path = "/maintenance/{tenant}", tag = "operator", params(("tenant" = String, Path)),
    request_body = SetMaintenance,
    responses((status = 200, body = MaintenanceStatus), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn put_tenant(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
    OptionalJson(set): OptionalJson<SetMaintenance>,
) -> Result<Json<MaintenanceStatus>, ApiError> {
    Ok(Json(
        state
            .service
            .maintenance_on(Some(&tenant), set, Operator::AdminRoute)
            .await?,
    ))
}

/// End one bank's own suspension (204; audited in its log when it was on).
#[utoipa::path(delete, path = "/maintenance/{tenant}", tag = "operator", params(("tenant" = String, Path)),
    responses((status = 204, description = "off"), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
pub async fn delete_tenant(
    State(state): State<AppState>,
    ApiPath(tenant): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .service
        .maintenance_off(Some(&tenant), Operator::AdminRoute)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
