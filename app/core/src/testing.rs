//! A device for tests of the relay (feature `testing`): the same proofs, decision claims
//! and codes as [`RelayClient`](crate::RelayClient) and
//! [`Authenticator`](crate::Authenticator), with every part open, so a test can send what
//! the app never would — a proof for another URL or time, a decision signed by another
//! key, a request from a revoked credential, a body the API refuses — and read the
//! relay's answer whole ([`Answer`]: status, headers, body, problem document).
//!
//! Nothing here keeps a vault: the key, credential and clock are plain fields a test sets.
//! The checks in [`Answer`] panic with the body when the answer is not the one expected:
//! this module is for tests only.

use std::sync::Arc;

use onepush_protocol::api::{DeviceChallenge, Problem, Provisioned};
use onepush_protocol::jws::{DecisionClaims, sign_decision};
use onepush_protocol::totp::{self, TotpSecret};
use onepush_protocol::{CredentialId, DecisionVerdict, DeviceKey, PushSubscription};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::authenticator::claims_for;
use crate::client::request_proof;

/// Where "now" (Unix seconds) comes from for proofs, claims and codes.
pub type Now = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock, as a [`Now`].
pub fn system_now() -> Now {
    Arc::new(crate::unix_now)
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body, as received.
    pub body: Vec<u8>,
}

impl Answer {
    /// Reads `response` to its end.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body").to_vec();
        Self {
            status,
            headers,
            body,
        }
    }

    /// The body as `T`, after checking the status.
    pub fn json<T: DeserializeOwned>(&self, status: u16) -> T {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// The problem document, after checking the status, the content type
    /// (`application/problem+json`), the slug and that the detail says something.
    pub fn problem(&self, status: u16, slug: &str) -> Problem {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(content_type, "application/problem+json");
        let problem: Problem = serde_json::from_slice(&self.body).expect("problem+json");
        assert_eq!(problem.slug(), slug, "{problem:?}");
        assert_eq!(problem.status, status);
        assert!(!problem.detail.is_empty());
        problem
    }
}

/// A device that plays the app over the device API, every part of it settable.
pub struct TestDevice {
    /// Where requests go.
    pub url: String,
    /// The relay's public URL, signed into proofs as `htu`, when it is not `url`: relays
    /// behind a load balancer all have the balancer's URL.
    pub public_url: Option<String>,
    /// The signing key (replace it to sign as an impostor).
    pub key: DeviceKey,
    /// The relay's provisioning answer; `None` signs proofs with the embedded JWK.
    pub provisioned: Option<Provisioned>,
    /// The clock of proofs, claims and codes.
    pub now: Now,
    /// The HTTP client.
    pub client: reqwest::Client,
}

impl std::fmt::Debug for TestDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDevice")
            .field("url", &self.url)
            .field("public_url", &self.public_url)
            .field(
                "credential",
                &self.provisioned.as_ref().map(|p| &p.credential_id),
            )
            .finish_non_exhaustive()
    }
}

impl TestDevice {
    /// A new key, not provisioned, on the system clock, for the relay at `url`.
    pub fn new(url: &str) -> Self {
        Self::with_clock(url, system_now())
    }

    /// A new key, not provisioned, on the clock `now`.
    pub fn with_clock(url: &str, now: Now) -> Self {
        Self {
            url: url.to_owned(),
            public_url: None,
            key: DeviceKey::generate(),
            provisioned: None,
            now,
            client: reqwest::Client::new(),
        }
    }

    /// A device provisioned on the relay at `url` (not provisioned when the relay
    /// refuses: [`TestDevice::credential_id`] then panics).
    pub async fn provisioned(url: &str, subscription: Option<PushSubscription>) -> Self {
        let mut device = Self::new(url);
        device.provision(subscription).await;
        device
    }

    /// This device reaching relays behind a load balancer whose URL (every relay's
    /// `public_url`) is `public_url`: its proofs name that URL.
    #[must_use]
    pub fn behind(mut self, public_url: &str) -> Self {
        self.public_url = Some(public_url.to_owned());
        self
    }

    /// The same device (key, credential) talking to the relay at `url`, as a load
    /// balancer would route it; its proofs still name `public_url`, if it has one.
    #[must_use]
    pub fn through(&self, url: &str) -> Self {
        Self {
            url: url.to_owned(),
            public_url: self.public_url.clone(),
            key: self.key.clone(),
            provisioned: self.provisioned.clone(),
            now: self.now.clone(),
            client: self.client.clone(),
        }
    }

    /// The credential's ID (panics before provisioning).
    pub fn credential_id(&self) -> CredentialId {
        self.provisioned
            .as_ref()
            .expect("provisioned")
            .credential_id
            .clone()
    }

