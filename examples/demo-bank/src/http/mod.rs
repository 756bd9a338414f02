//! The bank's pages: the router, the page frame and the one error type.

mod admin;
mod approval;
mod contract;
mod login;
mod maintenance;
mod payments;
mod register;
mod resync;
mod session;
mod staff;
mod transfer;

use askama::Template;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub use approval::yen;
pub use session::{COOKIE_NAME, ClientInfo};

use crate::AppState;
use crate::store::{Session, StoreError, User};

/// The bank's router: a function of the state, so tests drive it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(login::index))
        .route("/login", get(login::login_page).post(login::login))
        .route("/login/otp", get(login::otp_page).post(login::otp_submit))
        .route("/logout", post(login::logout))
        .route("/dashboard", get(login::dashboard))
        .route("/approval/{id}", get(approval::waiting))
        .route("/approval/{id}/status", get(approval::status))
        .route("/approval/{id}/cancel", post(approval::cancel))
        .route("/approval/{id}/result", get(approval::result))
        .route("/approval/{id}/offline", post(approval::offline))
        .route("/approval/{id}/offline-code", post(approval::offline_code))
        .route("/register", get(register::page).post(register::enroll))
        .route("/register/signin", post(register::sign_in))
        .route("/resync", get(resync::page).post(resync::submit))
        .route("/transfer", get(transfer::page).post(transfer::submit))
        .route("/transfers", get(transfer::list))
        .route("/payments", get(payments::menu))
        .route(
            "/payments/{kind}",
            get(payments::page).post(payments::submit),
        )
        .route("/admin", get(admin::page).post(admin::submit))
        .route("/outbox", get(staff::outbox))
        .route("/staff", get(staff::page))
        .route("/staff/login", post(staff::login))
        .route("/staff/action", post(staff::action))
        .route("/staff/contract-end", post(contract::end))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::layer,
        ));
    Router::new()
        .merge(pages)
        .route("/static/style.css", get(style))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        include_str!("../../static/style.css"),
    )
}

/// What the page frame (`base.html`) shows.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// Page title.
    pub title: String,
    /// The session's form token.
    pub csrf: String,
    /// Signed-in user's name and ID.
    pub user: Option<String>,
    /// Whether the signed-in user has the admin page.
    pub admin: bool,
    /// Whether the signed-in user may enter transfers.
    pub transfers: bool,
    /// A notice from the previous step.
    pub flash: Option<String>,
    /// The relay's maintenance announcement (R18), on the pages that show it.
    pub maintenance: Option<String>,
}

impl Meta {
    /// The frame for a session, taking its notice.
    pub async fn new(state: &AppState, session: &Session, title: &str) -> Result<Self, AppError> {
        let mut meta = Self {
            title: title.to_owned(),
            csrf: session.csrf.clone(),
            ..Self::default()
        };
        if let Some(user) = signed_in_user(state, session).await? {
            meta.user = Some(format!("{} ({})", user.name, user.user_id));
            meta.admin = user.role().is_admin();
            meta.transfers = user.role().can_transfer();
        }
        meta.flash = state.store.take_flash(&session.id).await?;
        Ok(meta)
    }
}

/// The user whose login is complete, if any.
pub async fn signed_in_user(state: &AppState, session: &Session) -> Result<Option<User>, AppError> {
    let (Some(contract), Some(user_id)) = (&session.contract_number, &session.user_id) else {
        return Ok(None);
    };
    match state.store.user(contract, user_id).await {
        Ok(user) => Ok(Some(user)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The signed-in user, or a redirect to the login page.
pub async fn require_user(state: &AppState, session: &Session) -> Result<User, AppError> {
    signed_in_user(state, session)
        .await?
        .ok_or(AppError::SignIn)
}

/// Renders a template.
pub fn render<T: Template>(template: &T) -> Result<Response, AppError> {
    let html = template
        .render()
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Html(html).into_response())
}

/// Renders a form page again with its error, as 422.
pub fn render_invalid<T: Template>(template: &T) -> Result<Response, AppError> {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(template)?).into_response())
}

/// Why a page could not be served.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not signed in: go to the login page.
    #[error("sign in first")]
    SignIn,
    /// The form token is missing or wrong.
    #[error("form token mismatch")]
    Csrf,
    /// No such page or object for this session.
    #[error("not found")]
    NotFound,
    /// Signed in but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The relay cannot be reached.
    #[error("relay unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the cause is logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            other => Self::Internal(other.into()),
        }
    }
}

impl From<onepush_bank::Error> for AppError {
    fn from(e: onepush_bank::Error) -> Self {
        match e {
            onepush_bank::Error::Transport(_) | onepush_bank::Error::Unreadable { .. } => {
                Self::Unavailable(e.to_string())
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl From<onepush_protocol::IdError> for AppError {
    fn from(e: onepush_protocol::IdError) -> Self {
        Self::Internal(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    meta: Meta,
    heading: String,
    message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match &self {
            Self::SignIn => return Redirect::to("/login").into_response(),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "画面の有効期限が切れました / This form has expired",
                "もう一度最初から操作してください。Please go back, reload the page and try again."
                    .to_owned(),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "ページが見つかりません / Not found",
                String::new(),
            ),
            Self::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                "権限がありません / Not allowed",
                (*why).to_owned(),
            ),
            Self::Unavailable(why) => {
                tracing::warn!(%why, "relay unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "認証サービスに接続できません / The authentication service is unavailable",
                    "しばらくしてから再度お試しください。Please try again in a moment.".to_owned(),
                )
            }
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "システムエラー / System error",
                    "しばらくしてから再度お試しください。Please try again later.".to_owned(),
                )
            }
        };
        let page = ErrorPage {
            meta: Meta {
                title: heading.to_owned(),
                ..Meta::default()
            },
            heading: heading.to_owned(),
            message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, heading).into_response(),
        }
    }
}
