//! Shared helpers for the demo bank's tests: a seeded bank on an in-memory
//! database, requests through `oneshot`, and sessions signed in directly.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use onepush_bank::{ApiKey, Client};
use onepush_demo_bank::store::Store;
use onepush_demo_bank::{AppState, Settings, seed};
use tower::ServiceExt as _;

pub mod world;

/// A relay URL where nothing listens.
pub const NO_RELAY: &str = "http://127.0.0.1:9";

/// A seeded bank talking to the relay at `relay_url` with `api_key`.
pub async fn bank(relay_url: &str, api_key: &str, settings: Settings) -> AppState {
    let store = Store::in_memory().await.expect("database");
    seed::seed(&store, onepush_demo_bank::now())
        .await
        .expect("seed");
    let relay = Client::new(relay_url, ApiKey::new(api_key)).expect("client");
    AppState {
        store,
        relay,
        settings: Arc::new(settings),
    }
}

/// A browser: keeps the session cookie between requests.
pub struct Browser {
    pub app: Router,
    pub cookie: Option<String>,
}

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub body: String,
}

impl Page {
    /// The session's form token found in the page.
    pub fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self.body.find(marker).expect("page has a form token") + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }
}

impl Browser {
    pub fn new(state: AppState) -> Self {
        Self {
            app: onepush_demo_bank::app(state),
            cookie: None,
        }
    }

    async fn send(&mut self, request: Request<Body>) -> Page {
        let response: Response<Body> = self.app.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned())
        };
        let location = header(header::LOCATION);
        let set_cookie = header(header::SET_COOKIE);
        if let Some(c) = &set_cookie {
            self.cookie = Some(c.split(';').next().unwrap().to_owned());
        }
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Page {
            status,
            location,
            set_cookie,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let mut request = Request::get(path);
        if let Some(c) = &self.cookie {
            request = request.header(header::COOKIE, c);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = &self.cookie {
            request = request.header(header::COOKIE, c);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// The session ID from the cookie.
    pub fn session_id(&self) -> String {
        self.cookie
            .as_ref()
            .expect("cookie")
            .split_once('=')
            .unwrap()
            .1
            .to_owned()
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Opens the login page and signs the browser's session in as `user` directly.
pub async fn signed_in(state: &AppState, user: &str) -> Browser {
    let mut browser = Browser::new(state.clone());
    browser.get("/login").await;
    state
        .store
        .sign_in(&browser.session_id(), seed::CONTRACT, user)
        .await
        .unwrap();
    browser
}
