//! HTTP plumbing shared by the bank and the devices: one keep-alive client, answers read
//! whole, and failures named by leg, status and problem slug (the "errors by kind").

use std::time::Duration;

use reqwest::RequestBuilder;
use serde::de::DeserializeOwned;

/// Why one step of a lifecycle failed: `kind` groups the report, `detail` is one example.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `create-429-push-fatigue`, `delivery-timeout`, `decision-transport`…
    pub kind: String,
    /// What happened, for the first of its kind.
    pub detail: String,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

/// A keep-alive client with room for many connections to the relay.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(70))
        .build()
        .expect("a plain HTTP client builds")
}

/// An answer read whole.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: bytes::Bytes,
}

/// Sends `req` for `leg` and reads the whole answer.
pub async fn send(leg: &str, req: RequestBuilder) -> Result<Answer, Failure> {
    let response = req
        .send()
        .await
        .map_err(|e| Failure::new(format!("{leg}-transport"), e.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| Failure::new(format!("{leg}-transport"), e.to_string()))?;
    Ok(Answer { status, body })
}

impl Answer {
    /// The body as `T` if the status is `expected`; otherwise a failure named by the
    /// status and the problem's slug.
    pub fn json<T: DeserializeOwned>(&self, leg: &str, expected: u16) -> Result<T, Failure> {
        if self.status != expected {
            return Err(self.unexpected(leg));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Failure::new(format!("{leg}-bad-body"), e.to_string()))
    }

    /// A failure for an answer that was not the expected one.
    pub fn unexpected(&self, leg: &str) -> Failure {
        let text = String::from_utf8_lossy(&self.body);
        let slug = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| {
                v["type"]
                    .as_str()
                    .and_then(|t| t.rsplit('/').next())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "no-problem".to_owned());
        Failure::new(
            format!("{leg}-{}-{slug}", self.status),
            text.chars().take(300).collect::<String>(),
        )
    }
}
