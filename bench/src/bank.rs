//! The bank's side, through the bank SDK (`onepush-bank`): enrollment with two
//! consecutive codes, creating a challenge and long-polling it, cancelling, audit pages.

use onepush_bank::{ApiKey, AuditQuery, Client};
use onepush_protocol::api::{BankChallenge, CreateChallenge, CreateEnrollment};
use onepush_protocol::{ChallengeId, ChallengeKind, Context, UserId};

use crate::fleet::Device;
use crate::http::Failure;

/// A bank backend with one tenant's API key.
#[derive(Debug, Clone)]
pub struct Bank {
    relay: Client,
    /// The login context every challenge carries (built once).
    context: Context,
}

impl Bank {
    /// A bank calling `base` with `api_key` over `http` (shared by every bank of a run).
    pub fn new(base: &str, api_key: &str, http: reqwest::Client) -> anyhow::Result<Self> {
        let relay = Client::with_http(http, base, ApiKey::new(api_key))?;
        let context = Context::from_value(serde_json::json!({
            "ip": "203.0.113.7",
            "user_agent": "Firefox 140 on Windows",
            "location": "Tokyo, JP",
        }))?;
        Ok(Self { relay, context })
    }

    /// Enrolls the device's user with the device's previous and current codes.
    pub async fn enroll(&self, device: &Device) -> Result<(), Failure> {
        let body = CreateEnrollment {
            user_id: user_id("enroll", &device.user_id)?,
            credential_id: device.phone.vault().credential_id().clone(),
            codes: device.enrollment_codes(),
            kind: None,
        };
        self.relay
            .enroll(&body)
            .await
            .map_err(|e| Failure::bank("enroll", &e))?;
        Ok(())
    }

    /// Creates a login challenge for `user` living `ttl_seconds`.
    pub async fn create(&self, user: &str, ttl_seconds: u32) -> Result<ChallengeId, Failure> {
        let body = CreateChallenge {
            user_id: user_id("create", user)?,
            kind: ChallengeKind::Login,
            context: self.context.clone(),
            ttl_seconds: Some(ttl_seconds),
            number_matching: false,
        };
        let created = self
            .relay
            .create_challenge(&body, None)
            .await
            .map_err(|e| Failure::bank("create", &e))?;
        Ok(created.id)
    }

    /// `GET /v1/challenges/{id}?wait=SECONDS`.
    pub async fn wait(&self, id: ChallengeId, seconds: u32) -> Result<BankChallenge, Failure> {
        self.relay
            .challenge(&id, seconds)
            .await
            .map_err(|e| Failure::bank("longpoll", &e))
    }

    /// `DELETE /v1/challenges/{id}`.
    pub async fn cancel(&self, id: ChallengeId) -> Result<(), Failure> {
        self.relay
            .cancel_challenge(&id)
            .await
            .map_err(|e| Failure::bank("cancel", &e))?;
        Ok(())
    }

    /// `GET /v1/audit?limit=&since=[&user_id=]`: answers the page's last `seq` (`None`
    /// for an empty page).
    pub async fn audit_page(
        &self,
        user: Option<&str>,
        since: i64,
        limit: u32,
    ) -> Result<Option<i64>, Failure> {
        let query = AuditQuery {
            user_id: user.map(|u| user_id("audit", u)).transpose()?,
            since,
            limit: Some(limit),
        };
        let page = self
            .relay
            .audit(&query)
            .await
            .map_err(|e| Failure::bank("audit", &e))?;
        Ok(page.last().map(|e| e.seq))
    }
}

fn user_id(leg: &str, user: &str) -> Result<UserId, Failure> {
    user.parse().map_err(|e: onepush_protocol::IdError| {
        Failure::new(format!("{leg}-user-id"), e.to_string())
    })
}
