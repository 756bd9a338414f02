//! [`RelayClient`]: the relay's device API (docs/api.md, "Device API"). Every request
//! carries a fresh `OnePush-Proof` signed by the device key; requests that are safe to
//! repeat are retried with backoff when the network fails, and every refusal carries
//! the relay's [`Problem`] so a person can read why.

use std::error::Error as _;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use onepush_protocol::api::{
    DecisionAccepted, DeviceAccounts, DeviceChallenge, DeviceChallengeList, PROOF_HEADER,
    PostDecision, Problem, ProvisionRequest, Provisioned, UpdatePushSubscription,
};
use onepush_protocol::proof::{ProofSigner, sign_proof};
use onepush_protocol::{ChallengeId, CredentialId, DeviceKey, PushChannel};
use reqwest::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;

/// How long to wait for a TCP/TLS connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one ordinary request may take in all.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest silence on a connection (the event stream sends keep-alives every 15 s).
const READ_TIMEOUT: Duration = Duration::from_secs(45);
/// Retries after the first attempt, for network failures.
const RETRIES: u32 = 3;
/// The first backoff; it doubles each retry.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Why a relay request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The relay URL cannot be used.
    #[error("the relay URL {0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    /// No answer from the relay (refused, timed out, TLS failure, ...).
    #[error("the relay at {url} is unreachable: {reason}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// The network error, cause by cause.
        reason: String,
    },
    /// The relay refused the request with a problem document.
    #[error("{} ({} {})", .0.detail, .0.status, .0.slug())]
    Problem(Box<Problem>),
    /// The relay answered with an error status and no problem document.
    #[error("the relay answered HTTP {status} to {what}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The request, `GET /v1/...`.
        what: String,
    },
    /// The answer's body is not what the API says.
    #[error("the relay's answer to {what} is unreadable: {reason}")]
    Decode {
        /// The request.
        what: String,
        /// Why.
        reason: String,
    },
}

impl ClientError {
    /// The relay's problem document, when it sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem(p) => Some(p),
            _ => None,
        }
    }

    /// The problem's slug (`challenge-not-found`, ...), when there is one.
    pub fn slug(&self) -> Option<&str> {
        self.problem().map(Problem::slug)
    }

    /// The HTTP status the relay answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Problem(p) => Some(p.status),
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Whether a request may be sent again after a network failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Idempotent: retried after any network failure.
    Safe,
    /// Retried only when the connection was never made (the relay saw nothing).
    OnlyUnsent,
}

/// How a request shows it comes from this credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    /// An `OnePush-Proof` header signed for this request (every request but one).
    Header,
    /// The body is itself signed by the credential (a decision): no header.
    InBody,
}

/// A signed client of the relay's device API for one credential.
#[derive(Clone)]
pub struct RelayClient {
    http: reqwest::Client,
    base_url: String,
    key: Arc<DeviceKey>,
    credential: Option<CredentialId>,
}

