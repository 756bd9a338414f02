//! The operations listener (`http.admin_listen`, loopback by default), apart from the public
//! one: `/metrics`, `/healthz`, the operator's `/maintenance` routes
//! ([`super::maintenance`]) and their `/openapi.json`. Other modules add theirs to
//! [`admin_router`]. Also the HTTP request metrics of the public listener.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
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

/// Inside the routes: leaves the matched path template in the response (a route layer:
/// only there is the matched path known). A tower layer rather than `from_fn`, which
/// boxes a clone of the route and the future on every request.
#[derive(Debug, Clone, Copy)]
pub struct MarkRoute;

impl<S> tower::Layer<S> for MarkRoute {
    type Service = MarkedRoute<S>;

    fn layer(&self, inner: S) -> MarkedRoute<S> {
        MarkedRoute(inner)
    }
}

/// A route's service under [`MarkRoute`].
#[derive(Debug, Clone)]
pub struct MarkedRoute<S>(S);

impl<S> tower::Service<Request> for MarkedRoute<S>
where
    S: tower::Service<Request, Response = Response>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Marking<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let route = req.extensions().get::<MatchedPath>().cloned();
        Marking {
            answer: self.0.call(req),
            route,
        }
    }
}

/// The answer of a [`MarkedRoute`], its route put in when it is ready.
#[derive(Debug)]
pub struct Marking<F> {
    answer: F,
    route: Option<MatchedPath>,
}

impl<F, E> Future for Marking<F>
where
    F: Future<Output = Result<Response, E>> + Unpin,
{
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut response = std::task::ready!(Pin::new(&mut this.answer).poll(cx))?;
        if let Some(route) = this.route.take() {
            response.extensions_mut().insert(Route(route));
        }
        Poll::Ready(Ok(response))
    }
}

/// Around everything but the trace: answers 431 `headers-too-large` to a request whose
/// head is over `header_limit` bytes, and counts each request by route and status, with
/// its time. One layer for both: each `from_fn` layer boxes a clone of what it wraps
/// and its future on every request.
pub async fn count_requests(header_limit: usize, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = if super::header_bytes(&req) > header_limit {
        ApiError::HeadersTooLarge(header_limit).into_response()
    } else {
        next.run(req).await
    };
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
