//! Test helpers: a bank (the bank SDK's client), a device (`onepush_device::testing`),
//! problem checks, a PostgreSQL database per test (`postgres`), a recording receiver
//! (`receiver`). The cuttable TCP proxy is `onepush_relay::testing::proxy`.
#![allow(dead_code)] // each test file uses a different part

pub mod backends;
pub mod postgres;
pub mod receiver;

use serde_json::Value;

/// The device: the device library's test device (every part open, raw requests) and
/// the answers it reads whole.
pub use onepush_device::testing::{Answer, TestDevice};

/// A bank backend calling the relay: the bank SDK's client, used raw (these tests
/// check statuses, headers and problem documents), plus the parts it is made of for
/// tests that build requests themselves.
#[derive(Debug, Clone)]
pub struct Bank {
    pub url: String,
    pub api_key: String,
    pub client: reqwest::Client,
}

impl Bank {
    pub fn new(url: &str, api_key: &str) -> Self {
        Self::with_http(url, api_key, reqwest::Client::new())
    }

    /// A bank on an HTTP client the test configured (HTTP/2, many connections...).
    pub fn with_http(url: &str, api_key: &str, client: reqwest::Client) -> Self {
        Self {
            url: url.to_owned(),
            api_key: api_key.to_owned(),
            client,
        }
    }

    /// The bank SDK's client with this bank's key and HTTP client.
    pub fn sdk(&self) -> onepush_bank::Client {
        onepush_bank::Client::with_http(
            self.client.clone(),
            &self.url,
            onepush_bank::ApiKey::new(&self.api_key),
        )
        .expect("the relay URL is a base URL")
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Answer {
        let mut req = self.sdk().raw_path(method, path);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        Answer::read(req.send().await.expect("request")).await
    }

    /// A request with exactly these headers (no key unless among them).
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let sdk = self.sdk();
        let mut req = sdk
            .http()
            .request(method, sdk.url(path))
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Answer::read(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Enrolls `user` with the device's next two codes.
    pub async fn enroll(&self, user: &str, device: &TestDevice) -> Answer {
        let codes = device.enrollment_codes();
        let body = serde_json::json!({
            "user_id": user,
            "credential_id": device.credential_id().as_str(),
            "codes": codes,
        });
        self.post("/v1/enrollments", &body).await
    }

    /// A login challenge for `user`; answers the created body.
    pub async fn login(&self, user: &str, extra: Value) -> Answer {
        let mut body = serde_json::json!({
            "user_id": user,
            "kind": "login",
            "context": { "ip": "203.0.113.7", "user_agent": "Firefox on Windows", "location": "Tokyo" },
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        self.post("/v1/challenges", &body).await
    }
}
