//! The bank's side in tests: the bank SDK (`onepush-bank`) with a tenant key, and the
//! check a bank makes of a decision (the JWS against the credential's JWK).

use onepush_bank::{ApiKey, Client, verify};
use onepush_protocol::api::{BankChallenge, ChallengeCreated, CreateChallenge};
use onepush_protocol::{ChallengeId, Context, DecisionClaims};
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

/// The bank API with one tenant's key: the bank SDK's client. `call` and `enroll`
/// answer `(status, body)` (tests check refusals); the others must succeed.
#[derive(Debug, Clone)]
pub struct Bank {
    relay: Client,
}

impl Bank {
    /// A bank talking to the relay at `url`.
    pub fn new(url: &str, api_key: &str) -> Self {
        let relay = Client::new(url, ApiKey::new(api_key)).expect("the relay URL is a base URL");
        Self { relay }
    }

    /// One request; the status and the JSON body (`null` when empty).
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
        let body = CreateChallenge {
            user_id: user.parse().expect("a valid user ID"),
            kind: serde_json::from_value(json!(kind)).expect("a challenge kind"),
            context: Context::from_value(context).expect("a valid context"),
            ttl_seconds: Some(120),
            number_matching: number,
        };
        self.relay
            .create_challenge(&body, None)
            .await
            .unwrap_or_else(|e| panic!("challenge: {e}"))
    }

    /// The bank's long-poll: returns once decided or after `wait` seconds.
    pub async fn outcome(&self, id: ChallengeId, wait: u32) -> BankChallenge {
        self.relay
            .challenge(&id, wait)
            .await
            .unwrap_or_else(|e| panic!("outcome: {e}"))
    }

    /// The decision of a decided challenge, verified as a bank does with the SDK: the
    /// JWS against `GET /v1/credentials/{cid}/jwk`, every claim against the challenge
    /// (approval or denial).
    pub async fn verified_decision(&self, challenge: &BankChallenge) -> DecisionClaims {
        let record = challenge
            .decision
            .as_ref()
            .expect("a decided challenge carries the JWS");
        let key = self
            .relay
            .jwk(&challenge.credential_id)
            .await
            .unwrap_or_else(|e| panic!("jwk: {e}"));
        let expected = verify::Expected {
            challenge_id: challenge.id,
            tenant_id: None,
            user_id: challenge.user_id.clone(),
            credential_id: challenge.credential_id.clone(),
            kind: challenge.kind,
            // Signed over what was shown: the context the bank sent.
            context: challenge.context.clone(),
            number: None,
        };
        verify::verify_decision(&record.jws, &key.jwk, &expected).expect("the decision verifies")
    }
}
