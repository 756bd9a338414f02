//! The bank's client of the relay's public bank API (`docs/api.md`), with its
//! tenant key. The bodies are `onepush_protocol::api` types.

use std::fmt;
use std::time::Duration;

use onepush_protocol::api::{
    BankChallenge, ChallengeCreated, CreateChallenge, CreateEnrollment, CreateOfflineChallenge,
    CredentialKey, GraceUntil, OfflineChallengeCreated, OfflineCodeVerified, OtpResynced,
    OtpVerified, Problem, ReportedLost, ResyncOtp, UserBinding, VerifyOfflineCode, VerifyOtp,
};
use onepush_protocol::{ChallengeId, CredentialId};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a relay call failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The relay answered with a problem document.
    #[error("relay: {} ({})", .0.detail, .0.slug())]
    Problem(Box<Problem>),
    /// The relay could not be reached or answered something unreadable.
    #[error("relay unreachable or unreadable: {0}")]
    Transport(String),
}

impl RelayError {
    /// The problem slug, when the relay gave one.
    pub fn slug(&self) -> Option<&str> {
        match self {
            Self::Problem(p) => Some(p.slug()),
            Self::Transport(_) => None,
        }
    }

    /// The problem, when the relay gave one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem(p) => Some(p),
            Self::Transport(_) => None,
        }
    }
}

/// The tenant API key; hidden from `Debug`.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// A client of the bank API.
#[derive(Debug, Clone)]
pub struct RelayClient {
    http: reqwest::Client,
    base: String,
    key: ApiKey,
}