impl std::fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayClient")
            .field("base_url", &self.base_url)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl RelayClient {
    /// A client of the relay at `base_url` (its public URL, which proofs name),
    /// signing with `key` as `credential` (`None` before provisioning).
    pub fn new(
        base_url: &str,
        key: Arc<DeviceKey>,
        credential: Option<CredentialId>,
    ) -> Result<Self, ClientError> {
        let base_url = normalise_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("onepush-device/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Unreachable {
                url: base_url.clone(),
                reason: error_chain(&e),
            })?;
        Ok(Self {
            http,
            base_url,
            key,
            credential,
        })
    }

    /// The relay's base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `POST /v1/device/credentials`: asks for a credential for this key.
    pub async fn provision(&self, request: &ProvisionRequest) -> Result<Provisioned, ClientError> {
        let body = to_json(request);
        let response = self
            .send(
                Method::POST,
                "/v1/device/credentials",
                Some(body),
                Repeat::OnlyUnsent,
            )
            .await?;
        read_json(response, "POST /v1/device/credentials").await
    }

    /// `PUT /v1/device/push-subscription`: where push messages go (`None`: nowhere): a
    /// Web Push subscription, or an APNs or FCM registration ([`PushChannel`]).
    pub async fn set_push_subscription(
        &self,
        subscription: Option<impl Into<PushChannel>>,
    ) -> Result<(), ClientError> {
        let subscription = subscription.map(Into::into);
        let body = to_json(&UpdatePushSubscription { subscription });
        self.send(
            Method::PUT,
            "/v1/device/push-subscription",
            Some(body),
            Repeat::Safe,
        )
        .await?;
        Ok(())
    }

    /// `GET /v1/device/challenges`: the pending challenges, oldest first.
    pub async fn pending(&self) -> Result<Vec<DeviceChallenge>, ClientError> {
        let response = self
            .send(Method::GET, "/v1/device/challenges", None, Repeat::Safe)
            .await?;
        let list: DeviceChallengeList = read_json(response, "GET /v1/device/challenges").await?;
        Ok(list.challenges)
    }

    /// `GET /v1/device/challenges/{id}`: one challenge, in any state.
    pub async fn challenge(&self, id: ChallengeId) -> Result<DeviceChallenge, ClientError> {
        let path = format!("/v1/device/challenges/{id}");
        let response = self.send(Method::GET, &path, None, Repeat::Safe).await?;
        read_json(response, &format!("GET {path}")).await
    }

    /// `POST /v1/device/challenges/{id}/decision`: posts a signed decision.
    pub async fn post_decision(
        &self,
        id: ChallengeId,
        jws: &str,
    ) -> Result<DecisionAccepted, ClientError> {
        let path = format!("/v1/device/challenges/{id}/decision");
        let body = to_json(&PostDecision {
            jws: jws.to_owned(),
        });
        // The decision's own signature authenticates the request: no proof with it.
        let response = self
            .send_as(
                Method::POST,
                &path,
                Some(body),
                Repeat::OnlyUnsent,
                Proof::InBody,
            )
            .await?;
        read_json(response, &format!("POST {path}")).await
    }

    /// `GET /v1/device/accounts`: the users this credential serves.
    pub async fn accounts(&self) -> Result<DeviceAccounts, ClientError> {
        let response = self
            .send(Method::GET, "/v1/device/accounts", None, Repeat::Safe)
            .await?;
        read_json(response, "GET /v1/device/accounts").await
    }

    /// `DELETE /v1/device/credentials/self`: revokes this credential everywhere.
    pub async fn delete_self(&self) -> Result<(), ClientError> {
        self.send(
            Method::DELETE,
            "/v1/device/credentials/self",
            None,
            Repeat::Safe,
        )
        .await?;
        Ok(())
    }

    /// `GET /v1/device/events`: opens the event stream (no overall timeout).
    pub async fn open_events(&self) -> Result<Response, ClientError> {
        let url = format!("{}/v1/device/events", self.base_url);
        let proof = self.proof("GET", &url, b"");
        let sent = self
            .http
            .get(&url)
            .header(PROOF_HEADER, proof)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await;
        let response = sent.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            reason: error_chain(&e),
        })?;
        check_status(response, "GET /v1/device/events").await
    }

    fn proof(&self, method: &str, url: &str, body: &[u8]) -> String {
        request_proof(
            &self.key,
            self.credential.as_ref(),
            method,
            url,
            body,
            crate::unix_now(),
        )
    }

    /// Sends one request with a fresh proof per attempt; retries network failures.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        repeat: Repeat,
    ) -> Result<Response, ClientError> {
        self.send_as(method, path, body, repeat, Proof::Header)
            .await
    }

    async fn send_as(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        repeat: Repeat,
        proof: Proof,
    ) -> Result<Response, ClientError> {
        let url = format!("{}{path}", self.base_url);
        let what = format!("{method} {path}");
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .timeout(REQUEST_TIMEOUT);
            if proof == Proof::Header {
                let bytes = body.as_deref().unwrap_or_default();
                request = request.header(PROOF_HEADER, self.proof(method.as_str(), &url, bytes));
            }
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            match request.send().await {
                Ok(response) => return check_status(response, &what).await,
                Err(e) => {
                    let retry = attempt < RETRIES
                        && (e.is_connect() || (repeat == Repeat::Safe && e.is_timeout()));
                    if !retry {
                        return Err(ClientError::Unreachable {
                            url,
                            reason: error_chain(&e),
                        });
                    }
                    tracing::debug!(%what, attempt, error = %error_chain(&e), "relay request failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
            }
        }
    }
}

/// The `OnePush-Proof` of one request to `url`, signed at `now` by `key` as `credential`
/// (`None` before provisioning: the proof then embeds the public JWK).
pub(crate) fn request_proof(
    key: &DeviceKey,
    credential: Option<&CredentialId>,
    method: &str,
    url: &str,
    body: &[u8],
    now: i64,
) -> String {
    let signer = match credential {
        Some(cid) => ProofSigner::Credential(cid),
        None => ProofSigner::EmbeddedJwk,
    };
    sign_proof(key, signer, method, url, body, now)
}

/// Checks and trims a relay base URL.
fn normalise_base_url(input: &str) -> Result<String, ClientError> {
    let url =
        reqwest::Url::parse(input.trim()).map_err(|_| ClientError::BadUrl(input.to_owned()))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
    {
        return Err(ClientError::BadUrl(input.to_owned()));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("API bodies always serialise")
}

/// Passes a success through; turns an error status into [`ClientError`].
async fn check_status(response: Response, what: &str) -> Result<Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.bytes().await.unwrap_or_default();
    Err(match serde_json::from_slice::<Problem>(&body) {
        Ok(problem) => ClientError::Problem(Box::new(problem)),
        Err(_) => ClientError::Status {
            status: status.as_u16(),
            what: what.to_owned(),
        },
    })
}

async fn read_json<T: DeserializeOwned>(response: Response, what: &str) -> Result<T, ClientError> {
    let decode = |reason: String| ClientError::Decode {
        what: what.to_owned(),
        reason,
    };
    if response.status() == StatusCode::NO_CONTENT {
        return Err(decode("no body".to_owned()));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| decode(error_chain(&e)))?;
    serde_json::from_slice(&body).map_err(|e| decode(e.to_string()))
}

/// An error and its causes, `a: b: c`, skipping causes already in the text.
pub(crate) fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            let _ = write!(text, ": {cause_text}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
