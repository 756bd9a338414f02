//! [`Client`]: the relay's bank API (docs/api.md), one typed method per route.

use std::fmt;
use std::time::Duration;

use onepush_protocol::api::{
    AuditEvent, BankChallenge, ChallengeCreated, CreateChallenge, CreateEnrollment,
    CreateOfflineChallenge, CredentialKey, GraceUntil, IDEMPOTENCY_HEADER, MAX_WAIT_SECONDS,
    MaintenanceStatus, OfflineChallengeCreated, OfflineCodeVerified, OtpResynced, OtpVerified,
    Problem, ReportedLost, ResyncOtp, UserBinding, VerifyOfflineCode, VerifyOtp,
};
use onepush_protocol::{ChallengeId, ChallengeStatus, CredentialId, UserId};
use reqwest::{Method, RequestBuilder, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// A tenant API key (`onepush-relay tenant add` prints it once); hidden from `Debug`.
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

/// Which audit events to read (`GET /v1/audit`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this user's events.
    pub user_id: Option<UserId>,
    /// Only events after this sequence number (the last `seq` of the previous page).
    pub since: i64,
    /// At most this many events; the relay's default when `None`.
    pub limit: Option<u32>,
}

/// Pages through the audit log ([`Client::audit_pages`]): each page starts after the
/// last sequence number of the one before.
#[derive(Debug, Clone)]
pub struct AuditPages {
    client: Client,
    query: AuditQuery,
    done: bool,
}

impl AuditPages {
    /// The next page, `None` once the log is read to its end. A failed call can be
    /// retried: the cursor moves only past a page that arrived.
    pub async fn next_page(&mut self) -> Result<Option<Vec<AuditEvent>>, Error> {
        if self.done {
            return Ok(None);
        }
        let page = self.client.audit(&self.query).await?;
        let Some(last) = page.last() else {
            self.done = true;
            return Ok(None);
        };
        self.query.since = last.seq;
        // A page shorter than the limit asked for is the last one.
        if self
            .query
            .limit
            .is_some_and(|limit| page.len() < limit as usize)
        {
            self.done = true;
        }
        Ok(Some(page))
    }

    /// Where the next page starts: save it to resume later from there.
    pub fn cursor(&self) -> i64 {
        self.query.since
    }
}

/// A client of one relay's bank API, authenticated as one tenant.
///
/// Cheap to clone (the connection pool is shared). Requests time out after 20 s,
/// long-polls after their wait plus 15 s.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    key: ApiKey,
}

