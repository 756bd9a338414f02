//! The bank's side in tests: the relay's bank API over HTTP with a tenant key, and the
//! check a bank makes of a decision (the JWS against the credential's JWK).

use onepush_protocol::api::{BankChallenge, ChallengeCreated, CredentialKey};
use onepush_protocol::jws::verify_decision;
use onepush_protocol::{ChallengeId, CredentialId, DecisionClaims};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A login as a bank's sign-in page reports it.
pub fn login_context() -> Value {
    json!({ "ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (Windows NT 10.0) Firefox/140.0", "location": "Osaka, JP" })
}

/// A transfer of ¥1,250,000 to a company account.
pub fn transfer_context() -> Value {
    json!({
        "amount": "1250000", "currency": "JPY",
        "payee_name": "カ）ヤマダショウジ", "payee_account": "0001-123-4567890",
    })
}

/// The bank API with one tenant's key.
#[derive(Debug, Clone)]
pub struct Bank {
    http: reqwest::Client,
    url: String,
    api_key: String,
}

impl Bank {
    /// A bank talking to the relay at `url`.
    pub fn new(url: &str, api_key: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
        }
    }

    /// One request; the status and the JSON body (`null` when empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.api_key);
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

    /// `POST /v1/enrollments` with the credential ID as the user typed it.
    pub async fn enroll(
        &self,
        user: &str,
        credential: &str,
        codes: [&str; 2],
    ) -> (StatusCode, Value) {
        let body = json!({ "user_id": user, "credential_id": credential, "codes": codes });
        self.call(Method::POST, "/v1/enrollments", Some(body)).await
    }

    /// `POST /v1/challenges`; must be created.
    pub async fn challenge(
        &self,
        user: &str,
        kind: &str,
        context: Value,
        number: bool,
    ) -> ChallengeCreated {
        let body = json!({ "user_id": user, "kind": kind, "context": context, "ttl_seconds": 120, "number_matching": number });
        let (status, body) = self.call(Method::POST, "/v1/challenges", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "challenge: {body}");
        serde_json::from_value(body).expect("ChallengeCreated")
    }

    /// The bank's long-poll: returns once decided or after `wait` seconds.
    pub async fn outcome(&self, id: ChallengeId, wait: u32) -> BankChallenge {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/v1/challenges/{id}?wait={wait}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "outcome: {body}");
        serde_json::from_value(body).expect("BankChallenge")
    }

    /// The decision of a decided challenge, verified as a bank does: the JWS against
    /// `GET /v1/credentials/{cid}/jwk`.
    pub async fn verified_decision(&self, challenge: &BankChallenge) -> DecisionClaims {
        let record = challenge
            .decision
            .as_ref()
            .expect("a decided challenge carries the JWS");
        let cid: &CredentialId = &challenge.credential_id;
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/v1/credentials/{}/jwk", cid.as_str()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "jwk: {body}");
        let key: CredentialKey = serde_json::from_value(body).expect("CredentialKey");
        let claims = verify_decision(&record.jws, &key.jwk, cid).expect("the decision verifies");
        assert_eq!(claims.chl, challenge.id);
        assert_eq!(
            claims.ctx,
            challenge.context.digest_b64(),
            "signed over what was shown"
        );
        claims
    }
}
