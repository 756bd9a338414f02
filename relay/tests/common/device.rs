//! A device that plays the app: signing key, proofs, codes and decisions.

use std::sync::Arc;

use onepush_protocol::api::{DeviceChallenge, Provisioned};
use onepush_protocol::jws::{DecisionClaims, sign_decision};
use onepush_protocol::proof::{ProofSigner, sign_proof};
use onepush_protocol::totp::{self, TotpSecret};
use onepush_protocol::{CredentialId, DecisionVerdict, DenyReason, DeviceKey, PushSubscription};
use serde_json::Value;

use super::Answer;

/// Where "now" comes from for proofs and codes.
pub type Now = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_now() -> Now {
    Arc::new(|| time::OffsetDateTime::now_utc().unix_timestamp())
}

pub struct TestDevice {
    /// Where requests go.
    pub url: String,
    /// The relay's public URL, signed into proofs as `htu`, when it is not `url`: relays
    /// behind a load balancer all have the balancer's URL.
    pub public_url: Option<String>,
    pub key: DeviceKey,
    pub provisioned: Option<Provisioned>,
    pub now: Now,
    pub client: reqwest::Client,
}

impl TestDevice {
    pub fn new(url: &str) -> Self {
        Self::with_clock(url, system_now())
    }

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

    /// A device provisioned on the relay.
    pub async fn provisioned(url: &str, subscription: Option<PushSubscription>) -> Self {
        let mut device = Self::new(url);
        device.provision(subscription).await;
        device
    }

    /// This device reaching relays behind a load balancer whose URL (every relay's
    /// `public_url`) is `public_url`: its proofs name that URL.
    pub fn behind(mut self, public_url: &str) -> Self {
        self.public_url = Some(public_url.to_owned());
        self
    }

    /// The same device (key, credential) talking to the relay at `url`, as a load
    /// balancer would route it; its proofs still name `public_url`, if it has one.
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

    pub fn credential_id(&self) -> CredentialId {
        self.provisioned
            .as_ref()
            .expect("provisioned")
            .credential_id
            .clone()
    }

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

    pub fn code_at_offset(&self, steps: i64) -> String {
        let step = totp::step_at((self.now)())
            .checked_add_signed(steps)
            .expect("step");
        totp::code_at_step(&self.secret(), step)
    }

    pub fn proof(&self, method: &str, path: &str, body: &[u8]) -> String {
        let base = self.public_url.as_deref().unwrap_or(&self.url);
        let url = format!("{base}{path}");
        match &self.provisioned {
            Some(p) => sign_proof(
                &self.key,
                ProofSigner::Credential(&p.credential_id),
                method,
                &url,
                body,
                (self.now)(),
            ),
            None => sign_proof(
                &self.key,
                ProofSigner::EmbeddedJwk,
                method,
                &url,
                body,
                (self.now)(),
            ),
        }
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

    pub async fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let proof = self.proof(method, path, &body);
        self.send_with_proof(method, path, &body, &proof).await
    }

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

    pub async fn challenge(&self, id: &str) -> DeviceChallenge {
        self.send("GET", &format!("/v1/device/challenges/{id}"), None)
            .await
            .json(200)
    }

    /// The claims the app would sign for `ch`.
    pub fn claims(&self, ch: &DeviceChallenge, verdict: DecisionVerdict) -> DecisionClaims {
        DecisionClaims {
            v: 1,
            chl: ch.id,
            tnt: ch.tenant_id.clone(),
            sub: ch.user_id.clone(),
            cid: self.credential_id(),
            knd: ch.kind,
            ctx: ch.context.digest_b64(),
            num: None,
            dec: verdict,
            rsn: (verdict == DecisionVerdict::Deny).then_some(DenyReason::Declined),
            uv: true,
            iat: (self.now)(),
            nonce: ch.nonce.clone(),
        }
    }

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