impl Client {
    /// A client for the relay at `base` (like `https://relay.example.com`).
    pub fn new(base: &str, key: ApiKey) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(Error::Transport)?;
        Self::with_http(http, base, key)
    }

    /// A client on an HTTP client the bank configured itself (TLS roots, proxy, HTTP/2
    /// prior knowledge for many long-polls on few connections).
    pub fn with_http(http: reqwest::Client, base: &str, key: ApiKey) -> Result<Self, Error> {
        let mut base = Url::parse(base).map_err(|e| Error::Url(format!("{base}: {e}")))?;
        if base.cannot_be_a_base() {
            return Err(Error::Url(format!("{base}: not a base URL")));
        }
        // `Url::join` would drop a last segment without a trailing slash.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self { http, base, key })
    }

    /// The relay's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// A request to `segments` under the base URL (each segment percent-encoded),
    /// carrying the tenant key: the escape hatch for what the typed methods do not
    /// cover (malformed input in tests, a route newer than this crate).
    pub fn raw(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("checked to be a base URL in `with_http`")
            .pop_if_empty()
            .extend(segments);
        self.http.request(method, url).bearer_auth(&self.key.0)
    }

    /// A request to `path_and_query` (like `/v1/challenges/ID?wait=5`) taken as it is,
    /// not encoded, under the base URL, carrying the tenant key: for tests that send what
    /// the typed methods never would (a malformed ID, an unknown parameter). Read the
    /// answer with [`Client::send`] or as a plain `reqwest::Response`.
    pub fn raw_path(&self, method: Method, path_and_query: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path_and_query))
            .bearer_auth(&self.key.0)
    }

    /// `path_and_query` appended as it is to the base URL (no key, no encoding): for a
    /// request built on [`Client::http`], without the key or with other headers.
    pub fn url(&self, path_and_query: &str) -> String {
        let base = self.base.as_str().trim_end_matches('/');
        let path = path_and_query.trim_start_matches('/');
        format!("{base}/{path}")
    }

    /// The HTTP client the requests go through (its connection pool).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `request` and reads its JSON answer, or the problem document.
    pub async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Error> {
        let response = request.send().await.map_err(Error::Transport)?;
        let status = response.status().as_u16();
        // Delay-seconds only: the relay never sends an HTTP date.
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = response.bytes().await.map_err(Error::Transport)?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| Error::Unreadable {
                status,
                detail: e.to_string(),
            });
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => Err(Error::Problem {
                status,
                problem: Box::new(problem),
                retry_after,
            }),
            Err(e) => Err(Error::Unreadable {
                status,
                detail: format!("not a problem document: {e}"),
            }),
        }
    }

    async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<T, Error> {
        let mut request = self.raw(method, segments);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// `POST /v1/challenges`: asks the user to approve a login, transaction or admin
    /// operation. With an `idempotency_key` a retried create (after a timeout, say)
    /// returns the first challenge instead of pushing again.
    pub async fn create_challenge(
        &self,
        body: &CreateChallenge,
        idempotency_key: Option<&str>,
    ) -> Result<ChallengeCreated, Error> {
        let mut request = self.raw(Method::POST, &["v1", "challenges"]).json(body);
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_HEADER, key);
        }
        self.send(request).await
    }

    /// `GET /v1/challenges/{id}?wait=S`: the challenge, once it is decided or after
    /// `wait` seconds (at most [`MAX_WAIT_SECONDS`]; 0 answers at once).
    pub async fn challenge(&self, id: &ChallengeId, wait: u32) -> Result<BankChallenge, Error> {
        let wait = wait.min(MAX_WAIT_SECONDS);
        let request = self
            .raw(Method::GET, &["v1", "challenges", &id.to_string()])
            .query(&[("wait", wait)])
            .timeout(Duration::from_secs(u64::from(wait) + 15));
        self.send(request).await
    }

    /// Long-polls until the challenge leaves `pending` (the relay ends it at its
    /// deadline, so this returns by then): the outcome the bank acts on.
    pub async fn outcome(&self, id: &ChallengeId) -> Result<BankChallenge, Error> {
        loop {
            let challenge = self.challenge(id, MAX_WAIT_SECONDS).await?;
            if challenge.status != ChallengeStatus::Pending {
                return Ok(challenge);
            }
        }
    }

    /// `DELETE /v1/challenges/{id}`: the user gave up (closed the page); ends it
    /// `cancelled` if it is still pending.
    pub async fn cancel_challenge(&self, id: &ChallengeId) -> Result<BankChallenge, Error> {
        self.call::<(), _>(Method::DELETE, &["v1", "challenges", &id.to_string()], None)
            .await
    }

    /// `POST /v1/enrollments`: binds the credential the user typed to the user, with
    /// two consecutive codes from the app (R8).
    pub async fn enroll(&self, body: &CreateEnrollment) -> Result<UserBinding, Error> {
        self.call(Method::POST, &["v1", "enrollments"], Some(body))
            .await
    }

    /// `GET /v1/users/{id}`: the user's binding; `None` when the user never enrolled.
    pub async fn user(&self, user: &UserId) -> Result<Option<UserBinding>, Error> {
        match self
            .call::<(), _>(Method::GET, &["v1", "users", user.as_str()], None)
            .await
        {
            Ok(binding) => Ok(Some(binding)),
            Err(e) if e.slug() == Some("user-not-enrolled") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /v1/users/{id}/otp/verify`: checks a security code (R7); each code counts
    /// once, and failures lock the binding at the tenant's threshold (R15).
    pub async fn verify_otp(&self, user: &UserId, code: &str) -> Result<OtpVerified, Error> {
        let body = VerifyOtp {
            code: code.to_owned(),
        };
        self.call(
            Method::POST,
            &["v1", "users", user.as_str(), "otp", "verify"],
            Some(&body),
        )
        .await
    }

    /// `POST /v1/offline-challenges`: an offline code (RFC 6287 OCRA) for a user whose
    /// phone has no network; show the answer's `payload` as a QR code (or text).
    pub async fn create_offline_challenge(
        &self,
        body: &CreateOfflineChallenge,
    ) -> Result<OfflineChallengeCreated, Error> {
        self.call(Method::POST, &["v1", "offline-challenges"], Some(body))
            .await
    }

    /// `POST /v1/offline-challenges/{id}/verify`: checks the 8-digit code the user typed;
    /// each offline challenge is answered once, before its deadline, and wrong codes
    /// count toward the binding's OTP lock.
    pub async fn verify_offline_code(
        &self,
        id: &ChallengeId,
        code: &str,
    ) -> Result<OfflineCodeVerified, Error> {
        let body = VerifyOfflineCode {
            code: code.to_owned(),
        };
        let id = id.to_string();
        self.call(
            Method::POST,
            &["v1", "offline-challenges", &id, "verify"],
            Some(&body),
        )
        .await
    }

    /// `POST /v1/users/{id}/otp/resync`: puts a drifted token back in step with two
    /// consecutive codes (R12).
    pub async fn resync_otp(&self, user: &UserId, codes: [&str; 2]) -> Result<OtpResynced, Error> {
        let body = ResyncOtp {
            codes: codes.map(str::to_owned),
        };
        self.call(
            Method::POST,
            &["v1", "users", user.as_str(), "otp", "resync"],
            Some(&body),
        )
        .await
    }

    /// `POST /v1/users/{id}/suspend` (R13): password-only use until `grace_until`.
    pub async fn suspend(&self, user: &UserId, grace: &GraceUntil) -> Result<UserBinding, Error> {
        self.call(
            Method::POST,
            &["v1", "users", user.as_str(), "suspend"],
            Some(grace),
        )
        .await
    }

    /// `POST /v1/users/{id}/resume` (R13).
    pub async fn resume(&self, user: &UserId) -> Result<UserBinding, Error> {
        self.call::<(), _>(
            Method::POST,
            &["v1", "users", user.as_str(), "resume"],
            None,
        )
        .await
    }

    /// `POST /v1/users/{id}/unlock` (R15).
    pub async fn unlock(&self, user: &UserId) -> Result<UserBinding, Error> {
        self.call::<(), _>(
            Method::POST,
            &["v1", "users", user.as_str(), "unlock"],
            None,
        )
        .await
    }

    /// `DELETE /v1/users/{id}/enrollment` (R14): password-only use until `grace_until`.
    pub async fn unregister(
        &self,
        user: &UserId,
        grace: &GraceUntil,
    ) -> Result<UserBinding, Error> {
        self.call(
            Method::DELETE,
            &["v1", "users", user.as_str(), "enrollment"],
            Some(grace),
        )
        .await
    }

    /// `POST /v1/credentials/{cid}/report-lost` (R16): locks every binding of the
    /// credential in this tenant and cancels its pending challenges.
    pub async fn report_lost(&self, credential: &CredentialId) -> Result<ReportedLost, Error> {
        self.call::<(), _>(
            Method::POST,
            &["v1", "credentials", credential.as_str(), "report-lost"],
            None,
        )
        .await
    }

    /// `GET /v1/credentials/{cid}/jwk`: the public key that verifies the credential's
    /// decisions. Fetch it once, right after enrollment, and keep it with the user
    /// (pin it): [`crate::verify::verify_decision`] then needs no call to the relay,
    /// and a relay that later served another key could not pass its own signatures off.
    pub async fn jwk(&self, credential: &CredentialId) -> Result<CredentialKey, Error> {
        self.call::<(), _>(
            Method::GET,
            &["v1", "credentials", credential.as_str(), "jwk"],
            None,
        )
        .await
    }

    /// `GET /v1/audit`: the tenant's audit events after `query.since`, oldest first.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, Error> {
        let mut request = self
            .raw(Method::GET, &["v1", "audit"])
            .query(&[("since", query.since)]);
        if let Some(user) = &query.user_id {
            request = request.query(&[("user_id", user.as_str())]);
        }
        if let Some(limit) = query.limit {
            request = request.query(&[("limit", limit)]);
        }
        self.send(request).await
    }

    /// `GET /v1/maintenance`: whether one-push is suspended for this bank now (R18), with
    /// the operator's announcement (`message`) and end (`until`), so the bank can show it
    /// on its login and payment pages before its customers try. While it is on,
    /// [`create_challenge`](Self::create_challenge) fails with the problem `maintenance`,
    /// whose `maintenance` field carries the same status.
    pub async fn maintenance(&self) -> Result<MaintenanceStatus, Error> {
        self.call::<(), _>(Method::GET, &["v1", "maintenance"], None)
            .await
    }

    /// Every audit event matching `query`, page by page (`query.since` onwards): call
    /// [`AuditPages::next_page`] until it answers `None`.
    pub fn audit_pages(&self, query: AuditQuery) -> AuditPages {
        AuditPages {
            client: self.clone(),
            query,
            done: false,
        }
    }

    /// `GET /healthz`: whether the relay answers at all.
    pub async fn healthy(&self) -> bool {
        let request = self.raw(Method::GET, &["healthz"]);
        request
            .send()
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_built_under_the_base_and_encoded() {
        for base in [
            "http://relay.test",
            "http://relay.test/",
            "http://relay.test/onepush",
        ] {
            let client = Client::new(base, ApiKey::new("k")).unwrap();
            let request = client
                .raw(Method::GET, &["v1", "users", "a b/c"])
                .build()
                .unwrap();
            let prefix = base.trim_end_matches('/');
            assert_eq!(
                request.url().as_str(),
                format!("{prefix}/v1/users/a%20b%2Fc"),
                "base {base}"
            );
        }
    }

    #[test]
    fn the_key_is_sent_as_a_bearer_token_and_hidden_from_debug() {
        let client = Client::new("http://relay.test", ApiKey::new("s3cret")).unwrap();
        let request = client.raw(Method::GET, &["v1", "audit"]).build().unwrap();
        assert_eq!(
            request.headers()["authorization"].to_str().unwrap(),
            "Bearer s3cret"
        );
        assert!(!format!("{client:?}").contains("s3cret"));
    }

    #[test]
    fn a_raw_path_is_taken_as_it_is() {
        let client = Client::new("http://relay.test/onepush/", ApiKey::new("k")).unwrap();
        let request = client
            .raw_path(Method::GET, "/v1/challenges/not-a-uuid?wait=x")
            .build()
            .unwrap();
        assert_eq!(
            request.url().as_str(),
            "http://relay.test/onepush/v1/challenges/not-a-uuid?wait=x"
        );
        assert_eq!(
            request.headers()["authorization"].to_str().unwrap(),
            "Bearer k"
        );
    }

    #[test]
    fn a_base_that_is_not_a_url_is_refused() {
        let err = Client::new("relay.test", ApiKey::new("k")).unwrap_err();
        assert!(matches!(err, Error::Url(_)), "{err}");
    }
}
