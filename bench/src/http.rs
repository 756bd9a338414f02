//! HTTP plumbing: the banks' keep-alive client, answers read whole (the raw requests:
//! `pending`'s long-polls), and failures named by leg, status and problem slug (the
//! "errors by kind") from whichever client failed.

use std::time::Duration;

use reqwest::RequestBuilder;

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

impl Failure {
    /// A bank SDK call of `leg` that failed: `{leg}-{status}-{slug}` for a refusal,
    /// `{leg}-transport` when the relay could not be reached.
    pub fn bank(leg: &str, error: &onepush_bank::Error) -> Self {
        let kind = match error {
            onepush_bank::Error::Problem {
                status, problem, ..
            } => {
                format!("{leg}-{status}-{}", problem.slug())
            }
            onepush_bank::Error::Unreadable { status, .. } => format!("{leg}-{status}-no-problem"),
            onepush_bank::Error::Transport(_) => format!("{leg}-transport"),
            onepush_bank::Error::Url(_) => format!("{leg}-url"),
        };
        Self::new(kind, error.to_string())
    }

    /// A device API call of `leg` that failed, named the same way.
    pub fn client(leg: &str, error: &onepush_device::ClientError) -> Self {
        use onepush_device::ClientError;
        let kind = match error {
            ClientError::Problem(problem) => {
                format!("{leg}-{}-{}", problem.status, problem.slug())
            }
            ClientError::Status { status, .. } => format!("{leg}-{status}-no-problem"),
            ClientError::Decode { .. } => format!("{leg}-bad-body"),
            ClientError::Unreachable { .. } | ClientError::BadUrl(_) => {
                format!("{leg}-transport")
            }
        };
        Self::new(kind, error.to_string())
    }

    /// A phone operation of `leg` that failed (the relay's refusal, or the phone's own).
    pub fn device(leg: &str, error: &onepush_device::DeviceError) -> Self {
        match error {
            onepush_device::DeviceError::Client(e) => Self::client(leg, e),
            other => Self::new(format!("{leg}-device"), other.to_string()),
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
