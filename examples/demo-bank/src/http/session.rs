//! Sessions in an `HttpOnly`, `SameSite=Strict` cookie, a CSRF token per session, and
//! the client's address and browser for the login context.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq as _;

use super::AppError;
use crate::AppState;
use crate::store::{Session, StoreError};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "bank_session";

/// Loads the session named by the cookie, or starts one and sets the cookie.
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let existing = match cookie_value(request.headers()) {
        Some(id) => match state.store.session(&id).await {
            Ok(session) => Some(session),
            Err(StoreError::NotFound) => None,
            Err(e) => return AppError::from(e).into_response(),
        },
        None => None,
    };
    let (session, fresh) = match existing {
        Some(session) => (session, false),
        None => match new_session(&state).await {
            Ok(session) => (session, true),
            Err(e) => return e.into_response(),
        },
    };
    let cookie = fresh.then(|| set_cookie(&session.id, state.settings.secure_cookies));
    request.extensions_mut().insert(session);
    let mut response = next.run(request).await;
    if let Some(cookie) = cookie {
        // A handler that rotated the session has set its own cookie: keep that one.
        if !response.headers().contains_key(SET_COOKIE) {
            response.headers_mut().append(SET_COOKIE, cookie);
        }
    }
    response
}

/// A new anonymous session with fresh random ID and form token.
pub async fn new_session(state: &AppState) -> Result<Session, AppError> {
    Ok(state
        .store
        .insert_session(&random_token(), &random_token(), crate::now())
        .await?)
}

/// The `Set-Cookie` value for a session.
pub fn set_cookie(id: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={id}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("bank_session=; Path=/"))
}

/// 32 random bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    onepush_protocol::keys::fill_random(&mut bytes);
    onepush_protocol::b64::encode(bytes)
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

/// Refuses a form whose token is not the session's.
pub fn check_csrf(session: &Session, token: &str) -> Result<(), AppError> {
    if bool::from(session.csrf.as_bytes().ct_eq(token.as_bytes())) {
        Ok(())
    } else {
        Err(AppError::Csrf)
    }
}

/// Where a request came from, for the login context shown on the phone.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The peer address (`unknown` when not served over a socket, as in tests).
    pub ip: String,
    /// The browser's `User-Agent`, shortened.
    pub user_agent: String,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
        let user_agent: String = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown")
            .chars()
            .take(200)
            .collect();
        let user_agent = if user_agent.trim().is_empty() {
            "unknown".to_owned()
        } else {
            user_agent
        };
        Ok(Self { ip, user_agent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; bank_session=abc; b=2"),
        );
        assert_eq!(cookie_value(&headers).as_deref(), Some("abc"));
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site() {
        let v = set_cookie("x", true);
        let v = v.to_str().unwrap();
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Strict") && v.contains("Secure"));
    }
}
