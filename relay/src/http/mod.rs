//! The HTTP API: one file per resource, one router built from the handlers'
//! OpenAPI annotations, so `/openapi.json` lists exactly the routes served.

pub mod admin;
mod audit;
pub mod caps;
mod challenges;
mod convert;
mod credentials;
mod device;
mod enrollments;
pub mod error;
pub mod extract;
pub mod maintenance;
mod offline;
mod ops;
pub mod problem;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::Uri;
use axum::middleware::Next;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiError;
use crate::ratelimit::RateLimiter;
use crate::service::Service;
use crate::shutdown::Shutdown;

/// What every handler can reach: a handle on [`Shared`]. axum clones the state for
/// every request (and every `State` extractor): one reference count to bump, not the
/// dozen `Arc`s inside, whose counters every core would write on every request.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The state behind an [`AppState`].
pub struct Shared {
    /// The use cases.
    pub service: Service,
    /// Provisioning rate limit per client address.
    pub limiter: Arc<RateLimiter>,
    /// Device API rate limit per client address (issue 22).
    pub device_limiter: Arc<RateLimiter>,
    /// Device API rate limit per credential, taken once a request verified (issue 22).
    pub credential_limiter: Arc<RateLimiter<onepush_protocol::CredentialId>>,
    /// Event stream and long-poll caps (issue 22).
    pub caps: Arc<caps::Caps>,
    /// Ends event streams and long-polls on shutdown.
    pub shutdown: Shutdown,
    /// The OpenAPI document, served at `/openapi.json`.
    pub openapi: Arc<utoipa::openapi::OpenApi>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// The OpenAPI document's frame; the paths come from the routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "OnePush relay", description = "Bank API, device API and operations of the OnePush relay. See docs/api.md. Every route answers 413 `body-too-large` over the body limit and 431 `headers-too-large` when the request headers are over `http.header_limit_bytes` (16 KiB)."),
    tags(
        (name = "bank", description = "Bank API: Authorization: Bearer <tenant API key>"),
        (name = "device", description = "Device API: every request carries an OnePush-Proof header, except a decision post, which its signed decision authenticates"),
        (name = "ops", description = "Operations")
    )
)]
struct ApiDoc;

/// Every route with its OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(challenges::create))
        .routes(routes!(challenges::get, challenges::cancel))
        .routes(routes!(offline::create))
        .routes(routes!(offline::verify))
        .routes(routes!(enrollments::create))
        .routes(routes!(users::get))
        .routes(routes!(users::verify_otp))
        .routes(routes!(users::resync_otp))
        .routes(routes!(users::suspend))
        .routes(routes!(users::resume))
        .routes(routes!(users::unlock))
        .routes(routes!(users::unregister))
        .routes(routes!(credentials::report_lost))
        .routes(routes!(credentials::jwk))
        .routes(routes!(audit::list))
        .routes(routes!(maintenance::bank_status))
        .routes(routes!(device::credentials::provision))
        .routes(routes!(device::credentials::revoke_self))
        .routes(routes!(device::credentials::push_subscription))
        .routes(routes!(device::credentials::accounts))
        .routes(routes!(device::challenges::list))
        .routes(routes!(device::challenges::get))
        .routes(routes!(device::challenges::decide))
        .routes(routes!(device::events::events))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::openapi))
}

/// The OpenAPI document of [`api_router`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}

/// The application: routes, body and header limits (413 and 431 problems), problem
/// answers for unknown routes.
pub fn router(service: &Service, shutdown: Shutdown) -> Router {
    app(state(service, shutdown))
}

/// The state the public and the operations routers share.
pub fn state(service: &Service, shutdown: Shutdown) -> AppState {
    let settings = service.settings();
    AppState(Arc::new(Shared {
        limiter: Arc::new(RateLimiter::new(settings.limits.provision_per_minute)),
        device_limiter: Arc::new(RateLimiter::new_or_off(
            settings.limits.device_per_address_per_minute,
        )),
        credential_limiter: Arc::new(RateLimiter::new_or_off(
            settings.limits.device_per_credential_per_minute,
        )),
        caps: Arc::new(caps::Caps::new(settings)),
        openapi: Arc::new(api_router().into_openapi()),
        service: service.clone(),
        shutdown,
    }))
}

/// The public application on `state` (see [`router`]); [`admin::admin_router`] is the
/// operations listener's.
pub fn app(state: AppState) -> Router {
    let (routes, _) = api_router().split_for_parts();
    let service = &state.service;
    let header_limit = service.settings().http.header_limit_bytes;
    routes
        .route_layer(admin::MarkRoute)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(
            service.settings().http.body_limit_bytes,
        ))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| admin::count_requests(header_limit, req, next),
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// The size of a request's head as HTTP/1.1 sends it: request line and header lines.
fn header_bytes(req: &Request) -> usize {
    let line = req.method().as_str().len() + display_len(req.uri()) + 12;
    req.headers().iter().fold(line, |total, (name, value)| {
        total + name.as_str().len() + value.len() + 4
    })
}

/// The length of `value`'s `Display` form, counted without making the string.
fn display_len(value: &impl std::fmt::Display) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail.
    let _ = std::fmt::write(&mut count, format_args!("{value}"));
    count.0
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}
