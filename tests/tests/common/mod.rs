//! The end-to-end harness: an in-process relay on a temp SQLite folder, a bank (the
//! bank SDK, `onepush-bank`), emulated phones (the `onepush-device` library), and
//! the `onepush-device` binary run as a process.

#![allow(dead_code)] // each test file uses a different part of the harness

pub mod cli;
pub mod relay_process;

use std::path::PathBuf;
use std::time::Duration;

use onepush_device::events::{Incoming, Source};
use onepush_device::{Authenticator, UnencryptedFileKeyStore};
use onepush_protocol::api::{
    BankChallenge, ChallengeCreated, CreateChallenge, CredentialKey, DeviceChallenge,
};
use onepush_protocol::totp;
use onepush_protocol::{ChallengeId, Context, CredentialId};
use onepush_relay::testing::{TestRelay, spawn_relay};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A relay, its data folder, and the test tenant's bank.
pub struct World {
    pub dir: tempfile::TempDir,
    pub relay: TestRelay,
    pub bank: Bank,
    phones: std::sync::atomic::AtomicU32,
}

/// Starts a relay with one tenant (`test-bank`).
pub async fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let relay = spawn_relay(&dir.path().join("relay")).await;
    let bank = Bank::new(&relay.url, &relay.api_key);
    World {
        dir,
        relay,
        bank,
        phones: std::sync::atomic::AtomicU32::new(0),
    }
}

impl World {
    /// The relay's base URL.
    pub fn url(&self) -> &str {
        &self.relay.url
    }

    /// Another tenant with its own API key.
    pub async fn other_bank(&self, slug: &str, name: &str) -> Bank {
        let tenant = self
            .relay
            .relay
            .add_tenant(slug, name, None)
            .await
            .expect("tenant");
        Bank::new(&self.relay.url, &tenant.api_key)
    }

    /// A new phone folder under the world's temp folder.
    pub fn home(&self) -> PathBuf {
        let n = self
            .phones
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.dir.path().join(format!("phone-{n}"))
    }

    /// A provisioned phone with an emulator (unencrypted) vault.
    pub async fn phone(&self) -> Authenticator {
        let store = UnencryptedFileKeyStore::new(&self.home());
        Authenticator::provision(Box::new(store), self.url(), now())
            .await
            .expect("provision")
    }

    /// A provisioned phone enrolled for `user` at the test bank.
    pub async fn enrolled_phone(&self, user: &str) -> Authenticator {
        let phone = self.phone().await;
        enroll(&self.bank, &phone, user).await;
        phone
    }
}

/// The current Unix time.
pub fn now() -> i64 {
    onepush_device::unix_now()
}

/// The codes of the previous and the current step: what a user types after reading
/// one code and waiting for the next (so the following step is still free for OTP).
pub fn enrollment_codes(phone: &Authenticator) -> [String; 2] {
    code_pair(phone, -1)
}

/// The codes of steps `now + offset` and `now + offset + 1`.
pub fn code_pair(phone: &Authenticator, offset: i64) -> [String; 2] {
    [code_at(phone, offset), code_at(phone, offset + 1)]
}

/// The code of step `now + offset`.
pub fn code_at(phone: &Authenticator, offset: i64) -> String {
    let step = totp::step_at(now())
        .checked_add_signed(offset)
        .expect("step");
    totp::code_at_step(phone.vault().totp_secret(), step)
}

/// Enrolls `phone` for `user` at `bank` with two consecutive codes.
pub async fn enroll(bank: &Bank, phone: &Authenticator, user: &str) {
    let (status, body) = bank
        .enroll(
            user,
            phone.vault().credential_id(),
            &enrollment_codes(phone),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "enrollment: {body}");
}

/// A login context as a bank's sign-in page sends it.
pub fn login_context() -> Value {
    json!({ "ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (Windows NT 10.0) Firefox/140.0", "location": "Osaka, JP" })
}

/// A transfer context.
pub fn transfer_context() -> Value {
    json!({
        "amount": "1250000", "currency": "JPY",
        "payee_name": "カ）ヤマダショウジ", "payee_account": "0001-123-4567890",
        "memo": "6月分 仕入代金", "fee_borne_by": "payer", "items": 3,
    })
}

/// The bank side: the bank SDK's client with the tenant's key. The helpers that answer
/// `(status, body)` send raw requests (tests check refusals); the others are the SDK's
/// typed calls and must succeed.
pub struct Bank {
    relay: onepush_bank::Client,
}

