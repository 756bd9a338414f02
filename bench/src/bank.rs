//! The bank's side: enrollment with two consecutive codes, creating a challenge and
//! long-polling it (`GET /v1/challenges/{id}?wait=`).

use onepush_protocol::ChallengeId;
use onepush_protocol::api::{BankChallenge, ChallengeCreated};

use crate::device::Device;
use crate::http::{self, Failure};

/// A bank backend with one tenant's API key.
#[derive(Debug, Clone)]
pub struct Bank {
    base: String,
    authorization: String,
    client: reqwest::Client,
}

impl Bank {
    /// A bank calling `base` with `api_key`.
    pub fn new(base: &str, api_key: &str, client: reqwest::Client) -> Self {
        Self {
            base: base.to_owned(),
            authorization: format!("Bearer {api_key}"),
            client,
        }
    }

    fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header("authorization", &self.authorization)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// Enrolls the device's user with the device's previous and current codes.
    pub async fn enroll(&self, device: &Device) -> Result<(), Failure> {
        let body = serde_json::json!({
            "user_id": device.user_id,
            "credential_id": device.credential.as_str(),
            "codes": device.enrollment_codes(),
        });
        let answer = http::send("enroll", self.post("/v1/enrollments", &body)).await?;
        if answer.status == 201 {
            Ok(())
        } else {
            Err(answer.unexpected("enroll"))
        }
    }

    /// Creates a login challenge for `user` living `ttl_seconds`.
    pub async fn create(&self, user: &str, ttl_seconds: u32) -> Result<ChallengeId, Failure> {
        let body = serde_json::json!({
            "user_id": user,
            "kind": "login",
            "context": {
                "ip": "203.0.113.7",
                "user_agent": "Firefox 140 on Windows",
                "location": "Tokyo, JP",
            },
            "ttl_seconds": ttl_seconds,
        });
        let created: ChallengeCreated = http::send("create", self.post("/v1/challenges", &body))
            .await?
            .json("create", 201)?;
        Ok(created.id)
    }

    /// `GET /v1/challenges/{id}?wait=SECONDS`.
    pub async fn wait(&self, id: ChallengeId, seconds: u32) -> Result<BankChallenge, Failure> {
        let req = self
            .client
            .get(format!("{}/v1/challenges/{id}?wait={seconds}", self.base))
            .header("authorization", &self.authorization);
        http::send("longpoll", req).await?.json("longpoll", 200)
    }

    /// `DELETE /v1/challenges/{id}`.
    pub async fn cancel(&self, id: ChallengeId) -> Result<(), Failure> {
        let req = self
            .client
            .delete(format!("{}/v1/challenges/{id}", self.base))
            .header("authorization", &self.authorization);
        let answer = http::send("cancel", req).await?;
        if answer.status == 200 {
            Ok(())
        } else {
            Err(answer.unexpected("cancel"))
        }
    }

    /// `GET /v1/audit?limit=&since=[&user_id=]`: answers the page's last `seq` (`None`
    /// for an empty page).
    pub async fn audit_page(
        &self,
        user: Option<&str>,
        since: i64,
        limit: u32,
    ) -> Result<Option<i64>, Failure> {
        let mut url = format!("{}/v1/audit?limit={limit}&since={since}", self.base);
        if let Some(user) = user {
            url.push_str("&user_id=");
            url.push_str(user);
        }
        let req = self
            .client
            .get(url)
            .header("authorization", &self.authorization);
        let page: Vec<onepush_protocol::api::AuditEvent> =
            http::send("audit", req).await?.json("audit", 200)?;
        Ok(page.last().map(|e| e.seq))
    }
}
