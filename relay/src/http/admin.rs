//! The operations listener (`http.admin_listen`, loopback by default), apart from the public
//! one: `/metrics`, `/healthz`, the operator's `/maintenance` routes
//! ([`super::maintenance`]) and their `/openapi.json`. Other modules add theirs to
//! [`admin_router`]. Also the HTTP request metrics of the public listener.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::http::error::ApiError;

/// The routes of the operations listener.
pub fn admin_router(state: AppState) -> Router {
    let (operator, doc) = super::maintenance::admin_routes().split_for_parts();
    let doc = std::sync::Arc::new(doc);
    operator
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .route("/healthz", get(super::ops::healthz))
        .fallback(
            |uri: axum::http::Uri| async move { ApiError::RouteNotFound(uri.path().to_owned()) },
        )
        .with_state(state)
}

/// Prometheus metrics, text format.
async fn metrics() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::render(),
    )
}

/// The route a request matched, left in its response for [`count_requests`].
#[derive(Debug, Clone)]
struct Route(MatchedPath);

/// Inside the routes: leaves the matched path template in the response.
pub async fn mark_route(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(Route(route));
    }
    response
}

/// Around everything: counts each request by route and status, with its time.
pub async fn count_requests(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(req).await;
    let route = response
        .extensions()
        .get::<Route>()
        .map_or("unmatched", |r| r.0.as_str());
    crate::metrics::http_request(
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
