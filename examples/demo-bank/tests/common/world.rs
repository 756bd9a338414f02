//! A bank against a real relay (served on 127.0.0.1:0) and emulated phones
//! (`onepush-device`'s library), with the steps the flow tests share.

use axum::http::StatusCode;
use onepush_demo_bank::{AppState, Settings, seed};
use onepush_device::{Authenticator, UnencryptedFileKeyStore};
use onepush_protocol::api::DeviceChallenge;
use onepush_relay::testing::{TestRelay, spawn_relay};

use super::{Browser, bank, signed_in};

/// Now, Unix seconds (the bank's own clock).
pub fn now() -> i64 {
    onepush_demo_bank::now()
}

/// A relay, a seeded bank that talks to it, and a folder for phones.
pub struct World {
    pub relay: TestRelay,
    pub state: AppState,
    pub dir: tempfile::TempDir,
}

/// Starts the relay and the bank (challenges live 10 s).
pub async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let relay = spawn_relay(&dir.path().join("relay")).await;
    let settings = Settings {
        ttl_seconds: 10,
        ..Settings::default()
    };
    let state = bank(&relay.url, &relay.api_key, settings).await;
    World { relay, state, dir }
}

/// A phone provisioned at the relay, its vault under `name`.
pub async fn phone(w: &World, name: &str) -> Authenticator {
    let home = w.dir.path().join(name);
    std::fs::create_dir_all(&home).unwrap();
    Authenticator::provision(
        Box::new(UnencryptedFileKeyStore::new(&home)),
        &w.relay.url,
        now(),
    )
    .await
    .unwrap()
}

/// Registers `device` for `user` through the bank's registration page.
pub async fn enroll(w: &World, user: &str, device: &Authenticator) {
    let mut browser = signed_in(&w.state, user).await;
    let csrf = browser.get("/register").await.csrf();
    let codes = device.codes(now());
    let cid = device.vault().credential_id().grouped();
    let page = browser
        .post(
            "/register",
            &[
                ("csrf", &csrf),
                ("credential_id", &cid),
                ("code1", &codes.current),
                ("code2", &codes.next),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("one-push is registered"),
        "{}",
        page.body
    );
}

/// The one challenge pending on the phone.
pub async fn pending_one(device: &Authenticator) -> DeviceChallenge {
    let mut list = device.pending().await.unwrap();
    assert_eq!(list.len(), 1, "one pending challenge");
    list.remove(0)
}

/// Logs in with the password; returns the browser on the waiting page and its path.
pub async fn login(w: &World, user: &str) -> (Browser, String) {
    let mut browser = Browser::new(w.state.clone());
    let csrf = browser.get("/login").await.csrf();
    let page = browser
        .post(
            "/login",
            &[
                ("csrf", &csrf),
                ("contract", seed::CONTRACT),
                ("user_id", user),
                ("password", seed::LOGIN_PASSWORD),
            ],
        )
        .await;
    let location = page
        .location
        .clone()
        .unwrap_or_else(|| panic!("redirect expected: {}", page.body));
    (browser, location)
}

/// The number the waiting page shows.
pub fn number_on(page: &str) -> u8 {
    let start = page.find(r#"id="number">"#).expect("number shown") + r#"id="number">"#.len();
    page[start..]
        .split('<')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The waiting page's long-poll answer.
pub async fn status(browser: &mut Browser, waiting: &str) -> serde_json::Value {
    serde_json::from_str(&browser.get(&format!("{waiting}/status")).await.body).unwrap()
}