impl Bank {
    pub fn new(url: &str, api_key: &str) -> Self {
        let relay = onepush_bank::Client::new(url, onepush_bank::ApiKey::new(api_key))
            .expect("the relay URL is a base URL");
        Self { relay }
    }

    /// The SDK client itself.
    pub fn sdk(&self) -> &onepush_bank::Client {
        &self.relay
    }

    /// Sends a request; the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.relay.raw_path(method, path);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("bank request");
        let status = response.status();
        let bytes = response.bytes().await.expect("bank answer");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON answer")
        };
        (status, value)
    }

    /// Asks `user` to approve; the raw answer.
    pub async fn try_challenge(
        &self,
        user: &str,
        kind: &str,
        context: Value,
        ttl: u32,
        number: bool,
    ) -> (StatusCode, Value) {
        let body = json!({ "user_id": user, "kind": kind, "context": context, "ttl_seconds": ttl, "number_matching": number });
        self.call(Method::POST, "/v1/challenges", Some(body)).await
    }

    /// Asks `user` to approve a login (60 s).
    pub async fn login(&self, user: &str) -> ChallengeCreated {
        self.challenge(user, "login", login_context(), 60, false)
            .await
    }

    /// Asks `user` to approve; must succeed.
    pub async fn challenge(
        &self,
        user: &str,
        kind: &str,
        context: Value,
        ttl: u32,
        number: bool,
    ) -> ChallengeCreated {
        let body = CreateChallenge {
            user_id: user.parse().expect("a valid user ID"),
            kind: serde_json::from_value(json!(kind)).expect("a challenge kind"),
            context: Context::from_value(context).expect("a valid context"),
            ttl_seconds: Some(ttl),
            number_matching: number,
        };
        self.relay
            .create_challenge(&body, None)
            .await
            .unwrap_or_else(|e| panic!("challenge: {e}"))
    }

    /// The long-poll: returns once the challenge is decided or after `wait` seconds.
    pub async fn outcome(&self, id: ChallengeId, wait: u32) -> BankChallenge {
        self.relay
            .challenge(&id, wait)
            .await
            .unwrap_or_else(|e| panic!("outcome: {e}"))
    }

    /// `POST /v1/enrollments`.
    pub async fn enroll(
        &self,
        user: &str,
        cid: &CredentialId,
        codes: &[String; 2],
    ) -> (StatusCode, Value) {
        let body = json!({ "user_id": user, "credential_id": cid.grouped(), "codes": codes });
        self.call(Method::POST, "/v1/enrollments", Some(body)).await
    }

    /// `POST /v1/users/{user}/otp/verify`.
    pub async fn verify_otp(&self, user: &str, code: &str) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/v1/users/{user}/otp/verify"),
            Some(json!({ "code": code })),
        )
        .await
    }

    /// `GET /v1/users/{user}`.
    pub async fn user(&self, user: &str) -> (StatusCode, Value) {
        self.call(Method::GET, &format!("/v1/users/{user}"), None)
            .await
    }

    /// `GET /v1/credentials/{cid}/jwk`.
    pub async fn jwk(&self, cid: &CredentialId) -> CredentialKey {
        self.relay
            .jwk(cid)
            .await
            .unwrap_or_else(|e| panic!("jwk: {e}"))
    }
}

/// The slug of a problem answer.
pub fn slug(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or_default()
}

/// Waits (at most `secs`) for a report that `want` accepts, skipping others.
pub async fn next_matching(
    rx: &mut mpsc::Receiver<Incoming>,
    secs: u64,
    mut want: impl FnMut(&Incoming) -> bool,
) -> Incoming {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let incoming = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("nothing wanted arrived within {secs} s"))
            .expect("the watcher stopped");
        if want(&incoming) {
            return incoming;
        }
    }
}

/// Whether `incoming` announces challenge `id`.
pub fn announces(incoming: &Incoming, id: ChallengeId) -> bool {
    matches!(incoming, Incoming::Challenge { id: got, .. } if *got == id)
}

/// A challenge report with the details its channel carried (the event stream and a pull
/// carry them); panics on anything else.
pub fn carried(incoming: Incoming) -> (ChallengeId, Source, DeviceChallenge) {
    match incoming {
        Incoming::Challenge {
            id,
            source,
            challenge: Some(challenge),
        } => (id, source, *challenge),
        other => panic!("a challenge with its details: {other:?}"),
    }
}