impl RelayClient {
    /// A client for the relay at `base` (like `http://127.0.0.1:8420`).
    pub fn new(base: &str, key: ApiKey) -> Result<Self, RelayError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| RelayError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key,
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key.0)
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, RelayError> {
        let response = request
            .send()
            .await
            .map_err(|e| RelayError::Transport(e.to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| RelayError::Transport(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| RelayError::Transport(format!("bad answer: {e}")));
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => Err(RelayError::Problem(Box::new(problem))),
            Err(_) => Err(RelayError::Transport(format!("HTTP {status}"))),
        }
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, RelayError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// `POST /v1/challenges` with an idempotency key.
    pub async fn create_challenge(
        &self,
        body: &CreateChallenge,
        idempotency_key: &str,
    ) -> Result<ChallengeCreated, RelayError> {
        let request = self
            .request(Method::POST, "/v1/challenges")
            .header(onepush_protocol::api::IDEMPOTENCY_HEADER, idempotency_key)
            .json(body);
        self.send(request).await
    }

    /// `GET /v1/challenges/{id}?wait=S`: returns when it is decided or after `wait` seconds.
    pub async fn challenge(
        &self,
        id: &ChallengeId,
        wait: u32,
    ) -> Result<BankChallenge, RelayError> {
        let request = self
            .request(Method::GET, &format!("/v1/challenges/{id}?wait={wait}"))
            .timeout(Duration::from_secs(u64::from(wait) + 15));
        self.send(request).await
    }

    /// `DELETE /v1/challenges/{id}`.
    pub async fn cancel_challenge(&self, id: &ChallengeId) -> Result<BankChallenge, RelayError> {
        self.call::<(), _>(Method::DELETE, &format!("/v1/challenges/{id}"), None)
            .await
    }

    /// `POST /v1/offline-challenges`: an offline code for a phone without network.
    pub async fn create_offline_challenge(
        &self,
        body: &CreateOfflineChallenge,
    ) -> Result<OfflineChallengeCreated, RelayError> {
        self.call(Method::POST, "/v1/offline-challenges", Some(body))
            .await
    }

    /// `POST /v1/offline-challenges/{id}/verify`: the 8-digit code the user typed.
    pub async fn verify_offline_code(
        &self,
        id: &ChallengeId,
        code: &str,
    ) -> Result<OfflineCodeVerified, RelayError> {
        let body = VerifyOfflineCode {
            code: code.to_owned(),
        };
        self.call(
            Method::POST,
            &format!("/v1/offline-challenges/{id}/verify"),
            Some(&body),
        )
        .await
    }

    /// `POST /v1/enrollments` (R8).
    pub async fn enroll(&self, body: &CreateEnrollment) -> Result<UserBinding, RelayError> {
        self.call(Method::POST, "/v1/enrollments", Some(body)).await
    }

    /// `GET /v1/users/{id}`; `None` when the user has never enrolled.
    pub async fn binding(&self, user_id: &str) -> Result<Option<UserBinding>, RelayError> {
        match self
            .call::<(), _>(Method::GET, &format!("/v1/users/{user_id}"), None)
            .await
        {
            Ok(binding) => Ok(Some(binding)),
            Err(e) if e.slug() == Some("user-not-enrolled") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /v1/users/{id}/otp/verify`.
    pub async fn verify_otp(&self, user_id: &str, code: &str) -> Result<OtpVerified, RelayError> {
        let body = VerifyOtp {
            code: code.to_owned(),
        };
        self.call(
            Method::POST,
            &format!("/v1/users/{user_id}/otp/verify"),
            Some(&body),
        )
        .await
    }

    /// `POST /v1/users/{id}/otp/resync` (R12): two consecutive codes, older first.
    pub async fn resync_otp(
        &self,
        user_id: &str,
        codes: [String; 2],
    ) -> Result<OtpResynced, RelayError> {
        self.call(
            Method::POST,
            &format!("/v1/users/{user_id}/otp/resync"),
            Some(&ResyncOtp { codes }),
        )
        .await
    }

    /// `POST /v1/users/{id}/suspend` (R13).
    pub async fn suspend(
        &self,
        user_id: &str,
        grace: &GraceUntil,
    ) -> Result<UserBinding, RelayError> {
        self.call(
            Method::POST,
            &format!("/v1/users/{user_id}/suspend"),
            Some(grace),
        )
        .await
    }

    /// `POST /v1/users/{id}/resume` (R13).
    pub async fn resume(&self, user_id: &str) -> Result<UserBinding, RelayError> {
        self.call::<(), _>(Method::POST, &format!("/v1/users/{user_id}/resume"), None)
            .await
    }

    /// `POST /v1/users/{id}/unlock` (R15).
    pub async fn unlock(&self, user_id: &str) -> Result<UserBinding, RelayError> {
        self.call::<(), _>(Method::POST, &format!("/v1/users/{user_id}/unlock"), None)
            .await
    }

    /// `DELETE /v1/users/{id}/enrollment` (R14).
    pub async fn unregister(
        &self,
        user_id: &str,
        grace: &GraceUntil,
    ) -> Result<UserBinding, RelayError> {
        self.call(
            Method::DELETE,
            &format!("/v1/users/{user_id}/enrollment"),
            Some(grace),
        )
        .await
    }

    /// `POST /v1/credentials/{cid}/report-lost` (R16).
    pub async fn report_lost(&self, credential: &CredentialId) -> Result<ReportedLost, RelayError> {
        self.call::<(), _>(
            Method::POST,
            &format!("/v1/credentials/{}/report-lost", credential.as_str()),
            None,
        )
        .await
    }

    /// `GET /v1/credentials/{cid}/jwk`: the key that verifies its decisions.
    pub async fn jwk(&self, credential: &CredentialId) -> Result<CredentialKey, RelayError> {
        self.call::<(), _>(
            Method::GET,
            &format!("/v1/credentials/{}/jwk", credential.as_str()),
            None,
        )
        .await
    }

    /// `GET /healthz`: whether the relay answers at all.
    pub async fn healthy(&self) -> bool {
        let response = self.http.get(format!("{}/healthz", self.base)).send().await;
        response.is_ok_and(|r| r.status() == StatusCode::OK)
    }
}