    /// The TOTP secret (panics before provisioning).
    pub fn secret(&self) -> TotpSecret {
        TotpSecret::from_base32(&self.provisioned.as_ref().expect("provisioned").totp_secret)
            .expect("secret")
    }

    /// The previous and the current code: what a user types after waiting for the next code.
    pub fn enrollment_codes(&self) -> [String; 2] {
        let step = totp::step_at((self.now)());
        [
            totp::code_at_step(&self.secret(), step - 1),
            totp::code_at_step(&self.secret(), step),
        ]
    }

    /// The code `steps` time steps from now (negative: earlier).
    pub fn code_at_offset(&self, steps: i64) -> String {
        let step = totp::step_at((self.now)())
            .checked_add_signed(steps)
            .expect("step");
        totp::code_at_step(&self.secret(), step)
    }

    /// The `OnePush-Proof` for `method` on `path` with `body`, signed now, as the app's
    /// client signs it.
    pub fn proof(&self, method: &str, path: &str, body: &[u8]) -> String {
        let base = self.public_url.as_deref().unwrap_or(&self.url);
        let credential = self.provisioned.as_ref().map(|p| &p.credential_id);
        request_proof(
            &self.key,
            credential,
            method,
            &format!("{base}{path}"),
            body,
            (self.now)(),
        )
    }

    /// Opens `GET /v1/device/events` (signed) and answers the streaming response.
    pub async fn open_events(&self) -> reqwest::Response {
        let path = "/v1/device/events";
        self.client
            .get(format!("{}{path}", self.url))
            .header("OnePush-Proof", self.proof("GET", path, b""))
            .send()
            .await
            .expect("event stream request")
    }

    /// Sends `body` (JSON, when not empty) with exactly the proof `proof`.
    pub async fn send_with_proof(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        proof: &str,
    ) -> Answer {
        let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(m, format!("{}{path}", self.url))
            .header("OnePush-Proof", proof);
        if !body.is_empty() {
            req = req
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        Answer::read(req.send().await.expect("request")).await
    }

    /// Sends a signed request.
    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let proof = self.proof(method, path, &body);
        self.send_with_proof(method, path, &body, &proof).await
    }

    /// `POST /v1/device/credentials` with this key; keeps the answer when it is a 201.
    pub async fn provision(&mut self, subscription: Option<PushSubscription>) -> Answer {
        let body =
            serde_json::json!({ "jwk": self.key.public_jwk(), "push_subscription": subscription });
        let answer = self
            .send("POST", "/v1/device/credentials", Some(&body))
            .await;
        if answer.status == 201 {
            self.provisioned = Some(answer.json(201));
        }
        answer
    }

    /// `GET /v1/device/challenges/{id}` (panics unless 200).
    pub async fn challenge(&self, id: &str) -> DeviceChallenge {
        self.send("GET", &format!("/v1/device/challenges/{id}"), None)
            .await
            .json(200)
    }

    /// The claims the app would sign for `ch`, whatever its state, without a number.
    pub fn claims(&self, ch: &DeviceChallenge, verdict: DecisionVerdict) -> DecisionClaims {
        claims_for(
            ch,
            &self.credential_id(),
            verdict,
            None,
            None,
            true,
            (self.now)(),
        )
    }

    /// Signs `claims` with this key and posts them.
    pub async fn post_decision(&self, id: &str, claims: &DecisionClaims) -> Answer {
        let jws = sign_decision(&self.key, claims);
        self.post_jws(id, &jws).await
    }

    /// Posts a decision as the app does: the signed decision authenticates the request,
    /// no `OnePush-Proof` with it.
    pub async fn post_jws(&self, id: &str, jws: &str) -> Answer {
        let body = serde_json::json!({ "jws": jws }).to_string();
        let req = self
            .client
            .post(format!("{}/v1/device/challenges/{id}/decision", self.url))
            .header("content-type", "application/json")
            .body(body);
        Answer::read(req.send().await.expect("request")).await
    }

    /// Posts a decision with a request proof as well (as clients did before decisions
    /// authenticated themselves): the proof is verified like any device request's.
    pub async fn post_jws_with_proof(&self, id: &str, jws: &str) -> Answer {
        let body = serde_json::json!({ "jws": jws });
        self.send(
            "POST",
            &format!("/v1/device/challenges/{id}/decision"),
            Some(&body),
        )
        .await
    }

    /// Fetches the challenge and answers it.
    pub async fn answer(&self, id: &str, verdict: DecisionVerdict, number: Option<u8>) -> Answer {
        let ch = self.challenge(id).await;
        let mut claims = self.claims(&ch, verdict);
        claims.num = number;
        self.post_decision(id, &claims).await
    }
}
