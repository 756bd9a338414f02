//! Test helpers: a bank (the bank SDK's client), a device that signs like the app,
//! problem checks. The cuttable TCP proxy is `onepush_relay::testing::proxy`.
#![allow(dead_code)] // each test file uses a different part

pub mod device;
pub mod postgres;
pub mod receiver;

use onepush_protocol::api::Problem;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use device::TestDevice;

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body").to_vec();
        Self {
            status,
            headers,
            body,
        }
    }

    /// The body as `T`, after checking the status.
    pub fn json<T: DeserializeOwned>(&self, status: u16) -> T {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// The problem answer, after checking status, content type and slug.
    pub fn problem(&self, status: u16, slug: &str) -> Problem {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(ct, "application/problem+json");
        let problem: Problem = serde_json::from_slice(&self.body).expect("problem+json");
        assert_eq!(problem.slug(), slug, "{problem:?}");
        assert_eq!(problem.status, status);
        assert!(!problem.detail.is_empty());
        problem
    }
}

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
